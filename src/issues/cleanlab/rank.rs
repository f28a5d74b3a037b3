//! Label quality scores (cleanlab `rank.py`), the ordering of flagged rows, and
//! ensemble scores over several models' probabilities.

use super::joint::{confident_thresholds, Thresholds};
use crate::issues::probs::{argmax, pairwise_sum, InputError, Prob, ProbView};

/// How to score a label (lower = more likely wrong).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RankBy {
    /// p[y]: best for out-of-distribution or ambiguous examples.
    #[default]
    SelfConfidence,
    /// (p[y] - max_{k != y} p[k] + 1) / 2: best when another class clearly fits.
    NormalizedMargin,
    /// log(s + 1) / s with s = normalised entropy / p[y].
    ConfidenceWeightedEntropy,
}

impl RankBy {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "self_confidence" => Some(RankBy::SelfConfidence),
            "normalized_margin" => Some(RankBy::NormalizedMargin),
            "confidence_weighted_entropy" => Some(RankBy::ConfidenceWeightedEntropy),
            _ => None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            RankBy::SelfConfidence => "self_confidence",
            RankBy::NormalizedMargin => "normalized_margin",
            RankBy::ConfidenceWeightedEntropy => "confidence_weighted_entropy",
        }
    }
}

/// `rank_by` plus its keyword arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RankOptions {
    pub method: RankBy,
    /// Subtract the per-class thresholds (plus their max) and renormalise first.
    pub adjust_pred_probs: bool,
}

/// Scores one row in dtype `U` exactly as NumPy would on an array of that dtype.
fn score_row<U: Prob>(row: &[U], y: usize, method: RankBy) -> f64 {
    match method {
        RankBy::SelfConfidence => row[y].to_f64(),
        RankBy::NormalizedMargin => {
            let mut other: Option<U> = None;
            for (j, &v) in row.iter().enumerate() {
                if j != y && other.is_none_or(|o| v > o) {
                    other = Some(v);
                }
            }
            let other = other.unwrap_or(U::ZERO);
            ((row[y] - other + U::from_f64(1.0)) / U::from_f64(2.0)).to_f64()
        }
        RankBy::ConfidenceWeightedEntropy => {
            let floor = U::from_f64(1e-6);
            let sc = if row[y] < floor { floor } else { row[y] };
            // -sum(xlogy(p, p)) in the dtype; the division by log(K) promotes to float64.
            let mut terms = [U::ZERO; 64];
            let h = if row.len() <= terms.len() {
                for (t, &v) in terms.iter_mut().zip(row) {
                    *t = v.xlogx();
                }
                pairwise_sum(&terms[..row.len()])
            } else {
                let v: Vec<U> = row.iter().map(|&v| v.xlogx()).collect();
                pairwise_sum(&v)
            };
            let entropy = (U::ZERO - h).to_f64() / (row.len() as f64).ln();
            let s = entropy / sc.to_f64();
            (s + 1.0).ln() / s.max(1e-6)
        }
    }
}

/// `_subtract_confident_thresholds` for one row, in dtype `U`.
fn adjust_row<T: Prob, U: Prob>(row: &[T], th: &[U], th_max: U, out: &mut [U]) {
    for ((o, &p), &t) in out.iter_mut().zip(row).zip(th) {
        *o = U::from_f64(p.to_f64()) - t + th_max;
    }
    let s = pairwise_sum(out);
    for o in out.iter_mut() {
        *o = *o / s;
    }
}

/// A scorer bound to its inputs; scores single rows without allocating.
pub struct Scorer<'a, T> {
    labels: &'a [usize],
    probs: ProbView<'a, T>,
    method: RankBy,
    adjust: Option<Thresholds>,
    /// The thresholds in the probabilities' dtype (when they are not float64).
    narrow: Vec<T>,
}

