//! The noise manifest `<root>/noise.csv` of a demo dataset: every injected label error,
//! as `path,field,true_value,given_value,kind`.
//!
//! `path` is relative to the dataset root: the photo (`train/images/<folder>/<file>`) for
//! mask errors, the person folder (`train/images/<folder>`) for gender, age and identity
//! errors. Values use the train.csv words (`male`/`female`, age in years) and the mask
//! names (`wear`, `incorrect`, `not wear`). A duplicated identity has field `identity`,
//! true value = the folder of the same person under the other id, given value = its own.

use crate::dataset::Field;
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum NoiseKind {
    GenderFlip,
    GenderFlipRun,
    AgeGross,
    AgeBoundary,
    MaskSwap,
    DuplicateIdentity,
}

impl NoiseKind {
    pub const ALL: [NoiseKind; 6] = [
        NoiseKind::GenderFlip,
        NoiseKind::GenderFlipRun,
        NoiseKind::AgeGross,
        NoiseKind::AgeBoundary,
        NoiseKind::MaskSwap,
        NoiseKind::DuplicateIdentity,
    ];
    /// The word in noise.csv.
    pub fn name(self) -> &'static str {
        match self {
            NoiseKind::GenderFlip => "gender_flip",
            NoiseKind::GenderFlipRun => "gender_flip_run",
            NoiseKind::AgeGross => "age_gross",
            NoiseKind::AgeBoundary => "age_boundary",
            NoiseKind::MaskSwap => "mask_swap",
            NoiseKind::DuplicateIdentity => "duplicate_identity",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == s)
    }
}

/// One row of noise.csv.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoiseEntry {
    pub path: String,
    /// `mask`, `gender`, `age` or `identity`.
    pub field: String,
    pub true_value: String,
    pub given_value: String,
    pub kind: NoiseKind,
}

impl NoiseEntry {
    pub fn new(
        path: String,
        field: &str,
        true_value: &str,
        given_value: &str,
        kind: NoiseKind,
    ) -> Self {
        NoiseEntry {
            path,
            field: field.to_string(),
            true_value: true_value.to_string(),
            given_value: given_value.to_string(),
            kind,
        }
    }
    /// The label field, `None` for a duplicated identity.
    pub fn label_field(&self) -> Option<Field> {
        Field::parse(&self.field)
    }
    /// The person folder name the entry is about.
    pub fn person_folder(&self) -> &str {
        let mut parts = self.path.rsplit('/');
        let last = parts.next().unwrap_or("");
        if self.field == "mask" {
            parts.next().unwrap_or("")
        } else {
            last
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("{path}: {source}")]
    Io {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {reason}")]
    Bad {
        path: std::path::PathBuf,
        line: usize,
        reason: String,
    },
}

const HEADER: [&str; 5] = ["path", "field", "true_value", "given_value", "kind"];

/// The CSV text of a manifest.
pub fn to_csv(entries: &[NoiseEntry]) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    // Writing to a Vec cannot fail.
    let _ = w.write_record(HEADER);
    for e in entries {
        let _ = w.write_record([
            &e.path,
            &e.field,
            &e.true_value,
            &e.given_value,
            e.kind.name(),
        ]);
    }
    w.into_inner().unwrap_or_default()
}

/// Reads `noise.csv`.
pub fn read_manifest(path: &Path) -> Result<Vec<NoiseEntry>, ManifestError> {
    let bytes = std::fs::read(path).map_err(|source| ManifestError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let bad = |line: usize, reason: String| ManifestError::Bad {
        path: path.to_path_buf(),
        line,
        reason,
    };
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(bytes.as_slice());
    let headers = reader.headers().map_err(|e| bad(1, e.to_string()))?.clone();
    if headers.iter().map(str::trim).ne(HEADER) {
        return Err(bad(1, format!("header must be {}", HEADER.join(","))));
    }
    let mut out = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let record = record.map_err(|e| bad(line, e.to_string()))?;
        if record.len() != 5 {
            return Err(bad(
                line,
                format!("expected 5 columns, found {}", record.len()),
            ));
        }
        let kind = NoiseKind::parse(record[4].trim())
            .ok_or_else(|| bad(line, format!("unknown kind '{}'", &record[4])))?;
        out.push(NoiseEntry::new(
            record[0].to_string(),
            record[1].trim(),
            &record[2],
            &record[3],
            kind,
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_round_trips() {
        let entries = vec![
            NoiseEntry::new(
                "train/images/000001_female_Asian_45".into(),
                "gender",
                "male",
                "female",
                NoiseKind::GenderFlipRun,
            ),
            NoiseEntry::new(
                "train/images/000002_male_Asian_20/normal.jpg".into(),
                "mask",
                "incorrect",
                "not wear",
                NoiseKind::MaskSwap,
            ),
        ];
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("noise.csv");
        std::fs::write(&p, to_csv(&entries)).unwrap();
        assert_eq!(read_manifest(&p).unwrap(), entries);
        assert_eq!(entries[0].person_folder(), "000001_female_Asian_45");
        assert_eq!(entries[1].person_folder(), "000002_male_Asian_20");
        assert_eq!(entries[1].label_field(), Some(Field::Mask));
    }

    #[test]
    fn bad_manifest_names_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("noise.csv");
        std::fs::write(
            &p,
            "path,field,true_value,given_value,kind\na,gender,male,female,oops\n",
        )
        .unwrap();
        let err = read_manifest(&p).unwrap_err().to_string();
        assert!(err.contains(":2:") && err.contains("oops"), "{err}");
    }
}
