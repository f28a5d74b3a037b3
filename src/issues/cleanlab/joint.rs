//! Per-class thresholds, the confident joint, its calibration and the latent noise
//! estimates (cleanlab `count.py` and `internal/latent_algebra.py`).

// Matrix algebra over small K x K arrays reads best with explicit indices.
#![allow(clippy::needless_range_loop)]

use super::{parallel_chunks, MultiConfidentRule, SquareMatrix};
use crate::issues::probs::{
    argmax, bits_at_least, in_range, pairwise_sum, validate, InputError, Prob, ProbView, BLOCK_COLS,
};

/// cleanlab's `BIG_VALUE`: the threshold of a class absent from the labels.
pub const ABSENT_CLASS_THRESHOLD: f64 = 2.0;
/// cleanlab's `CONFIDENT_THRESHOLDS_LOWER_BOUND`.
pub const THRESHOLD_FLOOR: f64 = 2e-6;
const TINY_VALUE: f64 = 1e-100;

/// Per-class confident thresholds t_j (the mean self-confidence of class j).
///
/// `wide` mirrors a NumPy dtype detail: when a class is absent, cleanlab builds the
/// threshold array from a list holding the integer 2, which makes it float64 even for
/// float32 probabilities; otherwise the thresholds stay float32 and comparisons are
/// float32. Both cases are reproduced.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Thresholds {
    pub values: Vec<f64>,
    pub wide: bool,
    /// `t_j - 1e-6` as cleanlab computes it, exact in f64.
    cut: Vec<f64>,
}

impl Thresholds {
    fn new<T: Prob>(values: Vec<f64>, wide: bool) -> Self {
        let cut = values
            .iter()
            .map(|&t| {
                if wide {
                    t - 1e-6
                } else {
                    (T::from_f64(t) - T::from_f64(1e-6)).to_f64()
                }
            })
            .collect();
        Thresholds { values, wide, cut }
    }
    /// Whether `p` counts as confident for class `j` (`p >= t_j - 1e-6`).
    #[inline]
    pub fn confident<T: Prob>(&self, p: T, j: usize) -> bool {
        p.to_f64() >= self.cut[j]
    }
    /// The cuts in the probabilities' type: `p >= cut[j]` in T is the same test as
    /// [`Thresholds::confident`], without converting every probability to f64.
    pub fn cuts<T: Prob>(&self) -> Vec<T> {
        self.cut.iter().map(|&c| T::at_least(c)).collect()
    }
    /// The largest threshold (used by `adjust_pred_probs`).
    pub fn max(&self) -> f64 {
        self.values
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max)
    }
}

/// `count.get_confident_thresholds`.
pub fn confident_thresholds<T: Prob>(labels: &[usize], probs: ProbView<'_, T>) -> Thresholds {
    let k = probs.k();
    let mut columns: Vec<Vec<T>> = vec![Vec::new(); k];
    for (i, &y) in labels.iter().enumerate() {
        columns[y].push(probs.get(i, y));
    }
    thresholds_from_columns(&columns)
}

/// The thresholds from each class's self-confidences, in row order.
fn thresholds_from_columns<T: Prob>(columns: &[Vec<T>]) -> Thresholds {
    let wide = columns.iter().any(|c| c.is_empty());
    let values = columns
        .iter()
        .map(|c| {
            if c.is_empty() {
                ABSENT_CLASS_THRESHOLD
            } else {
                // np.mean: pairwise sum in the dtype, divided in the dtype.
                let mean = pairwise_sum(c) / T::from_usize(c.len());
                if wide {
                    mean.to_f64().max(THRESHOLD_FLOOR)
                } else {
                    let floor = T::from_f64(THRESHOLD_FLOOR);
                    (if mean < floor { floor } else { mean }).to_f64()
                }
            }
        })
        .collect();
    Thresholds::new::<T>(values, wide)
}

