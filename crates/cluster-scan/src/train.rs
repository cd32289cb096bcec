//! Training the heads, choosing one, and assigning clusters with it.

use std::time::Instant;

use aeclust_artifact::kinds::{HeadSelection, ScanOptions};
use aeclust_augment::shift_images;
use aeclust_quality::adjusted_rand_index;
use candle_core::{Device, Tensor};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

use crate::model::{standardisation, ScanHeads};
use crate::objective::{batch_loss, score_heads, HeadScore};
use crate::{Result, ScanError};

/// Rows per forward pass when scoring and assigning (memory only; results identical).
const EVAL_ROWS: usize = 4096;

/// What to train: `k` clusters, `scan.heads` heads, at least `scan.epochs` passes (and
/// at least `scan.min_steps` batches), SCAN's own settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Clusters.
    pub k: usize,
    /// Seed of the initial weights, the order, the neighbour drawn and the shifts.
    pub seed: u64,
    /// SCAN's settings.
    pub scan: ScanOptions,
}

impl Settings {
    /// Passes over `n` training rows: `epochs`, or more when that many would take fewer
    /// than `scan.min_steps` batches (a few thousand images give a handful of batches
    /// an epoch).
    pub fn epochs_for(&self, n: usize) -> usize {
        let batches = n.div_ceil(self.scan.batch_size.max(1)).max(1);
        self.scan.epochs.max(self.scan.min_steps.div_ceil(batches))
    }
}

/// The training rows and who their neighbours are.
#[derive(Debug, Clone, Copy)]
pub struct TrainingData<'a> {
    /// Row-major inputs, `n × dim`.
    pub x: &'a [f32],
    /// Columns.
    pub dim: usize,
    /// `n × m` indices of every row's nearest neighbours (itself excluded).
    pub neighbours: &'a [u32],
    /// Neighbours per row.
    pub m: usize,
    /// `(height, width, channels)` when the rows are images (needed for `shift`).
    pub image: Option<(usize, usize, usize)>,
}

/// Progress of the training.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Event {
    /// A batch finished: `done` of `total` batches of this epoch.
    Batch {
        /// Epoch, 1-based.
        epoch: usize,
        /// Epochs in all.
        epochs: usize,
        /// Batches done in this epoch.
        done: usize,
        /// Batches per epoch.
        total: usize,
    },
    /// An epoch finished with this mean loss per head.
    Epoch {
        /// Epoch, 1-based.
        epoch: usize,
        /// Epochs in all.
        epochs: usize,
        /// Mean batch loss over the heads.
        loss: f64,
    },
    /// Training is over; every head is being scored on every neighbour pair.
    Scoring,
}

/// A trained network, the score of every head, and the head kept.
#[derive(Debug)]
pub struct Trained {
    /// The network with all heads.
    pub model: ScanHeads,
    /// Every head's loss on every training row and each of its neighbours.
    pub scores: Vec<HeadScore>,
    /// Every head's mean adjusted Rand index with the other heads (train rows).
    pub agreement: Vec<f64>,
    /// The head kept.
    pub head: usize,
    /// The kept head's cluster of every training row.
    pub train_clusters: Vec<usize>,
    /// Its probability.
    pub train_confidence: Vec<f32>,
    /// Mean batch loss per head, per epoch.
    pub loss_history: Vec<f64>,
    /// Wall seconds of every epoch.
    pub epoch_seconds: Vec<f64>,
}

