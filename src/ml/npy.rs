//! The run files' probability matrices (2-D float32, row-major), stored as `.npy` through
//! [`crate::arrays::npy`], the project's one NumPy reader and writer. Pure: no torch.

use crate::arrays::npy::{read_npy, write_npy, NpyData};
use std::path::{Path, PathBuf};

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

/// Writes `m` atomically.
pub fn write(path: &Path, m: &Matrix) -> std::io::Result<()> {
    write_npy(path, &[m.rows, m.cols], &m.data).map_err(std::io::Error::other)
}

/// Why a matrix file cannot be read; each names the file.
#[derive(Debug, thiserror::Error)]
pub enum MatrixError {
    #[error(transparent)]
    Npy(#[from] crate::arrays::NpyError),
    #[error("{}: expected a 2-D array, found shape {shape:?}", path.display())]
    Shape { path: PathBuf, shape: Vec<usize> },
    #[error("{}: expected float32, found {dtype}", path.display())]
    Dtype { path: PathBuf, dtype: &'static str },
}

/// Reads a 2-D float32 `.npy` file; errors name the file.
pub fn read(path: &Path) -> Result<Matrix, MatrixError> {
    let array = read_npy(path)?;
    let [rows, cols] = array.shape[..] else {
        return Err(MatrixError::Shape {
            path: path.to_path_buf(),
            shape: array.shape,
        });
    };
    match array.data {
        NpyData::F32(data) => Ok(Matrix { rows, cols, data }),
        other => Err(MatrixError::Dtype {
            path: path.to_path_buf(),
            dtype: other.dtype_name(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_names_the_file_on_bad_input() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("probs.npy");
        let m = Matrix::new(3, 2, vec![0.0, 1.0, 0.25, 0.75, -1.5, 1e-8]);
        write(&path, &m).unwrap();
        assert_eq!(read(&path).unwrap(), m);

        let wide = dir.path().join("wide.npy");
        write_npy(&wide, &[2, 2], &[1.0f64; 4]).unwrap();
        let err = read(&wide).unwrap_err().to_string();
        assert!(err.contains("wide.npy") && err.contains("float64"), "{err}");

        let flat = dir.path().join("flat.npy");
        write_npy(&flat, &[4], &[1.0f32; 4]).unwrap();
        assert!(read(&flat).unwrap_err().to_string().contains("2-D"));

        let junk = dir.path().join("junk.npy");
        std::fs::write(&junk, b"hello").unwrap();
        assert!(read(&junk).unwrap_err().to_string().contains("junk.npy"));
    }
}
