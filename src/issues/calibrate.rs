//! Calibrated probabilities that a given label is wrong, fitted without leaking the labels
//! being scored.
//!
//! Model: the network's probabilities, sharpened or softened by a temperature T, estimate
//! P(true class | photos); the given label equals the true one with probability 1 - pi and
//! is any other class (uniformly) with probability pi. T and pi are fitted by maximum
//! likelihood of the given labels under that noisy channel (pi with `stats::NoisePrior`:
//! a weak model's disagreements fit "high temperature, no wrong labels" as well as the
//! truth), alternating a golden-section search over log T with an EM step for pi. The
//! probability that the given label g is
//! wrong is then the posterior
//!
//! ```text
//! P(wrong | x, g) = (1 - q_g) pi / (K - 1)  /  (q_g (1 - pi) + (1 - q_g) pi / (K - 1))
//! ```
//!
//! Cross-fitting: the units (photos or people) are split into groups (the run's folds from
//! split.csv, else five groups by a hash of the person folder); each group is scored with
//! T and pi fitted on the other groups only, so no label is used to score itself.

use crate::stats::{minimise, NoisePrior};

/// Groups for cross-fitting: the run's fold per person, else a hash of the folder.
pub const HASH_GROUPS: usize = 5;

/// A stable group for a person folder when the run has no split (FNV-1a, mod
/// [`HASH_GROUPS`]).
pub fn hash_group(folder: &str) -> usize {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in folder.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (h % HASH_GROUPS as u64) as usize
}

/// Log-probabilities of `n` units over `k` classes, row-major, with the given labels and
/// each unit's cross-fitting group.
pub struct Evidence<'a> {
    pub log_probs: &'a [f64],
    pub k: usize,
    pub labels: &'a [usize],
    pub groups: &'a [usize],
}

/// A fitted temperature and noise rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Channel {
    pub temperature: f64,
    pub noise_rate: f64,
}

impl Channel {
    /// P(true = c | x) for one unit's log-probabilities.
    pub fn posterior(&self, log_probs: &[f64]) -> Vec<f64> {
        let scaled: Vec<f64> = log_probs.iter().map(|l| l / self.temperature).collect();
        let m = scaled.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let z: f64 = scaled.iter().map(|v| (v - m).exp()).sum();
        scaled.iter().map(|v| (v - m).exp() / z).collect()
    }
    /// P(true = given | x), without allocating.
    pub fn q_given(&self, log_probs: &[f64], given: usize) -> f64 {
        let m = log_probs.iter().copied().fold(f64::NEG_INFINITY, f64::max) / self.temperature;
        let z: f64 = log_probs
            .iter()
            .map(|l| (l / self.temperature - m).exp())
            .sum();
        (log_probs[given] / self.temperature - m).exp() / z
    }
    /// P(the given label is wrong | x, given).
    pub fn p_wrong(&self, log_probs: &[f64], given: usize) -> f64 {
        wrong_given(
            self.q_given(log_probs, given),
            log_probs.len(),
            self.noise_rate,
        )
    }
}

/// The posterior that a label is wrong from q_g = P(true = given | x).
pub fn wrong_given(q_given: f64, k: usize, noise_rate: f64) -> f64 {
    let other = (1.0 - q_given).max(0.0) * noise_rate / (k.max(2) - 1) as f64;
    let right = q_given * (1.0 - noise_rate);
    if other + right <= 0.0 {
        return 0.0;
    }
    other / (other + right)
}

/// Fits T and pi on the units `keep` selects: the likelihood profiled over pi (EM to
/// convergence at each T), maximised over log T by golden-section search.
pub fn fit(ev: &Evidence<'_>, keep: &dyn Fn(usize) -> bool) -> Channel {
    fit_with_prior(ev, keep, NoisePrior::DEFAULT)
}

