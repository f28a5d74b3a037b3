//! `mask-curator evaluate-issues`: how well the issue finder recovers a demo dataset's
//! injected noise (noise.csv), image level against person level.

use crate::cli::find_issues::{load_dataset, load_table};
use crate::issues::cleanlab::FilterBy;
use crate::issues::evaluate::{
    evaluate, evaluate_queue, queue_row, read_noise_csv, scores_csv, QUEUE_TABLE_HEADER,
};
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
    #[arg(long, conflicts_with = "run")]
    pub probs: Option<PathBuf>,
    /// A run folder holding oof_probs.npy and oof_index.csv, or the id of one of the
    /// dataset's runs (default, without --probs: the newest finished run).
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
    /// Judge age from the bins even when the run has predicted years.
    #[arg(long)]
    pub age_bins: bool,
    /// Print issue 11's table (queue size, gender, age_gross, boundary, swaps; likely tier
    /// beside cleanlab's image level) as markdown instead of the per-kind CSV.
    #[arg(long)]
    pub table: bool,
    /// With --table: the first column's text (default: the run id).
    #[arg(long, requires = "table")]
    pub label: Option<String>,
    /// With --table: leave out the header lines (to append rows of several runs).
    #[arg(long, requires = "table")]
    pub no_header: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let run = match &args.probs {
        Some(_) => None,
        None => Some(super::run_dir_or_newest(&args.data, args.run.as_deref())?),
    };
    let noise_path = match (&args.noise, &run) {
        (Some(p), _) => p.clone(),
        (None, Some(run)) if run.join("noise.csv").is_file() => run.join("noise.csv"),
        _ => args.data.join("noise.csv"),
    };
    eprintln!("noise manifest: {}", noise_path.display());
    let noise = read_noise_csv(&noise_path)?;
    let inputs: Vec<&std::path::Path> = std::iter::once(noise_path.as_path())
        .chain(args.probs.as_deref())
        .collect();
    let dataset = load_dataset(&args.data)?;
    let table = load_table(&dataset, args.probs.as_ref(), run.as_ref())?;
    let mut opts = DatasetIssueOptions::default();
    if let Some(mode) = &args.person_filter_by {
        opts.person_filter_by = FilterBy::parse(mode)
            .with_context(|| format!("unknown --person-filter-by {mode:?}"))?;
    }
    opts.ignore_years = args.age_bins;
    let report = find_dataset_issues(&dataset, &DatasetLabels::given(&dataset), &table, &opts)?;
    crate::cli::find_issues::print_queue_summary(&report);
    if args.table {
        let e = evaluate_queue(&report, &noise);
        let mut text = String::new();
        if !args.no_header {
            text.push_str(QUEUE_TABLE_HEADER);
            text.push('\n');
        }
        let label = args.label.clone().unwrap_or_else(|| report.run_id.clone());
        text.push_str(&queue_row(&label, &e));
        text.push('\n');
        eprintln!(
            "all tiers: {} items; gender {}, age_gross {}, boundary called gross {}, swaps {}",
            e.all.items,
            e.all.gender.text(),
            e.all.age_gross.text(),
            e.all.boundary_as_gross,
            e.all.swaps.text()
        );
        return crate::cli::write_output(
            args.out.as_deref(),
            Some(&args.data),
            &inputs,
            text.as_bytes(),
        );
    }
    let scores = evaluate(&report, &noise);
    crate::cli::write_output(
        args.out.as_deref(),
        Some(&args.data),
        &inputs,
        &scores_csv(&scores),
    )
}
