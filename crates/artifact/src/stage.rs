use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::{json, Value};

use crate::{sha256_bytes, sha256_file, ArtifactError, FileRecord, Manifest, Result};
use crate::{MANIFEST_FILE, SCHEMA_VERSION};

/// One run of a stage: its identity (name, params, input hashes) and its output directory.
///
/// ```no_run
/// # use aeclust_artifact::*;
/// # fn main() -> Result<()> {
/// let stage = Stage::new("dataset", "0.1.0", &serde_json::json!({"limit": 10}),
///                        &["in.idx".into()], "artifacts/dataset".as_ref())?;
/// if let CacheStatus::Hit(_) = stage.cache_status() { return Ok(()); }
/// let staging = stage.staging()?;
/// std::fs::write(staging.file("train.bin"), b"...").unwrap();
/// staging.commit(&stage, &["train.bin"], serde_json::json!({}), serde_json::json!({}))?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Stage {
    name: String,
    tool_version: String,
    params: Value,
    inputs: Vec<FileRecord>,
    key: String,
    out_dir: PathBuf,
    started: Instant,
}

/// What running a stage did: the artifact's manifest, and whether it was reused.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The manifest of the artifact now in the output directory.
    pub manifest: Manifest,
    /// True when an intact earlier artifact with the same key was reused.
    pub cached: bool,
}

impl Outcome {
    /// A freshly built artifact.
    pub fn built(manifest: Manifest) -> Self {
        Self {
            manifest,
            cached: false,
        }
    }
}

/// Whether an existing artifact can be reused.
#[derive(Debug, Clone)]
pub enum CacheStatus {
    /// The output directory holds an intact artifact with the same key.
    Hit(Box<Manifest>),
    /// It must be (re)built, and why.
    Miss(String),
}

