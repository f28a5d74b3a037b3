//! A stand-in for a trained model, so issue detection can be measured at any scale in
//! seconds: for a scanned dataset it picks which given labels are "wrong" (the real noise
//! kinds, recorded in a noise manifest), then writes what a k-fold run would: out-of-fold
//! 18-class probabilities, predicted ages in years with their spread, the index and the
//! split. Pure and seeded: the same dataset, configuration and seed give the same bytes.
//!
//! The given labels are never changed: injected noise is virtual. The simulator decides
//! the *true* labels (given ones, except for the injected errors) and the model's outputs
//! follow the true labels, exactly as a model trained out of fold would see a mislabelled
//! person. So it works on any dataset folder, including a placeholder tree of the real
//! layout ([`crate::demo::placeholder`]).
//!
//! The error model ([`Strength`]): each field's per-photo evidence is a Gaussian score
//! whose variance is split between a part shared by all of a person's photos (the model
//! is wrong about whole identities) and a per-photo part; its mean is set so the per-photo
//! accuracy matches the requested one. Age is predicted in years: the true age, pulled
//! toward the middle (regression to the mean), plus person and photo errors that grow with
//! age; its scale is solved so the bin accuracy matches. The bin probabilities come from
//! the same predicted years, so a model that reads 56 as 61 also says `>= 60`.

mod inject;
mod model;

pub use inject::{inject_noise, NoiseRates, Truth};
pub use model::Strength;

use crate::dataset::{Dataset, Slot};
use crate::demo::noise::{to_csv, NoiseEntry};
use crate::ml::run::{write_index, write_split, IndexRow, RunDir};
use serde::Serialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    pub strength: Strength,
    pub noise: NoiseRates,
    pub seed: u64,
    pub folds: usize,
}

/// Per-photo accuracy against the true labels and age error, as simulated.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Measured {
    pub photos: usize,
    pub people: usize,
    pub mask_accuracy: f64,
    pub gender_accuracy: f64,
    pub age_bin_accuracy: f64,
    /// Mean absolute error of the per-photo predicted years (capped at 60) vs the true age.
    pub age_mae_years: f64,
    /// People with at least one injected label error.
    pub wrong_people: usize,
}

/// A simulated run, rows in `Dataset::photo_refs()` order.
#[derive(Debug, Clone, PartialEq)]
pub struct Simulation {
    pub manifest: Vec<NoiseEntry>,
    /// N x 18.
    pub probs: Vec<f32>,
    /// N x 2: predicted years, spread (standard deviation, years).
    pub age: Vec<f32>,
    pub index: Vec<IndexRow>,
    /// (person folder, fold).
    pub split: Vec<(String, usize)>,
    pub measured: Measured,
}

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("the dataset has no training photos to simulate a model on")]
    Empty,
    #[error("{path}: {reason}")]
    Write { path: PathBuf, reason: String },
}

