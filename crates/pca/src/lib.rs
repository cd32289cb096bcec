//! Principal component analysis by subspace iteration on the covariance matrix, with a
//! Rayleigh–Ritz step solved by Jacobi rotations. Deterministic (a fixed start basis), so
//! it takes no seed. Used by the PCA encoder (`aeclust-encode-pca`) and by the report's
//! 2-D scatter.

use ndarray::{s, Array1, Array2, ArrayView2, Axis};

/// A fitted PCA: mean, components (rows, by decreasing variance) and their variances.
#[derive(Debug, Clone, PartialEq)]
pub struct Pca {
    /// Feature means [D].
    pub mean: Array1<f64>,
    /// Principal axes [K, D], orthonormal rows.
    pub components: Array2<f64>,
    /// Variance along each axis [K].
    pub explained_variance: Array1<f64>,
    /// Total variance of the data.
    pub total_variance: f64,
    /// Scale each projection to unit variance.
    pub whiten: bool,
}

/// Removes from column `j` its components along columns `0..j`, twice.
fn project_out_previous(q: &mut Array2<f64>, j: usize) {
    for _pass in 0..2 {
        for i in 0..j {
            let p = q.column(j).dot(&q.column(i));
            let ci = q.column(i).to_owned();
            q.column_mut(j).scaled_add(-p, &ci);
        }
    }
}

/// Modified Gram–Schmidt, applied twice ("twice is enough") so that the columns stay
/// orthonormal even when some are nearly dependent; a column that vanishes (the data's
/// null space) is replaced by a fresh unit vector orthogonal to the others.
fn orthonormalise_columns(q: &mut Array2<f64>) {
    let d = q.nrows();
    for j in 0..q.ncols() {
        let before = q.column(j).dot(&q.column(j)).sqrt();
        project_out_previous(q, j);
        let mut norm = q.column(j).dot(&q.column(j)).sqrt();
        let mut fresh = 0;
        while norm <= 1e-10 * before.max(1e-300) && fresh < d {
            q.column_mut(j).fill(0.0);
            q[[(j + fresh) % d, j]] = 1.0;
            project_out_previous(q, j);
            norm = q.column(j).dot(&q.column(j)).sqrt();
            fresh += 1;
        }
        q.column_mut(j)
            .mapv_inplace(|v| v / norm.max(f64::MIN_POSITIVE));
    }
}

/// Eigen-decomposition of a small symmetric matrix (cyclic Jacobi): eigenvalues in
/// descending order and the eigenvectors as columns in the same order.
pub fn symmetric_eigen(mut a: Array2<f64>) -> (Array1<f64>, Array2<f64>) {
    let n = a.nrows();
    let mut v = Array2::<f64>::eye(n);
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[[i, j]] * a[[i, j]])
            .sum();
        if off < 1e-22 * a.iter().map(|x| x * x).sum::<f64>().max(1e-300) {
            break;
        }
        for p in 0..n {
            for q in (p + 1)..n {
                if a[[p, q]].abs() < 1e-300 {
                    continue;
                }
                let theta = (a[[q, q]] - a[[p, p]]) / (2.0 * a[[p, q]]);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (akp, akq) = (a[[k, p]], a[[k, q]]);
                    a[[k, p]] = c * akp - s * akq;
                    a[[k, q]] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[[p, k]], a[[q, k]]);
                    a[[p, k]] = c * apk - s * aqk;
                    a[[q, k]] = s * apk + c * aqk;
                }
                for k in 0..n {
                    let (vkp, vkq) = (v[[k, p]], v[[k, q]]);
                    v[[k, p]] = c * vkp - s * vkq;
                    v[[k, q]] = s * vkp + c * vkq;
                }
            }
        }
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&i, &j| {
        a[[j, j]]
            .partial_cmp(&a[[i, i]])
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let values = Array1::from_iter(order.iter().map(|&i| a[[i, i]]));
    let vectors = v.select(Axis(1), &order);
    (values, vectors)
}

/// The `k` leading eigenvalues and eigenvectors (columns) of the symmetric positive
/// semi-definite `a`: subspace iteration with oversampling, then Rayleigh–Ritz.
fn top_eigen(a: &Array2<f64>, k: usize) -> (Array1<f64>, Array2<f64>) {
    let d = a.nrows();
    let m = (k + 10).min(d);
    let mut q = Array2::from_shape_fn((d, m), |(i, j)| {
        (((i * 31 + j * 17) % 97) as f64 - 48.0) / 48.0 + if i == j { 1.0 } else { 0.0 }
    });
    orthonormalise_columns(&mut q);
    for _ in 0..150 {
        q = a.dot(&q);
        orthonormalise_columns(&mut q);
    }
    let small = q.t().dot(a).dot(&q);
    let (values, vectors) = symmetric_eigen(small);
    let axes = q.dot(&vectors);
    (
        values.slice(s![..k]).to_owned(),
        axes.slice(s![.., ..k]).to_owned(),
    )
}

