//! The dataset stage: read, validate, write the `dataset` artifact.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use aeclust_artifact::kinds::{
    self, ClassName, DatasetInfo, ImageFiles, ImageFolder, ImageSplit, PerSplit, SourceFile,
    SourceFormat, Split,
};
use aeclust_artifact::{sha256_bytes, Environment, InputFile, Outcome, Stage};
use serde::Serialize;

use crate::error::invalid;
use crate::images::{self, Color, DecodeOptions, Listing, ReadSettings};
use crate::shard::{FileDigest, Shard, ShardFiles};
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
    /// A folder of PNG/JPEG images.
    Images(ImagesInput),
}

/// A folder of images and how to read it.
#[derive(Debug, Clone, Serialize)]
pub struct ImagesInput {
    /// The folder: one sub-folder per class, or any tree of unlabelled images.
    pub dir: PathBuf,
    /// A second folder, of the same layout, for the test split.
    pub test_dir: Option<PathBuf>,
    /// Or: this fraction of `dir` (per class when labelled) goes to the test split.
    pub test_fraction: Option<f64>,
    /// Seed of the test-fraction split.
    pub seed: u64,
    /// How every image is read: size (else all must share one), fit, background,
    /// channels (none: grey when every image is grey once composited, else RGB).
    pub read: ReadSettings,
    /// Skip undecodable files (listed in the manifest) instead of failing.
    pub skip_bad: bool,
    /// Read sub-folders as part of one unlabelled tree, not as classes.
    pub unlabelled: bool,
    /// Read only this part of each split (`--shard I/N`), for `--merge` to join.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard: Option<Shard>,
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
    Ok(ImageSplit::grey(
        image_array.data,
        label_array.data,
        image_array.dims[1],
        image_array.dims[2],
    ))
}

/// Both splits of the four IDX files in a directory, as read for new images.
#[derive(Debug, Clone)]
pub struct IdxImages {
    /// Train images, train labels, test images, test labels.
    pub files: [PathBuf; 4],
    /// The images and labels.
    pub splits: PerSplit<ImageSplit>,
    /// The files are the known Fashion-MNIST release (full or the committed subset).
    pub fashion_mnist: bool,
}

