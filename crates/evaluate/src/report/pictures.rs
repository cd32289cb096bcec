//! Pictures: confusion heatmaps for every run; for the first run of each group its
//! autoencoder's loss curves, a montage of test images per cluster and a 2-D scatter.
//! A picture that cannot be drawn is an error naming it; one whose source artifact
//! cannot be found is a warning listed in the report.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use aeclust_artifact::kinds::{
    Features, ImageSplit, KSearch, Method, ModelInfo, PerSplit, Split, TrainingHistory,
};
use aeclust_pca::Pca;

use super::load::{ClusteringRun, SplitAssignments};
use super::{invalid, Result};
use crate::metrics::SplitMetrics;
use crate::plots;

/// What was drawn: file names, the Markdown that shows them, and what was not drawn.
#[derive(Debug, Default)]
pub(crate) struct Pictures {
    pub files: Vec<String>,
    pub markdown: String,
    pub warnings: Vec<String>,
}

/// Untrusted text (a class name) as one Markdown table cell: `|` escaped, one line.
fn md_cell(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace(['\n', '\r'], " ")
}

fn slug(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// Rows a scatter's PCA is fitted on at most (every row is then projected): the
/// report's cost grows with what it draws, not with rows × columns.
const PROJECTION_SAMPLE: usize = 2_000;

/// The first two principal axes of the scatter's features (SCAN: its neighbours'
/// codes), fitted on an evenly spaced sample of rows: codes whose info says their
/// columns are principal axes already are taken as they are (a second PCA of whitened
/// ones would pick arbitrary directions).
fn projection(run: &ClusteringRun, split: Split) -> Result<Vec<(f64, f64)>> {
    let f = Features::load(&run.scatter, split)?;
    let (n, d) = (f.len(), f.dim);
    if run.principal_axes()? && d >= 2 {
        return Ok(f
            .values
            .chunks_exact(d)
            .map(|r| (f64::from(r[0]), f64::from(r[1])))
            .collect());
    }
    let step = n.div_ceil(PROJECTION_SAMPLE).max(1);
    let sample: Vec<usize> = (0..n).step_by(step).collect();
    let x = ndarray::Array2::from_shape_fn((sample.len(), d), |(i, j)| {
        f64::from(f.values[sample[i] * d + j])
    });
    let pca = Pca::fit(x.view(), 2.min(d), false);
    let axis = |k: usize, row: &[f32]| -> f64 {
        if k >= pca.components.nrows() {
            return 0.0;
        }
        row.iter()
            .zip(pca.mean.iter())
            .zip(pca.components.row(k).iter())
            .map(|((&v, &m), &c)| (f64::from(v) - m) * c)
            .sum()
    };
    Ok(f.values
        .chunks_exact(d.max(1))
        .map(|r| (axis(0, r), axis(1, r)))
        .collect())
}

fn read_history(model: &aeclust_artifact::Artifact) -> Result<TrainingHistory> {
    let path = model.path(ModelInfo::HISTORY_FILE)?;
    let text = std::fs::read_to_string(&path)
        .map_err(|e| aeclust_artifact::ArtifactError::io(&path, e))?;
    serde_json::from_str(&text).map_err(|e| invalid(&path, format!("not a training history: {e}")))
}

/// Members of every cluster, most typical first: highest posterior (GMM) or smallest
/// distance to the centroid (K-Means).
pub(crate) fn members_by_typicality(run: &ClusteringRun, a: &SplitAssignments) -> Vec<Vec<usize>> {
    let mut members = vec![Vec::new(); run.k()];
    for j in typical_order(run, a) {
        members[a.clusters[j]].push(j);
    }
    members
}

/// Every row of `a`, the most typical first: highest confidence (GMM, SCAN) or smallest
/// distance to the centroid (K-Means), ties by row.
fn typical_order(run: &ClusteringRun, a: &SplitAssignments) -> Vec<usize> {
    let mut rows: Vec<usize> = (0..a.len()).collect();
    let higher_is_typical = run.info.params.method() != Method::Kmeans;
    rows.sort_by(|&x, &y| {
        let (cx, cy) = (a.confidence[x], a.confidence[y]);
        let order = if higher_is_typical {
            cy.total_cmp(&cx)
        } else {
            cx.total_cmp(&cy)
        };
        order.then(x.cmp(&y))
    });
    rows
}

/// Images shown per cluster in a montage.
const MONTAGE_WIDTH: usize = 10;

/// How a run names classes and clusters: `3 → Dress` when the clusters were matched to
/// classes, else the cluster's number.
struct Names<'a> {
    classes: &'a [aeclust_artifact::kinds::ClassName],
}

