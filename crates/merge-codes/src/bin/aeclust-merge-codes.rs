//! `aeclust-merge-codes`: the codes of a folder's shards as the codes of the whole folder.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Parser;

/// Joins the codes artifacts of a folder's shards (each encoded from the dataset of
/// `aeclust-dataset --images DIR --shard I/N`) into one codes artifact of the merged
/// dataset (`aeclust-dataset --merge`): the same files as encoding the merged dataset
/// whole, so clustering, reports and assignment use it as they would those.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// The shards' codes artifacts, comma-separated, in any order (each shard once).
    #[arg(long, value_delimiter = ',', required = true)]
    shards: Vec<PathBuf>,
    /// The merged dataset artifact (`aeclust-dataset --merge` of the same shards).
    #[arg(long)]
    dataset: PathBuf,
    /// Output directory.
    #[arg(long)]
    out: PathBuf,
    /// Rebuild even if a valid artifact exists.
    #[arg(long)]
    force: bool,
}

fn main() -> std::process::ExitCode {
    aeclust_cli::report(run_cli(Args::parse()))
}

fn run_cli(args: Args) -> Result<()> {
    let outcome = aeclust_merge_codes::merge(&args.shards, &args.dataset, &args.out, args.force)
        .with_context(|| format!("merging the codes of {} shards", args.shards.len()))?;
    aeclust_cli::announce("merge-codes", &args.out, &outcome, "same shards");
    Ok(())
}
