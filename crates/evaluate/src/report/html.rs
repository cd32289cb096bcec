//! `report.html`: the page people open. Its text is `report.md` rendered (one source for
//! both), with raw HTML in it shown as text. Below it:
//!
//! - an interactive map per 2-D map artifact (points coloured by a clustering's clusters
//!   or by class; hover for the image, click to filter that clustering's gallery);
//! - a gallery per clustering with every image of every split in its cluster, most
//!   typical first, drawn from thumbnail sprite sheets page by page;
//! - two clusterings side by side: their contingency table, a click on a cell shows its
//!   images.
//!
//! The page itself holds only what the first screen needs. Rows (file names, labels), a
//! gallery's order and confidences and a map's points are small scripts in `data/`,
//! loaded when first needed; thumbnails are sprite sheets in `thumbs/`. Everything sits
//! in the report folder under relative paths: it works from `file://`, offline.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use aeclust_artifact::kinds::{
    ClassName, CodesInfo, Features, ImageSplit, Method, PerSplit, Split,
};
use aeclust_artifact::Artifact;
use serde::Serialize;

use super::load::{ClusteringRun, SplitAssignments};
use super::{invalid, Result};
use crate::metrics::SplitMetrics;

/// The folder of thumbnail sprite sheets inside the report.
pub(crate) const THUMBS_DIR: &str = "thumbs";
/// The folder of the page's lazily loaded data scripts.
pub(crate) const DATA_DIR: &str = "data";
/// Thumbnails per sprite sheet side.
const SHEET_COLUMNS: usize = 20;
/// Largest thumbnail side in pixels (larger images are reduced by an integer step).
const THUMB_MAX: usize = 64;
/// JPEG quality of the sprite sheets.
const JPEG_QUALITY: u8 = 75;

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

/// Standard base64 (with padding), as the page's `atob` reads it.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> shift) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `values` as little-endian bfloat16 (the top half of an f32, rounded to nearest even):
/// three significant digits, half the bytes.
fn bf16_bytes(values: impl Iterator<Item = f32>) -> Vec<u8> {
    let mut out = Vec::new();
    for v in values {
        let bits = v.to_bits();
        let half = if v.is_nan() {
            0x7fc0
        } else {
            let round = 0x7fff + ((bits >> 16) & 1);
            (bits.wrapping_add(round) >> 16) as u16
        };
        out.extend_from_slice(&half.to_le_bytes());
    }
    out
}

/// `rows` as 24-bit little-endian integers (up to 16,777,215 rows).
fn u24_bytes(rows: &[usize]) -> Vec<u8> {
    rows.iter()
        .flat_map(|&r| {
            let b = (r as u32).to_le_bytes();
            [b[0], b[1], b[2]]
        })
        .collect()
}

/// The rows of one split of one dataset: their sprite sheets and files.
#[derive(Debug, Serialize)]
struct SheetSet {
    /// Sheet file name prefix (`thumbs/NAME-0.jpg`, …).
    prefix: String,
    /// Thumbnail width and height in the sheets.
    width: usize,
    height: usize,
    /// Thumbnails per sheet row (and column).
    columns: usize,
    /// Rows in the split.
    n: usize,
}

/// The rows a gallery or a map shows: every non-empty split of one dataset, train first;
/// row `r` of the view is row `r - offset` of the set it falls in.
#[derive(Debug, Serialize)]
struct ViewData {
    /// The sheet sets, one per split.
    sets: Vec<usize>,
    /// Each set's split name.
    splits: Vec<String>,
    /// Rows in all.
    n: usize,
    /// Class names when the rows are labelled (index = position in `labels`' values).
    classes: Vec<String>,
    /// The data script of its files and labels (`data/NAME.js`).
    data: String,
}

/// One clustering's gallery.
#[derive(Debug, Serialize)]
struct GalleryData {
    clustering: String,
    title: String,
    seed: u64,
    /// The view of its rows.
    view: usize,
    /// Each cluster's name and size.
    names: Vec<String>,
    sizes: Vec<usize>,
    /// What the confidence is (a probability, or a distance to the centroid).
    confidence: &'static str,
    /// The data script of its order and confidences.
    data: String,
}

