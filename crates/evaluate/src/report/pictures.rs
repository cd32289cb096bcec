//! Pictures: confusion heatmaps for every run; for the first run of each group its
//! autoencoder's loss curves, a montage of test images per cluster and a 2-D scatter.
//! A picture that cannot be drawn is an error naming it; one whose source artifact
//! cannot be found is a warning listed in the report.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use aeclust_artifact::kinds::{
    Features, ImageSplit, Method, ModelInfo, PerSplit, Split, TrainingHistory,
};
use aeclust_pca::Pca;
use ndarray::ArrayView2;

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

/// The first two principal axes of a features matrix: PCA codes are already principal
/// components (a second PCA of whitened ones would pick arbitrary directions).
fn projection(run: &ClusteringRun, split: Split) -> Result<Vec<(f64, f64)>> {
    let f = Features::load(&run.features, split)?;
    let from_pca = run.encoder().is_some_and(|e| e.starts_with("pca"));
    if from_pca && f.dim >= 2 {
        return Ok(f
            .values
            .chunks_exact(f.dim)
            .map(|r| (f64::from(r[0]), f64::from(r[1])))
            .collect());
    }
    let x = ArrayView2::from_shape((f.len(), f.dim), &f.values)
        .expect("features fill their shape")
        .mapv(f64::from);
    let z = Pca::fit_transform(x.view(), 2.min(f.dim), false);
    Ok(z.outer_iter()
        .map(|r| (r[0], if r.len() > 1 { r[1] } else { 0.0 }))
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
fn members_by_typicality(run: &ClusteringRun, a: &SplitAssignments) -> Vec<Vec<usize>> {
    let mut members = vec![Vec::new(); run.k()];
    for (j, &c) in a.clusters.iter().enumerate() {
        members[c].push(j);
    }
    let higher_is_typical = run.info.params.method != Method::Kmeans;
    for m in &mut members {
        m.sort_by(|&x, &y| {
            let (cx, cy) = (a.confidence[x], a.confidence[y]);
            let order = if higher_is_typical {
                cy.total_cmp(&cx)
            } else {
                cx.total_cmp(&cy)
            };
            order.then(x.cmp(&y))
        });
    }
    members
}

/// Images shown per cluster in a montage.
const MONTAGE_WIDTH: usize = 10;

/// Draws every picture into `dir`.
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
        let classes = run.classes();
        let class_name = |l: u8| {
            classes
                .iter()
                .find(|c| c.label == l)
                .map_or(l.to_string(), |c| c.name.clone())
        };
        let cluster_name = |m: Option<&SplitMetrics>, c: usize| match m {
            Some(m) => format!(
                "{c} → {}",
                m.mapping[c].map_or("unmatched".into(), class_name)
            ),
            None => c.to_string(),
        };
        let tag = format!("{}-seed{}", slug(&run.name), run.seed());
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
        for split in Split::ALL {
            let Some(m) = metrics[i].get(split) else {
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
                    Some(l) => format!("{c} → {}", class_name(l)),
                    None => format!("{c} (unmatched)"),
                })
                .collect();
            let file = format!("confusion-{tag}-{split}.png");
            plots::confusion_heatmap(
                &dir.join(&file),
                &format!("{} — {split}, accuracy {:.3}", run.title(), m.acc),
                &m.confusion,
                &rows,
                &cols,
            )?;
            if is_first {
                let _ = writeln!(out.markdown, "![confusion {split}]({file})\n");
            }
            out.files.push(file);
        }
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
                let history = read_history(model)?;
                let file = format!("loss-{tag}.png");
                let train: Vec<f64> = history.epochs.iter().map(|e| e.train_loss).collect();
                let val: Vec<Option<f64>> = history.epochs.iter().map(|e| e.val_loss).collect();
                let name = model
                    .dir()
                    .file_name()
                    .map_or("model".into(), |n| n.to_string_lossy().into_owned());
                plots::loss_curves(
                    &dir.join(&file),
                    &format!("Autoencoder loss ({name})"),
                    &train,
                    &val,
                )?;
                let _ = writeln!(out.markdown, "![loss curves]({file})\n");
                out.files.push(file);
            }
        }
        if let Some(search) = &run.info.k_search {
            let file = format!("k-curve-{tag}.png");
            let points: Vec<(usize, f64)> = search.curve.iter().map(|p| (p.k, p.score)).collect();
            plots::k_curve(
                &dir.join(&file),
                &format!(
                    "{}: {} by k ({} is better)",
                    run.info.params.method_title(),
                    search.criterion,
                    if search.lower_is_better {
                        "lower"
                    } else {
                        "higher"
                    }
                ),
                &points,
                search.best_k,
                &search.criterion,
            )?;
            let _ = writeln!(
                out.markdown,
                "Searched k = {} by {} in {:.1} s; kept k = {}.{}\n\n![k curve]({file})\n",
                run.info.params.k,
                search.criterion,
                search.seconds,
                search.best_k,
                if search.best_at_edge() {
                    " It is an end of the range: the criterion may keep improving beyond it."
                } else {
                    ""
                }
            );
            out.files.push(file);
        }
        let split = run.shown_split();
        let shown = assignments[i].get(split);
        let m = metrics[i].get(split).as_ref();
        let members = members_by_typicality(run, shown);
        let _ = writeln!(
            out.markdown,
            "| cluster | train images | {split} images |\n|---|---|---|"
        );
        for (c, mem) in members.iter().enumerate() {
            let _ = writeln!(
                out.markdown,
                "| {} | {} | {} |",
                cluster_name(m, c),
                run.info.cluster_sizes_train.get(c).copied().unwrap_or(0),
                mem.len()
            );
        }
        out.markdown.push('\n');
        if let Some((dataset, info)) = &run.dataset {
            let path = dataset.path(split.file_name())?;
            let images = ImageSplit::read(&path)?;
            if images.len() != shown.len() {
                return Err(invalid(
                    &path,
                    format!(
                        "{} {split} images, but {} assigns {} {split} rows: the dataset is not the one the features came from",
                        images.len(),
                        run.clustering.dir().display(),
                        shown.len()
                    ),
                ));
            }
            let layout = plots::ImageLayout {
                height: images.height,
                width: images.width,
                channels: images.channels,
                invert: info.folder.is_none(),
            };
            for (kind, file, pick) in [
                ("most typical", format!("montage-{tag}.png"), true),
                (
                    "least typical",
                    format!("montage-atypical-{tag}.png"),
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
                            format!("cluster {} ({})", cluster_name(m, c), mem.len()),
                            chosen.iter().map(|&j| images.image(j)).collect(),
                        )
                    })
                    .collect();
                plots::montage(
                    &dir.join(&file),
                    &format!("{}: {kind} {split} images per cluster", run.title()),
                    &rows,
                    layout,
                )?;
                let _ = writeln!(out.markdown, "![{kind} members]({file})\n");
                out.files.push(file);
            }
        }
        let key = (run.features.dir().to_path_buf(), split);
        if !projections.contains_key(&key) {
            projections.insert(key.clone(), projection(run, split)?);
        }
        let points = &projections[&key];
        if points.len() != shown.len() {
            return Err(invalid(
                run.features.dir(),
                format!(
                    "{} {split} rows, but {} assigns {}",
                    points.len(),
                    run.clustering.dir().display(),
                    shown.len()
                ),
            ));
        }
        let legend: Vec<String> = (0..run.k()).map(|c| cluster_name(m, c)).collect();
        let file = format!("scatter-{tag}.png");
        plots::scatter(
            &dir.join(&file),
            &format!("{}: {split} points by cluster", run.title()),
            points,
            &shown.clusters,
            &legend,
            ["principal component 1", "principal component 2"],
        )?;
        let _ = writeln!(out.markdown, "![scatter]({file})\n");
        out.files.push(file);
    }
    Ok(out)
}

/// A map of the test split of each codes artifact in `maps` (its first two columns, e.g.
/// a 2-D UMAP), coloured by true class.
pub(crate) fn draw_maps(dir: &Path, maps: &[aeclust_artifact::Artifact]) -> Result<Pictures> {
    let mut out = Pictures::default();
    if !maps.is_empty() {
        out.markdown
            .push_str("\n### Maps of the test codes, coloured by true class\n\n");
    }
    for map in maps {
        let info: aeclust_artifact::kinds::CodesInfo = map.info()?;
        let f = Features::load(map, Split::Test)?;
        if f.dim < 2 {
            return Err(invalid(
                map.dir(),
                "a map needs codes of at least 2 dimensions",
            ));
        }
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
        let legend: Vec<String> = labels
            .iter()
            .map(|&l| {
                info.classes
                    .iter()
                    .find(|c| c.label == l)
                    .map_or(l.to_string(), |c| c.name.clone())
            })
            .collect();
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
                "{} codes ({}-d): test split by true class",
                info.encoder, f.dim
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
