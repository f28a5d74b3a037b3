//! Reads the tensors of a `torch.save` file (a state dict, as torchvision publishes its
//! weights) without PyTorch and without running it.
//!
//! Such a file is a zip archive of stored entries: `<name>/data.pkl`, a Python pickle that
//! describes the dict, and `<name>/data/<key>`, the raw little-endian bytes of each storage.
//! Loading a pickle in Python may call any function it names; this reader understands the
//! few opcodes a state dict uses and builds only dicts, tuples, numbers, strings and
//! tensors. A pickle that calls anything else (`os.system`, …) is refused, not run.
//! libtorch's own reader cannot be used instead: it does not accept the `OrderedDict` that
//! `torch.save(model.state_dict())` writes.

use super::WeightsError;
use std::io::Read;
use std::path::Path;

/// Element types of stored tensors (the safetensors names are `DType::name`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DType {
    F64,
    F32,
    F16,
    BF16,
    I64,
    I32,
    I16,
    I8,
    U8,
    Bool,
}

impl DType {
    pub fn size(self) -> usize {
        match self {
            DType::F64 | DType::I64 => 8,
            DType::F32 | DType::I32 => 4,
            DType::F16 | DType::BF16 | DType::I16 => 2,
            DType::I8 | DType::U8 | DType::Bool => 1,
        }
    }

    /// The dtype's name in a safetensors header.
    pub fn name(self) -> &'static str {
        match self {
            DType::F64 => "F64",
            DType::F32 => "F32",
            DType::F16 => "F16",
            DType::BF16 => "BF16",
            DType::I64 => "I64",
            DType::I32 => "I32",
            DType::I16 => "I16",
            DType::I8 => "I8",
            DType::U8 => "U8",
            DType::Bool => "BOOL",
        }
    }

    pub fn from_name(name: &str) -> Option<DType> {
        [
            DType::F64,
            DType::F32,
            DType::F16,
            DType::BF16,
            DType::I64,
            DType::I32,
            DType::I16,
            DType::I8,
            DType::U8,
            DType::Bool,
        ]
        .into_iter()
        .find(|d| d.name() == name)
    }

    /// The storage class a pickle names (`torch.FloatStorage`, …).
    fn from_storage_class(class: &str) -> Option<DType> {
        Some(match class.strip_prefix("torch.")? {
            "DoubleStorage" => DType::F64,
            "FloatStorage" => DType::F32,
            "HalfStorage" => DType::F16,
            "BFloat16Storage" => DType::BF16,
            "LongStorage" => DType::I64,
            "IntStorage" => DType::I32,
            "ShortStorage" => DType::I16,
            "CharStorage" => DType::I8,
            "ByteStorage" => DType::U8,
            "BoolStorage" => DType::Bool,
            _ => return None,
        })
    }
}

/// One tensor of a state dict: row-major little-endian bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedTensor {
    pub name: String,
    pub dtype: DType,
    pub shape: Vec<usize>,
    pub data: Vec<u8>,
}

impl NamedTensor {
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }
}

/// Bounds that keep a crafted file from exhausting memory or time.
const MAX_PICKLE_BYTES: u64 = 64 << 20;
const MAX_STACK: usize = 1 << 20;
const MAX_MEMO: usize = 1 << 20;
const MAX_DIMS: usize = 16;

