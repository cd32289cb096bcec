//! `aeclust-encode-pca`: principal components of a dataset or codes artifact as codes.

use std::path::PathBuf;

use aeclust_artifact::kinds::CodesInfo;
use aeclust_encoder_pca::{run, PcaDetails, PcaParams};
use anyhow::{Context, Result};
use clap::Parser;

/// Fits PCA on the train split of a dataset artifact (pixels scaled to [0, 1]) or a codes
/// artifact, and writes the projections of both splits as a codes artifact. PCA here is
/// deterministic (a fixed start basis), so it takes no seed.
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
    /// Recompute even when an identical artifact exists.
    #[arg(long)]
    force: bool,
}

fn main() -> std::process::ExitCode {
    aeclust_cli::tune_allocator();
    aeclust_cli::report(run_cli(Args::parse()))
}

fn run_cli(args: Args) -> Result<()> {
    let params = PcaParams {
        components: args.components,
        whiten: args.whiten,
    };
    let outcome = run(&params, &args.data, &args.out, args.force)
        .with_context(|| format!("PCA of {} failed", args.data.display()))?;
    aeclust_cli::announce(
        "encode-pca",
        &args.out,
        &outcome,
        "same input and parameters",
    );
    let info: CodesInfo<PcaDetails> = outcome.manifest.info_as(&args.out)?;
    println!(
        "  {} components{}, {:.1} % of the variance",
        info.details.pca.components,
        if info.details.pca.whiten {
            " (whitened)"
        } else {
            ""
        },
        info.details.explained_variance_ratio * 100.0
    );
    Ok(())
}
