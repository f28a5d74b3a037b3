//! Age issues judged in years, from a run's `oof_age.npy` (per photo: predicted years and
//! the model's spread).
//!
//! 1. A person's photos are combined robustly: photos further than three spreads from the
//!    median prediction are dropped, the rest averaged with weights 1 / spread^2; the
//!    person's spread is the median of the photos' (a person's photos share most of their
//!    error, so seven photos are not seven independent readings). The prediction is capped
//!    to 18..60, the range of the labels (60 means "60 or older").
//! 2. How the model reads people is learnt from the run's own out-of-fold readings, per
//!    whole given age, over a window of nearby ages holding at least 100 people: the
//!    median of predicted - given (its bias, e.g. the pull of old faces toward the middle;
//!    in a window spanning 12 ages or more, a line through it, so that a small run's
//!    wide windows do not flatten the pull) and the robust scale (MAD) of the readings in
//!    units of the model's spread. Robust statistics ignore the few wrong
//!    labels. The ages people have are the given ages, smoothed.
//! 3. A given age g is right with probability 1 - pi (the reading then follows a Student-t
//!    around g + bias(g) at g's scale) or wrong (the reading came from any other age, as
//!    common as it is); pi is fitted by EM with a prior (`stats::NoisePrior`: a small run
//!    cannot tell its own misses from wrong labels) and the t's degrees of freedom (3, 5,
//!    10, 30 or 200: how heavy the model's error tails are) by maximum likelihood at the
//!    prior's typical rate, so a model with occasional large misses does not turn them
//!    into label issues. The posterior of
//!    "wrong" is the probability; the posterior over ages gives the model's age.
//! 4. A weak model misreads whole age ranges (the trained demo read one in five people in
//!    their forties as about 22): in each age window, a right label is also read as if
//!    the person were any other age with the window's misread share. Labels go wrong at
//!    any age, so pi is what the well-read ages show and a window's share is the excess
//!    of its far readings over it, kept only when the excess is clear (a likelihood ratio
//!    of 20) and not in windows whose readings pile at the 18/60 caps. A far reading in
//!    a misread window is then only as likely wrong as pi / (pi + share); it is still an
//!    issue (possible, not likely).
//! 5. Cross-fitting: each person is judged with the bias, scale and pi learnt on the
//!    other folds (or person-hash groups).
//!
//! A disagreement is an `age_boundary` case when the given age and the model's age lie on
//! either side of the 30 or 60 boundary and each within two standard deviations (at least
//! `boundary_years`) of it: the given age by how closely people of that age are read, the
//! model's by its posterior; or when the given age is that close to 30 or 60 and a true
//! age a year or two across explains the reading better than a gross error (a true age
//! at least [`GROSS_YEARS`] away) does. Otherwise, when the label is more likely wrong
//! than right (or would be, were the model not misreading that age range: such an issue
//! keeps its low probability and waits in the possible tier), `age_gross`.

use crate::dataset::AgeBin;
use crate::stats::{mad_sd, median, minimise, student_t_pdf, NoisePrior};
use serde::Serialize;
use std::collections::HashMap;

pub const MIN_AGE: f64 = 18.0;
/// The labels' top: "60" means 60 or older.
pub const MAX_AGE: f64 = 60.0;
/// Degrees of freedom tried for the residual's Student-t.
const DF_CHOICES: [f64; 5] = [3.0, 5.0, 10.0, 30.0, 200.0];
/// The least standard deviation of a reading: labels are whole years and apparent ages vary
/// by at least about a year.
const MIN_SD: f64 = 1.0;
/// A disagreement is an issue when the label is at least this likely wrong.
pub const GROSS_MIN_P: f64 = 0.5;
/// Years between a gross error's true age and its given age, at the least: the scale of
/// the known real cases (a person of about 20 labelled old) and of what the demo and the
/// simulation inject. Near 30 or 60 the boundary's explanation (a year or two off) is
/// weighed against true ages this far away; ages in between support neither.
pub const GROSS_YEARS: i64 = 15;

/// One person's combined reading.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PersonAge {
    /// Years, capped to 18..60.
    pub predicted: f64,
    /// The model's spread for this person (years).
    pub spread: f64,
    pub photos: usize,
    /// Photos dropped as outliers.
    pub dropped: usize,
}

