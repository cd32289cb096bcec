use gemm::Parallelism;
use linfa::traits::{Fit, PredictInplace};
use linfa::{DatasetBase, Float, ParamGuard};
use ndarray::{Array1, Array2, ArrayBase, ArrayD, ArrayView2, Axis, Data, Ix2, Zip};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::{CovarianceType, GmmParams, GmmValidParams};
use crate::kmeans::KMeans;
use crate::{ClusterError, IterationEvent, Result};
use aeclust_linalg::{all_threads, cholesky, inverse_lower_transposed, matmul, matmul_into};

/// One component's covariance, precision factor and log-determinant of the factor.
type ComponentFit<F> = (Array2<F>, Array2<F>, f64);

const LN_2PI: f64 = 1.837_877_066_409_345_3;

/// Inverse-covariance factors, the form the E-step uses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Precision<F> {
    /// Per component `U` (upper triangular) with `Σ⁻¹ = U·Uᵀ`.
    Full(Vec<Array2<F>>),
    /// Per component and feature `1/σ`.
    Diag(Array2<F>),
}

/// A fitted Gaussian mixture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GaussianMixture<F> {
    covariance_type: CovarianceType,
    weights: Array1<F>,
    means: Array2<F>,
    covariances: ArrayD<F>,
    precision: Precision<F>,
    log_det_precision_chol: Vec<f64>,
    lower_bound: f64,
    log_likelihood_history: Vec<f64>,
    n_iter: usize,
    converged: bool,
    best_run: usize,
    n_train: usize,
}

impl<F: Float> GaussianMixture<F> {
    /// Starts a parameter set with `n_components` components and the defaults.
    pub fn params(n_components: usize) -> GmmParams<F> {
        GmmParams::new(n_components)
    }
    /// Mixing weights [K].
    pub fn weights(&self) -> &Array1<F> {
        &self.weights
    }
    /// Means [K, D].
    pub fn means(&self) -> &Array2<F> {
        &self.means
    }
    /// Covariances: [K, D, D] (full) or [K, D] (diag).
    pub fn covariances(&self) -> &ArrayD<F> {
        &self.covariances
    }
    /// Covariance shape.
    pub fn covariance_type(&self) -> CovarianceType {
        self.covariance_type
    }
    /// Mean log-likelihood per training sample at the last EM iteration.
    pub fn lower_bound(&self) -> f64 {
        self.lower_bound
    }
    /// Mean log-likelihood per sample at each EM iteration of the winning restart.
    pub fn log_likelihood_history(&self) -> &[f64] {
        &self.log_likelihood_history
    }
    /// EM iterations of the winning restart.
    pub fn n_iter(&self) -> usize {
        self.n_iter
    }
    /// Whether the winning restart converged before `max_iter`.
    pub fn converged(&self) -> bool {
        self.converged
    }
    /// Index of the winning restart.
    pub fn best_run(&self) -> usize {
        self.best_run
    }

    /// Number of free parameters.
    pub fn n_parameters(&self) -> usize {
        let (k, d) = self.means.dim();
        let cov = match self.covariance_type {
            CovarianceType::Full => k * d * (d + 1) / 2,
            CovarianceType::Diag => k * d,
        };
        cov + k * d + k - 1
    }

    /// Mean log-likelihood per sample of `x` under the model.
    pub fn score(&self, x: ArrayView2<F>) -> f64 {
        self.e_step(x).0
    }

    /// [`score`](Self::score) and the most probable component of every row, from one
    /// E-step.
    pub fn score_and_predict(&self, x: ArrayView2<F>) -> (f64, Vec<usize>) {
        let (score, log_resp) = self.e_step(x);
        (score, argmax_rows(&log_resp))
    }

    /// Mean log-likelihood per sample (NaN for no rows), the most probable component of
    /// each row and its posterior probability, from one E-step.
    pub fn score_predict_confidence(&self, x: ArrayView2<F>) -> (f64, Vec<usize>, Vec<F>) {
        let (score, log_resp) = self.e_step(x);
        let labels = argmax_rows(&log_resp);
        let confidence = log_resp
            .outer_iter()
            .zip(&labels)
            .map(|(row, &l)| row[l].exp())
            .collect();
        (score, labels, confidence)
    }

