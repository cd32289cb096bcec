//! A search over k without labels: every k of a range fitted, every criterion measured,
//! the k of HDBSCAN's count of dense groups kept (or the highest silhouette), and the
//! clusters of the largest k merged into a tree.

use std::time::Instant;

use aeclust_artifact::kinds::{
    ClusteringParams, CriterionCurve, DensityCount, DensityVote, KRule, KScore, KSearch,
};
use aeclust_artifact::ArtifactRef;
use linfa::Float;
use ndarray::ArrayView2;

use crate::density::{dense_groups, DENSITY_SAMPLE};
use crate::predict::{Model, Prediction};
use crate::quality::{calinski_harabasz, davies_bouldin, silhouette, SILHOUETTE_SAMPLE};
use crate::tree::{centroids, ward_tree};
use crate::{IterationEvent, Result};

/// BIC of a GMM on `n` rows with mean log-likelihood `score`.
pub(crate) fn bic(score: f64, n_parameters: usize, n: usize) -> f64 {
    -2.0 * score * n as f64 + n_parameters as f64 * (n as f64).ln()
}

/// What a search leaves: the kept model, the leaf of every train and test row (the
/// clusters of the largest k, the tree's leaves) and the record.
pub(crate) struct Searched<F: Float> {
    /// The model kept (the one given, or the best of the search).
    pub model: Model<F>,
    /// Train and test rows' clusters at the largest k of a search.
    pub leaves: Option<(Vec<usize>, Vec<usize>)>,
    /// The record of the search.
    pub search: Option<KSearch>,
    /// Seconds of the kept model's fit.
    pub fit_seconds: f64,
}

/// Fits a model of `k` clusters, reporting every iteration.
pub(crate) type FitK<'a, F> =
    dyn Fn(usize, &mut dyn FnMut(IterationEvent)) -> Result<Model<F>> + 'a;

/// The criteria measured at one k, by name, and the seconds each took.
struct Scores {
    values: Vec<(&'static str, bool, Option<f64>, f64)>,
}

fn scores<F: Float>(
    p: &ClusteringParams,
    model: &Model<F>,
    x: ArrayView2<F>,
    prediction: &Prediction,
) -> Scores {
    let (labels, k) = (&prediction.clusters, model.k());
    let timed = |f: &dyn Fn() -> Option<f64>| {
        let t = Instant::now();
        let v = f();
        (v, t.elapsed().as_secs_f64())
    };
    let (sil, sil_s) = timed(&|| silhouette(x, labels, k, SILHOUETTE_SAMPLE, p.seed));
    let (ch, ch_s) = timed(&|| calinski_harabasz(x, labels, k));
    let (db, db_s) = timed(&|| davies_bouldin(x, labels, k));
    let mut values = vec![
        ("silhouette", false, sil, sil_s),
        ("calinski_harabasz", false, ch, ch_s),
        ("davies_bouldin", true, db, db_s),
    ];
    if let Model::Gmm(m) = model {
        let b = prediction
            .mean_log_likelihood
            .map(|ll| bic(ll, m.n_parameters(), x.nrows()));
        values.push(("bic", true, b, 0.0));
    }
    Scores { values }
}

/// Another embedding of the searched images whose count of dense groups votes on k.
pub(crate) struct Vote<'a, F> {
    /// Where it is, as the clustering records it.
    pub features: ArtifactRef,
    /// Its train rows, in the searched rows' order.
    pub x: ArrayView2<'a, F>,
}

