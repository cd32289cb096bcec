//! `aeclust-encode-pca` on a small artifact it builds itself: codes out, cache, bad input.

use std::process::Command;

use aeclust_artifact::fixtures;
use aeclust_artifact::kinds::{CodesInfo, CodesSplit, ImageSplit, Split};
use aeclust_artifact::Manifest;
use aeclust_encoder_pca::PcaDetails;

const BIN: &str = env!("CARGO_BIN_EXE_aeclust-encode-pca");

fn run(args: &[&str]) -> (bool, String) {
    let o = Command::new(BIN).args(args).output().unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr),
    )
}

#[test]
fn encodes_pixels_and_rejects_bad_parameters() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("dataset");
    let split = |n: usize| {
        ImageSplit::grey(
            (0..n * 12).map(|i| ((i * 37) % 251) as u8).collect(),
            (0..n).map(|i| (i % 3) as u8).collect(),
            3,
            4,
        )
    };
    fixtures::dataset(&data, &split(30), &split(8)).unwrap();
    let d = data.to_str().unwrap();
    let out = tmp.path().join("codes");
    let o = out.to_str().unwrap();
    for (args, says) in [
        (vec!["--components", "0"], "--components must be at least 1"),
        (
            vec!["--components", "13"],
            "--components 13 exceeds the 12 feature dimensions",
        ),
    ] {
        let mut full = vec!["--data", d, "--out", o];
        full.extend(args);
        let (ok, text) = run(&full);
        assert!(!ok && text.contains(says), "{text}");
        assert!(!out.exists());
    }
    let (ok, text) = run(&["--data", d, "--out", o, "--components", "4", "--whiten"]);
    assert!(ok, "{text}");
    let test = CodesSplit::read(&out.join(Split::Test.file_name())).unwrap();
    assert_eq!((test.len(), test.dim), (8, 4));
    let train = CodesSplit::read(&out.join(Split::Train.file_name())).unwrap();
    // Whitened: unit variance on the training split.
    let var: f64 = (0..30)
        .map(|i| f64::from(train.codes[i * 4]).powi(2))
        .sum::<f64>()
        / 29.0;
    assert!((var - 1.0).abs() < 1e-3, "{var}");
    let info: CodesInfo<PcaDetails> = Manifest::read_dir(&out).unwrap().info_as(&out).unwrap();
    assert_eq!(info.encoder, "pca");
    assert_eq!((info.dim, info.counts.train, info.counts.test), (4, 30, 8));
    assert!(info.details.pca.whiten);
    assert!((0.0..=1.0).contains(&info.details.explained_variance_ratio));
    assert!(info.model.is_none() && info.source.is_none());
    assert_eq!(
        info.dataset.resolve(&out),
        std::fs::canonicalize(&data).unwrap()
    );
    let (ok, text) = run(&["--data", d, "--out", o, "--components", "4", "--whiten"]);
    assert!(ok && text.contains("reused"), "{text}");
    // PCA is deterministic: it takes no seed.
    let (ok, text) = run(&["--data", d, "--out", o, "--components", "4", "--seed", "1"]);
    assert!(!ok && text.contains("--seed"), "{text}");
}