/// Reads every tensor of the state dict in the `torch.save` file at `path`, in the file's
/// order. A checkpoint that wraps its weights (`{"state_dict": …}` or `{"model": …}`) is
/// unwrapped.
pub fn read_state_dict(path: &Path) -> Result<Vec<NamedTensor>, WeightsError> {
    let bad = |message: String| WeightsError::File {
        path: path.to_path_buf(),
        message,
    };
    let file = std::fs::File::open(path).map_err(|e| bad(e.to_string()))?;
    let file_len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut head = [0u8; 2];
    if (&file).read_exact(&mut head).is_ok() && head == [0x80, 0x02] {
        return Err(bad(
            "saved in PyTorch's legacy (pre-1.6) format; load it in Python and save it again with torch.save"
                .into(),
        ));
    }
    let mut archive = zip::ZipArchive::new(file)
        .map_err(|e| bad(format!("not a torch.save file (a zip archive): {e}")))?;
    let pickle_name = archive
        .file_names()
        .filter_map(|n| n.ok().map(|n| n.into_owned()))
        .filter(|n| n.ends_with("/data.pkl") || n == "data.pkl")
        .min_by_key(|n| n.len())
        .ok_or_else(|| bad("not a torch.save file: no data.pkl in the archive".into()))?;
    let prefix = pickle_name.trim_end_matches("data.pkl").to_owned();
    if let Ok(order) = read_entry(&mut archive, &format!("{prefix}byteorder"), 16) {
        if order != b"little" {
            return Err(bad(format!(
                "stored {} byte order; only little-endian files are read",
                String::from_utf8_lossy(&order)
            )));
        }
    }
    let pickle = read_entry(&mut archive, &pickle_name, MAX_PICKLE_BYTES)
        .map_err(|e| bad(format!("{pickle_name}: {e}")))?;
    let value = Unpickler::new(&pickle)
        .run()
        .map_err(|e| bad(format!("{pickle_name}: {e}")))?;
    let entries = state_dict_entries(value)
        .ok_or_else(|| bad("holds no state dict (a dict of tensors)".into()))?;

    // Materialise each tensor from its storage; a storage is read once.
    let mut storages: std::collections::HashMap<String, Vec<u8>> = Default::default();
    let mut out = Vec::with_capacity(entries.len());
    let mut total: u64 = 0;
    let budget = file_len.saturating_mul(16).max(1 << 20);
    for (name, t) in entries {
        if !storages.contains_key(&t.storage.key) {
            let entry = format!("{prefix}data/{}", t.storage.key);
            let bytes = read_entry(&mut archive, &entry, file_len.max(1))
                .map_err(|e| bad(format!("tensor {name}: storage {entry}: {e}")))?;
            let want = (t.storage.numel as u64).saturating_mul(t.storage.dtype.size() as u64);
            if (bytes.len() as u64) < want {
                return Err(bad(format!(
                    "tensor {name}: storage {entry} has {} bytes, its header says {want}",
                    bytes.len()
                )));
            }
            storages.insert(t.storage.key.clone(), bytes);
        }
        let storage = &storages[&t.storage.key];
        let data = gather(&t, storage).map_err(|m| bad(format!("tensor {name}: {m}")))?;
        total += data.len() as u64;
        if total > budget {
            return Err(bad(
                "its tensors would take far more memory than the file holds (views that repeat a storage)"
                    .into(),
            ));
        }
        out.push(NamedTensor {
            name,
            dtype: t.storage.dtype,
            shape: t.shape,
            data,
        });
    }
    Ok(out)
}

fn read_entry(
    archive: &mut zip::ZipArchive<std::fs::File>,
    name: &str,
    limit: u64,
) -> Result<Vec<u8>, String> {
    let entry = archive.by_name(name).map_err(|e| e.to_string())?;
    if entry.size() > limit {
        return Err(format!(
            "{} bytes, more than the {limit} allowed",
            entry.size()
        ));
    }
    let mut bytes = Vec::with_capacity(entry.size() as usize);
    entry
        .take(limit)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    Ok(bytes)
}

/// A tensor's bytes in row-major order, from its storage, offset and strides.
fn gather(t: &TensorRef, storage: &[u8]) -> Result<Vec<u8>, String> {
    let size = t.storage.dtype.size();
    let numel = t
        .shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .ok_or("its shape overflows")?;
    if numel == 0 {
        return Ok(Vec::new());
    }
    // The furthest element the view reaches must lie inside the storage.
    let mut last = t.offset;
    for (&d, &s) in t.shape.iter().zip(&t.stride) {
        last = (d - 1)
            .checked_mul(s)
            .and_then(|x| x.checked_add(last))
            .ok_or("its strides overflow")?;
    }
    if last >= t.storage.numel {
        return Err(format!(
            "reaches element {last} of a storage of {}",
            t.storage.numel
        ));
    }
    let contiguous = {
        let mut expect = 1usize;
        let mut ok = true;
        for (&d, &s) in t.shape.iter().zip(&t.stride).rev() {
            if d != 1 && s != expect {
                ok = false;
            }
            expect *= d;
        }
        ok
    };
    if contiguous {
        return Ok(storage[t.offset * size..(t.offset + numel) * size].to_vec());
    }
    let mut out = Vec::with_capacity(numel * size);
    let mut index = vec![0usize; t.shape.len()];
    for _ in 0..numel {
        let at = t.offset
            + index
                .iter()
                .zip(&t.stride)
                .map(|(i, s)| i * s)
                .sum::<usize>();
        out.extend_from_slice(&storage[at * size..(at + 1) * size]);
        for dim in (0..index.len()).rev() {
            index[dim] += 1;
            if index[dim] < t.shape[dim] {
                break;
            }
            index[dim] = 0;
        }
    }
    Ok(out)
}

