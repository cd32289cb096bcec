//! Typed reading and writing of named tensors in safetensors files.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use safetensors::tensor::{Dtype, SafeTensors, TensorView};

use crate::{ArtifactError, Result};

/// A scalar type that can be stored in a safetensors file.
pub trait Element: Copy + Send + Sync + 'static {
    /// The safetensors dtype.
    const DTYPE: Dtype;
    /// Decodes a little-endian element.
    fn from_le(bytes: &[u8]) -> Self;
    /// Appends the little-endian bytes of `self`.
    fn extend_le(self, out: &mut Vec<u8>);
}

macro_rules! element {
    ($t:ty, $d:ident) => {
        impl Element for $t {
            const DTYPE: Dtype = Dtype::$d;
            fn from_le(bytes: &[u8]) -> Self {
                <$t>::from_le_bytes(bytes.try_into().expect("element width"))
            }
            fn extend_le(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
        }
    };
}
element!(u8, U8);
element!(u32, U32);
element!(i64, I64);
element!(f32, F32);
element!(f64, F64);

/// A dense row-major tensor: shape and data.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor<T> {
    /// Dimensions, outermost first.
    pub shape: Vec<usize>,
    /// Row-major elements; `data.len()` is the product of `shape`.
    pub data: Vec<T>,
}

impl<T: Element> Tensor<T> {
    /// Builds a tensor; panics when `data` does not fill `shape` (a programming error).
    pub fn new(shape: Vec<usize>, data: Vec<T>) -> Self {
        assert_eq!(
            shape.iter().product::<usize>(),
            data.len(),
            "tensor data does not fill its shape {shape:?}"
        );
        Self { shape, data }
    }
}

/// A safetensors file read into memory, validated once.
#[derive(Debug)]
pub struct TensorFile {
    path: PathBuf,
    bytes: Vec<u8>,
}

