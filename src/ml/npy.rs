//! Minimal `.npy` (NumPy format 1.0) reading and writing for 2-D little-endian f32 arrays,
//! the probability files shared with the issues finder. Pure: no torch.

use std::path::Path;

const MAGIC: &[u8] = b"\x93NUMPY";

/// A row-major `rows x cols` f32 matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    pub rows: usize,
    pub cols: usize,
    pub data: Vec<f32>,
}

impl Matrix {
    pub fn new(rows: usize, cols: usize, data: Vec<f32>) -> Self {
        assert_eq!(
            rows * cols,
            data.len(),
            "matrix data does not match its shape"
        );
        Matrix { rows, cols, data }
    }
    pub fn row(&self, r: usize) -> &[f32] {
        &self.data[r * self.cols..(r + 1) * self.cols]
    }
}

/// The bytes of an `.npy` file holding `m`.
pub fn to_bytes(m: &Matrix) -> Vec<u8> {
    let mut header = format!(
        "{{'descr': '<f4', 'fortran_order': False, 'shape': ({}, {}), }}",
        m.rows, m.cols
    );
    // Magic (6) + version (2) + header length (2) + header must be a multiple of 64.
    let unpadded = MAGIC.len() + 4 + header.len() + 1;
    header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    header.push('\n');
    let mut out = Vec::with_capacity(MAGIC.len() + 4 + header.len() + m.data.len() * 4);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for v in &m.data {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

/// Writes `m` atomically.
pub fn write(path: &Path, m: &Matrix) -> std::io::Result<()> {
    crate::workspace::write_atomic(path, &to_bytes(m))
}

/// Parses an `.npy` holding a 2-D `<f4` C-order array.
pub fn from_bytes(bytes: &[u8]) -> Result<Matrix, String> {
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        return Err("not an .npy file (bad magic)".into());
    }
    let (header_len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        v => return Err(format!("unsupported .npy version {v}")),
    };
    let header = bytes
        .get(start..start + header_len)
        .and_then(|h| std::str::from_utf8(h).ok())
        .ok_or("truncated or non-text .npy header")?;
    if !header.contains("'descr': '<f4'") {
        return Err(format!(
            "expected little-endian float32 ('<f4'), header is {header}"
        ));
    }
    if header.contains("'fortran_order': True") {
        return Err("Fortran-order arrays are not supported".into());
    }
    let shape = header
        .split("'shape':")
        .nth(1)
        .and_then(|s| s.split_once('(')?.1.split_once(')').map(|(inner, _)| inner))
        .ok_or_else(|| format!("no shape in .npy header {header}"))?;
    let dims: Vec<usize> = shape
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<usize>()
                .map_err(|_| format!("bad shape `{shape}`"))
        })
        .collect::<Result<_, _>>()?;
    let [rows, cols] = dims[..] else {
        return Err(format!("expected a 2-D array, shape is ({shape})"));
    };
    let payload = &bytes[start + header_len..];
    if payload.len() != rows * cols * 4 {
        return Err(format!(
            "shape ({rows}, {cols}) needs {} data bytes, file has {}",
            rows * cols * 4,
            payload.len()
        ));
    }
    let data = payload
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    Ok(Matrix { rows, cols, data })
}

/// Reads an `.npy` file; errors name the file.
pub fn read(path: &Path) -> Result<Matrix, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    from_bytes(&bytes).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_header_is_aligned() {
        let m = Matrix::new(3, 2, vec![0.0, 1.0, 0.25, 0.75, -1.5, 1e-8]);
        let bytes = to_bytes(&m);
        let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        assert_eq!((10 + header_len) % 64, 0);
        assert_eq!(from_bytes(&bytes).unwrap(), m);
    }

    #[test]
    fn rejects_wrong_dtype_and_truncation() {
        let m = Matrix::new(2, 2, vec![1.0; 4]);
        let mut bytes = to_bytes(&m);
        bytes.truncate(bytes.len() - 1);
        assert!(from_bytes(&bytes).unwrap_err().contains("data bytes"));
        let text = String::from_utf8_lossy(&to_bytes(&m)).replace("<f4", "<f8");
        assert!(from_bytes(text.as_bytes()).is_err());
        assert!(from_bytes(b"hello").is_err());
    }
}
