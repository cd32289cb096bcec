use linfa::{Float, ParamGuard};
use serde::{Deserialize, Serialize};

use crate::ClusterError;

/// Checked K-Means settings; build them with [`KMeansParams`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KMeansValidParams<F> {
    pub(crate) n_clusters: usize,
    pub(crate) n_init: usize,
    pub(crate) max_iter: usize,
    pub(crate) tolerance: F,
    pub(crate) seed: u64,
    pub(crate) init: KMeansInit<F>,
}

/// How the centroids start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum KMeansInit<F> {
    /// Greedy k-means++ (scikit-learn's), seeded.
    KMeansPlusPlus,
    /// Given centroids [K, D] (every restart starts from them).
    Precomputed(ndarray::Array2<F>),
}

/// K-Means settings, checked by [`ParamGuard::check`] (or implicitly by `fit`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KMeansParams<F>(pub(crate) KMeansValidParams<F>);

impl<F: Float> KMeansParams<F> {
    /// Defaults: `n_init` 1, `max_iter` 500, tolerance 1e-4 (relative to the mean feature
    /// variance, as in scikit-learn), seed 72.
    pub fn new(n_clusters: usize) -> Self {
        Self(KMeansValidParams {
            n_clusters,
            n_init: 1,
            max_iter: 500,
            tolerance: F::cast(1e-4),
            seed: 72,
            init: KMeansInit::KMeansPlusPlus,
        })
    }

    /// Initialisation method.
    pub fn init(mut self, init: KMeansInit<F>) -> Self {
        self.0.init = init;
        self
    }

    /// Number of k-means++ restarts; the lowest inertia wins.
    pub fn n_init(mut self, n_init: usize) -> Self {
        self.0.n_init = n_init;
        self
    }

    /// Maximum Lloyd iterations per restart.
    pub fn max_iter(mut self, max_iter: usize) -> Self {
        self.0.max_iter = max_iter;
        self
    }

    /// Convergence threshold on the total squared centroid shift, relative to the mean
    /// variance of the features.
    pub fn tolerance(mut self, tolerance: F) -> Self {
        self.0.tolerance = tolerance;
        self
    }

    /// Seed of every random choice.
    pub fn seed(mut self, seed: u64) -> Self {
        self.0.seed = seed;
        self
    }
}

impl<F> KMeansValidParams<F> {
    /// Number of clusters.
    pub fn n_clusters(&self) -> usize {
        self.n_clusters
    }
    /// Number of restarts.
    pub fn n_init(&self) -> usize {
        self.n_init
    }
    /// Maximum iterations.
    pub fn max_iter(&self) -> usize {
        self.max_iter
    }
    /// Seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }
}

impl<F: Float> ParamGuard for KMeansParams<F> {
    type Checked = KMeansValidParams<F>;
    type Error = ClusterError;

    fn check_ref(&self) -> Result<&Self::Checked, ClusterError> {
        let p = &self.0;
        if p.n_clusters == 0 {
            return Err(ClusterError::InvalidParams(
                "the number of clusters (--k) must be at least 1".into(),
            ));
        }
        if p.n_init == 0 {
            return Err(ClusterError::InvalidParams(
                "n_init must be at least 1".into(),
            ));
        }
        if p.max_iter == 0 {
            return Err(ClusterError::InvalidParams(
                "max_iter must be at least 1".into(),
            ));
        }
        if let KMeansInit::Precomputed(c) = &p.init {
            if c.nrows() != p.n_clusters {
                return Err(ClusterError::InvalidParams(format!(
                    "{} precomputed centroids for {} clusters",
                    c.nrows(),
                    p.n_clusters
                )));
            }
        }
        crate::error::check_non_negative("tolerance", p.tolerance)?;
        Ok(p)
    }

    fn check(self) -> Result<Self::Checked, ClusterError> {
        self.check_ref()?;
        Ok(self.0)
    }
}
