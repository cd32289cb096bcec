//! The aeclust artifact contract, written once for every stage.
//!
//! Every stage writes one output directory holding its files and a `manifest.json`
//! ([`Manifest`]) that records the stage, its canonical parameters, the SHA-256 of every
//! input and output, and the wall time. [`Stage`] turns that into a cache: a run whose
//! key (stage + tool version + params + input hashes) matches an intact existing
//! artifact is skipped. Outputs are written into a staging directory ([`Staging`]) and
//! moved into place only when the stage succeeded, so a failure never leaves a partial
//! artifact that looks valid and never destroys a valid earlier one.
//!
//! Tensors are exchanged as safetensors; [`tensors`] reads and writes them with dtype and
//! shape checks whose errors name the file and the tensor.

pub mod cli;
mod error;
mod hash;
pub mod kinds;
mod manifest;
mod stage;
pub mod tensors;

pub use error::{ArtifactError, Result};
pub use hash::{sha256_bytes, sha256_file};
pub use manifest::{FileRecord, Manifest, MANIFEST_FILE, SCHEMA_VERSION};
pub use stage::{CacheStatus, Outcome, Stage, Staging};
pub use tensors::{Element, Tensor, TensorFile, TensorWriter};

/// Directory of an artifact that other stages read: checks that it exists and holds a
/// manifest from one of the `expected` stages, and returns that manifest.
pub fn open_artifact(dir: &std::path::Path, expected: &[&str]) -> Result<Manifest> {
    let manifest = Manifest::read_dir(dir)?;
    if !expected.iter().any(|s| *s == manifest.stage) {
        return Err(ArtifactError::WrongStage {
            path: dir.to_path_buf(),
            found: manifest.stage.clone(),
            expected: expected.join(" or "),
        });
    }
    Ok(manifest)
}

/// `path` made absolute (symlinks resolved) for cross-references between artifacts, so
/// a later stage finds it from any working directory; `path` as given if that fails.
pub fn canonical(path: &std::path::Path) -> String {
    std::fs::canonicalize(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string()
}
