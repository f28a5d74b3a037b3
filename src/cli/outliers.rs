//! `mask-curator outliers DIR`: what a run's embeddings show beyond the labels: photos
//! unlike any other, people who look like another id, and the map's axes (see
//! `embeddings`). Prints them, writes them as CSV with `--out`.

use crate::curation::IdentityDecision;
use crate::dataset::Dataset;
use crate::embeddings::{analyse, EmbeddingReport, Embeddings};
use crate::issues::ProbTable;
use crate::workspace::Workspace;
use anyhow::Context;
use clap::Args as ClapArgs;
use std::fmt::Write as _;
use std::path::PathBuf;

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Dataset folder (holds train/).
    pub dir: PathBuf,
    /// A run folder or the id of one of the dataset's runs (default: the newest finished).
    #[arg(long)]
    pub run: Option<PathBuf>,
    /// Write the flagged photos and people to this CSV (kind,path,other,score,detail,
    /// decision: the annotator's decision on a look-alike pair).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Photos and pairs listed on the terminal.
    #[arg(long, default_value_t = 15)]
    pub limit: usize,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let dataset = crate::dataset::scan(&args.dir)
        .with_context(|| format!("cannot read the dataset in {}", args.dir.display()))?;
    let run_dir = super::run_dir_or_newest(&args.dir, args.run.as_deref())?;
    let table = ProbTable::load_run(&dataset, &run_dir)?;
    let started = std::time::Instant::now();
    let Some(emb) = Embeddings::load_run(&run_dir, &table.rows)? else {
        anyhow::bail!(
            "{} has no {}: simulated runs, runs before embeddings were saved, and efficientnet backbones have none; train again with a small-cnn or resnet recipe",
            run_dir.display(),
            crate::embeddings::FILE_NAME
        );
    };
    let report = analyse(&dataset, &emb, &table.run_id);
    let decisions = identity_decisions(&dataset, &report)?;
    print!(
        "{}",
        render_text(
            &dataset,
            &report,
            &decisions,
            args.limit,
            started.elapsed().as_secs_f64()
        )
    );
    if let Some(out) = &args.out {
        crate::cli::write_output(
            Some(out),
            Some(&args.dir),
            &[],
            csv(&dataset, &report, &decisions)?.as_bytes(),
        )?;
        println!(
            "wrote {} ({} rows)",
            out.display(),
            report.outliers.len() + report.lookalikes.len()
        );
    }
    Ok(())
}

/// The annotator's decision on each look-alike pair (from the journal, read-only), in the
/// report's order.
fn identity_decisions(
    dataset: &Dataset,
    report: &EmbeddingReport,
) -> anyhow::Result<Vec<Option<IdentityDecision>>> {
    let workspace = Workspace::for_dataset(&dataset.root);
    // No journal yet reads as no decisions.
    let (curation, _) = crate::curation::Curation::open_read_only(dataset, &workspace)?;
    Ok(report
        .lookalikes
        .iter()
        .map(|l| curation.identity_decision(l.a, l.b))
        .collect())
}

fn decision_name(d: Option<IdentityDecision>) -> &'static str {
    d.map_or("", IdentityDecision::name)
}

fn photo_path(dataset: &Dataset, report: &EmbeddingReport, row: usize) -> String {
    dataset
        .photo(report.rows[row])
        .map(|p| p.rel_path.display().to_string())
        .unwrap_or_default()
}

fn folder(dataset: &Dataset, person: usize) -> &str {
    dataset
        .people
        .get(person)
        .map(|p| p.folder.as_str())
        .unwrap_or("?")
}

pub fn render_text(
    dataset: &Dataset,
    report: &EmbeddingReport,
    decisions: &[Option<IdentityDecision>],
    limit: usize,
    secs: f64,
) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "Embeddings of run {}: {} photos x {} features, analysed in {secs:.1} s",
        report.run_id,
        report.rows.len(),
        report.dim
    );
    let _ = match report.map_kind {
        crate::embeddings::MapKind::Tsne => writeln!(o, "map: the run's t-SNE layout (map.npy)"),
        crate::embeddings::MapKind::PrincipalComponents => writeln!(
            o,
            "map: the first two principal components ({:.0}% and {:.0}% of the variance; no map.npy)",
            100.0 * report.map_explained[0],
            100.0 * report.map_explained[1]
        ),
    };
    let _ = writeln!(
        o,
        "{} (unlike any photo of another person, beyond Datalab's fence; score 1 typical, 0.37 median, near 0 alone):",
        crate::workbench::queries::counted(report.outliers.len(), "outlier photo")
    );
    for &row in report.outliers.iter().take(limit) {
        let _ = writeln!(
            o,
            "  {:.3}  {}",
            report.outlier_score[row],
            photo_path(dataset, report, row)
        );
    }
    if report.outliers.len() > limit {
        let _ = writeln!(o, "  … and {} more", report.outliers.len() - limit);
    }
    let _ = writeln!(
        o,
        "{} (two ids the model sees as one person; check for a duplicated identity):",
        crate::workbench::queries::counted(report.lookalikes.len(), "look-alike pair")
    );
    for (i, l) in report.lookalikes.iter().enumerate().take(limit) {
        let decided = match decisions.get(i).copied().flatten() {
            Some(d) => format!("; decided: {}", d.name()),
            None => String::new(),
        };
        let _ = writeln!(
            o,
            "  {}  ~  {}   (distance {:.3}, {:.1} robust sd closer than usual{decided})",
            folder(dataset, l.a),
            folder(dataset, l.b),
            l.distance,
            l.z
        );
    }
    o
}

fn csv(
    dataset: &Dataset,
    report: &EmbeddingReport,
    decisions: &[Option<IdentityDecision>],
) -> anyhow::Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["kind", "path", "other", "score", "detail", "decision"])?;
    for (rank, &row) in report.outliers.iter().enumerate() {
        w.write_record([
            "outlier".to_string(),
            photo_path(dataset, report, row),
            String::new(),
            format!("{:.5}", report.outlier_score[row]),
            format!("outlier {} of {}", rank + 1, report.outliers.len()),
            String::new(),
        ])?;
    }
    for (i, l) in report.lookalikes.iter().enumerate() {
        w.write_record([
            "lookalike".to_string(),
            format!("train/images/{}", folder(dataset, l.a)),
            format!("train/images/{}", folder(dataset, l.b)),
            format!("{:.5}", l.distance),
            format!("{:.1} robust sd closer than people's usual nearest", l.z),
            decision_name(decisions.get(i).copied().flatten()).to_string(),
        ])?;
    }
    Ok(String::from_utf8(w.into_inner()?)?)
}
