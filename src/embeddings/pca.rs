//! Principal components of row vectors by subspace iteration: a few passes over the data
//! instead of a `D x D` covariance, so 18,900 photos x 2,048 features cost seconds.

use super::neighbours::dot;
use crate::demo::rng::Rng;

/// The leading principal axes of a set of rows and the rows projected on them.
#[derive(Debug, Clone, PartialEq)]
pub struct Components {
    /// Number of axes kept.
    pub k: usize,
    /// Per row, its `k` coordinates (row-major `n x k`), largest variance first.
    pub projected: Vec<f32>,
    /// Variance along each axis.
    pub variance: Vec<f64>,
    /// Total variance of the rows (the sum over all dimensions).
    pub total_variance: f64,
}

impl Components {
    pub fn row(&self, r: usize) -> &[f32] {
        &self.projected[r * self.k..(r + 1) * self.k]
    }

    /// Share of the total variance each axis explains.
    pub fn explained(&self) -> Vec<f64> {
        self.variance
            .iter()
            .map(|v| v / self.total_variance.max(f64::MIN_POSITIVE))
            .collect()
    }
}

/// Passes of subspace iteration; the leading axes of embeddings settle within a few.
const ITERATIONS: usize = 8;
/// Extra axes iterated beyond those kept: the kept ones converge faster with a margin.
const OVERSAMPLE: usize = 4;

/// The `k` leading principal components of `n` rows of `dim` values (`data` row-major).
/// Deterministic: the starting subspace comes from a fixed seed.
pub fn principal_components(data: &[f32], dim: usize, k: usize) -> Components {
    let n = data.len().checked_div(dim).unwrap_or(0);
    let k = k.min(dim).min(n);
    if k == 0 {
        return Components {
            k: 0,
            projected: Vec::new(),
            variance: Vec::new(),
            total_variance: 0.0,
        };
    }
    let mean: Vec<f64> = (0..dim)
        .map(|j| (0..n).map(|i| f64::from(data[i * dim + j])).sum::<f64>() / n as f64)
        .collect();
    let centred: Vec<f64> = data
        .chunks_exact(dim)
        .flat_map(|row| row.iter().zip(&mean).map(|(&x, m)| f64::from(x) - m))
        .collect();
    let total_variance = centred.iter().map(|x| x * x).sum::<f64>() / n as f64;

    let r = (k + OVERSAMPLE).min(dim).min(n);
    let mut rng = Rng::new(0x5eed_9ca0);
    // Q: dim x r, column-major (column c at q[c*dim..]).
    let mut q: Vec<f64> = (0..dim * r)
        .map(|_| f64::from(rng.normal(0.0, 1.0)))
        .collect();
    orthonormalise(&mut q, dim, r);
    for _ in 0..ITERATIONS {
        let z = times(&centred, n, dim, &q, r); // n x r, column-major
        q = times_transposed(&centred, n, dim, &z, r); // dim x r
        orthonormalise(&mut q, dim, r);
    }
    // Rayleigh-Ritz: the r x r covariance within the subspace, diagonalised.
    let z = times(&centred, n, dim, &q, r);
    let mut small = vec![0.0; r * r];
    for a in 0..r {
        for b in a..r {
            let v: f64 = z[a * n..(a + 1) * n]
                .iter()
                .zip(&z[b * n..(b + 1) * n])
                .map(|(x, y)| x * y)
                .sum::<f64>()
                / n as f64;
            small[a * r + b] = v;
            small[b * r + a] = v;
        }
    }
    let (values, vectors) = symmetric_eigen(&small, r);
    let mut order: Vec<usize> = (0..r).collect();
    order.sort_by(|&a, &b| values[b].total_cmp(&values[a]));
    let mut projected = vec![0f32; n * k];
    for (out_axis, &e) in order.iter().take(k).enumerate() {
        for i in 0..n {
            let v: f64 = (0..r).map(|c| z[c * n + i] * vectors[c * r + e]).sum();
            projected[i * k + out_axis] = v as f32;
        }
    }
    Components {
        k,
        projected,
        variance: order.iter().take(k).map(|&e| values[e].max(0.0)).collect(),
        total_variance,
    }
}

/// Worker threads for the products: the machine's cores.
fn threads() -> usize {
    std::thread::available_parallelism()
        .map(|t| t.get())
        .unwrap_or(1)
        .clamp(1, 16)
}

/// `X Q` for `X` n x dim (row-major) and `Q` dim x r (column-major): n x r, column-major.
/// Each thread takes one column block of the output.
fn times(x: &[f64], n: usize, dim: usize, q: &[f64], r: usize) -> Vec<f64> {
    let mut out = vec![0.0; n * r];
    let per = r.div_ceil(threads()).max(1);
    std::thread::scope(|scope| {
        for (t, block) in out.chunks_mut(per * n).enumerate() {
            scope.spawn(move || {
                for (k, col) in block.chunks_mut(n).enumerate() {
                    let c = t * per + k;
                    let qc = &q[c * dim..(c + 1) * dim];
                    for (i, o) in col.iter_mut().enumerate() {
                        *o = dot(&x[i * dim..(i + 1) * dim], qc);
                    }
                }
            });
        }
    });
    out
}