/// [`fit`] with another prior on pi (strength 0: maximum likelihood).
pub fn fit_with_prior(
    ev: &Evidence<'_>,
    keep: &dyn Fn(usize) -> bool,
    prior: NoisePrior,
) -> Channel {
    let units: Vec<usize> = (0..ev.labels.len()).filter(|&i| keep(i)).collect();
    if units.is_empty() {
        return Channel {
            temperature: 1.0,
            noise_rate: 0.02,
        };
    }
    let row = |i: usize| &ev.log_probs[i * ev.k..(i + 1) * ev.k];
    let other = 1.0 / (ev.k.max(2) - 1) as f64;
    // The best pi and the negative log-likelihood at temperature T.
    let profile = |t: f64| -> (f64, f64) {
        let q: Vec<f64> = units
            .iter()
            .map(|&i| {
                Channel {
                    temperature: t,
                    noise_rate: 0.0,
                }
                .q_given(row(i), ev.labels[i])
            })
            .collect();
        let mut pi = prior.mean;
        for _ in 0..50 {
            let wrong = q.iter().map(|&qg| wrong_given(qg, ev.k, pi)).sum::<f64>();
            let next = prior.update(wrong, q.len() as f64).clamp(1e-4, 0.5);
            let done = (next - pi).abs() < 1e-6;
            pi = next;
            if done {
                break;
            }
        }
        let nll = q
            .iter()
            .map(|&qg| -(qg * (1.0 - pi) + (1.0 - qg) * pi * other).max(1e-300).ln())
            .sum::<f64>()
            - prior.ln_density(pi);
        (pi, nll)
    };
    let log_t = minimise(|lt| profile(lt.exp()).1, (0.05f64).ln(), (20.0f64).ln(), 30);
    let temperature = log_t.exp();
    Channel {
        temperature,
        noise_rate: profile(temperature).0,
    }
}

