//! The network: dense layers with ReLU (the bottleneck optionally linear), a sigmoid
//! output, and the losses.

use std::path::Path;

use aeclust_artifact::{TensorFile, TensorWriter};
use candle_core::{DType, Device, Tensor, Var};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

use crate::{EncoderError, Loss, ModelConfig, Result};

/// One dense layer: `y = x·Wᵀ + b` with `W` [out, in].
#[derive(Debug)]
struct Dense {
    name: String,
    weight: Var,
    bias: Var,
}

impl Dense {
    /// `x·Wᵀ`: one op on the CPU (OpenBLAS when built with `openblas`, else candle's
    /// matmul) whose backward skips `dx` for the data.
    fn product(&self, x: &Tensor) -> Result<Tensor> {
        if x.device().is_cpu() {
            return Ok(x
                .contiguous()?
                .apply_op2(self.weight.as_tensor(), crate::product::LinearProduct)?);
        }
        Ok(x.matmul(&self.weight.as_tensor().t()?)?)
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(self.product(x)?.broadcast_add(self.bias.as_tensor())?)
    }

    /// `relu(x·Wᵀ + b)`, fused into one pass (and one in the backward) on the CPU.
    fn forward_relu(&self, x: &Tensor) -> Result<Tensor> {
        let y = self.product(x)?;
        if y.device().is_cpu() {
            Ok(y.apply_op2(self.bias.as_tensor(), crate::fused::BiasRelu)?)
        } else {
            Ok(y.broadcast_add(self.bias.as_tensor())?.relu()?)
        }
    }
}

/// The dense autoencoder: `encoder.0..` then `decoder.0..`.
#[derive(Debug)]
pub struct Autoencoder {
    config: ModelConfig,
    layers: Vec<Dense>,
    device: Device,
}

fn layer_names(config: &ModelConfig) -> Vec<String> {
    let n_enc = config.encoder_layers.len();
    (0..config.layer_shapes().len())
        .map(|i| {
            if i < n_enc {
                format!("encoder.{i}")
            } else {
                format!("decoder.{}", i - n_enc)
            }
        })
        .collect()
}

