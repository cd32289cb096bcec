//! The training loop and the `model` artifact.

use std::path::Path;
use std::time::Instant;

pub use aeclust_artifact::kinds::EpochRecord;

use aeclust_artifact::kinds::{self, DatasetInfo, ImageSplit, ModelInfo, Split, TrainingHistory};
use aeclust_artifact::{Artifact, Environment, Outcome, Stage};
use candle_core::{Device, Tensor};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

use crate::augment::shift_images;
use crate::backprop::Backprop;
use crate::optim::Adam;
use crate::{Autoencoder, Bottleneck, EncoderError, Loss, ModelConfig, Result, TrainConfig};

/// The encoder family name recorded in model and codes artifacts.
pub const ENCODER_NAME: &str = "dense-autoencoder";

/// The canonical parameters of a training run (they enter the cache key).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainParams {
    /// The network.
    pub model: ModelConfig,
    /// The training settings.
    pub train: TrainConfig,
}

/// Receives training progress; the binary draws progress bars with it.
pub trait TrainObserver {
    /// An epoch with `batches` steps starts.
    fn epoch_start(&mut self, _epoch: usize, _batches: usize) {}
    /// A step finished: steps done, running mean loss, samples per second so far.
    fn batch(&mut self, _done: usize, _running_loss: f64, _samples_per_second: f64) {}
    /// An epoch finished.
    fn epoch_end(&mut self, _record: &EpochRecord) {}
}

/// An observer that ignores everything.
pub struct Silent;
impl TrainObserver for Silent {}

/// The architecture choices a user makes; the image size comes from the data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArchitectureChoice {
    /// Encoder widths, e.g. `[900, 480, 240, 120]`.
    pub layers: Vec<usize>,
    /// Loss.
    pub loss: Loss,
    /// Default code layer (1-based).
    pub code_layer: usize,
    /// Activation of the innermost encoder layer.
    pub bottleneck: Bottleneck,
}

impl Default for ArchitectureChoice {
    fn default() -> Self {
        let p = ModelConfig::paper(1, 1);
        Self {
            layers: p.encoder_layers,
            loss: p.loss,
            code_layer: p.code_layer,
            bottleneck: p.bottleneck,
        }
    }
}

/// Pixels of `split` as f32 in [0, 1].
pub fn scaled_pixels(split: &ImageSplit) -> Vec<f32> {
    split.images.iter().map(|&p| f32::from(p) / 255.0).collect()
}

/// The rows `idx` of `data` (rows of `dim`), gathered into `buf`.
fn gather(data: &[f32], dim: usize, idx: &[usize], buf: &mut Vec<f32>) {
    buf.clear();
    for &i in idx {
        buf.extend_from_slice(&data[i * dim..(i + 1) * dim]);
    }
}

/// The rows `idx` of `data` as a tensor, changed by `augment` first.
fn batch_tensor(
    data: &[f32],
    dim: usize,
    idx: &[usize],
    augment: impl FnOnce(&mut [f32]),
    device: &Device,
) -> Result<Tensor> {
    let mut buf = Vec::with_capacity(idx.len() * dim);
    gather(data, dim, idx, &mut buf);
    augment(&mut buf);
    Ok(Tensor::from_vec(buf, (idx.len(), dim), device)?)
}

/// Mean loss of `model` on the rows `idx` of `data`, in batches, without training.
pub fn evaluate_loss(
    model: &Autoencoder,
    data: &[f32],
    idx: &[usize],
    batch: usize,
) -> Result<f64> {
    let dim = model.config().input_dim();
    let mut total = 0.0;
    for chunk in idx.chunks(batch.max(1)) {
        let x = batch_tensor(data, dim, chunk, |_| {}, model.device())?;
        let loss = model.loss(&x)?.detach().to_scalar::<f32>()?;
        total += f64::from(loss) * chunk.len() as f64;
    }
    Ok(total / idx.len().max(1) as f64)
}

/// How a step is computed: by hand on the CPU, or by candle's autograd elsewhere.
enum Stepper {
    /// [`Backprop`] and the in-place Adam, with the batch buffer.
    Cpu(Box<Backprop>, Adam, Vec<f32>),
    /// candle's autograd and AdamW.
    Candle(candle_nn::AdamW),
}

impl Stepper {
    /// One optimisation step on the rows `idx` of `pixels`, changed by `augment` first;
    /// returns the batch's loss before the step.
    fn step(
        &mut self,
        model: &Autoencoder,
        pixels: &[f32],
        idx: &[usize],
        augment: &mut impl FnMut(&mut [f32]),
        check: impl Fn(f64) -> Result<()>,
    ) -> Result<f64> {
        let dim = model.config().input_dim();
        match self {
            Stepper::Cpu(backprop, adam, x) => {
                gather(pixels, dim, idx, x);
                augment(x);
                let value = backprop.loss_and_gradients(model, x)?;
                check(value)?;
                adam.step_sum(&backprop.gradient_parts())?;
                Ok(value)
            }
            Stepper::Candle(adamw) => {
                let x = batch_tensor(pixels, dim, idx, augment, model.device())?;
                let loss = model.loss(&x)?;
                let value = f64::from(loss.to_scalar::<f32>()?);
                check(value)?;
                candle_nn::optim::Optimizer::step(adamw, &loss.backward()?)?;
                Ok(value)
            }
        }
    }

