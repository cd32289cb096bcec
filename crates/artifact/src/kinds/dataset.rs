//! The `dataset` kind: images and labels per split.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{ArtifactInfo, PerSplit};
use crate::{ArtifactError, Result, TensorFile, TensorWriter};

/// Where a dataset's images came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceFormat {
    /// The four IDX files (gzip or raw) of MNIST-like releases.
    Idx,
    /// Two CSV files, label first.
    Csv,
}

/// A class: its label and the name shown in reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassName {
    /// Label as stored in the tensors.
    pub label: u8,
    /// Name shown in reports.
    pub name: String,
}

/// Counts of one split.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SplitCounts {
    /// Images in the split.
    pub count: usize,
    /// Images per label (the label as a string key).
    pub class_counts: BTreeMap<String, usize>,
}

/// One source file the dataset was read from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceFile {
    /// Path as given.
    pub path: String,
    /// SHA-256 of the decompressed content.
    pub content_sha256: String,
    /// Bytes of the decompressed content.
    pub content_bytes: usize,
    /// The known release this file is part of (`fashion-mnist`, …), if recognised.
    pub known_release: Option<String>,
}

/// `info` of a dataset artifact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetInfo {
    /// Source format.
    pub format: SourceFormat,
    /// The known release the sources were recognised as by content hash
    /// (`fashion-mnist`, `fashion-mnist-subset`), or none.
    pub recognised: Option<String>,
    /// Image height and width.
    pub image_shape: [usize; 2],
    /// The classes, by ascending label.
    pub classes: Vec<ClassName>,
    /// Counts per split.
    pub splits: PerSplit<SplitCounts>,
    /// Source files with their content hashes.
    pub sources: Vec<SourceFile>,
}

impl ArtifactInfo for DatasetInfo {
    const STAGE: &'static str = super::DATASET;
}

impl SplitCounts {
    /// Counts of `split`.
    pub fn of(split: &ImageSplit) -> Self {
        let mut counts = BTreeMap::new();
        for &l in &split.labels {
            *counts.entry(l).or_insert(0usize) += 1;
        }
        Self {
            count: split.len(),
            class_counts: counts
                .into_iter()
                .map(|(l, c)| (l.to_string(), c))
                .collect(),
        }
    }
}

impl DatasetInfo {
    /// The info of a dataset made of `train` and `test`, counts computed.
    pub fn describe(
        format: SourceFormat,
        recognised: Option<String>,
        classes: Vec<ClassName>,
        train: &ImageSplit,
        test: &ImageSplit,
        sources: Vec<SourceFile>,
    ) -> Self {
        Self {
            format,
            recognised,
            image_shape: [train.height, train.width],
            classes,
            splits: PerSplit {
                train: SplitCounts::of(train),
                test: SplitCounts::of(test),
            },
            sources,
        }
    }

    /// True when the sources are Fashion-MNIST (the full release or the committed subset).
    pub fn is_fashion_mnist(&self) -> bool {
        self.recognised
            .as_deref()
            .is_some_and(|r| r.starts_with("fashion-mnist"))
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

    /// The pixels of image `i`.
    pub fn image(&self, i: usize) -> &[u8] {
        &self.images[i * self.pixels()..(i + 1) * self.pixels()]
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
            return Err(ArtifactError::Tensor {
                path: path.to_path_buf(),
                name: "labels".into(),
                message: format!("{} labels for {} images", labels.shape[0], images.shape[0]),
            });
        }
        Ok(Self {
            height: images.shape[1],
            width: images.shape[2],
            images: images.data,
            labels: labels.data,
        })
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
        assert_eq!(split.image(1), &(12..24).collect::<Vec<u8>>()[..]);

        TensorWriter::new()
            .add("images", &[2, 3, 4], &split.images)
            .add("labels", &[3], &[0u8, 1, 2])
            .write(&path)
            .unwrap();
        let err = ImageSplit::read(&path).unwrap_err().to_string();
        assert!(err.contains("3 labels for 2 images"), "{err}");
    }

    #[test]
    fn fashion_mnist_is_recognised_by_release_name() {
        let mut info = DatasetInfo {
            format: SourceFormat::Idx,
            recognised: Some("fashion-mnist-subset".into()),
            image_shape: [28, 28],
            classes: vec![],
            splits: Default::default(),
            sources: vec![],
        };
        assert!(info.is_fashion_mnist());
        info.recognised = None;
        assert!(!info.is_fashion_mnist());
        info.recognised = Some("digits".into());
        assert!(!info.is_fashion_mnist());
    }
}
