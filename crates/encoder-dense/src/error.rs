/// Errors of the autoencoder stages.
#[derive(Debug, thiserror::Error)]
pub enum EncoderError {
    /// Impossible parameters.
    #[error("invalid parameter: {0}")]
    InvalidParams(String),
    /// Input that does not fit (wrong artifact, wrong sizes).
    #[error("{0}")]
    InvalidInput(String),
    /// Training diverged.
    #[error("training diverged: {0}")]
    Diverged(String),
    /// candle errors (the message shown, not chained: see `From`).
    #[error("candle: {0}")]
    Candle(candle_core::Error),
    /// Artifact layer errors.
    #[error(transparent)]
    Artifact(#[from] aeclust_artifact::ArtifactError),
}

impl From<candle_core::Error> for EncoderError {
    fn from(e: candle_core::Error) -> Self {
        Self::Candle(e)
    }
}

/// Result alias for this crate.
pub type Result<T, E = EncoderError> = std::result::Result<T, E>;
