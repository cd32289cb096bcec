//! A study (issue 34): SCAN on the pixels (or a codes artifact) with a neighbour list made
//! elsewhere — `scripts/experiments/scan_neighbours.py lists`: two representations'
//! agreed neighbours, walks on the k-NN graph, oracles that read the labels — instead of
//! one artifact's k-NN. NEIGHBOURS is a raw little-endian `u32` file of `train rows × M`
//! indices (each row's neighbours, itself excluded); SCAN draws one of the M for every
//! row at every step, so an index written twice is drawn twice as often. The stage's
//! default settings (pixels shifted by up to 2, codes not at all; HIDDEN units, 512 by
//! default). Prints the kept head's train and test accuracy and NMI and every head's
//! test accuracy (labels only to score), and writes the test clusters to OUT (a `u8` per
//! test image) when given.
//!
//! `--augment NAME` varies the anchors and their neighbours otherwise (images only):
//! `shift` (the stage's), `flip` (shift and mirror), `strong` (self-labelling's strong
//! augmentations), `crop` (a random resized crop of 0.6..1 of the area, mirrored),
//! `crop-strong` (that crop, then contrast, erasing and noise); `--epochs N` trains
//! longer (15 by default).
//!
//! `cargo run --release -p aeclust-cluster-scan --example scan_neighbour_list --
//! DATASET_OR_CODES_DIR NEIGHBOURS.u32 M [SEED] [HIDDEN] [OUT] [--augment NAME] [--epochs N]`

use std::path::PathBuf;

mod study;

use aeclust_artifact::kinds::{Features, HeadSelection, ScanOptions, Split};
use aeclust_artifact::Artifact;
use aeclust_augment::{shift_images, strong_images, Strong};
use aeclust_cluster_scan::stage::image_shape;
use aeclust_cluster_scan::train::{assign, fit_augmented, Event, Settings, TrainingData};
use candle_core::Device;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use study::{read_neighbours, resized_crop};

/// The smallest share of the area `crop` keeps.
const CROP_SCALE: f32 = 0.6;

/// Self-labelling's strong augmentations.
const STRONG: Strong = Strong {
    shift: 2,
    flip: true,
    erase: 0.25,
    contrast: 0.4,
    noise: 0.05,
};

/// What `--augment` does to both images of every pair.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Augment {
    /// The stage's shift of up to 2.
    Shift,
    /// `strong_images` with these settings.
    Strong(Strong),
    /// A random resized crop, then these settings.
    Crop(Strong),
}

impl Augment {
    fn parse(name: &str) -> anyhow::Result<Self> {
        let nothing = Strong {
            shift: 0,
            flip: false,
            erase: 0.0,
            contrast: 0.0,
            noise: 0.0,
        };
        Ok(match name {
            "shift" => Self::Shift,
            "flip" => Self::Strong(Strong {
                shift: 2,
                flip: true,
                ..nothing
            }),
            "strong" => Self::Strong(STRONG),
            "crop" => Self::Crop(nothing),
            "crop-strong" => Self::Crop(Strong {
                shift: 0,
                flip: false,
                ..STRONG
            }),
            _ => anyhow::bail!("--augment {name}: one of shift, flip, strong, crop, crop-strong"),
        })
    }

    /// Applies it to every image of `batch`.
    fn apply(
        self,
        batch: &mut [f32],
        shape: (usize, usize, usize),
        rng: &mut Xoshiro256PlusPlus,
        scratch: &mut Vec<f32>,
    ) {
        match self {
            Self::Shift => shift_images(batch, shape, 2, rng, scratch),
            Self::Strong(strong) => strong_images(batch, shape, &strong, rng, scratch),
            Self::Crop(then) => {
                scratch.resize(784, 0.0);
                for row in batch.chunks_exact_mut(784) {
                    resized_crop(row, scratch, CROP_SCALE, rng);
                    row.copy_from_slice(scratch);
                }
                strong_images(batch, shape, &then, rng, scratch)
            }
        }
    }
}

/// `--name value` options as `(name, value)`.
type Options = Vec<(String, String)>;

