//! The network: standardised input → hidden (ReLU) → `heads × k` logits, a softmax per
//! head.

use aeclust_artifact::{TensorFile, TensorWriter};
use candle_core::{DType, Device, Tensor, Var};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

/// Columns whose standard deviation is below this are scaled by it instead (a pixel
/// that is almost always 0 would otherwise blow up where it is not).
pub const MIN_SCALE: f32 = 1e-2;

/// A shared hidden layer and `heads` clustering heads of `k` clusters each.
#[derive(Debug)]
pub struct ScanHeads {
    /// `[input]`: subtracted from every row (the train split's column means).
    pub input_mean: Tensor,
    /// `[input]`: then divided by (the train split's column standard deviations).
    pub input_scale: Tensor,
    /// `[hidden, input]`.
    pub trunk_weight: Var,
    /// `[hidden]`.
    pub trunk_bias: Var,
    /// `[heads * k, hidden]`: head `h` is rows `h * k .. (h + 1) * k`.
    pub head_weight: Var,
    /// `[heads * k]`.
    pub head_bias: Var,
    /// Number of heads.
    pub heads: usize,
    /// Clusters per head.
    pub k: usize,
}

/// `rows × cols` values uniform in ±`bound`.
fn uniform(rng: &mut Xoshiro256PlusPlus, rows: usize, cols: usize, bound: f32) -> Vec<f32> {
    (0..rows * cols)
        .map(|_| rng.gen_range(-bound..=bound))
        .collect()
}

/// Column means and standard deviations (at least [`MIN_SCALE`]) of `x` (`n × dim`).
pub fn standardisation(x: &[f32], dim: usize) -> (Vec<f32>, Vec<f32>) {
    let n = (x.len() / dim.max(1)).max(1) as f64;
    let mut sum = vec![0f64; dim];
    let mut sq = vec![0f64; dim];
    for row in x.chunks_exact(dim) {
        for ((s, q), &v) in sum.iter_mut().zip(&mut sq).zip(row) {
            *s += f64::from(v);
            *q += f64::from(v) * f64::from(v);
        }
    }
    let mean: Vec<f32> = sum.iter().map(|s| (s / n) as f32).collect();
    let scale = sum
        .iter()
        .zip(&sq)
        .map(|(s, q)| {
            let m = s / n;
            ((q / n - m * m).max(0.0).sqrt() as f32).max(MIN_SCALE)
        })
        .collect();
    (mean, scale)
}

impl ScanHeads {
    /// A new network for inputs standardised by `(mean, scale)`, with He-uniform trunk
    /// weights and heads of variance 1/hidden, biases 0, drawn from `seed`.
    pub fn new(
        (mean, scale): (Vec<f32>, Vec<f32>),
        hidden: usize,
        heads: usize,
        k: usize,
        seed: u64,
        device: &Device,
    ) -> candle_core::Result<Self> {
        let input = mean.len();
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let w1 = uniform(&mut rng, hidden, input, (6.0 / input as f32).sqrt());
        let w2 = uniform(&mut rng, heads * k, hidden, (3.0 / hidden as f32).sqrt());
        Ok(Self {
            input_mean: Tensor::from_vec(mean, input, device)?,
            input_scale: Tensor::from_vec(scale, input, device)?,
            trunk_weight: Var::from_tensor(&Tensor::from_vec(w1, (hidden, input), device)?)?,
            trunk_bias: Var::zeros(hidden, DType::F32, device)?,
            head_weight: Var::from_tensor(&Tensor::from_vec(w2, (heads * k, hidden), device)?)?,
            head_bias: Var::zeros(heads * k, DType::F32, device)?,
            heads,
            k,
        })
    }

    /// The trainable tensors.
    pub fn vars(&self) -> Vec<Var> {
        vec![
            self.trunk_weight.clone(),
            self.trunk_bias.clone(),
            self.head_weight.clone(),
            self.head_bias.clone(),
        ]
    }

    /// Logits `[n, heads, k]` of the rows of `x` (`[n, input]`).
    pub fn logits(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let h = x
            .broadcast_sub(&self.input_mean)?
            .broadcast_div(&self.input_scale)?
            .matmul(&self.trunk_weight.t()?)?
            .broadcast_add(&self.trunk_bias)?
            .relu()?;
        let logits = h
            .matmul(&self.head_weight.t()?)?
            .broadcast_add(&self.head_bias)?;
        logits.reshape((x.dim(0)?, self.heads, self.k))
    }

    /// Cluster probabilities `[n, heads, k]` of the rows of `x` (`[n, input]`).
    pub fn probabilities(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        // `softmax_last_dim` is a fused op without a backward pass; this one has one.
        candle_nn::ops::softmax(&self.logits(x)?, candle_core::D::Minus1)
    }

