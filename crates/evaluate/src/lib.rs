//! The evaluation stage: clustering artifacts in, a report out (`report.json`,
//! `report.md` and PNG pictures). Metrics live in [`metrics`]; the pictures in [`plots`].

pub use aeclust_metrics as metrics;
pub mod plots;
mod report;

pub use aeclust_sort::SortMode;
pub use report::{paper_acc, run, sort_fitted, ReportOptions, PAPER_RESULTS};

use std::path::PathBuf;

/// Errors of the evaluation stage.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Input artifacts that do not fit together.
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    /// A picture could not be drawn.
    #[error("{path}: drawing failed: {message}")]
    Plot { path: PathBuf, message: String },
    /// No clustering given.
    #[error("no clustering artifact given")]
    NoInput,
    /// Artifact layer errors.
    #[error(transparent)]
    Artifact(#[from] aeclust_artifact::ArtifactError),
    /// Sorting the fitted images into folders (`--into`).
    #[error(transparent)]
    Sort(#[from] aeclust_sort::SortError),
}