impl Names<'_> {
    fn class(&self, l: u8) -> String {
        aeclust_artifact::kinds::ClassName::of(self.classes, l)
    }

    fn cluster(&self, m: Option<&SplitMetrics>, c: usize) -> String {
        match m {
            Some(m) => format!(
                "{c} → {}",
                m.mapping[c].map_or("unmatched".into(), |l| self.class(l))
            ),
            None => c.to_string(),
        }
    }
}

/// One run's pictures: where they go, their file tag, and the run's names.
struct Canvas<'a> {
    dir: &'a Path,
    run: &'a ClusteringRun,
    tag: String,
    names: Names<'a>,
}

impl Canvas<'_> {
    /// A confusion heatmap per labelled split; shown in the Markdown when `shown`.
    fn confusions(
        &self,
        metrics: &PerSplit<Option<SplitMetrics>>,
        shown: bool,
        out: &mut Pictures,
    ) -> Result<()> {
        let (run, classes) = (self.run, self.names.classes);
        for split in Split::ALL {
            let Some(m) = metrics.get(split) else {
                continue;
            };
            let rows: Vec<String> = if classes.len() == m.confusion.len() {
                classes.iter().map(|c| c.name.clone()).collect()
            } else {
                (0..m.confusion.len()).map(|r| r.to_string()).collect()
            };
            let cols: Vec<String> = m
                .confusion_columns
                .iter()
                .map(|&c| match m.mapping[c] {
                    Some(l) => format!("{c} → {}", self.names.class(l)),
                    None => format!("{c} (unmatched)"),
                })
                .collect();
            let file = format!("confusion-{}-{split}.png", self.tag);
            plots::confusion_heatmap(
                &self.dir.join(&file),
                &format!("{} — {split}, accuracy {:.3}", run.title(), m.acc),
                &m.confusion,
                &rows,
                &cols,
            )?;
            if shown {
                let _ = writeln!(out.markdown, "![confusion {split}]({file})\n");
                // The same counts as a table: true class per row, cluster per column.
                let _ = writeln!(
                    out.markdown,
                    "Confusion, {split} split (rows: true class; columns: cluster → its matched class):\n\n| class | {} |\n|---|{}",
                    cols.iter().map(|c| md_cell(c)).collect::<Vec<_>>().join(" | "),
                    "---|".repeat(cols.len())
                );
                for (name, counts) in rows.iter().zip(&m.confusion) {
                    let cells: Vec<String> = counts.iter().map(|n| n.to_string()).collect();
                    let _ = writeln!(
                        out.markdown,
                        "| {} | {} |",
                        md_cell(name),
                        cells.join(" | ")
                    );
                }
                out.markdown.push('\n');
            }
            out.files.push(file);
        }
        Ok(())
    }

    /// The training and validation loss per epoch of the model the codes came from,
    /// titled with the model's own encoder family.
    fn loss_curves(&self, model: &aeclust_artifact::Artifact, out: &mut Pictures) -> Result<()> {
        let info: ModelInfo = model.info()?;
        let history = read_history(model)?;
        let file = format!("loss-{}.png", self.tag);
        let train: Vec<f64> = history.epochs.iter().map(|e| e.train_loss).collect();
        let val: Vec<Option<f64>> = history.epochs.iter().map(|e| e.val_loss).collect();
        let name = model
            .dir()
            .file_name()
            .map_or("model".into(), |n| n.to_string_lossy().into_owned());
        plots::loss_curves(
            &self.dir.join(&file),
            &format!("{} loss ({name})", info.encoder),
            &train,
            &val,
        )?;
        let _ = writeln!(out.markdown, "![loss curves]({file})\n");
        out.files.push(file);
        Ok(())
    }

    /// Every criterion of a search over k, by k, with the kept k marked (the deciding
    /// one as `k-curve-TAG.png`, the others as `k-curve-TAG-NAME.png`), the decision and a
    /// table of every criterion at every k.
    fn k_curve(&self, search: &KSearch, out: &mut Pictures) -> Result<()> {
        let run = self.run;
        let _ = writeln!(
            out.markdown,
            "Searched k = {} in {:.1} s. Proposed: {}.{}\n",
            run.info.params.k,
            search.seconds,
            search.decision,
            if search.best_at_edge() {
                " It is an end of the range: the criterion may keep improving beyond it."
            } else {
                ""
            }
        );
        for (i, c) in search.criteria.iter().enumerate() {
            let file = if i == 0 {
                format!("k-curve-{}.png", self.tag)
            } else {
                format!("k-curve-{}-{}.png", self.tag, slug(&c.name))
            };
            let points: Vec<(usize, f64)> = search
                .curve
                .iter()
                .zip(&c.values)
                .filter_map(|(p, v)| v.map(|v| (p.k, v)))
                .collect();
            if points.iter().all(|p| !p.1.is_finite()) {
                continue;
            }
            plots::k_curve(
                &self.dir.join(&file),
                &format!(
                    "{}: {} by k ({} is better)",
                    run.info.params.method_title(),
                    c.name,
                    if c.lower_is_better { "lower" } else { "higher" }
                ),
                &points,
                search.best_k,
                &c.name,
            )?;
            let _ = writeln!(out.markdown, "![{} by k]({file})\n", c.name);
            out.files.push(file);
        }
        if !search.criteria.is_empty() {
            let names: Vec<&str> = search.criteria.iter().map(|c| c.name.as_str()).collect();
            let _ = writeln!(
                out.markdown,
                "| k | {} |\n|---|{}",
                names.join(" | "),
                "---|".repeat(names.len())
            );
            for (i, p) in search.curve.iter().enumerate() {
                let cells: Vec<String> = search
                    .criteria
                    .iter()
                    .map(|c| {
                        c.values
                            .get(i)
                            .copied()
                            .flatten()
                            .map_or("–".into(), |v| format!("{v:.4}"))
                    })
                    .collect();
                let mark = if p.k == search.best_k {
                    " **(proposed)**"
                } else {
                    ""
                };
                let _ = writeln!(out.markdown, "| {}{mark} | {} |", p.k, cells.join(" | "));
            }
            out.markdown.push('\n');
        }
        Ok(())
    }

    /// The tree of a search's finest clusters as a dendrogram with a strip of typical
    /// images per leaf, and the images of the tree cut into k − 1, k and k + 1 groups.
    fn tree(
        &self,
        search: &KSearch,
        images: Option<(&ImageSplit, plots::ImageLayout)>,
        split: Split,
        shown: &SplitAssignments,
        out: &mut Pictures,
    ) -> Result<()> {
        let (Some(tree), Some(leaves)) = (&search.tree, &shown.leaves) else {
            return Ok(());
        };
        let order = typical_order(self.run, shown);
        let strip = |member: &dyn Fn(usize) -> bool, n: usize| -> Vec<&[u8]> {
            match images {
                Some((img, _)) => order
                    .iter()
                    .copied()
                    .filter(|&j| member(j))
                    .take(n)
                    .map(|j| img.image(j))
                    .collect(),
                None => Vec::new(),
            }
        };
        let rows: Vec<(String, Vec<&[u8]>)> = (0..tree.leaves())
            .map(|l| {
                (
                    format!("leaf {l} ({} train)", tree.leaf_sizes[l]),
                    strip(&|j| leaves[j] == l, 8),
                )
            })
            .collect();
        let layout = images.map_or(
            plots::ImageLayout {
                height: 1,
                width: 1,
                channels: 1,
                invert: false,
            },
            |(_, layout)| layout,
        );
        let file = format!("tree-{}.png", self.tag);
        plots::dendrogram(
            &self.dir.join(&file),
            &format!(
                "{}: the {} clusters of k = {} merged (Ward), {split} images",
                self.run.title(),
                tree.leaves(),
                tree.leaves()
            ),
            tree,
            &rows,
            layout,
            search.best_k,
        )?;
        let _ = writeln!(
            out.markdown,
            "The tree: the {} clusters of the largest k searched, merged pairwise by Ward's \
             criterion (closest first). Reading it from the right, each merge undone adds a \
             group; the red line cuts it into the proposed k = {}.\n\n![cluster tree]({file})\n",
            tree.leaves(),
            search.best_k
        );
        out.files.push(file);
        if images.is_none() {
            return Ok(());
        }
        let k = search.best_k;
        for cut in [k.saturating_sub(1), k, k + 1] {
            if cut < 1 || cut > tree.leaves() {
                continue;
            }
            let groups = tree.cut(cut);
            let rows: Vec<(String, Vec<&[u8]>)> = (0..cut)
                .map(|g| {
                    let count = leaves.iter().filter(|&&l| groups[l] == g).count();
                    let members = (0..tree.leaves()).filter(|&l| groups[l] == g).count();
                    (
                        format!("group {g}: {count} ({members} leaves)"),
                        strip(&|j| groups[leaves[j]] == g, MONTAGE_WIDTH),
                    )
                })
                .collect();
            self.montage(
                format!("tree-cut-{}-k{cut}.png", self.tag),
                &format!("the tree cut into {cut} groups: typical {split} images"),
                &rows,
                layout,
                &format!("tree cut into {cut} groups"),
                out,
            )?;
        }
        Ok(())
    }

    /// A montage of `rows` as `file`, shown in the Markdown as `alt`.
    fn montage(
        &self,
        file: String,
        title: &str,
        rows: &[(String, Vec<&[u8]>)],
        layout: plots::ImageLayout,
        alt: &str,
        out: &mut Pictures,
    ) -> Result<()> {
        plots::montage(&self.dir.join(&file), title, rows, layout)?;
        let _ = writeln!(out.markdown, "![{alt}]({file})\n");
        out.files.push(file);
        Ok(())
    }

    /// The table of cluster sizes (train, and the shown split).
    fn sizes(
        &self,
        split: Split,
        members: &[Vec<usize>],
        m: Option<&SplitMetrics>,
        out: &mut Pictures,
    ) {
        let _ = writeln!(
            out.markdown,
            "| cluster | train images | {split} images |\n|---|---|---|"
        );
        for (c, mem) in members.iter().enumerate() {
            let _ = writeln!(
                out.markdown,
                "| {} | {} | {} |",
                self.names.cluster(m, c),
                self.run
                    .info
                    .cluster_sizes_train
                    .get(c)
                    .copied()
                    .unwrap_or(0),
                mem.len()
            );
        }
        out.markdown.push('\n');
    }

    /// The shown split's images, checked to be the assigned rows, and how to draw them.
    fn shown_images(
        &self,
        (dataset, info): &(
            aeclust_artifact::Artifact,
            aeclust_artifact::kinds::DatasetInfo,
        ),
        split: Split,
        n: usize,
    ) -> Result<(ImageSplit, plots::ImageLayout)> {
        let path = dataset.path(split.file_name())?;
        let images = ImageSplit::read(&path)?;
        if images.len() != n {
            return Err(invalid(
                &path,
                format!(
                    "{} {split} images, but {} assigns {n} {split} rows: the dataset is not the one the features came from",
                    images.len(),
                    self.run.clustering.dir().display(),
                ),
            ));
        }
        let layout = plots::ImageLayout {
            height: images.height,
            width: images.width,
            channels: images.channels,
            invert: info.folder.is_none(),
        };
        Ok((images, layout))
    }

    /// The most and the least typical images of every cluster of the shown split.
    fn montages(
        &self,
        (images, layout): (&ImageSplit, plots::ImageLayout),
        split: Split,
        members: &[Vec<usize>],
        m: Option<&SplitMetrics>,
        out: &mut Pictures,
    ) -> Result<()> {
        let run = self.run;
        for (kind, file, pick) in [
            ("most typical", format!("montage-{}.png", self.tag), true),
            (
                "least typical",
                format!("montage-atypical-{}.png", self.tag),
                false,
            ),
        ] {
            let rows: Vec<(String, Vec<&[u8]>)> = members
                .iter()
                .enumerate()
                .map(|(c, mem)| {
                    let chosen: Vec<usize> = if pick {
                        mem.iter().take(MONTAGE_WIDTH).copied().collect()
                    } else {
                        mem.iter().rev().take(MONTAGE_WIDTH).copied().collect()
                    };
                    (
                        format!("cluster {} ({})", self.names.cluster(m, c), mem.len()),
                        chosen.iter().map(|&j| images.image(j)).collect(),
                    )
                })
                .collect();
            self.montage(
                file,
                &format!("{}: {kind} {split} images per cluster", run.title()),
                &rows,
                layout,
                &format!("{kind} members"),
                out,
            )?;
        }
        Ok(())
    }

    /// The shown split's points on two axes, coloured by cluster.
    fn scatter(
        &self,
        points: &[(f64, f64)],
        split: Split,
        shown: &SplitAssignments,
        m: Option<&SplitMetrics>,
        out: &mut Pictures,
    ) -> Result<()> {
        let run = self.run;
        if points.len() != shown.len() {
            return Err(invalid(
                run.scatter.dir(),
                format!(
                    "{} {split} rows, but {} assigns {}",
                    points.len(),
                    run.clustering.dir().display(),
                    shown.len()
                ),
            ));
        }
        let legend: Vec<String> = (0..run.k()).map(|c| self.names.cluster(m, c)).collect();
        let file = format!("scatter-{}.png", self.tag);
        plots::scatter(
            &self.dir.join(&file),
            &format!("{}: {split} points by cluster", run.title()),
            points,
            &shown.clusters,
            &legend,
            ["principal component 1", "principal component 2"],
        )?;
        let _ = writeln!(out.markdown, "![scatter]({file})\n");
        out.files.push(file);
        Ok(())
    }
}

