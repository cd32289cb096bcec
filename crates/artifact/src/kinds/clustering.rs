//! The `clustering` kind: a fitted K-Means, Gaussian mixture or SCAN network and its
//! assignments.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{ArtifactInfo, FeatureKind, PerSplit, Split};
use crate::{ArtifactRef, Result, TensorWriter};

/// Clustering method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// K-Means.
    Kmeans,
    /// Gaussian mixture.
    Gmm,
    /// SCAN (Van Gansbeke et al., 2020): a network trained to give every sample the
    /// cluster of its nearest neighbours in another representation (`aeclust-cluster-scan`).
    #[cfg_attr(feature = "clap", value(skip))]
    Scan,
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

/// The number of clusters to fit: one `k`, or an inclusive range `min..max` searched
/// for the best (BIC for GMMs, silhouette for K-Means).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KRange {
    /// Smallest k tried.
    pub min: usize,
    /// Largest k tried.
    pub max: usize,
}

impl KRange {
    /// Exactly `k` clusters.
    pub fn single(k: usize) -> Self {
        Self { min: k, max: k }
    }

    /// True when one k is fitted, no search.
    pub fn is_single(&self) -> bool {
        self.min == self.max
    }

    /// Every k tried, ascending.
    pub fn values(&self) -> std::ops::RangeInclusive<usize> {
        self.min..=self.max
    }
}

impl std::str::FromStr for KRange {
    type Err = String;
    /// `10` or `4..20` (both ends included).
    fn from_str(s: &str) -> Result<Self, String> {
        let parse = |v: &str| {
            v.trim().parse::<usize>().map_err(|_| {
                format!("`{s}`: expected a number of clusters (10) or a range (4..20)")
            })
        };
        let range = match s.split_once("..") {
            Some((a, b)) => Self {
                min: parse(a)?,
                max: parse(b.trim_start_matches('='))?,
            },
            None => Self::single(parse(s)?),
        };
        if range.min == 0 {
            return Err(format!("`{s}`: the number of clusters must be at least 1"));
        }
        if range.min > range.max {
            return Err(format!(
                "`{s}`: the range is empty ({} > {})",
                range.min, range.max
            ));
        }
        Ok(range)
    }
}

impl std::fmt::Display for KRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_single() {
            write!(f, "{}", self.min)
        } else {
            write!(f, "{}..{}", self.min, self.max)
        }
    }
}

/// Parameters of a clustering (canonical: all of them enter the cache key).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusteringParams {
    /// Method.
    pub method: Method,
    /// Number of clusters / components, or the range searched.
    pub k: KRange,
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
    /// SCAN's own settings (SCAN only; `max_iter` is its fewest epochs, `n_init` its heads).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan: Option<ScanParams>,
}

/// How SCAN chooses the head it keeps, without labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum HeadSelection {
    /// The head whose clustering agrees most with the other heads' (mean adjusted Rand
    /// index on the train split): the consensus.
    Agreement,
    /// The head with the lowest SCAN loss over every neighbour pair.
    Loss,
}

/// Settings of a SCAN clustering (`n_init` heads trained side by side for at least
/// `max_iter` epochs and `min_steps` optimiser steps; one head is kept, chosen by
/// `select`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanParams {
    /// Nearest neighbours per sample, in the neighbours' representation.
    pub neighbours: usize,
    /// Weight of the entropy of the mean prediction (keeps clusters from collapsing).
    pub entropy_weight: f64,
    /// Units of the hidden layer shared by the heads.
    pub hidden: usize,
    /// Samples per batch (each with one of its neighbours).
    pub batch_size: usize,
    /// Adam's learning rate.
    pub learning_rate: f64,
    /// Decoupled weight decay.
    pub weight_decay: f64,
    /// Random whole-pixel shift of every training image, up to this many pixels (images only).
    pub shift: usize,
    /// How the kept head is chosen.
    pub select: HeadSelection,
    /// Fewest optimiser steps: small training sets get more epochs than `max_iter`
    /// (0 in artifacts written before the option existed: exactly `max_iter` epochs).
    #[serde(default)]
    pub min_steps: usize,
}

impl ClusteringParams {
    /// The method as people name it: `K-Means`, `GMM (full)`.
    pub fn method_title(&self) -> String {
        match self.method {
            Method::Kmeans => "K-Means".into(),
            Method::Gmm => format!("GMM ({})", self.covariance),
            Method::Scan => "SCAN".into(),
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
    /// Mean log-likelihood of the test split (none without one).
    pub mean_log_likelihood_test: Option<f64>,
    /// Bayesian information criterion on the train split.
    pub bic: f64,
    /// Akaike information criterion on the train split.
    pub aic: f64,
    /// Free parameters of the model.
    pub n_parameters: usize,
}

/// How a SCAN clustering was trained and which head was kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanFit {
    /// The artifact whose train split gave the neighbours.
    pub neighbours: FeaturesRef,
    /// Its encoder's display name (none for pixels).
    pub neighbours_encoder: Option<String>,
    /// Loss of every head after training (consistency + weight × negative entropy),
    /// on every train sample with each of its neighbours, without augmentation.
    pub head_loss: Vec<f64>,
    /// The consistency term of every head (mean −log of the dot product of a sample's
    /// and a neighbour's cluster probabilities).
    pub head_consistency: Vec<f64>,
    /// The entropy of every head's mean cluster probabilities (ln k when balanced).
    pub head_entropy: Vec<f64>,
    /// Every head's mean adjusted Rand index with the other heads (train split).
    pub head_agreement: Vec<f64>,
    /// The kept head.
    pub head: usize,
    /// Mean training loss over the heads, per epoch.
    pub loss_history: Vec<f64>,
    /// Seconds of the k-NN search.
    pub knn_seconds: f64,
}

/// Quality of a clustering without labels, on the train split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InternalMetrics {
    /// Mean silhouette (-1..1, higher is better) on a seeded sample; none for k = 1.
    pub silhouette: Option<f64>,
    /// Rows the silhouette was computed on.
    pub silhouette_sample: usize,
    /// Calinski–Harabasz index (higher is better); none for k = 1.
    pub calinski_harabasz: Option<f64>,
    /// Davies–Bouldin index (lower is better); none for k = 1.
    pub davies_bouldin: Option<f64>,
}

