//! Age issues judged in years, from a run's `oof_age.npy` (per photo: predicted years and
//! the model's spread).
//!
//! 1. A person's photos are combined robustly: photos further than three spreads from the
//!    median prediction are dropped, the rest averaged with weights 1 / spread^2; the
//!    person's spread is the median of the photos' (a person's photos share most of their
//!    error, so seven photos are not seven independent readings). The prediction is capped
//!    to 18..60, the range of the labels (60 means "60 or older").
//! 2. The error the model makes is learnt from the run's own out-of-fold residuals
//!    (given - predicted), per range of predicted age: the median residual (the model's
//!    bias, e.g. its pull toward the middle) and the robust scale (MAD) of the residuals in
//!    units of the model's spread. Robust statistics ignore the few wrong labels.
//! 3. A given age is right with probability 1 - pi (the residual then follows a Student-t
//!    at that bias and scale) or wrong (any age 18..60 alike); pi is fitted by EM and the
//!    t's degrees of freedom (3, 5, 10, 30 or 200: how heavy the model's error tails are)
//!    by maximum likelihood, so a model with occasional large misses does not turn them
//!    into label issues. The posterior of "wrong" is the probability.
//! 4. Cross-fitting: each person is judged with the bias, scale and pi learnt on the
//!    other folds (or person-hash groups).
//!
//! A disagreement is an `age_boundary` case when the given age and the model's reading
//! lie on either side of the 30 or 60 boundary and both within the model's uncertainty
//! (two standard deviations, at least `boundary_years`) of it; otherwise, when the label
//! is more likely wrong than right, `age_gross`.

use crate::dataset::AgeBin;
use crate::stats::{mad_sd, median, student_t_pdf};
use serde::Serialize;

pub const MIN_AGE: f64 = 18.0;
/// The labels' top: "60" means 60 or older.
pub const MAX_AGE: f64 = 60.0;
/// Upper edges of the predicted-age ranges with their own error scale.
const RANGE_EDGES: [f64; 5] = [25.0, 32.0, 40.0, 48.0, 55.0];
/// Ranges with fewer people than this use the scale of all people.
const MIN_PER_RANGE: usize = 30;
/// Degrees of freedom tried for the residual's Student-t.
const DF_CHOICES: [f64; 5] = [3.0, 5.0, 10.0, 30.0, 200.0];
/// The least standard deviation of a reading: labels are whole years and apparent ages vary
/// by at least about a year.
const MIN_SD: f64 = 1.0;
/// A disagreement is an issue when the label is at least this likely wrong.
pub const GROSS_MIN_P: f64 = 0.5;

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

/// The model's error in one range of predicted age.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RangeError {
    /// Median of given - predicted.
    pub bias: f64,
    /// Robust standard deviation of the residual in units of the person's spread.
    pub scale: f64,
    pub people: usize,
}

/// The learnt error model: per range of predicted age, the tail of the errors, and the
/// rate of wrong labels.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct YearsModel {
    pub ranges: Vec<RangeError>,
    /// Degrees of freedom of the residual's Student-t.
    pub df: f64,
    pub noise_rate: f64,
}

fn range_of(predicted: f64) -> usize {
    RANGE_EDGES
        .iter()
        .position(|&e| predicted < e)
        .unwrap_or(RANGE_EDGES.len())
}

/// Density of a wrong label: any whole age 18..60 alike.
const WRONG_DENSITY: f64 = 1.0 / 43.0;

