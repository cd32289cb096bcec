//! The convolutions of a mobile network on one image, channels last (`[H, W, C]`
//! row-major), batch norm folded in, on the calling thread: pointwise convolutions as
//! gemm products, depthwise ones with the accumulators of a 16-channel block held in
//! vector registers over every tap, the stem as a product of its 27-column im2col. The
//! caller runs images side by side on rayon's workers.

use gemm::Parallelism;

/// The activation after a convolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// None (the projection of an inverted residual block).
    Linear,
    /// min(max(x, 0), 6).
    Relu6,
}

/// A 1×1 convolution: `weight` is [cin, cout] row-major, batch norm folded in.
#[derive(Debug, Clone, PartialEq)]
pub struct Pointwise {
    /// Input channels.
    pub cin: usize,
    /// Output channels.
    pub cout: usize,
    /// [cin, cout].
    pub weight: Vec<f32>,
    /// [cout].
    pub bias: Vec<f32>,
}

/// A k×k convolution of one input channel per output channel: `weight` is [k·k, c].
#[derive(Debug, Clone, PartialEq)]
pub struct Depthwise {
    /// Channels.
    pub channels: usize,
    /// Kernel side.
    pub kernel: usize,
    /// Stride.
    pub stride: usize,
    /// [k·k, c]: tap-major, channels contiguous.
    pub weight: Vec<f32>,
    /// [c].
    pub bias: Vec<f32>,
}

/// A dense k×k convolution (the stem): `weight` is [k·k·cin, cout], im2col's column order
/// (row, column, input channel).
#[derive(Debug, Clone, PartialEq)]
pub struct Dense {
    /// Input channels.
    pub cin: usize,
    /// Kernel side.
    pub kernel: usize,
    /// Stride.
    pub stride: usize,
    /// The product's right side, [k·k·cin, cout].
    pub weight: Pointwise,
}

/// TensorFlow's "same" padding of one side: output length and the padding before it
/// (the odd pixel goes after).
pub fn same_padding(input: usize, kernel: usize, stride: usize) -> (usize, usize) {
    let out = input.div_ceil(stride);
    let total = ((out - 1) * stride + kernel).saturating_sub(input);
    (out, total / 2)
}

/// A feature map: `h × w × c` channels last, inside a zero border of `pad` pixels on the
/// top and left and `pad_after` on the bottom and right (what a depthwise layer reads).
#[derive(Debug, Default)]
pub struct Padded {
    /// Values, `(h + pad + pad_after) × (w + pad + pad_after) × c`.
    pub data: Vec<f32>,
    /// Interior height and width.
    pub h: usize,
    /// See `h`.
    pub w: usize,
    /// Channels.
    pub c: usize,
    /// Border before (top, left).
    pub pad: usize,
    /// Border after (bottom, right).
    pub pad_after: usize,
}

impl Padded {
    /// Resets to an `h × w × c` interior with the given border, zeroing the border (the
    /// interior is left for the caller to fill).
    pub fn reset(&mut self, h: usize, w: usize, c: usize, pad: usize, pad_after: usize) {
        let (ph, pw) = (h + pad + pad_after, w + pad + pad_after);
        set_len(&mut self.data, ph * pw * c);
        (self.h, self.w, self.c, self.pad, self.pad_after) = (h, w, c, pad, pad_after);
        let row = pw * c;
        self.data[..pad * row].fill(0.0);
        self.data[(pad + h) * row..].fill(0.0);
        for y in pad..pad + h {
            let r = &mut self.data[y * row..(y + 1) * row];
            r[..pad * c].fill(0.0);
            r[(pad + w) * c..].fill(0.0);
        }
    }