impl Autoencoder {
    /// A freshly initialised network: Glorot-uniform weights (Keras' default) drawn from
    /// a seeded generator, zero biases.
    pub fn init(config: &ModelConfig, seed: u64, device: &Device) -> Result<Self> {
        config.validate()?;
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let layers = config
            .layer_shapes()
            .into_iter()
            .zip(layer_names(config))
            .map(|((fan_in, fan_out), name)| {
                let limit = (6.0 / (fan_in + fan_out) as f64).sqrt() as f32;
                let w: Vec<f32> = (0..fan_in * fan_out)
                    .map(|_| rng.gen_range(-limit..limit))
                    .collect();
                Ok(Dense {
                    name,
                    weight: Var::from_vec(w, (fan_out, fan_in), device)?,
                    bias: Var::zeros(fan_out, DType::F32, device)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            config: config.clone(),
            layers,
            device: device.clone(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// The device the weights live on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Trainable variables, layer by layer (weight, bias).
    pub fn vars(&self) -> Vec<&Var> {
        self.layers
            .iter()
            .flat_map(|l| [&l.weight, &l.bias])
            .collect()
    }

    /// Output logits (before the sigmoid) for a batch [B, D].
    pub fn forward_logits(&self, x: &Tensor) -> Result<Tensor> {
        self.forward_through(x, self.layers.len())
    }

    /// The output of the first `n` layers, each with its activation.
    fn forward_through(&self, x: &Tensor, n: usize) -> Result<Tensor> {
        let mut h = x.clone();
        for (i, layer) in self.layers[..n].iter().enumerate() {
            h = if self.config.has_relu(i) {
                layer.forward_relu(&h)?
            } else {
                layer.forward(&h)?
            };
        }
        Ok(h)
    }

    /// Reconstructions in [0, 1] for a batch.
    pub fn reconstruct(&self, x: &Tensor) -> Result<Tensor> {
        Ok(candle_nn::ops::sigmoid(&self.forward_logits(x)?)?)
    }

    /// The output of encoder layer `layer` (1-based, after its activation) for a batch.
    pub fn encode(&self, x: &Tensor, layer: usize) -> Result<Tensor> {
        self.config
            .check_layer(layer)
            .map_err(EncoderError::InvalidParams)?;
        self.forward_through(x, layer)
    }

    /// Mean per-element loss of reconstructing `x` (targets = inputs).
    pub fn loss(&self, x: &Tensor) -> Result<Tensor> {
        let logits = self.forward_logits(x)?;
        match self.config.loss {
            Loss::Bce if logits.device().is_cpu() => {
                Ok(logits.apply_op2(x, crate::fused::BceWithLogits)?)
            }
            Loss::Bce => bce_with_logits(&logits, x),
            Loss::Mse => Ok(candle_nn::ops::sigmoid(&logits)?
                .sub(x)?
                .sqr()?
                .mean_all()?),
        }
    }

    /// Writes the weights (names `encoder.0.weight`, `encoder.0.bias`, ...).
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut writer = TensorWriter::new();
        for l in &self.layers {
            let w = l.weight.as_tensor();
            let (out, inp) = w.dims2()?;
            writer.add(
                &format!("{}.weight", l.name),
                &[out, inp],
                &w.flatten_all()?.to_vec1::<f32>()?,
            );
            writer.add(
                &format!("{}.bias", l.name),
                &[out],
                &l.bias.as_tensor().to_vec1::<f32>()?,
            );
        }
        writer.write(path)?;
        Ok(())
    }

    /// Loads weights written by [`Autoencoder::save`] for `config`, checking every shape.
    pub fn load(config: &ModelConfig, path: &Path, device: &Device) -> Result<Self> {
        config.validate()?;
        let file = TensorFile::open(path)?;
        let layers = config
            .layer_shapes()
            .into_iter()
            .zip(layer_names(config))
            .map(|((fan_in, fan_out), name)| {
                let read = |suffix: &str, shape: Vec<usize>| -> Result<Var> {
                    let tname = format!("{name}.{suffix}");
                    let t = file.read::<f32>(&tname, Some(shape.len()))?;
                    if t.shape != shape {
                        return Err(aeclust_artifact::ArtifactError::Tensor {
                            path: path.to_path_buf(),
                            name: tname,
                            message: format!("shape {:?}, config.json says {shape:?}", t.shape),
                        }
                        .into());
                    }
                    Ok(Var::from_vec(t.data, shape, device)?)
                };
                Ok(Dense {
                    weight: read("weight", vec![fan_out, fan_in])?,
                    bias: read("bias", vec![fan_out])?,
                    name,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            config: config.clone(),
            layers,
            device: device.clone(),
        })
    }
}

/// Mean binary cross-entropy of `sigmoid(logits)` against `targets`, in the stable form
/// `max(z, 0) − z·t + log(1 + e^{−|z|})` (candle's own version returns NaN when logits
/// saturate).
pub fn bce_with_logits(logits: &Tensor, targets: &Tensor) -> Result<Tensor> {
    let softplus_neg_abs = logits.abs()?.neg()?.exp()?.affine(1.0, 1.0)?.log()?;
    Ok(logits
        .relu()?
        .sub(&logits.mul(targets)?)?
        .add(&softplus_neg_abs)?
        .mean_all()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bce_is_stable_and_correct() {
        let dev = Device::Cpu;
        let z = Tensor::new(&[0.0f32, 2.0, -3.0, 120.0, -120.0], &dev).unwrap();
        let t = Tensor::new(&[1.0f32, 0.0, 0.25, 1.0, 0.0], &dev).unwrap();
        let got = bce_with_logits(&z, &t).unwrap().to_scalar::<f32>().unwrap();
        // Direct formula in f64 for the unsaturated entries; saturated ones contribute ~0.
        let direct = |z: f64, t: f64| {
            let p = 1.0 / (1.0 + (-z).exp());
            -(t * p.ln() + (1.0 - t) * (1.0 - p).ln())
        };
        let expected = (direct(0.0, 1.0) + direct(2.0, 0.0) + direct(-3.0, 0.25)) / 5.0;
        assert!(
            (f64::from(got) - expected).abs() < 1e-5,
            "{got} vs {expected}"
        );
    }
}
