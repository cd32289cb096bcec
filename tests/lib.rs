//! Helpers of the end-to-end tests (`pipeline.rs`, `images.rs`): the stage binaries of
//! this build and `scripts/pipeline.sh` run with them.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Every stage binary.
pub const STAGES: [&str; 9] = [
    "aeclust-dataset",
    "aeclust-train",
    "aeclust-encode",
    "aeclust-encode-pca",
    "aeclust-encode-umap",
    "aeclust-cluster",
    "aeclust-cluster-scan",
    "aeclust-evaluate",
    "aeclust-similar",
];

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The directory holding the stage binaries of the running test's profile, built if
/// missing.
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap().to_path_buf();
    if STAGES.iter().any(|b| !dir.join(b).exists()) {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let profile = dir.file_name().unwrap().to_string_lossy().into_owned();
        let mut cmd = Command::new(cargo);
        cmd.current_dir(root()).args(["build", "--bins"]);
        if profile == "release" {
            cmd.arg("--release");
        }
        assert!(
            cmd.status().unwrap().success(),
            "building the stage binaries failed"
        );
    }
    dir
}

/// Runs `scripts/pipeline.sh ARGS` with the stage binaries in `bins`; panics with its
/// output when it fails, returns the output otherwise.
pub fn pipeline_with(bins: &Path, args: &[&str]) -> String {
    let o = Command::new("bash")
        .current_dir(root())
        .env("AECLUST_BIN", bins)
        .arg("scripts/pipeline.sh")
        .args(args)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "pipeline failed:\n{text}");
    text
}

/// A JSON file, parsed.
pub fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The picture file names a `report.json` lists.
pub fn pictures(report: &serde_json::Value) -> Vec<&str> {
    report["pictures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect()
}
