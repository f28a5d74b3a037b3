//! What a run's per-photo embeddings show beyond the labels.
//!
//! The worker writes `embeddings.npy` (rows of `oof_index.csv` x D): the features fold 0's
//! model gives every training photo, before its heads. One model for all photos, because
//! each fold's model has its own feature space. From them:
//!
//! - **the map**: every photo placed by t-SNE (the worker saves it as `map.npy`; runs
//!   without it fall back to the first two principal components), so clusters (mask
//!   status, gender, age) and strays can be seen and clicked;
//! - **outliers**: photos unlike any other. The score is cleanlab's for features: the mean
//!   distance to the k nearest photos (of other people), `exp(-distance / median distance)`
//!   (1 = typical, near 0 = alone), the median taken over photos of the same mask status.
//!   A photo is flagged by cleanlab Datalab's rule, within its mask status: a distance
//!   above Q3 + (1/0.37037 - 1) x IQR of the group's distances, so the count follows the
//!   data;
//! - **look-alike people**: two ids whose photos the model sees as one person (a
//!   duplicated identity). People are compared by the mean of their photos; a pair is
//!   flagged when each is the other's nearest person and far closer than people's nearest
//!   neighbours usually are.
//!
//! Distances are Euclidean between unit-length embeddings (a monotone function of cosine
//! distance) on the leading principal components, which keep the geometry and make the
//! neighbour search fast.

pub mod neighbours;
pub mod pca;
pub mod tsne;

use crate::arrays::{read_npy, NpyData, NpyError};
use crate::dataset::{Dataset, Mask, PhotoRef};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The run file the worker writes (see `ml::run`).
pub const FILE_NAME: &str = "embeddings.npy";
/// The worker's t-SNE layout of the embeddings: rows of `embeddings.npy` x 2.
pub const MAP_FILE_NAME: &str = "map.npy";
/// Neighbours the outlier score averages over (cleanlab's default).
pub const NEIGHBOURS: usize = 10;
/// Principal components the distances are measured on.
pub const REDUCED_DIM: usize = 32;
/// Datalab's outlier fence: distances above Q3 + this x IQR are flagged.
pub const OUTLIER_IQR_FACTOR: f64 = 1.0 / 0.37037 - 1.0;
/// Robust z (below the typical nearest-person distance) beyond which two people look alike.
pub const LOOKALIKE_Z: f64 = 3.5;

#[derive(Debug, thiserror::Error)]
pub enum EmbeddingError {
    #[error(transparent)]
    Npy(#[from] NpyError),
    #[error("{path}: {reason}")]
    File { path: PathBuf, reason: String },
}

/// Unit-length embeddings of (some of) the dataset's photos: row r belongs to `rows[r]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Embeddings {
    pub rows: Vec<PhotoRef>,
    pub dim: usize,
    /// Row-major; each row scaled to length 1 (a zero row stays zero).
    pub unit: Vec<f32>,
    /// The run's t-SNE layout (`map.npy`), when it has one.
    pub layout: Option<Vec<[f32; 2]>>,
}

impl Embeddings {
    /// Checks and normalises `data` (`rows.len() x dim`); `path` names the source in errors.
    pub fn new(
        rows: Vec<PhotoRef>,
        dim: usize,
        mut data: Vec<f32>,
        path: &Path,
    ) -> Result<Self, EmbeddingError> {
        let bad = |reason: String| EmbeddingError::File {
            path: path.to_path_buf(),
            reason,
        };
        if dim == 0 || data.len() != rows.len() * dim {
            return Err(bad(format!(
                "{} values are not {} photos x {dim} features",
                data.len(),
                rows.len()
            )));
        }
        for (r, row) in data.chunks_exact(dim).enumerate() {
            if let Some(c) = row.iter().position(|x| !x.is_finite()) {
                return Err(bad(format!("row {r}, column {c} is {}", row[c])));
            }
        }
        normalise_rows(&mut data, dim);
        Ok(Embeddings {
            rows,
            dim,
            unit: data,
            layout: None,
        })
    }