    /// Bayesian information criterion on `x` (lower is better).
    pub fn bic(&self, x: ArrayView2<F>) -> f64 {
        let n = x.nrows() as f64;
        -2.0 * self.score(x) * n + self.n_parameters() as f64 * n.ln()
    }

    /// Akaike information criterion on `x` (lower is better).
    pub fn aic(&self, x: ArrayView2<F>) -> f64 {
        let n = x.nrows() as f64;
        -2.0 * self.score(x) * n + 2.0 * self.n_parameters() as f64
    }

    /// The log-likelihood `ln p(x)` of every row, its most probable component and that
    /// component's posterior probability (the same E-step as
    /// [`score_predict_confidence`](Self::score_predict_confidence), row by row).
    pub fn log_likelihood_predict_confidence(
        &self,
        x: ArrayView2<F>,
    ) -> (Vec<f64>, Vec<usize>, Vec<F>) {
        let mut log_resp = self.weighted_log_prob(x);
        let log_likelihood: Vec<f64> = log_resp
            .axis_iter_mut(Axis(0))
            .into_par_iter()
            .map(|mut row| log_normalise(&mut row))
            .collect();
        let labels = argmax_rows(&log_resp);
        let confidence = log_resp
            .outer_iter()
            .zip(&labels)
            .map(|(row, &l)| row[l].exp())
            .collect();
        (log_likelihood, labels, confidence)
    }

    /// A mixture from fitted parameters (as `aeclust-cluster` saves them): weights [K],
    /// means [K, D], covariances [K, D, D] (full) or [K, D] (diag), regularisation
    /// included. Predicts exactly as the model they were taken from.
    pub fn from_parameters(
        weights: Array1<F>,
        means: Array2<F>,
        covariances: ArrayD<F>,
    ) -> Result<Self> {
        let (k, d) = means.dim();
        let bad = |what: String| ClusterError::InvalidData(format!("GMM parameters: {what}"));
        if weights.len() != k || k == 0 {
            return Err(bad(format!("{} weights for {k} means", weights.len())));
        }
        let singular = |component| ClusterError::SingularCovariance {
            component,
            reg_covar: 0.0,
        };
        let (covariance_type, precision, log_det) = match covariances.shape() {
            [kk, a, b] if (*kk, *a, *b) == (k, d, d) => {
                let covs = covariances
                    .view()
                    .into_dimensionality::<ndarray::Ix3>()
                    .expect("3-d");
                let mut factors = Vec::with_capacity(k);
                let mut log_det = Vec::with_capacity(k);
                for (c, cov) in covs.outer_iter().enumerate() {
                    let (u, ld) = precision_factor(cov).ok_or_else(|| singular(c))?;
                    factors.push(u);
                    log_det.push(ld);
                }
                (CovarianceType::Full, Precision::Full(factors), log_det)
            }
            [kk, a] if (*kk, *a) == (k, d) => {
                let var = covariances
                    .view()
                    .into_dimensionality::<Ix2>()
                    .expect("2-d")
                    .to_owned();
                if let Some(pos) = var.iter().position(|&v| v.is_nan() || v <= F::zero()) {
                    return Err(singular(pos / d.max(1)));
                }
                let (inv_sd, log_det) = diag_precision(&var);
                (CovarianceType::Diag, Precision::Diag(inv_sd), log_det)
            }
            other => {
                return Err(bad(format!(
                    "covariances of shape {other:?} for {k} means of {d} dimensions"
                )))
            }
        };
        Ok(Self {
            covariance_type,
            weights,
            means,
            covariances,
            precision,
            log_det_precision_chol: log_det,
            lower_bound: f64::NAN,
            log_likelihood_history: Vec::new(),
            n_iter: 0,
            converged: true,
            best_run: 0,
            n_train: 0,
        })
    }

    /// Posterior probability of each component for each row [N, K].
    pub fn predict_proba(&self, x: ArrayView2<F>) -> Array2<F> {
        self.e_step(x).1.mapv(|v| v.exp())
    }

