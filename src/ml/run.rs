//! The run folder `<root>/.mask-curator/runs/<YYYYmmdd-HHMMSS>-<backbone>/` and its files.
//! Pure: no torch, so the app and the issues finder can read runs in any build.
//!
//! ```text
//! config.json                 the recipe
//! run.json                    id, status, folds done, summary (rewritten as folds finish)
//! split.csv                   person,fold
//! fold<k>.safetensors         weights of fold k's model
//! fold<k>.json                fold k's summary (status, epochs done, validation scores)
//! metrics_fold<k>.jsonl       one line per epoch of fold k; metrics.jsonl: all folds
//! val_probs_fold<k>.npy       fold k's validation photos x 18, + val_index_fold<k>.csv
//! eval_probs_fold<k>.npy      eval/info.csv rows x 18 (and _tta with hflip averaging)
//! oof_probs.npy, oof_index.csv  every training photo once, from the fold where it was held out
//! val_age_fold<k>.npy         fold k's validation photos x 2: predicted years, spread (std, years)
//! eval_age_fold<k>.npy        eval/info.csv rows x 2 (and _tta)
//! oof_age.npy                 rows of oof_index.csv x 2 (runs with an age head)
//! embeddings.npy              rows of oof_index.csv x D: every training photo seen by fold 0's
//!                             model (one model, so distances between any two photos compare;
//!                             backbones with a feature layer of ours)
//! map.npy                     rows of oof_index.csv x 2: t-SNE layout of embeddings.npy
//! ```

use super::config::TrainConfig;
use super::npy::{self, Matrix};
use crate::dataset::NUM_CLASSES;
use crate::metrics::{self, ClassMetrics};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Running,
    Finished,
    Cancelled,
    Failed,
}

impl RunStatus {
    pub fn name(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Finished => "finished",
            RunStatus::Cancelled => "cancelled",
            RunStatus::Failed => "failed",
        }
    }
}

/// Scores of one epoch on the fold's validation people (official age bins).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    pub fold: usize,
    /// 1-based.
    pub epoch: u32,
    pub train_loss: f64,
    pub val_loss: f64,
    pub lr: f64,
    /// Macro F1 over the 18 classes.
    pub macro_f1: f64,
    pub accuracy: f64,
    pub f1_mask: f64,
    pub f1_gender: f64,
    pub f1_age: f64,
    /// Mean absolute error of the age head in years (none without an age head).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_mae: Option<f64>,
    pub images_per_sec: f64,
    pub elapsed_secs: f64,
}

/// One fold's outcome, `fold<k>.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FoldSummary {
    pub fold: usize,
    pub status: RunStatus,
    pub epochs_completed: u32,
    pub epochs: u32,
    /// Scores of the last completed epoch.
    pub last: Option<EpochRecord>,
    pub error: Option<String>,
}

/// Out-of-fold scores against the labels the run trained on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    pub oof_macro_f1: f64,
    pub oof_accuracy: f64,
    pub oof_f1_mask: f64,
    pub oof_f1_gender: f64,
    pub oof_f1_age: f64,
    pub per_class_f1: Vec<f64>,
    pub confusion: Vec<Vec<u64>>,
    /// The age head's out-of-fold figures (none for runs without an age head).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age: Option<AgeSummary>,
}

/// Out-of-fold age in years against the ages trained on (`oof_age.npy`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgeSummary {
    /// Mean absolute error of the predicted years.
    pub mae_years: f64,
    /// The same for the best constant guess (the median age): what "learned nothing" scores.
    pub baseline_mae_years: f64,
    /// Fraction of photos whose error is at most the predicted spread (one std: about 0.68
    /// for a calibrated Gaussian, 0.76 for a Laplace).
    pub within_one_spread: f64,
    /// Median predicted spread (std, years).
    pub median_spread_years: f64,
}

/// `run.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    pub id: String,
    pub status: RunStatus,
    pub created: String,
    pub updated: String,
    pub dataset_root: PathBuf,
    pub num_photos: usize,
    pub num_people: usize,
    /// "curated" or "given".
    pub labels: String,
    pub config: TrainConfig,
    pub folds: Vec<FoldSummary>,
    pub summary: Option<RunSummary>,
    pub error: Option<String>,
}

