//! Flagging images unlike any a clustering was fitted on.
//!
//! Every clustering stores a novelty score for each of its train images
//! (`NoveltyScore`: K-Means the distance to the centroid, a GMM −ln p(x), SCAN the
//! distance to the nearest other train image in its neighbours' codes). A new image is
//! novel when its score is above the `quantile` of the train scores of the cluster it
//! is assigned to; a cluster of fewer than `NoveltyRule::MIN_MEMBERS` train images uses
//! the quantile over every train image.

use aeclust_artifact::kinds::NoveltyRule;

/// The `q` quantile of `values` (linear interpolation between order statistics, as
/// numpy's default); NaN for no values.
pub fn quantile(values: &mut [f32], q: f64) -> f32 {
    if values.is_empty() {
        return f32::NAN;
    }
    values.sort_by(f32::total_cmp);
    let pos = q.clamp(0.0, 1.0) * (values.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    let t = (pos - lo as f64) as f32;
    values[lo] + (values[hi] - values[lo]) * t
}

/// Per-cluster thresholds at quantile `q` of the train scores `scores` of the train rows
/// assigned to `clusters` (`k` clusters).
pub fn thresholds(clusters: &[usize], scores: &[f32], k: usize, q: f64) -> Vec<f32> {
    let mut per: Vec<Vec<f32>> = vec![Vec::new(); k];
    for (&c, &s) in clusters.iter().zip(scores) {
        per[c].push(s);
    }
    let overall = quantile(&mut scores.to_vec(), q);
    per.into_iter()
        .map(|mut v| {
            if v.len() >= NoveltyRule::MIN_MEMBERS {
                quantile(&mut v, q)
            } else {
                overall
            }
        })
        .collect()
}

/// Whether each row (cluster, score) is above its cluster's threshold.
pub fn flag(clusters: &[usize], scores: &[f32], thresholds: &[f32]) -> Vec<bool> {
    clusters
        .iter()
        .zip(scores)
        .map(|(&c, &s)| s > thresholds[c])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_like_numpy() {
        let mut v = vec![4.0, 1.0, 3.0, 2.0];
        assert_eq!(quantile(&mut v, 0.5), 2.5);
        assert_eq!(quantile(&mut v, 1.0), 4.0);
        assert_eq!(quantile(&mut v, 0.0), 1.0);
        assert!((quantile(&mut v, 0.9) - 3.7).abs() < 1e-6);
        assert!(quantile(&mut [], 0.5).is_nan());
    }

    #[test]
    fn small_clusters_use_the_overall_threshold() {
        // Cluster 0: 30 rows scored 0..29; cluster 1: 3 rows scored 100.
        let mut clusters = vec![0; 30];
        let mut scores: Vec<f32> = (0..30).map(|v| v as f32).collect();
        clusters.extend([1, 1, 1]);
        scores.extend([100.0; 3]);
        let t = thresholds(&clusters, &scores, 2, 0.5);
        assert_eq!(t[0], 14.5);
        assert_eq!(t[1], quantile(&mut scores.clone(), 0.5));
        let flags = flag(&[0, 0, 1], &[14.0, 15.0, 100.0], &t);
        assert_eq!(flags, vec![false, true, true]);
    }
}
