//! Scores found issues against a demo dataset's noise manifest (`<root>/noise.csv`,
//! `path,field,true_value,given_value,kind`): recall per noise kind and precision per
//! field, for image-level (cleanlab per photo) and structure-aware (person level, swaps)
//! detection side by side.

use super::person::{Detector, IssueReport};
use crate::dataset::Field;
use serde::Serialize;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum NoiseFileError {
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
}

/// One injected error: `path` is a photo path (mask) or a person folder (gender, age).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NoiseEntry {
    pub path: String,
    pub field: Field,
    pub kind: String,
}

/// The manifest's field for injected noise that is not a label (duplicate identities).
pub const NON_LABEL_FIELD: &str = "identity";

/// The label noise of a manifest (rows of [`NON_LABEL_FIELD`] are left out).
pub fn read_noise_csv(path: &Path) -> Result<Vec<NoiseEntry>, NoiseFileError> {
    let bytes = std::fs::read(path).map_err(|source| NoiseFileError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let bad_at = |line: usize, reason: String| NoiseFileError::Line {
        path: path.to_path_buf(),
        line,
        reason,
    };
    let mut records = super::io::csv_records(&bytes)
        .map_err(|(line, reason)| bad_at(line, reason))?
        .into_iter();
    let mut out = Vec::new();
    let cols = records.next().map(|(_, h)| h).unwrap_or_default();
    let col = |name: &str| cols.iter().position(|c| c == name);
    let (Some(pc), Some(fc), Some(kc)) = (col("path"), col("field"), col("kind")) else {
        return Err(bad_at(
            1,
            "header must have path, field and kind columns".into(),
        ));
    };
    for (line, f) in records {
        let bad = |reason: String| bad_at(line, reason);
        let (Some(p), Some(field), Some(kind)) = (f.get(pc), f.get(fc), f.get(kc)) else {
            return Err(bad(format!("{} columns, expected {}", f.len(), cols.len())));
        };
        // A duplicated identity (one person under two ids) is not a label a model can
        // contradict: it is recorded in the manifest but not scored here.
        if *field == NON_LABEL_FIELD {
            continue;
        }
        let field = Field::parse(field).ok_or_else(|| bad(format!("unknown field {field:?}")))?;
        out.push(NoiseEntry {
            path: p.replace('\\', "/"),
            field,
            kind: kind.to_string(),
        });
    }
    Ok(out)
}

/// Detection quality of one approach on one noise kind.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KindScore {
    pub approach: &'static str,
    pub kind: String,
    pub field: Field,
    pub entries: usize,
    pub found: usize,
    pub recall: f64,
    /// Units (people for gender/age, photos for mask) this approach flagged on the field.
    pub flagged: usize,
    pub true_flags: usize,
    pub precision: f64,
    /// Ranking quality, threshold-free: the mean precision at the rank of each entry of
    /// this kind (entries not flagged add 0).
    pub average_precision: f64,
}

fn person_of(photo: &str) -> String {
    let parts: Vec<&str> = photo.split('/').collect();
    if parts.len() >= 2 {
        parts[parts.len() - 2].to_string()
    } else {
        photo.to_string()
    }
}

/// The last path component (person folders may be given as `train/images/<folder>`).
fn leaf(p: &str) -> &str {
    p.trim_end_matches('/').rsplit('/').next().unwrap_or(p)
}

/// Keeps the first occurrence of each unit, in order.
fn first_occurrences(units: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    units
        .into_iter()
        .filter(|u| seen.insert(u.clone()))
        .collect()
}

/// Average precision of a ranked list at the `entries` it should find: the mean, over the
/// entries, of the precision (hits on any `truth` unit) at the rank where the entry comes;
/// an entry never ranked adds 0.
fn average_precision(ranked: &[String], entries: &[String], truth: &BTreeSet<String>) -> f64 {
    if entries.is_empty() {
        return 0.0;
    }
    let wanted: BTreeSet<&String> = entries.iter().collect();
    let (mut hits, mut sum) = (0usize, 0f64);
    for (k, unit) in ranked.iter().enumerate() {
        if truth.contains(unit) {
            hits += 1;
        }
        if wanted.contains(unit) {
            sum += hits as f64 / (k + 1) as f64;
        }
    }
    sum / wanted.len() as f64
}

