//! What a pretrained classifier sees in each cluster: where a clustering's features (or
//! the codes they were computed from, or SCAN's neighbours) carry recognised classes, a
//! caption per cluster from its members' most common top-1 classes.

use std::collections::HashMap;
use std::fmt::Write;

use aeclust_artifact::kinds::{CodesInfo, Features, Recognised, RecognisedSplit, Split, CODES};
use aeclust_artifact::{Artifact, InputFile};

use super::load::{ClusteringRun, SplitAssignments};
use super::Result;

/// The codes artifact with recognised classes behind `artifact`, following the codes'
/// `source` references (PCA or UMAP of a pretrained network's features).
fn recognising(artifact: &Artifact) -> Option<Artifact> {
    let mut at = artifact.clone();
    for _ in 0..8 {
        if at.kind() != CODES {
            return None;
        }
        let info: CodesInfo = at.info().ok()?;
        if info.recognised.is_some() {
            return Some(at);
        }
        let source = info.source?;
        at = Artifact::open(&source.resolve(at.dir()), &Features::KINDS).ok()?;
    }
    None
}

/// The artifact a run's captions come from: its features' chain, else SCAN's neighbours'.
pub(crate) fn source(run: &ClusteringRun) -> Option<Artifact> {
    recognising(&run.features).or_else(|| recognising(&run.scatter))
}

/// The files the captions read, for the report's verified inputs.
pub(crate) fn inputs(run: &ClusteringRun) -> Result<Vec<InputFile>> {
    Ok(match source(run) {
        Some(a) => vec![
            a.input(Recognised::file_name(Split::Train))?,
            a.input(Recognised::NAMES_FILE)?,
        ],
        None => Vec::new(),
    })
}

/// Per cluster of the train split: its size and its three most common top-1 classes with
/// their shares, most common first.
pub(crate) fn cluster_captions(
    clusters: &[usize],
    k: usize,
    recognised: &RecognisedSplit,
    names: &[String],
) -> Vec<(usize, Vec<(String, f64)>)> {
    let mut counts: Vec<HashMap<u32, usize>> = vec![HashMap::new(); k];
    for (i, &c) in clusters.iter().enumerate() {
        *counts[c]
            .entry(recognised.classes[i * recognised.top])
            .or_default() += 1;
    }
    counts
        .into_iter()
        .map(|m| {
            let size: usize = m.values().sum();
            let mut v: Vec<(u32, usize)> = m.into_iter().collect();
            v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            let top = v
                .into_iter()
                .take(3)
                .map(|(class, n)| (names[class as usize].clone(), n as f64 / size as f64))
                .collect();
            (size, top)
        })
        .collect()
}

/// The Markdown section: one table per clustering name (its first seed), or nothing when
/// no clustering's features carry recognised classes.
pub(crate) fn section(
    runs: &[ClusteringRun],
    assignments: &[super::PerSplit<SplitAssignments>],
) -> Result<String> {
    let mut md = String::new();
    let mut seen = Vec::new();
    for (run, a) in runs.iter().zip(assignments) {
        if seen.contains(&run.name) {
            continue;
        }
        let Some(artifact) = source(run) else {
            continue;
        };
        let Some((recognised, names)) = RecognisedSplit::load(&artifact, Split::Train)? else {
            continue;
        };
        if recognised.classes.len() != a.train.len() * recognised.top {
            continue;
        }
        seen.push(run.name.clone());
        if md.is_empty() {
            md.push_str("\n## What the pretrained network sees in each cluster\n\nThe most common ImageNet classes the network ranks first among each cluster's train images (a caption, not a label: ImageNet has no class for most of what folders hold).\n");
        }
        let _ = write!(
            md,
            "\n`{}` (seed {}):\n\n| cluster | images | the network sees |\n|---|---|---|\n",
            run.name,
            run.seed()
        );
        for (c, (size, top)) in cluster_captions(&a.train.clusters, run.k(), &recognised, &names)
            .into_iter()
            .enumerate()
        {
            let seen: Vec<String> = top
                .iter()
                .map(|(name, share)| format!("{name} {:.0} %", share * 100.0))
                .collect();
            let _ = writeln!(md, "| {c} | {size} | {} |", seen.join(", "));
        }
    }
    Ok(md)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captions_count_top_one_classes_per_cluster() {
        let recognised = RecognisedSplit {
            classes: vec![5, 1, 5, 2, 7, 5, 7, 0],
            probabilities: vec![0.5; 8],
            top: 2,
        };
        let names: Vec<String> = (0..8).map(|i| format!("c{i}")).collect();
        let captions = cluster_captions(&[0, 0, 1, 1], 3, &recognised, &names);
        assert_eq!(captions[0], (2, vec![("c5".into(), 1.0)]));
        assert_eq!(captions[1], (2, vec![("c7".into(), 1.0)]));
        assert_eq!(captions[2], (0, vec![]));
    }
}