impl Pca {
    /// Fits `n_components` axes on the rows of `x` [N, D]. With more columns than rows
    /// (images of 224×224×3 pixels, say) it decomposes the N × N Gram matrix instead of
    /// the D × D covariance: the same axes, from a matrix that fits in memory.
    pub fn fit(x: ArrayView2<f64>, n_components: usize, whiten: bool) -> Self {
        let (n, d) = x.dim();
        let k = n_components.min(d);
        let mean = x.mean_axis(Axis(0)).unwrap_or_else(|| Array1::zeros(d));
        let centred = &x - &mean;
        let scale = 1.0 / (n.max(2) - 1) as f64;
        let (values, components, total_variance) = if d > n {
            // cov = Xcᵀ·Xc·s and G = Xc·Xcᵀ·s share their non-zero eigenvalues; an
            // eigenvector u of G gives the axis Xcᵀ·u / ‖Xcᵀ·u‖.
            let gram = centred.dot(&centred.t()) * scale;
            let total = gram.diag().sum();
            let (values, vectors) = top_eigen(&gram, k.min(n));
            let mut axes = centred.t().dot(&vectors); // [D, k]
            for mut col in axes.axis_iter_mut(Axis(1)) {
                let norm = col.dot(&col).sqrt();
                col.mapv_inplace(|v| v / norm.max(f64::MIN_POSITIVE));
            }
            (values, axes.t().to_owned(), total)
        } else {
            let cov = centred.t().dot(&centred) * scale;
            let total = cov.diag().sum();
            let (values, vectors) = top_eigen(&cov, k);
            (values, vectors.t().to_owned(), total)
        };
        Self {
            mean,
            explained_variance: values.mapv(|v| v.max(0.0)),
            components,
            total_variance,
            whiten,
        }
    }

    /// Fits on `x` and projects it: [`Pca::fit`] then [`Pca::transform`].
    pub fn fit_transform(x: ArrayView2<f64>, n_components: usize, whiten: bool) -> Array2<f64> {
        Self::fit(x, n_components, whiten).transform(x)
    }

    /// Projects rows of `x` [N, D] on the axes [N, K].
    pub fn transform(&self, x: ArrayView2<f64>) -> Array2<f64> {
        let mut z = (&x - &self.mean).dot(&self.components.t());
        if self.whiten {
            for (mut col, &var) in z.axis_iter_mut(Axis(1)).zip(self.explained_variance.iter()) {
                let sd = var.sqrt().max(1e-12);
                col.mapv_inplace(|v| v / sd);
            }
        }
        z
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn more_columns_than_rows_gives_the_covariance_axes() {
        // 12 rows in 40 dimensions: the Gram route must find what the covariance finds.
        let x = Array2::from_shape_fn((12, 40), |(i, j)| {
            ((i * 7 + j * 13) % 11) as f64 * (1.0 + (j % 3) as f64) + (i * j % 5) as f64
        });
        let wide = Pca::fit(x.view(), 5, false);
        // Against the eigen-decomposition of the 40 × 40 covariance itself.
        let c = &x - &x.mean_axis(Axis(0)).unwrap();
        let cov = c.t().dot(&c) / 11.0;
        let (values, vectors) = top_eigen(&cov, 5);
        for i in 0..5 {
            assert!((wide.explained_variance[i] - values[i]).abs() < 1e-8 * values[0]);
            let dot = wide.components.row(i).dot(&vectors.column(i)).abs();
            assert!((dot - 1.0).abs() < 1e-6, "axis {i}: |cos| {dot}");
        }
        assert!((wide.total_variance - cov.diag().sum()).abs() < 1e-9 * wide.total_variance);
    }

    #[test]
    fn recovers_axes_and_variances() {
        // Data with variances 9, 4, 1 along three orthogonal (rotated) axes, 0 on a fourth.
        let n = 400;
        let axes = ndarray::array![
            [0.5, 0.5, 0.5, 0.5],
            [0.5, -0.5, 0.5, -0.5],
            [0.5, 0.5, -0.5, -0.5]
        ];
        let mut x = Array2::zeros((n, 4));
        for i in 0..n {
            let t = i as f64 / n as f64 * std::f64::consts::TAU;
            let coords = [
                3.0 * 2f64.sqrt() * t.sin(),
                2.0 * 2f64.sqrt() * (2.0 * t).sin(),
                2f64.sqrt() * (3.0 * t).cos(),
            ];
            for (c, &v) in coords.iter().enumerate() {
                x.row_mut(i).scaled_add(v, &axes.row(c));
            }
        }
        let pca = Pca::fit(x.view(), 2, false);
        let ev = &pca.explained_variance;
        assert!(
            (ev[0] - 9.0).abs() < 0.1 && (ev[1] - 4.0).abs() < 0.1,
            "{ev}"
        );
        assert!((pca.components.row(0).dot(&axes.row(0)).abs() - 1.0).abs() < 1e-6);
        assert!((pca.components.row(1).dot(&axes.row(1)).abs() - 1.0).abs() < 1e-6);
        let white = Pca {
            whiten: true,
            ..pca
        };
        let z = white.transform(x.view());
        let var0 = z.column(0).mapv(|v| v * v).sum() / (n - 1) as f64;
        assert!((var0 - 1.0).abs() < 1e-6, "{var0}");
    }
}
