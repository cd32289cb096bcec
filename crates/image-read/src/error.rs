/// Why a file could not be read as an image. The messages name the problem, not the
/// file: the caller adds the path.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file could not be read.
    #[error("{0}")]
    Io(std::io::Error),
    /// Zero bytes.
    #[error("empty file (0 bytes)")]
    Empty,
    /// Not one of the formats read.
    #[error("not a PNG, JPEG, WebP, BMP, TIFF or GIF image (unrecognised content)")]
    Unrecognised,
    /// Larger than the limits.
    #[error("refused: {0} (images up to {side} pixels a side and {mib} MiB decoded)", side = crate::MAX_IMAGE_SIDE, mib = crate::MAX_DECODED_BYTES >> 20)]
    Refused(String),
    /// The decoder failed: corrupt or truncated data, an unsupported variant.
    #[error("cannot decode: {0}")]
    Decode(String),
}
