//! The chain of encoders between a dataset and a features artifact.

use aeclust_artifact::kinds::{CodesInfo, DatasetInfo, FeatureKind, Features, ImageSplit, DATASET};
use aeclust_artifact::{Artifact, InputFile};
use aeclust_encoder_dense::encode::DenseEncoder;
use aeclust_encoder_pca::Pca;
use aeclust_encoder_pretrained::PretrainedEncoder;
use aeclust_encoder_umap::{FittedUmap, Quiet};
use candle_core::Device;

use crate::{invalid, Result};

/// The artifact codes were computed from: their `source`, or their dataset when they
/// encode its pixels.
fn source_of(codes: &Artifact, info: &CodesInfo) -> Result<Artifact> {
    let source = info.source.as_ref().unwrap_or(&info.dataset);
    Ok(Artifact::open(
        &source.resolve(codes.dir()),
        &Features::KINDS,
    )?)
}

/// One encoder of a chain, fitted.
pub enum Step {
    /// The dense autoencoder (always on the dataset's pixels).
    Dense(Box<DenseEncoder>),
    /// An ImageNet-trained network (always on the dataset's pixels).
    Pretrained(Box<PretrainedEncoder>),
    /// A PCA projection.
    Pca(Box<Pca>),
    /// A UMAP embedding (new points placed by its transform).
    Umap(Box<FittedUmap>),
}

impl Step {
    fn name(&self) -> &'static str {
        match self {
            Step::Dense(_) => "dense autoencoder",
            Step::Pretrained(_) => "pretrained network",
            Step::Pca(_) => "PCA",
            Step::Umap(_) => "UMAP",
        }
    }
}

/// The encoders that turn a dataset's images into the rows of a features artifact.
pub struct Chain {
    /// The dataset the chain starts from: how its images were read.
    pub dataset: Artifact,
    /// Its info.
    pub dataset_info: DatasetInfo,
    steps: Vec<Step>,
    /// The files the chain's models were read from (for a cache key).
    pub inputs: Vec<InputFile>,
    /// Columns of the features it makes.
    pub dim: usize,
}

impl Chain {
    /// Follows the references of the features artifact `features` (a dataset, or codes
    /// of the dense encoder, PCA or UMAP, chained) back to its dataset, loading every
    /// fitted model on the way.
    pub fn resolve(features: &Artifact) -> Result<Chain> {
        if features.kind() == DATASET {
            let info: DatasetInfo = features.info()?;
            let [h, w] = info.image_shape;
            return Ok(Chain {
                dataset: features.clone(),
                dim: h * w * info.channels,
                dataset_info: info,
                steps: Vec::new(),
                inputs: Vec::new(),
            });
        }
        let info: CodesInfo = features.info()?;
        let open = |r: &aeclust_artifact::ArtifactRef, kinds: &[&str]| {
            Artifact::open(&r.resolve(features.dir()), kinds)
        };
        let details = &info.details;
        let (mut chain, step, files) = if details.get("layer").is_some() {
            let encoder = DenseEncoder::open(features, &Device::Cpu)?;
            let model = Artifact::open(
                &info
                    .model
                    .as_ref()
                    .expect("DenseEncoder::open checked the model reference")
                    .resolve(features.dir()),
                &[aeclust_artifact::kinds::MODEL],
            )?;
            let files = model.inputs(&[
                aeclust_artifact::kinds::ModelInfo::WEIGHTS_FILE,
                aeclust_artifact::kinds::ModelInfo::CONFIG_FILE,
            ])?;
            let dataset = open(&info.dataset, &[DATASET])?;
            (
                Self::resolve(&dataset)?,
                Step::Dense(Box::new(encoder)),
                files,
            )
        } else if details.get("pretrained").is_some() {
            let (encoder, weights) = PretrainedEncoder::open(features)
                .map_err(|e| invalid(features.dir(), e.to_string()))?;
            let dataset = open(&info.dataset, &[DATASET])?;
            (
                Self::resolve(&dataset)?,
                Step::Pretrained(Box::new(encoder)),
                vec![weights],
            )
        } else if details.get("pca").is_some() {
            let pca = aeclust_encoder_pca::load(features)?;
            let files = vec![features.input(aeclust_encoder_pca::MODEL_FILE)?];
            (
                Self::resolve(&source_of(features, &info)?)?,
                Step::Pca(Box::new(pca)),
                files,
            )
        } else if details.get("umap").is_some() {
            let (umap, fit) = aeclust_encoder_umap::stage::load(features)?;
            let files = vec![fit.input(aeclust_encoder_umap::stage::MODEL_FILE)?];
            (
                Self::resolve(&source_of(features, &info)?)?,
                Step::Umap(Box::new(umap)),
                files,
            )
        } else {
            return Err(invalid(
                features.dir(),
                format!(
                    "codes of the encoder `{}`, which new images cannot be replayed through \
                     (the dense autoencoder, the pretrained network, PCA and UMAP can)",
                    info.encoder
                ),
            ));
        };
        chain.steps.push(step);
        chain.inputs.extend(files);
        chain.dim = info.dim;
        Ok(chain)
    }

    /// The encoders in the order they are applied, e.g. `["dense autoencoder", "PCA"]`.
    pub fn names(&self) -> Vec<&'static str> {
        self.steps.iter().map(Step::name).collect()
    }

    /// The features of `images` (read as [`crate::ReadPlan`] says) in the artifact's
    /// space: pixels scaled to [0, 1], then every encoder.
    pub fn apply(&self, images: &ImageSplit) -> Result<Features> {
        let [h, w] = self.dataset_info.image_shape;
        let c = self.dataset_info.channels;
        if (images.height, images.width, images.channels) != (h, w, c) {
            return Err(invalid(
                self.dataset.dir(),
                format!(
                    "the chain takes {h}x{w} images of {c} channel(s), given {}x{} of {}",
                    images.height, images.width, images.channels
                ),
            ));
        }
        let mut features = Features::of_images(ImageSplit {
            labels: None,
            ..images.clone()
        });
        for step in &self.steps {
            let (values, dim) = match step {
                Step::Dense(encoder) => {
                    let codes = encoder.encode(images)?;
                    (codes.codes, codes.dim)
                }
                Step::Pretrained(encoder) => (encoder.encode(images), encoder.dim()),
                Step::Pca(pca) => (
                    aeclust_encoder_pca::project(pca, &features),
                    pca.components.nrows(),
                ),
                Step::Umap(umap) => (
                    umap.transform(&features.values, &Quiet)?.0,
                    umap.params.n_components,
                ),
            };
            features = Features {
                values,
                labels: None,
                dim,
                kind: FeatureKind::Codes,
            };
        }
        Ok(features)
    }
}
