//! Exact k-nearest neighbours (Euclidean) by blocked matrix products:
//! `‖q − x‖² = ‖q‖² + ‖x‖² − 2 q·x`, one gemm per block of queries × block of points,
//! the k best kept per query while the block is in cache. Never holds an N × N matrix.

use rayon::prelude::*;

/// Queries per block (rows of one gemm).
const QUERY_BLOCK: usize = 256;
/// Points per block (columns of one gemm).
const POINT_BLOCK: usize = 2048;

/// The k nearest points of every query, nearest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Neighbours {
    /// Neighbours per query.
    pub k: usize,
    /// `indices[q * k + j]`: the j-th nearest point of query `q`.
    pub indices: Vec<u32>,
    /// Euclidean distances, same layout.
    pub distances: Vec<f32>,
}

impl Neighbours {
    /// Number of queries.
    pub fn len(&self) -> usize {
        self.indices.len() / self.k.max(1)
    }

    /// True when there is no query.
    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }

    /// Neighbour indices of query `q`.
    pub fn row(&self, q: usize) -> &[u32] {
        &self.indices[q * self.k..(q + 1) * self.k]
    }

    /// Neighbour distances of query `q`.
    pub fn row_distances(&self, q: usize) -> &[f32] {
        &self.distances[q * self.k..(q + 1) * self.k]
    }
}

fn squared_norms(x: &[f32], d: usize) -> Vec<f32> {
    x.chunks_exact(d)
        .map(|r| r.iter().map(|v| v * v).sum())
        .collect()
}