    /// Resets to an `h × w × c` interior padded as a `kernel`×`kernel` depthwise layer of
    /// `stride` with TF "same" padding reads it.
    pub fn reset_for(&mut self, h: usize, w: usize, c: usize, kernel: usize, stride: usize) {
        assert_eq!(h, w, "square feature maps");
        let (out, before) = same_padding(h, kernel, stride);
        let total = (out - 1) * stride + kernel - h;
        self.reset(h, w, c, before, total - before);
    }

    /// Padded width.
    fn stride_w(&self) -> usize {
        self.w + self.pad + self.pad_after
    }

    /// Interior row `y` (w × c values).
    pub fn row_mut(&mut self, y: usize) -> &mut [f32] {
        let at = ((y + self.pad) * self.stride_w() + self.pad) * self.c;
        let n = self.w * self.c;
        &mut self.data[at..at + n]
    }
}

/// `out = act(x·W + b) (+ residual)` for `pixels` rows of `layer.cin` channels.
pub fn pointwise(
    x: &[f32],
    layer: &Pointwise,
    act: Activation,
    residual: Option<&[f32]>,
    out: &mut Vec<f32>,
) {
    let pixels = x.len() / layer.cin;
    set_len(out, pixels * layer.cout);
    product(x, layer, out);
    epilogue(out, &layer.bias, act, residual);
}

/// `x·W + b` then the activation, written into the interior of `padded` (`h × w` pixels).
pub fn pointwise_into_padded(
    x: &[f32],
    layer: &Pointwise,
    scratch: &mut Vec<f32>,
    padded: &mut Padded,
) {
    let pixels = x.len() / layer.cin;
    let (w, cin) = (padded.w, layer.cin);
    if w >= ROW_PRODUCTS_FROM {
        // Wide maps: each image row's product straight into its padded row, then the
        // bias and ReLU6 in place while it is in cache.
        for y in 0..padded.h {
            let dst = padded.row_mut(y);
            product(&x[y * w * cin..(y + 1) * w * cin], layer, dst);
            epilogue(dst, &layer.bias, Activation::Relu6, None);
        }
        return;
    }
    // Narrow maps: one product (row products would repack the weights per row), copied.
    set_len(scratch, pixels * layer.cout);
    product(x, layer, scratch);
    let row = w * layer.cout;
    for y in 0..padded.h {
        let src = &scratch[y * row..(y + 1) * row];
        let dst = padded.row_mut(y);
        bias_relu6_copy(src, &layer.bias, dst);
    }
}

/// The map width from which [`pointwise_into_padded`] runs one product per image row.
const ROW_PRODUCTS_FROM: usize = 28;

/// Makes `v` `n` long; values a kernel overwrites are not zeroed first.
fn set_len(v: &mut Vec<f32>, n: usize) {
    if v.len() < n {
        v.resize(n, 0.0);
    } else {
        v.truncate(n);
    }
}

/// `out = x·W` (one thread).
fn product(x: &[f32], layer: &Pointwise, out: &mut [f32]) {
    let m = x.len() / layer.cin;
    debug_assert_eq!(x.len(), m * layer.cin);
    debug_assert_eq!(out.len(), m * layer.cout);
    debug_assert_eq!(layer.weight.len(), layer.cin * layer.cout);
    // SAFETY: `x` is [m, cin], `layer.weight` [cin, cout] and `out` [m, cout], all
    // row-major and checked above; `out` is a unique borrow, so nothing aliases it.
    unsafe {
        gemm::gemm(
            m,
            layer.cout,
            layer.cin,
            out.as_mut_ptr(),
            1,
            layer.cout as isize,
            false,
            x.as_ptr(),
            1,
            layer.cin as isize,
            layer.weight.as_ptr(),
            1,
            layer.cout as isize,
            0.0,
            1.0,
            false,
            false,
            false,
            Parallelism::None,
        );
    }
}

aeclust_simd::widest_build! {
    /// Adds the bias (and the residual) to every row and applies the activation.
    fn epilogue(out: &mut [f32], bias: &[f32], act: Activation, residual: Option<&[f32]>) = epilogue_generic;
}

