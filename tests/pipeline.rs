//! End to end: `scripts/pipeline.sh` runs every stage binary on the committed real-data
//! subset, twice (the second run reuses every stage), then with one parameter changed
//! and with one stage binary changed (only the stages downstream of the change rerun);
//! the artifacts folder is then moved and still evaluates with every picture.

use std::path::{Path, PathBuf};
use std::process::Command;

use aeclust_e2e::{bin_dir, pipeline_with as run_pipeline, read_json, STAGES};

/// A private copy of the stage binaries, so that a test may change one.
fn copy_bins(to: &Path) -> PathBuf {
    std::fs::create_dir_all(to).unwrap();
    for b in STAGES {
        std::fs::copy(bin_dir().join(b), to.join(b)).unwrap();
    }
    to.to_path_buf()
}

fn pipeline(out: &Path, extra: &[&str]) -> String {
    pipeline_with(&bin_dir(), out, extra)
}

fn pipeline_with(bins: &Path, out: &Path, extra: &[&str]) -> String {
    let out = out.to_str().unwrap();
    let args = [
        &["--data", "data/fashion-mnist-subset", "--out", out][..],
        extra,
    ]
    .concat();
    run_pipeline(bins, &args)
}

fn is_png(path: &Path) -> bool {
    std::fs::read(path).is_ok_and(|b| b.starts_with(b"\x89PNG\r\n\x1a\n"))
}

/// Lines that say a stage (re)built its artifact at a path ending in `name`.
fn wrote(text: &str, name: &str) -> bool {
    text.lines()
        .any(|l| l.contains(": wrote ") && l.contains(&format!("{name} in ")))
}

fn reused(text: &str, name: &str) -> bool {
    text.lines()
        .any(|l| l.contains(": reused ") && l.contains(&format!("{name} (")))
}

