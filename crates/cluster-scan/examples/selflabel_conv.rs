//! A study (issue 34): self-labelling with a small convolutional network instead of the
//! SCAN MLP. The train images a SCAN clustering assigns above a threshold become targets;
//! a two-convolution network is trained from scratch on strongly augmented views of
//! them (class-balanced cross-entropy, Adam), optionally refreshing the targets from its
//! own confident predictions each pass; every pass prints the train and test accuracy
//! against the labels (diagnostics only) and the seconds it took.
//!
//! `cargo run --release -p aeclust-cluster-scan --example selflabel_conv -- SCAN_DIR
//! [EPOCHS] [THRESHOLD] [fixed|refresh] [SEED]`

use std::path::PathBuf;
use std::time::Instant;

use aeclust_artifact::kinds::{ClusteringInfo, DatasetInfo, Features, Split, StrongAugment};
use aeclust_artifact::{Artifact, TensorFile};
use aeclust_augment::strong_images;
use candle_core::{DType, Device, Module, Tensor, D};
use candle_nn::{Conv2dConfig, Optimizer, VarBuilder, VarMap};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

struct Net {
    c1: candle_nn::Conv2d,
    c2: candle_nn::Conv2d,
    f1: candle_nn::Linear,
    f2: candle_nn::Linear,
}

impl Net {
    fn new(vb: VarBuilder, k: usize) -> candle_core::Result<Self> {
        let pad = Conv2dConfig {
            padding: 1,
            ..Default::default()
        };
        Ok(Self {
            c1: candle_nn::conv2d(1, 32, 3, pad, vb.pp("c1"))?,
            c2: candle_nn::conv2d(32, 64, 3, pad, vb.pp("c2"))?,
            f1: candle_nn::linear(64 * 7 * 7, 128, vb.pp("f1"))?,
            f2: candle_nn::linear(128, k, vb.pp("f2"))?,
        })
    }

    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let b = x.dim(0)?;
        let x = x.reshape((b, 1, 28, 28))?;
        let x = self.c1.forward(&x)?.relu()?.max_pool2d(2)?;
        let x = self.c2.forward(&x)?.relu()?.max_pool2d(2)?;
        let x = x.flatten_from(1)?;
        self.f2.forward(&self.f1.forward(&x)?.relu()?)
    }
}

/// Cluster and probability of every row of `x` (`n × 784`).
fn predict(net: &Net, x: &[f32], dev: &Device) -> candle_core::Result<(Vec<usize>, Vec<f32>)> {
    let n = x.len() / 784;
    let (mut c, mut p) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for start in (0..n).step_by(1000) {
        let end = (start + 1000).min(n);
        let t = Tensor::from_slice(&x[start * 784..end * 784], (end - start, 784), dev)?;
        let probs = candle_nn::ops::softmax(&net.forward(&t)?, D::Minus1)?;
        let am: Vec<u32> = probs.argmax(D::Minus1)?.to_vec1()?;
        let mx: Vec<f32> = probs.max(D::Minus1)?.to_vec1()?;
        c.extend(am.into_iter().map(|v| v as usize));
        p.extend(mx);
    }
    Ok((c, p))
}

