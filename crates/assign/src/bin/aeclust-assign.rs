//! `aeclust-assign`: new images in the clusters of an existing clustering.

use std::path::PathBuf;

use aeclust_assign::{run, sort_into, sorted_rows, AssignParams, NewInput, SortMode};
use anyhow::{bail, Context, Result};
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};

/// Assigns new images to the clusters of a clustering artifact (from aeclust-cluster or
/// aeclust-cluster-scan). The images are read as the clustering's dataset recorded (size,
/// fit, background, channels), encoded and transformed by the same fitted models, and
/// predicted by the clustering's own model. Writes an assignment artifact to --out:
/// `assignments.csv` (`file,cluster,confidence,novel,novelty[,class]`, one row per image)
/// and `assignments.safetensors`. An image is `novel` when its novelty score is above the
/// --novelty-quantile of the scores of the train images in its cluster. With class
/// sub-folders, the manifest holds accuracy, NMI and ARI against them.
#[derive(Debug, Parser)]
#[command(version, about)]
#[command(group = clap::ArgGroup::new("new").required(true))]
struct Args {
    /// Clustering artifact directory.
    #[arg(long)]
    clustering: PathBuf,
    /// Folder of new images (one sub-folder per class: labelled).
    #[arg(long, group = "new")]
    images: Option<PathBuf>,
    /// Or: a directory of the four IDX files (both splits; Fashion-MNIST's layout).
    #[arg(long, value_name = "IDX_DIR", group = "new")]
    source: Option<PathBuf>,
    /// Or: a dataset artifact (both splits), e.g. from `aeclust-dataset --source IDX_DIR`.
    #[arg(long, group = "new")]
    data: Option<PathBuf>,
    /// Output artifact directory.
    #[arg(long)]
    out: PathBuf,
    /// Also lay the images out in SORT_DIR (absent or empty): one sub-folder per cluster
    /// (`cluster-03`, plus the majority class when labelled) of symbolic links.
    #[arg(long, value_name = "SORT_DIR")]
    into: Option<PathBuf>,
    /// With --into: copies instead of symbolic links.
    #[arg(long, requires = "into")]
    copy: bool,
    /// Novel: a novelty score above this quantile of the cluster's train scores.
    #[arg(long, default_value_t = 0.99)]
    novelty_quantile: f64,
    /// Skip undecodable images (listed in the manifest) instead of failing.
    #[arg(long)]
    skip_bad: bool,
    /// Read colour images for a grey clustering as grey (and a folder of grey images for a
    /// colour clustering as RGB) instead of refusing them.
    #[arg(long)]
    convert: bool,
    /// Read sub-folders as one unlabelled tree, not as classes.
    #[arg(long)]
    unlabelled: bool,
    /// Rebuild even if a valid artifact exists.
    #[arg(long)]
    force: bool,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    aeclust_cli::run(args.threads, || run_cli(&args))
}

fn run_cli(args: &Args) -> Result<()> {
    let input = match (&args.images, &args.source, &args.data) {
        (Some(dir), None, None) => NewInput::Images(dir.clone()),
        (None, Some(dir), None) => NewInput::Idx(dir.clone()),
        (None, None, Some(dir)) => NewInput::Data(dir.clone()),
        _ => bail!("give one of --images, --source or --data"),
    };
    if let Some(dir) = &args.into {
        // Refused before any work, so a long run does not end in this error.
        aeclust_assign::sort::check_free(dir)?;
    }
    let params = AssignParams {
        quantile: args.novelty_quantile,
        skip_bad: args.skip_bad,
        convert: args.convert,
        unlabelled: args.unlabelled,
    };
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {elapsed:>4} read {pos} images ({per_sec})")
            .expect("template"),
    );
    let outcome = run(
        &args.clustering,
        &input,
        &params,
        &args.out,
        args.force,
        &|| bar.inc(1),
    )
    .with_context(|| format!("assigning to {}", args.clustering.display()))?;
    bar.finish_and_clear();
    aeclust_cli::announce("assign", &args.out, &outcome, "same clustering and images");
    let (rows, info) = sorted_rows(&args.out)?;
    println!(
        "assign: {} images in {} clusters (sizes {:?}); {} novel (above the {} quantile of \
         their cluster's train scores)",
        info.n, info.k, info.cluster_sizes, info.novelty.n_novel, info.novelty.quantile
    );
    if let Some(a) = &info.agreement {
        println!(
            "assign: against the folder's {} classes: accuracy {:.4}, NMI {:.4}, ARI {:.4}",
            info.classes.len(),
            a.accuracy,
            a.nmi,
            a.ari
        );
    }
    for (file, why) in &info.skipped {
        eprintln!("skipped {file}: {why}");
    }
    for (file, what) in &info.warnings {
        eprintln!("warning: {file}: {what}");
    }
    if let Some(dir) = &args.into {
        let mode = if args.copy {
            SortMode::Copy
        } else {
            SortMode::Link
        };
        let n = sort_into(&rows, info.k, &info.majority, dir, mode)?;
        println!(
            "assign: sorted {n} images into {} ({} folders of {})",
            dir.display(),
            info.k,
            if args.copy {
                "copies"
            } else {
                "symbolic links"
            }
        );
    }
    Ok(())
}
