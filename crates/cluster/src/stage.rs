//! The clustering stage: features artifact in, `clustering` artifact out.

use std::path::{Path, PathBuf};
use std::time::Instant;

pub use aeclust_artifact::kinds::{ClusteringParams, Method, MethodParams, Precision};

use aeclust_artifact::kinds::{
    AssignedSplit, ClusteringInfo, Features, FeaturesRef, FitSummary, GmmFit, InternalMetrics,
    KMeansFit, KMeansOptions, KRule, KSearch, MethodFit, NoveltyScore, PerSplit, Split, CLUSTERING,
};
use aeclust_artifact::{Artifact, ArtifactRef, Element, Environment, Outcome, Stage, TensorWriter};
use linfa::{Float, ParamGuard};
use ndarray::ArrayView2;

use crate::predict::{to_array, Model, Prediction};
use crate::quality::internal_metrics;
use crate::search::{bic, search, Searched, Vote};
use crate::{stream, ClusterError, GaussianMixture, IterationEvent, KMeans, Result};

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
    result: MethodFit,
    k_search: Option<KSearch>,
    internal: InternalMetrics,
    leaves: Option<(Vec<usize>, Vec<usize>)>,
}

/// SCAN's refusal: it trains a network in its own stage.
fn not_scan() -> ClusterError {
    ClusterError::InvalidParams("SCAN trains a network: run aeclust-cluster-scan".into())
}