/// `c[m×n] = -2 · a[m×d] · b[n×d]ᵀ` (row-major), one thread.
fn minus_two_a_bt(a: &[f32], b: &[f32], d: usize, c: &mut [f32]) {
    let (m, n) = (a.len() / d, b.len() / d);
    debug_assert_eq!(c.len(), m * n);
    // SAFETY: a is m×d (row stride d), b read as d×n through (row stride 1, column
    // stride d), c is a unique m×n buffer (row stride n); all sizes checked by the
    // slice lengths above.
    unsafe {
        gemm::gemm(
            m,
            n,
            d,
            c.as_mut_ptr(),
            1,
            n as isize,
            false,
            a.as_ptr(),
            1,
            d as isize,
            b.as_ptr(),
            d as isize,
            1,
            0.0f32,
            -2.0f32,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// Inserts `(dist, idx)` into the sorted `k` best of one query if it beats the worst.
#[inline]
fn offer(best_d: &mut [f32], best_i: &mut [u32], dist: f32, idx: u32) {
    let k = best_d.len();
    if dist >= best_d[k - 1] {
        return;
    }
    let mut pos = k - 1;
    while pos > 0 && best_d[pos - 1] > dist {
        best_d[pos] = best_d[pos - 1];
        best_i[pos] = best_i[pos - 1];
        pos -= 1;
    }
    best_d[pos] = dist;
    best_i[pos] = idx;
}

/// The `k` nearest rows of `points` ([n, d], row-major) for every row of `queries`
/// ([m, d]), in parallel over blocks of queries; `progress` is called with the number of
/// queries finished so far (from any thread). Ties keep the lower index.
pub fn nearest(
    queries: &[f32],
    points: &[f32],
    d: usize,
    k: usize,
    progress: &(dyn Fn(usize) + Sync),
) -> Neighbours {
    let m = queries.len() / d;
    let n = points.len() / d;
    assert!(k >= 1 && k <= n, "k = {k} for {n} points");
    let point_norms = squared_norms(points, d);
    let done = std::sync::atomic::AtomicUsize::new(0);
    let mut indices = vec![0u32; m * k];
    let mut distances = vec![0f32; m * k];
    indices
        .par_chunks_mut(QUERY_BLOCK * k)
        .zip(distances.par_chunks_mut(QUERY_BLOCK * k))
        .enumerate()
        .for_each(|(block, (idx_out, dist_out))| {
            let q0 = block * QUERY_BLOCK;
            let rows = idx_out.len() / k;
            let q = &queries[q0 * d..(q0 + rows) * d];
            let q_norms = squared_norms(q, d);
            dist_out.fill(f32::INFINITY);
            idx_out.fill(u32::MAX);
            let mut buf = vec![0f32; rows * POINT_BLOCK];
            for p0 in (0..n).step_by(POINT_BLOCK) {
                let cols = POINT_BLOCK.min(n - p0);
                let c = &mut buf[..rows * cols];
                minus_two_a_bt(q, &points[p0 * d..(p0 + cols) * d], d, c);
                for r in 0..rows {
                    let best_d = &mut dist_out[r * k..(r + 1) * k];
                    let best_i = &mut idx_out[r * k..(r + 1) * k];
                    let row = &c[r * cols..(r + 1) * cols];
                    for (j, &v) in row.iter().enumerate() {
                        let sq = (v + q_norms[r] + point_norms[p0 + j]).max(0.0);
                        offer(best_d, best_i, sq, (p0 + j) as u32);
                    }
                }
            }
            // The selection used the fast form; the distances kept are recomputed exactly
            // (a point's distance to itself is 0, not a rounding residue).
            for r in 0..rows {
                let qr = &q[r * d..(r + 1) * d];
                for j in 0..k {
                    let p = idx_out[r * k + j] as usize;
                    let xr = &points[p * d..(p + 1) * d];
                    let sq: f32 = qr.iter().zip(xr).map(|(a, b)| (a - b) * (a - b)).sum();
                    dist_out[r * k + j] = sq.sqrt();
                }
                let mut pairs: Vec<(f32, u32)> = (0..k)
                    .map(|j| (dist_out[r * k + j], idx_out[r * k + j]))
                    .collect();
                pairs.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                for (j, (dist, idx)) in pairs.into_iter().enumerate() {
                    dist_out[r * k + j] = dist;
                    idx_out[r * k + j] = idx;
                }
            }
            let total = done.fetch_add(rows, std::sync::atomic::Ordering::Relaxed) + rows;
            progress(total);
        });
    Neighbours {
        k,
        indices,
        distances,
    }
}

/// The `k` nearest other rows of every row of `points` ([n, d]), nearest first: each
/// row's own index is left out wherever it falls among exact duplicates (ties keep the
/// lower index, so a duplicate may come before the row itself).
pub fn nearest_others(
    points: &[f32],
    d: usize,
    k: usize,
    progress: &(dyn Fn(usize) + Sync),
) -> Neighbours {
    let n = points.len() / d;
    let nn = nearest(points, points, d, k + 1, progress);
    let mut indices = Vec::with_capacity(n * k);
    let mut distances = Vec::with_capacity(n * k);
    for i in 0..n {
        let (row, dist) = (nn.row(i), nn.row_distances(i));
        let own = row.iter().position(|&j| j as usize == i).unwrap_or(k);
        for p in (0..=k).filter(|&p| p != own) {
            indices.push(row[p]);
            distances.push(dist[p]);
        }
    }
    Neighbours {
        k,
        indices,
        distances,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn brute_force(q: &[f32], x: &[f32], d: usize, k: usize) -> Vec<Vec<u32>> {
        q.chunks_exact(d)
            .map(|qr| {
                let mut all: Vec<(f64, u32)> = x
                    .chunks_exact(d)
                    .enumerate()
                    .map(|(j, xr)| {
                        let s: f64 = qr
                            .iter()
                            .zip(xr)
                            .map(|(a, b)| (f64::from(*a) - f64::from(*b)).powi(2))
                            .sum();
                        (s, j as u32)
                    })
                    .collect();
                all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                all.iter().take(k).map(|p| p.1).collect()
            })
            .collect()
    }

    #[test]
    fn equals_brute_force_across_block_edges() {
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(3);
        let (n, m, d, k) = (2 * POINT_BLOCK + 37, QUERY_BLOCK + 9, 7, 6);
        let x: Vec<f32> = (0..n * d).map(|_| rng.gen_range(-1.0..1.0)).collect();
        let q: Vec<f32> = (0..m * d).map(|_| rng.gen_range(-1.0..1.0)).collect();
        let got = nearest(&q, &x, d, k, &|_| {});
        let want = brute_force(&q, &x, d, k);
        for (r, w) in want.iter().enumerate() {
            assert_eq!(got.row(r), &w[..], "query {r}");
            let d0 = got.row_distances(r);
            assert!(d0.windows(2).all(|p| p[0] <= p[1]), "sorted");
        }
        // Each point's nearest in its own set is itself, at distance 0.
        let own = nearest(&x[..50 * d], &x, d, 3, &|_| {});
        for r in 0..50 {
            assert_eq!(own.row(r)[0], r as u32);
            assert_eq!(own.row_distances(r)[0], 0.0);
        }
    }
}
