#!/usr/bin/env python3
"""Writes the cleanlab parity fixtures under tests/fixtures/cleanlab/.

Runs cleanlab 2.9.0 itself on random and adversarial cases and stores, per case, the
inputs (labels.npy, probs.npy, optional ensemble members) and cleanlab's outputs
(expected.json): thresholds, raw and calibrated confident joints, off-diagonal indices,
prune-count matrices, every filter_by mode with several option sets, ranked indices,
scores, num_label_issues methods, joint / noise estimates and ensemble scores.

Usage (from the repository root, with a venv holding cleanlab==2.9.0 and numpy):
    python scripts/make_cleanlab_fixtures.py [--out tests/fixtures/cleanlab]
scripts/bench-issues.sh creates such a venv (default /root/.cache/mask-curator/cleanlab-venv).

Where NumPy's unstable argsort makes a result depend on tie order, the affected rows are
recorded as "ambiguous" so that the Rust tests can accept any tie resolution there and
nowhere else.
"""
import argparse
import json
import os
import warnings

import numpy as np
import cleanlab
from cleanlab import count, filter as cl_filter, rank
from cleanlab.internal.util import round_preserving_row_totals

assert cleanlab.__version__ == "2.9.0", cleanlab.__version__
warnings.filterwarnings("ignore")

FILTERS = [
    "prune_by_noise_rate",
    "prune_by_class",
    "both",
    "confident_learning",
    "predicted_neq_given",
    "low_normalized_margin",
    "low_self_confidence",
]
RANKS = ["self_confidence", "normalized_margin", "confidence_weighted_entropy"]


def softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def realistic(rng, n, k, noise=0.1, sharpness=3.0, dtype=np.float32, class_p=None):
    true = rng.choice(k, size=n, p=class_p)
    logits = rng.normal(0, 1, size=(n, k))
    logits[np.arange(n), true] += sharpness
    probs = softmax(logits).astype(dtype)
    labels = true.copy()
    flip = rng.random(n) < noise
    labels[flip] = rng.integers(0, k, size=flip.sum())
    return labels.astype(np.int64), probs


def tie_cut(sorted_vals, m):
    """True when taking the first m of sorted_vals splits a group of equal values."""
    return 0 < m < len(sorted_vals) and sorted_vals[m - 1] == sorted_vals[m]


def rounding_tie(cj_float):
    """Whether round_preserving_sum hits equal remainders at its cut for some row."""
    for row in np.asarray(cj_float, dtype=float):
        ints = row.round()
        orig = np.sum(row).round()
        int_sum = np.sum(ints).round()
        while abs(int_sum - orig) > 1e-6:
            diff = np.round(orig - int_sum)
            inc = -1 if diff < 0 else 1
            changes = min(int(abs(diff)), len(row))
            rem = row - ints
            order = np.sort(rem)[::-inc]
            if tie_cut(order, changes):
                return True
            idx = np.argsort(rem)[::-inc][:changes]
            ints[idx] += inc
            int_sum = np.sum(ints).round()
    return False


def calibrated_float(cj, labels, k):
    label_counts = np.bincount(labels, minlength=k)
    c = (cj.T / np.clip(cj.sum(axis=1), a_min=1e-100, a_max=None) * label_counts).T
    return c / np.clip(np.sum(c), a_min=1e-100, a_max=None) * sum(label_counts)


def prune_matrix(cj, labels, k, min_ex, frac_noise, ntr):
    pcm = cl_filter._keep_at_least_n_per_class(cj.T, n=min_ex, frac_noise=frac_noise)
    tie = False
    if ntr is not None:
        label_counts = np.bincount(labels, minlength=k)
        psy = pcm / np.sum(pcm, axis=1)
        noise_per_s = psy.sum(axis=1) - psy.diagonal()
        tmp = (psy.T * ntr / noise_per_s).T
        np.fill_diagonal(tmp, label_counts - ntr)
        tie = rounding_tie(tmp)
        pcm = round_preserving_row_totals(tmp)
    return pcm, tie