/// Fits `p.k` (one k: that model; a range: every k). A range keeps, by `p.k_rule`, the
/// k of HDBSCAN's count of dense groups (with `votes`, the median of the counts in `x`
/// and in every vote) when it is in the range, or the highest silhouette (ties to the
/// smaller k).
pub(crate) fn search<F: Float>(
    p: &ClusteringParams,
    x: ArrayView2<F>,
    test: ArrayView2<F>,
    votes: &[Vote<F>],
    fit_k: &FitK<F>,
    progress: &mut dyn FnMut(usize, IterationEvent),
) -> Result<Searched<F>> {
    let started = Instant::now();
    if p.k.is_single() {
        let model = fit_k(p.k.min, &mut |e| progress(p.k.min, e))?;
        return Ok(Searched {
            model,
            leaves: None,
            search: None,
            fit_seconds: started.elapsed().as_secs_f64(),
        });
    }
    let (density, votes) = match p.k_rule {
        Some(KRule::Density { min_group }) => {
            let votes = votes
                .iter()
                .map(|v| {
                    Ok(DensityVote {
                        features: v.features.clone(),
                        density: dense_groups(v.x, min_group, DENSITY_SAMPLE, p.seed)?,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            let here = dense_groups(x, min_group, DENSITY_SAMPLE, p.seed)?;
            (Some(here), votes)
        }
        Some(KRule::Silhouette) | None => (None, Vec::new()),
    };
    let counts = KSearch::counts_of(density.as_ref(), &votes);
    let dense_k = KSearch::dense_k(&counts, &p.k);
    let mut best: Option<(usize, f64)> = None;
    let mut kept: Option<(Model<F>, f64, f64)> = None;
    let mut finest = None;
    let mut curve = Vec::new();
    let mut criteria: Vec<CriterionCurve> = Vec::new();
    let mut criterion_seconds: Vec<(String, f64)> = Vec::new();
    for k in p.k.values() {
        let t = Instant::now();
        let model = fit_k(k, &mut |e| progress(k, e))?;
        let fit_seconds = t.elapsed().as_secs_f64();
        let prediction = model.predict(x);
        let measured = scores(p, &model, x, &prediction);
        for (name, lower_is_better, value, seconds) in measured.values {
            match criteria.iter().position(|c| c.name == name) {
                Some(i) => {
                    criteria[i].values.push(value);
                    criterion_seconds[i].1 += seconds;
                }
                None => {
                    criteria.push(CriterionCurve {
                        name: name.into(),
                        lower_is_better,
                        values: vec![value],
                    });
                    criterion_seconds.push((name.into(), seconds));
                }
            }
        }
        let score = criteria[0]
            .values
            .last()
            .copied()
            .flatten()
            .unwrap_or(f64::NEG_INFINITY);
        curve.push(KScore {
            k,
            score,
            seconds: t.elapsed().as_secs_f64(),
        });
        if k == p.k.max {
            let labels = prediction.clusters;
            let (c, sizes) = centroids(x, &labels, model.k());
            finest = Some((ward_tree(&c, &sizes), labels, model.predict(test).clusters));
        }
        let higher = best.is_none_or(|(_, s)| score > s);
        if higher {
            best = Some((k, score));
        }
        if dense_k.map_or(higher, |d| d == k) {
            kept = Some((model, score, fit_seconds));
        }
    }
    if let Some(d) = &density {
        let seconds = d.seconds + votes.iter().map(|v| v.density.seconds).sum::<f64>();
        criterion_seconds.insert(0, ("hdbscan".into(), seconds));
    }
    let (silhouette_k, best_score) = best.expect("the range holds at least one k");
    let (model, score, fit_seconds) = kept.expect("the kept k is in the range");
    let best_k = model.k();
    let (tree, train_leaves, test_leaves) = finest.expect("the range ends at its max");
    let mut search = KSearch {
        criterion: "silhouette".into(),
        lower_is_better: false,
        curve,
        best_k,
        seconds: started.elapsed().as_secs_f64(),
        criteria,
        criterion_seconds,
        decision: String::new(),
        tree: Some(tree),
        density,
        votes,
    };
    search.decision = decide(p, &search, score, silhouette_k, best_score);
    Ok(Searched {
        model,
        leaves: Some((train_leaves, test_leaves)),
        search: Some(search),
        fit_seconds,
    })
}

/// The decision of `search` in words: what decided, with the silhouette's view beside it
/// (`score` at the kept k, the highest `silhouette` at `silhouette_k`).
fn decide(
    p: &ClusteringParams,
    search: &KSearch,
    score: f64,
    silhouette_k: usize,
    silhouette: f64,
) -> String {
    let k = search.best_k;
    let runner_up = |kept: usize, kept_score: f64| {
        search
            .curve
            .iter()
            .filter(|s| s.k != kept && s.score.is_finite())
            .max_by(|a, b| a.score.total_cmp(&b.score))
            .map_or(String::new(), |s| {
                format!(
                    "; the next best is k = {} ({:.3}, {:.3} lower)",
                    s.k,
                    s.score,
                    kept_score - s.score
                )
            })
    };
    let by_silhouette = format!(
        "the highest silhouette ({silhouette:.3}) over k = {}, measured in these features on \
         a seeded sample of up to {SILHOUETTE_SAMPLE} train rows{}",
        p.k,
        runner_up(silhouette_k, silhouette)
    );
    let Some(d) = &search.density else {
        return format!("k = {k}: {by_silhouette}");
    };
    let found = counted(d, &search.votes);
    if KSearch::dense_k(&search.dense_counts(), &p.k) != Some(k) {
        format!(
            "k = {k}: {found}, outside k = {}, so the silhouette decides: {by_silhouette}",
            p.k
        )
    } else if k != silhouette_k {
        let edge = if silhouette_k == p.k.min || silhouette_k == p.k.max {
            " (an end of the range)"
        } else {
            ""
        };
        format!(
            "k = {k}: {found}; the silhouette there is {score:.3}, and the highest, \
             {silhouette:.3}, is at k = {silhouette_k}{edge}"
        )
    } else {
        format!("k = {k}: {found}, and the silhouette agrees: {by_silhouette}")
    }
}

/// What HDBSCAN found, in words: the count `d` in these features, and the votes' counts.
fn counted(d: &DensityCount, votes: &[DensityVote]) -> String {
    let noise = |d: &DensityCount| 100.0 * d.noise_rows as f64 / d.rows.max(1) as f64;
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let here = format!(
        "HDBSCAN finds {} dense group{} of at least {} of {} train rows ({:.0} % in none)",
        d.groups,
        plural(d.groups),
        d.min_cluster_size,
        d.rows,
        noise(d)
    );
    if votes.is_empty() {
        return here;
    }
    if votes.iter().all(|v| v.density.groups == d.groups) {
        return format!(
            "{here}, as in each of the {} other embeddings that vote",
            votes.len()
        );
    }
    let others: Vec<String> = votes
        .iter()
        .map(|v| format!("{} ({:.0} % in none)", v.density.groups, noise(&v.density)))
        .collect();
    let counts = KSearch::counts_of(Some(d), votes);
    let median = KSearch::median_count(&counts).unwrap_or(d.groups);
    let agree = counts.iter().filter(|&&c| c == median).count();
    let unsure = if agree <= counts.len() / 2 {
        format!(
            ", and only {agree} of the {} {} {median}: the embeddings disagree, so the \
             groups are not clear-cut",
            counts.len(),
            if agree == 1 { "is" } else { "are" }
        )
    } else {
        String::new()
    };
    format!(
        "{here}; in the {} other embeddings that vote it finds {}: the median count of \
         the {} is {median}{unsure}",
        votes.len(),
        others.join(", "),
        counts.len(),
    )
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn count(groups: usize) -> DensityCount {
        DensityCount {
            rows: 100,
            min_cluster_size: 10,
            groups,
            group_sizes: vec![10; groups],
            noise_rows: 100usize.saturating_sub(10 * groups),
            seconds: 0.0,
        }
    }

    fn said(counts: &[usize]) -> String {
        let votes: Vec<DensityVote> = counts[1..]
            .iter()
            .map(|&g| DensityVote {
                features: ArtifactRef::new(Path::new("v"), "key", Path::new("out")),
                density: count(g),
            })
            .collect();
        counted(&count(counts[0]), &votes)
    }

    #[test]
    fn the_votes_are_told_with_their_median_and_how_many_agree() {
        assert_eq!(
            said(&[4, 4, 4]),
            "HDBSCAN finds 4 dense groups of at least 10 of 100 train rows (60 % in none), \
             as in each of the 2 other embeddings that vote"
        );
        let majority = said(&[4, 5, 5, 5, 3]);
        assert!(
            majority.ends_with(
                "it finds 5 (50 % in none), 5 (50 % in none), 5 (50 % in none), 3 (70 % in \
                 none): the median count of the 5 is 5"
            ),
            "{majority}"
        );
        let lone = said(&[4, 12, 6, 9, 4]);
        assert!(
            lone.ends_with(
                "the median count of the 5 is 6, and only 1 of the 5 is 6: the embeddings \
                 disagree, so the groups are not clear-cut"
            ),
            "{lone}"
        );
        let split = said(&[5, 4, 3, 3, 4]);
        assert!(
            split.ends_with(
                "the median count of the 5 is 4, and only 2 of the 5 are 4: the embeddings \
                 disagree, so the groups are not clear-cut"
            ),
            "{split}"
        );
    }
}
