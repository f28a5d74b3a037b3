use crate::curation::{export, Curation};
use crate::workspace::Workspace;
use anyhow::Context;
use clap::Args as ClapArgs;
use std::path::PathBuf;

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Dataset folder (the one holding train/).
    pub dir: PathBuf,
    /// Where to write the CSVs [default: DIR/.mask-curator/exports].
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let dataset = crate::dataset::scan(&args.dir)
        .with_context(|| format!("cannot read the dataset in {}", args.dir.display()))?;
    let workspace = Workspace::for_dataset(&args.dir);
    // Read-only: exporting works while the app has the journal open.
    let (curation, report) =
        Curation::open_read_only(&dataset, &workspace).context("cannot replay the edit journal")?;
    println!(
        "journal {}: {}",
        workspace.journal_path().display(),
        report.summary()
    );
    for line in report.skipped.iter().chain(&report.notes) {
        eprintln!("  journal line {}: {}", line.line, line.reason);
    }
    let out = args.out.unwrap_or_else(|| workspace.exports_dir());
    let summary = export(&dataset, &curation, &out)?;
    for f in &summary.files {
        println!("wrote {} ({} rows): {}", f.path.display(), f.rows, f.what);
    }
    println!("{}", summary.describe());
    Ok(())
}