def ambiguous_rows(labels, probs, k, pcm, filter_by, min_ex, num_errors=None):
    """Rows whose flagging depends on how NumPy orders exact ties."""
    amb = set()
    idx_all = np.arange(len(labels))
    if filter_by in ("low_self_confidence", "low_normalized_margin"):
        scores = rank.get_label_quality_scores(labels, probs, method=filter_by[4:])
        s = np.sort(scores)
        if tie_cut(s, num_errors):
            amb |= set(idx_all[scores == s[num_errors - 1]].tolist())
        return amb
    if pcm is None:
        return amb
    for c in range(k):
        rows = idx_all[labels == c]
        if len(rows) <= min_ex or len(rows) <= 1:
            continue
        p = probs[rows]
        if filter_by in ("prune_by_noise_rate", "both"):
            for j in range(k):
                m = int(pcm[j, c])
                if j == c or m <= 0:
                    continue
                margin = p[:, j] - p[:, c]
                s = np.sort(margin)[::-1]
                if tie_cut(s, m):
                    amb |= set(rows[margin == s[m - 1]].tolist())
        if filter_by in ("prune_by_class", "both"):
            m = len(rows) - int(pcm[c, c])
            if m >= 1:
                s = np.sort(p[:, c])
                if tie_cut(s, m):
                    amb |= set(rows[p[:, c] == s[m - 1]].tolist())
    return amb


