//! `mask-curator open [DIR] [--demo]`: the app. Without a display (or when the window
//! cannot start) it prints a text summary of the dataset instead and still succeeds.
//! `--demo` generates the demo dataset when missing and, unless `--no-quick-run`, trains
//! the quick demo run on it when no finished run exists, so that the first open already
//! has a review queue.

use crate::dataset::{Dataset, Field, NUM_CLASSES};
use crate::ml::protocol::WorkerEvent;
use crate::review_queue::{find_run_issues, load_run_probs};
use crate::workbench::demo::{ensure_demo, DemoProgress, QuickRun};
use crate::workspace::Workspace;
use anyhow::Context;
use clap::Args as ClapArgs;
use std::path::{Path, PathBuf};

#[derive(Debug, Default, ClapArgs)]
pub struct Args {
    /// Dataset folder.
    pub dir: Option<PathBuf>,
    /// Open the demo dataset (generated when missing).
    #[arg(long)]
    pub demo: bool,
    /// Where the demo dataset lives (default: demo-data, or demo-data-full with --full).
    #[arg(long)]
    pub demo_dir: Option<PathBuf>,
    /// Print the text summary instead of opening a window.
    #[arg(long)]
    pub summary: bool,
    /// With --demo: do not train the quick demo run (the app then opens without a review
    /// queue until a run is trained).
    #[arg(long)]
    pub no_quick_run: bool,
    /// With --demo: people in the demo dataset when it is generated.
    #[arg(long, default_value_t = crate::demo::DemoConfig::default().people)]
    pub demo_people: usize,
    /// With --demo: the real dataset's size (2,700 training people, 1,800 eval people:
    /// 31,500 photos) in demo-data-full. Its first open takes about eight and a half
    /// times as long as the default demo's (generation and quick run: about 30 minutes on
    /// two cores).
    #[arg(long, conflicts_with = "demo_people")]
    pub full: bool,
}

/// The terminal's view of opening the demo: lines on stderr, progress bars for the photos
/// written and for training.
#[derive(Default)]
struct Terminal {
    photos: std::sync::OnceLock<super::progress::CountBar>,
}

impl DemoProgress for Terminal {
    fn say(&self, line: &str) {
        eprintln!("{line}");
    }

    fn generating(&self, done: usize, total: usize) {
        self.photos
            .get_or_init(|| super::progress::CountBar::new("photos", "writing the demo", total))
            .set(done);
    }

    fn follow_training(&self, events: &crossbeam_channel::Receiver<WorkerEvent>) {
        super::progress::render_training(events);
    }
}

