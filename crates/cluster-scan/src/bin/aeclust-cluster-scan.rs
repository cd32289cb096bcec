//! `aeclust-cluster-scan`: SCAN clustering — a network trained so that every image takes
//! the cluster of its nearest neighbours in another representation.

use std::path::PathBuf;

use aeclust_artifact::kinds::{ClusteringInfo, HeadSelection, ScanOptions};
use aeclust_cluster_scan::stage::{run, Progress};
use aeclust_cluster_scan::train::{Event, Settings};
use anyhow::{Context, Result};
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};

/// Trains SCAN's clustering heads on the train split of a features artifact (a dataset:
/// the network reads pixels; or codes), with each row's nearest neighbours taken from
/// the train split of a neighbours artifact (e.g. an autoencoder's codes), keeps the
/// head the others agree with most (or the lowest loss, --select), and writes its assignments of both splits in
/// aeclust-cluster's format (so aeclust-evaluate reads it as any clustering).
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// The network's input: a dataset (pixels) or codes artifact directory.
    #[arg(long)]
    features: PathBuf,
    /// The artifact whose train split defines the neighbours (codes, or a dataset).
    #[arg(long)]
    neighbours: PathBuf,
    /// Output directory.
    #[arg(long)]
    out: PathBuf,
    /// Number of clusters.
    #[arg(long, default_value_t = 10, conflicts_with = "k_from")]
    k: usize,
    /// Take the number of clusters from another clustering artifact (e.g. a GMM whose k
    /// was chosen by BIC).
    #[arg(long, value_name = "CLUSTERING")]
    k_from: Option<PathBuf>,
    /// Nearest neighbours per image (Euclidean, in the neighbours artifact).
    #[arg(long = "knn", default_value_t = 20)]
    neighbours_per_row: usize,
    /// Heads trained side by side; one is kept (--select).
    #[arg(long, default_value_t = 10)]
    heads: usize,
    /// Fewest passes over the train split.
    #[arg(long, default_value_t = 15)]
    epochs: usize,
    /// Fewest optimiser steps (batches): a small train split gets more epochs than
    /// --epochs (60,000 images: 15 epochs are 1,770 steps).
    #[arg(long, default_value_t = 500)]
    min_steps: usize,
    /// Weight of the entropy term (higher: more even cluster sizes).
    #[arg(long, default_value_t = 5.0)]
    entropy_weight: f64,
    /// Units of the hidden layer.
    #[arg(long, default_value_t = 512)]
    hidden: usize,
    /// Images per batch (each with one of its neighbours).
    #[arg(long, default_value_t = 512)]
    batch_size: usize,
    /// Adam's learning rate.
    #[arg(long, default_value_t = 1e-3)]
    learning_rate: f64,
    /// Decoupled weight decay.
    #[arg(long, default_value_t = 1e-4)]
    weight_decay: f64,
    /// Move every training image by a random translation of up to this many pixels
    /// (images only; 0: off).
    #[arg(long, default_value_t = 2)]
    shift: usize,
    /// How the kept head is chosen: agreement (the head whose clusters agree most with
    /// the other heads', by adjusted Rand index) or loss (the lowest SCAN loss).
    #[arg(long, value_enum, default_value = "agreement")]
    select: HeadSelection,
    /// Seed of every random choice.
    #[arg(long, default_value_t = 72)]
    seed: u64,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Rebuild even when an identical artifact exists.
    #[arg(long)]
    force: bool,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    aeclust_cli::run(args.threads, || run_cli(args))
}

fn run_cli(args: Args) -> Result<()> {
    let k = match &args.k_from {
        Some(dir) => aeclust_artifact::kinds::ClusteringInfo::clusters_of(dir)
            .with_context(|| format!("--k-from {}", dir.display()))?,
        None => args.k,
    };
    let settings = Settings {
        k,
        seed: args.seed,
        scan: ScanOptions {
            heads: args.heads,
            epochs: args.epochs,
            neighbours: args.neighbours_per_row,
            entropy_weight: args.entropy_weight,
            hidden: args.hidden,
            batch_size: args.batch_size,
            learning_rate: args.learning_rate,
            weight_decay: args.weight_decay,
            shift: args.shift,
            select: args.select,
            min_steps: args.min_steps,
        },
    };
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{prefix:>12} [{bar:30}] {pos}/{len} {elapsed:>4} {msg}")
            .expect("template")
            .progress_chars("=> "),
    );
    let last_loss = std::sync::Mutex::new(None::<f64>);
    let lines = aeclust_cli::TenthLines::new("scan");
    let outcome = run(
        &settings,
        &args.features,
        &args.neighbours,
        &args.out,
        args.force,
        &|p| match p {
            Progress::Knn { done, total } => {
                bar.set_prefix("k-NN");
                bar.set_length(total as u64);
                bar.set_position(done as u64);
            }
            Progress::Train(Event::Batch {
                epoch,
                epochs,
                done,
                total,
            }) => {
                bar.set_prefix(format!("epoch {epoch}/{epochs}"));
                bar.set_length(total as u64);
                bar.set_position(done as u64);
                if let Some(l) = *last_loss.lock().expect("loss") {
                    bar.set_message(format!("loss {l:.4}"));
                }
            }
            Progress::Train(Event::Epoch {
                epoch,
                epochs,
                loss,
            }) => {
                *last_loss.lock().expect("loss") = Some(loss);
                let extra = format!(", loss {loss:.4}");
                lines.update(epoch as u64, epochs as u64, "epochs", &extra);
            }
            Progress::Train(Event::Scoring) => {
                bar.set_prefix("scoring");
                bar.set_message("every head on every neighbour pair");
            }
        },
    )
    .with_context(|| format!("SCAN on {} failed", args.features.display()))?;
    bar.finish_and_clear();
    aeclust_cli::announce(
        "cluster-scan",
        &args.out,
        &outcome,
        "same inputs and parameters",
    );
    let s: ClusteringInfo = outcome.manifest.info_as(&args.out)?;
    if let Some(scan) = s.result.scan() {
        println!(
            "  SCAN k={} on {:?} ({} dims), neighbours from {} ({} s k-NN): head {} of {} kept (agreement {:.3}, loss {:.4}; heads {:.4}..{:.4}), {} epochs in {:.1} s",
            s.k,
            s.features.kind,
            s.features.dim,
            scan.neighbours_encoder.as_deref().unwrap_or("pixels"),
            scan.knn_seconds.round(),
            scan.head,
            scan.head_loss.len(),
            scan.head_agreement[scan.head],
            scan.head_loss[scan.head],
            scan.head_loss.iter().copied().fold(f64::INFINITY, f64::min),
            scan.head_loss.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            s.fit.n_iter,
            s.fit.fit_seconds,
        );
    }
    Ok(())
}
