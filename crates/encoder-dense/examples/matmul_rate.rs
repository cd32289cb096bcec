//! f32 matmul rate of candle's CPU backend on the autoencoder's own shapes (forward,
//! backward) and on 2048³, and the rate of the 23 products of one training step as the
//! step runs them (`products::run`: candle's gemm, or OpenBLAS with `--features
//! openblas`), for `scripts/bench_train.sh --vs-keras`:
//!
//! ```text
//! cargo run --release -p aeclust-encoder-dense --example matmul_rate [--features openblas]
//! ```

use std::time::Instant;

use candle_core::{Device, Tensor};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The binaries' set-up: allocator tuning, every core.
    aeclust_cli::configure(None)?;
    #[cfg(feature = "openblas")]
    aeclust_encoder_dense::blas::ensure_vector_kernels();
    let device = Device::Cpu;
    for (m, k, n) in [
        (256, 784, 900),
        (256, 900, 480),
        (900, 256, 784),
        (2048, 2048, 2048),
    ] {
        let a = Tensor::rand(0f32, 1.0, (m, k), &device)?;
        let b = Tensor::rand(0f32, 1.0, (k, n), &device)?;
        a.matmul(&b)?;
        let repeats = if m < 2048 { 20 } else { 3 };
        let mut times = Vec::with_capacity(repeats);
        for _ in 0..repeats {
            let t = Instant::now();
            let c = a.matmul(&b)?;
            std::hint::black_box(&c);
            times.push(t.elapsed().as_secs_f64());
        }
        times.sort_by(f64::total_cmp);
        let rate = 2.0 * (m * k * n) as f64 / times[times.len() / 2] / 1e9;
        println!("candle f32 matmul {m}x{k}x{n}: {rate:.1} GFLOP/s");
    }
    let backend = if cfg!(feature = "openblas") {
        "OpenBLAS"
    } else {
        "candle's gemm"
    };
    println!(
        "training step's products alone ({backend}, batch 256): {:.1} GFLOP/s",
        step_products_rate()
    );
    Ok(())
}

/// GFLOP/s of one training step's products (forward, weight gradients, input gradients
/// but the first layer's) of the study's network, median of 30 steps after 5 warm-ups.
fn step_products_rate() -> f64 {
    use aeclust_encoder_dense::products::{run, Product};
    let widths = [784usize, 900, 480, 240, 120, 240, 480, 900, 784];
    let rows = 256;
    let mut layers: Vec<_> = widths
        .windows(2)
        .map(|w| {
            let (i, o) = (w[0], w[1]);
            let buf = |n: usize| vec![0.25f32; n];
            (
                i,
                o,
                buf(rows * i),
                buf(o * i),
                buf(rows * o),
                buf(o * i),
                buf(rows * i),
            )
        })
        .collect();
    let flops: usize = layers
        .iter()
        .enumerate()
        .map(|(l, (i, o, ..))| if l == 0 { 4 } else { 6 } * rows * i * o)
        .sum();
    let mut times = Vec::new();
    for rep in 0..35 {
        let t = Instant::now();
        for (l, (i, o, x, w, y, dw, dx)) in layers.iter_mut().enumerate() {
            run(vec![Product::new((rows, *o, *i), (x, false), (w, true), y)]);
            let dw = Product::new((*o, *i, rows), (y, true), (x, false), dw);
            if l == 0 {
                run(vec![dw]);
            } else {
                run(vec![
                    dw,
                    Product::new((rows, *i, *o), (y, false), (w, false), dx),
                ]);
            }
        }
        if rep >= 5 {
            times.push(t.elapsed().as_secs_f64());
        }
    }
    times.sort_by(f64::total_cmp);
    flops as f64 / times[times.len() / 2] / 1e9
}
