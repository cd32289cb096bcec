//! Folders of PNG and JPEG images: one sub-folder per class (labelled) or any other tree
//! (unlabelled), listed in a sorted, reproducible order and decoded in parallel.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use aeclust_artifact::kinds::ImageSplit;
use image::imageops::FilterType;
use image::io::{Limits, Reader};
use image::{ColorType, DynamicImage};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::invalid;
use crate::{DatasetError, Result};

/// File name extensions read as images (case-insensitive); other files are ignored and
/// listed in the manifest.
pub const IMAGE_EXTENSIONS: [&str; 3] = ["png", "jpg", "jpeg"];

/// Largest width or height accepted: a guard against decompression bombs, with the
/// image crate's allocation limit (512 MiB per image).
pub const MAX_IMAGE_SIDE: u32 = 16_384;

/// Pixel channels of the dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Color {
    /// One grey channel (luma of colour images, ITU-R BT.709 weights).
    Gray,
    /// Red, green and blue (grey images are replicated to three channels).
    Rgb,
}

/// Resampling used by `--size`: the image crate's triangle (bilinear) filter, whose
/// support widens with the scale factor, so downscaling averages (no aliasing).
pub const RESIZE_FILTER: &str = "triangle";

/// A folder listed: the images with their labels, the classes, the files ignored.
#[derive(Debug, Clone)]
pub struct Listing {
    /// The folder.
    pub root: PathBuf,
    /// Image paths relative to `root`, sorted, with their class index when labelled.
    pub files: Vec<(String, Option<u8>)>,
    /// Class (sub-folder) names by index, when the folder holds one sub-folder per class.
    pub classes: Option<Vec<String>>,
    /// Files ignored for their extension, relative to `root`.
    pub ignored: Vec<String>,
}