/// Generates the demo and its quick run when missing, on the terminal.
fn ensure_demo_on_terminal(
    dir: &Path,
    demo: &crate::demo::DemoConfig,
    quick_run: bool,
) -> anyhow::Result<()> {
    let ready = ensure_demo(dir, demo, quick_run, &Terminal::default())?;
    match &ready.quick_run {
        QuickRun::Existing(id) => {
            eprintln!("Using the finished run {id} (no quick demo run needed).")
        }
        QuickRun::Trained {
            run_id,
            secs,
            summary,
        } => {
            if let Some(s) = summary {
                eprintln!(
                    "Quick demo run {run_id} finished in {secs:.0} s: out-of-fold macro F1 {:.3}",
                    s.oof_macro_f1
                );
                if let Some(age) = &s.age {
                    eprintln!("{}", super::progress::age_line(age));
                }
            }
            eprintln!(
                "Demo ready in {:.0} s (generation and quick run).",
                ready.secs
            );
        }
        QuickRun::NotAsked | QuickRun::Failed(_) => {}
    }
    Ok(())
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let demo_dir = match (args.demo_dir, args.full) {
        (Some(dir), _) if !dir.as_os_str().is_empty() => dir,
        (_, false) => PathBuf::from("demo-data"),
        (_, true) => PathBuf::from("demo-data-full"),
    };
    let dir = if args.demo {
        let defaults = crate::demo::DemoConfig::default();
        let demo = if args.full {
            crate::demo::DemoConfig::full_size()
        } else {
            crate::demo::DemoConfig {
                // 0 only from `Args::default()` (the app opened without a command).
                people: Some(args.demo_people)
                    .filter(|&n| n > 0)
                    .unwrap_or(defaults.people),
                ..defaults
            }
        };
        ensure_demo_on_terminal(&demo_dir, &demo, !args.no_quick_run)?;
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

/// What the app's overview says of the photo checks: a count per check and the flagged
/// photos (measures saved for the next time, as the app does).
fn photo_checks_text(s: &mut String, dataset: &Dataset, ws: &Workspace) {
    use crate::photo_checks::{check_dataset, describe, CheckKind};
    use std::fmt::Write as _;
    let report = match check_dataset(
        dataset,
        Some(&ws.photo_measures_path()),
        0,
        None,
        &|_, _| {},
    ) {
        Some(Ok(report)) => report,
        Some(Err(e)) => {
            let _ = writeln!(s, "Photo checks: {e}");
            return;
        }
        None => return,
    };
    let counts: Vec<String> = CheckKind::ALL
        .iter()
        .map(|&k| (k, report.count(k)))
        .filter(|&(_, n)| n > 0)
        .map(|(k, n)| format!("{} {n}", k.name()))
        .collect();
    let _ = writeln!(
        s,
        "Photo checks: {} of {} photos flagged{}",
        report.findings.len(),
        report.checked,
        if counts.is_empty() {
            String::new()
        } else {
            format!(" ({})", counts.join(", "))
        }
    );
    for (kind, n) in &report.dataset_wide {
        let _ = writeln!(
            s,
            "  {}: common to the whole dataset, not flagged one by one",
            kind.common_text(*n)
        );
    }
    for f in report.findings.iter().take(10) {
        let path = dataset
            .photo(f.photo)
            .map(|p| p.rel_path.display().to_string())
            .unwrap_or_default();
        let detail = describe(dataset, &report, f);
        let detail = if detail.is_empty() {
            String::new()
        } else {
            format!(": {detail}")
        };
        let _ = writeln!(s, "  {} {path}{detail}", f.kind.name());
    }
    if report.findings.len() > 10 {
        let _ = writeln!(
            s,
            "  … and {} more (`mask-curator check-photos`)",
            report.findings.len() - 10
        );
    }
}

/// The ids the annotator decided are one person, and the groups whose labels disagree.
fn identities_text(s: &mut String, curation: &crate::curation::Curation) {
    use std::fmt::Write as _;
    let identities = curation.identities();
    let groups = identities.groups();
    if groups.is_empty() {
        return;
    }
    let conflicts = curation.identity_conflicts(&identities);
    let _ = writeln!(
        s,
        "One person under several ids (decided): {}, {} with labels that disagree",
        identities.counts_text(),
        conflicts.len()
    );
    for c in conflicts.iter().take(10) {
        let who: Vec<String> = c
            .people
            .iter()
            .map(|&p| {
                format!(
                    "{} ({}, {})",
                    curation.folder(p),
                    curation.gender(p).name(),
                    curation.age_years(p)
                )
            })
            .collect();
        let _ = writeln!(s, "  labels disagree: {}", who.join(" = "));
    }
}

/// The annotators' notes on people, for whoever reads the labels next.
fn notes_text(s: &mut String, curation: &crate::curation::Curation) {
    use std::fmt::Write as _;
    let notes = curation.notes();
    if notes.is_empty() {
        return;
    }
    let _ = writeln!(
        s,
        "Notes on {} (the export's net_changes.csv lists them all):",
        crate::workbench::queries::counted_people(notes.len())
    );
    for (p, note) in notes.iter().take(10) {
        let _ = writeln!(s, "  {}: {note}", curation.folder(*p));
    }
    if notes.len() > 10 {
        let _ = writeln!(s, "  … and {} more", notes.len() - 10);
    }
}

/// What the app's map shows beside the issues: the run's outliers and look-alikes.
fn embeddings_text(s: &mut String, dataset: &Dataset, probs: &crate::review_queue::RunProbs) {
    use std::fmt::Write as _;
    match crate::workbench::session::analyse_embeddings(
        dataset,
        &probs.dir,
        &probs.run_id,
        &probs.table.rows,
    ) {
        Ok(Some(report)) => {
            let _ = writeln!(
                s,
                "Outliers and look-alikes (run {}): {}, {}",
                probs.run_id,
                crate::workbench::queries::counted(report.outliers.len(), "outlier photo"),
                crate::workbench::queries::counted(report.lookalikes.len(), "look-alike pair")
            );
            for &row in report.outliers.iter().take(5) {
                let path = dataset
                    .photo(report.rows[row])
                    .map(|p| p.rel_path.display().to_string())
                    .unwrap_or_default();
                let _ = writeln!(s, "  {:.3} outlier {path}", report.outlier_score[row]);
            }
            for l in report.lookalikes.iter().take(5) {
                let _ = writeln!(
                    s,
                    "  look-alike {} ~ {}",
                    dataset.people[l.a].folder, dataset.people[l.b].folder
                );
            }
        }
        Ok(None) => {}
        Err(e) => {
            let _ = writeln!(s, "Outliers: {e}");
        }
    }
}

/// A plain-text summary: counts, problems, photo checks, and issues when a finished run
/// exists.
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
    photo_checks_text(&mut s, dataset, &ws);
    // The journal replayed once (read-only: the app may hold it open), for the decisions
    // and for the labels the run's issues are judged on.
    let curation = crate::curation::Curation::open_read_only(dataset, &ws).map(|(c, _)| c);
    if let Ok(curation) = &curation {
        identities_text(&mut s, curation);
        notes_text(&mut s, curation);
    }
    match load_run_probs(dataset, &ws) {
        Ok(Some(probs)) => {
            // The labels as they were when the run was made, as the app's queue judges
            // them.
            let labels = match &curation {
                Ok(curation) => curation.issue_labels_before(&probs.created),
                Err(e) => {
                    let _ = writeln!(s, "Journal: {e} (issues shown for the given labels)");
                    crate::issues::DatasetLabels::given(dataset)
                }
            };
            let report = match find_run_issues(dataset, &labels, &probs) {
                Ok(report) => report,
                Err(e) => {
                    let _ = writeln!(
                        s,
                        "Issues (run {}): {}",
                        probs.run_id,
                        crate::errors::describe(&e)
                    );
                    return s;
                }
            };
            // The likely tier is the queue an annotator meets (the app's default list).
            let likely: Vec<_> = report
                .issues
                .iter()
                .filter(|i| i.tier == crate::issues::Tier::Likely)
                .collect();
            let expected: f64 = report.queues.iter().map(|q| q.expected_in_likely).sum();
            let _ = writeln!(
                s,
                "Issues (run {}): {}",
                probs.run_id,
                crate::issues::tiers_text(
                    likely.len(),
                    expected,
                    report.issues.len() - likely.len()
                )
            );
            if let Ok(config) = crate::ml::run::RunDir::new(&probs.dir).read_config() {
                let _ = writeln!(s, "  recipe: {}", config.describe());
            }
            // The engine's calibrated estimate, the one its tiers are sized by.
            for q in &report.queues {
                let Some(estimate) = q.estimate_text() else {
                    continue;
                };
                let _ = writeln!(
                    s,
                    "  {}: {} likely, {} possible; estimated wrong labels {estimate}",
                    q.field.name(),
                    q.likely,
                    q.possible,
                );
            }
            const LISTED: usize = 20;
            for i in likely.iter().take(LISTED) {
                let photo = i
                    .slot
                    .map(|sl| format!("/{}", sl.stem()))
                    .unwrap_or_default();
                // Judged in years, the years say it ("given 43, model 58 ± 2"); the bins
                // can be the same.
                let what = i.years_text.clone().unwrap_or_else(|| {
                    format!(
                        "given {}, suggested {}",
                        i.field.class_name(i.given),
                        i.field.class_name(i.suggested)
                    )
                });
                // What the annotator decided, when they did.
                let decided = curation
                    .as_ref()
                    .ok()
                    .and_then(|c| c.issue_decision(&i.issue_id))
                    .map_or(String::new(), |d| {
                        let status = crate::workbench::session::ItemStatus::from(d);
                        format!(" [{}]", status.name())
                    });
                let _ = writeln!(
                    s,
                    "  {:>5} {} {}{photo}: {what} ({}){decided}",
                    crate::issues::prob_text(i.score),
                    i.field.name(),
                    dataset.people[i.person].folder,
                    i.kind
                );
            }
            if likely.len() > LISTED {
                let _ = writeln!(
                    s,
                    "  … {} more likely (the review queue; `find-issues --data {} --run {}` lists them, with --all the possible ones too)",
                    likely.len() - LISTED,
                    dataset.root.display(),
                    probs.run_id
                );
            }
            embeddings_text(&mut s, dataset, &probs);
        }
        Ok(None) => {
            let _ = writeln!(
                s,
                "Issues: no finished training run yet (train one to find label issues)."
            );
        }
        Err(e) => {
            let _ = writeln!(
                s,
                "Issues: cannot read the newest run: {}",
                crate::errors::describe(&e)
            );
        }
    }
    s
}
