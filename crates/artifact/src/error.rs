use std::path::PathBuf;

/// Errors of the artifact layer. Every variant names the file it is about.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    /// An operating-system error while reading or writing `path`.
    #[error("{path}: {error}")]
    Io {
        path: PathBuf,
        /// Shown in the message, not returned as `source()`: a chain printed with
        /// `{:#}` would say it twice.
        error: std::io::Error,
    },
    /// A directory without `manifest.json`.
    #[error(
        "{path}: not an aeclust artifact (no manifest.json); run the stage that makes it first"
    )]
    NotArtifact { path: PathBuf },
    /// A manifest that cannot be parsed or does not fit the schema.
    #[error("{path}: invalid manifest: {message}")]
    Manifest { path: PathBuf, message: String },
    /// An artifact made by another stage than the one required.
    #[error("{path}: is a `{found}` artifact, expected a {expected} artifact")]
    WrongStage {
        path: PathBuf,
        found: String,
        expected: String,
    },
    /// A file whose bytes do not match the SHA-256 recorded in its manifest.
    #[error("{path}: content does not match the SHA-256 in its manifest (modified or corrupt); rerun the stage that made it")]
    Corrupt { path: PathBuf },
    /// A file of an input artifact changed after the artifact was written.
    #[error("{path}: changed after its artifact was written (its {what} differs from the record in {manifest}); refusing to use it. Rebuild it with `{producer} --out {artifact} --force` (or rerun the pipeline)", manifest = artifact.join(crate::MANIFEST_FILE).display(), artifact = artifact.display())]
    Modified {
        path: PathBuf,
        artifact: PathBuf,
        what: &'static str,
        producer: String,
    },
    /// A file an artifact does not record among its outputs.
    #[error("{artifact}: the artifact has no file `{name}` (it holds: {holds})")]
    MissingFile {
        artifact: PathBuf,
        name: String,
        holds: String,
    },
    /// A safetensors file that cannot be parsed.
    #[error("{path}: not a valid safetensors file: {message}")]
    Safetensors { path: PathBuf, message: String },
    /// A tensor that is missing or has the wrong dtype or shape.
    #[error("{path}: tensor `{name}`: {message}")]
    Tensor {
        path: PathBuf,
        name: String,
        message: String,
    },
}

/// Result alias for the artifact layer.
pub type Result<T, E = ArtifactError> = std::result::Result<T, E>;

impl ArtifactError {
    /// An I/O error about `path`.
    pub fn io(path: impl Into<PathBuf>, error: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            error,
        }
    }
}
