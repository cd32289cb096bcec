//! Fused CPU kernels for the two element-wise hot spots of training: bias + ReLU after
//! each hidden matmul, and the binary cross-entropy on the logits. Each replaces several
//! allocating candle ops (forward and backward) by one pass over the data.

use candle_core::{CpuStorage, CustomOp2, Layout, Shape, Tensor};

pub(crate) fn f32_slice<'a>(
    s: &'a CpuStorage,
    l: &Layout,
    op: &str,
) -> candle_core::Result<&'a [f32]> {
    let CpuStorage::F32(v) = s else {
        candle_core::bail!("{op}: f32 tensors only")
    };
    let Some((start, end)) = l.contiguous_offsets() else {
        candle_core::bail!("{op}: contiguous tensors only")
    };
    Ok(&v[start..end])
}

/// `f(a, b)` element by element over two contiguous f32 tensors of `l1`'s shape.
fn zip_map(
    op: &str,
    (s1, l1): (&CpuStorage, &Layout),
    (s2, l2): (&CpuStorage, &Layout),
    f: impl Fn(f32, f32) -> f32,
) -> candle_core::Result<(CpuStorage, Shape)> {
    let a = f32_slice(s1, l1, op)?;
    let b = f32_slice(s2, l2, op)?;
    if a.len() != b.len() {
        candle_core::bail!("{op}: {} elements against {}", a.len(), b.len())
    }
    let out = a.iter().zip(b).map(|(&x, &y)| f(x, y)).collect();
    Ok((CpuStorage::F32(out), l1.shape().clone()))
}

/// `relu(x + bias)` for `x` [B, N] and `bias` [N].
pub struct BiasRelu;

impl CustomOp2 for BiasRelu {
    fn name(&self) -> &'static str {
        "bias-relu"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = f32_slice(s1, l1, self.name())?;
        let b = f32_slice(s2, l2, self.name())?;
        let (_, n) = l1.shape().dims2()?;
        if b.len() != n {
            candle_core::bail!("bias-relu: bias of {} for rows of {n}", b.len())
        }
        let mut out = Vec::with_capacity(x.len());
        for row in x.chunks_exact(n) {
            out.extend(row.iter().zip(b).map(|(&v, &c)| (v + c).max(0.0)));
        }
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }

    fn bwd(
        &self,
        _x: &Tensor,
        _bias: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let masked = grad.contiguous()?.apply_op2_no_bwd(res, &ReluMask)?;
        let grad_bias = masked.sum(0)?;
        Ok((Some(masked), Some(grad_bias)))
    }
}

/// `grad * (res > 0)`: the ReLU's backward pass.
struct ReluMask;

impl CustomOp2 for ReluMask {
    fn name(&self) -> &'static str {
        "relu-mask"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        zip_map(self.name(), (s1, l1), (s2, l2), |g, r| {
            if r > 0.0 {
                g
            } else {
                0.0
            }
        })
    }
}

/// Mean binary cross-entropy of `sigmoid(logits)` against targets, in the stable form
/// `max(z, 0) − z·t + log(1 + e^{−|z|})`; gradient `(σ(z) − t) / count`.
pub struct BceWithLogits;

impl CustomOp2 for BceWithLogits {
    fn name(&self) -> &'static str {
        "bce-with-logits"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let z = f32_slice(s1, l1, self.name())?;
        let t = f32_slice(s2, l2, self.name())?;
        if z.len() != t.len() {
            candle_core::bail!(
                "bce-with-logits: {} logits for {} targets",
                z.len(),
                t.len()
            )
        }
        let sum: f64 = z
            .iter()
            .zip(t)
            .map(|(&z, &t)| f64::from(z.max(0.0) - z * t + (-z.abs()).exp().ln_1p()))
            .sum();
        let mean = (sum / z.len().max(1) as f64) as f32;
        Ok((CpuStorage::F32(vec![mean]), Shape::from(())))
    }

    fn bwd(
        &self,
        logits: &Tensor,
        targets: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let scale = grad.to_scalar::<f32>()? / logits.elem_count() as f32;
        let g = logits.apply_op2_no_bwd(targets, &BceGrad(scale))?;
        Ok((Some(g), None))
    }
}

/// `(σ(z) − t) · scale`.
struct BceGrad(f32);

impl CustomOp2 for BceGrad {
    fn name(&self) -> &'static str {
        "bce-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let scale = self.0;
        zip_map(self.name(), (s1, l1), (s2, l2), |z, t| {
            (1.0 / (1.0 + (-z).exp()) - t) * scale
        })
    }
}

/// The largest absolute difference of two tensors of one shape (for the ops' tests).
#[cfg(test)]
pub(crate) fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    (a - b)
        .unwrap()
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    fn close(a: &Tensor, b: &Tensor) {
        let a = a.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let b = b.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() < 1e-5, "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn fused_ops_match_candle_ops_and_their_gradients() {
        let dev = Device::Cpu;
        let x = Var::from_vec(vec![-1.0f32, 0.5, 2.0, -0.2, 0.3, -3.0], (2, 3), &dev).unwrap();
        let b = Var::from_vec(vec![0.5f32, -1.0, 0.1], 3, &dev).unwrap();
        let t = Tensor::new(&[[0.0f32, 1.0, 0.5], [1.0, 0.0, 0.2]], &dev).unwrap();

        let fused = x.apply_op2(b.as_tensor(), BiasRelu).unwrap();
        let plain = x.broadcast_add(b.as_tensor()).unwrap().relu().unwrap();
        close(&fused, &plain);
        let loss_f = fused.apply_op2(&t, BceWithLogits).unwrap();
        let loss_p = crate::model::bce_with_logits(&plain, &t).unwrap();
        close(&loss_f, &loss_p);
        let gf = loss_f.backward().unwrap();
        let gp = loss_p.backward().unwrap();
        for v in [&x, &b] {
            close(
                gf.get(v.as_tensor()).unwrap(),
                gp.get(v.as_tensor()).unwrap(),
            );
        }
    }
}
