//! Bounded "best m" selection over a stream of (key, row) pairs: larger keys are better,
//! and among equal keys the smaller row wins, which makes ties deterministic (NumPy's
//! unstable `argsort` leaves them in arbitrary order).

use crate::issues::probs::Prob;
use std::cmp::Ordering;

#[derive(Clone, Copy, Debug)]
pub(crate) struct Entry<T> {
    pub key: T,
    pub row: usize,
}

/// Orders best first: a larger key, or an equal key with a smaller row.
impl<T: Prob> Ord for Entry<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        // "Greater" = worse: a smaller key, or an equal key with a larger row.
        match other.key.partial_cmp(&self.key).unwrap_or(Ordering::Equal) {
            Ordering::Equal => self.row.cmp(&other.row),
            o => o,
        }
    }
}
impl<T: Prob> PartialOrd for Entry<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<T: Prob> PartialEq for Entry<T> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl<T: Prob> Eq for Entry<T> {}

#[derive(Debug, Clone)]
pub(crate) struct TopK<T> {
    cap: usize,
    /// Candidates; trimmed back to the best `cap` whenever it doubles, so each admitted
    /// candidate costs O(1) amortised (a heap would pay a sift per admission).
    items: Vec<Entry<T>>,
    /// A key must be strictly above this to be admitted: -inf until the first trim, then
    /// the worst key kept by it (an equal key comes from a later row and loses). Keeping
    /// it outside lets callers reject most candidates with one comparison.
    floor: T,
}

impl<T: Prob> TopK<T> {
    pub fn new(cap: usize) -> Self {
        TopK {
            cap,
            items: Vec::new(),
            floor: T::from_f64(if cap == 0 {
                f64::INFINITY
            } else {
                f64::NEG_INFINITY
            }),
        }
    }
    /// The key a candidate has to beat (see the field).
    #[inline]
    pub fn floor(&self) -> T {
        self.floor
    }
    /// Offers a candidate; rows must arrive in increasing order within one stream.
    #[inline]
    pub fn offer(&mut self, key: T, row: usize) {
        if key > self.floor {
            self.items.push(Entry { key, row });
            if self.items.len() >= 2 * self.cap.max(8) {
                self.trim();
            }
        }
    }
    /// Keeps the best `cap` candidates and raises the floor to the worst of them.
    fn trim(&mut self) {
        if self.items.len() <= self.cap {
            return;
        }
        if self.cap == 0 {
            self.items.clear();
            return;
        }
        // Ascending `Entry` order is best first.
        self.items.select_nth_unstable(self.cap - 1);
        self.items.truncate(self.cap);
        self.floor = self.items[self.cap - 1].key;
    }
    /// Merges another selection over different rows (any order).
    pub fn merge(&mut self, other: TopK<T>) {
        self.items.extend(other.items);
        self.trim();
    }
    /// The selected rows, in no particular order.
    pub fn rows(&mut self) -> impl Iterator<Item = usize> + '_ {
        self.trim();
        self.items.iter().map(|e| e.row)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_largest_keys_and_the_earliest_rows_among_ties() {
        let keys = [0.1f32, 0.9, 0.5, 0.9, 0.5, 0.2, 0.5];
        let mut t = TopK::new(3);
        for (i, &k) in keys.iter().enumerate() {
            t.offer(k, i);
        }
        let mut rows: Vec<usize> = t.rows().collect();
        rows.sort();
        assert_eq!(rows, vec![1, 2, 3]);
        // Split into two streams and merge: same answer.
        let mut a = TopK::new(3);
        let mut b = TopK::new(3);
        for (i, &k) in keys.iter().enumerate() {
            if i < 3 {
                a.offer(k, i)
            } else {
                b.offer(k, i)
            }
        }
        b.merge(a);
        let mut rows: Vec<usize> = b.rows().collect();
        rows.sort();
        assert_eq!(rows, vec![1, 2, 3]);
        let mut z = TopK::new(0);
        z.offer(1.0f64, 0);
        assert_eq!(z.rows().count(), 0);
    }

    #[test]
    fn matches_a_full_sort_on_long_streams_with_many_ties() {
        // Quantised keys make ties common; trims happen many times along the stream.
        let keys: Vec<f32> = (0..5000u32)
            .map(|i| ((i.wrapping_mul(2_654_435_761) >> 7) % 37) as f32 / 36.0)
            .collect();
        for cap in [1usize, 3, 8, 50, 700, 5000, 6000] {
            let mut expected: Vec<usize> = (0..keys.len()).collect();
            expected.sort_by(|&a, &b| keys[b].total_cmp(&keys[a]).then(a.cmp(&b)));
            expected.truncate(cap);
            expected.sort();
            let mut whole = TopK::new(cap);
            let (mut left, mut right) = (TopK::new(cap), TopK::new(cap));
            for (i, &k) in keys.iter().enumerate() {
                whole.offer(k, i);
                if i < 2100 {
                    left.offer(k, i)
                } else {
                    right.offer(k, i)
                }
            }
            right.merge(left);
            for t in [&mut whole, &mut right] {
                let mut rows: Vec<usize> = t.rows().collect();
                rows.sort();
                assert_eq!(rows, expected, "cap {cap}");
            }
        }
    }
}
