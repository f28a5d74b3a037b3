//! Who is in the demo dataset, what their labels truly are and what the files say, which
//! quirks of the real layout they carry, and which label errors were injected. Pure and
//! cheap: rendering happens afterwards from this plan.

use super::noise::{NoiseEntry, NoiseKind};
use super::portrait::MaskFit;
use super::rng::Rng;
use super::DemoConfig;
use crate::dataset::{AgeBin, FolderName, Gender, Mask, Slot};

/// People per age 18..=60 in the real train set (female, male): the demo samples from it.
const REAL_AGES_FEMALE: [u32; 43] = [
    151, 200, 187, 14, 21, 32, 31, 47, 17, 9, 13, 10, 7, 1, 4, 2, 11, 12, 7, 1, 9, 6, 15, 0, 11,
    10, 12, 20, 9, 9, 28, 25, 60, 44, 49, 47, 58, 67, 76, 69, 109, 39, 109,
];
const REAL_AGES_MALE: [u32; 43] = [
    41, 207, 80, 27, 37, 40, 31, 35, 27, 6, 12, 6, 10, 2, 3, 3, 2, 7, 1, 2, 5, 0, 5, 7, 2, 8, 1, 7,
    5, 1, 11, 6, 20, 19, 29, 17, 24, 33, 47, 37, 50, 46, 83,
];
const MIN_AGE: u32 = 18;

pub const RACE: &str = "Asian";

/// A photo file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ext {
    Jpg,
    Jpeg,
    Png,
}

impl Ext {
    pub fn as_str(self) -> &'static str {
        match self {
            Ext::Jpg => "jpg",
            Ext::Jpeg => "jpeg",
            Ext::Png => "png",
        }
    }
}

/// One training person.
#[derive(Debug, Clone)]
pub struct PlannedPerson {
    pub id: String,
    pub true_gender: Gender,
    pub true_age: u32,
    /// What train.csv and the folder name say.
    pub given_gender: Gender,
    pub given_age: u32,
    /// Seed of the look; shared by two people only for the duplicated identity.
    pub identity_seed: u64,
    pub exts: [Ext; 7],
    /// PNGs saved with an alpha channel.
    pub rgba: bool,
    /// `shown[file slot]` is the slot whose picture the file holds (differs for swaps).
    pub shown: [Slot; 7],
    pub incorrect_fit: MaskFit,
}

impl PlannedPerson {
    pub fn folder(&self) -> String {
        FolderName::format(&self.id, self.given_gender, RACE, self.given_age)
    }
    pub fn file_name(&self, slot: Slot) -> String {
        format!("{}.{}", slot.stem(), self.exts[slot.index()].as_str())
    }
    pub fn rel_path(&self, slot: Slot) -> String {
        format!("train/images/{}/{}", self.folder(), self.file_name(slot))
    }
}

/// One synthetic eval person (their photos are spread over eval/images).
#[derive(Debug, Clone)]
pub struct PlannedEvalPerson {
    pub identity_seed: u64,
    pub gender: Gender,
    pub age: u32,
    pub incorrect_fit: MaskFit,
    /// `<40 hex>.jpg` per slot.
    pub image_ids: [String; 7],
}

impl PlannedEvalPerson {
    pub fn class_of(&self, slot: Slot) -> crate::dataset::ClassCode {
        crate::dataset::ClassCode::new(slot.mask(), self.gender, AgeBin::from_years(self.age))
    }
}

/// The whole demo dataset before rendering.
#[derive(Debug, Clone)]
pub struct DemoPlan {
    pub train: Vec<PlannedPerson>,
    pub eval: Vec<PlannedEvalPerson>,
    /// info.csv order: (eval person, slot).
    pub eval_order: Vec<(usize, Slot)>,
    pub noise: Vec<NoiseEntry>,
    /// macOS `._*` files to add (paths relative to the root).
    pub junk: Vec<String>,
    /// Photos spoiled on purpose, so the demo shows what the photo checks find.
    pub photo_defects: Vec<PlannedDefect>,
}

/// A photo spoiled on purpose. None of them makes a label wrong: a copied file keeps its
/// mask label, and a photo filed again goes to a person of the same gender and age bin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlannedDefect {
    pub person: usize,
    pub slot: Slot,
    pub kind: DefectKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefectKind {
    /// Shot in the dark: every channel at 15%.
    Dark,
    /// Washed out by the flash: 95% of the way to white.
    Overexposed,
    /// Saved without colour (still an RGB file).
    Grayscale,
    /// The same person's file of another slot with the same mask label, byte for byte.
    CopyOf(Slot),
    /// Another person's photo, re-encoded at a lower JPEG quality.
    RefiledFrom { person: usize, slot: Slot },
}

