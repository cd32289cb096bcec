//! `aeclust-dataset`: IDX or CSV image data to a `dataset` artifact.

use std::path::PathBuf;

use aeclust_artifact::kinds::DatasetInfo;
use aeclust_dataset::{run, ClassNames, DatasetParams, Input, DEFAULT_SOURCE_DIR};
use anyhow::{bail, Context, Result};
use clap::Parser;

/// Reads an image dataset (the four IDX files, gzipped or raw, or two CSV files), checks it
/// and writes `train.safetensors`, `test.safetensors` and `manifest.json`.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Directory with train-images-idx3-ubyte, train-labels-idx1-ubyte,
    /// t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte (each `.gz` or raw).
    #[arg(long, default_value = DEFAULT_SOURCE_DIR, conflicts_with_all = ["train_csv", "test_csv"])]
    source: PathBuf,
    /// Training CSV: label first, then one column per pixel; header row optional.
    #[arg(long, requires = "test_csv")]
    train_csv: Option<PathBuf>,
    /// Test CSV, same layout as --train-csv.
    #[arg(long, requires = "train_csv")]
    test_csv: Option<PathBuf>,
    /// Image shape of CSV rows as HxW (default: square).
    #[arg(long, value_parser = parse_shape)]
    shape: Option<(usize, usize)>,
    /// Keep only the first N images of each split.
    #[arg(long)]
    limit: Option<usize>,
    /// Class names: auto (Fashion-MNIST's when the files are the known release, else
    /// numbers), fashion-mnist, numbers, or a comma-separated list indexed by label.
    #[arg(long, default_value = "auto")]
    class_names: String,
    /// Output directory.
    #[arg(long, default_value = "artifacts/dataset")]
    out: PathBuf,
    /// Rebuild even when an identical artifact exists.
    #[arg(long)]
    force: bool,
}

fn parse_shape(s: &str) -> Result<(usize, usize), String> {
    let (h, w) = s
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("`{s}`: expected HxW, e.g. 28x28"))?;
    let parse = |v: &str| {
        v.trim()
            .parse::<usize>()
            .map_err(|_| format!("`{s}`: expected HxW, e.g. 28x28"))
    };
    Ok((parse(h)?, parse(w)?))
}

fn main() -> std::process::ExitCode {
    aeclust_cli::report(run_cli(Args::parse()))
}

fn run_cli(args: Args) -> Result<()> {
    let input = match (args.train_csv, args.test_csv) {
        (Some(train), Some(test)) => Input::Csv {
            train,
            test,
            shape: args.shape,
        },
        _ => {
            if args.shape.is_some() {
                bail!("--shape applies to CSV input only; IDX files carry their own shape");
            }
            Input::Idx { dir: args.source }
        }
    };
    let class_names = match args.class_names.as_str() {
        "auto" => ClassNames::Auto,
        "fashion-mnist" => ClassNames::FashionMnist,
        "numbers" => ClassNames::Numbers,
        list => ClassNames::List(list.split(',').map(|s| s.trim().to_string()).collect()),
    };
    let params = DatasetParams {
        input,
        limit: args.limit,
        class_names,
    };
    let outcome = run(&params, &args.out, args.force).context("dataset stage failed")?;
    let info: DatasetInfo = outcome.manifest.info_as(&args.out)?;
    aeclust_cli::announce("dataset", &args.out, &outcome, "same inputs and parameters");
    println!(
        "  train {} images, test {} images, {}x{}, {} classes{}",
        info.splits.train.count,
        info.splits.test.count,
        info.image_shape[0],
        info.image_shape[1],
        info.classes.len(),
        match &info.recognised {
            Some(r) => format!(" (content verified: {r})"),
            None => String::new(),
        }
    );
    Ok(())
}
