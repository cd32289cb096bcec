//! UMAP (McInnes, Healy & Melville, 2018) as an aeclust encoder: a manifold embedding of
//! codes (or pixels) fitted on the train split, the test split placed by the fitted
//! model, written as a `codes` artifact — the N2D recipe (autoencoder → UMAP → GMM) with
//! the stages aeclust already has.
//!
//! - [`knn`]: exact k-nearest neighbours by blocked matrix products (the `aeclust-knn`
//!   library, re-exported).
//! - [`fuzzy`]: σ and ρ per point, membership strengths, their fuzzy union.
//! - [`curve`]: the `a`, `b` parameters for `min_dist`.
//! - [`spectral`]: the spectral initial layout.
//! - [`layout`]: the stochastic layout optimisation with negative sampling.
//! - [`umap`]: fit and transform.
//! - [`stage`]: the `codes` artifact in and out (`aeclust-encode-umap`).

pub mod curve;
pub mod fuzzy;
pub use aeclust_knn as knn;
pub mod layout;
pub mod spectral;
pub mod stage;
pub mod umap;

pub use umap::{fit, FittedUmap, Init, Metric, PhaseSeconds, Progress, Quiet, UmapParams};

/// Errors of the UMAP encoder.
#[derive(Debug, thiserror::Error)]
pub enum UmapError {
    /// Impossible parameters.
    #[error("invalid parameter: {0}")]
    InvalidParams(String),
    /// Data that cannot be embedded as given.
    #[error("invalid data: {0}")]
    InvalidData(String),
    /// Artifact layer errors.
    #[error(transparent)]
    Artifact(#[from] aeclust_artifact::ArtifactError),
}

/// Result alias for this crate.
pub type Result<T, E = UmapError> = std::result::Result<T, E>;