/// [`validate`] and [`confident_thresholds`] in one pass over the matrix (split between
/// threads): the label counts and the thresholds. On bad input, the error `validate`
/// gives.
pub fn validated_thresholds<T: Prob>(
    labels: &[usize],
    probs: ProbView<'_, T>,
    threads: usize,
) -> Result<(Vec<usize>, Thresholds), InputError> {
    let k = probs.k();
    if labels.len() != probs.n() {
        return Err(validate(labels, probs).err().unwrap_or(InputError::Empty));
    }
    let parts = parallel_chunks(probs.n(), k, threads, |start, end| {
        let mut counts = vec![0usize; k];
        let mut columns: Vec<Vec<T>> = vec![Vec::new(); k];
        // Blocks of rows small enough to stay in cache between the two loops.
        const BLOCK: usize = 512;
        for block_start in (start..end).step_by(BLOCK) {
            let block_end = (block_start + BLOCK).min(end);
            if !in_range(probs.rows(block_start, block_end).data()) {
                return None;
            }
            for i in block_start..block_end {
                let y = labels[i];
                if y >= k {
                    return None;
                }
                counts[y] += 1;
                columns[y].push(probs.get(i, y));
            }
        }
        Some((counts, columns))
    });
    let mut counts = vec![0usize; k];
    let mut columns: Vec<Vec<T>> = vec![Vec::new(); k];
    for part in parts {
        // Something is wrong: let the sequential check name the first bad cell or label.
        let Some((c, cols)) = part else {
            return Err(validate(labels, probs)
                .err()
                .unwrap_or_else(|| InputError::Option("invalid input".into())));
        };
        for (a, b) in counts.iter_mut().zip(c) {
            *a += b;
        }
        for (a, b) in columns.iter_mut().zip(cols) {
            if a.is_empty() {
                *a = b;
            } else {
                a.extend(b);
            }
        }
    }
    let distinct = counts.iter().filter(|&&c| c > 0).count();
    if distinct < 2 {
        return Err(InputError::TooFewLabelClasses(distinct));
    }
    Ok((counts, thresholds_from_columns(&columns)))
}

/// The raw (uncalibrated) confident counts and the rows counted off the diagonal.
#[derive(Debug, Clone)]
pub struct ConfidentCounts {
    /// counts[given][guess], before the at-least-one diagonal.
    pub counts: SquareMatrix,
    /// Rows confidently counted into a class other than their label, ascending.
    pub off_diagonal: Vec<usize>,
}

/// The true-label guess for one row, or `None` when no class is confident.
#[inline]
pub fn guess_row<T: Prob>(row: &[T], th: &Thresholds, rule: MultiConfidentRule) -> Option<usize> {
    guess_row_with_cuts(row, &th.cuts::<T>(), rule)
}

/// [`guess_row`] with the cuts from [`Thresholds::cuts`].
#[inline]
fn guess_row_with_cuts<T: Prob>(row: &[T], cuts: &[T], rule: MultiConfidentRule) -> Option<usize> {
    let mut n_conf = 0usize;
    let mut first = usize::MAX;
    // Columns in blocks, each tested without branches (it vectorises).
    for (b, (cols, cuts)) in row
        .chunks(BLOCK_COLS)
        .zip(cuts.chunks(BLOCK_COLS))
        .enumerate()
    {
        let conf = bits_at_least(cols, cuts);
        if conf != 0 && first == usize::MAX {
            first = b * BLOCK_COLS + conf.trailing_zeros() as usize;
        }
        n_conf += conf.count_ones() as usize;
    }
    match n_conf {
        0 => None,
        1 => Some(first),
        _ => match rule {
            MultiConfidentRule::ArgmaxAll => Some(argmax(row)),
            MultiConfidentRule::ArgmaxAmongConfident => {
                let mut best = first;
                for (j, (&p, &cut)) in row.iter().zip(cuts).enumerate().skip(first + 1) {
                    if p >= cut && p > row[best] {
                        best = j;
                    }
                }
                Some(best)
            }
        },
    }
}

/// One pass over the rows (split between threads): confident counts and off-diagonals.
pub fn confident_counts<T: Prob>(
    labels: &[usize],
    probs: ProbView<'_, T>,
    th: &Thresholds,
    rule: MultiConfidentRule,
    threads: usize,
) -> ConfidentCounts {
    let k = probs.k();
    let cuts = th.cuts::<T>();
    let parts = parallel_chunks(probs.n(), k, threads, |start, end| {
        let mut counts = vec![0u64; k * k];
        let mut off = Vec::new();
        for i in start..end {
            let y = labels[i];
            if let Some(g) = guess_row_with_cuts(probs.row(i), &cuts, rule) {
                counts[y * k + g] += 1;
                if g != y {
                    off.push(i);
                }
            }
        }
        (counts, off)
    });
    let mut counts = vec![0f64; k * k];
    let mut off_diagonal = Vec::new();
    for (c, off) in parts {
        for (a, b) in counts.iter_mut().zip(c) {
            *a += b as f64;
        }
        off_diagonal.extend(off);
    }
    ConfidentCounts {
        counts: SquareMatrix { k, data: counts },
        off_diagonal,
    }
}

