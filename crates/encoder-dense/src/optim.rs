//! Adam / AdamW applied in place: one fused pass over each parameter, its gradient and
//! its two moment buffers, instead of a dozen allocating tensor ops per step.

use std::sync::Mutex;

use candle_core::{CpuStorage, InplaceOp1, Layout, Var};
use rayon::prelude::*;

use crate::{EncoderError, Result};

/// Adam with Keras' defaults (β₁ 0.9, β₂ 0.999, ε 1e-7) and optional decoupled weight
/// decay (AdamW).
#[derive(Debug)]
pub struct Adam {
    vars: Vec<Var>,
    moments: Vec<(Vec<f32>, Vec<f32>)>,
    lr: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    weight_decay: f64,
    step: u64,
}

struct Step<'a> {
    grad: &'a [f32],
    moments: Mutex<&'a mut (Vec<f32>, Vec<f32>)>,
    lr_t: f32,
    decay: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
}

const CHUNK: usize = 1 << 15;

/// Matching chunks of a parameter, its gradient and its two moments.
type Chunks<'a> = ((&'a mut [f32], &'a [f32]), (&'a mut [f32], &'a mut [f32]));

impl InplaceOp1 for Step<'_> {
    fn name(&self) -> &'static str {
        "adam-step"
    }

    fn cpu_fwd(&self, storage: &mut CpuStorage, layout: &Layout) -> candle_core::Result<()> {
        let CpuStorage::F32(param) = storage else {
            candle_core::bail!("adam-step: f32 parameters only")
        };
        let Some((p0, p1)) = layout.contiguous_offsets() else {
            candle_core::bail!("adam-step: contiguous parameters only")
        };
        let grad = self.grad;
        if grad.len() != p1 - p0 {
            candle_core::bail!(
                "adam-step: {} gradient values for {} parameters",
                grad.len(),
                p1 - p0
            )
        }
        let mut guard = self.moments.lock().expect("not poisoned");
        let (m, v) = &mut **guard;
        let (b1, b2, eps, lr_t, decay) = (self.beta1, self.beta2, self.eps, self.lr_t, self.decay);
        let update = |((p, g), (m, v)): Chunks<'_>| {
            for i in 0..p.len() {
                let gi = g[i];
                // Moments of a parameter whose gradient stays 0 (a dead ReLU unit's)
                // decay into subnormal floats after ~800 steps, whose arithmetic is ~100x
                // slower on x86: flushed to 0, as XLA's flush-to-zero mode does.
                let mi = flush_subnormal(b1 * m[i] + (1.0 - b1) * gi);
                let vi = flush_subnormal(b2 * v[i] + (1.0 - b2) * gi * gi);
                m[i] = mi;
                v[i] = vi;
                p[i] = p[i] * decay - lr_t * mi / (vi.sqrt() + eps);
            }
        };
        let param = &mut param[p0..p1];
        if param.len() <= CHUNK {
            // One chunk: waking rayon's workers would cost more than the update.
            update(((param, grad), (m, v)));
        } else {
            param
                .par_chunks_mut(CHUNK)
                .zip(grad.par_chunks(CHUNK))
                .zip(m.par_chunks_mut(CHUNK).zip(v.par_chunks_mut(CHUNK)))
                .for_each(update);
        }
        Ok(())
    }
}

/// `x`, or 0 when `x` is subnormal.
#[inline(always)]
fn flush_subnormal(x: f32) -> f32 {
    if x.abs() < f32::MIN_POSITIVE {
        0.0
    } else {
        x
    }
}

impl Adam {
    /// An optimiser over `vars` with learning rate `lr` and weight decay (0 for Adam).
    pub fn new(vars: Vec<Var>, lr: f64, weight_decay: f64) -> Self {
        let moments = vars
            .iter()
            .map(|v| {
                let n = v.as_tensor().elem_count();
                (vec![0.0; n], vec![0.0; n])
            })
            .collect();
        Self {
            vars,
            moments,
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-7,
            weight_decay,
            step: 0,
        }
    }