/// One row of an index file: `row,path,person,fold[,label]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexRow {
    /// Position in `Dataset::photo_refs()` order at training time.
    pub row: usize,
    pub path: String,
    pub person: String,
    pub fold: usize,
    /// The 18-class label trained on (only in the per-fold files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<usize>,
    /// The age in years trained on (only in the per-fold files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age: Option<u32>,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Bad { path: PathBuf, message: String },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> RunError + '_ {
    move |source| RunError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn bad(path: &Path, message: impl Into<String>) -> RunError {
    RunError::Bad {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// Paths of the files in a run folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunDir {
    pub dir: PathBuf,
}

impl RunDir {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        RunDir { dir: dir.into() }
    }
    /// A fresh folder name under `runs_dir`: `<YYYYmmdd-HHMMSS>-<backbone>` (suffixed when
    /// taken).
    pub fn fresh(runs_dir: &Path, backbone: &str) -> Self {
        let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S");
        let mut dir = runs_dir.join(format!("{stamp}-{backbone}"));
        let mut n = 2;
        while dir.exists() {
            dir = runs_dir.join(format!("{stamp}-{backbone}-{n}"));
            n += 1;
        }
        RunDir { dir }
    }
    pub fn id(&self) -> String {
        self.dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
    pub fn config(&self) -> PathBuf {
        self.dir.join("config.json")
    }
    pub fn run_json(&self) -> PathBuf {
        self.dir.join("run.json")
    }
    pub fn split_csv(&self) -> PathBuf {
        self.dir.join("split.csv")
    }
    /// Photos left out of the run because they cannot be decoded (`path,reason`).
    pub fn skipped_csv(&self) -> PathBuf {
        self.dir.join("skipped.csv")
    }
    pub fn weights(&self, fold: usize) -> PathBuf {
        self.dir.join(format!("fold{fold}.safetensors"))
    }
    pub fn fold_json(&self, fold: usize) -> PathBuf {
        self.dir.join(format!("fold{fold}.json"))
    }
    pub fn fold_metrics(&self, fold: usize) -> PathBuf {
        self.dir.join(format!("metrics_fold{fold}.jsonl"))
    }
    pub fn metrics(&self) -> PathBuf {
        self.dir.join("metrics.jsonl")
    }
    pub fn val_probs(&self, fold: usize) -> PathBuf {
        self.dir.join(format!("val_probs_fold{fold}.npy"))
    }
    pub fn val_index(&self, fold: usize) -> PathBuf {
        self.dir.join(format!("val_index_fold{fold}.csv"))
    }
    pub fn eval_probs(&self, fold: usize, tta: bool) -> PathBuf {
        self.dir.join(if tta {
            format!("eval_probs_fold{fold}_tta.npy")
        } else {
            format!("eval_probs_fold{fold}.npy")
        })
    }
    pub fn oof_probs(&self) -> PathBuf {
        self.dir.join("oof_probs.npy")
    }
    pub fn oof_index(&self) -> PathBuf {
        self.dir.join("oof_index.csv")
    }
    /// N x 2 float32: predicted age in years and its spread (standard deviation, years),
    /// rows aligned with `oof_probs.npy`. Absent in runs without an age head.
    pub fn oof_age(&self) -> PathBuf {
        self.dir.join("oof_age.npy")
    }
    /// Rows of `oof_index.csv` x D: fold 0's model's features of every training photo.
    pub fn embeddings(&self) -> PathBuf {
        self.dir.join("embeddings.npy")
    }
    /// What `mask-curator simulate` wrote about a simulated run (only simulated runs have
    /// it: no model, so no eval predictions or embeddings).
    pub fn simulation_json(&self) -> PathBuf {
        self.dir.join("simulation.json")
    }
    pub fn is_simulated(&self) -> bool {
        self.simulation_json().is_file()
    }
    /// Rows of `embeddings.npy` x 2: their t-SNE layout (the map view).
    pub fn map(&self) -> PathBuf {
        self.dir.join("map.npy")
    }
    /// Eval rows x 2, the columns of [`RunDir::oof_age`].
    pub fn eval_age(&self, fold: usize, tta: bool) -> PathBuf {
        self.dir.join(if tta {
            format!("eval_age_fold{fold}_tta.npy")
        } else {
            format!("eval_age_fold{fold}.npy")
        })
    }
    pub fn val_age(&self, fold: usize) -> PathBuf {
        self.dir.join(format!("val_age_fold{fold}.npy"))
    }

    pub fn write_json<T: Serialize>(&self, path: &Path, value: &T) -> Result<(), RunError> {
        let text = serde_json::to_string_pretty(value).map_err(|e| bad(path, e.to_string()))?;
        crate::workspace::write_atomic(path, text.as_bytes()).map_err(io(path))
    }
    pub fn read_json<T: for<'de> Deserialize<'de>>(&self, path: &Path) -> Result<T, RunError> {
        let text = std::fs::read_to_string(path).map_err(io(path))?;
        serde_json::from_str(&text).map_err(|e| bad(path, e.to_string()))
    }
    pub fn read_info(&self) -> Result<RunInfo, RunError> {
        self.read_json(&self.run_json())
    }
    pub fn read_config(&self) -> Result<TrainConfig, RunError> {
        self.read_json(&self.config())
    }
    /// The fold summaries present on disk, by fold.
    pub fn fold_summaries(&self, folds: usize) -> Result<Vec<FoldSummary>, RunError> {
        let mut out = Vec::new();
        for k in 0..folds {
            let p = self.fold_json(k);
            if p.exists() {
                out.push(self.read_json(&p)?);
            }
        }
        Ok(out)
    }
    /// Epoch records of all folds (from the per-fold files, so it works mid-run).
    pub fn epoch_records(&self, folds: usize) -> Vec<EpochRecord> {
        let mut out = Vec::new();
        for k in 0..folds {
            if let Ok(text) = std::fs::read_to_string(self.fold_metrics(k)) {
                out.extend(
                    text.lines()
                        .filter_map(|l| serde_json::from_str::<EpochRecord>(l).ok()),
                );
            }
        }
        out
    }
    pub fn append_epoch(&self, record: &EpochRecord) -> Result<(), RunError> {
        use std::io::Write;
        let path = self.fold_metrics(record.fold);
        let line = serde_json::to_string(record).map_err(|e| bad(&path, e.to_string()))?;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io(&path))?;
        writeln!(f, "{line}").map_err(io(&path))
    }
}

