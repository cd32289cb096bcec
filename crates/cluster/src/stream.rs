//! Mini-batch K-Means streamed from a codes artifact's files: the clustering stage for
//! more rows than memory holds. Only a batch of rows is read at a time (each batch drawn
//! at random over the whole split, so a folder sorted by class does not feed one class
//! at a time), and the assignment that follows reads the splits batch by batch; what
//! stays in memory is the centres and a few bytes per row (its cluster, distance, label).

use std::path::Path;
use std::time::Instant;

use aeclust_artifact::kinds::{
    ClusteringInfo, ClusteringParams, FeatureKind, FeaturesRef, FitSummary, InternalMetrics,
    KMeansFit, MethodFit, MiniBatch, NoveltyScore, PerSplit, Split, CODES,
};
use aeclust_artifact::{
    Artifact, ArtifactError, Element, Environment, Outcome, Stage, TensorRows, TensorWriter,
};
use linfa::Float;
use ndarray::Array2;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

use crate::kmeans::MiniBatchKMeans;
use crate::predict::{Model, Prediction};
use crate::quality::{sample_rows, silhouette, Dispersion, SILHOUETTE_SAMPLE};
use crate::{ClusterError, IterationEvent, Result};

/// One split's rows on disk.
struct SplitRows {
    codes: TensorRows<f32>,
    labels: Option<Vec<u8>>,
}

impl SplitRows {
    fn open(source: &Artifact, split: Split) -> Result<Self> {
        let path = source.path(split.file_name())?;
        let codes = TensorRows::<f32>::open(&path, "codes")?;
        if codes.shape().len() != 2 {
            return Err(ArtifactError::Tensor {
                path,
                name: "codes".into(),
                message: format!("shape {:?}, expected rank 2", codes.shape()),
            }
            .into());
        }
        // One byte a row: the labels are read whole.
        let labels = match TensorRows::<u8>::open_if_present(&path, "labels")? {
            Some(mut l) => Some(l.read(0..l.rows())?),
            None => None,
        };
        if labels.as_ref().is_some_and(|l| l.len() != codes.rows()) {
            return Err(ClusterError::InvalidData(format!(
                "{}: labels and code rows differ in number",
                path.display()
            )));
        }
        Ok(Self { codes, labels })
    }

    /// Rows `indices` as an array of `F`, every value checked to be finite.
    fn batch<F: Float>(&mut self, indices: &[usize], path: &Path) -> Result<Array2<F>> {
        let dim = self.codes.row_len();
        let values = self.codes.gather(indices)?;
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(ClusterError::InvalidData(format!(
                "{}: row {} holds {} (every feature must be finite)",
                path.display(),
                indices[i / dim],
                values[i]
            )));
        }
        Ok(Array2::from_shape_vec(
            (indices.len(), dim),
            values.into_iter().map(F::cast).collect(),
        )
        .expect("rows of dim values"))
    }
}

