//! `aeclust-train`: trains the dense autoencoder on a dataset artifact.

use std::path::PathBuf;

use aeclust_artifact::kinds::ModelInfo;
use aeclust_encoder_dense::train::{run, ArchitectureChoice, EpochRecord, TrainObserver};
use aeclust_encoder_dense::{runtime, Bottleneck, Loss, OptimizerKind, TrainConfig};
use anyhow::{Context, Result};
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};

/// Trains the dense deep autoencoder (default: the study's 784-900-480-240-120 encoder with
/// a mirrored decoder) and writes model.safetensors, config.json and history.json.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Dataset artifact directory.
    #[arg(long, default_value = "artifacts/dataset")]
    data: PathBuf,
    /// Output directory.
    #[arg(long, default_value = "artifacts/model")]
    out: PathBuf,
    /// Passes over the training data.
    #[arg(long, default_value_t = 20)]
    epochs: usize,
    /// Seed of the initialisation, validation split and shuffles.
    #[arg(long, default_value_t = 72)]
    seed: u64,
    /// Encoder widths after the input; the decoder mirrors them.
    #[arg(long, value_delimiter = ',', default_value = "900,480,240,120")]
    layers: Vec<usize>,
    /// Default code layer for aeclust-encode (1-based; 3 = the study's 240-d codes).
    #[arg(long, default_value_t = 3)]
    code_layer: usize,
    /// Activation of the innermost encoder layer (linear: N2D's and DEC's codes).
    #[arg(long, value_enum, default_value = "relu")]
    bottleneck: Bottleneck,
    /// Samples per step.
    #[arg(long, default_value_t = 256)]
    batch_size: usize,
    /// Learning rate.
    #[arg(long, default_value_t = 1e-3, allow_negative_numbers = true)]
    lr: f64,
    /// Reconstruction loss.
    #[arg(long, value_enum, default_value = "bce")]
    loss: Loss,
    /// Optimiser.
    #[arg(long, value_enum, default_value = "adam")]
    optimizer: OptimizerKind,
    /// Decoupled weight decay, with --optimizer adamw only [default: 0.01].
    #[arg(long)]
    weight_decay: Option<f64>,
    /// Augmentation: move every training image by a random translation of up to N pixels
    /// each way (input and target alike, as DEC-DA); 0 = none. Validation is not shifted.
    #[arg(long, default_value_t = 0)]
    shift: usize,
    /// Fraction of the training images held out for validation.
    #[arg(long, default_value_t = 0.1)]
    val_split: f64,
    #[command(flatten)]
    runtime: runtime::RuntimeArgs,
    /// Retrain even when an identical artifact exists.
    #[arg(long)]
    force: bool,
}

struct Bars {
    bar: Option<ProgressBar>,
    epochs: usize,
}

impl TrainObserver for Bars {
    fn epoch_start(&mut self, epoch: usize, batches: usize) {
        let bar = ProgressBar::new(batches as u64);
        bar.set_style(
            ProgressStyle::with_template(&format!(
                "epoch {epoch:>3}/{} [{{bar:30}}] {{pos}}/{{len}} {{msg}}",
                self.epochs
            ))
            .expect("template")
            .progress_chars("=> "),
        );
        self.bar = Some(bar);
    }
    fn batch(&mut self, done: usize, loss: f64, sps: f64) {
        if let Some(bar) = &self.bar {
            bar.set_position(done as u64);
            bar.set_message(format!("loss {loss:.4}  {sps:.0} samples/s"));
        }
    }
    fn epoch_end(&mut self, r: &EpochRecord) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        println!(
            "epoch {:>3}/{}: train loss {:.4}, validation loss {}, {:.1} s, {:.0} samples/s",
            r.epoch,
            self.epochs,
            r.train_loss,
            r.val_loss.map_or("-".into(), |v| format!("{v:.4}")),
            r.seconds,
            r.samples_per_second
        );
    }
}

fn main() -> std::process::ExitCode {
    #[cfg(feature = "openblas")]
    aeclust_encoder_dense::blas::ensure_vector_kernels();
    let args = Args::parse();
    aeclust_cli::run(args.runtime.threads, || run_cli(args))
}

fn run_cli(args: Args) -> Result<()> {
    let device = args.runtime.device()?;
    let arch = ArchitectureChoice {
        layers: args.layers.clone(),
        loss: args.loss,
        code_layer: args.code_layer,
        bottleneck: args.bottleneck,
    };
    let train = TrainConfig {
        epochs: args.epochs,
        batch_size: args.batch_size,
        lr: args.lr,
        seed: args.seed,
        val_split: args.val_split,
        optimizer: args.optimizer,
        weight_decay: args.weight_decay,
        shift: args.shift,
    };
    let mut bars = Bars {
        bar: None,
        epochs: args.epochs,
    };
    let outcome = run(
        &args.data, &args.out, &arch, &train, &device, args.force, &mut bars,
    )
    .with_context(|| format!("training on {} failed", args.data.display()))?;
    let info: ModelInfo = outcome.manifest.info_as(&args.out)?;
    aeclust_cli::announce("train", &args.out, &outcome, "same data and parameters");
    println!(
        "  final train loss {:.4}, validation loss {}, median {:.0} samples/s",
        info.final_train_loss,
        info.final_val_loss
            .map_or("-".into(), |v| format!("{v:.4}")),
        info.samples_per_second_median
    );
    Ok(())
}
