use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{ArtifactError, Result};

/// File name of the manifest inside every artifact directory.
pub const MANIFEST_FILE: &str = "manifest.json";
/// Version of the manifest schema; bumped on incompatible changes.
pub const SCHEMA_VERSION: u32 = 1;

/// One file an artifact read or wrote, with its content hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRecord {
    /// Inputs: the path as given to the stage. Outputs: relative to the artifact directory.
    pub path: String,
    /// Lower-case hex SHA-256 of the file's bytes.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: u64,
}

/// `manifest.json`: what a stage made, from what, with which parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Stage name: `dataset`, `model`, `codes`, `clustering`, `report`.
    pub stage: String,
    /// Schema version of this manifest ([`SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// Version of the aeclust tool that wrote it.
    pub tool_version: String,
    /// SHA-256 over stage, schema, tool version, params and input hashes.
    pub cache_key: String,
    /// Canonical parameters of the run (every setting that changes the output).
    pub params: Value,
    /// Files read, in the stage's own order.
    pub inputs: Vec<FileRecord>,
    /// Files written, relative to the artifact directory.
    pub outputs: Vec<FileRecord>,
    /// Wall-clock seconds the stage took.
    pub wall_seconds: f64,
    /// Seconds since the Unix epoch when the artifact was committed.
    pub created_unix: u64,
    /// Where it ran: threads, OS, architecture.
    pub environment: Value,
    /// Stage-specific facts (class names, counts, summary figures).
    pub info: Value,
}

impl Manifest {
    /// Reads `dir/manifest.json`.
    pub fn read_dir(dir: &Path) -> Result<Self> {
        let path = dir.join(MANIFEST_FILE);
        if !dir.is_dir() {
            return Err(ArtifactError::io(
                dir,
                std::io::Error::new(std::io::ErrorKind::NotFound, "no such directory"),
            ));
        }
        if !path.is_file() {
            return Err(ArtifactError::NotArtifact {
                path: dir.to_path_buf(),
            });
        }
        let text = std::fs::read_to_string(&path).map_err(|e| ArtifactError::io(&path, e))?;
        let manifest: Manifest =
            serde_json::from_str(&text).map_err(|e| ArtifactError::Manifest {
                path: path.clone(),
                message: e.to_string(),
            })?;
        if manifest.schema_version != SCHEMA_VERSION {
            return Err(ArtifactError::Manifest {
                path,
                message: format!(
                    "schema_version {} (this aeclust reads {SCHEMA_VERSION}); rerun the stage",
                    manifest.schema_version
                ),
            });
        }
        Ok(manifest)
    }

    /// The output record named `name`, if any.
    pub fn output(&self, name: &str) -> Option<&FileRecord> {
        self.outputs.iter().find(|r| r.path == name)
    }

    /// Checks that every output exists in `dir` with the recorded hash.
    pub fn verify_outputs(&self, dir: &Path) -> Result<()> {
        for record in &self.outputs {
            let path = dir.join(&record.path);
            let meta = std::fs::metadata(&path).map_err(|e| ArtifactError::io(&path, e))?;
            if meta.len() != record.bytes || crate::sha256_file(&path)? != record.sha256 {
                return Err(ArtifactError::Corrupt { path });
            }
        }
        Ok(())
    }
}
