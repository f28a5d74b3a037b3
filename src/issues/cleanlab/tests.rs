use super::*;

fn view(p: &[f64], k: usize) -> ProbView<'_, f64> {
    ProbView::new(p, k).unwrap()
}

/// 12 examples, K = 3: four per class, with two clear mislabels (rows 3 and 7) and one
/// borderline row (11).
fn small() -> (Vec<usize>, Vec<f64>) {
    let labels = vec![0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2];
    #[rustfmt::skip]
    let p = vec![
        0.9, 0.05, 0.05,
        0.8, 0.1, 0.1,
        0.85, 0.1, 0.05,
        0.05, 0.9, 0.05, // labelled 0, clearly 1
        0.1, 0.8, 0.1,
        0.2, 0.7, 0.1,
        0.1, 0.85, 0.05,
        0.05, 0.05, 0.9, // labelled 1, clearly 2
        0.1, 0.1, 0.8,
        0.05, 0.05, 0.9,
        0.1, 0.2, 0.7,
        0.3, 0.35, 0.35, // labelled 2, ambiguous tie between 1 and 2 resolves to given
    ];
    (labels, p)
}

fn flagged(labels: &[usize], p: &[f64], filter_by: FilterBy) -> Vec<usize> {
    let opts = FindOptions {
        filter_by,
        ..Default::default()
    };
    find_label_issues(labels, view(p, 3), &opts)
        .unwrap()
        .flagged()
}

#[test]
fn every_mode_flags_the_clear_mislabels() {
    let (labels, p) = small();
    for mode in FilterBy::ALL {
        let f = flagged(&labels, &p, mode);
        assert!(f.contains(&3) && f.contains(&7), "{}: {f:?}", mode.name());
        // Row 11's given label ties the best other class: never flagged by modes with the
        // predicted == given post-filter.
        if !matches!(
            mode,
            FilterBy::LowSelfConfidence | FilterBy::LowNormalizedMargin
        ) {
            assert!(!f.contains(&11), "{}: {f:?}", mode.name());
        }
    }
}

#[test]
fn confident_joint_counts_and_off_diagonals() {
    let (labels, p) = small();
    let counts = validate(&labels, view(&p, 3)).unwrap();
    let cj = compute_confident_joint(
        &labels,
        view(&p, 3),
        &counts,
        MultiConfidentRule::ArgmaxAll,
        1,
    );
    assert_eq!(cj.off_diagonal, vec![3, 7]);
    assert_eq!(cj.raw.get(0, 1), 1.0);
    assert_eq!(cj.raw.get(1, 2), 1.0);
    // Calibrated rows sum to the class counts.
    for r in 0..3 {
        assert_eq!(cj.calibrated.row(r).iter().sum::<f64>(), 4.0);
    }
    let joint = estimate_joint(&labels, view(&p, 3), 1).unwrap();
    assert!((joint.data.iter().sum::<f64>() - 1.0).abs() < 1e-12);
}

#[test]
fn frac_noise_and_num_to_remove_shrink_the_prune_budget() {
    let (labels, p) = small();
    let opts = FindOptions {
        frac_noise: 0.0,
        ..Default::default()
    };
    assert!(find_label_issues(&labels, view(&p, 3), &opts)
        .unwrap()
        .flagged()
        .is_empty());
    let opts = FindOptions {
        filter_by: FilterBy::PruneByClass,
        num_to_remove_per_class: Some(vec![1, 0, 0]),
        ..Default::default()
    };
    // Rows of the prune matrix are true classes: true class 0 has no noise here, and
    // cleanlab's rescaling divides by it (NaN); we refuse instead.
    let e = find_label_issues(&labels, view(&p, 3), &opts).unwrap_err();
    assert!(
        e.to_string().contains("class 0 has no estimated noise"),
        "{e}"
    );
    let opts = FindOptions {
        filter_by: FilterBy::ConfidentLearning,
        num_to_remove_per_class: Some(vec![1, 0, 0]),
        ..Default::default()
    };
    assert!(matches!(
        find_label_issues(&labels, view(&p, 3), &opts),
        Err(InputError::Option(_))
    ));
    let opts = FindOptions {
        frac_noise: 1.5,
        ..Default::default()
    };
    assert!(find_label_issues(&labels, view(&p, 3), &opts).is_err());
}

