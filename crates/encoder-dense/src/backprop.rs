//! The training step of the dense stack on the CPU, written out by hand: forward, loss and
//! backward over buffers allocated once, with the weights read in place from the model's
//! candle variables.
//!
//! candle's autograd spends about half of a step around the matrix products here: every
//! node allocates its output and a zero gradient it then adds into, each bias gradient is
//! a reduction of its own, and the element-wise passes run on one thread. Here a step is
//! the products (candle's gemm, or OpenBLAS with the `openblas` feature) plus one pass
//! per layer each way: bias and ReLU forward; ReLU mask and bias gradient backward; the
//! loss, its gradient and the output bias's gradient in one pass over the logits. The
//! first layer's input gradient is never formed. The batch is cut into shards, one per
//! thread (see [`Backprop`]). Results are the autograd's (tested) and depend on the thread
//! count only through the shard count and the products' own summation order.

use candle_core::Storage;
use rayon::prelude::*;

use crate::products::{self, Product};
use crate::{Autoencoder, EncoderError, Loss, ModelConfig, Result};

/// Rows per task of the element-wise passes. Fixed, so the partial sums of the bias
/// gradients add up in the same order on any number of threads.
const ROWS_PER_TASK: usize = 32;

#[derive(Debug, Clone, Copy)]
struct Layer {
    fan_in: usize,
    fan_out: usize,
    relu: bool,
}

/// The buffers of forward and backward passes over batches of up to `capacity` rows.
///
/// A batch is cut into shards of consecutive rows, one per thread by default with
/// candle's gemm: every shard runs its whole pass single-threaded beside the others
/// (products included), and the optimiser adds the shards' gradients. Two joins per step
/// instead of one or two per product and pass: ~9 % faster training than one shard whose
/// products are cut into row blocks (2-core AVX-512 Xeon, batch 256, docs/RESULTS.md).
/// With OpenBLAS the two measured the same, and the `openblas` build keeps one shard
/// whose products (OpenBLAS's threads) and passes use every thread.
#[derive(Debug)]
pub struct Backprop {
    shards: Vec<Shard>,
    capacity: usize,
    /// Shards that held rows of the last batch.
    used: usize,
}

/// One shard's buffers.
#[derive(Debug)]
struct Shard {
    layers: Vec<Layer>,
    loss: Loss,
    /// Alone, a shard's products and passes use rayon's workers (or OpenBLAS's threads);
    /// beside other shards, it runs on its calling thread only.
    alone: bool,
    /// Each layer's output after its activation (the last: logits, then their gradient);
    /// in the backward pass each is overwritten by the gradient of its pre-activation.
    outputs: Vec<Vec<f32>>,
    /// The gradient of a layer's input before its activation's mask.
    scratch: Vec<f32>,
    /// Gradients in the order of [`Autoencoder::vars`]: weight, bias, layer by layer.
    gradients: Vec<Vec<f32>>,
}

/// Fewest rows a shard gets by default: below, the products' packing and the per-shard
/// passes cost more than the joins they save (measured only at 128 rows, 2 cores).
const MIN_SHARD_ROWS: usize = 64;

/// Shards for batches of `capacity` rows by default: one per rayon worker with candle's
/// gemm when each gets at least [`MIN_SHARD_ROWS`] rows; otherwise, and with OpenBLAS,
/// one shard on every thread.
fn default_shards(capacity: usize) -> usize {
    let threads = rayon::current_num_threads().max(1);
    if cfg!(feature = "openblas") || capacity < threads * MIN_SHARD_ROWS {
        1
    } else {
        threads
    }
}

impl Backprop {
    /// Buffers for `config`'s network and batches of up to `capacity` rows, in the
    /// default number of shards (one per thread, or one with OpenBLAS or small batches).
    pub fn new(config: &ModelConfig, capacity: usize) -> Self {
        Self::with_shards(config, capacity, default_shards(capacity))
    }

