//! Training and encoding on the committed real-data subset, and every bad input.

use std::path::{Path, PathBuf};
use std::process::Command;

use aeclust_artifact::kinds::{
    CodesInfo, CodesSplit, ImageSplit, ModelInfo, Split, TrainingHistory,
};
use aeclust_artifact::{fixtures, Manifest};
use aeclust_dataset::{ClassNames, DatasetParams, Input};
use aeclust_encoder_dense::encode::DenseCodesDetails;
use aeclust_encoder_dense::train::{self, ArchitectureChoice, Silent};
use aeclust_encoder_dense::{encode, Autoencoder, Bottleneck, Loss, ModelConfig, TrainConfig};
use candle_core::{Device, Tensor};

const TRAIN: &str = env!("CARGO_BIN_EXE_aeclust-train");
const ENCODE: &str = env!("CARGO_BIN_EXE_aeclust-encode");

fn subset_dataset(root: &Path, limit: Option<usize>) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/fashion-mnist-subset");
    let out = root.join("dataset");
    aeclust_dataset::run(
        &DatasetParams {
            input: Input::Idx { dir: src },
            limit,
            class_names: ClassNames::Auto,
        },
        &out,
        false,
        &|| {},
    )
    .unwrap();
    out
}

fn small_arch() -> ArchitectureChoice {
    ArchitectureChoice {
        layers: vec![128, 64, 32, 16],
        loss: Loss::Bce,
        code_layer: 3,
        bottleneck: Bottleneck::Relu,
    }
}

fn config(epochs: usize) -> TrainConfig {
    TrainConfig {
        epochs,
        batch_size: 128,
        ..TrainConfig::default()
    }
}

fn one_thread<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(f)
}

#[test]
fn training_lowers_the_loss_and_encoding_writes_codes() {
    let tmp = tempfile::tempdir().unwrap();
    let data = subset_dataset(tmp.path(), None);
    let model = tmp.path().join("model");
    let out = train::run(
        &data,
        &model,
        &small_arch(),
        &config(4),
        &Device::Cpu,
        false,
        &mut Silent,
    )
    .unwrap();
    let history: TrainingHistory = serde_json::from_str(
        &std::fs::read_to_string(model.join(ModelInfo::HISTORY_FILE)).unwrap(),
    )
    .unwrap();
    let epochs = &history.epochs;
    assert_eq!(epochs.len(), 4);
    let (first, last) = (epochs[0].train_loss, epochs[3].train_loss);
    let val_first = epochs[0].val_loss.unwrap();
    let val_last = epochs[3].val_loss.unwrap();
    assert!(last < first * 0.9, "train loss {first} -> {last}");
    assert!(
        val_last < val_first,
        "validation loss {val_first} -> {val_last}"
    );
    let info: ModelInfo = out.manifest.info_as(&model).unwrap();
    assert_eq!((info.n_train, info.n_val), (1800, 200));
    assert_eq!(info.final_train_loss, last);
    assert_eq!(
        info.dataset.resolve(&model),
        std::fs::canonicalize(&data).unwrap()
    );

    // Cached rerun.
    let again = train::run(
        &data,
        &model,
        &small_arch(),
        &config(4),
        &Device::Cpu,
        false,
        &mut Silent,
    )
    .unwrap();
    assert!(again.cached);

    let codes = tmp.path().join("codes");
    let enc = encode::run(&model, &data, &codes, None, &Device::Cpu, false).unwrap();
    assert!(!enc.cached);
    let train_codes = CodesSplit::read(&codes.join(Split::Train.file_name())).unwrap();
    assert_eq!((train_codes.len(), train_codes.dim), (2000, 32));
    let test_codes = CodesSplit::read(&codes.join(Split::Test.file_name())).unwrap();
    assert_eq!((test_codes.len(), test_codes.dim), (500, 32));
    let images = ImageSplit::read(&data.join(Split::Test.file_name())).unwrap();
    assert_eq!(test_codes.labels, images.labels);
    let info: CodesInfo<DenseCodesDetails> = enc.manifest.info_as(&codes).unwrap();
    assert_eq!((info.dim, info.details.layer), (32, 3));
    assert_eq!(info.counts.test, 500);
    assert_eq!(info.classes.len(), 10);
    assert_eq!(
        info.model.unwrap().resolve(&codes),
        std::fs::canonicalize(&model).unwrap()
    );
    assert!(
        encode::run(&model, &data, &codes, None, &Device::Cpu, false)
            .unwrap()
            .cached
    );
    // The bottleneck layer gives 16-d codes.
    let bottleneck = tmp.path().join("codes4");
    encode::run(&model, &data, &bottleneck, Some(4), &Device::Cpu, false).unwrap();
    assert_eq!(
        CodesSplit::read(&bottleneck.join(Split::Test.file_name()))
            .unwrap()
            .dim,
        16
    );
}

