//! Self-labelling, SCAN's last step: the train images a SCAN network already assigns with
//! a probability above a threshold become targets, and the network (its trunk and kept
//! head) is trained to give those targets on strongly augmented views of them, with
//! class-balanced cross-entropy. Confident decisions spread to their uncertain
//! neighbours; training goes on for as long as the confident set grows, and the network
//! of the largest confident set is kept.
//!
//! - this module: the training loop ([`fit`]).
//! - [`stage`]: a SCAN clustering artifact in, a `clustering` artifact of method
//!   `selflabel` out (`aeclust-selflabel`).

pub mod stage;

use std::time::Instant;

use aeclust_artifact::kinds::{SelfLabelEpoch, SelfLabelOptions, StrongAugment};
use aeclust_augment::{strong_codes, strong_images, Strong};
use candle_core::{Device, Tensor, D};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

use crate::model::ScanHeads;
use crate::train::assign;
use crate::{Result, ScanError};

/// The image augmentations of `a` as `aeclust-augment` draws them (codes' dropout is
/// applied separately).
pub fn strong_of(a: &StrongAugment) -> Strong {
    Strong {
        shift: a.shift,
        flip: a.flip,
        erase: a.erase as f32,
        contrast: a.contrast as f32,
        noise: a.noise as f32,
    }
}

/// What to train, and with which seed.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Seed of the order and the augmentations.
    pub seed: u64,
    /// The method's settings.
    pub options: SelfLabelOptions,
}

/// The train split self-labelling learns from.
#[derive(Debug, Clone, Copy)]
pub struct TrainingData<'a> {
    /// Row-major inputs, `n × dim` (pixels in 0..1, or codes).
    pub x: &'a [f32],
    /// Columns.
    pub dim: usize,
    /// `(height, width, channels)` when the rows are images; none for codes.
    pub image: Option<(usize, usize, usize)>,
    /// The SCAN clustering's train clusters (to count the changes).
    pub start: &'a [usize],
    /// Labels, for the diagnostics only (never used to train).
    pub labels: Option<&'a [u8]>,
}

/// Progress of the training.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A batch finished.
    Batch {
        /// Pass, 1-based.
        epoch: usize,
        /// Most passes.
        epochs: usize,
        /// Batches done in this pass.
        done: usize,
        /// Batches per pass.
        total: usize,
    },
    /// A pass (0: the start) was measured.
    Epoch(SelfLabelEpoch),
}

/// The trained network and how it got there.
#[derive(Debug)]
pub struct SelfLabelled {
    /// The network of the largest confident set (one head).
    pub model: ScanHeads,
    /// Every pass, the start first.
    pub history: Vec<SelfLabelEpoch>,
    /// The pass of `model`.
    pub kept_epoch: usize,
    /// Why training stopped.
    pub stopped: String,
    /// `model`'s cluster of every train row.
    pub train_clusters: Vec<usize>,
    /// Its probability.
    pub train_confidence: Vec<f32>,
}

/// Checks `options` for `n` training rows (`image`: their shape; none for codes); the
/// message names the option at fault.
pub fn check(
    options: &SelfLabelOptions,
    n: usize,
    image: Option<(usize, usize, usize)>,
) -> Result<()> {
    let bad = |m: String| Err(ScanError::InvalidParams(m));
    if !(options.threshold > 0.0 && options.threshold < 1.0) {
        return bad(format!(
            "--threshold {}: must lie strictly between 0 and 1",
            options.threshold
        ));
    }
    for (name, v) in [
        ("--epochs", options.epochs),
        ("--patience", options.patience),
        ("--batch-size", options.batch_size),
    ] {
        if v == 0 {
            return bad(format!("{name} 0: must be at least 1"));
        }
    }
    if n == 0 {
        return bad("no training rows".into());
    }
    if !(options.learning_rate.is_finite() && options.learning_rate > 0.0) {
        return bad(format!(
            "--learning-rate {}: must be positive",
            options.learning_rate
        ));
    }
    let a = &options.augment;
    for (name, v, max) in [
        ("--weight-decay", options.weight_decay, f64::INFINITY),
        ("--per-cluster", options.per_cluster, 1.0),
        ("--erase", a.erase, 1.0),
        ("--contrast", a.contrast, 1.0),
        ("--noise", a.noise, f64::INFINITY),
        ("--dropout", a.dropout, 1.0),
    ] {
        if !(v.is_finite() && (0.0..=max).contains(&v)) || (max == 1.0 && v >= 1.0) {
            return bad(format!(
                "{name} {v}: must be at least 0{}",
                if max == 1.0 { " and below 1" } else { "" }
            ));
        }
    }
    match image {
        None => {
            for (name, on) in [
                ("--shift", a.shift > 0),
                ("--flip", a.flip),
                ("--erase", a.erase > 0.0),
                ("--contrast", a.contrast > 0.0),
            ] {
                if on {
                    return bad(format!(
                        "{name}: the network's input is codes, not images; only --noise and \
                         --dropout apply"
                    ));
                }
            }
        }
        Some((h, w, _)) => {
            if a.dropout > 0.0 {
                return bad("--dropout: the network's input is images; it applies to codes".into());
            }
            if a.shift >= h.min(w) {
                return bad(format!(
                    "--shift {}: must be smaller than the {h}x{w} images",
                    a.shift
                ));
            }
        }
    }
    Ok(())
}

