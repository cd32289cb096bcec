//! `report.html`: the page people open. Its text is `report.md` rendered (one source for
//! both), with raw HTML in it shown as text; below it a gallery per clustering with every
//! image of the shown split in its cluster, most typical first, drawn from thumbnail
//! sprite sheets and rendered page by page by a small inline script. Everything it needs
//! sits in the report folder under relative paths: it works from `file://`, offline.

use std::fmt::Write as _;
use std::path::Path;

use aeclust_artifact::kinds::{ImageSplit, PerSplit};
use serde::Serialize;

use super::load::{ClusteringRun, SplitAssignments};
use super::{invalid, Result};
use crate::metrics::SplitMetrics;

/// The folder of thumbnail sprite sheets inside the report.
pub(crate) const THUMBS_DIR: &str = "thumbs";
/// Thumbnails per sprite sheet side.
const SHEET_COLUMNS: usize = 20;
/// Largest thumbnail side in pixels (larger images are reduced by an integer step).
const THUMB_MAX: usize = 64;

/// Escapes text for HTML element content and attribute values.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `markdown` as HTML; raw HTML in it (a file or class name such as `<b>`) stays text.
fn markdown_to_html(markdown: &str) -> String {
    use pulldown_cmark::{Event, Options, Parser};
    let events = Parser::new_ext(markdown, Options::ENABLE_TABLES).map(|e| match e {
        Event::Html(t) | Event::InlineHtml(t) => Event::Text(t),
        e => e,
    });
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, events);
    html
}

/// One clustering's gallery: its clusters, each with its members (rows of the shown
/// split, most typical first) and their confidences.
#[derive(Debug, Serialize)]
struct GalleryData {
    clustering: String,
    title: String,
    /// The sprite sheets' set (index into `Page::sheets`).
    sheets: usize,
    clusters: Vec<ClusterData>,
}

#[derive(Debug, Serialize)]
struct ClusterData {
    name: String,
    members: Vec<usize>,
    confidence: Vec<f32>,
}

/// The thumbnails of one dataset split, and every row's file.
#[derive(Debug, Serialize)]
struct SheetSet {
    /// Sheet file name prefix (`thumbs/NAME-0.png`, …).
    prefix: String,
    /// Thumbnail width and height in the sheets.
    width: usize,
    height: usize,
    /// Thumbnails per sheet row (and column).
    columns: usize,
    /// Every row's source file, as shown.
    files: Vec<String>,
    /// Every row's link target (an absolute `file://` URL), or empty when it has no file.
    links: Vec<String>,
}

#[derive(Debug, Serialize, Default)]
struct Page {
    sheets: Vec<SheetSet>,
    galleries: Vec<GalleryData>,
}

/// Writes the sprite sheets of `images` into `dir/thumbs`, named `prefix-N.png`, and
/// returns the thumbnail size and the files written (relative to `dir`).
fn write_sheets(
    dir: &Path,
    prefix: &str,
    images: &ImageSplit,
    invert: bool,
) -> Result<((usize, usize), Vec<String>)> {
    let (h, w, c) = (images.height, images.width, images.channels);
    let step = h.max(w).div_ceil(THUMB_MAX).max(1);
    let (th, tw) = (h.div_ceil(step), w.div_ceil(step));
    let per_sheet = SHEET_COLUMNS * SHEET_COLUMNS;
    let folder = dir.join(THUMBS_DIR);
    let mut written = Vec::new();
    std::fs::create_dir_all(&folder)
        .map_err(|e| aeclust_artifact::ArtifactError::io(&folder, e))?;
    for (sheet, start) in (0..images.len()).step_by(per_sheet).enumerate() {
        let n = per_sheet.min(images.len() - start);
        let rows = n.div_ceil(SHEET_COLUMNS);
        let (sw, sh) = ((SHEET_COLUMNS * tw) as u32, (rows * th) as u32);
        let mut canvas = image::RgbImage::from_pixel(sw, sh, image::Rgb([255, 255, 255]));
        for i in 0..n {
            let img = images.image(start + i);
            let (x0, y0) = ((i % SHEET_COLUMNS) * tw, (i / SHEET_COLUMNS) * th);
            for y in 0..th {
                for x in 0..tw {
                    let p = ((y * step).min(h - 1) * w + (x * step).min(w - 1)) * c;
                    let rgb = if c == 1 {
                        [if invert { 255 - img[p] } else { img[p] }; 3]
                    } else {
                        [img[p], img[p + 1], img[p + 2]]
                    };
                    canvas.put_pixel((x0 + x) as u32, (y0 + y) as u32, image::Rgb(rgb));
                }
            }
        }
        // Grey images as a one-channel PNG: a third of the bytes.
        let canvas: image::DynamicImage = if c == 1 {
            image::DynamicImage::ImageRgb8(canvas).into_luma8().into()
        } else {
            canvas.into()
        };
        let name = format!("{prefix}-{sheet}.png");
        let path = folder.join(&name);
        canvas
            .save(&path)
            .map_err(|e| invalid(&path, format!("cannot write a thumbnail sheet: {e}")))?;
        written.push(format!("{THUMBS_DIR}/{name}"));
    }
    Ok(((th, tw), written))
}