    /// `log N(x | μ_k, Σ_k) + log π_k` for every row and component [N, K].
    fn weighted_log_prob(&self, x: ArrayView2<F>) -> Array2<F> {
        let (n, d) = x.dim();
        let k = self.means.nrows();
        let constant = -0.5 * d as f64 * LN_2PI;
        let mut out = Array2::<F>::zeros((n, k));
        match &self.precision {
            Precision::Full(factors) => {
                let columns: Vec<Vec<F>> = factors
                    .par_iter()
                    .enumerate()
                    .map(|(c, u)| {
                        let mut y = matmul(x, u.view(), Parallelism::None);
                        let mu_u = self.means.row(c).dot(u);
                        let offset = constant + self.log_det_precision_chol[c];
                        let log_w = self.weights[c].to_f64().unwrap_or(f64::NAN).ln();
                        y.outer_iter_mut()
                            .map(|mut row| {
                                row -= &mu_u;
                                let sq = row.iter().fold(0.0f64, |a, &v| {
                                    let v = v.to_f64().unwrap_or(f64::NAN);
                                    a + v * v
                                });
                                F::cast(offset - 0.5 * sq + log_w)
                            })
                            .collect()
                    })
                    .collect();
                for (c, col) in columns.into_iter().enumerate() {
                    out.column_mut(c).assign(&Array1::from(col));
                }
            }
            Precision::Diag(inv_sd) => {
                let prec = inv_sd.mapv(|v| v * v); // [K, D]
                let x_sq = x.mapv(|v| v * v);
                // -0.5 (x²·p − 2 x·(μp) + μ²·p)
                let mu_p = &self.means * &prec;
                let mut quad = matmul(x_sq.view(), prec.t(), all_threads());
                let cross = matmul(x, mu_p.t(), all_threads());
                quad.zip_mut_with(&cross, |q, &c| *q -= c + c);
                for c in 0..k {
                    let mu2p = (&self.means.row(c) * &mu_p.row(c)).sum();
                    let offset = constant
                        + self.log_det_precision_chol[c]
                        + self.weights[c].to_f64().unwrap_or(f64::NAN).ln();
                    Zip::from(out.column_mut(c))
                        .and(quad.column(c))
                        .for_each(|o, &q| {
                            *o = F::cast(offset - 0.5 * (q + mu2p).to_f64().unwrap_or(f64::NAN))
                        });
                }
            }
        }
        out
    }

    /// E-step: mean log-likelihood and log responsibilities, with a max-subtracted
    /// log-sum-exp so that no exponential overflows.
    fn e_step(&self, x: ArrayView2<F>) -> (f64, Array2<F>) {
        let mut log_resp = self.weighted_log_prob(x);
        // Collected, then summed in order: the same bits on any number of threads.
        let per_row: Vec<f64> = log_resp
            .axis_iter_mut(Axis(0))
            .into_par_iter()
            .map(|mut row| log_normalise(&mut row))
            .collect();
        let total: f64 = per_row.iter().sum();
        (total / x.nrows() as f64, log_resp)
    }

