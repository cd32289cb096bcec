//! The artifact kinds that stages exchange, and typed access to their tensor files.
//!
//! | kind | directory holds |
//! |---|---|
//! | `dataset` | `train.safetensors`, `test.safetensors`: `images` u8 [N, H, W], `labels` u8 [N] |
//! | `codes` | `train.safetensors`, `test.safetensors`: `codes` f32 [N, D], `labels` u8 [N] |
//! | `model`, `clustering`, `report` | see `docs/ARTIFACTS.md` |

use std::path::{Path, PathBuf};

use crate::{open_artifact, ArtifactError, Manifest, Result, TensorFile, TensorWriter};

/// Stage name of dataset artifacts.
pub const DATASET: &str = "dataset";
/// Stage name of model artifacts.
pub const MODEL: &str = "model";
/// Stage name of codes artifacts.
pub const CODES: &str = "codes";
/// Stage name of clustering artifacts.
pub const CLUSTERING: &str = "clustering";
/// Stage name of report artifacts.
pub const REPORT: &str = "report";
/// The two splits every dataset and codes artifact holds.
pub const SPLITS: [&str; 2] = ["train", "test"];

/// File name of a split inside a dataset or codes artifact.
pub fn split_file(dir: &Path, split: &str) -> PathBuf {
    dir.join(format!("{split}.safetensors"))
}

fn mismatch(path: &Path, name: &str, message: String) -> ArtifactError {
    ArtifactError::Tensor {
        path: path.to_path_buf(),
        name: name.to_string(),
        message,
    }
}

/// One split of a dataset: `n` grey images of `height`×`width` bytes and their labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSplit {
    /// Row-major pixels, `n * height * width` bytes.
    pub images: Vec<u8>,
    /// One label per image.
    pub labels: Vec<u8>,
    /// Image height in pixels.
    pub height: usize,
    /// Image width in pixels.
    pub width: usize,
}

impl ImageSplit {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when the split holds no image.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Pixels per image.
    pub fn pixels(&self) -> usize {
        self.height * self.width
    }

    /// Keeps the first `n` images.
    pub fn truncate(&mut self, n: usize) {
        if n < self.len() {
            self.labels.truncate(n);
            self.images.truncate(n * self.pixels());
        }
    }

    /// Writes `images` and `labels` to a safetensors file.
    pub fn write(&self, path: &Path) -> Result<()> {
        TensorWriter::new()
            .add(
                "images",
                &[self.len(), self.height, self.width],
                &self.images,
            )
            .add("labels", &[self.len()], &self.labels)
            .write(path)
    }

    /// Reads a split written by [`ImageSplit::write`], checking dtypes and shapes.
    pub fn read(path: &Path) -> Result<Self> {
        let file = TensorFile::open(path)?;
        let images = file.read::<u8>("images", Some(3))?;
        let labels = file.read::<u8>("labels", Some(1))?;
        if images.shape[0] != labels.shape[0] {
            return Err(mismatch(
                path,
                "labels",
                format!("{} labels for {} images", labels.shape[0], images.shape[0]),
            ));
        }
        Ok(Self {
            height: images.shape[1],
            width: images.shape[2],
            images: images.data,
            labels: labels.data,
        })
    }
}

/// One split of a codes artifact: `n` feature vectors of `dim` floats and their labels.
#[derive(Debug, Clone, PartialEq)]
pub struct CodesSplit {
    /// Row-major codes, `n * dim` values.
    pub codes: Vec<f32>,
    /// One label per row, copied from the dataset.
    pub labels: Vec<u8>,
    /// Code dimension.
    pub dim: usize,
}

impl CodesSplit {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when the split holds no row.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Writes `codes` and `labels` to a safetensors file.
    pub fn write(&self, path: &Path) -> Result<()> {
        TensorWriter::new()
            .add("codes", &[self.len(), self.dim], &self.codes)
            .add("labels", &[self.len()], &self.labels)
            .write(path)
    }

