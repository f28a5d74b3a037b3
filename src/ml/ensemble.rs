//! Soft voting over saved probability matrices, the same for predicted ages, and the
//! submission files. Pure: no torch.

use super::npy::Matrix;
use crate::dataset::NUM_CLASSES;

/// Why an ensemble or its files cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum EnsembleError {
    /// Members or rows that do not fit together; the text says how.
    #[error("{0}")]
    Input(String),
    #[error("writing {}: {source}", path.display())]
    Write {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

/// How the fold models of an ensemble are weighted.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    serde::Serialize,
    serde::Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Weighting {
    /// Every fold model counts the same.
    #[default]
    Uniform,
    /// Each fold model weighted by its validation macro F1.
    F1,
}

/// Weighted mean of `members` (all the same shape); weights are normalised to sum 1.
pub fn soft_vote(members: &[(f64, &Matrix)]) -> Result<Matrix, EnsembleError> {
    let Some((_, first)) = members.first() else {
        return Err(EnsembleError::Input("nothing to ensemble".into()));
    };
    let total: f64 = members.iter().map(|(w, _)| *w).sum();
    if !(total.is_finite() && total > 0.0)
        || members.iter().any(|(w, _)| !(w.is_finite() && *w >= 0.0))
    {
        return Err(EnsembleError::Input(
            "ensemble weights must be finite, >= 0 and not all 0".into(),
        ));
    }
    let mut out = vec![0f64; first.data.len()];
    for (w, m) in members {
        if (m.rows, m.cols) != (first.rows, first.cols) {
            return Err(EnsembleError::Input(format!(
                "shape ({}, {}) differs from ({}, {})",
                m.rows, m.cols, first.rows, first.cols
            )));
        }
        for (o, &v) in out.iter_mut().zip(&m.data) {
            *o += w / total * f64::from(v);
        }
    }
    Ok(Matrix::new(
        first.rows,
        first.cols,
        out.into_iter().map(|v| v as f32).collect(),
    ))
}

/// Several predictions of one age as one: the weighted mixture's mean and standard
/// deviation (the spreads' variances averaged plus the variance between the means, so
/// models that disagree widen the spread). `parts`: (weight, [years, spread]).
pub fn mix_ages(parts: &[(f64, [f32; 2])]) -> [f32; 2] {
    let total: f64 = parts.iter().map(|(w, _)| w).sum();
    let mean = parts.iter().map(|(w, a)| w * f64::from(a[0])).sum::<f64>() / total;
    let var = parts
        .iter()
        .map(|(w, a)| w * (f64::from(a[1]).powi(2) + (f64::from(a[0]) - mean).powi(2)))
        .sum::<f64>()
        / total;
    [mean as f32, var.sqrt() as f32]
}

/// Row by row [`mix_ages`] of `rows x 2` age matrices (weights as in [`soft_vote`]).
pub fn vote_ages(members: &[(f64, &Matrix)]) -> Result<Matrix, EnsembleError> {
    let Some((_, first)) = members.first() else {
        return Err(EnsembleError::Input(
            "no age predictions to ensemble".into(),
        ));
    };
    if first.cols != 2
        || members
            .iter()
            .any(|(_, m)| (m.rows, m.cols) != (first.rows, 2))
    {
        return Err(EnsembleError::Input(
            "age predictions must all be rows x 2 with the same rows".into(),
        ));
    }
    let total: f64 = members.iter().map(|(w, _)| *w).sum();
    if !(total.is_finite() && total > 0.0) {
        return Err(EnsembleError::Input(
            "ensemble weights must be finite, >= 0 and not all 0".into(),
        ));
    }
    let mut data = Vec::with_capacity(first.rows * 2);
    for r in 0..first.rows {
        let parts: Vec<(f64, [f32; 2])> = members
            .iter()
            .map(|(w, m)| (*w, [m.row(r)[0], m.row(r)[1]]))
            .collect();
        data.extend_from_slice(&mix_ages(&parts));
    }
    Ok(Matrix::new(first.rows, 2, data))
}

/// `ImageID,age,spread` CSV (years, one decimal) in the given row order.
pub fn age_csv(image_ids: &[String], age: &Matrix) -> Result<String, EnsembleError> {
    if image_ids.len() != age.rows || age.cols != 2 {
        return Err(EnsembleError::Input(format!(
            "{} image ids but ({}, {}) age predictions",
            image_ids.len(),
            age.rows,
            age.cols
        )));
    }
    let mut out = String::from("ImageID,age,spread\n");
    for (r, id) in image_ids.iter().enumerate() {
        let [years, spread] = [age.row(r)[0], age.row(r)[1]];
        out.push_str(&format!("{id},{years:.1},{spread:.1}\n"));
    }
    Ok(out)
}

/// `ImageID,ans` CSV in the given row order.
pub fn submission_csv(image_ids: &[String], classes: &[usize]) -> Result<String, EnsembleError> {
    if image_ids.len() != classes.len() {
        return Err(EnsembleError::Input(format!(
            "{} image ids but {} predictions",
            image_ids.len(),
            classes.len()
        )));
    }
    let mut out = String::from("ImageID,ans\n");
    for (id, &c) in image_ids.iter().zip(classes) {
        if c >= NUM_CLASSES {
            return Err(EnsembleError::Input(format!(
                "class {c} for {id} is outside 0..17"
            )));
        }
        out.push_str(&format!("{id},{c}\n"));
    }
    Ok(out)
}

/// `<out stem><suffix>` beside a submission.
fn beside(out: &std::path::Path, suffix: &str) -> std::path::PathBuf {
    let stem = out
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "submission".into());
    out.with_file_name(format!("{stem}{suffix}"))
}

