//! Training-time augmentation: each image of a batch moved by a random whole-pixel
//! translation (DEC-DA's shift augmentation), the uncovered border filled with 0.

use rand::Rng;

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
