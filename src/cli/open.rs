//! `mask-curator open [DIR] [--demo]`: the app. Without a display (or when the window
//! cannot start) it prints a text summary of the dataset instead and still succeeds.
//!
//! Also home of the run-probability loading shared by the app and the summary: find the
//! newest finished run under `<root>/.mask-curator/runs/` and read its out-of-fold
//! probabilities (`oof_probs.npy` + `oof_index.csv`).

use crate::dataset::{Dataset, Field, PhotoRef, NUM_CLASSES};
use crate::workspace::Workspace;
use anyhow::{bail, Context};
use clap::Args as ClapArgs;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Default, ClapArgs)]
pub struct Args {
    /// Dataset folder.
    pub dir: Option<PathBuf>,
    /// Open the demo dataset (generated when missing).
    #[arg(long)]
    pub demo: bool,
    /// Where the demo dataset lives.
    #[arg(long, default_value = "demo-data")]
    pub demo_dir: PathBuf,
    /// Print the text summary instead of opening a window.
    #[arg(long)]
    pub summary: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let demo_dir = if args.demo_dir.as_os_str().is_empty() {
        PathBuf::from("demo-data")
    } else {
        args.demo_dir
    };
    let dir = if args.demo {
        ensure_demo(&demo_dir)?;
        Some(demo_dir.clone())
    } else {
        args.dir
    };
    if args.summary || !display_available() {
        return print_summary_or_hint(dir.as_deref());
    }
    #[cfg(feature = "gui")]
    {
        let options = crate::ui::AppOptions {
            open: dir.clone(),
            demo_dir,
            ..Default::default()
        };
        match crate::ui::run_native(options) {
            Ok(()) => Ok(()),
            Err(e) => {
                eprintln!("the window could not start ({e}); printing a summary instead");
                print_summary_or_hint(dir.as_deref())
            }
        }
    }
    #[cfg(not(feature = "gui"))]
    {
        let _ = demo_dir;
        eprintln!("built without the `gui` feature; printing a summary instead");
        print_summary_or_hint(dir.as_deref())
    }
}

/// Whether a window can be shown at all (on Linux: an X11 or Wayland display is set).
pub fn display_available() -> bool {
    if cfg!(target_os = "linux") {
        std::env::var_os("DISPLAY").is_some_and(|v| !v.is_empty())
            || std::env::var_os("WAYLAND_DISPLAY").is_some_and(|v| !v.is_empty())
    } else {
        true
    }
}

fn print_summary_or_hint(dir: Option<&Path>) -> anyhow::Result<()> {
    let Some(dir) = dir else {
        println!("No display, and no dataset given. Try `mask-curator open DIR` or `mask-curator open --demo`.");
        return Ok(());
    };
    let dataset =
        crate::dataset::scan(dir).with_context(|| format!("cannot scan {}", dir.display()))?;
    print!("{}", summary_text(&dataset));
    Ok(())
}

/// Generates the demo dataset into `dir` unless a dataset is already there.
pub fn ensure_demo(dir: &Path) -> anyhow::Result<()> {
    if dir.join("train").join("train.csv").is_file() {
        return Ok(());
    }
    eprintln!("generating the demo dataset in {} …", dir.display());
    crate::demo::generate(dir, &crate::demo::DemoConfig::default(), None, None)
        .with_context(|| format!("cannot generate the demo dataset in {}", dir.display()))?;
    Ok(())
}

