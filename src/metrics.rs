//! Classification metrics of the competition: macro F1 over the 18 classes (a class with no
//! support and no prediction counts as 0), accuracy, per-class F1 and the confusion matrix.
//! Pure: no torch.

use serde::{Deserialize, Serialize};

/// Scores of predictions against ground truth for `num_classes` classes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassMetrics {
    pub num_samples: usize,
    pub accuracy: f64,
    /// Unweighted mean of `per_class_f1` over all classes.
    pub macro_f1: f64,
    pub per_class_f1: Vec<f64>,
    /// Number of true samples per class.
    pub support: Vec<u64>,
    /// `confusion[true][predicted]`.
    pub confusion: Vec<Vec<u64>>,
}

/// Confusion matrix `[true][predicted]`. Labels outside `0..num_classes` are ignored.
pub fn confusion_matrix(truth: &[usize], predicted: &[usize], num_classes: usize) -> Vec<Vec<u64>> {
    let mut m = vec![vec![0u64; num_classes]; num_classes];
    for (&t, &p) in truth.iter().zip(predicted) {
        if t < num_classes && p < num_classes {
            m[t][p] += 1;
        }
    }
    m
}

/// F1 of each class from a confusion matrix; 0 where the class has neither support nor
/// predictions (as the competition's macro F1 counts it).
pub fn per_class_f1(confusion: &[Vec<u64>]) -> Vec<f64> {
    let n = confusion.len();
    (0..n)
        .map(|c| {
            let tp = confusion[c][c] as f64;
            let actual: u64 = confusion[c].iter().sum();
            let predicted: u64 = confusion.iter().map(|row| row[c]).sum();
            let denom = actual as f64 + predicted as f64;
            if denom == 0.0 {
                0.0
            } else {
                2.0 * tp / denom
            }
        })
        .collect()
}

/// All metrics at once. `truth` and `predicted` must have the same length.
pub fn evaluate(truth: &[usize], predicted: &[usize], num_classes: usize) -> ClassMetrics {
    assert_eq!(
        truth.len(),
        predicted.len(),
        "truth and predictions differ in length"
    );
    let confusion = confusion_matrix(truth, predicted, num_classes);
    let f1 = per_class_f1(&confusion);
    let correct = truth.iter().zip(predicted).filter(|(t, p)| t == p).count();
    let n = truth.len();
    ClassMetrics {
        num_samples: n,
        accuracy: if n == 0 {
            0.0
        } else {
            correct as f64 / n as f64
        },
        macro_f1: if num_classes == 0 {
            0.0
        } else {
            f1.iter().sum::<f64>() / num_classes as f64
        },
        support: confusion.iter().map(|row| row.iter().sum()).collect(),
        per_class_f1: f1,
        confusion,
    }
}

/// Macro F1 alone.
pub fn macro_f1(truth: &[usize], predicted: &[usize], num_classes: usize) -> f64 {
    evaluate(truth, predicted, num_classes).macro_f1
}

/// Index of the largest value of each row of a row-major `rows x cols` matrix (first on
/// ties; NaN never wins).
pub fn argmax_rows(values: &[f32], cols: usize) -> Vec<usize> {
    values
        .chunks(cols)
        .map(|row| {
            let mut best = 0;
            for (i, &v) in row.iter().enumerate() {
                if v > row[best] || row[best].is_nan() && !v.is_nan() {
                    best = i;
                }
            }
            best
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfect_predictions_score_one_only_over_present_classes() {
        let truth = [0, 1, 2, 2];
        let m = evaluate(&truth, &truth, 4);
        assert_eq!(m.accuracy, 1.0);
        // Class 3 has no support and no predictions: it counts as 0 in the mean.
        assert_eq!(m.per_class_f1, vec![1.0, 1.0, 1.0, 0.0]);
        assert!((m.macro_f1 - 0.75).abs() < 1e-12);
    }

    #[test]
    fn f1_matches_a_hand_computed_example() {
        // Class 0: tp 1, fp 1, fn 1 -> F1 0.5. Class 1: tp 1, fp 1, fn 1 -> 0.5. Class 2: tp 0,
        // fp 0, fn 1 -> 0.
        let truth = [0, 0, 1, 1, 2];
        let pred = [0, 1, 1, 0, 0];
        let m = evaluate(&truth, &pred, 3);
        assert_eq!(
            m.confusion,
            vec![vec![1, 1, 0], vec![1, 1, 0], vec![1, 0, 0]]
        );
        // Class 0: tp 1, predicted 3, actual 2 -> 2/5.
        assert!((m.per_class_f1[0] - 0.4).abs() < 1e-12);
        assert!((m.per_class_f1[1] - 0.5).abs() < 1e-12);
        assert_eq!(m.per_class_f1[2], 0.0);
        assert!((m.accuracy - 0.4).abs() < 1e-12);
        assert_eq!(m.support, vec![2, 2, 1]);
        assert!((m.macro_f1 - 0.3).abs() < 1e-12);
    }

    #[test]
    fn argmax_takes_first_maximum_and_skips_nan() {
        assert_eq!(
            argmax_rows(&[0.1, 0.7, 0.7, f32::NAN, 0.2, 0.1], 3),
            vec![1, 1]
        );
    }
}
