//! Confident learning with cleanlab 2.9 parity: `filter.find_label_issues` and the
//! pieces of `count.py` / `rank.py` it relies on, for any number of classes K, over a
//! borrowed row-major N x K `f32` or `f64` matrix (never copied).
//!
//! Parity is exact (same flagged set, same thresholds and joints) except where NumPy's
//! unstable sort leaves ties in arbitrary order: here ties are broken by row index (lower
//! first when taking the best, the documented rule in [`joint::round_preserving_sum`]).
//! See docs/issues.md.

pub mod joint;
pub mod rank;
mod select;

pub use joint::{
    calibrate_confident_joint, compute_confident_joint, confident_thresholds, estimate_latent,
    ConfidentJoint, LatentEstimates, Thresholds,
};
pub use rank::{
    ensemble_scores, label_quality_scores, order_label_issues, EnsembleWeighting, RankBy,
    RankOptions, Scorer,
};

use crate::issues::probs::{
    argmax, bits_margin_above, validate, InputError, Prob, ProbView, BLOCK_COLS,
    FLOATING_POINT_COMPARISON,
};
use select::TopK;

/// One optional bounded selection per (given, true) pair or per class.
type Heaps<T> = Vec<Option<TopK<T>>>;

/// A K x K matrix of f64, row-major.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SquareMatrix {
    pub k: usize,
    pub data: Vec<f64>,
}

impl SquareMatrix {
    pub fn zeros(k: usize) -> Self {
        SquareMatrix {
            k,
            data: vec![0.0; k * k],
        }
    }
    #[inline]
    pub fn get(&self, r: usize, c: usize) -> f64 {
        self.data[r * self.k + c]
    }
    #[inline]
    pub fn set(&mut self, r: usize, c: usize, v: f64) {
        self.data[r * self.k + c] = v;
    }
    pub fn row(&self, r: usize) -> &[f64] {
        &self.data[r * self.k..(r + 1) * self.k]
    }
    pub fn transpose(&self) -> Self {
        let k = self.k;
        SquareMatrix {
            k,
            data: (0..k * k).map(|x| self.get(x % k, x / k)).collect(),
        }
    }
    pub fn trace(&self) -> f64 {
        (0..self.k).map(|i| self.get(i, i)).sum()
    }
}

/// Which examples to flag (`filter_by`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FilterBy {
    /// For each off-diagonal (given k, true j) of the calibrated joint, the examples of
    /// class k with the largest margin p[j] - p[k] (cleanlab's default).
    #[default]
    PruneByNoiseRate,
    /// For each class, the examples with the lowest p[k].
    PruneByClass,
    /// Flagged by both of the above.
    Both,
    /// The off-diagonal examples of the confident joint.
    ConfidentLearning,
    /// argmax(p) != label.
    PredictedNeqGiven,
    /// The `num_label_issues` examples with the lowest normalised margin.
    LowNormalizedMargin,
    /// The `num_label_issues` examples with the lowest self-confidence.
    LowSelfConfidence,
}

impl FilterBy {
    pub const ALL: [FilterBy; 7] = [
        FilterBy::PruneByNoiseRate,
        FilterBy::PruneByClass,
        FilterBy::Both,
        FilterBy::ConfidentLearning,
        FilterBy::PredictedNeqGiven,
        FilterBy::LowNormalizedMargin,
        FilterBy::LowSelfConfidence,
    ];
    pub fn name(self) -> &'static str {
        match self {
            FilterBy::PruneByNoiseRate => "prune_by_noise_rate",
            FilterBy::PruneByClass => "prune_by_class",
            FilterBy::Both => "both",
            FilterBy::ConfidentLearning => "confident_learning",
            FilterBy::PredictedNeqGiven => "predicted_neq_given",
            FilterBy::LowNormalizedMargin => "low_normalized_margin",
            FilterBy::LowSelfConfidence => "low_self_confidence",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == s)
    }
    fn is_prune(self) -> bool {
        matches!(
            self,
            FilterBy::PruneByNoiseRate | FilterBy::PruneByClass | FilterBy::Both
        )
    }
}

/// How the confident joint guesses the true label when several classes are confident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MultiConfidentRule {
    /// argmax over all classes: what cleanlab 2.9 does (issues #737, #823, #1248).
    #[default]
    ArgmaxAll,
    /// argmax among the confident classes only: the rule of the confident learning paper.
    ArgmaxAmongConfident,
}

