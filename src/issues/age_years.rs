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
//!    with 5 degrees of freedom at that bias and scale) or wrong (any age 18..60 alike);
//!    pi is fitted by EM. The posterior of "wrong" is the probability.
//! 4. Cross-fitting: each person is judged with the bias, scale and pi learnt on the
//!    other folds (or person-hash groups).
//!
//! A disagreement is an `age_boundary` case when the given age and the model's reading
//! lie on either side of the 30 or 60 boundary and both within the model's uncertainty
//! (two standard deviations, at least `boundary_years`) of it; otherwise, when the label
//! is more likely wrong than right, `age_gross`.

use crate::dataset::AgeBin;
use crate::stats::{mad_sd, median};
use serde::Serialize;

pub const MIN_AGE: f64 = 18.0;
/// The labels' top: "60" means 60 or older.
pub const MAX_AGE: f64 = 60.0;
/// Upper edges of the predicted-age ranges with their own error scale.
const RANGE_EDGES: [f64; 5] = [25.0, 32.0, 40.0, 48.0, 55.0];
/// Ranges with fewer people than this use the scale of all people.
const MIN_PER_RANGE: usize = 30;
/// Degrees of freedom of the residual's Student-t.
const DF: f64 = 5.0;
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

/// The learnt error model: per range of predicted age, and the rate of wrong labels.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct YearsModel {
    pub ranges: Vec<RangeError>,
    pub noise_rate: f64,
}

fn range_of(predicted: f64) -> usize {
    RANGE_EDGES
        .iter()
        .position(|&e| predicted < e)
        .unwrap_or(RANGE_EDGES.len())
}

/// Student-t density (location 0, scale 1, [`DF`] degrees of freedom).
fn t_density(u: f64) -> f64 {
    // Gamma(3) / (Gamma(2.5) sqrt(5 pi)) for 5 degrees of freedom.
    const NORM: f64 = 0.379_606_689_822_494_1;
    NORM * (1.0 + u * u / DF).powf(-(DF + 1.0) / 2.0)
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
        let mut model = YearsModel {
            ranges,
            noise_rate: 0.02,
        };
        for _ in 0..30 {
            let mean = people
                .iter()
                .map(|(a, g)| model.judge(a, *g).p_wrong)
                .sum::<f64>()
                / people.len().max(1) as f64;
            model.noise_rate = mean.clamp(1e-4, 0.5);
        }
        model
    }

    /// How the given age compares with the reading.
    pub fn judge(&self, a: &PersonAge, given: u32) -> YearsJudgement {
        let e = self.ranges[range_of(a.predicted)];
        let expected = (a.predicted + e.bias).clamp(MIN_AGE, MAX_AGE);
        let sd = (e.scale * a.spread).max(0.5);
        let u = (given as f64 - a.predicted - e.bias) / sd;
        let right = (1.0 - self.noise_rate) * t_density(u) / sd;
        let wrong = self.noise_rate * WRONG_DENSITY;
        YearsJudgement {
            given,
            expected,
            sd,
            z: u,
            p_wrong: wrong / (wrong + right),
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
        let (g, m) = (AgeBin::from_years(self.given).index(), self.expected_bin().index());
        match (g.min(m), g.max(m)) {
            (0, 1) => Some(29.5),
            (1, 2) => Some(59.5),
            _ => None,
        }
    }

    pub fn verdict(&self, boundary_years: u32) -> YearsVerdict {
        let window = (2.0 * self.sd).max(boundary_years as f64 + 0.5);
        if let Some(b) = self.boundary() {
            if (self.given as f64 - b).abs() <= window && (self.expected - b).abs() <= window {
                return YearsVerdict::Boundary;
            }
        }
        if self.p_wrong >= GROSS_MIN_P {
            YearsVerdict::Gross
        } else {
            YearsVerdict::Fits
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
                let given = if i % 100 == 0 { if truth < 40 { 58 } else { 20 } } else { truth };
                (reading(pred), given)
            })
            .collect()
    }

    #[test]
    fn a_few_years_off_near_60_is_a_boundary_case_never_gross() {
        let model = YearsModel::fit(&population());
        // The model reads a 56-year-old as 61 (capped to 60).
        let j = model.judge(&reading(60.0), 56);
        assert!(j.p_wrong < GROSS_MIN_P, "{j:?}");
        assert_eq!(j.verdict(2), YearsVerdict::Boundary);
        // And 29 read as 33: boundary too.
        assert_eq!(model.judge(&reading(33.0), 29).verdict(2), YearsVerdict::Boundary);
        // 45 read as 47: fits.
        assert_eq!(model.judge(&reading(47.0), 45).verdict(2), YearsVerdict::Fits);
    }

    #[test]
    fn twenty_read_as_forty_seven_is_gross_with_years_text() {
        let model = YearsModel::fit(&population());
        assert!((model.noise_rate - 0.01).abs() < 0.01, "{model:?}");
        let j = model.judge(&reading(47.0), 20);
        assert!(j.p_wrong > 0.99, "{j:?}");
        assert_eq!(j.verdict(2), YearsVerdict::Gross);
        assert!(j.text().starts_with("given 20, model 4"), "{}", j.text());
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
