//! The `model` kind: a trained encoder with its training history.

use serde::{Deserialize, Serialize};

use super::ArtifactInfo;
use crate::ArtifactRef;

/// One epoch of training.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// 1-based epoch number.
    pub epoch: usize,
    /// Mean training loss over the epoch's batches.
    pub train_loss: f64,
    /// Mean loss on the validation split after the epoch (none without validation).
    pub val_loss: Option<f64>,
    /// Wall seconds of the training pass.
    pub seconds: f64,
    /// Training samples per second.
    pub samples_per_second: f64,
}

/// `history.json` of a model artifact.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainingHistory {
    /// Every epoch, in order.
    pub epochs: Vec<EpochRecord>,
}

/// `info` of a model artifact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// The encoder family (`dense-autoencoder`); its settings are in the encoder's own
    /// `config.json` and in the manifest's `params`.
    pub encoder: String,
    /// The dataset it was trained on.
    pub dataset: ArtifactRef,
    /// Image height and width the model takes.
    pub image_shape: [usize; 2],
    /// Trainable parameters.
    pub parameters: usize,
    /// Training samples (after the validation hold-out).
    pub n_train: usize,
    /// Validation samples.
    pub n_val: usize,
    /// Training loss of the last epoch.
    pub final_train_loss: f64,
    /// Validation loss after the last epoch.
    pub final_val_loss: Option<f64>,
    /// Median over epochs of the training samples per second.
    pub samples_per_second_median: f64,
    /// Device it was trained on.
    pub device: String,
}

impl ModelInfo {
    /// The weights (safetensors).
    pub const WEIGHTS_FILE: &'static str = "model.safetensors";
    /// The encoder's own configuration (read only by that encoder).
    pub const CONFIG_FILE: &'static str = "config.json";
    /// The training history ([`TrainingHistory`]).
    pub const HISTORY_FILE: &'static str = "history.json";
}

impl ArtifactInfo for ModelInfo {
    const STAGE: &'static str = super::MODEL;
}
