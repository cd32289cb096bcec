//! `aeclust-evaluate` refuses inputs that are not clustering artifacts, with no report.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_aeclust-evaluate");

fn run(args: &[&str]) -> (bool, String) {
    let o = Command::new(BIN).args(args).output().unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn bad_inputs() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("report");
    let o = out.to_str().unwrap();
    let (ok, err) = run(&["--out", o]);
    assert!(!ok && err.contains("required"), "{err}");
    let plain = tmp.path().join("plain");
    std::fs::create_dir(&plain).unwrap();
    let (ok, err) = run(&["--out", o, plain.to_str().unwrap()]);
    assert!(
        !ok && err.contains("plain") && err.contains("not an aeclust artifact"),
        "{err}"
    );
    let missing = tmp.path().join("missing");
    let (ok, err) = run(&["--out", o, missing.to_str().unwrap()]);
    assert!(
        !ok && err.contains(&format!("{}: no such directory", missing.display())),
        "{err}"
    );
    // An artifact of another stage.
    let other = tmp.path().join("codes");
    let split = aeclust_artifact::kinds::CodesSplit {
        codes: vec![0.0, 1.0],
        labels: Some(vec![0, 1]),
        dim: 1,
    };
    aeclust_artifact::fixtures::codes(&other, &split, &split, tmp.path()).unwrap();
    let (ok, err) = run(&["--out", o, other.to_str().unwrap()]);
    assert!(
        !ok && err.contains(&format!(
            "{}: is a `codes` artifact, expected a `clustering` artifact",
            other.display()
        )),
        "{err}"
    );
    assert!(!out.exists(), "no report may be written");
}
