//! Bringing an image to the requested size: pad (letterbox), crop (centre) or stretch.

use aeclust_artifact::kinds::{Background, Fit};
use image::imageops::{self, FilterType};
use image::{DynamicImage, GrayImage, Luma, Rgb, RgbImage};

use crate::composite::flatten;

/// Where an image lands in the requested frame: resized to `resized` (width, height),
/// its top-left corner at `offset` on the frame (negative: cut off).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// Width and height after resizing.
    pub resized: (u32, u32),
    /// Column and row of the resized image's top-left corner in the frame.
    pub offset: (i64, i64),
}

impl Plan {
    /// The plan for an image `source` = (width, height) brought to `size` = [height,
    /// width] by `fit`. Pad scales by the smaller ratio and centres (borders split with
    /// the odd pixel on the right or bottom); crop scales by the larger and cuts the
    /// centre (the odd pixel cut on the right or bottom); stretch scales each side.
    pub fn new(source: (u32, u32), size: [u32; 2], fit: Fit) -> Plan {
        let (w, h) = (f64::from(source.0.max(1)), f64::from(source.1.max(1)));
        let [fh, fw] = size;
        let scaled = |s: f64| {
            (
                ((w * s).round() as u32).max(1),
                ((h * s).round() as u32).max(1),
            )
        };
        let centred = |(rw, rh): (u32, u32)| {
            (
                (i64::from(fw) - i64::from(rw)).div_euclid(2),
                (i64::from(fh) - i64::from(rh)).div_euclid(2),
            )
        };
        match fit {
            Fit::Stretch => Plan {
                resized: (fw, fh),
                offset: (0, 0),
            },
            Fit::Pad => {
                let (rw, rh) = scaled((f64::from(fw) / w).min(f64::from(fh) / h));
                let resized = (rw.min(fw), rh.min(fh));
                Plan {
                    resized,
                    offset: centred(resized),
                }
            }
            Fit::Crop => {
                let (rw, rh) = scaled((f64::from(fw) / w).max(f64::from(fh) / h));
                let resized = (rw.max(fw), rh.max(fh));
                Plan {
                    resized,
                    offset: centred(resized),
                }
            }
        }
    }
}

/// `image` (any colour type, alpha included) composited over `background` and brought to
/// `size` = [height, width] by `fit`; padding shows `background` (a grey image padded
/// with a colour becomes RGB). A large reduction starts with a box average by whole
/// factors to within 2-4x of the target (Pillow's reducing gap), which also composites:
/// alpha-weighted sums, the background added after averaging (exact, since compositing
/// is linear), so the full-size image is read once and never composited.
pub(crate) fn apply(
    image: DynamicImage,
    size: [u32; 2],
    fit: Fit,
    background: Background,
) -> DynamicImage {
    let [fh, fw] = size;
    let plan = Plan::new((image.width(), image.height()), size, fit);
    let (rw, rh) = plan.resized;
    let (kx, ky) = (image.width() / (2 * rw), image.height() / (2 * rh));
    let image = if kx >= 2 || ky >= 2 {
        box_reduce(image, kx.max(1), ky.max(1), background)
    } else {
        flatten(image, background)
    };
    let resized = if (image.width(), image.height()) == plan.resized {
        image
    } else {
        image.resize_exact(rw, rh, FilterType::Triangle)
    };
    if plan.resized == (fw, fh) {
        return resized;
    }
    let (x, y) = plan.offset;
    if x < 0 || y < 0 {
        return resized.crop_imm((-x).max(0) as u32, (-y).max(0) as u32, fw, fh);
    }
    match resized {
        DynamicImage::ImageLuma8(g) if background.is_grey() => {
            let mut frame = GrayImage::from_pixel(fw, fh, Luma([background.0[0]]));
            imageops::replace(&mut frame, &g, x, y);
            DynamicImage::ImageLuma8(frame)
        }
        other => {
            let mut frame = RgbImage::from_pixel(fw, fh, Rgb(background.0));
            imageops::replace(&mut frame, &other.to_rgb8(), x, y);
            DynamicImage::ImageRgb8(frame)
        }
    }
}

