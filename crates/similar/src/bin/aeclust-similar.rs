//! `aeclust-similar`: look-alikes among the images a codes artifact encodes.

use std::io::Write;
use std::path::PathBuf;

use aeclust_similar::{duplicate_groups, median_nearest_distance, Fitted};
use anyhow::{bail, Context, Result};
use clap::Parser;

/// Lists groups of near-identical images among those a codes artifact encodes (its train
/// split): images joined when one is among the other's --neighbours nearest in the codes
/// (exact, Euclidean) within --duplicates of it. Prints CSV to standard output, one row
/// per image in a group, largest group first: `group,size,file,distance` (distance: to
/// the nearest other member). A summary goes to standard error, with the codes' median
/// nearest-neighbour distance to read the threshold against (0 finds exact copies only).
#[derive(Debug, Parser)]
#[command(version, about, allow_negative_numbers = true)]
struct Args {
    /// Codes artifact directory (from aeclust-encode, -encode-pca or -encode-umap).
    #[arg(long)]
    codes: PathBuf,
    /// Largest distance between two images counted as near-identical.
    #[arg(long, value_name = "THRESHOLD")]
    duplicates: f32,
    /// Nearest neighbours each image is compared with.
    #[arg(long, default_value_t = 10)]
    neighbours: usize,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    aeclust_cli::run(args.threads, || run_cli(&args))
}

fn run_cli(args: &Args) -> Result<()> {
    if !(args.duplicates.is_finite() && args.duplicates >= 0.0) {
        bail!(
            "--duplicates {}: must be a distance of 0 or more",
            args.duplicates
        );
    }
    if args.neighbours == 0 {
        bail!("--neighbours must be at least 1");
    }
    let fitted = Fitted::open(&args.codes)
        .with_context(|| format!("reading the codes {}", args.codes.display()))?;
    let (codes, dim) = (&fitted.codes.codes, fitted.codes.dim);
    let groups = duplicate_groups(codes, dim, args.duplicates, args.neighbours);
    let mut out = std::io::stdout().lock();
    writeln!(out, "group,size,file,distance")?;
    for (g, group) in groups.iter().enumerate() {
        for m in &group.members {
            writeln!(
                out,
                "{g},{},{},{}",
                group.members.len(),
                aeclust_cli::csv_field(&fitted.sources[m.row]),
                m.distance
            )?;
        }
    }
    out.flush()?;
    let images: usize = groups.iter().map(|g| g.members.len()).sum();
    eprintln!(
        "similar: {} groups of near-identical images ({images} of {} images) within {} in \
         {} ({dim}-d codes; median distance to the nearest other image {:.4})",
        groups.len(),
        fitted.codes.len(),
        args.duplicates,
        args.codes.display(),
        median_nearest_distance(codes, dim)
    );
    Ok(())
}
