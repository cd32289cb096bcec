//! The SCAN stage: a features artifact (the network's input, usually the dataset's
//! pixels) and a neighbours artifact (usually an autoencoder's codes) in, a
//! `clustering` artifact out, in the same format as `aeclust-cluster`'s.

use std::path::Path;
use std::time::Instant;

use aeclust_artifact::kinds::{
    AssignedSplit, ClusteringInfo, ClusteringParams, DatasetInfo, Features, FeaturesOrigin,
    FeaturesRef, FitSummary, InternalMetrics, KRange, MethodFit, MethodParams, NoveltyScore,
    PerSplit, ScanFit, Split, CLUSTERING, DATASET,
};
use aeclust_artifact::{Artifact, Environment, Outcome, Stage};
use candle_core::Device;

use crate::train::{assign, check, fit, Event, Settings, TrainingData};
use crate::{Result, ScanError};

/// What the stage reports while it works.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Progress {
    /// The k-NN search of the neighbours: `done` of `total` rows.
    Knn {
        /// Rows done.
        done: usize,
        /// Rows in all.
        total: usize,
    },
    /// Training.
    Train(Event),
}

/// The parameters as the cache key and `summary.json` record them: a `clustering` with
/// method `scan` and its own settings.
pub fn clustering_params(settings: &Settings) -> ClusteringParams {
    ClusteringParams {
        k: KRange::single(settings.k),
        seed: settings.seed,
        k_rule: None,
        method: MethodParams::Scan(settings.scan.clone()),
    }
}

/// The cache key of the dataset an artifact's rows come from, and its encoder's name.
/// The `m` nearest other rows of every row of `f` (a row's own index dropped; for exact
/// duplicates, the farthest of the `m + 1` instead), with their distances.
fn neighbour_indices(
    f: &Features,
    m: usize,
    progress: &(dyn Fn(Progress) + Sync),
) -> aeclust_knn::Neighbours {
    let n = f.len();
    aeclust_knn::nearest_others(&f.values, f.dim, m, &|done| {
        progress(Progress::Knn { done, total: n })
    })
}

/// SCAN's novelty score of every row of `queries`: the Euclidean distance to its nearest
/// row of `train` (both in the neighbours' codes).
pub fn nearest_train_distance(queries: &Features, train: &Features) -> Vec<f32> {
    if queries.is_empty() {
        return Vec::new();
    }
    aeclust_knn::nearest(&queries.values, &train.values, train.dim, 1, &|_| {}).distances
}

/// Quality without labels of the train assignments, in the neighbours' space (where
/// SCAN's notion of "alike" comes from).
fn internal_metrics(near: &Features, labels: &[usize], k: usize, seed: u64) -> InternalMetrics {
    let x = ndarray::ArrayView2::from_shape((near.len(), near.dim), &near.values)
        .expect("rows × dim values");
    aeclust_quality::internal_metrics(x, labels, k, seed)
}

/// `(height, width, channels)` of the network's input when it is a dataset's images
/// (SCAN and self-labelling shift them); `None` for codes.
pub fn image_shape(source: &Artifact) -> Result<Option<(usize, usize, usize)>> {
    if source.kind() != DATASET {
        return Ok(None);
    }
    let info: DatasetInfo = source.info()?;
    Ok(Some((
        info.image_shape[0],
        info.image_shape[1],
        info.channels,
    )))
}

