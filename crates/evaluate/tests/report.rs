//! The report on clusterings it builds itself from a synthetic dataset: exact metrics,
//! every picture, and the study's figures only for Fashion-MNIST.

use std::path::Path;
use std::process::Command;

use aeclust_artifact::fixtures;
use aeclust_artifact::kinds::{
    ClusteringParams, CovarianceType, ImageSplit, Method, Precision, ReportInfo,
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
    ImageSplit {
        images,
        labels,
        height: 4,
        width: 4,
    }
}

fn kmeans(seed: u64) -> ClusteringParams {
    ClusteringParams {
        method: Method::Kmeans,
        k: 2,
        seed,
        max_iter: 100,
        n_init: 1,
        covariance: CovarianceType::Full,
        reg_covar: 1e-6,
        tol: 1e-4,
        precision: Precision::F32,
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
            aeclust_cluster::stage::run(&kmeans(seed), &data, &dir, false, &mut |_| {}).unwrap();
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
        (g.test_acc.mean, g.test_nmi.mean, g.test_ari.mean),
        (1.0, 1.0, 1.0)
    );
    assert_eq!(g.paper_acc, None, "not Fashion-MNIST: no study figures");
    assert!(info.warnings.is_empty(), "{:?}", info.warnings);
    let md = std::fs::read_to_string(out.join(ReportInfo::MARKDOWN_FILE)).unwrap();
    assert!(!md.contains("paper ACC") && !md.contains("Pai"), "{md}");
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
