//! Bringing an image to the requested size: pad (letterbox), crop (centre) or stretch.

use aeclust_artifact::kinds::{Background, Fit};
use image::imageops::{self, FilterType};
use image::{DynamicImage, GrayImage, Luma, Rgb, RgbImage};

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

/// `image` (8-bit grey or RGB) brought to `size` = [height, width] by `fit`; padding
/// shows `background` (a grey image padded with a colour becomes RGB).
pub(crate) fn apply(
    image: DynamicImage,
    size: [u32; 2],
    fit: Fit,
    background: Background,
) -> DynamicImage {
    let [fh, fw] = size;
    let plan = Plan::new((image.width(), image.height()), size, fit);
    let (rw, rh) = plan.resized;
    let resized = if (image.width(), image.height()) == plan.resized {
        image
    } else {
        // Pillow's reducing gap: a large reduction starts with a box average by whole
        // factors to within 2-4x of the target (one cheap pass over the full image),
        // then the triangle filter does the rest.
        let (kx, ky) = (image.width() / (2 * rw), image.height() / (2 * rh));
        let image = if kx >= 2 || ky >= 2 {
            box_reduce(&image, kx.max(1), ky.max(1))
        } else {
            image
        };
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

/// `image` (8-bit grey or RGB) averaged over blocks of `kx` × `ky` pixels, rounded;
/// the last block of a row or column averages the pixels it has.
fn box_reduce(image: &DynamicImage, kx: u32, ky: u32) -> DynamicImage {
    match image {
        DynamicImage::ImageLuma8(g) => {
            let (w, h, buf) = box_reduce_samples::<1>(g.as_raw(), g.width(), g.height(), kx, ky);
            DynamicImage::ImageLuma8(GrayImage::from_raw(w, h, buf).expect("w·h samples"))
        }
        other => {
            let rgb = other.to_rgb8();
            let (w, h, buf) =
                box_reduce_samples::<3>(rgb.as_raw(), rgb.width(), rgb.height(), kx, ky);
            DynamicImage::ImageRgb8(RgbImage::from_raw(w, h, buf).expect("w·h pixels"))
        }
    }
}

fn box_reduce_samples<const C: usize>(
    src: &[u8],
    w: u32,
    h: u32,
    kx: u32,
    ky: u32,
) -> (u32, u32, Vec<u8>) {
    let (w, h, kx, ky) = (w as usize, h as usize, kx as usize, ky as usize);
    let (ow, oh) = (w.div_ceil(kx), h.div_ceil(ky));
    let mut out = Vec::with_capacity(ow * oh * C);
    let mut sums = vec![0u32; ow * C];
    for oy in 0..oh {
        sums.iter_mut().for_each(|s| *s = 0);
        let rows = (oy * ky)..((oy + 1) * ky).min(h);
        let n_rows = rows.len();
        for y in rows {
            let row = &src[y * w * C..(y + 1) * w * C];
            for (ox, block) in row.chunks(kx * C).enumerate() {
                for px in block.chunks_exact(C) {
                    for c in 0..C {
                        sums[ox * C + c] += u32::from(px[c]);
                    }
                }
            }
        }
        for ox in 0..ow {
            let n = ((ox + 1) * kx).min(w) - ox * kx;
            let count = (n * n_rows) as u32;
            for c in 0..C {
                out.push(((sums[ox * C + c] + count / 2) / count) as u8);
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
}

#[cfg(test)]
mod reduce_tests {
    use super::*;

    #[test]
    fn box_reduce_averages_whole_and_partial_blocks() {
        // 5×3 grey, blocks of 2×2: columns {0,1},{2,3},{4}; rows {0,1},{2}.
        let src: Vec<u8> = (0..15).map(|i| i * 10).collect();
        let (w, h, out) = box_reduce_samples::<1>(&src, 5, 3, 2, 2);
        assert_eq!((w, h), (3, 2));
        // (0+10+50+60)/4 = 30, (20+30+70+80)/4 = 50, (40+90)/2 = 65,
        // (100+110)/2 = 105, (120+130)/2 = 125, 140.
        assert_eq!(out, [30, 50, 65, 105, 125, 140]);
        // RGB: channels apart; (1+2+3)/3 = 2 rounds, (1+1+2)/3 = 1.33 → 1.
        let rgb = [1, 1, 9, 2, 1, 9, 3, 2, 9];
        assert_eq!(box_reduce_samples::<3>(&rgb, 3, 1, 3, 1).2, [2, 1, 9]);
    }
}