    /// A network of its own (new variables, copied values) with the trunk and only head
    /// `head`: what self-labelling trains further.
    pub fn single_head(&self, head: usize) -> candle_core::Result<Self> {
        let (weight, bias) = self.head(head)?;
        let copy = |t: &Tensor| Var::from_tensor(&t.copy()?);
        Ok(Self {
            input_mean: self.input_mean.copy()?,
            input_scale: self.input_scale.copy()?,
            trunk_weight: copy(self.trunk_weight.as_tensor())?,
            trunk_bias: copy(self.trunk_bias.as_tensor())?,
            head_weight: copy(&weight)?,
            head_bias: copy(&bias)?,
            heads: 1,
            k: self.k,
        })
    }

    /// The rows of head `h`'s weight and bias, for saving the kept head.
    pub fn head(&self, h: usize) -> candle_core::Result<(Tensor, Tensor)> {
        Ok((
            self.head_weight.narrow(0, h * self.k, self.k)?,
            self.head_bias.narrow(0, h * self.k, self.k)?,
        ))
    }
}

impl ScanHeads {
    /// The network's tensors as a clustering's `model.safetensors` holds them: the input
    /// standardisation, the trunk, the kept head `head` and every head.
    pub fn tensors(&self, head: usize) -> crate::Result<TensorWriter> {
        let values = |t: &Tensor| -> crate::Result<Vec<f32>> { Ok(t.flatten_all()?.to_vec1()?) };
        let (hidden, input) = self.trunk_weight.dims2()?;
        let (k, heads) = (self.k, self.heads);
        let (head_weight, head_bias) = self.head(head)?;
        let mut writer = TensorWriter::new();
        writer
            .add("input.mean", &[input], &values(&self.input_mean)?)
            .add("input.scale", &[input], &values(&self.input_scale)?)
            .add(
                "trunk.weight",
                &[hidden, input],
                &values(self.trunk_weight.as_tensor())?,
            )
            .add(
                "trunk.bias",
                &[hidden],
                &values(self.trunk_bias.as_tensor())?,
            )
            .add("head.weight", &[k, hidden], &values(&head_weight)?)
            .add("head.bias", &[k], &values(&head_bias)?)
            .add(
                "heads.weight",
                &[heads * k, hidden],
                &values(self.head_weight.as_tensor())?,
            )
            .add(
                "heads.bias",
                &[heads * k],
                &values(self.head_bias.as_tensor())?,
            );
        Ok(writer)
    }

    /// Reads a network written by [`ScanHeads::tensors`] with `k` clusters per head.
    pub fn read(path: &std::path::Path, k: usize, device: &Device) -> crate::Result<Self> {
        let file = TensorFile::open(path)?;
        let tensor = |name: &str, rank: usize| -> crate::Result<Tensor> {
            let t = file.read::<f32>(name, Some(rank))?;
            Ok(Tensor::from_vec(t.data, t.shape, device)?)
        };
        let head_weight = tensor("heads.weight", 2)?;
        let (rows, hidden) = head_weight.dims2()?;
        let trunk_weight = tensor("trunk.weight", 2)?;
        let (trunk_hidden, input) = trunk_weight.dims2()?;
        let input_mean = tensor("input.mean", 1)?;
        if k == 0 || rows % k != 0 || hidden != trunk_hidden || input_mean.dims1()? != input {
            return Err(crate::ScanError::InvalidData(format!(
                "{}: heads [{rows}, {hidden}] and trunk [{trunk_hidden}, {input}] do not make a network of heads of {k} clusters",
                path.display()
            )));
        }
        Ok(Self {
            input_mean,
            input_scale: tensor("input.scale", 1)?,
            trunk_weight: Var::from_tensor(&trunk_weight)?,
            trunk_bias: Var::from_tensor(&tensor("trunk.bias", 1)?)?,
            head_weight: Var::from_tensor(&head_weight)?,
            head_bias: Var::from_tensor(&tensor("heads.bias", 1)?)?,
            heads: rows / k,
            k,
        })
    }

    /// Number of input columns.
    pub fn input_dim(&self) -> usize {
        self.input_mean.dims().first().copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standardisation_uses_column_moments_with_a_floor() {
        // Column 0: 1, 3 (mean 2, sd 1); column 1: constant 4 (sd 0 → the floor).
        let (mean, scale) = standardisation(&[1.0, 4.0, 3.0, 4.0], 2);
        assert_eq!(mean, vec![2.0, 4.0]);
        assert_eq!(scale, vec![1.0, MIN_SCALE]);
    }

    #[test]
    fn probabilities_are_distributions_per_head() {
        let dev = Device::Cpu;
        let model = ScanHeads::new((vec![0.5; 3], vec![0.25; 3]), 8, 4, 5, 1, &dev).unwrap();
        let x = Tensor::from_vec(vec![0.0f32, 1.0, 0.5, 0.2, 0.9, 0.1], (2, 3), &dev).unwrap();
        let p = model.probabilities(&x).unwrap();
        assert_eq!(p.dims(), &[2, 4, 5]);
        for row in p.flatten_all().unwrap().to_vec1::<f32>().unwrap().chunks(5) {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5);
            assert!(row.iter().all(|&v| v > 0.0));
        }
    }
}
