//! A two-dimensional layout that keeps neighbours together: t-SNE with Barnes-Hut
//! repulsion (van der Maaten, 2014), on the principal components.
//!
//! Principal components show the largest spreads (mask status, lighting) and pile the rest
//! on top of each other. t-SNE instead places photos that are near in the feature space
//! near on the map, so clusters and strays become visible. The settings are the common
//! defaults: perplexity 30, 250 iterations with early exaggeration 12 and then plain
//! iterations, learning rate `max(N / exaggeration, 200)`, momentum 0.5 then 0.8, a
//! start from the first two principal components (scaled down), and θ = 0.5.

use super::neighbours;

/// What the layout is run with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TsneOptions {
    pub perplexity: f64,
    pub exaggeration: f64,
    pub exaggeration_iterations: usize,
    /// Iterations after the exaggerated ones.
    pub iterations: usize,
    /// Barnes-Hut: a cell this small relative to its distance counts as one point.
    pub theta: f32,
}

impl Default for TsneOptions {
    fn default() -> Self {
        TsneOptions {
            perplexity: 30.0,
            exaggeration: 12.0,
            exaggeration_iterations: 250,
            iterations: 350,
            theta: 0.5,
        }
    }
}

/// The 2-D layout of `n` points (`data` row-major, `dim` values each). `start` gives each
/// point's starting place (e.g. its first two principal components); it is scaled down
/// first. Deterministic. `None` when `cancel` is raised (checked every iteration).
pub fn layout(
    data: &[f32],
    dim: usize,
    start: &[[f32; 2]],
    opts: &TsneOptions,
    cancel: Option<&std::sync::atomic::AtomicBool>,
) -> Option<Vec<[f32; 2]>> {
    let n = start.len();
    if n < 4 || dim == 0 || data.len() != n * dim {
        return Some(start.to_vec());
    }
    let affinities = Affinities::new(data, dim, opts.perplexity);

    // Start: the given places, scaled to a standard deviation of 1e-4 on the first axis.
    let mean = [
        start.iter().map(|p| f64::from(p[0])).sum::<f64>() / n as f64,
        start.iter().map(|p| f64::from(p[1])).sum::<f64>() / n as f64,
    ];
    let sd = (start
        .iter()
        .map(|p| (f64::from(p[0]) - mean[0]).powi(2))
        .sum::<f64>()
        / n as f64)
        .sqrt()
        .max(1e-12);
    let mut y: Vec<[f64; 2]> = start
        .iter()
        .map(|p| {
            [
                (f64::from(p[0]) - mean[0]) / sd * 1e-4,
                (f64::from(p[1]) - mean[1]) / sd * 1e-4,
            ]
        })
        .collect();
    let mut update = vec![[0f64; 2]; n];
    let mut gains = vec![[1f64; 2]; n];
    let total = opts.exaggeration_iterations + opts.iterations;
    for it in 0..total {
        if cancel.is_some_and(|c| c.load(std::sync::atomic::Ordering::Relaxed)) {
            return None;
        }
        let early = it < opts.exaggeration_iterations;
        let exaggeration = if early { opts.exaggeration } else { 1.0 };
        let momentum = if early { 0.5 } else { 0.8 };
        let rate = (n as f64 / exaggeration).max(200.0);
        let grad = gradient(&y, &affinities, exaggeration, opts.theta);
        for i in 0..n {
            for d in 0..2 {
                let same_sign = (grad[i][d] > 0.0) == (update[i][d] > 0.0);
                gains[i][d] = if same_sign {
                    (gains[i][d] * 0.8).max(0.01)
                } else {
                    gains[i][d] + 0.2
                };
                update[i][d] = momentum * update[i][d] - rate * gains[i][d] * grad[i][d];
                y[i][d] += update[i][d];
            }
        }
        let centre = [
            y.iter().map(|p| p[0]).sum::<f64>() / n as f64,
            y.iter().map(|p| p[1]).sum::<f64>() / n as f64,
        ];
        for p in &mut y {
            p[0] -= centre[0];
            p[1] -= centre[1];
        }
    }
    Some(y.into_iter().map(|p| [p[0] as f32, p[1] as f32]).collect())
}

/// The symmetric input affinities P (sparse: each point's nearest neighbours), rows as
/// `(neighbour, p)` lists that sum to 1 over all rows.
struct Affinities {
    rows: Vec<Vec<(usize, f64)>>,
}

