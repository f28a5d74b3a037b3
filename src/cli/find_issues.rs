//! `mask-curator find-issues`: confident learning on cleanlab-style arrays, or on a
//! dataset with a model run's probabilities.

use crate::issues::cleanlab::{
    find_label_issues_ranked, FilterBy, FindOptions, MultiConfidentRule, RankBy, RankOptions,
};
use crate::issues::io::{read_labels, read_probs, ProbArray};
use crate::issues::probs::{labels_from_i64, Prob, ProbView};
use anyhow::Context;
use clap::Args as ClapArgs;
use std::path::PathBuf;

#[derive(Debug, ClapArgs)]
#[command(group(clap::ArgGroup::new("mode").required(true).args(["labels", "data"])))]
pub struct Args {
    /// Given labels: .npy (int64/int32, N) or CSV (one integer per line).
    #[arg(long, requires = "pred_probs")]
    pub labels: Option<PathBuf>,
    /// Out-of-fold predicted probabilities: .npy (float32/float64, N x K) or CSV.
    #[arg(long)]
    pub pred_probs: Option<PathBuf>,
    /// Dataset folder (with train/); lists this dataset's photo- and person-level issues.
    #[arg(long, conflicts_with_all = ["labels", "pred_probs"])]
    pub data: Option<PathBuf>,
    /// With --data: an 18-class probability file (.npy + index CSV, or CSV path,p0..p17).
    #[arg(long, requires = "data")]
    pub probs: Option<PathBuf>,
    /// With --data: a run folder holding oof_probs.npy and oof_index.csv, or the id of one
    /// of the dataset's runs (default, without --probs: the newest finished run).
    #[arg(long, requires = "data", conflicts_with = "probs")]
    pub run: Option<PathBuf>,
    /// prune_by_noise_rate (default), prune_by_class, both, confident_learning,
    /// predicted_neq_given, low_normalized_margin, low_self_confidence.
    #[arg(long, default_value = "prune_by_noise_rate")]
    pub filter_by: String,
    /// self_confidence (default), normalized_margin, confidence_weighted_entropy.
    #[arg(long, default_value = "self_confidence")]
    pub rank_by: String,
    /// Subtract per-class thresholds before scoring (not with confidence_weighted_entropy).
    #[arg(long)]
    pub adjust_pred_probs: bool,
    /// Keep this fraction of the estimated noise (prune modes).
    #[arg(long, default_value_t = 1.0)]
    pub frac_noise: f64,
    /// Classes with at most this many examples are not pruned.
    #[arg(long, default_value_t = 1)]
    pub min_examples_per_class: usize,
    /// Comma-separated number of issues per class (prune modes).
    #[arg(long, value_delimiter = ',')]
    pub num_to_remove_per_class: Option<Vec<usize>>,
    /// argmax_all (cleanlab 2.9, default) or argmax_among_confident (the paper's rule).
    #[arg(long, default_value = "argmax_all")]
    pub multi_confident_rule: String,
    /// Worker threads (0 = all cores, at most 2 used).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// With --data: list the possible items too (default: the likely ones only); the
    /// `tier` column says which is which.
    #[arg(long, requires = "data")]
    pub all: bool,
    /// With --data: judge age from the bins even when the run has predicted years.
    #[arg(long, requires = "data")]
    pub age_bins: bool,
    /// Write the CSV here (atomically) instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub fn parse_filter_by(s: &str) -> anyhow::Result<FilterBy> {
    FilterBy::parse(s).with_context(|| {
        let all: Vec<&str> = FilterBy::ALL.iter().map(|f| f.name()).collect();
        format!("unknown --filter-by {s:?}; one of {}", all.join(", "))
    })
}

pub fn parse_rank_by(s: &str) -> anyhow::Result<RankBy> {
    RankBy::parse(s).with_context(|| {
        format!("unknown --rank-by {s:?}; one of self_confidence, normalized_margin, confidence_weighted_entropy")
    })
}

