//! The fuzzy simplicial set: per point a distance to its nearest neighbour `ρ` and a
//! bandwidth `σ` (binary search), membership strengths `exp(-(d − ρ)/σ)`, and for the fit
//! their fuzzy union `A + Aᵀ − A∘Aᵀ`. Follows umap-learn 0.5 (`smooth_knn_dist`,
//! `compute_membership_strengths`, `fuzzy_simplicial_set`).

use rayon::prelude::*;

use crate::knn::Neighbours;

const SMOOTH_K_TOLERANCE: f64 = 1e-5;
const MIN_K_DIST_SCALE: f64 = 1e-3;

/// A sparse graph as edge lists, sorted by head then tail.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Graph {
    /// Head (the point that moves) of every edge.
    pub heads: Vec<u32>,
    /// Tail of every edge.
    pub tails: Vec<u32>,
    /// Membership strength in (0, 1].
    pub weights: Vec<f32>,
}

impl Graph {
    /// Number of edges.
    pub fn len(&self) -> usize {
        self.weights.len()
    }

    /// True when there is no edge.
    pub fn is_empty(&self) -> bool {
        self.weights.is_empty()
    }

    /// Drops edges weaker than `max / n_epochs` (they would never be sampled).
    pub fn prune_for_epochs(&mut self, n_epochs: usize) {
        let max = self.weights.iter().copied().fold(0.0f32, f32::max);
        let floor = max / n_epochs as f32;
        let keep: Vec<usize> = (0..self.len())
            .filter(|&e| self.weights[e] >= floor && self.weights[e] > 0.0)
            .collect();
        self.heads = keep.iter().map(|&e| self.heads[e]).collect();
        self.tails = keep.iter().map(|&e| self.tails[e]).collect();
        self.weights = keep.iter().map(|&e| self.weights[e]).collect();
    }
}

/// `(σ, ρ)` of every query; `local_connectivity` 1 for the fit, 0 for transform.
pub fn smooth_knn_dist(nn: &Neighbours, local_connectivity: f64) -> (Vec<f32>, Vec<f32>) {
    let k = nn.k;
    let target = (k as f64).log2();
    let mean_all: f64 =
        nn.distances.iter().map(|&d| f64::from(d)).sum::<f64>() / nn.distances.len().max(1) as f64;
    let per_row: Vec<(f32, f32)> = (0..nn.len())
        .into_par_iter()
        .map(|q| {
            let dist: Vec<f64> = nn.row_distances(q).iter().map(|&d| f64::from(d)).collect();
            let non_zero: Vec<f64> = dist.iter().copied().filter(|&d| d > 0.0).collect();
            let mut rho = 0.0;
            if non_zero.len() as f64 >= local_connectivity {
                let index = local_connectivity.floor() as usize;
                let interpolation = local_connectivity - index as f64;
                if index > 0 {
                    rho = non_zero[index - 1];
                    if interpolation > SMOOTH_K_TOLERANCE {
                        rho += interpolation * (non_zero[index] - non_zero[index - 1]);
                    }
                } else {
                    rho = interpolation * non_zero[0];
                }
            } else if !non_zero.is_empty() {
                rho = non_zero.iter().copied().fold(0.0, f64::max);
            }
            let (mut lo, mut hi, mut mid) = (0.0f64, f64::INFINITY, 1.0f64);
            for _ in 0..64 {
                let psum: f64 = dist[1..]
                    .iter()
                    .map(|&d| {
                        let t = d - rho;
                        if t > 0.0 {
                            (-t / mid).exp()
                        } else {
                            1.0
                        }
                    })
                    .sum();
                if (psum - target).abs() < SMOOTH_K_TOLERANCE {
                    break;
                }
                if psum > target {
                    hi = mid;
                    mid = (lo + hi) / 2.0;
                } else {
                    lo = mid;
                    mid = if hi.is_infinite() {
                        mid * 2.0
                    } else {
                        (lo + hi) / 2.0
                    };
                }
            }
            let mean_row = dist.iter().sum::<f64>() / k as f64;
            let floor = if rho > 0.0 {
                MIN_K_DIST_SCALE * mean_row
            } else {
                MIN_K_DIST_SCALE * mean_all
            };
            (mid.max(floor) as f32, rho as f32)
        })
        .collect();
    per_row.into_iter().unzip()
}

/// Membership strength of every (query, neighbour) pair, row-major like `nn`; a point's
/// edge to itself is 0 unless `bipartite` (queries and points are different sets).
pub fn membership_strengths(
    nn: &Neighbours,
    sigmas: &[f32],
    rhos: &[f32],
    bipartite: bool,
) -> Vec<f32> {
    let k = nn.k;
    (0..nn.len() * k)
        .into_par_iter()
        .map(|e| {
            let q = e / k;
            let idx = nn.indices[e] as usize;
            let d = nn.distances[e];
            if !bipartite && idx == q {
                0.0
            } else if d - rhos[q] <= 0.0 || sigmas[q] == 0.0 {
                1.0
            } else {
                (-(f64::from(d - rhos[q]) / f64::from(sigmas[q]))).exp() as f32
            }
        })
        .collect()
}

