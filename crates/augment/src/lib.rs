//! Training-time augmentation: each image of a batch moved by a random whole-pixel
//! translation (DEC-DA's shift augmentation), the uncovered border filled with 0; and the
//! strong augmentations of SCAN's self-labelling step (shift, mirror, erasing, contrast
//! and brightness, noise on images; dropout and noise on codes).

use rand::Rng;

/// The strong augmentations of one batch, drawn anew for every image.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Strong {
    /// Random translation of up to this many pixels.
    pub shift: usize,
    /// Mirror left to right with probability 1/2.
    pub flip: bool,
    /// With probability 1/2, erase one rectangle of 2 % up to this fraction of the area
    /// (aspect ratio 1/2..2), filled with the image's per-channel mean.
    pub erase: f32,
    /// Contrast about the image's mean scaled by a factor in `1 ± contrast`, brightness
    /// moved by up to `± contrast / 2`.
    pub contrast: f32,
    /// Gaussian noise with a standard deviation drawn uniformly up to this.
    pub noise: f32,
}

/// One standard normal draw (Box–Muller).
fn normal(rng: &mut impl Rng) -> f32 {
    let u: f32 = rng.gen_range(f32::EPSILON..1.0);
    let v: f32 = rng.gen_range(0.0..std::f32::consts::TAU);
    (-2.0 * u.ln()).sqrt() * v.cos()
}

/// Applies `strong` to every image of `batch` (rows of `height × width × channels`,
/// channels innermost, pixels in 0..1), in the order shift, mirror, contrast, erasing,
/// noise; values are clamped to 0..1 at the end.
pub fn strong_images(
    batch: &mut [f32],
    (height, width, channels): (usize, usize, usize),
    strong: &Strong,
    rng: &mut impl Rng,
    scratch: &mut Vec<f32>,
) {
    let shape = (height, width, channels);
    let dim = height * width * channels;
    if dim == 0 {
        return;
    }
    let s = strong.shift as isize;
    for image in batch.chunks_exact_mut(dim) {
        if s > 0 {
            let (dy, dx) = (rng.gen_range(-s..=s), rng.gen_range(-s..=s));
            translate(image, shape, (dy, dx), scratch);
        }
        if strong.flip && rng.gen_bool(0.5) {
            for row in image.chunks_exact_mut(width * channels) {
                for x in 0..width / 2 {
                    for c in 0..channels {
                        row.swap(x * channels + c, (width - 1 - x) * channels + c);
                    }
                }
            }
        }
        let mean = channel_means(image, channels);
        if strong.contrast > 0.0 {
            let factor = 1.0 + rng.gen_range(-strong.contrast..=strong.contrast);
            let shift = rng.gen_range(-strong.contrast..=strong.contrast) / 2.0;
            for px in image.chunks_exact_mut(channels) {
                for (v, m) in px.iter_mut().zip(&mean) {
                    *v = (*v - m) * factor + m + shift;
                }
            }
        }
        if strong.erase > 0.0 && rng.gen_bool(0.5) {
            erase(image, shape, strong.erase, &mean, rng);
        }
        if strong.noise > 0.0 {
            let sd = rng.gen_range(0.0..=strong.noise);
            image.iter_mut().for_each(|v| *v += sd * normal(rng));
        }
        image.iter_mut().for_each(|v| *v = v.clamp(0.0, 1.0));
    }
}

/// The mean of every channel of one image.
fn channel_means(image: &[f32], channels: usize) -> Vec<f32> {
    let mut sum = vec![0f32; channels];
    for px in image.chunks_exact(channels) {
        sum.iter_mut().zip(px).for_each(|(s, v)| *s += v);
    }
    let n = (image.len() / channels).max(1) as f32;
    sum.iter().map(|s| s / n).collect()
}

/// Fills one random rectangle of 2 % up to `largest` of the area with `fill`.
fn erase(
    image: &mut [f32],
    (height, width, channels): (usize, usize, usize),
    largest: f32,
    fill: &[f32],
    rng: &mut impl Rng,
) {
    let area = (height * width) as f32 * rng.gen_range(0.02f32.min(largest)..=largest);
    let aspect = rng.gen_range(0.5f32..=2.0);
    let h = ((area * aspect).sqrt().round() as usize).clamp(1, height);
    let w = ((area / aspect).sqrt().round() as usize).clamp(1, width);
    let (y0, x0) = (rng.gen_range(0..=height - h), rng.gen_range(0..=width - w));
    for y in y0..y0 + h {
        let row = &mut image[(y * width + x0) * channels..(y * width + x0 + w) * channels];
        for px in row.chunks_exact_mut(channels) {
            px.copy_from_slice(fill);
        }
    }
}

