//! A small `.npy` reader and writer: little-endian `f32`, `f64`, `i64`, `i32`, C order,
//! 1-D and 2-D. Anything else (big-endian, Fortran order, other dtypes, 3-D) is refused
//! with an error that names the file and what was found.
//!
//! Reading streams the payload straight into the typed vector, so a 72 MB probability
//! matrix costs 72 MB of memory, not twice that.

use std::io::Read;
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 6] = b"\x93NUMPY";

#[derive(Debug, thiserror::Error)]
pub enum NpyError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not a .npy file ({reason})")]
    Format { path: PathBuf, reason: String },
    #[error("{path}: unsupported dtype {descr:?} (supported: little-endian float32, float64, int64, int32)")]
    Dtype { path: PathBuf, descr: String },
    #[error("{path}: Fortran-order arrays are not supported; save with np.ascontiguousarray")]
    FortranOrder { path: PathBuf },
    #[error("{path}: shape {shape:?} is not supported (1-D or 2-D only)")]
    Shape { path: PathBuf, shape: Vec<usize> },
    #[error(
        "{path}: shape {shape:?} of {item_bytes}-byte values is larger than any file can hold"
    )]
    ShapeOverflow {
        path: PathBuf,
        shape: Vec<usize>,
        item_bytes: u64,
    },
    #[error("{path}: the file ends early: {expected} data bytes expected, {found} present")]
    Truncated {
        path: PathBuf,
        expected: u64,
        found: u64,
    },
    #[error("{path}: {len} values do not fill shape {shape:?}")]
    Length {
        path: PathBuf,
        len: usize,
        shape: Vec<usize>,
    },
}

/// The typed payload of an array.
#[derive(Debug, Clone, PartialEq)]
pub enum NpyData {
    F32(Vec<f32>),
    F64(Vec<f64>),
    I64(Vec<i64>),
    I32(Vec<i32>),
}

