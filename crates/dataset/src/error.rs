use std::path::PathBuf;

/// Errors of the dataset stage; each names the file it is about.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    /// The file's content is not what the reader expects.
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    /// An input file does not exist.
    #[error("{path}: file not found. {hint}")]
    Missing { path: PathBuf, hint: String },
    /// An operating-system error.
    #[error("{path}: {error}")]
    Io {
        path: PathBuf,
        /// Shown in the message, not returned as `source()`: a chain printed with
        /// `{:#}` would say it twice.
        error: std::io::Error,
    },
    /// Impossible parameters.
    #[error("invalid parameter: {0}")]
    Params(String),
    /// Artifact layer errors (writing, hashing, manifests).
    #[error(transparent)]
    Artifact(#[from] aeclust_artifact::ArtifactError),
}

/// Result alias for the dataset stage.
pub type Result<T, E = DatasetError> = std::result::Result<T, E>;

pub(crate) fn invalid(path: &std::path::Path, message: impl Into<String>) -> DatasetError {
    DatasetError::Invalid {
        path: path.to_path_buf(),
        message: message.into(),
    }
}
