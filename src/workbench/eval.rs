//! The eval set through a run's eyes, for the engineer about to submit: the mean of the
//! run's fold models on each `eval/info.csv` row, the photos ordered most uncertain first,
//! and the predicted class mix beside the training labels' (a shifted mix is what a
//! leaderboard punishes; an uncertain photo is where a second look or a second model
//! pays). With `eval/gt.csv` (generated demo data) the true scores too.

use crate::dataset::{ClassCode, Dataset, Slot, NUM_CLASSES};
use crate::ml::npy::{self, Matrix};
use crate::ml::run::RunDir;
use std::path::Path;

/// A photo whose highest class probability is below this is "uncertain".
pub const UNCERTAIN_BELOW: f32 = 0.5;

/// A run's predictions for every eval row.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalPredictions {
    pub run_id: String,
    /// Fold models averaged.
    pub folds: usize,
    /// `info.csv` rows, 18 class probabilities each.
    pub probs: Vec<[f32; NUM_CLASSES]>,
    /// Predicted years and spread per row, when the run has an age head.
    pub years: Option<Vec<[f32; 2]>>,
}

/// Reads and averages the fold models' eval predictions of the run in `run_dir`
/// (`eval_probs_fold<k>.npy`, `eval_age_fold<k>.npy`). `None` when the run has none (a
/// recipe with `predict_eval` off, or a dataset without an eval set). A file of the wrong
/// shape is an error naming it.
pub fn load(run_dir: &Path, run_id: &str, rows: usize) -> Result<Option<EvalPredictions>, String> {
    let run = RunDir::new(run_dir);
    let mut probs: Vec<Matrix> = Vec::new();
    let mut ages: Vec<Matrix> = Vec::new();
    for k in 0.. {
        let path = run.eval_probs(k, false);
        if !path.is_file() {
            // Folds are numbered from 0 or 1 depending on the writer: look at both.
            if k == 0 {
                continue;
            }
            break;
        }
        let m = npy::read(&path).map_err(|e| e.to_string())?;
        if m.rows != rows || m.cols != NUM_CLASSES {
            return Err(format!(
                "{}: {} x {}, expected {rows} eval rows x {NUM_CLASSES}",
                path.display(),
                m.rows,
                m.cols
            ));
        }
        probs.push(m);
        let age = run.eval_age(k, false);
        if age.is_file() {
            let a = npy::read(&age).map_err(|e| e.to_string())?;
            if a.rows == rows && a.cols == 2 {
                ages.push(a);
            }
        }
    }
    if probs.is_empty() {
        return Ok(None);
    }
    let members: Vec<(f64, &Matrix)> = probs.iter().map(|m| (1.0, m)).collect();
    let mean = crate::ml::ensemble::soft_vote(&members).map_err(|e| e.to_string())?;
    let mut rows_out = Vec::with_capacity(rows);
    for r in 0..rows {
        let mut row = [0f32; NUM_CLASSES];
        row.copy_from_slice(&mean.data[r * NUM_CLASSES..(r + 1) * NUM_CLASSES]);
        if row.iter().any(|p| !p.is_finite()) {
            return Err(format!(
                "{}: row {} holds a value that is not a number",
                run.eval_probs(0, false).display(),
                r + 1
            ));
        }
        rows_out.push(row);
    }
    let years = if ages.len() == probs.len() {
        let members: Vec<(f64, &Matrix)> = ages.iter().map(|m| (1.0, m)).collect();
        crate::ml::ensemble::vote_ages(&members)
            .ok()
            .map(|m| m.data.chunks_exact(2).map(|c| [c[0], c[1]]).collect())
    } else {
        None
    };
    Ok(Some(EvalPredictions {
        run_id: run_id.to_string(),
        folds: probs.len(),
        probs: rows_out,
        years,
    }))
}

impl EvalPredictions {
    /// The predicted class of a row and its probability.
    pub fn predicted(&self, row: usize) -> (ClassCode, f32) {
        let p = &self.probs[row];
        let (best, prob) =
            p.iter().enumerate().fold(
                (0, f32::MIN),
                |acc, (i, &v)| if v > acc.1 { (i, v) } else { acc },
            );
        (
            ClassCode::from_index(best).unwrap_or(ClassCode::from_index(0).expect("class 0")),
            prob,
        )
    }

    /// The rows to show: those predicted as `class` (all when `None`), most uncertain
    /// first when `uncertain_first`, else in `info.csv` order.
    pub fn rows(&self, class: Option<ClassCode>, uncertain_first: bool) -> Vec<usize> {
        // Each row's prediction once, not once per comparison.
        let mut rows: Vec<(usize, f32)> = (0..self.probs.len())
            .map(|r| (r, self.predicted(r)))
            .filter(|(_, (c, _))| class.is_none_or(|want| *c == want))
            .map(|(r, (_, p))| (r, p))
            .collect();
        if uncertain_first {
            rows.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        }
        rows.into_iter().map(|(r, _)| r).collect()
    }

