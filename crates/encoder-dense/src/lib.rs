//! The dense deep autoencoder of the reference study, trained with candle on the CPU
//! (or CUDA with the `cuda` feature), and the `train` / `encode` stages around it.
//!
//! - [`config`]: the model and training settings, saved as `config.json`.
//! - [`model`]: the network (dense layers, ReLU, sigmoid output) and its losses.
//! - [`augment`]: random whole-pixel shifts of training images (`--shift`; the
//!   `aeclust-augment` library, re-exported).
//! - [`backprop`]: the CPU training step written out by hand (forward, loss, backward
//!   over buffers allocated once).
//! - [`products`]: the step's matrix products and how they share the cores.
//! - [`optim`]: an in-place Adam/AdamW step (one fused pass per parameter).
//! - [`train`]: the training loop and the `model` artifact.
//! - [`encode`]: the `codes` artifact from a model and a dataset.
//! - `fused`: bias+ReLU and BCE-with-logits as single-pass CPU kernels (with backward).
//! - `product`: a dense layer's `x·Wᵀ` whose backward skips the data's gradient.
//! - [`runtime`]: the device choice and the settings every candle binary shares.

pub use aeclust_augment as augment;
pub mod backprop;
#[cfg(feature = "openblas")]
pub mod blas;
pub mod config;
pub mod encode;
mod error;
mod fused;
pub mod model;
pub mod optim;
mod product;
pub mod products;
pub mod runtime;
pub mod train;

pub use config::{Bottleneck, Loss, ModelConfig, OptimizerKind, TrainConfig};
pub use error::{EncoderError, Result};
pub use model::Autoencoder;
