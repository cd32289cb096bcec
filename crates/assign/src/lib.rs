//! Assigning new images to an existing clustering: every clustering artifact is a fitted
//! model that predicts. `stage` follows the references a clustering records back to its
//! dataset and replays that chain on the new images (read as recorded, then the
//! encoders; `aeclust-replay`), predicts with the clustering's model, flags images unlike
//! any it was fitted on ([`novelty`]) and writes an `assignment` artifact. `sort`
//! (`aeclust-sort`) lays the images out in one folder per cluster, as links or copies.

pub mod novelty;
pub mod stage;

pub use aeclust_sort as sort;
pub use aeclust_sort::{sort_into, SortMode, SortedRow};
pub use stage::{run, sorted_rows, AssignParams, NewInput};

use std::path::PathBuf;

/// Errors of the assign stage.
#[derive(Debug, thiserror::Error)]
pub enum AssignError {
    /// Input or options that cannot be used (a file, folder or option named).
    #[error("{path}: {message}")]
    Invalid {
        /// The file, folder or option.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Impossible parameters.
    #[error("invalid parameter: {0}")]
    Params(String),
    /// Artifact layer errors.
    #[error(transparent)]
    Artifact(#[from] aeclust_artifact::ArtifactError),
    /// Replaying the features chain.
    #[error(transparent)]
    Replay(#[from] aeclust_replay::ReplayError),
    /// Listing or reading images.
    #[error(transparent)]
    Dataset(#[from] aeclust_dataset::DatasetError),
    /// A K-Means or GMM prediction.
    #[error(transparent)]
    Cluster(#[from] aeclust_cluster::ClusterError),
    /// A SCAN prediction.
    #[error(transparent)]
    Scan(#[from] aeclust_cluster_scan::ScanError),
    /// Sorting into folders.
    #[error(transparent)]
    Sort(#[from] aeclust_sort::SortError),
}

/// Result of this crate.
pub type Result<T, E = AssignError> = std::result::Result<T, E>;

pub(crate) fn invalid(path: impl Into<PathBuf>, message: impl Into<String>) -> AssignError {
    AssignError::Invalid {
        path: path.into(),
        message: message.into(),
    }
}
