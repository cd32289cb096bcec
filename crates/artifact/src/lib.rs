//! The aeclust artifact contract, written once for every stage.
//!
//! Every stage writes one output directory holding its files and a `manifest.json`
//! ([`Manifest`]) that records the stage, its canonical parameters, the program and code
//! that made it, the SHA-256 of every input and output, and the wall time; its `info`
//! is the typed description of the artifact's kind ([`kinds`]).
//!
//! - [`Artifact`] opens an artifact another stage wrote; [`Artifact::input`] names one of
//!   its files as an input, which [`Stage::new`] checks against that artifact's manifest
//!   before anything trusts it.
//! - [`Stage`] is the cache: a run whose key (kind, code fingerprint, params, input
//!   hashes, input artifacts' keys) matches an intact existing artifact is skipped. It
//!   also holds the output directory's lock and sweeps the leftovers of dead runs.
//! - [`Staging`] is where outputs are written; [`Staging::commit`] moves them into place
//!   only when the stage succeeded, so a failure never leaves a partial artifact that
//!   looks valid and never destroys a valid earlier one.
//! - [`ArtifactRef`] links artifacts by relative path, so a moved `artifacts/` folder
//!   keeps working.
//! - [`tensors`] reads and writes safetensors with dtype and shape checks whose errors
//!   name the file and the tensor.

mod artifact;
mod error;
#[cfg(any(test, feature = "fixtures"))]
pub mod fixtures;
mod hash;
pub mod kinds;
mod manifest;
mod process;
mod stage;
pub mod tensors;

pub use artifact::{Artifact, ArtifactRef, InputFile};
pub use error::{ArtifactError, Result};
pub use hash::{sha256_bytes, sha256_file};
pub use manifest::{Environment, FileRecord, Manifest, MANIFEST_FILE, SCHEMA_VERSION};
pub use process::{code_fingerprint, process_alive, program_name};
pub use stage::{CacheStatus, Outcome, Stage, Staging};
pub use tensors::{
    write_in_pieces, Element, Tensor, TensorFile, TensorRows, TensorSpec, TensorWriter,
};