/// `np.fill_diagonal(C, C.diagonal().clip(min=1))`.
pub fn at_least_one_on_diagonal(c: &mut SquareMatrix) {
    for i in 0..c.k {
        let v = c.get(i, i);
        c.set(i, i, v.max(1.0));
    }
}

/// Rounds half to even, like `np.round`.
pub fn round_half_even(x: f64) -> f64 {
    x.round_ties_even()
}

/// `internal.util.round_preserving_sum`: round, then move the largest remainders up (or
/// the smallest down) until the rounded total equals the rounded original total.
///
/// Among exactly equal remainders NumPy's order depends on its (SIMD) sort; here the
/// lower index is taken first when rounding down and the higher index first when
/// rounding up, which is what a stable sort would give.
pub fn round_preserving_sum(floats: &[f64]) -> Vec<f64> {
    let mut ints: Vec<f64> = floats.iter().map(|&f| round_half_even(f)).collect();
    let orig_sum = round_half_even(pairwise_sum(floats));
    let mut int_sum = round_half_even(pairwise_sum(&ints));
    let mut guard = 0;
    while (int_sum - orig_sum).abs() > 1e-6 && guard < 64 {
        guard += 1;
        let diff = round_half_even(orig_sum - int_sum);
        let increment = if diff < 0.0 { -1.0 } else { 1.0 };
        let changes = (diff.abs() as usize).min(floats.len());
        let mut order: Vec<usize> = (0..floats.len()).collect();
        let rem: Vec<f64> = floats.iter().zip(&ints).map(|(f, i)| f - i).collect();
        order.sort_by(|&a, &b| rem[a].total_cmp(&rem[b]).then(a.cmp(&b)));
        if increment > 0.0 {
            order.reverse();
        }
        for &i in order.iter().take(changes) {
            ints[i] += increment;
        }
        int_sum = round_half_even(pairwise_sum(&ints));
    }
    ints
}

/// `round_preserving_row_totals`.
pub fn round_preserving_row_totals(m: &SquareMatrix) -> SquareMatrix {
    let k = m.k;
    let mut out = Vec::with_capacity(k * k);
    for i in 0..k {
        out.extend(round_preserving_sum(m.row(i)));
    }
    SquareMatrix { k, data: out }
}

/// `count.calibrate_confident_joint`: rows rescaled to the label counts, the whole
/// matrix to N, then rounded keeping row totals.
pub fn calibrate_confident_joint(c: &SquareMatrix, label_counts: &[usize]) -> SquareMatrix {
    let k = c.k;
    let n: usize = label_counts.iter().sum();
    let mut cal = vec![0f64; k * k];
    for i in 0..k {
        let row_sum: f64 = c.row(i).iter().sum();
        let denom = row_sum.max(TINY_VALUE);
        for j in 0..k {
            cal[i * k + j] = c.get(i, j) / denom * label_counts[i] as f64;
        }
    }
    // NumPy sums the transposed (column-major) result in memory order.
    let column_major: Vec<f64> = (0..k * k).map(|x| cal[(x % k) * k + x / k]).collect();
    let total = pairwise_sum(&column_major).max(TINY_VALUE);
    for v in &mut cal {
        *v = *v / total * n as f64;
    }
    round_preserving_row_totals(&SquareMatrix { k, data: cal })
}

/// `count.estimate_joint` from an already calibrated joint: C / sum(C).
pub fn joint_from_calibrated(cal: &SquareMatrix) -> SquareMatrix {
    let total = pairwise_sum(&cal.data).max(TINY_VALUE);
    SquareMatrix {
        k: cal.k,
        data: cal.data.iter().map(|v| v / total).collect(),
    }
}

/// Everything `compute_confident_joint` produces in one pass.
#[derive(Debug, Clone)]
pub struct ConfidentJoint {
    pub thresholds: Thresholds,
    /// C[given][guess] after the at-least-one diagonal, uncalibrated.
    pub raw: SquareMatrix,
    /// Calibrated and rounded (what `compute_confident_joint(calibrate=True)` returns).
    pub calibrated: SquareMatrix,
    /// Uncalibrated off-diagonal rows (`return_indices_of_off_diagonals`).
    pub off_diagonal: Vec<usize>,
}

