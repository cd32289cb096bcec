//! The report, in rooms: [`load`] opens the clusterings and what they lead to,
//! [`score`] computes the metrics, [`group`] pools seeds, [`pictures`] draws,
//! [`markdown`] writes `report.md`; [`run`] ties them to the cache.

mod assignments;
mod captions;
mod group;
mod html;
mod load;
mod markdown;
mod pictures;
mod score;
mod sort;

use std::path::{Path, PathBuf};

use aeclust_artifact::kinds::{
    ClusteringParams, FeatureKind, FitSummary, Method, MethodFit, PerSplit, ReportInfo, REPORT,
};
use aeclust_artifact::{Environment, FileRecord, Outcome, Stage};
use serde::Serialize;

pub use group::{paper_acc, PAPER_RESULTS};
pub use sort::sort_fitted;

use crate::metrics::SplitMetrics;
use crate::ReportError;
use load::ClusteringRun;

type Result<T> = std::result::Result<T, ReportError>;

fn invalid(path: &Path, message: impl Into<String>) -> ReportError {
    ReportError::Invalid {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// Where one result came from.
#[derive(Debug, Serialize)]
struct Provenance {
    clustering: String,
    clustering_cache_key: String,
    features: String,
    features_cache_key: String,
    dataset: Option<String>,
    model: Option<String>,
    tool_version: String,
    threads: usize,
}

/// One clustering's entry in `report.json`.
#[derive(Debug, Serialize)]
struct RunResult {
    name: String,
    title: String,
    method: Method,
    features: FeatureKind,
    params: ClusteringParams,
    seed: u64,
    k: usize,
    class_names: Vec<String>,
    splits: PerSplit<Option<SplitMetrics>>,
    internal: aeclust_artifact::kinds::InternalMetrics,
    k_search: Option<aeclust_artifact::kinds::KSearch>,
    cluster_sizes_train: Vec<usize>,
    fit: FitSummary,
    /// The method's own findings (K-Means objective, GMM likelihoods, SCAN's heads and
    /// the kept one).
    result: MethodFit,
    provenance: Provenance,
}

impl RunResult {
    fn new(run: &ClusteringRun, splits: PerSplit<Option<SplitMetrics>>) -> Self {
        let info = &run.info;
        Self {
            name: run.name.clone(),
            title: run.title(),
            method: info.params.method(),
            features: info.features.kind,
            params: info.params.clone(),
            seed: run.seed(),
            k: run.k(),
            class_names: run.classes().iter().map(|c| c.name.clone()).collect(),
            splits,
            internal: info.internal.clone(),
            k_search: info.k_search.clone(),
            cluster_sizes_train: info.cluster_sizes_train.clone(),
            fit: info.fit.clone(),
            result: info.result.clone(),
            provenance: Provenance {
                clustering: run.clustering.dir().display().to_string(),
                clustering_cache_key: run.clustering.manifest().cache_key.clone(),
                features: run.features.dir().display().to_string(),
                features_cache_key: run.features.manifest().cache_key.clone(),
                dataset: run
                    .dataset
                    .as_ref()
                    .map(|(d, _)| d.dir().display().to_string()),
                model: run.model.as_ref().map(|m| m.dir().display().to_string()),
                tool_version: run.clustering.manifest().tool_version.clone(),
                threads: info.threads,
            },
        }
    }
}

/// A figure of the reference study.
#[derive(Debug, Serialize)]
struct PaperFigure {
    method: Method,
    features: FeatureKind,
    acc: f64,
}

/// `report.json`.
#[derive(Debug, Serialize)]
struct ReportJson<'a> {
    results: Vec<RunResult>,
    groups: &'a [aeclust_artifact::kinds::GroupSummary],
    /// The study's figures, on Fashion-MNIST only.
    paper: Option<Vec<PaperFigure>>,
    provenance: ReportProvenance<'a>,
    pictures: &'a [String],
    warnings: &'a [String],
}

#[derive(Debug, Serialize)]
struct ReportProvenance<'a> {
    tool_version: &'static str,
    inputs: &'a [FileRecord],
}

/// What a report holds beyond the clusterings.
#[derive(Debug, Clone, Default)]
pub struct ReportOptions {
    /// Codes artifacts drawn as maps (their first two columns, e.g. a 2-D UMAP): a picture
    /// of the test split (train without one) coloured by true class, and on the page an
    /// interactive map of every row of the clusterings of the same dataset.
    pub maps: Vec<PathBuf>,
    /// Write `assignments.csv`: one row per image and clustering (file, split, index,
    /// cluster, confidence, clustering, seed).
    pub assignments: bool,
}

