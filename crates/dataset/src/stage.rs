//! The dataset stage: read, validate, write the `dataset` artifact.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use aeclust_artifact::kinds::{
    self, ClassName, DatasetInfo, ImageSplit, SourceFile, SourceFormat, Split,
};
use aeclust_artifact::{sha256_bytes, Environment, InputFile, Outcome, Stage};
use serde::Serialize;

use crate::error::invalid;
use crate::{
    fashion, parse_idx, read_csv_file, read_maybe_gzip, DatasetError, IdxArray, IdxSource, Result,
};

/// Where the images come from.
#[derive(Debug, Clone)]
pub enum Input {
    /// A directory with the four IDX files.
    Idx { dir: PathBuf },
    /// Two CSV files; the image shape given or square.
    Csv {
        train: PathBuf,
        test: PathBuf,
        shape: Option<(usize, usize)>,
    },
}

/// How classes are named in the manifest and the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClassNames {
    /// Fashion-MNIST's names when the files are the known Fashion-MNIST release, else numbers.
    Auto,
    /// Fashion-MNIST's ten names (labels must be 0–9).
    FashionMnist,
    /// The label numbers.
    Numbers,
    /// Names given by label index.
    List(Vec<String>),
}

/// Parameters of the dataset stage.
#[derive(Debug, Clone)]
pub struct DatasetParams {
    /// The data source.
    pub input: Input,
    /// Keep only the first N images of each split.
    pub limit: Option<usize>,
    /// Class naming.
    pub class_names: ClassNames,
}

#[derive(Serialize)]
struct CanonicalParams<'a> {
    format: SourceFormat,
    shape: Option<[usize; 2]>,
    limit: Option<usize>,
    class_names: &'a ClassNames,
}

struct Source {
    path: PathBuf,
    content_sha256: String,
    content_bytes: usize,
    release: Option<&'static str>,
}

fn load_idx(path: &Path, rank: usize) -> Result<(IdxArray, Source)> {
    let bytes = read_maybe_gzip(path)?;
    let content_sha256 = sha256_bytes(&bytes);
    let stem = path
        .file_name()
        .map(|n| n.to_string_lossy().trim_end_matches(".gz").to_string())
        .unwrap_or_default();
    let release = fashion::known_release(&stem, bytes.len() as u64, &content_sha256);
    let array = parse_idx(&bytes, path, rank)?;
    let source = Source {
        path: path.to_path_buf(),
        content_sha256,
        content_bytes: bytes.len(),
        release,
    };
    Ok((array, source))
}

fn read_idx_pair(images: &Path, labels: &Path, sources: &mut Vec<Source>) -> Result<ImageSplit> {
    let (image_array, image_source) = load_idx(images, 3)?;
    let (label_array, label_source) = load_idx(labels, 1)?;
    sources.extend([image_source, label_source]);
    if image_array.dims[0] != label_array.dims[0] {
        return Err(invalid(
            labels,
            format!(
                "{} labels, but {} holds {} images",
                label_array.dims[0],
                images.display(),
                image_array.dims[0]
            ),
        ));
    }
    Ok(ImageSplit {
        height: image_array.dims[1],
        width: image_array.dims[2],
        images: image_array.data,
        labels: label_array.data,
    })
}

fn resolve_class_names(
    choice: &ClassNames,
    labels: &BTreeSet<u8>,
    recognised: bool,
) -> Result<Vec<(u8, String)>> {
    let max = labels.iter().next_back().copied().unwrap_or(0);
    let by_index = |names: &[String], what: &str| -> Result<Vec<(u8, String)>> {
        if usize::from(max) >= names.len() {
            return Err(DatasetError::Params(format!(
                "{what} names {} classes, but the data has label {max}",
                names.len()
            )));
        }
        Ok(labels
            .iter()
            .map(|&l| (l, names[usize::from(l)].clone()))
            .collect())
    };
    let fashion: Vec<String> = fashion::FASHION_MNIST_CLASSES
        .iter()
        .map(|s| s.to_string())
        .collect();
    match choice {
        ClassNames::Auto if recognised => by_index(&fashion, "Fashion-MNIST"),
        ClassNames::FashionMnist => by_index(&fashion, "Fashion-MNIST"),
        ClassNames::List(names) => by_index(names, "--class-names"),
        ClassNames::Auto | ClassNames::Numbers => {
            Ok(labels.iter().map(|&l| (l, l.to_string())).collect())
        }
    }
}

