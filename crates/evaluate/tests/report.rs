//! The report on clusterings it builds itself from a synthetic dataset: exact metrics,
//! every picture, and the study's figures only for Fashion-MNIST.

use std::path::Path;
use std::process::Command;

use aeclust_artifact::fixtures;
use aeclust_artifact::kinds::{
    ClusteringParams, CodesSplit, ImageSplit, KMeansOptions, KRange, MethodParams, Precision,
    ReportInfo,
};
use aeclust_artifact::Manifest;

const BIN: &str = env!("CARGO_BIN_EXE_aeclust-evaluate");

/// Two classes of 4×4 images: dark (label 3) and bright (label 7), with a little texture.
fn two_classes(n: usize, offset: usize) -> ImageSplit {
    let mut images = Vec::new();
    let mut labels = Vec::new();
    for i in 0..n {
        let bright = (i + offset) % 2 == 1;
        let base: u8 = if bright { 200 } else { 20 };
        images.extend((0..16).map(|p| base + ((i * 3 + p) % 7) as u8));
        labels.push(if bright { 7 } else { 3 });
    }
    ImageSplit::grey(images, labels, 4, 4)
}

fn kmeans(seed: u64) -> ClusteringParams {
    ClusteringParams {
        k: KRange::single(2),
        seed,
        k_rule: None,
        method: MethodParams::Kmeans(KMeansOptions {
            max_iter: 100,
            n_init: 1,
            tol: 1e-4,
            precision: Precision::F32,
            batch: None,
        }),
    }
}

fn evaluate(out: &Path, clusterings: &[&Path]) -> (bool, String) {
    let o = Command::new(BIN)
        .arg("--out")
        .arg(out)
        .args(clusterings)
        .output()
        .unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr),
    )
}

#[test]
fn separable_classes_score_one_with_every_picture_and_no_paper_column() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("dataset");
    fixtures::dataset(&data, &two_classes(40, 0), &two_classes(10, 1)).unwrap();
    let runs: Vec<_> = [72u64, 1]
        .iter()
        .map(|&seed| {
            let dir = tmp.path().join(format!("seed-{seed}/kmeans-pixels"));
            aeclust_cluster::stage::run(&kmeans(seed), &data, &[], &dir, false, &mut |_, _| {})
                .unwrap();
            dir
        })
        .collect();
    let out = tmp.path().join("report");
    let (ok, text) = evaluate(&out, &[&runs[0], &runs[1]]);
    assert!(ok, "{text}");
    let info: ReportInfo = Manifest::read_dir(&out).unwrap().info_as(&out).unwrap();
    assert_eq!(
        info.groups.len(),
        1,
        "two seeds of one clustering form one group"
    );
    let g = &info.groups[0];
    assert_eq!(g.seeds, vec![72, 1]);
    assert_eq!(g.title, "K-Means on pixels");
    assert_eq!(
        (
            g.test_acc.as_ref().unwrap().mean,
            g.test_nmi.as_ref().unwrap().mean,
            g.test_ari.as_ref().unwrap().mean
        ),
        (1.0, 1.0, 1.0)
    );
    assert_eq!(g.paper_acc, None, "not Fashion-MNIST: no study figures");
    assert!(info.warnings.is_empty(), "{:?}", info.warnings);
    let md = std::fs::read_to_string(out.join(ReportInfo::MARKDOWN_FILE)).unwrap();
    assert!(!md.contains("paper ACC") && !md.contains("Pai"), "{md}");
    // The confusion matrix as a table too (the page renders it as an HTML table).
    assert!(md.contains("Confusion, test split"), "{md}");
    let html = std::fs::read_to_string(out.join(ReportInfo::HTML_FILE)).unwrap();
    assert!(
        html.contains("<table>") && html.contains("data-cluster=\"1\""),
        "{html}"
    );
    assert!(
        md.contains("| K-Means on pixels (`kmeans-pixels`) | 2 | 1.000 ± 0.000 |"),
        "{md}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join(ReportInfo::JSON_FILE)).unwrap())
            .unwrap();
    assert!(report["paper"].is_null());
    let test = &report["results"][0]["splits"]["test"];
    assert_eq!(test["n"], 10);
    assert_eq!(
        report["results"][0]["class_names"],
        serde_json::json!(["3", "7"])
    );
    // Confusion: 5 of each class, all on the diagonal.
    assert_eq!(test["confusion"], serde_json::json!([[5, 0], [0, 5]]));
    for prefix in ["confusion-", "montage-", "scatter-"] {
        assert!(
            info.pictures.iter().any(|p| p.starts_with(prefix)),
            "{prefix}: {:?}",
            info.pictures
        );
    }
    for p in &info.pictures {
        let bytes = std::fs::read(out.join(p)).unwrap();
        assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "{p}");
    }
    let (ok, text) = evaluate(&out, &[&runs[0], &runs[1]]);
    assert!(ok && text.contains("reused"), "{text}");
}