impl Affinities {
    fn new(data: &[f32], dim: usize, perplexity: f64) -> Self {
        let n = data.len() / dim;
        let k = ((3.0 * perplexity) as usize).clamp(1, n - 1);
        let found = neighbours::nearest(data, dim, k, None);
        let target = perplexity.min((k as f64) * 0.9).ln();
        let mut rows: Vec<Vec<(usize, f64)>> = vec![Vec::new(); n];
        for (i, nn) in found.iter().enumerate() {
            let d2: Vec<f64> = nn
                .iter()
                .map(|&(_, d)| f64::from(d) * f64::from(d))
                .collect();
            let p = conditional(&d2, target);
            for (&(j, _), pj) in nn.iter().zip(p) {
                let v = pj / (2.0 * n as f64);
                rows[i].push((j, v));
                rows[j].push((i, v));
            }
        }
        // p_ij and p_ji arrive separately when both are neighbours: merge them.
        for row in &mut rows {
            row.sort_by_key(|&(j, _)| j);
            row.dedup_by(|b, a| {
                if a.0 == b.0 {
                    a.1 += b.1;
                    true
                } else {
                    false
                }
            });
        }
        Affinities { rows }
    }
}

/// One point's conditional probabilities over its neighbours (squared distances `d2`),
/// with the Gaussian width that gives entropy `target` (natural log), found by bisection.
fn conditional(d2: &[f64], target: f64) -> Vec<f64> {
    let shift = d2.iter().copied().fold(f64::INFINITY, f64::min);
    let (mut lo, mut hi) = (0.0f64, f64::INFINITY);
    let mut beta = 1.0;
    let mut p = vec![0.0; d2.len()];
    for _ in 0..64 {
        let mut sum = 0.0;
        for (pj, &d) in p.iter_mut().zip(d2) {
            *pj = (-(d - shift) * beta).exp();
            sum += *pj;
        }
        let sum = sum.max(f64::MIN_POSITIVE);
        // H = ln(sum) + beta * E[d - shift].
        let mean: f64 = p
            .iter()
            .zip(d2)
            .map(|(pj, d)| pj * (d - shift))
            .sum::<f64>()
            / sum;
        let entropy = sum.ln() + beta * mean;
        p.iter_mut().for_each(|pj| *pj /= sum);
        if (entropy - target).abs() < 1e-5 {
            break;
        }
        if entropy > target {
            lo = beta;
            beta = if hi.is_finite() {
                (beta + hi) / 2.0
            } else {
                beta * 2.0
            };
        } else {
            hi = beta;
            beta = (beta + lo) / 2.0;
        }
    }
    p
}

/// The gradient of the KL divergence at `y`.
fn gradient(y: &[[f64; 2]], p: &Affinities, exaggeration: f64, theta: f32) -> Vec<[f64; 2]> {
    let n = y.len();
    let tree = QuadTree::new(y);
    let threads = std::thread::available_parallelism()
        .map(|t| t.get())
        .unwrap_or(1)
        .clamp(1, 16);
    let chunk = n.div_ceil(threads);
    // Per point: attraction, repulsion (unnormalised) and its share of the normaliser Z.
    let mut forces = vec![([0f64; 2], [0f64; 2], 0f64); n];
    std::thread::scope(|scope| {
        for (t, slice) in forces.chunks_mut(chunk).enumerate() {
            let tree = &tree;
            scope.spawn(move || {
                let mut stack = Vec::with_capacity(256);
                for (k, out) in slice.iter_mut().enumerate() {
                    let i = t * chunk + k;
                    let mut attract = [0f64; 2];
                    for &(j, pij) in &p.rows[i] {
                        let dx = y[i][0] - y[j][0];
                        let dy = y[i][1] - y[j][1];
                        let w = 1.0 / (1.0 + dx * dx + dy * dy);
                        attract[0] += pij * w * dx;
                        attract[1] += pij * w * dy;
                    }
                    let (rep, z) = tree.repulsion(y[i], f64::from(theta), &mut stack);
                    *out = (attract, rep, z);
                }
            });
        }
    });
    let z: f64 = forces
        .iter()
        .map(|f| f.2)
        .sum::<f64>()
        .max(f64::MIN_POSITIVE);
    forces
        .iter()
        .map(|(attract, rep, _)| {
            [
                4.0 * (exaggeration * attract[0] - rep[0] / z),
                4.0 * (exaggeration * attract[1] - rep[1] / z),
            ]
        })
        .collect()
}

/// A quadtree over the points: each cell knows its point count and centre of mass.
struct QuadTree {
    nodes: Vec<Node>,
}

