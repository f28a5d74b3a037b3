//! Exact k nearest neighbours by brute force, split over the machine's cores: at 18,900
//! photos x 32 coordinates that is a few seconds, and exact answers need no index to tune.

/// For each of `n` points (`data` row-major, `dim` values each), its `k` nearest other
/// points by Euclidean distance, nearest first: `(index, distance)`. With `groups` (one
/// per point), points of the same group are not neighbours (a person's own photos).
pub fn nearest(
    data: &[f32],
    dim: usize,
    k: usize,
    groups: Option<&[usize]>,
) -> Vec<Vec<(usize, f32)>> {
    let n = data.len().checked_div(dim).unwrap_or(0);
    let k = k.min(n.saturating_sub(1));
    if n == 0 {
        return Vec::new();
    }
    let norms: Vec<f32> = data
        .chunks_exact(dim)
        .map(|r| r.iter().map(|x| x * x).sum())
        .collect();
    let threads = std::thread::available_parallelism()
        .map(|t| t.get())
        .unwrap_or(1)
        .clamp(1, 16);
    let chunk = n.div_ceil(threads);
    let mut out: Vec<Vec<(usize, f32)>> = vec![Vec::new(); n];
    std::thread::scope(|scope| {
        for (t, slice) in out.chunks_mut(chunk).enumerate() {
            let norms = &norms;
            scope.spawn(move || {
                for (offset, found) in slice.iter_mut().enumerate() {
                    let i = t * chunk + offset;
                    *found = nearest_of(data, dim, norms, groups, i, k);
                }
            });
        }
    });
    out
}

/// The `k` nearest points to point `i` (itself excluded).
fn nearest_of(
    data: &[f32],
    dim: usize,
    norms: &[f32],
    groups: Option<&[usize]>,
    i: usize,
    k: usize,
) -> Vec<(usize, f32)> {
    if k == 0 {
        return Vec::new();
    }
    let me = &data[i * dim..(i + 1) * dim];
    // The k best so far, sorted by squared distance (k is small: insertion is cheapest).
    let mut best: Vec<(usize, f32)> = Vec::with_capacity(k + 1);
    let mut worst = f32::INFINITY;
    for (j, other) in data.chunks_exact(dim).enumerate() {
        if j == i || groups.is_some_and(|g| g[j] == g[i]) {
            continue;
        }
        let dot = dot(me, other);
        let d2 = (norms[i] + norms[j] - 2.0 * dot).max(0.0);
        if best.len() == k && d2 >= worst {
            continue;
        }
        let at = best.partition_point(|&(_, d)| d <= d2);
        best.insert(at, (j, d2));
        best.truncate(k);
        if best.len() == k {
            worst = best[k - 1].1;
        }
    }
    best.into_iter().map(|(j, d2)| (j, d2.sqrt())).collect()
}

/// Dot product with eight independent sums: the compiler keeps them in one vector
/// register (a single running sum would have to be added in order, one lane at a time).
/// For f32 here and f64 in the PCA.
pub(super) fn dot<T>(a: &[T], b: &[T]) -> T
where
    T: Copy + Default + std::ops::Add<Output = T> + std::ops::Mul<Output = T>,
{
    let mut sums = [T::default(); 8];
    let (a8, b8) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail = a8
        .remainder()
        .iter()
        .zip(b8.remainder())
        .fold(T::default(), |s, (&x, &y)| s + x * y);
    for (x, y) in a8.zip(b8) {
        for k in 0..8 {
            sums[k] = sums[k] + x[k] * y[k];
        }
    }
    sums.iter().fold(T::default(), |s, &v| s + v) + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_a_sorted_scan_of_all_distances() {
        let mut rng = crate::demo::rng::Rng::new(3);
        let (n, dim, k) = (150, 5, 7);
        let data: Vec<f32> = (0..n * dim).map(|_| rng.normal(0.0, 1.0)).collect();
        let found = nearest(&data, dim, k, None);
        assert_eq!(found.len(), n);
        for i in [0, 17, 76, 149] {
            let mut all: Vec<(usize, f32)> = (0..n)
                .filter(|&j| j != i)
                .map(|j| {
                    let d: f32 = (0..dim)
                        .map(|c| (data[i * dim + c] - data[j * dim + c]).powi(2))
                        .sum();
                    (j, d.sqrt())
                })
                .collect();
            all.sort_by(|a, b| a.1.total_cmp(&b.1));
            let want: Vec<usize> = all[..k].iter().map(|p| p.0).collect();
            let got: Vec<usize> = found[i].iter().map(|p| p.0).collect();
            assert_eq!(got, want, "point {i}");
            for (g, w) in found[i].iter().zip(&all) {
                assert!((g.1 - w.1).abs() < 1e-4);
            }
        }
    }

    #[test]
    fn fewer_points_than_k_give_all_the_others() {
        let points = [0.0, 0.0, 1.0, 0.0, 3.0, 0.0];
        let found = nearest(&points, 2, 10, None);
        assert_eq!(found[0], vec![(1, 1.0), (2, 3.0)]);
        assert_eq!(nearest(&[], 2, 3, None), Vec::<Vec<(usize, f32)>>::new());
        assert_eq!(nearest(&[1.0, 1.0], 2, 3, None), vec![Vec::new()]);
        // Points of one group are not each other's neighbours.
        let found = nearest(&points, 2, 10, Some(&[7, 7, 8]));
        assert_eq!(found[0], vec![(2, 3.0)]);
        assert_eq!(found[2], vec![(1, 2.0), (0, 3.0)]);
    }
}
