//! EfficientNet-Lite (Tan & Le, 2019; the "Lite" variants of TensorFlow's model garden):
//! EfficientNet's inverted residual blocks without squeeze-excite, ReLU6 for swish, and a
//! stem and head that do not scale. The block table is data ([`Config`]); the weights are
//! read under lukemelas' EfficientNet-PyTorch key names (`_conv_stem`, `_bn0`,
//! `_blocks.N._expand_conv`, …, `_conv_head`, `_bn1`, `_fc`), every batch norm folded into
//! the convolution before it.

use crate::kernels::{self, Activation, Dense, Depthwise, Padded, Pointwise};
use crate::torch::{CheckpointError, StateDict};
use crate::{Network, Output};

/// One stage of the block table: `repeats` blocks, the first with `stride`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StageArgs {
    /// Expansion ratio of the hidden channels.
    pub expand: usize,
    /// Depthwise kernel side.
    pub kernel: usize,
    /// Stride of the stage's first block.
    pub stride: usize,
    /// Output channels.
    pub channels: usize,
    /// Blocks.
    pub repeats: usize,
}

/// The architecture: stem, block table, head, classes, batch-norm epsilon.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Stem output channels.
    pub stem: usize,
    /// The block table.
    pub stages: Vec<StageArgs>,
    /// Head channels: the pooled feature dimension.
    pub head: usize,
    /// Classifier outputs.
    pub classes: usize,
    /// Batch-norm epsilon.
    pub bn_eps: f32,
}

impl Config {
    /// EfficientNet-Lite0: B0's block table (width and depth 1.0).
    pub fn lite0() -> Self {
        let s = |expand, kernel, stride, channels, repeats| StageArgs {
            expand,
            kernel,
            stride,
            channels,
            repeats,
        };
        Config {
            stem: 32,
            stages: vec![
                s(1, 3, 1, 16, 1),
                s(6, 3, 2, 24, 2),
                s(6, 5, 2, 40, 2),
                s(6, 3, 2, 80, 3),
                s(6, 5, 1, 112, 3),
                s(6, 5, 2, 192, 4),
                s(6, 3, 1, 320, 1),
            ],
            head: 1280,
            classes: 1000,
            bn_eps: 1e-3,
        }
    }
}

/// One inverted residual block, batch norm folded.
#[derive(Debug, Clone)]
struct Block {
    expand: Option<Pointwise>,
    depthwise: Depthwise,
    project: Pointwise,
    residual: bool,
}

/// EfficientNet-Lite with its weights, ready to run.
#[derive(Debug, Clone)]
pub struct EfficientNetLite {
    stem: Dense,
    blocks: Vec<Block>,
    head: Pointwise,
    /// Classifier, [head, classes] (transposed from the checkpoint's [classes, head]).
    fc: Pointwise,
}

/// Per-thread buffers, kept between images.
#[derive(Debug, Default)]
pub struct Scratch {
    cols: Vec<f32>,
    padded: Padded,
    a: Vec<f32>,
    b: Vec<f32>,
    dw: Vec<f32>,
}

/// The scale and shift of a batch norm `prefix` (weight, bias, running mean and var).
fn batch_norm(
    sd: &StateDict,
    prefix: &str,
    c: usize,
    eps: f32,
) -> Result<(Vec<f32>, Vec<f32>), CheckpointError> {
    let gamma = sd.get(&format!("{prefix}.weight"), &[c])?;
    let beta = sd.get(&format!("{prefix}.bias"), &[c])?;
    let mean = sd.get(&format!("{prefix}.running_mean"), &[c])?;
    let var = sd.get(&format!("{prefix}.running_var"), &[c])?;
    let scale: Vec<f32> = gamma
        .iter()
        .zip(var)
        .map(|(&g, &v)| (f64::from(g) / (f64::from(v) + f64::from(eps)).sqrt()) as f32)
        .collect();
    let shift = beta
        .iter()
        .zip(mean)
        .zip(&scale)
        .map(|((&b, &m), &s)| b - m * s)
        .collect();
    Ok((scale, shift))
}

/// A 1×1 convolution `conv` ([cout, cin, 1, 1]) with batch norm `bn` folded in.
fn pointwise(
    sd: &StateDict,
    conv: &str,
    bn: &str,
    cin: usize,
    cout: usize,
    eps: f32,
) -> Result<Pointwise, CheckpointError> {
    let w = sd.get(&format!("{conv}.weight"), &[cout, cin, 1, 1])?;
    let (scale, bias) = batch_norm(sd, bn, cout, eps)?;
    let mut weight = vec![0f32; cin * cout];
    for o in 0..cout {
        for i in 0..cin {
            weight[i * cout + o] = w[o * cin + i] * scale[o];
        }
    }
    Ok(Pointwise {
        cin,
        cout,
        weight,
        bias,
    })
}