#[test]
fn pipeline_runs_every_stage_caches_and_reruns_downstream_only() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("artifacts");
    let bins = copy_bins(&tmp.path().join("bin"));
    let pipeline = |out: &Path, extra: &[&str]| pipeline_with(&bins, out, extra);
    let args = [
        "--epochs",
        "2",
        "--routes",
        "study,n2d",
        "--n2d-epochs",
        "2",
        "--seeds",
        "72,1",
    ];
    let first = pipeline(&out, &args);
    assert!(
        !first.contains("reused"),
        "a fresh run builds everything:\n{first}"
    );

    let report = read_json(&out.join("report/report.json"));
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
    assert!(
        pictures
            .iter()
            .any(|p| p.as_str().unwrap() == "map-seed-72-codes-umap-2d.png"),
        "{pictures:?}"
    );
    for p in pictures {
        assert!(
            is_png(&out.join("report").join(p.as_str().unwrap())),
            "{p} is a PNG"
        );
    }
    let titles: Vec<&str> = groups
        .iter()
        .map(|g| g["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        titles,
        vec![
            "K-Means on pixels",
            "K-Means on dense-autoencoder codes (240-d)",
            "GMM (full) on dense-autoencoder codes (240-d)",
            "GMM (full) on pca of dense-autoencoder codes (30-d)",
            "SCAN on pixels, neighbours in dense-autoencoder codes (240-d)",
            "GMM (full) on umap of dense-autoencoder codes (10-d)",
            "GMM (full) on dense-autoencoder 784-500-500-2000-10 codes (10-d)",
            "GMM (full) on umap of dense-autoencoder 784-500-500-2000-10 codes (10-d)",
            "SCAN on pixels, neighbours in dense-autoencoder 784-500-500-2000-10 codes (10-d)",
        ]
    );
    // N2D's network: a linear 10-d code (negative values), its own model artifact.
    let n2d = read_json(&out.join("seed-72/model-n2d/config.json"));
    assert_eq!(
        n2d["encoder_layers"],
        serde_json::json!([500, 500, 2000, 10])
    );
    assert_eq!(n2d["bottleneck"], "linear");
    let paper: Vec<Option<f64>> = groups.iter().map(|g| g["paper_acc"].as_f64()).collect();
    let study = [0.55, 0.56, 0.61, 0.61].map(Some);
    let n2d = [0.61, 0.61, 0.61].map(Some);
    assert_eq!(
        paper,
        [&study[..], &[None], &n2d, &[None]].concat(),
        "Fashion-MNIST: the study's figures"
    );
    let md = std::fs::read_to_string(out.join("report/report.md")).unwrap();
    assert!(
        md.contains("| paper ACC |") && md.contains("| 0.55 |"),
        "{md}"
    );

    // Nothing changed: every stage is reused.
    let second = pipeline(&out, &args);
    let built: Vec<&str> = second.lines().filter(|l| l.contains(": wrote ")).collect();
    assert!(built.is_empty(), "second run rebuilt {built:?}:\n{second}");
    assert!(second.matches("reused").count() >= 10, "{second}");

    // One parameter changed: the dataset and K-Means on pixels are reused; the model,
    // codes, clusterings of codes and the report are rebuilt.
    let changed = [&["--epochs", "3"][..], &args[2..6], &["--seeds", "72"]].concat();
    let third = pipeline(&out, &changed);
    assert!(third.contains("dataset: reused"), "{third}");
    assert!(third.contains("kmeans-pixels (same features"), "{third}");
    assert!(third.contains("train: wrote"), "{third}");
    assert!(third.contains("evaluate: wrote"), "{third}");

    // One stage binary changed (its code fingerprint): that stage and everything
    // downstream of it rerun, the rest is reused. Bytes appended to an ELF file leave it
    // runnable and change its SHA-256, as a rebuild with changed code does.
    let pca = bins.join("aeclust-encode-pca");
    let mut exe = std::fs::read(&pca).unwrap();
    exe.extend_from_slice(b"changed code");
    std::fs::write(&pca, exe).unwrap();
    let fourth = pipeline(&out, &changed);
    for name in [
        "dataset",
        "model",
        "codes",
        "kmeans-pixels",
        "kmeans-codes",
        "gmm-codes-raw",
        "scan",
        "codes-umap",
        "gmm-umap",
        "model-n2d",
        "codes-n2d",
        "codes-n2d-umap",
        "gmm-n2d-umap",
        "scan-n2d",
    ] {
        assert!(reused(&fourth, name), "{name} reused:\n{fourth}");
    }
    for name in ["codes-white", "gmm-codes", "report"] {
        assert!(wrote(&fourth, name), "{name} rebuilt:\n{fourth}");
    }

    // The whole folder moved: references are relative, so the report still finds the
    // features, the dataset (montages) and the model (loss curves).
    let moved = tmp.path().join("moved/elsewhere");
    std::fs::create_dir_all(moved.parent().unwrap()).unwrap();
    std::fs::rename(&out, &moved).unwrap();
    let seed = moved.join("seed-72");
    let o = Command::new(bins.join("aeclust-evaluate"))
        .arg("--out")
        .arg(moved.join("report-moved"))
        .args(["kmeans-pixels", "kmeans-codes", "gmm-codes", "gmm-umap"].map(|c| seed.join(c)))
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{text}");
    assert!(!text.contains("warning"), "{text}");
    let report = read_json(&moved.join("report-moved/report.json"));
    let pictures = aeclust_e2e::pictures(&report);
    for prefix in ["loss-", "montage-", "scatter-", "confusion-"] {
        assert!(
            pictures.iter().any(|p| p.starts_with(prefix)),
            "{prefix}: {pictures:?}"
        );
    }
    let provenance = report["results"][2]["provenance"]["model"]
        .as_str()
        .unwrap();
    assert!(
        provenance.starts_with(moved.to_str().unwrap()),
        "{provenance}"
    );
}

#[test]
fn pca_encoder_plugs_in() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("artifacts");
    let text = pipeline(
        &out,
        &["--encoder", "pca", "--seeds", "5", "--manifold", "none"],
    );
    assert!(text.contains("encode-pca: wrote"), "{text}");
    let report = read_json(&out.join("report/report.json"));
    let titles: Vec<&str> = report["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        titles,
        vec![
            "K-Means on pixels",
            "K-Means on pca codes (50-d)",
            "GMM (full) on pca codes (50-d)",
            "GMM (full) on pca of pca codes (30-d)",
            "SCAN on pixels, neighbours in pca codes (50-d)"
        ]
    );
    // --scan off: the same run without SCAN (everything else reused).
    let text = pipeline(
        &out,
        &[
            "--encoder",
            "pca",
            "--seeds",
            "5",
            "--manifold",
            "none",
            "--scan",
            "off",
        ],
    );
    assert!(!text.contains("cluster-scan"), "{text}");
    let without = read_json(&out.join("report/report.json"));
    let groups = without["groups"].as_array().unwrap();
    assert_eq!(groups.len(), titles.len() - 1, "{without}");
    assert!(groups.iter().all(|g| g["name"] != "scan"), "{without}");
    // No autoencoder: no loss curves, and no warning about it.
    let pictures = report["pictures"].as_array().unwrap();
    assert!(!pictures
        .iter()
        .any(|p| p.as_str().unwrap().starts_with("loss-")));
    assert!(
        report["warnings"].as_array().unwrap().is_empty(),
        "{report}"
    );
}
