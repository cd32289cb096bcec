//! The clustering stage: features artifact in, `clustering` artifact out.

use std::path::Path;
use std::time::Instant;

pub use aeclust_artifact::kinds::{ClusteringParams, Method, Precision};

use aeclust_artifact::kinds::{
    ClusteringInfo, CovarianceType, Features, FeaturesRef, FitSummary, GmmFit, KMeansFit, PerSplit,
    Split, CLUSTERING,
};
use aeclust_artifact::{Artifact, Element, Environment, Outcome, Stage, TensorWriter};
use linfa::{Float, ParamGuard};
use ndarray::{Array2, ArrayView2};

use crate::{ClusterError, GaussianMixture, IterationEvent, KMeans, Result};

fn to_array<F: Float>(f: &Features, keep: &[usize]) -> Array2<F> {
    let n = f.len();
    let mut out = Array2::zeros((n, keep.len()));
    for (i, mut row) in out.outer_iter_mut().enumerate() {
        let src = &f.values[i * f.dim..(i + 1) * f.dim];
        for (o, &j) in row.iter_mut().zip(keep) {
            *o = F::cast(src[j]);
        }
    }
    out
}

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
    train: Vec<usize>,
    test: Vec<usize>,
    writer: TensorWriter,
    fit: FitSummary,
    kmeans: Option<KMeansFit>,
    gmm: Option<GmmFit>,
}

/// Expands parameters fitted on the kept columns back to all `dim` columns.
fn expand_rows<F: Float + Element>(m: ArrayView2<F>, keep: &[usize], fill: &[f32]) -> Vec<F> {
    let dim = fill.len();
    let mut out = Vec::with_capacity(m.nrows() * dim);
    for row in m.outer_iter() {
        let mut full: Vec<F> = fill.iter().map(|&v| F::cast(v)).collect();
        for (&j, &v) in keep.iter().zip(row.iter()) {
            full[j] = v;
        }
        out.extend(full);
    }
    out
}

fn fit_typed<F: Float + Element>(
    p: &ClusteringParams,
    train: &Features,
    test: &Features,
    keep: &[usize],
    progress: &mut dyn FnMut(IterationEvent),
) -> Result<Fitted> {
    let x = to_array::<F>(train, keep);
    let xt = to_array::<F>(test, keep);
    let fill: Vec<f32> = train.values[..train.dim].to_vec();
    let dim = train.dim;
    let k = p.k;
    let mut iter_times = Vec::new();
    let mut last = Instant::now();
    let mut timed = |e: IterationEvent| {
        iter_times.push(last.elapsed().as_secs_f64());
        last = Instant::now();
        progress(e);
    };
    let started = Instant::now();
    let fit_seconds;
    let mut writer = TensorWriter::new();
    let (train_labels, test_labels, n_iter, converged, best_run, kmeans, gmm) = match p.method {
        Method::Kmeans => {
            let model = KMeans::<F>::params(k)
                .seed(p.seed)
                .max_iter(p.max_iter)
                .n_init(p.n_init)
                .tolerance(F::cast(p.tol))
                .check()?
                .fit_with_progress(x.view(), &mut timed)?;
            fit_seconds = started.elapsed().as_secs_f64();
            let (train_labels, _) = model.assign(x.view());
            let (test_labels, _) = model.assign(xt.view());
            writer.add(
                "centroids",
                &[k, dim],
                &expand_rows(model.centroids().view(), keep, &fill),
            );
            let fit = KMeansFit {
                inertia: model.inertia().to_f64().unwrap_or(f64::NAN),
                inertia_per_run: model
                    .inertia_per_run()
                    .iter()
                    .map(|v| v.to_f64().unwrap_or(f64::NAN))
                    .collect(),
            };
            (
                train_labels,
                test_labels,
                model.n_iter(),
                model.converged(),
                model.best_run(),
                Some(fit),
                None,
            )
        }
        Method::Gmm => {
            let model = GaussianMixture::<F>::params(k)
                .covariance_type(p.covariance)
                .reg_covar(F::cast(p.reg_covar))
                .tolerance(F::cast(p.tol))
                .max_iter(p.max_iter)
                .n_init(p.n_init)
                .seed(p.seed)
                .check()?
                .fit_with_progress(x.view(), &mut timed)?;
            fit_seconds = started.elapsed().as_secs_f64();
            // One E-step per split gives the likelihood and the assignments.
            let (score_train, train_labels) = model.score_and_predict(x.view());
            let (score_test, test_labels) = model.score_and_predict(xt.view());
            writer.add("weights", &[k], model.weights().as_slice().unwrap());
            writer.add(
                "means",
                &[k, dim],
                &expand_rows(model.means().view(), keep, &fill),
            );
            let reg = F::cast(p.reg_covar);
            match p.covariance {
                CovarianceType::Full => {
                    let covs = model.covariances();
                    let mut full = vec![F::zero(); k * dim * dim];
                    for c in 0..k {
                        let block = &mut full[c * dim * dim..(c + 1) * dim * dim];
                        for j in 0..dim {
                            block[j * dim + j] = reg; // dropped constant columns
                        }
                        for (a, &ja) in keep.iter().enumerate() {
                            for (b, &jb) in keep.iter().enumerate() {
                                block[ja * dim + jb] = covs[[c, a, b]];
                            }
                        }
                    }
                    writer.add("covariances", &[k, dim, dim], &full);
                }
                _ => {
                    let covs = model
                        .covariances()
                        .view()
                        .into_dimensionality::<ndarray::Ix2>()
                        .expect("diag covariances are [K, D]");
                    let fill_reg = vec![p.reg_covar as f32; dim];
                    writer.add(
                        "covariances",
                        &[k, dim],
                        &expand_rows(covs, keep, &fill_reg),
                    );
                }
            }
            let n = x.nrows() as f64;
            let n_params = model.n_parameters() as f64;
            let fit = GmmFit {
                lower_bound: model.lower_bound(),
                log_likelihood_history: model.log_likelihood_history().to_vec(),
                mean_log_likelihood_train: score_train,
                mean_log_likelihood_test: score_test,
                bic: -2.0 * score_train * n + n_params * n.ln(),
                aic: -2.0 * score_train * n + 2.0 * n_params,
                n_parameters: model.n_parameters(),
            };
            (
                train_labels,
                test_labels,
                model.n_iter(),
                model.converged(),
                model.best_run(),
                None,
                Some(fit),
            )
        }
    };
    let mut sorted = iter_times.clone();
    sorted.sort_by(f64::total_cmp);
    let fit = FitSummary {
        fit_seconds,
        n_iter,
        converged,
        best_run,
        seconds_per_iteration_median: sorted.get(sorted.len() / 2).copied(),
        iteration_seconds: iter_times,
    };
    let keep_u32: Vec<u32> = keep.iter().map(|&j| j as u32).collect();
    writer.add("kept_dims", &[keep.len()], &keep_u32);
    Ok(Fitted {
        train: train_labels,
        test: test_labels,
        writer,
        fit,
        kmeans,
        gmm,
    })
}

