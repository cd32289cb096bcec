//! Fast, stable K-Means and Gaussian mixture models in linfa's shape.
//!
//! Both follow linfa's conventions: a checked parameter struct (`KMeansParams` →
//! `KMeansValidParams` through [`linfa::ParamGuard`]), [`linfa::traits::Fit`] on a
//! [`linfa::DatasetBase`], and [`linfa::traits::Predict`] on the fitted model. Unlike
//! linfa-clustering 0.8.1 they compute distances as matrix products in cache-sized
//! blocks on all cores (gemm), report iterations and convergence, and the GMM's E-step
//! uses a stable log-sum-exp with Cholesky log-densities (see `docs/ARCHITECTURE.md`).
//!
//! ```
//! use aeclust_cluster::KMeans;
//! use linfa::prelude::*;
//! use ndarray::array;
//!
//! let x = array![[0.0f64, 0.0], [0.1, 0.0], [10.0, 10.0], [10.1, 10.0]];
//! let model = KMeans::params(2).seed(7).fit(&DatasetBase::from(x.clone())).unwrap();
//! let labels = model.predict(&x);
//! assert_eq!(labels[0], labels[1]);
//! assert_ne!(labels[0], labels[2]);
//! ```

pub mod density;
mod error;
pub mod gmm;
pub mod kmeans;
pub mod predict;
pub use aeclust_quality as quality;
mod search;
pub mod stage;
pub mod stream;
pub mod tree;

pub use error::{ClusterError, Result};
pub use gmm::{CovarianceType, GaussianMixture, GmmParams, GmmValidParams};
pub use kmeans::{KMeans, KMeansInit, KMeansParams, KMeansValidParams};
pub use predict::{Prediction, Predictor};

/// One EM or Lloyd iteration, for progress reporting.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IterationEvent {
    /// Restart index (0-based) among `n_init`.
    pub run: usize,
    /// Iteration number (1-based) within the run.
    pub iteration: usize,
    /// K-Means: inertia against the centres before the update (exact in the first
    /// iteration, then the upper bound that Hamerly's bounds give); GMM: mean
    /// log-likelihood per sample.
    pub objective: f64,
}