/// `image` averaged over blocks of `kx` × `ky` pixels (the last block of a row or
/// column averages the pixels it has), composited over `background`, rounded to 8 bits.
fn box_reduce(image: DynamicImage, kx: u32, ky: u32, background: Background) -> DynamicImage {
    let (w, h) = (image.width(), image.height());
    let grey = |(ow, oh, buf)| {
        DynamicImage::ImageLuma8(GrayImage::from_raw(ow, oh, buf).expect("w·h samples"))
    };
    let rgb = |(ow, oh, buf)| {
        DynamicImage::ImageRgb8(RgbImage::from_raw(ow, oh, buf).expect("w·h pixels"))
    };
    let bg = background.0;
    match image {
        DynamicImage::ImageLuma8(g) => grey(box_average::<1, false>(g.as_raw(), w, h, kx, ky, bg)),
        DynamicImage::ImageRgb8(c) => rgb(box_average::<3, false>(c.as_raw(), w, h, kx, ky, bg)),
        DynamicImage::ImageLumaA8(la) if background.is_grey() => {
            grey(box_average::<2, true>(la.as_raw(), w, h, kx, ky, bg))
        }
        DynamicImage::ImageRgba8(c) => rgb(box_average::<4, true>(c.as_raw(), w, h, kx, ky, bg)),
        DynamicImage::ImageLumaA8(_) => rgb(box_average::<4, true>(
            image.to_rgba8().as_raw(),
            w,
            h,
            kx,
            ky,
            bg,
        )),
        // 16-bit and float samples: composited at full precision first (rare).
        other => box_reduce(flatten(other, background), kx, ky, background),
    }
}