/// The (name, tensor) pairs of the dict of tensors in `value` (or of the dict it wraps).
fn state_dict_entries(value: Value) -> Option<Vec<(String, TensorRef)>> {
    let Value::Dict(items) = value else {
        return None;
    };
    let tensors: Vec<(String, TensorRef)> = items
        .iter()
        .filter_map(|(k, v)| match (k, v) {
            (Value::Str(k), Value::Tensor(t)) => Some((k.clone(), t.clone())),
            _ => None,
        })
        .collect();
    if !tensors.is_empty() {
        return Some(tensors);
    }
    for wrapper in ["state_dict", "model"] {
        let inner = items.iter().find_map(|(k, v)| match k {
            Value::Str(k) if k == wrapper => Some(v.clone()),
            _ => None,
        });
        if let Some(found) = inner.and_then(state_dict_entries) {
            return Some(found);
        }
    }
    None
}

#[derive(Debug, Clone, PartialEq)]
struct StorageRef {
    dtype: DType,
    key: String,
    numel: usize,
}

#[derive(Debug, Clone, PartialEq)]
struct TensorRef {
    storage: StorageRef,
    offset: usize,
    shape: Vec<usize>,
    stride: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq)]
enum Value {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Tuple(Vec<Value>),
    List(Vec<Value>),
    Dict(Vec<(Value, Value)>),
    /// A name the pickle refers to (`module.name`); only a few may be called.
    Global(String),
    Storage(StorageRef),
    Tensor(TensorRef),
    Mark,
}

struct Unpickler<'a> {
    data: &'a [u8],
    at: usize,
    stack: Vec<Value>,
    memo: std::collections::HashMap<u32, Value>,
}

