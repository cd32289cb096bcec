//! The report's pictures (PNG, plotters): confusion heatmaps, loss curves, k curves,
//! cluster montages, cluster trees (dendrograms with image strips) and 2-D scatters.

use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use aeclust_artifact::kinds::ClusterTree;

use crate::ReportError;

type Result<T> = std::result::Result<T, ReportError>;

/// The one font of every picture, committed with its licence (`fonts/`), so text renders
/// without a system font library.
const FONT: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");

/// A PNG canvas at `path`, with the font registered (once per process).
fn canvas(path: &Path, size: (u32, u32)) -> BitMapBackend<'_> {
    static FONT_REGISTERED: std::sync::Once = std::sync::Once::new();
    FONT_REGISTERED.call_once(|| {
        // An invalid font would surface as a drawing error naming the picture.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
    BitMapBackend::new(path, size)
}

fn plot_err<E: std::fmt::Display>(path: &Path) -> impl Fn(E) -> ReportError + '_ {
    move |e| ReportError::Plot {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// Ten distinguishable colours (matplotlib's tab10), then plotters' palette.
pub fn cluster_colour(i: usize) -> RGBColor {
    const TAB10: [(u8, u8, u8); 10] = [
        (31, 119, 180),
        (255, 127, 14),
        (44, 160, 44),
        (214, 39, 40),
        (148, 103, 189),
        (140, 86, 75),
        (227, 119, 194),
        (127, 127, 127),
        (188, 189, 34),
        (23, 190, 207),
    ];
    if i < TAB10.len() {
        let (r, g, b) = TAB10[i];
        RGBColor(r, g, b)
    } else {
        let c = Palette99::pick(i).to_rgba();
        RGBColor(c.0, c.1, c.2)
    }
}

fn blue_scale(t: f64) -> RGBColor {
    let t = t.clamp(0.0, 1.0);
    let lerp = |a: f64, b: f64| (a + (b - a) * t).round() as u8;
    RGBColor(lerp(247.0, 8.0), lerp(251.0, 48.0), lerp(255.0, 107.0))
}

/// A confusion-matrix heatmap: rows = true classes, columns = clusters labelled with the
/// class they map to, counts in the cells, a colour bar.
pub fn confusion_heatmap(
    path: &Path,
    title: &str,
    matrix: &[Vec<i64>],
    row_labels: &[String],
    col_labels: &[String],
) -> Result<()> {
    let cell = 58i32;
    let left = 120i32;
    let top = 60i32;
    let bottom_labels = 120i32;
    let rows = matrix.len() as i32;
    let cols = matrix.first().map_or(0, |r| r.len()) as i32;
    let width = (left + cols * cell + 110) as u32;
    let height = (top + rows * cell + bottom_labels + 30) as u32;
    let err = plot_err(path);
    let root = canvas(path, (width, height)).into_drawing_area();
    root.fill(&WHITE).map_err(&err)?;
    let max = matrix.iter().flatten().copied().max().unwrap_or(1).max(1) as f64;
    let centre = Pos::new(HPos::Center, VPos::Center);
    root.draw(&Text::new(
        title.to_string(),
        (width as i32 / 2, 22),
        ("sans-serif", 20).into_font().color(&BLACK).pos(centre),
    ))
    .map_err(&err)?;
    for (r, row) in matrix.iter().enumerate() {
        for (c, &v) in row.iter().enumerate() {
            let (x0, y0) = (left + c as i32 * cell, top + r as i32 * cell);
            let t = v as f64 / max;
            root.draw(&Rectangle::new(
                [(x0, y0), (x0 + cell, y0 + cell)],
                blue_scale(t).filled(),
            ))
            .map_err(&err)?;
            let colour = if t > 0.5 { WHITE } else { BLACK };
            root.draw(&Text::new(
                v.to_string(),
                (x0 + cell / 2, y0 + cell / 2),
                ("sans-serif", 13).into_font().color(&colour).pos(centre),
            ))
            .map_err(&err)?;
        }
    }
    // Grid outline.
    root.draw(&Rectangle::new(
        [(left, top), (left + cols * cell, top + rows * cell)],
        BLACK.stroke_width(1),
    ))
    .map_err(&err)?;
    let right_aligned = Pos::new(HPos::Right, VPos::Center);
    for (r, label) in row_labels.iter().enumerate() {
        root.draw(&Text::new(
            label.clone(),
            (left - 8, top + r as i32 * cell + cell / 2),
            ("sans-serif", 13)
                .into_font()
                .color(&BLACK)
                .pos(right_aligned),
        ))
        .map_err(&err)?;
    }
    for (c, label) in col_labels.iter().enumerate() {
        root.draw(&Text::new(
            label.clone(),
            (left + c as i32 * cell + cell / 2, top + rows * cell + 8),
            ("sans-serif", 13)
                .into_font()
                .transform(FontTransform::Rotate90)
                .color(&BLACK)
                .pos(Pos::new(HPos::Left, VPos::Center)),
        ))
        .map_err(&err)?;
    }
    root.draw(&Text::new(
        "true class",
        (14, top + rows * cell / 2),
        ("sans-serif", 14)
            .into_font()
            .transform(FontTransform::Rotate270)
            .color(&BLACK)
            .pos(centre),
    ))
    .map_err(&err)?;
    root.draw(&Text::new(
        "cluster (→ mapped class)",
        (left + cols * cell / 2, height as i32 - 16),
        ("sans-serif", 14).into_font().color(&BLACK).pos(centre),
    ))
    .map_err(&err)?;
    // Colour bar.
    let bar_x = left + cols * cell + 30;
    let bar_h = rows * cell;
    for i in 0..bar_h {
        let t = 1.0 - i as f64 / bar_h.max(1) as f64;
        root.draw(&Rectangle::new(
            [(bar_x, top + i), (bar_x + 18, top + i + 1)],
            blue_scale(t).filled(),
        ))
        .map_err(&err)?;
    }
    root.draw(&Rectangle::new(
        [(bar_x, top), (bar_x + 18, top + bar_h)],
        BLACK.stroke_width(1),
    ))
    .map_err(&err)?;
    let left_aligned = Pos::new(HPos::Left, VPos::Center);
    for (v, y) in [(max as i64, top), (0, top + bar_h)] {
        root.draw(&Text::new(
            v.to_string(),
            (bar_x + 24, y),
            ("sans-serif", 12)
                .into_font()
                .color(&BLACK)
                .pos(left_aligned),
        ))
        .map_err(&err)?;
    }
    root.present().map_err(&err)?;
    Ok(())
}

/// Training and validation loss per epoch.
pub fn loss_curves(path: &Path, title: &str, train: &[f64], val: &[Option<f64>]) -> Result<()> {
    let err = plot_err(path);
    let root = canvas(path, (760, 460)).into_drawing_area();
    root.fill(&WHITE).map_err(&err)?;
    let all: Vec<f64> = train
        .iter()
        .copied()
        .chain(val.iter().flatten().copied())
        .filter(|v| v.is_finite())
        .collect();
    let lo = all.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = all.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let pad = ((hi - lo) * 0.08).max(1e-3);
    let epochs = train.len().max(2) as f64;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(14)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d(1f64..epochs, (lo - pad)..(hi + pad))
        .map_err(&err)?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc("loss (mean per pixel)")
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(&|v| format!("{v:.3}"))
        .draw()
        .map_err(&err)?;
    let series = |values: Vec<(f64, f64)>, colour: RGBColor, label: &str| {
        (values, colour, label.to_string())
    };
    let lines = [
        series(
            train
                .iter()
                .enumerate()
                .map(|(i, &v)| (i as f64 + 1.0, v))
                .collect(),
            cluster_colour(0),
            "train",
        ),
        series(
            val.iter()
                .enumerate()
                .filter_map(|(i, v)| v.map(|v| (i as f64 + 1.0, v)))
                .collect(),
            cluster_colour(1),
            "validation",
        ),
    ];
    for (points, colour, label) in lines {
        if points.is_empty() {
            continue;
        }
        chart
            .draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))
            .map_err(&err)?
            .label(label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
            });
        chart
            .draw_series(
                points
                    .into_iter()
                    .map(|p| Circle::new(p, 3, colour.filled())),
            )
            .map_err(&err)?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperRight)
        .draw()
        .map_err(&err)?;
    root.present().map_err(&err)?;
    Ok(())
}

