//! The `codes` kind: a feature vector per image, from any encoder.

use std::path::Path;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::{ArtifactInfo, ClassName, DatasetInfo, PerSplit, DATASET};
use crate::{Artifact, ArtifactRef, Result, TensorFile, TensorWriter};

/// `info` of a codes artifact. `D` holds the encoder's own facts (layer, whitening, …);
/// stages other than that encoder read it as an opaque JSON value (the default).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CodesInfo<D = serde_json::Value> {
    /// The encoder's name as shown in reports (`dense-autoencoder`, `pca`,
    /// `pca of dense-autoencoder`).
    pub encoder: String,
    /// Code dimension.
    pub dim: usize,
    /// Rows per split.
    pub counts: PerSplit<usize>,
    /// The dataset's classes (copied through).
    pub classes: Vec<ClassName>,
    /// The dataset the images came from (for montages and provenance).
    pub dataset: ArtifactRef,
    /// The trained model the codes came from, if any (for loss curves).
    pub model: Option<ArtifactRef>,
    /// The artifact the encoder read when it was not the dataset (e.g. codes → PCA).
    pub source: Option<ArtifactRef>,
    /// The columns are principal axes of the source, in decreasing order of its variance
    /// (PCA, whitened or not): a 2-D view takes the first two as they are.
    #[serde(default)]
    pub principal_axes: bool,
    /// What a classifier behind the encoder recognises in each image (a pretrained
    /// network's top classes), when the encoder has one: see [`Recognised`].
    #[serde(default)]
    pub recognised: Option<Recognised>,
    /// The encoder's own facts.
    pub details: D,
}

impl<D: Serialize + DeserializeOwned> ArtifactInfo for CodesInfo<D> {
    const STAGE: &'static str = super::CODES;
}

/// Where codes computed from another features artifact come from, as their info records
/// it: the one place every encoder of a dataset or of codes takes its provenance from.
#[derive(Debug, Clone, PartialEq)]
pub struct Provenance {
    /// The source's encoder name (none: the source is a dataset's pixels).
    pub source_encoder: Option<String>,
    /// The dataset's classes (copied through).
    pub classes: Vec<ClassName>,
    /// The dataset the images came from.
    pub dataset: ArtifactRef,
    /// The trained model the source codes came from, if any.
    pub model: Option<ArtifactRef>,
    /// The source when it is codes (none when it is the dataset itself).
    pub source: Option<ArtifactRef>,
}

impl Provenance {
    /// The provenance of codes that an encoder computes from the features artifact
    /// `source` (a dataset or codes) and writes to `out`: references are made relative
    /// to `out`.
    pub fn of(source: &Artifact, out: &Path) -> Result<Self> {
        Ok(if source.kind() == DATASET {
            let info: DatasetInfo = source.info()?;
            Self {
                source_encoder: None,
                classes: info.classes,
                dataset: source.reference_from(out),
                model: None,
                source: None,
            }
        } else {
            let info: CodesInfo = source.info()?;
            Self {
                classes: info.classes,
                dataset: info.dataset.rebased(source.dir(), out),
                model: info.model.map(|m| m.rebased(source.dir(), out)),
                source: Some(source.reference_from(out)),
                source_encoder: Some(info.encoder),
            }
        })
    }

    /// The encoder's display name: `name` of a dataset's pixels, `name of SOURCE` of codes
    /// (`pca of dense-autoencoder`).
    pub fn encoder_name(&self, name: &str, of_pixels: &str) -> String {
        match &self.source_encoder {
            Some(source) => format!("{name} of {source}"),
            None => of_pixels.to_string(),
        }
    }

    /// The info of codes of `dim` columns, `counts` rows per split, named `encoder`,
    /// with the encoder's own `details`.
    pub fn codes_info<D>(
        self,
        encoder: String,
        dim: usize,
        counts: PerSplit<usize>,
        details: D,
    ) -> CodesInfo<D> {
        CodesInfo {
            encoder,
            dim,
            counts,
            classes: self.classes,
            dataset: self.dataset,
            model: self.model,
            source: self.source,
            principal_axes: false,
            recognised: None,
            details,
        }
    }
}