impl TensorFile {
    /// Reads and validates `path`.
    pub fn open(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| ArtifactError::io(path, e))?;
        SafeTensors::deserialize(&bytes).map_err(|e| ArtifactError::Safetensors {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        Ok(Self {
            path: path.to_path_buf(),
            bytes,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn parsed(&self) -> SafeTensors<'_> {
        SafeTensors::deserialize(&self.bytes).expect("validated in open")
    }

    /// Names of the tensors in the file, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .parsed()
            .names()
            .into_iter()
            .map(String::from)
            .collect();
        names.sort();
        names
    }

    /// The free-form string metadata of the file header.
    pub fn metadata(&self) -> HashMap<String, String> {
        SafeTensors::read_metadata(&self.bytes)
            .ok()
            .and_then(|(_, m)| m.metadata().clone())
            .unwrap_or_default()
    }

    fn err(&self, name: &str, message: String) -> ArtifactError {
        ArtifactError::Tensor {
            path: self.path.clone(),
            name: name.to_string(),
            message,
        }
    }

    /// Shape of tensor `name`.
    pub fn shape(&self, name: &str) -> Result<Vec<usize>> {
        let parsed = self.parsed();
        let view = parsed
            .tensor(name)
            .map_err(|_| self.err(name, "missing".into()))?;
        Ok(view.shape().to_vec())
    }

    /// Reads tensor `name` as `T`; checks its dtype and, when given, its rank.
    pub fn read<T: Element>(&self, name: &str, rank: Option<usize>) -> Result<Tensor<T>> {
        let parsed = self.parsed();
        let view = parsed.tensor(name).map_err(|_| {
            self.err(
                name,
                format!("missing (file holds: {})", self.names().join(", ")),
            )
        })?;
        if view.dtype() != T::DTYPE {
            return Err(self.err(
                name,
                format!("dtype {:?}, expected {:?}", view.dtype(), T::DTYPE),
            ));
        }
        let shape = view.shape().to_vec();
        if let Some(rank) = rank {
            if shape.len() != rank {
                return Err(self.err(name, format!("shape {shape:?}, expected rank {rank}")));
            }
        }
        let width = std::mem::size_of::<T>();
        let data = view.data().chunks_exact(width).map(T::from_le).collect();
        Ok(Tensor { shape, data })
    }
}

/// One tensor of a safetensors file read a range of rows at a time, never whole: what a
/// stage streaming rows from a file larger than memory uses.
#[derive(Debug)]
pub struct TensorRows<T> {
    path: PathBuf,
    file: std::fs::File,
    shape: Vec<usize>,
    /// Where the tensor's data starts in the file.
    start: u64,
    _element: std::marker::PhantomData<T>,
}

impl<T: Element> TensorRows<T> {
    /// Opens tensor `name` of `path` (rank 1 or more, dtype `T`), reading only the header.
    pub fn open(path: &Path, name: &str) -> Result<Self> {
        Self::open_if_present(path, name)?.ok_or_else(|| ArtifactError::Tensor {
            path: path.to_path_buf(),
            name: name.to_string(),
            message: "missing".into(),
        })
    }

    /// [`TensorRows::open`], or none when the file holds no tensor `name` (optional
    /// tensors: a split's labels).
    pub fn open_if_present(path: &Path, name: &str) -> Result<Option<Self>> {
        use std::io::Read;
        let err = |message: String| ArtifactError::Tensor {
            path: path.to_path_buf(),
            name: name.to_string(),
            message,
        };
        let mut file = std::fs::File::open(path).map_err(|e| ArtifactError::io(path, e))?;
        let size = file
            .metadata()
            .map_err(|e| ArtifactError::io(path, e))?
            .len();
        let mut len = [0u8; 8];
        file.read_exact(&mut len)
            .map_err(|e| ArtifactError::io(path, e))?;
        let header_len = u64::from_le_bytes(len);
        if header_len > size.saturating_sub(8) || header_len > 100 << 20 {
            return Err(err(format!(
                "header of {header_len} bytes in a file of {size}: not a safetensors file"
            )));
        }
        let mut header = vec![0u8; header_len as usize];
        file.read_exact(&mut header)
            .map_err(|e| ArtifactError::io(path, e))?;
        let header: serde_json::Value =
            serde_json::from_slice(&header).map_err(|e| err(format!("unreadable header: {e}")))?;
        let Some(entry) = header.get(name) else {
            return Ok(None);
        };
        let dtype = entry.get("dtype").and_then(|d| d.as_str()).unwrap_or("?");
        if dtype != format!("{:?}", T::DTYPE) {
            return Err(err(format!("dtype {dtype}, expected {:?}", T::DTYPE)));
        }
        let numbers = |key: &str| -> Option<Vec<usize>> {
            entry
                .get(key)?
                .as_array()?
                .iter()
                .map(|v| v.as_u64().map(|v| v as usize))
                .collect()
        };
        let (Some(shape), Some(offsets)) = (numbers("shape"), numbers("data_offsets")) else {
            return Err(err("no shape or data offsets".into()));
        };
        let bytes = shape.iter().product::<usize>() * std::mem::size_of::<T>();
        let start = 8 + header_len + offsets.first().copied().unwrap_or(0) as u64;
        if shape.is_empty()
            || offsets.len() != 2
            || offsets[1].checked_sub(offsets[0]) != Some(bytes)
            || start + bytes as u64 > size
        {
            return Err(err(format!(
                "shape {shape:?} and offsets {offsets:?} do not fit a file of {size} bytes"
            )));
        }
        Ok(Some(Self {
            path: path.to_path_buf(),
            file,
            shape,
            start,
            _element: std::marker::PhantomData,
        }))
    }

    /// The tensor's shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// Rows (the outermost dimension).
    pub fn rows(&self) -> usize {
        self.shape[0]
    }

    /// Elements per row.
    pub fn row_len(&self) -> usize {
        self.shape[1..].iter().product()
    }

    /// Rows `range`, row-major.
    pub fn read(&mut self, range: std::ops::Range<usize>) -> Result<Vec<T>> {
        use std::io::{Read, Seek, SeekFrom};
        assert!(
            range.end <= self.rows(),
            "rows {range:?} of {}",
            self.rows()
        );
        let width = std::mem::size_of::<T>();
        let row_bytes = self.row_len() * width;
        let mut bytes = vec![0u8; range.len() * row_bytes];
        self.file
            .seek(SeekFrom::Start(
                self.start + (range.start * row_bytes) as u64,
            ))
            .and_then(|_| self.file.read_exact(&mut bytes))
            .map_err(|e| ArtifactError::io(&self.path, e))?;
        Ok(bytes.chunks_exact(width).map(T::from_le).collect())
    }

    /// The rows `indices` (ascending), row-major in that order; runs of consecutive rows
    /// are read at once.
    pub fn gather(&mut self, indices: &[usize]) -> Result<Vec<T>> {
        let mut out = Vec::with_capacity(indices.len() * self.row_len());
        let mut i = 0;
        while i < indices.len() {
            let mut j = i + 1;
            while j < indices.len() && indices[j] == indices[j - 1] + 1 {
                j += 1;
            }
            out.extend(self.read(indices[i]..indices[j - 1] + 1)?);
            i = j;
        }
        Ok(out)
    }
}

/// A tensor announced before its bytes: name, dtype and shape (see [`write_in_pieces`]).
#[derive(Debug, Clone, PartialEq)]
pub struct TensorSpec {
    name: String,
    dtype: Dtype,
    shape: Vec<usize>,
}

impl TensorSpec {
    /// Tensor `name` of elements `T` and `shape`.
    pub fn of<T: Element>(name: &str, shape: &[usize]) -> Self {
        Self {
            name: name.to_string(),
            dtype: T::DTYPE,
            shape: shape.to_vec(),
        }
    }

    /// Its size in bytes.
    pub fn bytes(&self) -> usize {
        self.shape.iter().product::<usize>() * self.dtype.bitsize() / 8
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// A tensor whose header entry is made without its bytes.
struct Announced<'a>(&'a TensorSpec);

impl safetensors::View for Announced<'_> {
    fn dtype(&self) -> Dtype {
        self.0.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.0.shape
    }
    fn data(&self) -> std::borrow::Cow<'_, [u8]> {
        std::borrow::Cow::Borrowed(&[])
    }
    fn data_len(&self) -> usize {
        self.0.bytes()
    }
}

/// Writes the safetensors file of `tensors` to `path` atomically, byte-identical to what
/// [`TensorWriter`] writes for the same tensors, without any tensor in memory whole:
/// `fill(i, out)` writes tensor `tensors[i]`'s little-endian bytes to `out` in as many
/// pieces as it likes (rows of one shard after another), called in the file's order.
pub fn write_in_pieces(
    path: &Path,
    tensors: &[TensorSpec],
    mut fill: impl FnMut(usize, &mut dyn std::io::Write) -> Result<()>,
) -> Result<()> {
    use std::io::Write;
    let io = |e| ArtifactError::io(path, e);
    // The header as safetensors makes it: the data section follows, in its order.
    let header =
        safetensors::serialize(tensors.iter().map(|t| (t.name.clone(), Announced(t))), None)
            .map_err(|e| ArtifactError::Safetensors {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
    let mut order: Vec<usize> = (0..tensors.len()).collect();
    // Descending alignment, then name: safetensors' order (checked below by the sizes).
    order.sort_by(|&a, &b| {
        (tensors[b].dtype, &tensors[a].name).cmp(&(tensors[a].dtype, &tensors[b].name))
    });
    let tmp = PathBuf::from(format!("{}.tmp", path.display()));
    let result = (|| {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&tmp).map_err(io)?);
        out.write_all(&header).map_err(io)?;
        for i in order {
            let mut counted = Counted {
                inner: &mut out,
                bytes: 0,
            };
            fill(i, &mut counted)?;
            if counted.bytes != tensors[i].bytes() {
                return Err(ArtifactError::Tensor {
                    path: path.to_path_buf(),
                    name: tensors[i].name.clone(),
                    message: format!(
                        "{} bytes written for a tensor of {}",
                        counted.bytes,
                        tensors[i].bytes()
                    ),
                });
            }
        }
        out.flush().map_err(io)?;
        drop(out);
        std::fs::rename(&tmp, path).map_err(io)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// A writer that counts what passes through it.
struct Counted<'a, W> {
    inner: &'a mut W,
    bytes: usize,
}

impl<W: std::io::Write> std::io::Write for Counted<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Collects named tensors and writes them to one safetensors file atomically.
#[derive(Debug, Default)]
pub struct TensorWriter {
    entries: Vec<(String, Dtype, Vec<usize>, Vec<u8>)>,
    metadata: HashMap<String, String>,
}

impl TensorWriter {
    /// An empty writer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds tensor `name`; panics when `data` does not fill `shape` (a programming error).
    pub fn add<T: Element>(&mut self, name: &str, shape: &[usize], data: &[T]) -> &mut Self {
        assert_eq!(
            shape.iter().product::<usize>(),
            data.len(),
            "tensor `{name}` data does not fill its shape {shape:?}"
        );
        let mut bytes = Vec::with_capacity(std::mem::size_of_val(data));
        for &x in data {
            x.extend_le(&mut bytes);
        }
        self.entries
            .push((name.to_string(), T::DTYPE, shape.to_vec(), bytes));
        self
    }

    /// Adds a string entry to the file header's metadata.
    pub fn metadata(&mut self, key: &str, value: &str) -> &mut Self {
        self.metadata.insert(key.to_string(), value.to_string());
        self
    }

    /// Writes the file through a temporary name and a rename.
    pub fn write(&self, path: &Path) -> Result<()> {
        let views = self
            .entries
            .iter()
            .map(|(name, dtype, shape, bytes)| {
                TensorView::new(*dtype, shape.clone(), bytes)
                    .map(|v| (name.clone(), v))
                    .map_err(|e| ArtifactError::Tensor {
                        path: path.to_path_buf(),
                        name: name.clone(),
                        message: e.to_string(),
                    })
            })
            .collect::<Result<Vec<_>>>()?;
        let metadata = (!self.metadata.is_empty()).then(|| self.metadata.clone());
        let bytes =
            safetensors::serialize(views, metadata).map_err(|e| ArtifactError::Safetensors {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
        let tmp = PathBuf::from(format!("{}.tmp", path.display()));
        std::fs::write(&tmp, bytes).map_err(|e| ArtifactError::io(&tmp, e))?;
        std::fs::rename(&tmp, path).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            ArtifactError::io(path, e)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_checks() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("t.safetensors");
        TensorWriter::new()
            .add("images", &[2, 2, 2], &[0u8, 1, 2, 3, 4, 5, 6, 255])
            .add("codes", &[2, 3], &[1.5f32, -2.0, 0.0, 3.25, 1e-8, 7.0])
            .metadata("kind", "demo")
            .write(&path)
            .unwrap();
        let file = TensorFile::open(&path).unwrap();
        assert_eq!(file.names(), vec!["codes", "images"]);
        assert_eq!(
            file.metadata().get("kind").map(String::as_str),
            Some("demo")
        );
        let images = file.read::<u8>("images", Some(3)).unwrap();
        assert_eq!(images.shape, vec![2, 2, 2]);
        assert_eq!(images.data[7], 255);
        let codes = file.read::<f32>("codes", None).unwrap();
        assert_eq!(codes.data, vec![1.5, -2.0, 0.0, 3.25, 1e-8, 7.0]);

        let err = file.read::<f32>("images", None).unwrap_err().to_string();
        assert!(err.contains("t.safetensors") && err.contains("`images`") && err.contains("dtype"));
        let err = file.read::<u8>("images", Some(2)).unwrap_err().to_string();
        assert!(err.contains("rank 2"), "{err}");
        let err = file.read::<u8>("labels", None).unwrap_err().to_string();
        assert!(err.contains("`labels`: missing"), "{err}");
    }

    #[test]
    fn rows_are_read_a_range_at_a_time_as_the_whole_file_reads_them() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("t.safetensors");
        let codes: Vec<f32> = (0..5 * 3).map(|v| v as f32 * 0.5 - 2.0).collect();
        TensorWriter::new()
            .add("labels", &[5], &[4u8, 3, 2, 1, 0])
            .add("codes", &[5, 3], &codes)
            .write(&path)
            .unwrap();
        let mut rows = TensorRows::<f32>::open(&path, "codes").unwrap();
        assert_eq!((rows.rows(), rows.row_len()), (5, 3));
        assert_eq!(rows.read(1..3).unwrap(), codes[3..9]);
        assert_eq!(rows.read(0..5).unwrap(), codes);
        assert!(rows.read(4..4).unwrap().is_empty());
        let gathered = rows.gather(&[0, 2, 3]).unwrap();
        assert_eq!(gathered, [&codes[0..3], &codes[6..12]].concat());
        let mut labels = TensorRows::<u8>::open(&path, "labels").unwrap();
        assert_eq!(labels.read(3..5).unwrap(), vec![1, 0]);
        let err = TensorRows::<u8>::open(&path, "codes")
            .unwrap_err()
            .to_string();
        assert!(err.contains("dtype F32, expected U8"), "{err}");
        let err = TensorRows::<f32>::open(&path, "images")
            .unwrap_err()
            .to_string();
        assert!(err.contains("`images`: missing"), "{err}");
        // A file cut short is refused at opening, before any row is read.
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 10]).unwrap();
        let err = TensorRows::<f32>::open(&path, "codes")
            .unwrap_err()
            .to_string();
        assert!(err.contains("do not fit"), "{err}");
    }

    #[test]
    fn a_file_written_in_pieces_is_the_file_written_whole() {
        let tmp = tempfile::tempdir().unwrap();
        let codes: Vec<f32> = (0..4 * 3).map(|v| v as f32 - 5.5).collect();
        let labels = [3u8, 1, 4, 1];
        let whole = tmp.path().join("whole.safetensors");
        TensorWriter::new()
            .add("labels", &[4], &labels)
            .add("codes", &[4, 3], &codes)
            .write(&whole)
            .unwrap();
        let pieces = tmp.path().join("pieces.safetensors");
        let specs = [
            TensorSpec::of::<u8>("labels", &[4]),
            TensorSpec::of::<f32>("codes", &[4, 3]),
        ];
        write_in_pieces(&pieces, &specs, |i, out| {
            // Two rows at a time.
            for rows in 0..2 {
                let bytes: Vec<u8> = if i == 0 {
                    labels[2 * rows..2 * rows + 2].to_vec()
                } else {
                    codes[6 * rows..6 * rows + 6]
                        .iter()
                        .flat_map(|v| v.to_le_bytes())
                        .collect()
                };
                out.write_all(&bytes)
                    .map_err(|e| ArtifactError::io(Path::new("test"), e))?;
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(
            std::fs::read(&pieces).unwrap(),
            std::fs::read(&whole).unwrap()
        );
        // A tensor given too few bytes leaves no file.
        let short = tmp.path().join("short.safetensors");
        let err = write_in_pieces(&short, &specs[..1], |_, out| {
            out.write_all(&[1, 2])
                .map_err(|e| ArtifactError::io(Path::new("test"), e))
        })
        .unwrap_err()
        .to_string();
        assert!(err.contains("2 bytes written for a tensor of 4"), "{err}");
        assert!(!short.exists() && !tmp.path().join("short.safetensors.tmp").exists());
    }

    #[test]
    fn rejects_garbage() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("bad.safetensors");
        std::fs::write(&path, b"definitely not safetensors").unwrap();
        let err = TensorFile::open(&path).unwrap_err().to_string();
        assert!(err.contains("bad.safetensors") && err.contains("not a valid safetensors"));
    }
}
