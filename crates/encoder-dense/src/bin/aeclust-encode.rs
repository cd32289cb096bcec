//! `aeclust-encode`: a trained dense encoder applied to both splits of a dataset.

use std::path::PathBuf;

use aeclust_artifact::kinds::CodesInfo;
use aeclust_encoder_dense::encode::DenseCodesDetails;
use aeclust_encoder_dense::{encode, runtime};
use anyhow::{Context, Result};
use clap::Parser;

/// Encodes the train and test images of a dataset artifact with a trained model and
/// writes a codes artifact (`codes` f32 [N, D], `labels` u8 [N] per split).
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Model artifact directory (from aeclust-train).
    #[arg(long, default_value = "artifacts/model")]
    model: PathBuf,
    /// Dataset artifact directory.
    #[arg(long, default_value = "artifacts/dataset")]
    data: PathBuf,
    /// Output directory.
    #[arg(long, default_value = "artifacts/codes")]
    out: PathBuf,
    /// Encoder layer whose output is the code (1-based; default: the model's code layer,
    /// 3 = 240-d for the study's model; 4 = the 120-d bottleneck).
    #[arg(long)]
    layer: Option<usize>,
    #[command(flatten)]
    runtime: runtime::RuntimeArgs,
    /// Re-encode even when an identical artifact exists.
    #[arg(long)]
    force: bool,
}

fn main() -> std::process::ExitCode {
    #[cfg(feature = "openblas")]
    aeclust_encoder_dense::blas::ensure_vector_kernels();
    let args = Args::parse();
    aeclust_cli::run(args.runtime.threads, || run_cli(args))
}

fn run_cli(args: Args) -> Result<()> {
    let device = args.runtime.device()?;
    let outcome = encode::run(
        &args.model,
        &args.data,
        &args.out,
        args.layer,
        &device,
        args.force,
    )
    .with_context(|| format!("encoding {} failed", args.data.display()))?;
    let info: CodesInfo<DenseCodesDetails> = outcome.manifest.info_as(&args.out)?;
    aeclust_cli::announce("encode", &args.out, &outcome, "same model, data and layer");
    println!(
        "  layer {}: train {}x{}, test {}x{}",
        info.details.layer, info.counts.train, info.dim, info.counts.test, info.dim
    );
    Ok(())
}
