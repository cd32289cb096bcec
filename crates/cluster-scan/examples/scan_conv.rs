//! A study (issue 34): SCAN trained through another network than the stage's MLP, on
//! the pixels with a neighbour list (`scripts/experiments/scan_neighbours.py nearest`):
//! does a convolution's bias, or the autoencoder's trained encoder, split the classes
//! the neighbours leave open better than an MLP's? By default three 3×3 convolutions
//! (WIDTH, 2·WIDTH stride 2, 4·WIDTH stride 2; batch norm, ReLU; `study::conv`), the
//! 7×7 map flattened into 128 ReLU units; `--encoder MODEL` instead fine-tunes the
//! encoder of an `aeclust-train` model file (its code layer dropped; `--depth N` keeps
//! its first N layers, `--encoder-shape MODEL` the same layers with fresh weights), and
//! `--standardise` standardises the pixels by the train split's column means and
//! deviations first, as the stage does. 10 heads of 10 clusters; SCAN's loss (entropy
//! weight 5) on every image and one of its neighbours, both shifted by up to 2 pixels;
//! Adam (`--lr`, 1e-3), weight decay 1e-4, batches of 256 images. Prints every head's
//! test accuracy after each pass and, at the end, the head the others agree with most,
//! as the stage keeps it, and the head of lowest SCAN loss (labels only to score). Seed
//! 72, N2D's neighbours, width 16, 8 passes: 0.566 (heads 0.558–0.677; 126–140 s a pass
//! on 2 cores), standardised 0.608 (heads 0.559–0.728; 15 passes: 0.658, the lowest-loss
//! head 0.730), against the MLP's 0.729
//! (docs/RESULTS.md).
//!
//! `cargo run --release -p aeclust-cluster-scan --example scan_conv -- DATASET_DIR
//! NEIGHBOURS.u32 M [SEED] [WIDTH] [EPOCHS] [--encoder MODEL | --encoder-shape MODEL]
//! [--depth N] [--standardise] [--lr LR]`

use std::path::PathBuf;
use std::time::Instant;

mod study;

use aeclust_artifact::kinds::{DatasetInfo, Features, HeadSelection, Split};
use aeclust_artifact::Artifact;
use aeclust_augment::shift_images;
use aeclust_cluster_scan::model::standardisation;
use aeclust_cluster_scan::objective::{batch_loss, score_heads};
use aeclust_cluster_scan::train::{agreement, choose, head_clusters};
use candle_core::{DType, Device, Module, Tensor, D};
use candle_nn::{Optimizer, VarBuilder, VarMap};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use study::conv::Trunk;
use study::read_neighbours;

const BATCH: usize = 256;
const HEADS: usize = 10;
const K: usize = 10;
const ENTROPY_WEIGHT: f64 = 5.0;

/// What SCAN trains through before its heads.
enum Body {
    /// `study::conv`'s convolutions from scratch, the 7×7 map flattened into 128 units.
    Conv(Trunk, candle_nn::Linear),
    /// A trained autoencoder's encoder up to its last hidden layer (ReLU after each).
    Encoder(Vec<candle_nn::Linear>),
}

struct Net {
    /// Column means and scales the pixels are standardised by first, as the stage's
    /// MLP's are (`--standardise`).
    input: Option<(Tensor, Tensor)>,
    body: Body,
    heads: candle_nn::Linear,
}

impl Net {
    fn conv(
        width: usize,
        input: Option<(Tensor, Tensor)>,
        vb: VarBuilder,
    ) -> candle_core::Result<Self> {
        let trunk = Trunk::new(width, vb.clone())?;
        let hidden = candle_nn::linear(49 * 4 * width, 128, vb.pp("hidden"))?;
        Ok(Self {
            input,
            body: Body::Conv(trunk, hidden),
            heads: candle_nn::linear(128, HEADS * K, vb.pp("heads"))?,
        })
    }