pub fn write_index(path: &Path, rows: &[IndexRow]) -> Result<(), RunError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.serialize(r).map_err(|e| bad(path, e.to_string()))?;
    }
    let bytes = w.into_inner().map_err(|e| bad(path, e.to_string()))?;
    crate::workspace::write_atomic(path, &bytes).map_err(io(path))
}

pub fn read_index(path: &Path) -> Result<Vec<IndexRow>, RunError> {
    let mut r = csv::Reader::from_path(path).map_err(|e| bad(path, e.to_string()))?;
    r.deserialize()
        .enumerate()
        .map(|(i, row)| row.map_err(|e| bad(path, format!("line {}: {e}", i + 2))))
        .collect()
}

/// `split.csv`: `person,fold`.
pub fn write_split(path: &Path, people: &[(String, usize)]) -> Result<(), RunError> {
    let mut text = String::from("person,fold\n");
    for (person, fold) in people {
        text.push_str(&format!("{person},{fold}\n"));
    }
    crate::workspace::write_atomic(path, text.as_bytes()).map_err(io(path))
}

/// Scores 18-class predictions and their per-field projections.
pub fn score(truth: &[usize], predicted: &[usize]) -> (ClassMetrics, [f64; 3]) {
    let all = metrics::evaluate(truth, predicted, NUM_CLASSES);
    let field = |f: fn(usize) -> usize, n| {
        let t: Vec<usize> = truth.iter().map(|&c| f(c)).collect();
        let p: Vec<usize> = predicted.iter().map(|&c| f(c)).collect();
        metrics::macro_f1(&t, &p, n)
    };
    let fields = [
        field(|c| c / 6, 3),
        field(|c| (c % 6) / 3, 2),
        field(|c| c % 3, 3),
    ];
    (all, fields)
}

