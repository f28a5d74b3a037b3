//! `mask-curator evaluate-issues`: how well the issue finder recovers a demo dataset's
//! injected noise (noise.csv), image level against person level.

use crate::cli::find_issues::{load_dataset, load_table};
use crate::issues::cleanlab::FilterBy;
use crate::issues::evaluate::{evaluate, read_noise_csv, scores_csv};
use crate::issues::{find_dataset_issues, DatasetIssueOptions, DatasetLabels};
use anyhow::Context;
use clap::Args as ClapArgs;
use std::path::PathBuf;

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Demo dataset folder (with noise.csv).
    #[arg(long)]
    pub data: PathBuf,
    /// An 18-class probability file (.npy + index CSV, or CSV path,p0..p17).
    #[arg(long, conflicts_with = "run", required_unless_present = "run")]
    pub probs: Option<PathBuf>,
    /// A run folder holding oof_probs.npy and oof_index.csv.
    #[arg(long)]
    pub run: Option<PathBuf>,
    /// The noise manifest (default: noise.csv of the --run folder when it has one, as
    /// `simulate` writes, else <DATA>/noise.csv).
    #[arg(long)]
    pub noise: Option<PathBuf>,
    /// Write the CSV here (atomically) instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The confident-learning filter over people (gender, age): any --filter-by mode of
    /// find-issues (default: the library's).
    #[arg(long)]
    pub person_filter_by: Option<String>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let noise_path = match (&args.noise, &args.run) {
        (Some(p), _) => p.clone(),
        (None, Some(run)) if run.join("noise.csv").is_file() => run.join("noise.csv"),
        _ => args.data.join("noise.csv"),
    };
    eprintln!("noise manifest: {}", noise_path.display());
    let noise = read_noise_csv(&noise_path)?;
    let dataset = load_dataset(&args.data)?;
    let table = load_table(&dataset, args.probs.as_ref(), args.run.as_ref())?;
    let mut opts = DatasetIssueOptions::default();
    if let Some(mode) = &args.person_filter_by {
        opts.person_filter_by = FilterBy::parse(mode)
            .with_context(|| format!("unknown --person-filter-by {mode:?}"))?;
    }
    let report = find_dataset_issues(&dataset, &DatasetLabels::given(&dataset), &table, &opts)?;
    let scores = evaluate(&report, &noise);
    crate::cli::find_issues::emit(args.out.as_ref(), &scores_csv(&scores))
}