/// Combines one person's photo readings `(years, spread)`; `None` without a finite one.
pub fn combine_person(readings: &[(f64, f64)]) -> Option<PersonAge> {
    let ok: Vec<(f64, f64)> = readings
        .iter()
        .copied()
        .filter(|(y, s)| y.is_finite() && s.is_finite() && *s > 0.0)
        .collect();
    let years: Vec<f64> = ok.iter().map(|r| r.0).collect();
    let spreads: Vec<f64> = ok.iter().map(|r| r.1).collect();
    let mid = median(&years)?;
    let spread = median(&spreads)?.max(0.5);
    let kept: Vec<(f64, f64)> = ok
        .iter()
        .copied()
        .filter(|(y, _)| (y - mid).abs() <= 3.0 * spread)
        .collect();
    let (num, den) = kept.iter().fold((0.0, 0.0), |(n, d), (y, s)| {
        let w = 1.0 / (s * s).max(1e-6);
        (n + w * y, d + w)
    });
    let predicted = if den > 0.0 { num / den } else { mid };
    Some(PersonAge {
        predicted: predicted.clamp(MIN_AGE, MAX_AGE),
        spread,
        photos: ok.len(),
        dropped: ok.len() - kept.len(),
    })
}

/// How the model reads people of one given age, estimated over the ages `lo..=hi` around
/// it: its readings' median offset from the given age and their robust spread, in units of
/// each person's own spread.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ReadingError {
    /// Given ages `lo..=hi` share this error.
    pub lo: u32,
    pub hi: u32,
    /// Median of predicted - given (e.g. negative for old people: the pull to the middle).
    pub bias: f64,
    /// Robust standard deviation of the readings in units of the person's spread.
    pub scale: f64,
    pub people: usize,
    /// Share of the people of these ages whom the model reads as someone of another age
    /// (a weak model reads many 40-49-year-olds as 22): beyond what wrong labels explain,
    /// a far reading at such an age says little about the label.
    pub misread: f64,
    /// Share of the readings at the cap of 18 or 60.
    pub capped: f64,
}

/// The learnt error model: how the model reads people of each age, how heavy its error's
/// tails are, the ages people have, and the rate of wrong labels.
///
/// It works in the direction the data were made: a person of true age t is read as
/// `t + bias(t)` with a spread that depends on t (young faces are read closely, old ones
/// loosely). A given age g is right (the reading came from age g) or wrong (the reading
/// came from any other age, weighed by how common that age is). Judging the reading by
/// the error at the *given* age, not at the reading, is what tells "20, read as 41" (young
/// people are never read 20 years off) from "56, read as 61" (old people often are a few
/// years off).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct YearsModel {
    /// Per whole given age 18..=60.
    pub groups: Vec<ReadingError>,
    /// Share of people per whole age 18..=60 (the given ages, smoothed).
    pub prior: Vec<f64>,
    /// Degrees of freedom of the readings' Student-t.
    pub df: f64,
    pub noise_rate: f64,
}

/// The error at an age is estimated over at least this many people of nearby ages.
const MIN_PER_GROUP: usize = 100;
/// An age window's misread share is taken as 0 unless it raises the likelihood of the
/// window's readings by this much (a likelihood ratio of 20): about five far readings
/// among 100 people where one wrong label is expected.
const MISREAD_EVIDENCE: f64 = 3.0;
/// A window with this share of its readings at a cap fits no misread share.
const CAPPED_SHARE: f64 = 0.1;
/// The most of a window's people a model may misread.
const MAX_MISREAD: f64 = 0.5;
const AGES: usize = (MAX_AGE - MIN_AGE) as usize + 1;
/// A window spanning fewer ages than this takes the bias as flat.
const MIN_SLOPE_AGES: usize = 12;

fn age_index(age: u32) -> usize {
    (age.clamp(MIN_AGE as u32, MAX_AGE as u32) - MIN_AGE as u32) as usize
}

/// Student-t density with the normalising constant computed once per df.
#[derive(Clone, Copy)]
struct TDensity {
    df: f64,
    norm: f64,
}

impl TDensity {
    fn new(df: f64) -> Self {
        TDensity {
            df,
            norm: student_t_pdf(0.0, df),
        }
    }
    fn at(&self, u: f64) -> f64 {
        self.norm * (1.0 + u * u / self.df).powf(-(self.df + 1.0) / 2.0)
    }
}