pub fn compute_confident_joint<T: Prob>(
    labels: &[usize],
    probs: ProbView<'_, T>,
    label_counts: &[usize],
    rule: MultiConfidentRule,
    threads: usize,
) -> ConfidentJoint {
    let thresholds = confident_thresholds(labels, probs);
    confident_joint_with_thresholds(labels, probs, label_counts, thresholds, rule, threads)
}

/// [`compute_confident_joint`] with the thresholds already computed.
pub fn confident_joint_with_thresholds<T: Prob>(
    labels: &[usize],
    probs: ProbView<'_, T>,
    label_counts: &[usize],
    thresholds: Thresholds,
    rule: MultiConfidentRule,
    threads: usize,
) -> ConfidentJoint {
    let ConfidentCounts {
        mut counts,
        off_diagonal,
    } = confident_counts(labels, probs, &thresholds, rule, threads);
    at_least_one_on_diagonal(&mut counts);
    let calibrated = calibrate_confident_joint(&counts, label_counts);
    ConfidentJoint {
        thresholds,
        raw: counts,
        calibrated,
        off_diagonal,
    }
}

/// `filter._keep_at_least_n_per_class` followed by `_reduce_prune_counts`, on the
/// transposed joint (rows = true class, columns = given class). Returns integer counts.
pub fn keep_at_least_n_per_class(pcm: &SquareMatrix, n: usize, frac_noise: f64) -> SquareMatrix {
    let k = pcm.k;
    let n = n as f64;
    let mut diff = vec![0f64; k];
    let mut per_col = vec![0f64; k];
    for c in 0..k {
        let d = pcm.get(c, c);
        diff[c] = d.max(n) - d;
        let nnz = (0..k).filter(|&r| pcm.get(r, c) != 0.0).count() as f64;
        per_col[c] = (nnz - 1.0).max(1.0);
    }
    let mut m = SquareMatrix {
        k,
        data: vec![0.0; k * k],
    };
    for r in 0..k {
        for c in 0..k {
            let v = pcm.get(r, c) - diff[c] / per_col[c];
            m.set(r, c, if v < 0.0 { 0.0 } else { v });
        }
    }
    for c in 0..k {
        m.set(c, c, pcm.get(c, c).max(n));
    }
    // _reduce_prune_counts: scale the noise, give the removed mass back to the diagonal,
    // then truncate to integers (astype(int)).
    let mut reduced = SquareMatrix {
        k,
        data: m.data.iter().map(|v| v * frac_noise).collect(),
    };
    for c in 0..k {
        let mut removed = 0.0;
        for r in 0..k {
            let new = if r == c {
                m.get(r, c)
            } else {
                reduced.get(r, c)
            };
            removed += m.get(r, c) - new;
        }
        reduced.set(c, c, m.get(c, c) + removed);
    }
    for v in &mut reduced.data {
        *v = v.trunc();
    }
    reduced
}

/// The `num_to_remove_per_class` rescaling of the prune-count matrix, NumPy broadcasting
/// included (each row is divided by the column's total, then scaled by its own row).
pub fn rescale_to_removals(
    pcm: &SquareMatrix,
    num_to_remove: &[usize],
    label_counts: &[usize],
) -> Result<SquareMatrix, InputError> {
    let k = pcm.k;
    if num_to_remove.len() != k {
        return Err(InputError::Option(format!(
            "num_to_remove_per_class has {} entries, expected {k} (one per class)",
            num_to_remove.len()
        )));
    }
    let row_sums: Vec<f64> = (0..k).map(|r| pairwise_sum(pcm.row(r))).collect();
    let mut psy = SquareMatrix {
        k,
        data: vec![0.0; k * k],
    };
    for r in 0..k {
        for c in 0..k {
            psy.set(r, c, pcm.get(r, c) / row_sums[c]);
        }
    }
    let mut tmp = SquareMatrix {
        k,
        data: vec![0.0; k * k],
    };
    for r in 0..k {
        let noise = pairwise_sum(psy.row(r)) - psy.get(r, r);
        if !(noise.is_finite() && noise != 0.0) {
            return Err(InputError::Option(format!(
                "num_to_remove_per_class: class {r} has no estimated noise to rescale"
            )));
        }
        for c in 0..k {
            tmp.set(r, c, psy.get(r, c) * num_to_remove[r] as f64 / noise);
        }
        tmp.set(r, r, label_counts[r] as f64 - num_to_remove[r] as f64);
    }
    Ok(round_preserving_row_totals(&tmp))
}

