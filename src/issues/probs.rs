//! The inputs of confident learning: integer labels and an N x K matrix of predicted
//! probabilities held as one flat row-major slice (`f32` or `f64`), never copied.

use std::fmt::Debug;
use std::ops::{Add, Div, Mul, Sub};

/// Tolerance cleanlab uses for float comparisons (`FLOATING_POINT_COMPARISON`).
pub const FLOATING_POINT_COMPARISON: f64 = 1e-6;

/// A probability element type. Arithmetic happens in the element type itself, exactly as
/// NumPy does on an array of that dtype, so float32 inputs give float32 margins and ties.
pub trait Prob:
    Copy
    + Debug
    + PartialOrd
    + Send
    + Sync
    + 'static
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
{
    const DTYPE: &'static str;
    const ZERO: Self;
    fn to_f64(self) -> f64;
    fn from_f64(v: f64) -> Self;
    fn from_usize(v: usize) -> Self;
    fn is_finite(self) -> bool;
    /// `x * ln(x)` as scipy's `xlogy(x, x)` computes it for this dtype (0 at 0).
    fn xlogx(self) -> Self;
    /// `-0.0`, the start value of NumPy's short sums.
    const NEG_ZERO: Self;
    /// The smallest value of this type that is `>= v` (so `x >= v` in f64 is the same
    /// test as `x >= at_least(v)` in the type).
    fn at_least(v: f64) -> Self;
}

impl Prob for f32 {
    const DTYPE: &'static str = "float32";
    const ZERO: Self = 0.0;
    const NEG_ZERO: Self = -0.0;
    fn to_f64(self) -> f64 {
        self as f64
    }
    fn from_f64(v: f64) -> Self {
        v as f32
    }
    fn from_usize(v: usize) -> Self {
        v as f32
    }
    fn is_finite(self) -> bool {
        f32::is_finite(self)
    }
    fn at_least(v: f64) -> Self {
        let x = v as f32;
        if (x as f64) < v {
            x.next_up()
        } else {
            x
        }
    }
    fn xlogx(self) -> Self {
        // scipy evaluates float32 special functions in double and rounds the result.
        if self == 0.0 {
            0.0
        } else {
            let x = self as f64;
            (x * x.ln()) as f32
        }
    }
}

impl Prob for f64 {
    const DTYPE: &'static str = "float64";
    const ZERO: Self = 0.0;
    const NEG_ZERO: Self = -0.0;
    fn to_f64(self) -> f64 {
        self
    }
    fn from_f64(v: f64) -> Self {
        v
    }
    fn from_usize(v: usize) -> Self {
        v as f64
    }
    fn is_finite(self) -> bool {
        f64::is_finite(self)
    }
    fn at_least(v: f64) -> Self {
        v
    }
    fn xlogx(self) -> Self {
        if self == 0.0 {
            0.0
        } else {
            self * self.ln()
        }
    }
}

/// Bad input to confident learning. Rows and columns are 0-based indices into the arrays.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InputError {
    #[error("empty input: no examples")]
    Empty,
    #[error("need at least 2 classes, the probabilities have {0} column(s)")]
    TooFewColumns(usize),
    #[error("the labels contain {0} distinct class(es); at least 2 are needed")]
    TooFewLabelClasses(usize),
    #[error("{values} probability values do not form {rows} rows of {cols}")]
    RaggedMatrix {
        values: usize,
        rows: usize,
        cols: usize,
    },
    #[error("shape mismatch: {labels} labels but {rows} rows of probabilities")]
    ShapeMismatch { labels: usize, rows: usize },
    #[error("row {row}: label {label} is not a class of the {k}-column probabilities (labels must be 0..{k})")]
    LabelOutOfRange { row: usize, label: i64, k: usize },
    #[error("row {row}, column {col}: probability {value} is not finite")]
    NotFinite { row: usize, col: usize, value: f64 },
    #[error("row {row}, column {col}: probability {value} is outside [0, 1] (tolerance 1e-6)")]
    OutOfRange { row: usize, col: usize, value: f64 },
    #[error("invalid option: {0}")]
    Option(String),
}

/// A borrowed N x K row-major probability matrix.
#[derive(Debug, Clone, Copy)]
pub struct ProbView<'a, T> {
    data: &'a [T],
    n: usize,
    k: usize,
}