impl YearsModel {
    /// Learns the model from people `(reading, given years)`.
    pub fn fit(people: &[(PersonAge, u32)]) -> Self {
        let groups = fit_groups(people);
        let mut counts = vec![1.0; AGES];
        for (_, g) in people {
            counts[age_index(*g)] += 1.0;
        }
        let total: f64 = counts.iter().sum();
        let prior: Vec<f64> = counts.iter().map(|c| c / total).collect();
        let n = people.len().max(1) as f64;
        let fit_with = |df: f64| {
            let mut model = YearsModel {
                groups: groups.clone(),
                prior: prior.clone(),
                df,
                noise_rate: 0.02,
            };
            let t = TDensity::new(df);
            // The densities do not depend on the rates: compute them once per df.
            let dens: Vec<(f64, f64)> = people
                .iter()
                .map(|(a, g)| (model.density(&t, a, *g), model.density_if_wrong(&t, a, *g)))
                .collect();
            let mut by_age: Vec<Vec<(f64, f64)>> = vec![Vec::new(); AGES];
            for ((_, g), d) in people.iter().zip(&dens) {
                by_age[age_index(*g)].push(*d);
            }
            for _ in 0..30 {
                if model.fit_step(&by_age, n) < 1e-6 {
                    break;
                }
            }
            // The tails are judged at the prior's typical rate, not the fitted one: with
            // the rate free, a run's own large misses are explained as label errors
            // first and the heavier tails never win.
            let pi = NoisePrior::DEFAULT.mean;
            let log_lik: f64 = people
                .iter()
                .zip(&dens)
                .map(|((_, g), &(r, w))| {
                    reading_density(r, w, pi, model.group(*g).misread)
                        .max(1e-300)
                        .ln()
                })
                .sum::<f64>();
            (model, log_lik)
        };
        DF_CHOICES
            .iter()
            .map(|&df| fit_with(df))
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(m, _)| m)
            .unwrap_or(YearsModel {
                groups,
                prior,
                df: 5.0,
                noise_rate: 0.02,
            })
    }

    /// One step of the fit of the rate of wrong labels (global: labels go wrong at any
    /// age, so the ages the model reads well fix it) and each age window's misread share
    /// (the excess of the window's far readings over that rate). The two are told apart
    /// only by where the far readings fall, so a window's share stays 0 unless its excess
    /// is clear ([`MISREAD_EVIDENCE`]): a few wrong labels that happen to share a window
    /// must not pass for the model's misreads. `by_age` holds each person's (right, wrong)
    /// densities per given age.
    /// Returns the largest change of a rate.
    fn fit_step(&mut self, by_age: &[Vec<(f64, f64)>], n: f64) -> f64 {
        let pi = self.noise_rate;
        let mut wrong = 0.0;
        for (i, dens) in by_age.iter().enumerate() {
            let m = self.groups.get(i).map_or(0.0, |g| g.misread);
            for &(r, w) in dens {
                wrong += posterior_wrong((1.0 - m) * r + m * w, w, pi);
            }
        }
        self.noise_rate = NoisePrior::DEFAULT.update(wrong, n).clamp(1e-4, 0.5);
        let mut change = (self.noise_rate - pi).abs();
        let pi = self.noise_rate;
        let mut fitted: HashMap<(u32, u32), f64> = HashMap::new();
        for group in &mut self.groups {
            // Where many readings sit at a cap, their spread is censored and the t fits
            // them loosely: an excess of far readings there is that misfit, not misreads.
            let before = group.misread;
            if group.capped >= CAPPED_SHARE {
                group.misread = 0.0;
                continue;
            }
            group.misread = *fitted.entry((group.lo, group.hi)).or_insert_with(|| {
                let window = &by_age[age_index(group.lo)..=age_index(group.hi)];
                let log_lik = |m: f64| -> f64 {
                    window
                        .iter()
                        .flatten()
                        .map(|&(r, w)| reading_density(r, w, pi, m).max(1e-300).ln())
                        .sum()
                };
                // The log-likelihood is concave in the share: when it falls as the share
                // leaves 0, 0 is the best (most windows; no search needed).
                let slope_at_zero: f64 = window
                    .iter()
                    .flatten()
                    .map(|&(r, w)| {
                        let at_zero = pi * w + (1.0 - pi) * r;
                        if at_zero > 0.0 {
                            (1.0 - pi) * (w - r) / at_zero
                        } else {
                            0.0
                        }
                    })
                    .sum();
                if slope_at_zero <= 0.0 {
                    return 0.0;
                }
                let best = minimise(|m| -log_lik(m), 0.0, MAX_MISREAD, 30);
                if log_lik(best) - log_lik(0.0) >= MISREAD_EVIDENCE {
                    best
                } else {
                    0.0
                }
            });
            change = change.max((group.misread - before).abs());
        }
        change
    }

    fn group(&self, age: u32) -> &ReadingError {
        self.groups.get(age_index(age)).unwrap_or(&FALLBACK_GROUP)
    }

    /// The reading's standard deviation for a person of true age `age`.
    fn sd_at(&self, a: &PersonAge, age: u32) -> f64 {
        (self.group(age).scale * a.spread).max(MIN_SD)
    }

    /// Density of the reading if the person's true age is `age`.
    fn density(&self, t: &TDensity, a: &PersonAge, age: u32) -> f64 {
        let sd = self.sd_at(a, age);
        let u = (a.predicted - age as f64 - self.group(age).bias) / sd;
        t.at(u) / sd
    }

    /// Density of the reading if the given age is wrong: the true age is any other,
    /// as common as it is among the people.
    fn density_if_wrong(&self, t: &TDensity, a: &PersonAge, given: u32) -> f64 {
        let skip = age_index(given);
        let (mut num, mut den) = (0.0, 0.0);
        for (i, &w) in self.prior.iter().enumerate() {
            if i != skip {
                num += w * self.density(t, a, MIN_AGE as u32 + i as u32);
                den += w;
            }
        }
        if den > 0.0 {
            num / den
        } else {
            0.0
        }
    }

    /// How the given age compares with the reading. A given age within `boundary_years` of
    /// 30 or 60 is also judged as if it were any age that close to it (a boundary error is
    /// a year or two off), the least suspicious of those deciding whether it is gross.
    pub fn judge(&self, a: &PersonAge, given: u32, boundary_years: u32) -> YearsJudgement {
        let t = TDensity::new(self.df);
        // What the reading says of the true age: the posterior over ages (mean and sd).
        let post: Vec<f64> = (0..AGES)
            .map(|i| self.prior[i] * self.density(&t, a, MIN_AGE as u32 + i as u32))
            .collect();
        let z: f64 = post.iter().sum();
        let mut bins = [0.0; 3];
        if z > 0.0 && z.is_finite() {
            for (i, p) in post.iter().enumerate() {
                bins[AgeBin::from_years(MIN_AGE as u32 + i as u32).index()] += p / z;
            }
        } else {
            bins[AgeBin::from_years(given).index()] = 1.0;
        }
        let (expected, sd) = if z > 0.0 && z.is_finite() {
            let mean = post
                .iter()
                .enumerate()
                .map(|(i, p)| p * (MIN_AGE + i as f64))
                .sum::<f64>()
                / z;
            let var = post
                .iter()
                .enumerate()
                .map(|(i, p)| p * (MIN_AGE + i as f64 - mean).powi(2))
                .sum::<f64>()
                / z;
            (mean, var.sqrt().max(MIN_SD))
        } else {
            (a.predicted, self.sd_at(a, given))
        };
        let (right, wrong) = (
            self.density(&t, a, given),
            self.density_if_wrong(&t, a, given),
        );
        let m = self.group(given).misread;
        let p_wrong = posterior_wrong((1.0 - m) * right + m * wrong, wrong, self.noise_rate);
        let p_if_read_well = posterior_wrong(right, wrong, self.noise_rate);
        // Near 30 or 60 a label a year or two off is a boundary error: does a true age that
        // close explain the reading better than a gross error (a true age at least
        // GROSS_YEARS away) does?
        let by = boundary_years as i64;
        let near = [29.5, 59.5]
            .iter()
            .any(|b| (given as f64 - b).abs() <= boundary_years as f64 + 0.5);
        let boundary_explains = near && {
            let (mut near_sum, mut near_w, mut far_sum, mut far_w) = (0.0, 0.0, 0.0, 0.0);
            for (i, p) in post.iter().enumerate() {
                let d = (MIN_AGE as i64 + i as i64 - given as i64).abs();
                if d == 0 {
                    continue;
                }
                if d <= by {
                    near_sum += p;
                    near_w += self.prior[i];
                } else if d >= GROSS_YEARS {
                    far_sum += p;
                    far_w += self.prior[i];
                }
            }
            near_w > 0.0 && near_sum / near_w >= far_sum / far_w.max(f64::MIN_POSITIVE)
        };
        YearsJudgement {
            given,
            expected: expected.clamp(MIN_AGE, MAX_AGE),
            sd,
            sd_given: self.sd_at(a, given),
            p_wrong,
            p_if_read_well,
            misread: {
                let g = self.group(given);
                (g.misread > 0.0).then_some((g.lo, g.hi, g.misread))
            },
            bins,
            boundary_explains,
        }
    }
}