/// `<out stem>.metrics.json` beside a submission: where its eval scores and members go.
pub fn metrics_path(out: &std::path::Path) -> std::path::PathBuf {
    beside(out, ".metrics.json")
}

/// `<out stem>.age.csv` beside a submission: the predicted years of each eval photo.
pub fn age_path(out: &std::path::Path) -> std::path::PathBuf {
    beside(out, ".age.csv")
}

/// `out` when no submission has been written there, else the first free `<stem>-N.<ext>`
/// beside it (`submission.csv`, then `submission-2.csv`, ...), its age and metrics files
/// free too: the app's output field, so a new prediction never replaces an earlier one.
pub fn next_free_submission(out: &std::path::Path) -> std::path::PathBuf {
    let taken =
        |p: &std::path::Path| p.exists() || age_path(p).exists() || metrics_path(p).exists();
    if !taken(out) {
        return out.to_path_buf();
    }
    let stem = out
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "submission".into());
    // submission-2 goes on to submission-3, not submission-2-2.
    let base = match stem.rsplit_once('-') {
        Some((base, n)) if !base.is_empty() && n.parse::<u64>().is_ok() => base.to_string(),
        _ => stem,
    };
    let ext = out
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    (2u64..)
        .map(|n| out.with_file_name(format!("{base}-{n}{ext}")))
        .find(|p| !taken(p))
        .unwrap_or_else(|| out.to_path_buf())
}

/// Refuses a submission path where the submission or a file written beside it
/// ([`age_path`], [`metrics_path`]) would land in the dataset at `root` (its workspace
/// folder excepted): `--out info.csv` in the eval folder must not replace info.csv.
pub fn check_submission_path(
    root: &std::path::Path,
    out: &std::path::Path,
) -> Result<(), crate::curation::CurationError> {
    for path in [out.to_path_buf(), age_path(out), metrics_path(out)] {
        crate::curation::export::check_export_file(root, &path)?;
    }
    Ok(())
}

