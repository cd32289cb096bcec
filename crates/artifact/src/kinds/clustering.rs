//! The `clustering` kind: a fitted K-Means, Gaussian mixture or SCAN network and its
//! assignments.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{ArtifactInfo, FeatureKind, PerSplit, Split};
use crate::{ArtifactRef, Environment, Manifest, Result, Stage, TensorWriter};

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
    /// SCAN followed by self-labelling (`aeclust-selflabel`): the SCAN network trained
    /// further on its own confident assignments, seen through strong augmentations.
    #[cfg_attr(feature = "clap", value(skip))]
    Selflabel,
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
/// for the best by the silhouette (`auto`: 2..20).
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

/// How a search over k decides.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum KRule {
    /// The number of dense groups HDBSCAN finds in the features, each of at least
    /// `min_group` of the train rows, when that number is in the range searched; the
    /// highest silhouette otherwise.
    Density {
        /// The smallest group, as a fraction of the rows (also HDBSCAN's `min_samples`).
        min_group: f64,
    },
    /// The highest silhouette.
    Silhouette,
}

impl KRule {
    /// The smallest dense group by default: 2 % of the rows.
    pub const MIN_GROUP: f64 = 0.02;
}

impl KRange {
    /// `--k auto`: every k from 2 to 20.
    pub const AUTO: Self = Self { min: 2, max: 20 };
}

impl std::str::FromStr for KRange {
    type Err = String;
    /// `10`, `4..20` (both ends included) or `auto` (2..20).
    fn from_str(s: &str) -> Result<Self, String> {
        if s.trim() == "auto" {
            return Ok(Self::AUTO);
        }
        let parse = |v: &str| {
            v.trim().parse::<usize>().map_err(|_| {
                format!("`{s}`: expected a number of clusters (10), a range (4..20) or auto")
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

/// Parameters of a clustering (canonical: all of them enter the cache key): what every
/// method shares, and the method's own settings, tagged by `method`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusteringParams {
    /// Number of clusters / components, or the range searched.
    pub k: KRange,
    /// Seed of every random choice.
    pub seed: u64,
    /// How a search over k decides; none for a single k (and for the searches written
    /// before rules existed, which kept the highest silhouette).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub k_rule: Option<KRule>,
    /// The method and its own settings (`"method": "kmeans" | "gmm" | "scan"` beside them).
    #[serde(flatten)]
    pub method: MethodParams,
}

/// A clustering method and its own settings; no method carries another's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "lowercase")]
pub enum MethodParams {
    /// K-Means.
    Kmeans(KMeansOptions),
    /// Gaussian mixture.
    Gmm(GmmOptions),
    /// SCAN.
    Scan(ScanOptions),
    /// Self-labelling of a SCAN clustering.
    Selflabel(SelfLabelOptions),
}

/// Settings of a K-Means fit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KMeansOptions {
    /// Maximum Lloyd iterations per restart.
    pub max_iter: usize,
    /// Restarts (k-means++ seeds); the lowest inertia wins.
    pub n_init: usize,
    /// Convergence tolerance: relative centre shift.
    pub tol: f64,
    /// Precision of the arithmetic.
    pub precision: Precision,
    /// Mini-batch K-Means instead of Lloyd's, streamed from the features file (absent
    /// from the params of a full fit, so their cache keys stay as they were).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<MiniBatch>,
}

/// Mini-batch K-Means (Sculley 2010) streamed from disk: the centres start from a full
/// K-Means of the first batch, then every later batch moves them; only a batch of rows
/// is in memory at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MiniBatch {
    /// Rows per batch.
    pub batch_size: usize,
    /// Passes over the train rows.
    pub passes: usize,
}

/// Settings of a Gaussian-mixture fit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GmmOptions {
    /// Maximum EM iterations per restart.
    pub max_iter: usize,
    /// Restarts; the highest lower bound wins.
    pub n_init: usize,
    /// Covariance shape.
    pub covariance: CovarianceType,
    /// Added to every covariance diagonal.
    pub reg_covar: f64,
    /// Convergence tolerance: change of the mean log-likelihood.
    pub tol: f64,
    /// Precision of the arithmetic.
    pub precision: Precision,
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

/// Settings of a SCAN clustering (`heads` heads trained side by side for at least
/// `epochs` epochs and `min_steps` optimiser steps; one head is kept, chosen by
/// `select`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanOptions {
    /// Heads trained side by side.
    pub heads: usize,
    /// Fewest passes over the training rows.
    pub epochs: usize,
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
    /// Fewest optimiser steps: small training sets get more epochs than `epochs`.
    pub min_steps: usize,
}

/// The strong augmentations self-labelling trains on, each drawn anew for every image
/// of every batch (image options on images only, `dropout` on codes only).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StrongAugment {
    /// Random whole-pixel translation of up to this many pixels.
    pub shift: usize,
    /// Mirror left to right with probability 1/2.
    pub flip: bool,
    /// Erase one rectangle of up to this fraction of the image (filled with the image's
    /// mean) with probability 1/2; 0: never.
    pub erase: f64,
    /// Contrast scaled by a factor in 1 ± this and brightness moved by up to ± this / 2
    /// (pixels in 0..1).
    pub contrast: f64,
    /// Gaussian noise of a standard deviation drawn up to this (images: in pixel units
    /// 0..1; codes: in units of each column's standard deviation).
    pub noise: f64,
    /// Fraction of code columns set to 0 (codes only).
    pub dropout: f64,
}