/// Runs the dataset stage into `out`; reuses an intact artifact with the same key unless
/// `force`.
pub fn run(params: &DatasetParams, out: &Path, force: bool) -> Result<Outcome> {
    if params.limit == Some(0) {
        return Err(DatasetError::Params(
            "--limit must be at least 1 (it keeps the first N images of each split)".into(),
        ));
    }
    let (format, shape, files) = match &params.input {
        Input::Idx { dir } => (
            SourceFormat::Idx,
            None,
            IdxSource::locate(dir)?.files.to_vec(),
        ),
        Input::Csv { train, test, shape } => {
            if let Some((h, w)) = shape {
                if *h == 0 || *w == 0 {
                    return Err(DatasetError::Params(format!(
                        "--shape {h}x{w}: both sides must be at least 1"
                    )));
                }
            }
            for f in [train, test] {
                if !f.is_file() {
                    return Err(DatasetError::Missing {
                        path: f.clone(),
                        hint: String::new(),
                    });
                }
            }
            (
                SourceFormat::Csv,
                shape.map(|(h, w)| [h, w]),
                vec![train.clone(), test.clone()],
            )
        }
    };
    let canonical = CanonicalParams {
        format,
        shape,
        limit: params.limit,
        class_names: &params.class_names,
    };
    let stage = Stage::new(
        kinds::DATASET,
        env!("CARGO_PKG_VERSION"),
        &canonical,
        &files.iter().map(InputFile::external).collect::<Vec<_>>(),
        out,
    )?;
    if let Some(outcome) = stage.reuse(force) {
        return Ok(outcome);
    }

    let mut sources = Vec::new();
    let (mut train, mut test) = match &params.input {
        Input::Idx { .. } => (
            read_idx_pair(&files[0], &files[1], &mut sources)?,
            read_idx_pair(&files[2], &files[3], &mut sources)?,
        ),
        Input::Csv { train, test, shape } => {
            (read_csv_file(train, *shape)?, read_csv_file(test, *shape)?)
        }
    };
    if (train.height, train.width) != (test.height, test.width) {
        return Err(invalid(
            &files[files.len() / 2],
            format!(
                "test images are {}x{}, train images {}x{}",
                test.height, test.width, train.height, train.width
            ),
        ));
    }
    if let Some(limit) = params.limit {
        train.truncate(limit);
        test.truncate(limit);
    }
    let recognised = match sources.first().and_then(|s| s.release) {
        Some(r) if sources.len() == 4 && sources.iter().all(|s| s.release == Some(r)) => Some(r),
        _ => None,
    };
    let labels: BTreeSet<u8> = train.labels.iter().chain(&test.labels).copied().collect();
    let classes = resolve_class_names(&params.class_names, &labels, recognised.is_some())?;

    let staging = stage.staging()?;
    train.write(&staging.file(Split::Train.file_name()))?;
    test.write(&staging.file(Split::Test.file_name()))?;
    let info = DatasetInfo::describe(
        format,
        recognised.map(String::from),
        classes
            .into_iter()
            .map(|(label, name)| ClassName { label, name })
            .collect(),
        &train,
        &test,
        sources
            .iter()
            .map(|s| SourceFile {
                path: s.path.display().to_string(),
                content_sha256: s.content_sha256.clone(),
                content_bytes: s.content_bytes,
                known_release: s.release.map(String::from),
            })
            .collect(),
    );
    let manifest = staging.commit(
        &stage,
        &[Split::Train.file_name(), Split::Test.file_name()],
        &info,
        Environment::here(),
    )?;
    Ok(Outcome::built(manifest))
}