    /// Mean loss on the rows `idx` of `pixels`, without training.
    fn evaluate(&mut self, model: &Autoencoder, pixels: &[f32], idx: &[usize]) -> Result<f64> {
        let Stepper::Cpu(backprop, _, x) = self else {
            return evaluate_loss(model, pixels, idx, 1024);
        };
        let dim = model.config().input_dim();
        let mut total = 0.0;
        for chunk in idx.chunks(backprop.capacity()) {
            gather(pixels, dim, chunk, x);
            total += backprop.loss(model, x)? * chunk.len() as f64;
        }
        Ok(total / idx.len().max(1) as f64)
    }
}

impl Stepper {
    /// The CPU's hand-written step and in-place Adam, or candle's autograd and AdamW on
    /// another device, over the model's variables.
    fn new(
        model: &Autoencoder,
        config: &ModelConfig,
        train: &TrainConfig,
        device: &Device,
    ) -> Result<Self> {
        let vars: Vec<candle_core::Var> = model.vars().into_iter().cloned().collect();
        let weight_decay = train.weight_decay();
        Ok(if device.is_cpu() {
            Stepper::Cpu(
                Box::new(Backprop::new(config, train.batch_size)),
                Adam::new(vars, train.lr, weight_decay),
                Vec::with_capacity(train.batch_size * config.input_dim()),
            )
        } else {
            Stepper::Candle(candle_nn::optim::Optimizer::new(
                vars,
                candle_nn::ParamsAdamW {
                    lr: train.lr,
                    weight_decay,
                    eps: 1e-7,
                    ..Default::default()
                },
            )?)
        })
    }
}

/// The network for the dataset's images, as `arch` chooses it.
fn model_config(arch: &ArchitectureChoice, info: &DatasetInfo) -> Result<ModelConfig> {
    let [h, w] = info.image_shape;
    let config = ModelConfig {
        channels: info.channels,
        encoder_layers: arch.layers.clone(),
        loss: arch.loss,
        code_layer: arch.code_layer,
        bottleneck: arch.bottleneck,
        ..ModelConfig::paper(h, w)
    };
    config.validate()?;
    Ok(config)
}

/// The train split's images, checked against the model's shape.
fn read_train_split(path: &Path, config: &ModelConfig) -> Result<ImageSplit> {
    let split = ImageSplit::read(path)?;
    let (h, w) = (config.height, config.width);
    if (split.height, split.width, split.channels) != (h, w, config.channels) {
        return Err(EncoderError::InvalidInput(format!(
            "{}: images are {}x{}x{} but the manifest says {h}x{w}x{}",
            path.display(),
            split.height,
            split.width,
            split.channels,
            config.channels
        )));
    }
    Ok(split)
}

/// The rows held out for validation and those trained on: a `val_split` fraction of a
/// shuffle of `0..n` (at least one row is trained on).
fn hold_out(
    n: usize,
    val_split: f64,
    rng: &mut Xoshiro256PlusPlus,
    file: &Path,
) -> Result<(Vec<usize>, Vec<usize>)> {
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(rng);
    let n_val = ((n as f64) * val_split).round() as usize;
    let (val_idx, train_idx) = order.split_at(n_val.min(n.saturating_sub(1)));
    if train_idx.is_empty() {
        return Err(EncoderError::InvalidInput(format!(
            "{}: no training samples left after the validation split",
            file.display()
        )));
    }
    Ok((val_idx.to_vec(), train_idx.to_vec()))
}

/// What the training loop works on.
struct Epochs<'a> {
    model: &'a Autoencoder,
    config: &'a ModelConfig,
    train: &'a TrainConfig,
    pixels: &'a [f32],
    val_idx: &'a [usize],
    out: &'a Path,
}