impl<'a, T: Prob> Scorer<'a, T> {
    pub fn new(
        labels: &'a [usize],
        probs: ProbView<'a, T>,
        opts: RankOptions,
        thresholds: Option<&Thresholds>,
    ) -> Result<Self, InputError> {
        if opts.adjust_pred_probs && opts.method == RankBy::ConfidenceWeightedEntropy {
            return Err(InputError::Option(
                "adjust_pred_probs is not supported with confidence_weighted_entropy".into(),
            ));
        }
        if opts.method == RankBy::ConfidenceWeightedEntropy
            && probs
                .data()
                .iter()
                .any(|&v| v.to_f64() < 0.0 || v.to_f64() > 1.0)
        {
            return Err(InputError::Option(
                "confidence_weighted_entropy needs every probability inside [0, 1] exactly".into(),
            ));
        }
        let adjust = opts.adjust_pred_probs.then(|| match thresholds {
            Some(t) => t.clone(),
            None => confident_thresholds(labels, probs),
        });
        let narrow = adjust
            .as_ref()
            .map(|t| t.values.iter().map(|&v| T::from_f64(v)).collect())
            .unwrap_or_default();
        Ok(Scorer {
            labels,
            probs,
            method: opts.method,
            adjust,
            narrow,
        })
    }

    #[inline]
    pub fn score(&self, i: usize) -> f64 {
        let row = self.probs.row(i);
        let y = self.labels[i];
        let Some(adj) = &self.adjust else {
            return score_row(row, y, self.method);
        };
        let k = row.len();
        if adj.wide {
            let mut stack = [0f64; 64];
            let mut heap;
            let buf = if k <= 64 {
                &mut stack[..k]
            } else {
                heap = vec![0f64; k];
                &mut heap[..]
            };
            adjust_row(row, &adj.values, adj.max(), buf);
            score_row(buf, y, self.method)
        } else {
            let mut stack = [T::ZERO; 64];
            let mut heap;
            let buf = if k <= 64 {
                &mut stack[..k]
            } else {
                heap = vec![T::ZERO; k];
                &mut heap[..]
            };
            adjust_row(row, &self.narrow, T::from_f64(adj.max()), buf);
            score_row(buf, y, self.method)
        }
    }
}

/// `rank.get_label_quality_scores` for every row.
pub fn label_quality_scores<T: Prob>(
    labels: &[usize],
    probs: ProbView<'_, T>,
    opts: RankOptions,
) -> Result<Vec<f64>, InputError> {
    crate::issues::probs::validate_allow_one_class(labels, probs)?;
    let scorer = Scorer::new(labels, probs, opts, None)?;
    Ok((0..labels.len()).map(|i| scorer.score(i)).collect())
}

/// Sorts rows by ascending score (ties: lower row first), like `order_label_issues`.
pub fn order_by_score(rows: &mut [(usize, f64)]) {
    // Rows are unique, so an unstable sort gives the same order.
    rows.sort_unstable_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
}

/// `rank.order_label_issues`: the flagged rows ranked by their label quality score.
pub fn order_label_issues<T: Prob>(
    mask: &[bool],
    labels: &[usize],
    probs: ProbView<'_, T>,
    opts: RankOptions,
    thresholds: Option<&Thresholds>,
) -> Result<Vec<(usize, f64)>, InputError> {
    let scorer = Scorer::new(labels, probs, opts, thresholds)?;
    let mut rows: Vec<(usize, f64)> = mask
        .iter()
        .enumerate()
        .filter(|(_, &m)| m)
        .map(|(i, _)| (i, scorer.score(i)))
        .collect();
    order_by_score(&mut rows);
    Ok(rows)
}

/// How ensemble members are weighted (`weight_ensemble_members_by`).
#[derive(Debug, Clone, PartialEq)]
pub enum EnsembleWeighting {
    Uniform,
    /// Relative accuracy of argmax against the given labels (cleanlab's default).
    Accuracy,
    /// Weights exp(-t * log loss), t searched over cleanlab's grid for the lowest log loss
    /// of the weighted average.
    LogLossSearch,
    Custom(Vec<f64>),
}

