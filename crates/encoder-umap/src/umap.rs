//! UMAP fit and transform on row-major f32 data (Euclidean or cosine metric).

use std::time::Instant;

use aeclust_pca::Pca;
use ndarray::ArrayView2;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::curve::find_ab_params;
use crate::fuzzy::{bipartite, fuzzy_union, membership_strengths, smooth_knn_dist};
use crate::knn::{nearest, Neighbours};
use crate::layout::{optimize, LayoutSettings, SharedEmbedding};
use crate::{Result, UmapError};

/// The initial layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Init {
    /// Eigenvectors of the graph's normalised Laplacian (umap-learn's default).
    Spectral,
    /// Principal components of the input.
    Pca,
}

/// How distances between inputs are measured.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    /// Euclidean distance (N2D's choice).
    #[default]
    Euclidean,
    /// Cosine distance, 1 − cos θ: only the direction of a row counts, not its length
    /// (an image's overall brightness, a code's scale). An all-zero row is at distance
    /// ½ from every other row.
    Cosine,
}

impl Metric {
    /// The rows the exact k-NN search sees: `x` itself, or for cosine each row scaled to
    /// unit length (Euclidean order on unit rows is cosine order).
    fn rows<'a>(self, x: &'a [f32], dim: usize) -> std::borrow::Cow<'a, [f32]> {
        match self {
            Metric::Euclidean => std::borrow::Cow::Borrowed(x),
            Metric::Cosine => {
                let mut unit = x.to_vec();
                for row in unit.chunks_exact_mut(dim) {
                    let norm = row.iter().map(|v| v * v).sum::<f32>().sqrt();
                    if norm > 0.0 {
                        row.iter_mut().for_each(|v| *v /= norm);
                    }
                }
                std::borrow::Cow::Owned(unit)
            }
        }
    }

    /// Turns the Euclidean distances between [`Metric::rows`] into this metric's.
    fn distances(self, nn: &mut Neighbours) {
        if self == Metric::Cosine {
            // |u − v|² = 2 − 2 cos θ for unit u, v.
            nn.distances.iter_mut().for_each(|d| *d = *d * *d / 2.0);
        }
    }
}

/// UMAP's settings (umap-learn's names and defaults, but `n_components` 10 and
/// `min_dist` 0, as N2D uses them for clustering).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UmapParams {
    /// Dimensions of the embedding.
    pub n_components: usize,
    /// Neighbours of each point in the k-NN graph, the point itself included.
    pub n_neighbors: usize,
    /// How distances between inputs are measured (absent in older artifacts: Euclidean).
    #[serde(default)]
    pub metric: Metric,
    /// Smallest distance between embedded points.
    pub min_dist: f64,
    /// Scale of the embedded distances.
    pub spread: f64,
    /// Layout epochs (none: 200 above 10,000 points, else 500, as umap-learn).
    pub n_epochs: Option<usize>,
    /// Learning rate at the first epoch.
    pub learning_rate: f64,
    /// Negative samples per positive sample.
    pub negative_sample_rate: usize,
    /// Weight of the repulsion.
    pub repulsion_strength: f64,
    /// The initial layout.
    pub init: Init,
    /// Seed of every random choice.
    pub seed: u64,
}

impl Default for UmapParams {
    fn default() -> Self {
        Self {
            n_components: 10,
            n_neighbors: 20,
            metric: Metric::Euclidean,
            min_dist: 0.0,
            spread: 1.0,
            n_epochs: None,
            learning_rate: 1.0,
            negative_sample_rate: 5,
            repulsion_strength: 1.0,
            init: Init::Spectral,
            seed: 72,
        }
    }
}

