//! End to end: `scripts/pipeline.sh` runs every stage binary on the committed real-data
//! subset, twice (the second run reuses every stage), then once more with one parameter
//! changed (only the stages downstream of it rerun).

use std::path::{Path, PathBuf};
use std::process::Command;

const STAGES: [&str; 6] = [
    "aeclust-dataset",
    "aeclust-train",
    "aeclust-encode",
    "aeclust-encode-pca",
    "aeclust-cluster",
    "aeclust-evaluate",
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The directory holding this profile's stage binaries, built if missing.
fn bin_dir() -> PathBuf {
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

fn pipeline(out: &Path, extra: &[&str]) -> String {
    let o = Command::new("bash")
        .current_dir(root())
        .env("AECLUST_BIN", bin_dir())
        .args([
            "scripts/pipeline.sh",
            "--data",
            "data/fashion-mnist-subset",
            "--out",
        ])
        .arg(out)
        .args(extra)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "pipeline failed:\n{text}");
    text
}

fn is_png(path: &Path) -> bool {
    std::fs::read(path).is_ok_and(|b| b.starts_with(b"\x89PNG\r\n\x1a\n"))
}

#[test]
fn pipeline_runs_every_stage_caches_and_reruns_downstream_only() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("artifacts");
    let first = pipeline(&out, &["--epochs", "2", "--seeds", "72,1"]);
    assert!(
        !first.contains("reused"),
        "a fresh run builds everything:\n{first}"
    );

    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report/report.json")).unwrap())
            .unwrap();
    let results = report["results"].as_array().unwrap();
    let groups = report["groups"].as_array().unwrap();
    assert_eq!(
        groups.len() * 2,
        results.len(),
        "every clustering for both seeds"
    );
    for g in groups {
        assert_eq!(g["seeds"], serde_json::json!([72, 1]));
        let acc = g["test_acc"]["mean"].as_f64().unwrap();
        // Ten balanced classes: chance is about 0.1; every method does far better even
        // with a 2-epoch autoencoder on 2,000 images.
        assert!(
            (0.3..=1.0).contains(&acc),
            "{}: test accuracy {acc}",
            g["name"]
        );
    }
    for r in results {
        let test = &r["splits"]["test"];
        assert_eq!(test["n"], 500);
        let confusion: i64 = test["confusion"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|row| row.as_array().unwrap().iter().map(|v| v.as_i64().unwrap()))
            .sum();
        assert_eq!(
            confusion, 500,
            "the confusion matrix counts every test image"
        );
    }
    let pictures = report["pictures"].as_array().unwrap();
    assert!(pictures
        .iter()
        .any(|p| p.as_str().unwrap().starts_with("loss-")));
    assert!(pictures
        .iter()
        .any(|p| p.as_str().unwrap().starts_with("montage-")));
    assert!(pictures
        .iter()
        .any(|p| p.as_str().unwrap().starts_with("scatter-")));
    for p in pictures {
        assert!(
            is_png(&out.join("report").join(p.as_str().unwrap())),
            "{p} is a PNG"
        );
    }
    let md = std::fs::read_to_string(out.join("report/report.md")).unwrap();
    assert!(md.contains("| clustering |") && md.contains("0.55"), "{md}");

    // Nothing changed: every stage is reused.
    let second = pipeline(&out, &["--epochs", "2", "--seeds", "72,1"]);
    let built: Vec<&str> = second.lines().filter(|l| l.contains(": wrote ")).collect();
    assert!(built.is_empty(), "second run rebuilt {built:?}:\n{second}");
    assert!(second.matches("reused").count() >= 10, "{second}");

    // One parameter changed: the dataset and K-Means on pixels are reused; the model,
    // codes, clusterings of codes and the report are rebuilt.
    let third = pipeline(&out, &["--epochs", "3", "--seeds", "72"]);
    assert!(third.contains("dataset: reused"), "{third}");
    assert!(third.contains("kmeans-pixels (same features"), "{third}");
    assert!(third.contains("train: wrote"), "{third}");
    assert!(third.contains("evaluate: wrote"), "{third}");
}

#[test]
fn pca_encoder_plugs_in() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("artifacts");
    let text = pipeline(&out, &["--encoder", "pca", "--seeds", "5"]);
    assert!(text.contains("encode-pca: wrote"), "{text}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report/report.json")).unwrap())
            .unwrap();
    let titles: Vec<&str> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["title"].as_str().unwrap())
        .collect();
    assert!(titles.iter().any(|t| t.contains("pca")), "{titles:?}");
}