/// The keyword arguments of `find_label_issues`, with cleanlab's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct FindOptions {
    pub filter_by: FilterBy,
    /// Keep only this fraction of the estimated noise (prune modes only).
    pub frac_noise: f64,
    /// Number of issues to flag per class (prune modes only).
    pub num_to_remove_per_class: Option<Vec<usize>>,
    /// Classes with at most this many examples are never pruned.
    pub min_examples_per_class: usize,
    /// A precomputed (calibrated) confident joint, [given][true]; ignored (as in cleanlab)
    /// by `confident_learning`.
    pub confident_joint: Option<SquareMatrix>,
    pub multi_confident_rule: MultiConfidentRule,
    /// Worker threads; 0 = use the available cores (at most 2 pay off here).
    pub threads: usize,
}

impl Default for FindOptions {
    fn default() -> Self {
        FindOptions {
            filter_by: FilterBy::PruneByNoiseRate,
            frac_noise: 1.0,
            num_to_remove_per_class: None,
            min_examples_per_class: 1,
            confident_joint: None,
            multi_confident_rule: MultiConfidentRule::ArgmaxAll,
            threads: 0,
        }
    }
}

/// The result of [`find_label_issues`], with the intermediate estimates.
#[derive(Debug, Clone)]
pub struct LabelIssues {
    /// true = label issue.
    pub mask: Vec<bool>,
    pub label_counts: Vec<usize>,
    pub thresholds: Thresholds,
    /// Uncalibrated confident joint (after the at-least-one diagonal).
    pub raw_joint: SquareMatrix,
    /// The joint the pruning used (calibrated, or the one passed in).
    pub confident_joint: SquareMatrix,
    /// Per (true, given) prune counts, for the prune modes.
    pub prune_counts: Option<SquareMatrix>,
    /// What cleanlab would warn about (e.g. classes too small to prune).
    pub warnings: Vec<String>,
}

impl LabelIssues {
    pub fn flagged(&self) -> Vec<usize> {
        self.mask
            .iter()
            .enumerate()
            .filter(|(_, &m)| m)
            .map(|(i, _)| i)
            .collect()
    }
}

/// Below this many cells (a pass then takes well under a millisecond) a second thread
/// costs more than it saves, more so on a busy machine where it waits for a core.
pub(crate) const MIN_CELLS_TO_SPLIT: usize = 500_000;

pub(crate) fn resolve_threads(requested: usize, n: usize, k: usize) -> usize {
    if n * k < MIN_CELLS_TO_SPLIT {
        return 1;
    }
    let avail = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    if requested == 0 {
        avail.min(2)
    } else {
        requested.min(avail).max(1)
    }
}