/// Writes a submission's report (scores, members, options) atomically beside it; the
/// command line and the app's panel both call this, so both leave the same files.
pub fn write_metrics_report(
    out: &std::path::Path,
    report: &serde_json::Value,
) -> Result<std::path::PathBuf, EnsembleError> {
    let path = metrics_path(out);
    let text = serde_json::to_string_pretty(report)
        .map_err(|e| EnsembleError::Input(format!("the report cannot be encoded: {e}")))?;
    crate::workspace::write_atomic(&path, text.as_bytes()).map_err(|source| {
        EnsembleError::Write {
            path: path.clone(),
            source,
        }
    })?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_submission_goes_beside_the_earlier_ones() {
        let dir = tempfile::tempdir().unwrap();
        let first = dir.path().join("submission.csv");
        assert_eq!(next_free_submission(&first), first);
        std::fs::write(&first, "ImageID,ans\n").unwrap();
        let second = dir.path().join("submission-2.csv");
        assert_eq!(next_free_submission(&first), second);
        // Its report alone (a submission moved away) still holds the name.
        std::fs::write(metrics_path(&second), "{}").unwrap();
        let third = dir.path().join("submission-3.csv");
        assert_eq!(next_free_submission(&first), third);
        // From a numbered name the count goes on; other names keep their stem.
        assert_eq!(next_free_submission(&second), third);
        let mine = dir.path().join("ens-a.csv");
        std::fs::write(&mine, "").unwrap();
        assert_eq!(next_free_submission(&mine), dir.path().join("ens-a-2.csv"));
    }

    #[test]
    fn weighted_vote_is_the_normalised_weighted_mean() {
        let a = Matrix::new(1, 2, vec![1.0, 0.0]);
        let b = Matrix::new(1, 2, vec![0.0, 1.0]);
        let v = soft_vote(&[(3.0, &a), (1.0, &b)]).unwrap();
        assert_eq!(v.data, vec![0.75, 0.25]);
        assert!(soft_vote(&[(1.0, &a), (1.0, &Matrix::new(2, 1, vec![0.0, 0.0]))]).is_err());
        assert!(soft_vote(&[(0.0, &a)]).is_err());
    }

    #[test]
    fn submission_keeps_row_order_and_checks_range() {
        let ids = vec!["b.jpg".to_string(), "a.jpg".to_string()];
        assert_eq!(
            submission_csv(&ids, &[17, 0]).unwrap(),
            "ImageID,ans\nb.jpg,17\na.jpg,0\n"
        );
        assert!(submission_csv(&ids, &[18, 0]).is_err());
        assert!(submission_csv(&ids, &[1]).is_err());
    }

    #[test]
    fn ages_mix_as_a_mixture_and_write_in_row_order() {
        // Two models agreeing: the mean, the same spread.
        assert_eq!(
            mix_ages(&[(1.0, [30.0, 3.0]), (1.0, [30.0, 3.0])]),
            [30.0, 3.0]
        );
        // Disagreeing by 8 years with spread 3: mean 34, std sqrt(9 + 16) = 5.
        let m = mix_ages(&[(1.0, [30.0, 3.0]), (1.0, [38.0, 3.0])]);
        assert!(
            (m[0] - 34.0).abs() < 1e-5 && (m[1] - 5.0).abs() < 1e-5,
            "{m:?}"
        );
        // Weights: 3:1 gives mean 32.
        assert!((mix_ages(&[(3.0, [30.0, 1.0]), (1.0, [38.0, 1.0])])[0] - 32.0).abs() < 1e-5);
        let a = Matrix::new(2, 2, vec![20.0, 2.0, 50.0, 4.0]);
        let b = Matrix::new(2, 2, vec![22.0, 2.0, 50.0, 4.0]);
        let v = vote_ages(&[(1.0, &a), (1.0, &b)]).unwrap();
        assert_eq!(v.row(1), &[50.0, 4.0]);
        assert!((v.row(0)[0] - 21.0).abs() < 1e-5 && (v.row(0)[1] - 5f32.sqrt()).abs() < 1e-5);
        assert!(vote_ages(&[(1.0, &a), (1.0, &Matrix::new(1, 2, vec![0.0, 1.0]))]).is_err());
        let ids = vec!["b.jpg".to_string(), "a.jpg".to_string()];
        assert_eq!(
            age_csv(&ids, &v).unwrap(),
            "ImageID,age,spread\nb.jpg,21.0,2.2\na.jpg,50.0,4.0\n"
        );
        assert!(age_csv(&ids[..1], &v).is_err());
    }
}
