//! The images a codes artifact encodes: its train split (read verified) and, through its
//! dataset, where each row came from.

use std::path::{Path, PathBuf};

use aeclust_artifact::kinds::{CodesInfo, CodesSplit, DatasetInfo, Split};
use aeclust_artifact::{Artifact, ArtifactError};

/// Errors of look-alike searches; each names the artifact it is about.
#[derive(Debug, thiserror::Error)]
pub enum SimilarError {
    /// Artifact layer errors (missing, modified, not the right kind).
    #[error(transparent)]
    Artifact(#[from] ArtifactError),
    /// Impossible parameters.
    #[error("invalid parameter: {0}")]
    Params(String),
    /// Reading or encoding query images.
    #[error(transparent)]
    Replay(#[from] aeclust_replay::ReplayError),
    /// Listing query images.
    #[error(transparent)]
    Dataset(#[from] aeclust_dataset::DatasetError),
    /// The codes hold a value that is not a number.
    #[error("{path}: row {row}, column {column} is {value}")]
    NotFinite {
        path: PathBuf,
        row: usize,
        column: usize,
        value: f32,
    },
}

/// The fitted images of a codes artifact.
#[derive(Debug, Clone)]
pub struct Fitted {
    /// The train split's codes.
    pub codes: CodesSplit,
    /// Where each row came from (image file, `IDXFILE#INDEX`, or `train#INDEX` when the
    /// dataset cannot be found).
    pub sources: Vec<String>,
}

impl Fitted {
    /// Reads the train split of the codes artifact in `dir` and the source of each row.
    pub fn open(dir: &Path) -> Result<Fitted, SimilarError> {
        let (codes_artifact, info) = Artifact::open_as::<CodesInfo>(dir)?;
        let path = codes_artifact.verified_path(Split::Train.file_name())?;
        let codes = CodesSplit::read(&path)?;
        if let Some(at) = codes.codes.iter().position(|v| !v.is_finite()) {
            return Err(SimilarError::NotFinite {
                path,
                row: at / codes.dim,
                column: at % codes.dim,
                value: codes.codes[at],
            });
        }
        let dataset_dir = info.dataset.resolve(dir);
        let sources = match Artifact::open_as::<DatasetInfo>(&dataset_dir) {
            Ok((dataset, dataset_info)) => dataset_info.row_sources(&dataset, Split::Train)?,
            Err(ArtifactError::NotArtifact { .. } | ArtifactError::Io { .. }) => {
                (0..codes.len()).map(|i| format!("train#{i}")).collect()
            }
            Err(e) => return Err(e.into()),
        };
        if sources.len() != codes.len() {
            return Err(SimilarError::Params(format!(
                "{}: {} train codes, but its dataset {} lists {} train images",
                dir.display(),
                codes.len(),
                dataset_dir.display(),
                sources.len()
            )));
        }
        Ok(Fitted { codes, sources })
    }
}