#[test]
fn a_linear_bottleneck_passes_negative_codes_to_the_decoder() {
    let relu_cfg = ModelConfig {
        encoder_layers: vec![20, 5],
        code_layer: 2,
        ..ModelConfig::paper(4, 6)
    };
    let linear_cfg = ModelConfig {
        bottleneck: Bottleneck::Linear,
        ..relu_cfg.clone()
    };
    // Same seed, same weights: only the bottleneck's activation differs.
    let relu = Autoencoder::init(&relu_cfg, 5, &Device::Cpu).unwrap();
    let linear = Autoencoder::init(&linear_cfg, 5, &Device::Cpu).unwrap();
    let x = Tensor::rand(0f32, 1f32, (50, 24), &Device::Cpu).unwrap();
    let codes = |m: &Autoencoder, layer| {
        m.encode(&x, layer)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap()
    };
    let (lin, rel) = (codes(&linear, 2), codes(&relu, 2));
    assert!(lin.iter().any(|&v| v < 0.0), "a linear code goes negative");
    assert!(rel.iter().all(|&v| v >= 0.0));
    let clipped: Vec<f32> = lin.iter().map(|&v| v.max(0.0)).collect();
    assert_eq!(clipped, rel, "ReLU of the linear code is the ReLU code");
    // The first layer is a ReLU layer in both.
    assert_eq!(codes(&linear, 1), codes(&relu, 1));
    let out = |m: &Autoencoder| {
        m.reconstruct(&x)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap()
    };
    assert_ne!(
        out(&linear),
        out(&relu),
        "the decoder sees the negative codes"
    );
}

#[test]
fn save_load_round_trip_reproduces_encoder_outputs() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = ModelConfig {
        encoder_layers: vec![20, 10, 5],
        code_layer: 2,
        ..ModelConfig::paper(4, 6)
    };
    let model = Autoencoder::init(&cfg, 3, &Device::Cpu).unwrap();
    let path = tmp.path().join("m.safetensors");
    model.save(&path).unwrap();
    let loaded = Autoencoder::load(&cfg, &path, &Device::Cpu).unwrap();
    let x = Tensor::rand(0f32, 1f32, (7, 24), &Device::Cpu).unwrap();
    for layer in 1..=3 {
        let a = model
            .encode(&x, layer)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        let b = loaded
            .encode(&x, layer)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        assert_eq!(a, b, "layer {layer}");
    }
    let wrong = ModelConfig {
        encoder_layers: vec![20, 11, 5],
        ..cfg
    };
    let err = Autoencoder::load(&wrong, &path, &Device::Cpu)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("m.safetensors") && err.contains("encoder.1.weight"),
        "{err}"
    );
}

/// Trains `small_arch` with `cfg` on one thread into `dir`; the weights' bytes and the
/// model's cache key.
fn train_on_one_thread(data: &Path, dir: &Path, cfg: &TrainConfig) -> (Vec<u8>, String) {
    one_thread(|| {
        train::run(
            data,
            dir,
            &small_arch(),
            cfg,
            &Device::Cpu,
            false,
            &mut Silent,
        )
        .unwrap()
    });
    (
        std::fs::read(dir.join("model.safetensors")).unwrap(),
        Manifest::read_dir(dir).unwrap().cache_key,
    )
}

#[test]
fn same_seed_same_weights_on_one_thread() {
    let tmp = tempfile::tempdir().unwrap();
    let data = subset_dataset(tmp.path(), Some(300));
    let train_once = |name: &str, seed: u64| {
        let cfg = TrainConfig { seed, ..config(2) };
        train_on_one_thread(&data, &tmp.path().join(name), &cfg).0
    };
    let a = train_once("a", 5);
    let b = train_once("b", 5);
    let c = train_once("c", 6);
    assert_eq!(a, b, "same seed, same bytes");
    assert_ne!(a, c, "another seed, other weights");
}

