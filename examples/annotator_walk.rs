//! An annotator walking the review queue of a dataset that has a noise manifest (a demo
//! dataset with a trained run, or a placeholder tree with a simulated one), as the app
//! shows it by default: the likely tier, and the id neighbours of each label found wrong.
//! On a copy of the dataset, it takes the first open item, accepts it when the manifest
//! says the label is wrong and keeps it otherwise, until no item is open. The same walk
//! without the neighbours is printed beside it.
//!
//! ```text
//! cargo run --no-default-features --example annotator_walk -- DATASET [NOISE_CSV] [RUN_DIR]
//! ```
//!
//! NOISE_CSV defaults to `DATASET/noise.csv`; RUN_DIR (a run folder elsewhere, e.g. one
//! written by `mask-curator simulate --out`) is copied into the copy's runs.

use anyhow::{bail, Context, Result};
use mask_curator::curation::ReviewDecision;
use mask_curator::dataset::Field;
use mask_curator::issues::evaluate::read_noise_csv;
use mask_curator::issues::Tier;
use mask_curator::workbench::queries::review_order;
use mask_curator::workbench::session::{open_folder, ItemStatus, QueueItem};
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

/// What a walk found.
#[derive(Default)]
struct Walk {
    reviewed: usize,
    /// Real errors accepted, per noise kind.
    found: BTreeMap<String, usize>,
    /// Items reviewed because a neighbour was found wrong, and how many were real.
    neighbours: (usize, usize),
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(dataset) = args.first().map(PathBuf::from) else {
        bail!("usage: annotator_walk DATASET [NOISE_CSV] [RUN_DIR]");
    };
    let noise_path = args
        .get(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| dataset.join("noise.csv"));
    let run = args.get(2).map(PathBuf::from);
    let noise = read_noise_csv(&noise_path)?;
    // (field, person folder) -> kind: a swap is a mask error of the person's pair.
    let truth: BTreeMap<(Field, String), String> = noise
        .iter()
        .map(|e| ((e.field, e.person_folder()), e.kind.clone()))
        .collect();
    let mut injected: BTreeMap<String, HashSet<String>> = BTreeMap::new();
    for ((_, folder), kind) in &truth {
        injected
            .entry(kind.clone())
            .or_default()
            .insert(folder.clone());
    }
    for neighbours in [true, false] {
        let walk = walk(&dataset, run.as_deref(), &truth, neighbours)?;
        let label = if neighbours {
            "with id neighbours"
        } else {
            "likely tier only"
        };
        let found: Vec<String> = injected
            .iter()
            .map(|(kind, people)| {
                format!(
                    "{kind} {}/{}",
                    walk.found.get(kind).copied().unwrap_or(0),
                    people.len()
                )
            })
            .collect();
        let real: usize = walk.found.values().sum();
        println!(
            "{label}: {} items reviewed, {real} real errors ({}){}",
            walk.reviewed,
            found.join(", "),
            if neighbours {
                format!(
                    "; {} items brought by a neighbour, {} of them real",
                    walk.neighbours.0, walk.neighbours.1
                )
            } else {
                String::new()
            }
        );
    }
    Ok(())
}

fn walk(
    dataset: &Path,
    run: Option<&Path>,
    truth: &BTreeMap<(Field, String), String>,
    neighbours: bool,
) -> Result<Walk> {
    // Decisions are journaled in the dataset's workspace: work on a copy.
    let tmp = tempfile::tempdir()?;
    let copy = tmp.path().join("dataset");
    copy_dir(dataset, &copy)?;
    let _ = std::fs::remove_file(copy.join(".mask-curator/journal.jsonl"));
    if let Some(run) = run {
        let name = run.file_name().context("the run folder has no name")?;
        copy_dir(run, &copy.join(".mask-curator/runs").join(name))?;
    }
    let mut session = open_folder(&copy, None, &|_| {})?;
    let mut walk = Walk::default();
    loop {
        let open = |it: &QueueItem| session.item_status(it) == ItemStatus::Open;
        let next = if neighbours {
            review_order(&session, open, false).first().copied()
        } else {
            let items = &session.issues.as_ref().context("no run")?.items;
            (0..items.len()).find(|&i| items[i].tier == Tier::Likely && open(&items[i]))
        };
        let Some(i) = next else { break };
        let item = session.issues.as_ref().context("no run")?.items[i].clone();
        let by_neighbour = session.batch_lead_of(&item).is_some();
        let kind = truth
            .get(&(item.field, session.folder(item.person).to_string()))
            .cloned();
        let decision = if kind.is_some() {
            ReviewDecision::Accepted
        } else {
            ReviewDecision::Keep
        };
        session.decide(&item, decision)?;
        walk.reviewed += 1;
        if let Some(kind) = &kind {
            *walk.found.entry(kind.clone()).or_default() += 1;
        }
        if by_neighbour {
            walk.neighbours.0 += 1;
            walk.neighbours.1 += usize::from(kind.is_some());
        }
    }
    Ok(walk)
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}
