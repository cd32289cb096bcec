//! Loading clustering artifacts, computing metrics, writing the report.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use aeclust_artifact::kinds::{self, split_file, Features, ImageSplit};
use aeclust_artifact::{
    open_artifact, sha256_file, ArtifactError, Manifest, Outcome, Stage, TensorFile,
};
use serde_json::{json, Value};

use crate::metrics::{evaluate, SplitMetrics};
use crate::{plots, projection, ReportError};

type Result<T> = std::result::Result<T, ReportError>;

/// The study's accuracies: (method, features, accuracy).
pub const PAPER_RESULTS: [(&str, &str, f64); 3] = [
    ("kmeans", "pixels", 0.55),
    ("kmeans", "codes", 0.56),
    ("gmm", "codes", 0.61),
];

/// Per split: cluster ids and true labels.
type SplitAssignments = BTreeMap<&'static str, (Vec<usize>, Vec<u8>)>;

/// Everything read from one clustering artifact.
struct Input {
    name: String,
    dir: PathBuf,
    manifest: Manifest,
    k: usize,
    assignments: SplitAssignments,
    features_dir: PathBuf,
    features: Manifest,
    dataset_dir: Option<PathBuf>,
    model_dir: Option<PathBuf>,
}

impl Input {
    fn summary(&self) -> &Value {
        &self.manifest.info
    }
    fn method(&self) -> String {
        self.summary()["method"].as_str().unwrap_or("?").to_string()
    }
    fn feature_kind(&self) -> String {
        self.summary()["features"]["kind"]
            .as_str()
            .unwrap_or("?")
            .to_string()
    }
    fn seed(&self) -> u64 {
        self.summary()["params"]["seed"].as_u64().unwrap_or(0)
    }
    fn classes(&self) -> Vec<(u8, String)> {
        self.features.info["classes"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|c| {
                        Some((c["label"].as_u64()? as u8, c["name"].as_str()?.to_string()))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
    fn title(&self) -> String {
        let method = match self.method().as_str() {
            "kmeans" => "K-Means".to_string(),
            "gmm" => format!(
                "GMM ({})",
                self.summary()["params"]["covariance"]
                    .as_str()
                    .unwrap_or("?")
            ),
            m => m.to_string(),
        };
        let features = match self.feature_kind().as_str() {
            "pixels" => "pixels".to_string(),
            _ => {
                let enc = self.features.info["encoder"].as_str().unwrap_or("encoder");
                format!("{enc} codes ({}-d)", self.summary()["features"]["dim"])
            }
        };
        format!("{method} on {features}")
    }
}

fn invalid(path: &Path, message: impl Into<String>) -> ReportError {
    ReportError::Invalid {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

fn read_assignments(dir: &Path, k: usize) -> Result<SplitAssignments> {
    let path = dir.join("assignments.safetensors");
    let file = TensorFile::open(&path)?;
    let mut out = BTreeMap::new();
    for split in kinds::SPLITS {
        let a = file.read::<u32>(&format!("{split}_assignments"), Some(1))?;
        let l = file.read::<u8>(&format!("{split}_labels"), Some(1))?;
        if a.data.len() != l.data.len() {
            return Err(invalid(
                &path,
                format!(
                    "{split}: {} assignments for {} labels",
                    a.data.len(),
                    l.data.len()
                ),
            ));
        }
        if let Some(&bad) = a.data.iter().find(|&&c| c as usize >= k) {
            return Err(invalid(
                &path,
                format!("{split}: cluster id {bad} but k = {k}"),
            ));
        }
        out.insert(
            split,
            (a.data.iter().map(|&c| c as usize).collect(), l.data),
        );
    }
    Ok(out)
}

fn load_input(dir: &Path) -> Result<Input> {
    let manifest = open_artifact(dir, &[kinds::CLUSTERING])?;
    let k = manifest.info["params"]["k"]
        .as_u64()
        .ok_or_else(|| invalid(dir, "manifest has no params.k"))? as usize;
    let assignments = read_assignments(dir, k)?;
    let features_dir = PathBuf::from(
        manifest.info["features"]["path"]
            .as_str()
            .ok_or_else(|| invalid(dir, "manifest names no features artifact"))?,
    );
    let features = open_artifact(&features_dir, &[kinds::DATASET, kinds::CODES])?;
    let (dataset_dir, model_dir) = if features.stage == kinds::DATASET {
        (Some(features_dir.clone()), None)
    } else {
        let p = |key: &str| features.info[key]["path"].as_str().map(PathBuf::from);
        (p("dataset"), p("model"))
    };
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "clustering".into());
    Ok(Input {
        name,
        dir: dir.to_path_buf(),
        manifest,
        k,
        assignments,
        features_dir,
        features,
        dataset_dir,
        model_dir,
    })
}

fn mean_std(values: &[f64]) -> (f64, f64) {
    let n = values.len().max(1) as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = if values.len() > 1 {
        values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (values.len() - 1) as f64
    } else {
        0.0
    };
    (mean, var.sqrt())
}

fn fmt_stat(values: &[f64]) -> String {
    let (m, s) = mean_std(values);
    if values.len() > 1 {
        format!("{m:.3} ± {s:.3}")
    } else {
        format!("{m:.3}")
    }
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

fn write_text(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|e| {
        ReportError::Artifact(ArtifactError::Io {
            path: path.to_path_buf(),
            source: e,
        })
    })
}

/// Evaluates the clustering artifacts `dirs` and writes the report to `out` (reused when
/// nothing changed unless `force`).
/// The report's summary table (Markdown) is in `manifest.info["table"]`.
pub fn run(dirs: &[PathBuf], out: &Path, force: bool) -> Result<Outcome> {
    if dirs.is_empty() {
        return Err(ReportError::NoInput);
    }
    let inputs = dirs
        .iter()
        .map(|d| load_input(d))
        .collect::<Result<Vec<_>>>()?;
    // Every file the report reads enters the cache key.
    let mut files: Vec<PathBuf> = Vec::new();
    for i in &inputs {
        files.push(i.dir.join("assignments.safetensors"));
        files.push(i.dir.join("manifest.json"));
        files.push(split_file(&i.features_dir, "test"));
        if let Some(d) = &i.dataset_dir {
            files.push(split_file(d, "test"));
        }
        if let Some(m) = &i.model_dir {
            files.push(m.join("history.json"));
        }
    }
    files.sort();
    files.dedup();
    let names: Vec<String> = inputs.iter().map(|i| i.name.clone()).collect();
    let stage = Stage::new(
        kinds::REPORT,
        env!("CARGO_PKG_VERSION"),
        &json!({ "clusterings": names }),
        &files,
        out,
    )?;
    if let Some(outcome) = stage.reuse(force) {
        return Ok(outcome);
    }
    let staging = stage.staging()?;
    let mut outputs: Vec<String> = Vec::new();

    // Metrics.
    let mut results = Vec::new();
    let mut metrics: Vec<BTreeMap<&str, SplitMetrics>> = Vec::new();
    for input in &inputs {
        let classes = input.classes();
        let labels: Vec<u8> = if classes.is_empty() {
            let mut l: Vec<u8> = input
                .assignments
                .values()
                .flat_map(|(_, l)| l.clone())
                .collect();
            l.sort();
            l.dedup();
            l
        } else {
            classes.iter().map(|c| c.0).collect()
        };
        let mut per_split = BTreeMap::new();
        for (split, (assign, truth)) in &input.assignments {
            if let Some(bad) = truth.iter().find(|l| !labels.contains(l)) {
                return Err(invalid(
                    &input.dir,
                    format!("{split}: label {bad} is not a class of the features"),
                ));
            }
            per_split.insert(*split, evaluate(assign, truth, input.k, &labels));
        }
        let s = input.summary();
        results.push(json!({
            "name": input.name,
            "title": input.title(),
            "method": input.method(),
            "features": input.feature_kind(),
            "params": s["params"],
            "seed": input.seed(),
            "k": input.k,
            "class_names": classes.iter().map(|c| &c.1).collect::<Vec<_>>(),
            "splits": per_split,
            "fit": {
                "fit_seconds": s["fit_seconds"], "n_iter": s["n_iter"], "converged": s["converged"],
                "inertia": s.get("inertia"), "bic": s.get("bic"), "aic": s.get("aic"),
                "seconds_per_iteration_median": s["seconds_per_iteration_median"],
            },
            "provenance": {
                "clustering": input.dir.display().to_string(),
                "clustering_cache_key": input.manifest.cache_key,
                "features": input.features_dir.display().to_string(),
                "features_cache_key": input.features.cache_key,
                "model": input.model_dir.as_ref().map(|p| p.display().to_string()),
                "tool_version": input.manifest.tool_version,
                "threads": input.manifest.environment.get("threads"),
            },
        }));
        metrics.push(per_split);
    }

    // Groups: the same clustering name over several seeds.
    let mut order: Vec<String> = Vec::new();
    let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, input) in inputs.iter().enumerate() {
        if !groups.contains_key(&input.name) {
            order.push(input.name.clone());
        }
        groups.entry(input.name.clone()).or_default().push(i);
    }
    let mut table = String::from(
        "| clustering | seeds | test ACC | train ACC | test NMI | test ARI | test purity | paper ACC |\n|---|---|---|---|---|---|---|---|\n",
    );
    let mut group_json = Vec::new();
    for name in &order {
        let members = &groups[name];
        let first = &inputs[members[0]];
        let collect = |split: &str, f: &dyn Fn(&SplitMetrics) -> f64| -> Vec<f64> {
            members.iter().map(|&i| f(&metrics[i][split])).collect()
        };
        let test_acc = collect("test", &|m| m.acc);
        let train_acc = collect("train", &|m| m.acc);
        let nmi = collect("test", &|m| m.nmi);
        let ari = collect("test", &|m| m.ari);
        let purity = collect("test", &|m| m.purity);
        let paper = PAPER_RESULTS
            .iter()
            .find(|(m, f, _)| *m == first.method() && *f == first.feature_kind())
            .map(|p| p.2);
        let seeds: Vec<u64> = members.iter().map(|&i| inputs[i].seed()).collect();
        let _ = writeln!(
            table,
            "| {} (`{name}`) | {} | {} | {} | {} | {} | {} | {} |",
            first.title(),
            seeds.len(),
            fmt_stat(&test_acc),
            fmt_stat(&train_acc),
            fmt_stat(&nmi),
            fmt_stat(&ari),
            fmt_stat(&purity),
            paper.map_or("–".into(), |p| format!("{:.2}", p)),
        );
        let stat = |v: &[f64]| {
            let (m, s) = mean_std(v);
            json!({ "mean": m, "std": s, "values": v })
        };
        group_json.push(json!({
            "name": name, "title": first.title(), "method": first.method(), "features": first.feature_kind(),
            "seeds": seeds, "test_acc": stat(&test_acc), "train_acc": stat(&train_acc),
            "test_nmi": stat(&nmi), "test_ari": stat(&ari), "test_purity": stat(&purity), "paper_acc": paper,
        }));
    }

    // Pictures.
    let mut md_pictures = String::new();
    let mut drawn_models: Vec<PathBuf> = Vec::new();
    let mut projections: BTreeMap<PathBuf, Vec<(f64, f64)>> = BTreeMap::new();
    for (i, input) in inputs.iter().enumerate() {
        let classes = input.classes();
        let class_name = |l: u8| {
            classes
                .iter()
                .find(|c| c.0 == l)
                .map_or(l.to_string(), |c| c.1.clone())
        };
        let tag = format!("{}-seed{}", slug(&input.name), input.seed());
        let is_first = groups[&input.name][0] == i;
        if is_first {
            let _ = writeln!(
                md_pictures,
                "\n### {} (`{}`, seed {})\n",
                input.title(),
                input.name,
                input.seed()
            );
        }
        for split in kinds::SPLITS {
            let m = &metrics[i][split];
            let rows: Vec<String> = classes_or_numbers(&classes, m);
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
                &staging.file(&file),
                &format!("{} — {split}, accuracy {:.3}", input.title(), m.acc),
                &m.confusion,
                &rows,
                &cols,
            )?;
            outputs.push(file.clone());
            if is_first {
                let _ = writeln!(md_pictures, "![confusion {split}]({file})\n");
            }
        }
        if !is_first {
            continue;
        }
        if let Some(model) = &input.model_dir {
            if !drawn_models.contains(model) {
                drawn_models.push(model.clone());
                if let Some((train, val)) = read_history(model) {
                    let file = format!("loss-{tag}.png");
                    plots::loss_curves(
                        &staging.file(&file),
                        &format!(
                            "Autoencoder loss ({})",
                            model
                                .file_name()
                                .map_or("model".into(), |n| n.to_string_lossy().into_owned())
                        ),
                        &train,
                        &val,
                    )?;
                    outputs.push(file.clone());
                    let _ = writeln!(md_pictures, "![loss curves]({file})\n");
                }
            }
        }
        let (assign, _) = &input.assignments["test"];
        if let Some(dataset) = &input.dataset_dir {
            if let Ok(images) = ImageSplit::read(&split_file(dataset, "test")) {
                if images.len() == assign.len() {
                    let m = &metrics[i]["test"];
                    let rows: Vec<(String, Vec<&[u8]>)> = (0..input.k)
                        .map(|c| {
                            let members: Vec<&[u8]> = assign
                                .iter()
                                .enumerate()
                                .filter(|(_, &a)| a == c)
                                .take(12)
                                .map(|(j, _)| {
                                    &images.images[j * images.pixels()..(j + 1) * images.pixels()]
                                })
                                .collect();
                            let size = assign.iter().filter(|&&a| a == c).count();
                            let mapped = m.mapping[c].map_or("unmatched".into(), class_name);
                            (format!("cluster {c} → {mapped} ({size})"), members)
                        })
                        .collect();
                    let file = format!("montage-{tag}.png");
                    plots::montage(
                        &staging.file(&file),
                        &format!("{}: test images per cluster", input.title()),
                        &rows,
                        images.height,
                        images.width,
                    )?;
                    outputs.push(file.clone());
                    let _ = writeln!(md_pictures, "![montage]({file})\n");
                }
            }
        }
        let projection = match projections.get(&input.features_dir) {
            Some(p) => p.clone(),
            None => {
                let (f, _, _) = Features::load(&input.features_dir, "test")?;
                let from_pca = input.features.info["encoder"]
                    .as_str()
                    .is_some_and(|e| e.starts_with("pca"));
                let p = if from_pca && f.dim >= 2 {
                    // PCA codes are already principal components, in order; when they
                    // are whitened a second PCA of them would pick arbitrary directions.
                    f.values
                        .chunks_exact(f.dim)
                        .map(|r| (f64::from(r[0]), f64::from(r[1])))
                        .collect()
                } else {
                    projection::first_two_components(&f.values, f.len(), f.dim)
                };
                projections.insert(input.features_dir.clone(), p.clone());
                p
            }
        };
        if projection.len() == assign.len() {
            let m = &metrics[i]["test"];
            let legend: Vec<String> = (0..input.k)
                .map(|c| {
                    format!(
                        "{c} → {}",
                        m.mapping[c].map_or("unmatched".into(), class_name)
                    )
                })
                .collect();
            let file = format!("scatter-{tag}.png");
            plots::scatter(
                &staging.file(&file),
                &format!("{}: test points by cluster", input.title()),
                &projection,
                assign,
                &legend,
            )?;
            outputs.push(file.clone());
            let _ = writeln!(md_pictures, "![scatter]({file})\n");
        }
    }

    let report = json!({
        "results": results,
        "groups": group_json,
        "paper": PAPER_RESULTS.iter().map(|(m, f, a)| json!({"method": m, "features": f, "acc": a})).collect::<Vec<_>>(),
        "provenance": {
            "tool_version": env!("CARGO_PKG_VERSION"),
            "inputs": files.iter().map(|p| Ok(json!({"path": p.display().to_string(), "sha256": sha256_file(p)?}))).collect::<std::result::Result<Vec<_>, ArtifactError>>()?,
        },
        "pictures": outputs,
    });
    write_text(
        &staging.file("report.json"),
        &(serde_json::to_string_pretty(&report).expect("json") + "\n"),
    )?;
    let mut md = String::from("# aeclust report\n\nAccuracy after the best one-to-one mapping of clusters to classes (Hungarian); NMI with arithmetic normalisation; ARI. Mean ± standard deviation over seeds where there are several. Paper: Pai, *Unsupervised Learning using K-Means Clustering & Gaussian Mixture Model augmented by Deep Auto-Encoders* (Fashion-MNIST).\n\n");
    md.push_str(&table);
    md.push_str("\n## Per run\n\n| clustering | seed | test ACC | train ACC | test NMI | test ARI | iterations | fit s |\n|---|---|---|---|---|---|---|---|\n");
    for (i, input) in inputs.iter().enumerate() {
        let s = input.summary();
        let _ = writeln!(
            md,
            "| `{}` | {} | {:.3} | {:.3} | {:.3} | {:.3} | {} | {:.2} |",
            input.name,
            input.seed(),
            metrics[i]["test"].acc,
            metrics[i]["train"].acc,
            metrics[i]["test"].nmi,
            metrics[i]["test"].ari,
            s["n_iter"],
            s["fit_seconds"].as_f64().unwrap_or(f64::NAN)
        );
    }
    md.push_str("\n## Pictures\n");
    md.push_str(&md_pictures);
    write_text(&staging.file("report.md"), &md)?;
    let mut all: Vec<&str> = vec!["report.json", "report.md"];
    all.extend(outputs.iter().map(|s| s.as_str()));
    let manifest = staging.commit(
        &stage,
        &all,
        json!({ "table": table, "groups": group_json }),
        json!({}),
    )?;
    Ok(Outcome::built(manifest))
}

fn classes_or_numbers(classes: &[(u8, String)], m: &SplitMetrics) -> Vec<String> {
    if classes.len() == m.confusion.len() {
        classes.iter().map(|c| c.1.clone()).collect()
    } else {
        (0..m.confusion.len()).map(|i| i.to_string()).collect()
    }
}

fn read_history(model: &Path) -> Option<(Vec<f64>, Vec<Option<f64>>)> {
    let text = std::fs::read_to_string(model.join("history.json")).ok()?;
    let v: Value = serde_json::from_str(&text).ok()?;
    let epochs = v["epochs"].as_array()?;
    let train = epochs
        .iter()
        .map(|e| e["train_loss"].as_f64().unwrap_or(f64::NAN))
        .collect();
    let val = epochs.iter().map(|e| e["val_loss"].as_f64()).collect();
    Some((train, val))
}