/// One interactive map: a 2-D embedding of a view's rows.
#[derive(Debug, Serialize)]
struct MapData {
    title: String,
    view: usize,
    data: String,
}

#[derive(Debug, Serialize, Default)]
struct Page {
    sets: Vec<SheetSet>,
    views: Vec<ViewData>,
    galleries: Vec<GalleryData>,
    maps: Vec<MapData>,
}

/// Writes the sprite sheets of `images` into `dir/thumbs`, named `prefix-N.jpg`, and
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
        // JPEG at quality 75 (grey images as one channel): 18.5 MB for the 70,000
        // Fashion-MNIST thumbnails against 29 MB as PNG (20 MB at quality 80, 22 MB at
        // 85, none of them visibly different at thumbnail size).
        let canvas: image::DynamicImage = if c == 1 {
            image::DynamicImage::ImageRgb8(canvas).into_luma8().into()
        } else {
            canvas.into()
        };
        let name = format!("{prefix}-{sheet}.jpg");
        let path = folder.join(&name);
        let file = std::fs::File::create(&path)
            .map_err(|e| aeclust_artifact::ArtifactError::io(&path, e))?;
        let mut writer = std::io::BufWriter::new(file);
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut writer, JPEG_QUALITY)
            .encode_image(&canvas)
            .map_err(|e| invalid(&path, format!("cannot write a thumbnail sheet: {e}")))?;
        std::io::Write::flush(&mut writer)
            .map_err(|e| aeclust_artifact::ArtifactError::io(&path, e))?;
        written.push(format!("{THUMBS_DIR}/{name}"));
    }
    Ok(((th, tw), written))
}

/// The files of a set, compactly: their common prefix, and the rest of each name (none
/// when every name is the prefix followed by its row number, as IDX rows are).
#[derive(Debug, Serialize, PartialEq)]
struct Files {
    prefix: String,
    names: Option<Vec<String>>,
    /// What turns a file into a link (`file://` + this + the file, path-encoded): the
    /// current directory for relative paths, empty for absolute ones; none when the
    /// files cannot be opened (IDX rows).
    link_base: Option<String>,
}

impl Files {
    fn new(files: Vec<String>) -> Self {
        let mut prefix_len = files.first().map_or(0, String::len);
        for f in &files[1.min(files.len())..] {
            prefix_len = files[0]
                .bytes()
                .zip(f.bytes())
                .take(prefix_len)
                .take_while(|(a, b)| a == b)
                .count();
        }
        let first = files.first().cloned().unwrap_or_default();
        while !first.is_char_boundary(prefix_len) {
            prefix_len -= 1;
        }
        let prefix = first[..prefix_len].to_string();
        let names: Vec<String> = files.iter().map(|f| f[prefix_len..].to_string()).collect();
        let indexed = names.iter().enumerate().all(|(i, n)| *n == i.to_string());
        let link_base = files.first().filter(|f| Path::new(f).is_file()).map(|f| {
            if Path::new(f).is_absolute() {
                String::new()
            } else {
                let cwd = std::env::current_dir().unwrap_or_default();
                format!("{}/", cwd.display())
            }
        });
        Self {
            prefix,
            names: (!indexed).then_some(names),
            link_base,
        }
    }
}

/// A view's data script: its sets' files and the rows' labels (positions in the view's
/// classes).
#[derive(Debug, Serialize)]
struct ViewRows {
    files: Vec<Files>,
    labels: Option<String>,
}

/// A gallery's data script: its rows cluster by cluster, most typical first (24-bit row
/// numbers), where each cluster starts, and each row's confidence in that order
/// (bfloat16).
#[derive(Debug, Serialize)]
struct GalleryRows {
    order: String,
    starts: Vec<usize>,
    confidence: String,
}

/// A map's data script: each row's position, x and y scaled to 0..65535 (16-bit).
#[derive(Debug, Serialize)]
struct MapPoints {
    points: String,
}

