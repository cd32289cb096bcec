//! Writes a codes artifact of a seeded Gaussian mixture, to benchmark the clustering
//! stage on more rows than the real data has: `cargo run --release -p aeclust-cluster
//! --example mixture_codes -- OUT [ROWS] [DIM] [K]` (default 1,000,000 × 64, k = 20,
//! centres uniform in [-3, 3], sd 1; 1,000 test rows; the component is each row's label).
//! `scripts/bench_minibatch.sh` runs `aeclust-cluster` on it, full and mini-batch.

use aeclust_artifact::fixtures;
use aeclust_artifact::kinds::CodesSplit;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

/// `n` rows around `centres` (`k` × `dim`, row-major), from `seed`.
fn mixture(centres: &[f32], dim: usize, n: usize, seed: u64) -> CodesSplit {
    let k = centres.len() / dim;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut codes = Vec::with_capacity(n * dim);
    let mut labels = Vec::with_capacity(n);
    for _ in 0..n {
        let c = rng.gen_range(0..k);
        labels.push(c as u8);
        for &m in &centres[c * dim..(c + 1) * dim] {
            let (u, w): (f32, f32) = (rng.gen_range(f32::EPSILON..1.0), rng.gen());
            codes.push(m + (-2.0 * u.ln()).sqrt() * (std::f32::consts::TAU * w).cos());
        }
    }
    CodesSplit {
        codes,
        labels: Some(labels),
        dim,
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let out = std::path::PathBuf::from(
        args.get(1)
            .expect("usage: mixture_codes OUT [ROWS] [DIM] [K]"),
    );
    let arg = |i: usize, d: usize| args.get(i).map_or(d, |s| s.parse().expect("a number"));
    let (n, dim, k) = (arg(2, 1_000_000), arg(3, 64), arg(4, 20));
    assert!(k <= 256, "labels are bytes: k at most 256");
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(72);
    let centres: Vec<f32> = (0..k * dim).map(|_| rng.gen_range(-3.0f32..3.0)).collect();
    let train = mixture(&centres, dim, n, 1);
    let test = mixture(&centres, dim, 1_000, 2);
    fixtures::codes(&out, &train, &test, &out).expect("writing the codes artifact");
    println!(
        "{}: {n} x {dim} rows of a {k}-component mixture",
        out.display()
    );
}