    /// Reads `path` (float32 or float64, `rows.len() x D`); `rows` are the photos of the
    /// run's `oof_index.csv` rows, in order (`issues::ProbTable::rows`).
    pub fn load(path: &Path, rows: &[PhotoRef]) -> Result<Self, EmbeddingError> {
        let a = read_npy(path)?;
        let bad = |reason: String| EmbeddingError::File {
            path: path.to_path_buf(),
            reason,
        };
        if a.shape.len() != 2 {
            return Err(bad(format!(
                "expected photos x features, found shape {:?}",
                a.shape
            )));
        }
        if a.shape[0] != rows.len() {
            return Err(bad(format!(
                "{} rows, but the run's index has {} photos",
                a.shape[0],
                rows.len()
            )));
        }
        let data = match a.data {
            NpyData::F32(v) => v,
            NpyData::F64(v) => v.into_iter().map(|x| x as f32).collect(),
            other => {
                return Err(bad(format!(
                    "embeddings must be float32 or float64, found {}",
                    other.dtype_name()
                )))
            }
        };
        Self::new(rows.to_vec(), a.shape[1], data, path)
    }

    /// The run's `embeddings.npy`, or `None` when the run has none (older runs, and
    /// backbones whose features are not exposed).
    pub fn load_run(run_dir: &Path, rows: &[PhotoRef]) -> Result<Option<Self>, EmbeddingError> {
        let path = run_dir.join(FILE_NAME);
        if !path.is_file() {
            return Ok(None);
        }
        let mut emb = Self::load(&path, rows)?;
        let map = run_dir.join(MAP_FILE_NAME);
        if map.is_file() {
            emb.layout = Some(read_layout(&map, rows.len())?);
        }
        Ok(Some(emb))
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// Scales each row of `data` (`dim` values) to length 1; a zero row stays zero.
fn normalise_rows(data: &mut [f32], dim: usize) {
    if dim == 0 {
        return;
    }
    for row in data.chunks_exact_mut(dim) {
        let norm = row.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm > 0.0 {
            row.iter_mut().for_each(|x| *x /= norm);
        }
    }
}

/// Reads a `rows x 2` float32 layout, refusing other shapes and non-finite values.
fn read_layout(path: &Path, rows: usize) -> Result<Vec<[f32; 2]>, EmbeddingError> {
    let a = read_npy(path)?;
    let bad = |reason: String| EmbeddingError::File {
        path: path.to_path_buf(),
        reason,
    };
    if a.shape != [rows, 2] {
        return Err(bad(format!(
            "expected {rows} photos x 2, found shape {:?}",
            a.shape
        )));
    }
    let NpyData::F32(v) = a.data else {
        return Err(bad(format!(
            "expected float32, found {}",
            a.data.dtype_name()
        )));
    };
    if let Some(i) = v.iter().position(|x| !x.is_finite()) {
        return Err(bad(format!("row {} holds {}", i / 2, v[i])));
    }
    Ok(v.chunks_exact(2).map(|p| [p[0], p[1]]).collect())
}

/// The t-SNE layout of raw features (`rows x dim`, any scale): rows scaled to length 1,
/// their leading principal components, t-SNE from the first two. What the worker saves
/// as `map.npy`, so the app does not spend half a minute on it. `None` when cancelled.
pub fn tsne_layout(
    features: &[f32],
    dim: usize,
    cancel: Option<&std::sync::atomic::AtomicBool>,
) -> Option<Vec<[f32; 2]>> {
    let mut unit = features.to_vec();
    normalise_rows(&mut unit, dim);
    let reduced = pca::principal_components(&unit, dim, REDUCED_DIM);
    let n = features.len().checked_div(dim).unwrap_or(0);
    let start: Vec<[f32; 2]> = (0..n).map(|i| first_two(reduced.row(i))).collect();
    tsne::layout(
        &reduced.projected,
        reduced.k,
        &start,
        &tsne::TsneOptions::default(),
        cancel,
    )
}

fn first_two(r: &[f32]) -> [f32; 2] {
    [
        r.first().copied().unwrap_or(0.0),
        r.get(1).copied().unwrap_or(0.0),
    ]
}

/// How the map's two axes were made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapKind {
    /// The run's `map.npy`: neighbours on the map are neighbours in the features.
    Tsne,
    /// The first two principal components (runs without `map.npy`).
    PrincipalComponents,
}

/// Two people the model sees as one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lookalike {
    /// Person indices, `a < b`.
    pub a: usize,
    pub b: usize,
    /// Distance between their mean embeddings.
    pub distance: f32,
    /// How many robust standard deviations closer than people's usual nearest neighbour.
    pub z: f64,
}