/// `rank.get_label_quality_ensemble_scores`: per-member scores combined with weights.
/// Returns the scores and the weights used.
pub fn ensemble_scores<T: Prob>(
    labels: &[usize],
    members: &[ProbView<'_, T>],
    opts: RankOptions,
    weighting: &EnsembleWeighting,
) -> Result<(Vec<f64>, Vec<f64>), InputError> {
    if members.is_empty() {
        return Err(InputError::Option("the ensemble has no members".into()));
    }
    for m in members {
        crate::issues::probs::validate(labels, *m)?;
    }
    let n = labels.len();
    let weights: Vec<f64> = match weighting {
        EnsembleWeighting::Uniform => vec![1.0 / members.len() as f64; members.len()],
        EnsembleWeighting::Accuracy => {
            let acc: Vec<f64> = members
                .iter()
                .map(|m| {
                    let hits = (0..n).filter(|&i| argmax(m.row(i)) == labels[i]).count();
                    hits as f64 / n as f64
                })
                .collect();
            let total: f64 = acc.iter().sum();
            acc.iter().map(|a| a / total).collect()
        }
        EnsembleWeighting::LogLossSearch => log_loss_search_weights(labels, members),
        EnsembleWeighting::Custom(w) => {
            if w.len() != members.len() {
                return Err(InputError::Option(format!(
                    "{} custom weights for {} ensemble members",
                    w.len(),
                    members.len()
                )));
            }
            w.clone()
        }
    };
    let scorers: Vec<Scorer<'_, T>> = members
        .iter()
        .map(|m| Scorer::new(labels, *m, opts, None))
        .collect::<Result<_, _>>()?;
    let uniform = matches!(weighting, EnsembleWeighting::Uniform);
    let scores = (0..n)
        .map(|i| {
            if uniform {
                let s: f64 = scorers.iter().map(|s| s.score(i)).sum();
                s / members.len() as f64
            } else {
                scorers
                    .iter()
                    .zip(&weights)
                    .map(|(s, w)| s.score(i) * w)
                    .sum()
            }
        })
        .collect();
    Ok((scores, weights))
}

const LOG_LOSS_T_VALUES: [f64; 8] = [1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0, 200.0];

/// Mean negative log-likelihood of the given labels, probabilities clipped to
/// [eps, 1 - eps] and rows renormalised (as scikit-learn's `log_loss`).
fn log_loss(labels: &[usize], probs: &dyn Fn(usize, usize) -> f64, k: usize) -> f64 {
    let eps = f64::EPSILON;
    let mut total = 0.0;
    for (i, &y) in labels.iter().enumerate() {
        let row_sum: f64 = (0..k).map(|j| probs(i, j).clamp(eps, 1.0 - eps)).sum();
        total -= (probs(i, y).clamp(eps, 1.0 - eps) / row_sum).ln();
    }
    total / labels.len() as f64
}

fn log_loss_search_weights<T: Prob>(labels: &[usize], members: &[ProbView<'_, T>]) -> Vec<f64> {
    let k = members[0].k();
    let losses: Vec<f64> = members
        .iter()
        .map(|m| {
            let clipped = |i: usize, j: usize| m.get(i, j).to_f64().max(1e-6);
            log_loss(labels, &clipped, k)
        })
        .collect();
    let mut best = (
        f64::INFINITY,
        vec![1.0 / members.len() as f64; members.len()],
    );
    for t in LOG_LOSS_T_VALUES {
        let raw: Vec<f64> = losses.iter().map(|l| (-t * l).exp()).collect();
        let s: f64 = raw.iter().sum();
        let w: Vec<f64> = raw.iter().map(|r| r / s).collect();
        let avg = |i: usize, j: usize| -> f64 {
            members
                .iter()
                .zip(&w)
                .map(|(m, w)| w * m.get(i, j).to_f64())
                .sum()
        };
        let loss = log_loss(labels, &avg, k);
        if loss < best.0 {
            best = (loss, w);
        }
    }
    best.1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(p: &[f64], k: usize) -> ProbView<'_, f64> {
        ProbView::new(p, k).unwrap()
    }

    #[test]
    fn scores_match_their_definitions() {
        let p = [0.7, 0.2, 0.1, 0.1, 0.6, 0.3];
        let v = view(&p, 3);
        let labels = [0, 2];
        let sc = label_quality_scores(&labels, v, RankOptions::default()).unwrap();
        assert_eq!(sc, vec![0.7, 0.3]);
        let nm = label_quality_scores(
            &labels,
            v,
            RankOptions {
                method: RankBy::NormalizedMargin,
                adjust_pred_probs: false,
            },
        )
        .unwrap();
        assert!((nm[0] - (0.7 - 0.2 + 1.0) / 2.0).abs() < 1e-15);
        assert!((nm[1] - (0.3 - 0.6 + 1.0) / 2.0).abs() < 1e-15);
        let cwe = label_quality_scores(
            &labels,
            v,
            RankOptions {
                method: RankBy::ConfidenceWeightedEntropy,
                adjust_pred_probs: false,
            },
        )
        .unwrap();
        let h: f64 = -[0.7f64, 0.2, 0.1].iter().map(|p| p * p.ln()).sum::<f64>() / 3f64.ln();
        let s = h / 0.7;
        assert!((cwe[0] - (s + 1.0).ln() / s).abs() < 1e-12);
        assert!(Scorer::new(
            &labels,
            v,
            RankOptions {
                method: RankBy::ConfidenceWeightedEntropy,
                adjust_pred_probs: true
            },
            None
        )
        .is_err());
    }

    #[test]
    fn adjusted_scores_subtract_thresholds_and_renormalise() {
        let p = [0.8, 0.2, 0.6, 0.4, 0.3, 0.7, 0.1, 0.9];
        let labels = [0, 0, 1, 1];
        let v = view(&p, 2);
        let s = label_quality_scores(
            &labels,
            v,
            RankOptions {
                method: RankBy::SelfConfidence,
                adjust_pred_probs: true,
            },
        )
        .unwrap();
        // t = [0.7, 0.8]; row 0 -> [0.8-0.7+0.8, 0.2-0.8+0.8] = [0.9, 0.2] / 1.1
        assert!((s[0] - 0.9 / 1.1).abs() < 1e-12, "{s:?}");
    }

    #[test]
    fn accuracy_weighting_prefers_the_better_model() {
        let labels = [0, 1, 0, 1];
        let good = [0.9, 0.1, 0.2, 0.8, 0.7, 0.3, 0.4, 0.6];
        let bad = [0.4, 0.6, 0.6, 0.4, 0.7, 0.3, 0.4, 0.6];
        let (scores, w) = ensemble_scores(
            &labels,
            &[view(&good, 2), view(&bad, 2)],
            RankOptions::default(),
            &EnsembleWeighting::Accuracy,
        )
        .unwrap();
        assert!(
            (w[0] - 1.0 / 1.5).abs() < 1e-12 && (w[1] - 0.5 / 1.5).abs() < 1e-12,
            "{w:?}"
        );
        assert!((scores[0] - (0.9 * w[0] + 0.4 * w[1])).abs() < 1e-12);
        let (u, _) = ensemble_scores(
            &labels,
            &[view(&good, 2), view(&bad, 2)],
            RankOptions::default(),
            &EnsembleWeighting::Uniform,
        )
        .unwrap();
        assert!((u[0] - 0.65).abs() < 1e-12);
        let (_, w) = ensemble_scores(
            &labels,
            &[view(&good, 2), view(&bad, 2)],
            RankOptions::default(),
            &EnsembleWeighting::LogLossSearch,
        )
        .unwrap();
        assert!(w[0] > w[1], "{w:?}");
    }
}
