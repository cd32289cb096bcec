//! The `codes` artifact: a trained encoder applied to both splits of a dataset.

use std::path::Path;

use aeclust_artifact::kinds::{self, split_file, CodesSplit, ImageSplit};
use aeclust_artifact::{open_artifact, ArtifactError, Outcome, Stage};
use candle_core::{Device, Tensor};
use serde_json::json;

use crate::train::{scaled_pixels, CONFIG_FILE, WEIGHTS_FILE};
use crate::{Autoencoder, EncoderError, ModelConfig, Result};

/// Reads `config.json` of a model artifact.
pub fn read_config(model_dir: &Path) -> Result<ModelConfig> {
    let path = model_dir.join(CONFIG_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| ArtifactError::Io {
        path: path.clone(),
        source: e,
    })?;
    serde_json::from_str(&text).map_err(|e| {
        EncoderError::InvalidInput(format!(
            "{}: not a model configuration: {e}",
            path.display()
        ))
    })
}

/// Codes of every row of `split` from encoder layer `layer`, in batches.
pub fn encode_split(
    model: &Autoencoder,
    split: &ImageSplit,
    layer: usize,
    batch: usize,
) -> Result<CodesSplit> {
    let dim = split.pixels();
    let pixels = scaled_pixels(split);
    let mut codes = Vec::new();
    let mut code_dim = 0;
    for rows in pixels.chunks(batch.max(1) * dim) {
        let x = Tensor::from_slice(rows, (rows.len() / dim, dim), model.device())?;
        let c = model.encode(&x, layer)?.detach();
        code_dim = c.dims2()?.1;
        codes.extend(c.flatten_all()?.to_vec1::<f32>()?);
    }
    Ok(CodesSplit {
        codes,
        labels: split.labels.clone(),
        dim: code_dim,
    })
}

/// Encodes both splits of dataset `data` with the model artifact `model_dir` and writes
/// the codes artifact to `out` (reused when unchanged unless `force`).
pub fn run(
    model_dir: &Path,
    data: &Path,
    out: &Path,
    layer: Option<usize>,
    device: &Device,
    force: bool,
) -> Result<Outcome> {
    let model_manifest = open_artifact(model_dir, &[kinds::MODEL])?;
    let dataset = open_artifact(data, &[kinds::DATASET])?;
    let config = read_config(model_dir)?;
    let layer = layer.unwrap_or(config.code_layer);
    if layer == 0 || layer > config.encoder_layers.len() {
        return Err(EncoderError::InvalidParams(format!(
            "--layer {layer} does not exist: the encoder in {} has layers 1..={} (widths {:?})",
            model_dir.display(),
            config.encoder_layers.len(),
            config.encoder_layers
        )));
    }
    let shape = &dataset.info["image_shape"];
    let (h, w) = (
        shape[0].as_u64().unwrap_or(0) as usize,
        shape[1].as_u64().unwrap_or(0) as usize,
    );
    if (h, w) != (config.height, config.width) {
        return Err(EncoderError::InvalidInput(format!(
            "{}: the model takes {}x{} images ({} inputs) but {} holds {h}x{w} images",
            model_dir.display(),
            config.height,
            config.width,
            config.input_dim(),
            data.display()
        )));
    }
    let inputs = vec![
        model_dir.join(WEIGHTS_FILE),
        model_dir.join(CONFIG_FILE),
        split_file(data, "train"),
        split_file(data, "test"),
    ];
    let stage = Stage::new(
        kinds::CODES,
        env!("CARGO_PKG_VERSION"),
        &json!({ "encoder": "dense-autoencoder", "layer": layer }),
        &inputs,
        out,
    )?;
    if let Some(outcome) = stage.reuse(force) {
        return Ok(outcome);
    }
    let model = Autoencoder::load(&config, &inputs[0], device)?;
    let staging = stage.staging()?;
    let mut dim = 0;
    let mut counts = serde_json::Map::new();
    for split in kinds::SPLITS {
        let images = ImageSplit::read(&split_file(data, split))?;
        let codes = encode_split(&model, &images, layer, 1024)?;
        dim = codes.dim;
        counts.insert(split.to_string(), json!(codes.len()));
        codes.write(&split_file(staging.path(), split))?;
    }
    let info = json!({
        "encoder": "dense-autoencoder",
        "layer": layer,
        "dim": dim,
        "counts": counts,
        "model": { "path": aeclust_artifact::canonical(model_dir), "cache_key": model_manifest.cache_key },
        "dataset": { "path": aeclust_artifact::canonical(data), "cache_key": dataset.cache_key },
        "classes": dataset.info["classes"],
    });
    let manifest = staging.commit(
        &stage,
        &["train.safetensors", "test.safetensors"],
        info,
        json!({ "threads": crate::runtime::threads(), "device": format!("{device:?}") }),
    )?;
    Ok(Outcome::built(manifest))
}