#[test]
fn small_classes_are_protected_by_min_examples_per_class() {
    let (labels, p) = small();
    let opts = FindOptions {
        min_examples_per_class: 4,
        ..Default::default()
    };
    let r = find_label_issues(&labels, view(&p, 3), &opts).unwrap();
    assert!(r.flagged().is_empty());
    assert_eq!(r.warnings.len(), 3);
}

#[test]
fn absent_class_gets_the_big_threshold_and_is_never_guessed() {
    // Class 2 never appears in the labels; rows that look like class 2 cannot be counted
    // into it, but still count elsewhere.
    let labels = vec![0, 0, 0, 1, 1, 1];
    let p = vec![
        0.9, 0.1, 0.0, 0.8, 0.2, 0.0, 0.0, 0.05, 0.95, 0.1, 0.9, 0.0, 0.2, 0.8, 0.0, 0.1, 0.1, 0.8,
    ];
    let r = find_label_issues(&labels, view(&p, 3), &FindOptions::default()).unwrap();
    assert_eq!(r.thresholds.values[2], 2.0);
    assert_eq!(r.raw_joint.get(0, 2), 0.0);
    assert_eq!(r.raw_joint.get(2, 2), 1.0, "at least one on the diagonal");
}

#[test]
fn ranking_orders_by_score_with_ties_by_row() {
    let (labels, p) = small();
    let opts = FindOptions {
        filter_by: FilterBy::PredictedNeqGiven,
        ..Default::default()
    };
    let (_, ranked) =
        find_label_issues_ranked(&labels, view(&p, 3), &opts, RankOptions::default()).unwrap();
    let rows: Vec<usize> = ranked.iter().map(|r| r.0).collect();
    // Both have self-confidence 0.05: the tie keeps row order.
    assert_eq!(rows, vec![3, 7]);
    let (_, ranked) = find_label_issues_ranked(
        &labels,
        view(&p, 3),
        &opts,
        RankOptions {
            method: RankBy::NormalizedMargin,
            adjust_pred_probs: false,
        },
    )
    .unwrap();
    assert_eq!(ranked[0].1, (0.05 - 0.9 + 1.0) / 2.0);
}

#[test]
fn num_label_issues_methods() {
    let (labels, p) = small();
    let v = view(&p, 3);
    assert_eq!(
        num_label_issues(&labels, v, &NumIssuesMethod::OffDiagonal, 1).unwrap(),
        2
    );
    let cal = num_label_issues(&labels, v, &NumIssuesMethod::OffDiagonalCalibrated, 1).unwrap();
    assert!((1..=4).contains(&cal), "{cal}");
    let custom = SquareMatrix {
        k: 3,
        data: vec![4.0, 0.0, 0.0, 0.0, 4.0, 0.0, 0.0, 0.0, 4.0],
    };
    assert_eq!(
        num_label_issues(&labels, v, &NumIssuesMethod::OffDiagonalCustom(custom), 1).unwrap(),
        0
    );
}

#[test]
fn noise_matrices_are_column_stochastic() {
    let (labels, p) = small();
    let (lat, _) = estimate_py_and_noise_matrices(&labels, view(&p, 3), true, 1).unwrap();
    for m in [&lat.noise_matrix, &lat.inverse_noise_matrix] {
        for c in 0..3 {
            let s: f64 = (0..3).map(|r| m.get(r, c)).sum();
            assert!((s - 1.0).abs() < 1e-9, "{m:?}");
        }
    }
    assert!((lat.py.iter().sum::<f64>() - 1.0).abs() < 1e-9);
}

#[test]
fn threads_do_not_change_results() {
    // Large enough to be split between threads.
    let k = 3;
    let n = MIN_CELLS_TO_SPLIT / k + 1000;
    let mut labels = Vec::with_capacity(n);
    let mut p = Vec::with_capacity(n * k);
    let mut state = 12345u64;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 33) as f64) / (1u64 << 31) as f64
    };
    for _ in 0..n {
        let a = next();
        let b = next();
        let c = next();
        let s = a + b + c;
        p.extend([(a / s) as f32, (b / s) as f32, (c / s) as f32]);
        labels.push((next() * 3.0) as usize % 3);
    }
    let v = ProbView::new(&p, k).unwrap();
    for mode in FilterBy::ALL {
        let one = FindOptions {
            filter_by: mode,
            threads: 1,
            ..Default::default()
        };
        let two = FindOptions {
            filter_by: mode,
            threads: 2,
            ..Default::default()
        };
        let a = find_label_issues(&labels, v, &one).unwrap();
        let b = find_label_issues(&labels, v, &two).unwrap();
        assert_eq!(a.mask, b.mask, "{}", mode.name());
        assert!(a.flagged().len() > 100, "{}", mode.name());
    }
}