/// The map, outliers and look-alike people of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbeddingReport {
    pub run_id: String,
    /// Features per photo in the run's file.
    pub dim: usize,
    pub rows: Vec<PhotoRef>,
    /// Per row: its place on the map.
    pub map: Vec<[f32; 2]>,
    pub map_kind: MapKind,
    /// Share of the variance the first two principal components show.
    pub map_explained: [f64; 2],
    /// Per row: cleanlab's outlier score (1 typical, near 0 alone).
    pub outlier_score: Vec<f32>,
    /// Flagged rows, most atypical first.
    pub outliers: Vec<usize>,
    /// Flagged pairs, most alike first.
    pub lookalikes: Vec<Lookalike>,
    by_photo: HashMap<PhotoRef, usize>,
}

impl EmbeddingReport {
    /// The row of a photo.
    pub fn row_of(&self, photo: PhotoRef) -> Option<usize> {
        self.by_photo.get(&photo).copied()
    }

    /// A flagged photo's rank among the outliers (0 = most atypical) and its score.
    pub fn outlier(&self, photo: PhotoRef) -> Option<(usize, f32)> {
        let row = self.row_of(photo)?;
        let rank = self.outliers.iter().position(|&r| r == row)?;
        Some((rank, self.outlier_score[row]))
    }

    /// The flagged pair a person belongs to.
    pub fn lookalike_of(&self, person: usize) -> Option<&Lookalike> {
        self.lookalikes
            .iter()
            .find(|l| l.a == person || l.b == person)
    }

    /// People with an outlier photo or in a look-alike pair, ascending.
    pub fn flagged_people(&self) -> Vec<usize> {
        let mut people: Vec<usize> = self
            .outliers
            .iter()
            .map(|&r| self.rows[r].person)
            .chain(self.lookalikes.iter().flat_map(|l| [l.a, l.b]))
            .collect();
        people.sort_unstable();
        people.dedup();
        people
    }

    /// Whether the person has an outlier photo or is in a look-alike pair.
    pub fn flags_person(&self, person: usize) -> bool {
        self.lookalike_of(person).is_some()
            || self.outliers.iter().any(|&r| self.rows[r].person == person)
    }

    /// One line on a flagged photo, for the person view and the command line.
    pub fn describe_outlier(&self, photo: PhotoRef) -> Option<String> {
        let (rank, score) = self.outlier(photo)?;
        Some(format!(
            "unlike the other photos: outlier {} of {} (score {score:.3}; typical photos score about 0.37)",
            rank + 1,
            self.outliers.len()
        ))
    }
}

/// Builds the map and finds outliers and look-alike people.
pub fn analyse(dataset: &Dataset, emb: &Embeddings, run_id: &str) -> EmbeddingReport {
    let n = emb.len();
    let reduced = pca::principal_components(&emb.unit, emb.dim, REDUCED_DIM);
    let explained = reduced.explained();
    let (map, map_kind) = match &emb.layout {
        Some(layout) if layout.len() == n => (layout.clone(), MapKind::Tsne),
        _ => (
            (0..n).map(|i| first_two(reduced.row(i))).collect(),
            MapKind::PrincipalComponents,
        ),
    };

    // Outliers: mean distance to the nearest photos of other people (a person's own
    // photos would hide a stray copied twice), judged against photos of the same mask
    // status: five masked photos per person make masked photos denser than the rest.
    let people: Vec<usize> = emb.rows.iter().map(|r| r.person).collect();
    let found = neighbours::nearest(&reduced.projected, reduced.k, NEIGHBOURS, Some(&people));
    let mean_distance: Vec<f64> = found
        .iter()
        .map(|nn| {
            if nn.is_empty() {
                0.0
            } else {
                nn.iter().map(|&(_, d)| f64::from(d)).sum::<f64>() / nn.len() as f64
            }
        })
        .collect();
    let mut outlier_score = vec![0f32; n];
    let mut outliers = Vec::new();
    for mask in Mask::ALL {
        let members: Vec<usize> = (0..n)
            .filter(|&i| emb.rows[i].slot.mask() == mask)
            .collect();
        let distances: Vec<f64> = members.iter().map(|&i| mean_distance[i]).collect();
        let scale = crate::stats::median(&distances)
            .unwrap_or(0.0)
            .max(100.0 * f64::EPSILON);
        for &i in &members {
            outlier_score[i] = (-mean_distance[i] / scale).exp() as f32;
        }
        outliers.extend(beyond_fence(&distances).into_iter().map(|m| members[m]));
    }
    outliers.sort_by(|&a, &b| outlier_score[a].total_cmp(&outlier_score[b]));

    let lookalikes = lookalike_people(dataset, emb, &reduced);
    let by_photo = emb.rows.iter().enumerate().map(|(i, &p)| (p, i)).collect();
    EmbeddingReport {
        run_id: run_id.to_string(),
        dim: emb.dim,
        rows: emb.rows.clone(),
        map,
        map_kind,
        map_explained: [
            explained.first().copied().unwrap_or(0.0),
            explained.get(1).copied().unwrap_or(0.0),
        ],
        outlier_score,
        outliers,
        lookalikes,
        by_photo,
    }
}

