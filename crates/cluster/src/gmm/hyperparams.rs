use linfa::{Float, ParamGuard};
use serde::{Deserialize, Serialize};

use crate::ClusterError;

/// Shape of the covariances (defined with the artifact contract, which records it).
pub use aeclust_artifact::kinds::CovarianceType;

/// Checked GMM settings; build them with [`GmmParams`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GmmValidParams<F> {
    pub(crate) n_components: usize,
    pub(crate) covariance_type: CovarianceType,
    pub(crate) reg_covar: F,
    pub(crate) tolerance: F,
    pub(crate) max_iter: usize,
    pub(crate) n_init: usize,
    pub(crate) seed: u64,
}

/// GMM settings, checked by [`ParamGuard::check`] (or implicitly by `fit`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GmmParams<F>(pub(crate) GmmValidParams<F>);

impl<F: Float> GmmParams<F> {
    /// Defaults: full covariance, `reg_covar` 1e-6, tolerance 1e-3 on the change of the
    /// mean log-likelihood, `max_iter` 500, `n_init` 1, seed 72; K-Means initialisation.
    pub fn new(n_components: usize) -> Self {
        Self(GmmValidParams {
            n_components,
            covariance_type: CovarianceType::Full,
            reg_covar: F::cast(1e-6),
            tolerance: F::cast(1e-3),
            max_iter: 500,
            n_init: 1,
            seed: 72,
        })
    }
    /// Covariance shape.
    pub fn covariance_type(mut self, t: CovarianceType) -> Self {
        self.0.covariance_type = t;
        self
    }
    /// Non-negative value added to every covariance diagonal.
    pub fn reg_covar(mut self, r: F) -> Self {
        self.0.reg_covar = r;
        self
    }
    /// Convergence threshold on the change of the mean log-likelihood.
    pub fn tolerance(mut self, t: F) -> Self {
        self.0.tolerance = t;
        self
    }
    /// Maximum EM iterations per restart.
    pub fn max_iter(mut self, m: usize) -> Self {
        self.0.max_iter = m;
        self
    }
    /// Number of restarts (each from its own K-Means); the best likelihood wins.
    pub fn n_init(mut self, n: usize) -> Self {
        self.0.n_init = n;
        self
    }
    /// Seed of every random choice.
    pub fn seed(mut self, s: u64) -> Self {
        self.0.seed = s;
        self
    }
}

impl<F> GmmValidParams<F> {
    /// Number of components.
    pub fn n_components(&self) -> usize {
        self.n_components
    }
    /// Covariance shape.
    pub fn covariance_type(&self) -> CovarianceType {
        self.covariance_type
    }
}

impl<F: Float> ParamGuard for GmmParams<F> {
    type Checked = GmmValidParams<F>;
    type Error = ClusterError;

    fn check_ref(&self) -> Result<&Self::Checked, ClusterError> {
        let p = &self.0;
        if p.n_components == 0 {
            return Err(ClusterError::InvalidParams(
                "the number of components (--k) must be at least 1".into(),
            ));
        }
        if p.n_init == 0 || p.max_iter == 0 {
            return Err(ClusterError::InvalidParams(
                "n_init and max_iter must be at least 1".into(),
            ));
        }
        crate::error::check_non_negative("reg_covar", p.reg_covar)?;
        crate::error::check_non_negative("tolerance", p.tolerance)?;
        Ok(p)
    }

    fn check(self) -> Result<Self::Checked, ClusterError> {
        self.check_ref()?;
        Ok(self.0)
    }
}