/// Reads the four IDX files in `dir` (validated as the dataset stage validates them).
pub fn read_idx_dir(dir: &Path) -> Result<IdxImages> {
    let files = IdxSource::locate(dir)?.files;
    let mut sources = Vec::new();
    let train = read_idx_pair(&files[0], &files[1], &mut sources)?;
    let test = read_idx_pair(&files[2], &files[3], &mut sources)?;
    if (train.height, train.width) != (test.height, test.width) {
        return Err(invalid(
            &files[2],
            format!(
                "test images are {}x{}, train images {}x{}",
                test.height, test.width, train.height, train.width
            ),
        ));
    }
    Ok(IdxImages {
        fashion_mnist: sources.iter().all(|s| s.release.is_some()),
        files,
        splits: PerSplit { train, test },
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
/// `force`. `tick` is called once per image file decoded (image folders only).
pub fn run(
    params: &DatasetParams,
    out: &Path,
    force: bool,
    tick: &(dyn Fn() + Sync),
) -> Result<Outcome> {
    if params.limit == Some(0) {
        return Err(DatasetError::Params(
            "--limit must be at least 1 (it keeps the first N images of each split)".into(),
        ));
    }
    let (format, shape, files) = match &params.input {
        Input::Images(input) => return run_images(input, params, out, force, tick),
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
        Input::Images(_) => unreachable!("image folders are read by run_images"),
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
    let labels: BTreeSet<u8> = [&train.labels, &test.labels]
        .into_iter()
        .flatten()
        .flatten()
        .copied()
        .collect();
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

#[derive(Serialize)]
struct ImagesKey<'a> {
    format: SourceFormat,
    input: &'a ImagesInput,
    /// SHA-256 over every image's relative path, label and content, per split folder.
    digests: Vec<String>,
    limit: Option<usize>,
}

fn check_images_input(input: &ImagesInput, params: &DatasetParams) -> Result<()> {
    if params.class_names != ClassNames::Auto {
        return Err(DatasetError::Params(
            "--class-names does not apply to an image folder: its classes are named after \
             its sub-folders"
                .into(),
        ));
    }
    if input.test_dir.is_some() && input.test_fraction.is_some() {
        return Err(DatasetError::Params(
            "give --test-dir or --test-fraction, not both".into(),
        ));
    }
    aeclust_image_read::check(&input.read).map_err(DatasetError::Params)?;
    // --test-fraction is checked by images::split_fraction.
    Ok(())
}

/// Lists the train and test folders (test: a second folder, a seeded fraction, or none).
fn list_images(input: &ImagesInput, limit: Option<usize>) -> Result<(Listing, Option<Listing>)> {
    let all = images::list(&input.dir, input.unlabelled)?;
    let (mut train, mut test) = match (&input.test_dir, input.test_fraction) {
        (Some(dir), _) => {
            let mut test = images::list(dir, input.unlabelled)?;
            match (&all.classes, &test.classes) {
                (Some(train_classes), Some(test_classes)) => {
                    // Labels by class name: the test folder may lack classes, not add any.
                    let mut relabelled = Vec::with_capacity(test.files.len());
                    for (rel, label) in &test.files {
                        let name = &test_classes[usize::from(label.expect("labelled"))];
                        let index =
                            train_classes
                                .iter()
                                .position(|c| c == name)
                                .ok_or_else(|| {
                                    invalid(
                                        &dir.join(name),
                                        format!(
                                    "class folder `{name}` has no counterpart in {} (classes: {})",
                                    input.dir.display(),
                                    train_classes.join(", ")
                                ),
                                    )
                                })?;
                        relabelled.push((rel.clone(), Some(index as u8)));
                    }
                    test.files = relabelled;
                    test.classes = all.classes.clone();
                }
                (None, None) => {}
                (train_classes, _) => {
                    return Err(invalid(
                        dir,
                        format!(
                            "the test folder {} class sub-folders but the train folder {} {}; \
                             both need the same layout",
                            if train_classes.is_some() {
                                "has no"
                            } else {
                                "has"
                            },
                            input.dir.display(),
                            if train_classes.is_some() {
                                "has"
                            } else {
                                "has none"
                            },
                        ),
                    ))
                }
            }
            (all, Some(test))
        }
        (None, Some(f)) => {
            let (train, test) = images::split_fraction(&all, f, input.seed)?;
            (train, Some(test))
        }
        (None, None) => (all, None),
    };
    if let Some(n) = limit {
        train.files.truncate(n);
        if let Some(t) = &mut test {
            t.files.truncate(n);
        }
    }
    Ok((train, test))
}

fn run_images(
    input: &ImagesInput,
    params: &DatasetParams,
    out: &Path,
    force: bool,
    tick: &(dyn Fn() + Sync),
) -> Result<Outcome> {
    check_images_input(input, params)?;
    let (mut train_list, mut test_list) = list_images(input, params.limit)?;
    if let Some(shard) = input.shard {
        if input.read.color.is_none() {
            return Err(DatasetError::Params(format!(
                "--shard {shard}: give --color gray or rgb, so that every shard reads the \
                 images alike"
            )));
        }
        train_list = shard.of(&train_list);
        test_list = test_list.map(|t| shard.of(&t));
    }
    let mut digests = Vec::new();
    let mut sources = Vec::new();
    let mut file_digests = Vec::new();
    for listing in std::iter::once(&train_list).chain(&test_list) {
        let per_file = listing.file_digests()?;
        let (digest, bytes) = listing.combine(&per_file);
        if input.shard.is_some() {
            file_digests.push(FileDigest::of(listing, &per_file));
        }
        sources.push(SourceFile {
            path: listing.root.display().to_string(),
            content_sha256: digest.clone(),
            content_bytes: bytes as usize,
            known_release: None,
        });
        digests.push(digest);
    }
    let key = ImagesKey {
        format: SourceFormat::Images,
        input,
        digests,
        limit: params.limit,
    };
    let stage = Stage::new(kinds::DATASET, env!("CARGO_PKG_VERSION"), &key, &[], out)?;
    if let Some(outcome) = stage.reuse(force) {
        return Ok(outcome);
    }

    let options = DecodeOptions {
        read: input.read,
        skip_bad: input.skip_bad,
    };
    let train = images::decode_all(&train_list, options, tick)?;
    let test = test_list
        .as_ref()
        .map(|l| images::decode_all(l, options, tick))
        .transpose()?;
    let (h, w) = train.shared_size()?;
    if let Some(t) = &test {
        let (th, tw) = t.shared_size()?;
        if (th, tw) != (h, w) {
            return Err(invalid(
                &test_list.as_ref().expect("decoded").root,
                format!(
                    "test images are {th}x{tw}, train images {h}x{w} (pass --size HxW to \
                     resize both)"
                ),
            ));
        }
    }
    let color = input.read.color.unwrap_or(
        if train.all_grey() && test.as_ref().is_none_or(|t| t.all_grey()) {
            Color::Gray
        } else {
            Color::Rgb
        },
    );
    let mut skipped: Vec<(String, String)> = train.skipped.clone();
    let mut warnings: Vec<(String, String)> = train.warnings.clone();
    let train_counts = (skipped.len(), warnings.len());
    let files_train = train.files.clone();
    let (files_test, test_split) = match test {
        Some(t) => {
            let root = &test_list.as_ref().expect("decoded").root;
            let in_test =
                |(f, e): &(String, String)| (root.join(f).display().to_string(), e.clone());
            skipped.extend(t.skipped.iter().map(in_test));
            warnings.extend(t.warnings.iter().map(in_test));
            let files = t.files.clone();
            (files, t.into_split(color, h as usize, w as usize))
        }
        None => (
            Vec::new(),
            ImageSplit {
                images: Vec::new(),
                labels: train_list.classes.as_ref().map(|_| Vec::new()),
                height: h as usize,
                width: w as usize,
                channels: color.channels(),
            },
        ),
    };
    let train_split = train.into_split(color, h as usize, w as usize);
    let classes = train_list
        .classes
        .iter()
        .flatten()
        .enumerate()
        .map(|(label, name)| ClassName {
            label: label as u8,
            name: name.clone(),
        })
        .collect();
    let mut info = DatasetInfo::describe(
        SourceFormat::Images,
        None,
        classes,
        &train_split,
        &test_split,
        sources,
    );
    let mut ignored = train_list.ignored.clone();
    if let Some(t) = &test_list {
        if input.test_dir.is_some() {
            ignored.extend(
                t.ignored
                    .iter()
                    .map(|f| t.root.join(f).display().to_string()),
            );
        }
    }
    info.folder = Some(ImageFolder {
        roots: PerSplit {
            train: Some(train_list.root.display().to_string()),
            test: test_list.as_ref().map(|t| t.root.display().to_string()),
        },
        class_folders: train_list.classes.is_some(),
        resized: input
            .read
            .size
            .map(|_| aeclust_image_read::describe(&input.read)),
        skipped,
        ignored,
        test_fraction: input.test_fraction.map(|f| (f, input.seed)),
        read: Some(ReadSettings {
            color: Some(color),
            ..input.read
        }),
        warnings,
    });
    let files = ImageFiles {
        files: PerSplit {
            train: files_train,
            test: files_test,
        },
    };
    let shard = input.shard.map(|shard| {
        let folder = info.folder.as_ref().expect("set above");
        let split_at = |v: &[(String, String)], at: usize| PerSplit {
            train: v[..at].to_vec(),
            test: v[at..].to_vec(),
        };
        let mut per_split = file_digests.into_iter();
        ShardFiles {
            shard,
            digests: PerSplit {
                train: per_split.next().unwrap_or_default(),
                test: per_split.next().unwrap_or_default(),
            },
            skipped: split_at(&folder.skipped, train_counts.0),
            warnings: split_at(&folder.warnings, train_counts.1),
        }
    });
    let splits = PerSplit {
        train: train_split,
        test: test_split,
    };
    commit_folder(&stage, &splits, &files, &info, shard.as_ref())
}

/// Writes an image folder's dataset artifact (both splits, `files.json`, and a shard's
/// `shard.json`) and commits it: the one writer of the whole folder, of a shard and of
/// a merge, so that they stay byte-identical.
pub(crate) fn commit_folder(
    stage: &Stage,
    splits: &PerSplit<ImageSplit>,
    files: &ImageFiles,
    info: &DatasetInfo,
    shard: Option<&ShardFiles>,
) -> Result<Outcome> {
    let staging = stage.staging()?;
    splits
        .train
        .write(&staging.file(Split::Train.file_name()))?;
    splits.test.write(&staging.file(Split::Test.file_name()))?;
    staging.write_json(DatasetInfo::FILES_FILE, files)?;
    let mut written = vec![
        Split::Train.file_name(),
        Split::Test.file_name(),
        DatasetInfo::FILES_FILE,
    ];
    if let Some(shard) = shard {
        staging.write_json(ShardFiles::FILE, shard)?;
        written.push(ShardFiles::FILE);
    }
    let manifest = staging.commit(stage, &written, info, Environment::here())?;
    Ok(Outcome::built(manifest))
}