/// Unlabelled images and no test split: no accuracy, but quality without labels, the k
/// search's curve, typical and atypical members, and one assignments.csv row per image.
#[test]
fn unlabelled_train_only_data_gets_internal_quality_and_assignments() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("dataset");
    let mut train = two_classes(40, 0);
    train.labels = None;
    let empty = ImageSplit {
        images: vec![],
        labels: None,
        ..train.clone()
    };
    fixtures::dataset(&data, &train, &empty).unwrap();
    let dir = tmp.path().join("seed-72/kmeans-pixels");
    let mut params = kmeans(72);
    params.k = "2..4".parse().unwrap();
    aeclust_cluster::stage::run(&params, &data, &[], &dir, false, &mut |_, _| {}).unwrap();
    let out = tmp.path().join("report");
    let (ok, text) = evaluate(&out, &[&dir]);
    assert!(ok, "{text}");
    assert!(text.contains("assignments.csv"), "{text}");
    let info: ReportInfo = Manifest::read_dir(&out).unwrap().info_as(&out).unwrap();
    let g = &info.groups[0];
    assert!(g.test_acc.is_none() && g.train_acc.is_none());
    assert_eq!(
        g.k.mean, 2.0,
        "two well-separated groups: the silhouette picks k = 2"
    );
    assert!(g.silhouette.as_ref().unwrap().mean > 0.8, "{g:?}");
    assert!(g.calinski_harabasz.is_some() && g.davies_bouldin.is_some());
    assert!(!info.table.contains("test ACC"), "{}", info.table);
    assert!(info.table.contains("silhouette"), "{}", info.table);
    for prefix in [
        "k-curve-",
        "montage-kmeans",
        "montage-atypical-",
        "scatter-",
    ] {
        assert!(
            info.pictures.iter().any(|p| p.starts_with(prefix)),
            "{prefix}: {:?}",
            info.pictures
        );
    }
    assert!(!info.pictures.iter().any(|p| p.starts_with("confusion-")));
    let csv = std::fs::read_to_string(out.join(ReportInfo::ASSIGNMENTS_FILE)).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "file,split,index,cluster,confidence,clustering,seed"
    );
    assert_eq!(lines.len(), 1 + 40, "one row per image");
    let clusters: Vec<&str> = lines[1..]
        .iter()
        .map(|l| l.split(',').nth(3).unwrap())
        .collect();
    // Images alternate dark and bright: clusters alternate too.
    assert!(clusters.iter().step_by(2).all(|c| *c == clusters[0]));
    assert!(clusters
        .iter()
        .skip(1)
        .step_by(2)
        .all(|c| *c != clusters[0]));
    assert!(lines[1].starts_with("train#0,train,0,"), "{}", lines[1]);
    let md = std::fs::read_to_string(out.join(ReportInfo::MARKDOWN_FILE)).unwrap();
    assert!(
        md.contains("Proposed: k = 2: the highest silhouette"),
        "{md}"
    );
    assert!(md.contains("| 2 **(proposed)** |"), "{md}");
    // k = 2 is an end of 2..4: the seed's line in "Number of clusters" says so.
    assert_eq!(g.k_per_seed, [2]);
    assert_eq!(g.k_decisions.len(), 1);
    assert!(
        g.k_decisions[0].starts_with("k = 2: the highest silhouette")
            && g.k_decisions[0].ends_with(
                "(an end of the range searched: the silhouette may keep rising beyond it)"
            ),
        "{:?}",
        g.k_decisions
    );
    assert!(
        md.contains(&format!(
            "## Number of clusters\n\n{} (`kmeans-pixels`):\n\n- seed 72: {}.\n",
            g.title, g.k_decisions[0]
        )),
        "{md}"
    );
    // The tree of the 4 clusters of k = 4, and its cuts into 1, 2 and 3 groups.
    for file in [
        "tree-kmeans-pixels-seed72.png",
        "tree-cut-kmeans-pixels-seed72-k1.png",
        "tree-cut-kmeans-pixels-seed72-k3.png",
        "k-curve-kmeans-pixels-seed72-davies-bouldin.png",
    ] {
        assert!(
            info.pictures.iter().any(|p| p == file),
            "{file}: {:?}",
            info.pictures
        );
        assert!(out.join(file).is_file(), "{file}");
    }
}

