//! 18-class probabilities of a model run, matched to the dataset's photos.
//!
//! Accepted files (see the brief's shared formats): a run folder with `oof_probs.npy` +
//! `oof_index.csv`; an `.npy` with its index at `<stem>.index.csv` or `oof_index.csv`
//! beside it; or a CSV `path,p0,...,p17`.
//!
//! Beside the probabilities, when the run has them: `oof_age.npy` (N x 2, predicted years
//! and spread, rows as `oof_probs.npy`) and `split.csv` (`person,fold`), read into
//! [`ProbTable::age`] and [`ProbTable::folds`].

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
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProbTable {
    /// The model run that produced them (run folder name, or the file stem).
    pub run_id: String,
    pub data: Vec<f32>,
    pub rows: Vec<PhotoRef>,
    /// Per row: predicted age in years and its spread (standard deviation, years), from
    /// `oof_age.npy`; `None` for runs of a model without an age head.
    pub age: Option<Vec<[f32; 2]>>,
    /// The run's fold per person folder (`split.csv`), for fitting calibration without
    /// the labels being scored; `None` when the run has no split.
    pub folds: Option<HashMap<String, usize>>,
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
        Self::load_npy(dataset, &npy, &index, run_id)?.with_run_extras(run_dir)
    }

    /// Adds `oof_age.npy` and `split.csv` of `dir` when present.
    fn with_run_extras(mut self, dir: &Path) -> Result<Self, ProbTableError> {
        let age = dir.join("oof_age.npy");
        if age.is_file() {
            self.age = Some(read_age(&age, self.rows.len())?);
        }
        let split = dir.join("split.csv");
        if split.is_file() {
            self.folds = Some(read_split(&split)?);
        }
        Ok(self)
    }

    /// The years reading of row `r`: (predicted years, spread).
    pub fn age_row(&self, r: usize) -> Option<(f64, f64)> {
        self.age
            .as_ref()
            .and_then(|a| a.get(r))
            .map(|v| (v[0] as f64, v[1] as f64))
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
            let run_id = read_run_id(dir).unwrap_or(stem.clone());
            let table = Self::load_npy(dataset, path, &index, run_id)?;
            // The run's other files belong to these probabilities only when they are the
            // run's own oof_probs.npy.
            return if stem == "oof_probs" {
                table.with_run_extras(dir)
            } else {
                Ok(table)
            };
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
        Ok(ProbTable {
            run_id,
            data,
            rows,
            age: None,
            folds: None,
        })
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
            age: None,
            folds: None,
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

/// Reads `oof_age.npy`: `rows` x 2 float32/float64, finite years and positive spreads.
fn read_age(path: &Path, rows: usize) -> Result<Vec<[f32; 2]>, ProbTableError> {
    let bad = |reason: String| ProbTableError::File {
        path: path.to_path_buf(),
        reason,
    };
    let a = read_npy(path)?;
    let data: Vec<f32> = match a.data {
        NpyData::F32(v) => v,
        NpyData::F64(v) => v.into_iter().map(|x| x as f32).collect(),
        other => {
            return Err(bad(format!(
                "ages must be float32 or float64, found {}",
                other.dtype_name()
            )))
        }
    };
    if a.shape != [rows, 2] {
        return Err(bad(format!(
            "expected shape ({rows}, 2) (predicted years, spread; rows as oof_probs.npy), found {:?}",
            a.shape
        )));
    }
    let out: Vec<[f32; 2]> = data.chunks_exact(2).map(|c| [c[0], c[1]]).collect();
    if let Some(r) = out
        .iter()
        .position(|v| !v[0].is_finite() || !v[1].is_finite() || v[1] <= 0.0)
    {
        return Err(bad(format!(
            "row {r}: predicted years {} and spread {} (need finite years and a spread > 0)",
            out[r][0], out[r][1]
        )));
    }
    Ok(out)
}

/// Reads `split.csv` (`person,fold`).
fn read_split(path: &Path) -> Result<HashMap<String, usize>, ProbTableError> {
    let text = std::fs::read_to_string(path).map_err(|source| ProbTableError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut out = HashMap::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let bad = |reason: String| ProbTableError::Line {
            path: path.to_path_buf(),
            line: i + 1,
            reason,
        };
        let (person, fold) = line
            .rsplit_once(',')
            .ok_or_else(|| bad("expected person,fold".into()))?;
        let fold: usize = fold
            .trim()
            .parse()
            .map_err(|_| bad(format!("fold {fold:?} is not a number")))?;
        out.insert(person.trim().to_string(), fold);
    }
    Ok(out)
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
