//! The `assignment` artifact: new images placed in the clusters of an existing
//! clustering (`aeclust-assign`).

use serde::{Deserialize, Serialize};

use super::{ArtifactInfo, Method, NoveltyScore};
use crate::ArtifactRef;

/// How images unlike the fitted ones were flagged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoveltyRule {
    /// What the score measures.
    pub score: NoveltyScore,
    /// An image is novel when its score is above this quantile of the scores of the
    /// train images in the cluster it is assigned to.
    pub quantile: f64,
    /// That threshold, per cluster (clusters of fewer than
    /// [`NoveltyRule::MIN_MEMBERS`] train images use the quantile over all train images).
    pub thresholds: Vec<f32>,
    /// Images flagged novel.
    pub n_novel: usize,
}

impl NoveltyRule {
    /// Fewest train members for a cluster's own threshold.
    pub const MIN_MEMBERS: usize = 20;
}

/// Agreement of the assignments with the new images' own labels (class sub-folders).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelAgreement {
    /// Accuracy under the best one-to-one mapping of clusters to classes.
    pub accuracy: f64,
    /// Normalised mutual information.
    pub nmi: f64,
    /// Adjusted Rand index.
    pub ari: f64,
    /// Purity.
    pub purity: f64,
}

/// Seconds of each phase.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AssignSeconds {
    /// Listing and reading the images.
    pub read: f64,
    /// Replaying the features chain (encoder, PCA, UMAP) and, for SCAN, the neighbours'.
    pub features: f64,
    /// The clustering's prediction and the novelty scores.
    pub predict: f64,
}

/// `info` of an assignment artifact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssignmentInfo {
    /// The clustering the images were assigned to.
    pub clustering: ArtifactRef,
    /// Its method.
    pub method: Method,
    /// Its number of clusters.
    pub k: usize,
    /// What was assigned: the folder, or the dataset artifact, as given.
    pub images: String,
    /// Images assigned.
    pub n: usize,
    /// Images per cluster.
    pub cluster_sizes: Vec<usize>,
    /// The novelty rule and how many images it flagged.
    pub novelty: NoveltyRule,
    /// The new images' own class names (their sub-folders), empty when unlabelled.
    pub classes: Vec<String>,
    /// Agreement with those classes, when labelled.
    pub agreement: Option<LabelAgreement>,
    /// The most frequent class of each cluster's new images, when labelled.
    pub majority: Vec<Option<String>>,
    /// Files skipped as undecodable (`--skip-bad`): file and why.
    pub skipped: Vec<(String, String)>,
    /// Files read with a warning: file and what.
    pub warnings: Vec<(String, String)>,
    /// Files ignored for their extension.
    pub ignored: Vec<String>,
    /// Seconds per phase.
    pub seconds: AssignSeconds,
    /// Worker threads.
    pub threads: usize,
}

impl AssignmentInfo {
    /// u32 `clusters`, f32 `confidence`, f32 `novelty` (the score), u8 `novel` (0/1)
    /// and, when labelled, u8 `labels` (indices into `classes`).
    pub const TENSORS_FILE: &'static str = "assignments.safetensors";
    /// `file,cluster,confidence,novel,novelty[,class]`: one row per image, paths as given.
    pub const CSV_FILE: &'static str = "assignments.csv";
    /// Every file of an assignment artifact.
    pub const FILES: [&'static str; 2] = [Self::TENSORS_FILE, Self::CSV_FILE];
}

impl ArtifactInfo for AssignmentInfo {
    const STAGE: &'static str = super::ASSIGNMENT;
}