impl DefectKind {
    /// The photo check that should find it (`photo_checks::CheckKind::name`).
    pub fn check(self) -> &'static str {
        match self {
            DefectKind::Dark => "dark",
            DefectKind::Overexposed => "light",
            DefectKind::Grayscale => "grayscale",
            DefectKind::CopyOf(_) => "exact_duplicate",
            DefectKind::RefiledFrom { .. } => "near_duplicate",
        }
    }
}

/// Fewest people for which the demo spoils photos (tiny test demos stay clean).
const DEFECTS_FROM_PEOPLE: usize = 30;

/// One photo of each defect kind, on people without label noise whose photos are all
/// plain JPEGs, drawn on their own random stream (the rest of the plan does not move).
fn plan_defects(seed: u64, people: &[PlannedPerson], noise: &[NoiseEntry]) -> Vec<PlannedDefect> {
    if people.len() < DEFECTS_FROM_PEOPLE {
        return Vec::new();
    }
    // A duplicated identity involves the other folder too (its true value).
    let noisy: std::collections::HashSet<&str> = noise
        .iter()
        .flat_map(|e| [e.person_folder(), e.true_value.as_str()])
        .collect();
    let mut candidates: Vec<usize> = (0..people.len())
        .filter(|&i| {
            let p = &people[i];
            !noisy.contains(p.folder().as_str()) && !p.rgba && p.exts.iter().all(|&e| e == Ext::Jpg)
        })
        .collect();
    let mut rng = Rng::derive(seed, 40, 0);
    rng.shuffle(&mut candidates);
    let mut take = candidates.into_iter();
    let mut out = Vec::new();
    for (kind, slot) in [
        (DefectKind::Dark, Slot::Mask3),
        (DefectKind::Overexposed, Slot::Mask1),
        (DefectKind::Grayscale, Slot::Normal),
        (DefectKind::CopyOf(Slot::Mask2), Slot::Mask4),
    ] {
        if let Some(person) = take.next() {
            out.push(PlannedDefect { person, slot, kind });
        }
    }
    // A photo filed again: from one person to another of the same gender and age bin.
    let rest: Vec<usize> = take.collect();
    let pair = rest.iter().enumerate().find_map(|(k, &a)| {
        let same = |b: usize| {
            people[a].true_gender == people[b].true_gender
                && AgeBin::from_years(people[a].true_age) == AgeBin::from_years(people[b].true_age)
        };
        rest[k + 1..].iter().find(|&&b| same(b)).map(|&b| (a, b))
    });
    if let Some((from, to)) = pair {
        out.push(PlannedDefect {
            person: to,
            slot: Slot::Mask2,
            kind: DefectKind::RefiledFrom {
                person: from,
                slot: Slot::Mask2,
            },
        });
    }
    out
}

/// Splits `total` over `weights` proportionally (largest remainder; deterministic).
pub fn apportion(total: usize, weights: &[f64]) -> Vec<usize> {
    let sum: f64 = weights.iter().sum();
    if sum <= 0.0 {
        return vec![0; weights.len()];
    }
    let exact: Vec<f64> = weights.iter().map(|w| w / sum * total as f64).collect();
    let mut out: Vec<usize> = exact.iter().map(|x| x.floor() as usize).collect();
    let mut rest: Vec<(usize, f64)> = exact
        .iter()
        .enumerate()
        .map(|(i, x)| (i, x - x.floor()))
        .collect();
    rest.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let missing = total - out.iter().sum::<usize>();
    for (i, _) in rest.into_iter().take(missing) {
        out[i] += 1;
    }
    out
}

/// `n` (gender, age) pairs with the real proportions, shuffled.
fn sample_cohort(rng: &mut Rng, n: usize) -> Vec<(Gender, u32)> {
    let weights: Vec<f64> = REAL_AGES_FEMALE
        .iter()
        .chain(&REAL_AGES_MALE)
        .map(|&c| c as f64)
        .collect();
    let counts = apportion(n, &weights);
    let mut out = Vec::with_capacity(n);
    for (cell, &count) in counts.iter().enumerate() {
        let gender = if cell < 43 {
            Gender::Female
        } else {
            Gender::Male
        };
        let age = MIN_AGE + (cell % 43) as u32;
        out.extend(std::iter::repeat_n((gender, age), count));
    }
    rng.shuffle(&mut out);
    out
}

