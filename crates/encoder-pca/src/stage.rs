//! The PCA encoder stage.

use std::path::Path;

use aeclust_artifact::kinds::{
    CodesInfo, CodesSplit, DatasetInfo, FeatureKind, Features, PerSplit, Split, CODES,
};
use aeclust_artifact::{Artifact, Environment, Outcome, Stage};
use aeclust_pca::Pca;
use ndarray::{Array2, ArrayView2};
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
    let pca = Pca::fit(as_array(&train).view(), params.components, params.whiten);
    let staging = stage.staging()?;
    for (split, f) in [(Split::Train, &train), (Split::Test, &test)] {
        let z = pca.transform(as_array(f).view());
        CodesSplit {
            codes: z.iter().map(|&v| v as f32).collect(),
            labels: f.labels.clone(),
            dim: z.ncols(),
        }
        .write(&staging.file(split.file_name()))?;
    }
    // Provenance: a PCA of pixels stands for the dataset itself; a PCA of codes keeps
    // the dataset and model its source came from.
    let (encoder, classes, dataset, model, from) = match train.kind {
        FeatureKind::Pixels => {
            let info: DatasetInfo = source.info()?;
            (
                "pca".to_string(),
                info.classes,
                source.reference_from(out),
                None,
                None,
            )
        }
        FeatureKind::Codes => {
            let info: CodesInfo = source.info()?;
            (
                format!("pca of {}", info.encoder),
                info.classes,
                info.dataset.rebased(features, out),
                info.model.map(|m| m.rebased(features, out)),
                Some(source.reference_from(out)),
            )
        }
    };
    let explained = pca.explained_variance.sum() / pca.total_variance.max(f64::MIN_POSITIVE);
    let info = CodesInfo {
        encoder,
        dim: params.components,
        counts: PerSplit {
            train: train.len(),
            test: test.len(),
        },
        classes,
        dataset,
        model,
        source: from,
        details: PcaDetails {
            pca: params.clone(),
            explained_variance_ratio: explained,
        },
    };
    let manifest = staging.commit(
        &stage,
        &[Split::Train.file_name(), Split::Test.file_name()],
        &info,
        Environment::here(),
    )?;
    Ok(Outcome::built(manifest))
}
