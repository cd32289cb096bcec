//! The self-labelling stage: a SCAN clustering artifact in (with the features it was
//! trained on), a `clustering` artifact of method `selflabel` out, which
//! `aeclust-assign`, `aeclust-similar` and `aeclust-evaluate` read as they read SCAN's.

use std::path::Path;
use std::time::Instant;

use aeclust_artifact::kinds::{
    AssignedSplit, ClusteringInfo, ClusteringParams, Features, FeaturesRef, FitSummary, KRange,
    MethodFit, MethodParams, NoveltyScore, PerSplit, SelfLabelFit, Split, CLUSTERING,
};
use aeclust_artifact::{Artifact, Element, Environment, Outcome, Stage, TensorFile};
use candle_core::Device;

use super::{check, fit, Event, Settings, TrainingData};
use crate::model::ScanHeads;
use crate::train::assign;
use crate::{Result, ScanError};

/// The parameters as the cache key and `summary.json` record them.
pub fn clustering_params(settings: &Settings, k: usize) -> ClusteringParams {
    ClusteringParams {
        k: KRange::single(k),
        seed: settings.seed,
        k_rule: None,
        method: MethodParams::Selflabel(settings.options.clone()),
    }
}

/// The vector `name` of a clustering's assignments file.
fn assigned<T: Element>(file: &TensorFile, name: &str) -> Result<Vec<T>> {
    Ok(file.read::<T>(name, Some(1))?.data)
}

/// Self-labels the SCAN clustering at `scan` and writes the artifact to `out` (reused
/// when unchanged unless `force`).
pub fn run(
    settings: &Settings,
    scan: &Path,
    out: &Path,
    force: bool,
    progress: &mut dyn FnMut(Event),
) -> Result<Outcome> {
    let (start, info) = Artifact::open_as::<ClusteringInfo>(scan)?;
    let scan_fit = match &info.result {
        MethodFit::Scan(s) => s.clone(),
        other => {
            return Err(ScanError::InvalidData(format!(
                "{}: a {:?} clustering, not SCAN's: self-labelling starts from \
                 aeclust-cluster-scan's artifact",
                scan.display(),
                other.method()
            )))
        }
    };
    let source = Artifact::open(&info.features.artifact.resolve(scan), &Features::KINDS)?;
    let near = Artifact::open(
        &scan_fit.neighbours.artifact.resolve(scan),
        &Features::KINDS,
    )?;
    let mut inputs =
        start.inputs(&[ClusteringInfo::MODEL_FILE, ClusteringInfo::ASSIGNMENTS_FILE])?;
    inputs.extend(source.inputs(&Split::ALL.map(Split::file_name))?);
    inputs.push(near.input(Split::Train.file_name())?);
    let params = clustering_params(settings, info.k);
    let stage = Stage::new(CLUSTERING, env!("CARGO_PKG_VERSION"), &params, &inputs, out)?;
    if let Some(outcome) = stage.reuse(force) {
        return Ok(outcome);
    }
    let image = crate::stage::image_shape(&source)?;
    check(&settings.options, info.n_train.max(1), image)?;
    let PerSplit { train, test } = Features::load_splits(&source)?;
    let assignments = TensorFile::open(&start.verified_path(ClusteringInfo::ASSIGNMENTS_FILE)?)?;
    let start_clusters: Vec<usize> = assigned::<u32>(&assignments, "train_assignments")?
        .into_iter()
        .map(|c| c as usize)
        .collect();
    if start_clusters.len() != train.len() {
        return Err(ScanError::InvalidData(format!(
            "{}: {} train assignments for {} train rows of {}",
            assignments.path().display(),
            start_clusters.len(),
            train.len(),
            source.dir().display()
        )));
    }
    let device = Device::Cpu;
    let network = ScanHeads::read(
        &start.verified_path(ClusteringInfo::MODEL_FILE)?,
        info.k,
        &device,
    )?;
    if scan_fit.head >= network.heads {
        return Err(ScanError::InvalidData(format!(
            "{}: kept head {} of {} heads",
            scan.display(),
            scan_fit.head,
            network.heads
        )));
    }
    let model = network.single_head(scan_fit.head)?;
    let data = TrainingData {
        x: &train.values,
        dim: train.dim,
        image,
        start: &start_clusters,
        labels: train.labels.as_deref(),
    };
    let started = Instant::now();
    let trained = fit(settings, model, &data, &device, progress)?;
    let fit_seconds = started.elapsed().as_secs_f64();
    let (test_ids, test_conf) = assign(&trained.model, 0, &test.values, test.dim, &device)?;
    // Novelty is SCAN's (the distance to the nearest train image in its neighbours'
    // codes): self-labelling does not move the images.
    let novelty = |split: Split| assigned::<f32>(&assignments, &format!("{split}_novelty"));
    let (train_novelty, test_novelty) = (novelty(Split::Train)?, novelty(Split::Test)?);

    let near_train = Features::load(&near, Split::Train)?;
    let x = ndarray::ArrayView2::from_shape((near_train.len(), near_train.dim), &near_train.values)
        .map_err(|e| ScanError::InvalidData(format!("{}: {e}", near.dir().display())))?;
    let internal =
        aeclust_quality::internal_metrics(x, &trained.train_clusters, info.k, settings.seed);
    let mut scan_facts = scan_fit;
    scan_facts.neighbours.artifact = scan_facts.neighbours.artifact.rebased(scan, out);
    let seconds: Vec<f64> = trained.history[1..].iter().map(|e| e.seconds).collect();
    let mut sorted = seconds.clone();
    sorted.sort_by(f64::total_cmp);
    let threads = rayon::current_num_threads();
    let summary = ClusteringInfo {
        params,
        k: info.k,
        k_search: None,
        internal,
        features: FeaturesRef {
            artifact: source.reference_from(out),
            ..info.features.clone()
        },
        n_train: train.len(),
        n_test: test.len(),
        cluster_sizes_train: ClusteringInfo::sizes(&trained.train_clusters, info.k),
        fit: FitSummary {
            fit_seconds,
            n_iter: seconds.len(),
            converged: trained.stopped.contains("did not grow"),
            best_run: trained.kept_epoch,
            seconds_per_iteration_median: sorted.get(sorted.len() / 2).copied(),
            iteration_seconds: seconds,
        },
        result: MethodFit::Selflabel(SelfLabelFit {
            start: start.reference_from(out),
            scan: scan_facts,
            history: trained.history.clone(),
            kept_epoch: trained.kept_epoch,
            stopped: trained.stopped.clone(),
        }),
        novelty: NoveltyScore::NearestTrainDistance,
        threads,
    };
    let manifest = summary.commit(
        &stage,
        &trained.model.tensors(0)?,
        &PerSplit {
            train: AssignedSplit {
                clusters: &trained.train_clusters,
                confidence: &trained.train_confidence,
                novelty: &train_novelty,
                labels: train.labels.as_deref(),
                leaves: None,
            },
            test: AssignedSplit {
                clusters: &test_ids,
                confidence: &test_conf,
                novelty: &test_novelty,
                labels: test.labels.as_deref(),
                leaves: None,
            },
        },
        Environment::here().threads(threads).device("cpu"),
    )?;
    Ok(Outcome::built(manifest))
}
