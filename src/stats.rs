//! Small numeric helpers shared by the issue engine and the simulator: the normal
//! distribution, robust location and scale, and a one-dimensional minimiser.

/// Standard normal cumulative distribution, |error| < 1.5e-7 (Abramowitz-Stegun 7.1.26 on
/// erf, applied symmetrically).
pub fn normal_cdf(x: f64) -> f64 {
    let z = x / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * z.abs());
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erf = 1.0 - poly * (-z * z).exp();
    if z >= 0.0 {
        0.5 * (1.0 + erf)
    } else {
        0.5 * (1.0 - erf)
    }
}

/// Standard normal density.
pub fn normal_pdf(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// Inverse of [`normal_cdf`] (Acklam's rational approximation, relative error < 1.2e-9),
/// for p in (0, 1); the ends map to +-8.
pub fn normal_quantile(p: f64) -> f64 {
    if p <= 0.0 {
        return -8.0;
    }
    if p >= 1.0 {
        return 8.0;
    }
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < 0.024_25 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.024_25 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

/// ln Gamma(x) for x > 0 (Lanczos, g = 7, 9 terms; |error| < 1e-13 here).
pub fn ln_gamma(x: f64) -> f64 {
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + 7.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// Density of Student's t with `df` degrees of freedom (location 0, scale 1).
pub fn student_t_pdf(u: f64, df: f64) -> f64 {
    let ln_norm =
        ln_gamma((df + 1.0) / 2.0) - ln_gamma(df / 2.0) - 0.5 * (df * std::f64::consts::PI).ln();
    (ln_norm - (df + 1.0) / 2.0 * (1.0 + u * u / df).ln()).exp()
}

/// Median of the values (the mean of the two middle ones for an even count); `None` when
/// empty.
pub fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    })
}

/// The `q` quantile (0..1) of sorted values, interpolated linearly between neighbours as
/// NumPy's default `percentile` does; `None` when empty.
pub fn quantile_sorted(sorted: &[f64], q: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let pos = q.clamp(0.0, 1.0) * last as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    Some(sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64))
}

/// Median absolute deviation scaled to a normal's standard deviation (x 1.4826).
pub fn mad_sd(values: &[f64], center: f64) -> Option<f64> {
    let dev: Vec<f64> = values.iter().map(|v| (v - center).abs()).collect();
    median(&dev).map(|m| 1.4826 * m)
}

/// A Beta prior on a field's rate of wrong labels, for the EM fits that estimate it.
///
/// From the labels and the model's probabilities alone, a rate of wrong labels cannot be
/// told apart from a model that misses some people badly: a weak run's own misses look
/// like label errors (the trained demo's quick run read a dozen people in their forties as
/// about 21, and the fit without a prior called 7-10% of its age labels wrong, against 1-2%
/// injected). The prior says what labelling rarely exceeds: its mean is a typical rate, and
/// its strength the number of units it weighs as. At 2,700 people the data outweigh it; on
/// a 300-person run it holds the estimate near the typical rate unless the evidence is
/// strong.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NoisePrior {
    pub mean: f64,
    pub strength: f64,
}

impl NoisePrior {
    /// 2% wrong labels, weighing as 100 units.
    pub const DEFAULT: NoisePrior = NoisePrior {
        mean: 0.02,
        strength: 100.0,
    };

    /// The EM update: the posterior-mode rate given `expected_wrong` wrong labels expected
    /// among `units`.
    pub fn update(&self, expected_wrong: f64, units: f64) -> f64 {
        (expected_wrong + self.mean * self.strength) / (units + self.strength)
    }

    /// The prior's log-density at `rate`, up to a constant.
    pub fn ln_density(&self, rate: f64) -> f64 {
        let r = rate.clamp(1e-12, 1.0 - 1e-12);
        self.mean * self.strength * r.ln() + (1.0 - self.mean) * self.strength * (1.0 - r).ln()
    }
}

/// The minimum of a unimodal `f` on [lo, hi] by golden-section search (`iters` steps).
pub fn minimise(f: impl Fn(f64) -> f64, mut lo: f64, mut hi: f64, iters: usize) -> f64 {
    let g = (5f64.sqrt() - 1.0) / 2.0;
    let mut a = hi - g * (hi - lo);
    let mut b = lo + g * (hi - lo);
    let (mut fa, mut fb) = (f(a), f(b));
    for _ in 0..iters {
        if fa < fb {
            hi = b;
            b = a;
            fb = fa;
            a = hi - g * (hi - lo);
            fa = f(a);
        } else {
            lo = a;
            a = b;
            fa = fb;
            b = lo + g * (hi - lo);
            fb = f(b);
        }
    }
    0.5 * (lo + hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_like_numpy() {
        let v = [0.0, 1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile_sorted(&v, 0.5), Some(2.0));
        assert!((quantile_sorted(&v, 0.99).unwrap() - 3.96).abs() < 1e-12);
        assert!((quantile_sorted(&v, 0.05).unwrap() - 0.2).abs() < 1e-12);
        assert_eq!(quantile_sorted(&[], 0.5), None);
    }

    #[test]
    fn normal_cdf_and_quantile_agree_with_known_values() {
        assert!((normal_cdf(0.0) - 0.5).abs() < 1e-7);
        assert!((normal_cdf(1.959_964) - 0.975).abs() < 1e-6);
        assert!((normal_cdf(-1.0) - 0.158_655_25).abs() < 1e-6);
        for p in [0.001, 0.02, 0.3, 0.5, 0.855, 0.934, 0.997] {
            assert!((normal_cdf(normal_quantile(p)) - p).abs() < 1e-6, "{p}");
        }
    }

    #[test]
    fn robust_scale_ignores_an_outlier() {
        let v = [1.0, 2.0, 3.0, 4.0, 100.0];
        assert_eq!(median(&v), Some(3.0));
        assert!((mad_sd(&v, 3.0).unwrap() - 1.4826).abs() < 1e-12);
        assert_eq!(median(&[]), None);
        let x = minimise(|x| (x - 1.3).powi(2), -5.0, 5.0, 60);
        // Gamma(5) = 24; t with 5 degrees of freedom at 0; a large df approaches the normal.
        assert!((ln_gamma(5.0) - 24f64.ln()).abs() < 1e-10);
        assert!((student_t_pdf(0.0, 5.0) - 0.379_606_689_822_494_1).abs() < 1e-9);
        assert!((student_t_pdf(1.5, 1e6) - normal_pdf(1.5)).abs() < 1e-5);
        assert!((x - 1.3).abs() < 1e-6, "{x}");
    }
}
