//! Small artifacts for tests of the stages that read them (feature `fixtures`). They go
//! through the real [`Stage`] and [`Staging`], so they are artifacts like any other.

use std::path::Path;

use crate::kinds::{
    ClassName, CodesInfo, CodesSplit, DatasetInfo, ImageSplit, PerSplit, SourceFormat, Split,
    CODES, DATASET,
};
use crate::{Artifact, ArtifactRef, Environment, Result, Stage};

/// Classes named by their label numbers, for every label in `splits`.
pub fn numbered_classes(splits: &[&[u8]]) -> Vec<ClassName> {
    let mut labels: Vec<u8> = splits.iter().flat_map(|s| s.iter().copied()).collect();
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

/// Writes a dataset artifact holding `train` and `test` to `out`.
pub fn dataset(out: &Path, train: &ImageSplit, test: &ImageSplit) -> Result<Artifact> {
    let stage = Stage::new(DATASET, "fixture", &out.display().to_string(), &[], out)?;
    let staging = stage.staging()?;
    train.write(&staging.file(Split::Train.file_name()))?;
    test.write(&staging.file(Split::Test.file_name()))?;
    let classes = numbered_classes(&[&train.labels, &test.labels]);
    let info = DatasetInfo::describe(SourceFormat::Idx, None, classes, train, test, vec![]);
    staging.commit(
        &stage,
        &[Split::Train.file_name(), Split::Test.file_name()],
        &info,
        Environment::here(),
    )?;
    Artifact::open(out, &[DATASET])
}

/// Writes a codes artifact holding `train` and `test` to `out`; its dataset reference
/// points to `dataset` (which need not exist).
pub fn codes(
    out: &Path,
    train: &CodesSplit,
    test: &CodesSplit,
    dataset: &Path,
) -> Result<Artifact> {
    let stage = Stage::new(CODES, "fixture", &out.display().to_string(), &[], out)?;
    let staging = stage.staging()?;
    train.write(&staging.file(Split::Train.file_name()))?;
    test.write(&staging.file(Split::Test.file_name()))?;
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
        details: serde_json::Value::Null,
    };
    staging.commit(
        &stage,
        &[Split::Train.file_name(), Split::Test.file_name()],
        &info,
        Environment::here(),
    )?;
    Artifact::open(out, &[CODES])
}
