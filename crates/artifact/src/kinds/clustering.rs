//! The `clustering` kind: a fitted K-Means or Gaussian mixture and its assignments.

use serde::{Deserialize, Serialize};

use super::{ArtifactInfo, FeatureKind};
use crate::ArtifactRef;

/// Clustering method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// K-Means.
    Kmeans,
    /// Gaussian mixture.
    Gmm,
}

/// Shape of a Gaussian mixture's covariances.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum CovarianceType {
    /// A full D×D covariance per component.
    Full,
    /// A diagonal covariance (D variances) per component.
    Diag,
}

impl std::str::FromStr for CovarianceType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "full" => Ok(Self::Full),
            "diag" => Ok(Self::Diag),
            other => Err(format!("unknown covariance type `{other}` (full or diag)")),
        }
    }
}

impl std::fmt::Display for CovarianceType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Full => "full",
            Self::Diag => "diag",
        })
    }
}

/// Floating-point precision of a fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// 32-bit.
    F32,
    /// 64-bit.
    F64,
}

/// Parameters of a clustering (canonical: all of them enter the cache key).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusteringParams {
    /// Method.
    pub method: Method,
    /// Number of clusters / components.
    pub k: usize,
    /// Seed of every random choice.
    pub seed: u64,
    /// Maximum iterations per restart.
    pub max_iter: usize,
    /// Restarts.
    pub n_init: usize,
    /// GMM covariance shape.
    pub covariance: CovarianceType,
    /// GMM covariance regularisation.
    pub reg_covar: f64,
    /// Convergence tolerance (K-Means: relative centre shift; GMM: log-likelihood change).
    pub tol: f64,
    /// Precision of the arithmetic.
    pub precision: Precision,
}

impl ClusteringParams {
    /// The method as people name it: `K-Means`, `GMM (full)`.
    pub fn method_title(&self) -> String {
        match self.method {
            Method::Kmeans => "K-Means".into(),
            Method::Gmm => format!("GMM ({})", self.covariance),
        }
    }
}

/// The features a clustering was fitted on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeaturesRef {
    /// The dataset or codes artifact.
    pub artifact: ArtifactRef,
    /// Pixels or codes.
    pub kind: FeatureKind,
    /// Columns of the features.
    pub dim: usize,
    /// Columns the fit used (the others are constant on the train split).
    pub dims_used: usize,
    /// Constant columns dropped before the fit.
    pub constant_dims_dropped: usize,
}

/// How the fit went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitSummary {
    /// Wall seconds of the fit (all restarts).
    pub fit_seconds: f64,
    /// Iterations of the best restart.
    pub n_iter: usize,
    /// Whether the best restart converged.
    pub converged: bool,
    /// Index of the best restart.
    pub best_run: usize,
    /// Seconds of every iteration of every restart.
    pub iteration_seconds: Vec<f64>,
    /// Median of `iteration_seconds`.
    pub seconds_per_iteration_median: Option<f64>,
}

/// K-Means objective.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KMeansFit {
    /// Sum of squared distances to the nearest centre (train split).
    pub inertia: f64,
    /// Inertia of every restart.
    pub inertia_per_run: Vec<f64>,
}

/// Gaussian-mixture likelihoods and information criteria.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GmmFit {
    /// Final mean log-likelihood per sample of the best restart's EM.
    pub lower_bound: f64,
    /// Mean log-likelihood per EM iteration.
    pub log_likelihood_history: Vec<f64>,
    /// Mean log-likelihood of the train split under the fitted model.
    pub mean_log_likelihood_train: f64,
    /// Mean log-likelihood of the test split.
    pub mean_log_likelihood_test: f64,
    /// Bayesian information criterion on the train split.
    pub bic: f64,
    /// Akaike information criterion on the train split.
    pub aic: f64,
    /// Free parameters of the model.
    pub n_parameters: usize,
}

/// `info` of a clustering artifact (also written as its `summary.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusteringInfo {
    /// The parameters.
    pub params: ClusteringParams,
    /// The features it was fitted on.
    pub features: FeaturesRef,
    /// Rows of the train split.
    pub n_train: usize,
    /// Rows of the test split.
    pub n_test: usize,
    /// Train rows per cluster.
    pub cluster_sizes_train: Vec<usize>,
    /// How the fit went.
    pub fit: FitSummary,
    /// K-Means objective (K-Means only).
    pub kmeans: Option<KMeansFit>,
    /// Likelihoods (GMM only).
    pub gmm: Option<GmmFit>,
    /// Worker threads.
    pub threads: usize,
}

impl ClusteringInfo {
    /// The fitted parameters (centroids, or weights, means and covariances).
    pub const MODEL_FILE: &'static str = "model.safetensors";
    /// u32 `{train,test}_assignments` and u8 `{train,test}_labels`.
    pub const ASSIGNMENTS_FILE: &'static str = "assignments.safetensors";
    /// This info as a file of its own.
    pub const SUMMARY_FILE: &'static str = "summary.json";
}

impl ArtifactInfo for ClusteringInfo {
    const STAGE: &'static str = super::CLUSTERING;
}
