//! The assign stage: a clustering and new images in, an `assignment` artifact out.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use aeclust_artifact::kinds::{
    AssignSeconds, AssignmentInfo, ClusteringInfo, Features, LabelAgreement, NoveltyRule, Split,
    ASSIGNMENT, DATASET,
};
use aeclust_artifact::{
    Artifact, Environment, InputFile, Outcome, Stage, TensorFile, TensorWriter,
};
use aeclust_cluster::Predictor;
use aeclust_cluster_scan::predict::ScanPredictor;
use aeclust_cluster_scan::stage::nearest_train_distance;
use aeclust_dataset::images::{list, Listing};
use aeclust_replay::{Chain, NewImages, ReadPlan};
use serde::Serialize;

use crate::novelty::{flag, thresholds};
use crate::{invalid, AssignError, Result};

/// What to assign.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NewInput {
    /// A folder of images (one sub-folder per class: labelled), read as the clustering's
    /// dataset recorded.
    Images(PathBuf),
    /// Both splits of a dataset artifact (for example `aeclust-dataset --source IDX_DIR`).
    Data(PathBuf),
    /// Both splits of the four IDX files in a directory (Fashion-MNIST's layout).
    Idx(PathBuf),
}

/// Options of an assignment.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct AssignParams {
    /// Novel: a score above this quantile of the cluster's train scores.
    pub quantile: f64,
    /// Skip undecodable images (listed in the artifact) instead of failing.
    pub skip_bad: bool,
    /// Read colour images for a grey clustering as grey, grey folders for a colour one as
    /// RGB, instead of refusing them.
    pub convert: bool,
    /// Read sub-folders as part of one unlabelled tree, not as classes.
    pub unlabelled: bool,
}

#[derive(Serialize)]
struct CanonicalParams<'a> {
    clustering: &'a str,
    input: &'a NewInput,
    input_key: String,
    params: &'a AssignParams,
}

/// How a clustering predicts.
enum Model {
    Flat(Predictor),
    Scan {
        network: ScanPredictor,
        neighbours: Box<Chain>,
        near_train: Features,
    },
}

/// A clustering, its features chain and what its predictions need.
struct Fitted {
    clustering: Artifact,
    info: ClusteringInfo,
    chain: Chain,
    model: Model,
    inputs: Vec<InputFile>,
}

fn open_fitted(dir: &Path) -> Result<Fitted> {
    let (clustering, info) = Artifact::open_as::<ClusteringInfo>(dir)?;
    let features = Artifact::open(&info.features.artifact.resolve(dir), &Features::KINDS)?;
    let chain = Chain::resolve(&features)?;
    let mut inputs =
        clustering.inputs(&[ClusteringInfo::MODEL_FILE, ClusteringInfo::ASSIGNMENTS_FILE])?;
    inputs.extend(chain.inputs.iter().cloned());
    // SCAN and self-labelled SCAN: a network, with novelty in the neighbours' codes.
    let model = match info.result.scan() {
        Some(scan) => {
            let near = Artifact::open(&scan.neighbours.artifact.resolve(dir), &Features::KINDS)?;
            let neighbours = Chain::resolve(&near)?;
            if neighbours.dataset.manifest().cache_key != chain.dataset.manifest().cache_key {
                return Err(invalid(
                    near.dir(),
                    "the neighbours' codes and the SCAN network's input come from different \
                     datasets",
                ));
            }
            inputs.extend(neighbours.inputs.iter().cloned());
            inputs.push(near.input(Split::Train.file_name())?);
            Model::Scan {
                network: ScanPredictor::open(&clustering)?,
                near_train: Features::load(&near, Split::Train)?,
                neighbours: Box::new(neighbours),
            }
        }
        None => Model::Flat(Predictor::open(&clustering)?),
    };
    Ok(Fitted {
        clustering,
        info,
        chain,
        model,
        inputs,
    })
}

/// Each row's cluster, confidence and novelty score; seconds of features and prediction.
fn predict(fitted: &Fitted, images: &NewImages) -> Result<(aeclust_cluster::Prediction, f64, f64)> {
    let t = Instant::now();
    let features = fitted.chain.apply(&images.split)?;
    let near = match &fitted.model {
        Model::Scan { neighbours, .. } => Some(neighbours.apply(&images.split)?),
        Model::Flat(_) => None,
    };
    let features_seconds = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let prediction = match &fitted.model {
        Model::Flat(p) => p.predict(&features)?,
        Model::Scan {
            network,
            near_train,
            ..
        } => {
            let (clusters, confidence) = network.predict(&features)?;
            aeclust_cluster::Prediction {
                clusters,
                confidence,
                novelty: nearest_train_distance(near.as_ref().expect("SCAN"), near_train),
                mean_log_likelihood: None,
            }
        }
    };
    Ok((prediction, features_seconds, t.elapsed().as_secs_f64()))
}