impl UmapParams {
    /// Checks the settings against data of `n` points of `dim` columns.
    pub fn check(&self, n: usize, dim: usize) -> Result<()> {
        let bad = |m: String| Err(UmapError::InvalidParams(m));
        if self.n_components == 0 {
            return bad("--n-components must be at least 1".into());
        }
        if self.n_components > dim {
            return bad(format!(
                "--n-components {} exceeds the {dim} input dimensions",
                self.n_components
            ));
        }
        if self.n_neighbors < 2 {
            return bad(format!(
                "--n-neighbors must be at least 2 (the point itself and one other), got {}",
                self.n_neighbors
            ));
        }
        if self.n_neighbors > n {
            return bad(format!(
                "--n-neighbors {} is larger than the {n} points to embed",
                self.n_neighbors
            ));
        }
        if !(self.spread.is_finite() && self.spread > 0.0) {
            return bad(format!("--spread must be positive, got {}", self.spread));
        }
        if !(self.min_dist.is_finite() && (0.0..=self.spread).contains(&self.min_dist)) {
            return bad(format!(
                "--min-dist must be in [0, spread = {}], got {}",
                self.spread, self.min_dist
            ));
        }
        if self.n_epochs == Some(0) {
            return bad("--n-epochs must be at least 1".into());
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return bad(format!(
                "--learning-rate must be positive, got {}",
                self.learning_rate
            ));
        }
        if !(self.repulsion_strength.is_finite() && self.repulsion_strength >= 0.0) {
            return bad(format!(
                "--repulsion-strength must be >= 0, got {}",
                self.repulsion_strength
            ));
        }
        Ok(())
    }

    /// Layout epochs of a fit on `n` points.
    pub fn fit_epochs(&self, n: usize) -> usize {
        self.n_epochs.unwrap_or(if n > 10_000 { 200 } else { 500 })
    }

    /// Layout epochs of a transform of `n` points (umap-learn: a third of the fit's when
    /// given, else 100 up to 10,000 points and 30 above).
    pub fn transform_epochs(&self, n: usize) -> usize {
        match self.n_epochs {
            Some(e) => (e / 3).max(1),
            None if n <= 10_000 => 100,
            None => 30,
        }
    }
}

/// Progress of the long phases, reported from any thread.
pub trait Progress: Sync {
    /// A phase with `total` steps starts.
    fn start(&self, _phase: &str, _total: u64) {}
    /// `done` steps of the current phase are finished.
    fn set(&self, _done: u64) {}
    /// The current phase ended.
    fn finish(&self) {}
}

/// Reports nothing.
pub struct Quiet;
impl Progress for Quiet {}

/// Seconds per phase.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PhaseSeconds {
    /// Exact k-NN graph.
    pub knn: f64,
    /// σ, ρ, memberships and their union.
    pub graph: f64,
    /// Initial layout (fit only).
    pub init: f64,
    /// Layout optimisation.
    pub layout: f64,
}

/// A fitted UMAP: what `transform` needs to place new points.
#[derive(Debug, Clone, PartialEq)]
pub struct FittedUmap {
    /// The settings.
    pub params: UmapParams,
    /// Curve parameters.
    pub a: f32,
    /// Curve parameters.
    pub b: f32,
    /// Input dimensions.
    pub dim: usize,
    /// The fitted inputs as the k-NN search sees them (unit rows for cosine), row-major
    /// `n × dim` (new points find their neighbours here).
    pub inputs: Vec<f32>,
    /// Their embedding, row-major `n × n_components`.
    pub embedding: Vec<f32>,
    /// Seconds of each phase of the fit.
    pub seconds: PhaseSeconds,
    /// The initial layout used (spectral falls back to PCA when it does not settle).
    pub init_used: Init,
}

/// Whether `q` is the fitted point `x` up to rounding: within [`COPY_TOLERANCE`] of
/// `x`'s norm (an image encoded in another batch differs from its fitted encoding in the
/// last bits; real neighbours are orders of magnitude farther).
fn is_copy(q: &[f32], x: &[f32]) -> bool {
    let (mut d2, mut n2) = (0f64, 0f64);
    for (&a, &b) in q.iter().zip(x) {
        d2 += (f64::from(a) - f64::from(b)).powi(2);
        n2 += f64::from(b).powi(2);
    }
    d2 <= COPY_TOLERANCE * COPY_TOLERANCE * n2.max(f64::MIN_POSITIVE)
}

