use gemm::Parallelism;
use linfa::traits::{Fit, PredictInplace};
use linfa::{DatasetBase, Float};
use ndarray::{s, Array1, Array2, ArrayBase, ArrayView2, Axis, Data, Ix2};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::{KMeansInit, KMeansParams, KMeansValidParams};
use crate::{ClusterError, IterationEvent, Result};
use aeclust_linalg::{all_threads, matmul, matmul_into};

/// Rows per block: a block of rows and its distances stay in the L2 cache.
const BLOCK: usize = 256;
/// Blocks per partial sum of a pass: fixed, and the partial sums added in order, so the
/// centres are the same to the bit on any number of threads (rayon's `fold` and
/// `reduce` group work by how the threads steal it).
const BLOCKS_PER_SUM: usize = 16;

/// A fitted K-Means model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KMeans<F> {
    centroids: Array2<F>,
    inertia: F,
    n_iter: usize,
    converged: bool,
    best_run: usize,
    inertia_per_run: Vec<F>,
}

impl<F: Float> KMeans<F> {
    /// Starts a parameter set with `n_clusters` clusters and the defaults.
    pub fn params(n_clusters: usize) -> KMeansParams<F> {
        KMeansParams::new(n_clusters)
    }

    /// Rebuilds a model from saved centroids (for prediction only).
    pub fn from_centroids(centroids: Array2<F>) -> Self {
        Self {
            centroids,
            inertia: F::nan(),
            n_iter: 0,
            converged: true,
            best_run: 0,
            inertia_per_run: Vec::new(),
        }
    }

    /// Centroids, one row per cluster.
    pub fn centroids(&self) -> &Array2<F> {
        &self.centroids
    }
    /// Sum of squared distances of the training samples to their centroid.
    pub fn inertia(&self) -> F {
        self.inertia
    }
    /// Lloyd iterations of the winning restart.
    pub fn n_iter(&self) -> usize {
        self.n_iter
    }
    /// Whether the winning restart converged before `max_iter`.
    pub fn converged(&self) -> bool {
        self.converged
    }
    /// Index of the winning restart.
    pub fn best_run(&self) -> usize {
        self.best_run
    }
    /// Final inertia of every restart.
    pub fn inertia_per_run(&self) -> &[F] {
        &self.inertia_per_run
    }

    /// Nearest centroid and squared distance of every row.
    pub fn assign(&self, x: ArrayView2<F>) -> (Vec<usize>, Vec<F>) {
        let x_sq = row_norms(x);
        assign_all(x, &x_sq, self.centroids.view())
    }
}

/// Squared Euclidean norm of every row.
pub(crate) fn row_norms<F: Float>(x: ArrayView2<F>) -> Vec<F> {
    let mut out = vec![F::zero(); x.nrows()];
    out.par_iter_mut().enumerate().for_each(|(i, o)| {
        *o = x.row(i).iter().fold(F::zero(), |acc, &v| acc + v * v);
    });
    out
}

/// Nearest and second-nearest centre from `c_sq − 2·x·c` values: (index, value, second value).
fn argmin_row<F: Float>(dots: &[F], c_sq: &[F]) -> (usize, F, F) {
    let mut best = 0;
    let mut best_val = F::infinity();
    let mut second_val = F::infinity();
    for (j, (&d, &c)) in dots.iter().zip(c_sq).enumerate() {
        let v = c - (d + d);
        if v < best_val {
            second_val = best_val;
            best_val = v;
            best = j;
        } else if v < second_val {
            second_val = v;
        }
    }
    (best, best_val, second_val)
}

/// Labels and squared distances to the nearest centroid, blocked and parallel.
fn assign_all<F: Float>(
    x: ArrayView2<F>,
    x_sq: &[F],
    centers: ArrayView2<F>,
) -> (Vec<usize>, Vec<F>) {
    let n = x.nrows();
    let k = centers.nrows();
    let c_sq = row_norms(centers);
    let ct = centers.t();
    let mut labels = vec![0usize; n];
    let mut dist = vec![F::zero(); n];
    labels
        .par_chunks_mut(BLOCK)
        .zip(dist.par_chunks_mut(BLOCK))
        .enumerate()
        .for_each(|(b, (lab, dst))| {
            let start = b * BLOCK;
            let rows = x.slice(s![start..start + lab.len(), ..]);
            let mut dots = Array2::zeros((lab.len(), k));
            matmul_into(rows, ct, dots.view_mut(), false, Parallelism::None);
            for (i, row) in dots.outer_iter().enumerate() {
                let (j, v, _) = argmin_row(row.as_slice().unwrap(), &c_sq);
                lab[i] = j;
                dst[i] = (x_sq[start + i] + v).max(F::zero());
            }
        });
    (labels, dist)
}

