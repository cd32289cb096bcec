//! `aeclust-evaluate`: metrics, pictures and a report for clustering artifacts.

use std::path::PathBuf;

use aeclust_artifact::kinds::ReportInfo;
use anyhow::{Context, Result};
use clap::Parser;

/// Scores clustering artifacts against the labels when there are labels (accuracy after
/// Hungarian mapping, purity, NMI, ARI, confusion matrices) and always without them
/// (silhouette, Calinski–Harabasz, Davies–Bouldin, BIC, cluster sizes, the most and least
/// typical members of each cluster), and writes report.json, report.md, PNG pictures and
/// assignments.csv. Clusterings that share a directory name (e.g. `seed-72/gmm-codes` and
/// `seed-1/gmm-codes`) are summarised as mean ± std over their seeds.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Output directory of the report.
    #[arg(long, default_value = "artifacts/report")]
    out: PathBuf,
    /// A codes artifact to draw as a map (its first two columns, e.g. a 2-D UMAP): a
    /// picture of its test split (train without one) coloured by true class, and on
    /// report.html an interactive map of every image; repeatable.
    #[arg(long)]
    map: Vec<PathBuf>,
    /// Do not write assignments.csv (one row per image and clustering: file, split,
    /// index, cluster, confidence, clustering, seed).
    #[arg(long)]
    no_assignments: bool,
    /// Also sort the images the clustering was fitted on (both splits; one clustering
    /// only) into this new or empty folder: one sub-folder per cluster (`cluster-03`,
    /// plus its majority class when labelled) of symbolic links to the original files.
    /// Nothing is moved, overwritten or deleted.
    #[arg(long)]
    into: Option<PathBuf>,
    /// With --into: copies instead of symbolic links.
    #[arg(long, requires = "into")]
    copy: bool,
    /// Rebuild even when an identical report exists.
    #[arg(long)]
    force: bool,
    /// Clustering artifact directories.
    #[arg(required = true)]
    clusterings: Vec<PathBuf>,
}

fn main() -> std::process::ExitCode {
    aeclust_cli::report(run_cli(Args::parse()))
}

fn run_cli(args: Args) -> Result<()> {
    if let Some(dir) = &args.into {
        if args.clusterings.len() != 1 {
            anyhow::bail!(
                "--into sorts the images of one clustering; {} were given",
                args.clusterings.len()
            );
        }
        // Refused before any work, so a long run does not end in this error.
        aeclust_sort::check_free(dir)?;
    }
    let options = aeclust_evaluate::ReportOptions {
        maps: args.map.clone(),
        assignments: !args.no_assignments,
    };
    let outcome = aeclust_evaluate::run(&args.clusterings, &options, &args.out, args.force)
        .context("evaluation failed")?;
    let info: ReportInfo = outcome.manifest.info_as(&args.out)?;
    aeclust_cli::announce("evaluate", &args.out, &outcome, "same clusterings");
    println!("\n{}", info.table);
    for g in &info.groups {
        if g.seeds_disagree_on_k() {
            let majority = g.k_of_most_seeds().map_or(String::new(), |(k, n)| {
                format!("; most ({n} of {}) propose {k}", g.seeds.len())
            });
            println!(
                "note: the seeds of `{}` propose different k: {}{majority} (report.md, \"Number of clusters\")",
                g.name,
                g.k_by_seed()
            );
        }
    }
    for w in &info.warnings {
        println!("warning: {w}");
    }
    println!(
        "report: {}",
        args.out.join(ReportInfo::MARKDOWN_FILE).display()
    );
    if !args.no_assignments {
        println!(
            "assignments: {}",
            args.out.join(ReportInfo::ASSIGNMENTS_FILE).display()
        );
    }
    if let Some(dir) = &args.into {
        let mode = if args.copy {
            aeclust_evaluate::SortMode::Copy
        } else {
            aeclust_evaluate::SortMode::Link
        };
        let n = aeclust_evaluate::sort_fitted(&args.clusterings[0], dir, mode)
            .with_context(|| format!("sorting into {}", dir.display()))?;
        println!(
            "sorted {n} images into {} ({})",
            dir.display(),
            if args.copy {
                "copies"
            } else {
                "symbolic links"
            }
        );
    }
    Ok(())
}
