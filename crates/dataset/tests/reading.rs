//! `aeclust-dataset --images` reads folders as people see them: the read settings
//! (size, fit, background, colour) are recorded and enter the cache key; every format is
//! listed and read; HEIC and camera RAW files are named with the command that converts
//! them; a corrupt EXIF block is a warning in the manifest, not a failure.

use std::path::Path;
use std::process::Command;

use aeclust_artifact::kinds::{
    Background, Color, DatasetInfo, Fit, ImageSplit, ReadSettings, Split,
};
use aeclust_artifact::Manifest;
use image::{DynamicImage, ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};

const BIN: &str = env!("CARGO_BIN_EXE_aeclust-dataset");

fn run(args: &[&str]) -> (bool, String) {
    let o = Command::new(BIN).args(args).output().unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr),
    )
}

fn info(out: &Path) -> (DatasetInfo, String) {
    let m = Manifest::read_dir(out).unwrap();
    (m.info_as(out).unwrap(), m.cache_key.clone())
}

fn read_dir_as(dir: &Path, out: &Path, extra: &[&str]) -> String {
    let mut args = vec![
        "--images",
        dir.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let (ok, text) = run(&args);
    assert!(ok, "{args:?}\n{text}");
    text
}

#[test]
fn read_settings_are_recorded_and_enter_the_cache_key() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("icons");
    std::fs::create_dir_all(&dir).unwrap();
    // 4 wide × 2 high: left half transparent, right half opaque blue.
    RgbaImage::from_fn(4, 2, |x, _| {
        if x < 2 {
            Rgba([0, 0, 0, 0])
        } else {
            Rgba([0, 0, 255, 255])
        }
    })
    .save(dir.join("icon.png"))
    .unwrap();
    let out = tmp.path().join("dataset");
    read_dir_as(&dir, &out, &["--size", "4x4"]);
    let (first, key) = info(&out);
    let folder = first.folder.expect("image folder");
    assert_eq!(
        folder.read,
        Some(ReadSettings {
            size: Some([4, 4]),
            fit: Fit::Pad,
            background: Background::WHITE,
            color: Some(Color::Rgb),
        })
    );
    let pixels = |out: &Path| {
        ImageSplit::read(&out.join(Split::Train.file_name()))
            .unwrap()
            .images
    };
    // Pad: rows 0 and 3 white, rows 1-2 white (transparent) then blue.
    let padded = pixels(&out);
    assert_eq!(&padded[..12], &[255; 12], "top padding row is white");
    assert_eq!(
        &padded[12..24],
        &[255, 255, 255, 255, 255, 255, 0, 0, 255, 0, 0, 255]
    );

    let text = read_dir_as(&dir, &out, &["--size", "4x4"]);
    assert!(text.contains("reused"), "same settings: cached\n{text}");
    let mut keys = vec![key];
    for extra in [
        &["--size", "4x4", "--background", "black"][..],
        &["--size", "4x4", "--background", "#00FF00"][..],
        &["--size", "4x4", "--fit", "crop"][..],
        &["--size", "4x4", "--fit", "stretch"][..],
    ] {
        let text = read_dir_as(&dir, &out, extra);
        assert!(!text.contains("reused"), "{extra:?} must rebuild\n{text}");
        let (info, key) = info(&out);
        assert!(!keys.contains(&key), "{extra:?}: a new cache key");
        keys.push(key);
        let read = info.folder.unwrap().read.unwrap();
        match extra[3] {
            "black" => assert_eq!(read.background, Background::BLACK),
            "#00FF00" => assert_eq!(read.background, Background([0, 255, 0])),
            "crop" => assert_eq!(read.fit, Fit::Crop),
            _ => assert_eq!(read.fit, Fit::Stretch),
        }
    }
    // The last run stretched over white: the transparent half is white, the blue half
    // blue, no padding.
    let stretched = pixels(&out);
    assert_eq!(&stretched[..3], &[255, 255, 255]);
    assert_eq!(&stretched[9..12], &[0, 0, 255]);
    // Bad values are refused by name.
    for (args, needle) in [
        (&["--background", "grey"][..], "#RRGGBB"),
        (&["--fit", "pad"][..], "--size"),
        (&["--size", "4x4", "--fit", "zoom"][..], "zoom"),
    ] {
        let mut all = vec!["--images", dir.to_str().unwrap(), "--out", "unused"];
        all.extend_from_slice(args);
        let (ok, text) = run(&all);
        assert!(!ok && text.contains(needle), "{args:?}:\n{text}");
    }
}

