//! Clustering quality without labels: silhouette (on a seeded sample), Calinski–Harabasz
//! and Davies–Bouldin, as scikit-learn defines them; and the agreement of two partitions
//! (adjusted Rand index).

use gemm::Parallelism;
use linfa::Float;
use ndarray::{s, Array2, ArrayView2};
use rand::seq::index::sample;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;

use aeclust_artifact::kinds::InternalMetrics;
use aeclust_linalg::matmul;

/// Every quality without labels of the clustering `labels` (ids below `k`) of `x`, as a
/// clustering artifact records it: the silhouette on a sample of [`SILHOUETTE_SAMPLE`]
/// rows drawn with `seed`, Calinski–Harabasz and Davies–Bouldin.
pub fn internal_metrics<F: Float>(
    x: ArrayView2<F>,
    labels: &[usize],
    k: usize,
    seed: u64,
) -> InternalMetrics {
    let (calinski_harabasz, davies_bouldin) = dispersion(x, labels, k).indices();
    InternalMetrics {
        silhouette: silhouette(x, labels, k, SILHOUETTE_SAMPLE, seed),
        silhouette_sample: x.nrows().min(SILHOUETTE_SAMPLE),
        calinski_harabasz,
        davies_bouldin,
    }
}

/// Rows the silhouette is computed on by default (scikit-learn's `sample_size` idea: the
/// exact score costs N² distances).
pub const SILHOUETTE_SAMPLE: usize = 5_000;

/// At most `max_rows` of `n` row indices, ascending: all of them when there are no more,
/// else a sample drawn with `seed`.
pub fn sample_rows(n: usize, max_rows: usize, seed: u64) -> Vec<usize> {
    if n <= max_rows {
        return (0..n).collect();
    }
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut v = sample(&mut rng, n, max_rows).into_vec();
    v.sort_unstable();
    v
}

/// Mean silhouette of the clustering `labels` (ids below `k`) of `x`, on at most `max_rows`
/// rows drawn with `seed` (all rows when there are fewer). A point alone in its cluster
/// scores 0. `None` when fewer than two clusters occur in the rows used.
pub fn silhouette<F: Float>(
    x: ArrayView2<F>,
    labels: &[usize],
    k: usize,
    max_rows: usize,
    seed: u64,
) -> Option<f64> {
    let rows = sample_rows(x.nrows(), max_rows, seed);
    let m = rows.len();
    let d = x.ncols();
    let mut xs = Array2::<F>::zeros((m, d));
    for (i, &r) in rows.iter().enumerate() {
        xs.row_mut(i).assign(&x.row(r));
    }
    let lab: Vec<usize> = rows.iter().map(|&r| labels[r]).collect();
    let mut sizes = vec![0usize; k];
    lab.iter().for_each(|&l| sizes[l] += 1);
    if sizes.iter().filter(|&&c| c > 0).count() < 2 {
        return None;
    }
    let sq: Vec<f64> = xs
        .outer_iter()
        .map(|r| r.iter().map(|&v| v.to_f64().unwrap_or(0.0).powi(2)).sum())
        .collect();
    // Distances in blocks of rows: Gram rows from one product, never an m × m matrix.
    const BLOCK: usize = 512;
    // Per-block sums collected, then added in order: the same bits on any thread count.
    let per_block: Vec<f64> = (0..m.div_ceil(BLOCK))
        .into_par_iter()
        .map(|b| {
            let start = b * BLOCK;
            let end = (start + BLOCK).min(m);
            let gram = matmul(xs.slice(s![start..end, ..]), xs.t(), Parallelism::None);
            let mut sum = 0.0;
            let mut per_cluster = vec![0.0f64; k];
            for (i, g) in gram.outer_iter().enumerate() {
                let a_row = start + i;
                per_cluster.iter_mut().for_each(|v| *v = 0.0);
                for (j, &gij) in g.iter().enumerate() {
                    let d2 = sq[a_row] + sq[j] - 2.0 * gij.to_f64().unwrap_or(0.0);
                    per_cluster[lab[j]] += d2.max(0.0).sqrt();
                }
                let own = lab[a_row];
                if sizes[own] < 2 {
                    continue; // alone in its cluster: 0
                }
                let a = per_cluster[own] / (sizes[own] - 1) as f64;
                let b = (0..k)
                    .filter(|&c| c != own && sizes[c] > 0)
                    .map(|c| per_cluster[c] / sizes[c] as f64)
                    .fold(f64::INFINITY, f64::min);
                let denom = a.max(b);
                if denom > 0.0 {
                    sum += (b - a) / denom;
                }
            }
            sum
        })
        .collect();
    let total: f64 = per_block.iter().sum();
    Some(total / m as f64)
}