impl StrongAugment {
    /// The defaults for images: shift 3, mirror, erase up to 25 %, contrast ± 0.4,
    /// noise up to 0.05.
    pub const IMAGES: Self = Self {
        shift: 3,
        flip: true,
        erase: 0.25,
        contrast: 0.4,
        noise: 0.05,
        dropout: 0.0,
    };
    /// The defaults for codes: noise up to 0.5 of each column's spread, 20 % dropout.
    pub const CODES: Self = Self {
        shift: 0,
        flip: false,
        erase: 0.0,
        contrast: 0.0,
        noise: 0.5,
        dropout: 0.2,
    };
}

/// Settings of self-labelling (Van Gansbeke et al.'s last step): the SCAN network's
/// confident train assignments (probability above `threshold`, on the unaugmented image)
/// become targets, and the network learns to give them on strong augmentations, for as
/// long as the confident set grows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SelfLabelOptions {
    /// Confidence above which an assignment becomes a target.
    pub threshold: f64,
    /// In every cluster where fewer rows pass `threshold`, its most confident share of
    /// this size becomes targets too (0: SCAN's rule alone).
    pub per_cluster: f64,
    /// Most passes over the train split.
    pub epochs: usize,
    /// Stop after this many passes without a larger confident set.
    pub patience: usize,
    /// Rows per batch (before the unconfident ones are dropped).
    pub batch_size: usize,
    /// Adam's learning rate.
    pub learning_rate: f64,
    /// Decoupled weight decay.
    pub weight_decay: f64,
    /// Weigh each target class by the inverse of its count in the batch (SCAN's
    /// class-balanced cross-entropy), so large clusters do not swallow small ones.
    pub balanced: bool,
    /// The strong augmentations.
    pub augment: StrongAugment,
}

impl MethodParams {
    /// The method.
    pub fn method(&self) -> Method {
        match self {
            Self::Kmeans(_) => Method::Kmeans,
            Self::Gmm(_) => Method::Gmm,
            Self::Scan(_) => Method::Scan,
            Self::Selflabel(_) => Method::Selflabel,
        }
    }

    /// The arithmetic's precision (SCAN and self-labelling: none, the network is f32).
    pub fn precision(&self) -> Option<Precision> {
        match self {
            Self::Kmeans(m) => Some(m.precision),
            Self::Gmm(g) => Some(g.precision),
            Self::Scan(_) | Self::Selflabel(_) => None,
        }
    }
}

