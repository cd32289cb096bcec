//! Reading files as people see them, each step against values computed by hand: alpha
//! composited (RGBA, grey+alpha, palette with tRNS), every fit on non-square images,
//! EXIF orientations 1-8 (JPEG and PNG), each format, 16-bit samples, CMYK JPEG, a
//! corrupt EXIF block, truncated JPEG, and DCT-scaled JPEG against a full decode.

use aeclust_image_read::{read_bytes, Background, Color, Fit, ReadError, ReadSettings};
use image::{DynamicImage, ImageBuffer, ImageFormat, Luma, Rgb, RgbImage, Rgba, RgbaImage};
use mozjpeg::{ColorSpace, Compress, Marker};

fn settings(size: Option<[u32; 2]>, fit: Fit, background: Background) -> ReadSettings {
    ReadSettings {
        size,
        fit,
        background,
        color: None,
    }
}

fn plain() -> ReadSettings {
    ReadSettings::default()
}

fn encode(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    image.write_to(&mut out, format).unwrap();
    out.into_inner()
}

fn rgb_of(bytes: &[u8], s: &ReadSettings) -> RgbImage {
    let p = read_bytes(bytes, s).unwrap();
    assert!(!p.is_grey(), "expected a colour picture");
    p.into_image().into_rgb8()
}

fn grey_of(bytes: &[u8], s: &ReadSettings) -> Vec<u8> {
    let p = read_bytes(bytes, s).unwrap();
    assert!(p.is_grey(), "expected a grey picture");
    p.into_image().into_luma8().into_raw()
}

/// A PNG of `color` type and bit depth written with the png crate (palette and tRNS
/// included), optionally with an eXIf chunk.
fn png(
    w: u32,
    h: u32,
    color: png::ColorType,
    depth: png::BitDepth,
    data: &[u8],
    palette: Option<(&[u8], &[u8])>,
    exif: Option<&[u8]>,
) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut e = png::Encoder::new(&mut out, w, h);
        e.set_color(color);
        e.set_depth(depth);
        if let Some((plte, trns)) = palette {
            e.set_palette(plte.to_vec());
            e.set_trns(trns.to_vec());
        }
        let mut writer = e.write_header().unwrap();
        if let Some(block) = exif {
            writer
                .write_chunk(png::chunk::ChunkType(*b"eXIf"), block)
                .unwrap();
        }
        writer.write_image_data(data).unwrap();
    }
    out
}

#[test]
fn transparency_is_composited_over_the_background() {
    // RGBA: transparent black, opaque green, (100, 200, 50) at alpha 128.
    let rgba = png(
        3,
        1,
        png::ColorType::Rgba,
        png::BitDepth::Eight,
        &[0, 0, 0, 0, 0, 255, 0, 255, 100, 200, 50, 128],
        None,
        None,
    );
    let white = rgb_of(&rgba, &settings(None, Fit::Pad, Background::WHITE));
    // (c·128 + 255·127) / 255: 177.2 → 177, 227.4 → 227, 152.1 → 152.
    assert_eq!(white.as_raw(), &[255, 255, 255, 0, 255, 0, 177, 227, 152]);
    let teal = rgb_of(&rgba, &settings(None, Fit::Pad, "#008080".parse().unwrap()));
    // (c·128 + b·127) / 255 with b = (0, 128, 128): 50.2 → 50, 164.2 → 164, 88.9 → 89.
    assert_eq!(teal.as_raw(), &[0, 128, 128, 0, 255, 0, 50, 164, 89]);

    // Grey + alpha over white stays grey: transparent, opaque 40, 40 at 51.
    let la = png(
        3,
        1,
        png::ColorType::GrayscaleAlpha,
        png::BitDepth::Eight,
        &[0, 0, 40, 255, 40, 51],
        None,
        None,
    );
    // (40·51 + 255·204)/255 = 212.
    assert_eq!(
        grey_of(&la, &settings(None, Fit::Pad, Background::WHITE)),
        [255, 40, 212]
    );
    // Over black: (40·51)/255 = 8.
    assert_eq!(
        grey_of(&la, &settings(None, Fit::Pad, Background::BLACK)),
        [0, 40, 8]
    );

    // Palette with a tRNS chunk: index 0 transparent, 1 opaque red, 2 blue at 64.
    let indexed = png(
        3,
        1,
        png::ColorType::Indexed,
        png::BitDepth::Eight,
        &[0, 1, 2],
        Some((&[0, 0, 0, 255, 0, 0, 0, 0, 255], &[0, 255, 64])),
        None,
    );
    let p = rgb_of(&indexed, &settings(None, Fit::Pad, Background::WHITE));
    // Blue at 64 over white: (0·64 + 255·191)/255 = 191, (255·64 + 255·191)/255 = 255.
    assert_eq!(p.as_raw(), &[255, 255, 255, 255, 0, 0, 191, 191, 255]);
}