#[inline(always)]
fn epilogue_generic(out: &mut [f32], bias: &[f32], act: Activation, residual: Option<&[f32]>) {
    let c = bias.len();
    match (act, residual) {
        (Activation::Relu6, None) => {
            for row in out.chunks_exact_mut(c) {
                for (o, &b) in row.iter_mut().zip(bias) {
                    *o = (*o + b).clamp(0.0, 6.0);
                }
            }
        }
        (Activation::Linear, None) => {
            for row in out.chunks_exact_mut(c) {
                for (o, &b) in row.iter_mut().zip(bias) {
                    *o += b;
                }
            }
        }
        (Activation::Linear, Some(r)) => {
            for (row, rrow) in out.chunks_exact_mut(c).zip(r.chunks_exact(c)) {
                for ((o, &b), &x) in row.iter_mut().zip(bias).zip(rrow) {
                    *o += b + x;
                }
            }
        }
        (Activation::Relu6, Some(r)) => {
            for (row, rrow) in out.chunks_exact_mut(c).zip(r.chunks_exact(c)) {
                for ((o, &b), &x) in row.iter_mut().zip(bias).zip(rrow) {
                    *o = (*o + b).clamp(0.0, 6.0) + x;
                }
            }
        }
    }
}

aeclust_simd::widest_build! {
    /// `dst = relu6(src + bias)` over rows of `bias.len()` channels.
    fn bias_relu6_copy(src: &[f32], bias: &[f32], dst: &mut [f32]) = bias_relu6_copy_generic;
}

#[inline(always)]
fn bias_relu6_copy_generic(src: &[f32], bias: &[f32], dst: &mut [f32]) {
    let c = bias.len();
    for (s, d) in src.chunks_exact(c).zip(dst.chunks_exact_mut(c)) {
        for ((d, &s), &b) in d.iter_mut().zip(s).zip(bias) {
            *d = (s + b).clamp(0.0, 6.0);
        }
    }
}

/// The depthwise convolution of `input` (padded for it), bias and ReLU6, into `out`
/// (`oh × ow × c`). Returns (oh, ow).
pub fn depthwise(input: &Padded, layer: &Depthwise, out: &mut Vec<f32>) -> (usize, usize) {
    let (oh, _) = same_padding(input.h, layer.kernel, layer.stride);
    let (ow, _) = same_padding(input.w, layer.kernel, layer.stride);
    set_len(out, oh * ow * layer.channels);
    depthwise_rows(input, layer, out, ow);
    (oh, ow)
}

aeclust_simd::widest_build! {
    fn depthwise_rows(input: &Padded, layer: &Depthwise, out: &mut [f32], ow: usize) = depthwise_generic;
}

/// Channels per vector block and output pixels per step of the depthwise kernel.
const LANES: usize = 16;
const PIXELS: usize = 4;

