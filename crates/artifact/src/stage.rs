use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::{json, Value};

use crate::kinds::ArtifactInfo;
use crate::process::{code_fingerprint, process_alive, program_name, OutputLock};
use crate::{sha256_bytes, sha256_file, ArtifactError, FileRecord, InputFile, Manifest, Result};
use crate::{Environment, MANIFEST_FILE, SCHEMA_VERSION};

/// One run of a stage: its identity (kind, params, code, inputs) and its output directory.
/// While it exists it holds an exclusive lock on the output directory, so concurrent runs
/// into the same output take turns.
///
/// ```no_run
/// # use aeclust_artifact::*;
/// # use aeclust_artifact::kinds::ReportInfo;
/// # fn main() -> Result<()> {
/// let stage = Stage::new("report", "0.1.0", &serde_json::json!({"limit": 10}),
///                        &[InputFile::external("in.bin")], "artifacts/report".as_ref())?;
/// if let Some(outcome) = stage.reuse(false) { return Ok(()); }
/// let staging = stage.staging()?;
/// std::fs::write(staging.file("report.md"), b"...").unwrap();
/// staging.commit(&stage, &["report.md"], &ReportInfo::default(), Environment::here())?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Stage {
    name: String,
    tool_version: String,
    fingerprint: String,
    params: Value,
    inputs: Vec<FileRecord>,
    key: String,
    out_dir: PathBuf,
    started: Instant,
    _lock: Arc<OutputLock>,
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

/// The parent directory of `out` (`.` for a bare name) and its last component.
pub(crate) fn parent_and_base(out: &Path) -> (PathBuf, String) {
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let base = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "artifact".into());
    (parent, base)
}

/// Removes the staging directories that runs into `out` left when they died (their
/// process is gone); those of live processes are never touched.
fn sweep_dead_stagings(out: &Path) -> Vec<PathBuf> {
    let (parent, base) = parent_and_base(out);
    let prefix = format!(".{base}.staging-");
    let Ok(entries) = std::fs::read_dir(&parent) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(&prefix) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if !process_alive(pid) && std::fs::remove_dir_all(entry.path()).is_ok() {
            removed.push(entry.path());
        }
    }
    removed
}

impl Stage {
    /// Describes a run: takes the output directory's lock (waiting for a concurrent run
    /// of the same output), sweeps staging directories of dead runs, and hashes the
    /// inputs, checking every file of an input artifact against that artifact's
    /// manifest. The cache key covers the kind, the schema and tool versions, the
    /// running program's code fingerprint, the params, the input hashes and the keys of
    /// the input artifacts.
    pub fn new(
        name: &str,
        tool_version: &str,
        params: &impl Serialize,
        inputs: &[InputFile],
        out_dir: &Path,
    ) -> Result<Self> {
        Self::with_fingerprint(
            name,
            tool_version,
            code_fingerprint(),
            params,
            inputs,
            out_dir,
        )
    }

    /// [`Stage::new`] with an explicit code fingerprint instead of the executable's hash.
    pub fn with_fingerprint(
        name: &str,
        tool_version: &str,
        fingerprint: &str,
        params: &impl Serialize,
        inputs: &[InputFile],
        out_dir: &Path,
    ) -> Result<Self> {
        let started = Instant::now();
        let params = serde_json::to_value(params).map_err(|e| ArtifactError::Manifest {
            path: out_dir.join(MANIFEST_FILE),
            message: format!("parameters do not serialise: {e}"),
        })?;
        let lock = OutputLock::acquire(out_dir)?;
        for dead in sweep_dead_stagings(out_dir) {
            eprintln!("removed {} (left by a run that died)", dead.display());
        }
        let inputs = inputs
            .iter()
            .map(InputFile::hash)
            .collect::<Result<Vec<_>>>()?;
        let key_source = json!({
            "stage": name,
            "schema_version": SCHEMA_VERSION,
            "tool_version": tool_version,
            "code_fingerprint": fingerprint,
            "params": params,
            "inputs": inputs.iter().map(|r| (&r.sha256, &r.artifact_key)).collect::<Vec<_>>(),
        });
        let key = sha256_bytes(key_source.to_string().as_bytes());
        Ok(Self {
            name: name.to_string(),
            tool_version: tool_version.to_string(),
            fingerprint: fingerprint.to_string(),
            params,
            inputs,
            key,
            out_dir: out_dir.to_path_buf(),
            started,
            _lock: Arc::new(lock),
        })
    }

    /// The cache key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The canonical parameters as recorded in the manifest.
    pub fn params(&self) -> &Value {
        &self.params
    }