    /// Applies one step from the gradients, one slice per variable in order (as
    /// [`crate::backprop::Backprop::gradients`] gives them).
    pub fn step(&mut self, grads: &[Vec<f32>]) -> Result<()> {
        if grads.len() != self.vars.len() {
            return Err(EncoderError::InvalidParams(format!(
                "{} gradients for {} variables",
                grads.len(),
                self.vars.len()
            )));
        }
        self.step += 1;
        let t = self.step as i32;
        // Keras' form: the bias correction folded into the step size.
        let lr_t = self.lr * (1.0 - self.beta2.powi(t)).sqrt() / (1.0 - self.beta1.powi(t));
        let decay = 1.0 - self.lr * self.weight_decay;
        for ((var, moments), grad) in self.vars.iter().zip(self.moments.iter_mut()).zip(grads) {
            if !var.as_tensor().device().is_cpu() {
                return Err(EncoderError::InvalidParams(
                    "the in-place Adam step runs on the CPU only".into(),
                ));
            }
            let op = Step {
                grad,
                moments: Mutex::new(moments),
                lr_t: lr_t as f32,
                decay: decay as f32,
                beta1: self.beta1 as f32,
                beta2: self.beta2 as f32,
                eps: self.eps as f32,
            };
            var.as_tensor().inplace_op1(&op)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Tensor};

    /// A gradient that stays 0 after one step: the moments reach exactly 0 instead of
    /// lingering as subnormal floats.
    #[test]
    fn moments_of_a_dead_parameter_flush_to_zero() {
        let dev = Device::Cpu;
        let w = Var::new(&[1.0f32], &dev).unwrap();
        let mut opt = Adam::new(vec![w.clone()], 1e-3, 0.0);
        opt.step(&[vec![1e-3]]).unwrap();
        for _ in 0..1000 {
            opt.step(&[vec![0.0]]).unwrap();
        }
        let (m, _) = &opt.moments[0];
        assert_eq!(m[0], 0.0, "{:e}", m[0]);
        assert_eq!(flush_subnormal(1e-39), 0.0);
        assert_eq!(flush_subnormal(-2e-38), -2e-38);
    }

    #[test]
    fn matches_the_textbook_update() {
        let dev = Device::Cpu;
        let w = Var::new(&[1.0f32, -2.0, 0.5], &dev).unwrap();
        let mut opt = Adam::new(vec![w.clone()], 0.1, 0.0);
        let target = Tensor::new(&[0.0f32, 0.0, 0.0], &dev).unwrap();
        let (mut m, mut v) = ([0.0f64; 3], [0.0f64; 3]);
        let mut p = [1.0f64, -2.0, 0.5];
        for t in 1..=3 {
            let loss = w
                .as_tensor()
                .sub(&target)
                .unwrap()
                .sqr()
                .unwrap()
                .sum_all()
                .unwrap();
            let grad = loss.backward().unwrap();
            let grad = grad.get(w.as_tensor()).unwrap().to_vec1::<f32>().unwrap();
            opt.step(&[grad]).unwrap();
            for i in 0..3 {
                let g = 2.0 * p[i];
                m[i] = 0.9 * m[i] + 0.1 * g;
                v[i] = 0.999 * v[i] + 0.001 * g * g;
                let lr_t = 0.1 * (1.0 - 0.999f64.powi(t)).sqrt() / (1.0 - 0.9f64.powi(t));
                p[i] -= lr_t * m[i] / (v[i].sqrt() + 1e-7);
            }
        }
        let got = w.as_tensor().to_vec1::<f32>().unwrap();
        for i in 0..3 {
            assert!((f64::from(got[i]) - p[i]).abs() < 1e-5, "{got:?} vs {p:?}");
        }
    }
}