/// The strong augmentation of codes: every value of `batch` (rows of `scale.len()`
/// columns) is set to 0 with probability `dropout`, and every row gets Gaussian noise of
/// a standard deviation drawn uniformly up to `noise`, in units of each column's `scale`.
pub fn strong_codes(
    batch: &mut [f32],
    scale: &[f32],
    dropout: f32,
    noise: f32,
    rng: &mut impl Rng,
) {
    if scale.is_empty() {
        return;
    }
    for row in batch.chunks_exact_mut(scale.len()) {
        let sd = if noise > 0.0 {
            rng.gen_range(0.0..=noise)
        } else {
            0.0
        };
        for (v, s) in row.iter_mut().zip(scale) {
            if dropout > 0.0 && rng.gen::<f32>() < dropout {
                *v = 0.0;
            } else if sd > 0.0 {
                *v += sd * s * normal(rng);
            }
        }
    }
}

/// Moves every image in `batch` (rows of `height × width × channels`, row-major,
/// channels innermost) by its own random offset of up to `shift` pixels in each
/// direction; pixels moved out are dropped, the uncovered border is 0. `scratch` is
/// reused between calls. A `shift` of 0 leaves the batch unchanged and draws nothing.
pub fn shift_images(
    batch: &mut [f32],
    (height, width, channels): (usize, usize, usize),
    shift: usize,
    rng: &mut impl Rng,
    scratch: &mut Vec<f32>,
) {
    let dim = height * width * channels;
    if shift == 0 || dim == 0 {
        return;
    }
    let s = shift as isize;
    for image in batch.chunks_exact_mut(dim) {
        let dy = rng.gen_range(-s..=s);
        let dx = rng.gen_range(-s..=s);
        translate(image, (height, width, channels), (dy, dx), scratch);
    }
}