impl ClusteringParams {
    /// The method.
    pub fn method(&self) -> Method {
        self.method.method()
    }

    /// The method as people name it: `K-Means`, `GMM (full)`.
    pub fn method_title(&self) -> String {
        match &self.method {
            MethodParams::Kmeans(KMeansOptions { batch: Some(_), .. }) => {
                "mini-batch K-Means".into()
            }
            MethodParams::Kmeans(_) => "K-Means".into(),
            MethodParams::Gmm(g) => format!("GMM ({})", g.covariance),
            MethodParams::Scan(_) => "SCAN".into(),
            MethodParams::Selflabel(_) => "SCAN + self-labelling".into(),
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

/// What a fit of each method found; tagged by `method` like [`MethodParams`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "lowercase")]
pub enum MethodFit {
    /// K-Means: its objective.
    Kmeans(KMeansFit),
    /// GMM: likelihoods and information criteria.
    Gmm(GmmFit),
    /// SCAN: heads, losses and neighbours.
    Scan(ScanFit),
    /// Self-labelling: the SCAN clustering it started from and how the confident set grew.
    Selflabel(SelfLabelFit),
}

impl MethodFit {
    /// The method.
    pub fn method(&self) -> Method {
        match self {
            Self::Kmeans(_) => Method::Kmeans,
            Self::Gmm(_) => Method::Gmm,
            Self::Scan(_) => Method::Scan,
            Self::Selflabel(_) => Method::Selflabel,
        }
    }

    /// The GMM's likelihoods (GMM only).
    pub fn gmm(&self) -> Option<&GmmFit> {
        match self {
            Self::Gmm(g) => Some(g),
            _ => None,
        }
    }

    /// The SCAN facts: SCAN's own, or those of the SCAN clustering self-labelling
    /// started from (its neighbours, for novelty and the report's map).
    pub fn scan(&self) -> Option<&ScanFit> {
        match self {
            Self::Scan(s) => Some(s),
            Self::Selflabel(s) => Some(&s.scan),
            _ => None,
        }
    }

    /// The self-labelling facts (self-labelling only).
    pub fn selflabel(&self) -> Option<&SelfLabelFit> {
        match self {
            Self::Selflabel(s) => Some(s),
            _ => None,
        }
    }
}

/// One pass of self-labelling (pass 0: the SCAN network it started from).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SelfLabelEpoch {
    /// Pass, 0 for the start.
    pub epoch: usize,
    /// Train rows assigned with probability above the threshold (unaugmented).
    pub confident: usize,
    /// Train rows per cluster among them.
    pub confident_per_cluster: Vec<usize>,
    /// Diagnostic only, never used in training: the fraction of the confident rows whose
    /// cluster maps to their label (clusters mapped to classes on the whole train split,
    /// Hungarian); none for unlabelled data.
    pub confident_accuracy: Option<f64>,
    /// Diagnostic only: the accuracy of every train row's cluster (Hungarian).
    pub train_accuracy: Option<f64>,
    /// Train rows whose cluster differs from the SCAN clustering's.
    pub changed: usize,
    /// Mean class-balanced cross-entropy of the pass (none for pass 0).
    pub loss: Option<f64>,
    /// Wall seconds of the pass.
    pub seconds: f64,
}

/// How self-labelling went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SelfLabelFit {
    /// The SCAN clustering it started from.
    pub start: crate::ArtifactRef,
    /// That clustering's SCAN facts (its neighbours serve novelty and the report).
    pub scan: ScanFit,
    /// Every pass, the start first.
    pub history: Vec<SelfLabelEpoch>,
    /// The pass whose network was kept: the one with the largest confident set.
    pub kept_epoch: usize,
    /// Why training stopped.
    pub stopped: String,
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

/// A search over k: the deciding criterion for every k tried, every other criterion
/// measured beside it, the k kept, and the tree of the finest clustering.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KSearch {
    /// The criterion that decides: `silhouette` (higher is better).
    pub criterion: String,
    /// True when a lower score is better.
    pub lower_is_better: bool,
    /// Every k tried, ascending, with the deciding criterion's score.
    pub curve: Vec<KScore>,
    /// The k kept.
    pub best_k: usize,
    /// Wall seconds of the whole search.
    pub seconds: f64,
    /// Every criterion measured, one value per k of `curve` (none where undefined).
    #[serde(default)]
    pub criteria: Vec<CriterionCurve>,
    /// Seconds spent on each criterion over the whole search (the fits excluded).
    #[serde(default)]
    pub criterion_seconds: Vec<(String, f64)>,
    /// How the k was chosen, in words.
    #[serde(default)]
    pub decision: String,
    /// The clusters of the largest k tried, merged into a hierarchy.
    #[serde(default)]
    pub tree: Option<ClusterTree>,
    /// HDBSCAN's count of dense groups in the same features (`KRule::Density`).
    #[serde(default)]
    pub density: Option<DensityCount>,
    /// HDBSCAN's counts in other embeddings of the same images (`--votes`: other
    /// autoencoders' codes through UMAP). With them, the median of every count decides.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub votes: Vec<DensityVote>,
}

/// HDBSCAN's count of dense groups in another embedding of a search's images.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DensityVote {
    /// The embedding counted (a codes artifact of the same dataset).
    pub features: ArtifactRef,
    /// Its count, found as the search's own.
    pub density: DensityCount,
}