#[inline(always)]
fn depthwise_generic(input: &Padded, layer: &Depthwise, out: &mut [f32], ow: usize) {
    let c = layer.channels;
    let (k, s) = (layer.kernel, layer.stride);
    let pw = input.stride_w();
    let oh = out.len() / (ow * c);
    // Every read below stays inside these bounds (the padding covers the kernel).
    assert!(((oh - 1) * s + k - 1) * pw * c + ((ow - 1) * s + k) * c <= input.data.len());
    assert_eq!(layer.weight.len(), k * k * c);
    let blocks = c / LANES;
    let x = input.data.as_ptr();
    let w = layer.weight.as_ptr();
    for oy in 0..oh {
        let orow = &mut out[oy * ow * c..(oy + 1) * ow * c];
        let mut ox = 0;
        while ox < ow {
            let n = PIXELS.min(ow - ox);
            for blk in 0..blocks {
                let c0 = blk * LANES;
                let mut acc = [[0f32; LANES]; PIXELS];
                for a in acc.iter_mut() {
                    a.copy_from_slice(&layer.bias[c0..c0 + LANES]);
                }
                for ky in 0..k {
                    let row = ((oy * s + ky) * pw + ox * s) * c + c0;
                    for kx in 0..k {
                        // SAFETY: the tap (ky, kx) of output pixels ox..ox + n reads padded
                        // pixels below ((oh - 1)·s + k) rows and ((ow - 1)·s + k) columns,
                        // inside the buffer (asserted above); the weight index is below
                        // k·k·c.
                        let wv: [f32; LANES] =
                            unsafe { *(w.add((ky * k + kx) * c + c0) as *const [f32; LANES]) };
                        for (p, a) in acc.iter_mut().enumerate().take(n) {
                            let xv: [f32; LANES] =
                                unsafe { *(x.add(row + (p * s + kx) * c) as *const [f32; LANES]) };
                            for j in 0..LANES {
                                a[j] += xv[j] * wv[j];
                            }
                        }
                    }
                }
                for (p, a) in acc.iter().enumerate().take(n) {
                    let o = &mut orow[(ox + p) * c + c0..(ox + p) * c + c0 + LANES];
                    for j in 0..LANES {
                        o[j] = a[j].clamp(0.0, 6.0);
                    }
                }
            }
            for p in 0..n {
                for ch in blocks * LANES..c {
                    let mut acc = layer.bias[ch];
                    for ky in 0..k {
                        for kx in 0..k {
                            let at = ((oy * s + ky) * pw + (ox + p) * s + kx) * c + ch;
                            acc += input.data[at] * layer.weight[(ky * k + kx) * c + ch];
                        }
                    }
                    orow[(ox + p) * c + ch] = acc.clamp(0.0, 6.0);
                }
            }
            ox += n;
        }
    }
}

/// The stem: a dense convolution of `image` (`h × w × cin`, TF "same" padding) with
/// bias and ReLU6, written into the interior of `out`. `cols` is im2col scratch.
pub fn dense_into_padded(
    image: &[f32],
    h: usize,
    w: usize,
    layer: &Dense,
    cols: &mut Vec<f32>,
    scratch: &mut Vec<f32>,
    out: &mut Padded,
) {
    let (k, s, cin) = (layer.kernel, layer.stride, layer.cin);
    let (oh, pt) = same_padding(h, k, s);
    let (ow, pl) = same_padding(w, k, s);
    debug_assert_eq!((out.h, out.w), (oh, ow));
    let width = k * k * cin;
    cols.clear();
    cols.resize(oh * ow * width, 0.0);
    for oy in 0..oh {
        for ox in 0..ow {
            let col = &mut cols[(oy * ow + ox) * width..(oy * ow + ox + 1) * width];
            for ky in 0..k {
                let Some(iy) = (oy * s + ky).checked_sub(pt).filter(|&y| y < h) else {
                    continue;
                };
                for kx in 0..k {
                    let Some(ix) = (ox * s + kx).checked_sub(pl).filter(|&x| x < w) else {
                        continue;
                    };
                    let src = &image[(iy * w + ix) * cin..(iy * w + ix + 1) * cin];
                    col[(ky * k + kx) * cin..(ky * k + kx + 1) * cin].copy_from_slice(src);
                }
            }
        }
    }
    pointwise_into_padded(cols, &layer.weight, scratch, out);
}

