//! SCAN (Van Gansbeke et al., "SCAN: Learning to Classify Images without Labels", 2020)
//! as an aeclust clustering stage: a small network is trained so that every image and
//! its nearest neighbours — found in another representation, such as an autoencoder's
//! codes — fall into the same cluster, while an entropy term keeps the clusters from
//! collapsing into one. Several heads train side by side on a shared hidden layer; the
//! one the others agree with most (or the one with the lowest loss) is kept. With random
//! shifts of the images it learns what the neighbours share rather than where the pixels
//! are.
//!
//! - [`model`]: the network (one hidden ReLU layer, `heads` softmax outputs).
//! - [`objective`]: SCAN's loss, as a candle graph for training and in plain Rust for
//!   scoring the heads on every neighbour pair.
//! - [`train`]: the training loop, head selection and prediction.
//! - [`predict`]: a fitted SCAN clustering read back, to assign new images.
//! - [`stage`]: features and neighbours artifacts in, a `clustering` artifact out
//!   (`aeclust-cluster-scan`).
//! - [`selflabel`]: SCAN's last step, the network trained further on its own confident
//!   assignments under strong augmentations (`aeclust-selflabel`).

pub mod model;
pub mod objective;
pub mod predict;
pub mod selflabel;
pub mod stage;
pub mod train;

/// Errors of the SCAN stage.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// Impossible parameters.
    #[error("invalid parameter: {0}")]
    InvalidParams(String),
    /// Inputs that cannot be used together or as given.
    #[error("{0}")]
    InvalidData(String),
    /// Reading or writing an artifact.
    #[error(transparent)]
    Artifact(#[from] aeclust_artifact::ArtifactError),
    /// A tensor operation (its message shown, not chained: see `From`).
    #[error("tensor operation failed: {0}")]
    Candle(candle_core::Error),
}

impl From<candle_core::Error> for ScanError {
    fn from(e: candle_core::Error) -> Self {
        Self::Candle(e)
    }
}

/// Result of this crate.
pub type Result<T> = std::result::Result<T, ScanError>;