fn incorrect_fit(rng: &mut Rng) -> MaskFit {
    if rng.unit() < 0.6 {
        MaskFit::BelowNose
    } else {
        MaskFit::OnChin
    }
}

/// Makes the plan for `cfg`. Same config, same plan.
pub fn plan(cfg: &DemoConfig) -> DemoPlan {
    let n = cfg.people;
    let mut rng = Rng::derive(cfg.seed, 1, 0);
    let cohort = sample_cohort(&mut rng, n);
    let mut people: Vec<PlannedPerson> = cohort
        .iter()
        .enumerate()
        .map(|(i, &(gender, age))| PlannedPerson {
            id: String::new(),
            true_gender: gender,
            true_age: age,
            given_gender: gender,
            given_age: age,
            identity_seed: Rng::derive(cfg.seed, 10, i as u64).next_u64(),
            exts: [Ext::Jpg; 7],
            rgba: false,
            shown: Slot::ALL,
            incorrect_fit: incorrect_fit(&mut rng),
        })
        .collect();

    // Noise budget (people), decided first because a flip run needs consecutive ids.
    let budget = if cfg.noise_rate > 0.0 {
        ((cfg.noise_rate * n as f64).round() as usize).max(1)
    } else {
        0
    };
    let run_len = if budget >= 4 && n >= 20 {
        (budget / 4).clamp(3, 6)
    } else {
        0
    };
    let run_start = if run_len > 0 {
        (n * 3 / 5).min(n - run_len)
    } else {
        n
    };
    let run = run_start..run_start + run_len;

    // Ids: increasing with gaps, except inside the flip run.
    let mut number = 0u32;
    for (i, p) in people.iter_mut().enumerate() {
        let step = if i > run.start && i < run.end {
            1
        } else {
            1 + if rng.unit() < 0.35 { rng.below(4) } else { 0 }
        };
        number += step;
        p.id = format!("{number:06}");
    }
    let mut taken = vec![false; n];
    for i in run.clone() {
        taken[i] = true;
    }

    // Quirks of the real layout.
    let pick_free =
        |rng: &mut Rng, taken: &[bool], pred: &dyn Fn(usize) -> bool| -> Option<usize> {
            let free: Vec<usize> = (0..taken.len()).filter(|&i| !taken[i] && pred(i)).collect();
            (!free.is_empty()).then(|| free[rng.below(free.len() as u32) as usize])
        };
    let mut quirk_taken = taken.clone();
    // A duplicated id: two adjacent people of one gender and different ages share an id.
    if n >= 4 {
        let start = n / 2;
        if let Some(i) = (start.max(1)..n).chain(1..start.max(1)).find(|&i| {
            !quirk_taken[i]
                && !quirk_taken[i - 1]
                && people[i].true_gender == people[i - 1].true_gender
                && people[i].true_age != people[i - 1].true_age
        }) {
            people[i].id = people[i - 1].id.clone();
            quirk_taken[i] = true;
            quirk_taken[i - 1] = true;
        }
    }
    let suffixed = if n >= 4 {
        ((n as f64 * 41.0 / 2700.0).round() as usize).max(1)
    } else {
        0
    };
    for _ in 0..suffixed {
        if let Some(i) = pick_free(&mut rng, &quirk_taken, &|_| true) {
            people[i].id.push_str("-1");
            quirk_taken[i] = true;
        }
    }
    // Extensions: mostly .jpg, some whole folders .png / .jpeg, a few folders mixing.
    for p in people.iter_mut() {
        let roll = rng.unit();
        let ext = if roll < 0.027 {
            Ext::Png
        } else if roll < 0.046 {
            Ext::Jpeg
        } else {
            Ext::Jpg
        };
        p.exts = [ext; 7];
    }
    if n >= 10 {
        for ext in [Ext::Png, Ext::Jpeg] {
            if !people.iter().any(|p| p.exts[0] == ext) {
                if let Some(i) = pick_free(&mut rng, &vec![false; n], &|i| {
                    people[i].exts[0] == Ext::Jpg
                }) {
                    people[i].exts = [ext; 7];
                }
            }
        }
        let mixing = ((n as f64 * 7.0 / 2700.0).round() as usize).max(2);
        for k in 0..mixing {
            if let Some(i) = pick_free(&mut rng, &vec![false; n], &|i| {
                people[i].exts.iter().all(|e| *e == Ext::Jpg)
            }) {
                let slot = if k % 2 == 0 {
                    Slot::Mask5
                } else {
                    Slot::from_index(rng.below(7) as usize).unwrap_or(Slot::Normal)
                };
                people[i].exts[slot.index()] = if k % 2 == 0 { Ext::Png } else { Ext::Jpeg };
            }
        }
    }
    let mut any_rgba = false;
    for p in people.iter_mut() {
        if p.exts.contains(&Ext::Png) && rng.unit() < 0.5 {
            p.rgba = true;
            any_rgba = true;
        }
    }
    if !any_rgba {
        if let Some(p) = people.iter_mut().find(|p| p.exts.contains(&Ext::Png)) {
            p.rgba = true;
        }
    }

    // Label noise.
    let mut noise = Vec::new();
    if budget > 0 {
        let mut taken = quirk_taken.clone();
        // People sharing an id must keep distinct folders, so they stay clean.
        for i in 1..n {
            if people[i].id == people[i - 1].id {
                taken[i] = true;
                taken[i - 1] = true;
            }
        }
        for i in 0..n {
            if people[i].id.contains('-') {
                taken[i] = false;
            }
        }
        for i in run.clone() {
            taken[i] = true;
            let p = &mut people[i];
            p.true_gender = Gender::Male;
            p.given_gender = Gender::Female;
            p.identity_seed = Rng::derive(cfg.seed, 11, i as u64).next_u64();
        }
        let has_dup = budget >= 2 && n >= 6;
        let rest = budget.saturating_sub(run_len + usize::from(has_dup));
        let split = if rest >= 4 {
            let mut s = apportion(rest - 4, &[0.35, 0.2, 0.25, 0.2]);
            s.iter_mut().for_each(|x| *x += 1);
            s
        } else {
            apportion(rest, &[0.35, 0.2, 0.25, 0.2])
        };
        let (flips, gross, boundary, swaps) = (split[0], split[1], split[2], split[3]);

        let choose =
            |taken: &mut Vec<bool>, rng: &mut Rng, pred: &dyn Fn(&PlannedPerson) -> bool| {
                let i = pick_free(rng, taken, &|i| pred(&people[i]))?;
                taken[i] = true;
                Some(i)
            };
        let mut flipped = Vec::new();
        for _ in 0..flips {
            flipped.extend(choose(&mut taken, &mut rng, &|_| true));
        }
        let mut gross_people = Vec::new();
        for _ in 0..gross {
            gross_people.extend(choose(&mut taken, &mut rng, &|_| true));
        }
        let mut boundary_people = Vec::new();
        for k in 0..boundary {
            // Alternate the old boundary (59/60) and the young one (29/30).
            let near_old = |p: &PlannedPerson| (58..=60).contains(&p.true_age);
            let near_young = |p: &PlannedPerson| (28..=31).contains(&p.true_age);
            let first: &dyn Fn(&PlannedPerson) -> bool =
                if k % 2 == 0 { &near_old } else { &near_young };
            let second: &dyn Fn(&PlannedPerson) -> bool =
                if k % 2 == 0 { &near_young } else { &near_old };
            let found = choose(&mut taken, &mut rng, first)
                .or_else(|| choose(&mut taken, &mut rng, second));
            boundary_people.extend(found);
        }
        let mut swap_people = Vec::new();
        for _ in 0..swaps {
            swap_people.extend(choose(&mut taken, &mut rng, &|_| true));
        }
        let dup = if has_dup {
            choose(&mut taken, &mut rng, &|_| true).and_then(|a| {
                let gender = people[a].true_gender;
                choose(&mut taken, &mut rng, &|p| p.true_gender == gender).map(|b| (a, b))
            })
        } else {
            None
        };

        let person_path = |p: &PlannedPerson| format!("train/images/{}", p.folder());
        for i in flipped {
            let p = &mut people[i];
            p.given_gender = p.true_gender.flipped();
        }
        for &i in &gross_people {
            let p = &mut people[i];
            p.given_age = match AgeBin::from_years(p.true_age) {
                AgeBin::Young => 45 + rng.below(16),
                AgeBin::Middle if p.true_age >= 42 => 18 + rng.below(8),
                AgeBin::Middle => 60,
                AgeBin::Old => 20 + rng.below(10),
            };
        }
        for &i in &boundary_people {
            let p = &mut people[i];
            p.given_age = match p.true_age {
                58 | 59 => 60,
                60 => 59,
                28 | 29 => 30,
                30 | 31 => 29,
                a => a,
            };
        }
        for &i in &swap_people {
            let p = &mut people[i];
            p.shown[Slot::Incorrect.index()] = Slot::Normal;
            p.shown[Slot::Normal.index()] = Slot::Incorrect;
        }
        if let Some((a, b)) = dup {
            let (seed, gender, age) = (
                people[a].identity_seed,
                people[a].true_gender,
                people[a].true_age,
            );
            let pb = &mut people[b];
            pb.identity_seed = seed;
            pb.true_gender = gender;
            pb.true_age = age;
            pb.given_gender = gender;
            pb.given_age = age;
        }

        // The manifest, from the final state (folder names carry the given labels).
        for (i, p) in people.iter().enumerate() {
            if p.given_gender != p.true_gender {
                let kind = if run.contains(&i) {
                    NoiseKind::GenderFlipRun
                } else {
                    NoiseKind::GenderFlip
                };
                noise.push(NoiseEntry::new(
                    person_path(p),
                    "gender",
                    p.true_gender.name(),
                    p.given_gender.name(),
                    kind,
                ));
            }
            if p.given_age != p.true_age {
                let kind = if gross_people.contains(&i) {
                    NoiseKind::AgeGross
                } else {
                    NoiseKind::AgeBoundary
                };
                noise.push(NoiseEntry::new(
                    person_path(p),
                    "age",
                    &p.true_age.to_string(),
                    &p.given_age.to_string(),
                    kind,
                ));
            }
            for slot in [Slot::Incorrect, Slot::Normal] {
                let shown = p.shown[slot.index()];
                if shown != slot {
                    noise.push(NoiseEntry::new(
                        p.rel_path(slot),
                        "mask",
                        mask_word(shown.mask()),
                        mask_word(slot.mask()),
                        NoiseKind::MaskSwap,
                    ));
                }
            }
        }
        if let Some((a, b)) = dup {
            noise.push(NoiseEntry::new(
                person_path(&people[b]),
                "identity",
                &people[a].folder(),
                &people[b].folder(),
                NoiseKind::DuplicateIdentity,
            ));
        }
        noise.sort_by(|x, y| x.path.cmp(&y.path).then(x.field.cmp(&y.field)));
    }

    // Two macOS resource-fork files, as copied archives often carry.
    let mut junk = Vec::new();
    if n >= 2 {
        for (k, slot) in [(0usize, Slot::Mask1), (n / 2, Slot::Normal)] {
            let p = &people[k];
            junk.push(format!(
                "train/images/{}/._{}",
                p.folder(),
                p.file_name(slot)
            ));
        }
    }

    // Eval: separate people, about `eval_ratio` times the train photos.
    let n_eval = (n as f64 * cfg.eval_ratio).round() as usize;
    let mut erng = Rng::derive(cfg.seed, 2, 0);
    let eval_cohort = sample_cohort(&mut erng, n_eval);
    let eval: Vec<PlannedEvalPerson> = eval_cohort
        .iter()
        .enumerate()
        .map(|(i, &(gender, age))| PlannedEvalPerson {
            identity_seed: Rng::derive(cfg.seed, 20, i as u64).next_u64(),
            gender,
            age,
            incorrect_fit: incorrect_fit(&mut erng),
            image_ids: std::array::from_fn(|_| hex_name(&mut erng)),
        })
        .collect();
    let mut eval_order: Vec<(usize, Slot)> = (0..eval.len())
        .flat_map(|i| Slot::ALL.into_iter().map(move |s| (i, s)))
        .collect();
    erng.shuffle(&mut eval_order);

    let photo_defects = if cfg.photo_defects {
        plan_defects(cfg.seed, &people, &noise)
    } else {
        Vec::new()
    };
    DemoPlan {
        train: people,
        eval,
        eval_order,
        noise,
        junk,
        photo_defects,
    }
}

