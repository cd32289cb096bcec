//! A hierarchy over the clusters of one clustering: Ward's agglomeration of their
//! centroids, so a person sees which groups split at which k.

use aeclust_artifact::kinds::{ClusterTree, TreeMerge};
use linfa::Float;
use ndarray::ArrayView2;

/// The centroid and size of every cluster of `labels` (ids below `k`) over the rows of
/// `x`.
pub fn centroids<F: Float>(
    x: ArrayView2<F>,
    labels: &[usize],
    k: usize,
) -> (Vec<Vec<f64>>, Vec<usize>) {
    let d = x.ncols();
    let mut sums = vec![vec![0.0f64; d]; k];
    let mut sizes = vec![0usize; k];
    for (row, &l) in x.outer_iter().zip(labels) {
        sizes[l] += 1;
        for (s, v) in sums[l].iter_mut().zip(row.iter()) {
            *s += v.to_f64().unwrap_or(0.0);
        }
    }
    for (s, &n) in sums.iter_mut().zip(&sizes) {
        if n > 0 {
            s.iter_mut().for_each(|v| *v /= n as f64);
        }
    }
    (sums, sizes)
}

/// Ward's distance between groups of sizes `na`, `nb` with centroids `a`, `b`: the
/// square root of twice the increase of the within-group sum of squares their merge
/// causes (SciPy's `ward` linkage).
fn ward(a: &[f64], na: usize, b: &[f64], nb: usize) -> f64 {
    if na + nb == 0 {
        return 0.0;
    }
    let d2: f64 = a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum();
    (2.0 * (na * nb) as f64 / (na + nb) as f64 * d2).sqrt()
}

/// Merges the clusters with `centroids` and `sizes` pairwise, the two closest by
/// Ward's distance first (ties: the lower node ids), until one group is left.
pub fn ward_tree(centroids: &[Vec<f64>], sizes: &[usize]) -> ClusterTree {
    let n = centroids.len();
    // Active nodes: (id, centroid, size).
    let mut active: Vec<(usize, Vec<f64>, usize)> = centroids
        .iter()
        .zip(sizes)
        .enumerate()
        .map(|(i, (c, &s))| (i, c.clone(), s))
        .collect();
    let mut merges = Vec::with_capacity(n.saturating_sub(1));
    while active.len() > 1 {
        let mut best = (f64::INFINITY, 0, 1);
        for i in 0..active.len() {
            for j in i + 1..active.len() {
                let d = ward(&active[i].1, active[i].2, &active[j].1, active[j].2);
                if d < best.0 {
                    best = (d, i, j);
                }
            }
        }
        let (distance, i, j) = best;
        let (b_id, b_c, b_n) = active.remove(j);
        let (a_id, a_c, a_n) = active.remove(i);
        let size = a_n + b_n;
        let centroid: Vec<f64> = if size == 0 {
            a_c
        } else {
            a_c.iter()
                .zip(&b_c)
                .map(|(x, y)| (x * a_n as f64 + y * b_n as f64) / size as f64)
                .collect()
        };
        merges.push(TreeMerge {
            left: a_id.min(b_id),
            right: a_id.max(b_id),
            distance,
            size,
        });
        active.push((n + merges.len() - 1, centroid, size));
    }
    ClusterTree {
        linkage: "ward".into(),
        leaf_sizes: sizes.to_vec(),
        merges,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_blobs_merge_inside_out() {
        // Two pairs of close groups (distance 1 within a pair), the pairs 10 apart.
        let c = vec![
            vec![0.0, 0.0],
            vec![10.0, 0.0],
            vec![1.0, 0.0],
            vec![10.0, 1.0],
        ];
        let tree = ward_tree(&c, &[50, 50, 50, 50]);
        let pairs: Vec<(usize, usize)> = tree.merges.iter().map(|m| (m.left, m.right)).collect();
        assert_eq!(pairs, vec![(0, 2), (1, 3), (4, 5)]);
        assert!(tree.merges[2].distance > 5.0 * tree.merges[1].distance);
        assert_eq!(tree.merges[2].size, 200);
        assert_eq!(tree.cut(2), vec![0, 1, 0, 1]);
        // Ward's distance of two single points is their Euclidean distance.
        let two = ward_tree(&[vec![0.0], vec![3.0]], &[1, 1]);
        assert!((two.merges[0].distance - 3.0).abs() < 1e-12);
    }

    #[test]
    fn centroids_are_the_means_of_their_rows() {
        let x = ndarray::array![[0.0f32, 2.0], [2.0, 4.0], [10.0, 10.0]];
        let (c, n) = centroids(x.view(), &[0, 0, 1], 3);
        assert_eq!(c, vec![vec![1.0, 3.0], vec![10.0, 10.0], vec![0.0, 0.0]]);
        assert_eq!(n, vec![2, 1, 0]);
    }
}
