//! A 3×3 convolution block for the studies: im2col and its adjoint as candle custom ops
//! followed by one matrix product, and batch norm with its backward written out
//! (`simclr_conv -- bench` checks both against candle's own operations).

use candle_core::{CpuStorage, CustomOp1, CustomOp3, Layout, Shape, Tensor};
use candle_nn::VarBuilder;
use rayon::prelude::*;

/// A 3×3 convolution (padding 1, stride 1 or 2) on NHWC tensors as a matrix product of
/// the 9 shifted copies of the input, followed by batch normalisation (batch statistics)
/// and ReLU.
pub struct ConvBlock {
    weight: Tensor,
    gamma: Tensor,
    beta: Tensor,
    stride: usize,
}

impl ConvBlock {
    /// `cout` filters over `cin` channels, stride 1 or 2.
    pub fn new(
        cin: usize,
        cout: usize,
        stride: usize,
        vb: VarBuilder,
    ) -> candle_core::Result<Self> {
        Ok(Self {
            weight: vb.get_with_hints(
                (cout, 9 * cin),
                "w",
                candle_nn::init::DEFAULT_KAIMING_NORMAL,
            )?,
            gamma: vb.get_with_hints(cout, "gamma", candle_nn::Init::Const(1.0))?,
            beta: vb.get_with_hints(cout, "beta", candle_nn::Init::Const(0.0))?,
            stride,
        })
    }

    /// `x` `(b, h, w, cin)` to `(b, oh, ow, cout)`.
    pub fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let (b, h, w, _) = x.dims4()?;
        let cout = self.weight.dim(0)?;
        let (oh, ow) = (out_side(h, self.stride), out_side(w, self.stride));
        let columns = x.contiguous()?.apply_op1(Im2Col {
            stride: self.stride,
        })?;
        let y = columns.matmul(&self.weight.t()?)?;
        y.apply_op3(&self.gamma, &self.beta, BatchNorm)?
            .relu()?
            .reshape((b, oh, ow, cout))
    }
}

/// Output side of a 3×3 convolution with padding 1.
pub fn out_side(side: usize, stride: usize) -> usize {
    (side - 1) / stride + 1
}

fn f32_slice<'a>(storage: &'a CpuStorage, layout: &Layout) -> candle_core::Result<&'a [f32]> {
    match (storage, layout.contiguous_offsets()) {
        (CpuStorage::F32(v), Some((start, end))) => Ok(&v[start..end]),
        _ => candle_core::bail!("expected a contiguous f32 tensor"),
    }
}

/// Calls `f(column, pixel)` for every tap of one image's 3×3 convolution (padding 1,
/// stride `s`) that falls inside the `h × w` image: `column` indexes the image's
/// `oh · ow · 9` columns (tap-major within an output position), `pixel` its input pixels.
fn for_each_tap(h: usize, w: usize, s: usize, mut f: impl FnMut(usize, usize)) {
    let (oh, ow) = (out_side(h, s), out_side(w, s));
    for oy in 0..oh {
        for ox in 0..ow {
            for tap in 0..9 {
                let iy = (oy * s + tap / 3) as isize - 1;
                let ix = (ox * s + tap % 3) as isize - 1;
                if iy >= 0 && ix >= 0 && iy < h as isize && ix < w as isize {
                    f((oy * ow + ox) * 9 + tap, iy as usize * w + ix as usize);
                }
            }
        }
    }
}

/// The columns of a 3×3 convolution with padding 1 (im2col) of an NHWC tensor
/// `(b, h, w, c)`: `(b · oh · ow, 9 · c)`, tap-major; its backward is [`Col2Im`].
pub struct Im2Col {
    /// 1 or 2.
    pub stride: usize,
}