/// Writes `data/NAME.js`, a script handing `value` to the page.
fn write_data(dir: &Path, name: &str, value: &impl Serialize) -> Result<String> {
    let folder = dir.join(DATA_DIR);
    std::fs::create_dir_all(&folder)
        .map_err(|e| aeclust_artifact::ArtifactError::io(&folder, e))?;
    let json = script_json(dir, value)?;
    let path = folder.join(format!("{name}.js"));
    std::fs::write(&path, format!("aeclust.loaded({name:?}, {json});\n"))
        .map_err(|e| aeclust_artifact::ArtifactError::io(&path, e))?;
    Ok(format!("{DATA_DIR}/{name}.js"))
}

/// `value` as JSON that can sit inside a `<script>` (no `</` that could end it).
fn script_json(dir: &Path, value: &impl Serialize) -> Result<String> {
    Ok(serde_json::to_string(value)
        .map_err(|e| invalid(dir, format!("the page data does not serialise: {e}")))?
        .replace("</", "<\\/"))
}

/// What the page shows for each clustering.
pub(crate) struct GalleryInput<'a> {
    /// The run.
    pub run: &'a ClusteringRun,
    /// Its assignments.
    pub assignments: &'a PerSplit<SplitAssignments>,
    /// Its metrics (cluster names by class when labelled).
    pub metrics: &'a PerSplit<Option<SplitMetrics>>,
}

/// The splits a run's page shows: every split with rows.
fn splits_of(a: &PerSplit<SplitAssignments>) -> Vec<Split> {
    Split::ALL
        .into_iter()
        .filter(|&s| a.get(s).len() > 0)
        .collect()
}

/// Builds the page's data, writing sheets and data scripts into `dir`.
struct Builder<'d> {
    dir: &'d Path,
    page: Page,
    /// (dataset dir, split) of each sheet set.
    set_keys: Vec<(PathBuf, Split)>,
    /// (dataset dir, splits) of each view.
    view_keys: Vec<(PathBuf, Vec<Split>)>,
    files: Vec<String>,
    warnings: Vec<String>,
}