impl<'a, T: Prob> ProbView<'a, T> {
    /// Wraps `data` as `rows` x `k`; checks only the shape (see [`validate`]).
    pub fn new(data: &'a [T], k: usize) -> Result<Self, InputError> {
        if k < 2 {
            return Err(InputError::TooFewColumns(k));
        }
        if data.is_empty() {
            return Err(InputError::Empty);
        }
        if !data.len().is_multiple_of(k) {
            return Err(InputError::RaggedMatrix {
                values: data.len(),
                rows: data.len() / k,
                cols: k,
            });
        }
        Ok(ProbView {
            data,
            n: data.len() / k,
            k,
        })
    }
    pub fn n(&self) -> usize {
        self.n
    }
    pub fn k(&self) -> usize {
        self.k
    }
    #[inline]
    pub fn row(&self, i: usize) -> &'a [T] {
        &self.data[i * self.k..(i + 1) * self.k]
    }
    #[inline]
    pub fn get(&self, i: usize, j: usize) -> T {
        self.data[i * self.k + j]
    }
    pub fn data(&self) -> &'a [T] {
        self.data
    }
    /// Rows `start..end` as their own view (for splitting work between threads).
    pub fn rows(&self, start: usize, end: usize) -> ProbView<'a, T> {
        ProbView {
            data: &self.data[start * self.k..end * self.k],
            n: end - start,
            k: self.k,
        }
    }
}

/// First index of the maximum (NumPy `argmax`).
#[inline]
pub fn argmax<T: Prob>(row: &[T]) -> usize {
    let mut best = 0;
    let mut best_v = row[0];
    for (j, &v) in row.iter().enumerate().skip(1) {
        if v > best_v {
            best = j;
            best_v = v;
        }
    }
    best
}

/// Checks labels and probabilities the way cleanlab's `assert_valid_inputs` does (plus
/// finiteness, which NumPy lets through as NaN comparisons) and returns the per-class
/// label counts.
pub fn validate<T: Prob>(
    labels: &[usize],
    probs: ProbView<'_, T>,
) -> Result<Vec<usize>, InputError> {
    let counts = validate_allow_one_class(labels, probs)?;
    let distinct = counts.iter().filter(|&&c| c > 0).count();
    if distinct < 2 {
        return Err(InputError::TooFewLabelClasses(distinct));
    }
    Ok(counts)
}

/// [`validate`] without the two-classes rule (scores are defined for one class too).
pub fn validate_allow_one_class<T: Prob>(
    labels: &[usize],
    probs: ProbView<'_, T>,
) -> Result<Vec<usize>, InputError> {
    let k = probs.k();
    if labels.is_empty() {
        return Err(InputError::Empty);
    }
    if labels.len() != probs.n() {
        return Err(InputError::ShapeMismatch {
            labels: labels.len(),
            rows: probs.n(),
        });
    }
    let mut counts = vec![0usize; k];
    for (row, &l) in labels.iter().enumerate() {
        if l >= k {
            return Err(InputError::LabelOutOfRange {
                row,
                label: l as i64,
                k,
            });
        }
        counts[l] += 1;
    }
    if !in_range(probs.data()) {
        return Err(first_bad_value(probs));
    }
    Ok(counts)
}

/// Bit `j` of `BIT[j]`: ANDed with a comparison's all-ones/all-zeros lane it builds a
/// bitmask without per-lane variable shifts (which SSE2 lacks), so the loops vectorise.
const BIT: [u32; 32] = {
    let mut bits = [0u32; 32];
    let mut j = 0;
    while j < 32 {
        bits[j] = 1 << j;
        j += 1;
    }
    bits
};

/// Columns are tested in blocks of this many, one bitmask per block.
pub(crate) const BLOCK_COLS: usize = 32;

/// Bit `j` set where `values[j] >= cuts[j]` (at most [`BLOCK_COLS`] columns).
#[inline]
pub(crate) fn bits_at_least<T: Prob>(values: &[T], cuts: &[T]) -> u32 {
    let mut bits = 0u32;
    for ((&v, &c), &bit) in values.iter().zip(cuts).zip(&BIT) {
        bits |= if v >= c { bit } else { 0 };
    }
    bits
}

/// Bit `j` set where `values[j] - base > floors[j]`, computed in `T` (at most
/// [`BLOCK_COLS`] columns).
#[inline]
pub(crate) fn bits_margin_above<T: Prob>(values: &[T], base: T, floors: &[T]) -> u32 {
    let mut bits = 0u32;
    for ((&v, &f), &bit) in values.iter().zip(floors).zip(&BIT) {
        bits |= if v - base > f { bit } else { 0 };
    }
    bits
}

/// Whether every value lies in [-1e-6, 1 + 1e-6] (false for NaN). Branch-free within
/// blocks so that it vectorises; the bounds are exact in the type (see [`Prob::at_least`]).
pub(crate) fn in_range<T: Prob>(data: &[T]) -> bool {
    let lo = T::at_least(-FLOATING_POINT_COMPARISON);
    // `v <= 1 + 1e-6` is `v < (the next value above 1 + 1e-6)`, whether or not the bound
    // itself exists in T.
    let hi = T::at_least((1.0 + FLOATING_POINT_COMPARISON).next_up());
    data.chunks(512).all(|block| {
        let mut ok = true;
        for &v in block {
            ok &= (v >= lo) & (v < hi);
        }
        ok
    })
}

