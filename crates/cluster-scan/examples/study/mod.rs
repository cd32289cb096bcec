#![allow(dead_code)] // each study uses its own part of what is here
//! What the representation-learning studies (`contrastive_mlp`, `simclr_conv`) share:
//! unit-length rows, the representation of a whole split, the share of nearest
//! neighbours with the row's label, and writing train and test representations.

pub mod conv;

use std::path::Path;

use aeclust_artifact::kinds::{CodesSplit, Features};
use candle_core::{Device, Tensor};
use rand::Rng;

const SIDE: usize = 28;

/// A neighbour list (`scripts/experiments/scan_neighbours.py`): raw little-endian `u32`
/// indices, `rows × m`, every one a train row.
pub fn read_neighbours(path: &str, rows: usize, m: usize) -> anyhow::Result<Vec<u32>> {
    let bytes = std::fs::read(path)?;
    let list: Vec<u32> = bytes
        .chunks_exact(4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    anyhow::ensure!(
        bytes.len() % 4 == 0 && list.iter().all(|&j| (j as usize) < rows),
        "{path}: not u32 indices of the {rows} train rows"
    );
    anyhow::ensure!(
        list.len() == rows * m,
        "{path}: {} indices, not {rows} rows × {m}",
        list.len()
    );
    Ok(list)
}

/// Rows scored by [`purity`]: the first this many train images.
pub const SCORED: usize = 10_000;

/// `z` with every row scaled to unit length.
pub fn unit_rows(z: &Tensor) -> candle_core::Result<Tensor> {
    z.broadcast_div(&(z.sqr()?.sum_keepdim(1)? + 1e-12)?.sqrt()?)
}

/// `represent` of every row of `x` (`n × 784`, in batches of 2,000), scaled to unit length.
pub fn represent_all(
    represent: &dyn Fn(&Tensor) -> candle_core::Result<Tensor>,
    x: &[f32],
    dev: &Device,
) -> candle_core::Result<Vec<f32>> {
    let n = x.len() / 784;
    let mut out = Vec::new();
    for start in (0..n).step_by(2000) {
        let end = (start + 2000).min(n);
        let t = Tensor::from_slice(&x[start * 784..end * 784], (end - start, 784), dev)?;
        out.extend(
            unit_rows(&represent(&t)?)?
                .flatten_all()?
                .to_vec1::<f32>()?,
        );
    }
    Ok(out)
}

/// Share of the 20 nearest neighbours (of the first [`SCORED`] rows, among themselves)
/// that have the row's label.
pub fn purity(values: &[f32], dim: usize, labels: &[u8]) -> f64 {
    let n = SCORED.min(labels.len());
    let nn = aeclust_knn::nearest_others(&values[..n * dim], dim, 20, &|_| {});
    let same = (0..n)
        .map(|i| {
            nn.row(i)
                .iter()
                .filter(|&&j| labels[j as usize] == labels[i])
                .count()
        })
        .sum::<usize>();
    same as f64 / (n * 20) as f64
}

/// Writes the `dim`-d representations of train and test (`codes`, `labels`) to
/// OUT/train.safetensors and OUT/test.safetensors.
pub fn write_codes(
    represent: &dyn Fn(&Tensor) -> candle_core::Result<Tensor>,
    dim: usize,
    (train, test): (&Features, &Features),
    out: &Path,
    dev: &Device,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(out)?;
    for (split, f) in [("train", train), ("test", test)] {
        CodesSplit {
            codes: represent_all(represent, &f.values, dev)?,
            labels: f.labels.clone(),
            dim,
        }
        .write(&out.join(format!("{split}.safetensors")))?;
    }
    println!("wrote {}", out.display());
    Ok(())
}

/// Writes into `out` a random resized crop of the 28×28 image `src` (scale `min_scale..1`
/// of the area, aspect 3/4..4/3, bilinear, edges clamped), mirrored with probability 1/2.
pub fn resized_crop(src: &[f32], out: &mut [f32], min_scale: f32, rng: &mut impl Rng) {
    let side = SIDE as f32;
    let area = rng.gen_range(min_scale..=1.0) * side * side;
    let ratio = rng.gen_range((0.75f32).ln()..=(4.0f32 / 3.0).ln()).exp();
    let cw = (area * ratio).sqrt().min(side);
    let ch = (area / ratio).sqrt().min(side);
    let x0 = rng.gen_range(0.0..=side - cw);
    let y0 = rng.gen_range(0.0..=side - ch);
    let mirror = rng.gen_bool(0.5);
    let at = |y: isize, x: isize| {
        let y = y.clamp(0, SIDE as isize - 1) as usize;
        let x = x.clamp(0, SIDE as isize - 1) as usize;
        src[y * SIDE + x]
    };
    for oy in 0..SIDE {
        let sy = y0 + (oy as f32 + 0.5) * ch / side - 0.5;
        let (iy, fy) = (sy.floor() as isize, sy - sy.floor());
        for ox in 0..SIDE {
            let from = if mirror { SIDE - 1 - ox } else { ox };
            let sx = x0 + (from as f32 + 0.5) * cw / side - 0.5;
            let (ix, fx) = (sx.floor() as isize, sx - sx.floor());
            let top = at(iy, ix) * (1.0 - fx) + at(iy, ix + 1) * fx;
            let bottom = at(iy + 1, ix) * (1.0 - fx) + at(iy + 1, ix + 1) * fx;
            out[oy * SIDE + ox] = top * (1.0 - fy) + bottom * fy;
        }
    }
}
