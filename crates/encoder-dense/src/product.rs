//! `x·Wᵀ` of a dense layer as one candle op whose backward skips the input's gradient when
//! nothing upstream needs it. The first layer's input is the data, so its `dx` (the step's
//! largest product, 9 % of the study's network's training FLOPs) is never computed, and
//! `dW` comes out in `W`'s own [out, in] layout instead of as a transposed copy.

use candle_core::{CpuStorage, CustomOp2, Layout, Shape, Tensor};

/// `x·Wᵀ` for `x` [B, in] and `W` [out, in]: OpenBLAS with the `openblas` feature, else
/// candle's own CPU matmul.
pub(crate) struct LinearProduct;

/// `a·b` (`a` transposed when asked) through the backend the forward uses.
fn product(a: &Tensor, b: &Tensor, transpose_a: bool) -> candle_core::Result<Tensor> {
    #[cfg(feature = "openblas")]
    {
        crate::blas::Gemm {
            trans_a: transpose_a,
            trans_b: false,
        }
        .apply(a, b)
    }
    #[cfg(not(feature = "openblas"))]
    {
        if transpose_a {
            a.t()?.matmul(b)
        } else {
            a.matmul(b)
        }
    }
}

/// `x·Wᵀ` through OpenBLAS on as many threads as rayon has.
#[cfg(feature = "openblas")]
fn forward(
    s1: &CpuStorage,
    l1: &Layout,
    s2: &CpuStorage,
    l2: &Layout,
    _mnk: (usize, usize, usize),
) -> candle_core::Result<(CpuStorage, Shape)> {
    crate::blas::use_threads(rayon::current_num_threads());
    crate::blas::Gemm {
        trans_a: false,
        trans_b: true,
    }
    .cpu_fwd(s1, l1, s2, l2)
}

/// `x·Wᵀ` through candle's CPU matmul, `W` read transposed in place.
#[cfg(not(feature = "openblas"))]
fn forward(
    s1: &CpuStorage,
    l1: &Layout,
    s2: &CpuStorage,
    l2: &Layout,
    (m, n, k): (usize, usize, usize),
) -> candle_core::Result<(CpuStorage, Shape)> {
    use candle_core::backend::BackendStorage;
    let out = s1.matmul(s2, (1, m, n, k), l1, &l2.transpose(0, 1)?)?;
    Ok((out, Shape::from((m, n))))
}

impl CustomOp2 for LinearProduct {
    fn name(&self) -> &'static str {
        "linear-product"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (m, k) = l1.shape().dims2()?;
        let (n, k2) = l2.shape().dims2()?;
        if k != k2 {
            candle_core::bail!("linear-product: input of {k} features for a weight of {k2}")
        }
        forward(s1, l1, s2, l2, (m, n, k))
    }

    /// `dx = G·W` (only when `x` needs a gradient), `dW = Gᵀ·x`.
    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let dx = if x.track_op() {
            Some(product(grad, w, false)?)
        } else {
            None
        };
        Ok((dx, Some(product(grad, x, true)?)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fused::max_abs_diff as max_diff;
    use candle_core::{Device, Var};

    /// Value and gradients equal candle's `x.matmul(&w.t())`; a data input gets none.
    #[test]
    fn matches_candle_and_skips_the_data_gradient() {
        let dev = Device::Cpu;
        let x = Var::from_tensor(&Tensor::randn(0f32, 1.0, (13, 7), &dev).unwrap()).unwrap();
        let w = Var::from_tensor(&Tensor::randn(0f32, 1.0, (5, 7), &dev).unwrap()).unwrap();
        let g = Tensor::randn(0f32, 1.0, (13, 5), &dev).unwrap();
        let ours = x
            .as_tensor()
            .apply_op2(w.as_tensor(), LinearProduct)
            .unwrap();
        let theirs = x.as_tensor().matmul(&w.as_tensor().t().unwrap()).unwrap();
        assert!(max_diff(&ours, &theirs) < 1e-5);
        let g1 = (&ours * &g).unwrap().sum_all().unwrap().backward().unwrap();
        let g2 = (&theirs * &g)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        for v in [&x, &w] {
            let (a, b) = (
                g1.get(v.as_tensor()).unwrap(),
                g2.get(v.as_tensor()).unwrap(),
            );
            assert_eq!(a.dims(), b.dims());
            assert!(max_diff(a, b) < 1e-4);
        }
        // Plain data (not a variable, no graph above it): only W gets a gradient.
        let data = x.as_tensor().detach();
        let y = data.apply_op2(w.as_tensor(), LinearProduct).unwrap();
        let grads = (&y * &g).unwrap().sum_all().unwrap().backward().unwrap();
        assert!(grads.get(&data).is_none());
        let dw = grads.get(w.as_tensor()).unwrap();
        assert!(max_diff(dw, g2.get(w.as_tensor()).unwrap()) < 1e-4);
    }

    #[test]
    fn refuses_mismatched_widths() {
        let dev = Device::Cpu;
        let x = Tensor::zeros((2, 3), candle_core::DType::F32, &dev).unwrap();
        let w = Tensor::zeros((4, 5), candle_core::DType::F32, &dev).unwrap();
        let err = x.apply_op2(&w, LinearProduct).unwrap_err().to_string();
        assert!(
            err.contains("input of 3 features for a weight of 5"),
            "{err}"
        );
    }
}