/// An RGB image, `w`×`h`, whose pixel (x, y) is (10x + 1, 10y + 1, 7).
fn ramp(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| Rgb([10 * x as u8 + 1, 10 * y as u8 + 1, 7]))
}

#[test]
fn each_fit_places_a_non_square_image_exactly() {
    // 4 wide × 2 high into 4×4: no scaling needed for pad (4/4 = 1).
    let wide = encode(&DynamicImage::ImageRgb8(ramp(4, 2)), ImageFormat::Png);
    let black = Background::BLACK;
    let pad = rgb_of(&wide, &settings(Some([4, 4]), Fit::Pad, black));
    for y in 0..4 {
        for x in 0..4 {
            let want = if (1..3).contains(&y) {
                ramp(4, 2).get_pixel(x, y - 1).0
            } else {
                [0, 0, 0]
            };
            assert_eq!(pad.get_pixel(x, y).0, want, "pad ({x}, {y})");
        }
    }
    // Into 2×2 by crop: 2/2 = 1 for the height, the centre columns 1 and 2 kept.
    let crop = rgb_of(&wide, &settings(Some([2, 2]), Fit::Crop, black));
    assert_eq!(crop.dimensions(), (2, 2));
    for (x, y, p) in crop.enumerate_pixels() {
        assert_eq!(p.0, ramp(4, 2).get_pixel(x + 1, y).0, "crop ({x}, {y})");
    }
    // A tall 2×4 into 4 high × 4 wide by pad: centred columns 1 and 2, padded white.
    let tall = encode(&DynamicImage::ImageRgb8(ramp(2, 4)), ImageFormat::Png);
    let pad = rgb_of(&tall, &settings(Some([4, 4]), Fit::Pad, Background::WHITE));
    for (x, y, p) in pad.enumerate_pixels() {
        let want = if (1..3).contains(&x) {
            ramp(2, 4).get_pixel(x - 1, y).0
        } else {
            [255, 255, 255]
        };
        assert_eq!(p.0, want, "tall pad ({x}, {y})");
    }
    // Stretch fills the frame: a uniform red 8×2 becomes 2×2 of red, where pad would
    // leave a black row and crop would keep a quarter.
    let red = RgbImage::from_pixel(8, 2, Rgb([255, 0, 0]));
    let red = encode(&DynamicImage::ImageRgb8(red), ImageFormat::Png);
    let s = rgb_of(&red, &settings(Some([2, 2]), Fit::Stretch, black));
    assert_eq!(s.as_raw(), &[255, 0, 0].repeat(4));
    let p = rgb_of(&red, &settings(Some([2, 2]), Fit::Pad, black));
    assert_eq!(p.get_pixel(0, 1).0, [0, 0, 0]);
    // Padding a grey image with a colour makes it colour; with grey it stays grey.
    let g = encode(
        &DynamicImage::ImageLuma8(ImageBuffer::from_pixel(4, 2, Luma([9u8]))),
        ImageFormat::Png,
    );
    let coloured = rgb_of(
        &g,
        &settings(Some([4, 4]), Fit::Pad, "#ff0000".parse().unwrap()),
    );
    assert_eq!(coloured.get_pixel(0, 0).0, [255, 0, 0]);
    assert_eq!(coloured.get_pixel(0, 1).0, [9, 9, 9]);
    assert_eq!(
        grey_of(&g, &settings(Some([4, 4]), Fit::Pad, Background::WHITE)),
        [255, 255, 255, 255, 9, 9, 9, 9, 9, 9, 9, 9, 255, 255, 255, 255]
    );
}

