//! `aeclust-encode-pca`: principal components of a dataset or codes artifact as codes.

use std::path::PathBuf;

use aeclust_encoder_pca::{run, PcaParams};
use anyhow::{Context, Result};
use clap::Parser;

/// Fits PCA on the train split of a dataset artifact (pixels scaled to [0, 1]) or a codes
/// artifact, and writes the projections of both splits as a codes artifact.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Dataset or codes artifact directory.
    #[arg(long, default_value = "artifacts/dataset")]
    data: PathBuf,
    /// Output directory.
    #[arg(long, default_value = "artifacts/codes-pca")]
    out: PathBuf,
    /// Number of principal components.
    #[arg(long, default_value_t = 50)]
    components: usize,
    /// Scale every component to unit variance.
    #[arg(long)]
    whiten: bool,
    /// Accepted for symmetry with the other stages; PCA here is deterministic.
    #[arg(long, default_value_t = 72)]
    seed: u64,
    /// Recompute even when an identical artifact exists.
    #[arg(long)]
    force: bool,
}

fn main() -> std::process::ExitCode {
    aeclust_artifact::cli::report(run_cli(Args::parse()))
}

fn run_cli(args: Args) -> Result<()> {
    let params = PcaParams {
        components: args.components,
        whiten: args.whiten,
    };
    let outcome = run(&params, &args.data, &args.out, args.force)
        .with_context(|| format!("PCA of {} failed", args.data.display()))?;
    aeclust_artifact::cli::announce(
        "encode-pca",
        &args.out,
        &outcome,
        "same input and parameters",
    );
    let manifest = outcome.manifest;
    println!(
        "  {} components{}, {:.1} % of the variance",
        args.components,
        if args.whiten { " (whitened)" } else { "" },
        manifest.info["explained_variance_ratio"]
            .as_f64()
            .unwrap_or(f64::NAN)
            * 100.0
    );
    Ok(())
}