fn fit_k<F: Float>(
    p: &ClusteringParams,
    k: usize,
    x: ArrayView2<F>,
    progress: &mut dyn FnMut(IterationEvent),
) -> Result<Model<F>> {
    Ok(match &p.method {
        MethodParams::Kmeans(m) => Model::KMeans(
            KMeans::<F>::params(k)
                .seed(p.seed)
                .max_iter(m.max_iter)
                .n_init(m.n_init)
                .tolerance(F::cast(m.tol))
                .check()?
                .fit_with_progress(x, progress)?,
        ),
        MethodParams::Gmm(g) => Model::Gmm(Box::new(
            GaussianMixture::<F>::params(k)
                .covariance_type(g.covariance)
                .reg_covar(F::cast(g.reg_covar))
                .tolerance(F::cast(g.tol))
                .max_iter(g.max_iter)
                .n_init(g.n_init)
                .seed(p.seed)
                .check()?
                .fit_with_progress(x, progress)?,
        )),
        MethodParams::Scan(_) | MethodParams::Selflabel(_) => return Err(not_scan()),
    })
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
fn objective<F: Float>(model: &Model<F>, train: &Prediction, test: &Prediction) -> MethodFit {
    match model {
        Model::KMeans(m) => MethodFit::Kmeans(KMeansFit {
            inertia: m.inertia().to_f64().unwrap_or(f64::NAN),
            inertia_per_run: m
                .inertia_per_run()
                .iter()
                .map(|v| v.to_f64().unwrap_or(f64::NAN))
                .collect(),
        }),
        Model::Gmm(m) => {
            let n = train.clusters.len();
            let score = train.mean_log_likelihood.unwrap_or(f64::NAN);
            let n_params = m.n_parameters();
            MethodFit::Gmm(GmmFit {
                lower_bound: m.lower_bound(),
                log_likelihood_history: m.log_likelihood_history().to_vec(),
                mean_log_likelihood_train: score,
                mean_log_likelihood_test: test
                    .mean_log_likelihood
                    .filter(|_| !test.clusters.is_empty()),
                bic: bic(score, n_params, n),
                aic: -2.0 * score * n as f64 + 2.0 * n_params as f64,
                n_parameters: n_params,
            })
        }
    }
}

fn fit_typed<F: Float + Element>(
    p: &ClusteringParams,
    train: &Features,
    test: &Features,
    keep: &[usize],
    votes: &[(ArtifactRef, Features)],
    progress: &mut dyn FnMut(usize, IterationEvent),
) -> Result<Fitted> {
    let x = to_array::<F>(train, keep);
    let vote_x: Vec<_> = votes
        .iter()
        .map(|(_, f)| to_array::<F>(f, &(0..f.dim).collect::<Vec<_>>()))
        .collect();
    let votes: Vec<Vote<F>> = votes
        .iter()
        .zip(&vote_x)
        .map(|((features, _), x)| Vote {
            features: features.clone(),
            x: x.view(),
        })
        .collect();
    let mut iter_times = Vec::new();
    let mut last = Instant::now();
    let mut timed = |k: usize, e: IterationEvent| {
        iter_times.push(last.elapsed().as_secs_f64());
        last = Instant::now();
        progress(k, e);
    };
    let test_x = to_array::<F>(test, keep);
    let fit = |k: usize, progress: &mut dyn FnMut(IterationEvent)| fit_k(p, k, x.view(), progress);
    let Searched {
        model,
        leaves,
        search: k_search,
        fit_seconds,
    } = search(p, x.view(), test_x.view(), &votes, &fit, &mut timed)?;
    let k = model.k();
    let train_p = model.predict(x.view());
    let test_p = model.predict(test_x.view());
    let mut writer = TensorWriter::new();
    let reg_covar = match &p.method {
        MethodParams::Gmm(g) => g.reg_covar,
        _ => 0.0,
    };
    model.write(&mut writer, keep, &train.values[..train.dim], reg_covar);
    Ok(Fitted {
        k,
        fit: fit_summary(&model, fit_seconds, iter_times),
        result: objective(&model, &train_p, &test_p),
        internal: internal_metrics(x.view(), &train_p.clusters, k, p.seed),
        train: train_p,
        test: test_p,
        writer,
        k_search,
        leaves,
    })
}

/// The train rows of every vote, checked to be a search's by the density rule and to be
/// the same images as `source`'s `rows` train rows, each with its reference from `out`.
fn load_votes(
    params: &ClusteringParams,
    source: &Artifact,
    votes: &[Artifact],
    rows: usize,
    out: &Path,
) -> Result<Vec<(ArtifactRef, Features)>> {
    if votes.is_empty() {
        return Ok(Vec::new());
    }
    if params.k.is_single() || !matches!(params.k_rule, Some(KRule::Density { .. })) {
        return Err(ClusterError::InvalidParams(
            "--votes count dense groups: they need a searched k (--k A..B or auto) and \
             --k-rule density"
                .into(),
        ));
    }
    let images = Features::origin(source)?.dataset_key;
    votes
        .iter()
        .map(|v| {
            let path = v.path(Split::Train.file_name())?;
            if Features::origin(v)?.dataset_key != images {
                return Err(ClusterError::InvalidData(format!(
                    "--votes {}: not an embedding of the same images as --features {} \
                     (another dataset)",
                    v.dir().display(),
                    source.dir().display()
                )));
            }
            let train = Features::load(v, Split::Train)?;
            if train.len() != rows {
                return Err(ClusterError::InvalidData(format!(
                    "{}: {} train rows, but the features have {rows}",
                    path.display(),
                    train.len()
                )));
            }
            Ok((v.reference_from(out), train))
        })
        .collect()
}

/// Runs the clustering stage: fits on the train split of `features`, predicts train and
/// test, and writes the artifact to `out` (reused when unchanged unless `force`). A
/// search with the density rule also counts the dense groups of every artifact in
/// `votes` (other embeddings of the same images), and keeps the median count.
pub fn run(
    params: &ClusteringParams,
    features: &Path,
    votes: &[PathBuf],
    out: &Path,
    force: bool,
    progress: &mut dyn FnMut(usize, IterationEvent),
) -> Result<Outcome> {
    let source = Artifact::open(features, &Features::KINDS)?;
    let mut inputs = source.inputs(&Split::ALL.map(Split::file_name))?;
    let vote_artifacts = votes
        .iter()
        .map(|v| Artifact::open(v, &Features::KINDS))
        .collect::<aeclust_artifact::Result<Vec<_>>>()?;
    for v in &vote_artifacts {
        inputs.extend(v.inputs(&[Split::Train.file_name()])?);
    }
    let stage = Stage::new(CLUSTERING, env!("CARGO_PKG_VERSION"), params, &inputs, out)?;
    if let Some(outcome) = stage.reuse(force) {
        return Ok(outcome);
    }
    if let MethodParams::Kmeans(KMeansOptions {
        batch: Some(batch),
        n_init,
        precision,
        ..
    }) = &params.method
    {
        if !votes.is_empty() {
            return Err(ClusterError::InvalidParams(
                "--votes count dense groups for a k search; mini-batch K-Means fits one k".into(),
            ));
        }
        return match precision {
            Precision::F32 => {
                stream::run::<f32>(params, *n_init, *batch, &source, &stage, out, progress)
            }
            Precision::F64 => {
                stream::run::<f64>(params, *n_init, *batch, &source, &stage, out, progress)
            }
        };
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
    if params.method() == Method::Kmeans && !params.k.is_single() && params.k.min < 2 {
        return Err(ClusterError::InvalidParams(format!(
            "--k {}: a K-Means search compares silhouettes, which need at least 2 clusters",
            params.k
        )));
    }
    if let Some(KRule::Density { min_group }) = params.k_rule {
        if !(min_group > 0.0 && min_group < 1.0) {
            return Err(ClusterError::InvalidParams(format!(
                "--min-group {min_group}: the smallest dense group is a fraction of the rows, \
                 above 0 and below 1 (e.g. 0.02)"
            )));
        }
    }
    let votes = load_votes(params, &source, &vote_artifacts, train.len(), out)?;
    let keep = varying_columns(&train);
    if keep.is_empty() {
        return Err(ClusterError::InvalidData(format!(
            "{}: every feature is constant; nothing to cluster",
            train_path.display()
        )));
    }
    let precision = params.method.precision().ok_or_else(not_scan)?;
    let fitted = match precision {
        Precision::F32 => fit_typed::<f32>(params, &train, &test, &keep, &votes, progress)?,
        Precision::F64 => fit_typed::<f64>(params, &train, &test, &keep, &votes, progress)?,
    };
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
        cluster_sizes_train: ClusteringInfo::sizes(&fitted.train.clusters, fitted.k),
        fit: fitted.fit,
        novelty: match fitted.result {
            MethodFit::Gmm(_) => NoveltyScore::NegativeLogLikelihood,
            _ => NoveltyScore::CentroidDistance,
        },
        result: fitted.result,
        threads,
    };
    let manifest = info.commit(
        &stage,
        &fitted.writer,
        &PerSplit {
            train: AssignedSplit {
                leaves: fitted.leaves.as_ref().map(|l| &l.0[..]),
                ..fitted.train.assigned(train.labels.as_deref())
            },
            test: AssignedSplit {
                leaves: fitted.leaves.as_ref().map(|l| &l.1[..]),
                ..fitted.test.assigned(test.labels.as_deref())
            },
        },
        Environment::here().threads(threads),
    )?;
    Ok(Outcome::built(manifest))
}
