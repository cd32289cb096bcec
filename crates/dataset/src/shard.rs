//! Shards of an image folder and their merge: `--shard I/N` reads the I-th of N
//! contiguous parts of each split's sorted file list (the classes and the test split
//! decided on the whole folder first, so every shard labels and splits as the whole
//! would), and `--merge` joins the N shard artifacts into one whose files are
//! byte-identical to those of the unsharded artifact.

use std::ops::Range;
use std::path::{Path, PathBuf};

use aeclust_artifact::kinds::{
    self, DatasetInfo, ImageFiles, ImageFolder, ImageSplit, PerSplit, SourceFile, SourceFormat,
    Split,
};
use aeclust_artifact::{Artifact, Outcome, Stage};
use serde::{Deserialize, Serialize};

use crate::error::invalid;
use crate::images::Listing;
use crate::stage::commit_folder;
use crate::{DatasetError, Result};

/// Part `index` (1-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// Which part, 1..=count.
    pub index: usize,
    /// Parts in all.
    pub count: usize,
}

impl std::str::FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let bad = || format!("`{s}`: expected I/N with 1 <= I <= N, e.g. 2/8");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count) = (
            i.trim().parse::<usize>().map_err(|_| bad())?,
            n.trim().parse::<usize>().map_err(|_| bad())?,
        );
        if index == 0 || index > count {
            return Err(bad());
        }
        Ok(Self { index, count })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    /// The rows of `n` this shard holds: `(index − 1)·n/count .. index·n/count`, so the
    /// shards cover `0..n` once, in order, their sizes differing by at most one.
    pub fn range(&self, n: usize) -> Range<usize> {
        (self.index - 1) * n / self.count..self.index * n / self.count
    }

    /// The part of `listing` this shard reads.
    pub fn of(&self, listing: &Listing) -> Listing {
        listing.select(&self.range(listing.files.len()).collect::<Vec<_>>())
    }
}

/// What a shard artifact keeps for the merge (`shard.json`): which part it is, every
/// file's digest (the whole folder's cache key is computed from them) and, per split,
/// the files skipped or read with a warning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardFiles {
    /// Which part.
    pub shard: Shard,
    /// Per split, every file listed (skipped ones too), in order, with its digest.
    pub digests: PerSplit<Vec<FileDigest>>,
    /// Per split, the files skipped and why.
    pub skipped: PerSplit<Vec<(String, String)>>,
    /// Per split, the files read with a warning.
    pub warnings: PerSplit<Vec<(String, String)>>,
}

/// One listed file and its content's digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileDigest {
    /// Path relative to the split's folder.
    pub file: String,
    /// Its class index, when labelled.
    pub label: Option<u8>,
    /// SHA-256 of its bytes, hex.
    pub sha256: String,
    /// Its size in bytes.
    pub bytes: u64,
}

impl FileDigest {
    /// The rows of `listing` with their `digests`.
    pub fn of(listing: &Listing, digests: &[([u8; 32], u64)]) -> Vec<Self> {
        listing
            .files
            .iter()
            .zip(digests)
            .map(|((file, label), (h, n))| Self {
                file: file.clone(),
                label: *label,
                sha256: hex(h),
                bytes: *n,
            })
            .collect()
    }
}

impl ShardFiles {
    /// Name of the file in a shard artifact.
    pub const FILE: &'static str = "shard.json";
}

/// Hex of a digest.
pub(crate) fn hex(d: &[u8; 32]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str, path: &Path) -> Result<[u8; 32]> {
    let bad = || invalid(path, format!("`{s}` is not a SHA-256"));
    if s.len() != 64 {
        return Err(bad());
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
    }
    Ok(out)
}

#[derive(Serialize)]
struct MergeKey<'a> {
    merge: &'a [String],
}

/// One shard read back.
struct Part {
    dir: PathBuf,
    info: DatasetInfo,
    shard: ShardFiles,
    files: ImageFiles,
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| DatasetError::Io {
        path: path.to_path_buf(),
        error: e,
    })?;
    serde_json::from_str(&text).map_err(|e| invalid(path, format!("unreadable: {e}")))
}