    /// M-step from responsibilities [N, K].
    fn m_step(x: ArrayView2<F>, resp: &Array2<F>, params: &GmmValidParams<F>) -> Result<Self> {
        let (n, d) = x.dim();
        let k = resp.ncols();
        let eps = F::epsilon() * F::cast(10.0);
        let nk: Array1<F> = resp.sum_axis(Axis(0)).mapv(|v| v + eps);
        let mut means = matmul(resp.t(), x, all_threads());
        for (mut row, &c) in means.outer_iter_mut().zip(nk.iter()) {
            row.mapv_inplace(|v| v / c);
        }
        let reg = params.reg_covar;
        let singular = |component| ClusterError::SingularCovariance {
            component,
            reg_covar: reg.to_f64().unwrap_or(f64::NAN),
        };
        let (covariances, precision, log_det) = match params.covariance_type {
            CovarianceType::Full => {
                let per: Vec<Result<ComponentFit<F>>> = (0..k)
                    .into_par_iter()
                    .map(|c| {
                        let mu = means.row(c);
                        let mut s = x.to_owned();
                        Zip::from(s.rows_mut())
                            .and(resp.column(c))
                            .for_each(|mut row, &r| {
                                let w = r.sqrt();
                                Zip::from(&mut row)
                                    .and(&mu)
                                    .for_each(|v, &m| *v = (*v - m) * w);
                            });
                        let mut cov = Array2::zeros((d, d));
                        matmul_into(s.t(), s.view(), cov.view_mut(), false, Parallelism::None);
                        cov.mapv_inplace(|v| v / nk[c]);
                        // Exact symmetry, then regularise.
                        for i in 0..d {
                            for j in 0..i {
                                let v = (cov[[i, j]] + cov[[j, i]]) * F::cast(0.5);
                                cov[[i, j]] = v;
                                cov[[j, i]] = v;
                            }
                            cov[[i, i]] += reg;
                        }
                        let (u, log_det) =
                            precision_factor(cov.view()).ok_or_else(|| singular(c))?;
                        Ok((cov, u, log_det))
                    })
                    .collect();
                let mut covs = ndarray::Array3::zeros((k, d, d));
                let mut factors = Vec::with_capacity(k);
                let mut log_det = Vec::with_capacity(k);
                for (c, r) in per.into_iter().enumerate() {
                    let (cov, u, ld) = r?;
                    covs.index_axis_mut(Axis(0), c).assign(&cov);
                    factors.push(u);
                    log_det.push(ld);
                }
                (covs.into_dyn(), Precision::Full(factors), log_det)
            }
            CovarianceType::Diag => {
                let x_sq = x.mapv(|v| v * v);
                let mut avg_x2 = matmul(resp.t(), x_sq.view(), all_threads());
                for (mut row, &c) in avg_x2.outer_iter_mut().zip(nk.iter()) {
                    row.mapv_inplace(|v| v / c);
                }
                let var = &avg_x2 - &means.mapv(|v| v * v);
                let var = var.mapv(|v| v.max(F::zero()) + reg);
                if let Some(pos) = var.iter().position(|&v| v.is_nan() || v <= F::zero()) {
                    return Err(singular(pos / d.max(1)));
                }
                let (inv_sd, log_det) = diag_precision(&var);
                (var.into_dyn(), Precision::Diag(inv_sd), log_det)
            }
        };
        Ok(Self {
            covariance_type: params.covariance_type,
            weights: nk.mapv(|v| v / F::cast(n)),
            means,
            covariances,
            precision,
            log_det_precision_chol: log_det,
            lower_bound: f64::NEG_INFINITY,
            log_likelihood_history: Vec::new(),
            n_iter: 0,
            converged: false,
            best_run: 0,
            n_train: n,
        })
    }
}

/// The precision factor `U = L⁻ᵀ` of a covariance (`Σ = L·Lᵀ`) and `ln det U`; `None`
/// when the covariance is not positive definite.
fn precision_factor<F: Float>(cov: ArrayView2<F>) -> Option<(Array2<F>, f64)> {
    let l = cholesky(cov)?;
    let u = inverse_lower_transposed(l.view());
    let log_det = u
        .diag()
        .iter()
        .map(|v| v.to_f64().unwrap_or(f64::NAN).ln())
        .sum::<f64>();
    log_det.is_finite().then_some((u, log_det))
}

/// `1/σ` of diagonal variances [K, D] and each component's `ln det` of it.
fn diag_precision<F: Float>(var: &Array2<F>) -> (Array2<F>, Vec<f64>) {
    let inv_sd = var.mapv(|v| F::one() / v.sqrt());
    let log_det = inv_sd
        .outer_iter()
        .map(|row| {
            row.iter()
                .map(|v| v.to_f64().unwrap_or(f64::NAN).ln())
                .sum()
        })
        .collect();
    (inv_sd, log_det)
}

/// Index of the largest value of every row.
fn argmax_rows<F: Float>(m: &Array2<F>) -> Vec<usize> {
    m.outer_iter()
        .map(|row| {
            row.iter()
                .enumerate()
                .fold((0, F::neg_infinity()), |(bi, bv), (i, &v)| {
                    if v > bv {
                        (i, v)
                    } else {
                        (bi, bv)
                    }
                })
                .0
        })
        .collect()
}