const FALLBACK_GROUP: ReadingError = ReadingError {
    lo: MIN_AGE as u32,
    hi: MAX_AGE as u32,
    bias: 0.0,
    scale: 1.0,
    people: 0,
    misread: 0.0,
    capped: 0.0,
};

/// Density of a reading given its densities if the label is right (`r`) and if it is
/// wrong (`w`): a wrong label (rate `pi`), or a right one misread as someone of another
/// age (the window's share `m`) or read as its age.
fn reading_density(r: f64, w: f64, pi: f64, m: f64) -> f64 {
    pi * w + (1.0 - pi) * ((1.0 - m) * r + m * w)
}

fn posterior_wrong(right: f64, wrong: f64, pi: f64) -> f64 {
    let w = pi * wrong;
    let r = (1.0 - pi) * right;
    if w + r > 0.0 {
        w / (w + r)
    } else {
        // Both vanish far out in the tails: a reading that far from the given age is wrong.
        1.0
    }
}

/// The model's reading error at each whole given age 18..=60, estimated over the nearest
/// ages (a window widened until it holds [`MIN_PER_GROUP`] people), so that the estimate
/// moves smoothly with age and rare ages borrow from their neighbours.
fn fit_groups(people: &[(PersonAge, u32)]) -> Vec<ReadingError> {
    let mut per_age: Vec<Vec<f64>> = vec![Vec::new(); AGES];
    // Per reading: its spread and whether it sits at the cap of 18 or 60.
    let mut spreads: Vec<Vec<(f64, bool)>> = vec![Vec::new(); AGES];
    for (a, g) in people {
        let i = age_index(*g);
        per_age[i].push(a.predicted - *g as f64);
        let capped = a.predicted >= MAX_AGE || a.predicted <= MIN_AGE;
        spreads[i].push((a.spread, capped));
    }
    // The bias changes with age inside a window (young faces are read older, old ones
    // younger): it is taken as a line through the window, its slope the median of the
    // slopes between the window's per-age medians (Theil-Sen), evaluated at the age itself.
    let age_median: Vec<Option<f64>> = per_age.iter().map(|o| median(o)).collect();
    let fit = |at: usize, lo: usize, hi: usize| -> Option<ReadingError> {
        let points: Vec<(f64, f64)> = (lo..=hi)
            .filter_map(|i| age_median[i].map(|m| (i as f64, m)))
            .collect();
        let mut slopes = Vec::new();
        for (k, (x1, y1)) in points.iter().enumerate() {
            for (x2, y2) in &points[k + 1..] {
                slopes.push((y2 - y1) / (x2 - x1));
            }
        }
        // A few ages are too few for a slope: their medians' noise would be taken for one.
        let slope = if hi - lo >= MIN_SLOPE_AGES {
            median(&slopes).unwrap_or(0.0)
        } else {
            0.0
        };
        let detrended: Vec<(f64, f64, bool)> = (lo..=hi)
            .flat_map(|i| {
                per_age[i]
                    .iter()
                    .zip(&spreads[i])
                    .map(move |(o, (s, cap))| (o - slope * (i as f64 - at as f64), *s, *cap))
            })
            .collect();
        let offsets: Vec<f64> = detrended.iter().map(|d| d.0).collect();
        let bias = median(&offsets)?;
        let units: Vec<f64> = detrended.iter().map(|(o, s, _)| (o - bias) / s).collect();
        let scale = mad_sd(&units, 0.0)?.max(0.05);
        let capped = detrended.iter().filter(|d| d.2).count() as f64 / units.len() as f64;
        Some(ReadingError {
            lo: MIN_AGE as u32 + lo as u32,
            hi: MIN_AGE as u32 + hi as u32,
            bias,
            scale,
            people: offsets.len(),
            misread: 0.0,
            capped,
        })
    };
    let groups: Option<Vec<ReadingError>> = (0..AGES)
        .map(|i| {
            let (mut lo, mut hi) = (i, i);
            let count = |lo: usize, hi: usize| (lo..=hi).map(|j| per_age[j].len()).sum::<usize>();
            while count(lo, hi) < MIN_PER_GROUP && (lo > 0 || hi + 1 < AGES) {
                lo = lo.saturating_sub(1);
                hi = (hi + 1).min(AGES - 1);
            }
            fit(i, lo, hi)
        })
        .collect();
    groups.unwrap_or_else(|| vec![FALLBACK_GROUP; AGES])
}

