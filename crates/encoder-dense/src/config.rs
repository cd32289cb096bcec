//! Model and training settings. `ModelConfig` is saved as `config.json` beside the
//! weights, so a model can be rebuilt from its artifact alone.

use serde::{Deserialize, Serialize};

use crate::{EncoderError, Result};

/// Reconstruction loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Loss {
    /// Mean per-pixel binary cross-entropy on the sigmoid output (the study's
    /// "categorical cross entropy"), computed from logits in a stable form.
    Bce,
    /// Mean squared error of the sigmoid output.
    Mse,
}

/// Activation of the innermost encoder layer (the bottleneck).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Bottleneck {
    /// ReLU, like every other hidden layer (the study's network).
    #[default]
    Relu,
    /// No activation: a linear code, as in DEC and N2D's 784-500-500-2000-10 network.
    Linear,
}

/// Optimiser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    /// Adam (Keras defaults: β = 0.9, 0.999, ε = 1e-7).
    Adam,
    /// Adam with decoupled weight decay.
    Adamw,
}

/// Everything needed to rebuild the network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelConfig {
    /// Image height of the training data.
    pub height: usize,
    /// Image width of the training data.
    pub width: usize,
    /// Channels per pixel of the training data (1 grey, 3 RGB).
    #[serde(default = "one_channel")]
    pub channels: usize,
    /// Encoder widths after the input, e.g. `[900, 480, 240, 120]`; the decoder mirrors
    /// them back to `height * width`.
    pub encoder_layers: Vec<usize>,
    /// Hidden activation (always `relu`); the output is `sigmoid`.
    pub hidden_activation: String,
    /// Activation of the innermost encoder layer; models written before this field
    /// existed read as `relu`.
    #[serde(default)]
    pub bottleneck: Bottleneck,
    /// Output activation.
    pub output_activation: String,
    /// Loss the model was trained with.
    pub loss: Loss,
    /// Default code layer for `encode`: the output of this encoder layer (1-based).
    pub code_layer: usize,
}

/// The study's encoder widths.
const STUDY_LAYERS: [usize; 4] = [900, 480, 240, 120];

fn one_channel() -> usize {
    1
}

impl ModelConfig {
    /// The study's model for `height`×`width` grey images: 900-480-240-120, codes from
    /// layer 3.
    pub fn paper(height: usize, width: usize) -> Self {
        Self {
            height,
            width,
            channels: 1,
            encoder_layers: STUDY_LAYERS.to_vec(),
            hidden_activation: "relu".into(),
            bottleneck: Bottleneck::Relu,
            output_activation: "sigmoid".into(),
            loss: Loss::Bce,
            code_layer: 3,
        }
    }

    /// Input size (pixels × channels).
    pub fn input_dim(&self) -> usize {
        self.height * self.width * self.channels
    }

    /// The input shape as people write it: `28x28` or `32x32x3`.
    pub fn input_shape(&self) -> String {
        if self.channels == 1 {
            format!("{}x{}", self.height, self.width)
        } else {
            format!("{}x{}x{}", self.height, self.width, self.channels)
        }
    }

    /// (in, out) of every dense layer, encoder then decoder.
    pub fn layer_shapes(&self) -> Vec<(usize, usize)> {
        let mut widths = vec![self.input_dim()];
        widths.extend(&self.encoder_layers);
        let mut mirror: Vec<usize> = self.encoder_layers.iter().rev().skip(1).copied().collect();
        mirror.push(self.input_dim());
        widths.extend(mirror);
        widths.windows(2).map(|w| (w[0], w[1])).collect()
    }

    /// The encoder as reports name its codes: `dense-autoencoder` for the study's widths
    /// (900-480-240-120), else with the network's widths, e.g.
    /// `dense-autoencoder 784-500-500-2000-10`, so two networks' routes stay apart.
    pub fn encoder_name(&self) -> String {
        if self.encoder_layers == STUDY_LAYERS {
            return crate::train::ENCODER_NAME.to_string();
        }
        let widths: Vec<String> = std::iter::once(self.input_dim())
            .chain(self.encoder_layers.iter().copied())
            .map(|w| w.to_string())
            .collect();
        format!("{} {}", crate::train::ENCODER_NAME, widths.join("-"))
    }

    /// Whether dense layer `index` (0-based over encoder then decoder) ends in a ReLU:
    /// all but the output layer, and the bottleneck unless it is linear.
    pub fn has_relu(&self, index: usize) -> bool {
        let last = self.encoder_layers.len() * 2 - 1;
        let bottleneck = self.encoder_layers.len() - 1;
        index != last && !(index == bottleneck && self.bottleneck == Bottleneck::Linear)
    }

    /// Trainable parameters (weights and biases of every layer).
    pub fn parameters(&self) -> usize {
        self.layer_shapes().iter().map(|(i, o)| i * o + o).sum()
    }

    /// Checks the settings.
    pub fn validate(&self) -> Result<()> {
        if self.input_dim() == 0 {
            return Err(EncoderError::InvalidParams("images have 0 pixels".into()));
        }
        if self.encoder_layers.is_empty() || self.encoder_layers.contains(&0) {
            return Err(EncoderError::InvalidParams(format!(
                "--layers {:?}: need at least one layer, each at least 1 wide",
                self.encoder_layers
            )));
        }
        self.check_layer(self.code_layer)
            .map_err(|e| EncoderError::InvalidParams(format!("--code-layer: {e}")))
    }

