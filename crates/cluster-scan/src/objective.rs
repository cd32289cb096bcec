//! SCAN's loss for each head: the consistency of a sample's and its neighbour's cluster
//! probabilities, `−ln(p_i · p_j)`, minus `weight` times the entropy of the mean cluster
//! probabilities (which is largest, ln k, when the clusters are balanced).

use candle_core::{Tensor, D};

/// Dot products below this count as this (the log stays finite).
pub const FLOOR: f32 = 1e-7;

/// The loss of every head on a batch: `anchors` and `neighbours` are the probabilities
/// `[b, heads, k]` of the samples and of one neighbour each. Returns the sum over the
/// heads (what is minimised) and the per-head consistency and entropy `[heads]`.
pub fn batch_loss(
    anchors: &Tensor,
    neighbours: &Tensor,
    weight: f64,
) -> candle_core::Result<(Tensor, Tensor, Tensor)> {
    let dots = (anchors * neighbours)?.sum(D::Minus1)?;
    let consistency = dots.clamp(FLOOR, 1.0)?.log()?.mean(0)?.neg()?;
    let mean = anchors.mean(0)?;
    let entropy = (&mean * mean.clamp(FLOOR, 1.0)?.log()?)?
        .sum(D::Minus1)?
        .neg()?;
    let total = (&consistency - (&entropy * weight)?)?.sum_all()?;
    Ok((total, consistency, entropy))
}

/// One head's loss over a whole split.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeadScore {
    /// `consistency − weight × entropy`.
    pub loss: f64,
    /// Mean `−ln(p_i · p_j)` over every sample and each of its neighbours.
    pub consistency: f64,
    /// Entropy of the mean cluster probabilities.
    pub entropy: f64,
}

/// Scores every head on `probabilities` (`[n, heads, k]`, row-major) against each
/// sample's `neighbours` (`[n, m]` indices into the same rows).
pub fn score_heads(
    probabilities: &[f32],
    (heads, k): (usize, usize),
    neighbours: &[u32],
    m: usize,
    weight: f64,
) -> Vec<HeadScore> {
    let n = probabilities.len() / (heads * k);
    let row = |i: usize, h: usize| &probabilities[(i * heads + h) * k..(i * heads + h + 1) * k];
    (0..heads)
        .map(|h| {
            let mut consistency = 0f64;
            let mut mean = vec![0f64; k];
            for i in 0..n {
                let p = row(i, h);
                for (s, &v) in mean.iter_mut().zip(p) {
                    *s += f64::from(v);
                }
                for &j in &neighbours[i * m..(i + 1) * m] {
                    let dot: f32 = p.iter().zip(row(j as usize, h)).map(|(a, b)| a * b).sum();
                    consistency -= f64::from(dot.clamp(FLOOR, 1.0)).ln();
                }
            }
            let consistency = consistency / (n * m).max(1) as f64;
            let entropy = -mean
                .iter()
                .map(|s| s / n.max(1) as f64)
                .filter(|&p| p > 0.0)
                .map(|p| p * p.ln())
                .sum::<f64>();
            HeadScore {
                loss: consistency - weight * entropy,
                consistency,
                entropy,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn agreeing_balanced_heads_score_best() {
        // Two heads over 4 samples, k = 2; each sample's neighbour is its partner.
        // Head 0: confident and consistent, balanced. Head 1: everything in cluster 0.
        let p = [
            [1.0, 0.0, 1.0, 0.0],
            [1.0, 0.0, 1.0, 0.0],
            [0.0, 1.0, 1.0, 0.0],
            [0.0, 1.0, 1.0, 0.0],
        ]
        .concat();
        let neighbours = [1u32, 0, 3, 2];
        let s = score_heads(&p, (2, 2), &neighbours, 1, 2.0);
        assert!(s[0].consistency.abs() < 1e-9, "{s:?}");
        assert!((s[0].entropy - 2f64.ln()).abs() < 1e-9);
        assert!(s[1].consistency.abs() < 1e-9 && s[1].entropy.abs() < 1e-9);
        assert!(s[0].loss < s[1].loss);
        // A neighbour in the other cluster costs −ln(FLOOR).
        let s = score_heads(&p, (2, 2), &[2, 0, 3, 2], 1, 0.0);
        let want = -f64::from(FLOOR).ln() / 4.0;
        assert!((s[0].consistency - want).abs() < 1e-6, "{s:?}");
    }

    #[test]
    fn batch_loss_matches_the_plain_scoring() {
        let dev = Device::Cpu;
        let a: Vec<f32> = vec![0.7, 0.3, 0.2, 0.8, 0.5, 0.5, 0.9, 0.1];
        let b: Vec<f32> = vec![0.6, 0.4, 0.1, 0.9, 0.3, 0.7, 0.2, 0.8];
        let ta = Tensor::from_vec(a.clone(), (2, 2, 2), &dev).unwrap();
        let tb = Tensor::from_vec(b.clone(), (2, 2, 2), &dev).unwrap();
        let (total, consistency, entropy) = batch_loss(&ta, &tb, 3.0).unwrap();
        let c = consistency.to_vec1::<f32>().unwrap();
        let e = entropy.to_vec1::<f32>().unwrap();
        // The same pairs scored by `score_heads`: rows 0, 1 are anchors, 2, 3 neighbours.
        let all = [a, b].concat();
        let s = score_heads(&all[..8], (2, 2), &[0, 1], 1, 3.0);
        let mut sum = 0.0;
        for h in 0..2 {
            let want_c: f64 = (0..2)
                .map(|i| {
                    let p = &all[(i * 2 + h) * 2..(i * 2 + h) * 2 + 2];
                    let q = &all[8 + (i * 2 + h) * 2..8 + (i * 2 + h) * 2 + 2];
                    -f64::from(p[0] * q[0] + p[1] * q[1]).ln()
                })
                .sum::<f64>()
                / 2.0;
            assert!((f64::from(c[h]) - want_c).abs() < 1e-5, "head {h}");
            assert!((f64::from(e[h]) - s[h].entropy).abs() < 1e-5, "head {h}");
            sum += want_c - 3.0 * s[h].entropy;
        }
        let total = f64::from(total.to_scalar::<f32>().unwrap());
        assert!((total - sum).abs() < 1e-4, "{total} vs {sum}");
    }
}