/// The fuzzy union `A + Aᵀ − A∘Aᵀ` of the directed k-NN memberships of a set with
/// itself: a symmetric graph, both directions listed.
pub fn fuzzy_union(nn: &Neighbours, strengths: &[f32]) -> Graph {
    let k = nn.k;
    // Every directed edge once, keyed by its unordered pair.
    let mut pairs: Vec<(u32, u32, f32, bool)> = Vec::with_capacity(nn.indices.len());
    for (e, (&t, &w)) in nn.indices.iter().zip(strengths).enumerate() {
        let h = (e / k) as u32;
        if w <= 0.0 || h == t {
            continue;
        }
        let forward = h < t;
        let (a, b) = if forward { (h, t) } else { (t, h) };
        pairs.push((a, b, w, forward));
    }
    pairs.par_sort_unstable_by(|x, y| (x.0, x.1, x.3).cmp(&(y.0, y.1, y.3)));
    let mut edges: Vec<(u32, u32, f32)> = Vec::with_capacity(2 * pairs.len());
    let mut i = 0;
    while i < pairs.len() {
        let (a, b, w, _) = pairs[i];
        let mut union = f64::from(w);
        let mut j = i + 1;
        while j < pairs.len() && pairs[j].0 == a && pairs[j].1 == b {
            let v = f64::from(pairs[j].2);
            union = union + v - union * v;
            j += 1;
        }
        edges.push((a, b, union as f32));
        edges.push((b, a, union as f32));
        i = j;
    }
    edges.par_sort_unstable_by(|x, y| (x.0, x.1).cmp(&(y.0, y.1)));
    Graph {
        heads: edges.iter().map(|e| e.0).collect(),
        tails: edges.iter().map(|e| e.1).collect(),
        weights: edges.iter().map(|e| e.2).collect(),
    }
}

/// The bipartite graph from new points (heads) to the fitted points (tails).
pub fn bipartite(nn: &Neighbours, strengths: &[f32]) -> Graph {
    let k = nn.k;
    let mut g = Graph::default();
    for (e, (&t, &w)) in nn.indices.iter().zip(strengths).enumerate() {
        if w > 0.0 {
            g.heads.push((e / k) as u32);
            g.tails.push(t);
            g.weights.push(w);
        }
    }
    g
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line_neighbours() -> Neighbours {
        // Points 0, 1, 3, 7 on a line, k = 3 (self included): no ties.
        let pos = [0.0f32, 1.0, 3.0, 7.0];
        let x: Vec<f32> = pos.to_vec();
        crate::knn::nearest(&x, &x, 1, 3, &|_| {})
    }

    #[test]
    fn sigma_solves_the_target_sum() {
        let nn = line_neighbours();
        let (sigmas, rhos) = smooth_knn_dist(&nn, 1.0);
        for q in 0..nn.len() {
            let d = nn.row_distances(q);
            assert_eq!(rhos[q], d[1], "ρ is the nearest non-zero distance");
            let psum: f64 = d[1..]
                .iter()
                .map(|&v| (-(f64::from(v - rhos[q])).max(0.0) / f64::from(sigmas[q])).exp())
                .sum();
            assert!((psum - 3f64.log2()).abs() < 1e-4, "row {q}: {psum}");
        }
    }

    #[test]
    fn union_is_symmetric_and_follows_the_fuzzy_rule() {
        let nn = line_neighbours();
        let (s, r) = smooth_knn_dist(&nn, 1.0);
        let w = membership_strengths(&nn, &s, &r, false);
        let g = fuzzy_union(&nn, &w);
        let weight = |h: u32, t: u32| {
            (0..g.len())
                .find(|&e| g.heads[e] == h && g.tails[e] == t)
                .map(|e| g.weights[e])
        };
        let directed = |h: usize, t: u32| {
            (0..3)
                .find(|&j| nn.row(h)[j] == t)
                .map_or(0.0, |j| w[h * 3 + j])
        };
        for e in 0..g.len() {
            let (h, t) = (g.heads[e], g.tails[e]);
            assert_eq!(weight(t, h), Some(g.weights[e]), "symmetric");
            let (a, b) = (directed(h as usize, t), directed(t as usize, h));
            assert!((g.weights[e] - (a + b - a * b)).abs() < 1e-6);
        }
        // Nearest neighbours are fully connected (d = ρ).
        assert_eq!(weight(0, 1), Some(1.0));
        assert!(g.heads.windows(2).all(|p| p[0] <= p[1]), "sorted by head");
    }
}