/// Builds `oof_probs.npy` and `oof_index.csv` from the per-fold validation files, checking
/// that every training photo (rows `0..num_photos`) appears exactly once. Returns the
/// out-of-fold scores against the labels trained on.
pub fn assemble_oof(run: &RunDir, folds: usize, num_photos: usize) -> Result<RunSummary, RunError> {
    let mut probs = vec![f32::NAN; num_photos * NUM_CLASSES];
    let mut rows: Vec<Option<IndexRow>> = vec![None; num_photos];
    for k in 0..folds {
        let (pp, ip) = (run.val_probs(k), run.val_index(k));
        if !pp.exists() || !ip.exists() {
            return Err(bad(
                &pp,
                format!("fold {k} has no validation output yet (train it with --fold {k})"),
            ));
        }
        let m = npy::read(&pp).map_err(|e| bad(&pp, e.to_string()))?;
        let index = read_index(&ip)?;
        if m.rows != index.len() || m.cols != NUM_CLASSES {
            return Err(bad(
                &pp,
                format!(
                    "shape ({}, {}) does not match {} index rows x {NUM_CLASSES}",
                    m.rows,
                    m.cols,
                    index.len()
                ),
            ));
        }
        for (i, r) in index.into_iter().enumerate() {
            let slot = rows
                .get_mut(r.row)
                .ok_or_else(|| bad(&ip, format!("row {} beyond {num_photos} photos", r.row)))?;
            if slot.is_some() {
                return Err(bad(
                    &ip,
                    format!("photo row {} ({}) is in two folds", r.row, r.path),
                ));
            }
            probs[r.row * NUM_CLASSES..(r.row + 1) * NUM_CLASSES].copy_from_slice(m.row(i));
            *slot = Some(r);
        }
    }
    let rows: Vec<IndexRow> = rows
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            r.ok_or_else(|| {
                bad(
                    &run.dir,
                    format!("photo row {i} is in no fold's validation set"),
                )
            })
        })
        .collect::<Result<_, _>>()?;
    let truth: Vec<usize> = rows.iter().map(|r| r.label.unwrap_or(usize::MAX)).collect();
    let predicted = metrics::argmax_rows(&probs, NUM_CLASSES);
    let age = assemble_oof_age(run, folds, &rows)?;
    let public: Vec<IndexRow> = rows
        .into_iter()
        .map(|r| IndexRow {
            label: None,
            age: None,
            ..r
        })
        .collect();
    npy::write(
        &run.oof_probs(),
        &Matrix::new(num_photos, NUM_CLASSES, probs),
    )
    .map_err(io(&run.oof_probs()))?;
    write_index(&run.oof_index(), &public)?;
    // All epochs of all folds in one file, for tools that want a single log.
    let mut all = String::new();
    for r in run.epoch_records(folds) {
        all.push_str(&serde_json::to_string(&r).map_err(|e| bad(&run.metrics(), e.to_string()))?);
        all.push('\n');
    }
    crate::workspace::write_atomic(&run.metrics(), all.as_bytes()).map_err(io(&run.metrics()))?;
    let (m, fields) = score(&truth, &predicted);
    Ok(RunSummary {
        oof_macro_f1: m.macro_f1,
        oof_accuracy: m.accuracy,
        oof_f1_mask: fields[0],
        oof_f1_gender: fields[1],
        oof_f1_age: fields[2],
        per_class_f1: m.per_class_f1,
        confusion: m.confusion,
        age,
    })
}