impl Builder<'_> {
    /// Writes the data script `KIND-INDEX` (`data/KIND-INDEX.js`) and returns its name.
    fn data(&mut self, kind: &str, index: usize, value: &impl Serialize) -> Result<String> {
        let name = format!("{kind}-{index}");
        self.files.push(write_data(self.dir, &name, value)?);
        Ok(name)
    }

    fn set(&mut self, dataset: &Artifact, invert: bool, split: Split) -> Result<usize> {
        let key = (dataset.dir().to_path_buf(), split);
        if let Some(i) = self.set_keys.iter().position(|k| *k == key) {
            return Ok(i);
        }
        let images = ImageSplit::read(&dataset.path(split.file_name())?)?;
        let prefix = format!("{split}{}", self.page.sets.len());
        let ((height, width), written) = write_sheets(self.dir, &prefix, &images, invert)?;
        self.files.extend(written);
        self.page.sets.push(SheetSet {
            prefix,
            width,
            height,
            columns: SHEET_COLUMNS,
            n: images.len(),
        });
        self.set_keys.push(key);
        Ok(self.page.sets.len() - 1)
    }

    fn view(&mut self, input: &GalleryInput) -> Result<Option<usize>> {
        let run = input.run;
        let Some((dataset, dataset_info)) = &run.dataset else {
            return Ok(None);
        };
        let splits = splits_of(input.assignments);
        let key = (dataset.dir().to_path_buf(), splits.clone());
        if let Some(i) = self.view_keys.iter().position(|k| *k == key) {
            return Ok(Some(i));
        }
        // Benchmark images (white on black) are drawn dark on white, as in the montages;
        // a folder's images as they are.
        let invert = dataset_info.folder.is_none();
        let mut sets = Vec::new();
        let mut files = Vec::new();
        let mut labels: Vec<u8> = Vec::new();
        let mut labelled = true;
        for &split in &splits {
            let set = self.set(dataset, invert, split)?;
            let n = self.page.sets[set].n;
            sets.push(set);
            files.push(Files::new(super::assignments::sources(run, split, n)?));
            match &input.assignments.get(split).labels {
                Some(l) => labels.extend(l),
                None => labelled = false,
            }
        }
        let class_list = run.classes();
        let mut present: Vec<u8> = labels.clone();
        present.sort_unstable();
        present.dedup();
        let classes: Vec<String> = present
            .iter()
            .map(|&l| ClassName::of(class_list, l))
            .collect();
        let positions: Vec<u8> = labels
            .iter()
            .map(|l| present.iter().position(|p| p == l).unwrap_or(0) as u8)
            .collect();
        let index = self.page.views.len();
        let rows = ViewRows {
            files,
            labels: (labelled && !labels.is_empty()).then(|| base64(&positions)),
        };
        let name = self.data("view", index, &rows)?;
        self.page.views.push(ViewData {
            n: sets.iter().map(|&s| self.page.sets[s].n).sum(),
            splits: splits.iter().map(|s| s.to_string()).collect(),
            sets,
            classes: if rows.labels.is_some() {
                classes
            } else {
                Vec::new()
            },
            data: name,
        });
        self.view_keys.push(key);
        Ok(Some(index))
    }

    fn gallery(&mut self, input: &GalleryInput) -> Result<()> {
        let Some(view) = self.view(input)? else {
            return Ok(());
        };
        let run = input.run;
        let splits = splits_of(input.assignments);
        // Every row of every split (train first), by cluster, the most typical first.
        let mut all = SplitAssignments {
            clusters: Vec::new(),
            confidence: Vec::new(),
            labels: None,
            leaves: None,
        };
        for &split in &splits {
            let a = input.assignments.get(split);
            all.clusters.extend(&a.clusters);
            all.confidence.extend(&a.confidence);
        }
        let members = super::pictures::members_by_typicality(run, &all);
        let k = run.k();
        let sizes: Vec<usize> = members.iter().map(Vec::len).collect();
        let mut starts = vec![0];
        for s in &sizes {
            starts.push(starts.last().unwrap() + s);
        }
        let order: Vec<usize> = members.concat();
        let kmeans = run.info.params.method() == Method::Kmeans;
        let name = self.data(
            "gallery",
            self.page.galleries.len(),
            &GalleryRows {
                order: base64(&u24_bytes(&order)),
                starts,
                confidence: base64(&bf16_bytes(order.iter().map(|&r| all.confidence[r]))),
            },
        )?;
        let m = input.metrics.get(run.shown_split()).as_ref();
        let classes = run.classes();
        self.page.galleries.push(GalleryData {
            clustering: run.name.clone(),
            title: format!("{} (seed {})", run.title(), run.seed()),
            seed: run.seed(),
            view,
            names: (0..k)
                .map(|c| match m.and_then(|m| m.mapping[c]) {
                    Some(l) => format!("cluster {c} → {}", ClassName::of(classes, l)),
                    None => format!("cluster {c}"),
                })
                .collect(),
            sizes,
            confidence: if kmeans {
                "distance to the centroid"
            } else {
                "probability"
            },
            data: name,
        });
        Ok(())
    }

    /// A 2-D map artifact, when its rows are a view's (same dataset, same splits).
    fn map(&mut self, map: &Artifact) -> Result<()> {
        let info: CodesInfo = map.info()?;
        let dataset = std::fs::canonicalize(info.dataset.resolve(map.dir())).ok();
        let view = self
            .view_keys
            .iter()
            .position(|(d, _)| dataset.is_some() && std::fs::canonicalize(d).ok() == dataset);
        let Some(view) = view else {
            self.warnings.push(format!(
                "the map {} is of another dataset than the clusterings: not on the page",
                map.dir().display()
            ));
            return Ok(());
        };
        let mut points: Vec<(f32, f32)> = Vec::new();
        for &split in &self.view_keys[view].1 {
            let f = Features::load(map, split)?;
            if f.dim < 2 {
                return Err(invalid(
                    map.dir(),
                    "a map needs codes of at least 2 dimensions",
                ));
            }
            points.extend(f.values.chunks_exact(f.dim).map(|r| (r[0], r[1])));
        }
        if points.len() != self.page.views[view].n {
            self.warnings.push(format!(
                "the map {} has {} rows, the clusterings {}: not on the page",
                map.dir().display(),
                points.len(),
                self.page.views[view].n
            ));
            return Ok(());
        }
        let (mut lo, mut hi) = ([f32::INFINITY; 2], [f32::NEG_INFINITY; 2]);
        for &(x, y) in points.iter().filter(|p| p.0.is_finite() && p.1.is_finite()) {
            lo = [lo[0].min(x), lo[1].min(y)];
            hi = [hi[0].max(x), hi[1].max(y)];
        }
        let scale = |v: f32, d: usize| -> u16 {
            let span = (hi[d] - lo[d]).max(f32::MIN_POSITIVE);
            if v.is_finite() {
                (((v - lo[d]) / span) * 65535.0).round().clamp(0.0, 65535.0) as u16
            } else {
                0
            }
        };
        let bytes: Vec<u8> = points
            .iter()
            .flat_map(|&(x, y)| {
                let (x, y) = (scale(x, 0).to_le_bytes(), scale(y, 1).to_le_bytes());
                [x[0], x[1], y[0], y[1]]
            })
            .collect();
        let name = self.data(
            "map",
            self.page.maps.len(),
            &MapPoints {
                points: base64(&bytes),
            },
        )?;
        self.page.maps.push(MapData {
            title: format!(
                "{} codes, {}",
                info.encoder,
                self.page.views[view].splits.join(" + ")
            ),
            view,
            data: name,
        });
        Ok(())
    }
}