    /// The encoder layers `encoder.0..` of an `aeclust-train` model file but the code
    /// layer, their weights put into `varmap` to be fine-tuned (or, `fresh`, only their
    /// shapes taken, as a control), at most `depth` of them, and new heads on top. With
    /// `input` the first layer's weights are folded so that on standardised pixels it
    /// computes what it did on the pixels.
    fn encoder(
        (model, fresh, depth): (&str, bool, usize),
        input: Option<(Tensor, Tensor)>,
        varmap: &VarMap,
        vb: VarBuilder,
    ) -> anyhow::Result<Self> {
        let mut weights = candle_core::safetensors::load(model, &Device::Cpu)?;
        if let Some((mean, scale)) = &input {
            // (W·diag(scale))·((x − mean) / scale) + (b + W·mean) = W·x + b.
            let w = weights["encoder.0.weight"].clone();
            let b = (&weights["encoder.0.bias"] + w.matmul(&mean.unsqueeze(1)?)?.squeeze(1)?)?;
            weights.insert("encoder.0.weight".into(), w.broadcast_mul(scale)?);
            weights.insert("encoder.0.bias".into(), b);
        }
        let layers = (0..)
            .take_while(|i| weights.contains_key(&format!("encoder.{i}.weight")))
            .count();
        anyhow::ensure!(layers >= 2, "{model}: no encoder.N.weight layers");
        anyhow::ensure!(depth >= 1, "--depth {depth}: at least one layer");
        let mut linears = Vec::new();
        let layers = layers.min(depth + 1);
        for i in 0..layers - 1 {
            for part in ["weight", "bias"].into_iter().filter(|_| !fresh) {
                let name = format!("encoder.{i}.{part}");
                let var = candle_core::Var::from_tensor(&weights[&name])?;
                varmap.data().lock().expect("unpoisoned").insert(name, var);
            }
            let (out, inp) = weights[&format!("encoder.{i}.weight")].dims2()?;
            linears.push(candle_nn::linear(inp, out, vb.pp(format!("encoder.{i}")))?);
        }
        let top = linears.last().expect("layers").weight().dim(0)?;
        let how = if fresh {
            "fresh weights"
        } else {
            "its weights"
        };
        println!(
            "trunk: {model}'s first {} encoder layers, {top} units, {how}",
            layers - 1
        );
        Ok(Self {
            input,
            body: Body::Encoder(linears),
            heads: candle_nn::linear(top, HEADS * K, vb.pp("heads"))?,
        })
    }

    /// Cluster probabilities `[n, heads, k]` of `x` (`n × 784`).
    fn probabilities(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let n = x.dim(0)?;
        let x = match &self.input {
            Some((mean, scale)) => x.broadcast_sub(mean)?.broadcast_div(scale)?,
            None => x.clone(),
        };
        let h = match &self.body {
            Body::Conv(trunk, hidden) => {
                let h = trunk.forward(&x.reshape((n, 28, 28, 1))?)?;
                hidden.forward(&h.flatten_from(1)?)?.relu()?
            }
            Body::Encoder(layers) => layers
                .iter()
                .try_fold(x, |h, layer| layer.forward(&h)?.relu())?,
        };
        let logits = self.heads.forward(&h)?.reshape((n, HEADS, K))?;
        candle_nn::ops::softmax(&logits, D::Minus1)
    }

    /// Probabilities of every row of `x`, in batches of 2,000 (batch statistics).
    fn all(&self, x: &[f32], dev: &Device) -> candle_core::Result<Vec<f32>> {
        let mut out = Vec::with_capacity(x.len() / 784 * HEADS * K);
        for block in x.chunks(2000 * 784) {
            let t = Tensor::from_slice(block, (block.len() / 784, 784), dev)?;
            out.extend(self.probabilities(&t)?.flatten_all()?.to_vec1::<f32>()?);
        }
        Ok(out)
    }
}