/// Indices of values above Q3 + [`OUTLIER_IQR_FACTOR`] x IQR (quartiles interpolated as
/// NumPy's `percentile` does, as Datalab computes them).
fn beyond_fence(values: &[f64]) -> Vec<usize> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let (Some(q1), Some(q3)) = (
        crate::stats::quantile_sorted(&sorted, 0.25),
        crate::stats::quantile_sorted(&sorted, 0.75),
    ) else {
        return Vec::new();
    };
    let fence = q3 + OUTLIER_IQR_FACTOR * (q3 - q1);
    (0..values.len()).filter(|&i| values[i] > fence).collect()
}

/// Pairs of people that are each other's nearest person and far closer than usual.
fn lookalike_people(
    dataset: &Dataset,
    emb: &Embeddings,
    reduced: &pca::Components,
) -> Vec<Lookalike> {
    let k = reduced.k;
    if k == 0 {
        return Vec::new();
    }
    let mut sums = vec![0f64; dataset.people.len() * k];
    let mut counts = vec![0usize; dataset.people.len()];
    for (i, photo) in emb.rows.iter().enumerate() {
        let Some(count) = counts.get_mut(photo.person) else {
            continue;
        };
        *count += 1;
        for (s, &x) in sums[photo.person * k..(photo.person + 1) * k]
            .iter_mut()
            .zip(reduced.row(i))
        {
            *s += f64::from(x);
        }
    }
    let people: Vec<usize> = (0..counts.len()).filter(|&p| counts[p] > 0).collect();
    if people.len() < 3 {
        return Vec::new();
    }
    let means: Vec<f32> = people
        .iter()
        .flat_map(|&p| {
            let c = counts[p] as f64;
            sums[p * k..(p + 1) * k]
                .iter()
                .map(move |s| (s / c) as f32)
                .collect::<Vec<_>>()
        })
        .collect();
    let nearest = neighbours::nearest(&means, k, 1, None);
    let logs: Vec<f64> = nearest
        .iter()
        .map(|nn| {
            nn.first()
                .map_or(0.0, |&(_, d)| f64::from(d))
                .max(1e-9)
                .ln()
        })
        .collect();
    let Some(centre) = crate::stats::median(&logs) else {
        return Vec::new();
    };
    let spread = crate::stats::mad_sd(&logs, centre).unwrap_or(0.0);
    if spread <= 1e-9 {
        return Vec::new();
    }
    let mut pairs = Vec::new();
    for (i, nn) in nearest.iter().enumerate() {
        let Some(&(j, d)) = nn.first() else { continue };
        let mutual = nearest[j].first().is_some_and(|&(back, _)| back == i);
        let z = (centre - logs[i]) / spread;
        if mutual && i < j && z > LOOKALIKE_Z {
            pairs.push(Lookalike {
                a: people[i],
                b: people[j],
                distance: d,
                z,
            });
        }
    }
    pairs.sort_by(|x, y| x.distance.total_cmp(&y.distance));
    pairs
}

#[cfg(test)]
mod tests;
