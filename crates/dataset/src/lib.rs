//! The aeclust dataset stage: reads image datasets (IDX, gzipped or raw, CSV, or a
//! folder of PNG/JPEG files),
//! validates them, and writes a `dataset` artifact (see `docs/ARTIFACTS.md`).
//!
//! Every reader checks its input against the bytes actually present before it allocates,
//! and every error names the file and what is wrong with it.

mod csv;
mod error;
mod fashion;
mod idx;
pub mod images;
pub mod shard;
mod source;
mod stage;

pub use csv::{parse_csv, read_csv_file};
pub use error::{DatasetError, Result};
pub use fashion::{FASHION_MNIST_CLASSES, FASHION_MNIST_FILES, FASHION_MNIST_SUBSET_FILES};
pub use idx::{parse_idx, read_idx_file, IdxArray};
pub use source::{read_maybe_gzip, IdxSource, DEFAULT_SOURCE_DIR, INSTALL_HINT};
pub use stage::{read_idx_dir, run, ClassNames, DatasetParams, IdxImages, ImagesInput, Input};