fn is_image(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

/// Every file under `dir` (following symbolic links, refusing loops), sorted by path.
fn walk(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(dir)
        .follow_links(true)
        .sort_by_file_name()
    {
        let entry = entry.map_err(|e| {
            let path = e.path().unwrap_or(dir).to_path_buf();
            match e.loop_ancestor() {
                Some(ancestor) => invalid(
                    &path,
                    format!(
                        "symbolic link loop: it leads back to {}",
                        ancestor.display()
                    ),
                ),
                None => DatasetError::Io {
                    path,
                    error: e
                        .into_io_error()
                        .unwrap_or_else(|| std::io::Error::other("unreadable directory entry")),
                },
            }
        })?;
        if entry.file_type().is_file() {
            files.push(entry.into_path());
        }
    }
    Ok(files)
}

/// Lists `dir`: when it holds sub-folders and no image of its own (and `unlabelled` is
/// false), each sub-folder is a class named after it; otherwise every image below it is
/// unlabelled. Errors on a missing or empty folder and on a class folder without images.
pub fn list(dir: &Path, unlabelled: bool) -> Result<Listing> {
    if !dir.is_dir() {
        return Err(DatasetError::Missing {
            path: dir.to_path_buf(),
            hint: "(image folder: PNG or JPEG files, optionally one sub-folder per class)".into(),
        });
    }
    let top = std::fs::read_dir(dir).map_err(|e| DatasetError::Io {
        path: dir.to_path_buf(),
        error: e,
    })?;
    let mut subdirs = Vec::new();
    let mut top_images = false;
    for entry in top {
        let entry = entry.map_err(|e| DatasetError::Io {
            path: dir.to_path_buf(),
            error: e,
        })?;
        let path = entry.path();
        if path.is_dir() {
            subdirs.push(path);
        } else if is_image(&path) {
            top_images = true;
        }
    }
    subdirs.sort();
    let all = walk(dir)?;
    let (images, ignored): (Vec<PathBuf>, Vec<PathBuf>) =
        all.into_iter().partition(|p| is_image(p));
    let ignored = ignored.iter().map(|p| relative(dir, p)).collect();
    if images.is_empty() {
        return Err(invalid(
            dir,
            format!(
                "no images (files ending in {}) in this folder or below",
                IMAGE_EXTENSIONS.map(|e| format!(".{e}")).join(", ")
            ),
        ));
    }
    if unlabelled || top_images || subdirs.is_empty() {
        return Ok(Listing {
            root: dir.to_path_buf(),
            files: images.iter().map(|p| (relative(dir, p), None)).collect(),
            classes: None,
            ignored,
        });
    }
    if subdirs.len() > 256 {
        return Err(invalid(
            dir,
            format!(
                "{} class folders; at most 256 classes are supported (pass --unlabelled to \
                 read the images without labels)",
                subdirs.len()
            ),
        ));
    }
    let mut files = Vec::with_capacity(images.len());
    let mut classes = Vec::with_capacity(subdirs.len());
    for (label, sub) in subdirs.iter().enumerate() {
        let before = files.len();
        files.extend(
            images
                .iter()
                .filter(|p| p.starts_with(sub))
                .map(|p| (relative(dir, p), Some(label as u8))),
        );
        if files.len() == before {
            return Err(invalid(
                sub,
                "class folder with no images (every sub-folder of a labelled image folder \
                 is a class; remove it or pass --unlabelled)",
            ));
        }
        classes.push(
            sub.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        );
    }
    Ok(Listing {
        root: dir.to_path_buf(),
        files,
        classes: Some(classes),
        ignored,
    })
}

impl Listing {
    /// SHA-256 over every image's relative path and content (the cache key of the
    /// folder), and the bytes read. Reads the files in parallel and keeps none of them:
    /// a cache hit then costs one read, and a miss reads them again to decode (holding
    /// a folder of photos compressed in memory would cost more than the second read).
    pub fn digest(&self) -> Result<(String, u64)> {
        let hashes = self
            .files
            .par_iter()
            .map(|(rel, _)| {
                let path = self.root.join(rel);
                let bytes =
                    std::fs::read(&path).map_err(|e| DatasetError::Io { path, error: e })?;
                Ok((Sha256::digest(&bytes), bytes.len() as u64))
            })
            .collect::<Result<Vec<_>>>()?;
        let mut all = Sha256::new();
        let mut total = 0;
        for ((rel, label), (h, n)) in self.files.iter().zip(&hashes) {
            all.update(rel.as_bytes());
            all.update([0, label.map_or(0, |l| 1 + u16::from(l)) as u8]);
            all.update(h);
            total += n;
        }
        Ok((format!("{:x}", all.finalize()), total))
    }

    /// Keeps the files at `keep` (ascending indices).
    pub fn select(&self, keep: &[usize]) -> Listing {
        Listing {
            root: self.root.clone(),
            files: keep.iter().map(|&i| self.files[i].clone()).collect(),
            classes: self.classes.clone(),
            ignored: self.ignored.clone(),
        }
    }
}

/// Splits `listing` into train and test with a seeded shuffle, `fraction` of the images
/// (of each class, when labelled) to test; both keep the sorted order.
pub fn split_fraction(listing: &Listing, fraction: f64, seed: u64) -> Result<(Listing, Listing)> {
    if !(fraction > 0.0 && fraction < 1.0) {
        return Err(DatasetError::Params(format!(
            "--test-fraction {fraction}: must be between 0 and 1 (exclusive)"
        )));
    }
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let groups: Vec<Option<u8>> = {
        let mut g: Vec<Option<u8>> = listing.files.iter().map(|f| f.1).collect();
        g.sort_unstable();
        g.dedup();
        g
    };
    let mut test = Vec::new();
    for group in groups {
        let mut members: Vec<usize> = (0..listing.files.len())
            .filter(|&i| listing.files[i].1 == group)
            .collect();
        members.shuffle(&mut rng);
        let take = (fraction * members.len() as f64).round() as usize;
        test.extend_from_slice(&members[..take.min(members.len())]);
    }
    test.sort_unstable();
    let train: Vec<usize> = (0..listing.files.len())
        .filter(|i| test.binary_search(i).is_err())
        .collect();
    if test.is_empty() || train.is_empty() {
        return Err(DatasetError::Params(format!(
            "--test-fraction {fraction} of {} images leaves {} for train and {} for test; \
             both need at least one",
            listing.files.len(),
            train.len(),
            test.len()
        )));
    }
    Ok((listing.select(&train), listing.select(&test)))
}

/// How to decode.
#[derive(Debug, Clone, Copy)]
pub struct DecodeOptions {
    /// Resize every image to height × width.
    pub size: Option<(u32, u32)>,
    /// Skip undecodable files instead of failing.
    pub skip_bad: bool,
}

/// One decoded image: grey (`Luma8`) or colour (`Rgb8`), at its final size.
#[derive(Debug)]
struct Decoded {
    image: DynamicImage,
    grey: bool,
}

fn decode(path: &Path, size: Option<(u32, u32)>) -> std::result::Result<Decoded, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    if bytes.is_empty() {
        return Err("empty file (0 bytes)".into());
    }
    let mut reader = Reader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| e.to_string())?;
    if reader.format().is_none() {
        return Err("not a PNG or JPEG image (unrecognised content)".into());
    }
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_IMAGE_SIDE);
    limits.max_image_height = Some(MAX_IMAGE_SIDE);
    reader.limits(limits);
    let image = reader.decode().map_err(|e| match e {
        image::ImageError::Limits(l) => format!(
            "refused: {l} (images up to {MAX_IMAGE_SIDE} pixels a side and 512 MiB decoded)"
        ),
        other => format!("cannot decode: {other}"),
    })?;
    let grey = matches!(
        image.color(),
        ColorType::L8 | ColorType::La8 | ColorType::L16 | ColorType::La16
    );
    let image = match size {
        Some((h, w)) if (image.height(), image.width()) != (h, w) => {
            image.resize_exact(w, h, FilterType::Triangle)
        }
        _ => image,
    };
    let image = if grey {
        DynamicImage::ImageLuma8(image.to_luma8())
    } else {
        DynamicImage::ImageRgb8(image.to_rgb8())
    };
    Ok(Decoded { image, grey })
}

