//! A study (issue 34): SimCLR pretraining of a small convolutional network on
//! Fashion-MNIST's train split (no outside data), the step SCAN's authors take before
//! SCAN and the one the earlier studies named as missing: two views of every image of a
//! batch, each a random resized crop (scale 0.35..1, aspect 3/4..4/3) mirrored at random
//! with contrast, brightness and noise, pulled together and pushed from the batch's other
//! views (NT-Xent). Every few passes it prints the share of the 20 nearest neighbours
//! with the same label among the first 10,000 train images (labels only to score; pixels
//! 0.746, the autoencoders' codes 0.774–0.777 on the same rows), and every 5 passes writes the
//! pooled representation of train and test (`codes`, `labels`) to OUT/train.safetensors and
//! OUT/test.safetensors.
//!
//! The convolutions are im2col (NHWC, a 3×3 kernel's 9 taps concatenated along the
//! channels) and its adjoint as candle custom ops, followed by one matrix product; batch
//! norm has its backward written out. `bench` as the first argument checks both against
//! candle's `conv2d` and composed batch norm (values and gradients) and times one batch
//! of views forward and backward with each (2-core Xeon, width 32: 1.05–1.33 s against
//! 1.6–2.3 s for `conv2d` without batch norm; composed batch norm made it 2.2–2.8 s).
//!
//! `cargo run --release -p aeclust-cluster-scan --example simclr_conv -- DATASET_DIR
//! [EPOCHS] [SEED] [WIDTH] [OUT]` or `-- bench [WIDTH]`

use std::path::PathBuf;
use std::time::Instant;

mod study;

use aeclust_artifact::kinds::{DatasetInfo, Features, Split};
use aeclust_artifact::Artifact;
use aeclust_augment::{strong_images, Strong};
use candle_core::{CpuStorage, CustomOp1, CustomOp3, DType, Device, Layout, Module, Shape, Tensor};
use candle_nn::{Optimizer, VarBuilder, VarMap};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;
use study::{purity, represent_all, unit_rows, SCORED};

const BATCH: usize = 256;
const TEMPERATURE: f64 = 0.5;
const SIDE: usize = 28;
const MIN_SCALE: f32 = 0.35;

/// A 3×3 convolution (padding 1, stride 1 or 2) on NHWC tensors as a matrix product of
/// the 9 shifted copies of the input, followed by batch normalisation (batch statistics)
/// and ReLU.
struct ConvBlock {
    weight: Tensor,
    gamma: Tensor,
    beta: Tensor,
    stride: usize,
}