/// Evaluates the clustering artifacts `dirs` and writes the report to `out` (reused when
/// nothing changed unless `force`). The summary tables are in the manifest's
/// [`ReportInfo::table`].
pub fn run(dirs: &[PathBuf], options: &ReportOptions, out: &Path, force: bool) -> Result<Outcome> {
    let maps = &options.maps;
    if dirs.is_empty() {
        return Err(ReportError::NoInput);
    }
    let runs = dirs
        .iter()
        .map(|d| ClusteringRun::open(d))
        .collect::<Result<Vec<_>>>()?;
    let mut inputs = Vec::new();
    for r in &runs {
        for input in r.inputs()?.into_iter().chain(captions::inputs(r)?) {
            if !inputs
                .iter()
                .any(|i: &aeclust_artifact::InputFile| i.path() == input.path())
            {
                inputs.push(input);
            }
        }
    }
    let map_artifacts = maps
        .iter()
        .map(|m| aeclust_artifact::Artifact::open(m, &[aeclust_artifact::kinds::CODES]))
        .collect::<aeclust_artifact::Result<Vec<_>>>()?;
    for m in &map_artifacts {
        inputs.push(m.input(aeclust_artifact::kinds::Split::Test.file_name())?);
    }
    let names: Vec<&str> = runs.iter().map(|r| r.name.as_str()).collect();
    let stage = Stage::new(
        REPORT,
        env!("CARGO_PKG_VERSION"),
        &(&names, maps.len(), options.assignments),
        &inputs,
        out,
    )?;
    if let Some(outcome) = stage.reuse(force) {
        return Ok(outcome);
    }

    let assignments = runs
        .iter()
        .map(|r| r.assignments())
        .collect::<Result<Vec<_>>>()?;
    let metrics = runs
        .iter()
        .zip(&assignments)
        .map(|(r, a)| score::score(r, a))
        .collect::<Result<Vec<_>>>()?;
    let with_paper = runs.iter().all(ClusteringRun::is_fashion_mnist);
    let groups = group::group_by_name(&names);
    let summaries: Vec<_> = groups
        .iter()
        .map(|(name, members)| group::summarise(name, members, &runs, &metrics, with_paper))
        .collect();
    let table = markdown::summary_table(&summaries, with_paper);

    let staging = stage.staging()?;
    let mut pictures = pictures::draw_maps(staging.path(), &map_artifacts)?;
    let per_run = pictures::draw(staging.path(), &runs, &assignments, &metrics, &groups)?;
    pictures.files.extend(per_run.files);
    pictures.markdown.push_str(&per_run.markdown);
    pictures.warnings.extend(per_run.warnings);
    let report = ReportJson {
        results: runs
            .iter()
            .zip(metrics.iter().cloned())
            .map(|(r, m)| RunResult::new(r, m))
            .collect(),
        groups: &summaries,
        paper: with_paper.then(|| {
            PAPER_RESULTS
                .iter()
                .map(|&(method, features, acc)| PaperFigure {
                    method,
                    features,
                    acc,
                })
                .collect()
        }),
        provenance: ReportProvenance {
            tool_version: env!("CARGO_PKG_VERSION"),
            inputs: stage.inputs(),
        },
        pictures: &pictures.files,
        warnings: &pictures.warnings,
    };
    staging.write_json(ReportInfo::JSON_FILE, &report)?;
    let captions = captions::section(&runs, &assignments)?;
    let md = markdown::document(
        &table,
        // The captions follow the k section: both read a clustering as a whole.
        &format!("{}{captions}", markdown::k_section(&summaries)),
        &runs,
        &metrics,
        &pictures.markdown,
        &pictures.warnings,
        with_paper,
    );
    let gallery_inputs: Vec<html::GalleryInput> = runs
        .iter()
        .zip(&assignments)
        .zip(&metrics)
        .map(|((run, a), m)| html::GalleryInput {
            run,
            assignments: a,
            metrics: m,
        })
        .collect();
    let page = html::page(staging.path(), &md, &gallery_inputs, &map_artifacts)?;
    let html_path = staging.file(ReportInfo::HTML_FILE);
    std::fs::write(&html_path, &page.html)
        .map_err(|e| aeclust_artifact::ArtifactError::io(&html_path, e))?;
    let md_path = staging.file(ReportInfo::MARKDOWN_FILE);
    std::fs::write(&md_path, md).map_err(|e| aeclust_artifact::ArtifactError::io(&md_path, e))?;
    let mut files: Vec<&str> = vec![
        ReportInfo::JSON_FILE,
        ReportInfo::MARKDOWN_FILE,
        ReportInfo::HTML_FILE,
    ];
    files.extend(page.files.iter().map(String::as_str));
    if options.assignments {
        let path = staging.file(ReportInfo::ASSIGNMENTS_FILE);
        let text = assignments::csv(&runs, &assignments)?;
        std::fs::write(&path, text).map_err(|e| aeclust_artifact::ArtifactError::io(&path, e))?;
        files.push(ReportInfo::ASSIGNMENTS_FILE);
    }
    files.extend(pictures.files.iter().map(String::as_str));
    let mut warnings = pictures.warnings.clone();
    warnings.extend(page.warnings.iter().cloned());
    let info = ReportInfo {
        table,
        groups: summaries.clone(),
        pictures: pictures.files.clone(),
        warnings,
    };
    let manifest = staging.commit(&stage, &files, &info, Environment::here())?;
    Ok(Outcome::built(manifest))
}