/// Runs the clustering stage: fits on the train split of `features`, predicts train and
/// test, and writes the artifact to `out` (reused when unchanged unless `force`).
pub fn run(
    params: &ClusteringParams,
    features: &Path,
    out: &Path,
    force: bool,
    progress: &mut dyn FnMut(IterationEvent),
) -> Result<Outcome> {
    let source = Artifact::open(features, &Features::KINDS)?;
    let inputs = source.inputs(&Split::ALL.map(Split::file_name))?;
    let stage = Stage::new(CLUSTERING, env!("CARGO_PKG_VERSION"), params, &inputs, out)?;
    if let Some(outcome) = stage.reuse(force) {
        return Ok(outcome);
    }
    let PerSplit { train, test } = Features::load_splits(&source)?;
    let train_path = inputs[0].path();
    if params.k > train.len() {
        return Err(ClusterError::InvalidParams(format!(
            "--k {} is larger than the {} training samples in {}",
            params.k,
            train.len(),
            train_path.display()
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
    let as_u32 = |v: &[usize]| v.iter().map(|&l| l as u32).collect::<Vec<u32>>();
    let mut sizes = vec![0usize; params.k];
    fitted.train.iter().for_each(|&l| sizes[l] += 1);
    let threads = rayon::current_num_threads();
    let info = ClusteringInfo {
        params: params.clone(),
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
        threads,
    };
    let staging = stage.staging()?;
    fitted
        .writer
        .write(&staging.file(ClusteringInfo::MODEL_FILE))?;
    TensorWriter::new()
        .add(
            "train_assignments",
            &[fitted.train.len()],
            &as_u32(&fitted.train),
        )
        .add("train_labels", &[train.len()], &train.labels)
        .add(
            "test_assignments",
            &[fitted.test.len()],
            &as_u32(&fitted.test),
        )
        .add("test_labels", &[test.len()], &test.labels)
        .write(&staging.file(ClusteringInfo::ASSIGNMENTS_FILE))?;
    staging.write_json(ClusteringInfo::SUMMARY_FILE, &info)?;
    let manifest = staging.commit(
        &stage,
        &[
            ClusteringInfo::MODEL_FILE,
            ClusteringInfo::ASSIGNMENTS_FILE,
            ClusteringInfo::SUMMARY_FILE,
        ],
        &info,
        Environment::here().threads(threads),
    )?;
    Ok(Outcome::built(manifest))
}