/// How the pixels of a montage are stored and shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageLayout {
    /// Image height.
    pub height: usize,
    /// Image width.
    pub width: usize,
    /// 1 (grey) or 3 (RGB, channels innermost).
    pub channels: usize,
    /// Draw grey values inverted (white-on-black benchmark images as dark on white).
    pub invert: bool,
}

/// Draws one image with its top-left corner at `at`, every pixel `scale` × `scale`.
fn draw_image<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    at: (i32, i32),
    img: &[u8],
    layout: ImageLayout,
    scale: i32,
) -> std::result::Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let (x0, y0) = at;
    for (p, px_values) in img.chunks_exact(layout.channels).enumerate() {
        let (py, px) = ((p / layout.width) as i32, (p % layout.width) as i32);
        let colour = match (px_values, layout.invert) {
            ([v], true) => RGBColor(255 - v, 255 - v, 255 - v),
            ([v], false) => RGBColor(*v, *v, *v),
            (rgb, _) => RGBColor(rgb[0], rgb[1], rgb[2]),
        };
        for dy in 0..scale {
            for dx in 0..scale {
                root.draw_pixel((x0 + px * scale + dx, y0 + py * scale + dy), &colour)?;
            }
        }
    }
    Ok(())
}

/// The leaves of `tree` in the order a dendrogram draws them (each merge's left subtree
/// first), so that no two branches cross.
pub fn leaf_order(tree: &ClusterTree) -> Vec<usize> {
    let n = tree.leaves();
    let mut order = Vec::with_capacity(n);
    let mut stack = vec![n + tree.merges.len().saturating_sub(1)];
    if tree.merges.is_empty() {
        return (0..n).collect();
    }
    while let Some(node) = stack.pop() {
        if node < n {
            order.push(node);
        } else {
            let m = &tree.merges[node - n];
            stack.push(m.right);
            stack.push(m.left);
        }
    }
    order
}