/// What one fused Lloyd pass accumulates.
struct Pass<F> {
    sums: Array2<F>,
    counts: Vec<usize>,
    inertia: f64,
    changed: usize,
}

impl<F: Float> Pass<F> {
    fn new(k: usize, d: usize) -> Self {
        Self {
            sums: Array2::zeros((k, d)),
            counts: vec![0; k],
            inertia: 0.0,
            changed: 0,
        }
    }
    fn merge(mut self, other: Self) -> Self {
        self.sums += &other.sums;
        for (a, b) in self.counts.iter_mut().zip(other.counts) {
            *a += b;
        }
        self.inertia += other.inertia;
        self.changed += other.changed;
        self
    }
}

/// One Lloyd pass: assigns every row to its nearest centre and accumulates the new sums
/// in the same sweep over the data (one read of X per iteration).
fn lloyd_pass<F: Float>(
    x: ArrayView2<F>,
    x_sq: &[F],
    centers: ArrayView2<F>,
    labels: &mut [usize],
    dist: &mut [F],
    lower: &mut [F],
) -> Pass<F> {
    let (k, d) = centers.dim();
    let c_sq = row_norms(centers);
    let ct = centers.t();
    labels
        .par_chunks_mut(BLOCK)
        .zip(dist.par_chunks_mut(BLOCK))
        .zip(lower.par_chunks_mut(BLOCK))
        .enumerate()
        .fold_chunks(
            BLOCKS_PER_SUM,
            || (Pass::new(k, d), Array2::zeros((BLOCK, k))),
            |(mut pass, mut dots), (b, ((lab, dst), low))| {
                let start = b * BLOCK;
                let len = lab.len();
                let rows = x.slice(s![start..start + len, ..]);
                let mut dots_view = dots.slice_mut(s![..len, ..]);
                matmul_into(rows, ct, dots_view.view_mut(), false, Parallelism::None);
                for i in 0..len {
                    let (j, v, v2) = argmin_row(dots_view.row(i).as_slice().unwrap(), &c_sq);
                    let dd = (x_sq[start + i] + v).max(F::zero());
                    dst[i] = dd;
                    low[i] = (x_sq[start + i] + v2).max(F::zero()).sqrt();
                    pass.inertia += dd.to_f64().unwrap_or(f64::NAN);
                    if lab[i] != j {
                        pass.changed += 1;
                        lab[i] = j;
                    }
                    pass.counts[j] += 1;
                    let mut sum = pass.sums.row_mut(j);
                    let sum = sum.as_slice_mut().expect("owned rows are contiguous");
                    let row = rows.row(i);
                    match row.as_slice() {
                        Some(row) => sum.iter_mut().zip(row).for_each(|(s, &v)| *s += v),
                        None => sum.iter_mut().zip(row.iter()).for_each(|(s, &v)| *s += v),
                    }
                }
                (pass, dots)
            },
        )
        .map(|(pass, _)| pass)
        .collect::<Vec<_>>()
        .into_iter()
        .fold(Pass::new(k, d), Pass::merge)
}