impl NpyData {
    pub fn len(&self) -> usize {
        match self {
            NpyData::F32(v) => v.len(),
            NpyData::F64(v) => v.len(),
            NpyData::I64(v) => v.len(),
            NpyData::I32(v) => v.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The NumPy dtype name, for messages.
    pub fn dtype_name(&self) -> &'static str {
        match self {
            NpyData::F32(_) => "float32",
            NpyData::F64(_) => "float64",
            NpyData::I64(_) => "int64",
            NpyData::I32(_) => "int32",
        }
    }
}

/// A 1-D or 2-D array read from a `.npy` file (row-major).
#[derive(Debug, Clone, PartialEq)]
pub struct NpyArray {
    pub shape: Vec<usize>,
    pub data: NpyData,
}

impl NpyArray {
    /// Rows and columns; a 1-D array is one column.
    pub fn rows_cols(&self) -> (usize, usize) {
        match self.shape.as_slice() {
            [n] => (*n, 1),
            [n, k] => (*n, *k),
            _ => (0, 0),
        }
    }
}

/// Element types the writer (and reader) handle.
pub trait NpyElement: Copy {
    const DESCR: &'static str;
    const SIZE: usize;
    fn put_le(self, out: &mut Vec<u8>);
}

impl NpyElement for f32 {
    const DESCR: &'static str = "<f4";
    const SIZE: usize = 4;
    fn put_le(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
}
impl NpyElement for f64 {
    const DESCR: &'static str = "<f8";
    const SIZE: usize = 8;
    fn put_le(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
}
impl NpyElement for i64 {
    const DESCR: &'static str = "<i8";
    const SIZE: usize = 8;
    fn put_le(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
}
impl NpyElement for i32 {
    const DESCR: &'static str = "<i4";
    const SIZE: usize = 4;
    fn put_le(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
}

/// The bytes of a version 1.0 `.npy` file holding `data` with `shape` (C order).
pub fn to_npy_bytes<T: NpyElement>(shape: &[usize], data: &[T]) -> Vec<u8> {
    let shape_text = match shape {
        [n] => format!("({n},)"),
        dims => {
            let parts: Vec<String> = dims.iter().map(|d| d.to_string()).collect();
            format!("({})", parts.join(", "))
        }
    };
    let mut header = format!(
        "{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}",
        T::DESCR,
        shape_text
    );
    // Pad so that the payload starts on a 64-byte boundary, as NumPy does.
    let unpadded = MAGIC.len() + 2 + 2 + header.len() + 1;
    header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + data.len() * T::SIZE);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for &v in data {
        v.put_le(&mut out);
    }
    out
}

/// Writes `data` with `shape` to `path` atomically.
pub fn write_npy<T: NpyElement>(path: &Path, shape: &[usize], data: &[T]) -> Result<(), NpyError> {
    let expected: usize = shape.iter().product();
    if expected != data.len() {
        return Err(NpyError::Length {
            path: path.to_path_buf(),
            len: data.len(),
            shape: shape.to_vec(),
        });
    }
    crate::workspace::write_atomic(path, &to_npy_bytes(shape, data)).map_err(|source| {
        NpyError::Io {
            path: path.to_path_buf(),
            source,
        }
    })
}

struct Header {
    descr: String,
    fortran: bool,
    shape: Vec<usize>,
}

fn parse_header(text: &str) -> Result<Header, String> {
    let descr = dict_value(text, "descr").ok_or("no 'descr' in header")?;
    let descr = descr
        .trim()
        .trim_matches(|c| c == '\'' || c == '"')
        .to_string();
    let fortran = match dict_value(text, "fortran_order").map(str::trim) {
        Some("True") => true,
        Some("False") => false,
        _ => return Err("no 'fortran_order' in header".into()),
    };
    let shape_text = dict_value(text, "shape").ok_or("no 'shape' in header")?;
    let inner = shape_text
        .trim()
        .trim_start_matches('(')
        .trim_end_matches(')');
    let mut shape = Vec::new();
    for part in inner.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        shape.push(
            part.trim_end_matches('L')
                .parse::<usize>()
                .map_err(|_| format!("bad shape {shape_text}"))?,
        );
    }
    Ok(Header {
        descr,
        fortran,
        shape,
    })
}

/// The raw text of `key`'s value in NumPy's header dict (values never contain `:` and
/// tuples are the only values with commas).
fn dict_value<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let start = text
        .find(&format!("'{key}'"))
        .or_else(|| text.find(&format!("\"{key}\"")))?;
    let rest = &text[start + key.len() + 2..];
    let rest = rest.trim_start().strip_prefix(':')?.trim_start();
    if rest.starts_with('(') {
        let end = rest.find(')')?;
        Some(&rest[..=end])
    } else {
        let end = rest.find([',', '}']).unwrap_or(rest.len());
        Some(&rest[..end])
    }
}

/// Reads a `.npy` file.
pub fn read_npy(path: &Path) -> Result<NpyArray, NpyError> {
    let io = |source| NpyError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let file_len = file.metadata().map_err(io)?.len();
    read_npy_from(
        std::io::BufReader::with_capacity(1 << 20, file),
        file_len,
        path,
    )
}

/// Reads a `.npy` image held in memory; `name` is used in error messages.
pub fn read_npy_bytes(bytes: &[u8], name: &Path) -> Result<NpyArray, NpyError> {
    read_npy_from(bytes, bytes.len() as u64, name)
}

fn read_npy_from(mut r: impl Read, total_len: u64, path: &Path) -> Result<NpyArray, NpyError> {
    let fmt = |reason: String| NpyError::Format {
        path: path.to_path_buf(),
        reason,
    };
    let mut pre = [0u8; 8];
    r.read_exact(&mut pre)
        .map_err(|_| fmt("shorter than the .npy preamble".into()))?;
    if &pre[..6] != MAGIC {
        return Err(fmt("missing the \\x93NUMPY magic".into()));
    }
    let (header_len, pre_len) = match pre[6] {
        1 => {
            let mut b = [0u8; 2];
            r.read_exact(&mut b)
                .map_err(|_| fmt("truncated header length".into()))?;
            (u16::from_le_bytes(b) as usize, 10u64)
        }
        2 | 3 => {
            let mut b = [0u8; 4];
            r.read_exact(&mut b)
                .map_err(|_| fmt("truncated header length".into()))?;
            (u32::from_le_bytes(b) as usize, 12u64)
        }
        v => return Err(fmt(format!("unknown format version {v}"))),
    };
    if header_len as u64 + pre_len > total_len {
        return Err(fmt("header longer than the file".into()));
    }
    let mut header = vec![0u8; header_len];
    r.read_exact(&mut header)
        .map_err(|_| fmt("truncated header".into()))?;
    let text = String::from_utf8_lossy(&header);
    let h = parse_header(&text).map_err(fmt)?;
    if h.fortran {
        return Err(NpyError::FortranOrder {
            path: path.to_path_buf(),
        });
    }
    if h.shape.is_empty() || h.shape.len() > 2 {
        return Err(NpyError::Shape {
            path: path.to_path_buf(),
            shape: h.shape,
        });
    }
    let kind = match h.descr.as_str() {
        "<f4" | "=f4" => 0,
        "<f8" | "=f8" => 1,
        "<i8" | "=i8" => 2,
        "<i4" | "=i4" => 3,
        _ => {
            return Err(NpyError::Dtype {
                path: path.to_path_buf(),
                descr: h.descr,
            })
        }
    };
    let size = if kind == 0 || kind == 3 { 4u64 } else { 8u64 };
    // The shape comes from the file: multiply with checks, or a wrapped product could pass
    // the length test below and ask for an impossible allocation.
    let overflow = || NpyError::ShapeOverflow {
        path: path.to_path_buf(),
        shape: h.shape.clone(),
        item_bytes: size,
    };
    let count = h
        .shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(overflow)?;
    let expected = u64::try_from(count)
        .ok()
        .and_then(|c| c.checked_mul(size))
        .ok_or_else(overflow)?;
    let available = total_len - pre_len - header_len as u64;
    if available < expected {
        return Err(NpyError::Truncated {
            path: path.to_path_buf(),
            expected,
            found: available,
        });
    }
    let mut reader = ChunkReader { r: &mut r, path };
    let data = match kind {
        0 => NpyData::F32(reader.read_vec(count, f32::from_le_bytes)?),
        1 => NpyData::F64(reader.read_vec(count, f64::from_le_bytes)?),
        2 => NpyData::I64(reader.read_vec(count, i64::from_le_bytes)?),
        _ => NpyData::I32(reader.read_vec(count, i32::from_le_bytes)?),
    };
    Ok(NpyArray {
        shape: h.shape,
        data,
    })
}

struct ChunkReader<'a, R: Read> {
    r: &'a mut R,
    path: &'a Path,
}

impl<R: Read> ChunkReader<'_, R> {
    /// Decodes `count` little-endian values of `N` bytes through a fixed 64 KB buffer.
    fn read_vec<T, const N: usize>(
        &mut self,
        count: usize,
        decode: fn([u8; N]) -> T,
    ) -> Result<Vec<T>, NpyError> {
        let mut out = Vec::with_capacity(count);
        let mut buf = vec![0u8; (1 << 16) / N * N];
        let mut left = count;
        while left > 0 {
            let take = left.min(buf.len() / N);
            let bytes = &mut buf[..take * N];
            self.r.read_exact(bytes).map_err(|source| NpyError::Io {
                path: self.path.to_path_buf(),
                source,
            })?;
            out.extend(bytes.chunks_exact(N).map(|c| {
                let mut a = [0u8; N];
                a.copy_from_slice(c);
                decode(a)
            }));
            left -= take;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_supported_dtype() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.npy");
        write_npy(&p, &[2, 3], &[0.5f32, 1.0, 0.0, 0.25, 0.125, 1e-7]).unwrap();
        let a = read_npy(&p).unwrap();
        assert_eq!(a.shape, vec![2, 3]);
        assert_eq!(a.data, NpyData::F32(vec![0.5, 1.0, 0.0, 0.25, 0.125, 1e-7]));
        write_npy(&p, &[3], &[1.5f64, -2.0, 3.0]).unwrap();
        assert_eq!(
            read_npy(&p).unwrap().data,
            NpyData::F64(vec![1.5, -2.0, 3.0])
        );
        assert_eq!(read_npy(&p).unwrap().rows_cols(), (3, 1));
        write_npy(&p, &[2], &[7i64, -1]).unwrap();
        assert_eq!(read_npy(&p).unwrap().data, NpyData::I64(vec![7, -1]));
        write_npy(&p, &[2], &[7i32, 9]).unwrap();
        assert_eq!(read_npy(&p).unwrap().data, NpyData::I32(vec![7, 9]));
    }

    #[test]
    fn header_is_padded_to_64_bytes_like_numpy() {
        let bytes = to_npy_bytes(&[4, 18], &[0f32; 72]);
        let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        assert_eq!((10 + header_len) % 64, 0);
        assert_eq!(bytes[10 + header_len - 1], b'\n');
        assert_eq!(bytes.len(), 10 + header_len + 72 * 4);
    }

    #[test]
    fn large_arrays_cross_buffer_boundaries() {
        let data: Vec<f64> = (0..100_003).map(|i| i as f64 * 0.5).collect();
        let bytes = to_npy_bytes(&[data.len()], &data);
        let a = read_npy_bytes(&bytes, Path::new("x.npy")).unwrap();
        assert_eq!(a.data, NpyData::F64(data));
    }

    fn with_header(header: &str, payload: &[u8]) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&[1, 0]);
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(payload);
        out
    }

    #[test]
    fn overflowing_shapes_are_refused_naming_the_file() {
        let name = Path::new("probs.npy");
        // Element count x item size wraps to 8 (and to 0): the length check must not pass.
        for (descr, shape, payload) in [
            ("<f8", "(2305843009213693953, 1)", 8usize),
            ("<i8", "(2305843009213693953,)", 8),
            ("<f4", "(2305843009213693952, 2)", 0),
            ("<f4", "(18446744073709551615, 18446744073709551615)", 0),
        ] {
            let header =
                format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}\n");
            let e = read_npy_bytes(&with_header(&header, &vec![0; payload]), name).unwrap_err();
            assert!(
                matches!(e, NpyError::ShapeOverflow { .. }),
                "{descr} {shape}: {e}"
            );
            let text = e.to_string();
            assert!(
                text.contains("probs.npy") && text.contains("larger than any file"),
                "{text}"
            );
        }
    }

    #[test]
    fn refuses_what_it_cannot_read_with_clear_errors() {
        let name = Path::new("probs.npy");
        let e = read_npy_bytes(
            &with_header(
                "{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }\n",
                &[0; 4],
            ),
            name,
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("probs.npy") && e.to_string().contains(">f4"),
            "{e}"
        );
        let e = read_npy_bytes(
            &with_header(
                "{'descr': '<f4', 'fortran_order': True, 'shape': (1, 1), }\n",
                &[0; 4],
            ),
            name,
        )
        .unwrap_err();
        assert!(matches!(e, NpyError::FortranOrder { .. }), "{e}");
        let e = read_npy_bytes(
            &with_header(
                "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 1), }\n",
                &[0; 4],
            ),
            name,
        )
        .unwrap_err();
        assert!(matches!(e, NpyError::Shape { .. }), "{e}");
        let e = read_npy_bytes(
            &with_header(
                "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }\n",
                &[0; 16],
            ),
            name,
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("24 data bytes expected, 16 present"),
            "{e}"
        );
        let e = read_npy_bytes(b"PK\x03\x04 not numpy", name).unwrap_err();
        assert!(e.to_string().contains("magic"), "{e}");
        let e = read_npy_bytes(
            &with_header(
                "{'descr': '<U3', 'fortran_order': False, 'shape': (1,), }\n",
                &[0; 12],
            ),
            name,
        )
        .unwrap_err();
        assert!(matches!(e, NpyError::Dtype { .. }), "{e}");
    }
}
