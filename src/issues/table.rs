//! 18-class probabilities of a model run, matched to the dataset's photos.
//!
//! Accepted files (see the brief's shared formats): a run folder with `oof_probs.npy` +
//! `oof_index.csv`; an `.npy` with its index at `<stem>.index.csv` or `oof_index.csv`
//! beside it; or a CSV `path,p0,...,p17`.

use crate::arrays::{read_npy, NpyData, NpyError};
use crate::dataset::{Dataset, PhotoRef, NUM_CLASSES};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ProbTableError {
    #[error(transparent)]
    Npy(#[from] NpyError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}, line {line}: {reason}")]
    Line {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    #[error("{path}: {reason}")]
    File { path: PathBuf, reason: String },
}

/// Probabilities for (some of) the dataset's photos: row r belongs to `rows[r]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbTable {
    /// The model run that produced them (run folder name, or the file stem).
    pub run_id: String,
    pub data: Vec<f32>,
    pub rows: Vec<PhotoRef>,
}

impl ProbTable {
    pub const K: usize = NUM_CLASSES;

    pub fn row(&self, r: usize) -> &[f32] {
        &self.data[r * Self::K..(r + 1) * Self::K]
    }

    /// Loads `<run>/oof_probs.npy` with `<run>/oof_index.csv`.
    pub fn load_run(dataset: &Dataset, run_dir: &Path) -> Result<Self, ProbTableError> {
        let npy = run_dir.join("oof_probs.npy");
        let index = run_dir.join("oof_index.csv");
        let run_id = read_run_id(run_dir).unwrap_or_else(|| file_name(run_dir));
        Self::load_npy(dataset, &npy, &index, run_id)
    }

    /// Loads an `.npy` (index beside it) or a `path,p0..p17` CSV.
    pub fn load_file(dataset: &Dataset, path: &Path) -> Result<Self, ProbTableError> {
        let is_npy = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("npy"));
        let dir = path.parent().unwrap_or(Path::new("."));
        if is_npy {
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let own = dir.join(format!("{stem}.index.csv"));
            let index = if own.exists() {
                own
            } else {
                dir.join("oof_index.csv")
            };
            if !index.exists() {
                return Err(ProbTableError::File {
                    path: path.to_path_buf(),
                    reason: format!(
                        "no index: expected {stem}.index.csv or oof_index.csv beside it"
                    ),
                });
            }
            let run_id = read_run_id(dir).unwrap_or(stem);
            return Self::load_npy(dataset, path, &index, run_id);
        }
        let records = read_records(path)?;
        let lookup = photo_lookup(dataset);
        let mut data = Vec::new();
        let mut rows = Vec::new();
        for (line_no, fields) in records {
            if line_no == 1 && fields.first().is_some_and(|f| f.starts_with("path")) {
                continue;
            }
            let bad = |reason: String| ProbTableError::Line {
                path: path.to_path_buf(),
                line: line_no,
                reason,
            };
            if fields.len() != 1 + Self::K {
                return Err(bad(format!(
                    "{} columns, expected path and {} probabilities",
                    fields.len(),
                    Self::K
                )));
            }
            let photo = *lookup
                .get(normalise(&fields[0]).as_str())
                .ok_or_else(|| bad(format!("{} is not a photo of this dataset", fields[0])))?;
            for f in &fields[1..] {
                data.push(
                    f.trim()
                        .parse::<f32>()
                        .map_err(|_| bad(format!("{f:?} is not a number")))?,
                );
            }
            rows.push(photo);
        }
        let run_id = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(ProbTable { run_id, data, rows })
    }

    fn load_npy(
        dataset: &Dataset,
        npy: &Path,
        index: &Path,
        run_id: String,
    ) -> Result<Self, ProbTableError> {
        let a = read_npy(npy)?;
        let data = match a.data {
            NpyData::F32(v) => v,
            NpyData::F64(v) => v.into_iter().map(|x| x as f32).collect(),
            other => {
                return Err(ProbTableError::File {
                    path: npy.to_path_buf(),
                    reason: format!(
                        "probabilities must be float32 or float64, found {}",
                        other.dtype_name()
                    ),
                })
            }
        };
        if a.shape.len() != 2 || a.shape[1] != Self::K {
            return Err(ProbTableError::File {
                path: npy.to_path_buf(),
                reason: format!(
                    "expected N x {} probabilities, found shape {:?}",
                    Self::K,
                    a.shape
                ),
            });
        }
        let n = a.shape[0];
        let mut records = read_records(index)?.into_iter();
        let lookup = photo_lookup(dataset);
        let mut rows: Vec<Option<PhotoRef>> = vec![None; n];
        let cols = records.next().map(|(_, h)| h).unwrap_or_default();
        let (Some(row_col), Some(path_col)) = (
            cols.iter().position(|c| *c == "row"),
            cols.iter().position(|c| *c == "path"),
        ) else {
            return Err(ProbTableError::Line {
                path: index.to_path_buf(),
                line: 1,
                reason: "header must name the columns row and path (row,path,person,fold)".into(),
            });
        };
        for (line_no, fields) in records {
            let bad = |reason: String| ProbTableError::Line {
                path: index.to_path_buf(),
                line: line_no,
                reason,
            };
            let (Some(r), Some(p)) = (fields.get(row_col), fields.get(path_col)) else {
                return Err(bad("missing columns".into()));
            };
            let r: usize = r
                .trim()
                .parse()
                .map_err(|_| bad(format!("row {r:?} is not a number")))?;
            if r >= n {
                return Err(bad(format!("row {r} but the probabilities have {n} rows")));
            }
            let photo = *lookup
                .get(normalise(p).as_str())
                .ok_or_else(|| bad(format!("{p} is not a photo of this dataset")))?;
            rows[r] = Some(photo);
        }
        if let Some(missing) = rows.iter().position(Option::is_none) {
            return Err(ProbTableError::File {
                path: index.to_path_buf(),
                reason: format!("no index line for probability row {missing}"),
            });
        }
        Ok(ProbTable {
            run_id,
            data,
            rows: rows.into_iter().flatten().collect(),
        })
    }
}

/// A CSV file's non-blank records with their line numbers (csv crate, BOM removed).
fn read_records(path: &Path) -> Result<Vec<(usize, Vec<String>)>, ProbTableError> {
    let bytes = std::fs::read(path).map_err(|source| ProbTableError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    super::io::csv_records(&bytes).map_err(|(line, reason)| ProbTableError::Line {
        path: path.to_path_buf(),
        line,
        reason,
    })
}

fn normalise(p: &str) -> String {
    p.trim()
        .replace('\\', "/")
        .trim_start_matches("./")
        .to_string()
}

fn photo_lookup(dataset: &Dataset) -> HashMap<String, PhotoRef> {
    dataset
        .photo_refs()
        .filter_map(|r| {
            dataset
                .photo(r)
                .map(|ph| (normalise(&ph.rel_path.to_string_lossy()), r))
        })
        .collect()
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| p.display().to_string())
}

/// The `id` of `<dir>/run.json`, when present.
fn read_run_id(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join("run.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v.get("id")?.as_str().map(str::to_string)
}
