//! The `aeclust-cluster` binary on small artifacts it builds itself: success, cache, and
//! every bad input (clear error, non-zero exit, no artifact).

use std::path::{Path, PathBuf};
use std::process::Command;

use aeclust_artifact::fixtures;
use aeclust_artifact::kinds::{ClusteringInfo, CodesSplit, MethodFit};
use aeclust_artifact::Manifest;

const BIN: &str = env!("CARGO_BIN_EXE_aeclust-cluster");

/// A codes artifact with two well-separated groups; `edit` may change the splits.
fn codes_artifact(
    root: &Path,
    name: &str,
    edit: impl FnOnce(&mut CodesSplit, &mut CodesSplit),
) -> PathBuf {
    let dir = root.join(name);
    let make = |n: usize| {
        let mut codes = Vec::new();
        let mut labels = Vec::new();
        for i in 0..n {
            let g = i % 2;
            let base = if g == 0 { 0.0 } else { 5.0 };
            codes.extend([
                base + (i % 7) as f32 * 0.1,
                base - (i % 5) as f32 * 0.1,
                1.0,
            ]);
            labels.push(g as u8);
        }
        CodesSplit {
            codes,
            labels: Some(labels),
            dim: 3,
        }
    };
    let (mut train, mut test) = (make(40), make(10));
    edit(&mut train, &mut test);
    fixtures::codes(&dir, &train, &test, root).unwrap();
    dir
}

fn run(features: &Path, out: &Path, extra: &[&str]) -> (bool, String) {
    let o = Command::new(BIN)
        .args([
            "--features",
            features.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .args(extra)
        .output()
        .unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr),
    )
}

fn rejected(features: &Path, out: &Path, extra: &[&str], says: &str) {
    let (ok, text) = run(features, out, extra);
    assert!(!ok, "expected failure: {text}");
    assert!(text.contains(says), "should say `{says}`: {text}");
    assert!(!out.exists(), "no artifact may be written");
}

#[test]
fn kmeans_and_gmm_write_artifacts_and_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let codes = codes_artifact(tmp.path(), "codes", |_, _| {});
    for method in ["kmeans", "gmm"] {
        let out = tmp.path().join(method);
        let (ok, text) = run(&codes, &out, &["--method", method, "--k", "2"]);
        assert!(ok, "{text}");
        assert!(text.contains("1 constant dropped"), "{text}");
        let summary: ClusteringInfo = serde_json::from_str(
            &std::fs::read_to_string(out.join(ClusteringInfo::SUMMARY_FILE)).unwrap(),
        )
        .unwrap();
        let info: ClusteringInfo = Manifest::read_dir(&out).unwrap().info_as(&out).unwrap();
        assert_eq!(summary, info, "summary.json is the manifest's info");
        assert_eq!(info.cluster_sizes_train, vec![20, 20]);
        assert_eq!(info.features.constant_dims_dropped, 1);
        assert_eq!(
            info.features.artifact.resolve(&out),
            std::fs::canonicalize(&codes).unwrap()
        );
        let model =
            aeclust_artifact::TensorFile::open(&out.join(ClusteringInfo::MODEL_FILE)).unwrap();
        // Params and results are tagged by method, and carry no other method's fields.
        let manifest = Manifest::read_dir(&out).unwrap();
        assert_eq!(manifest.params["method"], method);
        assert_eq!(manifest.info["result"]["method"], method);
        if method == "gmm" {
            assert_eq!(model.shape("covariances").unwrap(), vec![2, 3, 3]);
            let gmm = info.result.gmm().expect("a GMM records its likelihoods");
            assert!(gmm.bic.is_finite());
            assert!(manifest.info["result"].get("inertia").is_none());
        } else {
            assert_eq!(model.shape("centroids").unwrap(), vec![2, 3]);
            assert!(matches!(info.result, MethodFit::Kmeans(_)));
            assert!(manifest.params.get("covariance").is_none());
            assert!(manifest.params.get("reg_covar").is_none());
        }
        let (ok, text) = run(&codes, &out, &["--method", method, "--k", "2"]);
        assert!(ok && text.contains("reused"), "{text}");
        let (ok, text) = run(
            &codes,
            &out,
            &["--method", method, "--k", "2", "--seed", "3"],
        );
        assert!(ok && text.contains("wrote"), "changed seed refits: {text}");
    }
}

