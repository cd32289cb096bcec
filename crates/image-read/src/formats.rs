//! Which files are images: by extension when a folder is listed, by content when read.

use std::path::Path;

/// File name extensions read as images (case-insensitive).
pub const SUPPORTED_EXTENSIONS: [&str; 9] = [
    "png", "jpg", "jpeg", "jpe", "webp", "bmp", "tif", "tiff", "gif",
];

/// Whether `path` has one of [`SUPPORTED_EXTENSIONS`].
pub fn is_supported(path: &Path) -> bool {
    extension(path).is_some_and(|e| SUPPORTED_EXTENSIONS.contains(&e.as_str()))
}

fn extension(path: &Path) -> Option<String> {
    path.extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase())
}

/// Camera RAW extensions (the common makers').
const RAW_EXTENSIONS: [&str; 15] = [
    "dng", "cr2", "cr3", "crw", "nef", "nrw", "arw", "srf", "sr2", "orf", "rw2", "raf", "pef",
    "srw", "x3f",
];

/// For an image format that is known but not read (HEIC, AVIF, camera RAW), what it is
/// and the command that converts it to one that is.
pub fn unsupported_hint(path: &Path) -> Option<&'static str> {
    let e = extension(path)?;
    match e.as_str() {
        "heic" | "heif" => Some(
            "HEIC is not supported: convert it to JPEG with `heif-convert FILE.heic FILE.jpg` \
             (Debian package libheif-examples)",
        ),
        "avif" => Some(
            "AVIF is not supported: convert it to PNG with `heif-convert FILE.avif FILE.png` \
             (Debian package libheif-examples)",
        ),
        _ if RAW_EXTENSIONS.contains(&e.as_str()) => Some(
            "camera RAW is not supported: develop it to TIFF with `dcraw -w -T FILE` \
             (Debian package dcraw), which aeclust reads",
        ),
        _ => None,
    }
}
