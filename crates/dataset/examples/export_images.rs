//! Writes a dataset artifact's images as PNG files in class folders
//! (`OUT/train/CLASS/NNNNN.png`, `OUT/test/CLASS/NNNNN.png`), e.g. to time
//! `aeclust-dataset --images` on the real Fashion-MNIST:
//!
//! ```text
//! cargo run --release -p aeclust-dataset --example export_images -- artifacts/dataset /tmp/fashion-png
//! ```

use std::path::PathBuf;

use aeclust_artifact::kinds::{DatasetInfo, ImageSplit, Split};
use aeclust_artifact::Artifact;
use anyhow::{bail, Context, Result};
use image::{GrayImage, RgbImage};
use rayon::prelude::*;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dataset, out] = &args[..] else {
        bail!("usage: export_images DATASET_ARTIFACT OUT_DIR");
    };
    let (artifact, info) = Artifact::open_as::<DatasetInfo>(&PathBuf::from(dataset))?;
    let class_name = |l: u8| {
        info.classes
            .iter()
            .find(|c| c.label == l)
            .map_or(l.to_string(), |c| c.name.replace('/', "-"))
    };
    for split in Split::ALL {
        let s = ImageSplit::read(&artifact.path(split.file_name())?)?;
        let labels = s.labels.clone();
        (0..s.len())
            .into_par_iter()
            .try_for_each(|i| -> Result<()> {
                let class = labels.as_ref().map_or("all".into(), |l| class_name(l[i]));
                let dir = PathBuf::from(out).join(split.name()).join(class);
                std::fs::create_dir_all(&dir)?;
                let path = dir.join(format!("{i:05}.png"));
                let (w, h) = (s.width as u32, s.height as u32);
                let px = s.image(i).to_vec();
                match s.channels {
                    1 => GrayImage::from_raw(w, h, px)
                        .context("shape")?
                        .save(&path)?,
                    _ => RgbImage::from_raw(w, h, px).context("shape")?.save(&path)?,
                }
                Ok(())
            })?;
        println!("{split}: {} PNG files under {out}/{split}", s.len());
    }
    Ok(())
}
