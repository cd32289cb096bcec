//! The stochastic layout optimisation (umap-learn's `optimize_layout_euclidean`):
//! attraction along sampled edges, repulsion from random negative samples, a learning
//! rate falling linearly to 0. It runs on one thread, as umap-learn's does when given a
//! `random_state`, so the embedding depends only on the seed: umap-learn's parallel
//! ("Hogwild") layout, which this one was until 2026-11-30, lets threads move shared
//! coordinates without locks, and on this project's folders a rerun then moved the
//! proposed number of clusters (docs/RESULTS.md, "A k you can trust").

use std::cell::Cell;

use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

use crate::fuzzy::Graph;

/// Edges per stream of negative samples.
const EDGES_PER_TASK: usize = 8192;

/// Coordinates moved in place: `n` points × `dim` f32. A fit's head and tail are the
/// same embedding, so an edge reads and moves both ends through one shared reference.
pub struct SharedEmbedding {
    values: Vec<Cell<f32>>,
    dim: usize,
}

impl SharedEmbedding {
    /// Wraps row-major coordinates.
    pub fn new(values: &[f32], dim: usize) -> Self {
        Self {
            values: values.iter().copied().map(Cell::new).collect(),
            dim,
        }
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.values.len() / self.dim
    }

    /// True when there is no point.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    #[inline]
    fn get(&self, i: usize, d: usize) -> f32 {
        self.values[i * self.dim + d].get()
    }

    #[inline]
    fn add(&self, i: usize, d: usize, delta: f32) {
        let slot = &self.values[i * self.dim + d];
        slot.set(slot.get() + delta);
    }

    /// The coordinates, row-major.
    pub fn to_vec(&self) -> Vec<f32> {
        self.values.iter().map(Cell::get).collect()
    }
}

/// Settings of one optimisation.
#[derive(Debug, Clone, Copy)]
pub struct LayoutSettings {
    /// Curve parameter `a`.
    pub a: f32,
    /// Curve parameter `b`.
    pub b: f32,
    /// Repulsion weight γ.
    pub gamma: f32,
    /// Learning rate at epoch 0.
    pub initial_alpha: f32,
    /// Negative samples per positive sample.
    pub negative_sample_rate: f32,
    /// Epochs.
    pub n_epochs: usize,
    /// Also move the tail of an edge (fit) or only its head (transform).
    pub move_other: bool,
    /// Seed of the negative sampling.
    pub seed: u64,
}

/// `max_w / w` for every edge: how many epochs between two samples of it.
pub fn epochs_per_sample(weights: &[f32]) -> Vec<f32> {
    let max = weights.iter().copied().fold(0.0f32, f32::max);
    weights.iter().map(|&w| max / w).collect()
}

#[inline]
fn clip(v: f32) -> f32 {
    v.clamp(-4.0, 4.0)
}

/// Optimises `head` (the points that move) against `tail` (the same embedding for a
/// fit, the fitted one for a transform) along `graph`; `epoch_done` is called after
/// every epoch.
pub fn optimize(
    head: &SharedEmbedding,
    tail: Option<&SharedEmbedding>,
    graph: &Graph,
    s: &LayoutSettings,
    epoch_done: &mut dyn FnMut(usize),
) {
    let tail = tail.unwrap_or(head);
    let dim = head.dim;
    let n_vertices = tail.len();
    let eps = epochs_per_sample(&graph.weights);
    let eps_neg: Vec<f32> = eps.iter().map(|e| e / s.negative_sample_rate).collect();
    let mut next_sample = eps.clone();
    let mut next_negative = eps_neg.clone();
    let (a, b) = (s.a, s.b);
    for epoch in 0..s.n_epochs {
        let alpha = s.initial_alpha * (1.0 - epoch as f32 / s.n_epochs as f32);
        let n = epoch as f32;
        next_sample
            .chunks_mut(EDGES_PER_TASK)
            .zip(next_negative.chunks_mut(EDGES_PER_TASK))
            .enumerate()
            .for_each(|(task, (next_s, next_n))| {
                let mut rng = Xoshiro256PlusPlus::seed_from_u64(
                    s.seed
                        ^ ((epoch as u64) << 32)
                        ^ (task as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
                );
                let base = task * EDGES_PER_TASK;
                let mut current = vec![0f32; dim];
                for (off, (ns, nn)) in next_s.iter_mut().zip(next_n.iter_mut()).enumerate() {
                    if *ns > n {
                        continue;
                    }
                    let e = base + off;
                    let (j, k) = (graph.heads[e] as usize, graph.tails[e] as usize);
                    let mut dist2 = 0.0f32;
                    for (d, c) in current.iter_mut().enumerate() {
                        *c = head.get(j, d);
                        let diff = *c - tail.get(k, d);
                        dist2 += diff * diff;
                    }
                    if dist2 > 0.0 {
                        let coeff = -2.0 * a * b * dist2.powf(b - 1.0) / (a * dist2.powf(b) + 1.0);
                        for (d, c) in current.iter().enumerate() {
                            let g = clip(coeff * (c - tail.get(k, d))) * alpha;
                            head.add(j, d, g);
                            if s.move_other {
                                tail.add(k, d, -g);
                            }
                        }
                    }
                    *ns += eps[e];
                    let n_neg = ((n - *nn) / eps_neg[e]).max(0.0) as usize;
                    for _ in 0..n_neg {
                        let k = rng.gen_range(0..n_vertices);
                        let mut dist2 = 0.0f32;
                        for (d, c) in current.iter_mut().enumerate() {
                            *c = head.get(j, d);
                            let diff = *c - tail.get(k, d);
                            dist2 += diff * diff;
                        }
                        if dist2 <= 0.0 {
                            continue;
                        }
                        let coeff =
                            2.0 * s.gamma * b / ((0.001 + dist2) * (a * dist2.powf(b) + 1.0));
                        for (d, c) in current.iter().enumerate() {
                            head.add(j, d, clip(coeff * (c - tail.get(k, d))) * alpha);
                        }
                    }
                    *nn += n_neg as f32 * eps_neg[e];
                }
            });
        epoch_done(epoch + 1);
    }
}