impl Epochs<'_> {
    /// Trains every epoch: `train_idx` reshuffled with `rng` each time, every batch
    /// shifted, the validation loss after each epoch. A loss that is not finite stops
    /// it with an error.
    fn run(
        &self,
        stepper: &mut Stepper,
        train_idx: &mut [usize],
        rng: &mut Xoshiro256PlusPlus,
        observer: &mut dyn TrainObserver,
    ) -> Result<Vec<EpochRecord>> {
        let (train, out) = (self.train, self.out);
        let mut history = Vec::new();
        let batches = train_idx.len().div_ceil(train.batch_size);
        // Its own stream, so the shuffles are those of a run without augmentation.
        let mut shift_rng = Xoshiro256PlusPlus::seed_from_u64(train.seed ^ 0x5_41f7);
        let mut scratch = Vec::new();
        let shape = (self.config.height, self.config.width, self.config.channels);
        let mut augment =
            |x: &mut [f32]| shift_images(x, shape, train.shift, &mut shift_rng, &mut scratch);
        for epoch in 1..=train.epochs {
            train_idx.shuffle(rng);
            observer.epoch_start(epoch, batches);
            let started = Instant::now();
            let mut sum = 0.0f64;
            let mut seen = 0usize;
            for (b, chunk) in train_idx.chunks(train.batch_size).enumerate() {
                let value = stepper.step(self.model, self.pixels, chunk, &mut augment, |value| {
                    if value.is_finite() {
                        return Ok(());
                    }
                    Err(EncoderError::Diverged(format!(
                        "the loss became {value} at epoch {epoch}, batch {}; nothing was written (an earlier artifact in {} stays); try a lower --lr",
                        b + 1,
                        out.display()
                    )))
                })?;
                sum += value * chunk.len() as f64;
                seen += chunk.len();
                observer.batch(
                    b + 1,
                    sum / seen as f64,
                    seen as f64 / started.elapsed().as_secs_f64(),
                );
            }
            let seconds = started.elapsed().as_secs_f64();
            let val_loss = if self.val_idx.is_empty() {
                None
            } else {
                Some(stepper.evaluate(self.model, self.pixels, self.val_idx)?)
            };
            if let Some(v) = val_loss.filter(|v| !v.is_finite()) {
                return Err(EncoderError::Diverged(format!(
                    "the loss became {v} on the validation split after epoch {epoch}; nothing was written (an earlier artifact in {} stays); try a lower --lr",
                    out.display()
                )));
            }
            let record = EpochRecord {
                epoch,
                train_loss: sum / seen as f64,
                val_loss,
                seconds,
                samples_per_second: seen as f64 / seconds,
            };
            observer.epoch_end(&record);
            history.push(record);
        }
        Ok(history)
    }
}

/// Trains on the train split of the dataset artifact `data` and writes the model artifact
/// to `out`; reuses an identical one unless `force`.
pub fn run(
    data: &Path,
    out: &Path,
    arch: &ArchitectureChoice,
    train: &TrainConfig,
    device: &Device,
    force: bool,
    observer: &mut dyn TrainObserver,
) -> Result<Outcome> {
    train.validate()?;
    let (dataset, dataset_info) = Artifact::open_as::<DatasetInfo>(data)?;
    let [h, w] = dataset_info.image_shape;
    if train.shift >= h.min(w) {
        return Err(EncoderError::InvalidParams(format!(
            "--shift {} moves a {h}x{w} image entirely out of view; it must be below {}",
            train.shift,
            h.min(w)
        )));
    }
    let config = model_config(arch, &dataset_info)?;
    let params = TrainParams {
        model: config.clone(),
        train: train.clone(),
    };
    let train_input = dataset.input(Split::Train.file_name())?;
    let stage = Stage::new(
        kinds::MODEL,
        env!("CARGO_PKG_VERSION"),
        &params,
        std::slice::from_ref(&train_input),
        out,
    )?;
    if let Some(outcome) = stage.reuse(force) {
        return Ok(outcome);
    }
    // Staged from the start: a run killed while training leaves it behind, and the next
    // run into `out` sweeps it.
    let staging = stage.staging()?;
    let train_file = train_input.path();
    let split = read_train_split(train_file, &config)?;
    let pixels = scaled_pixels(&split);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(train.seed);
    let model = Autoencoder::init(&config, train.seed, device)?;
    let (val_idx, mut train_idx) = hold_out(split.len(), train.val_split, &mut rng, train_file)?;
    let mut stepper = Stepper::new(&model, &config, train, device)?;
    // Subnormal floats appear after a few epochs and are ~100x slower on x86.
    let _flush = device.is_cpu().then(crate::runtime::FlushDenormals::new);
    let epochs = Epochs {
        model: &model,
        config: &config,
        train,
        pixels: &pixels,
        val_idx: &val_idx,
        out,
    };
    let history = epochs.run(&mut stepper, &mut train_idx, &mut rng, observer)?;

    model.save(&staging.file(ModelInfo::WEIGHTS_FILE))?;
    staging.write_json(ModelInfo::CONFIG_FILE, &config)?;
    let mut speeds: Vec<f64> = history.iter().map(|r| r.samples_per_second).collect();
    speeds.sort_by(f64::total_cmp);
    let last = history.last().expect("epochs >= 1").clone();
    staging.write_json(
        ModelInfo::HISTORY_FILE,
        &TrainingHistory { epochs: history },
    )?;
    let info = ModelInfo {
        encoder: ENCODER_NAME.into(),
        dataset: dataset.reference_from(out),
        image_shape: [h, w],
        parameters: config.parameters(),
        n_train: train_idx.len(),
        n_val: val_idx.len(),
        final_train_loss: last.train_loss,
        final_val_loss: last.val_loss,
        samples_per_second_median: speeds[speeds.len() / 2],
        device: format!("{device:?}"),
    };
    let manifest = staging.commit(
        &stage,
        &[
            ModelInfo::WEIGHTS_FILE,
            ModelInfo::CONFIG_FILE,
            ModelInfo::HISTORY_FILE,
        ],
        &info,
        Environment::here()
            .threads(crate::runtime::threads())
            .device(format!("{device:?}")),
    )?;
    Ok(Outcome::built(manifest))
}