#[test]
fn bad_inputs() {
    let tmp = tempfile::tempdir().unwrap();
    let good = codes_artifact(tmp.path(), "good", |_, _| {});
    let out = tmp.path().join("out");
    rejected(&good, &out, &["--k", "0"], "at least 1");
    rejected(
        &good,
        &out,
        &["--k", "41"],
        "larger than the 40 training samples",
    );
    rejected(
        &good,
        &out,
        &["--method", "gmm", "--reg-covar=-1"],
        "reg_covar",
    );
    let nan = codes_artifact(tmp.path(), "nan", |train, _| train.codes[4] = f32::NAN);
    rejected(&nan, &out, &[], "non-finite value NaN at row 1, column 1");
    let inf = codes_artifact(tmp.path(), "inf", |_, test| test.codes[0] = f32::INFINITY);
    rejected(&inf, &out, &[], "non-finite value inf at row 0, column 0");
    let mismatch = codes_artifact(tmp.path(), "mismatch", |_, test| {
        test.codes.truncate(20);
        test.dim = 2;
    });
    rejected(&mismatch, &out, &[], "2 features per row");
    let plain = tmp.path().join("plain");
    std::fs::create_dir(&plain).unwrap();
    rejected(&plain, &out, &[], "not an aeclust artifact");
    let nowhere = tmp.path().join("nowhere");
    rejected(
        &nowhere,
        &out,
        &[],
        &format!("{}: no such directory", nowhere.display()),
    );
    // A directory from another stage.
    let clustering = tmp.path().join("clustering");
    assert!(run(&good, &clustering, &["--k", "2"]).0);
    rejected(
        &clustering,
        &out,
        &[],
        "is a `clustering` artifact, expected a `dataset` or `codes` artifact",
    );
    // Duplicated points: singular covariances without regularisation.
    let dup = codes_artifact(tmp.path(), "dup", |train, _| {
        for row in train.codes.chunks_exact_mut(3) {
            let g = if row[0] < 2.5 { 0.0 } else { 5.0 };
            row.copy_from_slice(&[g, g * 2.0, (g + 1.0) * ((row[1] * 10.0).round() % 2.0)]);
        }
    });
    rejected(
        &dup,
        &out,
        &["--method", "gmm", "--k", "2", "--reg-covar", "0"],
        "is not positive definite even with reg_covar = 0e0; the data may have (near-)duplicate points",
    );
}