/// HDBSCAN's count of dense groups (excess of mass) in a search's train features.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DensityCount {
    /// Rows it ran on: the train rows, or a seeded sample of them when there are more.
    pub rows: usize,
    /// The smallest group, in rows; also the neighbours behind each row's core distance
    /// (`min_samples`).
    pub min_cluster_size: usize,
    /// Dense groups found.
    pub groups: usize,
    /// Rows of each group, largest first.
    pub group_sizes: Vec<usize>,
    /// Rows in no group.
    pub noise_rows: usize,
    /// Wall seconds.
    pub seconds: f64,
}

/// One criterion at every k of a search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CriterionCurve {
    /// `silhouette`, `calinski_harabasz`, `davies_bouldin`, `bic`.
    pub name: String,
    /// True when a lower value is better.
    pub lower_is_better: bool,
    /// The value at every k of the search's `curve`.
    pub values: Vec<Option<f64>>,
}

/// The clusters of a fine clustering (the leaves, numbered as its clusters) merged
/// pairwise, closest first, into one tree, in SciPy's linkage convention: merge `i`
/// makes node `leaves + i`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterTree {
    /// How two groups' distance is measured (`ward`: the increase of the within-group
    /// sum of squares, √(2·nₐ·n_b/(nₐ+n_b))·‖μₐ−μ_b‖, on the train rows).
    pub linkage: String,
    /// Train rows per leaf.
    pub leaf_sizes: Vec<usize>,
    /// The merges, in order.
    pub merges: Vec<TreeMerge>,
}

/// Two nodes of a [`ClusterTree`] joined.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TreeMerge {
    /// One node (a leaf below `leaves`, else merge `left - leaves`).
    pub left: usize,
    /// The other node.
    pub right: usize,
    /// Their linkage distance.
    pub distance: f64,
    /// Train rows below the new node.
    pub size: usize,
}

impl ClusterTree {
    /// Number of leaves.
    pub fn leaves(&self) -> usize {
        self.leaf_sizes.len()
    }

