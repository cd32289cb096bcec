//! f32 matmul rate of candle's CPU backend on the autoencoder's own shapes (forward,
//! backward) and on 2048³, for `scripts/bench_train.sh --vs-keras`:
//!
//! ```text
//! cargo run --release -p aeclust-encoder-dense --example matmul_rate
//! ```

use std::time::Instant;

use candle_core::{Device, Tensor};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The binaries' set-up: allocator tuning, every core.
    aeclust_cli::configure(None)?;
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
    Ok(())
}