/// Relative distance under which a new point counts as a copy of a fitted one.
pub const COPY_TOLERANCE: f64 = 1e-5;

fn check_finite(x: &[f32], dim: usize) -> Result<()> {
    if let Some(i) = x.iter().position(|v| !v.is_finite()) {
        return Err(UmapError::InvalidData(format!(
            "non-finite value {} at row {}, column {}",
            x[i],
            i / dim,
            i % dim
        )));
    }
    Ok(())
}

/// Each column scaled to [0, 10], as umap-learn does with its initial layout.
fn rescale_columns(y: &mut [f32], dim: usize) {
    for d in 0..dim {
        let col = y.iter().skip(d).step_by(dim);
        let (lo, hi) = col.fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), &v| {
            (l.min(v), h.max(v))
        });
        let span = (hi - lo).max(f32::MIN_POSITIVE);
        for v in y.iter_mut().skip(d).step_by(dim) {
            *v = 10.0 * (*v - lo) / span;
        }
    }
}

/// Fits UMAP to `x` (`n × dim`, row-major).
pub fn fit(
    params: &UmapParams,
    x: &[f32],
    dim: usize,
    progress: &dyn Progress,
) -> Result<FittedUmap> {
    let n = x.len() / dim.max(1);
    params.check(n, dim)?;
    check_finite(x, dim)?;
    let mut seconds = PhaseSeconds::default();
    let t = Instant::now();
    let x = params.metric.rows(x, dim);
    let x = &x[..];
    progress.start("k-NN graph", n as u64);
    let mut nn = nearest(x, x, dim, params.n_neighbors, &|done| {
        progress.set(done as u64)
    });
    params.metric.distances(&mut nn);
    progress.finish();
    seconds.knn = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let (sigmas, rhos) = smooth_knn_dist(&nn, 1.0);
    let strengths = membership_strengths(&nn, &sigmas, &rhos, false);
    let mut graph = fuzzy_union(&nn, &strengths);
    let n_epochs = params.fit_epochs(n);
    graph.prune_for_epochs(n_epochs);
    seconds.graph = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let c = params.n_components;
    let spectral = match params.init {
        Init::Spectral => crate::spectral::spectral_layout(&graph, n, c, 300, params.seed),
        Init::Pca => None,
    };
    let init_used = if spectral.is_some() {
        Init::Spectral
    } else {
        Init::Pca
    };
    let mut embedding = match spectral {
        Some(mut y) => {
            // umap-learn: scale to a maximum of 10, then a little noise.
            let max = y
                .iter()
                .fold(0.0f32, |m, v| m.max(v.abs()))
                .max(f32::MIN_POSITIVE);
            let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(params.seed);
            for v in y.iter_mut() {
                *v = *v * 10.0 / max + rng.gen_range(-1e-4f32..1e-4);
            }
            y
        }
        None => {
            let x64 = ArrayView2::from_shape((n, dim), x)
                .expect("rows fill the data")
                .mapv(f64::from);
            let init = Pca::fit_transform(x64.view(), c, false);
            init.iter().map(|&v| v as f32).collect()
        }
    };
    rescale_columns(&mut embedding, c);
    seconds.init = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let (a, b) = find_ab_params(params.spread, params.min_dist);
    let (a, b) = (a as f32, b as f32);
    let shared = SharedEmbedding::new(&embedding, params.n_components);
    progress.start("layout epochs", n_epochs as u64);
    optimize(
        &shared,
        None,
        &graph,
        &LayoutSettings {
            a,
            b,
            gamma: params.repulsion_strength as f32,
            initial_alpha: params.learning_rate as f32,
            negative_sample_rate: params.negative_sample_rate as f32,
            n_epochs,
            move_other: true,
            seed: params.seed,
        },
        &mut |e| progress.set(e as u64),
    );
    progress.finish();
    seconds.layout = t.elapsed().as_secs_f64();
    Ok(FittedUmap {
        params: params.clone(),
        a,
        b,
        dim,
        inputs: x.to_vec(),
        embedding: shared.to_vec(),
        seconds,
        init_used,
    })
}

