//! A hidden command for crash tests: applies edits one by one through `Curation::apply`
//! and prints `confirmed <seq> <target> <field> <new>` after each call returns, i.e. after
//! the edit is synced to disk. A test kills the process mid-stream and checks that every
//! confirmed edit is still there.

use crate::curation::{Change, Curation, Edit, Target};
use crate::dataset::Slot;
use crate::workspace::Workspace;
use anyhow::Context;
use clap::Args as ClapArgs;
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Dataset folder.
    pub dir: PathBuf,
    /// How many edit steps to apply.
    #[arg(long, default_value_t = 1000)]
    pub edits: usize,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let dataset = crate::dataset::scan(&args.dir)
        .with_context(|| format!("cannot read the dataset in {}", args.dir.display()))?;
    anyhow::ensure!(
        !dataset.people.is_empty(),
        "{} has no people",
        args.dir.display()
    );
    let workspace = Workspace::for_dataset(&args.dir);
    let (mut cur, report) = Curation::open(&dataset, &workspace, "")?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "replayed {} skipped {}",
        report.entries,
        report.skipped.len()
    )?;
    let people = dataset.people.len();
    for i in 0..args.edits {
        let person = i % people;
        let folder = cur.folder(person).to_string();
        let reason = format!("stress edit {i}");
        let before = cur.history().len();
        // Single edits, batches, undo and redo, so every kind of step gets cut by the kill.
        match i % 5 {
            0 => {
                let g = cur.gender(person).flipped();
                cur.apply(Edit::new(Target::person(folder), Change::Gender(g)).with_reason(reason))?
            }
            1 => {
                let now = cur.age_years(person);
                let age = 18 + (now + 7 + i as u32) % 43;
                let age = if age == now {
                    18 + (age - 17) % 43
                } else {
                    age
                };
                cur.apply(
                    Edit::new(Target::person(folder), Change::AgeYears(age)).with_reason(reason),
                )?
            }
            2 | 4 => {
                let present = |s: Slot| dataset.people[person].photos[s.index()].is_some();
                let (a, b) = (Slot::Incorrect, Slot::Normal);
                if i % 5 == 4 && cur.can_redo() {
                    cur.redo()?;
                } else if present(a) && present(b) && cur.mask(person, a) != cur.mask(person, b) {
                    let edits = cur.swap_masks_edits(person, a, b, Some(&reason));
                    cur.apply_batch(edits, "swap incorrect/normal")?
                } else {
                    let g = cur.gender(person).flipped();
                    cur.apply(Edit::new(Target::person(folder), Change::Gender(g)))?
                }
            }
            _ => {
                cur.undo()?;
            }
        }
        for e in &cur.history()[before..] {
            writeln!(
                out,
                "confirmed {} {} {} {}",
                e.seq,
                e.target,
                e.field.name(),
                e.new.token()
            )?;
        }
        out.flush()?;
    }
    Ok(())
}
