//! Grouping: the same clustering over several seeds, summarised as mean ± std.

use aeclust_artifact::kinds::{FeatureKind, GroupSummary, Method, PerSplit, Stat};

use super::load::ClusteringRun;
use crate::metrics::SplitMetrics;

/// The reference study's test accuracies on Fashion-MNIST: (method, features, accuracy).
pub const PAPER_RESULTS: [(Method, FeatureKind, f64); 3] = [
    (Method::Kmeans, FeatureKind::Pixels, 0.55),
    (Method::Kmeans, FeatureKind::Codes, 0.56),
    (Method::Gmm, FeatureKind::Codes, 0.61),
];

/// The study's accuracy for a route, if it reports one.
pub fn paper_acc(method: Method, features: FeatureKind) -> Option<f64> {
    PAPER_RESULTS
        .iter()
        .find(|(m, f, _)| *m == method && *f == features)
        .map(|p| p.2)
}

/// Indices of the runs per group, groups in order of first appearance.
pub(crate) fn group_by_name(names: &[&str]) -> Vec<(String, Vec<usize>)> {
    let mut groups: Vec<(String, Vec<usize>)> = Vec::new();
    for (i, name) in names.iter().enumerate() {
        match groups.iter_mut().find(|(n, _)| n == name) {
            Some((_, members)) => members.push(i),
            None => groups.push((name.to_string(), vec![i])),
        }
    }
    groups
}

/// One group's row; `with_paper` adds the study's figure (Fashion-MNIST only).
pub(crate) fn summarise(
    name: &str,
    members: &[usize],
    runs: &[ClusteringRun],
    metrics: &[PerSplit<Option<SplitMetrics>>],
    with_paper: bool,
) -> GroupSummary {
    let first = &runs[members[0]];
    let split =
        |f: fn(&SplitMetrics) -> f64,
         get: fn(&PerSplit<Option<SplitMetrics>>) -> &Option<SplitMetrics>| {
            Stat::of_all(members.iter().map(|&i| get(&metrics[i]).as_ref().map(f)))
        };
    let test = |f: fn(&SplitMetrics) -> f64| split(f, |m| &m.test);
    let internal = |f: &dyn Fn(&ClusteringRun) -> Option<f64>| {
        Stat::of_all(members.iter().map(|&i| f(&runs[i])))
    };
    GroupSummary {
        name: name.to_string(),
        title: first.title(),
        seeds: members.iter().map(|&i| runs[i].seed()).collect(),
        test_acc: test(|m| m.acc),
        train_acc: split(|m| m.acc, |m| &m.train),
        test_nmi: test(|m| m.nmi),
        test_ari: test(|m| m.ari),
        test_purity: test(|m| m.purity),
        k: Stat::of(
            &members
                .iter()
                .map(|&i| runs[i].k() as f64)
                .collect::<Vec<_>>(),
        ),
        k_per_seed: members.iter().map(|&i| runs[i].k()).collect(),
        k_decisions: members
            .iter()
            .filter_map(|&i| {
                let search = runs[i].info.k_search.as_ref()?;
                Some(if search.best_at_edge() {
                    format!(
                        "{} (an end of the range searched: the silhouette may keep rising \
                         beyond it)",
                        search.decision
                    )
                } else {
                    search.decision.clone()
                })
            })
            .collect(),
        silhouette: internal(&|r| r.info.internal.silhouette),
        calinski_harabasz: internal(&|r| r.info.internal.calinski_harabasz),
        davies_bouldin: internal(&|r| r.info.internal.davies_bouldin),
        bic: internal(&|r| r.info.result.gmm().map(|g| g.bic)),
        paper_acc: with_paper
            .then(|| paper_acc(first.info.params.method(), first.info.features.kind))
            .flatten(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_keep_first_appearance_order() {
        let g = group_by_name(&["kmeans", "gmm", "kmeans", "gmm", "other"]);
        assert_eq!(
            g,
            vec![
                ("kmeans".to_string(), vec![0, 2]),
                ("gmm".to_string(), vec![1, 3]),
                ("other".to_string(), vec![4]),
            ]
        );
    }

    #[test]
    fn paper_figures_by_route() {
        assert_eq!(paper_acc(Method::Kmeans, FeatureKind::Pixels), Some(0.55));
        assert_eq!(paper_acc(Method::Kmeans, FeatureKind::Codes), Some(0.56));
        assert_eq!(paper_acc(Method::Gmm, FeatureKind::Codes), Some(0.61));
        assert_eq!(paper_acc(Method::Gmm, FeatureKind::Pixels), None);
    }
}