impl FittedUmap {
    /// Number of fitted points.
    pub fn len(&self) -> usize {
        self.inputs.len() / self.dim
    }

    /// True when nothing was fitted.
    pub fn is_empty(&self) -> bool {
        self.inputs.is_empty()
    }

    /// Places new points `q` (`m × dim`) against the fixed fitted embedding: each starts at
    /// the membership-weighted mean of its fitted neighbours' positions and is then
    /// optimised with only itself moving (umap-learn's `transform`). A point equal to a
    /// fitted point (after the metric's normalisation, within [`COPY_TOLERANCE`] of its
    /// norm) takes that point's embedding.
    pub fn transform(
        &self,
        q: &[f32],
        progress: &dyn Progress,
    ) -> Result<(Vec<f32>, PhaseSeconds)> {
        let dim = self.dim;
        if !q.len().is_multiple_of(dim) {
            return Err(UmapError::InvalidData(format!(
                "{} values are not rows of the fitted {dim} dimensions",
                q.len()
            )));
        }
        check_finite(q, dim)?;
        let m = q.len() / dim;
        let c = self.params.n_components;
        let mut seconds = PhaseSeconds::default();
        if m == 0 {
            return Ok((Vec::new(), seconds));
        }
        let t = Instant::now();
        let q = self.params.metric.rows(q, dim);
        progress.start("k-NN of new points", m as u64);
        let mut nn = nearest(&q, &self.inputs, dim, self.params.n_neighbors, &|d| {
            progress.set(d as u64)
        });
        self.params.metric.distances(&mut nn);
        progress.finish();
        seconds.knn = t.elapsed().as_secs_f64();

        let t = Instant::now();
        let (sigmas, rhos) = smooth_knn_dist(&nn, 0.0);
        let strengths = membership_strengths(&nn, &sigmas, &rhos, true);
        let mut init = vec![0f32; m * c];
        for i in 0..m {
            let w = &strengths[i * nn.k..(i + 1) * nn.k];
            let total: f32 = w.iter().sum();
            for (j, &p) in nn.row(i).iter().enumerate() {
                let share = if total > 0.0 {
                    w[j] / total
                } else {
                    1.0 / nn.k as f32
                };
                for d in 0..c {
                    init[i * c + d] += share * self.embedding[p as usize * c + d];
                }
            }
        }
        let n_epochs = self.params.transform_epochs(m);
        let mut graph = bipartite(&nn, &strengths);
        graph.prune_for_epochs(n_epochs);
        seconds.graph = t.elapsed().as_secs_f64();

        let t = Instant::now();
        let head = SharedEmbedding::new(&init, c);
        let tail = SharedEmbedding::new(&self.embedding, c);
        progress.start("transform epochs", n_epochs as u64);
        optimize(
            &head,
            Some(&tail),
            &graph,
            &LayoutSettings {
                a: self.a,
                b: self.b,
                gamma: self.params.repulsion_strength as f32,
                initial_alpha: self.params.learning_rate as f32 / 4.0,
                negative_sample_rate: self.params.negative_sample_rate as f32,
                n_epochs,
                move_other: false,
                seed: self.params.seed ^ 0x5eed,
            },
            &mut |e| progress.set(e as u64),
        );
        progress.finish();
        seconds.layout = t.elapsed().as_secs_f64();
        let mut placed = head.to_vec();
        // A copy of a fitted point is that point: it takes its embedding.
        for i in 0..m {
            let p = nn.row(i)[0] as usize;
            if is_copy(
                &q[i * dim..(i + 1) * dim],
                &self.inputs[p * dim..(p + 1) * dim],
            ) {
                placed[i * c..(i + 1) * c].copy_from_slice(&self.embedding[p * c..(p + 1) * c]);
            }
        }
        Ok((placed, seconds))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `per` points around each of `k` centres in `dim` dimensions, far apart.
    fn blobs(k: usize, per: usize, dim: usize, seed: u64) -> (Vec<f32>, Vec<usize>) {
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(seed);
        let mut x = Vec::new();
        let mut labels = Vec::new();
        for i in 0..k * per {
            let c = i % k;
            for d in 0..dim {
                let centre = if d % k == c { 20.0 } else { 0.0 };
                x.push(centre + rng.gen_range(-1.0f32..1.0));
            }
            labels.push(c);
        }
        (x, labels)
    }

    fn threads<T: Send>(n: usize, f: impl FnOnce() -> T + Send) -> T {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .unwrap()
            .install(f)
    }

    fn one_thread<T: Send>(f: impl FnOnce() -> T + Send) -> T {
        threads(1, f)
    }

    fn small() -> UmapParams {
        UmapParams {
            n_components: 2,
            n_neighbors: 10,
            n_epochs: Some(100),
            ..UmapParams::default()
        }
    }

    /// Fraction of points whose `k` nearest embedded points share their label.
    fn neighbour_purity(y: &[f32], c: usize, labels: &[usize], k: usize) -> f64 {
        let nn = crate::knn::nearest(y, y, c, k + 1, &|_| {});
        let agree = (0..labels.len())
            .filter(|&i| {
                nn.row(i)[1..]
                    .iter()
                    .all(|&j| labels[j as usize] == labels[i])
            })
            .count();
        agree as f64 / labels.len() as f64
    }

    #[test]
    fn separated_clusters_stay_apart() {
        let (x, labels) = blobs(4, 60, 8, 1);
        let fitted = fit(&small(), &x, 8, &Quiet).unwrap();
        assert!(fitted.embedding.iter().all(|v| v.is_finite()));
        let purity = neighbour_purity(&fitted.embedding, 2, &labels, 5);
        assert_eq!(
            purity, 1.0,
            "every point's 5 nearest embedded points share its cluster"
        );
    }

    #[test]
    fn transformed_points_land_next_to_their_train_neighbours() {
        let (x, labels) = blobs(3, 80, 6, 2);
        let (q, q_labels) = blobs(3, 10, 6, 3);
        let fitted = fit(&small(), &x, 6, &Quiet).unwrap();
        let (y, _) = fitted.transform(&q, &Quiet).unwrap();
        // The nearest fitted point in the embedding has the new point's cluster.
        let nn = crate::knn::nearest(&y, &fitted.embedding, 2, 1, &|_| {});
        for (i, &l) in q_labels.iter().enumerate() {
            assert_eq!(labels[nn.row(i)[0] as usize], l, "new point {i}");
        }
    }

    #[test]
    fn same_seed_one_thread_same_embedding() {
        let (x, _) = blobs(3, 40, 5, 4);
        let run = |seed| {
            one_thread(|| {
                fit(&UmapParams { seed, ..small() }, &x, 5, &Quiet)
                    .unwrap()
                    .embedding
            })
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
    }

    #[test]
    fn the_embedding_does_not_depend_on_the_thread_count() {
        // Over 4,096 rows, so the spectral start's sums and the layout span several
        // chunks; a fit and a transform, on 1 and on 3 threads.
        let (x, _) = blobs(3, 1400, 4, 9);
        let (q, _) = blobs(3, 20, 4, 10);
        let params = UmapParams {
            n_epochs: Some(30),
            ..small()
        };
        let run = |n| {
            threads(n, || {
                let fitted = fit(&params, &x, 4, &Quiet).unwrap();
                let (placed, _) = fitted.transform(&q, &Quiet).unwrap();
                (fitted.embedding, placed)
            })
        };
        let (one, three) = (run(1), run(3));
        assert_eq!(one.0.len(), 4200 * 2);
        assert_eq!(one, three);
    }

    #[test]
    fn cosine_distances_are_one_minus_cos() {
        let (x, _) = blobs(2, 15, 4, 6);
        let unit = Metric::Cosine.rows(&x, 4);
        let mut nn = nearest(&unit, &unit, 4, 5, &|_| {});
        Metric::Cosine.distances(&mut nn);
        let cos = |a: &[f32], b: &[f32]| {
            let dot: f32 = a.iter().zip(b).map(|(u, v)| u * v).sum();
            let norm = |r: &[f32]| r.iter().map(|v| v * v).sum::<f32>().sqrt();
            dot / (norm(a) * norm(b))
        };
        for i in 0..30 {
            for (&j, &d) in nn.row(i).iter().zip(nn.row_distances(i)) {
                let want = 1.0 - cos(&x[i * 4..i * 4 + 4], &x[j as usize * 4..j as usize * 4 + 4]);
                assert!(
                    (d - want).abs() < 1e-5,
                    "point {i}, neighbour {j}: {d} vs {want}"
                );
            }
        }
    }

    #[test]
    fn cosine_ignores_the_length_of_rows() {
        let (x, _) = blobs(3, 40, 5, 7);
        let (q, _) = blobs(3, 5, 5, 8);
        // Every row scaled by its own power of two, 1/2 to 8 (exact in floating point, so
        // the unit rows are the same bits and the embeddings must be too).
        let scale = |v: &[f32], seed| {
            let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(seed);
            v.chunks_exact(5)
                .flat_map(|r| {
                    let f = 2f32.powi(rng.gen_range(-1..=3));
                    r.iter().map(move |x| x * f)
                })
                .collect::<Vec<f32>>()
        };
        let cosine = UmapParams {
            metric: Metric::Cosine,
            ..small()
        };
        let run = |x: &[f32], q: &[f32]| {
            one_thread(|| {
                let fitted = fit(&cosine, x, 5, &Quiet).unwrap();
                let (y, _) = fitted.transform(q, &Quiet).unwrap();
                (fitted.embedding, y)
            })
        };
        let (plain, plain_q) = run(&x, &q);
        let (scaled, scaled_q) = run(&scale(&x, 1), &scale(&q, 2));
        assert_eq!(plain, scaled, "fit");
        assert_eq!(plain_q, scaled_q, "transform");
        // Euclidean does see the lengths.
        let euclid = |x: &[f32]| one_thread(|| fit(&small(), x, 5, &Quiet).unwrap().embedding);
        assert_ne!(euclid(&x), euclid(&scale(&x, 1)));
    }

    #[test]
    fn settings_without_a_metric_read_as_euclidean() {
        let mut json = serde_json::to_value(UmapParams::default()).unwrap();
        json.as_object_mut().unwrap().remove("metric");
        let back: UmapParams = serde_json::from_value(json).unwrap();
        assert_eq!(back.metric, Metric::Euclidean);
        assert_eq!(back, UmapParams::default());
    }

    #[test]
    fn impossible_settings_and_data_are_errors() {
        let (x, _) = blobs(2, 10, 4, 5);
        let err = |p: UmapParams, x: &[f32]| fit(&p, x, 4, &Quiet).unwrap_err().to_string();
        assert!(err(
            UmapParams {
                n_neighbors: 21,
                ..small()
            },
            &x
        )
        .contains("--n-neighbors 21 is larger than the 20 points"));
        assert!(err(
            UmapParams {
                n_components: 0,
                ..small()
            },
            &x
        )
        .contains("--n-components must be at least 1"));
        assert!(err(
            UmapParams {
                n_components: 5,
                ..small()
            },
            &x
        )
        .contains("exceeds the 4 input dimensions"));
        assert!(err(
            UmapParams {
                min_dist: -1.0,
                ..small()
            },
            &x
        )
        .contains("--min-dist"));
        let mut nan = x.clone();
        nan[9] = f32::NAN;
        assert!(err(small(), &nan).contains("non-finite value NaN at row 2, column 1"));
    }
}