/// The verdict on one person's given age.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct YearsJudgement {
    pub given: u32,
    /// The age the model's reading implies (bias-corrected, 18..60).
    pub expected: f64,
    /// Its standard deviation (years).
    pub sd: f64,
    /// The standard deviation of a reading of someone of the given age (years).
    pub sd_given: f64,
    /// Probability that the given age is wrong.
    pub p_wrong: f64,
    /// The same, were the model not misreading people of the given age (equal to
    /// `p_wrong` outside the age windows it misreads): a reading that would be a wrong
    /// label from a reliable model stays an issue, at its lower probability.
    pub p_if_read_well: f64,
    /// The age window around the given age and the share of its people the model reads
    /// as someone of another age, when it misreads that range.
    pub misread: Option<(u32, u32, f64)>,
    /// What the reading says of the age bins (<30, 30-59, >=60): the posterior over ages
    /// summed per bin.
    pub bins: [f64; 3],
    /// The given age is within `boundary_years` of 30 or 60, and a true age that close to
    /// it explains the reading better than the ages at least [`GROSS_YEARS`] away do
    /// (weighed as common as they are): a wrong label there is a boundary error, not a
    /// gross one.
    pub boundary_explains: bool,
}

/// What a disagreement in years is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum YearsVerdict {
    /// No issue.
    Fits,
    /// Either side of 30 or 60, both within the model's uncertainty of it.
    Boundary,
    /// More likely wrong than right (or would be, from a model that reads the given age
    /// well), and no boundary explains it.
    Gross,
}