fn parse_rule(s: &str) -> anyhow::Result<MultiConfidentRule> {
    match s {
        "argmax_all" => Ok(MultiConfidentRule::ArgmaxAll),
        "argmax_among_confident" => Ok(MultiConfidentRule::ArgmaxAmongConfident),
        _ => anyhow::bail!(
            "unknown --multi-confident-rule {s:?}; argmax_all or argmax_among_confident"
        ),
    }
}

impl Args {
    pub fn find_options(&self) -> anyhow::Result<FindOptions> {
        Ok(FindOptions {
            filter_by: parse_filter_by(&self.filter_by)?,
            frac_noise: self.frac_noise,
            num_to_remove_per_class: self.num_to_remove_per_class.clone(),
            min_examples_per_class: self.min_examples_per_class,
            confident_joint: None,
            multi_confident_rule: parse_rule(&self.multi_confident_rule)?,
            threads: self.threads,
        })
    }
    pub fn rank_options(&self) -> anyhow::Result<RankOptions> {
        Ok(RankOptions {
            method: parse_rank_by(&self.rank_by)?,
            adjust_pred_probs: self.adjust_pred_probs,
        })
    }
}

/// The ranked issues as CSV: `index,given,suggested,score,p_given,p_suggested`.
/// `suggested` is the most probable class other than the given one.
pub fn issues_csv<T: Prob>(
    labels: &[usize],
    probs: ProbView<'_, T>,
    ranked: &[(usize, f64)],
) -> Vec<u8> {
    let mut out = String::from("index,given,suggested,score,p_given,p_suggested\n");
    for &(i, score) in ranked {
        let row = probs.row(i);
        let y = labels[i];
        let mut best = if y == 0 { 1 } else { 0 };
        for (j, &v) in row.iter().enumerate() {
            if j != y && v > row[best] {
                best = j;
            }
        }
        out.push_str(&format!(
            "{i},{y},{best},{score},{},{}\n",
            row[y].to_f64(),
            row[best].to_f64()
        ));
    }
    out.into_bytes()
}

fn run_arrays<T: Prob>(
    args: &Args,
    labels: &[usize],
    data: &[T],
    k: usize,
    probs_path: &std::path::Path,
) -> anyhow::Result<()> {
    let probs = ProbView::new(data, k).with_context(|| probs_path.display().to_string())?;
    let opts = args.find_options()?;
    let (issues, ranked) = find_label_issues_ranked(labels, probs, &opts, args.rank_options()?)
        .with_context(|| {
            format!(
                "{} / {}",
                args.labels
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
                probs_path.display()
            )
        })?;
    for w in &issues.warnings {
        eprintln!("warning: {w}");
    }
    eprintln!(
        "{} label issues among {} examples ({})",
        ranked.len(),
        labels.len(),
        opts.filter_by.name()
    );
    let inputs: Vec<&std::path::Path> = args
        .labels
        .iter()
        .map(|p| p.as_path())
        .chain([probs_path])
        .collect();
    crate::cli::write_output(
        args.out.as_deref(),
        None,
        &inputs,
        &issues_csv(labels, probs, &ranked),
    )
}

pub fn run(args: Args) -> anyhow::Result<()> {
    if let Some(data) = &args.data {
        return run_dataset(&args, data);
    }
    let (Some(labels_path), Some(probs_path)) = (&args.labels, &args.pred_probs) else {
        anyhow::bail!("give --labels and --pred-probs, or --data with --probs or --run");
    };
    let raw_labels = read_labels(labels_path)?;
    let probs = read_probs(probs_path)?;
    let k = probs.k();
    if raw_labels.len() != probs.rows() {
        anyhow::bail!(
            "shape mismatch: {} has {} labels but {} has {} rows",
            labels_path.display(),
            raw_labels.len(),
            probs_path.display(),
            probs.rows()
        );
    }
    let labels =
        labels_from_i64(&raw_labels, k).with_context(|| labels_path.display().to_string())?;
    match &probs {
        ProbArray::F32 { data, k } => run_arrays(&args, &labels, data, *k, probs_path),
        ProbArray::F64 { data, k } => run_arrays(&args, &labels, data, *k, probs_path),
    }
}

