//! `aeclust-dataset`: IDX or CSV image data to a `dataset` artifact.

use std::path::PathBuf;

use aeclust_artifact::kinds::DatasetInfo;
use aeclust_dataset::images::{unsupported_hint, Background, Color, Fit, ReadSettings};
use aeclust_dataset::{run, ClassNames, DatasetParams, ImagesInput, Input, DEFAULT_SOURCE_DIR};
use anyhow::{bail, Context, Result};
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};

/// Reads an image dataset (the four IDX files, gzipped or raw, two CSV files, or a folder
/// of PNG, JPEG, WebP, BMP, TIFF or GIF images), checks it and writes
/// `train.safetensors`, `test.safetensors` and `manifest.json` (and, for an image folder,
/// `files.json`: every image's source file).
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Directory with train-images-idx3-ubyte, train-labels-idx1-ubyte,
    /// t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte (each `.gz` or raw).
    #[arg(long, default_value = DEFAULT_SOURCE_DIR, conflicts_with_all = ["train_csv", "test_csv", "images"])]
    source: PathBuf,
    /// A folder of images (PNG, JPEG, WebP, BMP, TIFF, GIF's first frame), read
    /// recursively in sorted order, each turned upright by its EXIF orientation and its
    /// transparency composited over --background. One sub-folder per class (the "image
    /// folder" convention) gives labels named after the sub-folders; otherwise the images
    /// are unlabelled. Files of other types are ignored (listed in the manifest).
    #[arg(long, conflicts_with_all = ["train_csv", "test_csv"])]
    images: Option<PathBuf>,
    /// Test split of --images: a second folder of the same layout.
    #[arg(long, requires = "images", conflicts_with = "test_fraction")]
    test_dir: Option<PathBuf>,
    /// Test split of --images: this fraction of the folder (per class when labelled),
    /// drawn with --split-seed. Without --test-dir or --test-fraction: no test split.
    #[arg(long, requires = "images")]
    test_fraction: Option<f64>,
    /// Seed of --test-fraction.
    #[arg(long, default_value_t = 72, requires = "images")]
    split_seed: u64,
    /// Bring every image of --images to HxW (see --fit; triangle filter, antialiased;
    /// large JPEGs decoded at a reduced DCT scale first); without it all images must
    /// share one size.
    #[arg(long, value_parser = parse_shape, requires = "images")]
    size: Option<(usize, usize)>,
    /// How --size is reached: pad (scale to fit inside, centre, fill with --background),
    /// crop (scale to cover, cut the centre) or stretch (each side on its own).
    #[arg(long, value_enum, default_value_t = Fit::Pad, requires = "size")]
    fit: Fit,
    /// What transparent pixels and padding show: white, black or #RRGGBB.
    #[arg(long, default_value = "white", requires = "images")]
    background: Background,
    /// Channels of --images (default: gray when every image is grey once composited,
    /// else rgb).
    #[arg(long, value_enum, requires = "images")]
    color: Option<Color>,
    /// Skip undecodable image files (listed in the manifest) instead of failing.
    #[arg(long, requires = "images")]
    skip_bad: bool,
    /// Read the sub-folders of --images as one unlabelled tree, not as classes.
    #[arg(long, requires = "images")]
    unlabelled: bool,
    /// Read only part I of N of --images: the I-th contiguous slice of each split's sorted
    /// file list (classes and the test split are decided on the whole folder first), for
    /// --merge to join; needs --color.
    #[arg(long, requires = "images", value_name = "I/N")]
    shard: Option<aeclust_dataset::shard::Shard>,
    /// Join shard artifacts (every part of one --shard I/N reading, repeated or
    /// comma-separated) into one dataset artifact, identical to the folder read whole.
    #[arg(long, value_delimiter = ',', num_args = 1.., conflicts_with_all = ["images", "train_csv", "test_csv"])]
    merge: Vec<PathBuf>,
    /// Training CSV: label first, then one column per pixel; header row optional.
    #[arg(long, requires = "test_csv")]
    train_csv: Option<PathBuf>,
    /// Test CSV, same layout as --train-csv.
    #[arg(long, requires = "train_csv")]
    test_csv: Option<PathBuf>,
    /// Image shape of CSV rows as HxW (default: square).
    #[arg(long, value_parser = parse_shape)]
    shape: Option<(usize, usize)>,
    /// Keep only the first N images of each split.
    #[arg(long)]
    limit: Option<usize>,
    /// Class names: auto (Fashion-MNIST's when the files are the known release, else
    /// numbers), fashion-mnist, numbers, or a comma-separated list indexed by label.
    #[arg(long, default_value = "auto")]
    class_names: String,
    /// Output directory.
    #[arg(long, default_value = "artifacts/dataset")]
    out: PathBuf,
    /// Rebuild even when an identical artifact exists.
    #[arg(long)]
    force: bool,
}