/// Checks `settings` for `n` training rows (`image`: their shape, none for codes); the
/// message names the option at fault.
pub fn check(settings: &Settings, n: usize, image: Option<(usize, usize, usize)>) -> Result<()> {
    let s = &settings.scan;
    let bad = |m: String| Err(ScanError::InvalidParams(m));
    if settings.k < 2 {
        return bad(format!(
            "--k {}: SCAN needs at least 2 clusters",
            settings.k
        ));
    }
    if settings.k > n {
        return bad(format!(
            "--k {} is larger than the {n} training samples",
            settings.k
        ));
    }
    for (name, v) in [
        ("--heads", settings.scan.heads),
        ("--epochs", settings.scan.epochs),
        ("--knn", s.neighbours),
        ("--hidden", s.hidden),
        ("--batch-size", s.batch_size),
    ] {
        if v == 0 {
            return bad(format!("{name} 0: must be at least 1"));
        }
    }
    if s.neighbours >= n {
        return bad(format!(
            "--knn {}: only {n} training samples, so at most {} neighbours each",
            s.neighbours,
            n.saturating_sub(1)
        ));
    }
    if !(s.learning_rate.is_finite() && s.learning_rate > 0.0) {
        return bad(format!(
            "--learning-rate {}: must be positive",
            s.learning_rate
        ));
    }
    for (name, v) in [
        ("--entropy-weight", s.entropy_weight),
        ("--weight-decay", s.weight_decay),
    ] {
        if !(v.is_finite() && v >= 0.0) {
            return bad(format!("{name} {v}: must be finite and not negative"));
        }
    }
    if s.shift > 0 {
        match image {
            None => {
                return bad(format!(
                    "--shift {}: the features are codes, not images; only images can be shifted",
                    s.shift
                ))
            }
            Some((h, w, _)) if s.shift >= h.min(w) => {
                return bad(format!(
                    "--shift {}: must be smaller than the {h}x{w} images",
                    s.shift
                ))
            }
            _ => {}
        }
    }
    Ok(())
}

/// Trains `settings.scan.heads` heads on `data` and keeps the one `settings.scan.select`
/// chooses: the consensus of the heads, or the lowest loss over every row and each of its
/// neighbours (unshifted). Images are shifted by up to `settings.scan.shift` pixels.
pub fn fit(
    settings: &Settings,
    data: &TrainingData,
    device: &Device,
    progress: &mut dyn FnMut(Event),
) -> Result<Trained> {
    // Its own stream: the order and neighbours drawn do not depend on the shifts.
    let mut shifts = Xoshiro256PlusPlus::seed_from_u64(settings.seed ^ 0x5ca4_0002);
    let mut scratch = Vec::new();
    let shift = settings.scan.shift;
    let mut augment = |batch: &mut [f32]| {
        if let Some(shape) = data.image {
            shift_images(batch, shape, shift, &mut shifts, &mut scratch);
        }
    };
    fit_augmented(settings, data, &mut augment, device, progress)
}