/// The clustering's train clusters and novelty scores, from its assignments file.
fn train_scores(fitted: &Fitted) -> Result<(Vec<usize>, Vec<f32>)> {
    let path = fitted
        .clustering
        .verified_path(ClusteringInfo::ASSIGNMENTS_FILE)?;
    let file = TensorFile::open(&path)?;
    let clusters: Vec<usize> = file
        .read::<u32>("train_assignments", Some(1))?
        .data
        .into_iter()
        .map(|c| c as usize)
        .collect();
    let scores = file.read::<f32>("train_novelty", Some(1))?.data;
    if scores.len() != clusters.len() || clusters.iter().any(|&c| c >= fitted.info.k) {
        return Err(invalid(
            &path,
            "train assignments and novelty scores do not match the clustering",
        ));
    }
    Ok((clusters, scores))
}

/// The most frequent class (by name) of each cluster's rows.
fn agreement(clusters: &[usize], labels: &[u8], k: usize, n_classes: usize) -> LabelAgreement {
    let classes: Vec<u8> = (0..n_classes as u8).collect();
    let m = aeclust_metrics::evaluate(clusters, labels, k, &classes);
    LabelAgreement {
        accuracy: m.acc,
        nmi: m.nmi,
        ari: m.ari,
        purity: m.purity,
    }
}

fn write_csv(
    path: &Path,
    images: &NewImages,
    p: &aeclust_cluster::Prediction,
    novel: &[bool],
) -> Result<()> {
    let io = |e: std::io::Error| aeclust_artifact::ArtifactError::io(path, e);
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).map_err(io)?);
    let labelled = images.split.labels.as_ref();
    write!(out, "file,cluster,confidence,novel,novelty").map_err(io)?;
    writeln!(out, "{}", if labelled.is_some() { ",class" } else { "" }).map_err(io)?;
    for i in 0..images.len() {
        write!(
            out,
            "{},{},{},{},{}",
            aeclust_cli::csv_field(&images.files[i]),
            p.clusters[i],
            p.confidence[i],
            u8::from(novel[i]),
            p.novelty[i]
        )
        .map_err(io)?;
        match labelled {
            Some(l) => writeln!(
                out,
                ",{}",
                aeclust_cli::csv_field(&images.classes[usize::from(l[i])])
            ),
            None => writeln!(out),
        }
        .map_err(io)?;
    }
    out.flush().map_err(io)?;
    Ok(())
}

/// The input's listing (a folder) or artifact (a dataset), and a key of its content.
enum Listed {
    Folder(Listing),
    Dataset(Box<Artifact>),
    Idx(PathBuf),
}

fn list_input(input: &NewInput, unlabelled: bool) -> Result<(Listed, String)> {
    Ok(match input {
        NewInput::Images(dir) => {
            let listing = list(dir, unlabelled)?;
            let (digest, _) = listing.digest()?;
            (Listed::Folder(listing), digest)
        }
        NewInput::Data(dir) => {
            let data = Artifact::open(dir, &[DATASET])?;
            let key = data.manifest().cache_key.clone();
            (Listed::Dataset(Box::new(data)), key)
        }
        NewInput::Idx(dir) => {
            // The files' contents enter the cache key as inputs.
            (Listed::Idx(dir.clone()), "idx".to_string())
        }
    })
}

