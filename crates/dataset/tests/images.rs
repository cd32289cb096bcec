//! `aeclust-dataset --images`: folders of PNG/JPEG files, labelled by sub-folder or not,
//! and every kind of bad input (a clear error naming the file, a non-zero exit, no
//! artifact).

use std::path::{Path, PathBuf};
use std::process::Command;

use aeclust_artifact::kinds::{DatasetInfo, ImageFiles, ImageSplit, Split};
use aeclust_artifact::Manifest;
use image::{GrayImage, Luma, Rgb, RgbImage};

const BIN: &str = env!("CARGO_BIN_EXE_aeclust-dataset");

fn run(args: &[&str]) -> (bool, String) {
    let o = Command::new(BIN).args(args).output().unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr),
    )
}

fn grey(path: &Path, h: u32, w: u32, value: u8) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    GrayImage::from_fn(w, h, |x, y| Luma([value.wrapping_add((x + y) as u8)]))
        .save(path)
        .unwrap();
}

fn colour(path: &Path, h: u32, w: u32, rgb: [u8; 3]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    RgbImage::from_pixel(w, h, Rgb(rgb)).save(path).unwrap();
}

/// Refused with a message holding every one of `needles`, and no artifact written.
fn refused(args: &[&str], out: &Path, needles: &[&str]) {
    let (ok, text) = run(args);
    assert!(!ok, "should fail: {args:?}\n{text}");
    for n in needles {
        assert!(text.contains(n), "missing `{n}` in:\n{text}");
    }
    assert!(
        !out.join("manifest.json").exists(),
        "no artifact after {args:?}"
    );
}

fn dataset(out: &Path) -> (DatasetInfo, ImageFiles) {
    let info: DatasetInfo = Manifest::read_dir(out).unwrap().info_as(out).unwrap();
    let files: ImageFiles =
        serde_json::from_str(&std::fs::read_to_string(out.join(DatasetInfo::FILES_FILE)).unwrap())
            .unwrap();
    (info, files)
}

