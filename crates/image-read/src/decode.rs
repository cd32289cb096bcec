//! Decoding by content (not by extension), upright.

use std::io::Cursor;

use aeclust_artifact::kinds::ReadSettings;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader, Limits};

use crate::{exif, jpeg, ReadError, MAX_DECODED_BYTES, MAX_IMAGE_SIDE};

/// A decoded image turned upright, in the file's own colour type.
pub(crate) struct Decoded {
    pub image: DynamicImage,
    pub warnings: Vec<String>,
}

/// Decodes `bytes` by their content; JPEG through libjpeg at the smallest DCT scale that
/// covers `settings.size`, every other format through the image crate at full size.
pub(crate) fn decode(bytes: &[u8], settings: &ReadSettings) -> Result<Decoded, ReadError> {
    if bytes.is_empty() {
        return Err(ReadError::Empty);
    }
    let format = image::guess_format(bytes).map_err(|_| ReadError::Unrecognised)?;
    match format {
        ImageFormat::Jpeg => jpeg::decode(bytes, settings),
        ImageFormat::Png
        | ImageFormat::WebP
        | ImageFormat::Bmp
        | ImageFormat::Tiff
        | ImageFormat::Gif => decode_other(bytes, format),
        _ => Err(ReadError::Unrecognised),
    }
}

fn image_error(e: ImageError) -> ReadError {
    match e {
        ImageError::Limits(l) => ReadError::Refused(l.to_string()),
        other => ReadError::Decode(other.to_string()),
    }
}

/// The warning for an EXIF block that could not be read.
pub(crate) fn corrupt_exif(why: impl std::fmt::Display) -> String {
    format!("corrupt EXIF block ignored ({why}); orientation not applied")
}

/// The orientation in an EXIF block, or none with a warning when it is corrupt.
pub(crate) fn exif_orientation(block: &[u8], warnings: &mut Vec<String>) -> Orientation {
    match exif::orientation(block) {
        Ok(o) => o.unwrap_or(Orientation::NoTransforms),
        Err(why) => {
            warnings.push(corrupt_exif(why));
            Orientation::NoTransforms
        }
    }
}

fn decode_other(bytes: &[u8], format: ImageFormat) -> Result<Decoded, ReadError> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_IMAGE_SIDE);
    limits.max_image_height = Some(MAX_IMAGE_SIDE);
    limits.max_alloc = Some(MAX_DECODED_BYTES);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(image_error)?;
    if decoder.total_bytes() > MAX_DECODED_BYTES {
        let (w, h) = decoder.dimensions();
        return Err(ReadError::Refused(format!(
            "{w}x{h} pixels would take {} MiB decoded",
            decoder.total_bytes() >> 20
        )));
    }
    let mut warnings = Vec::new();
    let orientation = if format == ImageFormat::Tiff {
        // TIFF keeps orientation as a tag of its own IFD, not as an EXIF block.
        decoder.orientation().unwrap_or_else(|e| {
            warnings.push(corrupt_exif(e));
            Orientation::NoTransforms
        })
    } else {
        match decoder.exif_metadata() {
            Ok(Some(block)) => exif_orientation(&block, &mut warnings),
            Ok(None) => Orientation::NoTransforms,
            Err(e) => {
                warnings.push(corrupt_exif(e));
                Orientation::NoTransforms
            }
        }
    };
    let mut image = DynamicImage::from_decoder(decoder).map_err(image_error)?;
    image.apply_orientation(orientation);
    Ok(Decoded { image, warnings })
}