    /// Buffers for batches of up to `capacity` rows cut into up to `shards` shards (at
    /// least one). Results depend on the shard count only through the order in which
    /// gradients are summed.
    pub fn with_shards(config: &ModelConfig, capacity: usize, shards: usize) -> Self {
        let shards = shards.clamp(1, capacity.max(1));
        let per_shard = capacity.div_ceil(shards);
        let layers: Vec<Layer> = config
            .layer_shapes()
            .into_iter()
            .enumerate()
            .map(|(i, (fan_in, fan_out))| Layer {
                fan_in,
                fan_out,
                relu: config.has_relu(i),
            })
            .collect();
        let widest_inner = layers.iter().skip(1).map(|l| l.fan_in).max().unwrap_or(0);
        let shard = || Shard {
            outputs: layers
                .iter()
                .map(|l| vec![0.0; per_shard * l.fan_out])
                .collect(),
            scratch: vec![0.0; per_shard * widest_inner],
            gradients: layers
                .iter()
                .flat_map(|l| [vec![0.0; l.fan_in * l.fan_out], vec![0.0; l.fan_out]])
                .collect(),
            layers: layers.clone(),
            loss: config.loss,
            alone: shards == 1,
        };
        Self {
            shards: (0..shards).map(|_| shard()).collect(),
            capacity,
            used: 0,
        }
    }

    /// The most rows a batch may have.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The number of shards a batch is cut into.
    pub fn shards(&self) -> usize {
        self.shards.len()
    }

    /// The gradients of the last [`Backprop::loss_and_gradients`], one set per shard that
    /// held rows (their sum is the gradient), each in the order of [`Autoencoder::vars`].
    pub fn gradient_parts(&self) -> Vec<&[Vec<f32>]> {
        self.shards[..self.used]
            .iter()
            .map(|s| &s.gradients[..])
            .collect()
    }

    /// The gradients of the last [`Backprop::loss_and_gradients`] (the shards' sum, in
    /// shard order), in the order of [`Autoencoder::vars`].
    pub fn gradients(&self) -> Vec<Vec<f32>> {
        let parts = self.gradient_parts();
        let mut total = parts.first().map(|p| p.to_vec()).unwrap_or_default();
        for part in &parts[1.min(parts.len())..] {
            for (t, g) in total.iter_mut().zip(part.iter()) {
                t.iter_mut().zip(g).for_each(|(t, &g)| *t += g);
            }
        }
        total
    }

    /// Mean per-element loss of reconstructing the rows of `x` (row-major, targets = inputs)
    /// without gradients.
    pub fn loss(&mut self, model: &Autoencoder, x: &[f32]) -> Result<f64> {
        self.run(model, x, false)
    }

    /// Mean per-element loss of reconstructing the rows of `x`, leaving its gradient with
    /// respect to every variable in [`Backprop::gradient_parts`].
    pub fn loss_and_gradients(&mut self, model: &Autoencoder, x: &[f32]) -> Result<f64> {
        self.run(model, x, true)
    }

    fn run(&mut self, model: &Autoencoder, x: &[f32], backward: bool) -> Result<f64> {
        let dim = self.shards[0].layers[0].fan_in;
        if !x.len().is_multiple_of(dim) || x.len() / dim > self.capacity {
            return Err(EncoderError::InvalidInput(format!(
                "a batch of {} values is not up to {} rows of {dim}",
                x.len(),
                self.capacity
            )));
        }
        let vars = model.vars();
        let guards: Vec<_> = vars
            .iter()
            .map(|v| v.as_tensor().storage_and_layout())
            .collect();
        let params = guards
            .iter()
            .map(|(storage, layout)| match &**storage {
                Storage::Cpu(cpu) => crate::fused::f32_slice(cpu, layout, "backprop"),
                _ => candle_core::bail!("backprop: the weights are not on the CPU"),
            })
            .collect::<candle_core::Result<Vec<&[f32]>>>()?;
        let rows = x.len() / dim;
        let per_shard = rows.div_ceil(self.shards.len()).max(1);
        let scale = 1.0 / x.len().max(1) as f32;
        let parts: Vec<&[f32]> = x.chunks(per_shard * dim).collect();
        if backward {
            self.used = parts.len();
        }
        let total: f64 = if parts.len() <= 1 {
            let part = parts.first().copied().unwrap_or(&[]);
            self.shards[0].run(&params, part, scale, backward)
        } else {
            self.shards
                .par_iter_mut()
                .zip(parts)
                .with_max_len(1)
                .map(|(shard, part)| shard.run(&params, part, scale, backward))
                .collect::<Vec<f64>>()
                .into_iter()
                .sum()
        };
        Ok(total / x.len().max(1) as f64)
    }
}