/// The word the manifest uses for a mask value.
pub fn mask_word(mask: Mask) -> &'static str {
    mask.name()
}

fn hex_name(rng: &mut Rng) -> String {
    let mut s = String::with_capacity(44);
    for _ in 0..3 {
        s.push_str(&format!("{:016x}", rng.next_u64()));
    }
    s.truncate(40);
    s.push_str(".jpg");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn the_full_size_demo_has_the_real_datasets_counts() {
        // The real layout: 2,700 people (18,900 photos) and 12,600 eval photos.
        let p = plan(&DemoConfig::full_size());
        assert_eq!(p.train.len(), 2700);
        assert_eq!(p.train.len() * 7, 18_900);
        assert_eq!(p.eval_order.len(), 12_600);
    }

    fn cfg(people: usize, noise: f64) -> DemoConfig {
        DemoConfig {
            people,
            noise_rate: noise,
            ..Default::default()
        }
    }

    #[test]
    fn apportion_sums_to_total() {
        assert_eq!(apportion(10, &[1.0, 1.0, 2.0]), vec![3, 2, 5]);
        assert_eq!(apportion(7, &[0.0, 3.0]).iter().sum::<usize>(), 7);
        assert_eq!(apportion(3, &[]).len(), 0);
    }

    #[test]
    fn cohort_follows_real_proportions() {
        let p = plan(&cfg(2700, 0.0));
        let mut by = [[0usize; 3]; 2];
        for person in &p.train {
            by[person.true_gender.index()][AgeBin::from_years(person.true_age).index()] += 1;
        }
        assert_eq!(by, [[549, 410, 83], [732, 817, 109]]);
        assert!(p.train.iter().all(|q| (18..=60).contains(&q.true_age)));
    }

    #[test]
    fn folders_are_unique_and_quirks_present() {
        let p = plan(&cfg(300, 0.06));
        let folders: HashSet<String> = p.train.iter().map(PlannedPerson::folder).collect();
        assert_eq!(folders.len(), 300);
        let ids: Vec<&String> = p.train.iter().map(|q| &q.id).collect();
        let unique: HashSet<&&String> = ids.iter().collect();
        assert_eq!(unique.len(), 299, "exactly one duplicated id");
        assert!(p.train.iter().any(|q| q.id.ends_with("-1")));
        assert!(p.train.iter().any(|q| q.exts.contains(&Ext::Png)));
        assert!(p.train.iter().any(|q| q.exts.contains(&Ext::Jpeg)));
        assert!(
            p.train
                .iter()
                .filter(|q| q.exts.iter().any(|e| *e != q.exts[0]))
                .count()
                >= 2
        );
        assert!(p.train.iter().any(|q| q.rgba));
        assert_eq!(p.junk.len(), 2);
        assert_eq!(p.eval.len(), 120);
        assert_eq!(p.eval_order.len(), 840);
    }

    #[test]
    fn every_noise_kind_is_injected_and_listed() {
        let p = plan(&cfg(300, 0.06));
        for kind in NoiseKind::ALL {
            assert!(p.noise.iter().any(|e| e.kind == kind), "{kind:?} missing");
        }
        let run: Vec<&PlannedPerson> = p
            .train
            .iter()
            .filter(|q| {
                p.noise
                    .iter()
                    .any(|e| e.kind == NoiseKind::GenderFlipRun && e.path.ends_with(&q.folder()))
            })
            .collect();
        assert!(run.len() >= 3);
        let nums: Vec<u32> = run.iter().map(|q| q.id.parse().unwrap()).collect();
        assert!(
            nums.windows(2).all(|w| w[1] == w[0] + 1),
            "run ids consecutive: {nums:?}"
        );
        for e in p.noise.iter().filter(|e| e.kind == NoiseKind::AgeBoundary) {
            let (t, g): (u32, u32) = (
                e.true_value.parse().unwrap(),
                e.given_value.parse().unwrap(),
            );
            assert!(t.abs_diff(g) <= 2 && AgeBin::from_years(t) != AgeBin::from_years(g));
        }
        for e in p.noise.iter().filter(|e| e.kind == NoiseKind::AgeGross) {
            let (t, g): (u32, u32) = (
                e.true_value.parse().unwrap(),
                e.given_value.parse().unwrap(),
            );
            assert!(t.abs_diff(g) >= 10 && AgeBin::from_years(t) != AgeBin::from_years(g));
        }
        assert_eq!(
            p.noise
                .iter()
                .filter(|e| e.kind == NoiseKind::MaskSwap)
                .count()
                % 2,
            0
        );
    }

    #[test]
    fn zero_noise_means_no_errors() {
        let p = plan(&cfg(100, 0.0));
        assert!(p.noise.is_empty());
        assert!(p.train.iter().all(|q| q.true_gender == q.given_gender
            && q.true_age == q.given_age
            && q.shown == Slot::ALL));
    }

    #[test]
    fn plans_are_deterministic() {
        let a = plan(&cfg(120, 0.1));
        let b = plan(&cfg(120, 0.1));
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
        let c = plan(&DemoConfig {
            seed: 1,
            ..cfg(120, 0.1)
        });
        assert_ne!(format!("{a:?}"), format!("{c:?}"));
    }
}
