//! End to end: a clustering fitted by `scripts/pipeline.sh --images` on a PNG class tree
//! of the committed subset keeps working through `aeclust-assign`. Its own images,
//! assigned again, land exactly where the fit put them, for K-Means, GMM and SCAN, from
//! pixels, PCA codes and UMAP codes; a copy under another name lands with its original;
//! `--into` lays the images out as links; bad input is refused with the file named and
//! nothing written.

use std::path::{Path, PathBuf};
use std::process::Command;

use aeclust_artifact::TensorFile;
use aeclust_e2e::{bin_dir, pipeline_with, read_json, subset, write_tree};
use image::{GrayImage, RgbImage};

/// Runs a stage binary; `Ok(stdout)` on success, `Err(stdout + stderr)` on failure.
fn stage(bin: &str, args: &[&str]) -> Result<String, String> {
    let o = Command::new(bin_dir().join(bin))
        .args(args)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    if o.status.success() {
        Ok(text)
    } else {
        Err(text + &String::from_utf8_lossy(&o.stderr))
    }
}

fn ok(bin: &str, args: &[&str]) -> String {
    stage(bin, args).unwrap_or_else(|e| panic!("{bin} {args:?}: {e}"))
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `name` (u32 or f32) of a safetensors file.
fn tensor_u32(path: &Path, name: &str) -> Vec<u32> {
    TensorFile::open(path)
        .unwrap()
        .read::<u32>(name, Some(1))
        .unwrap()
        .data
}

fn tensor_f32(path: &Path, name: &str) -> Vec<f32> {
    TensorFile::open(path)
        .unwrap()
        .read::<f32>(name, Some(1))
        .unwrap()
        .data
}

/// Assigns `images` to `clustering` into `out`; returns clusters and confidences.
fn assign(clustering: &Path, images: &Path, out: &Path) -> (Vec<u32>, Vec<f32>) {
    ok(
        "aeclust-assign",
        &[
            "--clustering",
            s(clustering),
            "--images",
            s(images),
            "--out",
            s(out),
        ],
    );
    let t = out.join("assignments.safetensors");
    (tensor_u32(&t, "clusters"), tensor_f32(&t, "confidence"))
}

struct Fit {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    train: PathBuf,
    test: PathBuf,
    run: PathBuf,
}

/// The pipeline on a PNG class tree, plus K-Means on the pixels, K-Means on PCA codes of
/// the pixels and a GMM on UMAP codes of the autoencoder's.
fn fit() -> Fit {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().to_path_buf();
    let (train, test) = (root.join("train"), root.join("test"));
    write_tree(&train, "train");
    write_tree(&test, "test");
    let run = root.join("run");
    let text = pipeline_with(
        &bin_dir(),
        &[
            "--encoder",
            "dense",
            "--images",
            s(&train),
            "--test-dir",
            s(&test),
            "--out",
            s(&run),
            "--epochs",
            "2",
            "--seeds",
            "72",
            "--k",
            "10",
            "--selflabel",
            "on",
        ],
    );
    assert!(
        text.contains("aeclust-assign --clustering") && text.contains("seed-72/scan"),
        "the pipeline prints the command for the next batch:\n{text}"
    );
    let (dataset, codes) = (run.join("dataset"), run.join("seed-72/codes"));
    let k10 = ["--k", "10", "--seed", "72"];
    let cluster = |features: &Path, out: &str, method: &str| {
        ok(
            "aeclust-cluster",
            &[
                &[
                    "--features",
                    s(features),
                    "--out",
                    s(&run.join(out)),
                    "--method",
                    method,
                ][..],
                &k10[..],
            ]
            .concat(),
        );
    };
    cluster(&dataset, "kmeans-pixels", "kmeans");
    ok(
        "aeclust-encode-pca",
        &[
            "--data",
            s(&dataset),
            "--out",
            s(&run.join("pca-pixels")),
            "--components",
            "12",
        ],
    );
    cluster(&run.join("pca-pixels"), "kmeans-pca", "kmeans");
    ok(
        "aeclust-encode-umap",
        &[
            "--data",
            s(&codes),
            "--out",
            s(&run.join("umap")),
            "--seed",
            "72",
        ],
    );
    cluster(&run.join("umap"), "gmm-umap", "gmm");
    Fit {
        _tmp: tmp,
        root,
        train,
        test,
        run,
    }
}

fn reproduces_every_method(f: &Fit) {
    for clustering in [
        "seed-72/gmm-codes",
        "seed-72/scan",
        "seed-72/scan-selflabel",
        "kmeans-pixels",
        "kmeans-pca",
        "gmm-umap",
    ] {
        let dir = f.run.join(clustering);
        let fitted = dir.join("assignments.safetensors");
        for (split, images) in [("train", &f.train), ("test", &f.test)] {
            let out = f
                .root
                .join(format!("assigned-{}-{split}", clustering.replace('/', "-")));
            let (clusters, confidence) = assign(&dir, images, &out);
            let (want, want_confidence) = (
                tensor_u32(&fitted, &format!("{split}_assignments")),
                tensor_f32(&fitted, &format!("{split}_confidence")),
            );
            assert_eq!(
                clusters, want,
                "{clustering}: the {split} images land where the fit put them"
            );
            assert_eq!(confidence, want_confidence, "{clustering} {split}");
            let info = &read_json(&out.join("manifest.json"))["info"];
            let acc = info["agreement"]["accuracy"].as_f64().unwrap();
            assert!((0.2..=1.0).contains(&acc), "{clustering} {split}: {info}");
            assert_eq!(info["classes"].as_array().unwrap().len(), 10);
        }
    }
}

fn a_copy_lands_with_its_original(f: &Fit) {
    let original = f.train.join("class-3");
    let first = std::fs::read_dir(&original)
        .unwrap()
        .map(|e| e.unwrap().path())
        .min()
        .unwrap();
    let copies = f.root.join("copies");
    std::fs::create_dir_all(&copies).unwrap();
    std::fs::copy(&first, copies.join("renamed, again.png")).unwrap();
    let train_rows = f.root.join("assigned-seed-72-scan-train/assignments.csv");
    let csv = std::fs::read_to_string(train_rows).unwrap();
    let row = csv
        .lines()
        .find(|l| l.starts_with(&first.display().to_string()))
        .unwrap();
    let cluster: u32 = row.split(',').nth(1).unwrap().parse().unwrap();
    let out = f.root.join("assigned-copy");
    let (clusters, _) = assign(&f.run.join("seed-72/scan"), &copies, &out);
    assert_eq!(clusters, vec![cluster], "{row}");
    // Through the autoencoder (a batch of one) and UMAP's transform too.
    let umap_rows = f.root.join("assigned-gmm-umap-train/assignments.csv");
    let csv = std::fs::read_to_string(umap_rows).unwrap();
    let row = csv
        .lines()
        .find(|l| l.starts_with(&first.display().to_string()))
        .unwrap();
    let cluster: u32 = row.split(',').nth(1).unwrap().parse().unwrap();
    let (clusters, _) = assign(&f.run.join("gmm-umap"), &copies, &f.root.join("copy-umap"));
    assert_eq!(clusters, vec![cluster], "{row}");
    let csv = std::fs::read_to_string(out.join("assignments.csv")).unwrap();
    assert_eq!(
        csv.lines().next().unwrap(),
        "file,cluster,confidence,novel,novelty"
    );
    assert!(
        csv.lines().nth(1).unwrap().starts_with('"'),
        "a comma in the name is quoted: {csv}"
    );
}

fn look_alikes_of_a_copy_start_with_its_original(f: &Fit) {
    let copies = f.root.join("copies");
    let original = std::fs::read_dir(f.train.join("class-3"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .min()
        .unwrap();
    for codes in ["seed-72/codes", "seed-72/codes-white", "umap"] {
        let csv = ok(
            "aeclust-similar",
            &[
                "--codes",
                s(&f.run.join(codes)),
                "--images",
                s(&copies),
                "--n",
                "3",
            ],
        );
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], "query,rank,file,distance", "{codes}");
        assert_eq!(lines.len(), 1 + 3, "{codes}: {csv}");
        let first: Vec<&str> = lines[1].rsplitn(4, ',').collect();
        assert_eq!(first[1], original.display().to_string(), "{codes}: {csv}");
        assert_eq!(first[2], "1", "{codes}: {csv}");
        // ‖q‖² + ‖x‖² − 2q·x in f32: a copy is at a rounding error from its original.
        assert!(first[0].parse::<f32>().unwrap() < 1e-3, "{codes}: {csv}");
        let third: Vec<&str> = lines[3].rsplitn(4, ',').collect();
        assert_eq!(third[2], "3", "{csv}");
        assert!(third[0].parse::<f32>().unwrap() > 0.0, "{csv}");
    }
}

fn sorts_into_folders_of_links(f: &Fit) {
    let sorted = f.root.join("sorted");
    let out = f.root.join("assigned-sorted");
    let text = ok(
        "aeclust-assign",
        &[
            "--clustering",
            s(&f.run.join("seed-72/gmm-codes")),
            "--images",
            s(&f.test),
            "--out",
            s(&out),
            "--into",
            s(&sorted),
        ],
    );
    assert!(text.contains("sorted 500 images"), "{text}");
    let info = &read_json(&out.join("manifest.json"))["info"];
    let mut links = 0;
    for entry in std::fs::read_dir(&sorted).unwrap() {
        let folder = entry.unwrap().path();
        let name = folder.file_name().unwrap().to_string_lossy().into_owned();
        let c: usize = name[8..10].parse().unwrap();
        let majority = info["majority"][c].as_str();
        assert_eq!(
            name,
            match majority {
                Some(m) => format!("cluster-{c:02}-{m}"),
                None => format!("cluster-{c:02}"),
            }
        );
        for link in std::fs::read_dir(&folder).unwrap() {
            let link = link.unwrap().path();
            assert!(std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink());
            assert!(std::fs::read_link(&link)
                .unwrap()
                .starts_with(f.test.canonicalize().unwrap()));
            links += 1;
        }
        assert_eq!(
            std::fs::read_dir(&folder).unwrap().count() as u64,
            info["cluster_sizes"][c].as_u64().unwrap()
        );
    }
    assert_eq!(links, 500);
    // A second sort into the same folder is refused before any work.
    let again = f.root.join("assigned-again");
    let err = stage(
        "aeclust-assign",
        &[
            "--clustering",
            s(&f.run.join("seed-72/gmm-codes")),
            "--images",
            s(&f.test),
            "--out",
            s(&again),
            "--into",
            s(&sorted),
        ],
    )
    .unwrap_err();
    assert!(
        err.contains("not empty") && err.contains(s(&sorted)),
        "{err}"
    );
    assert!(!again.exists());
}

/// `(file, cluster, confidence)` of every row of an `assignments.csv` (no quoted paths).
fn csv_rows(path: &Path) -> Vec<(String, String, String)> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0].to_string(), f[1].to_string(), f[2].to_string())
        })
        .collect()
}