/// The page, its files (sheets and data scripts, relative to `dir`) and warnings.
pub(crate) struct Written {
    pub html: String,
    pub files: Vec<String>,
    pub warnings: Vec<String>,
}

/// The whole `report.html`, writing its thumbnail sheets and data scripts into `dir`.
pub(crate) fn page(
    dir: &Path,
    markdown: &str,
    inputs: &[GalleryInput],
    maps: &[Artifact],
) -> Result<Written> {
    let mut b = Builder {
        dir,
        page: Page::default(),
        set_keys: Vec::new(),
        view_keys: Vec::new(),
        files: Vec::new(),
        warnings: Vec::new(),
    };
    for input in inputs {
        b.gallery(input)?;
    }
    for map in maps {
        b.map(map)?;
    }
    let data = &b.page;
    let json = script_json(dir, data)?;
    let mut html = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>aeclust report</title>\n<style>\n",
    );
    html.push_str(STYLE);
    html.push_str("</style>\n</head>\n<body>\n<main>\n");
    // What is on the page, for a long report.
    // The "Number of clusters" section of report.md, given an anchor.
    let body = markdown_to_html(markdown).replacen(
        "<h2>Number of clusters</h2>",
        "<h2 id=\"number-of-clusters\">Number of clusters</h2>",
        1,
    );
    html.push_str("<nav>On this page: <a href=\"#top\">report</a>");
    if body.contains("id=\"number-of-clusters\"") {
        html.push_str(" · <a href=\"#number-of-clusters\">number of clusters</a>");
    }
    for m in 0..data.maps.len() {
        let _ = write!(html, " · <a href=\"#map-{m}\">map</a>");
    }
    html.push_str(" · <a href=\"#galleries\">galleries</a>");
    if data.galleries.len() >= 2 {
        html.push_str(" · <a href=\"#compare\">two clusterings side by side</a>");
    }
    html.push_str("</nav>\n<div id=\"top\"></div>\n");
    html.push_str(&body);
    for (m, map) in data.maps.iter().enumerate() {
        let _ = writeln!(
            html,
            "<section class=\"map\" id=\"map-{m}\" data-map=\"{m}\">\n<h2>Map: {}</h2>\n\
             <p>Each point is an image. Hover a point to see it; click a point or a legend \
             entry to show only that cluster in the gallery below.</p>\n\
             <label>Colour by <select class=\"colour\"></select></label>\n\
             <div class=\"map-box\"><canvas width=\"640\" height=\"640\" role=\"img\" aria-label=\"a map of the images, a point each\"></canvas>\
             <div class=\"legend\"></div><div class=\"tip\" hidden></div></div>\n</section>",
            escape(&map.title)
        );
    }
    html.push_str("<h2 id=\"galleries\">Galleries: every image in its cluster</h2>\n");
    html.push_str(
        "<p>Every image of each clustering, most typical first. Open a cluster to see its \
         images, 200 at a time; hover a thumbnail for its file and confidence, click it for \
         the original.</p>\n",
    );
    for (g, gallery) in data.galleries.iter().enumerate() {
        let _ = writeln!(
            html,
            "<section class=\"gallery\" data-clustering=\"{}\" data-gallery=\"{g}\">\n<h3>{}</h3>\
             <p class=\"filter\" hidden>Showing one cluster. <button class=\"unfilter\">Show every cluster</button></p>",
            escape(&gallery.clustering),
            escape(&gallery.title)
        );
        for (c, (name, size)) in gallery.names.iter().zip(&gallery.sizes).enumerate() {
            let _ = writeln!(
                html,
                "<details class=\"cluster\" data-clustering=\"{}\" data-cluster=\"{c}\" data-gallery=\"{g}\"><summary>{} <span class=\"count\">({size} images)</span></summary><div class=\"thumbs\"></div><button class=\"more\" hidden>more</button></details>",
                escape(&gallery.clustering),
                escape(name),
            );
        }
        html.push_str("</section>\n");
    }
    if data.galleries.len() >= 2 {
        html.push_str(
            "<section class=\"compare\">\n<h2 id=\"compare\">Two clusterings side by side</h2>\n\
             <p>How many images each pair of clusters shares. The pairs matched one to one \
             (the most images in common) are shaded; every other cell holds images on which \
             the two disagree. Click a cell to see its images.</p>\n\
             <label>Rows <select class=\"a\"></select></label> \
             <label>Columns <select class=\"b\"></select></label>\n\
             <div class=\"table\"></div>\n<div class=\"cell-images\" hidden><h3></h3>\
             <div class=\"thumbs\"></div><button class=\"more\" hidden>more</button></div>\n</section>\n",
        );
    }
    html.push_str("</main>\n<script type=\"application/json\" id=\"page-data\">");
    html.push_str(&json);
    html.push_str("</script>\n<script>\n");
    html.push_str(SCRIPT);
    html.push_str("</script>\n</body>\n</html>\n");
    Ok(Written {
        html,
        files: b.files,
        warnings: b.warnings,
    })
}

