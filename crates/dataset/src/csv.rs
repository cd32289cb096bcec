//! The CSV form of an image dataset: one image per row, the label first, then one column
//! per pixel (0–255); an optional header row.

use std::path::Path;

use aeclust_artifact::kinds::ImageSplit;

use crate::error::invalid;
use crate::{read_maybe_gzip, Result};

fn is_header(first_line: &str) -> bool {
    first_line
        .split(',')
        .next()
        .is_some_and(|f| f.trim().parse::<f64>().is_err())
}

fn parse_integer(field: &str) -> Option<i64> {
    let f = field.trim();
    f.parse::<i64>().ok().or_else(|| {
        f.parse::<f64>()
            .ok()
            .filter(|v| v.fract() == 0.0 && v.abs() < 1e15)
            .map(|v| v as i64)
    })
}

/// Parses CSV text from `path`. The image shape is `shape` or, when absent, the square
/// whose area is the number of pixel columns.
pub fn parse_csv(text: &str, path: &Path, shape: Option<(usize, usize)>) -> Result<ImageSplit> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .peekable();
    if let Some((_, first)) = lines.peek() {
        if is_header(first) {
            lines.next();
        }
    }
    let mut split = ImageSplit::grey(Vec::new(), Vec::new(), 0, 0);
    let mut labels = Vec::new();
    let mut columns = None;
    for (index, line) in lines {
        let line_no = index + 1;
        let fields: Vec<&str> = line.split(',').collect();
        let expected = *columns.get_or_insert(fields.len());
        if split.height == 0 {
            let pixels = expected - 1;
            let (h, w) = match shape {
                Some(hw) => hw,
                None => {
                    let side = (pixels as f64).sqrt().round() as usize;
                    if side == 0 || side * side != pixels {
                        return Err(invalid(
                            path,
                            format!(
                                "line {line_no}: {pixels} pixel columns do not form a square image; pass --shape HxW"
                            ),
                        ));
                    }
                    (side, side)
                }
            };
            if h * w != pixels {
                return Err(invalid(
                    path,
                    format!(
                        "line {line_no}: {pixels} pixel columns, but shape {h}x{w} needs {}",
                        h * w
                    ),
                ));
            }
            split.height = h;
            split.width = w;
        }
        if fields.len() != expected {
            return Err(invalid(
                path,
                format!(
                    "line {line_no}: {} columns, expected {expected} (label + {} pixels)",
                    fields.len(),
                    expected - 1
                ),
            ));
        }
        let label_field = fields[0].trim();
        if label_field.is_empty() {
            return Err(invalid(path, format!("line {line_no}: missing label")));
        }
        let label = parse_integer(label_field).ok_or_else(|| {
            invalid(
                path,
                format!("line {line_no}: label `{label_field}` is not an integer"),
            )
        })?;
        if !(0..=255).contains(&label) {
            return Err(invalid(
                path,
                format!("line {line_no}: label {label} is outside 0..=255"),
            ));
        }
        labels.push(label as u8);
        for (col, field) in fields[1..].iter().enumerate() {
            let value = parse_integer(field).ok_or_else(|| {
                invalid(
                    path,
                    format!(
                        "line {line_no}, column {}: `{}` is not a number",
                        col + 2,
                        field.trim()
                    ),
                )
            })?;
            if !(0..=255).contains(&value) {
                return Err(invalid(
                    path,
                    format!(
                        "line {line_no}, column {}: pixel value {value} is outside 0..=255",
                        col + 2
                    ),
                ));
            }
            split.images.push(value as u8);
        }
    }
    if split.is_empty() {
        return Err(invalid(path, "no data rows"));
    }
    split.labels = Some(labels);
    Ok(split)
}

/// Reads a CSV file (optionally gzip-compressed).
pub fn read_csv_file(path: &Path, shape: Option<(usize, usize)>) -> Result<ImageSplit> {
    let bytes = read_maybe_gzip(path)?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|e| invalid(path, format!("not UTF-8 text ({e}); expected CSV")))?;
    parse_csv(text, path, shape)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_with_and_without_header() {
        let p = Path::new("t.csv");
        let s = parse_csv("label,p1,p2,p3,p4\n3,0,1,2,255\n1,4,5,6,7\n", p, None).unwrap();
        assert_eq!((s.height, s.width, s.len()), (2, 2, 2));
        assert_eq!(s.labels, Some(vec![3, 1]));
        assert_eq!(s.images, vec![0, 1, 2, 255, 4, 5, 6, 7]);
        let s = parse_csv("3,0,1,2\r\n", p, Some((1, 3))).unwrap();
        assert_eq!((s.height, s.width), (1, 3));
    }

    #[test]
    fn non_square_needs_shape() {
        let err = parse_csv("1,0,0,0\n", Path::new("t.csv"), None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("--shape"), "{err}");
    }
}