/// Greedy k-means++ (as scikit-learn): each new centre is the best of `2 + ln k`
/// D²-sampled candidates.
fn kmeans_plus_plus<F: Float>(
    x: ArrayView2<F>,
    x_sq: &[F],
    k: usize,
    rng: &mut Xoshiro256PlusPlus,
) -> Array2<F> {
    let (n, d) = x.dim();
    let trials = 2 + (k as f64).ln().floor() as usize;
    let mut centers = Array2::zeros((k, d));
    let first = rng.gen_range(0..n);
    centers.row_mut(0).assign(&x.row(first));
    let distances_to = |ids: &[usize]| -> Array2<f64> {
        let cands = x.select(Axis(0), ids);
        let dots = matmul(x, cands.t(), all_threads());
        let c_sq = row_norms(cands.view());
        let mut out = Array2::zeros((ids.len(), n));
        out.axis_iter_mut(Axis(0))
            .into_par_iter()
            .enumerate()
            .for_each(|(c, mut row)| {
                for (i, o) in row.iter_mut().enumerate() {
                    let v = x_sq[i] + c_sq[c] - (dots[[i, c]] + dots[[i, c]]);
                    *o = v.to_f64().unwrap_or(f64::NAN).max(0.0);
                }
            });
        out
    };
    let mut closest: Array1<f64> = distances_to(&[first]).row(0).to_owned();
    let mut potential: f64 = closest.sum();
    for c in 1..k {
        let mut cumulative = Vec::with_capacity(n);
        let mut acc = 0.0;
        for &v in closest.iter() {
            acc += v;
            cumulative.push(acc);
        }
        let ids: Vec<usize> = (0..trials)
            .map(|_| {
                let target = rng.gen::<f64>() * potential;
                cumulative.partition_point(|&c| c < target).min(n - 1)
            })
            .collect();
        let dist = distances_to(&ids);
        let mut best = (f64::INFINITY, 0usize);
        for t in 0..ids.len() {
            let pot: f64 = dist
                .row(t)
                .iter()
                .zip(closest.iter())
                .map(|(a, b)| a.min(*b))
                .sum();
            if pot < best.0 {
                best = (pot, t);
            }
        }
        let (pot, t) = best;
        potential = pot;
        closest.zip_mut_with(&dist.row(t), |a, b| *a = a.min(*b));
        centers.row_mut(c).assign(&x.row(ids[t]));
    }
    centers
}