#[test]
fn reduce_issues_is_computed_in_the_dtype() {
    // In float32, 0.5 + 1e-6 rounds to 0.50000101; a competitor at 0.500001 (f32) ties it,
    // and a tie before the label wins the argmax.
    let bumped = 0.5f32 + 1e-6f32;
    assert!(!given_label_wins(&[bumped, 0.5f32], 1));
    assert!(given_label_wins(&[0.5f32, bumped], 0));
    assert!(given_label_wins(&[0.5f32, 0.5f32], 1));
}

#[test]
fn the_fused_validation_reports_what_validate_reports() {
    let k = 2;
    let n = MIN_CELLS_TO_SPLIT / k + 10;
    let labels: Vec<usize> = (0..n).map(|i| i % 2).collect();
    let clean: Vec<f32> = (0..n)
        .flat_map(|i| if i % 3 == 0 { [0.3, 0.7] } else { [0.8, 0.2] })
        .collect();
    let opts = FindOptions::default();
    // A bad cell in the second thread's half, and a worse one later: the first is named.
    let mut p = clean.clone();
    p[2 * (n - 20) + 1] = 1.5;
    p[2 * (n - 5)] = f32::NAN;
    let err = find_label_issues(&labels, ProbView::new(&p, k).unwrap(), &opts).unwrap_err();
    assert_eq!(
        err,
        validate(&labels, ProbView::new(&p, k).unwrap()).unwrap_err()
    );
    assert!(matches!(err, InputError::OutOfRange { row, col: 1, .. } if row == n - 20));
    // Just inside the tolerance passes, just outside fails, in float32 as in float64.
    let mut p = clean.clone();
    // 1 + 8 ulps is 1.00000095, 1 + 10 ulps is 1.0000012.
    p[7] = 1.0 + 8.0 * f32::EPSILON;
    p[8] = -9e-7;
    assert!(find_label_issues(&labels, ProbView::new(&p, k).unwrap(), &opts).is_ok());
    p[9] = 1.0 + 10.0 * f32::EPSILON;
    assert!(matches!(
        find_label_issues(&labels, ProbView::new(&p, k).unwrap(), &opts),
        Err(InputError::OutOfRange { row: 4, col: 1, .. })
    ));
    // A bad label wins over a bad value, as in validate.
    let mut bad_labels = labels.clone();
    bad_labels[n - 1] = 2;
    let mut p = clean.clone();
    p[0] = -1.0;
    assert_eq!(
        find_label_issues(&bad_labels, ProbView::new(&p, k).unwrap(), &opts).unwrap_err(),
        InputError::LabelOutOfRange {
            row: n - 1,
            label: 2,
            k
        }
    );
    let one_class = vec![1usize; n];
    assert_eq!(
        find_label_issues(&one_class, ProbView::new(&clean, k).unwrap(), &opts).unwrap_err(),
        InputError::TooFewLabelClasses(1)
    );
}

#[test]
fn more_than_one_block_of_columns() {
    // K = 40 spans two 32-column blocks; the mislabels point into the second block.
    let k = 40;
    let mut labels = Vec::new();
    let mut p = Vec::new();
    for i in 0..800 {
        let truth = i % k;
        let given = if i % 80 == 36 { 3 } else { truth };
        labels.push(given);
        p.extend((0..k).map(|j| if j == truth { 0.61 } else { 0.01 }));
    }
    let wrong: Vec<usize> = (0..800).filter(|i| i % 80 == 36).collect();
    assert!(wrong.iter().all(|&i| i % k >= 32));
    let v = view(&p, k);
    for mode in FilterBy::ALL {
        let opts = FindOptions {
            filter_by: mode,
            ..Default::default()
        };
        let flagged = find_label_issues(&labels, v, &opts).unwrap().flagged();
        assert_eq!(flagged, wrong, "{}", mode.name());
    }
    let counts = validate(&labels, v).unwrap();
    let cj = compute_confident_joint(&labels, v, &counts, MultiConfidentRule::ArgmaxAll, 1);
    assert_eq!(cj.off_diagonal, wrong);
}
