//! The clustering stage: features artifact in, `clustering` artifact out.

use std::path::Path;
use std::time::Instant;

pub use aeclust_artifact::kinds::{ClusteringParams, Method, Precision};

use aeclust_artifact::kinds::{
    AssignedSplit, ClusteringInfo, Features, FeaturesRef, FitSummary, GmmFit, InternalMetrics,
    KMeansFit, KScore, KSearch, NoveltyScore, PerSplit, Split, CLUSTERING,
};
use aeclust_artifact::{Artifact, Element, Environment, Outcome, Stage, TensorWriter};
use linfa::{Float, ParamGuard};
use ndarray::ArrayView2;

use crate::predict::{to_array, Model, Prediction};
use crate::quality::{calinski_harabasz, davies_bouldin, silhouette, SILHOUETTE_SAMPLE};
use crate::{ClusterError, GaussianMixture, IterationEvent, KMeans, Result};

/// Columns that are not constant on `f`.
fn varying_columns(f: &Features) -> Vec<usize> {
    let first = &f.values[..f.dim];
    let mut varies = vec![false; f.dim];
    for row in f.values.chunks_exact(f.dim) {
        for (j, (&v, &v0)) in row.iter().zip(first).enumerate() {
            if v != v0 {
                varies[j] = true;
            }
        }
    }
    (0..f.dim).filter(|&j| varies[j]).collect()
}

struct Fitted {
    k: usize,
    train: Prediction,
    test: Prediction,
    writer: TensorWriter,
    fit: FitSummary,
    kmeans: Option<KMeansFit>,
    gmm: Option<GmmFit>,
    k_search: Option<KSearch>,
    internal: InternalMetrics,
}

fn fit_k<F: Float>(
    p: &ClusteringParams,
    k: usize,
    x: ArrayView2<F>,
    progress: &mut dyn FnMut(IterationEvent),
) -> Result<Model<F>> {
    Ok(match p.method {
        Method::Kmeans => Model::KMeans(
            KMeans::<F>::params(k)
                .seed(p.seed)
                .max_iter(p.max_iter)
                .n_init(p.n_init)
                .tolerance(F::cast(p.tol))
                .check()?
                .fit_with_progress(x, progress)?,
        ),
        Method::Scan => {
            return Err(ClusterError::InvalidParams(
                "SCAN trains a network: run aeclust-cluster-scan".into(),
            ))
        }
        Method::Gmm => Model::Gmm(Box::new(
            GaussianMixture::<F>::params(k)
                .covariance_type(p.covariance)
                .reg_covar(F::cast(p.reg_covar))
                .tolerance(F::cast(p.tol))
                .max_iter(p.max_iter)
                .n_init(p.n_init)
                .seed(p.seed)
                .check()?
                .fit_with_progress(x, progress)?,
        )),
    })
}

/// BIC of a GMM on `n` rows with mean log-likelihood `score`.
fn bic(score: f64, n_parameters: usize, n: usize) -> f64 {
    -2.0 * score * n as f64 + n_parameters as f64 * (n as f64).ln()
}

/// The search criterion of a fitted model (BIC for GMMs, lower is better; silhouette
/// on a seeded sample for K-Means, higher is better).
fn criterion<F: Float>(p: &ClusteringParams, model: &Model<F>, x: ArrayView2<F>) -> f64 {
    match model {
        Model::Gmm(m) => bic(m.score(x), m.n_parameters(), x.nrows()),
        Model::KMeans(m) => {
            let (labels, _) = m.assign(x);
            silhouette(x, &labels, m.centroids().nrows(), SILHOUETTE_SAMPLE, p.seed)
                .unwrap_or(f64::NEG_INFINITY)
        }
    }
}