impl YearsJudgement {
    /// The bin the model's reading implies.
    pub fn expected_bin(&self) -> AgeBin {
        AgeBin::from_years(self.expected.round().clamp(MIN_AGE, MAX_AGE) as u32)
    }

    /// The boundary between the given bin and the model's, when they are adjacent.
    fn boundary(&self) -> Option<f64> {
        let (g, m) = (
            AgeBin::from_years(self.given).index(),
            self.expected_bin().index(),
        );
        match (g.min(m), g.max(m)) {
            (0, 1) => Some(29.5),
            (1, 2) => Some(59.5),
            _ => None,
        }
    }

    pub fn verdict(&self, boundary_years: u32) -> YearsVerdict {
        // Each side within two of its own standard deviations of the boundary: the given
        // age by how closely people of that age are read, the model's age by its posterior.
        let least = boundary_years as f64 + 0.5;
        let boundary = self.boundary();
        if let Some(b) = boundary {
            if (self.given as f64 - b).abs() <= (2.0 * self.sd_given).max(least)
                && (self.expected - b).abs() <= (2.0 * self.sd).max(least)
            {
                return YearsVerdict::Boundary;
            }
        }
        let suspect = self.p_wrong.max(self.p_if_read_well) >= GROSS_MIN_P;
        match (suspect, self.boundary_explains) {
            (true, false) => YearsVerdict::Gross,
            // A year or two across the boundary explains it best: ambiguous, not gross.
            (true, true) if boundary.is_some() => YearsVerdict::Boundary,
            (true, true) => YearsVerdict::Gross,
            (false, _) => YearsVerdict::Fits,
        }
    }