impl CustomOp1 for Im2Col {
    fn name(&self) -> &'static str {
        "im2col-3x3"
    }

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (b, h, w, c) = layout.shape().dims4()?;
        let x = f32_slice(storage, layout)?;
        let s = self.stride;
        let (oh, ow) = (out_side(h, s), out_side(w, s));
        let mut out = vec![0f32; b * oh * ow * 9 * c];
        out.par_chunks_mut(oh * ow * 9 * c)
            .zip(x.par_chunks(h * w * c))
            .for_each(|(o, image)| {
                for_each_tap(h, w, s, |col, px| {
                    o[col * c..(col + 1) * c].copy_from_slice(&image[px * c..(px + 1) * c]);
                });
            });
        Ok((CpuStorage::F32(out), Shape::from((b * oh * ow, 9 * c))))
    }

    fn bwd(
        &self,
        arg: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        let (b, h, w, c) = arg.dims4()?;
        let op = Col2Im {
            b,
            h,
            w,
            c,
            stride: self.stride,
        };
        Ok(Some(grad.contiguous()?.apply_op1_no_bwd(&op)?))
    }
}

/// The adjoint of [`Im2Col`]: sums the columns back onto the `(b, h, w, c)` input.
struct Col2Im {
    b: usize,
    h: usize,
    w: usize,
    c: usize,
    stride: usize,
}

impl CustomOp1 for Col2Im {
    fn name(&self) -> &'static str {
        "col2im-3x3"
    }

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let Self {
            b,
            h,
            w,
            c,
            stride: s,
        } = *self;
        let g = f32_slice(storage, layout)?;
        let (oh, ow) = (out_side(h, s), out_side(w, s));
        let mut out = vec![0f32; b * h * w * c];
        out.par_chunks_mut(h * w * c)
            .zip(g.par_chunks(oh * ow * 9 * c))
            .for_each(|(image, cols)| {
                for_each_tap(h, w, s, |col, px| {
                    let column = &cols[col * c..(col + 1) * c];
                    for (a, v) in image[px * c..(px + 1) * c].iter_mut().zip(column) {
                        *a += v;
                    }
                });
            });
        Ok((CpuStorage::F32(out), Shape::from((b, h, w, c))))
    }
}

/// Per-channel mean and 1/sd of the rows of `x` (`n × c`), in one pass (f64 sums).
fn channel_stats(x: &[f32], c: usize) -> (Vec<f32>, Vec<f32>) {
    let n = (x.len() / c) as f64;
    let zero = || (vec![0f64; c], vec![0f64; c]);
    let (sum, sq) = x
        .par_chunks(c * 1024)
        .fold(zero, |(mut s, mut q), rows| {
            let (mut ps, mut pq) = (vec![0f32; c], vec![0f32; c]);
            for row in rows.chunks_exact(c) {
                for j in 0..c {
                    ps[j] += row[j];
                    pq[j] += row[j] * row[j];
                }
            }
            for j in 0..c {
                s[j] += f64::from(ps[j]);
                q[j] += f64::from(pq[j]);
            }
            (s, q)
        })
        .reduce(zero, |(a, b), (x, y)| {
            (
                a.iter().zip(&x).map(|(p, q)| p + q).collect(),
                b.iter().zip(&y).map(|(p, q)| p + q).collect(),
            )
        });
    let mean: Vec<f64> = sum.iter().map(|s| s / n).collect();
    let inv_sd = sq
        .iter()
        .zip(&mean)
        .map(|(q, m)| (1.0 / ((q / n - m * m).max(0.0) + 1e-5).sqrt()) as f32)
        .collect();
    (mean.iter().map(|&m| m as f32).collect(), inv_sd)
}

/// Batch normalisation of `x` (`n × c`) with the batch's statistics, then `gamma · x̂ +
/// beta`, with its backward written out (candle's composed reductions cost 3x the
/// convolutions here).
pub struct BatchNorm;

