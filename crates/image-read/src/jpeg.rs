//! JPEG through libjpeg-turbo's decoder (the mozjpeg crate, built from source): EXIF
//! orientation from the APP1 segment, DCT-domain downscaling, CMYK converted.

use std::os::raw::c_int;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

use aeclust_artifact::kinds::ReadSettings;
use image::metadata::Orientation;
use image::{DynamicImage, GrayImage, RgbImage};
use mozjpeg::{ColorSpace, Decompress, Marker};
use mozjpeg_sys::{jpeg_common_struct, jpeg_error_mgr, jpeg_std_error};

use crate::decode::{exif_orientation, Decoded};
use crate::exif::swaps_sides;
use crate::fit::Plan;
use crate::{ReadError, MAX_DECODED_BYTES, MAX_IMAGE_SIDE};

/// The smallest libjpeg scale n/8 (n in 1..=8) at which an image of `source` = (width,
/// height), upright, still covers what `settings` resize it to: ⌈w·n/8⌉ and ⌈h·n/8⌉ at
/// least the plan's resized width and height. 8 (full size) without a size.
pub(crate) fn scale_numerator(source: (u32, u32), settings: &ReadSettings) -> u8 {
    let Some(size) = settings.size else {
        return 8;
    };
    let (rw, rh) = Plan::new(source, size, settings.fit).resized;
    let covers =
        |n: u64, side: u32, want: u32| (u64::from(side) * n).div_ceil(8) >= u64::from(want);
    (1..=8u8)
        .find(|&n| covers(u64::from(n), source.0, rw) && covers(u64::from(n), source.1, rh))
        .unwrap_or(8)
}

/// Decodes a JPEG file, upright, at the smallest DCT scale that covers the requested
/// size. Truncated data is an error (libjpeg would fill the rest with grey).
pub(crate) fn decode(bytes: &[u8], settings: &ReadSettings) -> Result<Decoded, ReadError> {
    match catch_unwind(AssertUnwindSafe(|| decode_unguarded(bytes, settings))) {
        Ok(result) => result,
        Err(payload) => Err(ReadError::Decode(
            payload
                .downcast::<String>()
                .map(|s| *s)
                .unwrap_or_else(|_| "libjpeg failed".into()),
        )),
    }
}

fn decode_unguarded(bytes: &[u8], settings: &ReadSettings) -> Result<Decoded, ReadError> {
    let io = |e: std::io::Error| ReadError::Decode(e.to_string());
    let mut d = Decompress::builder()
        .with_err(error_manager())
        .with_markers(&[Marker::APP(1)])
        .from_mem(bytes)
        .map_err(io)?;
    let (w, h) = (d.width() as u32, d.height() as u32);
    if w > MAX_IMAGE_SIDE || h > MAX_IMAGE_SIDE {
        return Err(ReadError::Refused(format!("{w}x{h} pixels")));
    }
    let mut warnings = Vec::new();
    let orientation = d
        .markers()
        .find(|m| m.marker == Marker::APP(1) && m.data.starts_with(b"Exif\0\0"))
        .map(|m| exif_orientation(m.data, &mut warnings))
        .unwrap_or(Orientation::NoTransforms);
    let upright = if swaps_sides(orientation) {
        (h, w)
    } else {
        (w, h)
    };
    let n = scale_numerator(upright, settings);
    d.scale(n);
    let cmyk = matches!(d.color_space(), ColorSpace::JCS_CMYK | ColorSpace::JCS_YCCK);
    let grey = d.color_space() == ColorSpace::JCS_GRAYSCALE;
    let channels: u64 = if cmyk {
        4
    } else if grey {
        1
    } else {
        3
    };
    let out_bytes = u64::from(w).div_ceil(8)
        * u64::from(n)
        * u64::from(h).div_ceil(8)
        * u64::from(n)
        * channels;
    if out_bytes > MAX_DECODED_BYTES {
        return Err(ReadError::Refused(format!("{w}x{h} pixels")));
    }
    let mut started = if cmyk {
        d.to_colorspace(ColorSpace::JCS_CMYK)
    } else if grey {
        d.grayscale()
    } else {
        d.rgb()
    }
    .map_err(io)?;
    let (ow, oh) = (started.width() as u32, started.height() as u32);
    let pixels: Vec<u8> = started.read_scanlines().map_err(io)?;
    started.finish().map_err(io)?;
    let invalid = || ReadError::Decode("libjpeg returned fewer pixels than its header said".into());
    let mut image = if cmyk {
        DynamicImage::ImageRgb8(
            RgbImage::from_vec(ow, oh, cmyk_to_rgb(&pixels)).ok_or_else(invalid)?,
        )
    } else if grey {
        DynamicImage::ImageLuma8(GrayImage::from_vec(ow, oh, pixels).ok_or_else(invalid)?)
    } else {
        DynamicImage::ImageRgb8(RgbImage::from_vec(ow, oh, pixels).ok_or_else(invalid)?)
    };
    image.apply_orientation(orientation);
    Ok(Decoded { image, warnings })
}