/// A plain-text summary: counts, problems, and issues when a finished run exists.
pub fn summary_text(dataset: &Dataset) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let photos = dataset.photo_refs().count();
    let _ = writeln!(s, "Dataset {}", dataset.root.display());
    let _ = writeln!(s, "  people: {}   photos: {}", dataset.people.len(), photos);
    if let Some(eval) = &dataset.eval {
        let _ = writeln!(s, "  eval images: {}", eval.image_ids.len());
    }
    let mut per_class = [0usize; NUM_CLASSES];
    for r in dataset.photo_refs() {
        per_class[dataset.people[r.person].class_of(r.slot).index()] += 1;
    }
    let _ = writeln!(s, "  photos per class (0..17): {per_class:?}");
    for field in Field::ALL {
        let mut counts = vec![0usize; field.num_classes()];
        for (class, n) in per_class.iter().enumerate() {
            if let Some(c) = crate::dataset::ClassCode::from_index(class) {
                counts[c.field_index(field)] += n;
            }
        }
        let parts: Vec<String> = counts
            .iter()
            .enumerate()
            .map(|(i, n)| format!("{} {n}", field.class_name(i)))
            .collect();
        let _ = writeln!(s, "  {} (photos): {}", field.name(), parts.join(", "));
    }
    let _ = writeln!(s, "Problems: {}", dataset.problems.len());
    for p in dataset.problems.iter().take(20) {
        let line = p.line.map(|l| format!(":{l}")).unwrap_or_default();
        let _ = writeln!(
            s,
            "  {}{line}: {:?}: {}",
            p.path.display(),
            p.kind,
            p.reason
        );
    }
    if dataset.problems.len() > 20 {
        let _ = writeln!(s, "  … and {} more", dataset.problems.len() - 20);
    }
    let ws = Workspace::for_dataset(&dataset.root);
    match load_run_probs(dataset, &ws) {
        Ok(Some(probs)) => {
            let report = match find_run_issues(dataset, &probs) {
                Ok(report) => report,
                Err(e) => {
                    let _ = writeln!(s, "Issues (run {}): {e:#}", probs.run_id);
                    return s;
                }
            };
            let _ = writeln!(s, "Issues (run {}): {}", probs.run_id, report.issues.len());
            for (field, rate) in &report.noise {
                let n = report.issues.iter().filter(|i| i.field == *field).count();
                let _ = writeln!(
                    s,
                    "  {}: {n} issues, estimated noise {:.1}%",
                    field.name(),
                    rate * 100.0
                );
            }
            for i in report.issues.iter().take(20) {
                let photo = i
                    .slot
                    .map(|sl| format!("/{}", sl.stem()))
                    .unwrap_or_default();
                let _ = writeln!(
                    s,
                    "  {:.3} {} {}{photo}: given {}, suggested {} ({})",
                    i.score,
                    i.field.name(),
                    dataset.people[i.person].folder,
                    i.field.class_name(i.given),
                    i.field.class_name(i.suggested),
                    i.kind
                );
            }
        }
        Ok(None) => {
            let _ = writeln!(
                s,
                "Issues: no finished training run yet (train one to find label issues)."
            );
        }
        Err(e) => {
            let _ = writeln!(s, "Issues: cannot read the newest run: {e:#}");
        }
    }
    s
}

// --- issues of a run --------------------------------------------------------------------

