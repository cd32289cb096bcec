//! Transparency composited over an opaque background, so that what a viewer shows is
//! what is clustered: black line art on a transparent background stays black on white.

use aeclust_artifact::kinds::Background;
use image::{DynamicImage, GrayImage, RgbImage};

/// `colour` at opacity `alpha` over `background`, all 8-bit, rounded to nearest:
/// (c·a + b·(255 − a)) / 255 (sRGB values, as Pillow's `alpha_composite` and browsers
/// do).
pub(crate) fn over(colour: u8, alpha: u8, background: u8) -> u8 {
    let a = u32::from(alpha);
    ((u32::from(colour) * a + u32::from(background) * (255 - a) + 127) / 255) as u8
}

/// The 16-bit version of [`over`], rounded to 8 bits at the end: (c·a + b·(65535 − a))
/// / 65535 / 257, so that a 16-bit alpha below 1/255 is not first rounded up.
pub(crate) fn over16(colour: u16, alpha: u16, background: u8) -> u8 {
    const DENOM: u64 = 65_535 * 257;
    let a = u64::from(alpha);
    let num = u64::from(colour) * a + u64::from(background) * 257 * (65_535 - a);
    ((num + DENOM / 2) / DENOM) as u8
}

/// `image` as 8-bit grey (`ImageLuma8`: grey files, and grey files with alpha over a
/// grey background) or 8-bit RGB (`ImageRgb8`: everything else), its alpha, if any,
/// composited over `background`. 16-bit and float samples are scaled to 8 bits. The
/// common 8-bit cases are composited in place, in the decoded buffer.
pub(crate) fn flatten(image: DynamicImage, background: Background) -> DynamicImage {
    let (w, h) = (image.width(), image.height());
    let grey_over = background.is_grey();
    match image {
        DynamicImage::ImageLuma8(_) | DynamicImage::ImageRgb8(_) => image,
        DynamicImage::ImageLuma16(_) => DynamicImage::ImageLuma8(image.to_luma8()),
        DynamicImage::ImageLumaA8(la) if grey_over => {
            let buf = squeeze::<2, 1>(la.into_raw(), |[l, a], [out]| {
                *out = over(l, a, background.0[0])
            });
            DynamicImage::ImageLuma8(GrayImage::from_raw(w, h, buf).expect("w·h samples"))
        }
        DynamicImage::ImageLumaA16(la) if grey_over => {
            let br = background.0[0];
            let buf = la
                .as_raw()
                .chunks_exact(2)
                .map(|p| over16(p[0], p[1], br))
                .collect();
            DynamicImage::ImageLuma8(GrayImage::from_raw(w, h, buf).expect("w·h samples"))
        }
        DynamicImage::ImageLumaA16(_) | DynamicImage::ImageRgba16(_) => {
            let [br, bg, bb] = background.0;
            let buf = image
                .into_rgba16()
                .as_raw()
                .chunks_exact(4)
                .flat_map(|p| {
                    [
                        over16(p[0], p[3], br),
                        over16(p[1], p[3], bg),
                        over16(p[2], p[3], bb),
                    ]
                })
                .collect();
            DynamicImage::ImageRgb8(RgbImage::from_raw(w, h, buf).expect("w·h pixels"))
        }
        // RGBA, grey + alpha over a colour, and float samples with alpha.
        other if other.color().has_alpha() => {
            let [br, bg, bb] = background.0;
            let rgba = match other {
                DynamicImage::ImageRgba8(rgba) => rgba,
                other => other.to_rgba8(),
            };
            let buf = squeeze::<4, 3>(rgba.into_raw(), |[r, g, b, a], out| {
                *out = [over(r, a, br), over(g, a, bg), over(b, a, bb)];
            });
            DynamicImage::ImageRgb8(RgbImage::from_raw(w, h, buf).expect("w·h pixels"))
        }
        other => DynamicImage::ImageRgb8(other.to_rgb8()),
    }
}