/// The first value outside the accepted range, as an error (call only when one exists).
fn first_bad_value<T: Prob>(probs: ProbView<'_, T>) -> InputError {
    let k = probs.k();
    let lo = -FLOATING_POINT_COMPARISON;
    let hi = 1.0 + FLOATING_POINT_COMPARISON;
    for (idx, &v) in probs.data().iter().enumerate() {
        let (row, col) = (idx / k, idx % k);
        let value = v.to_f64();
        if !v.is_finite() {
            return InputError::NotFinite { row, col, value };
        }
        if !(lo..=hi).contains(&value) {
            return InputError::OutOfRange { row, col, value };
        }
    }
    // Unreachable when `in_range` said no; report the matrix as a whole rather than panic.
    InputError::Option("the probabilities failed the range check".into())
}

/// Converts signed labels (as read from files) to class indices, naming the first bad row.
pub fn labels_from_i64(labels: &[i64], k: usize) -> Result<Vec<usize>, InputError> {
    labels
        .iter()
        .enumerate()
        .map(|(row, &l)| {
            if l < 0 || l as u64 >= k as u64 {
                Err(InputError::LabelOutOfRange { row, label: l, k })
            } else {
                Ok(l as usize)
            }
        })
        .collect()
}

/// NumPy's pairwise summation (`np.add.reduce` over a contiguous 1-D array), in `T`.
/// Matching it bit for bit makes per-class thresholds identical to `np.mean`.
pub fn pairwise_sum<T: Prob>(a: &[T]) -> T {
    let n = a.len();
    if n < 8 {
        let mut res = T::NEG_ZERO;
        for &v in a {
            res = res + v;
        }
        res
    } else if n <= 128 {
        let mut r = [a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]];
        let mut i = 8;
        while i < n - n % 8 {
            for j in 0..8 {
                r[j] = r[j] + a[i + j];
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        while i < n {
            res = res + a[i];
            i += 1;
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        pairwise_sum(&a[..n2]) + pairwise_sum(&a[n2..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_names_the_offending_cell() {
        let p = [0.5f32, 0.5, 0.2, 0.8, 1.2, -0.2];
        let v = ProbView::new(&p, 2).unwrap();
        assert_eq!(
            validate(&[0, 1, 0], v),
            Err(InputError::OutOfRange {
                row: 2,
                col: 0,
                value: 1.2000000476837158
            })
        );
        let p = [0.5f64, f64::NAN, 0.2, 0.8];
        let v = ProbView::new(&p, 2).unwrap();
        assert!(matches!(
            validate(&[0, 1], v),
            Err(InputError::NotFinite { row: 0, col: 1, .. })
        ));
        let p = [0.5f64, f64::INFINITY, 0.2, 0.8];
        assert!(matches!(
            validate(&[0, 1], ProbView::new(&p, 2).unwrap()),
            Err(InputError::NotFinite { .. })
        ));
        // cleanlab's tolerance: values within 1e-6 of [0, 1] pass.
        let p = [1.0000005f64, -0.0000005, 0.2, 0.8];
        assert!(validate(&[0, 1], ProbView::new(&p, 2).unwrap()).is_ok());
        let p = [0.5f64, 0.5, 0.2, 0.8];
        let v = ProbView::new(&p, 2).unwrap();
        assert_eq!(
            validate(&[0, 2], v),
            Err(InputError::LabelOutOfRange {
                row: 1,
                label: 2,
                k: 2
            })
        );
        assert_eq!(
            validate(&[0], v),
            Err(InputError::ShapeMismatch { labels: 1, rows: 2 })
        );
        assert_eq!(validate(&[1, 1], v), Err(InputError::TooFewLabelClasses(1)));
        assert_eq!(validate(&[], v), Err(InputError::Empty));
        assert_eq!(
            ProbView::new(&p, 1).unwrap_err(),
            InputError::TooFewColumns(1)
        );
        assert!(matches!(
            ProbView::new(&p, 3),
            Err(InputError::RaggedMatrix { .. })
        ));
        assert_eq!(ProbView::<f64>::new(&[], 2).unwrap_err(), InputError::Empty);
        assert_eq!(
            labels_from_i64(&[0, -1], 2),
            Err(InputError::LabelOutOfRange {
                row: 1,
                label: -1,
                k: 2
            })
        );
    }

    #[test]
    fn pairwise_sum_beats_naive_float32_accumulation() {
        let a = vec![0.1f32; 1_000_000];
        let naive: f32 = a.iter().fold(0.0, |s, &v| s + v);
        let pw = pairwise_sum(&a);
        assert!((pw as f64 - 100_000.0).abs() < 1.0, "{pw}");
        assert!((naive as f64 - 100_000.0).abs() > 100.0, "{naive}");
    }
}
