//! End to end: `mask-curator open --demo` on a fresh folder without a display generates
//! the demo, trains the quick demo run and prints a summary listing that run's issues;
//! opening again reuses it; `--no-quick-run` skips it. The quick run trains in the worker
//! (`mask-curator-ml`, built beside `mask-curator` by `cargo test --workspace`).

use mask_curator::ml::run::{list_runs, RunStatus};
use std::path::Path;
use std::process::{Command, Output};

/// `open --demo` on `dir` with no display, as `scripts/demo.sh` runs it on a headless box.
fn open_demo(dir: &Path, extra: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_mask-curator"))
        .args(["open", "--demo", "--demo-dir"])
        .arg(dir)
        // A small demo keeps the test short; the recipe is the quick run's own.
        .args(["--demo-people", "48"])
        .args(extra)
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "open --demo failed\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn the_first_open_of_the_demo_has_a_review_queue_from_a_finished_quick_run() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo-data");
    let out = open_demo(&dir, &[]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );

    // One finished run, labelled as the quick demo run, with out-of-fold files.
    let runs = list_runs(&dir.join(".mask-curator/runs"));
    assert_eq!(runs.len(), 1, "{stderr}");
    let (run, info) = &runs[0];
    assert_eq!(info.status, RunStatus::Finished);
    assert_eq!(info.config.label.as_deref(), Some("quick demo run"));
    assert!(run.id().ends_with("-quick-demo"), "{}", run.id());
    assert!(run.oof_probs().exists() && run.oof_age().exists());
    assert!(stderr.contains("Training the quick demo run"), "{stderr}");

    // The summary lists that run's issues: the likely and possible counts, the recipe,
    // and the likely items (the review queue the app opens on).
    let header = format!("Issues (run {}): ", run.id());
    let counts = stdout
        .lines()
        .find_map(|l| l.strip_prefix(&header))
        .unwrap_or_else(|| panic!("no `{header}` line in\n{stdout}"));
    let count: usize = counts
        .split(" likely (about ")
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{counts}"));
    assert!(count > 0, "{stdout}");
    assert!(counts.ends_with(" possible"), "{counts}");
    assert!(
        stdout.contains("recipe: quick demo run: small_cnn"),
        "{stdout}"
    );
    // "given <30, suggested 30-59", or in years "given 20, model 47 ± 4".
    let listed = stdout
        .lines()
        .filter(|l| {
            l.contains(": given ") && (l.contains(", suggested ") || l.contains(", model "))
        })
        .count();
    assert_eq!(listed, count.min(20), "{stdout}");

    // The run maps its photos (embeddings.npy, map.npy), and the summary lists its
    // outliers: a photo the demo darkened or overexposed among them.
    assert!(run.embeddings().exists() && run.map().exists());
    assert!(
        stdout.contains(&format!("Outliers and look-alikes (run {}): ", run.id())),
        "{stdout}"
    );
    let defects = std::fs::read_to_string(dir.join("photo_defects.csv")).unwrap();
    let spoiled: Vec<&str> = defects
        .lines()
        .filter_map(|l| l.strip_suffix(",light,").or(l.strip_suffix(",dark,")))
        .collect();
    assert_eq!(spoiled.len(), 2, "{defects}");
    assert!(
        stdout
            .lines()
            .any(|l| l.contains(" outlier ") && spoiled.iter().any(|p| l.ends_with(p))),
        "neither of {spoiled:?} is among the outliers:\n{stdout}"
    );

    // Opening again reuses the run: no second training, the same summary.
    let again = open_demo(&dir, &[]);
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(!stderr.contains("Training the quick demo run"), "{stderr}");
    assert!(stderr.contains(&run.id()), "{stderr}");
    assert_eq!(list_runs(&dir.join(".mask-curator/runs")).len(), 1);
    assert_eq!(String::from_utf8_lossy(&again.stdout), stdout);
}

#[test]
fn no_quick_run_opens_the_demo_without_training() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo-data");
    let out = open_demo(&dir, &["--no-quick-run"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(dir.join("train/train.csv").is_file());
    // The photos written are counted as they go (a log has a line per tenth), so a
    // full-size demo's minutes of writing are not silent.
    let stderr = String::from_utf8_lossy(&out.stderr);
    let counted: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("writing the demo: "))
        .collect();
    assert!(
        counted.len() >= 5 && counted.last().is_some_and(|l| l.ends_with("(100%)")),
        "{stderr}"
    );
    assert!(list_runs(&dir.join(".mask-curator/runs")).is_empty());
    assert!(
        stdout.contains("Issues: no finished training run yet"),
        "{stdout}"
    );
}
