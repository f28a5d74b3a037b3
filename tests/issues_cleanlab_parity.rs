//! Parity with cleanlab 2.9.0 on the fixtures written by scripts/make_cleanlab_fixtures.py
//! (cleanlab run on random and adversarial cases). Flagged sets must be identical except
//! for rows the fixture marks ambiguous (exact ties at a cut, where NumPy's unstable sort
//! decides), and ranked orders must agree up to exact ties of cleanlab's scores.

use mask_curator::arrays::{read_npy, NpyData};
use mask_curator::issues::cleanlab::{
    ensemble_scores, estimate_joint, estimate_py_and_noise_matrices, find_label_issues,
    find_label_issues_ranked, label_quality_scores, num_label_issues, EnsembleWeighting, FilterBy,
    FindOptions, NumIssuesMethod, RankBy, RankOptions, SquareMatrix,
};
use mask_curator::issues::probs::labels_from_i64;
use mask_curator::issues::{Prob, ProbView};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cleanlab")
}

fn f64s(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}
fn usizes(v: &Value) -> Vec<usize> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect()
}

fn close(a: &[f64], b: &[f64], tol: f64, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= tol * y.abs().max(1.0),
            "{what}[{i}]: ours {x} cleanlab {y}"
        );
    }
}

fn load_probs(path: &Path) -> NpyData {
    read_npy(path).unwrap().data
}

struct Case {
    name: String,
    exp: Value,
    labels: Vec<usize>,
    dir: PathBuf,
}

fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    let mut dirs: Vec<_> = std::fs::read_dir(fixtures_dir())
        .expect("tests/fixtures/cleanlab is missing: run scripts/make_cleanlab_fixtures.py")
        .map(|e| e.unwrap().path())
        .collect();
    dirs.sort();
    for dir in dirs {
        let exp: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap())
                .unwrap();
        let NpyData::I64(l) = read_npy(&dir.join("labels.npy")).unwrap().data else {
            panic!("labels must be int64")
        };
        let k = exp["k"].as_u64().unwrap() as usize;
        let labels = labels_from_i64(&l, k).unwrap();
        out.push(Case {
            name: exp["name"].as_str().unwrap().to_string(),
            exp,
            labels,
            dir,
        });
    }
    assert!(
        out.len() >= 10,
        "expected the full fixture set, found {}",
        out.len()
    );
    out
}

fn rank_opts(run: &Value) -> Option<RankOptions> {
    let method = RankBy::parse(run.get("rank_by")?.as_str()?)?;
    let adjust = run
        .get("adjust_pred_probs")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    Some(RankOptions {
        method,
        adjust_pred_probs: adjust,
    })
}