/// Images decoded from one folder listing.
#[derive(Debug)]
pub struct DecodedSplit {
    images: Vec<Decoded>,
    /// Relative paths of the images kept, in row order.
    pub files: Vec<String>,
    labels: Vec<Option<u8>>,
    /// Files skipped as undecodable: relative path and why.
    pub skipped: Vec<(String, String)>,
    root: PathBuf,
}

/// Decodes every image of `listing` in parallel; `tick` is called once per file.
pub fn decode_all(
    listing: &Listing,
    options: DecodeOptions,
    tick: &(dyn Fn() + Sync),
) -> Result<DecodedSplit> {
    let results: Vec<_> = listing
        .files
        .par_iter()
        .map(|(rel, _)| {
            let r = decode(&listing.root.join(rel), options.size);
            tick();
            r
        })
        .collect();
    let mut out = DecodedSplit {
        images: Vec::with_capacity(results.len()),
        files: Vec::with_capacity(results.len()),
        labels: Vec::with_capacity(results.len()),
        skipped: Vec::new(),
        root: listing.root.clone(),
    };
    for ((rel, label), r) in listing.files.iter().zip(results) {
        match r {
            Ok(d) => {
                out.images.push(d);
                out.files.push(rel.clone());
                out.labels.push(*label);
            }
            Err(e) if options.skip_bad => out.skipped.push((rel.clone(), e)),
            Err(e) => {
                return Err(invalid(
                    &listing.root.join(rel),
                    format!("{e} (pass --skip-bad to skip such files)"),
                ))
            }
        }
    }
    if out.images.is_empty() {
        return Err(invalid(
            &listing.root,
            format!(
                "none of the {} images could be decoded",
                listing.files.len()
            ),
        ));
    }
    Ok(out)
}

impl DecodedSplit {
    /// True when every image is grey.
    pub fn all_grey(&self) -> bool {
        self.images.iter().all(|d| d.grey)
    }

    /// Height and width shared by every image; an error naming two files of different
    /// sizes otherwise.
    pub fn shared_size(&self) -> Result<(u32, u32)> {
        let size = |d: &Decoded| (d.image.height(), d.image.width());
        let (h, w) = size(&self.images[0]);
        match self.images.iter().position(|d| size(d) != (h, w)) {
            None => Ok((h, w)),
            Some(i) => {
                let (h2, w2) = size(&self.images[i]);
                Err(invalid(
                    &self.root.join(&self.files[i]),
                    format!(
                        "{h2}x{w2} pixels, but {} is {h}x{w}; all images must share one size \
                         (pass --size HxW to resize them)",
                        self.root.join(&self.files[0]).display()
                    ),
                ))
            }
        }
    }

    /// The images as one split of `color` channels.
    pub fn into_split(self, color: Color, height: usize, width: usize) -> ImageSplit {
        let channels = match color {
            Color::Gray => 1,
            Color::Rgb => 3,
        };
        let mut images = Vec::with_capacity(self.images.len() * height * width * channels);
        for d in &self.images {
            match (color, &d.image) {
                (Color::Gray, DynamicImage::ImageLuma8(g)) => images.extend_from_slice(g.as_raw()),
                (Color::Gray, other) => images.extend_from_slice(other.to_luma8().as_raw()),
                (Color::Rgb, DynamicImage::ImageRgb8(c)) => images.extend_from_slice(c.as_raw()),
                (Color::Rgb, other) => images.extend_from_slice(other.to_rgb8().as_raw()),
            }
        }
        let labels = self.labels.iter().copied().collect::<Option<Vec<u8>>>();
        ImageSplit {
            images,
            labels,
            height,
            width,
            channels,
        }
    }
}