    /// The input records (paths, hashes, sizes), verified.
    pub fn inputs(&self) -> &[FileRecord] {
        &self.inputs
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
            return CacheStatus::Miss("parameters, inputs or code changed".into());
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
/// Dropped without commit, it is removed and the previous artifact stays as it was; left
/// behind by a killed process, it is removed by the next run into the same output.
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
        let (parent, base) = parent_and_base(final_dir);
        std::fs::create_dir_all(&parent).map_err(|e| ArtifactError::io(&parent, e))?;
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

    /// Writes `value` as pretty JSON to the output file `name`.
    pub fn write_json(&self, name: &str, value: &impl Serialize) -> Result<()> {
        let path = self.file(name);
        let text = serde_json::to_string_pretty(value).map_err(|e| ArtifactError::Manifest {
            path: path.clone(),
            message: format!("does not serialise: {e}"),
        })?;
        std::fs::write(&path, text + "\n").map_err(|e| ArtifactError::io(&path, e))
    }

    /// Hashes `outputs`, writes the manifest with the typed `info` of the artifact's kind
    /// and atomically replaces the output directory.
    pub fn commit<T: ArtifactInfo>(
        mut self,
        stage: &Stage,
        outputs: &[&str],
        info: &T,
        environment: Environment,
    ) -> Result<Manifest> {
        let manifest_path = self.dir.join(MANIFEST_FILE);
        if T::STAGE != stage.name {
            return Err(ArtifactError::Manifest {
                path: manifest_path,
                message: format!("a `{}` stage cannot commit {} info", stage.name, T::STAGE),
            });
        }
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
                    artifact_key: None,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let info = serde_json::to_value(info).map_err(|e| ArtifactError::Manifest {
            path: manifest_path.clone(),
            message: format!("info does not serialise: {e}"),
        })?;
        let manifest = Manifest {
            stage: stage.name.clone(),
            schema_version: SCHEMA_VERSION,
            tool_version: stage.tool_version.clone(),
            producer: program_name(),
            code_fingerprint: stage.fingerprint.clone(),
            cache_key: stage.key.clone(),
            params: stage.params.clone(),
            inputs: stage.inputs.clone(),
            outputs,
            wall_seconds: stage.started.elapsed().as_secs_f64(),
            created_unix: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
            environment,
            info,
        };
        let text = serde_json::to_string_pretty(&manifest).expect("manifest serialises");
        std::fs::write(&manifest_path, text + "\n")
            .map_err(|e| ArtifactError::io(&manifest_path, e))?;

        // Swap (under the output lock): old artifact aside, staging into place, old removed.
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
    use crate::kinds::ReportInfo;

    fn run_with(out: &Path, input: &Path, param: u32, fail: bool, code: &str) -> Result<bool> {
        let stage = Stage::with_fingerprint(
            crate::kinds::REPORT,
            "0.0.1",
            code,
            &json!({ "p": param }),
            &[InputFile::external(input)],
            out,
        )?;
        if stage.reuse(false).is_some() {
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
        staging.commit(
            &stage,
            &["a.txt"],
            &ReportInfo::default(),
            Environment::here().threads(1),
        )?;
        Ok(false)
    }

    fn run(out: &Path, input: &Path, param: u32, fail: bool) -> Result<bool> {
        run_with(out, input, param, fail, "code-a")
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
        assert_eq!(m.stage, "report");
        assert_eq!(m.outputs[0].path, "a.txt");
        assert_eq!(m.environment.threads, Some(1));
        assert_eq!(m.code_fingerprint, "code-a");
    }

    #[test]
    fn changed_code_reruns_the_stage() {
        let tmp = tempfile::tempdir().unwrap();
        let input = tmp.path().join("in.txt");
        std::fs::write(&input, "hello").unwrap();
        let out = tmp.path().join("out");
        assert!(!run_with(&out, &input, 1, false, "code-a").unwrap());
        assert!(run_with(&out, &input, 1, false, "code-a").unwrap());
        assert!(
            !run_with(&out, &input, 1, false, "code-b").unwrap(),
            "another fingerprint is a miss"
        );
        assert_eq!(Manifest::read_dir(&out).unwrap().code_fingerprint, "code-b");
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
        let mut entries: Vec<String> = std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        entries.sort();
        assert_eq!(
            entries,
            vec![".out.lock", "in.txt", "out"],
            "only the input, the artifact and its lock file remain"
        );
        // A failed first run leaves no artifact at all.
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

    #[test]
    fn dead_runs_stagings_are_swept_live_ones_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let input = tmp.path().join("in.txt");
        std::fs::write(&input, "hello").unwrap();
        let out = tmp.path().join("out");
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead_pid = child.id();
        child.wait().unwrap();
        let dead = tmp.path().join(format!(".out.staging-{dead_pid}-123"));
        let dead_old = tmp.path().join(format!(".out.staging-{dead_pid}-123-old"));
        let live = tmp
            .path()
            .join(format!(".out.staging-{}-456", std::process::id()));
        let other = tmp.path().join(format!(".other.staging-{dead_pid}-1"));
        for d in [&dead, &dead_old, &live, &other] {
            std::fs::create_dir(d).unwrap();
            std::fs::write(d.join("half.bin"), b"half").unwrap();
        }
        run(&out, &input, 1, false).unwrap();
        assert!(
            !dead.exists() && !dead_old.exists(),
            "dead run's staging swept"
        );
        assert!(live.exists(), "a live run's staging is never touched");
        assert!(
            other.exists(),
            "another output's staging is not this run's business"
        );
    }

    #[test]
    fn concurrent_runs_into_one_output_take_turns() {
        let tmp = tempfile::tempdir().unwrap();
        let input = tmp.path().join("in.txt");
        std::fs::write(&input, "hello").unwrap();
        let out = tmp.path().join("out");
        let results: Vec<bool> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| s.spawn(|| run(&out, &input, 1, false).unwrap()))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(
            results.iter().filter(|hit| !**hit).count(),
            1,
            "one run builds, the others find its artifact: {results:?}"
        );
        Manifest::read_dir(&out)
            .unwrap()
            .verify_outputs(&out)
            .unwrap();
    }
}