/// A cluster tree as a dendrogram: one row per leaf (`rows[leaf]`: its label and a
/// strip of its typical images, drawn as `layout` says), the merges drawn to the right
/// at their linkage distance, and the cut into `k` groups marked.
pub fn dendrogram(
    path: &Path,
    title: &str,
    tree: &ClusterTree,
    rows: &[(String, Vec<&[u8]>)],
    layout: ImageLayout,
    k: usize,
) -> Result<()> {
    let err = plot_err(path);
    let n = tree.leaves();
    let scale = if layout.height * layout.width <= 32 * 32 {
        2i32
    } else {
        1
    };
    let per_row = rows.iter().map(|r| r.1.len()).max().unwrap_or(0) as i32;
    let (ih, iw) = (layout.height as i32 * scale, layout.width as i32 * scale);
    let (left, top, gap, tree_w) = (230i32, 60i32, 4i32, 420i32);
    let row_h = ih.max(18) + gap;
    let strip = per_row * (iw + gap);
    let x_tree = left + strip + 20;
    let w = (x_tree + tree_w + 30) as u32;
    let h = (top + n as i32 * row_h + 40) as u32;
    let root = canvas(path, (w, h)).into_drawing_area();
    root.fill(&WHITE).map_err(&err)?;
    let text = |s: String, at: (i32, i32), size: u32, h: HPos| {
        Text::new(
            s,
            at,
            ("sans-serif", size)
                .into_font()
                .color(&BLACK)
                .pos(Pos::new(h, VPos::Center)),
        )
    };
    root.draw(&text(
        title.to_string(),
        (w as i32 / 2, 22),
        20,
        HPos::Center,
    ))
    .map_err(&err)?;
    let order = leaf_order(tree);
    let mut y_of = vec![0i32; n + tree.merges.len()];
    let mut x_of = vec![x_tree; n + tree.merges.len()];
    for (r, &leaf) in order.iter().enumerate() {
        let y0 = top + r as i32 * row_h;
        y_of[leaf] = y0 + row_h / 2;
        if let Some((label, images)) = rows.get(leaf) {
            root.draw(&text(label.clone(), (8, y0 + row_h / 2), 14, HPos::Left))
                .map_err(&err)?;
            for (c, img) in images.iter().enumerate() {
                let at = (left + c as i32 * (iw + gap), y0 + (row_h - ih) / 2);
                draw_image(&root, at, img, layout, scale).map_err(&err)?;
            }
        }
    }
    let top_distance = tree
        .merges
        .iter()
        .map(|m| m.distance)
        .fold(0.0f64, f64::max)
        .max(f64::MIN_POSITIVE);
    let x_at = |d: f64| x_tree + ((d / top_distance).clamp(0.0, 1.0) * tree_w as f64) as i32;
    let line = |a: (i32, i32), b: (i32, i32), colour: &RGBColor| {
        PathElement::new(vec![a, b], ShapeStyle::from(colour).stroke_width(2))
    };
    for (i, m) in tree.merges.iter().enumerate() {
        let node = n + i;
        let x = x_at(m.distance);
        for child in [m.left, m.right] {
            root.draw(&line((x_of[child], y_of[child]), (x, y_of[child]), &BLACK))
                .map_err(&err)?;
        }
        root.draw(&line((x, y_of[m.left]), (x, y_of[m.right]), &BLACK))
            .map_err(&err)?;
        x_of[node] = x;
        y_of[node] = (y_of[m.left] + y_of[m.right]) / 2;
    }
    // The cut into k groups: between the merge that would leave k - 1 groups and the one
    // before it.
    if (1..n).contains(&k) {
        let above = tree.merges[n - k].distance;
        let below = if n - k >= 1 {
            tree.merges[n - k - 1].distance
        } else {
            0.0
        };
        let x = x_at((above + below) / 2.0);
        let red = RGBColor(214, 39, 40);
        root.draw(&line((x, top - 10), (x, top + n as i32 * row_h), &red))
            .map_err(&err)?;
        root.draw(&text(format!("k = {k}"), (x, top - 22), 14, HPos::Center))
            .map_err(&err)?;
    }
    root.draw(&text(
        "merge distance (Ward) →".into(),
        (x_tree + tree_w / 2, h as i32 - 16),
        13,
        HPos::Center,
    ))
    .map_err(&err)?;
    root.present().map_err(&err)?;
    Ok(())
}

