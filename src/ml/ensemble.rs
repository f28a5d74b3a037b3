//! Soft voting over saved probability matrices and the submission file. Pure: no torch.

use super::npy::Matrix;
use crate::dataset::NUM_CLASSES;

/// Weighted mean of `members` (all the same shape); weights are normalised to sum 1.
pub fn soft_vote(members: &[(f64, &Matrix)]) -> Result<Matrix, String> {
    let Some((_, first)) = members.first() else {
        return Err("nothing to ensemble".into());
    };
    let total: f64 = members.iter().map(|(w, _)| *w).sum();
    if !(total.is_finite() && total > 0.0)
        || members.iter().any(|(w, _)| !(w.is_finite() && *w >= 0.0))
    {
        return Err("ensemble weights must be finite, >= 0 and not all 0".into());
    }
    let mut out = vec![0f64; first.data.len()];
    for (w, m) in members {
        if (m.rows, m.cols) != (first.rows, first.cols) {
            return Err(format!(
                "shape ({}, {}) differs from ({}, {})",
                m.rows, m.cols, first.rows, first.cols
            ));
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

/// `ImageID,ans` CSV in the given row order.
pub fn submission_csv(image_ids: &[String], classes: &[usize]) -> Result<String, String> {
    if image_ids.len() != classes.len() {
        return Err(format!(
            "{} image ids but {} predictions",
            image_ids.len(),
            classes.len()
        ));
    }
    let mut out = String::from("ImageID,ans\n");
    for (id, &c) in image_ids.iter().zip(classes) {
        if c >= NUM_CLASSES {
            return Err(format!("class {c} for {id} is outside 0..17"));
        }
        out.push_str(&format!("{id},{c}\n"));
    }
    Ok(out)
}

/// `<out stem>.metrics.json` beside a submission: where its eval scores and members go.
pub fn metrics_path(out: &std::path::Path) -> std::path::PathBuf {
    let stem = out
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "submission".into());
    out.with_file_name(format!("{stem}.metrics.json"))
}

/// Writes a submission's report (scores, members, options) atomically beside it; the
/// command line and the app's panel both call this, so both leave the same files.
pub fn write_metrics_report(
    out: &std::path::Path,
    report: &serde_json::Value,
) -> Result<std::path::PathBuf, String> {
    let path = metrics_path(out);
    let text = serde_json::to_string_pretty(report).map_err(|e| e.to_string())?;
    crate::workspace::write_atomic(&path, text.as_bytes())
        .map_err(|e| format!("writing {}: {e}", path.display()))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