/// Fits every k of the range and keeps the best by the criterion (ties: the smaller k).
fn search<F: Float>(
    p: &ClusteringParams,
    x: ArrayView2<F>,
    progress: &mut dyn FnMut(usize, IterationEvent),
) -> Result<(Model<F>, Option<KSearch>, f64)> {
    let started = Instant::now();
    if p.k.is_single() {
        let model = fit_k(p, p.k.min, x, &mut |e| progress(p.k.min, e))?;
        return Ok((model, None, started.elapsed().as_secs_f64()));
    }
    let lower_is_better = p.method == Method::Gmm;
    let mut best: Option<(Model<F>, f64, f64)> = None;
    let mut curve = Vec::new();
    for k in p.k.values() {
        let t = Instant::now();
        let model = fit_k(p, k, x, &mut |e| progress(k, e))?;
        let fit_seconds = t.elapsed().as_secs_f64();
        let score = criterion(p, &model, x);
        curve.push(KScore {
            k,
            score,
            seconds: t.elapsed().as_secs_f64(),
        });
        let better = match &best {
            None => true,
            Some((_, s, _)) if lower_is_better => score < *s,
            Some((_, s, _)) => score > *s,
        };
        if better {
            best = Some((model, score, fit_seconds));
        }
    }
    let (model, _, fit_seconds) = best.expect("the range holds at least one k");
    let best_k = model.k();
    let search = KSearch {
        criterion: if lower_is_better { "bic" } else { "silhouette" }.into(),
        lower_is_better,
        curve,
        best_k,
        seconds: started.elapsed().as_secs_f64(),
    };
    Ok((model, Some(search), fit_seconds))
}

/// How the fit went, from the per-iteration times.
fn fit_summary<F: Float>(
    model: &Model<F>,
    fit_seconds: f64,
    iteration_seconds: Vec<f64>,
) -> FitSummary {
    let (n_iter, converged, best_run) = match model {
        Model::KMeans(m) => (m.n_iter(), m.converged(), m.best_run()),
        Model::Gmm(m) => (m.n_iter(), m.converged(), m.best_run()),
    };
    let mut sorted = iteration_seconds.clone();
    sorted.sort_by(f64::total_cmp);
    FitSummary {
        fit_seconds,
        n_iter,
        converged,
        best_run,
        seconds_per_iteration_median: sorted.get(sorted.len() / 2).copied(),
        iteration_seconds,
    }
}

/// The K-Means objective or the GMM's likelihoods, from the fit and its predictions.
fn objective<F: Float>(
    model: &Model<F>,
    train: &Prediction,
    test: &Prediction,
) -> (Option<KMeansFit>, Option<GmmFit>) {
    match model {
        Model::KMeans(m) => (
            Some(KMeansFit {
                inertia: m.inertia().to_f64().unwrap_or(f64::NAN),
                inertia_per_run: m
                    .inertia_per_run()
                    .iter()
                    .map(|v| v.to_f64().unwrap_or(f64::NAN))
                    .collect(),
            }),
            None,
        ),
        Model::Gmm(m) => {
            let n = train.clusters.len();
            let score = train.mean_log_likelihood.unwrap_or(f64::NAN);
            let n_params = m.n_parameters();
            (
                None,
                Some(GmmFit {
                    lower_bound: m.lower_bound(),
                    log_likelihood_history: m.log_likelihood_history().to_vec(),
                    mean_log_likelihood_train: score,
                    mean_log_likelihood_test: test
                        .mean_log_likelihood
                        .filter(|_| !test.clusters.is_empty()),
                    bic: bic(score, n_params, n),
                    aic: -2.0 * score * n as f64 + 2.0 * n_params as f64,
                    n_parameters: n_params,
                }),
            )
        }
    }
}

fn fit_typed<F: Float + Element>(
    p: &ClusteringParams,
    train: &Features,
    test: &Features,
    keep: &[usize],
    progress: &mut dyn FnMut(usize, IterationEvent),
) -> Result<Fitted> {
    let x = to_array::<F>(train, keep);
    let mut iter_times = Vec::new();
    let mut last = Instant::now();
    let mut timed = |k: usize, e: IterationEvent| {
        iter_times.push(last.elapsed().as_secs_f64());
        last = Instant::now();
        progress(k, e);
    };
    let (model, k_search, fit_seconds) = search(p, x.view(), &mut timed)?;
    let k = model.k();
    let train_p = model.predict(x.view());
    let test_p = model.predict(to_array::<F>(test, keep).view());
    let mut writer = TensorWriter::new();
    model.write(&mut writer, keep, &train.values[..train.dim], p.reg_covar);
    let internal = InternalMetrics {
        silhouette: silhouette(x.view(), &train_p.clusters, k, SILHOUETTE_SAMPLE, p.seed),
        silhouette_sample: x.nrows().min(SILHOUETTE_SAMPLE),
        calinski_harabasz: calinski_harabasz(x.view(), &train_p.clusters, k),
        davies_bouldin: davies_bouldin(x.view(), &train_p.clusters, k),
    };
    let (kmeans, gmm) = objective(&model, &train_p, &test_p);
    Ok(Fitted {
        k,
        fit: fit_summary(&model, fit_seconds, iter_times),
        train: train_p,
        test: test_p,
        writer,
        kmeans,
        gmm,
        k_search,
        internal,
    })
}