/// Cross-fitted P(wrong) per unit, and the channel fitted per group.
pub fn cross_fit(ev: &Evidence<'_>) -> (Vec<f64>, Vec<Channel>) {
    let n_groups = ev.groups.iter().copied().max().map_or(0, |g| g + 1);
    let channels: Vec<Channel> = (0..n_groups)
        .map(|g| {
            let others = |i: usize| ev.groups[i] != g;
            // One group only: nothing to hold out; fit on all (noted in the docs).
            if (0..ev.labels.len()).all(|i| ev.groups[i] == g) {
                fit(ev, &|_| true)
            } else {
                fit(ev, &others)
            }
        })
        .collect();
    let p = (0..ev.labels.len())
        .map(|i| {
            channels[ev.groups[i]].p_wrong(&ev.log_probs[i * ev.k..(i + 1) * ev.k], ev.labels[i])
        })
        .collect();
    (p, channels)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::rng::Rng;

    /// Units whose true class is 0 or 1, a model `scale` times over-sharp, a fraction
    /// `flip` of labels flipped.
    fn synthetic(n: usize, scale: f64, flip: f64) -> (Vec<f64>, Vec<usize>, Vec<bool>) {
        synthetic_seeded(n, scale, flip, 7, 1.0)
    }

    /// z ~ N(separation, 1) toward the true class: the calibrated log-odds is
    /// 2 * separation * z, and the model's accuracy Phi(separation) (0.84 at 1, 0.93 at 1.5).
    fn synthetic_seeded(
        n: usize,
        scale: f64,
        flip: f64,
        seed: u64,
        separation: f64,
    ) -> (Vec<f64>, Vec<usize>, Vec<bool>) {
        let mut rng = Rng::new(seed);
        let (mut lp, mut labels, mut wrong) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..n {
            let t = i % 2;
            let z = rng.normal(separation as f32, 1.0) as f64;
            // `scale` over-sharpens the calibrated log-odds.
            let logit = scale * 2.0 * separation * z;
            let p_true = 1.0 / (1.0 + (-logit).exp());
            let mut p = [0.0; 2];
            p[t] = p_true;
            p[1 - t] = 1.0 - p_true;
            lp.extend(p.iter().map(|v: &f64| v.max(1e-12).ln()));
            let w = (rng.unit() as f64) < flip;
            labels.push(if w { 1 - t } else { t });
            wrong.push(w);
        }
        (lp, labels, wrong)
    }

    #[test]
    fn temperature_undoes_overconfidence_and_expected_count_matches() {
        // A model as accurate as the realistic gender head (0.93). A weaker one leaves the
        // rate barely identified even at 6,000 units, and the prior draws it toward 2%.
        let (lp, labels, wrong) = synthetic_seeded(6000, 3.0, 0.05, 7, 1.5);
        let groups: Vec<usize> = (0..labels.len()).map(|i| i % 5).collect();
        let ev = Evidence {
            log_probs: &lp,
            k: 2,
            labels: &labels,
            groups: &groups,
        };
        let (p, channels) = cross_fit(&ev);
        for c in &channels {
            assert!((c.temperature - 3.0).abs() < 0.6, "{c:?}");
            assert!((c.noise_rate - 0.05).abs() < 0.02, "{c:?}");
        }
        let expected: f64 = p.iter().sum();
        let actual = wrong.iter().filter(|&&w| w).count() as f64;
        assert!(
            (expected - actual).abs() < 0.2 * actual,
            "{expected} vs {actual}"
        );
        // Calibration: among units scored above 0.5, the share really wrong is near their
        // mean score.
        let (hits, sum, cnt) = p
            .iter()
            .zip(&wrong)
            .filter(|(&q, _)| q > 0.5)
            .fold((0.0, 0.0, 0.0), |(h, s, c), (&q, &w)| {
                (h + f64::from(u8::from(w)), s + q, c + 1.0)
            });
        assert!(cnt > 50.0);
        assert!(
            (hits / cnt - sum / cnt).abs() < 0.12,
            "{} vs {}",
            hits / cnt,
            sum / cnt
        );
    }

    #[test]
    fn a_small_run_estimates_the_rate_of_wrong_labels_near_the_truth_not_at_zero() {
        // 300 units, 3% flipped, an over-sharp model: maximum likelihood alone swings from
        // "no wrong labels" to twice the truth from one draw to the next; the prior holds it.
        let (mut mle_err, mut map_err, mut mle_least, mut map_least) = (0.0, 0.0, 1.0f64, 1.0f64);
        for seed in 0..8 {
            let (lp, labels, wrong) = synthetic_seeded(300, 3.0, 0.03, seed, 1.0);
            let real = wrong.iter().filter(|&&w| w).count() as f64 / wrong.len() as f64;
            let ev = Evidence {
                log_probs: &lp,
                k: 2,
                labels: &labels,
                groups: &vec![0; labels.len()],
            };
            let likelihood_only = NoisePrior {
                mean: 0.02,
                strength: 0.0,
            };
            let mle = fit_with_prior(&ev, &|_| true, likelihood_only).noise_rate;
            let map = fit(&ev, &|_| true).noise_rate;
            mle_err += (mle - real).abs();
            map_err += (map - real).abs();
            mle_least = mle_least.min(mle);
            map_least = map_least.min(map);
        }
        assert!(mle_least < 0.006, "{mle_least}");
        assert!(map_least > 0.012, "{map_least}");
        assert!(map_err < 0.6 * mle_err, "{map_err} vs {mle_err}");
    }

    #[test]
    fn a_unit_is_never_scored_by_a_fit_that_saw_its_label() {
        // Group 0 holds every flipped label; its channel is fitted on the clean groups, so
        // it sees almost no noise, while the others see group 0's.
        let (lp, mut labels, _) = synthetic(3000, 1.0, 0.0);
        let groups: Vec<usize> = (0..labels.len()).map(|i| i % 3).collect();
        for (i, l) in labels.iter_mut().enumerate() {
            if groups[i] == 0 && i % 9 == 0 {
                *l = 1 - *l;
            }
        }
        let ev = Evidence {
            log_probs: &lp,
            k: 2,
            labels: &labels,
            groups: &groups,
        };
        let (_, channels) = cross_fit(&ev);
        assert!(channels[0].noise_rate < 0.02, "{:?}", channels[0]);
        assert!(channels[1].noise_rate > 0.04, "{:?}", channels[1]);
        assert!(hash_group("000001_female_Asian_45") < HASH_GROUPS);
    }
}
