//! `aeclust-similar`: look-alikes among the images a codes artifact encodes.

use std::io::Write;
use std::path::PathBuf;

use aeclust_similar::{duplicate_groups, look_alikes, median_nearest_distance, Fitted};
use anyhow::{bail, Context, Result};
use clap::Parser;

/// Look-alikes among the images a codes artifact encodes (its train split), by exact
/// Euclidean distance in the codes.
///
/// With --images QUERY_DIR: the --n nearest fitted images of every image in QUERY_DIR,
/// which are read and encoded as the codes were (the codes' chain replayed). CSV on
/// standard output: `query,rank,file,distance`, rank 1 the nearest.
///
/// With --duplicates THRESHOLD: groups of near-identical fitted images, joined when one
/// is among the other's --neighbours nearest within THRESHOLD of it. CSV on standard
/// output, one row per image in a group, largest group first: `group,size,file,distance`
/// (distance: to the nearest other member). A summary goes to standard error, with the
/// codes' median nearest-neighbour distance to read the threshold against (0 finds exact
/// copies only).
#[derive(Debug, Parser)]
#[command(version, about, allow_negative_numbers = true)]
struct Args {
    /// Codes artifact directory (from aeclust-encode, -encode-pca or -encode-umap).
    #[arg(long)]
    codes: PathBuf,
    /// Largest distance between two images counted as near-identical.
    #[arg(
        long,
        value_name = "THRESHOLD",
        required_unless_present = "images",
        conflicts_with = "images"
    )]
    duplicates: Option<f32>,
    /// Folder of query images whose look-alikes to list.
    #[arg(long, value_name = "QUERY_DIR")]
    images: Option<PathBuf>,
    /// With --images: look-alikes per query image.
    #[arg(long, default_value_t = 10, requires = "images")]
    n: usize,
    /// With --images: skip undecodable query images instead of failing.
    #[arg(long, requires = "images")]
    skip_bad: bool,
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
    match (args.duplicates, &args.images) {
        (_, Some(queries)) => query(args, queries),
        (Some(threshold), None) => duplicates(args, threshold),
        (None, None) => bail!("give --images QUERY_DIR or --duplicates THRESHOLD"),
    }
}

fn query(args: &Args, queries: &std::path::Path) -> Result<()> {
    let fitted = Fitted::open(&args.codes)
        .with_context(|| format!("reading the codes {}", args.codes.display()))?;
    let found = look_alikes(&args.codes, &fitted, queries, args.n, args.skip_bad)
        .with_context(|| format!("look-alikes of {}", queries.display()))?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "query,rank,file,distance")?;
    for l in &found {
        writeln!(
            out,
            "{},{},{},{}",
            aeclust_cli::csv_field(&l.query),
            l.rank,
            aeclust_cli::csv_field(&fitted.sources[l.row]),
            l.distance
        )?;
    }
    out.flush()?;
    eprintln!(
        "similar: the {} nearest of {} fitted images for {} query images in {}",
        args.n,
        fitted.codes.len(),
        found.len() / args.n.max(1),
        queries.display()
    );
    Ok(())
}

fn duplicates(args: &Args, threshold: f32) -> Result<()> {
    if !(threshold.is_finite() && threshold >= 0.0) {
        bail!("--duplicates {threshold}: must be a distance of 0 or more");
    }
    if args.neighbours == 0 {
        bail!("--neighbours must be at least 1");
    }
    let fitted = Fitted::open(&args.codes)
        .with_context(|| format!("reading the codes {}", args.codes.display()))?;
    let (codes, dim) = (&fitted.codes.codes, fitted.codes.dim);
    let groups = duplicate_groups(codes, dim, threshold, args.neighbours);
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
        threshold,
        args.codes.display(),
        median_nearest_distance(codes, dim)
    );
    Ok(())
}
