//! Principal component analysis as an aeclust encoder: fits on the train split of a
//! dataset (pixels scaled to [0, 1]) or codes artifact and writes a `codes` artifact, so
//! `cluster` and `evaluate` use it exactly as they use the autoencoder's codes.

mod stage;

pub use aeclust_pca::Pca;
pub use stage::{load, project, run, PcaDetails, PcaParams, MODEL_FILE};

/// Errors of the PCA encoder.
#[derive(Debug, thiserror::Error)]
pub enum PcaError {
    /// Impossible parameters.
    #[error("invalid parameter: {0}")]
    InvalidParams(String),
    /// Artifact layer errors.
    #[error(transparent)]
    Artifact(#[from] aeclust_artifact::ArtifactError),
}

/// Result alias for this crate.
pub type Result<T, E = PcaError> = std::result::Result<T, E>;
