//! What the representation-learning studies (`contrastive_mlp`, `simclr_conv`) share:
//! unit-length rows, the representation of a whole split, the share of nearest
//! neighbours with the row's label, and writing train and test representations.

use std::path::Path;

use aeclust_artifact::kinds::{CodesSplit, Features};
use candle_core::{Device, Tensor};

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