/// An EXIF block (little-endian TIFF) with orientation `v`.
fn exif_block(v: u16) -> Vec<u8> {
    let mut b = b"II\x2a\x00".to_vec();
    b.extend(8u32.to_le_bytes());
    b.extend(1u16.to_le_bytes());
    b.extend(0x0112u16.to_le_bytes());
    b.extend(3u16.to_le_bytes());
    b.extend(1u32.to_le_bytes());
    b.extend(v.to_le_bytes());
    b.extend([0, 0]);
    b.extend(0u32.to_le_bytes());
    b
}

/// A JPEG (mozjpeg: quality 100, no chroma subsampling) of `image`, with an APP1
/// segment holding `app1` when given.
fn jpeg(image: &RgbImage, app1: Option<&[u8]>) -> Vec<u8> {
    let mut c = Compress::new(ColorSpace::JCS_RGB);
    c.set_size(image.width() as usize, image.height() as usize);
    c.set_quality(100.0);
    c.set_chroma_sampling_pixel_sizes((1, 1), (1, 1));
    let mut started = c.start_compress(Vec::new()).unwrap();
    if let Some(data) = app1 {
        started.write_marker(Marker::APP(1), data);
    }
    started.write_scanlines(image.as_raw()).unwrap();
    started.finish().unwrap()
}

/// Where display pixel (x, y) comes from in a stored w×h image, for EXIF orientation
/// `v` (the EXIF definitions, written out independently of the image crate).
fn stored_of(v: u16, x: u32, y: u32, w: u32, h: u32) -> (u32, u32) {
    match v {
        1 => (x, y),
        2 => (w - 1 - x, y),
        3 => (w - 1 - x, h - 1 - y),
        4 => (x, h - 1 - y),
        5 => (y, x),
        6 => (y, h - 1 - x),
        7 => (w - 1 - y, h - 1 - x),
        8 => (w - 1 - y, x),
        _ => unreachable!(),
    }
}

/// A 2-wide × 3-high grid of distinct colours, each cell `cell` pixels square.
fn grid(cell: u32) -> RgbImage {
    const COLOURS: [[u8; 3]; 6] = [
        [250, 0, 0],
        [0, 250, 0],
        [0, 0, 250],
        [250, 250, 0],
        [0, 250, 250],
        [250, 0, 250],
    ];
    RgbImage::from_fn(2 * cell, 3 * cell, |x, y| {
        Rgb(COLOURS[(y / cell * 2 + x / cell) as usize])
    })
}

fn check_upright(read: &RgbImage, stored: &RgbImage, v: u16, cell: u32, tolerance: i32) {
    let (w, h) = stored.dimensions();
    let want = if v >= 5 { (h, w) } else { (w, h) };
    assert_eq!(read.dimensions(), want, "orientation {v}: size");
    // Compare cell centres (JPEG blurs the edges between cells).
    for cy in 0..read.height() / cell {
        for cx in 0..read.width() / cell {
            let (x, y) = (cx * cell + cell / 2, cy * cell + cell / 2);
            let (sx, sy) = stored_of(v, x, y, w, h);
            let (a, b) = (read.get_pixel(x, y).0, stored.get_pixel(sx, sy).0);
            for c in 0..3 {
                assert!(
                    (i32::from(a[c]) - i32::from(b[c])).abs() <= tolerance,
                    "orientation {v}: display ({x}, {y}) is {a:?}, stored ({sx}, {sy}) is {b:?}"
                );
            }
        }
    }
}

