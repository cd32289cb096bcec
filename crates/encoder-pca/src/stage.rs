//! The PCA encoder stage.

use std::path::Path;

use aeclust_artifact::kinds::{self, split_file, CodesSplit, FeatureKind, Features};
use aeclust_artifact::{canonical, open_artifact, Outcome, Stage};
use ndarray::{Array2, ArrayView2};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{Pca, PcaError, Result};

/// Parameters of the PCA encoder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PcaParams {
    /// Number of principal components kept.
    pub components: usize,
    /// Scale every component to unit variance.
    pub whiten: bool,
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
    let source = open_artifact(features, &[kinds::DATASET, kinds::CODES])?;
    let inputs: Vec<_> = kinds::SPLITS
        .iter()
        .map(|s| split_file(features, s))
        .collect();
    let stage = Stage::new(
        kinds::CODES,
        env!("CARGO_PKG_VERSION"),
        &json!({ "encoder": "pca", "pca": params }),
        &inputs,
        out,
    )?;
    if let Some(outcome) = stage.reuse(force) {
        return Ok(outcome);
    }
    let (train, _, train_path) = Features::load(features, "train")?;
    let (test, _, _) = Features::load(features, "test")?;
    if params.components > train.dim {
        return Err(PcaError::InvalidParams(format!(
            "--components {} exceeds the {} feature dimensions of {}",
            params.components,
            train.dim,
            train_path.display()
        )));
    }
    let pca = Pca::fit(as_array(&train).view(), params.components, params.whiten);
    let staging = stage.staging()?;
    for (split, f) in [("train", &train), ("test", &test)] {
        let z = pca.transform(as_array(f).view());
        CodesSplit {
            codes: z.iter().map(|&v| v as f32).collect(),
            labels: f.labels.clone(),
            dim: z.ncols(),
        }
        .write(&split_file(staging.path(), split))?;
    }
    let (encoder, dataset, model) = match train.kind {
        FeatureKind::Pixels => (
            "pca".to_string(),
            json!({ "path": canonical(features), "cache_key": source.cache_key }),
            json!(null),
        ),
        FeatureKind::Codes => (
            format!(
                "pca of {}",
                source.info["encoder"].as_str().unwrap_or("codes")
            ),
            source.info["dataset"].clone(),
            source.info["model"].clone(),
        ),
    };
    let explained: f64 = pca.explained_variance.sum() / pca.total_variance.max(f64::MIN_POSITIVE);
    let info = json!({
        "encoder": encoder,
        "dim": params.components,
        "counts": { "train": train.len(), "test": test.len() },
        "whiten": params.whiten,
        "explained_variance_ratio": explained,
        "source": { "path": canonical(features), "stage": source.stage, "cache_key": source.cache_key },
        "dataset": dataset,
        "model": model,
        "classes": source.info["classes"],
    });
    let manifest = staging.commit(
        &stage,
        &["train.safetensors", "test.safetensors"],
        info,
        json!({}),
    )?;
    Ok(Outcome::built(manifest))
}
