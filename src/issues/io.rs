//! Reading cleanlab-style arrays from files: labels and probabilities as `.npy` or CSV.
//! Every error names the file, and the line for CSV.

use crate::arrays::{read_npy, NpyData, NpyError};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ArrayFileError {
    #[error(transparent)]
    Npy(#[from] NpyError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}, line {line}: {reason}")]
    Csv {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    #[error("{path}: {reason}")]
    Content { path: PathBuf, reason: String },
}

/// Probabilities as read: one owned copy in the file's float type.
#[derive(Debug, Clone, PartialEq)]
pub enum ProbArray {
    F32 { data: Vec<f32>, k: usize },
    F64 { data: Vec<f64>, k: usize },
}

impl ProbArray {
    pub fn k(&self) -> usize {
        match self {
            ProbArray::F32 { k, .. } | ProbArray::F64 { k, .. } => *k,
        }
    }
    pub fn rows(&self) -> usize {
        match self {
            ProbArray::F32 { data, k } => data.len() / k.max(&1),
            ProbArray::F64 { data, k } => data.len() / k.max(&1),
        }
    }
}

fn is_npy(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("npy"))
}

/// Labels from a `.npy` (int64/int32, N or N x 1) or a CSV with one integer per line (an
/// optional non-numeric header line is skipped; with several columns the last is used).
pub fn read_labels(path: &Path) -> Result<Vec<i64>, ArrayFileError> {
    if is_npy(path) {
        let a = read_npy(path)?;
        let (_, cols) = a.rows_cols();
        if cols != 1 {
            return Err(ArrayFileError::Content {
                path: path.to_path_buf(),
                reason: format!("labels must be 1-D, found shape {:?}", a.shape),
            });
        }
        return match a.data {
            NpyData::I64(v) => Ok(v),
            NpyData::I32(v) => Ok(v.into_iter().map(i64::from).collect()),
            other => Err(ArrayFileError::Content {
                path: path.to_path_buf(),
                reason: format!(
                    "labels must be integers (int64 or int32), found {}",
                    other.dtype_name()
                ),
            }),
        };
    }
    let rows = read_csv_rows(path)?;
    let mut out = Vec::with_capacity(rows.len());
    for (line, fields) in rows {
        let Some(last) = fields.last() else { continue };
        let v = last
            .trim()
            .parse::<i64>()
            .map_err(|_| ArrayFileError::Csv {
                path: path.to_path_buf(),
                line,
                reason: format!("label {last:?} is not an integer"),
            })?;
        out.push(v);
    }
    Ok(out)
}

/// Probabilities from a `.npy` (float32/float64, N x K) or a CSV of N lines with K numbers
/// (an optional header line is skipped).
pub fn read_probs(path: &Path) -> Result<ProbArray, ArrayFileError> {
    if is_npy(path) {
        let a = read_npy(path)?;
        if a.shape.len() != 2 {
            return Err(ArrayFileError::Content {
                path: path.to_path_buf(),
                reason: format!("probabilities must be N x K, found shape {:?}", a.shape),
            });
        }
        let k = a.shape[1];
        return match a.data {
            NpyData::F32(data) => Ok(ProbArray::F32 { data, k }),
            NpyData::F64(data) => Ok(ProbArray::F64 { data, k }),
            other => Err(ArrayFileError::Content {
                path: path.to_path_buf(),
                reason: format!(
                    "probabilities must be float32 or float64, found {}",
                    other.dtype_name()
                ),
            }),
        };
    }
    let rows = read_csv_rows(path)?;
    let mut k = None;
    let mut data = Vec::new();
    for (line, fields) in rows {
        if *k.get_or_insert(fields.len()) != fields.len() {
            return Err(ArrayFileError::Csv {
                path: path.to_path_buf(),
                line,
                reason: format!(
                    "{} values, earlier lines have {}",
                    fields.len(),
                    k.unwrap_or(0)
                ),
            });
        }
        for f in &fields {
            let v = f.trim().parse::<f64>().map_err(|_| ArrayFileError::Csv {
                path: path.to_path_buf(),
                line,
                reason: format!("{f:?} is not a number"),
            })?;
            data.push(v);
        }
    }
    Ok(ProbArray::F64 {
        data,
        k: k.unwrap_or(0),
    })
}

/// Non-empty CSV records with their 1-based line numbers; a first line that is not
/// numeric is taken as a header and skipped. A UTF-8 byte order mark (as spreadsheet
/// programs write) is not part of the first value.
fn read_csv_rows(path: &Path) -> Result<Vec<(usize, Vec<String>)>, ArrayFileError> {
    let bytes = std::fs::read(path).map_err(|source| ArrayFileError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    csv_rows(strip_bom(&bytes), path)
}

/// A CSV record's 1-based line number and its trimmed cells.
pub(crate) type CsvRecord = (usize, Vec<String>);

/// The non-blank records of a CSV file's bytes with their 1-based line numbers, a UTF-8
/// byte order mark removed and cells trimmed; no header handling. The error is the line
/// and the reason. Shared by every CSV reader of the issue engine.
pub(crate) fn csv_records(bytes: &[u8]) -> Result<Vec<CsvRecord>, (usize, String)> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(strip_bom(bytes));
    let mut out = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => return Ok(out),
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line() as usize);
                return Err((line, e.to_string()));
            }
        }
        if record.iter().all(str::is_empty) {
            continue;
        }
        let line = record.position().map_or(0, |p| p.line() as usize);
        out.push((line, record.iter().map(str::to_string).collect()));
    }
}

fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

fn csv_rows(bytes: &[u8], path: &Path) -> Result<Vec<(usize, Vec<String>)>, ArrayFileError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let mut out = Vec::new();
    let mut record = csv::StringRecord::new();
    let mut first = true;
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                return Err(ArrayFileError::Csv {
                    path: path.to_path_buf(),
                    line: e.position().map_or(0, |p| p.line() as usize),
                    reason: e.to_string(),
                })
            }
        }
        let line_no = record.position().map_or(0, |p| p.line() as usize);
        if record.iter().all(str::is_empty) {
            continue;
        }
        let fields: Vec<String> = record.iter().map(str::to_string).collect();
        let header = first && line_no == 1 && fields.iter().any(|f| f.parse::<f64>().is_err());
        first = false;
        if !header {
            out.push((line_no, fields));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_arrays_with_and_without_headers() {
        let dir = tempfile::tempdir().unwrap();
        let l = dir.path().join("labels.csv");
        std::fs::write(&l, "label\n0\n2\n1\n").unwrap();
        assert_eq!(read_labels(&l).unwrap(), vec![0, 2, 1]);
        let p = dir.path().join("probs.csv");
        std::fs::write(&p, "0.5,0.5\n0.25,0.75\n").unwrap();
        assert_eq!(
            read_probs(&p).unwrap(),
            ProbArray::F64 {
                data: vec![0.5, 0.5, 0.25, 0.75],
                k: 2
            }
        );
        std::fs::write(&p, "p0,p1\n0.5,0.5\n0.25\n").unwrap();
        let e = read_probs(&p).unwrap_err().to_string();
        assert!(
            e.contains("probs.csv, line 3") && e.contains("1 values"),
            "{e}"
        );
        std::fs::write(&l, "0\nx\n").unwrap();
        let e = read_labels(&l).unwrap_err().to_string();
        assert!(e.contains("labels.csv") && e.contains("line 2"), "{e}");
    }

    #[test]
    fn a_byte_order_mark_does_not_turn_the_first_row_into_a_header() {
        let dir = tempfile::tempdir().unwrap();
        let l = dir.path().join("labels.csv");
        std::fs::write(&l, "\u{feff}2\n0\n1\n").unwrap();
        assert_eq!(read_labels(&l).unwrap(), vec![2, 0, 1]);
        let p = dir.path().join("probs.csv");
        std::fs::write(&p, "\u{feff}0.9,0.1\r\n0.2,0.8\r\n").unwrap();
        assert_eq!(read_probs(&p).unwrap().rows(), 2);
        // With a header after the mark, the header is still skipped and lines still count
        // from the file's first line.
        std::fs::write(&p, "\u{feff}p0,p1\n0.5,0.5\nx,1\n").unwrap();
        let e = read_probs(&p).unwrap_err().to_string();
        assert!(e.contains("line 3"), "{e}");
    }

    #[test]
    fn npy_arrays_are_type_checked() {
        let dir = tempfile::tempdir().unwrap();
        let l = dir.path().join("labels.npy");
        crate::arrays::write_npy(&l, &[3], &[0.0f32, 1.0, 2.0]).unwrap();
        let e = read_labels(&l).unwrap_err().to_string();
        assert!(e.contains("must be integers"), "{e}");
        crate::arrays::write_npy(&l, &[3], &[0i32, 1, 2]).unwrap();
        assert_eq!(read_labels(&l).unwrap(), vec![0, 1, 2]);
        let p = dir.path().join("probs.npy");
        crate::arrays::write_npy(&p, &[4], &[0.5f32; 4]).unwrap();
        assert!(read_probs(&p).unwrap_err().to_string().contains("N x K"));
    }
}