/// Loads the dataset folder with the project's scanner. Rows and photos it cannot use
/// (malformed train.csv lines, missing or corrupt photos) are left out and listed on
/// stderr by file and line; only an unusable folder is an error.
pub fn load_dataset(root: &std::path::Path) -> anyhow::Result<crate::dataset::Dataset> {
    let dataset = crate::dataset::scan(root)?;
    const SHOWN: usize = 10;
    let problems = &dataset.problems;
    if !problems.is_empty() {
        eprintln!(
            "{}: {} problem(s) in the dataset; those rows and photos are left out:",
            root.display(),
            problems.len()
        );
        for p in problems.iter().take(SHOWN) {
            eprintln!("  {p}");
        }
        if problems.len() > SHOWN {
            eprintln!(
                "  ... and {} more (mask-curator scan lists them all)",
                problems.len() - SHOWN
            );
        }
    }
    Ok(dataset)
}

/// Loads the probability table named by --probs or --run.
pub fn load_table(
    dataset: &crate::dataset::Dataset,
    probs: Option<&PathBuf>,
    run: Option<&PathBuf>,
) -> anyhow::Result<crate::issues::ProbTable> {
    use crate::issues::ProbTable;
    Ok(match (probs, run) {
        (Some(p), _) => ProbTable::load_file(dataset, p)?,
        (None, Some(r)) => ProbTable::load_run(dataset, r)?,
        (None, None) => anyhow::bail!("give --probs FILE or --run RUN with --data"),
    })
}

fn run_dataset(args: &Args, data: &std::path::Path) -> anyhow::Result<()> {
    use crate::issues::{find_dataset_issues, DatasetIssueOptions, DatasetLabels};
    let dataset = load_dataset(data)?;
    let run = match &args.probs {
        Some(_) => None,
        None => Some(super::run_dir_or_newest(data, args.run.as_deref())?),
    };
    let table = load_table(&dataset, args.probs.as_ref(), run.as_ref())?;
    let opts = DatasetIssueOptions {
        find: args.find_options()?,
        rank: args.rank_options()?,
        ignore_years: args.age_bins,
        ..Default::default()
    };
    let report = find_dataset_issues(&dataset, &DatasetLabels::given(&dataset), &table, &opts)?;
    for r in &report.runs {
        eprintln!(
            "{:<14} {:>6} examples  {:>5} flagged  estimated issues {:>5} (off-diagonal) / {:>5} (calibrated), noise rate {:.3}",
            r.detector.name(),
            r.examples,
            r.flagged,
            r.num_issues_off_diagonal,
            r.num_issues_calibrated,
            r.noise_rate
        );
    }
    print_queue_summary(&report);
    crate::cli::write_output(
        args.out.as_deref(),
        Some(data),
        &args.probs.iter().map(|p| p.as_path()).collect::<Vec<_>>(),
        &crate::issues::person::issues_csv(&report, args.all),
    )
}

/// The queue per field on stderr: likely / possible counts, expected real errors, how age
/// was judged.
pub fn print_queue_summary(report: &crate::issues::IssueReport) {
    match &report.age_note {
        Some(note) => eprintln!("age: {note}"),
        None => eprintln!("age: judged in years (oof_age.npy)"),
    }
    eprintln!(
        "calibration cross-fitted by {}; expected wrong labels per field over the dataset:",
        report.cross_fit_by
    );
    for q in &report.queues {
        eprintln!(
            "  {:<7} likely {:>4} (about {:.0} real errors)  possible {:>5} (about {:.0})  estimated wrong labels {:.0}",
            q.field.name(),
            q.likely,
            q.expected_in_likely.max(0.0),
            q.possible,
            q.expected_in_possible.max(0.0),
            q.estimated_wrong
        );
    }
    let likely: usize = report.queues.iter().map(|q| q.likely).sum();
    eprintln!(
        "{}, about {:.0} of them expected to be real errors; {} in all (run {})",
        crate::workbench::queries::counted(likely, "likely issue"),
        report.expected_in_likely(),
        crate::workbench::queries::counted(report.issues.len(), "issue"),
        report.run_id
    );
}