/// A criterion over k (a search's curve), the kept k marked.
pub fn k_curve(
    path: &Path,
    title: &str,
    points: &[(usize, f64)],
    best: usize,
    criterion: &str,
) -> Result<()> {
    let err = plot_err(path);
    let root = canvas(path, (760, 460)).into_drawing_area();
    root.fill(&WHITE).map_err(&err)?;
    let values: Vec<f64> = points
        .iter()
        .map(|p| p.1)
        .filter(|v| v.is_finite())
        .collect();
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !lo.is_finite() {
        return Err(ReportError::Plot {
            path: path.to_path_buf(),
            message: "no finite value on the curve".into(),
        });
    }
    let pad = ((hi - lo) * 0.08).max(hi.abs().max(1.0) * 1e-6);
    let k_lo = points.first().map_or(1, |p| p.0) as f64;
    let k_hi = points
        .last()
        .map_or(2, |p| p.0)
        .max(points.first().map_or(1, |p| p.0) + 1) as f64;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(14)
        .x_label_area_size(44)
        .y_label_area_size(90)
        .build_cartesian_2d((k_lo - 0.5)..(k_hi + 0.5), (lo - pad)..(hi + pad))
        .map_err(&err)?;
    chart
        .configure_mesh()
        .x_desc("k (clusters)")
        .y_desc(criterion)
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(&|v| {
            if v.abs() >= 1e4 {
                format!("{v:.3e}")
            } else {
                format!("{v:.4}")
            }
        })
        .draw()
        .map_err(&err)?;
    let line: Vec<(f64, f64)> = points
        .iter()
        .filter(|p| p.1.is_finite())
        .map(|&(k, v)| (k as f64, v))
        .collect();
    let colour = cluster_colour(0);
    chart
        .draw_series(LineSeries::new(line.clone(), colour.stroke_width(2)))
        .map_err(&err)?;
    chart
        .draw_series(line.iter().map(|&p| Circle::new(p, 3, colour.filled())))
        .map_err(&err)?;
    if let Some(&(k, v)) = points.iter().find(|p| p.0 == best) {
        chart
            .draw_series(std::iter::once(Circle::new(
                (k as f64, v),
                7,
                cluster_colour(3).stroke_width(3),
            )))
            .map_err(&err)?
            .label(format!("kept: k = {k}"))
            .legend(move |(x, y)| Circle::new((x + 10, y), 5, cluster_colour(3).stroke_width(2)));
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(&err)?;
    }
    root.present().map_err(&err)?;
    Ok(())
}