/// Builds `oof_age.npy` (rows aligned with `rows`, i.e. `oof_index.csv`) from the folds'
/// `val_age_fold<k>.npy` and scores it against the ages trained on. `None` when the run has
/// no age head (no fold wrote age predictions); a run where only some folds did is refused.
fn assemble_oof_age(
    run: &RunDir,
    folds: usize,
    rows: &[IndexRow],
) -> Result<Option<AgeSummary>, RunError> {
    let present: Vec<bool> = (0..folds).map(|k| run.val_age(k).exists()).collect();
    if present.iter().all(|p| !p) {
        return Ok(None);
    }
    if let Some(k) = present.iter().position(|p| !p) {
        return Err(bad(
            &run.val_age(k),
            "missing while other folds have age predictions (train this fold again)",
        ));
    }
    let mut age = vec![f32::NAN; rows.len() * 2];
    for k in 0..folds {
        let (path, ip) = (run.val_age(k), run.val_index(k));
        let m = npy::read(&path).map_err(|e| bad(&path, e.to_string()))?;
        let index = read_index(&ip)?;
        if m.rows != index.len() || m.cols != 2 {
            return Err(bad(
                &path,
                format!(
                    "shape ({}, {}) does not match {} index rows x 2",
                    m.rows,
                    m.cols,
                    index.len()
                ),
            ));
        }
        for (i, r) in index.iter().enumerate() {
            // Rows were checked against the probabilities' index (same file) above.
            if let Some(slot) = age.get_mut(r.row * 2..r.row * 2 + 2) {
                slot.copy_from_slice(m.row(i));
            }
        }
    }
    let truth: Vec<Option<u32>> = rows.iter().map(|r| r.age).collect();
    let summary = age_summary(&age, &truth);
    npy::write(&run.oof_age(), &Matrix::new(rows.len(), 2, age)).map_err(io(&run.oof_age()))?;
    Ok(Some(summary))
}

/// Scores `(years, spread)` rows against the ages trained on (rows without one are skipped).
pub fn age_summary(age: &[f32], truth: &[Option<u32>]) -> AgeSummary {
    let pairs: Vec<(f64, f64, f64)> = age
        .chunks_exact(2)
        .zip(truth)
        .filter_map(|(p, t)| t.map(|t| (f64::from(p[0]), f64::from(p[1]), f64::from(t))))
        .filter(|(y, s, _)| y.is_finite() && s.is_finite())
        .collect();
    let n = pairs.len().max(1) as f64;
    let median = |mut v: Vec<f64>| -> f64 {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
    };
    let constant = median(pairs.iter().map(|p| p.2).collect());
    AgeSummary {
        mae_years: pairs.iter().map(|(y, _, t)| (y - t).abs()).sum::<f64>() / n,
        baseline_mae_years: pairs
            .iter()
            .map(|(_, _, t)| (constant - t).abs())
            .sum::<f64>()
            / n,
        within_one_spread: pairs.iter().filter(|(y, s, t)| (y - t).abs() <= *s).count() as f64 / n,
        median_spread_years: median(pairs.iter().map(|p| p.1).collect()),
    }
}

/// Rewrites `run.json` from the fold files on disk: status is cancelled or failed when a
/// fold says so, finished when every fold finished and `summary` is given, else running.
pub fn refresh_info(
    run: &RunDir,
    summary: Option<RunSummary>,
    error: Option<String>,
) -> Result<RunInfo, RunError> {
    let mut info = run.read_info()?;
    let folds = run.fold_summaries(info.config.folds)?;
    let any = |s: RunStatus| folds.iter().any(|f| f.status == s);
    info.status = if error.is_some() || any(RunStatus::Failed) {
        RunStatus::Failed
    } else if any(RunStatus::Cancelled) {
        RunStatus::Cancelled
    } else if folds.len() == info.config.folds && summary.is_some() {
        RunStatus::Finished
    } else {
        RunStatus::Running
    };
    info.error = error.or_else(|| folds.iter().find_map(|f| f.error.clone()));
    info.folds = folds;
    if summary.is_some() {
        info.summary = summary;
    }
    info.updated = now();
    run.write_json(&run.run_json(), &info)?;
    Ok(info)
}

pub fn now() -> String {
    chrono::Local::now()
        .format("%Y-%m-%dT%H:%M:%S%z")
        .to_string()
}

/// All run folders under `runs_dir` that have a readable `run.json`, newest first
/// ([`newest_first`]).
pub fn list_runs(runs_dir: &Path) -> Vec<(RunDir, RunInfo)> {
    let Ok(entries) = std::fs::read_dir(runs_dir) else {
        return Vec::new();
    };
    let mut runs: Vec<(RunDir, RunInfo)> = entries
        .flatten()
        .map(|e| RunDir::new(e.path()))
        .filter_map(|r| r.read_info().ok().map(|i| (r, i)))
        .collect();
    runs.sort_by(|a, b| newest_first((&a.1.created, &a.0.dir), (&b.1.created, &b.0.dir)));
    runs
}