#[test]
fn shift_augmentation_changes_training_reproducibly() {
    let tmp = tempfile::tempdir().unwrap();
    let data = subset_dataset(tmp.path(), Some(300));
    let train_once = |name: &str, shift: usize| {
        let cfg = TrainConfig { shift, ..config(2) };
        train_on_one_thread(&data, &tmp.path().join(name), &cfg)
    };
    let (plain, plain_key) = train_once("plain", 0);
    let (a, a_key) = train_once("a", 2);
    let (b, b_key) = train_once("b", 2);
    assert_eq!(a, b, "same seed and shift, same bytes");
    assert_eq!(a_key, b_key);
    assert_ne!(a, plain, "shifted images train other weights");
    assert_ne!(a_key, plain_key, "the shift enters the cache key");
    // Without a shift the settings serialise as before the option existed (so the cache
    // keys of earlier models stand), and such settings read back as shift 0.
    let legacy = serde_json::to_value(TrainConfig::default()).unwrap();
    assert!(legacy.get("shift").is_none(), "shift 0 is not serialised");
    let back: TrainConfig = serde_json::from_value(legacy).unwrap();
    assert_eq!(back, TrainConfig::default());
}

fn as_refs(v: &[String]) -> Vec<&str> {
    v.iter().map(|s| s.as_str()).collect()
}

fn cli(bin: &str, args: &[&str]) -> (bool, String) {
    let o = Command::new(bin).args(args).output().unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr),
    )
}

fn rejected(bin: &str, args: &[&str], out: &Path, says: &str) {
    let (ok, text) = cli(bin, args);
    assert!(!ok, "expected failure: {text}");
    assert!(text.contains(says), "should say `{says}`: {text}");
    assert!(
        !out.exists(),
        "no artifact may be written at {}",
        out.display()
    );
}

#[test]
fn bad_inputs() {
    let tmp = tempfile::tempdir().unwrap();
    let data = subset_dataset(tmp.path(), Some(200));
    let d = data.to_str().unwrap();
    let out = tmp.path().join("out");
    let o = out.to_str().unwrap();
    let train_args = |extra: &[&str]| -> Vec<String> {
        let epochs: &[&str] = if extra.contains(&"--epochs") {
            &[]
        } else {
            &["--epochs", "1"]
        };
        ["--data", d, "--out", o, "--layers", "16,8,4"]
            .iter()
            .chain(epochs)
            .chain(extra.iter())
            .map(|s| s.to_string())
            .collect()
    };
    rejected(
        TRAIN,
        &as_refs(&train_args(&["--epochs", "0"])),
        &out,
        "--epochs must be at least 1",
    );
    rejected(
        TRAIN,
        &as_refs(&train_args(&["--batch-size", "0"])),
        &out,
        "--batch-size must be at least 1",
    );
    rejected(
        TRAIN,
        &as_refs(&train_args(&["--lr", "-0.1"])),
        &out,
        "--lr must be a positive number",
    );
    rejected(
        TRAIN,
        &as_refs(&train_args(&["--code-layer", "4"])),
        &out,
        "--code-layer: layer 4 does not exist",
    );
    rejected(
        TRAIN,
        &as_refs(&train_args(&["--shift", "28"])),
        &out,
        "--shift 28 moves a 28x28 image entirely out of view; it must be below 28",
    );
    rejected(
        TRAIN,
        &as_refs(&train_args(&["--lr", "1e30"])),
        &out,
        "training diverged: the loss became NaN",
    );
    // A data directory that is not a dataset artifact.
    let plain = tmp.path().join("plain");
    std::fs::create_dir(&plain).unwrap();
    rejected(
        TRAIN,
        &["--data", plain.to_str().unwrap(), "--out", o],
        &out,
        "not an aeclust artifact",
    );

    // A valid model, then encode errors.
    let model = tmp.path().join("model");
    let m = model.to_str().unwrap();
    let (ok, text) = cli(
        TRAIN,
        &[
            "--data", d, "--out", m, "--layers", "16,8,4", "--epochs", "1",
        ],
    );
    assert!(ok, "{text}");
    rejected(
        ENCODE,
        &["--model", m, "--data", d, "--out", o, "--layer", "4"],
        &out,
        "--layer: layer 4 does not exist: the encoder has layers 1..=3",
    );
    rejected(
        ENCODE,
        &["--model", d, "--data", d, "--out", o],
        &out,
        "is a `dataset` artifact, expected a `model` artifact",
    );
    let missing = tmp.path().join("missing");
    rejected(
        ENCODE,
        &[
            "--model",
            missing.to_str().unwrap(),
            "--data",
            d,
            "--out",
            o,
        ],
        &out,
        &format!("{}: no such directory", missing.display()),
    );
    // A dataset of another image size than the model's.
    let other = tmp.path().join("other");
    let tiny = ImageSplit::grey(vec![0; 2 * 16], vec![0, 1], 4, 4);
    fixtures::dataset(&other, &tiny, &tiny).unwrap();
    rejected(
        ENCODE,
        &["--model", m, "--data", other.to_str().unwrap(), "--out", o],
        &out,
        "the model takes 28x28 images (784 inputs)",
    );
}

