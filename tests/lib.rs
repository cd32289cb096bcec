//! Helpers of the end-to-end tests (`pipeline.rs`, `images.rs`): the stage binaries of
//! this build and `scripts/pipeline.sh` run with them.

pub mod browser;

use std::path::{Path, PathBuf};
use std::process::Command;

use aeclust_dataset::read_idx_file;
use image::GrayImage;

/// Every stage binary.
pub const STAGES: [&str; 13] = [
    "aeclust-dataset",
    "aeclust-merge-codes",
    "aeclust-train",
    "aeclust-encode",
    "aeclust-encode-pca",
    "aeclust-encode-pretrained",
    "aeclust-encode-umap",
    "aeclust-cluster",
    "aeclust-cluster-scan",
    "aeclust-selflabel",
    "aeclust-evaluate",
    "aeclust-similar",
    "aeclust-assign",
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

/// One split of the committed subset: 28×28 images and labels.
pub fn subset(split: &str) -> (Vec<Vec<u8>>, Vec<u8>) {
    let dir = root().join("data/fashion-mnist-subset");
    let prefix = if split == "train" { "train" } else { "t10k" };
    let images = read_idx_file(&dir.join(format!("{prefix}-images-idx3-ubyte.gz")), 3).unwrap();
    let labels = read_idx_file(&dir.join(format!("{prefix}-labels-idx1-ubyte.gz")), 1).unwrap();
    (
        images.data.chunks_exact(784).map(<[u8]>::to_vec).collect(),
        labels.data,
    )
}

/// The group `name` (a clustering's mean ± sd over seeds) of a `report.json`.
pub fn group<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == name)
        .unwrap_or_else(|| panic!("no group {name} in {report}"))
}

/// Writes `split` of the subset as `tree/class-L/NNNNN.png`, and returns the images and
/// labels in the order the folder reader lists them (by class folder, then file name).
pub fn write_tree(tree: &Path, split: &str) -> (Vec<u8>, Vec<u8>) {
    let (images, labels) = subset(split);
    let mut order: Vec<usize> = (0..labels.len()).collect();
    order.sort_by_key(|&i| (labels[i], i));
    for &i in &order {
        let path = tree.join(format!("class-{}/{i:05}.png", labels[i]));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        GrayImage::from_raw(28, 28, images[i].clone())
            .unwrap()
            .save(&path)
            .unwrap();
    }
    (
        order.iter().flat_map(|&i| images[i].clone()).collect(),
        order.iter().map(|&i| labels[i]).collect(),
    )
}
