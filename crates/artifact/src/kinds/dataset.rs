//! The `dataset` kind: images and labels per split.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{ArtifactInfo, PerSplit, Split};
use crate::{Artifact, ArtifactError, Result, TensorFile, TensorWriter};

/// Where a dataset's images came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceFormat {
    /// The four IDX files (gzip or raw) of MNIST-like releases.
    Idx,
    /// Two CSV files, label first.
    Csv,
    /// A folder of PNG/JPEG files (one sub-folder per class, or flat and unlabelled).
    Images,
}

/// How a folder of images was read: what a result needs to point back to its files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageFolder {
    /// The folder of each split (`test` is none without a test split, the train folder
    /// with `--test-fraction`).
    pub roots: PerSplit<Option<String>>,
    /// Whether labels came from one sub-folder per class.
    pub class_folders: bool,
    /// `HxW` every image was resized to, and the filter, if resized.
    pub resized: Option<String>,
    /// Files skipped as undecodable (`--skip-bad`): path and why.
    pub skipped: Vec<(String, String)>,
    /// Files ignored for their extension (not `.png`, `.jpg`, `.jpeg`).
    pub ignored: Vec<String>,
    /// Test fraction and seed of a seeded split of the train folder.
    pub test_fraction: Option<(f64, u64)>,
    /// How every image was read (size, fit, background, the channels chosen): what
    /// reading another image the same way replays. None in artifacts written before
    /// these settings were recorded (alpha was then dropped and `--size` stretched).
    #[serde(default)]
    pub read: Option<ReadSettings>,
    /// Files read with a warning (a corrupt EXIF block ignored, …): path and what.
    #[serde(default)]
    pub warnings: Vec<(String, String)>,
}

/// Pixel channels of an image dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Color {
    /// One grey channel (luma of colour images, ITU-R BT.709 weights).
    Gray,
    /// Red, green and blue (grey images are replicated to three channels).
    Rgb,
}

impl Color {
    /// Channels per pixel: 1 or 3.
    pub fn channels(self) -> usize {
        match self {
            Color::Gray => 1,
            Color::Rgb => 3,
        }
    }
}

/// How an image is brought to the requested size.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Fit {
    /// Scale the longer side to fit, centre, fill the rest with the background
    /// (letterbox): nothing is cut and nothing is distorted.
    #[default]
    Pad,
    /// Scale the shorter side to fit and cut the centre (torchvision's Resize +
    /// CenterCrop): fills the frame, loses the edges of the longer side.
    Crop,
    /// Scale each side on its own: fills the frame, distorts the aspect ratio.
    Stretch,
}

impl Fit {
    /// The option's name (`pad`, `crop`, `stretch`).
    pub fn name(self) -> &'static str {
        match self {
            Fit::Pad => "pad",
            Fit::Crop => "crop",
            Fit::Stretch => "stretch",
        }
    }
}

/// An opaque sRGB colour: what transparent pixels and padding show. Written and read
/// as `#rrggbb`; parsed from `white`, `black` or `#RRGGBB`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Background(pub [u8; 3]);

impl Background {
    /// White, the default (what viewers show behind transparent images).
    pub const WHITE: Background = Background([255, 255, 255]);
    /// Black.
    pub const BLACK: Background = Background([0, 0, 0]);

    /// True when red, green and blue are equal: grey images stay grey over it.
    pub fn is_grey(self) -> bool {
        let [r, g, b] = self.0;
        r == g && g == b
    }
}

impl Default for Background {
    fn default() -> Self {
        Background::WHITE
    }
}

impl std::fmt::Display for Background {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let [r, g, b] = self.0;
        write!(f, "#{r:02x}{g:02x}{b:02x}")
    }
}

impl std::str::FromStr for Background {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let hex = |h: &str| u8::from_str_radix(h, 16);
        match s.trim().to_ascii_lowercase().as_str() {
            "white" => Ok(Background::WHITE),
            "black" => Ok(Background::BLACK),
            t if t.len() == 7 && t.starts_with('#') && t.is_ascii() => {
                match (hex(&t[1..3]), hex(&t[3..5]), hex(&t[5..7])) {
                    (Ok(r), Ok(g), Ok(b)) => Ok(Background([r, g, b])),
                    _ => Err(format!("`{s}`: expected white, black or #RRGGBB")),
                }
            }
            _ => Err(format!("`{s}`: expected white, black or #RRGGBB")),
        }
    }
}

impl Serialize for Background {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Background {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// How image files become pixels: one value that the dataset stage records and that
/// reading any other image replays (`aeclust-image-read` applies it). Order of work:
/// decode, turn upright (EXIF orientation), composite transparency over `background`,
/// bring to `size` by `fit`, convert to `color`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ReadSettings {
    /// Height and width every image is brought to; none: images keep their size.
    pub size: Option<[u32; 2]>,
    /// How `size` is reached.
    pub fit: Fit,
    /// What transparent pixels and padding show.
    pub background: Background,
    /// Channels; none (only before reading): grey when every image is grey, else RGB.
    pub color: Option<Color>,
}

/// `files.json` of a dataset read from image files: every image's path relative to
/// its split's root, in row order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageFiles {
    /// Relative paths, one per row of each split.
    pub files: PerSplit<Vec<String>>,
}