impl Shard {
    /// Forward (and backward) over the rows of `x`; returns the summed loss. Gradients are
    /// of the loss summed and multiplied by `scale`.
    fn run(&mut self, params: &[&[f32]], x: &[f32], scale: f32, backward: bool) -> f64 {
        let dim = self.layers[0].fan_in;
        let rows = x.len() / dim;
        self.forward(params, x, rows);
        let last = self.layers.len() - 1;
        let loss = output_pass(
            &mut self.outputs[last][..rows * dim],
            x,
            (dim, scale, self.loss),
            backward.then_some(&mut self.gradients[2 * last + 1][..]),
            self.alone,
        );
        if backward {
            self.backward(params, x, rows);
        }
        loss
    }

    fn forward(&mut self, params: &[&[f32]], x: &[f32], rows: usize) {
        for (l, layer) in self.layers.iter().enumerate() {
            let (done, rest) = self.outputs.split_at_mut(l);
            let input = if l == 0 { x } else { &done[l - 1][..] };
            let product = Product::new(
                (rows, layer.fan_out, layer.fan_in),
                (&input[..rows * layer.fan_in], false),
                (params[2 * l], true),
                &mut rest[0][..rows * layer.fan_out],
            );
            run_products(vec![product], self.alone);
            add_bias(
                &mut rest[0][..rows * layer.fan_out],
                params[2 * l + 1],
                layer.relu,
                self.alone,
            );
        }
    }

    /// From the output's gradient (in the last output buffer, its bias's gradient
    /// already summed) down to the first layer's weights.
    fn backward(&mut self, params: &[&[f32]], x: &[f32], rows: usize) {
        let alone = self.alone;
        for l in (0..self.layers.len()).rev() {
            let layer = self.layers[l];
            let (below, rest) = self.outputs.split_at_mut(l);
            let delta = &rest[0][..rows * layer.fan_out];
            let input = if l == 0 { x } else { &below[l - 1][..] };
            // dW = δᵀ·input, in W's own [out, in] layout, and (but for the data) the
            // input's gradient δ·W beside it: two independent products.
            let weight_grad = Product::new(
                (layer.fan_out, layer.fan_in, rows),
                (delta, true),
                (&input[..rows * layer.fan_in], false),
                &mut self.gradients[2 * l],
            );
            if l == 0 {
                run_products(vec![weight_grad], alone);
                break;
            }
            let dh = &mut self.scratch[..rows * layer.fan_in];
            run_products(
                vec![
                    weight_grad,
                    Product::new(
                        (rows, layer.fan_in, layer.fan_out),
                        (delta, false),
                        (params[2 * l], false),
                        dh,
                    ),
                ],
                alone,
            );
            // The previous layer's activation mask and bias.
            mask_and_sum(
                &mut below[l - 1][..rows * layer.fan_in],
                dh,
                self.layers[l - 1].relu,
                &mut self.gradients[2 * l - 1],
                alone,
            );
        }
    }
}

/// Products on every thread (`alone`), or on the calling thread only.
fn run_products(products: Vec<Product<'_>>, alone: bool) {
    if alone {
        products::run(products);
    } else {
        products::run_here(products);
    }
}