/// `clip_noise_rates`: off-diagonals clipped to [0, 0.9999], columns renormalised.
fn clip_noise_rates(m: &SquareMatrix) -> SquareMatrix {
    let k = m.k;
    let mut out = m.clone();
    for r in 0..k {
        for c in 0..k {
            if r != c {
                out.set(r, c, m.get(r, c).clamp(0.0, 0.9999));
            }
        }
    }
    let col_sums: Vec<f64> = (0..k)
        .map(|c| (0..k).map(|r| out.get(r, c)).sum::<f64>())
        .collect();
    for r in 0..k {
        for c in 0..k {
            out.set(r, c, out.get(r, c) / col_sums[c].max(TINY_VALUE));
        }
    }
    out
}

/// `clip_values(x, low, high, new_sum)`.
fn clip_values(x: &[f64], low: f64, high: f64, new_sum: f64) -> Vec<f64> {
    let clipped: Vec<f64> = x.iter().map(|v| v.clamp(low, high)).collect();
    let s = pairwise_sum(&clipped).max(TINY_VALUE);
    clipped.iter().map(|v| v * new_sum / s).collect()
}

/// `compute_py` with `py_method="cnt"`.
fn py_cnt(ps: &[f64], nm: &SquareMatrix, inv: &SquareMatrix) -> Vec<f64> {
    let py: Vec<f64> = (0..nm.k)
        .map(|i| inv.get(i, i) / nm.get(i, i).max(TINY_VALUE) * ps[i])
        .collect();
    clip_values(&py, 1e-6, 1.0, 1.0)
}

/// Latent estimates: prior of true labels and both noise matrices.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LatentEstimates {
    /// p(true label)
    pub py: Vec<f64>,
    /// P(given = i | true = j), columns sum to 1.
    pub noise_matrix: SquareMatrix,
    /// P(true = i | given = j), columns sum to 1.
    pub inverse_noise_matrix: SquareMatrix,
}