/// A 2-D map of `n_train` + `n_test` rows whose dataset reference is `dataset`.
fn map(out: &Path, dataset: &Path, n_train: usize, n_test: usize) {
    let split = |n: usize| CodesSplit {
        codes: (0..n).flat_map(|i| [i as f32, (i % 7) as f32]).collect(),
        labels: None,
        dim: 2,
    };
    fixtures::codes(out, &split(n_train), &split(n_test), dataset).unwrap();
}

/// The page's map: drawn for a map of the clusterings' own rows (every split), left off
/// with a warning for a map of another dataset; its points in a data script.
#[test]
fn the_page_maps_the_clusterings_rows_and_refuses_a_map_of_other_images() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("dataset");
    fixtures::dataset(&data, &two_classes(40, 0), &two_classes(10, 1)).unwrap();
    let other = tmp.path().join("other");
    fixtures::dataset(&other, &two_classes(40, 0), &two_classes(10, 1)).unwrap();
    let run = tmp.path().join("seed-72/kmeans-pixels");
    aeclust_cluster::stage::run(&kmeans(72), &data, &[], &run, false, &mut |_, _| {}).unwrap();
    let (own, foreign) = (tmp.path().join("map"), tmp.path().join("map-other"));
    map(&own, &data, 40, 10);
    map(&foreign, &other, 40, 10);
    let out = tmp.path().join("report");
    let o = Command::new(BIN)
        .arg("--out")
        .arg(&out)
        .arg("--map")
        .arg(&own)
        .arg("--map")
        .arg(&foreign)
        .arg(&run)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let html = std::fs::read_to_string(out.join(ReportInfo::HTML_FILE)).unwrap();
    assert_eq!(html.matches("<section class=\"map\"").count(), 1, "one map");
    // 50 rows (train and test) of 4 bytes: 200 bytes of base64 (268 characters).
    let points = std::fs::read_to_string(out.join("data/map-0.js")).unwrap();
    assert!(points.starts_with("aeclust.loaded(\"map-0\", {\"points\":\""));
    let b64 = points.split('"').nth(5).unwrap();
    assert_eq!(b64.len(), 268, "{points}");
    let info: ReportInfo = Manifest::read_dir(&out).unwrap().info_as(&out).unwrap();
    assert!(
        info.warnings
            .iter()
            .any(|w| w.contains("map-other") && w.contains("another dataset")),
        "{:?}",
        info.warnings
    );
}
