//! `aeclust-similar --duplicates` on a codes artifact: groups by name, the CSV, and bad
//! input refused with the option or file named.

use std::path::Path;
use std::process::Command;

use aeclust_artifact::fixtures;
use aeclust_artifact::kinds::{CodesSplit, ImageSplit};

const BIN: &str = env!("CARGO_BIN_EXE_aeclust-similar");

fn run(args: &[&str]) -> (bool, String, String) {
    let o = Command::new(BIN).args(args).output().unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// A dataset of `n` 2×2 grey images and codes of it, `codes` of dimension 2.
fn artifacts(dir: &Path, codes: Vec<f32>) -> std::path::PathBuf {
    let n = codes.len() / 2;
    let split = |n: usize| ImageSplit {
        images: vec![0; n * 4],
        labels: None,
        height: 2,
        width: 2,
        channels: 1,
    };
    let dataset = dir.join("dataset");
    fixtures::dataset(&dataset, &split(n), &split(0)).unwrap();
    let train = CodesSplit {
        codes,
        labels: None,
        dim: 2,
    };
    let test = CodesSplit {
        codes: vec![],
        labels: None,
        dim: 2,
    };
    let out = dir.join("codes");
    fixtures::codes(&out, &train, &test, &dataset).unwrap();
    out
}

#[test]
fn copies_are_grouped_and_listed_as_csv() {
    let tmp = tempfile::tempdir().unwrap();
    // Rows 0 and 3 identical, 1 and 4 0.01 apart, 2 and 5 far from everything.
    let codes = artifacts(
        tmp.path(),
        vec![0.0, 0.0, 5.0, 5.0, 9.0, 1.0, 0.0, 0.0, 5.0, 5.01, -7.0, 3.0],
    );
    let codes = codes.to_str().unwrap();
    let (ok, out, err) = run(&["--codes", codes, "--duplicates", "0.05", "--threads", "1"]);
    assert!(ok, "{err}");
    let rows: Vec<&str> = out.lines().collect();
    assert_eq!(rows[0], "group,size,file,distance");
    assert_eq!(
        &rows[1..],
        &[
            "0,2,train#0,0",
            "0,2,train#3,0",
            "1,2,train#1,0.010000229",
            "1,2,train#4,0.010000229"
        ]
    );
    assert!(
        err.contains("2 groups") && err.contains("4 of 6 images"),
        "{err}"
    );
    // Exact copies only.
    let (ok, out, _) = run(&["--codes", codes, "--duplicates", "0"]);
    assert!(ok);
    assert_eq!(out.lines().count(), 3);
}

#[test]
fn bad_input_is_refused_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let codes = artifacts(tmp.path(), vec![0.0, 0.0, 1.0, 1.0, f32::NAN, 2.0]);
    let codes = codes.to_str().unwrap();
    for (args, needle) in [
        (
            vec!["--codes", codes, "--duplicates", "-1"],
            "--duplicates -1",
        ),
        (
            vec!["--codes", codes, "--duplicates", "NaN"],
            "--duplicates NaN",
        ),
        (
            vec!["--codes", codes, "--duplicates", "1", "--neighbours", "0"],
            "--neighbours",
        ),
        (
            vec!["--codes", "/no/such/codes", "--duplicates", "1"],
            "/no/such/codes",
        ),
        (
            vec!["--codes", codes, "--duplicates", "1"],
            "row 2, column 0 is NaN",
        ),
    ] {
        let (ok, out, err) = run(&args);
        assert!(!ok, "{args:?} should fail");
        assert!(out.is_empty(), "{args:?}: nothing on stdout");
        assert!(
            err.contains(needle),
            "{args:?}: `{needle}` missing from {err}"
        );
    }
}