/// The link of a row's source: an absolute `file://` URL of an existing file, else none
/// (IDX rows, `SPLIT#INDEX`).
fn link(file: &str) -> String {
    let path = Path::new(file);
    if !path.is_file() {
        return String::new();
    }
    let absolute = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let mut url = String::from("file://");
    for b in absolute.to_string_lossy().bytes() {
        if b.is_ascii_alphanumeric() || b"/-_.~".contains(&b) {
            url.push(b as char);
        } else {
            let _ = write!(url, "%{b:02X}");
        }
    }
    url
}

/// What the page's galleries show for each drawn run: the shown split's images and
/// their files, and each cluster's members.
pub(crate) struct GalleryInput<'a> {
    /// The run.
    pub run: &'a ClusteringRun,
    /// Its assignments.
    pub assignments: &'a PerSplit<SplitAssignments>,
    /// Its metrics (cluster names by class when labelled).
    pub metrics: &'a PerSplit<Option<SplitMetrics>>,
    /// Its members per cluster in the shown split, most typical first.
    pub members: Vec<Vec<usize>>,
}

/// The whole `report.html`, writing its thumbnail sheets into `dir`; the page and the
/// sheets' file names.
pub(crate) fn page(
    dir: &Path,
    markdown: &str,
    inputs: &[GalleryInput],
) -> Result<(String, Vec<String>)> {
    let mut data = Page::default();
    let mut files_written = Vec::new();
    let mut sheet_of: Vec<(std::path::PathBuf, String)> = Vec::new();
    for input in inputs {
        let run = input.run;
        let Some((dataset, dataset_info)) = &run.dataset else {
            continue;
        };
        let split = run.shown_split();
        let key = (dataset.dir().to_path_buf(), split.to_string());
        let sheets = match sheet_of.iter().position(|k| k.0 == key.0 && k.1 == key.1) {
            Some(i) => i,
            None => {
                let images = ImageSplit::read(&dataset.path(split.file_name())?)?;
                let prefix = format!("{split}{}", data.sheets.len());
                // Benchmark images (white on black) are drawn dark on white, as in the
                // montages; a folder's images as they are.
                let invert = dataset_info.folder.is_none();
                let ((height, width), written) = write_sheets(dir, &prefix, &images, invert)?;
                files_written.extend(written);
                let files = super::assignments::sources(run, split, images.len())?;
                data.sheets.push(SheetSet {
                    prefix,
                    width,
                    height,
                    columns: SHEET_COLUMNS,
                    links: files.iter().map(|f| link(f)).collect(),
                    files,
                });
                sheet_of.push(key);
                data.sheets.len() - 1
            }
        };
        let shown = input.assignments.get(split);
        let m = input.metrics.get(split).as_ref();
        let classes = run.classes();
        data.galleries.push(GalleryData {
            clustering: run.name.clone(),
            title: format!("{} (seed {})", run.title(), run.seed()),
            sheets,
            clusters: input
                .members
                .iter()
                .enumerate()
                .map(|(c, members)| ClusterData {
                    name: match m.and_then(|m| m.mapping[c]) {
                        Some(l) => format!(
                            "cluster {c} → {}",
                            classes
                                .iter()
                                .find(|x| x.label == l)
                                .map_or(l.to_string(), |x| x.name.clone())
                        ),
                        None => format!("cluster {c}"),
                    },
                    confidence: members.iter().map(|&j| shown.confidence[j]).collect(),
                    members: members.clone(),
                })
                .collect(),
        });
    }
    let json = serde_json::to_string(&data)
        .map_err(|e| invalid(dir, format!("the gallery data does not serialise: {e}")))?
        // Inside <script>: no "</script>" (or any "</") may end it early.
        .replace("</", "<\\/");
    let mut html = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>aeclust report</title>\n<style>\n",
    );
    html.push_str(STYLE);
    html.push_str("</style>\n</head>\n<body>\n<main>\n");
    html.push_str(&markdown_to_html(markdown));
    html.push_str("<h2 id=\"galleries\">Galleries: every image in its cluster</h2>\n");
    html.push_str(
        "<p>The shown split's images of each clustering, most typical first. Open a cluster \
         to see its images, 200 at a time; hover a thumbnail for its file and confidence, \
         click it for the original.</p>\n",
    );
    for (g, gallery) in data.galleries.iter().enumerate() {
        let _ = writeln!(
            html,
            "<section class=\"gallery\" data-clustering=\"{}\">\n<h3>{}</h3>",
            escape(&gallery.clustering),
            escape(&gallery.title)
        );
        for (c, cluster) in gallery.clusters.iter().enumerate() {
            let _ = writeln!(
                html,
                "<details class=\"cluster\" data-clustering=\"{}\" data-cluster=\"{c}\" data-gallery=\"{g}\"><summary>{} <span class=\"count\">({} images)</span></summary><div class=\"thumbs\"></div><button class=\"more\" hidden>more</button></details>",
                escape(&gallery.clustering),
                escape(&cluster.name),
                cluster.members.len()
            );
        }
        html.push_str("</section>\n");
    }
    html.push_str("</main>\n<script type=\"application/json\" id=\"gallery-data\">");
    html.push_str(&json);
    html.push_str("</script>\n<script>\n");
    html.push_str(SCRIPT);
    html.push_str("</script>\n</body>\n</html>\n");
    Ok((html, files_written))
}