impl CustomOp3 for BatchNorm {
    fn name(&self) -> &'static str {
        "batch-norm"
    }

    fn cpu_fwd(
        &self,
        xs: &CpuStorage,
        xl: &Layout,
        gs: &CpuStorage,
        gl: &Layout,
        bs: &CpuStorage,
        bl: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (_, c) = xl.shape().dims2()?;
        let (x, gamma, beta) = (f32_slice(xs, xl)?, f32_slice(gs, gl)?, f32_slice(bs, bl)?);
        let (mean, inv_sd) = channel_stats(x, c);
        let mut out = vec![0f32; x.len()];
        out.par_chunks_mut(c * 1024)
            .zip(x.par_chunks(c * 1024))
            .for_each(|(o, rows)| {
                for (o, row) in o.chunks_exact_mut(c).zip(rows.chunks_exact(c)) {
                    for j in 0..c {
                        o[j] = (row[j] - mean[j]) * inv_sd[j] * gamma[j] + beta[j];
                    }
                }
            });
        Ok((CpuStorage::F32(out), xl.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        gamma: &Tensor,
        _beta: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (n, c) = x.dims2()?;
        let xv = x.flatten_all()?.to_vec1::<f32>()?;
        let dy = grad.flatten_all()?.to_vec1::<f32>()?;
        let g = gamma.to_vec1::<f32>()?;
        let (mean, inv_sd) = channel_stats(&xv, c);
        let (dbeta, dgamma) = xv
            .par_chunks(c * 1024)
            .zip(dy.par_chunks(c * 1024))
            .fold(
                || (vec![0f64; c], vec![0f64; c]),
                |(mut db, mut dg), (xr, gr)| {
                    let (mut pb, mut pg) = (vec![0f32; c], vec![0f32; c]);
                    for (row, grow) in xr.chunks_exact(c).zip(gr.chunks_exact(c)) {
                        for j in 0..c {
                            pb[j] += grow[j];
                            pg[j] += grow[j] * (row[j] - mean[j]) * inv_sd[j];
                        }
                    }
                    for j in 0..c {
                        db[j] += f64::from(pb[j]);
                        dg[j] += f64::from(pg[j]);
                    }
                    (db, dg)
                },
            )
            .reduce(
                || (vec![0f64; c], vec![0f64; c]),
                |(a, b), (x, y)| {
                    (
                        a.iter().zip(&x).map(|(p, q)| p + q).collect(),
                        b.iter().zip(&y).map(|(p, q)| p + q).collect(),
                    )
                },
            );
        let nf = n as f32;
        let (db, dg): (Vec<f32>, Vec<f32>) = (
            dbeta.iter().map(|&v| v as f32).collect(),
            dgamma.iter().map(|&v| v as f32).collect(),
        );
        let mut dx = vec![0f32; xv.len()];
        dx.par_chunks_mut(c * 1024)
            .zip(xv.par_chunks(c * 1024).zip(dy.par_chunks(c * 1024)))
            .for_each(|(o, (rows, grows))| {
                let rows = rows.chunks_exact(c).zip(grows.chunks_exact(c));
                for (o, (row, grow)) in o.chunks_exact_mut(c).zip(rows) {
                    for j in 0..c {
                        let xhat = (row[j] - mean[j]) * inv_sd[j];
                        o[j] = g[j] * inv_sd[j] / nf * (nf * grow[j] - db[j] - xhat * dg[j]);
                    }
                }
            });
        let dev = x.device();
        Ok((
            Some(Tensor::from_vec(dx, (n, c), dev)?),
            Some(Tensor::from_vec(dg, c, dev)?),
            Some(Tensor::from_vec(db, c, dev)?),
        ))
    }
}

/// The studies' three blocks: `width`, `2·width` stride 2, `4·width` stride 2; a 28×28
/// image becomes a 7×7 map of `4·width` channels.
pub struct Trunk {
    blocks: Vec<ConvBlock>,
}

impl Trunk {
    /// New weights under `conv0`, `conv1`, `conv2`.
    pub fn new(width: usize, vb: VarBuilder) -> candle_core::Result<Self> {
        let shape = [
            (1, width, 1),
            (width, 2 * width, 2),
            (2 * width, 4 * width, 2),
        ];
        let blocks = shape
            .iter()
            .enumerate()
            .map(|(i, &(cin, cout, s))| ConvBlock::new(cin, cout, s, vb.pp(format!("conv{i}"))))
            .collect::<candle_core::Result<_>>()?;
        Ok(Self { blocks })
    }

    /// `x` `(b, h, w, 1)` through the three blocks.
    pub fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let mut h = x.clone();
        for block in &self.blocks {
            h = block.forward(&h)?;
        }
        Ok(h)
    }
}
