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