/// Trains SCAN on the train split of `features` with neighbours from the train split of
/// `neighbours`, assigns both splits, and writes the artifact to `out` (reused when
/// unchanged unless `force`). `progress` is called from the k-NN search's worker
/// threads too.
pub fn run(
    settings: &Settings,
    features: &Path,
    neighbours: &Path,
    out: &Path,
    force: bool,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<Outcome> {
    let source = Artifact::open(features, &Features::KINDS)?;
    let near = Artifact::open(neighbours, &Features::KINDS)?;
    let mut inputs = source.inputs(&Split::ALL.map(Split::file_name))?;
    inputs.extend(near.inputs(&Split::ALL.map(Split::file_name))?);
    let params = clustering_params(settings);
    let stage = Stage::new(CLUSTERING, env!("CARGO_PKG_VERSION"), &params, &inputs, out)?;
    if let Some(outcome) = stage.reuse(force) {
        return Ok(outcome);
    }
    let source_dataset = Features::origin(&source)?.dataset_key;
    let FeaturesOrigin {
        dataset_key: near_dataset,
        encoder: near_encoder,
    } = Features::origin(&near)?;
    if source_dataset != near_dataset {
        return Err(ScanError::InvalidData(format!(
            "{} and {} come from different datasets (cache keys {}… and {}…): a neighbour must be the same image",
            features.display(),
            neighbours.display(),
            &source_dataset[..12.min(source_dataset.len())],
            &near_dataset[..12.min(near_dataset.len())],
        )));
    }
    let PerSplit { train, test } = Features::load_splits(&source)?;
    let PerSplit {
        train: near_train,
        test: near_test,
    } = Features::load_splits(&near)?;
    if near_train.len() != train.len() {
        return Err(ScanError::InvalidData(format!(
            "{}: {} train rows, but {} has {}",
            inputs[2].path().display(),
            near_train.len(),
            inputs[0].path().display(),
            train.len()
        )));
    }
    let image = image_shape(&source)?;
    // Parameters first: the k-NN search is the slow part.
    check(settings, train.len(), image)?;
    let m = settings.scan.neighbours;
    let knn_started = Instant::now();
    let nearest = neighbour_indices(&near_train, m, progress);
    let indices = &nearest.indices;
    let knn_seconds = knn_started.elapsed().as_secs_f64();
    let data = TrainingData {
        x: &train.values,
        dim: train.dim,
        neighbours: indices,
        m,
        image,
    };
    let device = Device::Cpu;
    let started = Instant::now();
    let trained = fit(settings, &data, &device, &mut |e| {
        progress(Progress::Train(e))
    })?;
    let fit_seconds = started.elapsed().as_secs_f64();
    // The kept head's train clusters came with the training; only the test split is new.
    let (train_ids, train_conf) = (&trained.train_clusters, &trained.train_confidence);
    let (test_ids, test_conf) = assign(
        &trained.model,
        trained.head,
        &test.values,
        test.dim,
        &device,
    )?;

    // Novelty: the distance to the nearest train image in the neighbours' codes.
    let train_novelty: Vec<f32> = (0..nearest.len())
        .map(|i| nearest.row_distances(i)[0])
        .collect();
    let test_novelty = nearest_train_distance(&near_test, &near_train);

    let k = settings.k;
    let mut sorted = trained.epoch_seconds.clone();
    sorted.sort_by(f64::total_cmp);
    let threads = rayon::current_num_threads();
    let features_ref = |a: &Artifact, f: &Features| FeaturesRef {
        artifact: a.reference_from(out),
        kind: f.kind,
        dim: f.dim,
        dims_used: f.dim,
        constant_dims_dropped: 0,
    };
    let info = ClusteringInfo {
        params,
        k,
        k_search: None,
        internal: internal_metrics(&near_train, train_ids, k, settings.seed),
        features: features_ref(&source, &train),
        n_train: train.len(),
        n_test: test.len(),
        cluster_sizes_train: ClusteringInfo::sizes(train_ids, k),
        fit: FitSummary {
            fit_seconds,
            n_iter: trained.loss_history.len(),
            converged: true,
            best_run: trained.head,
            seconds_per_iteration_median: sorted.get(sorted.len() / 2).copied(),
            iteration_seconds: trained.epoch_seconds.clone(),
        },
        result: MethodFit::Scan(ScanFit {
            neighbours: features_ref(&near, &near_train),
            neighbours_encoder: near_encoder,
            head_loss: trained.scores.iter().map(|s| s.loss).collect(),
            head_consistency: trained.scores.iter().map(|s| s.consistency).collect(),
            head_entropy: trained.scores.iter().map(|s| s.entropy).collect(),
            head_agreement: trained.agreement.clone(),
            head: trained.head,
            loss_history: trained.loss_history.clone(),
            knn_seconds,
        }),
        novelty: NoveltyScore::NearestTrainDistance,
        threads,
    };
    let manifest = info.commit(
        &stage,
        &trained.model.tensors(trained.head)?,
        &PerSplit {
            train: AssignedSplit {
                clusters: train_ids,
                confidence: train_conf,
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

#[cfg(test)]
mod tests {
    use super::*;
    use aeclust_artifact::kinds::FeatureKind;

    fn features(values: Vec<f32>, dim: usize) -> Features {
        Features {
            values,
            labels: None,
            dim,
            kind: FeatureKind::Codes,
        }
    }

    #[test]
    fn neighbours_leave_out_the_row_itself() {
        // Points on a line at 0, 1, 3, 7, 15: nearest others are unambiguous.
        let f = features(vec![0.0, 1.0, 3.0, 7.0, 15.0], 1);
        let got = neighbour_indices(&f, 2, &|_| {}).indices;
        assert_eq!(got, vec![1, 2, 0, 2, 1, 0, 2, 1, 3, 2]);
        // Exact duplicates (rows 0, 1, 2 equal): every row still leaves itself out.
        let f = features(vec![5.0, 5.0, 5.0, 9.0], 1);
        let got = neighbour_indices(&f, 2, &|_| {}).indices;
        for (i, row) in got.chunks(2).enumerate() {
            assert!(!row.contains(&(i as u32)), "row {i}: {row:?}");
        }
        assert_eq!(&got[..6], &[1, 2, 0, 2, 0, 1]);
    }
}