struct Node {
    /// Half the side of the cell.
    half: f64,
    mass: [f64; 2],
    count: f64,
    /// Index of the first of four children, 0 for a leaf.
    children: usize,
}

/// Below this depth a cell is split no further (points at one place stay in one leaf).
const MAX_DEPTH: usize = 40;

impl QuadTree {
    fn new(y: &[[f64; 2]]) -> Self {
        let (mut lo, mut hi) = ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]);
        for p in y {
            for d in 0..2 {
                lo[d] = lo[d].min(p[d]);
                hi[d] = hi[d].max(p[d]);
            }
        }
        let centre = [(lo[0] + hi[0]) / 2.0, (lo[1] + hi[1]) / 2.0];
        let half = ((hi[0] - lo[0]).max(hi[1] - lo[1]) / 2.0).max(1e-12) * 1.0001;
        let mut tree = QuadTree {
            nodes: Vec::with_capacity(y.len() * 2),
        };
        let mut idx: Vec<usize> = (0..y.len()).collect();
        tree.nodes.push(Node {
            half,
            mass: [0.0; 2],
            count: 0.0,
            children: 0,
        });
        tree.fill(0, y, &mut idx, centre, half, 0);
        tree
    }

    /// Fills node `k`, the cell of the points `idx` (non-empty) with this centre and half
    /// side, and below it the four quadrants that hold points.
    fn fill(
        &mut self,
        k: usize,
        y: &[[f64; 2]],
        idx: &mut [usize],
        centre: [f64; 2],
        half: f64,
        depth: usize,
    ) {
        let count = idx.len() as f64;
        self.nodes[k] = Node {
            half,
            mass: [
                idx.iter().map(|&i| y[i][0]).sum::<f64>() / count,
                idx.iter().map(|&i| y[i][1]).sum::<f64>() / count,
            ],
            count,
            children: 0,
        };
        if idx.len() <= 1 || depth >= MAX_DEPTH {
            return;
        }
        // Partition into quadrants: west/east, then south/north within each.
        let east = partition(idx, |i| y[i][0] >= centre[0]);
        let (west, east_part) = idx.split_at_mut(east);
        let ws = partition(west, |i| y[i][1] >= centre[1]);
        let es = partition(east_part, |i| y[i][1] >= centre[1]);
        let q = half / 2.0;
        let (w_south, w_north) = west.split_at_mut(ws);
        let (e_south, e_north) = east_part.split_at_mut(es);
        let quads: [(&mut [usize], [f64; 2]); 4] = [
            (w_south, [centre[0] - q, centre[1] - q]),
            (w_north, [centre[0] - q, centre[1] + q]),
            (e_south, [centre[0] + q, centre[1] - q]),
            (e_north, [centre[0] + q, centre[1] + q]),
        ];
        // Four children side by side; an empty quadrant stays an empty leaf.
        let first = self.nodes.len();
        for _ in 0..4 {
            self.nodes.push(Node {
                half: q,
                mass: [0.0; 2],
                count: 0.0,
                children: 0,
            });
        }
        self.nodes[k].children = first;
        for (c, (part, at)) in quads.into_iter().enumerate() {
            if !part.is_empty() {
                self.fill(first + c, y, part, at, q, depth + 1);
            }
        }
    }

    /// Repulsion on a point at `at`: (sum of w² (at - y_j), sum of w) over all points,
    /// far cells taken as one point at their centre of mass.
    /// `stack` is scratch space, reused across calls.
    fn repulsion(&self, at: [f64; 2], theta: f64, stack: &mut Vec<usize>) -> ([f64; 2], f64) {
        let mut force = [0f64; 2];
        let mut z = 0f64;
        stack.clear();
        stack.push(0);
        while let Some(k) = stack.pop() {
            let node = &self.nodes[k];
            if node.count == 0.0 {
                continue;
            }
            let dx = at[0] - node.mass[0];
            let dy = at[1] - node.mass[1];
            let d2 = dx * dx + dy * dy;
            let is_leaf = node.children == 0;
            if is_leaf || (2.0 * node.half) * (2.0 * node.half) < theta * theta * d2 {
                // A leaf holding the point itself contributes nothing (d2 = 0 and the
                // point is excluded from its own sum).
                let count = if is_leaf && d2 == 0.0 {
                    node.count - 1.0
                } else {
                    node.count
                };
                if count > 0.0 {
                    let w = 1.0 / (1.0 + d2);
                    z += count * w;
                    force[0] += count * w * w * dx;
                    force[1] += count * w * w * dy;
                }
            } else {
                stack.extend(node.children..node.children + 4);
            }
        }
        (force, z)
    }
}

