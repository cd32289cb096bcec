//! Folders of images (PNG, JPEG, WebP, BMP, TIFF, GIF): one sub-folder per class
//! (labelled) or any other tree (unlabelled), listed in a sorted, reproducible order and
//! read in parallel by `aeclust-image-read` as one [`ReadSettings`] says.

use std::path::{Path, PathBuf};

use aeclust_artifact::kinds::ImageSplit;
pub use aeclust_artifact::kinds::{Background, Color, Fit, ReadSettings};
use aeclust_image_read::Picture;
pub use aeclust_image_read::{unsupported_hint, SUPPORTED_EXTENSIONS};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::error::invalid;
use crate::{DatasetError, Result};

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
            hint: "(image folder: PNG, JPEG, WebP, BMP, TIFF or GIF files, optionally one \
                   sub-folder per class)"
                .into(),
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
        } else if aeclust_image_read::is_supported(&path) {
            top_images = true;
        }
    }
    subdirs.sort();
    let all = walk(dir)?;
    let (images, ignored): (Vec<PathBuf>, Vec<PathBuf>) = all
        .into_iter()
        .partition(|p| aeclust_image_read::is_supported(p));
    let ignored = ignored.iter().map(|p| relative(dir, p)).collect();
    if images.is_empty() {
        return Err(invalid(
            dir,
            format!(
                "no images (files ending in {}) in this folder or below",
                SUPPORTED_EXTENSIONS.map(|e| format!(".{e}")).join(", ")
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
        Ok(self.combine(&self.file_digests()?))
    }

    /// Every file's SHA-256 and size, in listing order.
    pub fn file_digests(&self) -> Result<Vec<([u8; 32], u64)>> {
        self.files
            .par_iter()
            .map(|(rel, _)| {
                let path = self.root.join(rel);
                let bytes =
                    std::fs::read(&path).map_err(|e| DatasetError::Io { path, error: e })?;
                Ok((Sha256::digest(&bytes).into(), bytes.len() as u64))
            })
            .collect()
    }

    /// [`Listing::digest`] from the files' own digests (one per file, in order).
    pub fn combine(&self, digests: &[([u8; 32], u64)]) -> (String, u64) {
        let mut all = Sha256::new();
        let mut total = 0;
        for ((rel, label), (h, n)) in self.files.iter().zip(digests) {
            all.update(rel.as_bytes());
            all.update([0, label.map_or(0, |l| 1 + u16::from(l)) as u8]);
            all.update(h);
            total += n;
        }
        (format!("{:x}", all.finalize()), total)
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
    /// Size, fit, background (the colour is chosen after every image is read).
    pub read: ReadSettings,
    /// Skip undecodable files instead of failing.
    pub skip_bad: bool,
}

/// Images decoded from one folder listing.
#[derive(Debug)]
pub struct DecodedSplit {
    images: Vec<Picture>,
    /// Relative paths of the images kept, in row order.
    pub files: Vec<String>,
    labels: Vec<Option<u8>>,
    /// Files skipped as undecodable: relative path and why.
    pub skipped: Vec<(String, String)>,
    /// Files read with a warning: relative path and what.
    pub warnings: Vec<(String, String)>,
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
            let r = aeclust_image_read::read(&listing.root.join(rel), &options.read);
            tick();
            r
        })
        .collect();
    let mut out = DecodedSplit {
        images: Vec::with_capacity(results.len()),
        files: Vec::with_capacity(results.len()),
        labels: Vec::with_capacity(results.len()),
        skipped: Vec::new(),
        warnings: Vec::new(),
        root: listing.root.clone(),
    };
    for ((rel, label), r) in listing.files.iter().zip(results) {
        match r {
            Ok(mut d) => {
                out.warnings
                    .extend(d.warnings.drain(..).map(|w| (rel.clone(), w)));
                out.images.push(d);
                out.files.push(rel.clone());
                out.labels.push(*label);
            }
            Err(e) if options.skip_bad => out.skipped.push((rel.clone(), e.to_string())),
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
        self.images.iter().all(Picture::is_grey)
    }

    /// The first image (relative path) that is not grey.
    pub fn first_colour(&self) -> Option<&str> {
        self.images
            .iter()
            .position(|p| !p.is_grey())
            .map(|i| self.files[i].as_str())
    }

    /// The first image (relative path, height, width) that is not `height` × `width`.
    pub fn first_not_of_size(&self, height: u32, width: u32) -> Option<(&str, u32, u32)> {
        self.images.iter().enumerate().find_map(|(i, p)| {
            let (h, w) = p.size();
            ((h, w) != (height, width)).then_some((self.files[i].as_str(), h, w))
        })
    }

    /// The folder the relative paths are in.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Height and width shared by every image; an error naming two files of different
    /// sizes otherwise.
    pub fn shared_size(&self) -> Result<(u32, u32)> {
        let size = |d: &Picture| d.size();
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
        let channels = color.channels();
        let mut images = Vec::with_capacity(self.images.len() * height * width * channels);
        for picture in &self.images {
            picture.append_to(color, &mut images);
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