/// Splits `--name value` options from the positional arguments.
fn options(all: Vec<String>) -> anyhow::Result<(Vec<String>, Options)> {
    let (mut args, mut opts) = (Vec::new(), Vec::new());
    let mut it = all.into_iter();
    while let Some(a) = it.next() {
        match a.strip_prefix("--") {
            Some(name) => {
                let v = it
                    .next()
                    .ok_or_else(|| anyhow::anyhow!("--{name} needs a value"))?;
                opts.push((name.to_string(), v));
            }
            None => args.push(a),
        }
    }
    Ok((args, opts))
}

fn main() -> anyhow::Result<()> {
    let (args, opts) = options(std::env::args().skip(1).collect())?;
    let mut augment = Augment::Shift;
    let mut epochs = 15;
    for (name, v) in opts {
        match name.as_str() {
            "augment" => augment = Augment::parse(&v)?,
            "epochs" => epochs = v.parse()?,
            _ => anyhow::bail!("unknown option --{name}"),
        }
    }
    anyhow::ensure!(
        args.len() >= 3,
        "DATASET_OR_CODES_DIR NEIGHBOURS.u32 M [SEED] [HIDDEN] [OUT]"
    );
    let dataset = Artifact::open(&PathBuf::from(&args[0]), &Features::KINDS)?;
    let image = image_shape(&dataset)?;
    let train = Features::load(&dataset, Split::Train)?;
    let test = Features::load(&dataset, Split::Test)?;
    let m: usize = args[2].parse()?;
    let seed: u64 = args.get(3).map_or(Ok(72), |s| s.parse())?;
    let hidden: usize = args.get(4).map_or(Ok(512), |s| s.parse())?;
    let neighbours = read_neighbours(&args[1], train.len(), m)?;
    let settings = Settings {
        k: 10,
        seed,
        scan: ScanOptions {
            heads: 10,
            epochs,
            neighbours: m,
            entropy_weight: 5.0,
            hidden,
            batch_size: 512,
            learning_rate: 1e-3,
            weight_decay: 1e-4,
            shift: if image.is_some() { 2 } else { 0 },
            select: HeadSelection::Agreement,
            min_steps: 500,
        },
    };
    let data = TrainingData {
        x: &train.values,
        dim: train.dim,
        neighbours: &neighbours,
        m,
        image,
    };
    let device = Device::Cpu;
    anyhow::ensure!(
        !matches!(augment, Augment::Crop(_)) || image == Some((28, 28, 1)),
        "--augment {augment:?}: crops are for 28x28 grey images"
    );
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed ^ 0x5ca4_0002);
    let mut scratch = Vec::new();
    let mut augment_batch = |batch: &mut [f32]| {
        if let Some(shape) = image {
            augment.apply(batch, shape, &mut rng, &mut scratch);
        }
    };
    println!("augment {augment:?}, {epochs} epochs");
    let trained = fit_augmented(&settings, &data, &mut augment_batch, &device, &mut |e| {
        if let Event::Epoch {
            epoch,
            epochs,
            loss,
        } = e
        {
            eprintln!("epoch {epoch}/{epochs}, loss {loss:.4}");
        }
    })?;
    // Every head's test clusters (to score them all); the kept head's among them.
    let heads: Vec<Vec<usize>> = (0..trained.model.heads)
        .map(|h| Ok(assign(&trained.model, h, &test.values, test.dim, &device)?.0))
        .collect::<anyhow::Result<_>>()?;
    let test_ids = &heads[trained.head];
    let classes: Vec<u8> = (0..10).collect();
    let score = |ids: &[usize], f: &aeclust_artifact::kinds::Features| {
        aeclust_metrics::evaluate(ids, f.labels.as_ref().expect("labelled"), 10, &classes)
    };
    for (name, ids, f) in [
        ("train", &trained.train_clusters, &train),
        ("test", test_ids, &test),
    ] {
        let s = score(ids, f);
        println!("{name}: accuracy {:.4}, NMI {:.4}", s.acc, s.nmi);
    }
    let accuracies: Vec<String> = heads
        .iter()
        .map(|ids| format!("{:.3}", score(ids, &test).acc))
        .collect();
    println!("test accuracy of every head: {}", accuracies.join(" "));
    if let Some(out) = args.get(5) {
        std::fs::write(out, test_ids.iter().map(|&c| c as u8).collect::<Vec<u8>>())?;
    }
    Ok(())
}
