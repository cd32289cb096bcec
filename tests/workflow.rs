//! End to end: `scripts/workflow.sh` (Snakemake, `workflow/Snakefile`) on a PNG class
//! tree of the committed subset, read and encoded whole and in 4 shards, by the pretrained
//! network and by an autoencoder trained on the merged dataset: the merged dataset, the
//! merged codes, the clusterings and every shard's assignments are identical; the codes
//! merge refuses shards that do not make up the dataset.

use std::path::Path;
use std::process::Command;

use aeclust_e2e::{bin_dir, read_json, root};

fn workflow(images: &Path, out: &Path, shards: usize, extra: &[&str]) {
    let o = Command::new(root().join("scripts/workflow.sh"))
        .env("AECLUST_BIN", bin_dir())
        .args(["--cores", "2", "--config"])
        .arg(format!("images={}", images.display()))
        .arg(format!("out={}", out.display()))
        .arg(format!("shards={shards}"))
        .args(["k=10", "size=32x32", "color=gray", "umap=off", "scan=off"])
        .args(extra)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// `(file, sha256)` of an artifact's outputs, `summary.json` and `history.json` left out
/// (they hold timings).
fn outputs(dir: &Path) -> Vec<(String, String)> {
    read_json(&dir.join("manifest.json"))["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["path"].as_str().unwrap().to_string(),
                o["sha256"].as_str().unwrap().to_string(),
            )
        })
        .filter(|(p, _)| p != "summary.json" && p != "history.json")
        .collect()
}

/// Every `file,cluster` row of the shards' assignments, sorted.
fn assigned(out: &Path, shards: usize) -> Vec<String> {
    let mut rows: Vec<String> = (1..=shards)
        .flat_map(|i| {
            let csv =
                std::fs::read_to_string(out.join(format!("shards/assign-{i}/assignments.csv")))
                    .unwrap();
            csv.lines()
                .skip(1)
                .map(|l| l.split(',').take(2).collect::<Vec<_>>().join(","))
                .collect::<Vec<_>>()
        })
        .collect();
    rows.sort();
    rows
}

/// Each artifact of `a` has output files, and the same ones byte for byte in `b`.
fn assert_same_outputs(a: &Path, b: &Path, artifacts: &[&str]) {
    for artifact in artifacts {
        let files = outputs(&a.join(artifact));
        assert!(!files.is_empty(), "{artifact}");
        assert_eq!(files, outputs(&b.join(artifact)), "{artifact}");
    }
}

#[test]
fn one_shard_or_four_give_the_same_artifacts_and_assignments() {
    let tmp = tempfile::tempdir().unwrap();
    let tree = tmp.path().join("tree");
    let (_, labels) = aeclust_e2e::write_tree(&tree, "train");
    let (one, four) = (tmp.path().join("one"), tmp.path().join("four"));
    workflow(&tree, &one, 1, &[]);
    workflow(&tree, &four, 4, &[]);
    assert_same_outputs(
        &one,
        &four,
        &[
            "dataset",
            "efficientnet-lite0",
            "seed-72/codes-white",
            "seed-72/kmeans-codes",
            "seed-72/gmm-codes",
        ],
    );
    let info = &read_json(&four.join("dataset/manifest.json"))["info"];
    assert_eq!(info["splits"]["train"]["count"], labels.len());
    // Each shard read a quarter, and the shards' assignments are the whole folder's.
    let quarter = &read_json(&four.join("shards/dataset-2/manifest.json"))["info"];
    let n = quarter["splits"]["train"]["count"].as_u64().unwrap() as usize;
    assert!(
        n * 4 >= labels.len() - 3 && n * 4 <= labels.len() + 3,
        "{n}"
    );
    let rows = assigned(&four, 4);
    assert_eq!(rows.len(), labels.len());
    assert_eq!(rows, assigned(&one, 1));
    // The report was made and scores against the class folders.
    let report = read_json(&four.join("report/report.json"));
    let acc = aeclust_e2e::group(&report, "gmm-codes")["train_acc"]["mean"]
        .as_f64()
        .unwrap();
    assert!(acc > 0.3, "ten classes, chance 0.1: {acc}");

    // Each shard was encoded where it was read; the merge of their codes refuses a shard
    // missing, twice, or of another dataset, by name, and writes nothing.
    let codes = |i: usize| four.join(format!("shards/efficientnet-lite0-{i}"));
    let merge = |shards: &[std::path::PathBuf], dataset: &Path| {
        let list: Vec<String> = shards.iter().map(|p| p.display().to_string()).collect();
        let out = tmp.path().join("refused");
        let o = Command::new(bin_dir().join("aeclust-merge-codes"))
            .arg("--shards")
            .arg(list.join(","))
            .arg("--dataset")
            .arg(dataset)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        assert!(!o.status.success() && !out.exists());
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    let whole = four.join("dataset");
    let text = merge(&[codes(1), codes(2), codes(4)], &whole);
    assert!(text.contains("got shards [1, 2, 4]"), "{text}");
    let text = merge(&[codes(1), codes(2), codes(3), codes(3)], &whole);
    assert!(text.contains("got shards [1, 2, 3, 3]"), "{text}");
    let text = merge(
        &[codes(1), codes(2), codes(3), codes(4)],
        &one.join("dataset"),
    );
    assert!(text.contains("not a merge of shards"), "{text}");
    let text = merge(&[one.join("efficientnet-lite0")], &whole);
    assert!(text.contains("not one of the shards"), "{text}");

    // An autoencoder (encoder=dense) trains once, on the merged dataset, then encodes
    // every shard where it was read; the shards' codes joined are the whole folder's
    // codes, and its clusterings and assignments are the whole folder's too.
    let (dense_one, dense_four) = (tmp.path().join("dense-one"), tmp.path().join("dense-four"));
    let dense = ["encoder=dense", "epochs=1"];
    workflow(&tree, &dense_one, 1, &dense);
    workflow(&tree, &dense_four, 4, &dense);
    assert_same_outputs(
        &dense_one,
        &dense_four,
        &[
            "dataset",
            "seed-72/model",
            "seed-72/codes",
            "seed-72/codes-white",
            "seed-72/gmm-codes",
        ],
    );
    let merged = read_json(&dense_four.join("seed-72/codes/manifest.json"));
    assert_eq!(merged["producer"], "aeclust-merge-codes", "{merged}");
    assert!(dense_four
        .join("seed-72/shards/codes-4/manifest.json")
        .is_file());
    assert_eq!(assigned(&dense_four, 4), assigned(&dense_one, 1));
    let report = read_json(&dense_four.join("report/report.json"));
    let gmm = aeclust_e2e::group(&report, "gmm-codes");
    assert!(
        gmm["title"].as_str().unwrap().contains("dense-autoencoder"),
        "{gmm}"
    );
}
