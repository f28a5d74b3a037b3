//! Ensemble inference on the eval set: each fold model's eval probabilities are saved in
//! its run folder (and reused, so re-ensembling never recomputes), then soft-voted across
//! folds and runs, uniformly or weighted by each fold's validation macro F1.

use super::ensemble;
use super::loader::{Item, Loader};
use super::model::Net;
use super::npy::{self, Matrix};
use super::run::{RunDir, RunStatus};
use super::train::predict_rows;
use super::{catch_torch, MlError};
use crate::dataset::{Dataset, NUM_CLASSES};
use crate::metrics::{self, ClassMetrics};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use tch::Device;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Weighting {
    /// Every fold model counts the same.
    #[default]
    Uniform,
    /// Each fold model weighted by its validation macro F1.
    F1,
}

/// One fold model of the ensemble.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Member {
    pub run: PathBuf,
    pub fold: usize,
    pub weight: f64,
    pub val_macro_f1: Option<f64>,
    /// Whether the probabilities came from disk.
    pub reused: bool,
}

/// Scores against `eval/gt.csv` (demo data).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvalScores {
    pub metrics: ClassMetrics,
    pub f1_mask: f64,
    pub f1_gender: f64,
    pub f1_age: f64,
}

#[derive(Debug, Clone)]
pub struct EnsembleResult {
    pub probs: Matrix,
    pub classes: Vec<usize>,
    pub members: Vec<Member>,
    pub scores: Option<EvalScores>,
}

/// Eval probabilities of one fold model, from disk when saved, else computed and saved.
pub fn fold_eval_probs(
    run: &RunDir,
    fold: usize,
    dataset: &Dataset,
    device: Device,
    tta: bool,
) -> Result<(Matrix, bool), MlError> {
    let eval = dataset
        .eval
        .as_ref()
        .ok_or_else(|| MlError::Data(format!("{}: no eval/info.csv", dataset.root.display())))?;
    let path = run.eval_probs(fold, tta);
    if path.exists() {
        let m = npy::read(&path).map_err(MlError::Data)?;
        if m.rows == eval.image_ids.len() && m.cols == NUM_CLASSES {
            return Ok((m, true));
        }
        // Saved for a different info.csv: recompute.
    }
    let photos: Vec<PathBuf> = eval
        .image_ids
        .iter()
        .map(|id| dataset.root.join("eval").join("images").join(id))
        .collect();
    let m = predict_photos(run, fold, &photos, device, tta)?;
    npy::write(&path, &m).map_err(|e| MlError::Io(format!("{}: {e}", path.display())))?;
    Ok((m, false))
}

/// Probabilities of photos with one saved fold model: the eval set, or any photos (a test
/// checks that a reloaded checkpoint reproduces its outputs).
pub fn predict_photos(
    run: &RunDir,
    fold: usize,
    photos: &[PathBuf],
    device: Device,
    tta: bool,
) -> Result<Matrix, MlError> {
    let config = run.read_config()?;
    let loader = Loader::new(
        photos
            .iter()
            .map(|p| Item {
                path: p.clone(),
                label: 0,
            })
            .collect(),
        config.crop,
        config.image_size,
        config.workers,
        config.prefetch,
    );
    let rows: Vec<usize> = (0..photos.len()).collect();
    let probs = catch_torch(|| {
        let mut net = Net::new(&config, device)?;
        net.load(&run.weights(fold))?;
        let (w, h) = (
            i64::from(config.image_size.width),
            i64::from(config.image_size.height),
        );
        predict_rows(
            &net,
            &loader,
            &rows,
            config.batch_size,
            device,
            tta,
            w,
            h,
            &AtomicBool::new(false),
        )
    })?
    .ok_or_else(|| MlError::Data("cancelled".into()))?;
    Ok(Matrix::new(rows.len(), NUM_CLASSES, probs))
}

/// Soft-votes every finished fold model of `runs` on the eval set. `progress` gets a line
/// per fold model.
pub fn ensemble(
    dataset: &Dataset,
    runs: &[PathBuf],
    tta: bool,
    weighting: Weighting,
    device: Device,
    progress: &dyn Fn(&str),
) -> Result<EnsembleResult, MlError> {
    let mut members = Vec::new();
    let mut matrices = Vec::new();
    for dir in runs {
        let run = RunDir::new(dir);
        let info = run.read_info()?;
        let folds = run.fold_summaries(info.config.folds)?;
        let finished: Vec<_> = folds
            .iter()
            .filter(|f| f.status == RunStatus::Finished && run.weights(f.fold).exists())
            .collect();
        if finished.is_empty() {
            return Err(MlError::Config(format!(
                "{}: no finished fold model (status {})",
                dir.display(),
                info.status.name()
            )));
        }
        for f in finished {
            let (m, reused) = fold_eval_probs(&run, f.fold, dataset, device, tta)?;
            let val_f1 = f.last.as_ref().map(|r| r.macro_f1);
            let weight = match weighting {
                Weighting::Uniform => 1.0,
                Weighting::F1 => val_f1.unwrap_or(0.0),
            };
            progress(&format!(
                "{} fold {}: {} (weight {weight:.4})",
                run.id(),
                f.fold,
                if reused {
                    "saved probabilities"
                } else {
                    "computed and saved"
                }
            ));
            members.push(Member {
                run: dir.clone(),
                fold: f.fold,
                weight,
                val_macro_f1: val_f1,
                reused,
            });
            matrices.push(m);
        }
    }
    let weighted: Vec<(f64, &Matrix)> = members
        .iter()
        .map(|m| m.weight)
        .zip(matrices.iter())
        .collect();
    let probs = ensemble::soft_vote(&weighted).map_err(MlError::Data)?;
    let classes = metrics::argmax_rows(&probs.data, NUM_CLASSES);
    let scores = dataset
        .eval
        .as_ref()
        .and_then(|e| e.ground_truth.as_ref())
        .map(|gt| {
            let truth: Vec<usize> = gt.iter().map(|c| c.index()).collect();
            let (m, fields) = super::run::score(&truth, &classes);
            EvalScores {
                metrics: m,
                f1_mask: fields[0],
                f1_gender: fields[1],
                f1_age: fields[2],
            }
        });
    Ok(EnsembleResult {
        probs,
        classes,
        members,
        scores,
    })
}
