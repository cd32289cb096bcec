//! Reads image files as people see them, the way every image of a dataset is read and
//! any later image is read again: decode (PNG, JPEG, WebP, BMP, TIFF, GIF's first
//! frame), turn upright by the file's EXIF orientation, composite transparency over a
//! background, bring to a size by a fit (pad, crop or stretch), end as 8-bit grey or
//! RGB. What to do is one [`ReadSettings`] value, recorded in the dataset artifact.
//!
//! Large JPEGs are decoded at the smallest of libjpeg's DCT scales (n/8) that still
//! covers the requested size, so a 12-megapixel photo read at 64×64 never exists at
//! full size in memory.

mod composite;
mod decode;
mod error;
mod exif;
mod fit;
mod formats;
mod jpeg;

use std::path::Path;

pub use aeclust_artifact::kinds::{Background, Color, Fit, ReadSettings};
use image::DynamicImage;

pub use error::ReadError;
pub use fit::Plan;
pub use formats::{is_supported, unsupported_hint, SUPPORTED_EXTENSIONS};

/// Largest width or height accepted: a guard against decompression bombs, with an
/// allocation limit of [`MAX_DECODED_BYTES`] per image.
pub const MAX_IMAGE_SIDE: u32 = 16_384;

/// Largest decoded image accepted, in bytes.
pub const MAX_DECODED_BYTES: u64 = 512 << 20;

/// Resampling used to reach a size: the image crate's triangle (bilinear) filter, whose
/// support widens with the scale factor, so downscaling averages (no aliasing).
pub const RESIZE_FILTER: &str = "triangle";

/// An image read: upright, opaque, 8-bit grey or RGB, at its final size.
#[derive(Debug, Clone)]
pub struct Picture {
    /// `ImageLuma8` or `ImageRgb8`.
    image: DynamicImage,
    /// What was read with a warning (a corrupt EXIF block ignored, …).
    pub warnings: Vec<String>,
}

impl Picture {
    /// True when the picture is grey: a grey file (with its transparency, if any,
    /// composited over a grey background).
    pub fn is_grey(&self) -> bool {
        matches!(self.image, DynamicImage::ImageLuma8(_))
    }

    /// Height and width in pixels.
    pub fn size(&self) -> (u32, u32) {
        (self.image.height(), self.image.width())
    }

    /// Appends the pixels, row-major, as `color` (grey: BT.709 luma of colour
    /// pictures; RGB: grey replicated).
    pub fn append_to(&self, color: Color, out: &mut Vec<u8>) {
        match (color, &self.image) {
            (Color::Gray, DynamicImage::ImageLuma8(g)) => out.extend_from_slice(g.as_raw()),
            (Color::Gray, other) => out.extend_from_slice(other.to_luma8().as_raw()),
            (Color::Rgb, DynamicImage::ImageRgb8(c)) => out.extend_from_slice(c.as_raw()),
            (Color::Rgb, other) => out.extend_from_slice(other.to_rgb8().as_raw()),
        }
    }

    /// The picture as an image (`ImageLuma8` or `ImageRgb8`).
    pub fn into_image(self) -> DynamicImage {
        self.image
    }
}

/// Reads the image file at `path` as `settings` say (their `color` is not applied:
/// see [`Picture::append_to`]). Errors say what is wrong with the file, not which file
/// it is: the caller names it.
pub fn read(path: &Path, settings: &ReadSettings) -> Result<Picture, ReadError> {
    let bytes = std::fs::read(path).map_err(ReadError::Io)?;
    read_bytes(&bytes, settings)
}

/// [`read`] on the bytes of a file.
pub fn read_bytes(bytes: &[u8], settings: &ReadSettings) -> Result<Picture, ReadError> {
    let decoded = decode::decode(bytes, settings)?;
    let image = match settings.size {
        Some(size) => fit::apply(decoded.image, size, settings.fit, settings.background),
        None => composite::flatten(decoded.image, settings.background),
    };
    Ok(Picture {
        image,
        warnings: decoded.warnings,
    })
}

/// Checks settings that no image can satisfy (a side of 0).
pub fn check(settings: &ReadSettings) -> Result<(), String> {
    match settings.size {
        Some([h, w]) if h == 0 || w == 0 => {
            Err(format!("--size {h}x{w}: both sides must be at least 1"))
        }
        Some([h, w]) if h > MAX_IMAGE_SIDE || w > MAX_IMAGE_SIDE => Err(format!(
            "--size {h}x{w}: at most {MAX_IMAGE_SIDE} pixels a side"
        )),
        _ => Ok(()),
    }
}

/// One line describing the settings, e.g. `64x64 pad (triangle) over #ffffff`.
pub fn describe(settings: &ReadSettings) -> String {
    match settings.size {
        Some([h, w]) => format!(
            "{h}x{w} {} ({RESIZE_FILTER}), background {}",
            settings.fit.name(),
            settings.background
        ),
        None => format!("original size, background {}", settings.background),
    }
}
