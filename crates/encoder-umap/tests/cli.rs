//! `aeclust-encode-umap` on codes artifacts it builds itself: fit, cache, transform,
//! and the bad inputs (clear error, non-zero exit, no artifact).

use std::path::{Path, PathBuf};
use std::process::Command;

use aeclust_artifact::fixtures;
use aeclust_artifact::kinds::{CodesInfo, CodesSplit, Split};
use aeclust_artifact::Manifest;
use aeclust_encoder_umap::stage::UmapDetails;

const BIN: &str = env!("CARGO_BIN_EXE_aeclust-encode-umap");

fn run(args: &[&str]) -> (bool, String) {
    let o = Command::new(BIN).args(args).output().unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr),
    )
}

/// Three well-separated groups in `dim` dimensions.
fn groups(n: usize, dim: usize, offset: usize) -> CodesSplit {
    let mut codes = Vec::new();
    let mut labels = Vec::new();
    for i in 0..n {
        let g = (i + offset) % 3;
        for d in 0..dim {
            let centre = if d % 3 == g { 30.0 } else { 0.0 };
            codes.push(centre + (((i * 7 + d * 13) % 17) as f32 - 8.0) / 8.0);
        }
        labels.push(g as u8);
    }
    CodesSplit {
        codes,
        labels: Some(labels),
        dim,
    }
}

fn codes(root: &Path, name: &str, dim: usize, edit: impl FnOnce(&mut CodesSplit)) -> PathBuf {
    let dir = root.join(name);
    let mut train = groups(240, dim, 0);
    edit(&mut train);
    fixtures::codes(&dir, &train, &groups(30, dim, 1), root).unwrap();
    dir
}

fn rejected(args: &[&str], out: &Path, says: &str) {
    let (ok, text) = run(args);
    assert!(!ok, "expected failure: {text}");
    assert!(text.contains(says), "should say `{says}`: {text}");
    assert!(!out.exists(), "no artifact may be written");
}

#[test]
fn fits_embeds_test_points_beside_their_group_and_transforms() {
    let tmp = tempfile::tempdir().unwrap();
    let data = codes(tmp.path(), "codes", 6, |_| {});
    let out = tmp.path().join("umap");
    let (d, o) = (data.to_str().unwrap(), out.to_str().unwrap());
    let args = [
        "--data",
        d,
        "--out",
        o,
        "--n-components",
        "2",
        "--n-neighbors",
        "10",
    ];
    let (ok, text) = run(&args);
    assert!(ok, "{text}");
    let info: CodesInfo<UmapDetails> = Manifest::read_dir(&out).unwrap().info_as(&out).unwrap();
    assert_eq!(
        (info.dim, info.counts.train, info.counts.test),
        (2, 240, 30)
    );
    assert_eq!(info.encoder, "umap of fixture");
    assert_eq!(info.details.n_fitted, 240);
    assert!(info.details.fit_seconds.is_some());
    let train = CodesSplit::read(&out.join(Split::Train.file_name())).unwrap();
    let test = CodesSplit::read(&out.join(Split::Test.file_name())).unwrap();
    // Every test point's nearest train point in the embedding is of its group.
    for (i, row) in test.codes.chunks_exact(2).enumerate() {
        let nearest = train
            .codes
            .chunks_exact(2)
            .enumerate()
            .min_by(|a, b| {
                let da = (a.1[0] - row[0]).powi(2) + (a.1[1] - row[1]).powi(2);
                let db = (b.1[0] - row[0]).powi(2) + (b.1[1] - row[1]).powi(2);
                da.total_cmp(&db)
            })
            .unwrap()
            .0;
        let (tl, sl) = (
            train.labels.as_ref().unwrap(),
            test.labels.as_ref().unwrap(),
        );
        assert_eq!(tl[nearest], sl[i], "test point {i}");
    }
    let (ok, text) = run(&args);
    assert!(ok && text.contains("reused"), "{text}");

    // --transform places another artifact of the same space with the fit.
    let other = codes(tmp.path(), "more", 6, |_| {});
    let placed = tmp.path().join("placed");
    let (ok, text) = run(&[
        "--transform",
        o,
        "--data",
        other.to_str().unwrap(),
        "--out",
        placed.to_str().unwrap(),
    ]);
    assert!(ok, "{text}");
    let info: CodesInfo<UmapDetails> = Manifest::read_dir(&placed)
        .unwrap()
        .info_as(&placed)
        .unwrap();
    assert!(info.details.fit_seconds.is_none() && info.details.fitted_model.is_some());
    assert_eq!(info.counts.train, 240);

    // Codes of another space (other dimensions) are refused.
    let wider = codes(tmp.path(), "wider", 9, |_| {});
    let refused = tmp.path().join("refused");
    rejected(
        &[
            "--transform",
            o,
            "--data",
            wider.to_str().unwrap(),
            "--out",
            refused.to_str().unwrap(),
        ],
        &refused,
        "features of 9 dimensions",
    );
    rejected(
        &[
            "--transform",
            d,
            "--data",
            d,
            "--out",
            refused.to_str().unwrap(),
        ],
        &refused,
        "not a valid",
    );
}

#[test]
fn bad_inputs() {
    let tmp = tempfile::tempdir().unwrap();
    let good = codes(tmp.path(), "good", 4, |_| {});
    let out = tmp.path().join("out");
    let (g, o) = (good.to_str().unwrap(), out.to_str().unwrap());
    rejected(
        &[
            "--data",
            g,
            "--out",
            o,
            "--n-components",
            "2",
            "--n-neighbors",
            "241",
        ],
        &out,
        "--n-neighbors 241 is larger than the 240 points",
    );
    rejected(
        &["--data", g, "--out", o, "--n-components", "0"],
        &out,
        "--n-components must be at least 1",
    );
    let nan = codes(tmp.path(), "nan", 4, |s| s.codes[5] = f32::NAN);
    rejected(
        &["--data", nan.to_str().unwrap(), "--out", o],
        &out,
        "non-finite value NaN at row 1, column 1",
    );
}

/// Unlabelled codes without a test split (a folder of images read without one): the fit
/// embeds the train split and writes an empty test split of the right width.
#[test]
fn unlabelled_codes_without_a_test_split_embed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("codes");
    let mut train = groups(120, 4, 0);
    train.labels = None;
    let empty = CodesSplit {
        codes: vec![],
        labels: None,
        dim: 4,
    };
    fixtures::codes(&dir, &train, &empty, tmp.path()).unwrap();
    let out = tmp.path().join("umap");
    let (ok, text) = run(&[
        "--data",
        dir.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--n-components",
        "3",
        "--n-neighbors",
        "8",
    ]);
    assert!(ok, "{text}");
    let test = CodesSplit::read(&out.join(Split::Test.file_name())).unwrap();
    assert_eq!((test.len(), test.dim, test.labels.is_none()), (0, 3, true));
    let train = CodesSplit::read(&out.join(Split::Train.file_name())).unwrap();
    assert_eq!((train.len(), train.dim), (120, 3));
}
