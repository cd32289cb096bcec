//! A SCAN (or self-labelled SCAN) clustering read back from its artifact, to assign new
//! images exactly as the fit assigned its own.

use aeclust_artifact::kinds::{ClusteringInfo, Features, MethodFit};
use aeclust_artifact::Artifact;
use candle_core::Device;

use crate::model::ScanHeads;
use crate::train::assign;
use crate::{Result, ScanError};

/// The network of a SCAN clustering and the head it kept.
pub struct ScanPredictor {
    model: ScanHeads,
    head: usize,
}

impl ScanPredictor {
    /// Reads the network of the SCAN clustering artifact `clustering` (its model file
    /// verified against the manifest).
    pub fn open(clustering: &Artifact) -> Result<Self> {
        let info: ClusteringInfo = clustering.info()?;
        // Self-labelling keeps one head, the SCAN head it started from.
        let head = match &info.result {
            MethodFit::Scan(scan) => scan.head,
            MethodFit::Selflabel(_) => 0,
            _ => {
                return Err(ScanError::InvalidData(format!(
                    "{}: not a SCAN clustering",
                    clustering.dir().display()
                )))
            }
        };
        let path = clustering.verified_path(ClusteringInfo::MODEL_FILE)?;
        let model = ScanHeads::read(&path, info.k, &Device::Cpu)?;
        if head >= model.heads {
            return Err(ScanError::InvalidData(format!(
                "{}: kept head {head} of {} heads",
                path.display(),
                model.heads
            )));
        }
        Ok(Self { model, head })
    }

    /// The kept head's cluster of every row of `features` and its probability.
    pub fn predict(&self, features: &Features) -> Result<(Vec<usize>, Vec<f32>)> {
        if features.dim != self.model.input_dim() {
            return Err(ScanError::InvalidData(format!(
                "{} feature dimensions, but the network takes {}",
                features.dim,
                self.model.input_dim()
            )));
        }
        if features.is_empty() {
            return Ok((Vec::new(), Vec::new()));
        }
        assign(
            &self.model,
            self.head,
            &features.values,
            features.dim,
            &Device::Cpu,
        )
    }
}
