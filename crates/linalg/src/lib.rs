//! Dense linear algebra aeclust's clustering algorithms need: gemm products on ndarray
//! views of any strides, Cholesky factors.

use gemm::Parallelism;
use linfa::Float;
use ndarray::{Array2, ArrayView2, ArrayViewMut2};

/// Parallelism for one large product: all rayon threads.
pub fn all_threads() -> Parallelism {
    match rayon::current_num_threads() {
        0 | 1 => Parallelism::None,
        n => Parallelism::Rayon(n),
    }
}

/// `c = a·b` (or `c += a·b` when `accumulate`) with any strides.
pub fn matmul_into<F: Float>(
    a: ArrayView2<F>,
    b: ArrayView2<F>,
    mut c: ArrayViewMut2<F>,
    accumulate: bool,
    parallelism: Parallelism,
) {
    let (m, k) = a.dim();
    let (k2, n) = b.dim();
    assert_eq!(k, k2, "inner dimensions differ");
    assert_eq!(c.dim(), (m, n), "output shape");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            c.fill(F::zero());
        }
        return;
    }
    let (a_rs, a_cs) = (a.strides()[0], a.strides()[1]);
    let (b_rs, b_cs) = (b.strides()[0], b.strides()[1]);
    let (c_rs, c_cs) = (c.strides()[0], c.strides()[1]);
    // SAFETY: the pointers and strides come from live ndarray views of the checked
    // shapes; `c` is a unique mutable view, so it cannot alias `a` or `b`.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            c_cs,
            c_rs,
            accumulate,
            a.as_ptr(),
            a_cs,
            a_rs,
            b.as_ptr(),
            b_cs,
            b_rs,
            F::one(),
            F::one(),
            false,
            false,
            false,
            parallelism,
        );
    }
}

/// `a·b` into a new array.
pub fn matmul<F: Float>(a: ArrayView2<F>, b: ArrayView2<F>, parallelism: Parallelism) -> Array2<F> {
    let mut c = Array2::zeros((a.nrows(), b.ncols()));
    matmul_into(a, b, c.view_mut(), false, parallelism);
    c
}

/// Lower Cholesky factor `L` of a symmetric positive-definite matrix (`A = L·Lᵀ`), or
/// `None` when `A` is not positive definite. Accumulates in f64.
pub fn cholesky<F: Float>(a: ArrayView2<F>) -> Option<Array2<F>> {
    let d = a.nrows();
    let mut l = Array2::<f64>::zeros((d, d));
    for j in 0..d {
        let mut diag = a[[j, j]].to_f64()?;
        for p in 0..j {
            diag -= l[[j, p]] * l[[j, p]];
        }
        if diag.is_nan() || diag <= 0.0 {
            return None;
        }
        let ljj = diag.sqrt();
        l[[j, j]] = ljj;
        for i in (j + 1)..d {
            let mut s = a[[i, j]].to_f64()?;
            for p in 0..j {
                s -= l[[i, p]] * l[[j, p]];
            }
            l[[i, j]] = s / ljj;
        }
    }
    Some(l.mapv(F::cast))
}

/// `(L⁻¹)ᵀ` for a lower-triangular `L`: the upper-triangular "precision Cholesky" `U` with
/// `Σ⁻¹ = U·Uᵀ`, so that `‖(x − μ)·U‖²` is the Mahalanobis distance.
pub fn inverse_lower_transposed<F: Float>(l: ArrayView2<F>) -> Array2<F> {
    let d = l.nrows();
    let l64 = l.mapv(|v| v.to_f64().unwrap_or(f64::NAN));
    let mut inv = Array2::<f64>::zeros((d, d));
    for col in 0..d {
        // Forward substitution: L·y = e_col.
        for i in col..d {
            let mut s = if i == col { 1.0 } else { 0.0 };
            for p in col..i {
                s -= l64[[i, p]] * inv[[p, col]];
            }
            inv[[i, col]] = s / l64[[i, i]];
        }
    }
    inv.t().mapv(F::cast)
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;
    use ndarray::array;

    #[test]
    fn matmul_matches_ndarray_dot_with_transposes() {
        let a = array![[1.0f64, 2.0, 3.0], [4.0, 5.0, 6.0]];
        let b = array![[1.0f64, 0.5], [-1.0, 2.0], [0.0, 1.0]];
        let c = matmul(a.view(), b.view(), Parallelism::None);
        assert_abs_diff_eq!(c, a.dot(&b), epsilon = 1e-12);
        let ct = matmul(b.t(), a.t(), Parallelism::None);
        assert_abs_diff_eq!(ct, a.dot(&b).t().to_owned(), epsilon = 1e-12);
        let mut acc = c.clone();
        matmul_into(a.view(), b.view(), acc.view_mut(), true, Parallelism::None);
        assert_abs_diff_eq!(acc, &c * 2.0, epsilon = 1e-12);
    }

    #[test]
    fn cholesky_and_precision_factor() {
        let a = array![[4.0f64, 2.0, 0.4], [2.0, 3.0, 0.5], [0.4, 0.5, 2.0]];
        let l = cholesky(a.view()).unwrap();
        assert_abs_diff_eq!(l.dot(&l.t()), a, epsilon = 1e-12);
        let u = inverse_lower_transposed(l.view());
        // U·Uᵀ = A⁻¹  ⇔  A·U·Uᵀ = I
        assert_abs_diff_eq!(a.dot(&u).dot(&u.t()), Array2::eye(3), epsilon = 1e-12);
        assert!(cholesky(array![[1.0f64, 2.0], [2.0, 1.0]].view()).is_none());
    }
}