const STYLE: &str = r#"body { font-family: system-ui, sans-serif; margin: 0; color: #222; background: #fff; }
main { max-width: 1200px; margin: 0 auto; padding: 1rem 1.5rem; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; font-size: 0.9rem; }
th, td { border: 1px solid #ccc; padding: 0.2rem 0.5rem; text-align: left; }
th { background: #f3f3f3; }
img { max-width: 100%; height: auto; }
code { background: #f3f3f3; padding: 0 0.2rem; }
details.cluster { margin: 0.3rem 0; border: 1px solid #ddd; border-radius: 4px; padding: 0.3rem 0.6rem; }
details.cluster > summary { cursor: pointer; font-weight: 600; }
.count { font-weight: normal; color: #666; }
.thumbs { display: flex; flex-wrap: wrap; gap: 3px; margin: 0.4rem 0; }
a.thumb { display: block; border: 1px solid #ddd; color: #555; text-decoration: none; }
a.thumb span { display: block; }
a.thumb small { display: block; font-size: 9px; line-height: 11px; min-width: 28px; overflow: hidden; white-space: nowrap; text-overflow: ellipsis; }
button.more { margin: 0.3rem 0; }
"#;

/// Renders a cluster's thumbnails page by page (all at once with `?all` in the URL, for
/// scripts and tests). Text from the data goes in through `textContent` and attributes,
/// never as markup.
const SCRIPT: &str = r#""use strict";
const DATA = JSON.parse(document.getElementById("gallery-data").textContent);
const PAGE = 200;
const ALL = new URLSearchParams(location.search).has("all");
function thumb(set, row, confidence) {
  const a = document.createElement("a");
  a.className = "thumb";
  const file = set.files[row];
  a.dataset.file = file;
  a.title = file + " · confidence " + confidence.toPrecision(3);
  if (set.links[row]) { a.href = set.links[row]; }
  const per = set.columns * set.columns;
  const sheet = Math.floor(row / per), i = row % per;
  const s = document.createElement("span");
  s.style.width = set.width + "px";
  s.style.height = set.height + "px";
  s.style.backgroundImage = "url(thumbs/" + set.prefix + "-" + sheet + ".png)";
  s.style.backgroundPosition = (-(i % set.columns) * set.width) + "px " + (-Math.floor(i / set.columns) * set.height) + "px";
  a.appendChild(s);
  const caption = document.createElement("small");
  caption.textContent = file.split("/").pop();
  caption.style.width = set.width + "px";
  a.appendChild(caption);
  return a;
}
function fill(details) {
  const started = performance.now();
  const g = DATA.galleries[Number(details.dataset.gallery)];
  const cluster = g.clusters[Number(details.dataset.cluster)];
  const set = DATA.sheets[g.sheets];
  const box = details.querySelector(".thumbs");
  const more = details.querySelector(".more");
  const shown = box.childElementCount;
  const end = ALL ? cluster.members.length : Math.min(cluster.members.length, shown + PAGE);
  const frag = document.createDocumentFragment();
  for (let j = shown; j < end; j++) { frag.appendChild(thumb(set, cluster.members[j], cluster.confidence[j])); }
  box.appendChild(frag);
  more.hidden = end >= cluster.members.length;
  details.dataset.fillMs = (performance.now() - started).toFixed(1);
}
for (const details of document.querySelectorAll("details.cluster")) {
  details.addEventListener("toggle", () => { if (details.open && details.querySelector(".thumbs").childElementCount === 0) { fill(details); } });
  details.querySelector(".more").addEventListener("click", () => fill(details));
  if (ALL) { details.open = true; fill(details); }
}
document.body.dataset.readyMs = performance.now().toFixed(1);
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    if (e.name === "first-contentful-paint") { document.body.dataset.firstPaintMs = e.startTime.toFixed(1); }
  }
}).observe({ type: "paint", buffered: true });
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn untrusted_text_stays_text() {
        assert_eq!(escape("<b id=x>.png"), "&lt;b id=x&gt;.png");
        assert_eq!(escape("a\"b'&"), "a&quot;b&#39;&amp;");
        let html = markdown_to_html("| file |\n|---|\n| <b id=x>.png |\n\nsee <script>x</script>");
        assert!(
            !html.contains("<b id=x>") && !html.contains("<script>"),
            "{html}"
        );
        assert!(html.contains("&lt;b id=x&gt;.png"), "{html}");
        assert!(html.contains("<table>"), "{html}");
    }

    #[test]
    fn links_are_file_urls_of_existing_files_only() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a b#.png");
        std::fs::write(&file, b"x").unwrap();
        let url = link(file.to_str().unwrap());
        assert!(
            url.starts_with("file:///") && url.ends_with("a%20b%23.png"),
            "{url}"
        );
        assert_eq!(link("train-images-idx3-ubyte.gz#3"), "");
    }
}