/// A class: its label and the name shown in reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassName {
    /// Label as stored in the tensors.
    pub label: u8,
    /// Name shown in reports.
    pub name: String,
}

impl ClassName {
    /// The name of `label` among `classes`, or its number when it has none.
    pub fn of(classes: &[ClassName], label: u8) -> String {
        classes
            .iter()
            .find(|c| c.label == label)
            .map_or_else(|| label.to_string(), |c| c.name.clone())
    }
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetInfo {
    /// Source format.
    pub format: SourceFormat,
    /// The known release the sources were recognised as by content hash
    /// (`fashion-mnist`, `fashion-mnist-subset`), or none.
    pub recognised: Option<String>,
    /// Image height and width.
    pub image_shape: [usize; 2],
    /// Channels per pixel: 1 (grey) or 3 (RGB).
    pub channels: usize,
    /// Whether the images carry labels (benchmark formats always do).
    pub labelled: bool,
    /// The classes, by ascending label.
    pub classes: Vec<ClassName>,
    /// Counts per split.
    pub splits: PerSplit<SplitCounts>,
    /// Source files with their content hashes (for an image folder: the folder, with a
    /// hash over every file's relative path and content).
    pub sources: Vec<SourceFile>,
    /// How an image folder was read (format `images` only).
    pub folder: Option<ImageFolder>,
}

impl ArtifactInfo for DatasetInfo {
    const STAGE: &'static str = super::DATASET;
}

impl SplitCounts {
    /// Counts of `split`.
    pub fn of(split: &ImageSplit) -> Self {
        let mut counts = BTreeMap::new();
        for &l in split.labels.iter().flatten() {
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
    /// Where every row of `split` came from, for results that point back to the images:
    /// the image file (its folder joined with its path in `files.json`, read verified)
    /// for image folders, `IDXFILE#INDEX` for the four IDX files, else `SPLIT#INDEX`.
    /// `dataset` is the artifact this info describes.
    pub fn row_sources(&self, dataset: &Artifact, split: Split) -> Result<Vec<String>> {
        let n = self.splits.get(split).count;
        if let Some(folder) = &self.folder {
            let path = dataset.verified_path(Self::FILES_FILE)?;
            let text = std::fs::read_to_string(&path).map_err(|e| ArtifactError::io(&path, e))?;
            let files: ImageFiles =
                serde_json::from_str(&text).map_err(|e| ArtifactError::Manifest {
                    path: path.clone(),
                    message: format!("not an image file list: {e}"),
                })?;
            let root = folder.roots.get(split).clone().unwrap_or_default();
            let rel = files.files.get(split);
            if rel.len() != n {
                return Err(ArtifactError::Manifest {
                    path,
                    message: format!("{} {split} files for {n} {split} images", rel.len()),
                });
            }
            return Ok(rel
                .iter()
                .map(|f| Path::new(&root).join(f).display().to_string())
                .collect());
        }
        // IDX: train images, train labels, test images, test labels.
        let images_file = match split {
            Split::Train => self.sources.first(),
            Split::Test => self.sources.get(2),
        };
        Ok(match images_file {
            Some(f) if self.sources.len() == 4 => {
                (0..n).map(|i| format!("{}#{i}", f.path)).collect()
            }
            _ => (0..n).map(|i| format!("{split}#{i}")).collect(),
        })
    }

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
            channels: train.channels,
            labelled: train.labels.is_some(),
            classes,
            splits: PerSplit {
                train: SplitCounts::of(train),
                test: SplitCounts::of(test),
            },
            sources,
            folder: None,
        }
    }

    /// Name of the file listing every image's source file (format `images` only).
    pub const FILES_FILE: &'static str = "files.json";

    /// True when the dataset has a test split (a split of zero images means none).
    pub fn has_test(&self) -> bool {
        self.splits.test.count > 0
    }

    /// True when the sources are Fashion-MNIST (the full release or the committed subset).
    pub fn is_fashion_mnist(&self) -> bool {
        self.recognised
            .as_deref()
            .is_some_and(|r| r.starts_with("fashion-mnist"))
    }
}

/// One split of a dataset: `n` images of `height`×`width`×`channels` bytes and, when
/// labelled, their labels. A split of zero images stands for "no such split".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSplit {
    /// Row-major pixels (channels innermost), `n * height * width * channels` bytes.
    pub images: Vec<u8>,
    /// One label per image, or none for unlabelled images.
    pub labels: Option<Vec<u8>>,
    /// Image height in pixels.
    pub height: usize,
    /// Image width in pixels.
    pub width: usize,
    /// Channels per pixel: 1 (grey) or 3 (RGB).
    pub channels: usize,
}