fn check_case<T: Prob>(case: &Case, data: &[T]) {
    let exp = &case.exp;
    let name = &case.name;
    let k = exp["k"].as_u64().unwrap() as usize;
    let probs = ProbView::new(data, k).unwrap();
    let labels = &case.labels;
    let tie = exp["calibration_rounding_tie"].as_bool().unwrap();

    let base = find_label_issues(labels, probs, &FindOptions::default()).unwrap();
    assert_eq!(
        base.thresholds.values,
        f64s(&exp["thresholds"]),
        "{name}: thresholds"
    );
    assert_eq!(
        base.raw_joint.data,
        f64s(&exp["raw_joint"]),
        "{name}: raw confident joint"
    );
    let cal_expected = SquareMatrix {
        k,
        data: f64s(&exp["calibrated_joint"]),
    };
    let cal_ours = &base.confident_joint;
    if tie {
        // Equal remainders at the rounding cut: any choice keeps row totals and moves
        // single units only.
        for r in 0..k {
            let a: f64 = cal_ours.row(r).iter().sum();
            let b: f64 = cal_expected.row(r).iter().sum();
            assert_eq!(a, b, "{name}: calibrated row {r} total");
        }
        for (a, b) in cal_ours.data.iter().zip(&cal_expected.data) {
            assert!((a - b).abs() <= 1.0, "{name}: calibrated joint {a} vs {b}");
        }
    } else {
        assert_eq!(cal_ours.data, cal_expected.data, "{name}: calibrated joint");
    }
    let counts = {
        let mut c = vec![0usize; k];
        for &l in labels {
            c[l] += 1;
        }
        c
    };
    let _ = counts;

    let nli = &exp["num_label_issues"];
    assert_eq!(
        num_label_issues(labels, probs, &NumIssuesMethod::OffDiagonal, 0).unwrap(),
        nli["off_diagonal"].as_u64().unwrap() as usize,
        "{name}: num_label_issues off_diagonal"
    );
    assert_eq!(
        num_label_issues(
            labels,
            probs,
            &NumIssuesMethod::OffDiagonalCustom(cal_expected.clone()),
            0
        )
        .unwrap(),
        nli["off_diagonal_custom"].as_u64().unwrap() as usize,
        "{name}: num_label_issues off_diagonal_custom"
    );
    let calibrated =
        num_label_issues(labels, probs, &NumIssuesMethod::OffDiagonalCalibrated, 0).unwrap();
    let expected = nli["off_diagonal_calibrated"].as_u64().unwrap() as usize;
    if tie {
        assert!(
            calibrated.abs_diff(expected) <= k,
            "{name}: calibrated {calibrated} vs {expected}"
        );
    } else {
        assert_eq!(
            calibrated, expected,
            "{name}: num_label_issues off_diagonal_calibrated"
        );
        close(
            &estimate_joint(labels, probs, 0).unwrap().data,
            &f64s(&exp["estimate_joint"]),
            1e-12,
            "estimate_joint",
        );
        for (key, conv) in [("latent_converged", true), ("latent", false)] {
            let (lat, _) = estimate_py_and_noise_matrices(labels, probs, conv, 0).unwrap();
            close(
                &lat.py,
                &f64s(&exp[key]["py"]),
                1e-9,
                &format!("{name}: {key} py"),
            );
            close(
                &lat.noise_matrix.data,
                &f64s(&exp[key]["noise_matrix"]),
                1e-9,
                &format!("{name}: {key} nm"),
            );
            close(
                &lat.inverse_noise_matrix.data,
                &f64s(&exp[key]["inverse_noise_matrix"]),
                1e-9,
                &format!("{name}: {key} inv"),
            );
        }
    }

    // Scores for every row.
    for (key, values) in exp["scores"].as_object().unwrap() {
        let (method, adjust) = match key.strip_suffix("_adjusted") {
            Some(m) => (m, true),
            None => (key.as_str(), false),
        };
        let opts = RankOptions {
            method: RankBy::parse(method).unwrap(),
            adjust_pred_probs: adjust,
        };
        let ours = label_quality_scores(labels, probs, opts).unwrap();
        let tol = if T::DTYPE == "float32" { 1e-6 } else { 1e-12 };
        close(&ours, &f64s(values), tol, &format!("{name}: scores {key}"));
    }

    for run in exp["runs"].as_array().unwrap() {
        let filter_by = FilterBy::parse(run["filter_by"].as_str().unwrap()).unwrap();
        let label = format!(
            "{name}: {run}",
            run = serde_json::to_string(run.get("filter_by").unwrap()).unwrap()
        );
        let mut opts = FindOptions {
            filter_by,
            frac_noise: run.get("frac_noise").and_then(Value::as_f64).unwrap_or(1.0),
            min_examples_per_class: run
                .get("min_examples_per_class")
                .and_then(Value::as_u64)
                .unwrap_or(1) as usize,
            num_to_remove_per_class: run.get("num_to_remove_per_class").map(usizes),
            ..Default::default()
        };
        if tie {
            // Prune from cleanlab's own joint so the pruning itself is compared exactly.
            opts.confident_joint = Some(cal_expected.clone());
        }
        let (issues, ranked) = match rank_opts(run) {
            Some(r) => {
                let (i, ranked) = find_label_issues_ranked(labels, probs, &opts, r).unwrap();
                (i, Some(ranked))
            }
            None => (find_label_issues(labels, probs, &opts).unwrap(), None),
        };
        if let (Some(pc), Some(ours)) = (run.get("prune_counts"), &issues.prune_counts) {
            if !run["prune_rounding_tie"].as_bool().unwrap_or(false) {
                assert_eq!(ours.data, f64s(pc), "{label}: prune counts {run}");
            }
        }
        let ambiguous: BTreeSet<usize> = usizes(&run["ambiguous"]).into_iter().collect();
        let theirs: BTreeSet<usize> = usizes(&run["flagged"]).into_iter().collect();
        let ours: BTreeSet<usize> = issues.flagged().into_iter().collect();
        let differ: Vec<usize> = ours.symmetric_difference(&theirs).copied().collect();
        assert!(
            differ.iter().all(|i| ambiguous.contains(i)),
            "{label}: flagged sets differ outside exact ties: {differ:?} (ours {} cleanlab {}) {run}",
            ours.len(),
            theirs.len()
        );
        if ambiguous.is_empty() {
            assert_eq!(ours, theirs, "{label}");
        }
        if let Some(ranked) = ranked {
            let expected_order = usizes(&run["ranked"]);
            let their_scores = f64s(&run["ranked_scores"]);
            let score_of: std::collections::HashMap<usize, f64> = expected_order
                .iter()
                .copied()
                .zip(their_scores.iter().copied())
                .collect();
            let tol = if T::DTYPE == "float32" { 1e-6 } else { 1e-12 };
            let mut last = f64::NEG_INFINITY;
            for (row, score) in ranked.iter().filter(|(r, _)| score_of.contains_key(r)) {
                let s = score_of[row];
                assert!(
                    (score - s).abs() <= tol * s.abs().max(1.0),
                    "{label}: score of {row}"
                );
                assert!(
                    s >= last,
                    "{label}: row {row} out of order ({s} after {last})"
                );
                last = s;
            }
        }
    }

    if let Some(ens) = exp.get("ensemble") {
        let members: Vec<NpyData> = (0..3)
            .map(|i| load_probs(&case.dir.join(format!("member{i}.npy"))))
            .collect();
        let views: Vec<ProbView<'_, f64>> = members
            .iter()
            .map(|m| match m {
                NpyData::F64(v) => ProbView::new(v, k).unwrap(),
                _ => panic!("members are float64"),
            })
            .collect();
        for (key, values) in ens.as_object().unwrap() {
            let (method, weighting) = key.split_once('/').unwrap();
            let weighting = match weighting {
                "uniform" => EnsembleWeighting::Uniform,
                "accuracy" => EnsembleWeighting::Accuracy,
                _ => EnsembleWeighting::Custom(vec![0.5, 0.3, 0.2]),
            };
            let opts = RankOptions {
                method: RankBy::parse(method).unwrap(),
                adjust_pred_probs: false,
            };
            let (ours, _) = ensemble_scores(labels, &views, opts, &weighting).unwrap();
            close(
                &ours,
                &f64s(values),
                1e-12,
                &format!("{name}: ensemble {key}"),
            );
        }
    }
}

#[test]
fn cleanlab_parity_on_every_fixture() {
    for case in cases() {
        match load_probs(&case.dir.join("probs.npy")) {
            NpyData::F32(v) => check_case(&case, &v),
            NpyData::F64(v) => check_case(&case, &v),
            other => panic!("{}: probabilities are {}", case.name, other.dtype_name()),
        }
    }
}