/// Rewrites `buf`, pixels of `IN` samples, as pixels of `OUT` ≤ `IN` samples in place
/// (each written at or before where it was read), and shortens it.
fn squeeze<const IN: usize, const OUT: usize>(
    mut buf: Vec<u8>,
    f: impl Fn([u8; IN], &mut [u8; OUT]),
) -> Vec<u8> {
    let n = buf.len() / IN;
    let mut px = [0u8; IN];
    let mut out = [0u8; OUT];
    for i in 0..n {
        px.copy_from_slice(&buf[i * IN..i * IN + IN]);
        f(px, &mut out);
        buf[i * OUT..i * OUT + OUT].copy_from_slice(&out);
    }
    buf.truncate(n * OUT);
    buf
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageBuffer, Luma, LumaA, Rgba};

    #[test]
    fn over_is_exact_at_the_ends_and_rounds_to_nearest() {
        assert_eq!(over(10, 255, 200), 10);
        assert_eq!(over(10, 0, 200), 200);
        // (0·128 + 255·127) / 255 = 127 exactly.
        assert_eq!(over(0, 128, 255), 127);
        // (200·64 + 0·191) / 255 = 50.196… → 50; (100·200 + 255·55) / 255 = 133.43… → 133.
        assert_eq!(over(200, 64, 0), 50);
        assert_eq!(over(100, 200, 255), 133);
        // (1·1 + 0) / 255 = 0.0039 → 0; (254·1 + 0·254)/255 = 0.996 → 1.
        assert_eq!(over(1, 1, 0), 0);
        assert_eq!(over(254, 1, 0), 1);
    }

    #[test]
    fn rgba_becomes_rgb_over_the_background() {
        let img = ImageBuffer::from_vec(3, 1, vec![0, 0, 0, 0, 255, 0, 0, 255, 100, 200, 50, 128])
            .map(|b: ImageBuffer<Rgba<u8>, _>| DynamicImage::ImageRgba8(b))
            .unwrap();
        let out = flatten(img, Background([255, 255, 255]));
        let DynamicImage::ImageRgb8(rgb) = out else {
            panic!("RGB expected")
        };
        // transparent black → white; opaque red stays; (100,200,50) at 128/255 over white:
        // (100·128 + 255·127)/255 = 177.196 → 177, (200·128+255·127)/255 = 227.4 → 227,
        // (50·128 + 255·127)/255 = 152.098 → 152.
        assert_eq!(rgb.as_raw(), &[255, 255, 255, 255, 0, 0, 177, 227, 152]);
    }

    #[test]
    fn grey_alpha_stays_grey_over_grey_and_turns_rgb_over_colour() {
        let la: ImageBuffer<LumaA<u8>, _> =
            ImageBuffer::from_vec(2, 1, vec![0, 0, 40, 51]).unwrap();
        let grey = flatten(DynamicImage::ImageLumaA8(la.clone()), Background::BLACK);
        // (40·51 + 0)/255 = 8.
        assert_eq!(grey.as_luma8().expect("grey").as_raw(), &[0, 8]);
        let colour = flatten(DynamicImage::ImageLumaA8(la), Background([255, 0, 0]));
        // (40·51 + 255·204)/255 = 212 for red, 8 for green and blue.
        assert_eq!(
            colour.as_rgb8().expect("rgb").as_raw(),
            &[255, 0, 0, 212, 8, 8]
        );
    }

    #[test]
    fn sixteen_bit_alpha_is_composited_before_rounding() {
        // Alpha 200/65535 (0.3 %): colour 32125 barely shows over white:
        // 255 − 0.00305·(255 − 125) = 254.6 → 255 (8-bit alpha first would give 254).
        assert_eq!(over16(32_125, 200, 255), 255);
        assert_eq!(over16(0, 65_535, 255), 0);
        assert_eq!(over16(65_535, 0, 7), 7);
        // Half alpha (32768) of black over white: 255·32767/65535 = 127.498 → 127.
        assert_eq!(over16(0, 32_768, 255), 127);
        let rgba: ImageBuffer<Rgba<u16>, _> =
            ImageBuffer::from_vec(1, 1, vec![65_535, 0, 0, 32_768]).unwrap();
        let out = flatten(DynamicImage::ImageRgba16(rgba), Background::WHITE);
        // Red: (65535·32768 + 65535·32767)/65535/257 = 255; green, blue: 127.
        assert_eq!(out.as_rgb8().expect("rgb").as_raw(), &[255, 127, 127]);
    }

    #[test]
    fn sixteen_bit_samples_scale_to_eight() {
        let l16: ImageBuffer<Luma<u16>, _> =
            ImageBuffer::from_vec(3, 1, vec![0, 65535, 32896]).unwrap();
        let out = flatten(DynamicImage::ImageLuma16(l16), Background::WHITE);
        // 32896 = 128·257.
        assert_eq!(out.as_luma8().expect("grey").as_raw(), &[0, 255, 128]);
    }
}