/// One k of a search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KScore {
    /// Clusters.
    pub k: usize,
    /// The criterion's value for this k.
    pub score: f64,
    /// Wall seconds of the fit (all restarts) and its scoring.
    pub seconds: f64,
}

/// A search over k: the criterion for every k tried, and the k kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KSearch {
    /// `bic` (GMM, lower is better) or `silhouette` (K-Means, higher is better).
    pub criterion: String,
    /// True when a lower score is better.
    pub lower_is_better: bool,
    /// Every k tried, ascending.
    pub curve: Vec<KScore>,
    /// The k kept.
    pub best_k: usize,
    /// Wall seconds of the whole search.
    pub seconds: f64,
}

impl KSearch {
    /// True when the kept k is an end of a range of more than one k: the criterion may
    /// keep improving beyond the range searched.
    pub fn best_at_edge(&self) -> bool {
        let (first, last) = (
            self.curve.first().map(|p| p.k),
            self.curve.last().map(|p| p.k),
        );
        self.curve.len() > 1 && (Some(self.best_k) == first || Some(self.best_k) == last)
    }
}

/// What a clustering's novelty score of an image measures (higher: less like the images
/// it was fitted on). A new image is flagged novel when its score is above the chosen
/// quantile of the scores of the train images in the cluster it is assigned to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoveltyScore {
    /// K-Means: the Euclidean distance to the assigned centroid.
    CentroidDistance,
    /// GMM: minus the log-likelihood of the image under the mixture, −ln p(x).
    NegativeLogLikelihood,
    /// SCAN: the Euclidean distance to the nearest train image (itself left out) in the
    /// codes its neighbours were found in.
    NearestTrainDistance,
}

/// `info` of a clustering artifact (also written as its `summary.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusteringInfo {
    /// The parameters.
    pub params: ClusteringParams,
    /// Clusters of the fitted model (the one given, or the best of a search).
    pub k: usize,
    /// The search over k, when a range was given.
    pub k_search: Option<KSearch>,
    /// Quality without labels, on the train split (SCAN: in its neighbours' space).
    pub internal: InternalMetrics,
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
    /// Heads, losses and neighbours (SCAN only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan: Option<ScanFit>,
    /// What the `{split}_novelty` scores of the assignments file measure; absent in
    /// artifacts written before they were recorded (new images cannot be flagged then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub novelty: Option<NoveltyScore>,
    /// Worker threads.
    pub threads: usize,
}

impl ClusteringInfo {
    /// The fitted parameters (centroids, or weights, means and covariances).
    pub const MODEL_FILE: &'static str = "model.safetensors";
    /// u32 `{train,test}_assignments`, f32 `{train,test}_confidence` (GMM: the posterior
    /// probability of the assigned component; K-Means: the distance to its centroid),
    /// f32 `{train,test}_novelty` ([`NoveltyScore`]) and, for labelled data, u8
    /// `{train,test}_labels`.
    pub const ASSIGNMENTS_FILE: &'static str = "assignments.safetensors";
    /// This info as a file of its own.
    pub const SUMMARY_FILE: &'static str = "summary.json";
    /// Every file of a clustering artifact.
    pub const FILES: [&'static str; 3] =
        [Self::MODEL_FILE, Self::ASSIGNMENTS_FILE, Self::SUMMARY_FILE];
}

/// One split's assignments, as [`ClusteringInfo::write_assignments`] stores them.
#[derive(Debug, Clone, Copy)]
pub struct AssignedSplit<'a> {
    /// The cluster of every row.
    pub clusters: &'a [usize],
    /// The confidence of every assignment.
    pub confidence: &'a [f32],
    /// How unlike the fitted images every row is ([`NoveltyScore`]: higher is stranger).
    pub novelty: &'a [f32],
    /// The rows' labels, when labelled.
    pub labels: Option<&'a [u8]>,
}

impl ClusteringInfo {
    /// Writes both splits' assignments in the layout of [`Self::ASSIGNMENTS_FILE`].
    pub fn write_assignments(path: &Path, splits: &PerSplit<AssignedSplit>) -> Result<()> {
        let mut writer = TensorWriter::new();
        for split in Split::ALL {
            let s = splits.get(split);
            let ids: Vec<u32> = s.clusters.iter().map(|&c| c as u32).collect();
            writer
                .add(&format!("{split}_assignments"), &[ids.len()], &ids)
                .add(
                    &format!("{split}_confidence"),
                    &[s.confidence.len()],
                    s.confidence,
                )
                .add(&format!("{split}_novelty"), &[s.novelty.len()], s.novelty);
            if let Some(labels) = s.labels {
                writer.add(&format!("{split}_labels"), &[labels.len()], labels);
            }
        }
        writer.write(path)
    }
}

impl ArtifactInfo for ClusteringInfo {
    const STAGE: &'static str = super::CLUSTERING;
}
