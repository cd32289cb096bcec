//! `--into`: the images a clustering was fitted on, laid out in one folder per cluster.

use std::path::Path;

use aeclust_artifact::kinds::{ClusteringInfo, Split};
use aeclust_sort::{majorities, sort_into, SortMode, SortedRow};

use super::assignments::sources;
use super::load::ClusteringRun;
use super::Result;

/// Sorts the images the clustering at `clustering` was fitted on (both splits) into
/// `into`: one folder per cluster (named by its majority class when every image is
/// labelled), holding links to the original files, or copies. Returns the number of
/// images sorted. Rows without a file of their own (IDX or CSV data) are refused.
pub fn sort_fitted(clustering: &Path, into: &Path, mode: SortMode) -> Result<usize> {
    let run = ClusteringRun::open(clustering)?;
    run.clustering
        .verified_path(ClusteringInfo::ASSIGNMENTS_FILE)?;
    let assigned = run.assignments()?;
    let classes = run.classes();
    let mut rows = Vec::new();
    let mut labels: Option<Vec<u8>> = Some(Vec::new());
    for split in Split::ALL {
        let a = assigned.get(split);
        let files = sources(&run, split, a.len())?;
        rows.extend(
            files
                .into_iter()
                .zip(&a.clusters)
                .map(|(file, &cluster)| SortedRow { file, cluster }),
        );
        // Labels as indices into the classes; any unknown label: no majorities.
        labels = match (labels, &a.labels) {
            (Some(mut all), Some(l)) => l
                .iter()
                .map(|&l| classes.iter().position(|c| c.label == l).map(|i| i as u8))
                .collect::<Option<Vec<u8>>>()
                .map(|idx| {
                    all.extend(idx);
                    all
                }),
            _ => None,
        };
    }
    let names: Vec<String> = classes.iter().map(|c| c.name.clone()).collect();
    let clusters: Vec<usize> = rows.iter().map(|r| r.cluster).collect();
    let majority = match labels.filter(|l| !names.is_empty() && l.len() == rows.len()) {
        Some(l) => majorities(&clusters, &l, &names, run.k()),
        None => vec![None; run.k()],
    };
    Ok(sort_into(&rows, run.k(), &majority, into, mode)?)
}
