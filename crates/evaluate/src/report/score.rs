//! Scoring: the metrics of every clustering on both splits.

use aeclust_artifact::kinds::{PerSplit, Split};

use super::load::{ClusteringRun, SplitAssignments};
use super::{invalid, Result};
use crate::metrics::{evaluate, SplitMetrics};

/// The labels the metrics count: the dataset's classes, or every label present.
pub(crate) fn class_labels(run: &ClusteringRun, a: &PerSplit<SplitAssignments>) -> Vec<u8> {
    if run.classes().is_empty() {
        let mut l: Vec<u8> = [&a.train.labels, &a.test.labels]
            .into_iter()
            .flatten()
            .flatten()
            .copied()
            .collect();
        l.sort_unstable();
        l.dedup();
        l
    } else {
        run.classes().iter().map(|c| c.label).collect()
    }
}

/// Metrics of `run` on each split that has labels and rows.
pub(crate) fn score(
    run: &ClusteringRun,
    a: &PerSplit<SplitAssignments>,
) -> Result<PerSplit<Option<SplitMetrics>>> {
    let labels = class_labels(run, a);
    let one = |split: Split| -> Result<Option<SplitMetrics>> {
        let s = a.get(split);
        let Some(truth) = s.labels.as_ref().filter(|l| !l.is_empty()) else {
            return Ok(None);
        };
        if let Some(bad) = truth.iter().find(|l| !labels.contains(l)) {
            return Err(invalid(
                run.clustering.dir(),
                format!("{split}: label {bad} is not a class of the features"),
            ));
        }
        Ok(Some(evaluate(&s.clusters, truth, run.k(), &labels)))
    };
    Ok(PerSplit {
        train: one(Split::Train)?,
        test: one(Split::Test)?,
    })
}
