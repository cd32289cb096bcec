//! `report.html` in a real browser: Debian's headless Chromium, driven over the DevTools
//! protocol, loads the page of a pipeline run on a folder of the committed subset that
//! holds a file with a crafted name, and checks what a person would see and do:
//!
//! - a gallery per cluster, and the images reachable through the galleries equal the
//!   assignments;
//! - the crafted name shown as text, and no console message, exception or error log;
//! - the map: hovering a point shows that image, clicking it (or a legend entry) filters
//!   the gallery to its cluster;
//! - two clusterings side by side: the contingency table equals the one counted from the
//!   assignments, and clicking a cell shows exactly its images.
//!
//! Screenshots are saved with the test's output (`target/report-html*.png`).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use aeclust_e2e::browser::Browser;
use aeclust_e2e::{bin_dir, pipeline_with, root, subset};
use image::GrayImage;
use serde_json::Value;

/// Every row of assignments.csv: clustering → file → cluster.
fn assignments(csv: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for line in csv.lines().skip(1) {
        let cells = csv_cells(line);
        out.entry(cells[5].clone())
            .or_default()
            .insert(cells[0].clone(), cells[3].clone());
    }
    out
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_report_page_shows_every_image_maps_and_compares_in_a_real_browser() {
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
    // A searched k: two clusterings of the same images (K-Means on the UMAP of the
    // codes, and the GMM with its k), so the page has something to compare.
    pipeline_with(
        &bin_dir(),
        &[
            "--encoder",
            "dense",
            "--images",
            tree.to_str().unwrap(),
            "--k",
            "3..4",
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
    // Offline: no address of another host anywhere in the page or its data.
    let mut texts = vec![std::fs::read_to_string(&page).unwrap()];
    for f in std::fs::read_dir(report.join("data")).unwrap() {
        texts.push(std::fs::read_to_string(f.unwrap().path()).unwrap());
    }
    for text in &texts {
        for remote in ["http://", "https://", "//cdn"] {
            assert!(!text.contains(remote), "{remote} in the page's files");
        }
    }
    let truth = assignments(&std::fs::read_to_string(report.join("assignments.csv")).unwrap());
    assert_eq!(
        truth.keys().collect::<Vec<_>>(),
        ["gmm-codes", "kmeans-umap"],
        "two clusterings"
    );

    let mut b = Browser::open(1200, 900);
    b.goto(&format!("file://{}?all", page.display()));
    b.wait_for(
        "document.body.dataset.loaded === 'yes'",
        Duration::from_secs(30),
    );

    // The nav bar leads to the searched k's "Number of clusters" section.
    let linked = b.eval(
        "(() => { const a = document.querySelector('nav a[href=\"#number-of-clusters\"]'); \
         const h = document.getElementById('number-of-clusters'); \
         return !!a && !!h && h.tagName === 'H2' && h.textContent === 'Number of clusters'; })()",
    );
    assert_eq!(
        linked,
        serde_json::json!(true),
        "nav link to Number of clusters"
    );

    // Every cluster has a gallery; its thumbnails are exactly its images.
    for (clustering, rows) in &truth {
        let mut expected: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (file, cluster) in rows {
            expected
                .entry(cluster.clone())
                .or_default()
                .insert(file.clone());
        }
        assert_eq!(rows.len(), written);
        let shown = b.eval(&format!(
            "Object.fromEntries([...document.querySelectorAll('details.cluster[data-clustering={}]')]\
             .map(d => [d.dataset.cluster, [...d.querySelectorAll('a.thumb')].map(a => a.dataset.file)]))",
            serde_json::json!(clustering)
        ));
        let shown: BTreeMap<String, BTreeSet<String>> = shown
            .as_object()
            .unwrap()
            .iter()
            .map(|(c, files)| (c.clone(), strings(files).into_iter().collect()))
            .collect();
        assert_eq!(shown, expected, "{clustering}: galleries = assignments");
    }
    // The crafted name is text: no element with id "x", a caption that reads it.
    assert_eq!(b.eval("document.getElementById('x') === null"), true);
    assert_eq!(
        b.eval("[...document.querySelectorAll('a.thumb small')].some(s => s.textContent === '<b id=x>.png')"),
        true,
        "the crafted name shows as text"
    );

    // The map: one point per image, coloured by a clustering.
    assert_eq!(
        b.eval("document.querySelector('section.map canvas').dataset.points"),
        written.to_string()
    );
    let coloured_by = b.eval("document.querySelector('section.map select').value");
    let g: usize = coloured_by.as_str().unwrap()[1..].parse().unwrap();
    let clustering = b
        .eval(&format!("PAGE.galleries[{g}].clustering"))
        .as_str()
        .unwrap()
        .to_string();
    // Hover a point: the tip shows an image at that spot (its file, its thumbnail).
    let row = 17;
    b.centre_of("section.map canvas");
    let at = b.eval(&format!(
        "(() => {{ const p = document.querySelector('section.map').pointOf({row}); return [p.x, p.y]; }})()"
    ));
    let (x, y) = (at[0].as_f64().unwrap(), at[1].as_f64().unwrap());
    b.hover(x, y);
    let tip = b.eval(
        "(() => { const t = document.querySelector('section.map .tip'); \
         const p = document.querySelector('section.map').pointOf(Number(t.dataset.row)); \
         return [t.hidden, t.dataset.file, t.dataset.row, p.x, p.y, getComputedStyle(t.querySelector('span')).backgroundImage]; })()",
    );
    assert_eq!(tip[0], false, "the tip shows");
    let file = tip[1].as_str().unwrap().to_string();
    assert!(truth[&clustering].contains_key(&file), "{file}");
    let (tx, ty) = (tip[3].as_f64().unwrap(), tip[4].as_f64().unwrap());
    assert!(
        (tx - x).hypot(ty - y) <= 6.0,
        "the tip's image is the point under the mouse"
    );
    assert!(
        tip[5].as_str().unwrap().contains("thumbs/"),
        "the tip shows the thumbnail"
    );
    b.screenshot(&root().join("target/report-html-map.png"));
    // Click it: the gallery of that clustering shows that image's cluster only.
    b.click(x, y);
    let cluster = truth[&clustering][&file].clone();
    let filtered = b.eval(&format!(
        "(() => {{ const s = document.querySelector('section.gallery[data-gallery=\"{g}\"]'); \
         return [s.dataset.filter, [...s.querySelectorAll('details.cluster')].filter(d => !d.hidden).map(d => d.dataset.cluster)]; }})()"
    ));
    assert_eq!(filtered[0], Value::String(cluster.clone()));
    assert_eq!(strings(&filtered[1]), std::slice::from_ref(&cluster));
    // A legend entry filters too.
    let other = if cluster == "0" { "1" } else { "0" };
    let (lx, ly) = b.centre_of(&format!(
        "section.map .legend button[data-cluster=\"{other}\"]"
    ));
    b.click(lx, ly);
    assert_eq!(
        b.eval(&format!(
            "document.querySelector('section.gallery[data-gallery=\"{g}\"]').dataset.filter"
        )),
        other
    );

    // Two clusterings side by side: the table counts what the assignments say.
    let names = b.eval(
        "(() => { const s = document.querySelector('section.compare'); \
         return [PAGE.galleries[Number(s.querySelector('select.a').value)].clustering, \
                 PAGE.galleries[Number(s.querySelector('select.b').value)].clustering]; })()",
    );
    let (a, bn) = (
        names[0].as_str().unwrap().to_string(),
        names[1].as_str().unwrap().to_string(),
    );
    assert_ne!(a, bn);
    let cells = b.eval(
        "[...document.querySelectorAll('section.compare td.cell')].map(td => [td.dataset.a, td.dataset.b, td.textContent, td.classList.contains('match')])",
    );
    let mut counted: BTreeMap<(String, String), usize> = BTreeMap::new();
    for (file, ca) in &truth[&a] {
        *counted
            .entry((ca.clone(), truth[&bn][file].clone()))
            .or_default() += 1;
    }
    let mut pick = None;
    for cell in cells.as_array().unwrap() {
        let key = (
            cell[0].as_str().unwrap().to_string(),
            cell[1].as_str().unwrap().to_string(),
        );
        let n: usize = cell[2].as_str().unwrap().parse().unwrap();
        assert_eq!(n, counted.get(&key).copied().unwrap_or(0), "cell {key:?}");
        // Prefer a cell where the two disagree.
        if n > 0 && (pick.is_none() || cell[3] == false) {
            pick = Some(key);
        }
    }
    // The shaded matching is a one-to-one matching with the most images in common.
    let agree: usize = b
        .eval("document.querySelector('section.compare').dataset.agree")
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        agree,
        best_matching(&counted),
        "the matching is the best one"
    );
    let (ca, cb) = pick.expect("a non-empty cell");
    let (cx, cy) = b.centre_of(&format!(
        "section.compare td.cell[data-a=\"{ca}\"][data-b=\"{cb}\"]"
    ));
    b.click(cx, cy);
    let shown: BTreeSet<String> = strings(&b.eval(
        "[...document.querySelectorAll('section.compare .cell-images a.thumb')].map(a => a.dataset.file)",
    ))
    .into_iter()
    .collect();
    let expected: BTreeSet<String> = truth[&a]
        .iter()
        .filter(|(f, c)| **c == ca && truth[&bn][*f] == cb)
        .map(|(f, _)| f.clone())
        .collect();
    assert_eq!(shown, expected, "the cell's images");
    b.screenshot(&root().join("target/report-html-compare.png"));

    // Nothing complained: no console message, exception or error.
    let complaints = b.complaints();
    assert!(complaints.is_empty(), "{complaints:#?}");
    // (and the check can fail: a message the page did not write is caught)
    b.eval("console.warn('probe')");
    assert_eq!(b.complaints().len(), 1);
    // The page's top, for the README.
    b.goto(&format!("file://{}", page.display()));
    b.screenshot(&root().join("target/report-html.png"));
    assert!(
        std::fs::metadata(root().join("target/report-html.png"))
            .unwrap()
            .len()
            > 10_000
    );
}

/// The most images a one-to-one matching of the two clusterings' clusters keeps in common
/// (every injective matching tried: the clusterings here have a few clusters).
fn best_matching(counts: &BTreeMap<(String, String), usize>) -> usize {
    let rows: BTreeSet<&String> = counts.keys().map(|k| &k.0).collect();
    let cols: BTreeSet<&String> = counts.keys().map(|k| &k.1).collect();
    let (rows, cols): (Vec<_>, Vec<_>) = (rows.into_iter().collect(), cols.into_iter().collect());
    fn best(
        i: usize,
        rows: &[&String],
        cols: &[&String],
        used: &mut Vec<bool>,
        counts: &BTreeMap<(String, String), usize>,
    ) -> usize {
        if i == rows.len() {
            return 0;
        }
        // Row i unmatched, or matched to a free column.
        let mut top = best(i + 1, rows, cols, used, counts);
        for j in 0..cols.len() {
            if !used[j] {
                used[j] = true;
                let n = counts
                    .get(&(rows[i].clone(), cols[j].clone()))
                    .copied()
                    .unwrap_or(0);
                top = top.max(n + best(i + 1, rows, cols, used, counts));
                used[j] = false;
            }
        }
        top
    }
    best(0, &rows, &cols, &mut vec![false; cols.len()], counts)
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