/// Calinski–Harabasz and Davies–Bouldin over rows seen a batch at a time, in two passes
/// over the same rows in the same order: [`Dispersion::add_to_means`] with every batch,
/// then [`Dispersion::add_to_spreads`] with every batch again. The values equal
/// [`calinski_harabasz`] and [`davies_bouldin`] on all the rows at once; what is held is
/// `k × dim` sums, whatever the number of rows.
#[derive(Debug, Clone)]
pub struct Dispersion {
    k: usize,
    sums: Array2<f64>,
    sizes: Vec<usize>,
    means: Option<Array2<f64>>,
    /// Per cluster: summed squared distances to its mean, and summed distances.
    within: Vec<f64>,
    spread: Vec<f64>,
}

impl Dispersion {
    /// For `k` clusters of rows of `dim` columns.
    pub fn new(k: usize, dim: usize) -> Self {
        Self {
            k,
            sums: Array2::zeros((k, dim)),
            sizes: vec![0; k],
            means: None,
            within: vec![0.0; k],
            spread: vec![0.0; k],
        }
    }

    /// First pass: the rows `x` with their clusters `labels` (ids below k).
    pub fn add_to_means<F: Float>(&mut self, x: ArrayView2<F>, labels: &[usize]) {
        assert!(self.means.is_none(), "add_to_means after add_to_spreads");
        for (row, &l) in x.outer_iter().zip(labels) {
            self.sizes[l] += 1;
            for (o, &v) in self.sums.row_mut(l).iter_mut().zip(row) {
                *o += v.to_f64().unwrap_or(0.0);
            }
        }
    }

    /// The clusters' means of the first pass.
    fn means(&mut self) -> &Array2<f64> {
        let (sums, sizes) = (&self.sums, &self.sizes);
        self.means.get_or_insert_with(|| {
            let mut c = sums.clone();
            for (mut row, &s) in c.outer_iter_mut().zip(sizes) {
                if s > 0 {
                    row /= s as f64;
                }
            }
            c
        })
    }

    /// Second pass: the same rows and clusters again.
    pub fn add_to_spreads<F: Float>(&mut self, x: ArrayView2<F>, labels: &[usize]) {
        self.means();
        let c = self.means.as_ref().expect("means");
        for (row, &l) in x.outer_iter().zip(labels) {
            let d2 = sq_dist(row, c.row(l));
            self.within[l] += d2;
            self.spread[l] += d2.sqrt();
        }
    }

    /// Calinski–Harabasz and Davies–Bouldin of the rows seen.
    pub fn indices(mut self) -> (Option<f64>, Option<f64>) {
        self.means();
        (self.calinski_harabasz(), self.davies_bouldin())
    }

    fn calinski_harabasz(&self) -> Option<f64> {
        let (c, sizes) = (self.means.as_ref().expect("means"), &self.sizes);
        let n: usize = sizes.iter().sum();
        let used = sizes.iter().filter(|&&s| s > 0).count();
        if used < 2 || n <= used {
            return None;
        }
        let mean: Vec<f64> = (0..c.ncols())
            .map(|j| {
                c.column(j)
                    .iter()
                    .zip(sizes)
                    .map(|(v, &s)| v * s as f64)
                    .sum::<f64>()
                    / n as f64
            })
            .collect();
        let between: f64 = c
            .outer_iter()
            .zip(sizes)
            .map(|(row, &s)| {
                s as f64
                    * row
                        .iter()
                        .zip(&mean)
                        .map(|(a, b)| (a - b).powi(2))
                        .sum::<f64>()
            })
            .sum();
        let within: f64 = self.within.iter().sum();
        if within == 0.0 {
            return Some(f64::INFINITY);
        }
        Some(between * (n - used) as f64 / (within * (used - 1) as f64))
    }

    fn davies_bouldin(&self) -> Option<f64> {
        let (c, sizes) = (self.means.as_ref().expect("means"), &self.sizes);
        let used: Vec<usize> = (0..self.k).filter(|&i| sizes[i] > 0).collect();
        if used.len() < 2 {
            return None;
        }
        let spread: Vec<f64> = self
            .spread
            .iter()
            .zip(sizes)
            .map(|(&s, &n)| if n > 0 { s / n as f64 } else { s })
            .collect();
        let total: f64 = used
            .iter()
            .map(|&i| {
                used.iter()
                    .filter(|&&j| j != i)
                    .map(|&j| {
                        let dist = c
                            .row(i)
                            .iter()
                            .zip(c.row(j))
                            .map(|(a, b)| (a - b).powi(2))
                            .sum::<f64>()
                            .sqrt();
                        if dist == 0.0 {
                            f64::INFINITY
                        } else {
                            (spread[i] + spread[j]) / dist
                        }
                    })
                    .fold(0.0, f64::max)
            })
            .sum();
        Some(total / used.len() as f64)
    }
}