/// [`fit`] with another augmentation: `augment` varies every batch of inputs (the
/// anchors, then one neighbour of each, as rows of `data.dim`) before the step.
pub fn fit_augmented(
    settings: &Settings,
    data: &TrainingData,
    augment: &mut dyn FnMut(&mut [f32]),
    device: &Device,
    progress: &mut dyn FnMut(Event),
) -> Result<Trained> {
    let s = &settings.scan;
    let (dim, m) = (data.dim, data.m);
    let n = data.x.len() / dim.max(1);
    check(settings, n, data.image)?;
    if data.neighbours.len() != n * m || m != s.neighbours {
        return Err(ScanError::InvalidData(format!(
            "{} neighbour indices for {n} rows of {} neighbours",
            data.neighbours.len(),
            s.neighbours
        )));
    }
    let model = ScanHeads::new(
        standardisation(data.x, dim),
        s.hidden,
        settings.scan.heads,
        settings.k,
        settings.seed,
        device,
    )?;
    let mut optimiser = AdamW::new(
        model.vars(),
        ParamsAdamW {
            lr: s.learning_rate,
            weight_decay: s.weight_decay,
            ..ParamsAdamW::default()
        },
    )?;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(settings.seed ^ 0x5ca4_0001);
    let mut order: Vec<usize> = (0..n).collect();
    let mut batch = Vec::with_capacity(2 * s.batch_size * dim);
    let batches = n.div_ceil(s.batch_size);
    let epochs = settings.epochs_for(n);
    let mut loss_history = Vec::with_capacity(epochs);
    let mut epoch_seconds = Vec::with_capacity(epochs);
    for epoch in 1..=epochs {
        let started = Instant::now();
        order.shuffle(&mut rng);
        let mut sum = 0f64;
        for (done, rows) in order.chunks(s.batch_size).enumerate() {
            batch.clear();
            for &i in rows {
                batch.extend_from_slice(&data.x[i * dim..(i + 1) * dim]);
            }
            for &i in rows {
                let j = data.neighbours[i * m + rng.gen_range(0..m)] as usize;
                batch.extend_from_slice(&data.x[j * dim..(j + 1) * dim]);
            }
            augment(&mut batch);
            let b = rows.len();
            let x = Tensor::from_slice(&batch, (2 * b, dim), device)?;
            let p = model.probabilities(&x)?;
            let (total, _, _) =
                batch_loss(&p.narrow(0, 0, b)?, &p.narrow(0, b, b)?, s.entropy_weight)?;
            optimiser.backward_step(&total)?;
            sum += f64::from(total.to_scalar::<f32>()?);
            progress(Event::Batch {
                epoch,
                epochs,
                done: done + 1,
                total: batches,
            });
        }
        let loss = sum / (batches * settings.scan.heads) as f64;
        if !loss.is_finite() {
            return Err(ScanError::InvalidData(format!(
                "the loss became {loss} in epoch {epoch}; try a smaller --learning-rate"
            )));
        }
        loss_history.push(loss);
        epoch_seconds.push(started.elapsed().as_secs_f64());
        progress(Event::Epoch {
            epoch,
            epochs,
            loss,
        });
    }
    progress(Event::Scoring);
    let probabilities = all_probabilities(&model, data.x, dim, device)?;
    let scores = score_heads(
        &probabilities,
        (settings.scan.heads, settings.k),
        data.neighbours,
        m,
        s.entropy_weight,
    );
    let (heads, k) = (settings.scan.heads, settings.k);
    let mut per_head: Vec<(Vec<usize>, Vec<f32>)> = (0..heads)
        .map(|h| head_clusters(&probabilities, (heads, k), h))
        .collect();
    let clusters: Vec<Vec<usize>> = per_head.iter().map(|(c, _)| c.clone()).collect();
    let agreement = agreement(&clusters, k);
    let head = choose(s.select, &scores, &agreement);
    let (train_clusters, train_confidence) = per_head.swap_remove(head);
    Ok(Trained {
        model,
        scores,
        agreement,
        head,
        train_clusters,
        train_confidence,
        loss_history,
        epoch_seconds,
    })
}

/// Probabilities `[n, heads, k]` of every row of `x`, in blocks.
fn all_probabilities(
    model: &ScanHeads,
    x: &[f32],
    dim: usize,
    device: &Device,
) -> Result<Vec<f32>> {
    let mut out = Vec::with_capacity(x.len() / dim * model.heads * model.k);
    for block in x.chunks(EVAL_ROWS * dim) {
        let t = Tensor::from_slice(block, (block.len() / dim, dim), device)?;
        out.extend(model.probabilities(&t)?.flatten_all()?.to_vec1::<f32>()?);
    }
    Ok(out)
}

/// The largest value's index (the first of ties) and the value.
fn argmax(q: &[f32]) -> (usize, f32) {
    let (c, &v) = q
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1).then(b.0.cmp(&a.0)))
        .expect("k >= 1");
    (c, v)
}

/// Every head's mean adjusted Rand index with the other heads (1 for a single head).
pub fn agreement(clusters: &[Vec<usize>], k: usize) -> Vec<f64> {
    let h = clusters.len();
    if h == 1 {
        return vec![1.0];
    }
    let mut sum = vec![0f64; h];
    for a in 0..h {
        for b in a + 1..h {
            let ari = adjusted_rand_index(&clusters[a], k, &clusters[b], k);
            sum[a] += ari;
            sum[b] += ari;
        }
    }
    sum.iter().map(|s| s / (h - 1) as f64).collect()
}