fn idx_files_assign_like_the_same_images_as_pngs(f: &Fit) {
    let gmm = f.run.join("seed-72/gmm-codes");
    let idx_dir = aeclust_e2e::root().join("data/fashion-mnist-subset");
    let by_idx = f.root.join("assigned-idx");
    ok(
        "aeclust-assign",
        &[
            "--clustering",
            s(&gmm),
            "--source",
            s(&idx_dir),
            "--out",
            s(&by_idx),
        ],
    );
    let idx_rows = csv_rows(&by_idx.join("assignments.csv"));
    let (train, _) = aeclust_e2e::subset("train");
    let (test, _) = aeclust_e2e::subset("test");
    assert_eq!(idx_rows.len(), train.len() + test.len());
    let by_png = f.root.join("assigned-png");
    assign(&gmm, &f.test, &by_png);
    let png_rows = csv_rows(&by_png.join("assignments.csv"));
    assert_eq!(png_rows.len(), test.len());
    for (file, cluster, confidence) in &png_rows {
        // test/class-L/NNNNN.png is row NNNNN of the IDX test files.
        let i: usize = Path::new(file)
            .file_stem()
            .unwrap()
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        let (idx_file, idx_cluster, idx_confidence) = &idx_rows[train.len() + i];
        assert!(
            idx_file.contains("t10k-images") && idx_file.ends_with(&format!("#{i}")),
            "{idx_file}"
        );
        assert_eq!(
            (idx_cluster, idx_confidence),
            (cluster, confidence),
            "{file}"
        );
    }
    // Labelled: the IDX labels give an agreement.
    let info = &read_json(&by_idx.join("manifest.json"))["info"];
    assert!(
        info["agreement"]["accuracy"].as_f64().unwrap() > 0.3,
        "{info}"
    );
}

