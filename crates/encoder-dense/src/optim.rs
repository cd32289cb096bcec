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
    /// The variable's gradient as parts to add (one per shard of the batch).
    grads: Vec<&'a [f32]>,
    moments: Mutex<&'a mut (Vec<f32>, Vec<f32>)>,
    lr_t: f32,
    decay: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
}

const CHUNK: usize = 1 << 15;

/// A chunk of a parameter (from its offset) and the matching chunks of its two moments.
type Chunks<'a> = ((usize, &'a mut [f32]), (&'a mut [f32], &'a mut [f32]));

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
        let grads = &self.grads;
        if let Some(g) = grads.iter().find(|g| g.len() != p1 - p0) {
            candle_core::bail!(
                "adam-step: {} gradient values for {} parameters",
                g.len(),
                p1 - p0
            )
        }
        let mut guard = self.moments.lock().expect("not poisoned");
        let (m, v) = &mut **guard;
        let update = |((offset, p), (m, v)): Chunks<'_>| {
            let range = offset..offset + p.len();
            match &grads[..] {
                [g] => self.update(p, m, v, (&g[range], None)),
                [a, b] => self.update(p, m, v, (&a[range.clone()], Some(&b[range]))),
                [first, rest @ ..] => {
                    let mut sum = first[range.clone()].to_vec();
                    for g in rest {
                        sum.iter_mut()
                            .zip(&g[range.clone()])
                            .for_each(|(s, &g)| *s += g);
                    }
                    self.update(p, m, v, (&sum, None))
                }
                [] => unreachable!("step_sum refuses an empty list"),
            }
        };
        let param = &mut param[p0..p1];
        if param.len() <= CHUNK {
            // One chunk: waking rayon's workers would cost more than the update.
            update(((0, param), (m, v)));
        } else {
            param
                .par_chunks_mut(CHUNK)
                .enumerate()
                .map(|(c, p)| (c * CHUNK, p))
                .zip(m.par_chunks_mut(CHUNK).zip(v.par_chunks_mut(CHUNK)))
                .for_each(update);
        }
        Ok(())
    }
}

impl Step<'_> {
    /// The update of a chunk of parameters `p` and their moments from the gradient `g`
    /// (plus `g2` when given), in the widest vector build the CPU runs.
    fn update(&self, p: &mut [f32], m: &mut [f32], v: &mut [f32], g: (&[f32], Option<&[f32]>)) {
        let n = p.len();
        let (m, v) = (&mut m[..n], &mut v[..n]);
        let g = (&g.0[..n], g.1.map(|g2| &g2[..n]));
        update_widest(self, p, m, v, g);
    }

    /// Adam's update of one parameter from its gradient `g`.
    #[inline(always)]
    fn element(&self, p: &mut f32, m: &mut f32, v: &mut f32, g: f32) {
        // Moments of a parameter whose gradient stays 0 (a dead ReLU unit's) decay into
        // subnormal floats after ~800 steps, whose arithmetic is ~100x slower on x86:
        // flushed to 0, as XLA's flush-to-zero mode does.
        let mi = flush_subnormal(self.beta1 * *m + (1.0 - self.beta1) * g);
        let vi = flush_subnormal(self.beta2 * *v + (1.0 - self.beta2) * g * g);
        *m = mi;
        *v = vi;
        *p = *p * self.decay - self.lr_t * mi / (vi.sqrt() + self.eps);
    }
}

aeclust_simd::widest_build! {
    /// [`update_generic`] in the widest vector build the CPU runs.
    fn update_widest(
        step: &Step<'_>,
        p: &mut [f32],
        m: &mut [f32],
        v: &mut [f32],
        g: (&[f32], Option<&[f32]>),
    ) = update_generic;
}

