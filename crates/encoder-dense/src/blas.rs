//! Matrix products through the system's OpenBLAS (feature `openblas`), as a candle custom
//! op with its backward. An alternative to the gemm crate that candle uses: as fast on the
//! 2-core AVX-512 Xeon since that crate runs its AVX-512 kernels (feature `x86-v4`), and
//! 1.6–1.7x faster before; see `docs/RESULTS.md`. Install it with
//! `apt-get install -y libopenblas-dev`.

use candle_core::{CpuStorage, CustomOp2, Layout, Shape, Tensor};

#[link(name = "openblas")]
extern "C" {
    fn cblas_sgemm(
        layout: i32,
        trans_a: i32,
        trans_b: i32,
        m: i32,
        n: i32,
        k: i32,
        alpha: f32,
        a: *const f32,
        lda: i32,
        b: *const f32,
        ldb: i32,
        beta: f32,
        c: *mut f32,
        ldc: i32,
    );
    fn openblas_set_num_threads(n: i32);
    fn openblas_get_corename() -> *const std::os::raw::c_char;
}

/// The kernel family OpenBLAS chose for this CPU (`SkylakeX`, `Haswell`, `Prescott`, …).
pub fn core_name() -> String {
    // SAFETY: OpenBLAS returns a static NUL-terminated string.
    unsafe { std::ffi::CStr::from_ptr(openblas_get_corename()) }
        .to_string_lossy()
        .into_owned()
}

/// Older OpenBLAS releases (Debian 12's 0.3.21) do not recognise recent Xeons and fall
/// back to their SSE3 `Prescott` kernels, 2.8x slower here than their AVX-512 ones. The
/// kernels are chosen when the library loads, so the fix is the environment of a new
/// process: when that happened on a CPU with AVX-512 and `OPENBLAS_CORETYPE` is unset,
/// this re-executes the program with `OPENBLAS_CORETYPE=SkylakeX` (never returns then);
/// otherwise it returns.
pub fn ensure_vector_kernels() {
    #[cfg(target_arch = "x86_64")]
    {
        use std::os::unix::process::CommandExt;
        if std::env::var_os("OPENBLAS_CORETYPE").is_some()
            || !std::arch::is_x86_feature_detected!("avx512f")
            || core_name() != "Prescott"
        {
            return;
        }
        let Ok(exe) = std::env::current_exe() else {
            return;
        };
        let err = std::process::Command::new(exe)
            .args(std::env::args_os().skip(1))
            .env("OPENBLAS_CORETYPE", "SkylakeX")
            .exec();
        eprintln!("warning: OpenBLAS runs its SSE3 kernels on this AVX-512 CPU and re-running with OPENBLAS_CORETYPE=SkylakeX failed ({err}); set it yourself for ~2x speed");
    }
}

const ROW_MAJOR: i32 = 101;
const NO_TRANS: i32 = 111;
const TRANS: i32 = 112;

/// Sets OpenBLAS's (process-wide) thread count to `n` unless it already is.
pub fn use_threads(n: usize) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static CURRENT: AtomicUsize = AtomicUsize::new(0);
    let n = n.max(1);
    if CURRENT.swap(n, Ordering::Relaxed) != n {
        // SAFETY: a plain setter of OpenBLAS's global thread count.
        unsafe { openblas_set_num_threads(n as i32) }
    }
}

/// `c` (m×n, contiguous) = op(a)·op(b) for row-major matrices with leading dimensions:
/// `op(a)` is m×k (`a` stored k×m when transposed), `op(b)` k×n (`b` stored n×k when
/// transposed).
///
/// # Safety
/// `a` and `b` hold every value their leading dimensions address for these shapes, `c`
/// holds m·n values, and m, n, k are not 0.
///
/// # Panics
/// When a dimension exceeds `i32`.
pub(crate) unsafe fn sgemm(
    (m, n, k): (usize, usize, usize),
    (a, lda, trans_a): (&[f32], usize, bool),
    (b, ldb, trans_b): (&[f32], usize, bool),
    c: &mut [f32],
) {
    let int = |v: usize| i32::try_from(v).expect("a matrix dimension within i32");
    let op = |t: bool| if t { TRANS } else { NO_TRANS };
    // SAFETY: the caller's contract.
    unsafe {
        cblas_sgemm(
            ROW_MAJOR,
            op(trans_a),
            op(trans_b),
            int(m),
            int(n),
            int(k),
            1.0,
            a.as_ptr(),
            int(lda),
            b.as_ptr(),
            int(ldb),
            0.0,
            c.as_mut_ptr(),
            int(n),
        );
    }
}

