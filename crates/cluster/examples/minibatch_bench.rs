//! Mini-batch K-Means on a stream of points never held together, against full K-Means
//! on a sample: `cargo run --release -p aeclust-cluster --example minibatch_bench --
//! [ROWS] [DIM] [K] [BATCH]` (default 1,000,000 × 64, k = 20, batches of 10,000; a
//! seeded Gaussian mixture of k centres, made batch by batch). Prints the time of each
//! and the mean squared distance to the nearest centre (the K-Means objective per row)
//! of both models over every streamed row and over the sample. Run it under
//! `/usr/bin/time -v` for the peak memory. linfa-clustering's incremental K-Means (its
//! `FitWith`) runs over the same batches for comparison.

use std::time::Instant;

use aeclust_cluster::kmeans::MiniBatchKMeans;
use aeclust_cluster::KMeans;
use linfa::traits::{Fit, FitWith};
use linfa::DatasetBase;
use linfa::ParamGuard;
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

/// Batch `b` of the stream: `rows` points around the mixture's `centres` (sd 1).
fn batch(centres: &Array2<f32>, b: u64, rows: usize) -> Array2<f32> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(1_000 + b);
    let (k, dim) = centres.dim();
    let mut x = Array2::zeros((rows, dim));
    for mut row in x.outer_iter_mut() {
        let c = centres.row(rng.gen_range(0..k));
        for (v, &m) in row.iter_mut().zip(c) {
            let (u, w): (f32, f32) = (rng.gen_range(f32::EPSILON..1.0), rng.gen());
            *v = m + (-2.0 * u.ln()).sqrt() * (std::f32::consts::TAU * w).cos();
        }
    }
    x
}

/// Mean squared distance of the rows of the batches `0..batches` to `model`'s centres.
fn objective(model: &KMeans<f32>, centres: &Array2<f32>, batches: u64, rows: usize) -> f64 {
    let mut sum = 0f64;
    for b in 0..batches {
        let (_, d) = model.assign(batch(centres, b, rows).view());
        sum += d.iter().map(|&v| f64::from(v)).sum::<f64>();
    }
    sum / (batches as usize * rows) as f64
}

fn main() {
    let arg = |i: usize, d: usize| {
        std::env::args()
            .nth(i)
            .map_or(d, |s| s.parse().expect("a number"))
    };
    let (n, dim, k, rows) = (arg(1, 1_000_000), arg(2, 64), arg(3, 20), arg(4, 10_000));
    let batches = (n / rows) as u64;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(72);
    let centres = Array2::from_shape_fn((k, dim), |_| rng.gen_range(-3.0f32..3.0));
    let threads = rayon::current_num_threads();
    println!("{n} rows x {dim}, k = {k}, batches of {rows}, {threads} threads");

    let t = Instant::now();
    let mut mb = MiniBatchKMeans::start(batch(&centres, 0, rows).view(), k, 3, 72).unwrap();
    for b in 1..batches {
        mb.partial_fit(batch(&centres, b, rows).view()).unwrap();
    }
    let mb_seconds = t.elapsed().as_secs_f64();

    // Full K-Means on a 100,000-row sample (the first batches of the same stream).
    let sample_batches = (100_000 / rows).max(1) as u64;
    let mut sample = Array2::zeros((0, dim));
    for b in 0..sample_batches {
        sample
            .append(ndarray::Axis(0), batch(&centres, b, rows).view())
            .unwrap();
    }
    let t = Instant::now();
    let full = KMeans::<f32>::params(k)
        .n_init(3)
        .seed(72)
        .fit(&DatasetBase::from(sample))
        .unwrap();
    let full_seconds = t.elapsed().as_secs_f64();

    // linfa-clustering's incremental K-Means (`FitWith`, its mini-batch update) over the
    // same batches: k-means++ on the first batch (3 runs), then one update per batch.
    let t = Instant::now();
    let params =
        linfa_clustering::KMeans::params_with_rng(k, Xoshiro256PlusPlus::seed_from_u64(72))
            .n_runs(3)
            .tolerance(1e-12)
            .check()
            .unwrap();
    let mut linfa_model = None;
    for b in 0..batches {
        let data = DatasetBase::from(batch(&centres, b, rows));
        linfa_model = Some(match params.fit_with(linfa_model, &data) {
            Ok(m) | Err(linfa_clustering::IncrKMeansError::NotConverged(m)) => m,
            Err(e) => panic!("linfa: {e}"),
        });
    }
    let linfa_seconds = t.elapsed().as_secs_f64();
    let linfa_centres = KMeans::from_centroids(linfa_model.unwrap().centroids().clone());
    println!(
        "linfa-clustering incremental K-Means: {linfa_seconds:.2} s for {n} rows (batches \
         generated inside); objective on every row {:.4}",
        objective(&linfa_centres, &centres, batches, rows)
    );

    let mb_model = mb.model();
    println!(
        "mini-batch K-Means: {mb_seconds:.2} s for {n} rows (batches generated inside); \
         full K-Means on {} rows: {full_seconds:.2} s",
        sample_batches as usize * rows
    );
    for (what, b) in [("the sample", sample_batches), ("every row", batches)] {
        println!(
            "objective on {what}: mini-batch {:.4}, full (sample-fitted) {:.4}",
            objective(&mb_model, &centres, b, rows),
            objective(&full, &centres, b, rows)
        );
    }
}