/// Compares a report with the manifest. Image level: a person-level entry counts as found
/// when any of the person's photos is flagged on that field by the per-photo run, and
/// people rank by their most suspicious photo. Person level: the people flagged over
/// combined evidence (and swaps with single-photo mask flags), in their own score order.
pub fn evaluate(report: &IssueReport, noise: &[NoiseEntry]) -> Vec<KindScore> {
    // Ranked photo flags of a per-photo detector (the report keeps them in rank order).
    let photos =
        |d: Detector| -> Vec<String> { report.photo_flags.get(&d).cloned().unwrap_or_default() };
    let image_units = |field: Field| -> Vec<String> {
        match field {
            Field::Mask => first_occurrences(photos(Detector::PhotoMask)),
            Field::Gender => {
                first_occurrences(photos(Detector::PhotoGender).iter().map(|p| person_of(p)))
            }
            Field::Age => {
                first_occurrences(photos(Detector::PhotoAge).iter().map(|p| person_of(p)))
            }
        }
    };
    let structured_units = |field: Field| -> Vec<String> {
        let mut found: Vec<(f64, Vec<String>)> = Vec::new();
        for i in report.issues.iter().filter(|i| i.field == field) {
            match field {
                Field::Mask => {
                    if i.found_by
                        .iter()
                        .any(|d| matches!(d, Detector::MaskSwap | Detector::PhotoMask))
                    {
                        found.push((i.score, i.photos.clone()));
                    }
                }
                _ => {
                    if i.found_by
                        .iter()
                        .any(|d| matches!(d, Detector::PersonGender | Detector::PersonAge))
                    {
                        found.push((i.score, vec![i.person.clone()]));
                    }
                }
            }
        }
        found.sort_by(|a, b| a.0.total_cmp(&b.0));
        first_occurrences(found.into_iter().flat_map(|(_, units)| units))
    };
    let unit_of = |e: &NoiseEntry| -> String {
        match e.field {
            Field::Mask => e.path.clone(),
            _ => leaf(&e.path).to_string(),
        }
    };
    let mut kinds: Vec<(String, Field)> = noise.iter().map(|e| (e.kind.clone(), e.field)).collect();
    kinds.sort();
    kinds.dedup();
    let mut out = Vec::new();
    for (approach, units_for) in [
        ("image_level", &image_units as &dyn Fn(Field) -> Vec<String>),
        (
            "person_level",
            &structured_units as &dyn Fn(Field) -> Vec<String>,
        ),
    ] {
        for (kind, field) in &kinds {
            let ranked = units_for(*field);
            let units: BTreeSet<String> = ranked.iter().cloned().collect();
            let truth: BTreeSet<String> = noise
                .iter()
                .filter(|e| e.field == *field)
                .map(unit_of)
                .collect();
            let entries: Vec<String> = noise
                .iter()
                .filter(|e| &e.kind == kind && e.field == *field)
                .map(unit_of)
                .collect();
            let found = entries.iter().filter(|u| units.contains(*u)).count();
            let true_flags = units.iter().filter(|u| truth.contains(*u)).count();
            out.push(KindScore {
                approach,
                kind: kind.clone(),
                field: *field,
                entries: entries.len(),
                found,
                recall: if entries.is_empty() {
                    0.0
                } else {
                    found as f64 / entries.len() as f64
                },
                flagged: units.len(),
                true_flags,
                precision: if units.is_empty() {
                    0.0
                } else {
                    true_flags as f64 / units.len() as f64
                },
                average_precision: average_precision(&ranked, &entries, &truth),
            });
        }
    }
    out
}

pub fn scores_csv(scores: &[KindScore]) -> Vec<u8> {
    let mut s = String::from(
        "approach,kind,field,entries,found,recall,flagged,true_flags,precision,average_precision\n",
    );
    for k in scores {
        s.push_str(&format!(
            "{},{},{},{},{},{:.4},{},{},{:.4},{:.4}\n",
            k.approach,
            k.kind,
            k.field.name(),
            k.entries,
            k.found,
            k.recall,
            k.flagged,
            k.true_flags,
            k.precision,
            k.average_precision
        ));
    }
    s.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn average_precision_counts_every_true_unit_and_misses_as_zero() {
        let s = |v: &[&str]| v.iter().map(|u| u.to_string()).collect::<Vec<_>>();
        let truth: BTreeSet<String> = s(&["a", "b", "c"]).into_iter().collect();
        // a at rank 1 (1/1), b at rank 4 (3/4): c is another kind's unit but still a hit.
        let ap = average_precision(&s(&["a", "x", "c", "b"]), &s(&["a", "b"]), &truth);
        assert!((ap - (1.0 + 3.0 / 4.0) / 2.0).abs() < 1e-12, "{ap}");
        // An entry never ranked counts 0.
        let ap = average_precision(&s(&["a", "x"]), &s(&["a", "b"]), &truth);
        assert!((ap - 0.5).abs() < 1e-12, "{ap}");
        assert_eq!(average_precision(&s(&["a"]), &[], &truth), 0.0);
        assert_eq!(
            first_occurrences(s(&["p", "q", "p", "r"])),
            s(&["p", "q", "r"])
        );
    }

    #[test]
    fn manifest_skips_identity_rows_and_names_bad_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("noise.csv");
        std::fs::write(
            &path,
            "path,field,true_value,given_value,kind\n\
             train/images/000107_male_Asian_20,gender,female,male,gender_flip\n\
             train/images/000431_female_Asian_52,identity,000400_female_Asian_52,000431_female_Asian_52,duplicate_identity\n\
             train/images/000120_female_Asian_24/normal.jpg,mask,incorrect,not wear,mask_swap\n",
        )
        .unwrap();
        let entries = read_noise_csv(&path).unwrap();
        let kinds: Vec<&str> = entries.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, ["gender_flip", "mask_swap"]);
        assert_eq!(entries[1].field, Field::Mask);

        std::fs::write(&path, "path,field,kind\na,colour,x\n").unwrap();
        let err = read_noise_csv(&path).unwrap_err().to_string();
        assert!(
            err.contains("noise.csv, line 2") && err.contains("colour"),
            "{err}"
        );
    }
}