/// Moves the indices for which `east` holds to the end; returns where they start.
fn partition(idx: &mut [usize], east: impl Fn(usize) -> bool) -> usize {
    let mut split = 0;
    for k in 0..idx.len() {
        if !east(idx[k]) {
            idx.swap(split, k);
            split += 1;
        }
    }
    split
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::rng::Rng;

    /// Share of each point's 10 nearest points on the map that are of its own cluster.
    fn purity(map: &[[f32; 2]], cluster: &[usize]) -> f64 {
        let flat: Vec<f32> = map.iter().flat_map(|p| [p[0], p[1]]).collect();
        purity_in(&flat, 2, cluster)
    }

    /// The same share among points of `dim` dimensions.
    fn purity_in(data: &[f32], dim: usize, cluster: &[usize]) -> f64 {
        let nn = neighbours::nearest(data, dim, 10, None);
        let same: usize = nn
            .iter()
            .enumerate()
            .map(|(i, list)| {
                list.iter()
                    .filter(|&&(j, _)| cluster[j] == cluster[i])
                    .count()
            })
            .sum();
        same as f64 / (cluster.len() * 10) as f64
    }

    #[test]
    fn clusters_hidden_behind_a_large_spread_come_apart() {
        // Three clusters apart on dimensions 2-9, under a much larger spread on 0-1: the
        // first two principal components show the spread and mix the clusters.
        let mut rng = Rng::new(4);
        let (n, dim) = (600, 10);
        let centres: Vec<Vec<f32>> = (0..3)
            .map(|_| (0..dim).map(|_| rng.normal(0.0, 3.0)).collect())
            .collect();
        let mut data = Vec::new();
        let mut cluster = Vec::new();
        for i in 0..n {
            let c = i % 3;
            cluster.push(c);
            for (d, centre) in centres[c].iter().enumerate() {
                data.push(if d < 2 {
                    rng.normal(0.0, 8.0)
                } else {
                    centre + rng.normal(0.0, 0.3)
                });
            }
        }
        // In the full space, neighbours are of one cluster.
        assert!(purity_in(&data, dim, &cluster) > 0.98);
        let pcs = crate::embeddings::pca::principal_components(&data, dim, 2);
        let start: Vec<[f32; 2]> = (0..n).map(|i| [pcs.row(i)[0], pcs.row(i)[1]]).collect();
        let pca_purity = purity(&start, &cluster);
        let map = layout(&data, dim, &start, &TsneOptions::default(), None).unwrap();
        let tsne_purity = purity(&map, &cluster);
        assert!(pca_purity < 0.6, "principal components: {pca_purity}");
        assert!(tsne_purity > 0.95, "t-SNE: {tsne_purity}");
        assert!(map.iter().all(|p| p[0].is_finite() && p[1].is_finite()));
        // Deterministic: the same input gives the same map.
        assert_eq!(
            layout(&data, dim, &start, &TsneOptions::default(), None),
            Some(map)
        );
        // A raised cancel flag stops it.
        let cancel = std::sync::atomic::AtomicBool::new(true);
        assert_eq!(
            layout(&data, dim, &start, &TsneOptions::default(), Some(&cancel)),
            None
        );
    }

    #[test]
    fn the_width_matches_the_perplexity() {
        let d2: Vec<f64> = (0..90).map(|k| k as f64 * 0.37).collect();
        let p = conditional(&d2, 30f64.ln());
        let entropy: f64 = -p
            .iter()
            .filter(|&&x| x > 0.0)
            .map(|x| x * x.ln())
            .sum::<f64>();
        assert!((entropy - 30f64.ln()).abs() < 1e-3, "{entropy}");
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    }

    #[test]
    fn identical_and_tiny_inputs_do_not_break() {
        let data = vec![1.0f32; 50 * 3];
        let start = vec![[0.0f32, 0.0]; 50];
        let map = layout(&data, 3, &start, &TsneOptions::default(), None).unwrap();
        assert!(map.iter().all(|p| p[0].is_finite() && p[1].is_finite()));
        let two = layout(
            &[1.0, 2.0],
            1,
            &[[0.0, 0.0], [1.0, 1.0]],
            &TsneOptions::default(),
            None,
        );
        assert_eq!(two.map(|m| m.len()), Some(2));
    }
}