/// One suspected label error.
#[derive(Debug, Clone, PartialEq)]
pub struct RunIssue {
    /// Stable across runs (`field:folder` or `field:folder/stem`), so a decision recorded
    /// in the journal still applies after retraining.
    pub issue_id: String,
    pub kind: String,
    pub field: Field,
    pub person: usize,
    /// The photo of a mask issue; `None` for person-level gender and age issues.
    pub slot: Option<crate::dataset::Slot>,
    pub given: usize,
    pub suggested: usize,
    /// 1 - p(given): higher = more likely wrong.
    pub score: f32,
    pub probabilities: Vec<f32>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunIssues {
    /// Highest score first.
    pub issues: Vec<RunIssue>,
    /// Estimated fraction of wrong labels per field.
    pub noise: Vec<(Field, f64)>,
}

/// The issues of a run for the review queue, found by the label-issue engine
/// ([`crate::issues::find_dataset_issues`]) on the given labels: mask per photo, gender and
/// age per person, swapped incorrect_mask/normal pairs (one queue item per photo of the
/// pair, so each can be accepted or kept), age boundary cases.
pub fn find_run_issues(dataset: &Dataset, probs: &RunProbs) -> anyhow::Result<RunIssues> {
    use crate::dataset::{Mask, Slot};
    use crate::issues::{
        find_dataset_issues, DatasetIssueOptions, DatasetLabels, Detector, IssueKind, ProbTable,
    };
    let table = ProbTable::load_run(dataset, &probs.dir)
        .with_context(|| format!("cannot read the probabilities of {}", probs.dir.display()))?;
    let labels = DatasetLabels::given(dataset);
    let report = find_dataset_issues(dataset, &labels, &table, &DatasetIssueOptions::default())
        .with_context(|| format!("cannot find issues in {}", probs.dir.display()))?;
    let class_index =
        |field: Field, name: &str| (0..field.num_classes()).find(|&i| field.class_name(i) == name);
    let mut issues = Vec::new();
    for issue in &report.issues {
        let Some(person) = dataset.people.get(issue.person_index) else {
            continue;
        };
        let values: Vec<f32> = issue.probs.iter().map(|&v| v as f32).collect();
        // The engine's score is a label quality (low = likely wrong); the queue ranks by
        // how likely the label is wrong.
        let score = (1.0 - issue.score) as f32;
        if issue.kind == IssueKind::MaskSwap {
            let pair = [
                (Slot::Incorrect, Mask::Incorrect, Mask::NotWear, 0..3),
                (Slot::Normal, Mask::NotWear, Mask::Incorrect, 3..6),
            ];
            for (slot, given, suggested, range) in pair {
                issues.push(RunIssue {
                    issue_id: format!("{}/{}", issue.id, slot.stem()),
                    kind: issue.kind.name().to_string(),
                    field: Field::Mask,
                    person: issue.person_index,
                    slot: Some(slot),
                    given: given.index(),
                    suggested: suggested.index(),
                    score,
                    probabilities: values.get(range).map(<[f32]>::to_vec).unwrap_or_default(),
                });
            }
            continue;
        }
        let slot = issue
            .photos
            .first()
            .and_then(|p| Path::new(p).file_stem())
            .and_then(|stem| Slot::from_stem(&stem.to_string_lossy()));
        let given = match issue.field {
            Field::Mask => slot.map(|s| s.mask().index()),
            Field::Gender => Some(person.gender.index()),
            Field::Age => Some(person.age_bin().index()),
        };
        let (Some(given), Some(suggested)) = (given, class_index(issue.field, &issue.suggested))
        else {
            continue;
        };
        issues.push(RunIssue {
            issue_id: issue.id.clone(),
            kind: issue.kind.name().to_string(),
            field: issue.field,
            person: issue.person_index,
            slot: (issue.field == Field::Mask).then_some(slot).flatten(),
            given,
            suggested,
            score,
            probabilities: values,
        });
    }
    let noise = [
        (Field::Mask, Detector::PhotoMask),
        (Field::Gender, Detector::PersonGender),
        (Field::Age, Detector::PersonAge),
    ]
    .into_iter()
    .filter_map(|(field, detector)| {
        let run = report.runs.iter().find(|r| r.detector == detector)?;
        Some((field, run.noise_rate))
    })
    .collect();
    Ok(RunIssues { issues, noise })
}

// --- runs and their probabilities ------------------------------------------------------

/// A finished run's out-of-fold probabilities, keyed by photo.
#[derive(Debug, Clone, Default)]
pub struct RunProbs {
    pub run_id: String,
    pub dir: PathBuf,
    pub rows: HashMap<PhotoRef, [f32; NUM_CLASSES]>,
}

impl RunProbs {
    pub fn class_probs(&self, r: PhotoRef) -> Option<&[f32; NUM_CLASSES]> {
        self.rows.get(&r)
    }

