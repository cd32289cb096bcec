//! The codes of a folder's shards joined into the codes of the whole folder.
//!
//! `aeclust-dataset --shard I/N` reads part of a folder and `aeclust-dataset --merge`
//! joins the parts' pixels; an encoder that needs nothing but the images (the pretrained
//! network, or an autoencoder trained once) can instead encode every shard where it was
//! read, and [`merge`] joins those codes: its files are byte-identical to the codes of the
//! merged dataset encoded whole (every image is encoded on its own), and its info is
//! theirs, with the merged dataset as its images.

use std::path::{Path, PathBuf};

use aeclust_artifact::kinds::{
    CodesInfo, DatasetInfo, PerSplit, Recognised, RecognisedSplit, Split, CODES,
};
use aeclust_artifact::{
    write_in_pieces, Artifact, ArtifactError, Environment, InputFile, Outcome, Stage, TensorRows,
    TensorSpec,
};
use serde::Serialize;
use serde_json::Value;

/// Errors of the merge.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// Artifacts that cannot be joined, with the one at fault named.
    #[error("{path}: {message}")]
    Invalid {
        /// The artifact.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Impossible parameters.
    #[error("invalid parameter: {0}")]
    InvalidParams(String),
    /// Artifact layer errors.
    #[error(transparent)]
    Artifact(#[from] aeclust_artifact::ArtifactError),
}

/// Result alias for this crate.
pub type Result<T, E = MergeError> = std::result::Result<T, E>;

fn invalid(path: &Path, message: impl Into<String>) -> MergeError {
    MergeError::Invalid {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// Rows copied at a time: what the merge holds of the codes (8,192 × 1280 floats: 40 MiB).
const BLOCK_ROWS: usize = 8192;

#[derive(Serialize)]
struct MergeKey<'a> {
    merge_codes: &'a [String],
}

/// One shard's codes, opened.
struct Part {
    artifact: Artifact,
    info: CodesInfo,
    /// Its dataset's place in the merged dataset's list of shards.
    position: usize,
}

/// The cache keys of the shards `dataset` was merged from, in shard order (the params of
/// `aeclust-dataset --merge`).
fn shard_keys(dataset: &Artifact) -> Result<Vec<String>> {
    dataset
        .manifest()
        .params
        .get("merge")
        .and_then(Value::as_array)
        .and_then(|keys| keys.iter().map(|k| k.as_str().map(String::from)).collect())
        .ok_or_else(|| {
            invalid(
                dataset.dir(),
                "not a merge of shards: made without aeclust-dataset --merge",
            )
        })
}

/// The files of a codes artifact that carry rows.
fn row_files(info: &CodesInfo) -> Vec<&'static str> {
    let mut files = Split::ALL.map(Split::file_name).to_vec();
    if info.recognised.is_some() {
        files.extend(Split::ALL.map(Recognised::file_name));
        files.push(Recognised::NAMES_FILE);
    }
    files
}

/// The encoder's facts of the whole: the first shard's, with a rate over every shard
/// (`images_per_second`: all images over the sum of the shards' times) where each has one.
fn merged_details(parts: &[Part]) -> Value {
    let mut details = parts[0].info.details.clone();
    let rates: Option<Vec<(f64, f64)>> = parts
        .iter()
        .map(|p| {
            let rate = p.info.details.get("images_per_second")?.as_f64()?;
            Some(((p.info.counts.train + p.info.counts.test) as f64, rate))
        })
        .collect();
    if let (Some(rates), Some(map)) = (rates, details.as_object_mut()) {
        let images: f64 = rates.iter().map(|r| r.0).sum();
        let seconds: f64 = rates.iter().map(|(n, r)| n / r.max(1e-12)).sum();
        map.insert(
            "images_per_second".into(),
            serde_json::json!(images / seconds.max(1e-12)),
        );
    }
    details
}

/// Joins the codes artifacts `shards` (one per shard of the dataset `dataset` was merged
/// from, in any order, all from one encoder with the same parameters) into one codes
/// artifact at `out` whose rows are `dataset`'s, in its order (reused when unchanged
/// unless `force`).
pub fn merge(shards: &[PathBuf], dataset: &Path, out: &Path, force: bool) -> Result<Outcome> {
    if shards.is_empty() {
        return Err(MergeError::InvalidParams(
            "--shards needs the codes of every shard".into(),
        ));
    }
    let (whole, whole_info) = Artifact::open_as::<DatasetInfo>(dataset)?;
    let keys = shard_keys(&whole)?;
    let mut parts = Vec::with_capacity(shards.len());
    for dir in shards {
        let (artifact, info) = Artifact::open_as::<CodesInfo>(dir)?;
        if info.source.is_some() {
            return Err(invalid(
                dir,
                "codes of codes (PCA, UMAP, …) are fitted on every row at once: merge the \
                 encoder's codes and fit them on the merge",
            ));
        }
        let position = keys
            .iter()
            .position(|k| *k == info.dataset.cache_key)
            .ok_or_else(|| {
                invalid(
                    dir,
                    format!(
                        "encodes a dataset that is not one of the shards {} was merged from",
                        dataset.display()
                    ),
                )
            })?;
        parts.push(Part {
            artifact,
            info,
            position,
        });
    }
    parts.sort_by_key(|p| p.position);
    let positions: Vec<usize> = parts.iter().map(|p| p.position).collect();
    if positions != (0..keys.len()).collect::<Vec<_>>() {
        return Err(MergeError::InvalidParams(format!(
            "{} was merged from {} shards: --shards needs the codes of each once, got \
             shards {:?}",
            dataset.display(),
            keys.len(),
            positions.iter().map(|p| p + 1).collect::<Vec<_>>()
        )));
    }
    let first = &parts[0];
    for p in &parts[1..] {
        let same = |a: &Part, b: &Part| {
            let (ma, mb) = (a.artifact.manifest(), b.artifact.manifest());
            (
                &ma.producer,
                &ma.params,
                &a.info.encoder,
                a.info.dim,
                &a.info.classes,
                a.info.model.as_ref().map(|m| &m.cache_key),
                &a.info.recognised,
            ) == (
                &mb.producer,
                &mb.params,
                &b.info.encoder,
                b.info.dim,
                &b.info.classes,
                b.info.model.as_ref().map(|m| &m.cache_key),
                &b.info.recognised,
            )
        };
        if !same(first, p) {
            return Err(invalid(
                p.artifact.dir(),
                format!(
                    "not encoded as {} was: encoder, its parameters, model, dimension or \
                     classes differ",
                    first.artifact.dir().display()
                ),
            ));
        }
    }
    let mut inputs: Vec<InputFile> = whole.inputs(&[DatasetInfo::FILES_FILE])?;
    for p in &parts {
        inputs.extend(p.artifact.inputs(&row_files(&p.info))?);
    }
    let part_keys: Vec<String> = parts
        .iter()
        .map(|p| p.artifact.manifest().cache_key.clone())
        .collect();
    let stage = Stage::new(
        CODES,
        env!("CARGO_PKG_VERSION"),
        &MergeKey {
            merge_codes: &part_keys,
        },
        &inputs,
        out,
    )?;
    if let Some(outcome) = stage.reuse(force) {
        return Ok(outcome);
    }
    let staging = stage.staging()?;
    let mut counts = PerSplit::<usize>::default();
    let dim = first.info.dim;
    for split in Split::ALL {
        // Every part's rows, checked against its manifest from the files' headers.
        let mut files = Vec::with_capacity(parts.len());
        let mut recognised: Option<RecognisedSplit> = None;
        for p in &parts {
            let path = p.artifact.verified_path(split.file_name())?;
            let rows = TensorRows::<f32>::open(&path, "codes")?;
            let labelled = TensorRows::<u8>::open_if_present(&path, "labels")?.is_some();
            if rows.shape().len() != 2
                || rows.rows() != *p.info.counts.get(split)
                || (rows.row_len() != dim && rows.rows() > 0)
                || labelled != whole_info.labelled
            {
                return Err(invalid(
                    &path,
                    format!(
                        "codes of shape {:?}{}, but its manifest says {} rows of {dim} \
                         and the dataset is {}labelled",
                        rows.shape(),
                        if labelled { " with labels" } else { "" },
                        p.info.counts.get(split),
                        if whole_info.labelled { "" } else { "not " }
                    ),
                ));
            }
            files.push((path, rows.rows()));
            if let Some((r, _)) = RecognisedSplit::load(&p.artifact, split)? {
                let merged = recognised.get_or_insert(RecognisedSplit {
                    classes: Vec::new(),
                    probabilities: Vec::new(),
                    top: r.top,
                });
                merged.classes.extend_from_slice(&r.classes);
                merged.probabilities.extend_from_slice(&r.probabilities);
            }
        }
        let total: usize = files.iter().map(|f| f.1).sum();
        let expected = whole_info.splits.get(split).count;
        if total != expected {
            return Err(invalid(
                dataset,
                format!("{expected} {split} images, but the shards' codes have {total} rows"),
            ));
        }
        match split {
            Split::Train => counts.train = expected,
            Split::Test => counts.test = expected,
        }
        // The merged file written a block of rows at a time: one block in memory.
        let mut specs = vec![TensorSpec::of::<f32>("codes", &[total, dim])];
        if whole_info.labelled {
            specs.push(TensorSpec::of::<u8>("labels", &[total]));
        }
        let target = staging.file(split.file_name());
        write_in_pieces(&target, &specs, |i, out| {
            let name = specs[i].name();
            for (path, rows) in &files {
                let (mut codes, mut labels) = if name == "codes" {
                    (Some(TensorRows::<f32>::open(path, name)?), None)
                } else {
                    (None, Some(TensorRows::<u8>::open(path, name)?))
                };
                for start in (0..*rows).step_by(BLOCK_ROWS) {
                    let range = start..(start + BLOCK_ROWS).min(*rows);
                    let bytes: Vec<u8> = match (&mut codes, &mut labels) {
                        (Some(c), _) => c
                            .read(range)?
                            .iter()
                            .flat_map(|v| v.to_le_bytes())
                            .collect(),
                        (_, Some(l)) => l.read(range)?,
                        _ => unreachable!("one of the two is open"),
                    };
                    out.write_all(&bytes)
                        .map_err(|e| ArtifactError::io(&target, e))?;
                }
            }
            Ok(())
        })?;
        if let Some(r) = recognised {
            r.write(&staging.file(Recognised::file_name(split)))?;
        }
    }
    let outputs = row_files(&first.info);
    if first.info.recognised.is_some() {
        let names = first.artifact.verified_path(Recognised::NAMES_FILE)?;
        std::fs::copy(&names, staging.file(Recognised::NAMES_FILE))
            .map_err(|e| aeclust_artifact::ArtifactError::io(&names, e))?;
    }
    let info = CodesInfo {
        counts,
        dataset: whole.reference_from(out),
        model: first
            .info
            .model
            .as_ref()
            .map(|m| m.rebased(first.artifact.dir(), out)),
        details: merged_details(&parts),
        ..first.info.clone()
    };
    let manifest = staging.commit(&stage, &outputs, &info, Environment::here())?;
    Ok(Outcome::built(manifest))
}