impl<'a> Unpickler<'a> {
    fn new(data: &'a [u8]) -> Self {
        Unpickler {
            data,
            at: 0,
            stack: Vec::new(),
            memo: Default::default(),
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.data.len())
            .ok_or_else(|| format!("the pickle ends early (byte {})", self.at))?;
        let bytes = &self.data[self.at..end];
        self.at = end;
        Ok(bytes)
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> Result<u32, String> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn line(&mut self) -> Result<String, String> {
        let rest = &self.data[self.at..];
        let end = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or("a name without its end of line")?;
        let text = String::from_utf8_lossy(&rest[..end]).into_owned();
        self.at += end + 1;
        Ok(text)
    }

    fn push(&mut self, v: Value) -> Result<(), String> {
        if self.stack.len() >= MAX_STACK {
            return Err("too deep".into());
        }
        self.stack.push(v);
        Ok(())
    }

    fn pop(&mut self) -> Result<Value, String> {
        self.stack.pop().ok_or_else(|| "pops an empty stack".into())
    }

    /// Everything above the topmost mark (the mark removed).
    fn pop_mark(&mut self) -> Result<Vec<Value>, String> {
        let mark = self
            .stack
            .iter()
            .rposition(|v| *v == Value::Mark)
            .ok_or("no mark")?;
        let items = self.stack.split_off(mark + 1);
        self.stack.pop();
        Ok(items)
    }

    fn memoize(&mut self, key: u32) -> Result<(), String> {
        if self.memo.len() >= MAX_MEMO {
            return Err("too many memo entries".into());
        }
        let top = self.stack.last().ok_or("memoizes an empty stack")?.clone();
        self.memo.insert(key, top);
        Ok(())
    }

    fn recall(&mut self, key: u32) -> Result<(), String> {
        let v = self
            .memo
            .get(&key)
            .cloned()
            .ok_or_else(|| format!("memo {key} is not set"))?;
        self.push(v)
    }

    fn run(mut self) -> Result<Value, String> {
        loop {
            let op = self.u8()?;
            match op {
                0x80 => {
                    self.u8()?; // PROTO
                }
                0x95 => {
                    self.take(8)?; // FRAME
                }
                b'.' => return self.pop(),
                b'(' => self.push(Value::Mark)?,
                b'N' => self.push(Value::None)?,
                0x88 => self.push(Value::Bool(true))?,
                0x89 => self.push(Value::Bool(false))?,
                b'K' => {
                    let v = self.u8()?;
                    self.push(Value::Int(v.into()))?
                }
                b'M' => {
                    let b = self.take(2)?;
                    self.push(Value::Int(u16::from_le_bytes([b[0], b[1]]).into()))?
                }
                b'J' => {
                    let v = self.u32()? as i32;
                    self.push(Value::Int(v.into()))?
                }
                0x8a => {
                    // LONG1: a little-endian two's complement integer of n bytes.
                    let n = self.u8()? as usize;
                    let b = self.take(n)?;
                    if n > 8 {
                        return Err("an integer wider than 64 bits".into());
                    }
                    let mut v: i64 = 0;
                    for (i, &byte) in b.iter().enumerate() {
                        v |= (byte as i64) << (8 * i);
                    }
                    if n > 0 && n < 8 && b[n - 1] & 0x80 != 0 {
                        v -= 1i64 << (8 * n);
                    }
                    self.push(Value::Int(v))?
                }
                b'G' => {
                    let b = self.take(8)?;
                    let mut a = [0u8; 8];
                    a.copy_from_slice(b);
                    self.push(Value::Float(f64::from_be_bytes(a)))?
                }
                b'X' => {
                    let n = self.u32()? as usize;
                    let s = String::from_utf8_lossy(self.take(n)?).into_owned();
                    self.push(Value::Str(s))?
                }
                0x8c => {
                    let n = self.u8()? as usize;
                    let s = String::from_utf8_lossy(self.take(n)?).into_owned();
                    self.push(Value::Str(s))?
                }
                b'c' => {
                    let module = self.line()?;
                    let name = self.line()?;
                    self.push(Value::Global(format!("{module}.{name}")))?
                }
                0x93 => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    match (module, name) {
                        (Value::Str(m), Value::Str(n)) => {
                            self.push(Value::Global(format!("{m}.{n}")))?
                        }
                        _ => return Err("STACK_GLOBAL without two names".into()),
                    }
                }
                b'q' => {
                    let k = self.u8()?;
                    self.memoize(k.into())?
                }
                b'r' => {
                    let k = self.u32()?;
                    self.memoize(k)?
                }
                0x94 => {
                    let k = self.memo.len() as u32;
                    self.memoize(k)?
                }
                b'h' => {
                    let k = self.u8()?;
                    self.recall(k.into())?
                }
                b'j' => {
                    let k = self.u32()?;
                    self.recall(k)?
                }
                b')' => self.push(Value::Tuple(Vec::new()))?,
                b't' => {
                    let items = self.pop_mark()?;
                    self.push(Value::Tuple(items))?
                }
                0x85..=0x87 => {
                    let n = (op - 0x84) as usize;
                    if self.stack.len() < n {
                        return Err("a tuple of missing items".into());
                    }
                    let items = self.stack.split_off(self.stack.len() - n);
                    if items.contains(&Value::Mark) {
                        return Err("a tuple over a mark".into());
                    }
                    self.push(Value::Tuple(items))?
                }
                b']' => self.push(Value::List(Vec::new()))?,
                b'a' => {
                    let v = self.pop()?;
                    match self.stack.last_mut() {
                        Some(Value::List(items)) => items.push(v),
                        _ => return Err("APPEND to something not a list".into()),
                    }
                }
                b'e' => {
                    let items = self.pop_mark()?;
                    match self.stack.last_mut() {
                        Some(Value::List(list)) => list.extend(items),
                        _ => return Err("APPENDS to something not a list".into()),
                    }
                }
                b'}' => self.push(Value::Dict(Vec::new()))?,
                b's' => {
                    let v = self.pop()?;
                    let k = self.pop()?;
                    match self.stack.last_mut() {
                        Some(Value::Dict(items)) => items.push((k, v)),
                        _ => return Err("SETITEM on something not a dict".into()),
                    }
                }
                b'u' => {
                    let items = self.pop_mark()?;
                    if !items.len().is_multiple_of(2) {
                        return Err("SETITEMS with an odd number of items".into());
                    }
                    let mut pairs = Vec::with_capacity(items.len() / 2);
                    let mut it = items.into_iter();
                    while let (Some(k), Some(v)) = (it.next(), it.next()) {
                        pairs.push((k, v));
                    }
                    match self.stack.last_mut() {
                        Some(Value::Dict(d)) => d.extend(pairs),
                        _ => return Err("SETITEMS on something not a dict".into()),
                    }
                }
                b'b' => {
                    // BUILD: the object's state (a dict's `_metadata`); not needed.
                    self.pop()?;
                    if self.stack.is_empty() {
                        return Err("BUILD without an object".into());
                    }
                }
                b'Q' => {
                    let pid = self.pop()?;
                    let storage = persistent_storage(pid)?;
                    self.push(Value::Storage(storage))?
                }
                b'R' => {
                    let args = self.pop()?;
                    let callable = self.pop()?;
                    let v = call(callable, args)?;
                    self.push(v)?
                }
                other => {
                    return Err(format!(
                        "pickle opcode 0x{other:02x} at byte {} is not one a state dict uses",
                        self.at - 1
                    ))
                }
            }
        }
    }
}

