//! A feature matrix for clustering, from a dataset (pixels) or a codes artifact.

use serde::{Deserialize, Serialize};

use super::{CodesInfo, CodesSplit, ImageSplit, PerSplit, Split, CODES, DATASET};
use crate::{Artifact, ArtifactError, Result};

/// What a feature matrix was made from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FeatureKind {
    /// Raw pixels of a dataset artifact, scaled to [0, 1].
    Pixels,
    /// Codes of an encoder.
    Codes,
}

/// Where a features artifact's rows come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeaturesOrigin {
    /// The cache key of the dataset whose images the rows are: two artifacts of the same
    /// images share it.
    pub dataset_key: String,
    /// The encoder's display name (none for a dataset's pixels).
    pub encoder: Option<String>,
}

/// A feature matrix for clustering: rows of `dim` floats, with labels.
#[derive(Debug, Clone, PartialEq)]
pub struct Features {
    /// Row-major values, `len() * dim`.
    pub values: Vec<f32>,
    /// One label per row, none for unlabelled images.
    pub labels: Option<Vec<u8>>,
    /// Number of columns.
    pub dim: usize,
    /// Where the values came from.
    pub kind: FeatureKind,
}

impl Features {
    /// The kinds of artifact features can be loaded from.
    pub const KINDS: [&'static str; 2] = [DATASET, CODES];

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.values.len().checked_div(self.dim).unwrap_or(0)
    }

    /// True when there is no row.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Row `i`.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.values[i * self.dim..(i + 1) * self.dim]
    }

    /// The pixels of `images` scaled to [0, 1], as clustering and encoders see them.
    pub fn of_images(images: ImageSplit) -> Self {
        Features {
            values: images
                .images
                .iter()
                .map(|&p| f32::from(p) / 255.0)
                .collect(),
            dim: images.pixels(),
            labels: images.labels,
            kind: FeatureKind::Pixels,
        }
    }

    /// Both splits of a dataset or codes artifact, checked to have the same columns.
    pub fn load_splits(artifact: &Artifact) -> Result<PerSplit<Self>> {
        let train = Self::load(artifact, Split::Train)?;
        let test = Self::load(artifact, Split::Test)?;
        if train.dim != test.dim {
            return Err(ArtifactError::Tensor {
                path: artifact.path(Split::Test.file_name())?,
                name: if artifact.kind() == DATASET {
                    "images"
                } else {
                    "codes"
                }
                .into(),
                message: format!(
                    "{} features per row, but the train split has {}",
                    test.dim, train.dim
                ),
            });
        }
        Ok(PerSplit { train, test })
    }

    /// The dataset and encoder behind a dataset or codes artifact's rows.
    pub fn origin(artifact: &Artifact) -> Result<FeaturesOrigin> {
        Ok(if artifact.kind() == DATASET {
            FeaturesOrigin {
                dataset_key: artifact.manifest().cache_key.clone(),
                encoder: None,
            }
        } else {
            let info: CodesInfo = artifact.info()?;
            FeaturesOrigin {
                dataset_key: info.dataset.cache_key,
                encoder: Some(info.encoder),
            }
        })
    }

    /// Loads `split` of a dataset artifact (pixels / 255) or a codes artifact, and checks
    /// that every value is finite.
    pub fn load(artifact: &Artifact, split: Split) -> Result<Self> {
        let path = artifact.path(split.file_name())?;
        let features = if artifact.kind() == DATASET {
            Self::of_images(ImageSplit::read(&path)?)
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
            return Err(ArtifactError::Tensor {
                path,
                name: "codes".into(),
                message: format!(
                    "non-finite value {} at row {}, column {}",
                    features.values[i],
                    i / features.dim.max(1),
                    i % features.dim.max(1)
                ),
            });
        }
        Ok(features)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::{CodesSplit, ImageSplit};
    use crate::{fixtures, InputFile, Stage};

    fn images(n: usize) -> ImageSplit {
        ImageSplit::grey(
            (0..n * 4).map(|i| (i * 7 % 256) as u8).collect(),
            (0..n).map(|i| (i % 2) as u8).collect(),
            2,
            2,
        )
    }

    #[test]
    fn codes_with_nan_are_rejected() {
        let tmp = tempfile::tempdir().unwrap();
        let split = CodesSplit {
            codes: vec![0.0, f32::NAN, 1.0, 2.0],
            labels: Some(vec![0, 1]),
            dim: 2,
        };
        let codes = fixtures::codes(&tmp.path().join("codes"), &split, &split, tmp.path()).unwrap();
        let err = Features::load(&codes, Split::Train)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("train.safetensors")
                && err.contains("non-finite value NaN at row 0, column 1"),
            "{err}"
        );
    }

    #[test]
    fn splits_of_different_widths_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let narrow = CodesSplit {
            codes: vec![0.0; 4],
            labels: Some(vec![0, 1]),
            dim: 2,
        };
        let wide = CodesSplit {
            codes: vec![0.0; 6],
            labels: Some(vec![0, 1]),
            dim: 3,
        };
        let codes = fixtures::codes(&tmp.path().join("c"), &narrow, &wide, tmp.path()).unwrap();
        let err = Features::load_splits(&codes).unwrap_err().to_string();
        assert!(
            err.contains("test.safetensors")
                && err.contains("3 features per row, but the train split has 2"),
            "{err}"
        );
    }

    #[test]
    fn pixels_are_scaled() {
        let tmp = tempfile::tempdir().unwrap();
        let data = fixtures::dataset(&tmp.path().join("d"), &images(3), &images(2)).unwrap();
        let f = Features::load(&data, Split::Test).unwrap();
        assert_eq!((f.len(), f.dim, f.kind), (2, 4, FeatureKind::Pixels));
        assert_eq!(f.values[1], 7.0 / 255.0);
    }

    #[test]
    fn a_file_changed_after_commit_is_refused_by_its_consumer() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("dataset");
        let data = fixtures::dataset(&dir, &images(3), &images(2)).unwrap();
        let file = dir.join(Split::Train.file_name());
        // Same size, flipped bytes at the end (pixel data).
        let mut bytes = std::fs::read(&file).unwrap();
        let n = bytes.len();
        bytes[n - 1] ^= 0xff;
        bytes[n - 5] ^= 0x0f;
        std::fs::write(&file, &bytes).unwrap();
        let input = data.input(Split::Train.file_name()).unwrap();
        let out = tmp.path().join("consumer");
        let err = Stage::new(CODES, "t", &1, &[input], &out)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&file.display().to_string())
                && err.contains("changed after its artifact was written")
                && err.contains("SHA-256")
                && err.contains("--force"),
            "{err}"
        );
        assert!(data.verified_path(Split::Train.file_name()).is_err());
        // A shorter file is refused on its size, before hashing.
        std::fs::write(&file, &bytes[..n - 1]).unwrap();
        let input = data.input(Split::Train.file_name()).unwrap();
        let err = Stage::new(CODES, "t", &1, &[input], &out)
            .unwrap_err()
            .to_string();
        assert!(err.contains("its size differs"), "{err}");
        // Outside files are taken as they are.
        Stage::new(CODES, "t", &1, &[InputFile::external(&file)], &out).unwrap();
        assert!(
            !out.exists(),
            "no artifact from a refused or unfinished run"
        );
    }
}