/// CMYK samples as Adobe applications write them (inverted: 255 is no ink) to RGB:
/// R = C·K / 255, rounded (what zune-jpeg and browsers do).
fn cmyk_to_rgb(cmyk: &[u8]) -> Vec<u8> {
    let mul = |a: u8, b: u8| ((u32::from(a) * u32::from(b) + 127) / 255) as u8;
    cmyk.chunks_exact(4)
        .flat_map(|p| [mul(p[0], p[3]), mul(p[1], p[3]), mul(p[2], p[3])])
        .collect()
}

/// libjpeg's error manager with both exits unwinding: a fatal error with its message,
/// and the warning that the data ended early.
fn error_manager() -> jpeg_error_mgr {
    // SAFETY: jpeg_std_error fills every field of the zeroed struct.
    let mut err: jpeg_error_mgr = unsafe { std::mem::zeroed() };
    unsafe { jpeg_std_error(&mut err) };
    err.error_exit = Some(fatal);
    err.emit_message = Some(message);
    err
}

/// libjpeg's text for its current message.
fn text(cinfo: &mut jpeg_common_struct) -> String {
    let mut buffer = [0u8; 80];
    // SAFETY: `err` is the manager installed above, whose format_message (libjpeg's)
    // writes at most 80 bytes, NUL-terminated, into the buffer.
    unsafe {
        if let Some(format) = cinfo.err.as_ref().and_then(|e| e.format_message) {
            let format: unsafe extern "C-unwind" fn(&mut jpeg_common_struct, &mut [u8; 80]) =
                std::mem::transmute(format);
            format(cinfo, &mut buffer);
        }
    }
    let end = buffer.iter().position(|&b| b == 0).unwrap_or(buffer.len());
    String::from_utf8_lossy(&buffer[..end]).into_owned()
}

extern "C-unwind" fn fatal(cinfo: &mut jpeg_common_struct) {
    resume_unwind(Box::new(text(cinfo)));
}

extern "C-unwind" fn message(cinfo: &mut jpeg_common_struct, level: c_int) {
    // SAFETY: `err` points at the installed manager for the decoder's whole life.
    let code = unsafe { cinfo.err.as_ref().map_or(0, |e| e.msg_code) };
    if level < 0 && code == mozjpeg_sys::JWRN_JPEG_EOF as c_int {
        resume_unwind(Box::new(format!(
            "truncated: {} (the file ends before its image data does)",
            text(cinfo)
        )));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aeclust_artifact::kinds::Fit;

    fn at(size: [u32; 2], fit: Fit) -> ReadSettings {
        ReadSettings {
            size: Some(size),
            fit,
            ..ReadSettings::default()
        }
    }

    #[test]
    fn the_smallest_scale_that_covers_the_frame() {
        // 4000×3000 into 64×64: pad needs 64×48 → 1/8 (500×375).
        assert_eq!(scale_numerator((4000, 3000), &at([64, 64], Fit::Pad)), 1);
        // crop needs 85×64 → still 1/8; stretch 64×64 → 1/8.
        assert_eq!(scale_numerator((4000, 3000), &at([64, 64], Fit::Crop)), 1);
        // 1024×768 into 256×256: pad needs 256×192 → 2/8 (256×192).
        assert_eq!(scale_numerator((1024, 768), &at([256, 256], Fit::Pad)), 2);
        // crop needs 341×256 → 3/8 (384×288).
        assert_eq!(scale_numerator((1024, 768), &at([256, 256], Fit::Crop)), 3);
        // An upscale decodes at full size, as does no size.
        assert_eq!(scale_numerator((32, 32), &at([64, 64], Fit::Pad)), 8);
        assert_eq!(scale_numerator((4000, 3000), &ReadSettings::default()), 8);
    }

    #[test]
    fn cmyk_inverted_to_rgb() {
        assert_eq!(
            cmyk_to_rgb(&[255, 255, 255, 255, 200, 100, 50, 255, 200, 100, 50, 0]),
            vec![255, 255, 255, 200, 100, 50, 0, 0, 0]
        );
        // Half black: 200·128/255 = 100.4 → 100.
        assert_eq!(cmyk_to_rgb(&[200, 255, 0, 128]), vec![100, 128, 0]);
    }
}