/// Fits mini-batch K-Means on the train split of the codes artifact `source` batch by
/// batch, assigns both splits batch by batch and commits the clustering through `stage`
/// (already checked to need building).
pub(crate) fn run<F: Float + Element>(
    params: &ClusteringParams,
    n_init: usize,
    batch: MiniBatch,
    source: &Artifact,
    stage: &Stage,
    out: &Path,
    progress: &mut dyn FnMut(usize, IterationEvent),
) -> Result<Outcome> {
    let k = params.k.min;
    if !params.k.is_single() {
        return Err(ClusterError::InvalidParams(format!(
            "--k {}: mini-batch K-Means fits one k (search on a sample, then --k K)",
            params.k
        )));
    }
    if batch.batch_size < k.max(1) || batch.passes == 0 {
        return Err(ClusterError::InvalidParams(format!(
            "--batch-size {} --passes {}: a batch needs at least the {k} clusters' rows, \
             and at least one pass",
            batch.batch_size, batch.passes
        )));
    }
    if source.kind() != CODES {
        return Err(ClusterError::InvalidParams(format!(
            "{}: mini-batch K-Means streams a codes artifact's rows; encode the pixels first \
             (aeclust-encode-pca)",
            source.dir().display()
        )));
    }
    let train_path = source.path(Split::Train.file_name())?;
    let mut train = SplitRows::open(source, Split::Train)?;
    let mut test = SplitRows::open(source, Split::Test)?;
    let (n, dim) = (train.codes.rows(), train.codes.row_len());
    if k == 0 || k > n {
        return Err(ClusterError::InvalidParams(format!(
            "--k {k}: at least 1 and at most the {n} training samples in {}",
            train_path.display()
        )));
    }
    if test.codes.rows() > 0 && test.codes.row_len() != dim {
        return Err(ClusterError::InvalidData(format!(
            "{}: {} features per row, but the train split has {dim}",
            source.path(Split::Test.file_name())?.display(),
            test.codes.row_len()
        )));
    }

    // The fit: every pass visits the train rows in a fresh seeded order, a batch at a time.
    let started = Instant::now();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(params.seed);
    let mut order: Vec<usize> = (0..n).collect();
    let mut model: Option<MiniBatchKMeans<F>> = None;
    let mut batch_seconds = Vec::new();
    let mut batches = 0;
    for _ in 0..batch.passes {
        order.shuffle(&mut rng);
        for chunk in order.chunks(batch.batch_size) {
            let t = Instant::now();
            let mut rows = chunk.to_vec();
            rows.sort_unstable();
            let x = train.batch::<F>(&rows, &train_path)?;
            match &mut model {
                None if x.nrows() >= k => {
                    model = Some(MiniBatchKMeans::start(x.view(), k, n_init, params.seed)?)
                }
                None => continue, // a last short batch cannot start the centres
                Some(m) => m.partial_fit(x.view())?,
            }
            batches += 1;
            let (_, d2) = model.as_ref().expect("started").model().assign(x.view());
            let mean = d2
                .iter()
                .map(|d| d.to_f64().unwrap_or(f64::NAN))
                .sum::<f64>()
                / d2.len().max(1) as f64;
            progress(
                k,
                IterationEvent {
                    run: 0,
                    iteration: batches,
                    objective: mean,
                },
            );
            batch_seconds.push(t.elapsed().as_secs_f64());
        }
    }
    let fitted = model
        .expect("the first batch holds at least k rows")
        .model();
    let fit_seconds = started.elapsed().as_secs_f64();

    // The assignment: both splits in order, a batch at a time; the train rows also feed
    // the clusters' means (the first of Calinski–Harabasz and Davies–Bouldin's passes).
    let kmeans = Model::KMeans(fitted);
    let mut dispersion = Dispersion::new(k, dim);
    let predict = |rows: &mut SplitRows,
                   path: &Path,
                   mut means: Option<&mut Dispersion>|
     -> Result<Prediction> {
        let total = rows.codes.rows();
        let mut all = Prediction {
            clusters: Vec::with_capacity(total),
            confidence: Vec::with_capacity(total),
            novelty: Vec::with_capacity(total),
            mean_log_likelihood: None,
        };
        for start in (0..total).step_by(batch.batch_size) {
            let idx: Vec<usize> = (start..(start + batch.batch_size).min(total)).collect();
            let x = rows.batch::<F>(&idx, path)?;
            let p = kmeans.predict(x.view());
            if let Some(d) = means.as_deref_mut() {
                d.add_to_means(x.view(), &p.clusters);
            }
            all.clusters.extend(p.clusters);
            all.confidence.extend(p.confidence);
            all.novelty.extend(p.novelty);
        }
        Ok(all)
    };
    let train_p = predict(&mut train, &train_path, Some(&mut dispersion))?;
    let test_p = predict(&mut test, &source.path(Split::Test.file_name())?, None)?;
    let inertia: f64 = train_p.novelty.iter().map(|&d| f64::from(d).powi(2)).sum();

    // Qualities without labels: Calinski–Harabasz and Davies–Bouldin over every train row
    // (one more pass, for the distances to the means), the silhouette on the seeded sample
    // the in-memory stage takes.
    for start in (0..n).step_by(batch.batch_size) {
        let idx: Vec<usize> = (start..(start + batch.batch_size).min(n)).collect();
        let x = train.batch::<F>(&idx, &train_path)?;
        dispersion.add_to_spreads(x.view(), &train_p.clusters[start..start + idx.len()]);
    }
    let (calinski_harabasz, davies_bouldin) = dispersion.indices();
    let sample = sample_rows(n, SILHOUETTE_SAMPLE, params.seed);
    let x = train.batch::<F>(&sample, &train_path)?;
    let sample_clusters: Vec<usize> = sample.iter().map(|&i| train_p.clusters[i]).collect();
    let internal = InternalMetrics {
        silhouette: silhouette(
            x.view(),
            &sample_clusters,
            k,
            SILHOUETTE_SAMPLE,
            params.seed,
        ),
        silhouette_sample: sample.len(),
        calinski_harabasz,
        davies_bouldin,
    };

    let mut writer = TensorWriter::new();
    let first = train.codes.read(0..1)?;
    let keep: Vec<usize> = (0..dim).collect();
    kmeans.write(&mut writer, &keep, &first, 0.0);
    let mut sorted = batch_seconds.clone();
    sorted.sort_by(f64::total_cmp);
    let threads = rayon::current_num_threads();
    let info = ClusteringInfo {
        params: params.clone(),
        k,
        k_search: None,
        internal,
        features: FeaturesRef {
            artifact: source.reference_from(out),
            kind: FeatureKind::Codes,
            dim,
            dims_used: dim,
            constant_dims_dropped: 0,
        },
        n_train: n,
        n_test: test.codes.rows(),
        cluster_sizes_train: ClusteringInfo::sizes(&train_p.clusters, k),
        fit: FitSummary {
            fit_seconds,
            n_iter: batches,
            converged: false,
            best_run: 0,
            seconds_per_iteration_median: sorted.get(sorted.len() / 2).copied(),
            iteration_seconds: batch_seconds,
        },
        novelty: NoveltyScore::CentroidDistance,
        result: MethodFit::Kmeans(KMeansFit {
            inertia,
            inertia_per_run: vec![inertia],
        }),
        threads,
    };
    let manifest = info.commit(
        stage,
        &writer,
        &PerSplit {
            train: train_p.assigned(train.labels.as_deref()),
            test: test_p.assigned(test.labels.as_deref()),
        },
        Environment::here().threads(threads),
    )?;
    Ok(Outcome::built(manifest))
}