/// The head `select` keeps: the highest agreement (ties: lower loss) or the lowest loss.
pub fn choose(select: HeadSelection, scores: &[HeadScore], agreement: &[f64]) -> usize {
    let by_loss = |a: &usize, b: &usize| scores[*a].loss.total_cmp(&scores[*b].loss);
    let heads = 0..scores.len();
    match select {
        HeadSelection::Loss => heads.min_by(by_loss),
        HeadSelection::Agreement => {
            heads.max_by(|a, b| agreement[*a].total_cmp(&agreement[*b]).then(by_loss(b, a)))
        }
    }
    .expect("at least one head")
}

/// The cluster of every row of `x` under head `head` and its probability.
pub fn assign(
    model: &ScanHeads,
    head: usize,
    x: &[f32],
    dim: usize,
    device: &Device,
) -> Result<(Vec<usize>, Vec<f32>)> {
    let p = all_probabilities(model, x, dim, device)?;
    Ok(head_clusters(&p, (model.heads, model.k), head))
}

/// Head `head`'s cluster of every row of `probabilities` (`[n, heads, k]`) and its
/// probability.
pub fn head_clusters(
    probabilities: &[f32],
    (heads, k): (usize, usize),
    head: usize,
) -> (Vec<usize>, Vec<f32>) {
    probabilities
        .chunks_exact(heads * k)
        .map(|row| argmax(&row[head * k..(head + 1) * k]))
        .unzip()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn score(loss: f64) -> HeadScore {
        HeadScore {
            loss,
            consistency: 0.0,
            entropy: 0.0,
        }
    }

    #[test]
    fn the_consensus_head_is_the_one_the_others_agree_with() {
        // Heads 0 and 2 are the same partition under other names; head 1 splits
        // differently. Head 1 has the lowest loss, heads 0 and 2 the highest agreement.
        let clusters = vec![
            vec![0, 0, 1, 1, 2, 2],
            vec![0, 1, 0, 1, 0, 1],
            vec![2, 2, 0, 0, 1, 1],
        ];
        let agree = agreement(&clusters, 3);
        assert!(
            agree[0] > agree[1] && (agree[0] - agree[2]).abs() < 1e-12,
            "{agree:?}"
        );
        let scores = [score(-1.0), score(-3.0), score(-2.0)];
        assert_eq!(choose(HeadSelection::Loss, &scores, &agree), 1);
        // Ties in agreement go to the lower loss.
        assert_eq!(choose(HeadSelection::Agreement, &scores, &agree), 2);
        assert_eq!(agreement(&clusters[..1], 3), vec![1.0]);
    }

    #[test]
    fn small_training_sets_get_enough_epochs_for_the_minimum_steps() {
        let settings = |epochs, min_steps| Settings {
            k: 10,
            seed: 0,
            scan: ScanOptions {
                heads: 10,
                epochs,
                neighbours: 20,
                entropy_weight: 5.0,
                hidden: 512,
                batch_size: 512,
                learning_rate: 1e-3,
                weight_decay: 1e-4,
                shift: 2,
                select: HeadSelection::Agreement,
                min_steps,
            },
        };
        // Fashion-MNIST: 118 batches an epoch, 15 epochs are 1,770 steps: unchanged.
        assert_eq!(settings(15, 500).epochs_for(60_000), 15);
        // 10,000 images: 20 batches, 500 steps take 25 epochs.
        assert_eq!(settings(15, 500).epochs_for(10_000), 25);
        // 2,000 images: 4 batches; 240 images: one.
        assert_eq!(settings(15, 500).epochs_for(2_000), 125);
        assert_eq!(settings(15, 500).epochs_for(240), 500);
        assert_eq!(settings(15, 0).epochs_for(240), 15);
        assert_eq!(settings(15, 501).epochs_for(10_000), 26);
    }
}
