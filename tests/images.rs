//! End to end on folders of images made from the committed Fashion-MNIST subset:
//! `scripts/pipeline.sh --images` on a class-folder tree of PNGs (the same accuracy as
//! the IDX route on the same images, for the GMM and SCAN), on a flat unlabelled folder
//! of JPEGs (quality without labels, montages, SCAN with the k the GMM chose, one
//! `assignments.csv` row per file and clustering), and on RGB images tinted per class;
//! copies in a folder found by `aeclust-similar --duplicates`, named by their files.

use std::path::Path;

use aeclust_e2e::{bin_dir, group, pictures, pipeline_with, read_json, subset, write_tree};
use image::{GrayImage, RgbImage};

fn pipeline(args: &[&str]) -> String {
    pipeline_with(&bin_dir(), args)
}

/// Raw IDX bytes: magic (unsigned bytes, `rank` dims), dims, data.
fn idx(dims: &[usize], data: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 0x08, dims.len() as u8];
    for &d in dims {
        out.extend_from_slice(&(d as u32).to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}

#[test]
fn a_png_class_tree_scores_exactly_as_the_same_images_in_idx_files() {
    let tmp = tempfile::tempdir().unwrap();
    let (train_tree, test_tree) = (tmp.path().join("train"), tmp.path().join("test"));
    let (train_px, train_labels) = write_tree(&train_tree, "train");
    let (test_px, test_labels) = write_tree(&test_tree, "test");
    // The same images in the same order as IDX files.
    let idx_dir = tmp.path().join("idx");
    std::fs::create_dir_all(&idx_dir).unwrap();
    for (name, bytes) in [
        (
            "train-images-idx3-ubyte",
            idx(&[train_labels.len(), 28, 28], &train_px),
        ),
        (
            "train-labels-idx1-ubyte",
            idx(&[train_labels.len()], &train_labels),
        ),
        (
            "t10k-images-idx3-ubyte",
            idx(&[test_labels.len(), 28, 28], &test_px),
        ),
        (
            "t10k-labels-idx1-ubyte",
            idx(&[test_labels.len()], &test_labels),
        ),
    ] {
        std::fs::write(idx_dir.join(name), bytes).unwrap();
    }
    // One thread: training is then bit-reproducible, so equal inputs give equal results.
    // The GMM's --reg-covar given to both (the images route's default is 1e-4, the IDX
    // routes' 1e-6).
    let common = [
        "--encoder",
        "dense",
        "--epochs",
        "2",
        "--seeds",
        "72",
        "--threads",
        "1",
        "--k",
        "10",
        "--reg-covar",
        "1e-4",
        // Self-labelling too: it must also give the same answer on both.
        "--selflabel",
        "on",
    ];
    let images_out = tmp.path().join("from-images");
    let text = pipeline(
        &[
            &[
                "--images",
                train_tree.to_str().unwrap(),
                "--test-dir",
                test_tree.to_str().unwrap(),
                "--out",
                images_out.to_str().unwrap(),
            ][..],
            &common[..],
        ]
        .concat(),
    );
    assert!(text.contains("assignments.csv"), "{text}");
    let idx_out = tmp.path().join("from-idx");
    pipeline(
        &[
            &[
                "--data",
                idx_dir.to_str().unwrap(),
                "--manifold",
                "none",
                "--out",
                idx_out.to_str().unwrap(),
            ][..],
            &common[..],
        ]
        .concat(),
    );
    let from_images = read_json(&images_out.join("report/report.json"));
    let from_idx = read_json(&idx_out.join("report/report.json"));
    for name in ["gmm-codes", "scan", "scan-selflabel"] {
        let (a, b) = (group(&from_images, name), group(&from_idx, name));
        for metric in ["test_acc", "test_nmi", "train_acc"] {
            assert_eq!(
                a[metric]["mean"], b[metric]["mean"],
                "{name} {metric}: {a} vs {b}"
            );
        }
        let acc = a["test_acc"]["mean"].as_f64().unwrap();
        assert!(acc > 0.3, "{name}: ten classes, chance 0.1: {acc}");
    }
    let csv = std::fs::read_to_string(images_out.join("report/assignments.csv")).unwrap();
    assert_eq!(
        csv.lines().count(),
        1 + 3 * (2000 + 500),
        "one row per image file and clustering"
    );
    let row = csv.lines().nth(1).unwrap();
    let file = row.split(',').next().unwrap();
    assert!(Path::new(file).is_file() && file.ends_with(".png"), "{row}");
}

#[test]
fn a_flat_unlabelled_jpeg_folder_gets_a_report_and_one_row_per_file() {
    let tmp = tempfile::tempdir().unwrap();
    let flat = tmp.path().join("photos");
    std::fs::create_dir_all(&flat).unwrap();
    let (images, _) = subset("train");
    let n = 600;
    for (i, px) in images.iter().take(n).enumerate() {
        GrayImage::from_raw(28, 28, px.clone())
            .unwrap()
            .save(flat.join(format!("img-{i:04}.jpg")))
            .unwrap();
    }
    std::fs::write(flat.join("notes.txt"), "ignored").unwrap();
    let out = tmp.path().join("artifacts");
    let text = pipeline(&[
        "--encoder",
        "dense",
        "--images",
        flat.to_str().unwrap(),
        "--k",
        "3..6",
        "--epochs",
        "2",
        "--seeds",
        "72",
        "--out",
        out.to_str().unwrap(),
    ]);
    // k proposed without labels: K-Means on a UMAP embedding of the codes, every k of
    // the range, HDBSCAN's count of dense groups there (or, outside the range, the
    // highest silhouette); the GMM and SCAN take that k.
    assert!(text.contains("searched k = 3..6 by "), "{text}");
    assert!(text.contains(": HDBSCAN finds "), "{text}");
    // Five autoencoders vote by default: this seed's and seeds 73..76, each trained and
    // embedded once; the search counts the dense groups of all five and keeps the median.
    for voter in 73..=76 {
        let umap = out.join(format!("k-votes/seed-{voter}/codes-umap"));
        assert!(umap.join("manifest.json").is_file(), "{}", umap.display());
    }
    let searched = read_json(&out.join("seed-72/kmeans-umap/summary.json"));
    let search = &searched["k_search"];
    let mut counts: Vec<u64> = std::iter::once(&search["density"])
        .chain(
            search["votes"]
                .as_array()
                .expect("votes")
                .iter()
                .map(|v| &v["density"]),
        )
        .map(|d| d["groups"].as_u64().unwrap())
        .collect();
    assert_eq!(counts.len(), 5, "{search}");
    counts.sort_unstable();
    let best = search["best_k"].as_u64().unwrap();
    assert!(
        best == counts[2] || !(3..=6).contains(&counts[2]),
        "the median count when it is in the range: {search}"
    );
    assert!(text.contains("silhouette"), "{text}");
    let report = read_json(&out.join("report/report.json"));
    let g = group(&report, "gmm-codes");
    assert!(g["test_acc"].is_null(), "no labels, no accuracy: {g}");
    let k = g["k"]["mean"].as_f64().unwrap();
    assert!((3.0..=6.0).contains(&k), "{g}");
    assert!(g["silhouette"]["mean"].as_f64().is_some(), "{g}");
    assert!(
        g["calinski_harabasz"]["mean"].as_f64().unwrap() > 0.0,
        "{g}"
    );
    assert!(g["bic"]["mean"].as_f64().is_some(), "{g}");
    let pictures = pictures(&report);
    for prefix in [
        "montage-gmm",
        "montage-atypical-",
        "k-curve-",
        "scatter-",
        "loss-",
    ] {
        assert!(
            pictures.iter().any(|p| p.starts_with(prefix)),
            "{prefix}: {pictures:?}"
        );
    }
    // SCAN and the GMM run with the k the search proposed.
    let proposal = group(&report, "kmeans-umap");
    assert_eq!(proposal["k"]["mean"], g["k"]["mean"], "{proposal}");
    let scan = group(&report, "scan");
    assert_eq!(scan["k"]["mean"], g["k"]["mean"], "{scan}");
    for prefix in ["tree-", "tree-cut-", "k-curve-"] {
        assert!(
            pictures.iter().any(|p| p.starts_with(prefix)),
            "{prefix}: {pictures:?}"
        );
    }
    let summary = read_json(&out.join("seed-72/kmeans-umap/summary.json"));
    let search = &summary["k_search"];
    assert_eq!(search["curve"].as_array().unwrap().len(), 4, "{search}");
    assert_eq!(search["criteria"].as_array().unwrap().len(), 3, "{search}");
    assert!(search["density"]["groups"].as_u64().is_some(), "{search}");
    assert_eq!(search["tree"]["leaf_sizes"].as_array().unwrap().len(), 6);
    assert!(scan["silhouette"]["mean"].as_f64().is_some(), "{scan}");
    let csv = std::fs::read_to_string(out.join("report/assignments.csv")).unwrap();
    let rows: Vec<Vec<&str>> = csv
        .lines()
        .skip(1)
        .map(|r| r.split(',').collect())
        .collect();
    assert_eq!(rows.len(), 3 * n, "one row per image file and clustering");
    for name in ["kmeans-umap", "gmm-codes", "scan"] {
        let mine: Vec<&Vec<&str>> = rows.iter().filter(|c| c[5] == name).collect();
        assert_eq!(mine.len(), n, "{name}: one row per image file");
        for (i, cells) in mine.iter().enumerate() {
            assert_eq!(
                cells[0],
                flat.join(format!("img-{i:04}.jpg")).to_str().unwrap()
            );
            assert_eq!(cells[1], "train");
            let cluster: f64 = cells[3].parse().unwrap();
            let confidence: f64 = cells[4].parse().unwrap();
            // GMM and SCAN: a probability; K-Means: the distance to the centroid.
            let valid = if name == "kmeans-umap" {
                confidence >= 0.0
            } else {
                (0.0..=1.0).contains(&confidence)
            };
            assert!(cluster < k && valid, "{cells:?}");
        }
    }
    let md = std::fs::read_to_string(out.join("report/report.md")).unwrap();
    assert!(
        md.contains("silhouette") && !md.contains("test purity") && !md.contains("test ACC"),
        "{md}"
    );
}

#[test]
fn rgb_images_tinted_per_class_are_clustered_by_their_tint() {
    let tmp = tempfile::tempdir().unwrap();
    let tree = tmp.path().join("tinted");
    let (images, labels) = subset("train");
    // Three classes, 100 images each, each class multiplied by its own colour.
    let tints = [[1.0, 0.2, 0.2], [0.2, 1.0, 0.2], [0.2, 0.2, 1.0]];
    let mut written = [0usize; 3];
    for (px, &l) in images.iter().zip(&labels) {
        let l = usize::from(l);
        if l >= 3 || written[l] == 100 {
            continue;
        }
        let rgb: Vec<u8> = px
            .iter()
            .flat_map(|&v| tints[l].map(|t| (f64::from(v) * t).round() as u8))
            .collect();
        let path = tree.join(format!("tint-{l}/{:03}.png", written[l]));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        RgbImage::from_raw(28, 28, rgb)
            .unwrap()
            .save(&path)
            .unwrap();
        written[l] += 1;
    }
    let out = tmp.path().join("artifacts");
    pipeline(&[
        "--encoder",
        "dense",
        "--images",
        tree.to_str().unwrap(),
        "--test-fraction",
        "0.2",
        "--k",
        "3",
        // 240 train images: a 30-d whitened full-covariance GMM would fit noise; the
        // tint lives in the first principal components of the codes.
        "--gmm-components",
        "4",
        "--epochs",
        "3",
        "--seeds",
        "72",
        "--out",
        out.to_str().unwrap(),
    ]);
    let dataset = read_json(&out.join("dataset/manifest.json"));
    assert_eq!(dataset["info"]["channels"], 3);
    assert_eq!(dataset["info"]["splits"]["test"]["count"], 60);
    let report = read_json(&out.join("report/report.json"));
    for name in ["gmm-codes", "scan"] {
        let acc = group(&report, name)["test_acc"]["mean"].as_f64().unwrap();
        assert!(
            acc >= 0.9,
            "{name}: the tint separates the classes: test accuracy {acc}"
        );
    }
    // A folder of grey images for this colour clustering is refused, naming the option
    // that converts them, and nothing is written; with --convert they are read as RGB.
    let grey = tmp.path().join("grey");
    std::fs::create_dir_all(&grey).unwrap();
    for (i, px) in images.iter().take(5).enumerate() {
        GrayImage::from_raw(28, 28, px.clone())
            .unwrap()
            .save(grey.join(format!("{i}.png")))
            .unwrap();
    }
    let clustering = out.join("seed-72/gmm-codes");
    let run = |dest: &Path, extra: &[&str]| {
        std::process::Command::new(bin_dir().join("aeclust-assign"))
            .args(["--clustering", clustering.to_str().unwrap()])
            .args(["--images", grey.to_str().unwrap()])
            .args(["--out", dest.to_str().unwrap()])
            .args(extra)
            .output()
            .unwrap()
    };
    let refused = tmp.path().join("assigned-grey");
    let o = run(&refused, &[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{err}");
    assert!(
        err.contains("--convert") && err.contains(grey.to_str().unwrap()),
        "{err}"
    );
    assert!(!refused.exists());
    let o = run(&refused, &["--convert"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(read_json(&refused.join("manifest.json"))["info"]["n"], 5);
}

#[test]
fn copies_in_a_folder_are_found_by_their_file_names() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("photos");
    std::fs::create_dir_all(&dir).unwrap();
    let (images, _) = subset("train");
    let save = |i: usize, name: &str| {
        GrayImage::from_raw(28, 28, images[i].clone())
            .unwrap()
            .save(dir.join(name))
            .unwrap();
    };
    for i in 0..8 {
        save(i, &format!("img-{i}.png"));
    }
    save(0, "copy of img-0.png");
    save(3, "zz, again 3.png");
    let bins = bin_dir();
    let run = |bin: &str, args: &[&str]| {
        let o = std::process::Command::new(bins.join(bin))
            .args(args)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&o.stdout).into_owned();
        assert!(
            o.status.success(),
            "{bin} {args:?}: {text}{}",
            String::from_utf8_lossy(&o.stderr)
        );
        text
    };
    let (data, codes) = (tmp.path().join("dataset"), tmp.path().join("codes"));
    let (data, codes) = (data.to_str().unwrap(), codes.to_str().unwrap());
    run(
        "aeclust-dataset",
        &["--images", dir.to_str().unwrap(), "--out", data],
    );
    run(
        "aeclust-encode-pca",
        &["--data", data, "--out", codes, "--components", "6"],
    );
    let csv = run("aeclust-similar", &["--codes", codes, "--duplicates", "0"]);
    let d = dir.display();
    assert_eq!(
        csv.lines().collect::<Vec<_>>(),
        [
            "group,size,file,distance".to_string(),
            format!("0,2,{d}/copy of img-0.png,0"),
            format!("0,2,{d}/img-0.png,0"),
            format!("1,2,{d}/img-3.png,0"),
            format!("1,2,\"{d}/zz, again 3.png\",0"),
        ]
    );
}
