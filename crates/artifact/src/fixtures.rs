//! Small artifacts for tests of the stages that read them (feature `fixtures`). They go
//! through the real [`Stage`] and [`Staging`], so they are artifacts like any other.

use std::path::Path;

use crate::kinds::{
    ArtifactInfo, ClassName, CodesInfo, CodesSplit, DatasetInfo, ImageSplit, PerSplit,
    SourceFormat, Split,
};
use crate::{Artifact, ArtifactRef, Environment, Result, Stage, Staging};

/// Classes named by their label numbers, for every label in `splits`.
pub fn numbered_classes(splits: &[&Option<Vec<u8>>]) -> Vec<ClassName> {
    let mut labels: Vec<u8> = splits
        .iter()
        .flat_map(|s| s.iter().flatten().copied())
        .collect();
    labels.sort_unstable();
    labels.dedup();
    labels
        .into_iter()
        .map(|label| ClassName {
            label,
            name: label.to_string(),
        })
        .collect()
}

/// Commits an artifact of `info`'s kind to `out` whose two split files `write` puts in
/// the staging directory.
fn commit_splits<T: ArtifactInfo>(
    out: &Path,
    info: &T,
    write: impl FnOnce(&Staging) -> Result<()>,
) -> Result<Artifact> {
    let stage = Stage::new(T::STAGE, "fixture", &out.display().to_string(), &[], out)?;
    let staging = stage.staging()?;
    write(&staging)?;
    staging.commit(
        &stage,
        &[Split::Train.file_name(), Split::Test.file_name()],
        info,
        Environment::here(),
    )?;
    Artifact::open(out, &[T::STAGE])
}

/// Writes a dataset artifact holding `train` and `test` to `out`.
pub fn dataset(out: &Path, train: &ImageSplit, test: &ImageSplit) -> Result<Artifact> {
    let classes = numbered_classes(&[&train.labels, &test.labels]);
    let info = DatasetInfo::describe(SourceFormat::Idx, None, classes, train, test, vec![]);
    commit_splits(out, &info, |staging| {
        train.write(&staging.file(Split::Train.file_name()))?;
        test.write(&staging.file(Split::Test.file_name()))
    })
}

/// Writes a codes artifact holding `train` and `test` to `out`; its dataset reference
/// points to `dataset` (which need not exist).
pub fn codes(
    out: &Path,
    train: &CodesSplit,
    test: &CodesSplit,
    dataset: &Path,
) -> Result<Artifact> {
    let info = CodesInfo {
        encoder: "fixture".into(),
        dim: train.dim,
        counts: PerSplit {
            train: train.len(),
            test: test.len(),
        },
        classes: numbered_classes(&[&train.labels, &test.labels]),
        dataset: ArtifactRef::new(dataset, "fixture", out),
        model: None,
        source: None,
        principal_axes: false,
        recognised: None,
        details: serde_json::Value::Null,
    };
    commit_splits(out, &info, |staging| {
        train.write(&staging.file(Split::Train.file_name()))?;
        test.write(&staging.file(Split::Test.file_name()))
    })
}