    /// Reads a split written by [`CodesSplit::write`], checking dtypes, shapes and finiteness.
    pub fn read(path: &Path) -> Result<Self> {
        let file = TensorFile::open(path)?;
        let codes = file.read::<f32>("codes", Some(2))?;
        let labels = file.read::<u8>("labels", Some(1))?;
        if codes.shape[0] != labels.shape[0] {
            return Err(mismatch(
                path,
                "labels",
                format!(
                    "{} labels for {} code rows",
                    labels.shape[0], codes.shape[0]
                ),
            ));
        }
        Ok(Self {
            dim: codes.shape[1],
            codes: codes.data,
            labels: labels.data,
        })
    }
}

/// What a feature matrix was made from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FeatureKind {
    /// Raw pixels of a dataset artifact, scaled to [0, 1].
    Pixels,
    /// Codes of an encoder.
    Codes,
}

/// A feature matrix for clustering: rows of `dim` floats, with labels.
#[derive(Debug, Clone, PartialEq)]
pub struct Features {
    /// Row-major values, `labels.len() * dim`.
    pub values: Vec<f32>,
    /// One label per row.
    pub labels: Vec<u8>,
    /// Number of columns.
    pub dim: usize,
    /// Where the values came from.
    pub kind: FeatureKind,
}

impl Features {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when there is no row.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Loads `split` of a dataset artifact (pixels / 255) or a codes artifact; also returns
    /// the artifact's manifest and the file read.
    pub fn load(dir: &Path, split: &str) -> Result<(Self, Manifest, PathBuf)> {
        let manifest = open_artifact(dir, &[DATASET, CODES])?;
        let path = split_file(dir, split);
        let features = if manifest.stage == DATASET {
            let s = ImageSplit::read(&path)?;
            Features {
                values: s.images.iter().map(|&p| f32::from(p) / 255.0).collect(),
                labels: s.labels,
                dim: s.height * s.width,
                kind: FeatureKind::Pixels,
            }
        } else {
            let s = CodesSplit::read(&path)?;
            Features {
                values: s.codes,
                labels: s.labels,
                dim: s.dim,
                kind: FeatureKind::Codes,
            }
        };
        if let Some(i) = features.values.iter().position(|v| !v.is_finite()) {
            return Err(mismatch(
                &path,
                "codes",
                format!(
                    "non-finite value {} at row {}, column {}",
                    features.values[i],
                    i / features.dim.max(1),
                    i % features.dim.max(1)
                ),
            ));
        }
        Ok((features, manifest, path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_split_round_trip_and_shape_check() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("train.safetensors");
        let split = ImageSplit {
            images: (0..24).collect(),
            labels: vec![3, 1],
            height: 3,
            width: 4,
        };
        split.write(&path).unwrap();
        assert_eq!(ImageSplit::read(&path).unwrap(), split);

        TensorWriter::new()
            .add("images", &[2, 3, 4], &split.images)
            .add("labels", &[3], &[0u8, 1, 2])
            .write(&path)
            .unwrap();
        let err = ImageSplit::read(&path).unwrap_err().to_string();
        assert!(err.contains("3 labels for 2 images"), "{err}");
    }

    #[test]
    fn codes_with_nan_are_rejected() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("codes");
        let stage = crate::Stage::new(CODES, "0", &0, &[], &dir).unwrap();
        let staging = stage.staging().unwrap();
        let split = CodesSplit {
            codes: vec![0.0, f32::NAN, 1.0, 2.0],
            labels: vec![0, 1],
            dim: 2,
        };
        split.write(&split_file(staging.path(), "train")).unwrap();
        staging
            .commit(
                &stage,
                &["train.safetensors"],
                Default::default(),
                Default::default(),
            )
            .unwrap();
        let err = Features::load(&dir, "train").unwrap_err().to_string();
        assert!(
            err.contains("non-finite value NaN at row 0, column 1"),
            "{err}"
        );
    }
}