/// The run folder `arg` names for the dataset in `dataset_dir`: `arg` itself when it is a
/// folder, else the dataset's run of that id (`<dataset>/.mask-curator/runs/<arg>`), as
/// the app and `train` name runs. The error says what was looked for and which runs the
/// dataset has.
pub fn resolve_run_dir(dataset_dir: &Path, arg: &Path) -> Result<PathBuf, String> {
    if arg.is_dir() {
        return Ok(arg.to_path_buf());
    }
    let runs_dir = crate::workspace::Workspace::for_dataset(dataset_dir).runs_dir();
    let by_id = runs_dir.join(arg);
    if arg.components().count() == 1 && by_id.is_dir() {
        return Ok(by_id);
    }
    // Folder names start with their creation stamp: by name, newest first.
    let mut ids: Vec<String> = std::fs::read_dir(&runs_dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().join("run.json").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    ids.sort_unstable_by(|a, b| b.cmp(a));
    let known = if ids.is_empty() {
        format!("{} has no runs", runs_dir.display())
    } else {
        format!("runs of this dataset, newest first: {}", ids.join(", "))
    };
    Err(format!(
        "{}: no such run folder, nor a run of that id in {} ({known})",
        arg.display(),
        runs_dir.display()
    ))
}

/// The one order of runs, newest first: the later `created` time of `run.json`, then the
/// later folder name (folder names start with their creation stamp).
pub fn newest_first(a: (&str, &Path), b: (&str, &Path)) -> std::cmp::Ordering {
    (b.0, b.1.file_name()).cmp(&(a.0, a.1.file_name()))
}

/// The fields of `run.json` every front end reads, tolerant of run folders written by
/// other tools or older versions (any field may be missing).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct RunHeader {
    pub id: Option<String>,
    pub status: Option<String>,
    pub created: String,
    pub summary: Option<RunHeaderSummary>,
    pub config: Option<RunHeaderConfig>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct RunHeaderSummary {
    pub oof_macro_f1: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct RunHeaderConfig {
    pub backbone: Option<String>,
}

impl RunDir {
    /// `run.json`'s common fields: `Ok(None)` when the folder has none, `Err` when it is
    /// not JSON of that shape.
    pub fn read_header(&self) -> Result<Option<RunHeader>, RunError> {
        let path = self.run_json();
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| bad(&path, e.to_string())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(&path)(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_is_named_by_its_folder_or_by_its_id() {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        let runs = crate::workspace::Workspace::for_dataset(&data).runs_dir();
        let run = runs.join("20261207-1200-small_cnn");
        std::fs::create_dir_all(&run).unwrap();
        std::fs::write(
            run.join("run.json"),
            r#"{"created":"2026-12-07T12:00:00Z"}"#,
        )
        .unwrap();
        assert_eq!(resolve_run_dir(&data, &run).unwrap(), run);
        assert_eq!(
            resolve_run_dir(&data, Path::new("20261207-1200-small_cnn")).unwrap(),
            run
        );
        let err = resolve_run_dir(&data, Path::new("20261207-1200-small")).unwrap_err();
        assert!(
            err.starts_with("20261207-1200-small: no such run folder"),
            "{err}"
        );
        assert!(
            err.ends_with("newest first: 20261207-1200-small_cnn)"),
            "{err}"
        );
        // A path of several parts is a folder or nothing: no guessing inside the runs.
        let err = resolve_run_dir(&data, Path::new("x/20261207-1200-small_cnn")).unwrap_err();
        assert!(err.contains("no such run folder"), "{err}");
        let err = resolve_run_dir(&tmp.path().join("empty"), Path::new("r1")).unwrap_err();
        assert!(err.contains("has no runs"), "{err}");
    }

    fn fold_files(run: &RunDir, fold: usize, rows: &[usize]) {
        let probs: Vec<f32> = rows
            .iter()
            .flat_map(|&r| {
                (0..NUM_CLASSES).map(move |c| {
                    if c == r % NUM_CLASSES {
                        0.9
                    } else {
                        0.1 / 17.0
                    }
                })
            })
            .collect();
        npy::write(
            &run.val_probs(fold),
            &Matrix::new(rows.len(), NUM_CLASSES, probs),
        )
        .unwrap();
        let index: Vec<IndexRow> = rows
            .iter()
            .map(|&r| IndexRow {
                row: r,
                path: format!("p{r}.jpg"),
                person: format!("person{}", r / 7),
                fold,
                label: Some(r % NUM_CLASSES),
                age: Some(20 + r as u32),
            })
            .collect();
        write_index(&run.val_index(fold), &index).unwrap();
    }

    #[test]
    fn assembly_puts_each_photo_in_its_row_once() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::new(dir.path());
        fold_files(&run, 0, &[3, 0, 4]);
        fold_files(&run, 1, &[1, 2]);
        let summary = assemble_oof(&run, 2, 5).unwrap();
        assert_eq!(summary.oof_accuracy, 1.0);
        let index = read_index(&run.oof_index()).unwrap();
        assert_eq!(
            index.iter().map(|r| r.row).collect::<Vec<_>>(),
            vec![0, 1, 2, 3, 4]
        );
        assert_eq!(index[3].fold, 0);
        assert_eq!(index[2].fold, 1);
        let header = std::fs::read_to_string(run.oof_index()).unwrap();
        assert!(header.starts_with("row,path,person,fold\n"), "{header}");
        let m = npy::read(&run.oof_probs()).unwrap();
        assert_eq!((m.rows, m.cols), (5, NUM_CLASSES));
        assert!((m.row(4)[4] - 0.9).abs() < 1e-6);
    }

    #[test]
    fn age_predictions_are_assembled_in_oof_index_order_and_scored() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::new(dir.path());
        fold_files(&run, 0, &[3, 0, 4]);
        fold_files(&run, 1, &[1, 2]);
        // No fold predicted age (an older run): no oof_age.npy, no age summary.
        assert_eq!(assemble_oof(&run, 2, 5).unwrap().age, None);
        assert!(!run.oof_age().exists());
        // Fold 0 predicts each photo's age (20 + row) + 1 with spread 2; fold 1 is 4 off.
        let age0 = [23.0 + 1.0, 2.0, 20.0 + 1.0, 2.0, 24.0 + 1.0, 2.0];
        npy::write(&run.val_age(0), &Matrix::new(3, 2, age0.to_vec())).unwrap();
        assert!(assemble_oof(&run, 2, 5)
            .unwrap_err()
            .to_string()
            .contains("val_age_fold1.npy"));
        let age1 = [21.0 - 4.0, 2.0, 22.0 - 4.0, 2.0];
        npy::write(&run.val_age(1), &Matrix::new(2, 2, age1.to_vec())).unwrap();
        let s = assemble_oof(&run, 2, 5).unwrap().age.unwrap();
        assert!(
            (s.mae_years - (3.0 * 1.0 + 2.0 * 4.0) / 5.0).abs() < 1e-9,
            "{s:?}"
        );
        assert!((s.within_one_spread - 0.6).abs() < 1e-9, "{s:?}");
        assert_eq!(s.median_spread_years, 2.0);
        // Ages 20..24: the median 22 is off by 2, 1, 0, 1, 2.
        assert!((s.baseline_mae_years - 1.2).abs() < 1e-9, "{s:?}");
        let m = npy::read(&run.oof_age()).unwrap();
        assert_eq!((m.rows, m.cols), (5, 2));
        assert_eq!(m.row(0), &[21.0, 2.0]);
        assert_eq!(m.row(1), &[17.0, 2.0]);
        assert_eq!(m.row(4), &[25.0, 2.0]);
        // The public index keeps its columns: no labels, no ages.
        let header = std::fs::read_to_string(run.oof_index()).unwrap();
        assert!(header.starts_with("row,path,person,fold\n"), "{header}");
    }

    #[test]
    fn assembly_rejects_missing_and_duplicated_photos() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::new(dir.path());
        fold_files(&run, 0, &[0, 1]);
        fold_files(&run, 1, &[1, 2]);
        assert!(assemble_oof(&run, 2, 3)
            .unwrap_err()
            .to_string()
            .contains("two folds"));
        fold_files(&run, 1, &[2]);
        assert!(assemble_oof(&run, 2, 4)
            .unwrap_err()
            .to_string()
            .contains("row 3"));
        assert!(assemble_oof(&run, 3, 3)
            .unwrap_err()
            .to_string()
            .contains("--fold 2"));
    }
}