    /// "given 20, model 47 ± 4", and why a far reading is only possibly wrong when the
    /// model misreads that age range.
    pub fn text(&self) -> String {
        let mut text = format!(
            "given {}, model {:.0} ± {:.0}",
            self.given, self.expected, self.sd
        );
        if let Some((lo, hi, share)) = self.misread {
            if self.p_if_read_well >= GROSS_MIN_P && self.p_wrong < GROSS_MIN_P {
                text.push_str(&format!(
                    " (the model misreads about {:.0}% of people aged {lo}-{hi})",
                    100.0 * share
                ));
            }
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(predicted: f64) -> PersonAge {
        PersonAge {
            predicted,
            spread: 4.0,
            photos: 7,
            dropped: 0,
        }
    }

    /// People whose given age is the prediction plus noise of sd 4, with a few gross errors.
    fn population() -> Vec<(PersonAge, u32)> {
        let mut rng = crate::demo::rng::Rng::new(3);
        (0..2000)
            .map(|i| {
                let truth = 18 + (i % 43) as u32;
                let pred = (truth as f64 + rng.normal(0.0, 4.0) as f64).clamp(MIN_AGE, MAX_AGE);
                let given = if i % 100 == 0 {
                    if truth < 40 {
                        58
                    } else {
                        20
                    }
                } else {
                    truth
                };
                (reading(pred), given)
            })
            .collect()
    }

    #[test]
    fn a_few_years_off_near_60_is_a_boundary_case_never_gross() {
        let model = YearsModel::fit(&population());
        // The model reads a 56-year-old as 61 (capped to 60).
        let j = model.judge(&reading(60.0), 56, 2);
        assert!(j.p_wrong < GROSS_MIN_P, "{j:?}");
        assert_ne!(j.verdict(2), YearsVerdict::Gross);
        // 28 read as 35: either side of 30, both within the uncertainty: boundary.
        assert_eq!(
            model.judge(&reading(35.0), 28, 2).verdict(2),
            YearsVerdict::Boundary
        );
        // 45 read as 47: fits.
        assert_eq!(
            model.judge(&reading(47.0), 45, 2).verdict(2),
            YearsVerdict::Fits
        );
    }

    #[test]
    fn twenty_read_as_forty_seven_is_gross_with_years_text() {
        let model = YearsModel::fit(&population());
        assert!(
            model.noise_rate > 0.005 && model.noise_rate < 0.03,
            "{model:?}"
        );
        let j = model.judge(&reading(47.0), 20, 2);
        assert!(j.p_wrong > 0.99, "{j:?}");
        assert_eq!(j.verdict(2), YearsVerdict::Gross);
        assert!(j.text().starts_with("given 20, model 4"), "{}", j.text());
        // The bins the reading implies: a probability per bin, 30-59 near certain.
        assert!((j.bins.iter().sum::<f64>() - 1.0).abs() < 1e-9, "{j:?}");
        assert!(j.bins[1] > 0.95, "{j:?}");
        // Given 30 (true 28, a boundary error) read as 24 by a model that is off: a year or
        // two across the boundary explains it better than any other age, so not gross.
        let j = model.judge(&reading(24.0), 30, 2);
        assert!(j.boundary_explains, "{j:?}");
        assert_ne!(j.verdict(2), YearsVerdict::Gross, "{j:?}");
        // Given 60 read as 41: no year or two explains that; gross, not a boundary case.
        let j = model.judge(&reading(41.0), 60, 2);
        assert!(!j.boundary_explains, "{j:?}");
        assert_eq!(j.verdict(2), YearsVerdict::Gross, "{j:?}");
    }

    #[test]
    fn a_precise_model_far_off_near_60_is_weighed_against_gross_errors_not_near_ages() {
        // A model that reads ages within about two years, with a few gross errors.
        let precise = |predicted| PersonAge {
            spread: 2.0,
            ..reading(predicted)
        };
        let mut rng = crate::demo::rng::Rng::new(5);
        let people: Vec<(PersonAge, u32)> = (0..2000)
            .map(|i| {
                let truth = 18 + (i % 43) as u32;
                let pred = (truth as f64 + rng.normal(0.0, 2.0) as f64).clamp(MIN_AGE, MAX_AGE);
                let given = match (i % 100, truth < 40) {
                    (0, true) => 58,
                    (0, false) => 20,
                    _ => truth,
                };
                (precise(pred), given)
            })
            .collect();
        let model = YearsModel::fit(&people);
        // Given 60, read as 51: a 59-year-old the model misread by four of its standard
        // deviations, or someone of about 52 labelled 60; either way a year or two across
        // the boundary explains it better than an age 15 years off, so not gross (ages
        // in between support neither: they are no gross error).
        let j = model.judge(&precise(51.0), 60, 2);
        assert!(j.p_wrong > GROSS_MIN_P, "{j:?}");
        assert!(j.boundary_explains, "{j:?}");
        assert_eq!(j.verdict(2), YearsVerdict::Boundary, "{j:?}");
        // Read as 41: what a gross error labelled 60 looks like.
        let j = model.judge(&precise(41.0), 60, 2);
        assert!(!j.boundary_explains, "{j:?}");
        assert_eq!(j.verdict(2), YearsVerdict::Gross, "{j:?}");
    }

    /// 240 people, ages spread evenly, read by a model that pulls every age 40% toward 39
    /// (as small models do), with 2% of the labels grossly wrong.
    fn small_pulled_population() -> Vec<(PersonAge, u32)> {
        let mut rng = crate::demo::rng::Rng::new(11);
        (0..240)
            .map(|i| {
                let truth = 18 + (i * 7 % 43) as u32;
                let read = 39.0 + 0.6 * (truth as f64 - 39.0) + rng.normal(0.0, 2.0) as f64;
                let given = if i % 50 == 7 {
                    if truth < 39 {
                        truth + 25
                    } else {
                        truth - 25
                    }
                } else {
                    truth
                };
                (reading(read.clamp(MIN_AGE, MAX_AGE)), given)
            })
            .collect()
    }

    #[test]
    fn a_small_run_learns_the_pull_toward_the_middle_not_noise() {
        let people = small_pulled_population();
        let model = YearsModel::fit(&people);
        // Windows of 100 people span ~18 ages here: a flat bias would be years off at the
        // window's ends and the model's own pull would pass for wrong labels.
        assert!(model.noise_rate < 0.05, "{}", model.noise_rate);
        let gross = people
            .iter()
            .filter(|(a, g)| model.judge(a, *g, 2).verdict(2) == YearsVerdict::Gross)
            .count();
        assert!((4..=7).contains(&gross), "{gross} gross of 5 injected");
        // People at the ends, read as the model reads their age, are judged by the bias at
        // their age, not the window's average: their labels look right (a flat bias puts
        // them at p 0.16 and 0.23).
        for (truth, read) in [(18, 30.6), (60, 47.4)] {
            let j = model.judge(&reading(read), truth, 2);
            assert!(j.p_wrong < 0.1, "{truth}: {j:?}");
            assert_ne!(j.verdict(2), YearsVerdict::Gross, "{truth}: {j:?}");
        }
    }

    /// 400 people aged as in the real data (many under 30 and over 50, few between), read
    /// by a weak model that reads one in five people in their forties as about 22 (as the
    /// trained demo did); four labels given 20 belong to people of 55.
    fn misread_forties_population() -> Vec<(PersonAge, u32, bool)> {
        let mut rng = crate::demo::rng::Rng::new(5);
        (0..400)
            .map(|i| {
                let truth = match i % 20 {
                    0..=7 => 18 + (i / 20) % 12,
                    8 => 30 + (i / 20) % 10,
                    9..=11 => 40 + (i / 20) % 10,
                    _ => 50 + (i / 20) % 11,
                } as u32;
                let misread = (40..50).contains(&truth) && i % 100 < 20;
                let read = if misread {
                    22.0 + rng.normal(0.0, 2.0) as f64
                } else {
                    truth as f64 + rng.normal(0.0, 3.0) as f64
                };
                let wrong = i % 100 == 13;
                let (truth, read) = if wrong {
                    (55, 55.0 + rng.normal(0.0, 3.0) as f64)
                } else {
                    (truth, read)
                };
                let given = if wrong { 20 } else { truth };
                (reading(read.clamp(MIN_AGE, MAX_AGE)), given, wrong)
            })
            .collect()
    }

    #[test]
    fn ages_the_model_misreads_do_not_flood_the_queue_and_wrong_labels_elsewhere_stay_sure() {
        let people = misread_forties_population();
        let fit: Vec<(PersonAge, u32)> = people.iter().map(|(a, g, _)| (*a, *g)).collect();
        let model = YearsModel::fit(&fit);
        let forties = model.group(45);
        assert!(forties.misread > 0.05, "{forties:?}");
        assert_eq!(model.group(20).misread, 0.0, "{:?}", model.group(20));
        let misread: Vec<&(PersonAge, u32, bool)> = people
            .iter()
            .filter(|(a, g, w)| !w && (40..50).contains(g) && a.predicted < 30.0)
            .collect();
        assert!(misread.len() >= 6, "{}", misread.len());
        // Without the misread share each of these is a sure wrong label (p near 1).
        let expected_wrong: f64 = misread
            .iter()
            .map(|(a, g, _)| model.judge(a, *g, 2).p_wrong)
            .sum();
        assert!(
            expected_wrong < 0.5 * misread.len() as f64,
            "{expected_wrong} of {}",
            misread.len()
        );
        // Each is still an issue, at its own low probability (the possible tier): one of
        // them could be a wrong label, and the annotator may look.
        for (a, g, _) in &misread {
            let j = model.judge(a, *g, 2);
            assert!(j.p_wrong < 0.5 && j.p_if_read_well > 0.9, "{j:?}");
            assert_eq!(j.verdict(2), YearsVerdict::Gross, "{j:?}");
            // The annotator is told why the probability is low.
            assert!(
                j.text().contains("the model misreads about"),
                "{}",
                j.text()
            );
        }
        for (a, g, _) in people.iter().filter(|p| p.2) {
            let j = model.judge(a, *g, 2);
            assert!(j.p_wrong > 0.9, "{j:?}");
            assert_eq!(j.verdict(2), YearsVerdict::Gross, "{j:?}");
        }
        assert!(model.noise_rate < 0.04, "{}", model.noise_rate);
    }

    #[test]
    fn outlying_photos_are_dropped_and_predictions_capped() {
        let p = combine_person(&[
            (40.0, 4.0),
            (41.0, 4.0),
            (39.0, 4.0),
            (40.0, 4.0),
            (90.0, 4.0),
        ])
        .unwrap();
        assert_eq!(p.dropped, 1);
        assert!((p.predicted - 40.0).abs() < 1e-9);
        let old = combine_person(&[(66.0, 5.0), (64.0, 5.0)]).unwrap();
        assert_eq!(old.predicted, MAX_AGE);
        assert!(combine_person(&[(f64::NAN, 1.0)]).is_none());
    }
}