fn sq_dist<F: Float>(a: ndarray::ArrayView1<F>, b: ndarray::ArrayView1<f64>) -> f64 {
    a.iter()
        .zip(b)
        .map(|(&u, &v)| (u.to_f64().unwrap_or(0.0) - v).powi(2))
        .sum()
}

/// Both passes of [`Dispersion`] over `x` at once.
fn dispersion<F: Float>(x: ArrayView2<F>, labels: &[usize], k: usize) -> Dispersion {
    let mut d = Dispersion::new(k, x.ncols());
    d.add_to_means(x, labels);
    d.add_to_spreads(x, labels);
    d
}

/// Calinski–Harabasz index: between-cluster over within-cluster dispersion, each per
/// degree of freedom (higher is better). `None` with fewer than two non-empty clusters
/// or as many clusters as rows.
pub fn calinski_harabasz<F: Float>(x: ArrayView2<F>, labels: &[usize], k: usize) -> Option<f64> {
    dispersion(x, labels, k).indices().0
}

/// Davies–Bouldin index: the mean over clusters of the worst ratio of summed spreads to
/// centre distance (lower is better). `None` with fewer than two non-empty clusters.
pub fn davies_bouldin<F: Float>(x: ArrayView2<F>, labels: &[usize], k: usize) -> Option<f64> {
    dispersion(x, labels, k).indices().1
}

fn pairs(x: i64) -> f64 {
    (x as f64) * (x as f64 - 1.0) / 2.0
}

/// Adjusted Rand index of a contingency table (`counts[i][j]`: samples in group `i` of
/// one partition and `j` of the other): 1 for identical partitions (up to renaming),
/// about 0 for independent ones.
pub fn adjusted_rand_index_counts(counts: &[Vec<i64>]) -> f64 {
    let n: i64 = counts.iter().flatten().sum();
    let columns = counts.first().map_or(0, Vec::len);
    let sum_ij: f64 = counts.iter().flatten().map(|&v| pairs(v)).sum();
    let sum_a: f64 = counts.iter().map(|r| pairs(r.iter().sum())).sum();
    let sum_b: f64 = (0..columns)
        .map(|j| pairs(counts.iter().map(|r| r[j]).sum()))
        .sum();
    let expected = sum_a * sum_b / pairs(n);
    let max = (sum_a + sum_b) / 2.0;
    if (max - expected).abs() < f64::EPSILON {
        1.0
    } else {
        (sum_ij - expected) / (max - expected)
    }
}

/// Adjusted Rand index of two partitions of the same rows, with group ids below `ka`
/// and `kb`.
pub fn adjusted_rand_index(a: &[usize], ka: usize, b: &[usize], kb: usize) -> f64 {
    assert_eq!(a.len(), b.len(), "two partitions of the same rows");
    let mut counts = vec![vec![0i64; kb]; ka];
    for (&i, &j) in a.iter().zip(b) {
        counts[i][j] += 1;
    }
    adjusted_rand_index_counts(&counts)
}

#[cfg(test)]
mod tests {
    #[test]
    fn adjusted_rand_index_ignores_names_and_scores_independence_near_zero() {
        let a = [0, 0, 1, 1, 2, 2];
        assert_eq!(adjusted_rand_index(&a, 3, &[2, 2, 0, 0, 1, 1], 3), 1.0);
        // scikit-learn's adjusted_rand_score gives -4/11 and 4/13 for these.
        let ari = adjusted_rand_index(&a, 3, &[0, 1, 0, 1, 0, 1], 2);
        assert!((ari + 4.0 / 11.0).abs() < 1e-12, "{ari}");
        let b = [0, 0, 1, 1, 2, 2, 0, 1];
        let ari = adjusted_rand_index(&b, 3, &[0, 0, 1, 1, 1, 1, 0, 0], 2);
        assert!((ari - 4.0 / 13.0).abs() < 1e-12, "{ari}");
    }

    use super::*;
    use ndarray::array;