#[test]
fn every_format_is_read_and_unsupported_ones_are_named_with_a_conversion() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("mixed");
    std::fs::create_dir_all(&dir).unwrap();
    let img = DynamicImage::ImageRgb8(RgbImage::from_pixel(6, 4, Rgb([200, 40, 40])));
    for (name, format) in [
        ("a.png", ImageFormat::Png),
        ("b.jpg", ImageFormat::Jpeg),
        ("c.webp", ImageFormat::WebP),
        ("d.bmp", ImageFormat::Bmp),
        ("e.tif", ImageFormat::Tiff),
        ("f.gif", ImageFormat::Gif),
    ] {
        img.save_with_format(dir.join(name), format).unwrap();
    }
    for name in ["g.heic", "h.CR2", "i.txt"] {
        std::fs::write(dir.join(name), b"not read").unwrap();
    }
    let out = tmp.path().join("dataset");
    let text = read_dir_as(&dir, &out, &[]);
    let (info, _) = info(&out);
    assert_eq!(info.splits.train.count, 6, "{text}");
    let folder = info.folder.unwrap();
    assert_eq!(folder.ignored, ["g.heic", "h.CR2", "i.txt"]);
    assert!(text.contains("ignored 3 files"), "{text}");
    assert!(
        text.contains("HEIC is not supported") && text.contains("heif-convert"),
        "{text}"
    );
    assert!(
        text.contains("camera RAW is not supported") && text.contains("dcraw -w -T"),
        "{text}"
    );
    let train = ImageSplit::read(&out.join(Split::Train.file_name())).unwrap();
    for (i, px) in train.images.chunks_exact(6 * 4 * 3).enumerate() {
        let (r, g) = (px[0], px[1]);
        assert!(
            r.abs_diff(200) <= 8 && g.abs_diff(40) <= 8,
            "image {i}: {r}, {g}"
        );
    }
}

#[test]
fn a_corrupt_exif_block_is_a_warning_in_the_manifest() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("photos");
    std::fs::create_dir_all(&dir).unwrap();
    let img = DynamicImage::ImageRgb8(RgbImage::from_pixel(8, 8, Rgb([90, 90, 200])));
    let mut jpeg = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut jpeg), ImageFormat::Jpeg)
        .unwrap();
    // An APP1 "Exif" segment of garbage right after the start-of-image marker.
    let payload = b"Exif\0\0no TIFF in here";
    let mut broken = jpeg[..2].to_vec();
    broken.extend([0xFF, 0xE1]);
    broken.extend(((payload.len() + 2) as u16).to_be_bytes());
    broken.extend(payload);
    broken.extend(&jpeg[2..]);
    std::fs::write(dir.join("odd.jpg"), broken).unwrap();
    std::fs::write(dir.join("fine.jpg"), &jpeg).unwrap();
    let out = tmp.path().join("dataset");
    let text = read_dir_as(&dir, &out, &[]);
    assert!(
        text.contains("odd.jpg: corrupt EXIF block ignored"),
        "{text}"
    );
    let (info, _) = info(&out);
    assert_eq!(info.splits.train.count, 2);
    let warnings = info.folder.unwrap().warnings;
    assert_eq!(warnings.len(), 1);
    assert_eq!(warnings[0].0, "odd.jpg");
}