/// The pseudo-labels' quality against the labels (diagnostics only): clusters are mapped
/// to classes on the whole split (Hungarian), then the fraction of confident rows and of
/// all rows whose mapped class is their label.
fn accuracies(
    clusters: &[usize],
    confident: &[bool],
    labels: &[u8],
    k: usize,
) -> (Option<f64>, f64) {
    let mut classes: Vec<u8> = labels.to_vec();
    classes.sort_unstable();
    classes.dedup();
    let table = aeclust_metrics::Contingency::new(clusters, labels, k, &classes);
    let (_, mapping) = aeclust_metrics::hungarian_mapping(&table);
    let right = |i: usize| mapping[clusters[i]].map(|c| classes[c]) == Some(labels[i]);
    let (mut hit, mut total, mut all) = (0usize, 0usize, 0usize);
    for (i, &c) in confident.iter().enumerate() {
        let ok = right(i);
        all += usize::from(ok);
        if c {
            total += 1;
            hit += usize::from(ok);
        }
    }
    let confident_accuracy = (total > 0).then(|| hit as f64 / total as f64);
    (
        confident_accuracy,
        all as f64 / clusters.len().max(1) as f64,
    )
}

/// The rows trained on in a pass: those assigned with a probability above `threshold`,
/// and in every cluster where fewer pass, its `per_cluster` most confident share (so a
/// cluster with few confident rows still teaches, and is not swallowed by its neighbours).
pub fn targets(
    clusters: &[usize],
    confidence: &[f32],
    k: usize,
    threshold: f64,
    per_cluster: f64,
) -> Vec<bool> {
    let mut chosen: Vec<bool> = confidence
        .iter()
        .map(|&p| f64::from(p) > threshold)
        .collect();
    if per_cluster > 0.0 {
        let mut members: Vec<Vec<usize>> = vec![Vec::new(); k];
        for (i, &c) in clusters.iter().enumerate() {
            members[c].push(i);
        }
        for rows in &mut members {
            let want = (per_cluster * rows.len() as f64).ceil() as usize;
            rows.sort_by(|&a, &b| confidence[b].total_cmp(&confidence[a]).then(a.cmp(&b)));
            rows.iter().take(want).for_each(|&i| chosen[i] = true);
        }
    }
    chosen
}

/// Measures `model` on the unaugmented train rows: the record of pass `epoch`.
fn measure(
    model: &ScanHeads,
    data: &TrainingData,
    threshold: f64,
    (epoch, loss, seconds): (usize, Option<f64>, f64),
    device: &Device,
) -> Result<(SelfLabelEpoch, Vec<usize>, Vec<f32>)> {
    let (clusters, confidence) = assign(model, 0, data.x, data.dim, device)?;
    let confident: Vec<bool> = confidence
        .iter()
        .map(|&p| f64::from(p) > threshold)
        .collect();
    let mut per_cluster = vec![0usize; model.k];
    for (&c, &ok) in clusters.iter().zip(&confident) {
        per_cluster[c] += usize::from(ok);
    }
    let (confident_accuracy, train_accuracy) = match data.labels {
        Some(labels) => {
            let (c, a) = accuracies(&clusters, &confident, labels, model.k);
            (c, Some(a))
        }
        None => (None, None),
    };
    let record = SelfLabelEpoch {
        epoch,
        confident: per_cluster.iter().sum(),
        confident_per_cluster: per_cluster,
        confident_accuracy,
        train_accuracy,
        changed: clusters
            .iter()
            .zip(data.start)
            .filter(|(a, b)| a != b)
            .count(),
        loss,
        seconds,
    };
    Ok((record, clusters, confidence))
}

/// The class-balanced cross-entropy of `logits` (`[b, k]`) against `targets`: each row
/// weighs the inverse of its target's count in the batch (all 1 unless `balanced`), and
/// the loss is the weighted mean.
pub fn balanced_cross_entropy(
    logits: &Tensor,
    targets: &[u32],
    k: usize,
    balanced: bool,
) -> candle_core::Result<Tensor> {
    let mut count = vec![0f32; k];
    targets.iter().for_each(|&t| count[t as usize] += 1.0);
    let weights: Vec<f32> = targets
        .iter()
        .map(|&t| {
            if balanced {
                1.0 / count[t as usize]
            } else {
                1.0
            }
        })
        .collect();
    let total: f32 = weights.iter().sum();
    let device = logits.device();
    let b = targets.len();
    let picked = candle_nn::ops::log_softmax(logits, D::Minus1)?
        .gather(&Tensor::from_slice(targets, (b, 1), device)?, 1)?
        .squeeze(1)?;
    let w = Tensor::from_vec(weights, b, device)?;
    (picked * w)?.sum_all()? / f64::from(-total)
}