/// `('storage', torch.FloatStorage, key, location, numel)`: a storage in `data/<key>`.
fn persistent_storage(pid: Value) -> Result<StorageRef, String> {
    let Value::Tuple(items) = pid else {
        return Err("a persistent id that is not a tuple".into());
    };
    match items.as_slice() {
        [Value::Str(kind), Value::Global(class), Value::Str(key), Value::Str(_location), Value::Int(numel)]
            if kind == "storage" =>
        {
            let dtype = DType::from_storage_class(class)
                .ok_or_else(|| format!("storage type {class} is not read"))?;
            if key.contains(['/', '\\']) || key.contains("..") {
                return Err(format!("storage key {key:?} is not a plain name"));
            }
            let numel = usize::try_from(*numel).map_err(|_| "a negative storage size")?;
            Ok(StorageRef {
                dtype,
                key: key.clone(),
                numel,
            })
        }
        _ => Err("a persistent id that is not a storage".into()),
    }
}

fn usizes(v: &Value, what: &str) -> Result<Vec<usize>, String> {
    let Value::Tuple(items) = v else {
        return Err(format!("a tensor's {what} is not a tuple"));
    };
    if items.len() > MAX_DIMS {
        return Err(format!("a tensor of {} dimensions", items.len()));
    }
    items
        .iter()
        .map(|i| match i {
            Value::Int(n) if *n >= 0 => Ok(*n as usize),
            _ => Err(format!("a tensor's {what} holds something not a size")),
        })
        .collect()
}

/// REDUCE: the only calls a state dict makes. Anything else would run code in Python.
fn call(callable: Value, args: Value) -> Result<Value, String> {
    let Value::Global(name) = callable else {
        return Err("calls something that is not a named function".into());
    };
    let Value::Tuple(args) = args else {
        return Err(format!("calls {name} without an argument tuple"));
    };
    match name.as_str() {
        "collections.OrderedDict" if args.is_empty() => Ok(Value::Dict(Vec::new())),
        "torch._utils._rebuild_tensor_v2" | "torch._utils._rebuild_tensor" => {
            match args.as_slice() {
                [Value::Storage(storage), Value::Int(offset), size, stride, ..] => {
                    let shape = usizes(size, "size")?;
                    let stride = usizes(stride, "stride")?;
                    if shape.len() != stride.len() {
                        return Err("a tensor whose size and stride differ in length".into());
                    }
                    Ok(Value::Tensor(TensorRef {
                        storage: storage.clone(),
                        offset: usize::try_from(*offset).map_err(|_| "a negative offset")?,
                        shape,
                        stride,
                    }))
                }
                _ => Err(format!("{name} with unexpected arguments")),
            }
        }
        "torch._utils._rebuild_parameter" | "torch._utils._rebuild_parameter_with_state" => {
            match args.into_iter().next() {
                Some(t @ Value::Tensor(_)) => Ok(t),
                _ => Err(format!("{name} without a tensor")),
            }
        }
        _ => Err(format!(
            "it calls {name}: a weights file holds tensors only, and this one would run code when loaded; refused"
        )),
    }
}

#[cfg(test)]
pub(crate) mod tests;
