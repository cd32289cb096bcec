//! The IDX format (LeCun's MNIST files): magic `00 00 TYPE RANK`, RANK big-endian u32
//! dimensions, then the data. aeclust reads unsigned-byte data (type 0x08).

use std::path::Path;

use crate::error::invalid;
use crate::{read_maybe_gzip, Result};

/// A parsed IDX array of unsigned bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxArray {
    /// Dimensions, outermost first.
    pub dims: Vec<usize>,
    /// Row-major data, the product of `dims` bytes.
    pub data: Vec<u8>,
}

fn type_name(code: u8) -> &'static str {
    match code {
        0x08 => "unsigned byte",
        0x09 => "signed byte",
        0x0B => "i16",
        0x0C => "i32",
        0x0D => "f32",
        0x0E => "f64",
        _ => "unknown",
    }
}

/// Parses IDX bytes of `path`, expecting rank `rank`. Sizes are checked against the bytes
/// present before anything is allocated.
pub fn parse_idx(bytes: &[u8], path: &Path, rank: usize) -> Result<IdxArray> {
    if bytes.is_empty() {
        return Err(invalid(path, "empty file (0 bytes of IDX data)"));
    }
    if bytes.len() < 4 {
        return Err(invalid(
            path,
            format!("{} bytes: too short for an IDX header", bytes.len()),
        ));
    }
    if bytes[0] != 0 || bytes[1] != 0 {
        return Err(invalid(
            path,
            format!(
                "wrong IDX magic number {:02x} {:02x} {:02x} {:02x} (expected 00 00 08 {rank:02x}); not an IDX file",
                bytes[0], bytes[1], bytes[2], bytes[3]
            ),
        ));
    }
    if bytes[2] != 0x08 {
        return Err(invalid(
            path,
            format!(
                "IDX data type 0x{:02x} ({}) is not supported; aeclust reads unsigned bytes (0x08)",
                bytes[2],
                type_name(bytes[2])
            ),
        ));
    }
    let found_rank = usize::from(bytes[3]);
    if found_rank != rank {
        return Err(invalid(
            path,
            format!("IDX rank {found_rank}, expected {rank} (images have 3, labels 1)"),
        ));
    }
    let header = 4 + 4 * rank;
    if bytes.len() < header {
        return Err(invalid(
            path,
            format!(
                "{} bytes: too short for an IDX header of rank {rank} ({header} bytes)",
                bytes.len()
            ),
        ));
    }
    let dims: Vec<usize> = bytes[4..header]
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    let expected = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .filter(|&n| n <= usize::MAX - header);
    let present = bytes.len() - header;
    match expected {
        Some(n) if n == present => {}
        Some(n) => {
            return Err(invalid(
                path,
                format!(
                    "dimensions {dims:?} need {n} data bytes but the file holds {present}{}",
                    if present < n {
                        " (truncated?)"
                    } else {
                        " (trailing bytes)"
                    }
                ),
            ))
        }
        None => {
            return Err(invalid(
                path,
                format!("dimensions {dims:?} overflow; corrupt header"),
            ))
        }
    }
    if dims.iter().skip(1).any(|&d| d == 0) {
        return Err(invalid(path, format!("dimensions {dims:?} contain a zero")));
    }
    Ok(IdxArray {
        dims,
        data: bytes[header..].to_vec(),
    })
}

/// Reads and parses an IDX file (gzip or raw).
pub fn read_idx_file(path: &Path, rank: usize) -> Result<IdxArray> {
    let bytes = read_maybe_gzip(path)?;
    parse_idx(&bytes, path, rank)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idx(rank: u8, dims: &[u32], data: &[u8]) -> Vec<u8> {
        let mut v = vec![0, 0, 8, rank];
        for d in dims {
            v.extend_from_slice(&d.to_be_bytes());
        }
        v.extend_from_slice(data);
        v
    }

    #[test]
    fn parses_images_and_labels() {
        let p = Path::new("x");
        let a = parse_idx(&idx(3, &[2, 1, 2], &[1, 2, 3, 4]), p, 3).unwrap();
        assert_eq!(a.dims, vec![2, 1, 2]);
        assert_eq!(a.data, vec![1, 2, 3, 4]);
        let l = parse_idx(&idx(1, &[3], &[7, 8, 9]), p, 1).unwrap();
        assert_eq!(l.data, vec![7, 8, 9]);
    }

    #[test]
    fn huge_header_is_rejected_without_allocating() {
        let p = Path::new("huge");
        let err = parse_idx(&idx(3, &[u32::MAX, u32::MAX, u32::MAX], &[0; 8]), p, 3)
            .unwrap_err()
            .to_string();
        assert!(err.contains("huge") && err.contains("overflow"), "{err}");
        let err = parse_idx(&idx(3, &[60000, 28, 28], &[0; 8]), p, 3)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("need 47040000 data bytes but the file holds 8"),
            "{err}"
        );
    }
}
