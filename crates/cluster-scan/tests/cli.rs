//! `aeclust-cluster-scan` on artifacts it builds itself: well-separated groups are
//! found, one thread reproduces itself, and bad inputs get a clear error, a non-zero
//! exit and no artifact.

use std::path::{Path, PathBuf};
use std::process::Command;

use aeclust_artifact::fixtures;
use aeclust_artifact::kinds::{ClusteringInfo, CodesSplit, ImageSplit, MethodParams};
use aeclust_artifact::{Manifest, TensorFile};

const BIN: &str = env!("CARGO_BIN_EXE_aeclust-cluster-scan");

fn run(args: &[&str]) -> (bool, String) {
    run_bin(BIN, args)
}

fn run_bin(bin: &str, args: &[&str]) -> (bool, String) {
    let o = Command::new(bin).args(args).output().unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr),
    )
}

/// Four well-separated groups in 8 dimensions, with a little deterministic noise.
fn groups(n: usize, offset: usize) -> CodesSplit {
    let dim = 8;
    let mut codes = Vec::new();
    let mut labels = Vec::new();
    for i in 0..n {
        let g = (i + offset) % 4;
        for d in 0..dim {
            let centre = if d / 2 == g { 5.0 } else { 0.0 };
            codes.push(centre + (((i * 7 + d * 13) % 17) as f32 - 8.0) / 16.0);
        }
        labels.push(g as u8);
    }
    CodesSplit {
        codes,
        labels: Some(labels),
        dim,
    }
}

fn codes(root: &Path, name: &str, edit: impl FnOnce(&mut CodesSplit)) -> PathBuf {
    let dir = root.join(name);
    let mut train = groups(400, 0);
    edit(&mut train);
    fixtures::codes(&dir, &train, &groups(40, 1), root).unwrap();
    dir
}

