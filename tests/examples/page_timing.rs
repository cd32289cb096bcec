//! Times `report.html` in headless Chromium, as a person meets it: the first contentful
//! paint of a fresh load, and opening the gallery's cluster nearest 7,000 images (its
//! first page of thumbnails, then every thumbnail), each painted. Prints one line per
//! load and the medians.
//!
//! `cargo run --release -p aeclust-e2e --example page_timing -- REPORT_DIR [LOADS]`

use std::time::Duration;

use aeclust_e2e::browser::Browser;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = std::path::PathBuf::from(args.next().expect("REPORT_DIR"));
    let loads: usize = args.next().map_or(5, |n| n.parse().expect("LOADS"));
    let page = std::fs::canonicalize(dir.join("report.html")).expect("report.html");
    let (mut paint, mut open, mut all) = (Vec::new(), Vec::new(), Vec::new());
    for load in 0..loads {
        // A fresh browser each time: nothing cached.
        let mut b = Browser::open(1280, 900);
        b.goto(&format!("file://{}", page.display()));
        b.wait_for(
            "document.body.dataset.firstPaintMs !== undefined && document.body.dataset.loaded === 'yes'",
            Duration::from_secs(60),
        );
        let fcp: f64 = b
            .eval("Number(document.body.dataset.firstPaintMs)")
            .as_f64()
            .unwrap();
        // The cluster nearest 7,000 images, over every gallery.
        let target = b.eval(
            "(() => { let best = null; PAGE.galleries.forEach((g, i) => g.sizes.forEach((n, c) => { \
               if (best === null || Math.abs(n - 7000) < Math.abs(best[2] - 7000)) { best = [i, c, n]; } })); return best; })()",
        );
        let (g, c, n) = (
            target[0].as_u64().unwrap(),
            target[1].as_u64().unwrap(),
            target[2].as_u64().unwrap(),
        );
        let selector = format!("details.cluster[data-gallery=\"{g}\"][data-cluster=\"{c}\"]");
        let painted = "new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))";
        // Open it as a click on its summary does, until its first page is painted.
        let t_open = b.eval(&format!(
            "(async () => {{ const d = document.querySelector('{selector}'); d.scrollIntoView(); const t = performance.now(); \
               d.open = true; while (d.querySelector('.thumbs').childElementCount === 0) {{ await new Promise(r => setTimeout(r, 1)); }} \
               await {painted}; return performance.now() - t; }})()"
        )).as_f64().unwrap();
        // Then every thumbnail ("more" until there is none).
        let t_all = b.eval(&format!(
            "(async () => {{ const d = document.querySelector('{selector}'); const t = performance.now(); \
               await Promise.resolve(); while (!d.querySelector('.more').hidden) {{ await fill(d); }} await {painted}; \
               return [performance.now() - t, d.querySelectorAll('a.thumb').length]; }})()"
        ));
        let shown = t_all[1].as_u64().unwrap();
        assert_eq!(shown, n, "every thumbnail of the cluster");
        let t_all = t_all[0].as_f64().unwrap();
        println!("load {load}: first contentful paint {fcp:.0} ms; cluster of {n} images: first page {t_open:.0} ms, all {t_all:.0} ms");
        let complaints = b.complaints();
        assert!(complaints.is_empty(), "{complaints:#?}");
        paint.push(fcp);
        open.push(t_open);
        all.push(t_all);
    }
    println!(
        "median of {loads}: first contentful paint {:.0} ms; open a cluster {:.0} ms; all its thumbnails {:.0} ms",
        median(paint),
        median(open),
        median(all)
    );
}
