//! Measures what verified reads cost: SHA-256 of the given files with the artifact
//! crate's hasher, `--runs` times, and prints the median time and throughput.
//!
//! ```sh
//! cargo run --release -p aeclust-artifact --example hash_throughput -- --runs 5 FILE...
//! ```

use std::time::Instant;

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut runs = 5usize;
    if let Some(i) = args.iter().position(|a| a == "--runs") {
        runs = args[i + 1].parse().expect("--runs N");
        args.drain(i..=i + 1);
    }
    assert!(
        !args.is_empty(),
        "usage: hash_throughput [--runs N] FILE..."
    );
    let bytes: u64 = args
        .iter()
        .map(|f| std::fs::metadata(f).expect("readable file").len())
        .sum();
    let mut seconds = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        for f in &args {
            aeclust_artifact::sha256_file(f.as_ref()).expect("hash");
        }
        seconds.push(t.elapsed().as_secs_f64());
    }
    seconds.sort_by(f64::total_cmp);
    let median = seconds[seconds.len() / 2];
    println!(
        "{} files, {:.1} MB: median {:.3} s over {runs} runs ({:.0} MB/s); min {:.3} s, max {:.3} s",
        args.len(),
        bytes as f64 / 1e6,
        median,
        bytes as f64 / 1e6 / median,
        seconds[0],
        seconds[seconds.len() - 1]
    );
}