/// 8×8 grey images of three groups: a bright 3×3 square in one of three corners.
fn squares(n: usize, offset: usize) -> ImageSplit {
    let mut images = Vec::new();
    let mut labels = Vec::new();
    for i in 0..n {
        let g = (i + offset) % 3;
        let (y0, x0) = [(1, 1), (1, 4), (4, 1)][g];
        let mut im = vec![0u8; 64];
        for y in y0..y0 + 3 {
            for x in x0..x0 + 3 {
                im[y * 8 + x] = 200 + ((i * 5 + y * 3 + x) % 50) as u8;
            }
        }
        images.extend(im);
        labels.push(g as u8);
    }
    ImageSplit::grey(images, labels, 8, 8)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Small, quick settings (exactly --epochs: no minimum number of steps).
const QUICK: [&str; 12] = [
    "--hidden",
    "32",
    "--batch-size",
    "64",
    "--epochs",
    "12",
    "--heads",
    "3",
    "--knn",
    "5",
    "--min-steps",
    "0",
];

/// Accuracy of `split`'s assignments under the best one-to-one mapping (k ≤ 4 here, so
/// every permutation is tried).
fn accuracy(dir: &Path, split: &str, k: usize) -> f64 {
    let f = TensorFile::open(&dir.join(ClusteringInfo::ASSIGNMENTS_FILE)).unwrap();
    let a = f
        .read::<u32>(&format!("{split}_assignments"), Some(1))
        .unwrap()
        .data;
    let l = f
        .read::<u8>(&format!("{split}_labels"), Some(1))
        .unwrap()
        .data;
    let mut best = 0;
    let mut perm: Vec<usize> = (0..k).collect();
    permutations(&mut perm, 0, &mut |p| {
        let hits = a
            .iter()
            .zip(&l)
            .filter(|(&c, &y)| p[c as usize] == y as usize)
            .count();
        best = best.max(hits);
    });
    best as f64 / a.len() as f64
}

fn permutations(p: &mut Vec<usize>, i: usize, f: &mut dyn FnMut(&[usize])) {
    if i == p.len() {
        return f(p);
    }
    for j in i..p.len() {
        p.swap(i, j);
        permutations(p, i + 1, f);
        p.swap(i, j);
    }
}

/// Runs the stage on `features` with neighbours from `near` into `out`: `extra`, then
/// the quick settings that `extra` does not set.
fn scan(features: &Path, near: &Path, out: &Path, extra: &[&str]) -> (bool, String) {
    let mut args = vec![
        "--features",
        s(features),
        "--neighbours",
        s(near),
        "--out",
        s(out),
    ];
    args.extend(extra);
    for pair in QUICK.chunks(2) {
        if !extra.contains(&pair[0]) {
            args.extend(pair);
        }
    }
    run(&args)
}

#[test]
fn finds_well_separated_groups_in_codes_and_records_its_heads() {
    let tmp = tempfile::tempdir().unwrap();
    let data = codes(tmp.path(), "codes", |_| {});
    let out = tmp.path().join("scan");
    let settings = ["--k", "4", "--shift", "0"];
    let (ok, text) = scan(&data, &data, &out, &settings);
    assert!(ok, "{text}");
    assert_eq!(accuracy(&out, "train", 4), 1.0);
    assert_eq!(accuracy(&out, "test", 4), 1.0);
    let info: ClusteringInfo = Manifest::read_dir(&out).unwrap().info_as(&out).unwrap();
    let facts = info.result.scan().expect("SCAN facts").clone();
    // SCAN's params and results are its own: no K-Means or GMM fields.
    let manifest = Manifest::read_dir(&out).unwrap();
    assert_eq!(manifest.params["method"], "scan");
    assert_eq!(manifest.params["heads"], 3);
    for foreign in [
        "max_iter",
        "n_init",
        "covariance",
        "reg_covar",
        "tol",
        "precision",
    ] {
        assert!(manifest.params.get(foreign).is_none(), "{foreign}");
    }
    assert_eq!(facts.head_loss.len(), 3);
    assert_eq!(facts.loss_history.len(), 12);
    // The consensus head: the highest agreement with the others (all heads find the
    // groups here, so all agree fully and the lowest loss decides).
    let most = facts
        .head_agreement
        .iter()
        .copied()
        .fold(f64::NEG_INFINITY, f64::max);
    assert_eq!(facts.head_agreement[facts.head], most);
    assert!((most - 1.0).abs() < 1e-12, "{facts:?}");
    let lowest = facts
        .head_loss
        .iter()
        .copied()
        .fold(f64::INFINITY, f64::min);
    assert_eq!(facts.head_loss[facts.head], lowest);
    // Balanced groups: the kept head's entropy is close to ln 4.
    assert!(
        (facts.head_entropy[facts.head] - 4f64.ln()).abs() < 0.05,
        "{facts:?}"
    );
    assert_eq!(info.cluster_sizes_train, vec![100; 4]);
    // Quality without labels, in the neighbours' space: well separated.
    let silhouette = info.internal.silhouette.expect("a silhouette");
    assert!(silhouette > 0.8, "{silhouette}");
    assert!(
        info.internal.davies_bouldin.unwrap() < 0.5,
        "{:?}",
        info.internal
    );
    // Unchanged inputs and parameters: reused.
    let (ok, text) = scan(&data, &data, &out, &settings);
    assert!(ok && text.contains("reused"), "{text}");
}

#[test]
fn finds_groups_of_shifted_images_and_one_thread_reproduces_itself() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("dataset");
    fixtures::dataset(&data, &squares(300, 0), &squares(30, 2)).unwrap();
    let model_bytes = |out: &Path| std::fs::read(out.join(ClusteringInfo::MODEL_FILE)).unwrap();
    let settings = |seed| ["--k", "3", "--shift", "1", "--threads", "1", "--seed", seed];
    let mut models = Vec::new();
    for name in ["a", "b"] {
        let out = tmp.path().join(name);
        let (ok, text) = scan(&data, &data, &out, &settings("5"));
        assert!(ok, "{text}");
        assert_eq!(accuracy(&out, "train", 3), 1.0);
        assert_eq!(accuracy(&out, "test", 3), 1.0);
        models.push(model_bytes(&out));
    }
    assert!(
        models[0] == models[1],
        "same seed, one thread: same weights"
    );
    let out = tmp.path().join("c");
    let (ok, text) = scan(&data, &data, &out, &settings("6"));
    assert!(ok, "{text}");
    assert!(
        model_bytes(&out) != models[0],
        "another seed, other weights"
    );
}

#[test]
fn a_small_train_split_gets_the_minimum_number_of_steps() {
    let tmp = tempfile::tempdir().unwrap();
    let data = codes(tmp.path(), "codes", |_| {});
    // 400 rows in batches of 64: 7 steps an epoch, so 30 steps take 5 epochs.
    let out = tmp.path().join("scan");
    let args = [
        "--k",
        "4",
        "--shift",
        "0",
        "--epochs",
        "2",
        "--min-steps",
        "30",
    ];
    let (ok, text) = scan(&data, &data, &out, &args);
    assert!(ok, "{text}");
    let info: ClusteringInfo = Manifest::read_dir(&out).unwrap().info_as(&out).unwrap();
    assert_eq!(info.fit.n_iter, 5, "{:?}", info.fit);
    assert_eq!(info.fit.iteration_seconds.len(), 5);
    assert_eq!(info.result.scan().unwrap().loss_history.len(), 5);
    let MethodParams::Scan(params) = &info.params.method else {
        panic!("SCAN params: {:?}", info.params)
    };
    assert_eq!((params.epochs, params.min_steps), (2, 30));
    // Enough epochs already: --epochs rules.
    let out = tmp.path().join("scan-12");
    let args = ["--k", "4", "--shift", "0", "--min-steps", "30"];
    assert!(scan(&data, &data, &out, &args).0);
    let info: ClusteringInfo = Manifest::read_dir(&out).unwrap().info_as(&out).unwrap();
    assert_eq!(info.fit.n_iter, 12);
}