/// Sample images per cluster: one row per cluster, its label at the left.
pub fn montage(
    path: &Path,
    title: &str,
    rows: &[(String, Vec<&[u8]>)],
    layout: ImageLayout,
) -> Result<()> {
    let (height, width) = (layout.height, layout.width);
    let err = plot_err(path);
    let scale = 2i32;
    let per_row = rows.iter().map(|r| r.1.len()).max().unwrap_or(0).max(1) as i32;
    let (ih, iw) = (height as i32 * scale, width as i32 * scale);
    let left = 250i32;
    let top = 50i32;
    let gap = 4i32;
    let w = (left + per_row * (iw + gap) + 10) as u32;
    let h = (top + rows.len() as i32 * (ih + gap) + 10) as u32;
    let root = canvas(path, (w, h)).into_drawing_area();
    root.fill(&WHITE).map_err(&err)?;
    root.draw(&Text::new(
        title.to_string(),
        (w as i32 / 2, 22),
        ("sans-serif", 20)
            .into_font()
            .color(&BLACK)
            .pos(Pos::new(HPos::Center, VPos::Center)),
    ))
    .map_err(&err)?;
    for (r, (label, images)) in rows.iter().enumerate() {
        let y0 = top + r as i32 * (ih + gap);
        root.draw(&Text::new(
            label.clone(),
            (8, y0 + ih / 2),
            ("sans-serif", 14)
                .into_font()
                .color(&BLACK)
                .pos(Pos::new(HPos::Left, VPos::Center)),
        ))
        .map_err(&err)?;
        for (c, img) in images.iter().enumerate() {
            let x0 = left + c as i32 * (iw + gap);
            draw_image(&root, (x0, y0), img, layout, scale).map_err(&err)?;
        }
    }
    root.present().map_err(&err)?;
    Ok(())
}

/// 2-D scatter of points coloured by group (cluster or class), with a legend and the
/// axes named `axes`.
pub fn scatter(
    path: &Path,
    title: &str,
    points: &[(f64, f64)],
    clusters: &[usize],
    legend: &[String],
    axes: [&str; 2],
) -> Result<()> {
    let err = plot_err(path);
    let root = canvas(path, (900, 720)).into_drawing_area();
    root.fill(&WHITE).map_err(&err)?;
    let range = |f: &dyn Fn(&(f64, f64)) -> f64| {
        let lo = points.iter().map(f).fold(f64::INFINITY, f64::min);
        let hi = points.iter().map(f).fold(f64::NEG_INFINITY, f64::max);
        let pad = ((hi - lo) * 0.04).max(1e-6);
        (lo - pad)..(hi + pad)
    };
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(14)
        .x_label_area_size(44)
        .y_label_area_size(56)
        .build_cartesian_2d(range(&|p| p.0), range(&|p| p.1))
        .map_err(&err)?;
    chart
        .configure_mesh()
        .x_desc(axes[0])
        .y_desc(axes[1])
        .draw()
        .map_err(&err)?;
    for (k, label) in legend.iter().enumerate() {
        let colour = cluster_colour(k);
        chart
            .draw_series(
                points
                    .iter()
                    .zip(clusters)
                    .filter(|(_, &c)| c == k)
                    .map(|(&p, _)| Circle::new(p, 2, colour.mix(0.55).filled())),
            )
            .map_err(&err)?
            .label(label.clone())
            .legend(move |(x, y)| Circle::new((x + 8, y), 5, colour.filled()));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperRight)
        .draw()
        .map_err(&err)?;
    root.present().map_err(&err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Text renders with the committed font: a picture with a title has dark pixels where
    /// the same picture without a title has none.
    #[test]
    fn text_renders_without_a_system_font() {
        let tmp = tempfile::tempdir().unwrap();
        let dark_pixels = |title: &str| {
            let path = tmp.path().join("m.png");
            let rows: Vec<(String, Vec<&[u8]>)> = vec![(String::new(), vec![])];
            montage(
                &path,
                title,
                &rows,
                ImageLayout {
                    height: 2,
                    width: 2,
                    channels: 1,
                    invert: true,
                },
            )
            .unwrap();
            let img = image::open(&path).unwrap().to_rgb8();
            img.pixels().filter(|p| p.0[0] < 128).count()
        };
        assert_eq!(dark_pixels(""), 0);
        assert!(dark_pixels("Fashion-MNIST") > 50);
    }
}