const STYLE: &str = include_str!("page.css");

/// The page's behaviour. Text from the data goes in through `textContent` and
/// attributes, never as markup.
const SCRIPT: &str = include_str!("page.js");

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
    fn base64_matches_the_standard_encoding() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64(&[0xff, 0xfe, 0x00]), "//4A");
    }

    #[test]
    fn compact_encodings_round_trip() {
        let rows = [0usize, 1, 255, 65_536, 16_777_215];
        let bytes = u24_bytes(&rows);
        let back: Vec<usize> = bytes
            .chunks(3)
            .map(|b| usize::from(b[0]) | usize::from(b[1]) << 8 | usize::from(b[2]) << 16)
            .collect();
        assert_eq!(back, rows);
        for v in [0.0f32, 1.0, 0.934, 123.456, 1e-6, -2.5] {
            let b = bf16_bytes(std::iter::once(v));
            let back = f32::from_bits(u32::from(u16::from_le_bytes([b[0], b[1]])) << 16);
            assert!((back - v).abs() <= v.abs() / 256.0, "{v} -> {back}");
        }
    }

    #[test]
    fn files_share_their_prefix_and_idx_rows_are_numbers() {
        let idx = Files::new((0..12).map(|i| format!("/data/train.gz#{i}")).collect());
        assert_eq!(idx.prefix, "/data/train.gz#");
        assert_eq!(idx.names, None);
        assert_eq!(idx.link_base, None, "IDX rows are not files");
        let dir = tempfile::tempdir().unwrap();
        for n in ["a/x.png", "a/é.png", "b/y.png"] {
            let p = dir.path().join(n);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, b"x").unwrap();
        }
        let root = dir.path().display().to_string();
        let folder = Files::new(
            ["a/x.png", "a/é.png", "b/y.png"]
                .iter()
                .map(|n| format!("{root}/{n}"))
                .collect(),
        );
        assert_eq!(folder.prefix, format!("{root}/"));
        assert_eq!(
            folder.names.as_deref(),
            Some(&["a/x.png".to_string(), "a/é.png".into(), "b/y.png".into()][..])
        );
        assert_eq!(folder.link_base.as_deref(), Some(""), "absolute paths");
        // A prefix never ends inside a character.
        let split = Files::new(vec!["é".into(), "è".into()]);
        assert_eq!(split.prefix, "");
    }
}