#[test]
fn k_from_takes_the_number_of_clusters_of_another_clustering() {
    let tmp = tempfile::tempdir().unwrap();
    let data = codes(tmp.path(), "codes", |_| {});
    let first = tmp.path().join("first");
    let (ok, text) = scan(&data, &data, &first, &["--k", "4", "--shift", "0"]);
    assert!(ok, "{text}");
    let out = tmp.path().join("second");
    let (ok, text) = scan(
        &data,
        &data,
        &out,
        &["--k-from", s(&first), "--shift", "0", "--seed", "3"],
    );
    assert!(ok, "{text}");
    let info: ClusteringInfo = Manifest::read_dir(&out).unwrap().info_as(&out).unwrap();
    assert_eq!(info.k, 4);
    assert_eq!(accuracy(&out, "test", 4), 1.0);
    // Not a clustering: the option and the artifact's stage are named.
    let out = tmp.path().join("third");
    rejected(
        scan(&data, &data, &out, &["--k-from", s(&data), "--shift", "0"]),
        &out,
        &format!(
            "--k-from {}: {}: is a `codes` artifact, expected a `clustering` artifact",
            s(&data),
            s(&data)
        ),
    );
    // A directory that does not exist: said once (not repeated by the error chain).
    let missing = tmp.path().join("missing");
    let (ok, text) = scan(
        &data,
        &data,
        &out,
        &["--k-from", s(&missing), "--shift", "0"],
    );
    assert!(!ok && !out.exists(), "{text}");
    assert_eq!(text.matches("no such directory").count(), 1, "{text}");
    // Both ways of giving k at once.
    rejected(
        scan(
            &data,
            &data,
            &out,
            &["--k", "3", "--k-from", s(&first), "--shift", "0"],
        ),
        &out,
        "cannot be used with",
    );
}

fn rejected((ok, text): (bool, String), out: &Path, says: &str) {
    assert!(!ok, "expected failure: {text}");
    assert!(text.contains(says), "should say `{says}`: {text}");
    assert!(!out.exists(), "no artifact may be written");
}

#[test]
fn bad_inputs_are_refused_without_an_artifact() {
    let tmp = tempfile::tempdir().unwrap();
    let data = codes(tmp.path(), "codes", |_| {});
    let out = tmp.path().join("scan");
    let on_codes = |extra: &[&str]| scan(&data, &data, &out, &[extra, &["--shift", "0"]].concat());
    for (extra, says) in [
        (&["--k", "0"][..], "--k 0: SCAN needs at least 2 clusters"),
        (&["--heads", "0"], "--heads 0: must be at least 1"),
        (
            &["--knn", "400"],
            "--knn 400: only 400 training samples, so at most 399 neighbours each",
        ),
        (
            &["--learning-rate=-1"],
            "--learning-rate -1: must be positive",
        ),
        (
            &["--entropy-weight=nan"],
            "--entropy-weight NaN: must be finite",
        ),
    ] {
        rejected(on_codes(extra), &out, says);
    }
    rejected(
        scan(&data, &data, &out, &["--shift", "2"]),
        &out,
        "--shift 2: the features are codes, not images",
    );
    // NaN in the neighbours' codes: the file and the place are named.
    let nan = codes(tmp.path(), "nan", |c| c.codes[9] = f32::NAN);
    rejected(
        scan(&data, &nan, &out, &["--shift", "0"]),
        &out,
        "non-finite value NaN at row 1, column 1",
    );
    // Neighbours with another number of rows.
    let short = codes(tmp.path(), "short", |c| {
        c.codes.truncate(300 * 8);
        c.labels.as_mut().unwrap().truncate(300);
    });
    rejected(
        scan(&data, &short, &out, &["--shift", "0"]),
        &out,
        "300 train rows, but",
    );
    // Neighbours from another dataset.
    let images = tmp.path().join("dataset");
    fixtures::dataset(&images, &squares(400, 0), &squares(30, 2)).unwrap();
    rejected(
        scan(&images, &data, &out, &[]),
        &out,
        "come from different datasets",
    );
    // An image shift as large as the images.
    rejected(
        scan(&images, &images, &out, &["--shift", "8"]),
        &out,
        "--shift 8: must be smaller than the 8x8 images",
    );
    // Not an artifact at all.
    rejected(scan(tmp.path(), &data, &out, &[]), &out, "manifest.json");
}