def run_case(out_dir, name, labels, probs, runs, members=None, note=""):
    k = probs.shape[1]
    d = os.path.join(out_dir, name)
    os.makedirs(d, exist_ok=True)
    np.save(os.path.join(d, "labels.npy"), labels)
    np.save(os.path.join(d, "probs.npy"), probs)
    exp = {"name": name, "note": note, "n": int(len(labels)), "k": int(k), "dtype": str(probs.dtype)}
    th = count.get_confident_thresholds(labels, probs)
    exp["thresholds"] = [float(t) for t in th]
    raw, off = count.compute_confident_joint(labels, probs, calibrate=False, return_indices_of_off_diagonals=True)
    exp["raw_joint"] = raw.astype(float).ravel().tolist()
    exp["off_diagonal"] = [int(i) for i in off]
    cal = count.compute_confident_joint(labels, probs, calibrate=True)
    exp["calibrated_joint"] = cal.astype(float).ravel().tolist()
    exp["calibration_rounding_tie"] = bool(rounding_tie(calibrated_float(raw, labels, k)))
    exp["num_label_issues"] = {
        "off_diagonal": int(count.num_label_issues(labels, probs)),
        "off_diagonal_calibrated": int(count.num_label_issues(labels, probs, estimation_method="off_diagonal_calibrated")),
        "off_diagonal_custom": int(count.num_label_issues(labels, probs, confident_joint=cal, estimation_method="off_diagonal_custom")),
    }
    exp["estimate_joint"] = count.estimate_joint(labels, probs).ravel().tolist()
    for conv in (True, False):
        py, nm, inv, _ = count.estimate_py_and_noise_matrices_from_probabilities(labels, probs, converge_latent_estimates=conv)
        exp["latent_converged" if conv else "latent"] = {
            "py": py.tolist(), "noise_matrix": nm.ravel().tolist(), "inverse_noise_matrix": inv.ravel().tolist(),
        }
    scores = {}
    valid01 = bool(np.all(probs >= 0) and np.all(probs <= 1))
    for m in RANKS:
        if m == "confidence_weighted_entropy" and not valid01:
            continue
        scores[m] = rank.get_label_quality_scores(labels, probs, method=m).astype(float).tolist()
        if m != "confidence_weighted_entropy":
            scores[m + "_adjusted"] = rank.get_label_quality_scores(labels, probs, method=m, adjust_pred_probs=True).astype(float).tolist()
    exp["scores"] = scores
    num_off = exp["num_label_issues"]["off_diagonal"]
    results = []
    for r in runs:
        if r.get("rank_by") == "confidence_weighted_entropy" and not valid01:
            continue  # cleanlab refuses: entropy needs values inside [0, 1]
        fb = r["filter_by"]
        kw = dict(filter_by=fb, frac_noise=r.get("frac_noise", 1.0), min_examples_per_class=r.get("min_examples_per_class", 1))
        ntr = r.get("num_to_remove_per_class")
        if ntr is not None:
            kw["num_to_remove_per_class"] = ntr
        mask = cl_filter.find_label_issues(labels, probs, **kw)
        res = dict(r)
        res["flagged"] = [int(i) for i in np.flatnonzero(mask)]
        pcm = None
        if fb in ("prune_by_noise_rate", "prune_by_class", "both"):
            pcm, tie = prune_matrix(cal, labels, k, kw["min_examples_per_class"], kw["frac_noise"], ntr)
            res["prune_counts"] = pcm.astype(float).ravel().tolist()
            res["prune_rounding_tie"] = bool(tie)
        res["ambiguous"] = sorted(ambiguous_rows(labels, probs, k, pcm, fb, kw["min_examples_per_class"], num_off))
        rb = r.get("rank_by")
        if rb:
            rk = {"adjust_pred_probs": True} if r.get("adjust_pred_probs") else {}
            ranked = cl_filter.find_label_issues(labels, probs, return_indices_ranked_by=rb, rank_by_kwargs=rk, **kw)
            res["ranked"] = [int(i) for i in ranked]
            s = rank.get_label_quality_scores(labels, probs, method=rb, **rk)
            res["ranked_scores"] = [float(s[i]) for i in ranked]
        results.append(res)
    exp["runs"] = results
    if members is not None:
        for i, m in enumerate(members):
            np.save(os.path.join(d, f"member{i}.npy"), m)
        ens = {}
        for method in ("self_confidence", "normalized_margin"):
            for w in ("uniform", "accuracy"):
                ens[f"{method}/{w}"] = rank.get_label_quality_ensemble_scores(
                    labels, list(members), method=method, weight_ensemble_members_by=w, verbose=False
                ).tolist()
            ens[f"{method}/custom"] = rank.get_label_quality_ensemble_scores(
                labels, list(members), method=method, weight_ensemble_members_by="custom",
                custom_weights=np.array([0.5, 0.3, 0.2]), verbose=False,
            ).tolist()
        exp["ensemble"] = ens
    with open(os.path.join(d, "expected.json"), "w") as f:
        json.dump(exp, f, separators=(",", ":"))
    return exp