/// Passes over at most this many values run on the calling thread: waking rayon's
/// workers (the loop runs outside the pool) costs more than such a pass.
const INLINE_LEN: usize = 1 << 16;

/// `f` over matching chunks of `len` of `a` and `b`, results in order: on rayon's workers,
/// or on the calling thread for small inputs or when not `parallel`.
fn map_chunk_pairs<R: Send>(
    a: &mut [f32],
    b: &[f32],
    len: usize,
    parallel: bool,
    f: impl Fn((&mut [f32], &[f32])) -> R + Sync + Send,
) -> Vec<R> {
    if !parallel || a.len() <= INLINE_LEN {
        a.chunks_mut(len).zip(b.chunks(len)).map(f).collect()
    } else {
        a.par_chunks_mut(len)
            .zip(b.par_chunks(len))
            .map(f)
            .collect()
    }
}

/// `out = act(out + bias)` row by row, `act` a ReLU or the identity; on rayon's workers
/// when `parallel`.
fn add_bias(out: &mut [f32], bias: &[f32], relu: bool, parallel: bool) {
    let width = bias.len();
    let task = |rows: &mut [f32]| {
        for row in rows.chunks_exact_mut(width) {
            if relu {
                row.iter_mut()
                    .zip(bias)
                    .for_each(|(v, &b)| *v = (*v + b).max(0.0));
            } else {
                row.iter_mut().zip(bias).for_each(|(v, &b)| *v += b);
            }
        }
    };
    if !parallel || out.len() <= INLINE_LEN {
        out.chunks_mut(ROWS_PER_TASK * width).for_each(task);
    } else {
        out.par_chunks_mut(ROWS_PER_TASK * width).for_each(task);
    }
}

/// Sums per-task partial column sums in task order into `total`.
fn add_partials<'a>(total: &mut [f32], partials: impl IntoIterator<Item = &'a Vec<f32>>) {
    total.fill(0.0);
    for p in partials {
        total.iter_mut().zip(p).for_each(|(t, &v)| *t += v);
    }
}

/// Backward through an activation: `h` (the layer's output) becomes the gradient of its
/// pre-activation, `dh` masked by `h > 0` for a ReLU (copied otherwise); `bias_grad` gets
/// its column sums. On rayon's workers when `parallel`.
fn mask_and_sum(h: &mut [f32], dh: &[f32], relu: bool, bias_grad: &mut [f32], parallel: bool) {
    let width = bias_grad.len();
    let partials = map_chunk_pairs(h, dh, ROWS_PER_TASK * width, parallel, |(h, dh)| {
        let mut sums = vec![0.0f32; width];
        for (h, dh) in h.chunks_exact_mut(width).zip(dh.chunks_exact(width)) {
            for ((h, &g), s) in h.iter_mut().zip(dh).zip(sums.iter_mut()) {
                let d = if !relu || *h > 0.0 { g } else { 0.0 };
                *h = d;
                *s += d;
            }
        }
        sums
    });
    add_partials(bias_grad, &partials);
}

/// The summed loss of sigmoid(`logits`) against `targets` (rows of `width`); with
/// `bias_grad`, `logits` becomes the loss's gradient times `scale` and `bias_grad` its
/// column sums. On rayon's workers when `parallel`.
fn output_pass(
    logits: &mut [f32],
    targets: &[f32],
    (width, scale, loss): (usize, f32, Loss),
    bias_grad: Option<&mut [f32]>,
    parallel: bool,
) -> f64 {
    let backward = bias_grad.is_some();
    let partials = map_chunk_pairs(
        logits,
        targets,
        ROWS_PER_TASK * width,
        parallel,
        |(z, t)| {
            let mut sums = vec![0.0f32; if backward { width } else { 0 }];
            let mut total = 0.0f64;
            for (z, t) in z.chunks_exact_mut(width).zip(t.chunks_exact(width)) {
                total += f64::from(output_row(z, t, &mut sums, scale, loss));
            }
            (total, sums)
        },
    );
    if let Some(bias_grad) = bias_grad {
        add_partials(bias_grad, partials.iter().map(|(_, s)| s));
    }
    partials.iter().map(|(t, _)| t).sum::<f64>()
}

