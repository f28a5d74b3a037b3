//! The command line. Every GUI action also exists here, over the same core functions.
//! One file per command; each defines its `Args` and a `run` function.

use clap::{Parser, Subcommand};
use std::path::PathBuf;

pub mod check_photos;
pub mod demo_data;
pub mod evaluate_issues;
pub mod export;
pub mod find_issues;
pub mod journal_stress;
pub mod open;
pub mod outliers;
pub mod scan;
pub mod simulate;
pub mod weights;

pub mod progress;
pub mod worker;

/// Curate noisy mask / gender / age labels of a face-photo dataset.
///
/// With no command, opens the app (on DIR when given).
#[derive(Debug, Parser)]
#[command(name = "mask-curator", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Dataset folder to open in the app.
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Open the app; with --demo, on the demo dataset (generated when missing).
    Open(open::Args),
    /// Scan a dataset folder and print counts and problems.
    Scan(scan::Args),
    /// Check photo quality and duplicates (dark, blurred, the same photo twice, …).
    CheckPhotos(check_photos::Args),
    /// Write a synthetic demo dataset in the real layout, with injected label noise.
    DemoData(demo_data::Args),
    /// Find label issues with confident learning (cleanlab-style arrays or a dataset).
    FindIssues(find_issues::Args),
    /// Score found issues against a demo dataset's noise manifest.
    EvaluateIssues(evaluate_issues::Args),
    /// Photos unlike any other and look-alike people, from a run's embeddings.
    Outliers(outliers::Args),
    /// Simulate a model run with injected label noise (for measuring issue detection).
    Simulate(simulate::Args),
    /// Export the corrected labels as CSV.
    Export(export::Args),
    /// Pretrained backbone weights: list what is installed, `fetch` to download.
    Weights(weights::Args),
    /// Apply edits one by one and print each confirmed seq (for crash tests).
    #[command(hide = true)]
    JournalStress(journal_stress::Args),
    /// Print the torch version, CUDA availability, device and threads.
    #[command(disable_help_flag = true)]
    Doctor(worker::Forward),
    /// Train models (k-fold by person) and write out-of-fold probabilities.
    #[command(disable_help_flag = true)]
    Train(worker::Forward),
    /// Ensemble inference on eval/info.csv, writing a submission CSV.
    #[command(disable_help_flag = true)]
    Predict(worker::Forward),
}

/// The run folder a `--run` names for the dataset in `data`: a folder, or the id of one of
/// the dataset's runs (as the app, `train` and `simulate` name them).
pub fn run_dir(data: &std::path::Path, arg: &std::path::Path) -> anyhow::Result<PathBuf> {
    crate::ml::run::resolve_run_dir(data, arg).map_err(anyhow::Error::msg)
}

/// The run a command reads: the one `--run` names, else the dataset's newest finished run
/// (the one the app opens on), named on stderr.
pub fn run_dir_or_newest(
    data: &std::path::Path,
    arg: Option<&std::path::Path>,
) -> anyhow::Result<PathBuf> {
    if let Some(arg) = arg {
        return run_dir(data, arg);
    }
    let ws = crate::workspace::Workspace::for_dataset(data);
    let Some((id, dir)) = crate::review_queue::latest_finished_run(&ws) else {
        anyhow::bail!(
            "{} has no finished run: train one first (mask-curator train {})",
            data.display(),
            data.display()
        );
    };
    eprintln!("run: {id} (the newest finished run; --run names another)");
    Ok(dir)
}

/// Writes a command's output: to `out` atomically, else to stdout. A file is refused where
/// it would land in the dataset `dataset` names (outside its workspace folder), as an export
/// is, or where it would replace one of the command's `inputs`: a report never takes the
/// place of train.csv, a photo or the probabilities it was computed from.
pub fn write_output(
    out: Option<&std::path::Path>,
    dataset: Option<&std::path::Path>,
    inputs: &[&std::path::Path],
    bytes: &[u8],
) -> anyhow::Result<()> {
    use anyhow::Context;
    let Some(out) = out else {
        use std::io::Write;
        let mut stdout = std::io::stdout().lock();
        return stdout.write_all(bytes).context("writing to stdout");
    };
    if let Some(root) = dataset {
        crate::curation::export::check_export_file(root, out)?;
    }
    if let Ok(target) = std::fs::canonicalize(out) {
        for input in inputs {
            if std::fs::canonicalize(input).is_ok_and(|i| i == target) {
                anyhow::bail!(
                    "refusing to write {}: it is an input of this command",
                    out.display()
                );
            }
        }
    }
    crate::workspace::write_atomic(out, bytes)
        .with_context(|| format!("cannot write {}", out.display()))
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        None => open::run(open::Args {
            dir: cli.dir,
            demo: false,
            ..Default::default()
        }),
        Some(Command::Open(a)) => open::run(a),
        Some(Command::Scan(a)) => scan::run(a),
        Some(Command::CheckPhotos(a)) => check_photos::run(a),
        Some(Command::DemoData(a)) => demo_data::run(a),
        Some(Command::FindIssues(a)) => find_issues::run(a),
        Some(Command::EvaluateIssues(a)) => evaluate_issues::run(a),
        Some(Command::Outliers(a)) => outliers::run(a),
        Some(Command::Simulate(a)) => simulate::run(a),
        Some(Command::Export(a)) => export::run(a),
        Some(Command::Weights(a)) => weights::run(a),
        Some(Command::JournalStress(a)) => journal_stress::run(a),
        Some(Command::Doctor(a)) => worker::run("doctor", a),
        Some(Command::Train(a)) => worker::run("train", a),
        Some(Command::Predict(a)) => worker::run("predict", a),
    }
}
