//! A study (issue 34): do neighbours in a representation trained for invariance to the
//! augmentations (SimCLR's contrastive loss, NT-Xent, on an MLP over the pixels; no
//! outside data) share labels more often than the autoencoders' (0.82 of 20)? Two
//! strongly augmented views of every image of a batch are pulled together and pushed
//! from the batch's other views; every few passes prints the share of 20 nearest
//! neighbours with the same label among the first 10,000 train images (labels only to
//! score), and the end writes the train and test representations (`codes`, `labels`) to
//! OUT/train.safetensors and OUT/test.safetensors.
//!
//! `cargo run --release -p aeclust-cluster-scan --example contrastive_mlp -- DATASET_DIR
//! [EPOCHS] [SEED] [OUT]`

use std::path::PathBuf;
use std::time::Instant;

mod study;

use aeclust_artifact::kinds::{DatasetInfo, Features, Split, StrongAugment};
use aeclust_artifact::Artifact;
use aeclust_augment::strong_images;
use candle_core::{DType, Device, Module, Tensor};
use candle_nn::{Optimizer, VarBuilder, VarMap};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use study::{purity, represent_all, unit_rows, SCORED};

const BATCH: usize = 256;
const TEMPERATURE: f64 = 0.5;

struct Net {
    l1: candle_nn::Linear,
    l2: candle_nn::Linear,
    projection: candle_nn::Linear,
}

impl Net {
    fn new(vb: VarBuilder) -> candle_core::Result<Self> {
        Ok(Self {
            l1: candle_nn::linear(784, 1024, vb.pp("l1"))?,
            l2: candle_nn::linear(1024, 512, vb.pp("l2"))?,
            projection: candle_nn::linear(512, 128, vb.pp("projection"))?,
        })
    }

    /// The representation whose neighbours are scored (before the projection).
    fn represent(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        self.l2.forward(&self.l1.forward(x)?.relu()?)?.relu()
    }
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let dataset = PathBuf::from(&args[1]);
    let epochs: usize = args.get(2).map_or(Ok(30), |s| s.parse())?;
    let seed: u64 = args.get(3).map_or(Ok(72), |s| s.parse())?;
    let out = args.get(4).map(PathBuf::from);
    let dataset = Artifact::open_as::<DatasetInfo>(&dataset)?.0;
    let train = Features::load(&dataset, Split::Train)?;
    let test = Features::load(&dataset, Split::Test)?;
    assert_eq!(train.dim, 784, "28x28 grey images");
    let labels = train.labels.clone().expect("labelled");
    println!(
        "pixels: {:.4} of 20 neighbours share the label (first {SCORED} train images); {} threads",
        purity(&train.values, 784, &labels),
        rayon::current_num_threads()
    );
    let dev = Device::Cpu;
    let varmap = VarMap::new();
    let net = Net::new(VarBuilder::from_varmap(&varmap, DType::F32, &dev))?;
    let mut opt = candle_nn::AdamW::new(
        varmap.all_vars(),
        candle_nn::ParamsAdamW {
            lr: 1e-3,
            weight_decay: 1e-6,
            ..Default::default()
        },
    )?;
    let strong = aeclust_cluster_scan::selflabel::strong_of(&StrongAugment::IMAGES);
    // The other view of row i is row i ± BATCH; a row is never its own negative.
    let targets: Vec<u32> = (0..2 * BATCH)
        .map(|i| ((i + BATCH) % (2 * BATCH)) as u32)
        .collect();
    let targets = Tensor::from_slice(&targets, 2 * BATCH, &dev)?;
    let eye = Tensor::eye(2 * BATCH, DType::F32, &dev)?;
    let self_mask = (eye * -1e9)?;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let n = train.len();
    let mut order: Vec<usize> = (0..n).collect();
    let (mut views, mut scratch) = (Vec::new(), Vec::new());
    for epoch in 1..=epochs {
        let t = Instant::now();
        order.shuffle(&mut rng);
        let (mut loss_sum, mut steps) = (0f64, 0usize);
        for rows in order.chunks_exact(BATCH) {
            views.clear();
            for _ in 0..2 {
                for &i in rows {
                    views.extend_from_slice(train.row(i));
                }
            }
            strong_images(&mut views, (28, 28, 1), &strong, &mut rng, &mut scratch);
            let x = Tensor::from_slice(&views, (2 * BATCH, 784), &dev)?;
            let z = unit_rows(&net.projection.forward(&net.represent(&x)?)?)?;
            let similarity = ((z.matmul(&z.t()?)? / TEMPERATURE)? + &self_mask)?;
            let loss = candle_nn::loss::cross_entropy(&similarity, &targets)?;
            opt.backward_step(&loss)?;
            loss_sum += f64::from(loss.to_scalar::<f32>()?);
            steps += 1;
        }
        let seconds = t.elapsed().as_secs_f64();
        let scored = if epoch % 5 == 0 || epoch == epochs || epoch == 1 {
            let r = represent_all(&|x| net.represent(x), &train.values[..SCORED * 784], &dev)?;
            format!(", {:.4} share the label", purity(&r, 512, &labels))
        } else {
            String::new()
        };
        println!(
            "pass {epoch}: loss {:.4}, {seconds:.1} s{scored}",
            loss_sum / steps.max(1) as f64
        );
    }
    if let Some(out) = out {
        study::write_codes(&|x| net.represent(x), 512, (&train, &test), &out, &dev)?;
    }
    Ok(())
}