aeclust_simd::widest_build! {
    /// One row of [`output_pass`]: returns the row's summed loss; when `sums` is not
    /// empty, `z` becomes the gradient (times `scale`), added into `sums`. The element
    /// functions are plain arithmetic the compiler vectorises: 16 lanes wide with AVX-512,
    /// 8 with AVX2, 4 with the baseline's SSE2.
    fn output_row(z: &mut [f32], t: &[f32], sums: &mut [f32], scale: f32, loss: Loss) -> f32
        = output_row_generic;
}

#[inline(always)]
fn output_row_generic(z: &mut [f32], t: &[f32], sums: &mut [f32], scale: f32, loss: Loss) -> f32 {
    match (loss, sums.is_empty()) {
        (Loss::Bce, false) => row_kernel::<true>(z, t, sums, scale, bce),
        (Loss::Bce, true) => row_kernel::<false>(z, t, sums, scale, bce),
        (Loss::Mse, false) => row_kernel::<true>(z, t, sums, scale, mse),
        (Loss::Mse, true) => row_kernel::<false>(z, t, sums, scale, mse),
    }
}

/// Lanes of the loss's partial sums (a float sum is vectorised only when written so).
const LANES: usize = 16;

#[inline(always)]
fn row_kernel<const BACKWARD: bool>(
    z: &mut [f32],
    t: &[f32],
    sums: &mut [f32],
    scale: f32,
    element: impl Fn(f32, f32) -> (f32, f32) + Copy,
) -> f32 {
    let mut acc = [0.0f32; LANES];
    let n = z.len() / LANES * LANES;
    let (z_body, z_tail) = z.split_at_mut(n);
    let (t_body, t_tail) = t.split_at(n);
    let chunks = z_body
        .chunks_exact_mut(LANES)
        .zip(t_body.chunks_exact(LANES));
    if BACKWARD {
        for ((z, t), s) in chunks.zip(sums[..n].chunks_exact_mut(LANES)) {
            lanes(z, t, Some(s), &mut acc, scale, element);
        }
    } else {
        for (z, t) in chunks {
            lanes(z, t, None, &mut acc, scale, element);
        }
    }
    let mut total: f32 = acc.iter().sum();
    for (i, (z, &t)) in z_tail.iter_mut().zip(t_tail).enumerate() {
        let (value, grad) = element(*z, t);
        total += value;
        if BACKWARD {
            *z = grad * scale;
            sums[n + i] += grad * scale;
        }
    }
    total
}

/// [`row_kernel`] on one chunk of [`LANES`] values, as fixed-size arrays (no bounds
/// checks) so that it vectorises: the loss added into `acc`; with `sums`, `z` becomes the
/// gradient times `scale`, added into `sums`.
#[inline(always)]
fn lanes(
    z: &mut [f32],
    t: &[f32],
    sums: Option<&mut [f32]>,
    acc: &mut [f32; LANES],
    scale: f32,
    element: impl Fn(f32, f32) -> (f32, f32),
) {
    let z: &mut [f32; LANES] = z.try_into().expect("a chunk of LANES");
    let t: &[f32; LANES] = t.try_into().expect("a chunk of LANES");
    let mut grads = [0.0f32; LANES];
    for i in 0..LANES {
        let (value, grad) = element(z[i], t[i]);
        acc[i] += value;
        grads[i] = grad * scale;
    }
    if let Some(s) = sums {
        let s: &mut [f32; LANES] = s.try_into().expect("a chunk of LANES");
        *z = grads;
        s.iter_mut().zip(&grads).for_each(|(s, &g)| *s += g);
    }
}