/// Runs `work(start, end)` over contiguous row ranges on up to `threads` threads and
/// returns the results in row order.
pub(crate) fn parallel_chunks<R: Send>(
    n: usize,
    k: usize,
    threads: usize,
    work: impl Fn(usize, usize) -> R + Sync,
) -> Vec<R> {
    let threads = resolve_threads(threads, n, k);
    if threads <= 1 {
        return vec![work(0, n)];
    }
    let chunk = n.div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (start, end) = (t * chunk, ((t + 1) * chunk).min(n));
                let work = &work;
                s.spawn(move || work(start, end))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

/// `count._reduce_issues` for one row: true when the given label, with 1e-6 added, is the
/// argmax (so the example is not an issue). Computed in the dtype, like NumPy.
#[inline]
pub fn given_label_wins<T: Prob>(row: &[T], y: usize) -> bool {
    let bumped = row[y] + T::from_f64(FLOATING_POINT_COMPARISON);
    // argmax with row[y] replaced by `bumped`, first maximum wins.
    for (j, &v) in row.iter().enumerate() {
        if j < y && v >= bumped {
            return false;
        }
        if j > y && v > bumped {
            return false;
        }
    }
    true
}

/// The number of label issues (`count.num_label_issues`).
#[derive(Debug, Clone, PartialEq)]
pub enum NumIssuesMethod {
    /// Uncalibrated off-diagonal examples that survive the predicted == given filter.
    OffDiagonal,
    /// round(N * (1 - trace(joint))) with the calibrated joint.
    OffDiagonalCalibrated,
    /// Like the calibrated estimate but from a given (re-calibrated) confident joint.
    OffDiagonalCustom(SquareMatrix),
}

pub fn num_label_issues<T: Prob>(
    labels: &[usize],
    probs: ProbView<'_, T>,
    method: &NumIssuesMethod,
    threads: usize,
) -> Result<usize, InputError> {
    let (counts, cj) = default_confident_joint(labels, probs, threads)?;
    Ok(num_label_issues_from(labels, probs, &counts, &cj, method))
}

/// The checked class counts and the confident joint by cleanlab's default rule
/// (`argmax_all`), as the estimating functions below start.
fn default_confident_joint<T: Prob>(
    labels: &[usize],
    probs: ProbView<'_, T>,
    threads: usize,
) -> Result<(Vec<usize>, ConfidentJoint), InputError> {
    let counts = validate(labels, probs)?;
    let cj = compute_confident_joint(
        labels,
        probs,
        &counts,
        MultiConfidentRule::ArgmaxAll,
        threads,
    );
    Ok((counts, cj))
}

fn num_label_issues_from<T: Prob>(
    labels: &[usize],
    probs: ProbView<'_, T>,
    counts: &[usize],
    cj: &ConfidentJoint,
    method: &NumIssuesMethod,
) -> usize {
    let from_joint = |joint: &SquareMatrix| -> usize {
        // estimate_joint re-calibrates the joint it is given.
        let cal = calibrate_confident_joint(joint, counts);
        let j = joint::joint_from_calibrated(&cal);
        let frac = 1.0 - j.trace();
        joint::round_half_even(frac * labels.len() as f64).max(0.0) as usize
    };
    match method {
        NumIssuesMethod::OffDiagonal => cj
            .off_diagonal
            .iter()
            .filter(|&&i| !given_label_wins(probs.row(i), labels[i]))
            .count(),
        NumIssuesMethod::OffDiagonalCalibrated => from_joint(&cj.calibrated),
        NumIssuesMethod::OffDiagonalCustom(m) => from_joint(m),
    }
}

/// `count.estimate_joint`: the calibrated joint divided by its total (sums to 1).
pub fn estimate_joint<T: Prob>(
    labels: &[usize],
    probs: ProbView<'_, T>,
    threads: usize,
) -> Result<SquareMatrix, InputError> {
    let (_, cj) = default_confident_joint(labels, probs, threads)?;
    Ok(joint::joint_from_calibrated(&cj.calibrated))
}

/// `count.estimate_py_and_noise_matrices_from_probabilities` (cnt, converged, calibrated):
/// returns the latent estimates and the calibrated confident joint.
pub fn estimate_py_and_noise_matrices<T: Prob>(
    labels: &[usize],
    probs: ProbView<'_, T>,
    converge: bool,
    threads: usize,
) -> Result<(LatentEstimates, SquareMatrix), InputError> {
    let (counts, cj) = default_confident_joint(labels, probs, threads)?;
    Ok((
        estimate_latent(&cj.calibrated, &counts, converge),
        cj.calibrated,
    ))
}

fn check_options(opts: &FindOptions, k: usize) -> Result<(), InputError> {
    if !(opts.frac_noise.is_finite() && opts.frac_noise >= 0.0 && opts.frac_noise <= 1.0) {
        return Err(InputError::Option(format!(
            "frac_noise must be in [0, 1], got {}",
            opts.frac_noise
        )));
    }
    if opts.num_to_remove_per_class.is_some() && !opts.filter_by.is_prune() {
        return Err(InputError::Option(format!(
            "num_to_remove_per_class is only supported with prune_by_noise_rate, prune_by_class and both, not {}",
            opts.filter_by.name()
        )));
    }
    if let Some(cj) = &opts.confident_joint {
        if cj.k != k || cj.data.len() != k * k {
            return Err(InputError::Option(format!(
                "the confident joint is {}x{}, the probabilities have {k} classes",
                cj.k, cj.k
            )));
        }
    }
    Ok(())
}

/// `filter.find_label_issues` (without ranking; see [`find_label_issues_ranked`]).
pub fn find_label_issues<T: Prob>(
    labels: &[usize],
    probs: ProbView<'_, T>,
    opts: &FindOptions,
) -> Result<LabelIssues, InputError> {
    let (counts, thresholds) = joint::validated_thresholds(labels, probs, opts.threads)?;
    let k = probs.k();
    let n = probs.n();
    check_options(opts, k)?;
    let mut warnings = Vec::new();
    if !opts.filter_by.is_prune() && opts.frac_noise != 1.0 {
        warnings.push(format!(
            "frac_noise is ignored by filter_by {}",
            opts.filter_by.name()
        ));
    }
    let cj = joint::confident_joint_with_thresholds(
        labels,
        probs,
        &counts,
        thresholds,
        opts.multi_confident_rule,
        opts.threads,
    );
    let joint = match (&opts.confident_joint, opts.filter_by) {
        (Some(_), FilterBy::ConfidentLearning) => {
            warnings.push("the supplied confident joint is ignored by confident_learning".into());
            cj.calibrated.clone()
        }
        (Some(given), _) => given.clone(),
        (None, _) => cj.calibrated.clone(),
    };
    let mut mask = vec![false; n];
    let mut prune_counts = None;
    match opts.filter_by {
        FilterBy::ConfidentLearning => {
            for &i in &cj.off_diagonal {
                mask[i] = true;
            }
        }
        FilterBy::PredictedNeqGiven => {
            for (i, m) in mask.iter_mut().enumerate() {
                *m = argmax(probs.row(i)) != labels[i];
            }
        }
        FilterBy::LowSelfConfidence | FilterBy::LowNormalizedMargin => {
            let method = if opts.filter_by == FilterBy::LowSelfConfidence {
                RankBy::SelfConfidence
            } else {
                RankBy::NormalizedMargin
            };
            // How many: count.num_label_issues (off_diagonal).
            let num =
                num_label_issues_from(labels, probs, &counts, &cj, &NumIssuesMethod::OffDiagonal);
            let scorer = Scorer::new(
                labels,
                probs,
                RankOptions {
                    method,
                    adjust_pred_probs: false,
                },
                None,
            )?;
            let mut scored: Vec<(usize, f64)> = (0..n).map(|i| (i, scorer.score(i))).collect();
            if num > 0 && num < n {
                scored.select_nth_unstable_by(num - 1, |a, b| {
                    a.1.total_cmp(&b.1).then(a.0.cmp(&b.0))
                });
            }
            for &(i, _) in scored.iter().take(num) {
                mask[i] = true;
            }
        }
        FilterBy::PruneByNoiseRate | FilterBy::PruneByClass | FilterBy::Both => {
            let mut pcm = joint::keep_at_least_n_per_class(
                &joint.transpose(),
                opts.min_examples_per_class,
                opts.frac_noise,
            );
            if let Some(ntr) = &opts.num_to_remove_per_class {
                pcm = joint::rescale_to_removals(&pcm, ntr, &counts)?;
            }
            for (c, &count) in counts.iter().enumerate() {
                if count <= opts.min_examples_per_class {
                    warnings.push(format!(
                        "May not flag all label issues in class: {c}, it has too few examples (see min_examples_per_class)"
                    ));
                }
            }
            let by_noise = matches!(opts.filter_by, FilterBy::PruneByNoiseRate | FilterBy::Both);
            let by_class = matches!(opts.filter_by, FilterBy::PruneByClass | FilterBy::Both);
            let (noise_mask, class_mask) =
                prune(labels, probs, &counts, &pcm, opts, by_noise, by_class);
            for i in 0..n {
                mask[i] = match opts.filter_by {
                    FilterBy::PruneByNoiseRate => noise_mask[i],
                    FilterBy::PruneByClass => class_mask[i],
                    _ => noise_mask[i] && class_mask[i],
                };
            }
            prune_counts = Some(pcm);
        }
    }
    if !matches!(
        opts.filter_by,
        FilterBy::LowSelfConfidence | FilterBy::LowNormalizedMargin
    ) {
        for (i, m) in mask.iter_mut().enumerate() {
            if *m && given_label_wins(probs.row(i), labels[i]) {
                *m = false;
            }
        }
    }
    Ok(LabelIssues {
        mask,
        label_counts: counts,
        thresholds: cj.thresholds,
        raw_joint: cj.raw,
        confident_joint: joint,
        prune_counts,
        warnings,
    })
}

/// `find_label_issues(..., return_indices_ranked_by=...)`: flagged rows with their scores,
/// ascending (most likely wrong first), ties broken by row.
pub fn find_label_issues_ranked<T: Prob>(
    labels: &[usize],
    probs: ProbView<'_, T>,
    opts: &FindOptions,
    rank: RankOptions,
) -> Result<(LabelIssues, Vec<(usize, f64)>), InputError> {
    let issues = find_label_issues(labels, probs, opts)?;
    let ranked = order_label_issues(&issues.mask, labels, probs, rank, Some(&issues.thresholds))?;
    Ok((issues, ranked))
}

#[allow(clippy::needless_range_loop)] // rows index labels and probabilities alike
/// The prune selections: one pass over the rows, bounded top-m per (given, true) pair and
/// bottom-m per class, split between threads and merged.
fn prune<T: Prob>(
    labels: &[usize],
    probs: ProbView<'_, T>,
    counts: &[usize],
    pcm: &SquareMatrix,
    opts: &FindOptions,
    by_noise: bool,
    by_class: bool,
) -> (Vec<bool>, Vec<bool>) {
    let k = probs.k();
    let n = probs.n();
    // cleanlab skips classes with <= min_examples (and ignores one-example masks).
    let prunable: Vec<bool> = counts
        .iter()
        .map(|&c| c > opts.min_examples_per_class && c > 1)
        .collect();
    // need[given][true] = examples to take for that pair.
    let mut need = vec![0usize; k * k];
    let mut class_need = vec![0usize; k];
    for given in 0..k {
        if !prunable[given] {
            continue;
        }
        if by_noise {
            for tru in 0..k {
                let m = pcm.get(tru, given);
                if tru != given && m > 0.0 {
                    need[given * k + tru] = m as usize;
                }
            }
        }
        if by_class {
            let keep = pcm.get(given, given);
            let num = counts[given] as f64 - keep;
            if num >= 1.0 {
                class_need[given] = num as usize;
            }
        }
    }
    let parts = parallel_chunks(n, k, opts.threads, |start, end| {
        let mut pair_heaps: Heaps<T> = (0..k * k)
            .map(|x| (need[x] > 0).then(|| TopK::new(need[x])))
            .collect();
        let mut class_heaps: Heaps<T> = class_need
            .iter()
            .map(|&m| (m > 0).then(|| TopK::new(m)))
            .collect();
        // The keys each selection must beat, side by side so that a row is tested against
        // all of its pairs without touching the heaps; +inf where nothing is selected.
        let never = T::from_f64(f64::INFINITY);
        let floor_of = |h: &Option<TopK<T>>| h.as_ref().map_or(never, TopK::floor);
        let mut pair_floors: Vec<T> = pair_heaps.iter().map(floor_of).collect();
        let mut class_floors: Vec<T> = class_heaps.iter().map(floor_of).collect();
        for i in start..end {
            let y = labels[i];
            let row = probs.row(i);
            let p_given = row[y];
            let base = y * k;
            // Columns in blocks: a branch-free test of the whole block (it vectorises),
            // then the rare hits one by one.
            for block in (0..k).step_by(BLOCK_COLS) {
                let width = (k - block).min(BLOCK_COLS);
                let mut hits = bits_margin_above(
                    &row[block..block + width],
                    p_given,
                    &pair_floors[base + block..base + block + width],
                );
                while hits != 0 {
                    let j = block + hits.trailing_zeros() as usize;
                    hits &= hits - 1;
                    if let Some(h) = &mut pair_heaps[base + j] {
                        h.offer(row[j] - p_given, i);
                        pair_floors[base + j] = h.floor();
                    }
                }
            }
            // Lowest p[y] first: negate (exact) so larger is better.
            let key = T::ZERO - p_given;
            if key > class_floors[y] {
                if let Some(h) = &mut class_heaps[y] {
                    h.offer(key, i);
                    class_floors[y] = h.floor();
                }
            }
        }
        (pair_heaps, class_heaps)
    });
    let mut merged: Option<(Heaps<T>, Heaps<T>)> = None;
    for (ph, ch) in parts {
        match &mut merged {
            None => merged = Some((ph, ch)),
            Some((mp, mc)) => {
                for (a, b) in mp.iter_mut().zip(ph) {
                    if let (Some(a), Some(b)) = (a.as_mut(), b) {
                        a.merge(b);
                    }
                }
                for (a, b) in mc.iter_mut().zip(ch) {
                    if let (Some(a), Some(b)) = (a.as_mut(), b) {
                        a.merge(b);
                    }
                }
            }
        }
    }
    let mut noise_mask = vec![false; if by_noise { n } else { 0 }];
    let mut class_mask = vec![false; if by_class { n } else { 0 }];
    if let Some((mut ph, mut ch)) = merged {
        for h in ph.iter_mut().flatten() {
            for r in h.rows() {
                noise_mask[r] = true;
            }
        }
        for h in ch.iter_mut().flatten() {
            for r in h.rows() {
                class_mask[r] = true;
            }
        }
    }
    (noise_mask, class_mask)
}

#[cfg(test)]
mod tests;