    /// The group of every leaf when the tree is cut into `k` groups (undoing the last
    /// `k - 1` merges); groups are numbered by their smallest leaf. `k` is clamped to
    /// `1..=leaves`.
    pub fn cut(&self, k: usize) -> Vec<usize> {
        let n = self.leaves();
        let k = k.clamp(1, n.max(1));
        // Union-find over the first n - k merges.
        let mut parent: Vec<usize> = (0..n + self.merges.len()).collect();
        fn root(parent: &mut [usize], mut x: usize) -> usize {
            while parent[x] != x {
                parent[x] = parent[parent[x]];
                x = parent[x];
            }
            x
        }
        for (i, m) in self.merges.iter().take(n.saturating_sub(k)).enumerate() {
            let node = n + i;
            let (a, b) = (root(&mut parent, m.left), root(&mut parent, m.right));
            parent[a] = node;
            parent[b] = node;
        }
        let roots: Vec<usize> = (0..n).map(|l| root(&mut parent, l)).collect();
        let mut ids: Vec<usize> = Vec::new();
        roots
            .iter()
            .map(|r| match ids.iter().position(|x| x == r) {
                Some(i) => i,
                None => {
                    ids.push(*r);
                    ids.len() - 1
                }
            })
            .collect()
    }
}

impl KSearch {
    /// The k that counts of dense groups propose in `range`: their median (the lower of
    /// the two middle counts when there is an even number of them), when it lies in the
    /// range; none otherwise, or without counts.
    pub fn dense_k(counts: &[usize], range: &KRange) -> Option<usize> {
        Self::median_count(counts).filter(|m| range.values().contains(m))
    }

    /// The median of counts of dense groups, the lower of the two middle ones when there
    /// is an even number of them; none without counts.
    pub fn median_count(counts: &[usize]) -> Option<usize> {
        let mut sorted = counts.to_vec();
        sorted.sort_unstable();
        sorted.get(sorted.len().checked_sub(1)? / 2).copied()
    }

    /// Every count of dense groups: the search's own features first, then the votes.
    pub fn dense_counts(&self) -> Vec<usize> {
        Self::counts_of(self.density.as_ref(), &self.votes)
    }

    /// The counts of dense groups of a search's own features (`density`) and of `votes`,
    /// in that order.
    pub fn counts_of(density: Option<&DensityCount>, votes: &[DensityVote]) -> Vec<usize> {
        density
            .into_iter()
            .chain(votes.iter().map(|v| &v.density))
            .map(|d| d.groups)
            .collect()
    }

    /// True when HDBSCAN's count of dense groups (the median count, with votes) decided
    /// the kept k.
    pub fn decided_by_density(&self) -> bool {
        let range = KRange {
            min: self.curve.first().map_or(0, |s| s.k),
            max: self.curve.last().map_or(0, |s| s.k),
        };
        Self::dense_k(&self.dense_counts(), &range) == Some(self.best_k)
    }

    /// What decided the kept k, in words: `HDBSCAN's dense groups` or `silhouette`.
    pub fn decided_by(&self) -> &str {
        if self.decided_by_density() {
            "HDBSCAN's dense groups"
        } else {
            &self.criterion
        }
    }

    /// True when the criterion's curve decided and the kept k is an end of a range of
    /// more than one k: the criterion may keep improving beyond the range searched.
    pub fn best_at_edge(&self) -> bool {
        if self.decided_by_density() {
            return false;
        }
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
    /// How the fit went (SCAN: iterations are epochs, runs are heads).
    pub fit: FitSummary,
    /// What the method's fit found (its own type per method).
    pub result: MethodFit,
    /// What the `{split}_novelty` scores of the assignments file measure.
    pub novelty: NoveltyScore,
    /// Worker threads.
    pub threads: usize,
}

impl ClusteringInfo {
    /// The fitted parameters (centroids, or weights, means and covariances).
    pub const MODEL_FILE: &'static str = "model.safetensors";
    /// u32 `{train,test}_assignments`, f32 `{train,test}_confidence` (GMM: the posterior
    /// probability of the assigned component; K-Means: the distance to its centroid),
    /// f32 `{train,test}_novelty` ([`NoveltyScore`]), after a search u32
    /// `{train,test}_leaves` (the leaf of [`KSearch::tree`]) and, for labelled data, u8
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
    /// The leaf of the search's tree every row falls in (searches only).
    pub leaves: Option<&'a [usize]>,
    /// The rows' labels, when labelled.
    pub labels: Option<&'a [u8]>,
}

impl ClusteringInfo {
    /// The number of clusters of the clustering artifact at `dir` (for `--k-from`: a
    /// later stage asked for the k an earlier one chose).
    pub fn clusters_of(dir: &Path) -> Result<usize> {
        let (_, info) = crate::Artifact::open_as::<Self>(dir)?;
        Ok(info.k)
    }