fn accuracy(clusters: &[usize], labels: &[u8], k: usize) -> f64 {
    let mut classes = labels.to_vec();
    classes.sort_unstable();
    classes.dedup();
    aeclust_metrics::evaluate(clusters, labels, k, &classes).acc
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let scan = PathBuf::from(&args[1]);
    let epochs: usize = args.get(2).map_or(Ok(8), |s| s.parse())?;
    let threshold: f32 = args.get(3).map_or(Ok(0.99), |s| s.parse())?;
    let refresh = args.get(4).is_some_and(|s| s == "refresh");
    let seed: u64 = args.get(5).map_or(Ok(72), |s| s.parse())?;
    let (artifact, info) = Artifact::open_as::<ClusteringInfo>(&scan)?;
    let k = info.k;
    let features = artifact_features(&artifact, &info)?;
    let dataset = Artifact::open_as::<DatasetInfo>(&features)?.0;
    let train = Features::load(&dataset, Split::Train)?;
    let test = Features::load(&dataset, Split::Test)?;
    assert_eq!(train.dim, 784, "28x28 grey images");
    let assignments = TensorFile::open(&artifact.path(ClusteringInfo::ASSIGNMENTS_FILE)?)?;
    let mut clusters: Vec<usize> = assignments
        .read::<u32>("train_assignments", Some(1))?
        .data
        .into_iter()
        .map(|c| c as usize)
        .collect();
    let mut confidence = assignments.read::<f32>("train_confidence", Some(1))?.data;
    let (train_labels, test_labels) = (train.labels.clone().unwrap(), test.labels.clone().unwrap());
    println!(
        "SCAN {}: k {k}, train ACC {:.4}; {} threads; {} targets {}",
        scan.display(),
        accuracy(&clusters, &train_labels, k),
        rayon::current_num_threads(),
        if refresh { "refreshed" } else { "fixed" },
        threshold
    );
    let dev = Device::Cpu;
    let varmap = VarMap::new();
    let net = Net::new(VarBuilder::from_varmap(&varmap, DType::F32, &dev), k)?;
    let mut opt = candle_nn::AdamW::new(
        varmap.all_vars(),
        candle_nn::ParamsAdamW {
            lr: 1e-3,
            weight_decay: 1e-4,
            ..Default::default()
        },
    )?;
    let strong = aeclust_cluster_scan::selflabel::strong_of(&StrongAugment::IMAGES);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let n = train.len();
    let mut order: Vec<usize> = (0..n).collect();
    let (mut batch, mut scratch) = (Vec::new(), Vec::new());
    for epoch in 1..=epochs {
        let t = Instant::now();
        let chosen: Vec<bool> = confidence.iter().map(|&p| p > threshold).collect();
        let right = chosen.iter().zip(&clusters).filter(|(c, _)| **c).count();
        order.shuffle(&mut rng);
        let mut loss_sum = 0f64;
        let mut steps = 0;
        for rows in order.chunks(128) {
            batch.clear();
            let mut targets = Vec::new();
            for &i in rows {
                if chosen[i] {
                    targets.push(clusters[i] as u32);
                    batch.extend_from_slice(train.row(i));
                }
            }
            if targets.is_empty() {
                continue;
            }
            strong_images(&mut batch, (28, 28, 1), &strong, &mut rng, &mut scratch);
            let b = targets.len();
            let x = Tensor::from_slice(&batch, (b, 784), &dev)?;
            let logits = net.forward(&x)?;
            let loss = aeclust_cluster_scan::selflabel::balanced_cross_entropy(
                &logits, &targets, k, true,
            )?;
            opt.backward_step(&loss)?;
            loss_sum += f64::from(loss.to_scalar::<f32>()?);
            steps += 1;
        }
        let (train_c, train_p) = predict(&net, &train.values, &dev)?;
        let (test_c, _) = predict(&net, &test.values, &dev)?;
        println!(
            "pass {epoch}: {right} targets, loss {:.4}, train ACC {:.4}, test ACC {:.4}, {} train rows above {threshold}, {:.1} s",
            loss_sum / steps.max(1) as f64,
            accuracy(&train_c, &train_labels, k),
            accuracy(&test_c, &test_labels, k),
            train_p.iter().filter(|&&p| p > threshold).count(),
            t.elapsed().as_secs_f64()
        );
        if refresh {
            (clusters, confidence) = (train_c, train_p);
        }
    }
    Ok(())
}

/// The dataset behind the SCAN clustering's input features.
fn artifact_features(artifact: &Artifact, info: &ClusteringInfo) -> anyhow::Result<PathBuf> {
    Ok(info.features.artifact.resolve(artifact.dir()))
}