fn parse_shape(s: &str) -> Result<(usize, usize), String> {
    let (h, w) = s
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("`{s}`: expected HxW, e.g. 28x28"))?;
    let parse = |v: &str| {
        v.trim()
            .parse::<usize>()
            .map_err(|_| format!("`{s}`: expected HxW, e.g. 28x28"))
    };
    Ok((parse(h)?, parse(w)?))
}

fn main() -> std::process::ExitCode {
    aeclust_cli::report(run_cli(Args::parse()))
}

fn run_cli(args: Args) -> Result<()> {
    if !args.merge.is_empty() {
        let outcome = aeclust_dataset::shard::merge(&args.merge, &args.out, args.force)
            .context("merging the shards failed")?;
        aeclust_cli::announce("dataset", &args.out, &outcome, "same shards");
        let info: DatasetInfo = outcome.manifest.info_as(&args.out)?;
        println!(
            "  merged {} shards: train {} images, test {} images",
            args.merge.len(),
            info.splits.train.count,
            info.splits.test.count
        );
        return Ok(());
    }
    let input = match (args.train_csv, args.test_csv) {
        _ if args.images.is_some() => {
            if args.shape.is_some() {
                bail!("--shape applies to CSV input only; use --size HxW to resize images");
            }
            let to_u32 = |v: usize| u32::try_from(v).context("--size: side too large");
            Input::Images(ImagesInput {
                dir: args.images.clone().expect("checked"),
                test_dir: args.test_dir.clone(),
                test_fraction: args.test_fraction,
                seed: args.split_seed,
                read: ReadSettings {
                    size: args
                        .size
                        .map(|(h, w)| Ok::<_, anyhow::Error>([to_u32(h)?, to_u32(w)?]))
                        .transpose()?,
                    fit: args.fit,
                    background: args.background,
                    color: args.color,
                },
                skip_bad: args.skip_bad,
                unlabelled: args.unlabelled,
                shard: args.shard,
            })
        }
        (Some(train), Some(test)) => Input::Csv {
            train,
            test,
            shape: args.shape,
        },
        _ => {
            if args.shape.is_some() {
                bail!("--shape applies to CSV input only; IDX files carry their own shape");
            }
            Input::Idx { dir: args.source }
        }
    };
    let class_names = match args.class_names.as_str() {
        "auto" => ClassNames::Auto,
        "fashion-mnist" => ClassNames::FashionMnist,
        "numbers" => ClassNames::Numbers,
        list => ClassNames::List(list.split(',').map(|s| s.trim().to_string()).collect()),
    };
    let params = DatasetParams {
        input,
        limit: args.limit,
        class_names,
    };
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {elapsed:>4} decoded {pos} images ({per_sec})")
            .expect("template"),
    );
    let outcome =
        run(&params, &args.out, args.force, &|| bar.inc(1)).context("dataset stage failed")?;
    bar.finish_and_clear();
    let info: DatasetInfo = outcome.manifest.info_as(&args.out)?;
    aeclust_cli::announce("dataset", &args.out, &outcome, "same inputs and parameters");
    println!(
        "  train {} images, test {} images, {}x{}{}, {}{}",
        info.splits.train.count,
        info.splits.test.count,
        info.image_shape[0],
        info.image_shape[1],
        if info.channels == 3 { " RGB" } else { "" },
        if info.labelled {
            format!("{} classes", info.classes.len())
        } else {
            "unlabelled".to_string()
        },
        match &info.recognised {
            Some(r) => format!(" (content verified: {r})"),
            None => String::new(),
        }
    );
    if let Some(folder) = &info.folder {
        if !folder.skipped.is_empty() {
            println!("  skipped {} undecodable files:", folder.skipped.len());
            for (file, why) in &folder.skipped {
                println!("    {file}: {why}");
            }
        }
        if !folder.warnings.is_empty() {
            println!("  {} files read with a warning:", folder.warnings.len());
            for (file, what) in &folder.warnings {
                println!("    {file}: {what}");
            }
        }
        print_ignored(&folder.ignored);
    }
    Ok(())
}

/// The count of ignored files, and for known image formats that are not read (HEIC,
/// camera RAW) how many there are and how to convert them.
fn print_ignored(ignored: &[String]) {
    if ignored.is_empty() {
        return;
    }
    println!(
        "  ignored {} files that are not images of a supported type (.{}; listed in the \
         manifest)",
        ignored.len(),
        aeclust_dataset::images::SUPPORTED_EXTENSIONS.join(", .")
    );
    let mut hints: Vec<(&str, Vec<&str>)> = Vec::new();
    for file in ignored {
        if let Some(hint) = unsupported_hint(std::path::Path::new(file)) {
            match hints.iter_mut().find(|(h, _)| *h == hint) {
                Some((_, files)) => files.push(file),
                None => hints.push((hint, vec![file])),
            }
        }
    }
    for (hint, files) in hints {
        println!(
            "    {} file{} (e.g. {}): {hint}",
            files.len(),
            if files.len() == 1 { "" } else { "s" },
            files[0]
        );
    }
}
