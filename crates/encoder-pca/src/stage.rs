//! The PCA encoder stage.

use std::path::Path;

use aeclust_artifact::kinds::{
    CodesInfo, CodesSplit, Features, PerSplit, Provenance, Split, CODES,
};
use aeclust_artifact::{Artifact, Environment, Outcome, Stage, TensorFile, TensorWriter};
use aeclust_pca::Pca;
use ndarray::{Array1, Array2, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::{PcaError, Result};

/// Parameters of the PCA encoder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PcaParams {
    /// Number of principal components kept.
    pub components: usize,
    /// Scale every component to unit variance.
    pub whiten: bool,
}

/// The PCA encoder's own facts in a codes artifact (`info.details`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PcaDetails {
    /// Components kept and whether they are whitened.
    pub pca: PcaParams,
    /// Fraction of the input's total variance the components hold.
    pub explained_variance_ratio: f64,
}

/// The fitted projection in a PCA codes artifact: f64 `mean` [D], `components` [C, D],
/// `explained_variance` [C] (each whitened component is divided by its square root).
pub const MODEL_FILE: &str = "pca.safetensors";

/// Writes `pca` to `path` in the layout of [`MODEL_FILE`].
fn write_model(pca: &Pca, path: &Path) -> Result<()> {
    let (c, d) = pca.components.dim();
    TensorWriter::new()
        .add("mean", &[d], pca.mean.as_slice().expect("contiguous"))
        .add(
            "components",
            &[c, d],
            &pca.components.iter().copied().collect::<Vec<f64>>(),
        )
        .add(
            "explained_variance",
            &[c],
            pca.explained_variance.as_slice().expect("contiguous"),
        )
        .write(path)?;
    Ok(())
}

/// The projection fitted by the PCA codes artifact `codes` (its file verified against
/// the manifest), to project new rows exactly as the fit projected its own.
pub fn load(codes: &Artifact) -> Result<Pca> {
    let info: CodesInfo<PcaDetails> = codes.info()?;
    let path = codes.verified_path(MODEL_FILE)?;
    let file = TensorFile::open(&path)?;
    let mean = file.read::<f64>("mean", Some(1))?;
    let components = file.read::<f64>("components", Some(2))?;
    let variance = file.read::<f64>("explained_variance", Some(1))?;
    let (c, d) = (components.shape[0], components.shape[1]);
    if mean.shape[0] != d || variance.shape[0] != c || c != info.dim {
        return Err(PcaError::InvalidParams(format!(
            "{}: mean [{}], components [{c}, {d}] and variances [{}] do not make a {}-component projection",
            path.display(),
            mean.shape[0],
            variance.shape[0],
            info.dim
        )));
    }
    Ok(Pca {
        mean: Array1::from(mean.data),
        components: Array2::from_shape_vec((c, d), components.data).expect("shape checked"),
        explained_variance: Array1::from(variance.data),
        total_variance: f64::NAN,
        whiten: info.details.pca.whiten,
    })
}

/// Projects `features` with `pca`, as the stage projects its splits.
pub fn project(pca: &Pca, features: &Features) -> Vec<f32> {
    pca.transform(as_array(features).view())
        .iter()
        .map(|&v| v as f32)
        .collect()
}

/// The most memory PCA may take: the rows as f64 twice (copy and centred) and the
/// smaller of the covariance and the Gram matrix.
const MAX_BYTES: usize = 16 << 30;

/// Refuses, before allocating, a fit whose matrices cannot fit in [`MAX_BYTES`].
fn check_fits(n: usize, d: usize, path: &Path) -> Result<()> {
    let side = n.min(d);
    let bytes = 8 * (2 * n * d + side * side);
    if bytes > MAX_BYTES {
        return Err(PcaError::InvalidParams(format!(
            "PCA of {}'s {n} rows of {d} features needs {:.1} GiB (a {side} × {side} matrix \
             and the rows in double precision), more than {} GiB: read the images smaller \
             (aeclust-dataset --size), or encode them first",
            path.display(),
            bytes as f64 / f64::from(1u32 << 30),
            MAX_BYTES >> 30
        )));
    }
    Ok(())
}

#[derive(Serialize)]
struct CanonicalParams<'a> {
    encoder: &'static str,
    pca: &'a PcaParams,
}

fn as_array(f: &Features) -> Array2<f64> {
    ArrayView2::from_shape((f.len(), f.dim), &f.values)
        .expect("features fill their shape")
        .mapv(f64::from)
}

/// Fits PCA on the train split of `features` (a dataset or codes artifact), projects both
/// splits and writes a codes artifact to `out` (reused when unchanged unless `force`).
pub fn run(params: &PcaParams, features: &Path, out: &Path, force: bool) -> Result<Outcome> {
    if params.components == 0 {
        return Err(PcaError::InvalidParams(
            "--components must be at least 1".into(),
        ));
    }
    let source = Artifact::open(features, &Features::KINDS)?;
    let inputs = source.inputs(&Split::ALL.map(Split::file_name))?;
    let stage = Stage::new(
        CODES,
        env!("CARGO_PKG_VERSION"),
        &CanonicalParams {
            encoder: "pca",
            pca: params,
        },
        &inputs,
        out,
    )?;
    if let Some(outcome) = stage.reuse(force) {
        return Ok(outcome);
    }
    let PerSplit { train, test } = Features::load_splits(&source)?;
    if params.components > train.dim {
        return Err(PcaError::InvalidParams(format!(
            "--components {} exceeds the {} feature dimensions of {}",
            params.components,
            train.dim,
            inputs[0].path().display()
        )));
    }
    if train.dim > train.len() && params.components > train.len() {
        return Err(PcaError::InvalidParams(format!(
            "--components {} exceeds the {} train rows of {} (with more features than rows, \
             there are at most as many principal axes as rows)",
            params.components,
            train.len(),
            inputs[0].path().display()
        )));
    }
    check_fits(train.len(), train.dim, inputs[0].path())?;
    let pca = Pca::fit(as_array(&train).view(), params.components, params.whiten);
    let staging = stage.staging()?;
    for (split, f) in [(Split::Train, &train), (Split::Test, &test)] {
        CodesSplit {
            codes: project(&pca, f),
            labels: f.labels.clone(),
            dim: params.components,
        }
        .write(&staging.file(split.file_name()))?;
    }
    write_model(&pca, &staging.file(MODEL_FILE))?;
    let explained = pca.explained_variance.sum() / pca.total_variance.max(f64::MIN_POSITIVE);
    let provenance = Provenance::of(&source, out)?;
    let encoder = provenance.encoder_name("pca", "pca");
    let mut info = provenance.codes_info(
        encoder,
        params.components,
        PerSplit {
            train: train.len(),
            test: test.len(),
        },
        PcaDetails {
            pca: params.clone(),
            explained_variance_ratio: explained,
        },
    );
    info.principal_axes = true;
    let manifest = staging.commit(
        &stage,
        &[
            Split::Train.file_name(),
            Split::Test.file_name(),
            MODEL_FILE,
        ],
        &info,
        Environment::here(),
    )?;
    Ok(Outcome::built(manifest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_cannot_fit_and_takes_wide_small_sets() {
        // 552 images of 224×224×3: the Gram route, 1.3 GiB.
        assert!(check_fits(552, 150_528, Path::new("d")).is_ok());
        // 60,000 of them: a 60,000² matrix and 135 GiB of rows.
        let err = check_fits(60_000, 150_528, Path::new("big/train.safetensors"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("big/train.safetensors") && err.contains("--size"),
            "{err}"
        );
    }
}