#[test]
fn a_file_changed_after_commit_is_refused_and_rebuilt_by_its_producer() {
    let tmp = tempfile::tempdir().unwrap();
    let data = subset_dataset(tmp.path(), Some(200));
    let file = data.join(Split::Train.file_name());
    let mut bytes = std::fs::read(&file).unwrap();
    let n = bytes.len();
    for b in &mut bytes[n - 64..] {
        *b = !*b;
    }
    std::fs::write(&file, &bytes).unwrap();
    let out = tmp.path().join("model");
    let (d, o) = (data.to_str().unwrap(), out.to_str().unwrap());
    let args = [
        "--data", d, "--out", o, "--layers", "16,8,4", "--epochs", "1",
    ];
    rejected(
        TRAIN,
        &args,
        &out,
        &format!(
            "{}: changed after its artifact was written (its SHA-256 differs",
            file.display()
        ),
    );
    let (_, text) = cli(TRAIN, &args);
    assert!(text.contains("--force"), "says how to rebuild: {text}");
    // The producer sees its damaged output and rebuilds it; then the consumer runs.
    let rebuilt = aeclust_dataset::run(
        &DatasetParams {
            input: Input::Idx {
                dir: Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/fashion-mnist-subset"),
            },
            limit: Some(200),
            class_names: ClassNames::Auto,
        },
        &data,
        false,
        &|| {},
    )
    .unwrap();
    assert!(!rebuilt.cached, "a damaged artifact is not reused");
    let (ok, text) = cli(TRAIN, &args);
    assert!(ok, "{text}");
}

#[test]
fn a_killed_runs_staging_is_swept_by_the_next_run() {
    let tmp = tempfile::tempdir().unwrap();
    let data = subset_dataset(tmp.path(), Some(200));
    let out = tmp.path().join("model");
    let (d, o) = (data.to_str().unwrap(), out.to_str().unwrap());
    let mut child = Command::new(TRAIN)
        .args([
            "--data",
            d,
            "--out",
            o,
            "--layers",
            "16,8,4",
            "--threads",
            "1",
        ])
        .args(["--epochs", "1000000"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let prefix = format!(".model.staging-{}-", child.id());
    let started = std::time::Instant::now();
    let staging = loop {
        let found = std::fs::read_dir(tmp.path())
            .unwrap()
            .flatten()
            .find(|e| e.file_name().to_string_lossy().starts_with(&prefix));
        if let Some(e) = found {
            break e.path();
        }
        assert!(
            started.elapsed().as_secs() < 120,
            "the run never created its staging directory"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(staging.exists(), "a killed run leaves its staging behind");
    assert!(!out.exists(), "and no artifact");
    let (ok, text) = cli(
        TRAIN,
        &[
            "--data", d, "--out", o, "--layers", "16,8,4", "--epochs", "1",
        ],
    );
    assert!(ok, "{text}");
    assert!(
        text.contains(&format!("removed {}", staging.display()))
            && text.contains("left by a run that died"),
        "{text}"
    );
    assert!(!staging.exists(), "swept by the next run");
    Manifest::read_dir(&out)
        .unwrap()
        .verify_outputs(&out)
        .unwrap();
}
