//! Opening artifacts other stages wrote, naming the files a stage reads, and the
//! relocatable references between artifacts.

use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::kinds::ArtifactInfo;
use crate::{ArtifactError, FileRecord, Manifest, Result};

/// An artifact directory with its manifest, opened for reading by a later stage.
#[derive(Debug, Clone)]
pub struct Artifact {
    dir: PathBuf,
    manifest: Manifest,
}

impl Artifact {
    /// Opens `dir`, which must hold a manifest of one of the `expected` kinds.
    pub fn open(dir: &Path, expected: &[&str]) -> Result<Self> {
        let manifest = Manifest::read_dir(dir)?;
        if !expected.iter().any(|s| *s == manifest.stage) {
            return Err(ArtifactError::WrongStage {
                path: dir.to_path_buf(),
                found: manifest.stage.clone(),
                expected: expected
                    .iter()
                    .map(|s| format!("`{s}`"))
                    .collect::<Vec<_>>()
                    .join(" or "),
            });
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            manifest,
        })
    }

    /// Opens `dir` as an artifact of kind `T` and returns its typed info with it.
    pub fn open_as<T: ArtifactInfo>(dir: &Path) -> Result<(Self, T)> {
        let artifact = Self::open(dir, &[T::STAGE])?;
        let info = artifact.info()?;
        Ok((artifact, info))
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The artifact's kind (`dataset`, `codes`, …).
    pub fn kind(&self) -> &str {
        &self.manifest.stage
    }

    /// The typed info of this artifact's kind.
    pub fn info<T: ArtifactInfo>(&self) -> Result<T> {
        self.manifest.info_as(&self.dir)
    }

    /// Path of the output file `name`; an error when the manifest does not record it.
    pub fn path(&self, name: &str) -> Result<PathBuf> {
        self.record(name).map(|_| self.dir.join(name))
    }

    fn record(&self, name: &str) -> Result<&FileRecord> {
        self.manifest
            .output(name)
            .ok_or_else(|| ArtifactError::MissingFile {
                artifact: self.dir.clone(),
                name: name.to_string(),
                holds: self
                    .manifest
                    .outputs
                    .iter()
                    .map(|r| r.path.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// The output file `name` as an input of a stage: the stage checks its size and
    /// SHA-256 against this manifest before it uses it ([`crate::Stage::new`]).
    pub fn input(&self, name: &str) -> Result<InputFile> {
        let record = self.record(name)?.clone();
        Ok(InputFile {
            path: self.dir.join(name),
            expected: Some(Expected {
                record,
                artifact: self.dir.clone(),
                artifact_key: self.manifest.cache_key.clone(),
                producer: self.manifest.producer.clone(),
            }),
        })
    }

    /// [`Artifact::input`] for each of `names`.
    pub fn inputs(&self, names: &[&str]) -> Result<Vec<InputFile>> {
        names.iter().map(|n| self.input(n)).collect()
    }

    /// Verifies the output file `name` against the manifest (size and SHA-256) and
    /// returns its path.
    pub fn verified_path(&self, name: &str) -> Result<PathBuf> {
        let input = self.input(name)?;
        input.hash()?;
        Ok(input.path)
    }

    /// A reference to this artifact from an artifact that will be written to `from_out`.
    pub fn reference_from(&self, from_out: &Path) -> ArtifactRef {
        ArtifactRef::new(&self.dir, &self.manifest.cache_key, from_out)
    }
}

/// What an input file must be: the record in the manifest of the artifact it belongs to.
#[derive(Debug, Clone)]
struct Expected {
    record: FileRecord,
    artifact: PathBuf,
    artifact_key: String,
    producer: String,
}

/// A file a stage reads: a file of another artifact (checked against its manifest), or
/// an outside file (a source, checked by nothing but its own hash).
#[derive(Debug, Clone)]
pub struct InputFile {
    path: PathBuf,
    expected: Option<Expected>,
}

impl InputFile {
    /// An outside file, e.g. raw data the dataset stage reads.
    pub fn external(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            expected: None,
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Hashes the file; for an artifact's file, checks size and SHA-256 against its
    /// manifest first and refuses a mismatch, naming the file and how to rebuild it.
    pub(crate) fn hash(&self) -> Result<FileRecord> {
        let bytes = std::fs::metadata(&self.path)
            .map_err(|e| ArtifactError::io(&self.path, e))?
            .len();
        let modified = |what| {
            let e = self.expected.as_ref().expect("checked artifact file");
            ArtifactError::Modified {
                path: self.path.clone(),
                artifact: e.artifact.clone(),
                what,
                producer: e.producer.clone(),
            }
        };
        if let Some(e) = &self.expected {
            if e.record.bytes != bytes {
                return Err(modified("size"));
            }
        }
        let sha256 = crate::sha256_file(&self.path)?;
        if let Some(e) = &self.expected {
            if e.record.sha256 != sha256 {
                return Err(modified("SHA-256"));
            }
        }
        Ok(FileRecord {
            path: self.path.display().to_string(),
            sha256,
            bytes,
            artifact_key: self.expected.as_ref().map(|e| e.artifact_key.clone()),
        })
    }
}

/// A reference from one artifact to another, stored relative to the referring artifact
/// so that a moved or copied `artifacts/` folder keeps working; the absolute path at
/// writing time is kept as a hint for when the two were moved apart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactRef {
    /// Path of the referenced artifact relative to the referring artifact's directory.
    pub path: String,
    /// Absolute path when the reference was written (a fallback only).
    pub absolute_hint: String,
    /// Cache key of the referenced artifact when the reference was written.
    pub cache_key: String,
}

impl ArtifactRef {
    /// A reference to the artifact in `target` (cache key `cache_key`) from an artifact
    /// that will be written to `from_out`.
    pub fn new(target: &Path, cache_key: &str, from_out: &Path) -> Self {
        let target_abs = absolute(target);
        let from_abs = absolute(from_out);
        Self {
            path: relative_path(&from_abs, &target_abs).display().to_string(),
            absolute_hint: target_abs.display().to_string(),
            cache_key: cache_key.to_string(),
        }
    }

    /// The same reference, held by an artifact in `from_dir`, made for an artifact that
    /// will be written to `new_from_out` (e.g. a codes artifact passing on its dataset).
    pub fn rebased(&self, from_dir: &Path, new_from_out: &Path) -> Self {
        Self::new(&self.resolve(from_dir), &self.cache_key, new_from_out)
    }

    /// Where the referenced artifact is, seen from the referring artifact in `from_dir`:
    /// the relative path when it leads to an artifact, else the absolute hint when that
    /// does (both made canonical), else the relative path (whose opening then reports
    /// what is missing).
    pub fn resolve(&self, from_dir: &Path) -> PathBuf {
        let relative = from_dir.join(&self.path);
        let hint = PathBuf::from(&self.absolute_hint);
        for candidate in [&relative, &hint] {
            if candidate.join(crate::MANIFEST_FILE).is_file() {
                return std::fs::canonicalize(candidate).unwrap_or_else(|_| candidate.clone());
            }
        }
        relative
    }
}

/// `path` made absolute and free of `.`/`..` and symlinks where it exists; for a path
/// that does not exist yet (an output directory), its parent is resolved instead.
fn absolute(path: &Path) -> PathBuf {
    if let Ok(p) = std::fs::canonicalize(path) {
        return p;
    }
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .unwrap_or_else(|_| PathBuf::from("/"))
            .join(path)
    };
    match (abs.parent(), abs.file_name()) {
        (Some(parent), Some(name)) => absolute(parent).join(name),
        _ => abs,
    }
}

/// The path that leads from directory `from` to `to` (both absolute and normalised).
fn relative_path(from: &Path, to: &Path) -> PathBuf {
    let from: Vec<Component> = from.components().collect();
    let to: Vec<Component> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..from.len() {
        out.push("..");
    }
    for c in &to[common..] {
        out.push(c.as_os_str());
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths() {
        let r = |a: &str, b: &str| relative_path(Path::new(a), Path::new(b));
        assert_eq!(r("/a/b/c", "/a/d"), PathBuf::from("../../d"));
        assert_eq!(
            r("/a/seed-1/codes", "/a/dataset"),
            PathBuf::from("../../dataset")
        );
        assert_eq!(r("/a", "/a/b"), PathBuf::from("b"));
        assert_eq!(r("/a", "/a"), PathBuf::from("."));
    }

    #[test]
    fn references_survive_moving_both_ends_together() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("artifacts");
        let target = root.join("dataset");
        std::fs::create_dir_all(&target).unwrap();
        std::fs::write(target.join(crate::MANIFEST_FILE), "{}").unwrap();
        let from = root.join("seed-1/codes");
        std::fs::create_dir_all(&from).unwrap();
        let r = ArtifactRef::new(&target, "key", &from);
        assert_eq!(r.path, "../../dataset");
        assert!(Path::new(&r.absolute_hint).is_absolute());

        let moved = tmp.path().join("elsewhere");
        std::fs::rename(&root, &moved).unwrap();
        let resolved = r.resolve(&moved.join("seed-1/codes"));
        assert!(
            resolved.join(crate::MANIFEST_FILE).is_file(),
            "{resolved:?}"
        );
        assert!(resolved.starts_with(&moved));
    }

    #[test]
    fn absolute_hint_when_moved_apart() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("data/dataset");
        std::fs::create_dir_all(&target).unwrap();
        std::fs::write(target.join(crate::MANIFEST_FILE), "{}").unwrap();
        let r = ArtifactRef::new(&target, "key", &tmp.path().join("runs/codes"));
        // The referring artifact moved alone: the relative path leads nowhere.
        let resolved = r.resolve(&tmp.path().join("x/y/z/codes"));
        assert_eq!(resolved, std::fs::canonicalize(&target).unwrap());
    }
}
