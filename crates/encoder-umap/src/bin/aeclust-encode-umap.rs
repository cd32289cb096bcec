//! `aeclust-encode-umap`: a UMAP embedding of codes (or pixels) as a codes artifact.

use std::path::PathBuf;
use std::sync::Mutex;

use aeclust_artifact::kinds::CodesInfo;
use aeclust_encoder_umap::stage::{run, transform, UmapDetails};
use aeclust_encoder_umap::{Init, Metric, Progress, UmapParams};
use anyhow::{Context, Result};
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};

/// Fits UMAP on the train split of a codes (or dataset) artifact and writes the embedding
/// of both splits as a codes artifact: the train split as fitted, the test split placed by
/// the fitted model (never refitted with it). With --transform, places both splits of
/// another artifact with an earlier fit instead.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Codes or dataset artifact directory.
    #[arg(long)]
    data: PathBuf,
    /// Output directory.
    #[arg(long)]
    out: PathBuf,
    /// A UMAP codes artifact written by an earlier fit: embed --data with it.
    #[arg(long)]
    transform: Option<PathBuf>,
    /// Dimensions of the embedding.
    #[arg(long, default_value_t = 10)]
    n_components: usize,
    /// Neighbours per point in the k-NN graph (the point itself included).
    #[arg(long, default_value_t = 20)]
    n_neighbors: usize,
    /// Distance between inputs.
    #[arg(long, value_enum, default_value = "euclidean")]
    metric: Metric,
    /// Smallest distance between embedded points.
    #[arg(long, default_value_t = 0.0)]
    min_dist: f64,
    /// Scale of embedded distances.
    #[arg(long, default_value_t = 1.0)]
    spread: f64,
    /// Layout epochs [default: 200 above 10,000 points, else 500].
    #[arg(long)]
    n_epochs: Option<usize>,
    /// Learning rate of the layout.
    #[arg(long, default_value_t = 1.0)]
    learning_rate: f64,
    /// Negative samples per positive sample.
    #[arg(long, default_value_t = 5)]
    negative_sample_rate: usize,
    /// Weight of the repulsion.
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    repulsion_strength: f64,
    /// Initial layout.
    #[arg(long, value_enum, default_value = "spectral")]
    init: Init,
    /// Seed of every random choice (the embedding is the same to the bit on any number of
    /// threads).
    #[arg(long, default_value_t = 72)]
    seed: u64,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Recompute even when an identical artifact exists.
    #[arg(long)]
    force: bool,
}

/// One indicatif bar per phase.
struct Bars(Mutex<Option<ProgressBar>>);

impl Progress for Bars {
    fn start(&self, phase: &str, total: u64) {
        let bar = ProgressBar::new(total);
        bar.set_style(
            ProgressStyle::with_template(&format!(
                "{phase:>20} [{{bar:30}}] {{pos}}/{{len}} {{elapsed}}"
            ))
            .expect("template")
            .progress_chars("=> "),
        );
        *self.0.lock().expect("bar") = Some(bar);
    }
    fn set(&self, done: u64) {
        if let Some(bar) = self.0.lock().expect("bar").as_ref() {
            bar.set_position(done);
        }
    }
    fn finish(&self) {
        if let Some(bar) = self.0.lock().expect("bar").take() {
            bar.finish_and_clear();
        }
    }
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    aeclust_cli::run(args.threads, || run_cli(args))
}

fn run_cli(args: Args) -> Result<()> {
    let params = UmapParams {
        n_components: args.n_components,
        n_neighbors: args.n_neighbors,
        metric: args.metric,
        min_dist: args.min_dist,
        spread: args.spread,
        n_epochs: args.n_epochs,
        learning_rate: args.learning_rate,
        negative_sample_rate: args.negative_sample_rate,
        repulsion_strength: args.repulsion_strength,
        init: args.init,
        seed: args.seed,
    };
    let bars = Bars(Mutex::new(None));
    let outcome = match &args.transform {
        None => run(&params, &args.data, &args.out, args.force, &bars),
        Some(model) => transform(model, &args.data, &args.out, args.force, &bars),
    }
    .with_context(|| format!("UMAP of {} failed", args.data.display()))?;
    let info: CodesInfo<UmapDetails> = outcome.manifest.info_as(&args.out)?;
    aeclust_cli::announce(
        "encode-umap",
        &args.out,
        &outcome,
        "same input and parameters",
    );
    let d = &info.details;
    let fit = d
        .fit_seconds
        .as_ref()
        .map_or("reused fit".to_string(), |s| {
            format!(
                "fit {:.1} s (k-NN {:.1}, graph {:.1}, {:?} init {:.1}, layout {:.1})",
                s.knn + s.graph + s.init + s.layout,
                s.knn,
                s.graph,
                d.init_used,
                s.init,
                s.layout
            )
        });
    let t = &d.transform_seconds;
    println!(
        "  {} → {} dims, train {} / test {} points; {fit}; transform {:.1} s; {} threads",
        d.fitted_on.dim,
        info.dim,
        info.counts.train,
        info.counts.test,
        t.knn + t.graph + t.layout,
        d.threads
    );
    Ok(())
}