/// Draws every picture into `dir`: a confusion heatmap per labelled split of every run;
/// for the first run of each group also its model's loss curves, its k curve, its
/// cluster sizes, montages and a scatter.
pub(crate) fn draw(
    dir: &Path,
    runs: &[ClusteringRun],
    assignments: &[PerSplit<SplitAssignments>],
    metrics: &[PerSplit<Option<SplitMetrics>>],
    groups: &[(String, Vec<usize>)],
) -> Result<Pictures> {
    let mut out = Pictures::default();
    let mut drawn_models: Vec<PathBuf> = Vec::new();
    let mut projections: BTreeMap<(PathBuf, Split), Vec<(f64, f64)>> = BTreeMap::new();
    for (i, run) in runs.iter().enumerate() {
        let canvas = Canvas {
            dir,
            run,
            tag: format!("{}-seed{}", slug(&run.name), run.seed()),
            names: Names {
                classes: run.classes(),
            },
        };
        let is_first = groups.iter().any(|(_, members)| members[0] == i);
        if is_first {
            let _ = writeln!(
                out.markdown,
                "\n### {} (`{}`, seed {})\n",
                run.title(),
                run.name,
                run.seed()
            );
        }
        canvas.confusions(&metrics[i], is_first, &mut out)?;
        for w in &run.missing {
            out.warnings
                .push(format!("`{}` (seed {}): {w}", run.name, run.seed()));
        }
        if !is_first {
            continue;
        }
        if let Some(model) = &run.model {
            if !drawn_models.contains(&model.dir().to_path_buf()) {
                drawn_models.push(model.dir().to_path_buf());
                canvas.loss_curves(model, &mut out)?;
            }
        }
        if let Some(search) = &run.info.k_search {
            canvas.k_curve(search, &mut out)?;
        }
        let split = run.shown_split();
        let shown = assignments[i].get(split);
        let m = metrics[i].get(split).as_ref();
        let members = members_by_typicality(run, shown);
        canvas.sizes(split, &members, m, &mut out);
        let images = match &run.dataset {
            Some(dataset) => Some(canvas.shown_images(dataset, split, shown.len())?),
            None => None,
        };
        let images = images.as_ref().map(|(i, layout)| (i, *layout));
        if let Some(images) = images {
            canvas.montages(images, split, &members, m, &mut out)?;
        }
        if let Some(search) = &run.info.k_search {
            canvas.tree(search, images, split, shown, &mut out)?;
        }
        let key = (run.scatter.dir().to_path_buf(), split);
        if !projections.contains_key(&key) {
            projections.insert(key.clone(), projection(run, split)?);
        }
        canvas.scatter(&projections[&key], split, shown, m, &mut out)?;
    }
    Ok(out)
}