impl<F: Float> GmmValidParams<F> {
    /// Fits like [`Fit::fit`], calling `progress` after every EM iteration.
    pub fn fit_with_progress(
        &self,
        x: ArrayView2<F>,
        progress: &mut dyn FnMut(IterationEvent),
    ) -> Result<GaussianMixture<F>> {
        crate::kmeans::check_data(x, self.n_components)?;
        let (n, _) = x.dim();
        let k = self.n_components;
        let tol = self.tolerance.to_f64().unwrap_or(0.0);
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(self.seed);
        let mut best: Option<GaussianMixture<F>> = None;
        for run in 0..self.n_init {
            let kmeans = KMeans::<F>::params(k)
                .seed(rng.gen())
                .max_iter(300)
                .check()?
                .fit_with_progress(x, &mut |_| {})?;
            let (labels, _) = kmeans.assign(x);
            let mut resp = Array2::<F>::zeros((n, k));
            for (i, &l) in labels.iter().enumerate() {
                resp[[i, l]] = F::one();
            }
            let mut model = GaussianMixture::m_step(x, &resp, self)?;
            let mut history = Vec::new();
            let mut lower_bound = f64::NEG_INFINITY;
            let mut converged = false;
            for iteration in 1..=self.max_iter {
                let previous = lower_bound;
                let (lb, log_resp) = model.e_step(x);
                if !lb.is_finite() {
                    return Err(ClusterError::InvalidData(format!(
                        "log-likelihood became {lb} at EM iteration {iteration}; scale the features or raise --reg-covar"
                    )));
                }
                lower_bound = lb;
                history.push(lb);
                progress(IterationEvent {
                    run,
                    iteration,
                    objective: lb,
                });
                model = GaussianMixture::m_step(x, &log_resp.mapv(|v| v.exp()), self)?;
                if (lower_bound - previous).abs() < tol {
                    converged = true;
                    break;
                }
            }
            model.n_iter = history.len();
            model.log_likelihood_history = history;
            model.lower_bound = lower_bound;
            model.converged = converged;
            model.best_run = run;
            if best
                .as_ref()
                .is_none_or(|b| model.lower_bound > b.lower_bound)
            {
                best = Some(model);
            }
        }
        Ok(best.expect("n_init >= 1"))
    }
}

impl<F: Float, D: Data<Elem = F>, T> Fit<ArrayBase<D, Ix2>, T, ClusterError> for GmmValidParams<F> {
    type Object = GaussianMixture<F>;

    fn fit(&self, dataset: &DatasetBase<ArrayBase<D, Ix2>, T>) -> Result<GaussianMixture<F>> {
        self.fit_with_progress(dataset.records().view(), &mut |_| {})
    }
}

impl<F: Float, D: Data<Elem = F>> PredictInplace<ArrayBase<D, Ix2>, Array1<usize>>
    for GaussianMixture<F>
{
    fn predict_inplace(&self, x: &ArrayBase<D, Ix2>, y: &mut Array1<usize>) {
        assert_eq!(x.ncols(), self.means.ncols(), "feature dimension");
        *y = Array1::from(argmax_rows(&self.weighted_log_prob(x.view())));
    }

    fn default_target(&self, x: &ArrayBase<D, Ix2>) -> Array1<usize> {
        Array1::zeros(x.nrows())
    }
}

/// Turns a row of weighted log-probabilities into log-responsibilities in place and
/// returns its log-sum-exp, `ln p(x)` (max-subtracted, so no exponential overflows).
fn log_normalise<F: Float>(row: &mut ndarray::ArrayViewMut1<F>) -> f64 {
    let max = row.iter().fold(F::neg_infinity(), |m, &v| m.max(v));
    let lse = if max.is_finite() {
        max + row.iter().fold(F::zero(), |a, &v| a + (v - max).exp()).ln()
    } else {
        max
    };
    row.mapv_inplace(|v| v - lse);
    lse.to_f64().unwrap_or(f64::NAN)
}