/// The mean of every channel over `x`'s rows of `c` channels.
pub fn mean_pool(x: &[f32], c: usize) -> Vec<f32> {
    let n = x.len() / c;
    let mut sum = vec![0f64; c];
    for row in x.chunks_exact(c) {
        for (s, &v) in sum.iter_mut().zip(row) {
            *s += f64::from(v);
        }
    }
    sum.into_iter().map(|s| (s / n as f64) as f32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A direct convolution, NCHW-free: the definition the kernels must equal.
    fn reference_depthwise(x: &[f32], h: usize, w: usize, l: &Depthwise) -> Vec<f32> {
        let c = l.channels;
        let (oh, pt) = same_padding(h, l.kernel, l.stride);
        let (ow, pl) = same_padding(w, l.kernel, l.stride);
        let mut out = vec![0f32; oh * ow * c];
        for oy in 0..oh {
            for ox in 0..ow {
                for ch in 0..c {
                    let mut acc = l.bias[ch];
                    for ky in 0..l.kernel {
                        for kx in 0..l.kernel {
                            let iy = (oy * l.stride + ky) as isize - pt as isize;
                            let ix = (ox * l.stride + kx) as isize - pl as isize;
                            if iy < 0 || ix < 0 || iy >= h as isize || ix >= w as isize {
                                continue;
                            }
                            acc += x[((iy as usize) * w + ix as usize) * c + ch]
                                * l.weight[(ky * l.kernel + kx) * c + ch];
                        }
                    }
                    out[(oy * ow + ox) * c + ch] = acc.clamp(0.0, 6.0);
                }
            }
        }
        out
    }

    fn values(n: usize, seed: u32) -> Vec<f32> {
        (0..n)
            .map(|i| {
                ((i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) >> 8) as f32
                    / (1 << 24) as f32
                    * 2.0
                    - 0.7
            })
            .collect()
    }

    #[test]
    fn same_padding_matches_tensorflow() {
        assert_eq!(same_padding(224, 3, 2), (112, 0));
        assert_eq!(same_padding(112, 3, 1), (112, 1));
        assert_eq!(same_padding(56, 5, 2), (28, 1));
        assert_eq!(same_padding(7, 5, 2), (4, 2));
        assert_eq!(same_padding(1, 3, 2), (1, 1));
    }

    #[test]
    fn depthwise_equals_the_direct_convolution() {
        for &(h, w, c, k, s) in &[
            (9, 9, 35, 3, 1),
            (10, 10, 32, 5, 2),
            (7, 7, 16, 5, 1),
            (5, 5, 3, 3, 2),
            (7, 7, 48, 3, 2),
        ] {
            let l = Depthwise {
                channels: c,
                kernel: k,
                stride: s,
                weight: values(k * k * c, 1),
                bias: values(c, 2),
            };
            let x = values(h * w * c, 3);
            let mut padded = Padded::default();
            let (_, pt) = same_padding(h, k, s);
            // A wider border than needed: the kernel must use the padded row length.
            padded.reset(h, w, c, pt, k + 1);
            for y in 0..h {
                padded
                    .row_mut(y)
                    .copy_from_slice(&x[y * w * c..(y + 1) * w * c]);
            }
            let mut out = Vec::new();
            depthwise(&padded, &l, &mut out);
            let want = reference_depthwise(&x, h, w, &l);
            for (a, b) in out.iter().zip(&want) {
                assert!((a - b).abs() < 1e-5, "{h}x{w}x{c} k{k} s{s}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn pointwise_adds_bias_activation_and_residual() {
        let l = Pointwise {
            cin: 3,
            cout: 2,
            weight: vec![1.0, 0.0, 0.0, 1.0, 2.0, -1.0],
            bias: vec![0.5, -0.5],
        };
        let x = vec![1.0, 2.0, 3.0, -1.0, 0.0, 0.0];
        let mut out = Vec::new();
        pointwise(&x, &l, Activation::Linear, None, &mut out);
        assert_eq!(out, vec![7.5, -1.5, -0.5, -0.5]);
        pointwise(&x, &l, Activation::Relu6, None, &mut out);
        assert_eq!(out, vec![6.0, 0.0, 0.0, 0.0]);
        pointwise(
            &x,
            &l,
            Activation::Linear,
            Some(&[1.0, 1.0, 1.0, 1.0]),
            &mut out,
        );
        assert_eq!(out, vec![8.5, -0.5, 0.5, 0.5]);
    }
}