/// Simulates a k-fold run of a model of the given strength on `dataset`, with the noise of
/// `cfg.noise` injected (virtually) into its given labels.
pub fn simulate(dataset: &Dataset, cfg: &SimConfig) -> Result<Simulation, SimError> {
    if dataset.photo_count() == 0 {
        return Err(SimError::Empty);
    }
    let (truth, manifest) = inject_noise(dataset, &cfg.noise, cfg.seed);
    let strata: Vec<_> = dataset
        .people
        .iter()
        .map(|p| (p.gender, p.age_bin()))
        .collect();
    let folds = crate::ml::split::person_folds(&strata, cfg.folds.max(2), cfg.seed);
    let true_ages: Vec<u32> = truth.iter().map(|t| t.age).collect();
    let model = model::Model::new(&cfg.strength, &true_ages);

    let mut probs = Vec::with_capacity(dataset.photo_count() * 18);
    let mut age = Vec::with_capacity(dataset.photo_count() * 2);
    let mut index = Vec::with_capacity(dataset.photo_count());
    let (mut mask_ok, mut gender_ok, mut age_ok, mut abs_err) = (0usize, 0usize, 0usize, 0f64);
    for (p, person) in dataset.people.iter().enumerate() {
        let t = &truth[p];
        let mut person_model = model.person(cfg.seed, p as u64, t.age);
        for photo in person.photos.iter().flatten() {
            let true_mask = t.mask_of(photo.slot);
            let out = person_model.photo(true_mask, t.gender);
            let best = |v: &[f32]| (0..v.len()).fold(0, |b, j| if v[j] > v[b] { j } else { b });
            mask_ok += usize::from(best(&out.mask) == true_mask.index());
            gender_ok += usize::from(best(&out.gender) == t.gender.index());
            age_ok += usize::from(
                best(&out.age_bins) == crate::dataset::AgeBin::from_years(t.age).index(),
            );
            abs_err += (out.years.min(60.0) as f64 - t.age as f64).abs();
            probs.extend_from_slice(&out.joint18());
            age.extend_from_slice(&[out.years, out.spread]);
            index.push(IndexRow {
                row: index.len(),
                path: photo.rel_path.to_string_lossy().replace('\\', "/"),
                person: person.folder.clone(),
                fold: folds[p],
                label: None,
                age: None,
            });
        }
    }
    let n = index.len() as f64;
    let wrong_people = truth.iter().filter(|t| t.wrong).count();
    let measured = Measured {
        photos: index.len(),
        people: dataset.people.len(),
        mask_accuracy: mask_ok as f64 / n,
        gender_accuracy: gender_ok as f64 / n,
        age_bin_accuracy: age_ok as f64 / n,
        age_mae_years: abs_err / n,
        wrong_people,
    };
    let split = dataset
        .people
        .iter()
        .zip(&folds)
        .map(|(p, &f)| (p.folder.clone(), f))
        .collect();
    Ok(Simulation {
        manifest,
        probs,
        age,
        index,
        split,
        measured,
    })
}

/// Writes the run folder: `oof_probs.npy`, `oof_index.csv`, `split.csv`, `noise.csv`,
/// `simulation.json`, and `oof_age.npy` unless `with_age` is false (a run from a model
/// without an age head).
pub fn write_run(
    sim: &Simulation,
    cfg: &SimConfig,
    dir: &Path,
    with_age: bool,
) -> Result<(), SimError> {
    let fail = |path: &Path, reason: String| SimError::Write {
        path: path.to_path_buf(),
        reason,
    };
    std::fs::create_dir_all(dir).map_err(|e| fail(dir, e.to_string()))?;
    let run = RunDir::new(dir);
    let rows = sim.index.len();
    crate::arrays::write_npy(&run.oof_probs(), &[rows, 18], &sim.probs)
        .map_err(|e| fail(&run.oof_probs(), e.to_string()))?;
    let age_path = run.oof_age();
    if with_age {
        crate::arrays::write_npy(&age_path, &[rows, 2], &sim.age)
            .map_err(|e| fail(&age_path, e.to_string()))?;
    } else if age_path.exists() {
        std::fs::remove_file(&age_path).map_err(|e| fail(&age_path, e.to_string()))?;
    }
    write_index(&run.oof_index(), &sim.index).map_err(|e| fail(&run.oof_index(), e.to_string()))?;
    write_split(&run.split_csv(), &sim.split).map_err(|e| fail(&run.split_csv(), e.to_string()))?;
    let noise = dir.join("noise.csv");
    crate::workspace::write_atomic(&noise, &to_csv(&sim.manifest))
        .map_err(|e| fail(&noise, e.to_string()))?;
    let info = serde_json::json!({
        "simulated": true,
        "seed": cfg.seed,
        "folds": cfg.folds,
        "strength": cfg.strength,
        "noise": cfg.noise,
        "with_age": with_age,
        "measured": sim.measured,
    });
    let info_path = crate::ml::run::RunDir::new(dir).simulation_json();
    let text = serde_json::to_string_pretty(&info).map_err(|e| fail(&info_path, e.to_string()))?;
    crate::workspace::write_atomic(&info_path, text.as_bytes())
        .map_err(|e| fail(&info_path, e.to_string()))?;
    Ok(())
}

impl Truth {
    /// The mask the photo in `slot` really shows.
    pub fn mask_of(&self, slot: Slot) -> crate::dataset::Mask {
        match (self.swapped, slot) {
            (true, Slot::Incorrect) => Slot::Normal.mask(),
            (true, Slot::Normal) => Slot::Incorrect.mask(),
            _ => slot.mask(),
        }
    }
}