    /// Checks that encoder layer `layer` (1-based) exists; the error says why not, for
    /// the caller to prefix with the option it came from.
    pub fn check_layer(&self, layer: usize) -> std::result::Result<(), String> {
        if layer == 0 || layer > self.encoder_layers.len() {
            return Err(format!(
                "layer {layer} does not exist: the encoder has layers 1..={} (widths {:?})",
                self.encoder_layers.len(),
                self.encoder_layers
            ));
        }
        Ok(())
    }
}

/// Training settings (all enter the cache key).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Passes over the training data.
    pub epochs: usize,
    /// Samples per step.
    pub batch_size: usize,
    /// Learning rate.
    pub lr: f64,
    /// Seed of the weight initialisation, the validation split and the shuffles.
    pub seed: u64,
    /// Fraction of the training split held out for validation.
    pub val_split: f64,
    /// Optimiser.
    pub optimizer: OptimizerKind,
    /// Decoupled weight decay; AdamW only. `None`: the optimiser's default
    /// ([`TrainConfig::weight_decay`]).
    pub weight_decay: Option<f64>,
    /// Augmentation: every training image moved by a random translation of up to this
    /// many pixels each way, input and target alike (DEC-DA); 0 = none. Left out of the
    /// cache key when 0, so models trained before it existed are still reused.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub shift: usize,
}

fn is_zero(v: &usize) -> bool {
    *v == 0
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            epochs: 20,
            batch_size: 256,
            lr: 1e-3,
            seed: 72,
            val_split: 0.1,
            optimizer: OptimizerKind::Adam,
            weight_decay: None,
            shift: 0,
        }
    }
}

impl TrainConfig {
    /// AdamW's weight decay when none is given (PyTorch's and Keras's default).
    pub const DEFAULT_ADAMW_WEIGHT_DECAY: f64 = 1e-2;

    /// The weight decay the optimiser applies: none for Adam; for AdamW the one given,
    /// else [`TrainConfig::DEFAULT_ADAMW_WEIGHT_DECAY`].
    pub fn weight_decay(&self) -> f64 {
        match self.optimizer {
            OptimizerKind::Adam => 0.0,
            OptimizerKind::Adamw => self
                .weight_decay
                .unwrap_or(Self::DEFAULT_ADAMW_WEIGHT_DECAY),
        }
    }

    /// Checks the settings.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(EncoderError::InvalidParams(m));
        if self.epochs == 0 {
            return bad("--epochs must be at least 1".into());
        }
        if self.batch_size == 0 {
            return bad("--batch-size must be at least 1".into());
        }
        if !self.lr.is_finite() || self.lr <= 0.0 {
            return bad(format!("--lr must be a positive number, got {}", self.lr));
        }
        if !(0.0..1.0).contains(&self.val_split) {
            return bad(format!(
                "--val-split must be in [0, 1), got {}",
                self.val_split
            ));
        }
        if let Some(wd) = self.weight_decay {
            if self.optimizer == OptimizerKind::Adam {
                return bad("--weight-decay applies to --optimizer adamw only".into());
            }
            if !wd.is_finite() || wd < 0.0 {
                return bad(format!("--weight-decay must be >= 0, got {wd}"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paper_layers_mirror() {
        let c = ModelConfig::paper(28, 28);
        assert_eq!(
            c.layer_shapes(),
            vec![
                (784, 900),
                (900, 480),
                (480, 240),
                (240, 120),
                (120, 240),
                (240, 480),
                (480, 900),
                (900, 784)
            ]
        );
        assert_eq!(c.parameters(), 2_567_344, "the study's parameter count");
        assert!(c.check_layer(4).is_ok());
        for bad in [0, 5] {
            let err = c.check_layer(bad).unwrap_err().to_string();
            assert!(
                err.contains(&format!("layer {bad} does not exist")),
                "{err}"
            );
        }
    }

    #[test]
    fn only_the_output_and_a_linear_bottleneck_skip_relu() {
        let mut c = ModelConfig::paper(28, 28);
        let relu: Vec<bool> = (0..8).map(|i| c.has_relu(i)).collect();
        assert_eq!(relu, [true, true, true, true, true, true, true, false]);
        assert_eq!(c.encoder_name(), "dense-autoencoder");
        c.bottleneck = Bottleneck::Linear;
        let relu: Vec<bool> = (0..8).map(|i| c.has_relu(i)).collect();
        assert_eq!(relu, [true, true, true, false, true, true, true, false]);
        // A config.json written before the field existed reads as the study's network.
        let mut json = serde_json::to_value(ModelConfig::paper(28, 28)).unwrap();
        json.as_object_mut().unwrap().remove("bottleneck");
        let old: ModelConfig = serde_json::from_value(json).unwrap();
        assert_eq!(old.bottleneck, Bottleneck::Relu);
        let n2d = ModelConfig {
            encoder_layers: vec![500, 500, 2000, 10],
            ..c
        };
        assert_eq!(n2d.encoder_name(), "dense-autoencoder 784-500-500-2000-10");
    }

    #[test]
    fn weight_decay_has_one_rule() {
        let adam = TrainConfig::default();
        assert_eq!(adam.weight_decay(), 0.0);
        let adamw = TrainConfig {
            optimizer: OptimizerKind::Adamw,
            ..TrainConfig::default()
        };
        assert_eq!(
            adamw.weight_decay(),
            TrainConfig::DEFAULT_ADAMW_WEIGHT_DECAY
        );
        let given = TrainConfig {
            weight_decay: Some(0.5),
            ..adamw.clone()
        };
        assert_eq!(given.weight_decay(), 0.5);
        given.validate().unwrap();
        let misplaced = TrainConfig {
            weight_decay: Some(0.5),
            ..TrainConfig::default()
        };
        let err = misplaced.validate().unwrap_err().to_string();
        assert!(err.contains("adamw only"), "{err}");
    }
}
