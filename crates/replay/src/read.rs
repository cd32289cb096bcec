//! Reading new images as a dataset artifact recorded its own.

use std::path::PathBuf;

use aeclust_artifact::kinds::{
    Background, Color, DatasetInfo, Fit, ImageSplit, ReadSettings, Split,
};
use aeclust_artifact::Artifact;
use aeclust_dataset::images::{decode_all, DecodeOptions, Listing};

use crate::{invalid, Result};

/// How new images must be read to stand beside a dataset's: its read settings, and
/// whether its channels were chosen from the images (grey when all were grey) or given.
#[derive(Debug, Clone)]
pub struct ReadPlan {
    /// The settings every image is read with (the channels included).
    pub settings: ReadSettings,
    /// Height and width every image ends up with.
    pub shape: [usize; 2],
    /// The channels were chosen from the fitted images, not given with `--color`.
    pub color_chosen: bool,
    dataset: PathBuf,
}

/// New images read as a [`ReadPlan`] says.
#[derive(Debug)]
pub struct NewImages {
    /// Every image's path as given (the folder joined with its relative path), in row
    /// order.
    pub files: Vec<String>,
    /// The images (labels: indices into `classes`).
    pub split: ImageSplit,
    /// The folder's own class names (its sub-folders), empty when unlabelled.
    pub classes: Vec<String>,
    /// Files skipped as undecodable (`--skip-bad`): path and why.
    pub skipped: Vec<(String, String)>,
    /// Files read with a warning: path and what.
    pub warnings: Vec<(String, String)>,
    /// Files ignored for their extension.
    pub ignored: Vec<String>,
}

impl ReadPlan {
    /// The plan of the dataset artifact `dataset`: an image folder's recorded settings;
    /// IDX or CSV data are grey images of their shape, read as they are.
    pub fn of(dataset: &Artifact, info: &DatasetInfo) -> Result<Self> {
        let [h, w] = info.image_shape;
        let (settings, color_chosen) = match &info.folder {
            Some(folder) => {
                let settings = folder.read.ok_or_else(|| {
                    invalid(
                        dataset.dir(),
                        format!(
                            "this dataset was written before its read settings were recorded; \
                             rebuild it (`{} --force` with the same options, or rerun the \
                             pipeline) so that new images can be read the same way",
                            dataset.manifest().producer
                        ),
                    )
                })?;
                let given = dataset
                    .manifest()
                    .params
                    .pointer("/input/read/color")
                    .is_some_and(|c| !c.is_null());
                (settings, !given)
            }
            None => (
                ReadSettings {
                    size: None,
                    fit: Fit::Pad,
                    background: Background::WHITE,
                    color: Some(if info.channels == 1 {
                        Color::Gray
                    } else {
                        Color::Rgb
                    }),
                },
                true,
            ),
        };
        Ok(Self {
            settings,
            shape: [h, w],
            color_chosen,
            dataset: dataset.dir().to_path_buf(),
        })
    }

    /// The channels every image ends up with.
    pub fn color(&self) -> Color {
        self.settings.color.unwrap_or(Color::Gray)
    }