impl YearsModel {
    /// Learns the model from people `(reading, given years)`.
    pub fn fit(people: &[(PersonAge, u32)]) -> Self {
        let fit_range = |sel: &dyn Fn(&PersonAge) -> bool| -> Option<RangeError> {
            let chosen: Vec<&(PersonAge, u32)> = people.iter().filter(|(a, _)| sel(a)).collect();
            let res: Vec<f64> = chosen
                .iter()
                .map(|(a, g)| *g as f64 - a.predicted)
                .collect();
            let bias = median(&res)?;
            let units: Vec<f64> = chosen
                .iter()
                .map(|(a, g)| (*g as f64 - a.predicted - bias) / a.spread)
                .collect();
            let scale = mad_sd(&units, 0.0)?.max(0.05);
            Some(RangeError {
                bias,
                scale,
                people: chosen.len(),
            })
        };
        let all = fit_range(&|_| true).unwrap_or(RangeError {
            bias: 0.0,
            scale: 1.0,
            people: 0,
        });
        let ranges: Vec<RangeError> = (0..=RANGE_EDGES.len())
            .map(|r| match fit_range(&|a| range_of(a.predicted) == r) {
                Some(e) if e.people >= MIN_PER_RANGE => e,
                _ => all,
            })
            .collect();
        let n = people.len().max(1) as f64;
        let fit_with = |df: f64| {
            let mut model = YearsModel {
                ranges: ranges.clone(),
                df,
                noise_rate: 0.02,
            };
            for _ in 0..30 {
                let mean = people
                    .iter()
                    .map(|(a, g)| model.p_wrong(a, *g))
                    .sum::<f64>()
                    / n;
                model.noise_rate = mean.clamp(1e-4, 0.5);
            }
            let log_lik: f64 = people
                .iter()
                .map(|(a, g)| model.likelihood(a, *g).max(1e-300).ln())
                .sum();
            (model, log_lik)
        };
        DF_CHOICES
            .iter()
            .map(|&df| fit_with(df))
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(m, _)| m)
            .unwrap_or(YearsModel {
                ranges,
                df: 5.0,
                noise_rate: 0.02,
            })
    }

    /// The mixture's density of a given age: (right part, wrong part).
    fn parts(&self, a: &PersonAge, given: u32) -> (f64, f64, f64, f64) {
        let e = self.ranges[range_of(a.predicted)];
        let sd = (e.scale * a.spread).max(MIN_SD);
        let u = (given as f64 - a.predicted - e.bias) / sd;
        let right = (1.0 - self.noise_rate) * student_t_pdf(u, self.df) / sd;
        let wrong = self.noise_rate * WRONG_DENSITY;
        (right, wrong, sd, u)
    }

    fn likelihood(&self, a: &PersonAge, given: u32) -> f64 {
        let (right, wrong, _, _) = self.parts(a, given);
        right + wrong
    }

    fn p_wrong(&self, a: &PersonAge, given: u32) -> f64 {
        let (right, wrong, _, _) = self.parts(a, given);
        wrong / (wrong + right)
    }

    /// How the given age compares with the reading. A given age within `boundary_years` of
    /// 30 or 60 is also judged as if it were any age that close to it (a boundary error is
    /// a year or two off), the least suspicious of those deciding whether it is gross.
    pub fn judge(&self, a: &PersonAge, given: u32, boundary_years: u32) -> YearsJudgement {
        let e = self.ranges[range_of(a.predicted)];
        let expected = (a.predicted + e.bias).clamp(MIN_AGE, MAX_AGE);
        let (_, _, sd, u) = self.parts(a, given);
        let p_wrong = self.p_wrong(a, given);
        let near = [29.5, 59.5]
            .iter()
            .any(|b| (given as f64 - b).abs() <= boundary_years as f64 + 0.5);
        let p_wrong_near_boundary = if near {
            let lo = given.saturating_sub(boundary_years).max(MIN_AGE as u32);
            let hi = (given + boundary_years).min(MAX_AGE as u32);
            (lo..=hi)
                .map(|age| self.p_wrong(a, age))
                .fold(p_wrong, f64::min)
        } else {
            p_wrong
        };
        YearsJudgement {
            given,
            expected,
            sd,
            z: u,
            p_wrong,
            p_wrong_near_boundary,
        }
    }
}

/// The verdict on one person's given age.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct YearsJudgement {
    pub given: u32,
    /// The age the model's reading implies (bias-corrected, 18..60).
    pub expected: f64,
    /// Its standard deviation (years).
    pub sd: f64,
    /// Standardised disagreement.
    pub z: f64,
    /// Probability that the given age is wrong.
    pub p_wrong: f64,
    /// The least such probability over ages within `boundary_years` of the given one when
    /// it is that close to 30 or 60 (else `p_wrong`).
    pub p_wrong_near_boundary: f64,
}

/// What a disagreement in years is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum YearsVerdict {
    /// No issue.
    Fits,
    /// Either side of 30 or 60, both within the model's uncertainty of it.
    Boundary,
    /// More likely wrong than right, and no boundary explains it.
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
        let window = (2.0 * self.sd).max(boundary_years as f64 + 0.5);
        let boundary = self.boundary();
        if let Some(b) = boundary {
            if (self.given as f64 - b).abs() <= window && (self.expected - b).abs() <= window {
                return YearsVerdict::Boundary;
            }
        }
        match (
            self.p_wrong >= GROSS_MIN_P,
            self.p_wrong_near_boundary >= GROSS_MIN_P,
        ) {
            (true, true) => YearsVerdict::Gross,
            // A year or two across the boundary would fit: ambiguous, not gross.
            (true, false) if boundary.is_some() => YearsVerdict::Boundary,
            _ => YearsVerdict::Fits,
        }
    }

    /// "given 20, model 47 ± 4".
    pub fn text(&self) -> String {
        format!(
            "given {}, model {:.0} ± {:.0}",
            self.given, self.expected, self.sd
        )
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
        // Given 30 (true 28, a boundary error) read as 20 by a model that is off: a year or
        // two across the boundary would fit better than 30, so not gross.
        let j = model.judge(&reading(19.0), 30, 2);
        assert!(j.p_wrong > j.p_wrong_near_boundary, "{j:?}");
        assert_ne!(j.verdict(2), YearsVerdict::Gross, "{j:?}");
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
