//! The artifact kinds that stages exchange: their typed info (what `manifest.json`'s
//! `info` holds, written by [`crate::Staging::commit`] and read by
//! [`crate::Artifact::info`]), the names of their files, and typed access to their
//! tensor files.
//!
//! | kind | info | files |
//! |---|---|---|
//! | `dataset` | [`DatasetInfo`] | `train.safetensors`, `test.safetensors` ([`ImageSplit`]) |
//! | `model` | [`ModelInfo`] | `model.safetensors`, `config.json` (the encoder's own), `history.json` ([`TrainingHistory`]) |
//! | `codes` | [`CodesInfo`] | `train.safetensors`, `test.safetensors` ([`CodesSplit`]) |
//! | `clustering` | [`ClusteringInfo`] | `model.safetensors`, `assignments.safetensors`, `summary.json` (= the info) |
//! | `report` | [`ReportInfo`] | `report.json`, `report.md`, pictures |
//! | `assignment` | [`AssignmentInfo`] | `assignments.safetensors`, `assignments.csv` |

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

mod assignment;
mod clustering;
mod codes;
mod dataset;
mod features;
mod model;
mod report;

pub use assignment::{AssignSeconds, AssignmentInfo, LabelAgreement, NoveltyRule};
pub use clustering::{
    AssignedSplit, ClusterTree, ClusteringInfo, ClusteringParams, CovarianceType, CriterionCurve,
    DensityCount, DensityVote, FeaturesRef, FitSummary, GmmFit, GmmOptions, HeadSelection,
    InternalMetrics, KMeansFit, KMeansOptions, KRange, KRule, KScore, KSearch, Method, MethodFit,
    MethodParams, MiniBatch, NoveltyScore, Precision, ScanFit, ScanOptions, SelfLabelEpoch,
    SelfLabelFit, SelfLabelOptions, StrongAugment, TreeMerge,
};
pub use codes::{CodesInfo, CodesSplit, Provenance, Recognised, RecognisedSplit};
pub use dataset::{
    Background, ClassName, Color, DatasetInfo, Fit, ImageFiles, ImageFolder, ImageSplit,
    ReadSettings, SourceFile, SourceFormat, SplitCounts,
};
pub use features::{FeatureKind, Features, FeaturesOrigin};
pub use model::{EpochRecord, ModelInfo, TrainingHistory};
pub use report::{GroupSummary, ReportInfo, Stat};

/// Kind name of dataset artifacts.
pub const DATASET: &str = "dataset";
/// Kind name of model artifacts.
pub const MODEL: &str = "model";
/// Kind name of codes artifacts.
pub const CODES: &str = "codes";
/// Kind name of clustering artifacts.
pub const CLUSTERING: &str = "clustering";
/// Kind name of report artifacts.
pub const REPORT: &str = "report";
/// Kind name of assignment artifacts (new images in an existing clustering).
pub const ASSIGNMENT: &str = "assignment";

/// The typed info of one artifact kind.
pub trait ArtifactInfo: Serialize + DeserializeOwned {
    /// The kind (`manifest.stage`) this info belongs to.
    const STAGE: &'static str;
}

/// A split of a dataset or codes artifact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    /// The split models are fitted on.
    Train,
    /// The held-out split.
    Test,
}

impl Split {
    /// Both splits, train first.
    pub const ALL: [Split; 2] = [Split::Train, Split::Test];

    /// `train` or `test`.
    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Test => "test",
        }
    }

    /// File name of this split in a dataset or codes artifact: `train.safetensors`.
    pub fn file_name(self) -> &'static str {
        match self {
            Split::Train => "train.safetensors",
            Split::Test => "test.safetensors",
        }
    }
}

impl std::fmt::Display for Split {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One value per split.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PerSplit<T> {
    /// The train split's.
    pub train: T,
    /// The test split's.
    pub test: T,
}

impl<T> PerSplit<T> {
    /// The value of `split`.
    pub fn get(&self, split: Split) -> &T {
        match split {
            Split::Train => &self.train,
            Split::Test => &self.test,
        }
    }
}
