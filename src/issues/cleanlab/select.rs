//! Bounded "best m" selection over a stream of (key, row) pairs: larger keys are better,
//! and among equal keys the smaller row wins, which makes ties deterministic (NumPy's
//! unstable `argsort` leaves them in arbitrary order).

use crate::issues::probs::Prob;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

#[derive(Clone, Copy, Debug)]
pub(crate) struct Entry<T> {
    pub key: T,
    pub row: usize,
}

/// Orders so that the heap's top is the worst kept entry.
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
    heap: BinaryHeap<Entry<T>>,
}

impl<T: Prob> TopK<T> {
    pub fn new(cap: usize) -> Self {
        TopK {
            cap,
            heap: BinaryHeap::with_capacity(cap.min(1 << 16)),
        }
    }
    /// Offers a candidate; rows must arrive in increasing order within one stream.
    #[inline]
    pub fn offer(&mut self, key: T, row: usize) {
        if self.heap.len() < self.cap {
            self.heap.push(Entry { key, row });
        } else if let Some(mut top) = self.heap.peek_mut() {
            // Equal keys never displace: the kept row is smaller.
            if key > top.key {
                *top = Entry { key, row };
            }
        }
    }
    /// Merges another selection over different rows (any order).
    pub fn merge(&mut self, other: TopK<T>) {
        for e in other.heap {
            if self.heap.len() < self.cap {
                self.heap.push(e);
            } else if let Some(mut top) = self.heap.peek_mut() {
                if e < *top {
                    *top = e;
                }
            }
        }
    }
    pub fn rows(&self) -> impl Iterator<Item = usize> + '_ {
        self.heap.iter().map(|e| e.row)
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
}