    /// Two triangles, every index worked out by hand (the definitions scikit-learn uses).
    #[test]
    fn matches_scikit_learn_on_a_small_example() {
        let x = array![
            [0.0, 0.0],
            [1.0, 0.0],
            [0.0, 1.0],
            [5.0, 5.0],
            [6.0, 5.0],
            [5.0, 6.0]
        ];
        let l = [0, 0, 0, 1, 1, 1];
        let s = silhouette(x.view(), &l, 2, 100, 0).unwrap();
        // Hand computation: a(0) = 1, b(0) = mean(√50, √61, √61) for point 0, etc.
        let expected = {
            let pts: Vec<[f64; 2]> = x.outer_iter().map(|r| [r[0], r[1]]).collect();
            let d =
                |a: [f64; 2], b: [f64; 2]| ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt();
            (0..6)
                .map(|i| {
                    let same: Vec<usize> = (0..6).filter(|&j| j != i && l[j] == l[i]).collect();
                    let other: Vec<usize> = (0..6).filter(|&j| l[j] != l[i]).collect();
                    let a = same.iter().map(|&j| d(pts[i], pts[j])).sum::<f64>() / 2.0;
                    let b = other.iter().map(|&j| d(pts[i], pts[j])).sum::<f64>() / 3.0;
                    (b - a) / a.max(b)
                })
                .sum::<f64>()
                / 6.0
        };
        assert!((s - expected).abs() < 1e-9, "{s} vs {expected}");
        assert!(s > 0.7);
        // Centres (1/3, 1/3) and (16/3, 16/3): within = 8/3, between = 75, so
        // CH = (75 / 1) / ((8/3) / 4) = 112.5; spreads (√2 + 2√5) / 9 over a centre
        // distance of √50 give DB = 2 (√2 + 2√5) / (9 √50).
        let ch = calinski_harabasz(x.view(), &l, 2).unwrap();
        assert!((ch - 112.5).abs() < 1e-9, "{ch}");
        let db = davies_bouldin(x.view(), &l, 2).unwrap();
        let expected_db = 2.0 * (2f64.sqrt() + 2.0 * 5f64.sqrt()) / (9.0 * 50f64.sqrt());
        assert!((db - expected_db).abs() < 1e-12, "{db} vs {expected_db}");
        // The same rows seen in batches of two, in two passes, give the same indices.
        let mut d = Dispersion::new(2, 2);
        for pass in 0..2 {
            for b in 0..3 {
                let (rows, labels) = (x.slice(s![2 * b..2 * b + 2, ..]), &l[2 * b..2 * b + 2]);
                match pass {
                    0 => d.add_to_means(rows, labels),
                    _ => d.add_to_spreads(rows, labels),
                }
            }
        }
        let (ch2, db2) = d.indices();
        assert!((ch2.unwrap() - 112.5).abs() < 1e-9 && (db2.unwrap() - expected_db).abs() < 1e-12);
    }

    #[test]
    fn a_better_partition_scores_better_and_one_cluster_scores_none() {
        let x = array![
            [0.0f32, 0.0],
            [0.2, 0.1],
            [9.0, 9.0],
            [9.1, 8.9],
            [0.1, 0.3],
            [8.8, 9.2]
        ];
        let good = [0, 0, 1, 1, 0, 1];
        let bad = [0, 1, 0, 1, 0, 1];
        let sg = silhouette(x.view(), &good, 2, 100, 1).unwrap();
        let sb = silhouette(x.view(), &bad, 2, 100, 1).unwrap();
        assert!(sg > 0.9 && sb < 0.1, "{sg} {sb}");
        assert!(
            calinski_harabasz(x.view(), &good, 2).unwrap()
                > calinski_harabasz(x.view(), &bad, 2).unwrap()
        );
        assert!(
            davies_bouldin(x.view(), &good, 2).unwrap()
                < davies_bouldin(x.view(), &bad, 2).unwrap()
        );
        let one = [0; 6];
        assert_eq!(silhouette(x.view(), &one, 1, 100, 1), None);
        assert_eq!(calinski_harabasz(x.view(), &one, 1), None);
        assert_eq!(davies_bouldin(x.view(), &one, 1), None);
    }

    #[test]
    fn sampled_silhouette_is_seeded_and_close_to_the_full_one() {
        let n = 600;
        let x = Array2::from_shape_fn((n, 3), |(i, j)| {
            ((i % 3) * 10) as f64 + ((i * 7 + j * 13) % 17) as f64 / 17.0
        });
        let l: Vec<usize> = (0..n).map(|i| i % 3).collect();
        let full = silhouette(x.view(), &l, 3, n, 0).unwrap();
        let a = silhouette(x.view(), &l, 3, 200, 5).unwrap();
        let b = silhouette(x.view(), &l, 3, 200, 5).unwrap();
        assert_eq!(a, b);
        assert!((a - full).abs() < 0.02, "{a} vs {full}");
    }
}