/// One split of a codes artifact: `n` feature vectors of `dim` floats and their labels.
#[derive(Debug, Clone, PartialEq)]
pub struct CodesSplit {
    /// Row-major codes, `n * dim` values.
    pub codes: Vec<f32>,
    /// One label per row, copied from the dataset (none for unlabelled images).
    pub labels: Option<Vec<u8>>,
    /// Code dimension.
    pub dim: usize,
}

impl CodesSplit {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.codes.len().checked_div(self.dim).unwrap_or(0)
    }

    /// True when the split holds no row.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Writes `codes` and, when labelled, `labels` to a safetensors file.
    pub fn write(&self, path: &Path) -> Result<()> {
        let mut w = TensorWriter::new();
        w.add("codes", &[self.len(), self.dim], &self.codes);
        if let Some(labels) = &self.labels {
            w.add("labels", &[labels.len()], labels);
        }
        w.write(path)
    }

    /// Reads a split written by [`CodesSplit::write`], checking dtypes and shapes.
    pub fn read(path: &Path) -> Result<Self> {
        let file = TensorFile::open(path)?;
        let codes = file.read::<f32>("codes", Some(2))?;
        let labels = super::dataset::read_labels(&file, codes.shape[0], "code rows")?;
        Ok(Self {
            dim: codes.shape[1],
            codes: codes.data,
            labels,
        })
    }
}

/// The classes a pretrained classifier recognises in a codes artifact's images: per
/// split, [`Recognised::file_name`] holds `classes` (u32 [n, top], most probable first)
/// and `probabilities` (f32 [n, top]); [`Recognised::NAMES_FILE`] the class names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recognised {
    /// The classes' vocabulary (`ImageNet-1k`).
    pub vocabulary: String,
    /// Classes kept per image.
    pub top: usize,
}

impl Recognised {
    /// A JSON list of the class names, index order.
    pub const NAMES_FILE: &'static str = "recognised-classes.json";

    /// The file of `split`'s top classes.
    pub fn file_name(split: super::Split) -> &'static str {
        match split {
            super::Split::Train => "recognised-train.safetensors",
            super::Split::Test => "recognised-test.safetensors",
        }
    }
}

/// One split's recognised classes: `top` per image, most probable first.
#[derive(Debug, Clone, PartialEq)]
pub struct RecognisedSplit {
    /// Class indices, `n * top`.
    pub classes: Vec<u32>,
    /// Their probabilities, `n * top`.
    pub probabilities: Vec<f32>,
    /// Classes per image.
    pub top: usize,
}

impl RecognisedSplit {
    /// Writes the split to a safetensors file.
    pub fn write(&self, path: &Path) -> Result<()> {
        let n = self.classes.len().checked_div(self.top).unwrap_or(0);
        TensorWriter::new()
            .add("classes", &[n, self.top], &self.classes)
            .add("probabilities", &[n, self.top], &self.probabilities)
            .write(path)
    }

    /// Reads `split` of a codes artifact that has recognised classes (verified against
    /// its manifest), with the class names; none when the encoder has no classifier.
    pub fn load(codes: &Artifact, split: super::Split) -> Result<Option<(Self, Vec<String>)>> {
        let info: CodesInfo = codes.info()?;
        if info.recognised.is_none() {
            return Ok(None);
        }
        let path = codes.verified_path(Recognised::file_name(split))?;
        let file = TensorFile::open(&path)?;
        let classes = file.read::<u32>("classes", Some(2))?;
        let probabilities = file.read::<f32>("probabilities", Some(2))?;
        let names_path = codes.verified_path(Recognised::NAMES_FILE)?;
        let text = std::fs::read_to_string(&names_path)
            .map_err(|e| crate::ArtifactError::io(&names_path, e))?;
        let names: Vec<String> =
            serde_json::from_str(&text).map_err(|e| crate::ArtifactError::Manifest {
                path: names_path.clone(),
                message: format!("not a list of class names: {e}"),
            })?;
        if classes.shape != probabilities.shape
            || classes.data.iter().any(|&c| c as usize >= names.len())
        {
            return Err(crate::ArtifactError::Tensor {
                path,
                name: "classes".into(),
                message: format!(
                    "classes {:?} and probabilities {:?} differ, or a class is past the {} names",
                    classes.shape,
                    probabilities.shape,
                    names.len()
                ),
            });
        }
        Ok(Some((
            Self {
                top: classes.shape[1],
                classes: classes.data,
                probabilities: probabilities.data,
            },
            names,
        )))
    }
}