fn matrix<'a>(s: &'a CpuStorage, l: &Layout) -> candle_core::Result<(&'a [f32], usize, usize)> {
    let (rows, cols) = l.shape().dims2()?;
    Ok((crate::fused::f32_slice(s, l, "blas-gemm")?, rows, cols))
}

fn dim(v: usize) -> candle_core::Result<i32> {
    i32::try_from(v)
        .map_err(|_| candle_core::Error::Msg(format!("blas-gemm: dimension {v} too large")))
}

/// `op(a) · op(b)` of two contiguous f32 matrices, `op` a transpose when asked.
#[derive(Debug, Clone, Copy)]
pub struct Gemm {
    /// Use `aᵀ`.
    pub trans_a: bool,
    /// Use `bᵀ`.
    pub trans_b: bool,
}

impl Gemm {
    /// `op(a) · op(b)`.
    pub fn apply(self, a: &Tensor, b: &Tensor) -> candle_core::Result<Tensor> {
        a.contiguous()?.apply_op2(&b.contiguous()?, self)
    }
}

impl CustomOp2 for Gemm {
    fn name(&self) -> &'static str {
        "blas-gemm"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (a, ar, ac) = matrix(s1, l1)?;
        let (b, br, bc) = matrix(s2, l2)?;
        let (m, k) = if self.trans_a { (ac, ar) } else { (ar, ac) };
        let (k2, n) = if self.trans_b { (bc, br) } else { (br, bc) };
        if k != k2 {
            candle_core::bail!("blas-gemm: inner dimensions {k} and {k2} differ")
        }
        let mut c = vec![0f32; m * n];
        if m > 0 && n > 0 && k > 0 {
            for v in [m, n, k] {
                dim(v)?;
            }
            // SAFETY: `a` holds ar×ac and `b` br×bc contiguous row-major floats, their
            // leading dimensions are their row lengths, and the shapes were checked.
            unsafe {
                sgemm(
                    (m, n, k),
                    (a, ac, self.trans_a),
                    (b, bc, self.trans_b),
                    &mut c,
                )
            }
        }
        Ok((CpuStorage::F32(c), Shape::from((m, n))))
    }

    /// For `C = op(A) · op(B)` and the gradient `G` of `C`:
    /// `dA = G · op(B)ᵀ` (or its transpose), `dB = op(A)ᵀ · G` (or its transpose), each
    /// one product of the stored matrices.
    fn bwd(
        &self,
        a: &Tensor,
        b: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let (ta, tb) = (self.trans_a, self.trans_b);
        let da = if ta {
            Gemm {
                trans_a: tb,
                trans_b: true,
            }
            .apply(b, grad)?
        } else {
            Gemm {
                trans_a: false,
                trans_b: !tb,
            }
            .apply(grad, b)?
        };
        let db = if tb {
            Gemm {
                trans_a: true,
                trans_b: ta,
            }
            .apply(grad, a)?
        } else {
            Gemm {
                trans_a: !ta,
                trans_b: false,
            }
            .apply(a, grad)?
        };
        Ok((Some(da), Some(db)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    /// Forward and gradients equal candle's own matmul for every transpose combination.
    #[test]
    fn matches_candle_matmul_forward_and_backward() {
        let dev = Device::Cpu;
        for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
            let (m, k, n) = (37, 7, 3);
            let a_shape = if ta { (k, m) } else { (m, k) };
            let b_shape = if tb { (n, k) } else { (k, n) };
            let a = Var::from_tensor(&Tensor::randn(0f32, 1.0, a_shape, &dev).unwrap()).unwrap();
            let b = Var::from_tensor(&Tensor::randn(0f32, 1.0, b_shape, &dev).unwrap()).unwrap();
            let w = Tensor::randn(0f32, 1.0, (m, n), &dev).unwrap();
            let ours = Gemm {
                trans_a: ta,
                trans_b: tb,
            }
            .apply(a.as_tensor(), b.as_tensor())
            .unwrap();
            let op = |t: &Tensor, tr: bool| if tr { t.t().unwrap() } else { t.clone() };
            let theirs = op(a.as_tensor(), ta)
                .matmul(&op(b.as_tensor(), tb))
                .unwrap();
            let diff = crate::fused::max_abs_diff;
            assert!(diff(&ours, &theirs) < 1e-4, "forward {ta} {tb}");
            let g1 = (ours * &w).unwrap().sum_all().unwrap().backward().unwrap();
            let g2 = (theirs * &w)
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap();
            for v in [&a, &b] {
                let (x, y) = (
                    g1.get(v.as_tensor()).unwrap(),
                    g2.get(v.as_tensor()).unwrap(),
                );
                assert!(diff(x, y) < 1e-4, "gradient {ta} {tb}");
            }
        }
    }
}