const SELFLABEL: &str = env!("CARGO_BIN_EXE_aeclust-selflabel");

fn selflabel(args: &[&str]) -> (bool, String) {
    run_bin(SELFLABEL, args)
}

/// Train confidences of a clustering's assignments file.
fn train_confidence(dir: &Path) -> Vec<f32> {
    TensorFile::open(&dir.join(ClusteringInfo::ASSIGNMENTS_FILE))
        .unwrap()
        .read::<f32>("train_confidence", Some(1))
        .unwrap()
        .data
}

#[test]
fn self_labelling_starts_from_scan_and_keeps_the_largest_confident_set() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("images");
    fixtures::dataset(&data, &squares(300, 0), &squares(30, 2)).unwrap();
    let start = tmp.path().join("scan");
    let settings = ["--k", "3", "--shift", "1", "--seed", "5", "--epochs", "40"];
    let (ok, text) = scan(&data, &data, &start, &settings);
    assert!(ok, "{text}");
    let out = tmp.path().join("selflabel");
    let args = [
        "--scan",
        s(&start),
        "--out",
        s(&out),
        "--epochs",
        "6",
        "--batch-size",
        "64",
        "--learning-rate",
        "1e-3",
        "--shift",
        "1",
        // This small, quick SCAN is right everywhere but not 0.99 sure anywhere.
        "--threshold",
        "0.8",
    ];
    let (ok, text) = selflabel(&args);
    assert!(ok, "{text}");
    let manifest = Manifest::read_dir(&out).unwrap();
    assert_eq!(manifest.params["method"], "selflabel");
    assert_eq!(
        manifest.params["augment"]["flip"], true,
        "the image defaults"
    );
    let info: ClusteringInfo = manifest.info_as(&out).unwrap();
    let fit = info
        .result
        .selflabel()
        .expect("self-labelling facts")
        .clone();
    // Pass 0 is the SCAN network it started from, measured as SCAN's artifact has it.
    let above = |c: &[f32]| c.iter().filter(|&&p| f64::from(p) > 0.8).count();
    assert_eq!(fit.history[0].confident, above(&train_confidence(&start)));
    assert_eq!(fit.history[0].changed, 0);
    assert!(fit.history[0].confident > 0, "{fit:?}");
    assert_eq!(fit.history[0].confident_accuracy, Some(1.0));
    // The kept pass has the largest set, and the written assignments are its.
    let largest = fit.history.iter().map(|e| e.confident).max().unwrap();
    assert_eq!(fit.history[fit.kept_epoch].confident, largest);
    assert_eq!(above(&train_confidence(&out)), largest);
    assert!(fit.history.len() >= 2 && fit.history.len() <= 7, "{fit:?}");
    // Its neighbours are SCAN's (for novelty and the report), referred to from here.
    let near = fit.scan.neighbours.artifact.resolve(&out);
    assert_eq!(near, std::fs::canonicalize(&data).unwrap());
    assert_eq!(accuracy(&out, "train", 3), 1.0);
    assert_eq!(accuracy(&out, "test", 3), 1.0);
    // The same seed gives the same network and assignments.
    let again = tmp.path().join("again");
    let mut args2 = args;
    args2[3] = s(&again);
    let (ok, text) = selflabel(&args2);
    assert!(ok, "{text}");
    for file in ClusteringInfo::FILES.iter().take(2) {
        assert_eq!(
            std::fs::read(out.join(file)).unwrap(),
            std::fs::read(again.join(file)).unwrap(),
            "{file}"
        );
    }
}

#[test]
fn self_labelling_refuses_what_it_cannot_do_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let data = codes(tmp.path(), "codes", |_| {});
    let start = tmp.path().join("scan");
    let (ok, text) = scan(&data, &data, &start, &["--k", "4", "--shift", "0"]);
    assert!(ok, "{text}");
    let out = tmp.path().join("out");
    for (extra, want) in [
        (vec!["--threshold", "1.5"], "--threshold 1.5"),
        (
            vec!["--erase", "0.2"],
            "--erase: the network's input is codes",
        ),
        (vec!["--patience", "0"], "--patience 0"),
        (vec!["--dropout", "1"], "--dropout 1"),
    ] {
        let mut args = vec!["--scan", s(&start), "--out", s(&out)];
        args.extend(extra);
        let (ok, text) = selflabel(&args);
        assert!(!ok && text.contains(want), "{want}: {text}");
        assert!(!out.exists(), "{want}: nothing written");
    }
    // Not a SCAN clustering: a codes artifact.
    let (ok, text) = selflabel(&["--scan", s(&data), "--out", s(&out)]);
    assert!(!ok && text.contains(s(&data)), "{text}");
    assert!(!out.exists());
}