fn main() -> anyhow::Result<()> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let standardise = args.iter().position(|a| a == "--standardise");
    if let Some(at) = standardise {
        args.remove(at);
    }
    let mut flag = |name: &str| -> Option<String> {
        let at = args.iter().position(|a| a == name)?;
        let value = args.get(at + 1).cloned();
        args.drain(at..(at + 2).min(args.len()));
        value
    };
    let (encoder, fresh) = match (flag("--encoder"), flag("--encoder-shape")) {
        (Some(model), _) => (Some(model), false),
        (None, model) => (model.clone(), model.is_some()),
    };
    let depth: usize = flag("--depth").map_or(Ok(usize::MAX - 1), |s| s.parse())?;
    let lr: f64 = flag("--lr").map_or(Ok(1e-3), |s| s.parse())?;
    anyhow::ensure!(
        args.len() >= 3,
        "DATASET_DIR NEIGHBOURS.u32 M [SEED] [WIDTH] [EPOCHS] [--encoder MODEL | --encoder-shape MODEL] [--depth N] [--standardise] [--lr LR]"
    );
    let dataset = Artifact::open_as::<DatasetInfo>(&PathBuf::from(&args[0]))?.0;
    let train = Features::load(&dataset, Split::Train)?;
    let test = Features::load(&dataset, Split::Test)?;
    anyhow::ensure!(train.dim == 784, "28x28 grey images");
    let m: usize = args[2].parse()?;
    let seed: u64 = args.get(3).map_or(Ok(72), |s| s.parse())?;
    let width: usize = args.get(4).map_or(Ok(16), |s| s.parse())?;
    let epochs: usize = args.get(5).map_or(Ok(10), |s| s.parse())?;
    let neighbours = read_neighbours(&args[1], train.len(), m)?;
    let dev = Device::Cpu;
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &dev);
    let input = standardise
        .map(|_| -> candle_core::Result<_> {
            let (mean, scale) = standardisation(&train.values, 784);
            Ok((
                Tensor::from_vec(mean, 784, &dev)?,
                Tensor::from_vec(scale, 784, &dev)?,
            ))
        })
        .transpose()?;
    let net = match &encoder {
        Some(model) => Net::encoder((model, fresh, depth), input, &varmap, vb)?,
        None => Net::conv(width, input, vb)?,
    };
    let mut opt = candle_nn::AdamW::new(
        varmap.all_vars(),
        candle_nn::ParamsAdamW {
            lr,
            weight_decay: 1e-4,
            ..Default::default()
        },
    )?;
    let classes: Vec<u8> = (0..10).collect();
    let test_labels = test.labels.clone().expect("labelled");
    let accuracy =
        |ids: &[usize], labels: &[u8]| aeclust_metrics::evaluate(ids, labels, K, &classes).acc;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut shifts = Xoshiro256PlusPlus::seed_from_u64(seed ^ 0x5ca4_0002);
    let (mut order, mut scratch): (Vec<usize>, Vec<f32>) = ((0..train.len()).collect(), Vec::new());
    let mut batch = Vec::with_capacity(2 * BATCH * 784);
    println!(
        "width {width}, {epochs} passes, learning rate {lr}, {} threads",
        rayon::current_num_threads()
    );
    for epoch in 1..=epochs {
        let started = Instant::now();
        order.shuffle(&mut rng);
        let (mut sum, mut steps) = (0f64, 0usize);
        for rows in order.chunks_exact(BATCH) {
            batch.clear();
            for &i in rows {
                batch.extend_from_slice(train.row(i));
            }
            for &i in rows {
                batch
                    .extend_from_slice(train.row(neighbours[i * m + rng.gen_range(0..m)] as usize));
            }
            shift_images(&mut batch, (28, 28, 1), 2, &mut shifts, &mut scratch);
            let x = Tensor::from_slice(&batch, (2 * BATCH, 784), &dev)?;
            let p = net.probabilities(&x)?;
            let (total, _, _) = batch_loss(
                &p.narrow(0, 0, BATCH)?,
                &p.narrow(0, BATCH, BATCH)?,
                ENTROPY_WEIGHT,
            )?;
            opt.backward_step(&total)?;
            sum += f64::from(total.to_scalar::<f32>()?);
            steps += 1;
            if epoch == 1 && steps % 50 == 0 {
                println!(
                    "  step {steps}: {:.2} s a step",
                    started.elapsed().as_secs_f64() / steps as f64
                );
            }
        }
        let seconds = started.elapsed().as_secs_f64();
        let p = net.all(&test.values, &dev)?;
        let heads: Vec<String> = (0..HEADS)
            .map(|h| {
                format!(
                    "{:.3}",
                    accuracy(&head_clusters(&p, (HEADS, K), h).0, &test_labels)
                )
            })
            .collect();
        println!(
            "pass {epoch}: loss {:.4}, {seconds:.0} s; test accuracy of every head: {}",
            sum / (steps * HEADS) as f64,
            heads.join(" ")
        );
    }
    let p = net.all(&train.values, &dev)?;
    let scores = score_heads(&p, (HEADS, K), &neighbours, m, ENTROPY_WEIGHT);
    let per_head: Vec<Vec<usize>> = (0..HEADS)
        .map(|h| head_clusters(&p, (HEADS, K), h).0)
        .collect();
    let agreed = agreement(&per_head, K);
    let train_labels = train.labels.as_ref().expect("labelled");
    let test_p = net.all(&test.values, &dev)?;
    for (select, name) in [
        (HeadSelection::Agreement, "consensus"),
        (HeadSelection::Loss, "lowest loss"),
    ] {
        let head = choose(select, &scores, &agreed);
        let test_ids = head_clusters(&test_p, (HEADS, K), head).0;
        let s = aeclust_metrics::evaluate(&test_ids, &test_labels, K, &classes);
        println!(
            "{name}: head {head}: train accuracy {:.4}; test accuracy {:.4}, NMI {:.4}",
            accuracy(&per_head[head], train_labels),
            s.acc,
            s.nmi
        );
    }
    Ok(())
}
