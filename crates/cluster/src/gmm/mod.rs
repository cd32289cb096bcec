//! Gaussian mixture models fitted by EM, with full or diagonal covariances.

mod algorithm;
mod hyperparams;

pub use algorithm::GaussianMixture;
pub use hyperparams::{CovarianceType, GmmParams, GmmValidParams};