/// `Xᵀ Z` for `X` n x dim (row-major) and `Z` n x r (column-major): dim x r, column-major.
/// Each thread takes one column block of the output.
fn times_transposed(x: &[f64], n: usize, dim: usize, z: &[f64], r: usize) -> Vec<f64> {
    let mut out = vec![0.0; dim * r];
    let per = r.div_ceil(threads()).max(1);
    std::thread::scope(|scope| {
        for (t, block) in out.chunks_mut(per * dim).enumerate() {
            scope.spawn(move || {
                for i in 0..n {
                    let row = &x[i * dim..(i + 1) * dim];
                    for (k, col) in block.chunks_mut(dim).enumerate() {
                        let w = z[(t * per + k) * n + i];
                        for (o, a) in col.iter_mut().zip(row) {
                            *o += w * a;
                        }
                    }
                }
            });
        }
    });
    out
}

/// Gram-Schmidt (twice, for stability) on the `r` columns of a `dim x r` column-major
/// matrix. A column that collapses is replaced by a unit vector along an axis.
fn orthonormalise(q: &mut [f64], dim: usize, r: usize) {
    for c in 0..r {
        for _ in 0..2 {
            for p in 0..c {
                let (before, rest) = q.split_at_mut(c * dim);
                let prev = &before[p * dim..(p + 1) * dim];
                let col = &mut rest[..dim];
                let d: f64 = prev.iter().zip(col.iter()).map(|(a, b)| a * b).sum();
                for (x, y) in col.iter_mut().zip(prev) {
                    *x -= d * y;
                }
            }
        }
        let col = &mut q[c * dim..(c + 1) * dim];
        let norm = col.iter().map(|x| x * x).sum::<f64>().sqrt();
        if norm > 1e-12 {
            col.iter_mut().for_each(|x| *x /= norm);
        } else {
            col.iter_mut().for_each(|x| *x = 0.0);
            col[c % dim] = 1.0;
        }
    }
}

/// Eigenvalues and eigenvectors (columns, `r x r` row-major: vector e is column e) of a
/// symmetric matrix, by cyclic Jacobi rotations.
fn symmetric_eigen(m: &[f64], r: usize) -> (Vec<f64>, Vec<f64>) {
    let mut a = m.to_vec();
    let mut v = vec![0.0; r * r];
    for i in 0..r {
        v[i * r + i] = 1.0;
    }
    for _sweep in 0..64 {
        let off: f64 = (0..r)
            .flat_map(|i| (0..r).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * r + j] * a[i * r + j])
            .sum();
        if off < 1e-22 {
            break;
        }
        for p in 0..r {
            for q in p + 1..r {
                let apq = a[p * r + q];
                if apq.abs() < 1e-300 {
                    continue;
                }
                let theta = (a[q * r + q] - a[p * r + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..r {
                    let (akp, akq) = (a[k * r + p], a[k * r + q]);
                    a[k * r + p] = c * akp - s * akq;
                    a[k * r + q] = s * akp + c * akq;
                }
                for k in 0..r {
                    let (apk, aqk) = (a[p * r + k], a[q * r + k]);
                    a[p * r + k] = c * apk - s * aqk;
                    a[q * r + k] = s * apk + c * aqk;
                }
                for k in 0..r {
                    let (vkp, vkq) = (v[k * r + p], v[k * r + q]);
                    v[k * r + p] = c * vkp - s * vkq;
                    v[k * r + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..r).map(|i| a[i * r + i]).collect(), v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_axes_of_a_stretched_cloud_in_order() {
        // 400 points in 6-D: variance 9 along (1,1,0,0,0,0)/sqrt2, 1 along e3, 0.01 elsewhere.
        let mut rng = Rng::new(7);
        let mut data = Vec::new();
        for _ in 0..400 {
            let (a, b) = (rng.normal(0.0, 3.0), rng.normal(0.0, 1.0));
            let s = std::f32::consts::FRAC_1_SQRT_2;
            let mut row = [a * s, a * s, b, 0.0, 0.0, 0.0];
            for x in &mut row[3..] {
                *x = rng.normal(0.0, 0.1);
            }
            data.extend_from_slice(&row);
        }
        let c = principal_components(&data, 6, 2);
        assert_eq!(c.k, 2);
        assert!((c.variance[0] - 9.0).abs() < 1.5, "{:?}", c.variance);
        assert!((c.variance[1] - 1.0).abs() < 0.25, "{:?}", c.variance);
        let explained = c.explained();
        assert!(explained[0] > 0.85 && explained[0] + explained[1] > 0.98);
        // The first coordinate of a point is its position along (1,1)/sqrt2, up to sign.
        let along: Vec<f64> = data
            .chunks_exact(6)
            .map(|r| f64::from(r[0] + r[1]) / 2f64.sqrt())
            .collect();
        let first: Vec<f64> = (0..400).map(|i| f64::from(c.row(i)[0])).collect();
        let mean_a = along.iter().sum::<f64>() / 400.0;
        let corr: f64 = along
            .iter()
            .zip(&first)
            .map(|(a, f)| (a - mean_a) * f)
            .sum::<f64>()
            / (along
                .iter()
                .map(|a| (a - mean_a).powi(2))
                .sum::<f64>()
                .sqrt()
                * first.iter().map(|f| f * f).sum::<f64>().sqrt());
        assert!(corr.abs() > 0.999, "correlation {corr}");
    }

    #[test]
    fn degenerate_inputs_give_empty_or_zero_components() {
        assert_eq!(principal_components(&[], 4, 2).k, 0);
        let same = vec![1.0f32; 30];
        let c = principal_components(&same, 3, 2);
        assert_eq!(c.k, 2);
        assert!(c.projected.iter().all(|x| x.abs() < 1e-5));
        assert!(c.variance.iter().all(|v| v.abs() < 1e-9));
    }
}
