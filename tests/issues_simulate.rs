//! End to end, driving the real binary: a placeholder tree of a layout, a simulated run
//! with injected noise, `find-issues --data` (likely by default, `--all` with the tier
//! column), `evaluate-issues --table` against issue 11's targets, and the fallback to bins
//! for a run without predicted years.

use std::path::{Path, PathBuf};
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mask-curator"))
}

fn ok(cmd: &mut Command) -> (String, String) {
    let out = cmd.output().unwrap();
    let (so, se) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(out.status.success(), "{cmd:?} failed:\n{se}");
    (so, se)
}

/// A train.csv of `n` people in the real format with the real data's kind of ages.
fn train_csv(dir: &Path, n: usize) -> PathBuf {
    let mut text = String::from("id,gender,race,age,path\n");
    for i in 0..n {
        let age = ([19, 22, 25, 28, 33, 38, 45, 50, 54, 56, 58, 60][i % 12] + (i / 12 % 2)).min(60);
        let gender = if (i / 3) % 2 == 0 { "female" } else { "male" };
        let id = format!("{:06}", i + 1);
        text.push_str(&format!(
            "{id},{gender},Asian,{age},{id}_{gender}_Asian_{age}\n"
        ));
    }
    let path = dir.join("train.csv");
    std::fs::write(&path, text).unwrap();
    path
}

/// "0.98 / 0.95 [cl ...]" -> (0.98, 0.95).
fn pair(cell: &str) -> (f64, f64) {
    let mut it = cell.split(['/', '[']).map(str::trim);
    let a = it.next().unwrap().parse().unwrap();
    let b = it.next().unwrap().parse().unwrap();
    (a, b)
}

fn tiers(csv_text: &str) -> Vec<String> {
    let mut r = csv::Reader::from_reader(csv_text.as_bytes());
    let col = r
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "tier")
        .unwrap();
    r.records().map(|x| x.unwrap()[col].to_string()).collect()
}

/// Runs the whole loop on `tree` and checks the targets (the gender one only when
/// `gender_target`); returns the table row.
fn check_targets(
    tree: &Path,
    run: &Path,
    strength: &str,
    seed: &str,
    gender_target: bool,
) -> String {
    ok(bin()
        .args(["simulate", "--strength", strength, "--seed", seed])
        .arg("--data")
        .arg(tree)
        .arg("--out")
        .arg(run));
    let (likely, stderr) = ok(bin()
        .arg("find-issues")
        .arg("--data")
        .arg(tree)
        .arg("--run")
        .arg(run));
    assert!(stderr.contains("age: judged in years"), "{stderr}");
    let likely_tiers = tiers(&likely);
    assert!(!likely_tiers.is_empty() && likely_tiers.iter().all(|t| t == "likely"));
    let (all, _) = ok(bin()
        .arg("find-issues")
        .arg("--data")
        .arg(tree)
        .arg("--run")
        .arg(run)
        .arg("--all"));
    let all_tiers = tiers(&all);
    assert_eq!(
        all_tiers.iter().filter(|t| *t == "likely").count(),
        likely_tiers.len()
    );
    assert!(all_tiers.iter().filter(|t| *t == "possible").count() > likely_tiers.len());
    assert!(
        all.contains("given ") && all.contains(" ± "),
        "years shown in age issues"
    );

    let (table, _) = ok(bin()
        .arg("evaluate-issues")
        .arg("--data")
        .arg(tree)
        .arg("--run")
        .arg(run)
        .arg("--table"));
    let row = table.lines().last().unwrap().to_string();
    let cells: Vec<&str> = row.split('|').map(str::trim).collect();
    // | label | wrong | likely (x) | expected / real | gender | age_gross | boundary | swaps |
    let wrong: f64 = cells[2].parse().unwrap();
    let likely_items: f64 = cells[3].split_whitespace().next().unwrap().parse().unwrap();
    assert!(likely_items <= 2.0 * wrong, "{row}");
    assert_eq!(likely_items as usize, likely_tiers.len(), "{row}");
    let (gp, gr) = pair(cells[5]);
    if gender_target {
        assert!(gp >= 0.85 && gr >= 0.93, "gender {row}");
    }
    let (ap, ar) = pair(cells[6]);
    assert!(ap >= 0.8 && ar >= 0.9, "age_gross {row}");
    assert!(
        cells[7].starts_with("0 "),
        "boundary cases called gross: {row}"
    );
    assert_eq!(pair(cells[8]), (1.0, 1.0), "swaps {row}");
    row
}

#[test]
fn simulated_run_meets_the_queue_targets_and_falls_back_without_years() {
    let dir = tempfile::tempdir().unwrap();
    let csv = train_csv(dir.path(), 1500);
    let tree = dir.path().join("tree");
    ok(bin()
        .arg("demo-data")
        .arg("--layout-from")
        .arg(&csv)
        .arg("--out")
        .arg(&tree));
    let row = check_targets(&tree, &dir.path().join("run"), "strong", "5", true);
    eprintln!("{row}");

    // The same run without oof_age.npy: bins, and the CLI says so. Written where the
    // dataset's runs live, and named by its id.
    ok(bin()
        .args([
            "simulate",
            "--strength",
            "strong",
            "--seed",
            "5",
            "--no-age",
        ])
        .arg("--data")
        .arg(&tree));
    let run = tree.join(".mask-curator/runs/sim-strong-seed5");
    assert!(run.join("oof_probs.npy").exists() && !run.join("oof_age.npy").exists());
    let (out, stderr) = ok(bin().arg("find-issues").arg("--data").arg(&tree).args([
        "--run",
        "sim-strong-seed5",
        "--all",
    ]));
    assert!(stderr.contains("no predicted years"), "{stderr}");
    assert!(!out.contains(" ± "));
}

#[test]
fn real_layout_placeholder_meets_the_queue_targets() {
    let layout = Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .skip(1)
        .map(|a| a.join("shared/real-layout/train.csv"))
        .find(|p| p.is_file());
    let Some(csv) = layout else {
        eprintln!("SKIPPED: no shared/real-layout/train.csv beside the repository");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("real");
    ok(bin()
        .arg("demo-data")
        .arg("--layout-from")
        .arg(&csv)
        .arg("--out")
        .arg(&tree));
    // Seed 4: with the likely tier cut at the expected count alone, 12% of the gender
    // flips were left possible (recall 0.88); the tier's margin keeps them likely.
    // Seed 17: a 59-year-old labelled 60 whom the model reads as 51 was called gross while
    // the boundary was weighed against every other age, not against gross errors alone.
    for seed in ["1", "4", "17"] {
        let run = dir.path().join(format!("run-strong-{seed}"));
        let row = check_targets(&tree, &run, "strong", seed, true);
        eprintln!("{row}");
    }
    // The realistic model (half of its error shared by a person's photos) meets every
    // target but gender's (docs/issues.md): age judged in years from the given age's
    // reading error keeps gross age errors apart from the model's own misses.
    let row = check_targets(
        &tree,
        &dir.path().join("run-realistic"),
        "realistic",
        "2",
        false,
    );
    eprintln!("{row}");
}