    /// Reads every image of `listing`. Undecodable files are skipped with `skip_bad`,
    /// else an error. An image of another size when the dataset recorded no size is an
    /// error; so is a colour image when the fitted images were all grey, or a folder of
    /// only grey images when they were colour, unless `convert` (then they are converted
    /// as the settings say).
    pub fn read(
        &self,
        listing: &Listing,
        skip_bad: bool,
        convert: bool,
        tick: &(dyn Fn() + Sync),
    ) -> Result<NewImages> {
        let decoded = decode_all(
            listing,
            DecodeOptions {
                read: self.settings,
                skip_bad,
            },
            tick,
        )?;
        let [h, w] = self.shape;
        let root = decoded.root().to_path_buf();
        if let Some((file, fh, fw)) = decoded.first_not_of_size(h as u32, w as u32) {
            return Err(invalid(
                root.join(file),
                format!(
                    "{fh}x{fw} pixels, but the clustering's images are {h}x{w} and its dataset \
                     ({}) recorded no --size to bring others to; resize the images, or refit \
                     with --size",
                    self.dataset.display()
                ),
            ));
        }
        if self.color_chosen && !convert {
            match self.color() {
                Color::Gray => {
                    if let Some(file) = decoded.first_colour() {
                        return Err(invalid(
                            root.join(file),
                            "a colour image, but the clustering was fitted on grey images; \
                             pass --convert to read colour images as grey",
                        ));
                    }
                }
                Color::Rgb => {
                    if decoded.all_grey() {
                        return Err(invalid(
                            &root,
                            "every image is grey, but the clustering was fitted on colour \
                             images; pass --convert to read them as RGB",
                        ));
                    }
                }
            }
        }
        let files = decoded
            .files
            .iter()
            .map(|f| root.join(f).display().to_string())
            .collect();
        let in_root = |(f, e): &(String, String)| (root.join(f).display().to_string(), e.clone());
        let skipped = decoded.skipped.iter().map(in_root).collect();
        let warnings = decoded.warnings.iter().map(in_root).collect();
        let split = decoded.into_split(self.color(), h, w);
        Ok(NewImages {
            files,
            split,
            classes: listing.classes.clone().unwrap_or_default(),
            skipped,
            warnings,
            ignored: listing
                .ignored
                .iter()
                .map(|f| listing.root.join(f).display().to_string())
                .collect(),
        })
    }
}

impl NewImages {
    /// Both splits of the dataset artifact `data` (train rows, then test rows), each
    /// row named by its source (`DatasetInfo::row_sources`).
    pub fn of_dataset(data: &Artifact) -> Result<Self> {
        let info: DatasetInfo = data.info()?;
        let mut files = Vec::new();
        let mut split: Option<ImageSplit> = None;
        for s in Split::ALL {
            files.extend(info.row_sources(data, s)?);
            let part = ImageSplit::read(&data.verified_path(s.file_name())?)?;
            split = Some(match split {
                None => part,
                Some(mut all) => {
                    all.images.extend(part.images);
                    all.labels = match (all.labels, part.labels) {
                        (Some(mut a), Some(b)) => {
                            a.extend(b);
                            Some(a)
                        }
                        _ => None,
                    };
                    all
                }
            });
        }
        let split = split.expect("two splits");
        Ok(Self {
            files,
            classes: if split.labels.is_some() {
                info.classes.iter().map(|c| c.name.clone()).collect()
            } else {
                Vec::new()
            },
            split,
            skipped: Vec::new(),
            warnings: Vec::new(),
            ignored: Vec::new(),
        })
    }

    /// Both splits of the four IDX files in `dir` (train rows first), each row named
    /// `IMAGESFILE#INDEX` as a dataset of them names its rows; labelled, with
    /// Fashion-MNIST's class names when the files are its release, else numbers.
    pub fn of_idx(dir: &std::path::Path) -> Result<Self> {
        let idx = aeclust_dataset::read_idx_dir(dir)?;
        let mut files = Vec::new();
        for (split, images_file) in [
            (&idx.splits.train, &idx.files[0]),
            (&idx.splits.test, &idx.files[2]),
        ] {
            files.extend((0..split.len()).map(|i| format!("{}#{i}", images_file.display())));
        }
        let aeclust_artifact::kinds::PerSplit { train, test } = idx.splits;
        let mut split = train;
        split.images.extend(test.images);
        if let (Some(a), Some(b)) = (&mut split.labels, test.labels) {
            a.extend(b);
        }
        let top = split
            .labels
            .as_ref()
            .and_then(|l| l.iter().max().copied())
            .map_or(0, |m| usize::from(m) + 1);
        let classes = if idx.fashion_mnist {
            aeclust_dataset::FASHION_MNIST_CLASSES
                .iter()
                .map(|c| c.to_string())
                .collect()
        } else {
            (0..top).map(|c| c.to_string()).collect()
        };
        Ok(Self {
            files,
            classes,
            split,
            skipped: Vec::new(),
            warnings: Vec::new(),
            ignored: Vec::new(),
        })
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// True when there is none.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}