#[test]
fn exif_orientations_one_to_eight_turn_jpeg_and_png_upright() {
    let stored = grid(8);
    for v in 1..=8u16 {
        let mut app1 = b"Exif\0\0".to_vec();
        app1.extend(exif_block(v));
        let file = jpeg(&stored, Some(&app1));
        let read = rgb_of(&file, &plain());
        check_upright(&read, &stored, v, 8, 6);

        let file = png(
            stored.width(),
            stored.height(),
            png::ColorType::Rgb,
            png::BitDepth::Eight,
            stored.as_raw(),
            None,
            Some(&exif_block(v)),
        );
        let read = rgb_of(&file, &plain());
        check_upright(&read, &stored, v, 1, 0);
    }
}

#[test]
fn webp_exif_and_the_tiff_orientation_tag_turn_images_upright() {
    use image::ImageEncoder;
    let stored = grid(2);
    for v in [3u16, 6, 7] {
        let mut webp = Vec::new();
        let mut e = image::codecs::webp::WebPEncoder::new_lossless(&mut webp);
        e.set_exif_metadata(exif_block(v)).unwrap();
        e.write_image(
            stored.as_raw(),
            stored.width(),
            stored.height(),
            image::ExtendedColorType::Rgb8,
        )
        .unwrap();
        check_upright(&rgb_of(&webp, &plain()), &stored, v, 1, 0);

        let mut tif = std::io::Cursor::new(Vec::new());
        let mut t = tiff::encoder::TiffEncoder::new(&mut tif).unwrap();
        let mut img = t
            .new_image::<tiff::encoder::colortype::RGB8>(stored.width(), stored.height())
            .unwrap();
        img.encoder()
            .write_tag(tiff::tags::Tag::Orientation, v)
            .unwrap();
        img.write_data(stored.as_raw()).unwrap();
        check_upright(&rgb_of(tif.get_ref(), &plain()), &stored, v, 1, 0);
    }
}

#[test]
fn a_corrupt_exif_block_is_ignored_with_a_warning() {
    let stored = grid(8);
    let file = jpeg(&stored, Some(b"Exif\0\0this is not a TIFF header"));
    let p = read_bytes(&file, &plain()).unwrap();
    assert_eq!(p.warnings.len(), 1, "{:?}", p.warnings);
    assert!(
        p.warnings[0].contains("corrupt EXIF block"),
        "{:?}",
        p.warnings
    );
    check_upright(&p.into_image().into_rgb8(), &stored, 1, 8, 6);
    // An IFD that runs past the block: the same.
    let mut short = b"Exif\0\0".to_vec();
    short.extend(&exif_block(6)[..12]);
    let p = read_bytes(&jpeg(&stored, Some(&short)), &plain()).unwrap();
    assert!(p.warnings[0].contains("past the block"), "{:?}", p.warnings);
    assert_eq!(p.size(), (24, 16), "not rotated");
}

#[test]
fn webp_bmp_tiff_and_gif_are_read() {
    let stored = RgbaImage::from_fn(5, 3, |x, y| {
        Rgba([
            40 * x as u8,
            60 * y as u8,
            100,
            if x == 0 { 0 } else { 255 },
        ])
    });
    // What compositing over white gives.
    let want = RgbImage::from_fn(5, 3, |x, y| {
        if x == 0 {
            Rgb([255, 255, 255])
        } else {
            Rgb([40 * x as u8, 60 * y as u8, 100])
        }
    });
    for format in [ImageFormat::WebP, ImageFormat::Bmp, ImageFormat::Tiff] {
        let file = encode(&DynamicImage::ImageRgba8(stored.clone()), format);
        assert_eq!(rgb_of(&file, &plain()), want, "{format:?}");
    }
    // GIF: the first of two frames (a palette of these few colours is exact).
    let mut file = Vec::new();
    {
        let mut e = image::codecs::gif::GifEncoder::new(&mut file);
        let first = RgbaImage::from_pixel(5, 3, Rgba([200, 10, 10, 255]));
        let second = RgbaImage::from_pixel(5, 3, Rgba([10, 10, 200, 255]));
        e.encode_frames([image::Frame::new(first), image::Frame::new(second)])
            .unwrap();
    }
    let first = rgb_of(&file, &plain());
    assert!(first.pixels().all(|p| p.0 == [200, 10, 10]), "{first:?}");
}