fn evaluate_sorts_the_fitted_images(f: &Fit) {
    let gmm = f.run.join("seed-72/gmm-codes");
    let sorted = f.root.join("fitted-sorted");
    let report = f.root.join("report-sorted");
    let text = ok(
        "aeclust-evaluate",
        &["--out", s(&report), "--into", s(&sorted), s(&gmm)],
    );
    let (train, _) = aeclust_e2e::subset("train");
    let (test, _) = aeclust_e2e::subset("test");
    let n = train.len() + test.len();
    assert!(text.contains(&format!("sorted {n} images")), "{text}");
    let summary = read_json(&gmm.join("summary.json"));
    let mut links = 0;
    for entry in std::fs::read_dir(&sorted).unwrap() {
        let folder = entry.unwrap().path();
        let name = folder.file_name().unwrap().to_string_lossy().into_owned();
        // Labelled by their class folders: named cluster-NN-class-L.
        assert!(
            name.starts_with("cluster-") && name.contains("-class-"),
            "{name}"
        );
        for link in std::fs::read_dir(&folder).unwrap() {
            let target = std::fs::read_link(link.unwrap().path()).unwrap();
            assert!(
                target.starts_with(f.train.canonicalize().unwrap())
                    || target.starts_with(f.test.canonicalize().unwrap()),
                "{}",
                target.display()
            );
            links += 1;
        }
    }
    assert_eq!(links, n);
    assert_eq!(
        summary["cluster_sizes_train"].as_array().unwrap().len(),
        std::fs::read_dir(&sorted).unwrap().count()
    );
    // Refused before any work: a non-empty folder, and more than one clustering.
    let again = f.root.join("report-again");
    let err = stage(
        "aeclust-evaluate",
        &["--out", s(&again), "--into", s(&sorted), s(&gmm)],
    )
    .unwrap_err();
    assert!(err.contains("not empty"), "{err}");
    let err = stage(
        "aeclust-evaluate",
        &[
            "--out",
            s(&again),
            "--into",
            s(&f.root.join("new-sorted")),
            s(&gmm),
            s(&f.run.join("seed-72/scan")),
        ],
    )
    .unwrap_err();
    assert!(err.contains("one clustering"), "{err}");
    assert!(!again.exists() && !f.root.join("new-sorted").exists());
}

