use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::kinds::ArtifactInfo;
use crate::{ArtifactError, Result};

/// File name of the manifest inside every artifact directory.
pub const MANIFEST_FILE: &str = "manifest.json";
/// Version of the manifest schema; bumped on incompatible changes.
pub const SCHEMA_VERSION: u32 = 3;

/// One file an artifact read or wrote, with its content hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRecord {
    /// Inputs: the path as given to the stage. Outputs: relative to the artifact directory.
    pub path: String,
    /// Lower-case hex SHA-256 of the file's bytes.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Inputs read from another artifact: that artifact's cache key (it enters this
    /// artifact's key, so a rebuilt upstream stage invalidates everything downstream).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_key: Option<String>,
}

/// Where a stage ran.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Environment {
    /// Operating system (`linux`, …).
    pub os: String,
    /// CPU architecture (`x86_64`, …).
    pub arch: String,
    /// Worker threads, where the stage is multi-threaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threads: Option<usize>,
    /// Compute device (`Cpu`, `Cuda(0)`), for candle stages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
}

impl Environment {
    /// This machine, with nothing stage-specific.
    pub fn here() -> Self {
        Self {
            os: std::env::consts::OS.into(),
            arch: std::env::consts::ARCH.into(),
            threads: None,
            device: None,
        }
    }

    /// With the worker thread count.
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = Some(threads);
        self
    }

    /// With the compute device.
    pub fn device(mut self, device: impl Into<String>) -> Self {
        self.device = Some(device.into());
        self
    }
}

/// `manifest.json`: what a stage made, from what, with which parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Artifact kind: `dataset`, `model`, `codes`, `clustering`, `report`.
    pub stage: String,
    /// Schema version of this manifest ([`SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// Version of the aeclust tool that wrote it.
    pub tool_version: String,
    /// The program that wrote it (e.g. `aeclust-encode-pca`): what to rerun to rebuild it.
    pub producer: String,
    /// SHA-256 of that program's executable: the code that made the artifact.
    pub code_fingerprint: String,
    /// SHA-256 over stage, schema, tool version, code fingerprint, params, input hashes
    /// and the cache keys of input artifacts.
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
    /// Where it ran.
    pub environment: Environment,
    /// Facts of the artifact's kind; read them with [`Manifest::info_as`].
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
        let schema: Option<u64> = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v.get("schema_version").and_then(Value::as_u64));
        if let Some(found) = schema.filter(|&v| v != u64::from(SCHEMA_VERSION)) {
            return Err(ArtifactError::Manifest {
                path,
                message: format!(
                    "schema_version {found} (this aeclust reads {SCHEMA_VERSION}); rerun the stage that made it"
                ),
            });
        }
        serde_json::from_str(&text).map_err(|e| ArtifactError::Manifest {
            path: path.clone(),
            message: e.to_string(),
        })
    }

    /// The info of this artifact as its kind's type; an error when the manifest belongs to
    /// another kind or its info does not fit `T`.
    pub fn info_as<T: ArtifactInfo>(&self, dir: &Path) -> Result<T> {
        if self.stage != T::STAGE {
            return Err(ArtifactError::WrongStage {
                path: dir.to_path_buf(),
                found: self.stage.clone(),
                expected: format!("`{}`", T::STAGE),
            });
        }
        serde_json::from_value(self.info.clone()).map_err(|e| ArtifactError::Manifest {
            path: dir.join(MANIFEST_FILE),
            message: format!(
                "`info` is not a valid {} description ({e}): `{}` wrote it in a format \
                 this aeclust does not read (an older one); rebuild it by rerunning `{}` \
                 with the same options and --force (or rerun scripts/pipeline.sh)",
                T::STAGE,
                self.producer,
                self.producer,
            ),
        })
    }

    /// The output record named `name`, if any.
    pub fn output(&self, name: &str) -> Option<&FileRecord> {
        self.outputs.iter().find(|r| r.path == name)
    }

    /// Checks that every output exists in `dir` with the recorded size and hash.
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