#[test]
fn sixteen_bit_png_and_tiff_are_scaled_to_eight_bits() {
    // 0, 65535, 32896 (= 128·257) and 1000 (→ 1000/257 = 3.9 → 4).
    let samples: [u16; 4] = [0, 65535, 32896, 1000];
    let be: Vec<u8> = samples.iter().flat_map(|v| v.to_be_bytes()).collect();
    let file = png(
        4,
        1,
        png::ColorType::Grayscale,
        png::BitDepth::Sixteen,
        &be,
        None,
        None,
    );
    assert_eq!(grey_of(&file, &plain()), [0, 255, 128, 4]);
    let tiff = encode(
        &DynamicImage::ImageLuma16(ImageBuffer::from_vec(4, 1, samples.to_vec()).unwrap()),
        ImageFormat::Tiff,
    );
    assert_eq!(grey_of(&tiff, &plain()), [0, 255, 128, 4]);
    let rgb16: ImageBuffer<Rgb<u16>, _> =
        ImageBuffer::from_vec(1, 1, vec![65535, 32896, 1000]).unwrap();
    let tiff = encode(&DynamicImage::ImageRgb16(rgb16), ImageFormat::Tiff);
    assert_eq!(rgb_of(&tiff, &plain()).as_raw(), &[255, 128, 4]);
}

#[test]
fn a_cmyk_jpeg_is_converted_to_rgb() {
    // Adobe's inverted CMYK (255 = no ink): (200, 100, 50) with no black, then the same
    // with K = 128 (half black): R = C·K/255.
    let (w, h) = (16, 8);
    let mut data = Vec::new();
    for _y in 0..h {
        for x in 0..w {
            let k = if x < 8 { 255 } else { 128 };
            data.extend([200u8, 100, 50, k]);
        }
    }
    let mut c = Compress::new(ColorSpace::JCS_CMYK);
    c.set_size(w, h);
    c.set_quality(100.0);
    let mut started = c.start_compress(Vec::new()).unwrap();
    started.write_scanlines(&data).unwrap();
    let file = started.finish().unwrap();
    let rgb = rgb_of(&file, &plain());
    let near = |a: [u8; 3], b: [u8; 3]| a.iter().zip(b).all(|(&x, y)| x.abs_diff(y) <= 3);
    assert!(
        near(rgb.get_pixel(3, 4).0, [200, 100, 50]),
        "{:?}",
        rgb.get_pixel(3, 4)
    );
    assert!(
        near(rgb.get_pixel(12, 4).0, [100, 50, 25]),
        "{:?}",
        rgb.get_pixel(12, 4)
    );
}

#[test]
fn jpeg_is_decoded_at_a_dct_scale_close_to_the_full_decode() {
    // 1024×768 of smooth gradients read at 64×64 (pad: 64×48 inside): decoded at 1/8
    // (128×96), then resized. Compared with resizing the full decode.
    let big = RgbImage::from_fn(1024, 768, |x, y| {
        Rgb([(x / 4) as u8, (y / 3) as u8, ((x + y) / 8) as u8])
    });
    let file = jpeg(&big, None);
    let s = settings(Some([64, 64]), Fit::Pad, Background::WHITE);
    let scaled = rgb_of(&file, &s);
    assert_eq!(scaled.dimensions(), (64, 64));
    let full = image::load_from_memory(&file).unwrap().to_rgb8();
    let reference = image::imageops::resize(&full, 64, 48, image::imageops::FilterType::Triangle);
    let mut worst = 0;
    for (x, y, p) in reference.enumerate_pixels() {
        let q = scaled.get_pixel(x, y + 8);
        for c in 0..3 {
            worst = worst.max(p.0[c].abs_diff(q.0[c]));
        }
    }
    assert!(worst <= 6, "largest difference {worst}");
    assert_eq!(
        scaled.get_pixel(5, 2).0,
        [255, 255, 255],
        "pad rows are white"
    );
}