/// `aeclust-assign` on `images` fails with a message holding every one of `needles`,
/// and writes nothing.
fn refused(f: &Fit, clustering: &str, images: &Path, extra: &[&str], needles: &[&str]) {
    let out = f.root.join("refused");
    let err = stage(
        "aeclust-assign",
        &[
            &[
                "--clustering",
                s(&f.run.join(clustering)),
                "--images",
                s(images),
                "--out",
                s(&out),
            ][..],
            extra,
        ]
        .concat(),
    )
    .unwrap_err();
    for n in needles {
        assert!(err.contains(n), "{n:?} not in: {err}");
    }
    assert!(!out.exists(), "nothing written: {err}");
}

fn refuses_bad_input(f: &Fit) {
    let gmm = "seed-72/gmm-codes";
    let (images, _) = subset("test");
    let folder = |name: &str| {
        let dir = f.root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        GrayImage::from_raw(28, 28, images[0].clone())
            .unwrap()
            .save(dir.join("fine.png"))
            .unwrap();
        dir
    };
    // A colour image for a grey clustering.
    let colour = folder("colour");
    RgbImage::from_pixel(28, 28, image::Rgb([200, 30, 30]))
        .save(colour.join("red.png"))
        .unwrap();
    refused(
        f,
        gmm,
        &colour,
        &[],
        &["red.png", "colour image", "--convert"],
    );
    // Another size, with no --size recorded.
    let sized = folder("sized");
    GrayImage::new(20, 20)
        .save(sized.join("small.png"))
        .unwrap();
    refused(f, gmm, &sized, &[], &["small.png", "20x20", "--size"]);
    // A truncated file: an error naming it, or skipped with --skip-bad.
    let broken = folder("broken");
    std::fs::write(
        broken.join("cut.png"),
        &std::fs::read(broken.join("fine.png")).unwrap()[..40],
    )
    .unwrap();
    refused(f, gmm, &broken, &[], &["cut.png", "--skip-bad"]);
    let out = f.root.join("skipped");
    ok(
        "aeclust-assign",
        &[
            "--clustering",
            s(&f.run.join(gmm)),
            "--images",
            s(&broken),
            "--out",
            s(&out),
            "--skip-bad",
        ],
    );
    let info = &read_json(&out.join("manifest.json"))["info"];
    assert_eq!(info["n"], 1);
    assert!(
        info["skipped"][0][0].as_str().unwrap().ends_with("cut.png"),
        "{info}"
    );
    // Missing and empty folders.
    refused(f, gmm, &f.root.join("nowhere"), &[], &["nowhere"]);
    let empty = f.root.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    refused(f, gmm, &empty, &[], &["empty"]);
    // An altered artifact of the chain (verified reads), then a lost one.
    let pca = f.run.join("seed-72/codes-white/pca.safetensors");
    let mut bytes = std::fs::read(&pca).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&pca, bytes).unwrap();
    refused(f, gmm, &f.test, &[], &["pca.safetensors", "changed after"]);
    std::fs::rename(f.run.join("seed-72/model"), f.root.join("model-moved")).unwrap();
    refused(f, "seed-72/scan", &f.test, &[], &["model"]);
}

#[test]
fn a_fitted_clustering_assigns_new_images_sorts_them_and_refuses_bad_input() {
    let f = fit();
    reproduces_every_method(&f);
    a_copy_lands_with_its_original(&f);
    look_alikes_of_a_copy_start_with_its_original(&f);
    sorts_into_folders_of_links(&f);
    idx_files_assign_like_the_same_images_as_pngs(&f);
    evaluate_sorts_the_fitted_images(&f);
    refuses_bad_input(&f);
}
