//! Every kind of bad input gets a clear error naming the file, a non-zero exit and no
//! artifact. Each test builds its bad file itself.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_aeclust-dataset");

fn idx(type_code: u8, dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut v = vec![0, 0, type_code, dims.len() as u8];
    for d in dims {
        v.extend_from_slice(&d.to_be_bytes());
    }
    v.extend_from_slice(data);
    v
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// A valid synthetic IDX directory: 6 train and 4 test images of 3x2 pixels.
fn valid_idx_dir(root: &Path) -> PathBuf {
    let dir = root.join("src");
    std::fs::create_dir_all(&dir).unwrap();
    let pixels: Vec<u8> = (0..36).map(|i| (i * 7) as u8).collect();
    let files: [(&str, Vec<u8>); 4] = [
        ("train-images-idx3-ubyte", idx(8, &[6, 3, 2], &pixels)),
        ("train-labels-idx1-ubyte", idx(8, &[6], &[0, 1, 2, 0, 1, 2])),
        ("t10k-images-idx3-ubyte", idx(8, &[4, 3, 2], &pixels[..24])),
        ("t10k-labels-idx1-ubyte", idx(8, &[4], &[2, 1, 0, 0])),
    ];
    for (name, bytes) in files {
        std::fs::write(dir.join(format!("{name}.gz")), gzip(&bytes)).unwrap();
    }
    dir
}

/// Runs the stage; returns (success, stderr).
fn run(args: &[&str]) -> (bool, String) {
    let out = Command::new(BIN).args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Asserts failure, that stderr names `file` and says `problem`, and that no artifact exists.
fn assert_rejected(args: &[&str], out: &Path, file: &str, problem: &str) {
    let (ok, stderr) = run(args);
    assert!(!ok, "expected failure, stderr: {stderr}");
    assert!(stderr.contains(file), "stderr should name {file}: {stderr}");
    assert!(
        stderr.contains(problem),
        "stderr should say `{problem}`: {stderr}"
    );
    assert!(!out.exists(), "no artifact may be written");
    let leftovers: Vec<_> = std::fs::read_dir(out.parent().unwrap())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("staging"))
        .collect();
    assert!(leftovers.is_empty(), "staging directory left behind");
}

fn idx_case(corrupt: impl FnOnce(&Path), file: &str, problem: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let src = valid_idx_dir(tmp.path());
    let out = tmp.path().join("out");
    // The valid directory works before it is corrupted.
    let (ok, stderr) = run(&[
        "--source",
        src.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    std::fs::remove_dir_all(&out).unwrap();
    corrupt(&src);
    assert_rejected(
        &[
            "--source",
            src.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        &out,
        file,
        problem,
    );
}

#[test]
fn truncated_gzip() {
    idx_case(
        |dir| {
            let p = dir.join("train-images-idx3-ubyte.gz");
            let bytes = std::fs::read(&p).unwrap();
            std::fs::write(&p, &bytes[..bytes.len() - 10]).unwrap();
        },
        "train-images-idx3-ubyte.gz",
        "truncated gzip",
    );
}

#[test]
fn corrupt_gzip_body() {
    idx_case(
        |dir| {
            let p = dir.join("t10k-images-idx3-ubyte.gz");
            let mut bytes = std::fs::read(&p).unwrap();
            for b in &mut bytes[12..20] {
                *b ^= 0xA5;
            }
            std::fs::write(&p, bytes).unwrap();
        },
        "t10k-images-idx3-ubyte.gz",
        "corrupt gzip data (corrupt gzip stream does not have a matching checksum)",
    );
}

#[test]
fn not_gzip() {
    idx_case(
        |dir| std::fs::write(dir.join("train-labels-idx1-ubyte.gz"), b"plain text").unwrap(),
        "train-labels-idx1-ubyte.gz",
        "not gzip data",
    );
}

#[test]
fn empty_file() {
    idx_case(
        |dir| std::fs::write(dir.join("t10k-labels-idx1-ubyte.gz"), b"").unwrap(),
        "t10k-labels-idx1-ubyte.gz",
        "empty file",
    );
}

#[test]
fn empty_gzip_content() {
    idx_case(
        |dir| std::fs::write(dir.join("t10k-labels-idx1-ubyte.gz"), gzip(b"")).unwrap(),
        "t10k-labels-idx1-ubyte.gz",
        "empty file",
    );
}

#[test]
fn wrong_magic() {
    idx_case(
        |dir| {
            let mut bytes = idx(8, &[6, 3, 2], &[0; 36]);
            bytes[0] = 0x89;
            bytes[1] = b'P';
            std::fs::write(dir.join("train-images-idx3-ubyte.gz"), gzip(&bytes)).unwrap();
        },
        "train-images-idx3-ubyte.gz",
        "wrong IDX magic",
    );
}

#[test]
fn wrong_dtype() {
    idx_case(
        |dir| {
            let bytes = idx(0x0D, &[6, 3, 2], &[0; 36 * 4]);
            std::fs::write(dir.join("train-images-idx3-ubyte.gz"), gzip(&bytes)).unwrap();
        },
        "train-images-idx3-ubyte.gz",
        "data type 0x0d (f32) is not supported",
    );
}

#[test]
fn dimensions_do_not_match_size() {
    idx_case(
        |dir| {
            // The header claims 60,000 images; a handful of bytes follow. Raw, not gzip.
            std::fs::remove_file(dir.join("train-images-idx3-ubyte.gz")).unwrap();
            let bytes = idx(8, &[60_000, 28, 28], &[0; 100]);
            std::fs::write(dir.join("train-images-idx3-ubyte"), bytes).unwrap();
        },
        "train-images-idx3-ubyte",
        "need 47040000 data bytes but the file holds 100",
    );
}

#[test]
fn trailing_bytes() {
    idx_case(
        |dir| {
            let bytes = idx(8, &[4], &[0, 1, 2, 3, 4]);
            std::fs::write(dir.join("t10k-labels-idx1-ubyte.gz"), gzip(&bytes)).unwrap();
        },
        "t10k-labels-idx1-ubyte.gz",
        "trailing bytes",
    );
}

#[test]
fn image_label_count_mismatch() {
    idx_case(
        |dir| {
            let bytes = idx(8, &[5], &[0, 1, 2, 0, 1]);
            std::fs::write(dir.join("train-labels-idx1-ubyte.gz"), gzip(&bytes)).unwrap();
        },
        "train-labels-idx1-ubyte.gz",
        "5 labels, but",
    );
}

#[test]
fn missing_file() {
    idx_case(
        |dir| std::fs::remove_file(dir.join("t10k-images-idx3-ubyte.gz")).unwrap(),
        "t10k-images-idx3-ubyte.gz",
        "apt-get install -y dataset-fashion-mnist",
    );
}

#[test]
fn missing_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let nowhere = tmp.path().join("nowhere");
    assert_rejected(
        &[
            "--source",
            nowhere.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        &out,
        "nowhere",
        "dataset-fashion-mnist",
    );
}

fn csv_case(train: &str, file_problem: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let good = "label,a,b,c,d\n1,0,10,20,255\n0,1,2,3,4\n";
    let train_path = tmp.path().join("train.csv");
    let test_path = tmp.path().join("test.csv");
    std::fs::write(&test_path, good).unwrap();
    let out = tmp.path().join("out");
    let args = [
        "--train-csv",
        train_path.to_str().unwrap(),
        "--test-csv",
        test_path.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    std::fs::write(&train_path, good).unwrap();
    let (ok, stderr) = run(&args);
    assert!(ok, "{stderr}");
    std::fs::remove_dir_all(&out).unwrap();
    std::fs::write(&train_path, train).unwrap();
    assert_rejected(&args, &out, "train.csv", file_problem);
}

#[test]
fn csv_wrong_row_length() {
    csv_case("1,0,10,20,255\n0,1,2,3\n", "line 2: 4 columns, expected 5");
}

#[test]
fn csv_non_numeric() {
    csv_case(
        "1,0,10,abc,255\n",
        "line 1, column 4: `abc` is not a number",
    );
}

#[test]
fn csv_pixel_out_of_range() {
    csv_case("1,0,10,256,255\n", "pixel value 256 is outside 0..=255");
    csv_case("1,0,-3,2,255\n", "pixel value -3 is outside 0..=255");
}

#[test]
fn csv_negative_or_missing_label() {
    csv_case("-1,0,10,20,255\n", "label -1 is outside 0..=255");
    csv_case("1,0,10,20,255\n,0,10,20,255\n", "line 2: missing label");
    csv_case(
        "cat,0,10,20,255\nx,1,1,1,1\n",
        "label `x` is not an integer",
    );
}

#[test]
fn impossible_limit() {
    let tmp = tempfile::tempdir().unwrap();
    let src = valid_idx_dir(tmp.path());
    let out = tmp.path().join("out");
    let (ok, stderr) = run(&[
        "--source",
        src.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--limit",
        "0",
    ]);
    assert!(
        !ok && stderr.contains("--limit must be at least 1"),
        "{stderr}"
    );
    assert!(!out.exists());
}

#[test]
fn failed_rerun_keeps_the_valid_artifact() {
    let tmp = tempfile::tempdir().unwrap();
    let src = valid_idx_dir(tmp.path());
    let out = tmp.path().join("out");
    let args = [
        "--source",
        src.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    assert!(run(&args).0);
    let before = std::fs::read(out.join("manifest.json")).unwrap();
    std::fs::write(src.join("train-labels-idx1-ubyte.gz"), b"junk").unwrap();
    let (ok, _) = run(&args);
    assert!(!ok);
    assert_eq!(std::fs::read(out.join("manifest.json")).unwrap(), before);
}
