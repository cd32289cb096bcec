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
//! `cargo run --release -p aeclust-cluster-scan --example scan_neighbour_list --
//! DATASET_OR_CODES_DIR NEIGHBOURS.u32 M [SEED] [HIDDEN] [OUT]`

use std::path::PathBuf;

use aeclust_artifact::kinds::{Features, HeadSelection, ScanOptions, Split};
use aeclust_artifact::Artifact;
use aeclust_cluster_scan::stage::image_shape;
use aeclust_cluster_scan::train::{assign, fit, Event, Settings, TrainingData};
use candle_core::Device;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
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
    let bytes = std::fs::read(&args[1])?;
    let neighbours: Vec<u32> = bytes
        .chunks_exact(4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    anyhow::ensure!(
        bytes.len() % 4 == 0 && neighbours.iter().all(|&j| (j as usize) < train.len()),
        "{}: not u32 indices of the {} train rows",
        args[1],
        train.len()
    );
    anyhow::ensure!(
        neighbours.len() == train.len() * m,
        "{}: {} indices, not {} rows × {m}",
        args[1],
        neighbours.len(),
        train.len()
    );
    let settings = Settings {
        k: 10,
        seed,
        scan: ScanOptions {
            heads: 10,
            epochs: 15,
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
    let trained = fit(&settings, &data, &device, &mut |e| {
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
