//! A dataset's image as the network's input: resized to `side × side` (Pillow's
//! antialiased bicubic: the filter widens with the reduction, so a large image is
//! averaged, not sampled; each pass rounded to 8 bits as Pillow's), grey replicated to red, green and blue, normalised per
//! channel as `(x − mean) / std` on the 0–255 scale; channels last.

/// Per-channel normalisation on the 0–255 scale.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Normalisation {
    /// Subtracted from each channel.
    pub mean: [f32; 3],
    /// Divides each channel.
    pub std: [f32; 3],
}

/// Pillow's bicubic kernel (a = −0.5), support 2.
fn bicubic(x: f64) -> f64 {
    const A: f64 = -0.5;
    let x = x.abs();
    if x < 1.0 {
        ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0
    } else if x < 2.0 {
        (((x - 5.0) * x + 8.0) * x - 4.0) * A
    } else {
        0.0
    }
}

/// For each output pixel of a 1-D resize from `input` to `output`: the first input pixel
/// and the normalised weights (Pillow's `precompute_coeffs`).
fn coefficients(input: usize, output: usize) -> Vec<(usize, Vec<f32>)> {
    let scale = input as f64 / output as f64;
    let filter_scale = scale.max(1.0);
    let support = 2.0 * filter_scale;
    (0..output)
        .map(|o| {
            let centre = (o as f64 + 0.5) * scale;
            let lo = ((centre - support + 0.5).floor().max(0.0)) as usize;
            let hi = ((centre + support + 0.5).floor() as usize).min(input);
            let w: Vec<f64> = (lo..hi)
                .map(|i| bicubic((i as f64 - centre + 0.5) / filter_scale))
                .collect();
            let total: f64 = w.iter().sum();
            (lo, w.iter().map(|&v| (v / total) as f32).collect())
        })
        .collect()
}

/// Image `pixels` (`h × w × channels`, 1 or 3 channels, u8) as the network's input:
/// `side × side × 3` floats, written into `out`.
pub fn prepare(
    pixels: &[u8],
    (h, w, channels): (usize, usize, usize),
    side: usize,
    norm: &Normalisation,
    out: &mut Vec<f32>,
) {
    debug_assert_eq!(pixels.len(), h * w * channels);
    let rgb = |y: usize, x: usize, c: usize| -> f32 {
        let at = (y * w + x) * channels;
        f32::from(pixels[at + if channels == 1 { 0 } else { c }])
    };
    out.clear();
    out.resize(side * side * 3, 0.0);
    if h == side && w == side {
        for y in 0..side {
            for x in 0..side {
                for c in 0..3 {
                    out[(y * side + x) * 3 + c] = (rgb(y, x, c) - norm.mean[c]) / norm.std[c];
                }
            }
        }
        return;
    }
    // Horizontal pass into [h, side, 3], then vertical into [side, side, 3].
    let cx = coefficients(w, side);
    let cy = coefficients(h, side);
    let mut rows = vec![0f32; h * side * 3];
    for y in 0..h {
        for (x, (lo, wts)) in cx.iter().enumerate() {
            for c in 0..3 {
                let v: f32 = wts
                    .iter()
                    .enumerate()
                    .map(|(i, &k)| k * rgb(y, lo + i, c))
                    .sum();
                rows[(y * side + x) * 3 + c] = to_8_bit(v);
            }
        }
    }
    for (y, (lo, wts)) in cy.iter().enumerate() {
        for x in 0..side {
            for c in 0..3 {
                let v: f32 = wts
                    .iter()
                    .enumerate()
                    .map(|(i, &k)| k * rows[((lo + i) * side + x) * 3 + c])
                    .sum();
                out[(y * side + x) * 3 + c] = (to_8_bit(v) - norm.mean[c]) / norm.std[c];
            }
        }
    }
}

/// A resampled value as an 8-bit image holds it (Pillow's passes do this): rounded and
/// clamped, so bicubic overshoot at hard edges does not leave 0..=255.
fn to_8_bit(v: f32) -> f32 {
    v.round().clamp(0.0, 255.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const UNIT: Normalisation = Normalisation {
        mean: [0.0; 3],
        std: [1.0; 3],
    };

    #[test]
    fn weights_sum_to_one_and_a_flat_image_stays_flat() {
        for (i, o) in [(28, 224), (224, 28), (300, 224), (7, 7)] {
            for (_, w) in coefficients(i, o) {
                assert!((w.iter().sum::<f32>() - 1.0).abs() < 1e-5);
            }
        }
        let mut out = Vec::new();
        prepare(&[100; 28 * 28], (28, 28, 1), 112, &UNIT, &mut out);
        assert!(out.iter().all(|&v| (v - 100.0).abs() < 1e-3));
    }

    #[test]
    fn grey_is_replicated_and_normalised() {
        let norm = Normalisation {
            mean: [127.0; 3],
            std: [128.0; 3],
        };
        let mut out = Vec::new();
        prepare(&[255, 0, 127, 63], (2, 2, 1), 2, &norm, &mut out);
        assert_eq!(&out[..3], &[1.0; 3]);
        assert_eq!(&out[3..6], &[-127.0 / 128.0; 3]);
        assert_eq!(&out[6..9], &[0.0; 3]);
    }

    #[test]
    fn reduction_averages() {
        // Stripes of 0 and 200 reduced 4x: every output is near their mean (a sample would
        // be 0 or 200; windows cut by the border, as Pillow's, are a few levels off).
        let img: Vec<u8> = (0..64 * 64)
            .map(|i| if (i % 64) % 2 == 0 { 0 } else { 200 })
            .collect();
        let mut out = Vec::new();
        prepare(&img, (64, 64, 1), 16, &UNIT, &mut out);
        assert!(
            out.iter().all(|&v| (v - 100.0).abs() < 10.0),
            "{:?}",
            &out[..6]
        );
    }
}