/// Adam's update of a chunk of parameters `p` and their moments from the gradient `g`
/// (plus `g2` when given). Slices of equal length (checked by the caller), so the loops
/// vectorise.
#[inline(always)]
fn update_generic(
    step: &Step<'_>,
    p: &mut [f32],
    m: &mut [f32],
    v: &mut [f32],
    (g, g2): (&[f32], Option<&[f32]>),
) {
    match g2 {
        Some(g2) => {
            for i in 0..p.len() {
                step.element(&mut p[i], &mut m[i], &mut v[i], g[i] + g2[i]);
            }
        }
        None => {
            for i in 0..p.len() {
                step.element(&mut p[i], &mut m[i], &mut v[i], g[i]);
            }
        }
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

    /// Applies one step from the gradients, one slice per variable in order.
    pub fn step(&mut self, grads: &[Vec<f32>]) -> Result<()> {
        self.step_sum(&[grads])
    }

    /// Applies one step from gradients given as parts to add (one set per shard of the
    /// batch, as [`crate::backprop::Backprop::gradient_parts`] gives them), each one slice
    /// per variable in order. The variables are updated in parallel.
    pub fn step_sum(&mut self, parts: &[&[Vec<f32>]]) -> Result<()> {
        if parts.is_empty() {
            return Err(EncoderError::InvalidParams(
                "no gradients for the step".into(),
            ));
        }
        if let Some(p) = parts.iter().find(|p| p.len() != self.vars.len()) {
            return Err(EncoderError::InvalidParams(format!(
                "{} gradients for {} variables",
                p.len(),
                self.vars.len()
            )));
        }
        if let Some(var) = self.vars.iter().find(|v| !v.as_tensor().device().is_cpu()) {
            return Err(EncoderError::InvalidParams(format!(
                "the in-place Adam step runs on the CPU only ({:?})",
                var.as_tensor().device()
            )));
        }
        self.step += 1;
        let t = self.step as i32;
        // Keras' form: the bias correction folded into the step size.
        let lr_t =
            (self.lr * (1.0 - self.beta2.powi(t)).sqrt() / (1.0 - self.beta1.powi(t))) as f32;
        let decay = (1.0 - self.lr * self.weight_decay) as f32;
        let (beta1, beta2, eps) = (self.beta1 as f32, self.beta2 as f32, self.eps as f32);
        self.vars
            .par_iter()
            .zip(self.moments.par_iter_mut())
            .enumerate()
            .with_max_len(1)
            .try_for_each(|(i, (var, moments))| {
                let op = Step {
                    grads: parts.iter().map(|p| &p[i][..]).collect(),
                    moments: Mutex::new(moments),
                    lr_t,
                    decay,
                    beta1,
                    beta2,
                    eps,
                };
                var.as_tensor().inplace_op1(&op)
            })?;
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

    /// Gradients given as two or three parts update exactly as their sum given whole,
    /// on a variable large enough to be updated in parallel chunks.
    #[test]
    fn parts_update_as_their_sum() {
        let dev = Device::Cpu;
        let n = 3 * CHUNK + 17;
        let values = |seed: usize| -> Vec<f32> {
            (0..n)
                .map(|i| ((i * 31 + seed * 7) % 23) as f32 / 11.0 - 1.0)
                .collect()
        };
        let start = values(0);
        for parts in [2, 3] {
            let grads: Vec<Vec<f32>> = (1..=parts).map(values).collect();
            let mut sum = grads[0].clone();
            for g in &grads[1..] {
                sum.iter_mut().zip(g).for_each(|(s, &g)| *s += g);
            }
            let whole = Var::new(start.as_slice(), &dev).unwrap();
            let split = Var::new(start.as_slice(), &dev).unwrap();
            let mut a = Adam::new(vec![whole.clone()], 1e-2, 0.0);
            let mut b = Adam::new(vec![split.clone()], 1e-2, 0.0);
            for _ in 0..3 {
                a.step(&[sum.clone()]).unwrap();
                let sets: Vec<Vec<Vec<f32>>> = grads.iter().map(|g| vec![g.clone()]).collect();
                let refs: Vec<&[Vec<f32>]> = sets.iter().map(|s| &s[..]).collect();
                b.step_sum(&refs).unwrap();
            }
            let (x, y) = (
                whole.as_tensor().to_vec1::<f32>().unwrap(),
                split.as_tensor().to_vec1::<f32>().unwrap(),
            );
            assert_ne!(x, start);
            assert_eq!(x, y, "{parts} parts");
        }
        let w = Var::new(&[1.0f32, 2.0], &dev).unwrap();
        let mut opt = Adam::new(vec![w], 1e-2, 0.0);
        let err = opt.step(&[vec![1.0]]).unwrap_err().to_string();
        assert!(err.contains("1 gradient values for 2 parameters"), "{err}");
        assert!(opt.step_sum(&[]).is_err());
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
