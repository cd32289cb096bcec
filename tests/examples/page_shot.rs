//! A screenshot of `report.html` in headless Chromium, scrolled to an element, with the
//! mouse over the map's first point when the element is a map (the tip shows), after a
//! click on CLICK (a selector) when given.
//!
//! `cargo run --release -p aeclust-e2e --example page_shot -- REPORT_DIR SELECTOR OUT.png [CLICK]`

use std::time::Duration;

use aeclust_e2e::browser::Browser;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (dir, selector, out, click) = match &args[..] {
        [d, s, o] => (d, s, o, None),
        [d, s, o, c] => (d, s, o, Some(c)),
        _ => panic!("usage: page_shot REPORT_DIR SELECTOR OUT.png [CLICK]"),
    };
    let page = std::fs::canonicalize(std::path::Path::new(dir).join("report.html")).unwrap();
    let mut b = Browser::open(1280, 900);
    b.goto(&format!("file://{}", page.display()));
    b.wait_for(
        "document.body.dataset.loaded === 'yes'",
        Duration::from_secs(60),
    );
    if let Some(click) = click {
        let (x, y) = b.centre_of(click);
        b.click(x, y);
        b.eval("new Promise(r => setTimeout(r, 500))");
    }
    b.eval(&format!(
        "document.querySelector({}).scrollIntoView({{block: 'start'}})",
        serde_json::json!(selector)
    ));
    if selector.contains("map") {
        let p = b.eval("(() => { const p = document.querySelector('section.map').pointOf(1); return [p.x, p.y]; })()");
        b.hover(p[0].as_f64().unwrap(), p[1].as_f64().unwrap());
    }
    b.eval("new Promise(r => setTimeout(r, 300))");
    b.screenshot(std::path::Path::new(out));
    let complaints = b.complaints();
    assert!(complaints.is_empty(), "{complaints:#?}");
}
