//! `report.html` in a real browser: Debian's headless Chromium loads the page of a
//! pipeline run on a folder of the committed subset that holds a file with a crafted
//! name, and the rendered DOM is checked: a gallery per cluster, the images reachable
//! through the galleries equal the assignments, no console error, the crafted name shown
//! as text. A screenshot is saved with the test's output (`target/report-html.png`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use aeclust_e2e::{bin_dir, pipeline_with, root, subset};
use image::GrayImage;

/// The browser, installed when absent and this runs as root (`apt-get install -y
/// --no-install-recommends chromium`, as `.ci/run` does).
fn chromium() -> PathBuf {
    let found = |name: &str| {
        Command::new("sh")
            .args(["-c", &format!("command -v {name}")])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
    };
    if let Some(path) = found("chromium") {
        return path;
    }
    let root = Command::new("id").arg("-u").output().unwrap().stdout == b"0\n";
    assert!(
        root,
        "chromium is not installed: apt-get install -y --no-install-recommends chromium"
    );
    let ok = Command::new("sh")
        .args([
            "-c",
            "apt-get install -y --no-install-recommends chromium >/dev/null 2>&1 || \
             (apt-get update >/dev/null 2>&1 && apt-get install -y --no-install-recommends chromium >/dev/null 2>&1)",
        ])
        .status()
        .unwrap()
        .success();
    assert!(ok, "installing chromium failed");
    found("chromium").expect("chromium after installing it")
}

/// Runs headless Chromium on `url` with `args`; its stdout and stderr.
fn browse(url: &str, args: &[&str]) -> (String, String) {
    let o = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--virtual-time-budget=5000",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .args(args)
        .arg(url)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// The values of `attr` on every element of `dom` whose start tag holds `needle`.
fn attributes<'a>(dom: &'a str, needle: &str, attr: &str) -> Vec<&'a str> {
    dom.split('<')
        .filter(|tag| tag.contains(needle))
        .filter_map(|tag| {
            let start = tag.find(&format!("{attr}=\""))? + attr.len() + 2;
            let end = start + tag[start..].find('"')?;
            Some(&tag[start..end])
        })
        .collect()
}

/// Undoes the DOM serialiser's escapes in an attribute value.
fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

#[test]
fn the_report_page_renders_every_image_in_its_cluster_in_a_real_browser() {
    let tmp = tempfile::tempdir().unwrap();
    let tree = tmp.path().join("photos");
    let (images, labels) = subset("train");
    let mut written = 0;
    for (i, (px, &l)) in images.iter().zip(&labels).enumerate() {
        if ![1u8, 7, 8].contains(&l) {
            continue;
        }
        let path = tree.join(format!("class-{l}/{i:05}.png"));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        GrayImage::from_raw(28, 28, px.clone())
            .unwrap()
            .save(&path)
            .unwrap();
        written += 1;
    }
    // A crafted name: it must show as text, never become markup.
    let crafted = tree.join("class-1/<b id=x>.png");
    std::fs::copy(
        tree.join("class-1")
            .read_dir()
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path(),
        &crafted,
    )
    .unwrap();
    written += 1;
    let out = tmp.path().join("artifacts");
    pipeline_with(
        &bin_dir(),
        &[
            "--images",
            tree.to_str().unwrap(),
            "--k",
            "3",
            "--epochs",
            "2",
            "--scan",
            "off",
            "--seeds",
            "72",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    let report = out.join("report");
    let page = report.join("report.html");
    assert!(page.is_file());
    // Offline: no address of another host anywhere in the page.
    let html = std::fs::read_to_string(&page).unwrap();
    for remote in ["http://", "https://", "//cdn"] {
        assert!(!html.contains(remote), "{remote} in report.html");
    }
    let url = format!("file://{}?all", page.display());
    let (dom, log) = browse(&url, &["--dump-dom"]);
    std::fs::write(root().join("target/report-html.dom.html"), &dom).unwrap();
    // No console message at all (Chromium logs every console message, errors and
    // uncaught exceptions included, as a "CONSOLE" line; the page logs nothing itself).
    let console: Vec<&str> = log.lines().filter(|l| l.contains(":CONSOLE")).collect();
    assert!(console.is_empty(), "console: {console:?}");
    // The assignments: one row per image of the clustering (file, …, cluster, …).
    let csv = std::fs::read_to_string(report.join("assignments.csv")).unwrap();
    let mut expected: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in csv.lines().skip(1) {
        let cells = csv_cells(line);
        if cells[5] == "gmm-codes" {
            expected
                .entry(cells[3].clone())
                .or_default()
                .push(cells[0].clone());
        }
    }
    assert_eq!(expected.values().map(Vec::len).sum::<usize>(), written);
    // Every cluster has a gallery; its thumbnails are exactly its images.
    let galleries = attributes(&dom, "class=\"cluster\"", "data-cluster");
    assert_eq!(galleries.len(), expected.len(), "one gallery per cluster");
    for (cluster, files) in &expected {
        let section = dom
            .split("<details")
            .find(|d| d.contains(&format!("data-cluster=\"{cluster}\"")))
            .unwrap();
        let mut shown: Vec<String> = attributes(section, "class=\"thumb\"", "data-file")
            .into_iter()
            .map(unescape)
            .collect();
        let mut files = files.clone();
        shown.sort();
        files.sort();
        assert_eq!(shown, files, "cluster {cluster}");
    }
    // The crafted name is text: no element with id "x", the name escaped.
    // (An element would serialise as `<b id="x">`; inside an attribute value the name
    // stays as written.)
    assert!(!dom.contains("<b id=\"x\">"), "markup injected");
    assert!(
        dom.contains("&lt;b id=x&gt;.png</small>"),
        "the crafted name shows as text"
    );
    // A screenshot with the test's output.
    let shot = root().join("target/report-html.png");
    browse(
        &format!("file://{}", page.display()),
        &[
            "--window-size=1200,1600",
            &format!("--screenshot={}", shot.display()),
        ],
    );
    assert!(std::fs::metadata(&shot).unwrap().len() > 10_000);
    eprintln!("screenshot: {}", shot.display());
}

/// The cells of a CSV line (fields with commas or quotes quoted, quotes doubled).
fn csv_cells(line: &str) -> Vec<String> {
    let mut cells = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                cells.last_mut().unwrap().push('"');
            }
            ('"', _) => quoted = !quoted,
            (',', false) => cells.push(String::new()),
            (c, _) => cells.last_mut().unwrap().push(c),
        }
    }
    cells
}