    /// Rows per cluster of `k` clusters.
    pub fn sizes(clusters: &[usize], k: usize) -> Vec<usize> {
        let mut sizes = vec![0usize; k];
        clusters.iter().for_each(|&c| sizes[c] += 1);
        sizes
    }

    /// Writes a fitted clustering as `stage`'s artifact, atomically: the `model`'s
    /// tensors, both splits' assignments and the summary (this info), then commits.
    pub fn commit(
        &self,
        stage: &Stage,
        model: &TensorWriter,
        splits: &PerSplit<AssignedSplit>,
        environment: Environment,
    ) -> Result<Manifest> {
        let staging = stage.staging()?;
        model.write(&staging.file(Self::MODEL_FILE))?;
        Self::write_assignments(&staging.file(Self::ASSIGNMENTS_FILE), splits)?;
        staging.write_json(Self::SUMMARY_FILE, self)?;
        staging.commit(stage, &Self::FILES, self, environment)
    }

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
            if let Some(leaves) = s.leaves {
                let ids: Vec<u32> = leaves.iter().map(|&c| c as u32).collect();
                writer.add(&format!("{split}_leaves"), &[ids.len()], &ids);
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dense_k_is_the_median_count_when_it_is_in_the_range() {
        let range = KRange { min: 2, max: 20 };
        assert_eq!(KSearch::dense_k(&[4, 5, 5], &range), Some(5));
        assert_eq!(KSearch::dense_k(&[8, 5, 3], &range), Some(5));
        assert_eq!(
            KSearch::dense_k(&[5, 4], &range),
            Some(4),
            "the lower middle"
        );
        assert_eq!(KSearch::dense_k(&[7], &range), Some(7));
        assert_eq!(KSearch::dense_k(&[0, 1, 9], &range), None, "median 1");
        assert_eq!(KSearch::dense_k(&[30, 25, 2], &range), None, "median 25");
        assert_eq!(KSearch::dense_k(&[], &range), None);
    }

    fn merge(left: usize, right: usize, distance: f64, size: usize) -> TreeMerge {
        TreeMerge {
            left,
            right,
            distance,
            size,
        }
    }

    #[test]
    fn a_tree_cut_into_k_groups_undoes_the_last_merges() {
        // Leaves 0..4: (0,1) → 4, (2,3) → 5, (4,5) → 6.
        let tree = ClusterTree {
            linkage: "ward".into(),
            leaf_sizes: vec![1, 1, 1, 1],
            merges: vec![
                merge(0, 1, 1.0, 2),
                merge(2, 3, 1.5, 2),
                merge(4, 5, 9.0, 4),
            ],
        };
        assert_eq!(tree.cut(4), vec![0, 1, 2, 3]);
        assert_eq!(tree.cut(3), vec![0, 0, 1, 2]);
        assert_eq!(tree.cut(2), vec![0, 0, 1, 1]);
        assert_eq!(tree.cut(1), vec![0, 0, 0, 0]);
        assert_eq!(tree.cut(9), vec![0, 1, 2, 3]);
    }

    #[test]
    fn auto_is_the_range_two_to_twenty() {
        let auto: KRange = "auto".parse().unwrap();
        assert_eq!(auto, KRange { min: 2, max: 20 });
        assert_eq!("3..5".parse::<KRange>().unwrap(), KRange { min: 3, max: 5 });
    }
}