/// Runs the clustering stage: fits on the train split of `features`, predicts train and
/// test, and writes the artifact to `out` (reused when unchanged unless `force`).
pub fn run(
    params: &ClusteringParams,
    features: &Path,
    out: &Path,
    force: bool,
    progress: &mut dyn FnMut(usize, IterationEvent),
) -> Result<Outcome> {
    let source = Artifact::open(features, &Features::KINDS)?;
    let inputs = source.inputs(&Split::ALL.map(Split::file_name))?;
    let stage = Stage::new(CLUSTERING, env!("CARGO_PKG_VERSION"), params, &inputs, out)?;
    if let Some(outcome) = stage.reuse(force) {
        return Ok(outcome);
    }
    let PerSplit { train, test } = Features::load_splits(&source)?;
    let train_path = inputs[0].path();
    if params.k.min == 0 || params.k.min > params.k.max {
        return Err(ClusterError::InvalidParams(format!(
            "--k {}: the number of clusters must be at least 1",
            params.k
        )));
    }
    if params.k.max > train.len() {
        return Err(ClusterError::InvalidParams(format!(
            "--k {} is larger than the {} training samples in {}",
            params.k,
            train.len(),
            train_path.display()
        )));
    }
    if params.method == Method::Kmeans && !params.k.is_single() && params.k.min < 2 {
        return Err(ClusterError::InvalidParams(format!(
            "--k {}: a K-Means search compares silhouettes, which need at least 2 clusters",
            params.k
        )));
    }
    let keep = varying_columns(&train);
    if keep.is_empty() {
        return Err(ClusterError::InvalidData(format!(
            "{}: every feature is constant; nothing to cluster",
            train_path.display()
        )));
    }
    let fitted = match params.precision {
        Precision::F32 => fit_typed::<f32>(params, &train, &test, &keep, progress)?,
        Precision::F64 => fit_typed::<f64>(params, &train, &test, &keep, progress)?,
    };
    let mut sizes = vec![0usize; fitted.k];
    fitted.train.clusters.iter().for_each(|&l| sizes[l] += 1);
    let threads = rayon::current_num_threads();
    let info = ClusteringInfo {
        params: params.clone(),
        k: fitted.k,
        k_search: fitted.k_search,
        internal: fitted.internal,
        features: FeaturesRef {
            artifact: source.reference_from(out),
            kind: train.kind,
            dim: train.dim,
            dims_used: keep.len(),
            constant_dims_dropped: train.dim - keep.len(),
        },
        n_train: train.len(),
        n_test: test.len(),
        cluster_sizes_train: sizes,
        fit: fitted.fit,
        kmeans: fitted.kmeans,
        gmm: fitted.gmm,
        scan: None,
        novelty: Some(match params.method {
            Method::Gmm => NoveltyScore::NegativeLogLikelihood,
            _ => NoveltyScore::CentroidDistance,
        }),
        threads,
    };
    let staging = stage.staging()?;
    fitted
        .writer
        .write(&staging.file(ClusteringInfo::MODEL_FILE))?;
    ClusteringInfo::write_assignments(
        &staging.file(ClusteringInfo::ASSIGNMENTS_FILE),
        &PerSplit {
            train: AssignedSplit {
                clusters: &fitted.train.clusters,
                confidence: &fitted.train.confidence,
                novelty: &fitted.train.novelty,
                labels: train.labels.as_deref(),
            },
            test: AssignedSplit {
                clusters: &fitted.test.clusters,
                confidence: &fitted.test.confidence,
                novelty: &fitted.test.novelty,
                labels: test.labels.as_deref(),
            },
        },
    )?;
    staging.write_json(ClusteringInfo::SUMMARY_FILE, &info)?;
    let manifest = staging.commit(
        &stage,
        &ClusteringInfo::FILES,
        &info,
        Environment::here().threads(threads),
    )?;
    Ok(Outcome::built(manifest))
}