/// Moves one image by `dy` rows down and `dx` columns right.
fn translate(
    image: &mut [f32],
    (height, width, channels): (usize, usize, usize),
    (dy, dx): (isize, isize),
    scratch: &mut Vec<f32>,
) {
    if (dy, dx) == (0, 0) {
        return;
    }
    scratch.clear();
    scratch.extend_from_slice(image);
    image.fill(0.0);
    let row = width * channels;
    // Destination columns whose source column x - dx lies inside the image.
    let x0 = dx.max(0) as usize;
    let x1 = (width as isize + dx.min(0)).max(0) as usize;
    if x0 >= x1 {
        return;
    }
    for y in 0..height {
        let from = y as isize - dy;
        if from < 0 || from >= height as isize {
            continue;
        }
        let from = from as usize;
        let src = from * row + (x0 as isize - dx) as usize * channels;
        let dst = y * row + x0 * channels;
        let len = (x1 - x0) * channels;
        image[dst..dst + len].copy_from_slice(&scratch[src..src + len]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_xoshiro::Xoshiro256PlusPlus;

    /// A 5×4 image with 2 channels whose values name their position.
    fn numbered() -> Vec<f32> {
        (0..5 * 4 * 2).map(|i| i as f32 + 1.0).collect()
    }

    fn at(image: &[f32], y: usize, x: usize, c: usize) -> f32 {
        image[(y * 4 + x) * 2 + c]
    }

    #[test]
    fn translation_moves_pixels_and_zeroes_the_border() {
        let original = numbered();
        for (dy, dx) in [(1, 0), (0, -1), (-2, 3), (2, 1)] {
            let mut image = original.clone();
            translate(&mut image, (5, 4, 2), (dy, dx), &mut Vec::new());
            for y in 0..5isize {
                for x in 0..4isize {
                    for c in 0..2 {
                        let (sy, sx) = (y - dy, x - dx);
                        let want = if (0..5).contains(&sy) && (0..4).contains(&sx) {
                            at(&original, sy as usize, sx as usize, c)
                        } else {
                            0.0
                        };
                        assert_eq!(
                            at(&image, y as usize, x as usize, c),
                            want,
                            "shift ({dy}, {dx}) at ({y}, {x}, {c})"
                        );
                    }
                }
            }
        }
        // Moved out entirely: all zero.
        let mut image = original.clone();
        translate(&mut image, (5, 4, 2), (0, 4), &mut Vec::new());
        assert!(image.iter().all(|&v| v == 0.0));
    }

    #[test]
    fn strong_augmentations_mirror_erase_and_stay_in_range() {
        // A 6×8 grey image brighter to the right: mirrored it is brighter to the left.
        let image: Vec<f32> = (0..48).map(|i| (i % 8) as f32 / 8.0).collect();
        let only_flip = Strong {
            shift: 0,
            flip: true,
            erase: 0.0,
            contrast: 0.0,
            noise: 0.0,
        };
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(5);
        let mut batch = image.repeat(40);
        strong_images(&mut batch, (6, 8, 1), &only_flip, &mut rng, &mut Vec::new());
        let mirrored = batch
            .chunks_exact(48)
            .filter(|im| im[0] == 7.0 / 8.0 && im[7] == 0.0)
            .count();
        let unchanged = batch
            .chunks_exact(48)
            .filter(|im| *im == &image[..])
            .count();
        assert_eq!(mirrored + unchanged, 40);
        assert!(
            (10..=30).contains(&mirrored),
            "about half mirrored: {mirrored}"
        );
        // Erasing fills a rectangle with the mean (0.4375); everything else is kept.
        let only_erase = Strong {
            erase: 0.25,
            flip: false,
            ..only_flip
        };
        let mut batch = image.repeat(40);
        strong_images(
            &mut batch,
            (6, 8, 1),
            &only_erase,
            &mut rng,
            &mut Vec::new(),
        );
        let mut erased = 0;
        for im in batch.chunks_exact(48) {
            let changed: Vec<usize> = (0..48).filter(|&i| im[i] != image[i]).collect();
            assert!(changed.iter().all(|&i| im[i] == 0.4375));
            assert!(
                changed.len() <= 12 + 6,
                "at most about a quarter: {}",
                changed.len()
            );
            erased += usize::from(!changed.is_empty());
        }
        assert!((10..=35).contains(&erased), "{erased}");
        // Everything at once stays in 0..1 and follows the seed.
        let all = Strong {
            shift: 2,
            flip: true,
            erase: 0.25,
            contrast: 0.5,
            noise: 0.2,
        };
        let run = |seed| {
            let mut b = image.repeat(20);
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
            strong_images(&mut b, (6, 8, 1), &all, &mut rng, &mut Vec::new());
            b
        };
        assert!(run(1).iter().all(|v| (0.0..=1.0).contains(v)));
        assert_eq!(run(1), run(1));
        assert_ne!(run(1), run(2));
    }

    #[test]
    fn code_dropout_and_noise_follow_their_rates() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(9);
        let mut batch = vec![1f32; 4 * 1000];
        strong_codes(&mut batch, &[1.0; 4], 0.25, 0.0, &mut rng);
        let zeros = batch.iter().filter(|&&v| v == 0.0).count();
        assert!((900..1100).contains(&zeros), "{zeros} of 4000 at p 0.25");
        assert!(batch.iter().all(|&v| v == 0.0 || v == 1.0));
        // Noise in units of each column's scale: column 1 (scale 0) never moves.
        let mut batch = vec![1f32; 2 * 1000];
        strong_codes(&mut batch, &[2.0, 0.0], 0.0, 0.5, &mut rng);
        let col0: Vec<f32> = batch.iter().step_by(2).copied().collect();
        assert!(batch.iter().skip(1).step_by(2).all(|&v| v == 1.0));
        let sd = (col0.iter().map(|v| (v - 1.0).powi(2)).sum::<f32>() / 1000.0).sqrt();
        // sd drawn uniformly in 0..0.5, times scale 2: rms 2 · 0.5/√3 ≈ 0.58.
        assert!((0.45..0.7).contains(&sd), "{sd}");
    }

    #[test]
    fn shifts_stay_within_bounds_and_follow_the_seed() {
        // A single lit pixel in the middle of a 9×9 image: after a shift of up to 2 it
        // is still the only lit pixel, at most 2 rows and columns away.
        let mut batch = vec![0f32; 81 * 50];
        for image in batch.chunks_exact_mut(81) {
            image[4 * 9 + 4] = 1.0;
        }
        let run = |seed| {
            let mut b = batch.clone();
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
            shift_images(&mut b, (9, 9, 1), 2, &mut rng, &mut Vec::new());
            b
        };
        let shifted = run(3);
        let mut moved = 0;
        for image in shifted.chunks_exact(81) {
            let lit: Vec<usize> = (0..81).filter(|&i| image[i] == 1.0).collect();
            assert_eq!(lit.len(), 1);
            assert_eq!(image.iter().sum::<f32>(), 1.0);
            let (y, x) = (lit[0] / 9, lit[0] % 9);
            assert!((2..=6).contains(&y) && (2..=6).contains(&x), "({y}, {x})");
            moved += usize::from(lit[0] != 40);
        }
        assert!(moved > 30, "most of 50 images move ({moved})");
        assert_eq!(shifted, run(3), "same seed, same shifts");
        assert_ne!(shifted, run(4));
        // No shift: unchanged.
        let mut same = batch.clone();
        shift_images(
            &mut same,
            (9, 9, 1),
            0,
            &mut Xoshiro256PlusPlus::seed_from_u64(1),
            &mut Vec::new(),
        );
        assert_eq!(same, batch);
    }
}
