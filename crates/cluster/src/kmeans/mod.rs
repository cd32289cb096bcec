//! K-Means: k-means++ initialisation, `n_init` restarts, fused blocked Lloyd iterations;
//! and mini-batch K-Means, one pass over rows streamed in batches.

mod algorithm;
mod hyperparams;
mod minibatch;

pub(crate) use algorithm::check_data;
pub use algorithm::KMeans;
pub use hyperparams::{KMeansInit, KMeansParams, KMeansValidParams};
pub use minibatch::MiniBatchKMeans;
