//! Replaying, on new images, the chain of stages that made a features artifact: read
//! them as the dataset recorded (size, fit, background, channels), then the dense
//! encoder, PCA and UMAP in the order they were applied, each from its fitted model in
//! its artifact (every file verified against its manifest).
//!
//! This is the one library that calls stage crates: `aeclust-assign` and
//! `aeclust-similar` place new images where the fitted ones are, which only the stages
//! that fitted them know how to do. Each stage exposes what replays it (`DenseEncoder`,
//! `encoder_pca::load`, `encoder_umap::stage::load`); this crate only chains them.

mod chain;
mod read;

pub use chain::{Chain, Step};
pub use read::{NewImages, ReadPlan};

use std::path::PathBuf;

/// Errors of a replay.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// Input that cannot be replayed as given (a file or artifact named).
    #[error("{path}: {message}")]
    Invalid {
        /// The file, folder or artifact.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Artifact layer errors.
    #[error(transparent)]
    Artifact(#[from] aeclust_artifact::ArtifactError),
    /// Reading images.
    #[error(transparent)]
    Dataset(#[from] aeclust_dataset::DatasetError),
    /// The dense encoder.
    #[error(transparent)]
    Encoder(#[from] aeclust_encoder_dense::EncoderError),
    /// PCA.
    #[error(transparent)]
    Pca(#[from] aeclust_encoder_pca::PcaError),
    /// UMAP.
    #[error(transparent)]
    Umap(#[from] aeclust_encoder_umap::UmapError),
}

/// Result of this crate.
pub type Result<T, E = ReplayError> = std::result::Result<T, E>;

pub(crate) fn invalid(path: impl Into<PathBuf>, message: impl Into<String>) -> ReplayError {
    ReplayError::Invalid {
        path: path.into(),
        message: message.into(),
    }
}
