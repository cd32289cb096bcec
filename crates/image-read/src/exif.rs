//! The orientation tag of an EXIF block: the TIFF structure that JPEG's APP1 segment,
//! PNG's eXIf chunk and WebP's EXIF chunk carry. Only IFD0's tag 0x0112 is read.

use image::metadata::Orientation;

/// EXIF's orientation tag.
const ORIENTATION_TAG: u16 = 0x0112;

/// The orientation an EXIF block asks for: none when it has no orientation tag, an
/// error saying what is malformed otherwise. Accepts the block with or without JPEG's
/// `Exif\0\0` prefix.
pub(crate) fn orientation(block: &[u8]) -> Result<Option<Orientation>, String> {
    let tiff = block.strip_prefix(b"Exif\0\0").unwrap_or(block);
    let big_endian = match tiff.get(..4) {
        Some(b"II\x2a\x00") => false,
        Some(b"MM\x00\x2a") => true,
        _ => return Err("no TIFF header (II*\\0 or MM\\0*)".into()),
    };
    let u16_at = |at: usize| -> Option<u16> {
        let b: [u8; 2] = tiff.get(at..at + 2)?.try_into().ok()?;
        Some(if big_endian {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    };
    let u32_at = |at: usize| -> Option<u32> {
        let b: [u8; 4] = tiff.get(at..at + 4)?.try_into().ok()?;
        Some(if big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    };
    let ifd = u32_at(4).expect("4 header bytes checked above") as usize;
    let entries = u16_at(ifd).ok_or_else(|| {
        format!(
            "IFD0 at offset {ifd} lies outside the block's {} bytes",
            tiff.len()
        )
    })? as usize;
    let end = ifd + 2 + 12 * entries;
    if end > tiff.len() {
        return Err(format!(
            "IFD0's {entries} entries end at byte {end}, past the block's {} bytes",
            tiff.len()
        ));
    }
    for i in 0..entries {
        let at = ifd + 2 + 12 * i;
        if u16_at(at) != Some(ORIENTATION_TAG) {
            continue;
        }
        // Type 3 is SHORT; its single value sits in the first two bytes of the field.
        let (kind, value) = (u16_at(at + 2), u16_at(at + 8));
        return match (kind, value) {
            (Some(3), Some(v @ 1..=8)) => Ok(Orientation::from_exif(v as u8)),
            (Some(3), Some(v)) => Err(format!("orientation {v} is not one of 1-8")),
            (kind, _) => Err(format!(
                "orientation tag of type {} (expected 3, SHORT)",
                kind.unwrap_or(0)
            )),
        };
    }
    Ok(None)
}

/// Whether `orientation` turns the image a quarter (width and height swap).
pub(crate) fn swaps_sides(orientation: Orientation) -> bool {
    matches!(
        orientation,
        Orientation::Rotate90
            | Orientation::Rotate270
            | Orientation::Rotate90FlipH
            | Orientation::Rotate270FlipH
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A little- or big-endian TIFF block with one IFD0 entry (tag, type, value).
    fn block(big_endian: bool, tag: u16, kind: u16, value: u16) -> Vec<u8> {
        let u16b = |v: u16| {
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let u32b = |v: u32| {
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let mut b = if big_endian {
            b"MM\x00\x2a".to_vec()
        } else {
            b"II\x2a\x00".to_vec()
        };
        b.extend(u32b(8));
        b.extend(u16b(1));
        b.extend(u16b(tag));
        b.extend(u16b(kind));
        b.extend(u32b(1));
        b.extend(u16b(value));
        b.extend([0, 0]);
        b.extend(u32b(0));
        b
    }

    #[test]
    fn reads_each_orientation_in_both_byte_orders_with_or_without_prefix() {
        for v in 1..=8u16 {
            for be in [false, true] {
                let want = Orientation::from_exif(v as u8);
                assert_eq!(orientation(&block(be, 0x0112, 3, v)).unwrap(), want);
                let mut prefixed = b"Exif\0\0".to_vec();
                prefixed.extend(block(be, 0x0112, 3, v));
                assert_eq!(orientation(&prefixed).unwrap(), want);
            }
        }
    }

    #[test]
    fn no_tag_is_none_and_malformed_blocks_say_why() {
        assert_eq!(orientation(&block(false, 0x010f, 3, 6)).unwrap(), None);
        let e = orientation(&block(false, 0x0112, 3, 9)).unwrap_err();
        assert!(e.contains("orientation 9"), "{e}");
        let e = orientation(&block(true, 0x0112, 4, 6)).unwrap_err();
        assert!(e.contains("type 4"), "{e}");
        let e = orientation(b"Exif\0\0garbage!!").unwrap_err();
        assert!(e.contains("TIFF header"), "{e}");
        let mut short = block(false, 0x0112, 3, 6);
        short.truncate(14);
        let e = orientation(&short).unwrap_err();
        assert!(e.contains("past the block"), "{e}");
        let mut far = block(false, 0x0112, 3, 6);
        far[4..8].copy_from_slice(&1000u32.to_le_bytes());
        let e = orientation(&far).unwrap_err();
        assert!(e.contains("outside the block"), "{e}");
    }
}
