//! K-Means: k-means++ initialisation, `n_init` restarts, fused blocked Lloyd iterations.

mod algorithm;
mod hyperparams;

pub(crate) use algorithm::check_data;
pub use algorithm::KMeans;
pub use hyperparams::{KMeansInit, KMeansParams, KMeansValidParams};