    /// The three most probable classes of a row.
    pub fn top3(&self, row: usize) -> [(ClassCode, f32); 3] {
        let p = &self.probs[row];
        let mut order: Vec<usize> = (0..NUM_CLASSES).collect();
        order.sort_by(|&a, &b| p[b].total_cmp(&p[a]).then(a.cmp(&b)));
        order[..3]
            .iter()
            .map(|&i| (ClassCode::from_index(i).expect("class index"), p[i]))
            .collect::<Vec<_>>()
            .try_into()
            .expect("three")
    }
}

/// How the predicted mix compares with the training labels.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalSummary {
    pub photos: usize,
    /// Eval photos predicted as each class.
    pub predicted: [usize; NUM_CLASSES],
    /// Training photos labelled as each class (the curated labels).
    pub train: [usize; NUM_CLASSES],
    /// Photos whose top probability is below [`UNCERTAIN_BELOW`].
    pub uncertain: usize,
    /// Accuracy and macro F1 against `eval/gt.csv`, when the dataset has it.
    pub scores: Option<(f64, f64)>,
}

impl EvalSummary {
    /// Percentage points by which the predicted share of `class` exceeds its training share.
    pub fn shift(&self, class: usize) -> f64 {
        let share = |n: usize, of: usize| 100.0 * n as f64 / of.max(1) as f64;
        let train_total: usize = self.train.iter().sum();
        share(self.predicted[class], self.photos) - share(self.train[class], train_total)
    }
}

/// The summary of `preds` for `dataset`, with `label` giving each training photo's
/// (curated) class.
pub fn summarize(
    preds: &EvalPredictions,
    dataset: &Dataset,
    label: impl Fn(usize, Slot) -> ClassCode,
) -> EvalSummary {
    let mut predicted = [0usize; NUM_CLASSES];
    let mut uncertain = 0;
    let mut classes = Vec::with_capacity(preds.probs.len());
    for r in 0..preds.probs.len() {
        let (c, p) = preds.predicted(r);
        predicted[c.index()] += 1;
        classes.push(c.index());
        if p < UNCERTAIN_BELOW {
            uncertain += 1;
        }
    }
    let mut train = [0usize; NUM_CLASSES];
    for (p, person) in dataset.people.iter().enumerate() {
        for slot in Slot::ALL {
            if person.photos[slot.index()].is_some() {
                train[label(p, slot).index()] += 1;
            }
        }
    }
    let scores = dataset
        .eval
        .as_ref()
        .and_then(|e| e.ground_truth.as_ref())
        .filter(|gt| gt.len() == classes.len())
        .map(|gt| {
            let truth: Vec<usize> = gt.iter().map(|c| c.index()).collect();
            let right = truth.iter().zip(&classes).filter(|(a, b)| a == b).count();
            (
                right as f64 / truth.len().max(1) as f64,
                crate::metrics::macro_f1(&truth, &classes, NUM_CLASSES),
            )
        });
    EvalSummary {
        photos: preds.probs.len(),
        predicted,
        train,
        uncertain,
        scores,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn preds(rows: &[(usize, f32)]) -> EvalPredictions {
        EvalPredictions {
            run_id: "r".into(),
            folds: 1,
            probs: rows
                .iter()
                .map(|&(c, p)| {
                    let rest = (1.0 - p) / (NUM_CLASSES - 1) as f32;
                    let mut row = [rest; NUM_CLASSES];
                    row[c] = p;
                    row
                })
                .collect(),
            years: None,
        }
    }

    #[test]
    fn rows_filter_by_class_and_put_the_uncertain_first() {
        let p = preds(&[(0, 0.9), (4, 0.3), (0, 0.4), (4, 0.95)]);
        assert_eq!(p.rows(None, false), [0, 1, 2, 3]);
        assert_eq!(p.rows(None, true), [1, 2, 0, 3]);
        let four = ClassCode::from_index(4);
        assert_eq!(p.rows(four, true), [1, 3]);
        assert_eq!(p.top3(1)[0], (four.unwrap(), 0.3));
    }

    #[test]
    fn load_averages_the_folds_and_names_a_bad_file() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::new(dir.path());
        assert_eq!(load(dir.path(), "r", 2).unwrap(), None, "no eval files");
        let mut a = vec![0f32; 2 * NUM_CLASSES];
        let mut b = a.clone();
        a[3] = 1.0; // row 0: class 3 in fold 1
        b[5] = 1.0; // row 0: class 5 in fold 2
        a[NUM_CLASSES + 7] = 1.0;
        b[NUM_CLASSES + 7] = 1.0;
        for (k, m) in [(1, &a), (2, &b)] {
            crate::ml::npy::write(
                &run.eval_probs(k, false),
                &Matrix {
                    rows: 2,
                    cols: NUM_CLASSES,
                    data: m.clone(),
                },
            )
            .unwrap();
        }
        let p = load(dir.path(), "r", 2).unwrap().unwrap();
        assert_eq!(p.folds, 2);
        assert_eq!(p.probs[0][3], 0.5);
        assert_eq!(p.probs[0][5], 0.5);
        assert_eq!(p.predicted(1), (ClassCode::from_index(7).unwrap(), 1.0));
        let err = load(dir.path(), "r", 3).unwrap_err();
        assert!(
            err.contains("eval_probs_fold1.npy") && err.contains("3 eval rows"),
            "{err}"
        );
    }
}
