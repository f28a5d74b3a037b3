//! Which given labels the simulation treats as wrong, and the manifest that says so.
//!
//! The real noise kinds (docs: the domain's known label errors): single gender flips, a run
//! of consecutive flipped people, gross age errors (the true age in another bin, at least
//! [`GROSS_MIN_YEARS`] away), boundary age errors (29 vs 30, 59 vs 60), swapped
//! incorrect_mask / normal files. Each person carries at most one error.

use crate::dataset::{AgeBin, Dataset, Gender, Slot};
use crate::demo::noise::{NoiseEntry, NoiseKind};
use crate::demo::rng::Rng;
use serde::Serialize;

/// Fractions of people given each kind of error.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NoiseRates {
    pub gender_flip: f64,
    /// Length of the run of consecutive people with flipped gender (0 for none).
    pub flip_run: usize,
    pub age_gross: f64,
    pub age_boundary: f64,
    pub mask_swap: f64,
}

impl Default for NoiseRates {
    /// The rates of issue 11's measurement: 2% gender flips, a run of 6, 1% gross and 1%
    /// boundary age errors, 0.5% swapped pairs.
    fn default() -> Self {
        NoiseRates {
            gender_flip: 0.02,
            flip_run: 6,
            age_gross: 0.01,
            age_boundary: 0.01,
            mask_swap: 0.005,
        }
    }
}

/// A gross age error puts the true age at least this many years from the given one.
pub const GROSS_MIN_YEARS: u32 = 15;

/// The true labels of one person.
#[derive(Debug, Clone, PartialEq)]
pub struct Truth {
    pub gender: Gender,
    /// Years, 18..=60 like the real labels.
    pub age: u32,
    /// incorrect_mask and normal files swapped.
    pub swapped: bool,
    /// Any label of this person is wrong.
    pub wrong: bool,
}

/// Picks the wrong labels: returns the true labels per person (`Dataset::people` order)
/// and the manifest (`path,field,true_value,given_value,kind`, as demo datasets write).
pub fn inject_noise(
    dataset: &Dataset,
    rates: &NoiseRates,
    seed: u64,
) -> (Vec<Truth>, Vec<NoiseEntry>) {
    let n = dataset.people.len();
    let mut truth: Vec<Truth> = dataset
        .people
        .iter()
        .map(|p| Truth {
            gender: p.gender,
            age: p.age,
            swapped: false,
            wrong: false,
        })
        .collect();
    let mut rng = Rng::derive(seed, 0x6e6f_6973, 0);
    let mut taken = vec![false; n];
    let count = |rate: f64| (rate * n as f64).round() as usize;

    // A run of consecutive people (train.csv order), like the real 006359..006364.
    let mut run = Vec::new();
    if rates.flip_run > 0 && n > rates.flip_run {
        let start = rng.below((n - rates.flip_run) as u32) as usize;
        run = (start..start + rates.flip_run).collect();
        for &i in &run {
            taken[i] = true;
        }
    }
    let pick = |rng: &mut Rng, taken: &mut [bool], ok: &dyn Fn(usize) -> bool| {
        let free: Vec<usize> = (0..n).filter(|&i| !taken[i] && ok(i)).collect();
        if free.is_empty() {
            return None;
        }
        let i = free[rng.below(free.len() as u32) as usize];
        taken[i] = true;
        Some(i)
    };
    let flips: Vec<usize> = (0..count(rates.gender_flip))
        .filter_map(|_| pick(&mut rng, &mut taken, &|_| true))
        .collect();
    let gross: Vec<usize> = (0..count(rates.age_gross))
        .filter_map(|_| pick(&mut rng, &mut taken, &|_| true))
        .collect();
    let near = |lo: u32, hi: u32| move |i: usize| (lo..=hi).contains(&dataset.people[i].age);
    let boundary: Vec<usize> = (0..count(rates.age_boundary))
        .filter_map(|k| {
            // Alternate the old boundary (58..60) and the young one (28..31).
            let (a, b) = if k % 2 == 0 {
                ((58, 60), (28, 31))
            } else {
                ((28, 31), (58, 60))
            };
            pick(&mut rng, &mut taken, &near(a.0, a.1))
                .or_else(|| pick(&mut rng, &mut taken, &near(b.0, b.1)))
        })
        .collect();
    let swaps: Vec<usize> = (0..count(rates.mask_swap))
        .filter_map(|_| {
            pick(&mut rng, &mut taken, &|i| {
                let ph = &dataset.people[i].photos;
                ph[Slot::Incorrect.index()].is_some() && ph[Slot::Normal.index()].is_some()
            })
        })
        .collect();

    for &i in run.iter().chain(&flips) {
        truth[i].gender = truth[i].gender.flipped();
    }
    for &i in &gross {
        let given = dataset.people[i].age;
        let options: Vec<u32> = (18u32..=60)
            .filter(|&t| {
                t.abs_diff(given) >= GROSS_MIN_YEARS
                    && AgeBin::from_years(t) != AgeBin::from_years(given)
            })
            .collect();
        if !options.is_empty() {
            truth[i].age = options[rng.below(options.len() as u32) as usize];
        }
    }
    for &i in &boundary {
        truth[i].age = match dataset.people[i].age {
            58 | 59 => 60,
            60 => 58 + rng.below(2),
            28 | 29 => 30 + rng.below(2),
            30 | 31 => 28 + rng.below(2),
            a => a,
        };
    }
    for &i in &swaps {
        truth[i].swapped = true;
    }

    let mut manifest = Vec::new();
    for (i, (person, t)) in dataset.people.iter().zip(truth.iter_mut()).enumerate() {
        let path = format!("train/images/{}", person.folder);
        if t.gender != person.gender {
            let kind = if run.contains(&i) {
                NoiseKind::GenderFlipRun
            } else {
                NoiseKind::GenderFlip
            };
            manifest.push(NoiseEntry::new(
                path.clone(),
                "gender",
                t.gender.name(),
                person.gender.name(),
                kind,
            ));
        }
        if t.age != person.age {
            let kind = if gross.contains(&i) {
                NoiseKind::AgeGross
            } else {
                NoiseKind::AgeBoundary
            };
            manifest.push(NoiseEntry::new(
                path.clone(),
                "age",
                &t.age.to_string(),
                &person.age.to_string(),
                kind,
            ));
        }
        if t.swapped {
            for slot in [Slot::Incorrect, Slot::Normal] {
                if let Some(photo) = &person.photos[slot.index()] {
                    let shown = t.mask_of(slot);
                    manifest.push(NoiseEntry::new(
                        photo.rel_path.to_string_lossy().replace('\\', "/"),
                        "mask",
                        shown.name(),
                        slot.mask().name(),
                        NoiseKind::MaskSwap,
                    ));
                }
            }
        }
        t.wrong = t.gender != person.gender || t.age != person.age || t.swapped;
    }
    (truth, manifest)
}