/// Block averages of 8-bit pixels of `C` samples, the last one alpha when `ALPHA`:
/// colour sums weighted by alpha and `background[c]` added for the missing coverage,
/// (Σ c·a + b·(255·n − Σ a)) / (255·n); without alpha, Σ c / n. Returns the reduced width,
/// height and samples (`C` − 1 per pixel with alpha).
fn box_average<const C: usize, const ALPHA: bool>(
    src: &[u8],
    w: u32,
    h: u32,
    kx: u32,
    ky: u32,
    background: [u8; 3],
) -> (u32, u32, Vec<u8>) {
    let colours = if ALPHA { C - 1 } else { C };
    let (w, h, kx, ky) = (w as usize, h as usize, kx as usize, ky as usize);
    let (ow, oh) = (w.div_ceil(kx), h.div_ceil(ky));
    let mut out = Vec::with_capacity(ow * oh * colours);
    // Per output column: C sums (colours, then alpha).
    let mut sums = vec![0u64; ow * C];
    for oy in 0..oh {
        sums.iter_mut().for_each(|s| *s = 0);
        let rows = (oy * ky)..((oy + 1) * ky).min(h);
        let n_rows = rows.len();
        for y in rows {
            let row = &src[y * w * C..(y + 1) * w * C];
            for (block, sum) in row.chunks(kx * C).zip(sums.chunks_exact_mut(C)) {
                let mut acc = [0u64; C];
                for px in block.chunks_exact(C) {
                    if ALPHA {
                        let a = u64::from(px[C - 1]);
                        for c in 0..C - 1 {
                            acc[c] += u64::from(px[c]) * a;
                        }
                        acc[C - 1] += a;
                    } else {
                        for c in 0..C {
                            acc[c] += u64::from(px[c]);
                        }
                    }
                }
                for c in 0..C {
                    sum[c] += acc[c];
                }
            }
        }
        for (ox, sum) in sums.chunks_exact(C).enumerate() {
            let n = ((((ox + 1) * kx).min(w) - ox * kx) * n_rows) as u64;
            for c in 0..colours {
                let v = if ALPHA {
                    let full = 255 * n;
                    let b = u64::from(background[c.min(2)]);
                    (sum[c] + b * (full - sum[C - 1]) + full / 2) / full
                } else {
                    (sum[c] + n / 2) / n
                };
                out.push(v as u8);
            }
        }
    }
    (ow as u32, oh as u32, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_of_each_fit() {
        // 400×100 (4:1) into 64×64.
        let pad = Plan::new((400, 100), [64, 64], Fit::Pad);
        assert_eq!(pad.resized, (64, 16));
        assert_eq!(pad.offset, (0, 24));
        let crop = Plan::new((400, 100), [64, 64], Fit::Crop);
        assert_eq!(crop.resized, (256, 64));
        assert_eq!(crop.offset, (-96, 0));
        let stretch = Plan::new((400, 100), [64, 64], Fit::Stretch);
        assert_eq!(stretch.resized, (64, 64));
        // A portrait 3×5 into 4 high × 6 wide: pad by 4/5, crop by 6/3.
        assert_eq!(Plan::new((3, 5), [4, 6], Fit::Pad).resized, (2, 4));
        assert_eq!(Plan::new((3, 5), [4, 6], Fit::Pad).offset, (2, 0));
        assert_eq!(Plan::new((3, 5), [4, 6], Fit::Crop).resized, (6, 10));
        assert_eq!(Plan::new((3, 5), [4, 6], Fit::Crop).offset, (0, -3));
        // An extreme strip keeps at least one pixel.
        assert_eq!(Plan::new((10_000, 1), [8, 8], Fit::Pad).resized, (8, 1));
    }

    const WHITE: [u8; 3] = [255, 255, 255];

    #[test]
    fn box_average_of_whole_and_partial_blocks() {
        // 5×3 grey, blocks of 2×2: columns {0,1},{2,3},{4}; rows {0,1},{2}.
        let src: Vec<u8> = (0..15).map(|i| i * 10).collect();
        let (w, h, out) = box_average::<1, false>(&src, 5, 3, 2, 2, WHITE);
        assert_eq!((w, h), (3, 2));
        // (0+10+50+60)/4 = 30, (20+30+70+80)/4 = 50, (40+90)/2 = 65,
        // (100+110)/2 = 105, (120+130)/2 = 125, 140.
        assert_eq!(out, [30, 50, 65, 105, 125, 140]);
        // RGB: channels apart; (1+2+3)/3 = 2, (1+1+2)/3 = 1.33 → 1.
        let rgb = [1, 1, 9, 2, 1, 9, 3, 2, 9];
        assert_eq!(
            box_average::<3, false>(&rgb, 3, 1, 3, 1, WHITE).2,
            [2, 1, 9]
        );
    }

    #[test]
    fn box_average_with_alpha_equals_compositing_then_averaging() {
        // Four RGBA pixels in one block: transparent black, opaque red, blue at 128,
        // green at 51. Composited over white one by one: (255,255,255), (255,0,0),
        // (127,127,255), (204,255,204); their mean: (210.25, 159.25, 178.5).
        let px = [0, 0, 0, 0, 255, 0, 0, 255, 0, 0, 255, 128, 0, 255, 0, 51];
        let (_, _, out) = box_average::<4, true>(&px, 4, 1, 4, 1, WHITE);
        // Exactly: (Σc·a + 255·(4·255 − Σa)) / (4·255) with Σa = 434: red 65025 + 149430
        // = 214455 / 1020 = 210.25 → 210; green (13005 + 149430)/1020 = 159.25 → 159;
        // blue (32640 + 149430)/1020 = 178.5 → 179.
        assert_eq!(out, [210, 159, 179]);
        // Grey + alpha over black: (200·255 + 100·0) / 510 = 100.
        let la = [200, 255, 100, 0];
        assert_eq!(box_average::<2, true>(&la, 2, 1, 2, 1, [0, 0, 0]).2, [100]);
    }
}