#[test]
fn class_folders_give_labels_in_sorted_order_and_a_seeded_stratified_split() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("photos");
    for i in 0..6 {
        grey(&dir.join(format!("cats/{i}.png")), 4, 5, 10);
        grey(&dir.join(format!("dogs/sub/{i}.PNG")), 4, 5, 200);
    }
    std::fs::write(dir.join("cats/notes.txt"), "not an image").unwrap();
    let out = tmp.path().join("dataset");
    let (ok, text) = run(&[
        "--images",
        dir.to_str().unwrap(),
        "--test-fraction",
        "0.5",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{text}");
    assert!(text.contains("ignored 1 files"), "{text}");
    let (info, files) = dataset(&out);
    assert!(info.labelled && info.channels == 1 && info.image_shape == [4, 5]);
    let names: Vec<&str> = info.classes.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["cats", "dogs"]);
    assert_eq!((info.splits.train.count, info.splits.test.count), (6, 6));
    assert_eq!(info.splits.test.class_counts["0"], 3, "stratified");
    let folder = info.folder.as_ref().unwrap();
    assert_eq!(folder.ignored, vec!["cats/notes.txt".to_string()]);
    assert!(files.files.train.windows(2).all(|w| w[0] < w[1]), "sorted");
    assert_eq!(files.files.train.len(), 6);
    let train = ImageSplit::read(&out.join(Split::Train.file_name())).unwrap();
    let labels = train.labels.unwrap();
    for (f, l) in files.files.train.iter().zip(&labels) {
        assert_eq!(f.starts_with("dogs/"), *l == 1, "{f} has label {l}");
    }
    // PNG is lossless: the pixels are the files'.
    let first = image::open(dir.join(&files.files.train[0]))
        .unwrap()
        .to_luma8();
    assert_eq!(train.images[..20], first.as_raw()[..]);
    // Same seed, same split; a rerun is reused.
    let (ok, text) = run(&[
        "--images",
        dir.to_str().unwrap(),
        "--test-fraction",
        "0.5",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(ok && text.contains("reused"), "{text}");
}

#[test]
fn a_flat_folder_is_unlabelled_and_colour_and_resizing_follow_the_options() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("flat");
    colour(&dir.join("a.jpg"), 8, 8, [250, 10, 10]);
    grey(&dir.join("b.png"), 6, 6, 50);
    let out = tmp.path().join("dataset");
    // Different sizes without --size: an error naming both files.
    refused(
        &[
            "--images",
            dir.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        &out,
        &["b.png", "a.jpg", "6x6", "8x8", "--size"],
    );
    let (ok, text) = run(&[
        "--images",
        dir.to_str().unwrap(),
        "--size",
        "4x4",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{text}");
    let (info, files) = dataset(&out);
    assert!(!info.labelled && info.classes.is_empty());
    assert_eq!(info.channels, 3, "one colour image makes the dataset RGB");
    assert_eq!(info.splits.test.count, 0, "no test split asked for");
    assert_eq!(files.files.train, ["a.jpg", "b.png"]);
    let train = ImageSplit::read(&out.join(Split::Train.file_name())).unwrap();
    assert_eq!(
        (train.len(), train.height, train.width, train.channels),
        (2, 4, 4, 3)
    );
    assert!(train.labels.is_none());
    let red = &train.images[..3];
    assert!(red[0] > 200 && red[1] < 60 && red[2] < 60, "{red:?}");
    let (ok, text) = run(&[
        "--images",
        dir.to_str().unwrap(),
        "--size",
        "4x4",
        "--color",
        "gray",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{text}");
    assert_eq!(dataset(&out).0.channels, 1);
}

#[test]
fn a_test_folder_maps_its_classes_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    for (split, n) in [("train", 3), ("test", 2)] {
        for i in 0..n {
            grey(&tmp.path().join(format!("{split}/b/{i}.png")), 3, 3, 9);
            if split == "train" {
                grey(&tmp.path().join(format!("{split}/a/{i}.png")), 3, 3, 99);
            }
        }
    }
    let out = tmp.path().join("dataset");
    let (ok, text) = run(&[
        "--images",
        tmp.path().join("train").to_str().unwrap(),
        "--test-dir",
        tmp.path().join("test").to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{text}");
    let test = ImageSplit::read(&out.join(Split::Test.file_name())).unwrap();
    assert_eq!(
        test.labels,
        Some(vec![1, 1]),
        "`b` is class 1 of the train folder"
    );
    // A test class the train folder lacks is refused.
    grey(&tmp.path().join("test/zebra/0.png"), 3, 3, 9);
    let out2 = tmp.path().join("dataset2");
    refused(
        &[
            "--images",
            tmp.path().join("train").to_str().unwrap(),
            "--test-dir",
            tmp.path().join("test").to_str().unwrap(),
            "--out",
            out2.to_str().unwrap(),
        ],
        &out2,
        &["zebra", "no counterpart"],
    );
}

/// A 1×1 PNG whose header claims `w`×`h` pixels (CRC fixed): a decompression bomb.
fn bomb(path: &Path, w: u32, h: u32) {
    let mut bytes = Vec::new();
    GrayImage::from_pixel(1, 1, Luma([0]))
        .write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Png,
        )
        .unwrap();
    // IHDR data starts at byte 16: width, height; its CRC covers bytes 12..29.
    bytes[16..20].copy_from_slice(&w.to_be_bytes());
    bytes[20..24].copy_from_slice(&h.to_be_bytes());
    let mut crc = flate2::Crc::new();
    crc.update(&bytes[12..29]);
    bytes[29..33].copy_from_slice(&crc.sum().to_be_bytes());
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn bad_folders_and_files_are_refused_with_the_file_named() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("dataset");
    let o = out.to_str().unwrap();
    let path = |p: &str| -> PathBuf { tmp.path().join(p) };
    let s = |p: &Path| p.to_str().unwrap().to_string();

    // Missing and empty folders.
    refused(
        &["--images", &s(&path("nope")), "--out", o],
        &out,
        &["nope", "not found"],
    );
    std::fs::create_dir_all(path("empty")).unwrap();
    std::fs::write(path("empty/readme.md"), "x").unwrap();
    refused(
        &["--images", &s(&path("empty")), "--out", o],
        &out,
        &["empty", "no images"],
    );

    // A class folder without images.
    grey(&path("classes/a/0.png"), 2, 2, 0);
    std::fs::create_dir_all(path("classes/b")).unwrap();
    refused(
        &["--images", &s(&path("classes")), "--out", o],
        &out,
        &["classes/b", "class folder with no images"],
    );

    // Truncated and undecodable files; --skip-bad skips and lists them.
    grey(&path("bad/a.png"), 2, 2, 0);
    grey(&path("bad/b.png"), 2, 2, 0);
    let good = std::fs::read(path("bad/b.png")).unwrap();
    std::fs::write(path("bad/c.png"), &good[..good.len() / 2]).unwrap();
    std::fs::write(path("bad/d.jpg"), b"this is not a jpeg").unwrap();
    refused(
        &["--images", &s(&path("bad")), "--out", o],
        &out,
        &["c.png", "--skip-bad"],
    );
    let (ok, text) = run(&["--images", &s(&path("bad")), "--skip-bad", "--out", o]);
    assert!(ok, "{text}");
    assert!(
        text.contains("skipped 2 undecodable files")
            && text.contains("c.png")
            && text.contains("d.jpg"),
        "{text}"
    );
    let (info, files) = dataset(&out);
    assert_eq!(files.files.train, ["a.png", "b.png"]);
    assert_eq!(info.folder.unwrap().skipped.len(), 2);
    std::fs::remove_dir_all(&out).unwrap();

    // A decompression bomb: refused by the size limit before any allocation.
    grey(&path("bomb/ok.png"), 2, 2, 0);
    bomb(&path("bomb/huge.png"), 100_000, 100_000);
    refused(
        &["--images", &s(&path("bomb")), "--out", o],
        &out,
        &["huge.png", "refused"],
    );

    // A symbolic link loop.
    grey(&path("loop/a/0.png"), 2, 2, 0);
    std::os::unix::fs::symlink(path("loop"), path("loop/a/back")).unwrap();
    refused(
        &["--images", &s(&path("loop")), "--out", o],
        &out,
        &["loop", "symbolic link loop"],
    );

    // Impossible split fractions and sizes.
    for f in ["0", "1", "1.5", "-0.1"] {
        refused(
            &[
                "--images",
                &s(&path("classes/a")),
                &format!("--test-fraction={f}"),
                "--out",
                o,
            ],
            &out,
            &["--test-fraction", "between 0 and 1"],
        );
    }
    refused(
        &[
            "--images",
            &s(&path("classes/a")),
            "--size",
            "0x4",
            "--out",
            o,
        ],
        &out,
        &["--size 0x4"],
    );
}

/// Output files' hashes of an artifact, by name.
fn outputs(out: &Path) -> Vec<(String, String)> {
    Manifest::read_dir(out)
        .unwrap()
        .outputs
        .iter()
        .map(|r| (r.path.clone(), r.sha256.clone()))
        .collect()
}

#[test]
fn shards_merge_into_the_artifact_of_the_whole_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("photos");
    for (class, value) in [("cats", 10), ("dogs", 90), ("owls", 170)] {
        for i in 0..7 {
            grey(
                &dir.join(format!("{class}/{i:02}.png")),
                6,
                5,
                value + i as u8,
            );
        }
    }
    // An undecodable file, skipped, and one another tool made.
    std::fs::write(
        dir.join("dogs/03-broken.png"),
        b"\x89PNG\r\n\x1a\nnot really",
    )
    .unwrap();
    let read = |out: &Path, extra: &[&str]| {
        let mut args = vec![
            "--images",
            dir.to_str().unwrap(),
            "--test-fraction",
            "0.3",
            "--color",
            "gray",
            "--skip-bad",
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend(extra);
        let (ok, text) = run(&args);
        assert!(ok, "{text}");
    };
    let whole = tmp.path().join("whole");
    read(&whole, &[]);
    let shard_dirs: Vec<PathBuf> = (1..=3).map(|i| tmp.path().join(format!("s{i}"))).collect();
    for (i, d) in shard_dirs.iter().enumerate() {
        read(d, &["--shard", &format!("{}/3", i + 1)]);
    }
    let (info1, _) = dataset(&shard_dirs[0]);
    assert!(info1.splits.train.count < dataset(&whole).0.splits.train.count);
    // Given in any order, the shards merge into the whole folder's files and facts.
    let merged = tmp.path().join("merged");
    let list = [&shard_dirs[2], &shard_dirs[0], &shard_dirs[1]]
        .map(|p| p.to_str().unwrap().to_string())
        .join(",");
    let (ok, text) = run(&["--merge", &list, "--out", merged.to_str().unwrap()]);
    assert!(ok, "{text}");
    assert_eq!(outputs(&merged), outputs(&whole));
    assert_eq!(dataset(&merged), dataset(&whole));
    assert_eq!(dataset(&whole).0.folder.unwrap().skipped.len(), 1);
    // A shard missing, or no --color: refused, nothing written.
    let out = tmp.path().join("refused");
    let two = format!("{},{}", shard_dirs[0].display(), shard_dirs[1].display());
    refused(
        &["--merge", &two, "--out", out.to_str().unwrap()],
        &out,
        &["every shard 1/3 .. 3/3"],
    );
    refused(
        &[
            "--images",
            dir.to_str().unwrap(),
            "--shard",
            "1/2",
            "--out",
            out.to_str().unwrap(),
        ],
        &out,
        &["--shard 1/2", "--color"],
    );
    refused(
        &[
            "--merge",
            whole.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        &out,
        &["not a shard"],
    );
}