#[test]
fn progressive_and_grey_jpegs_are_read_at_a_dct_scale() {
    let big = RgbImage::from_fn(512, 256, |x, _| Rgb([(x / 2) as u8, 90, 160]));
    let mut c = Compress::new(ColorSpace::JCS_RGB);
    c.set_size(512, 256);
    c.set_quality(95.0);
    c.set_progressive_mode();
    let mut started = c.start_compress(Vec::new()).unwrap();
    started.write_scanlines(big.as_raw()).unwrap();
    let progressive = started.finish().unwrap();
    let s = settings(Some([32, 32]), Fit::Crop, Background::WHITE);
    let read = rgb_of(&progressive, &s);
    assert_eq!(read.dimensions(), (32, 32));
    // Crop keeps the centre half of the ramp: red from about 64 to 192, left to right.
    let (left, right) = (read.get_pixel(0, 16).0[0], read.get_pixel(31, 16).0[0]);
    assert!(
        left.abs_diff(66) <= 6 && right.abs_diff(190) <= 6,
        "{left} {right}"
    );

    let mut c = Compress::new(ColorSpace::JCS_GRAYSCALE);
    c.set_size(64, 64);
    let mut started = c.start_compress(Vec::new()).unwrap();
    started.write_scanlines(&[77u8; 64 * 64]).unwrap();
    let grey = started.finish().unwrap();
    let px = grey_of(&grey, &settings(Some([8, 8]), Fit::Pad, Background::WHITE));
    assert!(px.iter().all(|&v| v.abs_diff(77) <= 1), "{px:?}");
}

#[test]
fn oversized_images_are_refused_before_decoding() {
    // A JPEG whose frame header (baseline or progressive) claims 20000×20000 pixels.
    let mut file = jpeg(&grid(8), None);
    let sof = file
        .windows(2)
        .position(|w| w == [0xFF, 0xC0] || w == [0xFF, 0xC2])
        .expect("frame header");
    file[sof + 5..sof + 7].copy_from_slice(&20_000u16.to_be_bytes());
    file[sof + 7..sof + 9].copy_from_slice(&20_000u16.to_be_bytes());
    let e = read_bytes(&file, &plain()).unwrap_err();
    assert!(
        matches!(&e, ReadError::Refused(m) if m.contains("20000x20000")),
        "{e}"
    );
}

#[test]
fn broken_files_say_what_is_wrong() {
    let stored = grid(8);
    let file = jpeg(&stored, None);
    let e = read_bytes(&file[..file.len() / 2], &plain()).unwrap_err();
    assert!(
        matches!(&e, ReadError::Decode(m) if m.contains("truncated")),
        "{e}"
    );
    let e = read_bytes(b"", &plain()).unwrap_err();
    assert!(matches!(e, ReadError::Empty), "{e}");
    let e = read_bytes(b"plain text, not an image", &plain()).unwrap_err();
    assert!(matches!(e, ReadError::Unrecognised), "{e}");
    let mut png_bytes = encode(&DynamicImage::ImageRgb8(ramp(4, 4)), ImageFormat::Png);
    png_bytes.truncate(png_bytes.len() - 20);
    let e = read_bytes(&png_bytes, &plain()).unwrap_err();
    assert!(matches!(e, ReadError::Decode(_)), "{e}");
}

#[test]
fn color_is_applied_when_the_pixels_are_taken() {
    let file = encode(&DynamicImage::ImageRgb8(ramp(2, 1)), ImageFormat::Png);
    let p = read_bytes(&file, &plain()).unwrap();
    let mut rgb = Vec::new();
    p.append_to(Color::Rgb, &mut rgb);
    assert_eq!(rgb, [1, 1, 7, 11, 1, 7]);
    let mut grey = Vec::new();
    p.append_to(Color::Gray, &mut grey);
    assert_eq!(grey.len(), 2);
}