def default_runs(k, big=False):
    runs = []
    for fb in FILTERS:
        runs.append({"filter_by": fb, "rank_by": "self_confidence"})
    runs.append({"filter_by": "prune_by_noise_rate", "rank_by": "normalized_margin"})
    runs.append({"filter_by": "prune_by_noise_rate", "rank_by": "normalized_margin", "adjust_pred_probs": True})
    runs.append({"filter_by": "prune_by_noise_rate", "rank_by": "confidence_weighted_entropy"})
    runs.append({"filter_by": "prune_by_noise_rate", "frac_noise": 0.5})
    runs.append({"filter_by": "both", "frac_noise": 0.3})
    runs.append({"filter_by": "prune_by_class", "frac_noise": 0.7})
    runs.append({"filter_by": "prune_by_noise_rate", "min_examples_per_class": 10})
    runs.append({"filter_by": "prune_by_class", "min_examples_per_class": 10})
    if not big:
        runs.append({"filter_by": "prune_by_class", "num_to_remove_per_class": [1] * k})
        runs.append({"filter_by": "prune_by_noise_rate", "num_to_remove_per_class": [2] * k})
    return runs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="tests/fixtures/cleanlab")
    out = ap.parse_args().out
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(20240601)

    labels, probs = realistic(rng, 300, 3, noise=0.15, dtype=np.float64)
    m1 = softmax(np.log(np.clip(probs, 1e-9, 1)) + rng.normal(0, 0.7, probs.shape))
    m2 = softmax(np.log(np.clip(probs, 1e-9, 1)) + rng.normal(0, 1.5, probs.shape))
    run_case(out, "k3_random_f64", labels, probs, default_runs(3), members=[probs, m1, m2])

    labels, probs = realistic(rng, 400, 2, noise=0.1, sharpness=2.0)
    run_case(out, "k2_random_f32", labels, probs, default_runs(2))

    labels, probs = realistic(rng, 3000, 18, noise=0.08, sharpness=4.0)
    run_case(out, "k18_random_f32", labels, probs, default_runs(18))

    labels, probs = realistic(rng, 500, 4, noise=0.1)
    probs = probs.astype(np.float64)
    labels[labels == 3] = rng.integers(0, 3, size=(labels == 3).sum())
    run_case(out, "k4_absent_class_f64", labels, probs, default_runs(4)[:-2], note="class 3 never labelled")

    labels, probs = realistic(rng, 500, 4, noise=0.1)
    labels[labels == 3] = rng.integers(0, 3, size=(labels == 3).sum())
    run_case(out, "k4_absent_class_f32", labels, probs, default_runs(4)[:-2], note="class 3 never labelled; float64 thresholds")

    labels, probs = realistic(rng, 300, 3, noise=0.1)
    labels[labels == 2] = 0
    labels[7] = 2
    run_case(out, "k3_one_example_class", labels, probs, default_runs(3)[:-2], note="class 2 has one example")

    labels, probs = realistic(rng, 600, 3, noise=0.2, sharpness=1.5, dtype=np.float64)
    probs = np.round(probs * 10) / 10
    probs[probs.sum(axis=1) == 0] = [0.4, 0.3, 0.3]
    run_case(out, "k3_ties_f64", labels, probs, default_runs(3), note="probabilities quantised to 0.1: many exact ties")

    labels, probs = realistic(rng, 800, 18, noise=0.1, sharpness=2.0)
    probs = (np.round(probs * 20) / 20).astype(np.float32)
    run_case(out, "k18_ties_f32", labels, probs, default_runs(18), note="quantised to 0.05")

    labels, probs = realistic(rng, 500, 3, noise=0.2, sharpness=0.05, dtype=np.float64)
    run_case(out, "k3_near_uniform_f64", labels, probs, default_runs(3), note="rows within a few percent of 1/3")

    labels = rng.integers(0, 3, size=400).astype(np.int64)
    probs = rng.random((400, 3)).astype(np.float32)
    probs[np.arange(400), labels] += 0.3 * rng.random(400).astype(np.float32)
    probs = np.clip(probs, 0, 1).astype(np.float32)
    run_case(out, "k3_rows_not_summing_f32", labels, probs, default_runs(3), note="rows do not sum to 1")

    labels, probs = realistic(rng, 400, 3, noise=0.1)
    probs[:5] = np.array([1.0 + 5e-7, -5e-7, 0.0], dtype=np.float32)
    run_case(out, "k3_tolerance_edges_f32", labels, probs, default_runs(3), note="values just outside [0,1] within 1e-6")

    class_p = np.array([2745, 2050, 415, 3660, 4085, 545, 549, 410, 83, 732, 817, 109, 549, 410, 83, 732, 817, 109], dtype=float)
    class_p /= class_p.sum()
    labels, probs = realistic(rng, 12000, 18, noise=0.05, sharpness=3.5, class_p=class_p)
    run_case(out, "k18_large_f32", labels, probs, default_runs(18, big=True), note="class sizes of the real data")


if __name__ == "__main__":
    main()
