//! `mask-curator check-photos DIR`: photo quality and duplicates (see
//! `photo_checks`). Prints counts and the flagged photos, writes them as CSV with `--out`.
//! Measures are saved under `DIR/.mask-curator/`, so a second run decodes only changed
//! photos; the dataset itself is never written.

use crate::dataset::{Dataset, PhotoRef};
use crate::photo_checks::{self, CheckKind, PhotoReport};
use crate::workspace::Workspace;
use anyhow::Context;
use clap::Args as ClapArgs;
use std::fmt::Write as _;
use std::path::PathBuf;

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Dataset folder (holds train/).
    pub dir: PathBuf,
    /// Write every flagged photo to this CSV (path,check,score,detail), and every photo
    /// that could not be decoded (check `unreadable`, the reason as detail).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Photos listed per check on the terminal.
    #[arg(long, default_value_t = 10)]
    pub limit: usize,
    /// Worker threads (0 = one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let dataset = crate::dataset::scan(&args.dir)
        .with_context(|| format!("cannot read the dataset in {}", args.dir.display()))?;
    let workspace = Workspace::for_dataset(&args.dir);
    let started = std::time::Instant::now();
    let bar = super::progress::count_bar("measuring photos");
    let report = photo_checks::check_dataset(
        &dataset,
        Some(&workspace.photo_measures_path()),
        args.threads,
        None,
        &|done, total| {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        },
    )
    .context("the photo check was cancelled")??;
    bar.finish_and_clear();
    print!(
        "{}",
        render_text(
            &dataset,
            &report,
            args.limit,
            started.elapsed().as_secs_f64()
        )
    );
    if let Some(out) = &args.out {
        crate::cli::write_output(Some(out), Some(&args.dir), &[], &csv(&dataset, &report)?)?;
        println!(
            "wrote {} ({} rows)",
            out.display(),
            report.findings.len() + report.unreadable.len()
        );
    }
    Ok(())
}

fn rel(dataset: &Dataset, photo: PhotoRef) -> String {
    dataset
        .photo(photo)
        .map(|p| p.rel_path.display().to_string())
        .unwrap_or_default()
}

pub fn render_text(dataset: &Dataset, report: &PhotoReport, limit: usize, secs: f64) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "Photo checks of {}: {} photos measured in {secs:.1} s ({} unchanged since the last check)",
        dataset.root.display(),
        report.checked,
        report.reused
    );
    // The reason names the file.
    for (_, reason) in &report.unreadable {
        let _ = writeln!(o, "  unreadable: {reason}");
    }
    for kind in CheckKind::ALL {
        let found: Vec<_> = report.findings.iter().filter(|f| f.kind == kind).collect();
        if let Some(&(_, n)) = report.dataset_wide.iter().find(|(k, _)| *k == kind) {
            let _ = writeln!(
                o,
                "{:<16} {n} photos ({:.0}%): common to the whole dataset, not flagged one by one",
                kind.name(),
                100.0 * n as f64 / report.checked.max(1) as f64
            );
            // A placeholder picture is left out; other duplicates are still listed.
            if found.is_empty() {
                continue;
            }
        }
        let _ = writeln!(o, "{:<16} {}  ({})", kind.name(), found.len(), kind.title());
        for f in found.iter().take(limit) {
            let d = photo_checks::describe(dataset, report, f);
            let d = if d.is_empty() {
                String::new()
            } else {
                format!("  {d}")
            };
            let _ = writeln!(o, "  {} score {:.3}{d}", rel(dataset, f.photo), f.score);
        }
        if found.len() > limit {
            let _ = writeln!(o, "  … {} more (--limit, --out)", found.len() - limit);
        }
    }
    let _ = writeln!(
        o,
        "Near-duplicate sets inside single people, not reported (one sitting): {}",
        report.within_person_near_sets
    );
    o
}

fn csv(dataset: &Dataset, report: &PhotoReport) -> anyhow::Result<Vec<u8>> {
    let mut w = ::csv::Writer::from_writer(Vec::new());
    w.write_record(["path", "check", "score", "detail"])?;
    for (photo, reason) in &report.unreadable {
        w.write_record([rel(dataset, *photo).as_str(), "unreadable", "", reason])?;
    }
    for f in &report.findings {
        w.write_record([
            rel(dataset, f.photo),
            f.kind.name().to_string(),
            format!("{:.4}", f.score),
            photo_checks::describe(dataset, report, f),
        ])?;
    }
    Ok(w.into_inner()?)
}
