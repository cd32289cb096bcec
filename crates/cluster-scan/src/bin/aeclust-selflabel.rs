//! `aeclust-selflabel`: SCAN's self-labelling step — a SCAN network trained further on
//! its own confident assignments, seen through strong augmentations.

use std::io::IsTerminal;
use std::path::PathBuf;

use aeclust_artifact::kinds::{ClusteringInfo, FeatureKind, SelfLabelOptions, StrongAugment};
use aeclust_artifact::Artifact;
use aeclust_cluster_scan::selflabel::stage::run;
use aeclust_cluster_scan::selflabel::{Event, Settings};
use anyhow::{Context, Result};
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};

/// Trains the network of a SCAN clustering (aeclust-cluster-scan's artifact) further:
/// every train image it assigns with a probability above --threshold becomes a target,
/// and the network learns to give that target on a strongly augmented view of the image
/// (class-balanced cross-entropy), pass after pass for as long as the confident set
/// grows. The network of the largest confident set is kept; its assignments of both
/// splits are written in aeclust-cluster's format (method `selflabel`), for
/// aeclust-evaluate, aeclust-assign and aeclust-similar.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// The SCAN clustering artifact to start from.
    #[arg(long)]
    scan: PathBuf,
    /// Output directory.
    #[arg(long)]
    out: PathBuf,
    /// Confidence above which an assignment becomes a target (SCAN's 0.99).
    #[arg(long, default_value_t = 0.99)]
    threshold: f64,
    /// Every cluster with fewer confident images than this share of its own also gives
    /// its most confident share of this size as targets (0: SCAN's threshold alone).
    #[arg(long, default_value_t = 0.0)]
    per_cluster: f64,
    /// Most passes over the train split.
    #[arg(long, default_value_t = 25)]
    epochs: usize,
    /// Stop after this many passes without a larger confident set.
    #[arg(long, default_value_t = 3)]
    patience: usize,
    /// Train rows per batch (the unconfident ones are then left out).
    #[arg(long, default_value_t = 256)]
    batch_size: usize,
    /// Adam's learning rate.
    #[arg(long, default_value_t = 1e-4)]
    learning_rate: f64,
    /// Decoupled weight decay.
    #[arg(long, default_value_t = 1e-4)]
    weight_decay: f64,
    /// Plain cross-entropy instead of the class-balanced one.
    #[arg(long)]
    unbalanced: bool,
    /// Random translation of up to this many pixels (images; default 3).
    #[arg(long)]
    shift: Option<usize>,
    /// Mirror half the images left to right: on or off (images; default on).
    #[arg(long)]
    flip: Option<Switch>,
    /// Erase a rectangle of up to this fraction of half the images (images; default 0.25).
    #[arg(long)]
    erase: Option<f64>,
    /// Contrast scaled by 1 ± this, brightness moved by ± half of it (images; default 0.4).
    #[arg(long)]
    contrast: Option<f64>,
    /// Gaussian noise of a standard deviation up to this (images: pixel units, default
    /// 0.05; codes: units of each column's spread, default 0.5).
    #[arg(long)]
    noise: Option<f64>,
    /// Fraction of code columns set to 0 (codes; default 0.2).
    #[arg(long)]
    dropout: Option<f64>,
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

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Switch {
    On,
    Off,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    aeclust_cli::run(args.threads, || run_cli(args))
}

/// The augmentations asked for, the defaults of the SCAN network's input filling the rest.
fn augment(args: &Args) -> Result<StrongAugment> {
    let (_, info) = Artifact::open_as::<ClusteringInfo>(&args.scan)
        .with_context(|| format!("--scan {}", args.scan.display()))?;
    let d = match info.features.kind {
        FeatureKind::Pixels => StrongAugment::IMAGES,
        FeatureKind::Codes => StrongAugment::CODES,
    };
    Ok(StrongAugment {
        shift: args.shift.unwrap_or(d.shift),
        flip: args.flip.map_or(d.flip, |s| matches!(s, Switch::On)),
        erase: args.erase.unwrap_or(d.erase),
        contrast: args.contrast.unwrap_or(d.contrast),
        noise: args.noise.unwrap_or(d.noise),
        dropout: args.dropout.unwrap_or(d.dropout),
    })
}

fn run_cli(args: Args) -> Result<()> {
    let settings = Settings {
        seed: args.seed,
        options: SelfLabelOptions {
            threshold: args.threshold,
            per_cluster: args.per_cluster,
            epochs: args.epochs,
            patience: args.patience,
            batch_size: args.batch_size,
            learning_rate: args.learning_rate,
            weight_decay: args.weight_decay,
            balanced: !args.unbalanced,
            augment: augment(&args)?,
        },
    };
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{prefix:>12} [{bar:30}] {pos}/{len} {elapsed:>4} {msg}")
            .expect("template")
            .progress_chars("=> "),
    );
    let plain = !std::io::stderr().is_terminal();
    let outcome = run(
        &settings,
        &args.scan,
        &args.out,
        args.force,
        &mut |e| match e {
            Event::Batch {
                epoch,
                epochs,
                done,
                total,
            } => {
                bar.set_prefix(format!("pass {epoch}/{epochs}"));
                bar.set_length(total as u64);
                bar.set_position(done as u64);
            }
            Event::Epoch(e) => {
                let line = format!(
                    "pass {}: {} confident{}",
                    e.epoch,
                    e.confident,
                    e.confident_accuracy
                        .map(|a| format!(" ({:.1} % right)", 100.0 * a))
                        .unwrap_or_default()
                );
                // Without a terminal the bar is hidden: a line a pass instead.
                if plain {
                    eprintln!("  selflabel: {line}");
                }
                bar.set_message(line);
            }
        },
    )
    .with_context(|| format!("self-labelling {} failed", args.scan.display()))?;
    bar.finish_and_clear();
    aeclust_cli::announce(
        "selflabel",
        &args.out,
        &outcome,
        "same inputs and parameters",
    );
    let s: ClusteringInfo = outcome.manifest.info_as(&args.out)?;
    if let Some(fit) = s.result.selflabel() {
        let first = &fit.history[0];
        let kept = &fit.history[fit.kept_epoch];
        let share = |c: usize| 100.0 * c as f64 / s.n_train.max(1) as f64;
        println!(
            "  self-labelling k={}: confident train images {} ({:.1} %) -> {} ({:.1} %) at pass {} of {}, {} changed cluster; {}; {:.1} s",
            s.k,
            first.confident,
            share(first.confident),
            kept.confident,
            share(kept.confident),
            fit.kept_epoch,
            fit.history.len() - 1,
            kept.changed,
            fit.stopped,
            s.fit.fit_seconds,
        );
        for e in &fit.history {
            if let (Some(c), Some(a)) = (e.confident_accuracy, e.train_accuracy) {
                println!(
                    "    pass {:>2}: {:>6} confident, {:.3} of them right, train accuracy {:.3} (labels: diagnostics only)",
                    e.epoch, e.confident, c, a
                );
            }
        }
    }
    Ok(())
}