/// Trains `model` (one head, from SCAN) on `data` and keeps the network of the largest
/// confident set. Stops after `options.patience` passes without a larger set, or after
/// `options.epochs`.
pub fn fit(
    settings: &Settings,
    model: ScanHeads,
    data: &TrainingData,
    device: &Device,
    progress: &mut dyn FnMut(Event),
) -> Result<SelfLabelled> {
    let o = &settings.options;
    let dim = data.dim;
    let n = data.x.len() / dim.max(1);
    check(o, n, data.image)?;
    if model.heads != 1 || model.input_dim() != dim || data.start.len() != n {
        return Err(ScanError::InvalidData(format!(
            "a network of {} heads on {} columns for {n} rows of {dim} columns ({} start clusters)",
            model.heads,
            model.input_dim(),
            data.start.len()
        )));
    }
    let k = model.k;
    let strong = strong_of(&o.augment);
    let scale: Vec<f32> = model.input_scale.to_vec1()?;
    let mut optimiser = AdamW::new(
        model.vars(),
        ParamsAdamW {
            lr: o.learning_rate,
            weight_decay: o.weight_decay,
            ..ParamsAdamW::default()
        },
    )?;
    let mut order_rng = Xoshiro256PlusPlus::seed_from_u64(settings.seed ^ 0x5e1f_0001);
    let mut augment_rng = Xoshiro256PlusPlus::seed_from_u64(settings.seed ^ 0x5e1f_0002);
    let (start, mut clusters, mut confidence) =
        measure(&model, data, o.threshold, (0, None, 0.0), device)?;
    progress(Event::Epoch(start.clone()));
    let mut history = vec![start];
    let mut best = (0usize, history[0].confident, model.single_head(0)?);
    let mut kept = (clusters.clone(), confidence.clone());
    let mut order: Vec<usize> = (0..n).collect();
    let mut batch = Vec::new();
    let mut scratch = Vec::new();
    let batches = n.div_ceil(o.batch_size);
    let mut stopped = format!("{} passes, the most allowed (--epochs)", o.epochs);
    for epoch in 1..=o.epochs {
        let started = Instant::now();
        order.shuffle(&mut order_rng);
        let chosen = targets(&clusters, &confidence, k, o.threshold, o.per_cluster);
        let (mut sum, mut steps) = (0f64, 0usize);
        for (done, rows) in order.chunks(o.batch_size).enumerate() {
            // The targets: the network's own confident answers on the unaugmented rows,
            // from the pass before (`clusters`, `confidence` are refreshed every pass, so
            // a target set stays fixed within a pass, as SCAN's does within a batch).
            let mut targets = Vec::with_capacity(rows.len());
            batch.clear();
            for &i in rows {
                if chosen[i] {
                    targets.push(clusters[i] as u32);
                    batch.extend_from_slice(&data.x[i * dim..(i + 1) * dim]);
                }
            }
            if !targets.is_empty() {
                match data.image {
                    Some(shape) => {
                        strong_images(&mut batch, shape, &strong, &mut augment_rng, &mut scratch)
                    }
                    None => strong_codes(
                        &mut batch,
                        &scale,
                        o.augment.dropout as f32,
                        o.augment.noise as f32,
                        &mut augment_rng,
                    ),
                }
                let b = targets.len();
                let x = Tensor::from_slice(&batch, (b, dim), device)?;
                let logits = model.logits(&x)?.reshape((b, k))?;
                let loss = balanced_cross_entropy(&logits, &targets, k, o.balanced)?;
                optimiser.backward_step(&loss)?;
                sum += f64::from(loss.to_scalar::<f32>()?);
                steps += 1;
            }
            progress(Event::Batch {
                epoch,
                epochs: o.epochs,
                done: done + 1,
                total: batches,
            });
        }
        let loss = sum / steps.max(1) as f64;
        if !loss.is_finite() {
            return Err(ScanError::InvalidData(format!(
                "the loss became {loss} in pass {epoch}; try a smaller --learning-rate"
            )));
        }
        let seconds = started.elapsed().as_secs_f64();
        let (record, c, p) = measure(
            &model,
            data,
            o.threshold,
            (epoch, Some(loss), seconds),
            device,
        )?;
        (clusters, confidence) = (c, p);
        progress(Event::Epoch(record.clone()));
        let grew = record.confident > best.1;
        history.push(record);
        if grew {
            best = (epoch, history[epoch].confident, model.single_head(0)?);
            kept = (clusters.clone(), confidence.clone());
        } else if epoch - best.0 >= o.patience {
            stopped = format!(
                "the confident set did not grow for {} passes (--patience)",
                o.patience
            );
            break;
        }
    }
    let (kept_epoch, _, model) = best;
    Ok(SelfLabelled {
        model,
        history,
        kept_epoch,
        stopped,
        train_clusters: kept.0,
        train_confidence: kept.1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aeclust_artifact::kinds::StrongAugment;

    fn options() -> SelfLabelOptions {
        SelfLabelOptions {
            threshold: 0.99,
            per_cluster: 0.0,
            epochs: 10,
            patience: 2,
            batch_size: 64,
            learning_rate: 1e-3,
            weight_decay: 1e-4,
            balanced: true,
            augment: StrongAugment {
                shift: 0,
                flip: false,
                erase: 0.0,
                contrast: 0.0,
                noise: 0.1,
                dropout: 0.1,
            },
        }
    }

    #[test]
    fn balanced_cross_entropy_weighs_classes_equally() {
        let dev = Device::Cpu;
        // Three rows of target 0 predicted well, one of target 1 predicted badly.
        let logits = Tensor::from_vec(
            vec![2.0f32, 0.0, 2.0, 0.0, 2.0, 0.0, 2.0, 0.0],
            (4, 2),
            &dev,
        )
        .unwrap();
        let targets = [0u32, 0, 0, 1];
        let good = (1.0 + (-2f64).exp()).ln();
        let bad = (1.0 + 2f64.exp()).ln();
        let plain = balanced_cross_entropy(&logits, &targets, 2, false).unwrap();
        let plain = f64::from(plain.to_scalar::<f32>().unwrap());
        assert!((plain - (3.0 * good + bad) / 4.0).abs() < 1e-5, "{plain}");
        // Balanced: each class weighs one half, whatever its count.
        let balanced = balanced_cross_entropy(&logits, &targets, 2, true).unwrap();
        let balanced = f64::from(balanced.to_scalar::<f32>().unwrap());
        assert!((balanced - (good + bad) / 2.0).abs() < 1e-5, "{balanced}");
    }

    #[test]
    fn impossible_options_are_refused_by_name() {
        let image = Some((28, 28, 1));
        assert!(check(&options(), 100, None).is_ok());
        let refused = |edit: fn(&mut SelfLabelOptions), image| {
            let mut o = options();
            edit(&mut o);
            check(&o, 100, image).unwrap_err().to_string()
        };
        assert!(refused(|o| o.threshold = 1.0, None).contains("--threshold"));
        assert!(refused(|o| o.patience = 0, None).contains("--patience"));
        assert!(refused(|o| o.learning_rate = f64::NAN, None).contains("--learning-rate"));
        assert!(refused(|o| o.augment.erase = 0.3, None).contains("codes, not images"));
        assert!(refused(|o| o.augment.dropout = 1.0, None).contains("--dropout"));
        // Images: dropout is for codes, and a shift must fit the image.
        assert!(refused(|_| {}, image).contains("--dropout"));
        assert!(refused(
            |o| {
                o.augment.dropout = 0.0;
                o.augment.shift = 28;
            },
            image
        )
        .contains("--shift 28"));
    }

    #[test]
    fn every_cluster_gives_its_most_confident_share() {
        // Cluster 0: four rows, one above the threshold; cluster 1: two rows, none.
        let clusters = [0, 0, 0, 0, 1, 1];
        let confidence = [0.995f32, 0.5, 0.9, 0.7, 0.6, 0.8];
        let plain = targets(&clusters, &confidence, 2, 0.99, 0.0);
        assert_eq!(plain, [true, false, false, false, false, false]);
        // Half of each: cluster 0's two best (0.995, 0.9), cluster 1's best (0.8).
        let floor = targets(&clusters, &confidence, 2, 0.99, 0.5);
        assert_eq!(floor, [true, false, true, false, false, true]);
    }

    #[test]
    fn confident_accuracy_maps_clusters_on_the_whole_split() {
        // Clusters 0, 1 are classes 7, 3; one row of cluster 0 is really a 3.
        let clusters = [0, 0, 0, 1, 1];
        let labels = [7u8, 7, 3, 3, 3];
        let confident = [true, true, true, false, false];
        let (c, all) = accuracies(&clusters, &confident, &labels, 2);
        assert!((c.unwrap() - 2.0 / 3.0).abs() < 1e-12);
        assert!((all - 0.8).abs() < 1e-12);
        assert_eq!(accuracies(&clusters, &[false; 5], &labels, 2).0, None);
    }
}
