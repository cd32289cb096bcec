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
use candle_core::{DType, Device, Module, Tensor};
use candle_nn::{Optimizer, VarBuilder, VarMap};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use study::conv::{BatchNorm, Im2Col, Trunk};
use study::{purity, represent_all, resized_crop, unit_rows, SCORED};

const BATCH: usize = 256;
const TEMPERATURE: f64 = 0.5;
const SIDE: usize = 28;
const MIN_SCALE: f32 = 0.35;

struct Net {
    trunk: Trunk,
    p1: candle_nn::Linear,
    p2: candle_nn::Linear,
    dim: usize,
}

impl Net {
    fn new(width: usize, vb: VarBuilder) -> candle_core::Result<Self> {
        let trunk = Trunk::new(width, vb.clone())?;
        let dim = 4 * width;
        Ok(Self {
            trunk,
            p1: candle_nn::linear(dim, dim, vb.pp("p1"))?,
            p2: candle_nn::linear(dim, 64, vb.pp("p2"))?,
            dim,
        })
    }

    /// The pooled representation (before the projection) of `x` (`n × 784`).
    fn represent(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let n = x.dim(0)?;
        let h = self.trunk.forward(&x.reshape((n, 28, 28, 1))?)?;
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
                resized_crop(train.row(rows[v % BATCH]), view, MIN_SCALE, &mut rng);
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