impl EfficientNetLite {
    /// The network of `config` with the weights of `sd`, every tensor checked for its
    /// name and shape.
    pub fn load(config: &Config, sd: &StateDict) -> Result<Self, CheckpointError> {
        let eps = config.bn_eps;
        let stem = {
            let (c, k) = (config.stem, 3);
            let w = sd.get("_conv_stem.weight", &[c, 3, k, k])?;
            let (scale, bias) = batch_norm(sd, "_bn0", c, eps)?;
            let rows = k * k * 3;
            let mut weight = vec![0f32; rows * c];
            for o in 0..c {
                for i in 0..3 {
                    for ky in 0..k {
                        for kx in 0..k {
                            let row = (ky * k + kx) * 3 + i;
                            weight[row * c + o] = w[((o * 3 + i) * k + ky) * k + kx] * scale[o];
                        }
                    }
                }
            }
            Dense {
                cin: 3,
                kernel: k,
                stride: 2,
                weight: Pointwise {
                    cin: rows,
                    cout: c,
                    weight,
                    bias,
                },
            }
        };
        let mut blocks = Vec::new();
        let mut cin = config.stem;
        for stage in &config.stages {
            for r in 0..stage.repeats {
                let p = format!("_blocks.{}", blocks.len());
                let hidden = cin * stage.expand;
                let expand = (stage.expand != 1)
                    .then(|| {
                        pointwise(
                            sd,
                            &format!("{p}._expand_conv"),
                            &format!("{p}._bn0"),
                            cin,
                            hidden,
                            eps,
                        )
                    })
                    .transpose()?;
                let k = stage.kernel;
                let w = sd.get(&format!("{p}._depthwise_conv.weight"), &[hidden, 1, k, k])?;
                let (scale, bias) = batch_norm(sd, &format!("{p}._bn1"), hidden, eps)?;
                let mut weight = vec![0f32; k * k * hidden];
                for ch in 0..hidden {
                    for t in 0..k * k {
                        weight[t * hidden + ch] = w[ch * k * k + t] * scale[ch];
                    }
                }
                let stride = if r == 0 { stage.stride } else { 1 };
                let project = pointwise(
                    sd,
                    &format!("{p}._project_conv"),
                    &format!("{p}._bn2"),
                    hidden,
                    stage.channels,
                    eps,
                )?;
                blocks.push(Block {
                    expand,
                    depthwise: Depthwise {
                        channels: hidden,
                        kernel: k,
                        stride,
                        weight,
                        bias,
                    },
                    project,
                    residual: stride == 1 && cin == stage.channels,
                });
                cin = stage.channels;
            }
        }
        let head = pointwise(sd, "_conv_head", "_bn1", cin, config.head, eps)?;
        let fc_w = sd.get("_fc.weight", &[config.classes, config.head])?;
        let fc_b = sd.get("_fc.bias", &[config.classes])?;
        let mut weight = vec![0f32; config.head * config.classes];
        for o in 0..config.classes {
            for i in 0..config.head {
                weight[i * config.classes + o] = fc_w[o * config.head + i];
            }
        }
        let fc = Pointwise {
            cin: config.head,
            cout: config.classes,
            weight,
            bias: fc_b.to_vec(),
        };
        let net = EfficientNetLite {
            stem,
            blocks,
            head,
            fc,
        };
        net.check_finite(sd)?;
        Ok(net)
    }

    fn check_finite(&self, sd: &StateDict) -> Result<(), CheckpointError> {
        let mut layers: Vec<&Pointwise> = vec![&self.stem.weight, &self.head, &self.fc];
        for b in &self.blocks {
            layers.extend(b.expand.iter());
            layers.push(&b.project);
        }
        let finite = layers
            .iter()
            .all(|l| l.weight.iter().chain(&l.bias).all(|v| v.is_finite()))
            && self.blocks.iter().all(|b| {
                b.depthwise
                    .weight
                    .iter()
                    .chain(&b.depthwise.bias)
                    .all(|v| v.is_finite())
            });
        if finite {
            Ok(())
        } else {
            Err(CheckpointError {
                path: sd.path.clone(),
                message: "weights hold NaN or infinite values (after folding batch norm)".into(),
            })
        }
    }
}

impl Network for EfficientNetLite {
    type Scratch = Scratch;

    fn feature_dim(&self) -> usize {
        self.head.cout
    }

    fn classes(&self) -> usize {
        self.fc.cout
    }

    fn forward(&self, image: &[f32], side: usize, s: &mut Scratch) -> Output {
        let (h, _) = kernels::same_padding(side, self.stem.kernel, self.stem.stride);
        let first = &self.blocks[0].depthwise;
        s.padded
            .reset_for(h, h, self.stem.weight.cout, first.kernel, first.stride);
        kernels::dense_into_padded(
            image,
            side,
            side,
            &self.stem,
            &mut s.cols,
            &mut s.a,
            &mut s.padded,
        );
        let mut cur = std::mem::take(&mut s.a);
        let mut side = h;
        for (i, block) in self.blocks.iter().enumerate() {
            if i > 0 {
                let dw = &block.depthwise;
                s.padded
                    .reset_for(side, side, dw.channels, dw.kernel, dw.stride);
                match &block.expand {
                    Some(expand) => {
                        kernels::pointwise_into_padded(&cur, expand, &mut s.b, &mut s.padded)
                    }
                    None => {
                        for y in 0..side {
                            let row = side * dw.channels;
                            s.padded
                                .row_mut(y)
                                .copy_from_slice(&cur[y * row..(y + 1) * row]);
                        }
                    }
                }
            }
            let (oh, _) = kernels::depthwise(&s.padded, &block.depthwise, &mut s.dw);
            let residual = block.residual.then_some(&cur[..]);
            kernels::pointwise(
                &s.dw,
                &block.project,
                Activation::Linear,
                residual,
                &mut s.b,
            );
            std::mem::swap(&mut cur, &mut s.b);
            side = oh;
        }
        kernels::pointwise(&cur, &self.head, Activation::Relu6, None, &mut s.b);
        s.a = cur;
        let features = kernels::mean_pool(&s.b, self.head.cout);
        let mut logits = Vec::new();
        kernels::pointwise(&features, &self.fc, Activation::Linear, None, &mut logits);
        Output { features, logits }
    }
}