impl ImageSplit {
    /// Grey images with labels.
    pub fn grey(images: Vec<u8>, labels: Vec<u8>, height: usize, width: usize) -> Self {
        Self {
            images,
            labels: Some(labels),
            height,
            width,
            channels: 1,
        }
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.images.len().checked_div(self.pixels()).unwrap_or(0)
    }

    /// True when the split holds no image.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Values per image: `height * width * channels`.
    pub fn pixels(&self) -> usize {
        self.height * self.width * self.channels
    }

    /// The tensor shape of the images: `[n, h, w]` for grey, `[n, h, w, c]` otherwise.
    pub fn shape(&self) -> Vec<usize> {
        let mut shape = vec![self.len(), self.height, self.width];
        if self.channels != 1 {
            shape.push(self.channels);
        }
        shape
    }

    /// The pixels of image `i`.
    pub fn image(&self, i: usize) -> &[u8] {
        &self.images[i * self.pixels()..(i + 1) * self.pixels()]
    }

    /// Keeps the first `n` images.
    pub fn truncate(&mut self, n: usize) {
        if n < self.len() {
            if let Some(labels) = &mut self.labels {
                labels.truncate(n);
            }
            self.images.truncate(n * self.pixels());
        }
    }

    /// Writes `images` and, when labelled, `labels` to a safetensors file.
    pub fn write(&self, path: &Path) -> Result<()> {
        let mut w = TensorWriter::new();
        w.add("images", &self.shape(), &self.images);
        if let Some(labels) = &self.labels {
            w.add("labels", &[labels.len()], labels);
        }
        w.write(path)
    }

    /// Reads a split written by [`ImageSplit::write`], checking dtypes and shapes.
    pub fn read(path: &Path) -> Result<Self> {
        let file = TensorFile::open(path)?;
        let images = file.read::<u8>("images", None)?;
        let bad = |name: &str, message: String| ArtifactError::Tensor {
            path: path.to_path_buf(),
            name: name.into(),
            message,
        };
        let channels = match images.shape.len() {
            3 => 1,
            4 if matches!(images.shape[3], 1 | 3) => images.shape[3],
            _ => {
                return Err(bad(
                    "images",
                    format!(
                        "shape {:?}, expected [n, h, w] or [n, h, w, 3]",
                        images.shape
                    ),
                ))
            }
        };
        let labels = read_labels(&file, images.shape[0], "images")?;
        Ok(Self {
            height: images.shape[1],
            width: images.shape[2],
            channels,
            images: images.data,
            labels,
        })
    }
}

/// Reads the optional `labels` tensor of a file with `rows` rows of `what`.
pub(crate) fn read_labels(file: &TensorFile, rows: usize, what: &str) -> Result<Option<Vec<u8>>> {
    if !file.names().iter().any(|n| n == "labels") {
        return Ok(None);
    }
    let labels = file.read::<u8>("labels", Some(1))?;
    if labels.shape[0] != rows {
        return Err(ArtifactError::Tensor {
            path: file.path().to_path_buf(),
            name: "labels".into(),
            message: format!("{} labels for {rows} {what}", labels.shape[0]),
        });
    }
    Ok(Some(labels.data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_split_round_trip_and_shape_check() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("train.safetensors");
        let split = ImageSplit::grey((0..24).collect(), vec![3, 1], 3, 4);
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
    fn unlabelled_rgb_and_empty_splits_round_trip() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("train.safetensors");
        let rgb = ImageSplit {
            images: (0..36).collect(),
            labels: None,
            height: 2,
            width: 3,
            channels: 3,
        };
        rgb.write(&path).unwrap();
        let back = ImageSplit::read(&path).unwrap();
        assert_eq!(back, rgb);
        assert_eq!((back.len(), back.shape()), (2, vec![2, 2, 3, 3]));
        let empty = ImageSplit::grey(vec![], vec![], 28, 28);
        empty.write(&path).unwrap();
        let back = ImageSplit::read(&path).unwrap();
        assert!(back.is_empty());
        assert_eq!((back.height, back.width), (28, 28));
    }

    #[test]
    fn fashion_mnist_is_recognised_by_release_name() {
        let mut info = DatasetInfo {
            format: SourceFormat::Idx,
            recognised: Some("fashion-mnist-subset".into()),
            image_shape: [28, 28],
            channels: 1,
            labelled: true,
            classes: vec![],
            splits: Default::default(),
            sources: vec![],
            folder: None,
        };
        assert!(info.is_fashion_mnist());
        info.recognised = None;
        assert!(!info.is_fashion_mnist());
        info.recognised = Some("digits".into());
        assert!(!info.is_fashion_mnist());
    }
}