/// Assigns the images of `input` to the clustering at `clustering_dir` and writes an
/// assignment artifact to `out` (reused when unchanged unless `force`). `tick` is
/// called once per image read.
pub fn run(
    clustering_dir: &Path,
    input: &NewInput,
    params: &AssignParams,
    out: &Path,
    force: bool,
    tick: &(dyn Fn() + Sync),
) -> Result<Outcome> {
    if !(params.quantile > 0.0 && params.quantile < 1.0) {
        return Err(AssignError::Params(format!(
            "--novelty-quantile {}: must be between 0 and 1",
            params.quantile
        )));
    }
    let started = Instant::now();
    let fitted = open_fitted(clustering_dir)?;
    let (listed, input_key) = list_input(input, params.unlabelled)?;
    let mut inputs = fitted.inputs.clone();
    match &listed {
        Listed::Dataset(data) => inputs.extend(data.inputs(&Split::ALL.map(Split::file_name))?),
        Listed::Idx(dir) => inputs.extend(
            aeclust_dataset::IdxSource::locate(dir)?
                .files
                .iter()
                .map(InputFile::external),
        ),
        Listed::Folder(_) => {}
    }
    let stage = Stage::new(
        ASSIGNMENT,
        env!("CARGO_PKG_VERSION"),
        &CanonicalParams {
            clustering: &fitted.clustering.manifest().cache_key,
            input,
            input_key,
            params,
        },
        &inputs,
        out,
    )?;
    if let Some(outcome) = stage.reuse(force) {
        return Ok(outcome);
    }
    let images = match &listed {
        Listed::Folder(listing) => ReadPlan::of(&fitted.chain.dataset, &fitted.chain.dataset_info)?
            .read(listing, params.skip_bad, params.convert, tick)?,
        Listed::Dataset(data) => NewImages::of_dataset(data)?,
        Listed::Idx(dir) => NewImages::of_idx(dir)?,
    };
    let read_seconds = started.elapsed().as_secs_f64();
    let (prediction, features_seconds, predict_seconds) = predict(&fitted, &images)?;
    let k = fitted.info.k;
    let (train_clusters, train_scores) = train_scores(&fitted)?;
    let limits = thresholds(&train_clusters, &train_scores, k, params.quantile);
    let novel = flag(&prediction.clusters, &prediction.novelty, &limits);
    let mut sizes = vec![0usize; k];
    prediction.clusters.iter().for_each(|&c| sizes[c] += 1);
    let labels = images.split.labels.as_deref();
    let staging = stage.staging()?;
    let ids: Vec<u32> = prediction.clusters.iter().map(|&c| c as u32).collect();
    let flags: Vec<u8> = novel.iter().map(|&b| u8::from(b)).collect();
    let mut writer = TensorWriter::new();
    writer
        .add("clusters", &[ids.len()], &ids)
        .add("confidence", &[ids.len()], &prediction.confidence)
        .add("novelty", &[ids.len()], &prediction.novelty)
        .add("novel", &[ids.len()], &flags);
    if let Some(l) = labels {
        writer.add("labels", &[l.len()], l);
    }
    writer.write(&staging.file(AssignmentInfo::TENSORS_FILE))?;
    write_csv(
        &staging.file(AssignmentInfo::CSV_FILE),
        &images,
        &prediction,
        &novel,
    )?;
    let n_classes = images.classes.len();
    let info = AssignmentInfo {
        clustering: fitted.clustering.reference_from(out),
        method: fitted.info.params.method(),
        k,
        images: match input {
            NewInput::Images(d) | NewInput::Data(d) | NewInput::Idx(d) => d.display().to_string(),
        },
        n: images.len(),
        cluster_sizes: sizes,
        novelty: NoveltyRule {
            score: fitted.info.novelty,
            quantile: params.quantile,
            thresholds: limits,
            n_novel: novel.iter().filter(|&&b| b).count(),
        },
        agreement: labels.map(|l| agreement(&prediction.clusters, l, k, n_classes)),
        majority: labels
            .map(|l| aeclust_sort::majorities(&prediction.clusters, l, &images.classes, k))
            .unwrap_or_else(|| vec![None; k]),
        classes: images.classes.clone(),
        skipped: images.skipped.clone(),
        warnings: images.warnings.clone(),
        ignored: images.ignored.clone(),
        seconds: AssignSeconds {
            read: read_seconds,
            features: features_seconds,
            predict: predict_seconds,
        },
        threads: rayon::current_num_threads(),
    };
    let manifest = staging.commit(
        &stage,
        &AssignmentInfo::FILES,
        &info,
        Environment::here().threads(rayon::current_num_threads()),
    )?;
    Ok(Outcome::built(manifest))
}

/// The first field of a CSV line as [`aeclust_cli::csv_field`] writes it.
fn first_field(line: &str) -> Option<String> {
    match line.strip_prefix('"') {
        None => line.split(',').next().map(str::to_string),
        Some(rest) => {
            let mut out = String::new();
            let mut chars = rest.chars().peekable();
            while let Some(c) = chars.next() {
                match c {
                    '"' if chars.peek() == Some(&'"') => {
                        out.push('"');
                        chars.next();
                    }
                    '"' => return Some(out),
                    c => out.push(c),
                }
            }
            None
        }
    }
}

/// The rows of the assignment artifact at `dir` (file and cluster) and its info, for
/// sorting.
pub fn sorted_rows(dir: &Path) -> Result<(Vec<crate::SortedRow>, AssignmentInfo)> {
    let (artifact, info) = Artifact::open_as::<AssignmentInfo>(dir)?;
    let clusters = TensorFile::open(&artifact.verified_path(AssignmentInfo::TENSORS_FILE)?)?
        .read::<u32>("clusters", Some(1))?
        .data;
    let csv = artifact.verified_path(AssignmentInfo::CSV_FILE)?;
    let text =
        std::fs::read_to_string(&csv).map_err(|e| aeclust_artifact::ArtifactError::io(&csv, e))?;
    let files: Vec<String> = text.lines().skip(1).filter_map(first_field).collect();
    if files.len() != clusters.len() {
        return Err(invalid(
            &csv,
            format!("{} rows for {} assignments", files.len(), clusters.len()),
        ));
    }
    let rows = files
        .into_iter()
        .zip(clusters)
        .map(|(file, c)| crate::SortedRow {
            file,
            cluster: c as usize,
        })
        .collect();
    Ok((rows, info))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_fields_unquote() {
        assert_eq!(first_field("a.png,1,0.5").as_deref(), Some("a.png"));
        assert_eq!(first_field("\"a,b.png\",1").as_deref(), Some("a,b.png"));
        assert_eq!(
            first_field("\"say \"\"hi\"\".png\",2").as_deref(),
            Some("say \"hi\".png")
        );
    }
}