    /// Probability of each value of `field` (marginal of the 18-class probabilities).
    pub fn marginal(&self, field: Field, r: PhotoRef) -> Option<Vec<f32>> {
        let p = self.rows.get(&r)?;
        let mut out = vec![0.0f32; field.num_classes()];
        for (class, v) in p.iter().enumerate() {
            if let Some(c) = crate::dataset::ClassCode::from_index(class) {
                out[c.field_index(field)] += v;
            }
        }
        Some(out)
    }
}

/// The newest run dir whose `run.json` says finished (or, without run.json, that holds
/// both probability files). Newest = latest `created`, then name.
pub fn latest_finished_run(ws: &Workspace) -> Option<(String, PathBuf)> {
    let entries = std::fs::read_dir(ws.runs_dir()).ok()?;
    let mut best: Option<(String, String, PathBuf)> = None;
    for entry in entries.flatten() {
        let dir = entry.path();
        if !dir.join("oof_probs.npy").is_file() || !dir.join("oof_index.csv").is_file() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        let (finished, created) = match std::fs::read_to_string(dir.join("run.json")) {
            Ok(text) => match serde_json::from_str::<serde_json::Value>(&text) {
                Ok(v) => (
                    v.get("status").and_then(|s| s.as_str()) == Some("finished"),
                    v.get("created").map(|c| c.to_string()).unwrap_or_default(),
                ),
                Err(_) => (false, String::new()),
            },
            Err(_) => (true, String::new()),
        };
        if !finished {
            continue;
        }
        let key = (created, name.clone());
        if best
            .as_ref()
            .is_none_or(|(c, n, _)| (c.clone(), n.clone()) < key)
        {
            best = Some((key.0, key.1, dir));
        }
    }
    best.map(|(_, name, dir)| {
        let id = std::fs::read_to_string(dir.join("run.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|v| v.get("id").and_then(|i| i.as_str()).map(str::to_string))
            .unwrap_or(name);
        (id, dir)
    })
}

/// Loads the newest finished run's probabilities, or `None` when there is no run.
pub fn load_run_probs(dataset: &Dataset, ws: &Workspace) -> anyhow::Result<Option<RunProbs>> {
    let Some((run_id, dir)) = latest_finished_run(ws) else {
        return Ok(None);
    };
    let probs_path = dir.join("oof_probs.npy");
    let index_path = dir.join("oof_index.csv");
    let (shape, values) = read_npy_f32(&probs_path)?;
    if shape.len() != 2 || shape[1] != NUM_CLASSES {
        bail!(
            "{}: expected shape (N, {NUM_CLASSES}), found {shape:?}",
            probs_path.display()
        );
    }
    let by_path: HashMap<PathBuf, PhotoRef> = dataset
        .photo_refs()
        .filter_map(|r| dataset.photo(r).map(|ph| (ph.rel_path.clone(), r)))
        .collect();
    let mut reader = csv::Reader::from_path(&index_path)
        .with_context(|| format!("cannot read {}", index_path.display()))?;
    let mut rows = HashMap::new();
    for (i, rec) in reader.records().enumerate() {
        let line = i + 2;
        let rec = rec.with_context(|| format!("{}:{line}: malformed row", index_path.display()))?;
        let row: usize = rec
            .get(0)
            .and_then(|v| v.trim().parse().ok())
            .with_context(|| format!("{}:{line}: bad row number", index_path.display()))?;
        let path = rec.get(1).unwrap_or_default();
        if row >= shape[0] {
            bail!(
                "{}:{line}: row {row} is past the {} rows of {}",
                index_path.display(),
                shape[0],
                probs_path.display()
            );
        }
        let Some(&r) = by_path.get(Path::new(path)) else {
            continue;
        };
        let mut p = [0f32; NUM_CLASSES];
        p.copy_from_slice(&values[row * NUM_CLASSES..(row + 1) * NUM_CLASSES]);
        if p.iter().any(|v| !v.is_finite()) {
            bail!(
                "{}: row {row} ({path}) holds NaN or infinite probabilities",
                probs_path.display()
            );
        }
        rows.insert(r, p);
    }
    Ok(Some(RunProbs { run_id, dir, rows }))
}

/// Reads a float32 `.npy` file (through [`crate::arrays::npy`]): (shape, values).
pub fn read_npy_f32(path: &Path) -> anyhow::Result<(Vec<usize>, Vec<f32>)> {
    let array = crate::arrays::npy::read_npy(path)?;
    match array.data {
        crate::arrays::npy::NpyData::F32(values) => Ok((array.shape, values)),
        other => bail!(
            "{}: expected float32 probabilities, found {}",
            path.display(),
            other.dtype_name()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_npy(path: &Path, rows: usize, cols: usize, values: &[f32]) {
        crate::arrays::npy::write_npy(path, &[rows, cols], values).unwrap();
    }

    #[test]
    fn npy_round_trip_and_bad_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.npy");
        write_npy(&p, 2, 3, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.5]);
        let (shape, values) = read_npy_f32(&p).unwrap();
        assert_eq!(shape, vec![2, 3]);
        assert_eq!(values[5], 6.5);
        let bad = dir.path().join("b.npy");
        std::fs::write(&bad, b"not numpy").unwrap();
        let err = read_npy_f32(&bad).unwrap_err().to_string();
        assert!(err.contains("b.npy"), "{err}");
    }

    #[test]
    fn newest_finished_run_wins_and_unfinished_runs_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let ws = Workspace::for_dataset(dir.path());
        for (name, status, created) in [
            ("a", "finished", "2026-01-01T00:00:00Z"),
            ("b", "finished", "2026-02-01T00:00:00Z"),
            ("c", "running", "2026-03-01T00:00:00Z"),
        ] {
            let run = ws.runs_dir().join(name);
            std::fs::create_dir_all(&run).unwrap();
            std::fs::write(run.join("oof_probs.npy"), b"").unwrap();
            std::fs::write(run.join("oof_index.csv"), b"row,path,person,fold\n").unwrap();
            std::fs::write(
                run.join("run.json"),
                format!(r#"{{"id":"run-{name}","status":"{status}","created":"{created}"}}"#),
            )
            .unwrap();
        }
        let (id, path) = latest_finished_run(&ws).unwrap();
        assert_eq!(id, "run-b");
        assert!(path.ends_with("b"));
    }
}