/// `count.estimate_latent(confident_joint, labels, py_method="cnt", converge_latent_estimates)`.
pub fn estimate_latent(
    cj: &SquareMatrix,
    label_counts: &[usize],
    converge: bool,
) -> LatentEstimates {
    let k = cj.k;
    let n: usize = label_counts.iter().sum();
    let ps: Vec<f64> = label_counts.iter().map(|&c| c as f64 / n as f64).collect();
    let row_sums: Vec<f64> = (0..k).map(|r| cj.row(r).iter().sum()).collect();
    let col_sums: Vec<f64> = (0..k).map(|c| (0..k).map(|r| cj.get(r, c)).sum()).collect();
    let mut nm = SquareMatrix {
        k,
        data: vec![0.0; k * k],
    };
    let mut inv = SquareMatrix {
        k,
        data: vec![0.0; k * k],
    };
    for r in 0..k {
        for c in 0..k {
            nm.set(r, c, cj.get(r, c) / col_sums[c].max(TINY_VALUE));
            inv.set(r, c, cj.get(c, r) / row_sums[c].max(TINY_VALUE));
        }
    }
    let mut py = py_cnt(&ps, &nm, &inv);
    let mut nm = clip_noise_rates(&nm);
    let mut inv = clip_noise_rates(&inv);
    if converge {
        for _ in 0..3 {
            for _ in 0..5 {
                // compute_inv_noise_matrix(py, nm, ps)
                let mut next = SquareMatrix {
                    k,
                    data: vec![0.0; k * k],
                };
                for a in 0..k {
                    for b in 0..k {
                        next.set(a, b, nm.get(b, a) * py[a] / ps[b].max(TINY_VALUE));
                    }
                }
                inv = clip_noise_rates(&next);
                py = py_cnt(&ps, &nm, &inv);
            }
            // compute_noise_matrix_from_inverse(ps, inv, py)
            let mut next = SquareMatrix {
                k,
                data: vec![0.0; k * k],
            };
            for a in 0..k {
                for b in 0..k {
                    next.set(a, b, inv.get(b, a) * ps[a] / py[b].max(TINY_VALUE));
                }
            }
            nm = clip_noise_rates(&next);
        }
        py = clip_values(&py, 1e-5, 1.0, 1.0);
        nm = clip_noise_rates(&nm);
        inv = clip_noise_rates(&inv);
    }
    LatentEstimates {
        py,
        noise_matrix: nm,
        inverse_noise_matrix: inv,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_keeps_row_totals_and_rounds_half_to_even() {
        assert_eq!(
            round_preserving_sum(&[0.5, 0.5, 0.5, 0.5]),
            vec![0.0, 0.0, 1.0, 1.0]
        );
        assert_eq!(round_preserving_sum(&[1.4, 1.4, 1.2]), vec![1.0, 2.0, 1.0]);
        assert_eq!(round_preserving_sum(&[2.6, 2.6, 2.8]), vec![2.0, 3.0, 3.0]);
        let r = round_preserving_sum(&[0.3; 10]);
        assert_eq!(r.iter().sum::<f64>(), 3.0);
    }

    #[test]
    fn calibration_rescales_rows_to_label_counts() {
        let c = SquareMatrix {
            k: 2,
            data: vec![3.0, 1.0, 1.0, 1.0],
        };
        let cal = calibrate_confident_joint(&c, &[8, 4]);
        assert_eq!(cal.data, vec![6.0, 2.0, 2.0, 2.0]);
        // An absent class's row (diagonal forced to 1) calibrates to zeros.
        let c = SquareMatrix {
            k: 2,
            data: vec![5.0, 0.0, 0.0, 1.0],
        };
        let cal = calibrate_confident_joint(&c, &[10, 0]);
        assert_eq!(cal.data, vec![10.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn keep_at_least_n_moves_mass_from_noise_to_the_diagonal_and_floors() {
        // Column 0 (given class 0): diagonal 1 raised to 3, 2 taken evenly from 2 noise cells.
        let pcm = SquareMatrix {
            k: 3,
            data: vec![1.0, 0.0, 0.0, 4.0, 5.0, 0.0, 3.0, 0.0, 6.0],
        };
        let m = keep_at_least_n_per_class(&pcm, 3, 1.0);
        assert_eq!(m.data, vec![3.0, 0.0, 0.0, 3.0, 5.0, 0.0, 2.0, 0.0, 6.0]);
        let m = keep_at_least_n_per_class(&pcm, 1, 0.5);
        // Noise halved and floored: 4 -> 2, 3 -> 1.5 -> 1; diagonal gets 1 + 2 + 1.5 = 4.5 -> 4.
        assert_eq!(m.data, vec![4.0, 0.0, 0.0, 2.0, 5.0, 0.0, 1.0, 0.0, 6.0]);
    }

    #[test]
    fn thresholds_are_class_means_with_floor_and_absent_classes() {
        let p = [
            0.9f32, 0.1, 0.0, 0.7, 0.3, 0.0, 0.2, 0.8, 0.0, 1.0, 0.0, 0.0,
        ];
        let v = ProbView::new(&p, 3).unwrap();
        let th = confident_thresholds(&[0, 0, 1, 1], v);
        assert!(th.wide);
        assert_eq!(th.values[0], ((0.9f32 + 0.7f32) / 2.0) as f64);
        assert_eq!(th.values[1], ((0.8f32 + 0.0f32) / 2.0) as f64);
        assert_eq!(th.values[2], 2.0);
        assert!(!th.confident(1.0f32, 2));
        let p = [0.0f64, 1.0, 1.0, 0.0];
        let th = confident_thresholds(&[0, 1], ProbView::new(&p, 2).unwrap());
        assert_eq!(th.values, vec![THRESHOLD_FLOOR, THRESHOLD_FLOOR]);
        assert!(!th.wide);
    }

    #[test]
    fn multi_confident_rules_differ_as_documented() {
        // Thresholds 0.2 (class 0), 0.5 (class 1), 0.9 (class 2): class 2 is the argmax but
        // not confident.
        let th = Thresholds::new::<f64>(vec![0.2, 0.3, 0.9], false);
        let row = [0.25, 0.3, 0.45];
        assert_eq!(guess_row(&row, &th, MultiConfidentRule::ArgmaxAll), Some(2));
        assert_eq!(
            guess_row(&row, &th, MultiConfidentRule::ArgmaxAmongConfident),
            Some(1)
        );
        assert_eq!(
            guess_row(&[0.1, 0.1, 0.8], &th, MultiConfidentRule::ArgmaxAll),
            None
        );
        assert_eq!(
            guess_row(&[0.1, 0.3, 0.6], &th, MultiConfidentRule::ArgmaxAll),
            Some(1)
        );
        // The tolerance: 1e-6 below the threshold still counts.
        assert_eq!(
            guess_row(&[0.1999995, 0.0, 0.0], &th, MultiConfidentRule::ArgmaxAll),
            Some(0)
        );
    }
}