/// `(σ(z), e^{−|z|})` without overflow.
#[inline(always)]
fn sigmoid_and_exp(z: f32) -> (f32, f32) {
    let e = exp_nonpositive(-z.abs());
    let inv = 1.0 / (1.0 + e);
    (if z >= 0.0 { inv } else { e * inv }, e)
}

/// Binary cross-entropy of σ(z) against `t` in the stable form
/// `max(z, 0) − z·t + log(1 + e^{−|z|})`, and its gradient `σ(z) − t`.
#[inline(always)]
fn bce(z: f32, t: f32) -> (f32, f32) {
    let (sigma, e) = sigmoid_and_exp(z);
    (z.max(0.0) - z * t + ln_1p_unit(e), sigma - t)
}

/// Squared error of σ(z) against `t`, and its gradient `2(σ − t)σ(1 − σ)`.
#[inline(always)]
fn mse(z: f32, t: f32) -> (f32, f32) {
    let (sigma, _) = sigmoid_and_exp(z);
    let d = sigma - t;
    (d * d, 2.0 * d * sigma * (1.0 - sigma))
}

/// `e^x` for `x ≤ 0` (Cephes' `expf` polynomial; below −87 it returns e^−87 ≈ 1.6e−38),
/// in plain arithmetic the compiler vectorises. Relative error below 2e−7.
#[inline(always)]
fn exp_nonpositive(x: f32) -> f32 {
    const MAGIC: f32 = 12_582_912.0; // 1.5·2²³: adding it rounds to an integer
    let x = x.max(-87.0);
    let shifted = x * std::f32::consts::LOG2_E + MAGIC;
    let n = shifted - MAGIC;
    let r = x - n * 0.693_359_4 - n * -2.121_944_4e-4;
    let p = (((((1.987_569_1e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2)
        * r
        + 1.666_666_5e-1)
        * r
        + 0.5)
        * (r * r)
        + r
        + 1.0;
    // The integer n sits in the low mantissa bits of `shifted`; 2ⁿ is its exponent field.
    let n_int = (shifted.to_bits() as i32).wrapping_sub(MAGIC.to_bits() as i32);
    p * f32::from_bits(((n_int + 127) as u32) << 23)
}

/// `ln(1 + e)` for `e` in [0, 1], as `2·atanh(s)` with `s = e / (2 + e)` ≤ 1/3 (its odd
/// series to s¹³), in plain arithmetic the compiler vectorises. Relative error below 4e−7.
#[inline(always)]
fn ln_1p_unit(e: f32) -> f32 {
    let s = e / (2.0 + e);
    let s2 = s * s;
    let series = 1.0
        + s2 * (1.0 / 3.0
            + s2 * (1.0 / 5.0
                + s2 * (1.0 / 7.0 + s2 * (1.0 / 9.0 + s2 * (1.0 / 11.0 + s2 / 13.0)))));
    2.0 * s * series
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Bottleneck;
    use candle_core::{Device, Tensor};

    fn model(loss: Loss, bottleneck: Bottleneck) -> Autoencoder {
        let config = ModelConfig {
            encoder_layers: vec![11, 7, 3],
            loss,
            code_layer: 2,
            bottleneck,
            ..ModelConfig::paper(5, 4)
        };
        Autoencoder::init(&config, 3, &Device::Cpu).unwrap()
    }

    fn batch(rows: usize, dim: usize) -> Vec<f32> {
        (0..rows * dim)
            .map(|i| ((i * 37 % 101) as f32 / 100.0).min(1.0))
            .collect()
    }

    /// Loss and every gradient equal candle's autograd of [`Autoencoder::loss`], for both
    /// losses and both bottlenecks, in one, two and three shards, on a batch that fills
    /// the buffers, one whose row count is not a multiple of a task's rows nor of the
    /// shards, and two rows (fewer shards used than made).
    #[test]
    fn matches_candles_autograd() {
        for (loss, bottleneck, shards) in [
            (Loss::Bce, Bottleneck::Relu, 1),
            (Loss::Bce, Bottleneck::Linear, 1),
            (Loss::Mse, Bottleneck::Relu, 1),
            (Loss::Mse, Bottleneck::Linear, 1),
            (Loss::Bce, Bottleneck::Relu, 2),
            (Loss::Mse, Bottleneck::Linear, 2),
            (Loss::Bce, Bottleneck::Linear, 3),
            (Loss::Mse, Bottleneck::Relu, 3),
        ] {
            {
                let model = model(loss, bottleneck);
                let mut step = Backprop::with_shards(model.config(), 80, shards);
                assert_eq!(step.shards(), shards);
                for rows in [80, 45, 2] {
                    let x = batch(rows, 20);
                    let ours = step.loss_and_gradients(&model, &x).unwrap();
                    let xt = Tensor::from_vec(x.clone(), (rows, 20), &Device::Cpu).unwrap();
                    let theirs = model.loss(&xt).unwrap();
                    let value = f64::from(theirs.to_scalar::<f32>().unwrap());
                    assert!((ours - value).abs() < 1e-5, "{loss:?}: {ours} vs {value}");
                    assert!((step.loss(&model, &x).unwrap() - value).abs() < 1e-5);
                    assert_eq!(step.gradient_parts().len(), shards.min(rows));
                    let grads = theirs.backward().unwrap();
                    for (i, var) in model.vars().iter().enumerate() {
                        let want = grads
                            .get(var.as_tensor())
                            .unwrap()
                            .flatten_all()
                            .unwrap()
                            .to_vec1::<f32>()
                            .unwrap();
                        let got = &step.gradients()[i];
                        assert_eq!(got.len(), want.len());
                        let worst = got
                            .iter()
                            .zip(&want)
                            .map(|(a, b)| (a - b).abs())
                            .fold(0.0f32, f32::max);
                        let size = want.iter().map(|v| v.abs()).fold(0.0f32, f32::max);
                        assert!(
                            size > 0.0 && worst <= 1e-3 * size,
                            "{loss:?} {bottleneck:?} {shards} shards, rows {rows} var {i}: off by {worst}"
                        );
                    }
                }
            }
        }
    }

    /// The vectorisable `exp` and `log1p` against f64 over their whole ranges.
    #[test]
    fn exp_and_log1p_are_accurate() {
        for i in 0..=100_000 {
            let x = -90.0 * f64::from(i) / 100_000.0;
            let got = f64::from(exp_nonpositive(x as f32));
            let want = (x as f32 as f64).max(-87.0).exp();
            assert!(
                (got - want).abs() <= 2e-7 * want,
                "exp({x}): {got} vs {want}"
            );
            let e = f64::from(i) / 100_000.0;
            let got = f64::from(ln_1p_unit(e as f32));
            let want = (e as f32 as f64).ln_1p();
            assert!(
                (got - want).abs() <= 4e-7 * want,
                "ln_1p({e}): {got} vs {want}"
            );
        }
    }

    /// Saturated logits: finite losses and gradients, BCE ≈ |z| on the wrong side.
    #[test]
    fn saturated_logits_stay_finite() {
        let (value, grad) = bce(120.0, 0.0);
        assert!((value - 120.0).abs() < 1e-4 && (grad - 1.0).abs() < 1e-6);
        let (value, grad) = bce(-120.0, 0.0);
        assert!(value.abs() < 1e-30 && grad.abs() < 1e-30);
        let (value, grad) = mse(-120.0, 1.0);
        assert!((value - 1.0).abs() < 1e-6 && grad.abs() < 1e-30);
    }

    #[test]
    fn refuses_a_batch_that_does_not_fit() {
        let model = model(Loss::Bce, Bottleneck::Relu);
        let mut step = Backprop::new(model.config(), 4);
        for x in [batch(5, 20), vec![0.5; 30]] {
            let err = step.loss(&model, &x).unwrap_err().to_string();
            assert!(err.contains("not up to 4 rows of 20"), "{err}");
        }
    }
}