/// Joins the shard artifacts `shards` (every part of one `--shard I/N` reading, in any
/// order) into one dataset artifact at `out`, byte-identical in its images, labels and
/// file list to the artifact of the folder read whole.
pub fn merge(shards: &[PathBuf], out: &Path, force: bool) -> Result<Outcome> {
    if shards.is_empty() {
        return Err(DatasetError::Params(
            "--merge needs the shard artifacts".into(),
        ));
    }
    let mut parts = Vec::with_capacity(shards.len());
    let mut inputs = Vec::new();
    let mut keys = Vec::new();
    for dir in shards {
        let (artifact, info) = Artifact::open_as::<DatasetInfo>(dir)?;
        let path = artifact.verified_path(ShardFiles::FILE).map_err(|_| {
            invalid(
                dir,
                "not a shard (no shard.json): made without aeclust-dataset --shard I/N",
            )
        })?;
        let shard: ShardFiles = read_json(&path)?;
        let files: ImageFiles = read_json(&artifact.verified_path(DatasetInfo::FILES_FILE)?)?;
        inputs.extend(artifact.inputs(&[
            Split::Train.file_name(),
            Split::Test.file_name(),
            DatasetInfo::FILES_FILE,
            ShardFiles::FILE,
        ])?);
        keys.push(artifact.manifest().cache_key.clone());
        parts.push(Part {
            dir: dir.clone(),
            info,
            shard,
            files,
        });
    }
    parts.sort_by_key(|p| p.shard.shard.index);
    let count = parts[0].shard.shard.count;
    let found: Vec<usize> = parts.iter().map(|p| p.shard.shard.index).collect();
    if found != (1..=count).collect::<Vec<_>>()
        || parts.iter().any(|p| p.shard.shard.count != count)
    {
        return Err(DatasetError::Params(format!(
            "--merge needs every shard 1/{count} .. {count}/{count} once; got {}",
            parts
                .iter()
                .map(|p| format!("{} ({})", p.shard.shard, p.dir.display()))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let first = &parts[0];
    for p in &parts[1..] {
        let (a, b) = (&first.info, &p.info);
        let folder = |i: &DatasetInfo| {
            i.folder
                .as_ref()
                .map(|f| (f.roots.clone(), f.class_folders, f.test_fraction, f.read))
        };
        if (a.image_shape, a.channels, &a.classes, folder(a))
            != (b.image_shape, b.channels, &b.classes, folder(b))
        {
            return Err(invalid(
                &p.dir,
                format!(
                    "not a shard of the same reading as {}: folder, classes, image size, \
                     channels or read settings differ",
                    first.dir.display()
                ),
            ));
        }
    }
    let stage = Stage::new(
        kinds::DATASET,
        env!("CARGO_PKG_VERSION"),
        &MergeKey { merge: &keys },
        &inputs,
        out,
    )?;
    if let Some(outcome) = stage.reuse(force) {
        return Ok(outcome);
    }
    let folder = first
        .info
        .folder
        .clone()
        .ok_or_else(|| invalid(&first.dir, "not an image folder's dataset"))?;
    let mut splits = Vec::new();
    let mut sources = Vec::new();
    let mut files = PerSplit {
        train: Vec::new(),
        test: Vec::new(),
    };
    let (mut skipped, mut warnings) = (Vec::new(), Vec::new());
    for split in Split::ALL {
        let mut merged: Option<ImageSplit> = None;
        let mut listed = Vec::new();
        let mut digests = Vec::new();
        for p in &parts {
            let part = ImageSplit::read(&p.dir.join(split.file_name()))?;
            let rel = p.files.files.get(split);
            if rel.len() != part.len() {
                return Err(invalid(
                    &p.dir,
                    format!("{} {split} images but {} files", part.len(), rel.len()),
                ));
            }
            for d in p.shard.digests.get(split) {
                digests.push((unhex(&d.sha256, &p.dir.join(ShardFiles::FILE))?, d.bytes));
                listed.push((d.file.clone(), d.label));
            }
            match split {
                Split::Train => &mut files.train,
                Split::Test => &mut files.test,
            }
            .extend(rel.iter().cloned());
            skipped.extend(p.shard.skipped.get(split).iter().cloned());
            warnings.extend(p.shard.warnings.get(split).iter().cloned());
            merged = Some(match merged {
                None => part,
                Some(mut m) => {
                    m.images.extend_from_slice(&part.images);
                    if let (Some(l), Some(pl)) = (&mut m.labels, &part.labels) {
                        l.extend_from_slice(pl);
                    }
                    m
                }
            });
        }
        let merged = merged.expect("at least one shard");
        // The whole folder's digest, as `Listing::digest` computes it.
        if let Some(root) = folder.roots.get(split).clone() {
            let listing = Listing {
                root: PathBuf::from(&root),
                files: listed,
                classes: None,
                ignored: Vec::new(),
            };
            let (digest, bytes) = listing.combine(&digests);
            sources.push(SourceFile {
                path: root,
                content_sha256: digest,
                content_bytes: bytes as usize,
                known_release: None,
            });
        }
        splits.push(merged);
    }
    let test = splits.pop().expect("test");
    let train = splits.pop().expect("train");
    let mut info = DatasetInfo::describe(
        SourceFormat::Images,
        None,
        first.info.classes.clone(),
        &train,
        &test,
        sources,
    );
    info.folder = Some(ImageFolder {
        skipped,
        warnings,
        ..folder
    });
    commit_folder(
        &stage,
        &PerSplit { train, test },
        &ImageFiles { files },
        &info,
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_cover_every_row_once_in_order() {
        for n in [0, 1, 7, 100, 101] {
            for count in 1..=9 {
                let rows: Vec<usize> = (1..=count)
                    .flat_map(|index| Shard { index, count }.range(n))
                    .collect();
                assert_eq!(rows, (0..n).collect::<Vec<_>>(), "{n} rows, {count} shards");
            }
        }
        assert_eq!(
            "2/8".parse::<Shard>().unwrap(),
            Shard { index: 2, count: 8 }
        );
        for bad in ["0/4", "5/4", "x/2", "3", "1/0"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }
}