#[test]
fn concurrent_runs_into_one_output_leave_one_valid_artifact() {
    let tmp = tempfile::tempdir().unwrap();
    let codes = codes_artifact(tmp.path(), "codes", |_, _| {});
    let out = tmp.path().join("gmm");
    let children: Vec<_> = (0..3)
        .map(|_| {
            let (codes, out) = (codes.clone(), out.clone());
            std::thread::spawn(move || {
                Command::new(BIN)
                    .arg("--features")
                    .arg(&codes)
                    .arg("--out")
                    .arg(&out)
                    .args(["--method", "gmm", "--k", "2", "--n-init", "20"])
                    .output()
            })
        })
        .collect();
    let outputs: Vec<_> = children
        .into_iter()
        .map(|h| h.join().unwrap().unwrap())
        .collect();
    let texts: Vec<String> = outputs
        .iter()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .collect();
    for (o, t) in outputs.iter().zip(&texts) {
        assert!(
            o.status.success(),
            "{t}{}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let built = texts
        .iter()
        .filter(|t| t.contains("cluster: wrote"))
        .count();
    let reused = texts
        .iter()
        .filter(|t| t.contains("cluster: reused"))
        .count();
    assert_eq!((built, reused), (1, 2), "{texts:?}");
    Manifest::read_dir(&out)
        .unwrap()
        .verify_outputs(&out)
        .unwrap();
    let leftovers: Vec<String> = std::fs::read_dir(tmp.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("staging"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_clustering_of_the_previous_schema_is_refused_with_the_command_that_rebuilds_it() {
    let tmp = tempfile::tempdir().unwrap();
    let codes = codes_artifact(tmp.path(), "codes", |_, _| {});
    let old = tmp.path().join("old");
    let (ok, text) = run(&codes, &old, &["--method", "kmeans", "--k", "2"]);
    assert!(ok, "{text}");
    // The schema before method-tagged results: `kmeans`/`gmm` fields, no `result`.
    let path = old.join("manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let info = manifest["info"].as_object_mut().unwrap();
    let result = info.remove("result").unwrap();
    info.insert("kmeans".into(), result);
    info.insert("gmm".into(), serde_json::Value::Null);
    std::fs::write(&path, manifest.to_string()).unwrap();
    let follower = tmp.path().join("follower");
    let (ok, text) = run(&codes, &follower, &["--k-from", old.to_str().unwrap()]);
    assert!(!ok, "{text}");
    assert!(
        text.contains("aeclust-cluster") && text.contains("--force") && text.contains("result"),
        "{text}"
    );
    assert!(!follower.exists());
}

/// Three groups in 2-D, `per` rows each, stored group after group (as a folder sorted by
/// class is), labelled.
fn sorted_groups(per: usize, seed: u64) -> CodesSplit {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(seed);
    let (mut codes, mut labels) = (Vec::new(), Vec::new());
    for (g, c) in [[0.0f32, 0.0], [8.0, 0.0], [0.0, 8.0]].iter().enumerate() {
        for _ in 0..per {
            codes.extend([
                c[0] + rng.gen_range(-1.0..1.0),
                c[1] + rng.gen_range(-1.0..1.0),
            ]);
            labels.push(g as u8);
        }
    }
    CodesSplit {
        codes,
        labels: Some(labels),
        dim: 2,
    }
}

/// Stored train and test cluster ids of a clustering artifact.
fn stored_clusters(out: &Path) -> (Vec<u32>, Vec<u32>) {
    let file =
        aeclust_artifact::TensorFile::open(&out.join(ClusteringInfo::ASSIGNMENTS_FILE)).unwrap();
    let read = |name: &str| file.read::<u32>(name, Some(1)).unwrap().data;
    (read("train_assignments"), read("test_assignments"))
}

#[test]
fn mini_batch_kmeans_streams_the_rows_and_finds_what_full_kmeans_finds() {
    let tmp = tempfile::tempdir().unwrap();
    let (train, test) = (sorted_groups(400, 1), sorted_groups(10, 2));
    let codes = tmp.path().join("codes");
    fixtures::codes(&codes, &train, &test, tmp.path()).unwrap();
    let streamed = tmp.path().join("mini-batch");
    let args = [
        "--k",
        "3",
        "--n-init",
        "3",
        "--batch-size",
        "100",
        "--passes",
        "2",
    ];
    let (ok, text) = run(&codes, &streamed, &args);
    assert!(ok, "{text}");
    assert!(text.contains("mini-batch K-Means k=3"), "{text}");
    let manifest = Manifest::read_dir(&streamed).unwrap();
    assert_eq!(
        manifest.params["batch"],
        serde_json::json!({"batch_size": 100, "passes": 2})
    );
    let info: ClusteringInfo = manifest.info_as(&streamed).unwrap();
    assert_eq!(info.fit.n_iter, 2 * 1200 / 100, "one step a batch");
    assert_eq!((info.n_train, info.n_test), (1200, 30));
    assert_eq!(info.cluster_sizes_train, vec![400, 400, 400]);
    // The same partition as full K-Means, train and test, though the rows are sorted by
    // group (batches are drawn over the whole split).
    let full = tmp.path().join("full");
    let (ok, text) = run(&codes, &full, &["--k", "3", "--n-init", "3"]);
    assert!(ok, "{text}");
    assert!(Manifest::read_dir(&full)
        .unwrap()
        .params
        .get("batch")
        .is_none());
    let (a, b) = (stored_clusters(&streamed), stored_clusters(&full));
    let mut map = std::collections::HashMap::new();
    for (x, y) in a.0.iter().chain(&a.1).zip(b.0.iter().chain(&b.1)) {
        assert_eq!(*map.entry(*x).or_insert(*y), *y, "partitions differ");
    }
    // Its qualities without labels are those of the same partition in memory: every row
    // streamed twice more for Calinski–Harabasz and Davies–Bouldin, the same silhouette
    // sample.
    let full_info: ClusteringInfo = Manifest::read_dir(&full).unwrap().info_as(&full).unwrap();
    let close =
        |a: Option<f64>, b: Option<f64>| (a.unwrap() - b.unwrap()).abs() < 1e-6 * b.unwrap();
    let (s, f) = (&info.internal, &full_info.internal);
    assert!(
        close(s.calinski_harabasz, f.calinski_harabasz),
        "{s:?} {f:?}"
    );
    assert!(close(s.davies_bouldin, f.davies_bouldin), "{s:?} {f:?}");
    assert!(close(s.silhouette, f.silhouette), "{s:?} {f:?}");
    // The fitted model predicts new rows as the stored assignment says.
    let artifact = aeclust_artifact::Artifact::open(&streamed, &["clustering"]).unwrap();
    let predictor = aeclust_cluster::Predictor::open(&artifact).unwrap();
    let features = aeclust_artifact::kinds::Features {
        values: test.codes.clone(),
        labels: None,
        dim: 2,
        kind: aeclust_artifact::kinds::FeatureKind::Codes,
    };
    let predicted: Vec<u32> = predictor
        .predict(&features)
        .unwrap()
        .clusters
        .iter()
        .map(|&c| c as u32)
        .collect();
    assert_eq!(predicted, a.1);
    let (ok, text) = run(&codes, &streamed, &args);
    assert!(ok && text.contains("reused"), "{text}");

    // What it cannot do is refused by name, with no artifact.
    let out = tmp.path().join("refused");
    rejected(
        &codes,
        &out,
        &["--k", "2..4", "--batch-size", "100"],
        "fits one k",
    );
    rejected(
        &codes,
        &out,
        &["--k", "3", "--batch-size", "2"],
        "at least the 3 clusters' rows",
    );
    rejected(
        &codes,
        &out,
        &["--method", "gmm", "--k", "3", "--batch-size", "100"],
        "mini-batches are for --method kmeans",
    );
    let nan = tmp.path().join("nan");
    let mut bad = train.clone();
    bad.codes[2 * 700 + 1] = f32::NAN;
    fixtures::codes(&nan, &bad, &test, tmp.path()).unwrap();
    rejected(&nan, &out, &args[..], "row 700 holds NaN");
}