/// A map of each codes artifact in `maps` (its first two columns, e.g. a 2-D UMAP): its
/// test split, or its train split when it has no test split; coloured by true class when
/// labelled.
pub(crate) fn draw_maps(dir: &Path, maps: &[aeclust_artifact::Artifact]) -> Result<Pictures> {
    let mut out = Pictures::default();
    if !maps.is_empty() {
        out.markdown.push_str("\n### Maps of the codes\n\n");
    }
    for map in maps {
        let info: aeclust_artifact::kinds::CodesInfo = map.info()?;
        let test = Features::load(map, Split::Test)?;
        let (f, split) = if test.is_empty() {
            (Features::load(map, Split::Train)?, Split::Train)
        } else {
            (test, Split::Test)
        };
        if f.dim < 2 {
            return Err(invalid(
                map.dir(),
                "a map needs codes of at least 2 dimensions",
            ));
        }
        let labelled = f.labels.is_some();
        let truth = f.labels.clone().unwrap_or_else(|| vec![0; f.len()]);
        let labels: Vec<u8> = if info.classes.is_empty() {
            let mut l = truth.clone();
            l.sort_unstable();
            l.dedup();
            l
        } else {
            info.classes.iter().map(|c| c.label).collect()
        };
        let class_of: Vec<usize> = truth
            .iter()
            .map(|l| labels.iter().position(|x| x == l).unwrap_or(0))
            .collect();
        let legend: Vec<String> = if labelled {
            labels
                .iter()
                .map(|&l| aeclust_artifact::kinds::ClassName::of(&info.classes, l))
                .collect()
        } else {
            vec!["image".into()]
        };
        let points: Vec<(f64, f64)> = f
            .values
            .chunks_exact(f.dim)
            .map(|r| (f64::from(r[0]), f64::from(r[1])))
            .collect();
        let name: Vec<String> = map
            .dir()
            .components()
            .rev()
            .take(2)
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        let file = format!(
            "map-{}.png",
            slug(&format!("{}-{}", name[name.len() - 1], name[0]))
        );
        plots::scatter(
            &dir.join(&file),
            &format!(
                "{} codes ({}-d): {split} split{}",
                info.encoder,
                f.dim,
                if labelled { " by true class" } else { "" }
            ),
            &points,
            &class_of,
            &legend,
            ["dimension 1", "dimension 2"],
        )?;
        let _ = writeln!(out.markdown, "![map]({file})\n");
        out.files.push(file);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_cells_keep_untrusted_text_in_one_cell() {
        assert_eq!(md_cell("a|b\nc"), "a\\|b c");
        assert_eq!(md_cell("Ankle boot"), "Ankle boot");
    }

    #[test]
    fn slugs_are_file_safe() {
        assert_eq!(slug("gmm codes/1"), "gmm-codes-1");
        assert_eq!(slug("kmeans-pixels"), "kmeans-pixels");
    }

    #[test]
    fn a_picture_that_cannot_be_written_is_an_error_naming_it() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("no-such-dir/loss.png");
        let err = plots::loss_curves(&path, "t", &[0.3, 0.2], &[Some(0.31), None])
            .unwrap_err()
            .to_string();
        assert!(err.contains("loss.png"), "{err}");
    }
}
