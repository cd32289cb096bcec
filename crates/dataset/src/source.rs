//! Locating and reading input files (raw or gzip).

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::invalid;
use crate::{DatasetError, Result};

/// Where the Debian package `dataset-fashion-mnist` installs the data.
pub const DEFAULT_SOURCE_DIR: &str = "/usr/share/datasets/fashion-mnist";

/// How to get the real data.
pub const INSTALL_HINT: &str = "Fashion-MNIST is packaged for Debian: \
`sudo apt-get update && sudo apt-get install -y dataset-fashion-mnist` installs it in \
/usr/share/datasets/fashion-mnist (or pass --source DIR with the four IDX files)";

/// Decompressed inputs larger than this are refused (a gzip bomb guard).
const MAX_DECOMPRESSED: u64 = 4 << 30;

/// The four IDX files of a train/test image dataset in one directory.
#[derive(Debug, Clone)]
pub struct IdxSource {
    /// Train images, train labels, test images, test labels.
    pub files: [PathBuf; 4],
}

impl IdxSource {
    /// File stems looked for, each as `STEM` or `STEM.gz`.
    pub const STEMS: [&'static str; 4] = [
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    ];

    /// Finds the four files in `dir`.
    pub fn locate(dir: &Path) -> Result<Self> {
        if !dir.is_dir() {
            return Err(DatasetError::Missing {
                path: dir.to_path_buf(),
                hint: format!("(data directory) {INSTALL_HINT}"),
            });
        }
        let find = |stem: &str| -> Result<PathBuf> {
            let raw = dir.join(stem);
            let gz = dir.join(format!("{stem}.gz"));
            if raw.is_file() {
                Ok(raw)
            } else if gz.is_file() {
                Ok(gz)
            } else {
                Err(DatasetError::Missing {
                    path: gz,
                    hint: format!("(nor {} without .gz) {INSTALL_HINT}", raw.display()),
                })
            }
        };
        Ok(Self {
            files: [
                find(Self::STEMS[0])?,
                find(Self::STEMS[1])?,
                find(Self::STEMS[2])?,
                find(Self::STEMS[3])?,
            ],
        })
    }
}

/// Reads a file, decompressing it when it is gzip. A name ending in `.gz` must hold gzip.
pub fn read_maybe_gzip(path: &Path) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => DatasetError::Missing {
            path: path.to_path_buf(),
            hint: String::new(),
        },
        _ => DatasetError::Io {
            path: path.to_path_buf(),
            error: e,
        },
    })?;
    if bytes.is_empty() {
        return Err(invalid(path, "empty file (0 bytes)"));
    }
    let is_gzip = bytes.starts_with(&[0x1f, 0x8b]);
    let named_gz = path.extension().is_some_and(|e| e == "gz");
    if !is_gzip {
        if named_gz {
            return Err(invalid(
                path,
                "not gzip data (no gzip magic bytes 1f 8b) although the name ends in .gz",
            ));
        }
        return Ok(bytes);
    }
    let mut out = Vec::with_capacity(bytes.len() * 2);
    let decoder = flate2::read::MultiGzDecoder::new(&bytes[..]);
    decoder
        .take(MAX_DECOMPRESSED + 1)
        .read_to_end(&mut out)
        .map_err(|e| {
            let what = match e.kind() {
                std::io::ErrorKind::UnexpectedEof => {
                    "truncated gzip stream (the file was cut short)".to_string()
                }
                _ => format!("corrupt gzip data ({e})"),
            };
            invalid(path, what)
        })?;
    if out.len() as u64 > MAX_DECOMPRESSED {
        return Err(invalid(
            path,
            format!("decompresses to more than {MAX_DECOMPRESSED} bytes; refusing"),
        ));
    }
    Ok(out)
}