/// Moves empty clusters onto the samples farthest from their centres (scikit-learn's
/// strategy), updating sums and counts.
fn relocate_empty<F: Float>(
    x: ArrayView2<F>,
    pass: &mut Pass<F>,
    labels: &mut [usize],
    dist: &[F],
) -> bool {
    let empty: Vec<usize> = (0..pass.counts.len())
        .filter(|&j| pass.counts[j] == 0)
        .collect();
    if empty.is_empty() {
        return false;
    }
    let mut order: Vec<usize> = (0..dist.len()).collect();
    order.sort_unstable_by(|&a, &b| {
        dist[b]
            .partial_cmp(&dist[a])
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let mut far = order.into_iter();
    for j in empty {
        let Some(i) = far.by_ref().find(|&i| pass.counts[labels[i]] > 1) else {
            break;
        };
        let old = labels[i];
        let row = x.row(i);
        pass.sums.row_mut(old).zip_mut_with(&row, |s, &v| *s -= v);
        pass.counts[old] -= 1;
        pass.sums.row_mut(j).assign(&row);
        pass.counts[j] = 1;
        labels[i] = j;
    }
    true
}

struct RunResult<F> {
    centers: Array2<F>,
    inertia: F,
    n_iter: usize,
    converged: bool,
}

fn dot<F: Float>(a: &[F], b: &[F]) -> F {
    // Eight independent accumulators so that the compiler vectorises the reduction.
    let mut acc = [F::zero(); 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for l in 0..8 {
            acc[l] += x[l] * y[l];
        }
    }
    let mut total = acc.iter().fold(F::zero(), |s, &v| s + v);
    for (&x, &y) in ra.iter().zip(rb) {
        total += x * y;
    }
    total
}

/// Half the distance from each centre to its nearest other centre: a sample closer than
/// that to its centre cannot be closer to any other (Hamerly's test).
fn half_separation<F: Float>(centers: ArrayView2<F>, c_sq: &[F]) -> Vec<F> {
    let k = centers.nrows();
    (0..k)
        .map(|j| {
            let cj = centers.row(j);
            let cj = cj.as_slice().expect("contiguous centres");
            (0..k)
                .filter(|&o| o != j)
                .map(|o| {
                    let co = centers.row(o);
                    let d2 = c_sq[j] + c_sq[o]
                        - F::cast(2.0) * dot(cj, co.as_slice().expect("contiguous"));
                    d2.max(F::zero()).sqrt()
                })
                .fold(F::infinity(), F::min)
                * F::cast(0.5)
        })
        .collect()
}

/// A Lloyd pass with Hamerly's bounds: rows whose upper bound (distance to the assigned
/// centre) is below both their lower bound (distance to any other centre) and half the
/// centre separation keep their label without a distance computation, and the sums are
/// updated incrementally from the rows that moved. Same result as a full pass.
#[allow(clippy::too_many_arguments)]
fn bounded_pass<F: Float>(
    x: ArrayView2<F>,
    x_sq: &[F],
    centers: ArrayView2<F>,
    c_sq: &[F],
    labels: &mut [usize],
    upper: &mut [F],
    lower: &mut [F],
    pass: &mut Pass<F>,
) {
    let (k, d) = centers.dim();
    let half_sep = half_separation(centers, c_sq);
    let rows_of = |i: usize| x.row(i);
    let delta = labels
        .par_chunks_mut(BLOCK)
        .zip(upper.par_chunks_mut(BLOCK))
        .zip(lower.par_chunks_mut(BLOCK))
        .enumerate()
        .fold_chunks(
            BLOCKS_PER_SUM,
            || (Array2::<F>::zeros((k, d)), vec![0i64; k], 0usize, 0.0f64),
            |(mut sums, mut counts, mut moved, mut inertia), (b, ((lab, up), low))| {
                // 1. Bounds, then one exact distance to tighten the upper bound.
                let mut todo = Vec::new();
                for i in 0..lab.len() {
                    let g = b * BLOCK + i;
                    let a = lab[i];
                    let m = half_sep[a].max(low[i]);
                    if up[i] > m {
                        let row = rows_of(g);
                        let ca = centers.row(a);
                        let da = x_sq[g] + c_sq[a]
                            - F::cast(2.0)
                                * dot(
                                    row.as_slice().expect("contiguous rows"),
                                    ca.as_slice().expect("contiguous"),
                                );
                        up[i] = da.max(F::zero()).sqrt();
                        if up[i] > m {
                            todo.push(i);
                        }
                    }
                }
                // 2. The rows that may move: distances to every centre as one gemm.
                if !todo.is_empty() {
                    let global: Vec<usize> = todo.iter().map(|&i| b * BLOCK + i).collect();
                    let rows = x.select(Axis(0), &global);
                    let dots = matmul(rows.view(), centers.t(), Parallelism::None);
                    for (t, &i) in todo.iter().enumerate() {
                        let g = global[t];
                        let a = lab[i];
                        let (best, bv, sv) = argmin_row(dots.row(t).as_slice().unwrap(), c_sq);
                        up[i] = (x_sq[g] + bv).max(F::zero()).sqrt();
                        low[i] = (x_sq[g] + sv).max(F::zero()).sqrt();
                        if best != a {
                            lab[i] = best;
                            moved += 1;
                            counts[a] -= 1;
                            counts[best] += 1;
                            let row = rows.row(t);
                            let row = row.as_slice().expect("owned rows");
                            let mut s_old = sums.row_mut(a);
                            let s_old = s_old.as_slice_mut().expect("owned");
                            s_old.iter_mut().zip(row).for_each(|(s, &v)| *s -= v);
                            let mut s_new = sums.row_mut(best);
                            let s_new = s_new.as_slice_mut().expect("owned");
                            s_new.iter_mut().zip(row).for_each(|(s, &v)| *s += v);
                        }
                    }
                }
                for &u in up.iter() {
                    let u = u.to_f64().unwrap_or(f64::NAN);
                    inertia += u * u;
                }
                (sums, counts, moved, inertia)
            },
        )
        .collect::<Vec<_>>()
        .into_iter()
        .fold(
            (Array2::<F>::zeros((k, d)), vec![0i64; k], 0usize, 0.0f64),
            |mut a, b| {
                a.0 += &b.0;
                a.1.iter_mut().zip(b.1).for_each(|(x, y)| *x += y);
                (a.0, a.1, a.2 + b.2, a.3 + b.3)
            },
        );
    pass.sums += &delta.0;
    for (c, dc) in pass.counts.iter_mut().zip(delta.1) {
        *c = (*c as i64 + dc) as usize;
    }
    pass.changed = delta.2;
    pass.inertia = delta.3;
}

fn lloyd<F: Float>(
    x: ArrayView2<F>,
    x_sq: &[F],
    mut centers: Array2<F>,
    params: &KMeansValidParams<F>,
    tol: f64,
    run: usize,
    progress: &mut dyn FnMut(IterationEvent),
) -> RunResult<F> {
    let n = x.nrows();
    let mut labels = vec![usize::MAX; n];
    let mut upper = vec![F::zero(); n];
    let mut lower = vec![F::zero(); n];
    let mut converged = false;
    let mut n_iter = 0;
    // The first pass is exact and blocked (gemm); it sets labels, sums and both bounds.
    let mut pass = lloyd_pass(x, x_sq, centers.view(), &mut labels, &mut upper, &mut lower);
    upper.iter_mut().for_each(|u| *u = u.sqrt());
    for iteration in 1..=params.max_iter {
        n_iter = iteration;
        if iteration > 1 {
            let c_sq = row_norms(centers.view());
            bounded_pass(
                x,
                x_sq,
                centers.view(),
                &c_sq,
                &mut labels,
                &mut upper,
                &mut lower,
                &mut pass,
            );
        }
        progress(IterationEvent {
            run,
            iteration,
            objective: pass.inertia,
        });
        if pass.counts.contains(&0) {
            let dist: Vec<F> = upper.iter().map(|&u| u * u).collect();
            if relocate_empty(x, &mut pass, &mut labels, &dist) {
                // Bounds no longer hold for the moved samples: recompute everything.
                upper.iter_mut().for_each(|u| *u = F::infinity());
                lower.iter_mut().for_each(|l| *l = F::zero());
            }
        }
        let mut new_centers = pass.sums.clone();
        for (j, mut row) in new_centers.outer_iter_mut().enumerate() {
            let c = F::cast(pass.counts[j].max(1));
            row.mapv_inplace(|v| v / c);
        }
        let shifts: Vec<F> = new_centers
            .outer_iter()
            .zip(centers.outer_iter())
            .map(|(a, b)| {
                a.iter()
                    .zip(b.iter())
                    .fold(F::zero(), |s, (&p, &q)| s + (p - q) * (p - q))
                    .sqrt()
            })
            .collect();
        let shift: f64 = shifts
            .iter()
            .map(|s| s.to_f64().unwrap_or(f64::NAN).powi(2))
            .sum();
        centers = new_centers;
        if (pass.changed == 0 && iteration > 1) || shift <= tol {
            converged = true;
            break;
        }
        // Move the bounds with the centres (Hamerly): the assigned centre moved by its
        // shift, any other by at most the largest shift of the others.
        let (mut max1, mut max2, mut arg1) = (F::zero(), F::zero(), 0);
        for (j, &s) in shifts.iter().enumerate() {
            if s > max1 {
                max2 = max1;
                max1 = s;
                arg1 = j;
            } else if s > max2 {
                max2 = s;
            }
        }
        upper
            .par_iter_mut()
            .zip(lower.par_iter_mut())
            .zip(labels.par_iter())
            .for_each(|((u, l), &a)| {
                *u += shifts[a];
                *l -= if a == arg1 { max2 } else { max1 };
            });
    }
    let (_, dist) = assign_all(x, x_sq, centers.view());
    let inertia = dist
        .iter()
        .fold(0.0f64, |a, v| a + v.to_f64().unwrap_or(f64::NAN));
    RunResult {
        centers,
        inertia: F::cast(inertia),
        n_iter,
        converged,
    }
}

/// Mean over features of the per-feature (population) variance, accumulated in f64.
pub(crate) fn mean_feature_variance<F: Float>(x: ArrayView2<F>) -> f64 {
    let (n, d) = x.dim();
    let column_sums = |f: &(dyn Fn(usize, F) -> f64 + Sync)| -> Vec<f64> {
        x.axis_chunks_iter(Axis(0), BLOCK)
            .into_par_iter()
            .map(|rows| {
                let mut acc = vec![0.0f64; d];
                for row in rows.outer_iter() {
                    for (j, (a, &v)) in acc.iter_mut().zip(row.iter()).enumerate() {
                        *a += f(j, v);
                    }
                }
                acc
            })
            .collect::<Vec<_>>()
            .into_iter()
            .fold(vec![0.0; d], |mut a, b| {
                a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
                a
            })
    };
    let means: Vec<f64> = column_sums(&|_, v| v.to_f64().unwrap_or(0.0))
        .into_iter()
        .map(|s| s / n.max(1) as f64)
        .collect();
    let sq = column_sums(&|j, v| {
        let dv = v.to_f64().unwrap_or(0.0) - means[j];
        dv * dv
    });
    sq.iter().sum::<f64>() / (n.max(1) * d.max(1)) as f64
}

pub(crate) fn check_data<F: Float>(x: ArrayView2<F>, k: usize) -> Result<()> {
    let (n, d) = x.dim();
    if d == 0 {
        return Err(ClusterError::InvalidData(
            "the features have 0 dimensions".into(),
        ));
    }
    if k > n {
        return Err(ClusterError::InvalidParams(format!(
            "{k} clusters requested but there are only {n} samples"
        )));
    }
    if let Some((i, v)) = x.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(ClusterError::InvalidData(format!(
            "non-finite value {v} at row {}, column {}",
            i / d,
            i % d
        )));
    }
    Ok(())
}

impl<F: Float> KMeansValidParams<F> {
    /// Fits like [`Fit::fit`], calling `progress` after every Lloyd iteration.
    pub fn fit_with_progress(
        &self,
        x: ArrayView2<F>,
        progress: &mut dyn FnMut(IterationEvent),
    ) -> Result<KMeans<F>> {
        check_data(x, self.n_clusters)?;
        let x_sq = row_norms(x);
        // Tolerance relative to the mean per-feature variance (scikit-learn's convention).
        let mean_var = mean_feature_variance(x);
        let tol = self.tolerance.to_f64().unwrap_or(0.0) * mean_var;
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(self.seed);
        let mut best: Option<(usize, RunResult<F>)> = None;
        let mut inertia_per_run = Vec::with_capacity(self.n_init);
        for run in 0..self.n_init {
            let mut run_rng = Xoshiro256PlusPlus::seed_from_u64(rng.gen());
            let init = match &self.init {
                KMeansInit::KMeansPlusPlus => {
                    kmeans_plus_plus(x, &x_sq, self.n_clusters, &mut run_rng)
                }
                KMeansInit::Precomputed(c) => {
                    if c.ncols() != x.ncols() {
                        return Err(ClusterError::InvalidParams(format!(
                            "precomputed centroids have {} columns, the data {}",
                            c.ncols(),
                            x.ncols()
                        )));
                    }
                    c.clone()
                }
            };
            let result = lloyd(x, &x_sq, init, self, tol, run, progress);
            inertia_per_run.push(result.inertia);
            if best
                .as_ref()
                .is_none_or(|(_, b)| result.inertia < b.inertia)
            {
                best = Some((run, result));
            }
        }
        let (best_run, best) = best.expect("n_init >= 1");
        Ok(KMeans {
            centroids: best.centers,
            inertia: best.inertia,
            n_iter: best.n_iter,
            converged: best.converged,
            best_run,
            inertia_per_run,
        })
    }
}

impl<F: Float, D: Data<Elem = F>, T> Fit<ArrayBase<D, Ix2>, T, ClusterError>
    for KMeansValidParams<F>
{
    type Object = KMeans<F>;

    fn fit(&self, dataset: &DatasetBase<ArrayBase<D, Ix2>, T>) -> Result<KMeans<F>> {
        self.fit_with_progress(dataset.records().view(), &mut |_| {})
    }
}

impl<F: Float, D: Data<Elem = F>> PredictInplace<ArrayBase<D, Ix2>, Array1<usize>> for KMeans<F> {
    fn predict_inplace(&self, x: &ArrayBase<D, Ix2>, y: &mut Array1<usize>) {
        assert_eq!(
            x.ncols(),
            self.centroids.ncols(),
            "features have {} columns, the model {}",
            x.ncols(),
            self.centroids.ncols()
        );
        let (labels, _) = self.assign(x.view());
        *y = Array1::from(labels);
    }

    fn default_target(&self, x: &ArrayBase<D, Ix2>) -> Array1<usize> {
        Array1::zeros(x.nrows())
    }
}
