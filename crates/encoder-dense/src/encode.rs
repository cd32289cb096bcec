//! The `codes` artifact: a trained encoder applied to both splits of a dataset.

use std::path::Path;

use aeclust_artifact::kinds::{
    CodesInfo, CodesSplit, DatasetInfo, ImageSplit, ModelInfo, PerSplit, Provenance, Split,
};
use aeclust_artifact::{Artifact, Environment, Outcome, Stage};
use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::train::scaled_pixels;
use crate::{Autoencoder, EncoderError, ModelConfig, Result};

/// The dense encoder's own facts in a codes artifact (`info.details`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DenseCodesDetails {
    /// The encoder layer (1-based) whose output the codes are.
    pub layer: usize,
}

/// Rows per batch when encoding.
pub const BATCH: usize = 1024;

/// The dense encoder that made a codes artifact, read back to encode new images exactly
/// as it encoded the artifact's own.
pub struct DenseEncoder {
    network: Autoencoder,
    layer: usize,
}

impl DenseEncoder {
    /// Opens the model that the dense codes artifact `codes` references (its files
    /// verified against its manifest) at the layer the codes came from.
    pub fn open(codes: &Artifact, device: &Device) -> Result<Self> {
        let info: CodesInfo<DenseCodesDetails> = codes.info()?;
        let reference = info.model.ok_or_else(|| {
            EncoderError::InvalidInput(format!(
                "{}: dense codes without a model reference",
                codes.dir().display()
            ))
        })?;
        let (model, _) = Artifact::open_as::<ModelInfo>(&reference.resolve(codes.dir()))?;
        let config = read_config(&model)?;
        let network = Autoencoder::load(
            &config,
            &model.verified_path(ModelInfo::WEIGHTS_FILE)?,
            device,
        )?;
        Ok(Self {
            network,
            layer: info.details.layer,
        })
    }

    /// The model's configuration (its input shape).
    pub fn config(&self) -> &ModelConfig {
        self.network.config()
    }

    /// Codes of every image of `images`.
    pub fn encode(&self, images: &ImageSplit) -> Result<CodesSplit> {
        encode_split(&self.network, images, self.layer, BATCH)
    }
}

/// The canonical parameters of an encoding run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct EncodeParams {
    encoder: String,
    layer: usize,
}

/// Reads `config.json` of a model artifact.
pub fn read_config(model: &Artifact) -> Result<ModelConfig> {
    let path = model.verified_path(ModelInfo::CONFIG_FILE)?;
    let text = std::fs::read_to_string(&path)
        .map_err(|e| aeclust_artifact::ArtifactError::io(&path, e))?;
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
    // The layer's width, also for a split of no rows (no test split).
    let mut code_dim = model.config().encoder_layers[layer - 1];
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
    let (model, _) = Artifact::open_as::<ModelInfo>(model_dir)?;
    let (dataset, dataset_info) = Artifact::open_as::<DatasetInfo>(data)?;
    let config = read_config(&model)?;
    let layer = layer.unwrap_or(config.code_layer);
    config.check_layer(layer).map_err(|e| {
        EncoderError::InvalidParams(format!("--layer: {e} in {}", model_dir.display()))
    })?;
    let [h, w] = dataset_info.image_shape;
    if (h, w, dataset_info.channels) != (config.height, config.width, config.channels) {
        return Err(EncoderError::InvalidInput(format!(
            "{}: the model takes {} images ({} inputs) but {} holds {h}x{w}{} images",
            model_dir.display(),
            config.input_shape(),
            config.input_dim(),
            data.display(),
            if dataset_info.channels == 1 {
                String::new()
            } else {
                format!("x{}", dataset_info.channels)
            }
        )));
    }
    let inputs = vec![
        model.input(ModelInfo::WEIGHTS_FILE)?,
        model.input(ModelInfo::CONFIG_FILE)?,
        dataset.input(Split::Train.file_name())?,
        dataset.input(Split::Test.file_name())?,
    ];
    let stage = Stage::new(
        aeclust_artifact::kinds::CODES,
        env!("CARGO_PKG_VERSION"),
        &EncodeParams {
            encoder: config.encoder_name(),
            layer,
        },
        &inputs,
        out,
    )?;
    if let Some(outcome) = stage.reuse(force) {
        return Ok(outcome);
    }
    let network = Autoencoder::load(&config, inputs[0].path(), device)?;
    let staging = stage.staging()?;
    let mut dim = 0;
    let mut counts = PerSplit::default();
    for split in Split::ALL {
        let images = ImageSplit::read(&dataset.path(split.file_name())?)?;
        let codes = encode_split(&network, &images, layer, BATCH)?;
        dim = codes.dim;
        match split {
            Split::Train => counts.train = codes.len(),
            Split::Test => counts.test = codes.len(),
        }
        codes.write(&staging.file(split.file_name()))?;
    }
    let provenance = Provenance {
        model: Some(model.reference_from(out)),
        ..Provenance::of(&dataset, out)?
    };
    let info = provenance.codes_info(
        config.encoder_name(),
        dim,
        counts,
        DenseCodesDetails { layer },
    );
    let manifest = staging.commit(
        &stage,
        &[Split::Train.file_name(), Split::Test.file_name()],
        &info,
        Environment::here()
            .threads(crate::runtime::threads())
            .device(format!("{device:?}")),
    )?;
    Ok(Outcome::built(manifest))
}
