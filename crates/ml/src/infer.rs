//! Ensemble inference on the eval set: each fold model's eval probabilities are saved in
//! its run folder (and reused, so re-ensembling never recomputes), then soft-voted across
//! folds and runs, uniformly or weighted by each fold's validation macro F1. Fold models
//! with an age head also save and vote their predicted years (`eval_age_fold<k>.npy`).

use crate::model::Net;
use crate::train::{predict_rows, Predictions};
use crate::{catch_torch, MlError};
use mask_curator::dataset::{Dataset, NUM_CLASSES};
use mask_curator::metrics::{self, ClassMetrics};
use mask_curator::ml::config::AgeLoss;
use mask_curator::ml::ensemble;
pub use mask_curator::ml::ensemble::Weighting;
use mask_curator::ml::loader::{Item, LoadError, Loader};
use mask_curator::ml::npy::{self, Matrix};
use mask_curator::ml::run::{RunDir, RunStatus};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use tch::Device;

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
    /// Eval rows x 2 (predicted years, spread), when every fold model has an age head.
    pub age: Option<Matrix>,
    /// Runs whose models predict no age (made before the age head): no age column then.
    pub runs_without_age: Vec<PathBuf>,
    pub members: Vec<Member>,
    pub scores: Option<EvalScores>,
}

/// One fold model's eval outputs.
#[derive(Debug, Clone)]
pub struct FoldEval {
    pub probs: Matrix,
    /// Eval rows x 2, when the model has an age head.
    pub age: Option<Matrix>,
    /// Whether they came from disk.
    pub reused: bool,
    /// Eval photos that cannot be decoded, predicted from a blank photo instead.
    pub blank: Vec<LoadError>,
}

/// Eval outputs of one fold model, from disk when saved, else computed and saved.
pub fn fold_eval_probs(
    run: &RunDir,
    fold: usize,
    dataset: &Dataset,
    device: Device,
    tta: bool,
) -> Result<FoldEval, MlError> {
    let eval = dataset
        .eval
        .as_ref()
        .ok_or_else(|| MlError::Data(format!("{}: no eval/info.csv", dataset.root.display())))?;
    let rows = eval.image_ids.len();
    let with_age = run.read_config()?.age_loss != AgeLoss::None;
    let (path, age_path) = (run.eval_probs(fold, tta), run.eval_age(fold, tta));
    let saved = |p: &PathBuf, cols: usize| {
        npy::read(p)
            .ok()
            .filter(|m| m.rows == rows && m.cols == cols)
    };
    // Files saved for a different info.csv (other rows) are recomputed.
    if let Some(probs) = saved(&path, NUM_CLASSES) {
        let age = saved(&age_path, 2);
        if age.is_some() || !with_age {
            return Ok(FoldEval {
                probs,
                age,
                reused: true,
                blank: Vec::new(),
            });
        }
    }
    let photos: Vec<PathBuf> = eval
        .image_ids
        .iter()
        .map(|id| dataset.root.join("eval").join("images").join(id))
        .collect();
    let (probs, age, blank) = predict_photo_outputs(run, fold, &photos, device, tta)?;
    let write = |p: &PathBuf, m: &Matrix| {
        npy::write(p, m).map_err(|e| MlError::Io(format!("{}: {e}", p.display())))
    };
    write(&path, &probs)?;
    if let Some(age) = &age {
        write(&age_path, age)?;
    }
    Ok(FoldEval {
        probs,
        age,
        reused: false,
        blank,
    })
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
    Ok(predict_photo_outputs(run, fold, photos, device, tta)?.0)
}

/// Probabilities (photos x 18) and, when the model has an age head, ages (photos x 2) of
/// photos with one saved fold model, and the photos that could not be decoded (each still
/// has a row: what the model says of a blank photo).
pub fn predict_photo_outputs(
    run: &RunDir,
    fold: usize,
    photos: &[PathBuf],
    device: Device,
    tta: bool,
) -> Result<(Matrix, Option<Matrix>, Vec<LoadError>), MlError> {
    let config = run.read_config()?;
    let loader = Loader::for_recipe(
        photos
            .iter()
            .map(|p| Item {
                path: p.clone(),
                label: 0,
            })
            .collect(),
        &config,
    );
    let blank = loader
        .prepare_all(&AtomicBool::new(false), &|_, _| {})
        .unwrap_or_default();
    for (i, _) in &blank {
        loader.use_blank(*i);
    }
    let blank = blank.into_iter().map(|(_, e)| e).collect();
    let rows: Vec<usize> = (0..photos.len()).collect();
    let Predictions { probs, age } = catch_torch(|| {
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
    Ok((
        Matrix::new(rows.len(), NUM_CLASSES, probs),
        age.map(|a| Matrix::new(rows.len(), 2, a)),
        blank,
    ))
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
    let mut ages = Vec::new();
    let mut runs_without_age = Vec::new();
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
            let FoldEval {
                probs: m,
                age,
                reused,
                blank,
            } = fold_eval_probs(&run, f.fold, dataset, device, tta)?;
            if let Some(first) = blank.first() {
                progress(&format!(
                    "{} fold {}: {} eval photo(s) cannot be decoded and were predicted from a blank photo ({first}{})",
                    run.id(),
                    f.fold,
                    blank.len(),
                    if blank.len() > 1 { ", …" } else { "" }
                ));
            }
            match age {
                Some(a) => ages.push(a),
                None if !runs_without_age.contains(dir) => runs_without_age.push(dir.clone()),
                None => {}
            }
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
    let probs = ensemble::soft_vote(&weighted).map_err(|e| MlError::Data(e.to_string()))?;
    // Ages are voted only when every model predicts them (weights as for the classes).
    let age = if runs_without_age.is_empty() {
        let weighted: Vec<(f64, &Matrix)> =
            members.iter().map(|m| m.weight).zip(ages.iter()).collect();
        Some(ensemble::vote_ages(&weighted).map_err(|e| MlError::Data(e.to_string()))?)
    } else {
        None
    };
    let classes = metrics::argmax_rows(&probs.data, NUM_CLASSES);
    let scores = dataset
        .eval
        .as_ref()
        .and_then(|e| e.ground_truth.as_ref())
        .map(|gt| {
            let truth: Vec<usize> = gt.iter().map(|c| c.index()).collect();
            let (m, fields) = mask_curator::ml::run::score(&truth, &classes);
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
        age,
        runs_without_age,
        members,
        scores,
    })
}