impl ConvBlock {
    fn new(cin: usize, cout: usize, stride: usize, vb: VarBuilder) -> candle_core::Result<Self> {
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

    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
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
fn out_side(side: usize, stride: usize) -> usize {
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
struct Im2Col {
    stride: usize,
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
struct BatchNorm;

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

struct Net {
    blocks: Vec<ConvBlock>,
    p1: candle_nn::Linear,
    p2: candle_nn::Linear,
    dim: usize,
}

impl Net {
    fn new(width: usize, vb: VarBuilder) -> candle_core::Result<Self> {
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
        let dim = 4 * width;
        Ok(Self {
            blocks,
            p1: candle_nn::linear(dim, dim, vb.pp("p1"))?,
            p2: candle_nn::linear(dim, 64, vb.pp("p2"))?,
            dim,
        })
    }

    /// The pooled representation (before the projection) of `x` (`n × 784`).
    fn represent(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let n = x.dim(0)?;
        let mut h = x.reshape((n, SIDE, SIDE, 1))?;
        for block in &self.blocks {
            h = block.forward(&h)?;
        }
        h.mean(2)?.mean(1)
    }

    fn project(&self, r: &Tensor) -> candle_core::Result<Tensor> {
        self.p2.forward(&self.p1.forward(r)?.relu()?)
    }
}

/// The same network's convolutions with candle's `conv2d` (NCHW), for `bench`.
fn candle_conv_forward(x: &Tensor, weights: &[(Tensor, usize)]) -> candle_core::Result<Tensor> {
    let mut h = x.reshape((x.dim(0)?, 1, SIDE, SIDE))?;
    for (w, stride) in weights {
        h = h.conv2d(w, 1, *stride, 1, 1)?.relu()?;
    }
    h.mean(3)?.mean(2)
}

/// Checks the written-out batch norm and im2col against candle's composed operations
/// (values and gradients).
fn check_against_candle(dev: &Device) -> anyhow::Result<()> {
    let x = candle_core::Var::randn(0f32, 1.0, (2, 6, 6, 3), dev)?;
    let w = candle_core::Var::randn(0f32, 0.3, (4, 3, 3, 3), dev)?;
    let gamma = candle_core::Var::randn(1f32, 0.2, 4, dev)?;
    let beta = candle_core::Var::randn(0f32, 0.2, 4, dev)?;
    let probe = Tensor::randn(0f32, 1.0, (2 * 3 * 3, 4), dev)?;
    let ours = {
        // weight as (cout, 9·cin), tap-major: (cout, ky, kx, cin).
        let wm = w.permute((0, 2, 3, 1))?.reshape((4, 27))?;
        let cols = x.contiguous()?.apply_op1(Im2Col { stride: 2 })?;
        cols.matmul(&wm.t()?)?
            .apply_op3(gamma.as_tensor(), beta.as_tensor(), BatchNorm)?
    };
    let theirs = {
        let y = x.permute((0, 3, 1, 2))?.conv2d(&w, 1, 2, 1, 1)?; // (2, 4, 3, 3)
        let y = y.permute((0, 2, 3, 1))?.reshape((18, 4))?;
        let mean = y.mean_keepdim(0)?;
        let centred = y.broadcast_sub(&mean)?;
        let var = centred.sqr()?.mean_keepdim(0)?;
        centred
            .broadcast_div(&(var + 1e-5)?.sqrt()?)?
            .broadcast_mul(&gamma)?
            .broadcast_add(&beta)?
    };
    let gap = |a: &Tensor, b: &Tensor| -> anyhow::Result<f32> {
        Ok((a - b)?.abs()?.flatten_all()?.max(0)?.to_scalar::<f32>()?)
    };
    println!(
        "check: values differ by at most {:.2e}",
        gap(&ours, &theirs)?
    );
    let go = (&ours * &probe)?.sum_all()?.backward()?;
    let gt = (&theirs * &probe)?.sum_all()?.backward()?;
    for (name, v) in [("x", &x), ("w", &w), ("gamma", &gamma), ("beta", &beta)] {
        let (a, b) = (go.get(v).unwrap(), gt.get(v).unwrap());
        println!(
            "check: gradient of {name} differs by at most {:.2e}",
            gap(a, b)?
        );
    }
    Ok(())
}

fn bench(width: usize) -> anyhow::Result<()> {
    let dev = Device::Cpu;
    check_against_candle(&dev)?;
    let x = Tensor::rand(0f32, 1f32, (2 * BATCH, SIDE * SIDE), &dev)?;
    let varmap = VarMap::new();
    let net = Net::new(width, VarBuilder::from_varmap(&varmap, DType::F32, &dev))?;
    let shape = [
        (1, width, 1),
        (width, 2 * width, 2),
        (2 * width, 4 * width, 2),
    ];
    let weights: Vec<(candle_core::Var, usize)> = shape
        .iter()
        .map(|&(cin, cout, s)| {
            Ok((
                candle_core::Var::randn(0f32, 0.1, (cout, cin, 3, 3), &dev)?,
                s,
            ))
        })
        .collect::<candle_core::Result<_>>()?;
    let plain: Vec<(Tensor, usize)> = weights
        .iter()
        .map(|(v, s)| (v.as_tensor().clone(), *s))
        .collect();
    for round in 0..3 {
        let t = Instant::now();
        let loss = net.represent(&x)?.sqr()?.sum_all()?;
        let forward = t.elapsed().as_secs_f64();
        let _ = loss.backward()?;
        let shifted = t.elapsed().as_secs_f64();
        println!("  forward {forward:.2} s");
        let t = Instant::now();
        let loss = candle_conv_forward(&x, &plain)?.sqr()?.sum_all()?;
        let _ = loss.backward()?;
        let candle = t.elapsed().as_secs_f64();
        println!(
            "round {round}: {} views, width {width}: im2col {shifted:.2} s, candle conv2d {candle:.2} s (forward + backward)",
            2 * BATCH
        );
    }
    Ok(())
}

/// Writes into `out` a random resized crop of the 28×28 image `src` (bilinear, edges
/// clamped), mirrored with probability 1/2.
fn resized_crop(src: &[f32], out: &mut [f32], rng: &mut impl Rng) {
    let side = SIDE as f32;
    let area = rng.gen_range(MIN_SCALE..=1.0) * side * side;
    let ratio = rng.gen_range((0.75f32).ln()..=(4.0f32 / 3.0).ln()).exp();
    let cw = (area * ratio).sqrt().min(side);
    let ch = (area / ratio).sqrt().min(side);
    let x0 = rng.gen_range(0.0..=side - cw);
    let y0 = rng.gen_range(0.0..=side - ch);
    let mirror = rng.gen_bool(0.5);
    let at = |y: isize, x: isize| {
        let y = y.clamp(0, SIDE as isize - 1) as usize;
        let x = x.clamp(0, SIDE as isize - 1) as usize;
        src[y * SIDE + x]
    };
    for oy in 0..SIDE {
        let sy = y0 + (oy as f32 + 0.5) * ch / side - 0.5;
        let (iy, fy) = (sy.floor() as isize, sy - sy.floor());
        for ox in 0..SIDE {
            let from = if mirror { SIDE - 1 - ox } else { ox };
            let sx = x0 + (from as f32 + 0.5) * cw / side - 0.5;
            let (ix, fx) = (sx.floor() as isize, sx - sx.floor());
            let top = at(iy, ix) * (1.0 - fx) + at(iy, ix + 1) * fx;
            let bottom = at(iy + 1, ix) * (1.0 - fx) + at(iy + 1, ix + 1) * fx;
            out[oy * SIDE + ox] = top * (1.0 - fy) + bottom * fy;
        }
    }
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args[1] == "bench" {
        return bench(args.get(2).map_or(Ok(32), |s| s.parse())?);
    }
    let dataset = PathBuf::from(&args[1]);
    let epochs: usize = args.get(2).map_or(Ok(30), |s| s.parse())?;
    let seed: u64 = args.get(3).map_or(Ok(72), |s| s.parse())?;
    let width: usize = args.get(4).map_or(Ok(32), |s| s.parse())?;
    let out = args.get(5).map(PathBuf::from);
    let dataset = Artifact::open_as::<DatasetInfo>(&dataset)?.0;
    let train = Features::load(&dataset, Split::Train)?;
    let test = Features::load(&dataset, Split::Test)?;
    anyhow::ensure!(train.dim == SIDE * SIDE, "28x28 grey images");
    let labels = train.labels.clone().expect("labelled");
    let dev = Device::Cpu;
    let varmap = VarMap::new();
    let net = Net::new(width, VarBuilder::from_varmap(&varmap, DType::F32, &dev))?;
    println!(
        "width {width}, {} dims; {} threads",
        net.dim,
        rayon::current_num_threads()
    );
    let mut opt = candle_nn::AdamW::new(
        varmap.all_vars(),
        candle_nn::ParamsAdamW {
            lr: 1e-3,
            weight_decay: 1e-6,
            ..Default::default()
        },
    )?;
    let colour = Strong {
        shift: 0,
        flip: false,
        erase: 0.0,
        contrast: 0.4,
        noise: 0.05,
    };
    // The other view of row i is row i ± BATCH; a row is never its own negative.
    let targets: Vec<u32> = (0..2 * BATCH)
        .map(|i| ((i + BATCH) % (2 * BATCH)) as u32)
        .collect();
    let targets = Tensor::from_slice(&targets, 2 * BATCH, &dev)?;
    let self_mask = (Tensor::eye(2 * BATCH, DType::F32, &dev)? * -1e9)?;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut order: Vec<usize> = (0..train.len()).collect();
    let mut views = vec![0f32; 2 * BATCH * 784];
    let mut scratch = Vec::new();
    let started = Instant::now();
    for epoch in 1..=epochs {
        let t = Instant::now();
        order.shuffle(&mut rng);
        let (mut loss_sum, mut steps) = (0f64, 0usize);
        for rows in order.chunks_exact(BATCH) {
            for (v, view) in views.chunks_exact_mut(784).enumerate() {
                resized_crop(train.row(rows[v % BATCH]), view, &mut rng);
            }
            strong_images(&mut views, (SIDE, SIDE, 1), &colour, &mut rng, &mut scratch);
            let x = Tensor::from_slice(&views, (2 * BATCH, 784), &dev)?;
            let z = unit_rows(&net.project(&net.represent(&x)?)?)?;
            let similarity = ((z.matmul(&z.t()?)? / TEMPERATURE)? + &self_mask)?;
            let loss = candle_nn::loss::cross_entropy(&similarity, &targets)?;
            opt.backward_step(&loss)?;
            loss_sum += f64::from(loss.to_scalar::<f32>()?);
            steps += 1;
            if steps % 50 == 0 && epoch == 1 {
                println!(
                    "  step {steps}: loss {:.4}, {:.2} s a step",
                    loss_sum / steps as f64,
                    t.elapsed().as_secs_f64() / steps as f64
                );
            }
        }
        let seconds = t.elapsed().as_secs_f64();
        let scored = if epoch % 5 == 0 || epoch == epochs || epoch == 1 {
            let r = represent_all(&|x| net.represent(x), &train.values[..SCORED * 784], &dev)?;
            format!(", {:.4} share the label", purity(&r, net.dim, &labels))
        } else {
            String::new()
        };
        println!(
            "pass {epoch}: loss {:.4}, {seconds:.1} s ({:.0} s in all){scored}",
            loss_sum / steps.max(1) as f64,
            started.elapsed().as_secs_f64()
        );
        if let Some(out) = &out {
            if epoch % 5 == 0 || epoch == epochs {
                study::write_codes(&|x| net.represent(x), net.dim, (&train, &test), out, &dev)?;
            }
        }
    }
    Ok(())
}