impl Stage {
    /// Describes a run and hashes its input files.
    pub fn new(
        name: &str,
        tool_version: &str,
        params: &impl Serialize,
        inputs: &[PathBuf],
        out_dir: &Path,
    ) -> Result<Self> {
        let started = Instant::now();
        let params = serde_json::to_value(params).map_err(|e| ArtifactError::Manifest {
            path: out_dir.join(MANIFEST_FILE),
            message: format!("parameters do not serialise: {e}"),
        })?;
        let inputs = inputs
            .iter()
            .map(|p| {
                let bytes = std::fs::metadata(p)
                    .map_err(|e| ArtifactError::io(p, e))?
                    .len();
                Ok(FileRecord {
                    path: p.display().to_string(),
                    sha256: sha256_file(p)?,
                    bytes,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let key_source = json!({
            "stage": name,
            "schema_version": SCHEMA_VERSION,
            "tool_version": tool_version,
            "params": params,
            "inputs": inputs.iter().map(|r| &r.sha256).collect::<Vec<_>>(),
        });
        let key = sha256_bytes(key_source.to_string().as_bytes());
        Ok(Self {
            name: name.to_string(),
            tool_version: tool_version.to_string(),
            params,
            inputs,
            key,
            out_dir: out_dir.to_path_buf(),
            started,
        })
    }

    /// The cache key: SHA-256 of stage, schema, tool version, params and input hashes.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The canonical parameters as recorded in the manifest.
    pub fn params(&self) -> &Value {
        &self.params
    }

    /// The output directory.
    pub fn out_dir(&self) -> &Path {
        &self.out_dir
    }

    /// Checks for an intact artifact with the same key in the output directory.
    pub fn cache_status(&self) -> CacheStatus {
        let manifest = match Manifest::read_dir(&self.out_dir) {
            Ok(m) => m,
            Err(ArtifactError::Io { .. }) | Err(ArtifactError::NotArtifact { .. }) => {
                return CacheStatus::Miss("no earlier artifact".into())
            }
            Err(e) => return CacheStatus::Miss(format!("earlier artifact unreadable ({e})")),
        };
        if manifest.stage != self.name {
            return CacheStatus::Miss(format!("directory holds a `{}` artifact", manifest.stage));
        }
        if manifest.cache_key != self.key {
            return CacheStatus::Miss("parameters, inputs or tool version changed".into());
        }
        match manifest.verify_outputs(&self.out_dir) {
            Ok(()) => CacheStatus::Hit(Box::new(manifest)),
            Err(e) => CacheStatus::Miss(format!("earlier outputs damaged ({e})")),
        }
    }

    /// The intact earlier artifact to reuse, unless `force` asks for a rebuild.
    pub fn reuse(&self, force: bool) -> Option<Outcome> {
        if force {
            return None;
        }
        match self.cache_status() {
            CacheStatus::Hit(manifest) => Some(Outcome {
                manifest: *manifest,
                cached: true,
            }),
            CacheStatus::Miss(_) => None,
        }
    }

    /// Creates a fresh staging directory beside the output directory.
    pub fn staging(&self) -> Result<Staging> {
        Staging::new(&self.out_dir)
    }
}

/// A temporary directory that becomes the artifact only on [`Staging::commit`].
/// Dropped without commit, it is removed and the previous artifact stays as it was.
#[derive(Debug)]
pub struct Staging {
    dir: PathBuf,
    final_dir: PathBuf,
    committed: bool,
}

impl Staging {
    fn new(final_dir: &Path) -> Result<Self> {
        if final_dir.exists() {
            let is_artifact = final_dir.join(MANIFEST_FILE).is_file();
            let empty = std::fs::read_dir(final_dir)
                .map_err(|e| ArtifactError::io(final_dir, e))?
                .next()
                .is_none();
            if !is_artifact && !empty {
                return Err(ArtifactError::io(
                    final_dir,
                    std::io::Error::new(
                        std::io::ErrorKind::AlreadyExists,
                        "exists and is not an aeclust artifact; refusing to replace it",
                    ),
                ));
            }
        }
        let parent = match final_dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent).map_err(|e| ArtifactError::io(&parent, e))?;
        let base = final_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "artifact".into());
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let dir = parent.join(format!(".{base}.staging-{}-{nanos}", std::process::id()));
        std::fs::create_dir(&dir).map_err(|e| ArtifactError::io(&dir, e))?;
        Ok(Self {
            dir,
            final_dir: final_dir.to_path_buf(),
            committed: false,
        })
    }

    /// The staging directory itself.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Path of an output file inside the staging directory.
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Hashes `outputs`, writes the manifest and atomically replaces the output directory.
    pub fn commit(
        mut self,
        stage: &Stage,
        outputs: &[&str],
        info: Value,
        environment: Value,
    ) -> Result<Manifest> {
        let outputs = outputs
            .iter()
            .map(|name| {
                let path = self.dir.join(name);
                let bytes = std::fs::metadata(&path)
                    .map_err(|e| ArtifactError::io(&path, e))?
                    .len();
                Ok(FileRecord {
                    path: name.to_string(),
                    sha256: sha256_file(&path)?,
                    bytes,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let mut env = json!({
            "os": std::env::consts::OS,
            "arch": std::env::consts::ARCH,
        });
        if let (Value::Object(base), Value::Object(extra)) = (&mut env, environment) {
            base.extend(extra);
        }
        let manifest = Manifest {
            stage: stage.name.clone(),
            schema_version: SCHEMA_VERSION,
            tool_version: stage.tool_version.clone(),
            cache_key: stage.key.clone(),
            params: stage.params.clone(),
            inputs: stage.inputs.clone(),
            outputs,
            wall_seconds: stage.started.elapsed().as_secs_f64(),
            created_unix: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
            environment: env,
            info,
        };
        let manifest_path = self.dir.join(MANIFEST_FILE);
        let text = serde_json::to_string_pretty(&manifest).expect("manifest serialises");
        std::fs::write(&manifest_path, text + "\n")
            .map_err(|e| ArtifactError::io(&manifest_path, e))?;

        // Swap: old artifact aside, staging into place, old removed.
        let old = PathBuf::from(format!("{}-old", self.dir.display()));
        let had_old = self.final_dir.exists();
        if had_old {
            std::fs::rename(&self.final_dir, &old)
                .map_err(|e| ArtifactError::io(&self.final_dir, e))?;
        }
        if let Err(e) = std::fs::rename(&self.dir, &self.final_dir) {
            if had_old {
                let _ = std::fs::rename(&old, &self.final_dir);
            }
            return Err(ArtifactError::io(&self.final_dir, e));
        }
        self.committed = true;
        if had_old {
            let _ = std::fs::remove_dir_all(&old);
        }
        Ok(manifest)
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(out: &Path, input: &Path, param: u32, fail: bool) -> Result<bool> {
        let stage = Stage::new(
            "demo",
            "0.0.1",
            &json!({ "p": param }),
            &[input.into()],
            out,
        )?;
        if let CacheStatus::Hit(_) = stage.cache_status() {
            return Ok(true);
        }
        let staging = stage.staging()?;
        std::fs::write(staging.file("a.txt"), format!("value {param}")).unwrap();
        if fail {
            return Err(ArtifactError::io(
                out,
                std::io::Error::other("simulated failure"),
            ));
        }
        staging.commit(&stage, &["a.txt"], json!({}), json!({ "threads": 1 }))?;
        Ok(false)
    }

    #[test]
    fn cache_hits_and_misses() {
        let tmp = tempfile::tempdir().unwrap();
        let input = tmp.path().join("in.txt");
        std::fs::write(&input, "hello").unwrap();
        let out = tmp.path().join("nested/out");
        assert!(!run(&out, &input, 1, false).unwrap(), "first run builds");
        assert!(run(&out, &input, 1, false).unwrap(), "same key is a hit");
        assert!(
            !run(&out, &input, 2, false).unwrap(),
            "changed param reruns"
        );
        std::fs::write(&input, "changed").unwrap();
        assert!(
            !run(&out, &input, 2, false).unwrap(),
            "changed input reruns"
        );
        std::fs::write(out.join("a.txt"), "tampered").unwrap();
        assert!(
            !run(&out, &input, 2, false).unwrap(),
            "damaged output reruns"
        );
        let m = Manifest::read_dir(&out).unwrap();
        assert_eq!(m.stage, "demo");
        assert_eq!(m.outputs[0].path, "a.txt");
        assert_eq!(m.environment["threads"], 1);
    }

    #[test]
    fn failed_rerun_keeps_previous_artifact_and_leaves_no_staging() {
        let tmp = tempfile::tempdir().unwrap();
        let input = tmp.path().join("in.txt");
        std::fs::write(&input, "hello").unwrap();
        let out = tmp.path().join("out");
        run(&out, &input, 1, false).unwrap();
        assert!(run(&out, &input, 5, true).is_err());
        assert_eq!(
            std::fs::read_to_string(out.join("a.txt")).unwrap(),
            "value 1"
        );
        Manifest::read_dir(&out)
            .unwrap()
            .verify_outputs(&out)
            .unwrap();
        let entries: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
        assert_eq!(entries.len(), 2, "only the input and the artifact remain");
        // A failed first run leaves nothing at all.
        let fresh = tmp.path().join("fresh");
        assert!(run(&fresh, &input, 1, true).is_err());
        assert!(!fresh.exists());
    }

    #[test]
    fn refuses_to_replace_a_foreign_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let input = tmp.path().join("in.txt");
        std::fs::write(&input, "hello").unwrap();
        let out = tmp.path().join("home");
        std::fs::create_dir(&out).unwrap();
        std::fs::write(out.join("precious.txt"), "keep").unwrap();
        let err = run(&out, &input, 1, false).unwrap_err().to_string();
        assert!(err.contains("not an aeclust artifact"), "{err}");
        assert!(out.join("precious.txt").exists());
    }
}
