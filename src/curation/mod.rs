//! Curation: the annotator's label corrections on top of the given labels.
//!
//! Every change goes to an append-only journal (`<root>/.mask-curator/journal.jsonl`) and is
//! synced to disk before [`Curation::apply`] returns, so an edit the app shows as done
//! survives a crash or power cut. Undo and redo are journal entries too, so the undo history
//! survives restarts. Opening replays the journal; damaged lines are reported and skipped.
//! The dataset's own files are never written. Pure: no GUI, no torch.

pub mod export;
pub mod identity;
pub mod journal;

pub use export::{export, prepare_export, ExportSummary, PreparedExport};
pub use identity::{Identities, IdentityConflict, IdentityDecision};
pub use journal::{JournalEntry, JournalField, Op, Value};

use crate::dataset::{AgeBin, ClassCode, Dataset, Gender, Mask, Slot};
use crate::workspace::Workspace;
use journal::{JournalWriter, RawLine};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Ages an annotator may set, in years.
pub const AGE_RANGE: std::ops::RangeInclusive<u32> = 1..=120;

/// What an edit is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    /// One photo of a person (its mask label, or a review decision on that photo).
    Photo { person: String, slot: Slot },
    /// A person (gender and age, shared by all seven photos; or a review decision).
    Person { person: String },
    /// A suspected label issue, by its id (e.g. `gender:000123_female_Asian_45`). Only
    /// review decisions apply to it.
    Issue { id: String },
}

impl Target {
    pub fn photo(person: impl Into<String>, slot: Slot) -> Target {
        Target::Photo {
            person: person.into(),
            slot,
        }
    }
    pub fn person(person: impl Into<String>) -> Target {
        Target::Person {
            person: person.into(),
        }
    }
    pub fn issue(id: impl Into<String>) -> Target {
        Target::Issue { id: id.into() }
    }
    /// The person folder this target concerns, if any.
    pub fn person_folder(&self) -> Option<&str> {
        match self {
            Target::Photo { person, .. } | Target::Person { person } => Some(person),
            Target::Issue { .. } => None,
        }
    }
}

/// `photo:<folder>/<slot stem>`, `person:<folder>`, `issue:<id>`: the form used in the
/// journal and in exported CSVs.
impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Photo { person, slot } => write!(f, "photo:{person}/{}", slot.stem()),
            Target::Person { person } => write!(f, "person:{person}"),
            Target::Issue { id } => write!(f, "issue:{id}"),
        }
    }
}

impl FromStr for Target {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (kind, rest) = s
            .split_once(':')
            .ok_or_else(|| format!("target {s:?} has no kind prefix"))?;
        if rest.is_empty() {
            return Err(format!("target {s:?} names nothing"));
        }
        match kind {
            "photo" => {
                let (person, stem) = rest
                    .rsplit_once('/')
                    .ok_or_else(|| format!("photo target {s:?} has no slot"))?;
                let slot = Slot::from_stem(stem)
                    .ok_or_else(|| format!("unknown photo slot {stem:?} in {s:?}"))?;
                if person.is_empty() {
                    return Err(format!("photo target {s:?} names no person"));
                }
                Ok(Target::photo(person, slot))
            }
            "person" => Ok(Target::person(rest)),
            "issue" => Ok(Target::issue(rest)),
            _ => Err(format!("unknown target kind {kind:?} in {s:?}")),
        }
    }
}

/// An annotator's decision about a photo, a person or a suspected issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ReviewDecision {
    /// The given label is right; the issue is not a mistake.
    Keep,
    /// The issue was real and has been corrected.
    Accepted,
    /// Unsure: come back to it (or ask someone else).
    NeedsReview,
}

impl ReviewDecision {
    pub const ALL: [ReviewDecision; 3] = [
        ReviewDecision::Keep,
        ReviewDecision::Accepted,
        ReviewDecision::NeedsReview,
    ];
    pub fn token(self) -> &'static str {
        match self {
            ReviewDecision::Keep => "keep",
            ReviewDecision::Accepted => "accepted",
            ReviewDecision::NeedsReview => "needs_review",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.token() == s)
    }
}

/// The new value an edit sets.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Change {
    Mask(Mask),
    Gender(Gender),
    AgeYears(u32),
    Review(ReviewDecision),
    /// The person's note; `None` (or only blanks) removes it.
    Note(Option<String>),
}

/// The longest note, in characters: a remark for the next reader, not a report.
pub const NOTE_MAX_CHARS: usize = 500;

/// A note as the journal keeps it: on one line (line breaks and runs of blanks become one
/// space), trimmed, `None` when nothing is left; an error when longer than
/// [`NOTE_MAX_CHARS`].
pub fn clean_note(text: &str) -> Result<Option<String>, String> {
    let clean = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let chars = clean.chars().count();
    if chars > NOTE_MAX_CHARS {
        return Err(format!(
            "a note of {chars} characters is longer than {NOTE_MAX_CHARS}"
        ));
    }
    if let Some(c) = clean.chars().find(|c| c.is_control()) {
        return Err(format!("a note may not hold the control character {c:?}"));
    }
    Ok((!clean.is_empty()).then_some(clean))
}

/// One requested change. Gender and age edits aimed at a photo apply to its person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub target: Target,
    pub change: Change,
    /// Why, in a form a reader of the change log understands
    /// (e.g. `issue gender:000123_female_Asian_45 run 20261122-0130`).
    pub reason: Option<String>,
}

impl Edit {
    pub fn new(target: Target, change: Change) -> Edit {
        Edit {
            target,
            change,
            reason: None,
        }
    }
    pub fn with_reason(mut self, reason: impl Into<String>) -> Edit {
        self.reason = Some(reason.into());
        self
    }
}

/// A journal line that replay did not apply (or applied with a remark), by file line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedLine {
    /// 1-based line number in the journal file.
    pub line: usize,
    pub reason: String,
}

/// What opening a journal found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayReport {
    /// Journal lines applied.
    pub entries: usize,
    /// Lines not applied: torn last line, corrupt lines, unknown people or photos,
    /// steps cut short.
    pub skipped: Vec<SkippedLine>,
    /// Lines applied but worth knowing about (e.g. the old value differs from the state
    /// at that point, or an undo that no longer matches the undo history).
    pub notes: Vec<SkippedLine>,
    /// The file ended inside a line: the last write was cut short (a crash mid-write).
    pub torn_tail: bool,
}

impl ReplayReport {
    /// Nothing skipped and nothing odd.
    pub fn is_clean(&self) -> bool {
        self.skipped.is_empty() && self.notes.is_empty() && !self.torn_tail
    }
    /// One line for a status bar or a log, e.g. `replayed 120 entries, skipped 1 (line 121: ...)`.
    pub fn summary(&self) -> String {
        let mut s = format!("replayed {} journal entries", self.entries);
        if !self.skipped.is_empty() {
            let lines: Vec<String> = self
                .skipped
                .iter()
                .map(|l| format!("line {}: {}", l.line, l.reason))
                .collect();
            s.push_str(&format!(
                ", skipped {} ({})",
                self.skipped.len(),
                lines.join("; ")
            ));
        }
        if !self.notes.is_empty() {
            s.push_str(&format!(", {} note(s)", self.notes.len()));
        }
        s
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CurationError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is open in another mask-curator process; close it there first")]
    JournalBusy { path: PathBuf },
    #[error(
        "writing the journal {path} failed earlier ({reason}); every confirmed edit is safe, reopen the dataset to continue"
    )]
    JournalFailed { path: PathBuf, reason: String },
    #[error("opened read-only: edits cannot be saved")]
    ReadOnly,
    #[error("no person folder {0:?} in this dataset")]
    UnknownPerson(String),
    #[error("{person} has no {slot} photo")]
    MissingPhoto { person: String, slot: &'static str },
    #[error("invalid edit: {0}")]
    InvalidEdit(String),
    #[error("refusing to write {path}: {reason}")]
    UnsafeExport { path: PathBuf, reason: String },
    #[error("{path}: no sequence numbers left after seq {seq}; export, then start a new journal")]
    SeqExhausted { path: PathBuf, seq: u64 },
    #[error("{path} line {line}: {reason}")]
    BadInput {
        path: PathBuf,
        line: usize,
        reason: String,
    },
}

impl CurationError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> CurationError {
        CurationError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// The annotator name recorded in the journal: `$MASK_CURATOR_ANNOTATOR`, else `$USER`,
/// else `annotator`.
pub fn default_annotator() -> String {
    ["MASK_CURATOR_ANNOTATOR", "USER"]
        .iter()
        .filter_map(|k| std::env::var(k).ok())
        .map(|v| v.trim().to_string())
        .find(|v| !v.is_empty())
        .unwrap_or_else(|| "annotator".to_string())
}

/// A resolved target: indices instead of folder names.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Key {
    Photo(usize, Slot),
    Person(usize),
    Issue,
}

/// One change as remembered by the undo and redo stacks.
#[derive(Debug, Clone)]
struct StepChange {
    /// The seq of the journal line that last applied this change (edit or redo).
    seq: u64,
    target: Target,
    old: Value,
    new: Value,
}

impl From<&JournalEntry> for StepChange {
    fn from(e: &JournalEntry) -> Self {
        StepChange {
            seq: e.seq,
            target: e.target.clone(),
            old: e.old.clone(),
            new: e.new.clone(),
        }
    }
}

/// One undo unit: a single edit or a batch.
#[derive(Debug, Clone)]
struct Step {
    label: Option<String>,
    changes: Vec<StepChange>,
}

impl Step {
    fn sorted_seqs(&self) -> Vec<u64> {
        let mut s: Vec<u64> = self.changes.iter().map(|c| c.seq).collect();
        s.sort_unstable();
        s
    }
}

/// A change about to be journaled.
struct Planned {
    target: Target,
    key: Key,
    old: Value,
    new: Value,
    reason: Option<String>,
    reverts: Option<u64>,
    reapplies: Option<u64>,
}

/// The curated labels of a dataset: the given labels, the journal, and undo/redo.
pub struct Curation {
    folders: Vec<String>,
    index: HashMap<String, usize>,
    present: Vec<[bool; 7]>,
    given_gender: Vec<Gender>,
    given_age: Vec<u32>,
    gender: Vec<Gender>,
    age: Vec<u32>,
    masks: Vec<[Mask; 7]>,
    reviews: HashMap<Target, ReviewDecision>,
    notes: HashMap<usize, String>,
    journal_path: PathBuf,
    /// `None` when opened read-only.
    writer: Option<JournalWriter>,
    undo: Vec<Step>,
    redo: Vec<Step>,
    history: Vec<JournalEntry>,
    next_seq: u64,
    annotator: String,
    session_edits: usize,
}

impl Curation {
    /// Opens the curation of `dataset`: replays the journal in `workspace` and keeps it open
    /// for appending (locked against other processes). An empty `annotator` means
    /// [`default_annotator`].
    pub fn open(
        dataset: &Dataset,
        workspace: &Workspace,
        annotator: &str,
    ) -> Result<(Curation, ReplayReport), CurationError> {
        let path = workspace.journal_path();
        // Lock before reading so no other process appends between the read and our writes.
        let mut writer = JournalWriter::open(&path)?;
        let (mut cur, report) = Self::replayed(dataset, &path, annotator)?;
        writer.set_ends_torn(report.torn_tail);
        cur.writer = Some(writer);
        Ok((cur, report))
    }

    /// Replays the journal without taking it for writing (for export or inspection while
    /// the app has it open). Edits fail with [`CurationError::ReadOnly`].
    pub fn open_read_only(
        dataset: &Dataset,
        workspace: &Workspace,
    ) -> Result<(Curation, ReplayReport), CurationError> {
        Self::replayed(dataset, &workspace.journal_path(), "")
    }

    fn replayed(
        dataset: &Dataset,
        path: &Path,
        annotator: &str,
    ) -> Result<(Curation, ReplayReport), CurationError> {
        let annotator = if annotator.trim().is_empty() {
            default_annotator()
        } else {
            annotator.trim().to_string()
        };
        let mut cur = Curation::fresh(dataset, path, annotator);
        let (lines, torn) = journal::read_lines(path)?;
        let mut report = cur.replay(lines);
        report.torn_tail = torn;
        Ok((cur, report))
    }

    fn fresh(dataset: &Dataset, journal_path: &Path, annotator: String) -> Curation {
        let people = &dataset.people;
        Curation {
            folders: people.iter().map(|p| p.folder.clone()).collect(),
            index: people
                .iter()
                .enumerate()
                .map(|(i, p)| (p.folder.clone(), i))
                .collect(),
            present: people
                .iter()
                .map(|p| std::array::from_fn(|s| p.photos[s].is_some()))
                .collect(),
            given_gender: people.iter().map(|p| p.gender).collect(),
            given_age: people.iter().map(|p| p.age).collect(),
            gender: people.iter().map(|p| p.gender).collect(),
            age: people.iter().map(|p| p.age).collect(),
            masks: people.iter().map(|_| Slot::ALL.map(Slot::mask)).collect(),
            reviews: HashMap::new(),
            notes: HashMap::new(),
            journal_path: journal_path.to_path_buf(),
            writer: None,
            undo: Vec::new(),
            redo: Vec::new(),
            history: Vec::new(),
            next_seq: 1,
            annotator,
            session_edits: 0,
        }
    }

    // ----- replay --------------------------------------------------------------------

    fn replay(&mut self, lines: Vec<RawLine>) -> ReplayReport {
        let mut report = ReplayReport::default();
        let mut group: Vec<(usize, JournalEntry)> = Vec::new();
        let mut last_seq = 0u64;
        for raw in lines {
            let text = match raw.text {
                Ok(t) => t,
                Err(reason) => {
                    report.skipped.push(SkippedLine {
                        line: raw.number,
                        reason: torn_or(raw.unterminated, reason),
                    });
                    continue;
                }
            };
            if text.trim().is_empty() {
                continue;
            }
            let entry = match JournalEntry::parse_line(&text) {
                Ok(e) => e,
                Err(reason) => {
                    report.skipped.push(SkippedLine {
                        line: raw.number,
                        reason: torn_or(raw.unterminated, reason),
                    });
                    continue;
                }
            };
            if entry.seq <= last_seq {
                report.notes.push(SkippedLine {
                    line: raw.number,
                    reason: format!("seq {} does not follow seq {last_seq}", entry.seq),
                });
            }
            last_seq = last_seq.max(entry.seq);
            // parse_line keeps seq <= MAX_SEQ, so this cannot overflow.
            self.next_seq = self.next_seq.max(entry.seq.saturating_add(1));
            let continues = group
                .last()
                .is_some_and(|(_, prev)| prev.step == entry.step && prev.seq + 1 == entry.seq);
            if !continues {
                self.replay_step(std::mem::take(&mut group), &mut report);
            }
            group.push((raw.number, entry));
        }
        self.replay_step(group, &mut report);
        report
    }

    fn replay_step(&mut self, group: Vec<(usize, JournalEntry)>, report: &mut ReplayReport) {
        let Some((_, first)) = group.first() else {
            return;
        };
        let (step, step_len, op, label) =
            (first.step, first.step_len, first.op, first.batch.clone());
        if group.len() != step_len as usize || first.seq != step {
            for (line, _) in &group {
                report.skipped.push(SkippedLine {
                    line: *line,
                    reason: format!(
                        "step {step} is incomplete ({} of {step_len} lines): cut short before it was confirmed",
                        group.len()
                    ),
                });
            }
            return;
        }
        let first_line = group.first().map_or(0, |(line, _)| *line);
        let mut applied: Vec<JournalEntry> = Vec::new();
        for (line, entry) in group {
            let key = match self.resolve(&entry.target) {
                Ok(k) => k,
                Err(e) => {
                    report.skipped.push(SkippedLine {
                        line,
                        reason: e.to_string(),
                    });
                    continue;
                }
            };
            if !field_fits(&key, entry.field) {
                report.skipped.push(SkippedLine {
                    line,
                    reason: format!(
                        "field {} does not apply to {}",
                        entry.field.name(),
                        entry.target
                    ),
                });
                continue;
            }
            let now = self.value(&entry.target, &key, entry.field);
            if now != entry.old {
                report.notes.push(SkippedLine {
                    line,
                    reason: format!(
                        "{} {} was {:?} here, the entry says {:?}; applied {:?}",
                        entry.target,
                        entry.field.name(),
                        now.token(),
                        entry.old.token(),
                        entry.new.token()
                    ),
                });
            }
            self.set_value(&entry.target, &key, entry.new.clone());
            report.entries += 1;
            applied.push(entry);
        }
        if applied.is_empty() {
            return;
        }
        let first_seq = applied.first().map_or(0, |e| e.seq);
        match op {
            Op::Edit => {
                let changes = applied.iter().map(StepChange::from).collect();
                self.undo.push(Step { label, changes });
                self.redo.clear();
            }
            Op::Undo => {
                let mut refs: Vec<u64> = applied.iter().filter_map(|e| e.reverts).collect();
                refs.sort_unstable();
                match take_matching(&mut self.undo, &refs) {
                    Some((s, on_top)) => {
                        if !on_top {
                            report.notes.push(SkippedLine {
                                line: first_line,
                                reason: format!(
                                    "undo step {first_seq} did not take back the latest step"
                                ),
                            });
                        }
                        self.redo.push(s);
                    }
                    None => report.notes.push(SkippedLine {
                        line: first_line,
                        reason: format!(
                            "undo step {first_seq} refers to changes not in the undo history"
                        ),
                    }),
                }
            }
            Op::Redo => {
                let mut refs: Vec<u64> = applied.iter().filter_map(|e| e.reapplies).collect();
                refs.sort_unstable();
                match take_matching(&mut self.redo, &refs) {
                    Some((mut s, _)) => {
                        for c in &mut s.changes {
                            if let Some(e) = applied.iter().find(|e| e.reapplies == Some(c.seq)) {
                                c.seq = e.seq;
                            }
                        }
                        self.undo.push(s);
                    }
                    None => report.notes.push(SkippedLine {
                        line: first_line,
                        reason: format!(
                            "redo step {first_seq} refers to changes not in the redo history"
                        ),
                    }),
                }
            }
        }
        self.history.extend(applied);
    }

    // ----- targets and values ----------------------------------------------------------

    fn person_idx(&self, folder: &str) -> Result<usize, CurationError> {
        self.index
            .get(folder)
            .copied()
            .ok_or_else(|| CurationError::UnknownPerson(folder.to_string()))
    }

    fn resolve(&self, target: &Target) -> Result<Key, CurationError> {
        match target {
            Target::Photo { person, slot } => {
                let p = self.person_idx(person)?;
                if !self.present[p][slot.index()] {
                    return Err(CurationError::MissingPhoto {
                        person: person.clone(),
                        slot: slot.stem(),
                    });
                }
                Ok(Key::Photo(p, *slot))
            }
            Target::Person { person } => Ok(Key::Person(self.person_idx(person)?)),
            Target::Issue { id } => {
                if id.is_empty() {
                    return Err(CurationError::InvalidEdit(
                        "an issue target needs an id".into(),
                    ));
                }
                Ok(Key::Issue)
            }
        }
    }

    fn value(&self, target: &Target, key: &Key, field: JournalField) -> Value {
        match (key, field) {
            (Key::Photo(p, s), JournalField::Mask) => Value::Mask(self.masks[*p][s.index()]),
            (Key::Person(p), JournalField::Gender) => Value::Gender(self.gender[*p]),
            (Key::Person(p), JournalField::Age) => Value::Age(self.age[*p]),
            (Key::Person(p), JournalField::Note) => Value::Note(self.notes.get(p).cloned()),
            _ => Value::Review(self.reviews.get(target).copied()),
        }
    }

    fn set_value(&mut self, target: &Target, key: &Key, value: Value) {
        match (key, value) {
            (Key::Photo(p, s), Value::Mask(m)) => self.masks[*p][s.index()] = m,
            (Key::Person(p), Value::Gender(g)) => self.gender[*p] = g,
            (Key::Person(p), Value::Age(a)) => self.age[*p] = a,
            (Key::Person(p), Value::Note(Some(n))) => {
                self.notes.insert(*p, n);
            }
            (Key::Person(p), Value::Note(None)) => {
                self.notes.remove(p);
            }
            (_, Value::Review(Some(d))) => {
                self.reviews.insert(target.clone(), d);
            }
            (_, Value::Review(None)) => {
                self.reviews.remove(target);
            }
            // Callers check `field_fits` first.
            _ => {}
        }
    }

    /// Checks an edit and turns it into (target, key, new value). Gender and age edits aimed
    /// at a photo are moved to its person.
    fn normalize(&self, edit: &Edit) -> Result<(Target, Key, Value), CurationError> {
        let person_target = |t: &Target| match t {
            Target::Photo { person, .. } | Target::Person { person } => {
                Ok(Target::person(person.clone()))
            }
            Target::Issue { id } => Err(CurationError::InvalidEdit(format!(
                "issue {id}: only review decisions apply to an issue"
            ))),
        };
        let (target, value) = match (&edit.target, edit.change.clone()) {
            (Target::Photo { .. }, Change::Mask(m)) => (edit.target.clone(), Value::Mask(m)),
            (t, Change::Mask(_)) => {
                return Err(CurationError::InvalidEdit(format!(
                    "{t}: a mask label belongs to a photo"
                )))
            }
            (t, Change::Gender(g)) => (person_target(t)?, Value::Gender(g)),
            (t, Change::AgeYears(a)) => {
                if !AGE_RANGE.contains(&a) {
                    return Err(CurationError::InvalidEdit(format!(
                        "{t}: age {a} is outside {}..={}",
                        AGE_RANGE.start(),
                        AGE_RANGE.end()
                    )));
                }
                (person_target(t)?, Value::Age(a))
            }
            (t, Change::Review(d)) => (t.clone(), Value::Review(Some(d))),
            (t, Change::Note(n)) => {
                let clean = match n {
                    Some(text) => clean_note(&text)
                        .map_err(|reason| CurationError::InvalidEdit(format!("{t}: {reason}")))?,
                    None => None,
                };
                (person_target(t)?, Value::Note(clean))
            }
        };
        let key = self.resolve(&target)?;
        Ok((target, key, value))
    }

    // ----- editing ---------------------------------------------------------------------

    /// Applies one edit. It is in the journal and synced to disk before this returns Ok.
    /// An edit that sets the current value changes nothing and is not journaled.
    /// Clears the redo history.
    pub fn apply(&mut self, edit: Edit) -> Result<(), CurationError> {
        self.apply_batch(vec![edit], "")
    }

    /// Applies several edits as one undo step (e.g. swapping the incorrect and normal masks of
    /// one person). All of them are journaled and synced together; after a crash either the
    /// whole step is replayed or none of it. An empty `label` means no label.
    pub fn apply_batch(&mut self, edits: Vec<Edit>, label: &str) -> Result<(), CurationError> {
        if self.writer.is_none() {
            return Err(CurationError::ReadOnly);
        }
        // Check everything before changing anything.
        let normalized: Vec<(Target, Key, Value, Option<String>)> = edits
            .into_iter()
            .map(|e| self.normalize(&e).map(|(t, k, v)| (t, k, v, e.reason)))
            .collect::<Result<_, _>>()?;
        // Work out old values in order (a batch may touch a field twice), applying as we go.
        let mut planned = Vec::new();
        for (target, key, new, reason) in normalized {
            let old = self.value(&target, &key, new.field());
            if old == new {
                continue;
            }
            self.set_value(&target, &key, new.clone());
            planned.push(Planned {
                target,
                key,
                old,
                new,
                reason,
                reverts: None,
                reapplies: None,
            });
        }
        if planned.is_empty() {
            return Ok(());
        }
        let label = (!label.trim().is_empty()).then(|| label.trim().to_string());
        let entries = self.commit(Op::Edit, label.clone(), planned)?;
        let changes = entries.iter().map(StepChange::from).collect();
        self.undo.push(Step { label, changes });
        self.redo.clear();
        self.session_edits += 1;
        Ok(())
    }

    /// Journals planned changes that are already set in memory. On failure, takes them back
    /// out of memory so the state shows only what is on disk.
    fn commit(
        &mut self,
        op: Op,
        label: Option<String>,
        planned: Vec<Planned>,
    ) -> Result<Vec<JournalEntry>, CurationError> {
        let time = journal::now_rfc3339();
        let step = self.next_seq;
        let step_len = u32::try_from(planned.len()).ok();
        // Seqs come from the file; never let them wrap (a wrapped seq would make the next
        // replay drop confirmed edits).
        let end = step_len
            .and_then(|n| step.checked_add(u64::from(n)))
            .filter(|&end| end <= journal::MAX_SEQ + 1);
        let step_len = step_len.unwrap_or(u32::MAX);
        let entries: Vec<JournalEntry> = planned
            .iter()
            .enumerate()
            .map(|(i, p)| JournalEntry {
                seq: step.wrapping_add(i as u64),
                time: time.clone(),
                annotator: self.annotator.clone(),
                op,
                step,
                step_len,
                batch: label.clone(),
                target: p.target.clone(),
                field: p.new.field(),
                old: p.old.clone(),
                new: p.new.clone(),
                reason: p.reason.clone(),
                reverts: p.reverts,
                reapplies: p.reapplies,
            })
            .collect();
        let result = match (self.writer.as_mut(), end) {
            (_, None) => Err(CurationError::SeqExhausted {
                path: self.journal_path.clone(),
                seq: step,
            }),
            (Some(w), Some(end)) => w.append(&entries).map(|()| end),
            (None, _) => Err(CurationError::ReadOnly),
        };
        let end = match result {
            Ok(end) => end,
            Err(e) => {
                for p in planned.iter().rev() {
                    self.set_value(&p.target, &p.key, p.old.clone());
                }
                return Err(e);
            }
        };
        self.next_seq = end;
        self.history.extend(entries.iter().cloned());
        Ok(entries)
    }

    /// Takes back the latest step. Returns false when there is nothing to undo.
    pub fn undo(&mut self) -> Result<bool, CurationError> {
        if self.writer.is_none() {
            return Err(CurationError::ReadOnly);
        }
        let Some(step) = self.undo.pop() else {
            return Ok(false);
        };
        let result = self.plan_and_commit(&step, Op::Undo);
        match result {
            Ok(_) => {
                self.redo.push(step);
                Ok(true)
            }
            Err(e) => {
                self.undo.push(step);
                Err(e)
            }
        }
    }

    /// Applies again the latest undone step. Returns false when there is nothing to redo.
    pub fn redo(&mut self) -> Result<bool, CurationError> {
        if self.writer.is_none() {
            return Err(CurationError::ReadOnly);
        }
        let Some(mut step) = self.redo.pop() else {
            return Ok(false);
        };
        match self.plan_and_commit(&step, Op::Redo) {
            Ok(entries) => {
                for (c, e) in step.changes.iter_mut().zip(&entries) {
                    c.seq = e.seq;
                }
                self.undo.push(step);
                Ok(true)
            }
            Err(e) => {
                self.redo.push(step);
                Err(e)
            }
        }
    }

    /// Sets the step's old values (undo, in reverse order) or new values (redo, in order)
    /// and journals them.
    fn plan_and_commit(&mut self, step: &Step, op: Op) -> Result<Vec<JournalEntry>, CurationError> {
        let ordered: Vec<&StepChange> = match op {
            Op::Undo => step.changes.iter().rev().collect(),
            _ => step.changes.iter().collect(),
        };
        let mut planned: Vec<Planned> = Vec::new();
        for c in ordered {
            let key = match self.resolve(&c.target) {
                Ok(k) => k,
                Err(e) => {
                    for p in planned.iter().rev() {
                        self.set_value(&p.target, &p.key, p.old.clone());
                    }
                    return Err(e);
                }
            };
            let old = self.value(&c.target, &key, c.new.field());
            let new = if op == Op::Undo { &c.old } else { &c.new };
            self.set_value(&c.target, &key, new.clone());
            let (reverts, reapplies) = if op == Op::Undo {
                (Some(c.seq), None)
            } else {
                (None, Some(c.seq))
            };
            planned.push(Planned {
                target: c.target.clone(),
                key,
                old,
                new: new.clone(),
                reason: None,
                reverts,
                reapplies,
            });
        }
        self.commit(op, step.label.clone(), planned)
    }

    pub fn can_undo(&self) -> bool {
        !self.undo.is_empty()
    }
    pub fn can_redo(&self) -> bool {
        !self.redo.is_empty()
    }
    /// A short description of what undo would take back (for a menu or tooltip).
    pub fn undo_description(&self) -> Option<String> {
        self.undo.last().map(describe_step)
    }
    /// A short description of what redo would apply again.
    pub fn redo_description(&self) -> Option<String> {
        self.redo.last().map(describe_step)
    }

    // ----- reading the state -----------------------------------------------------------

    /// The current (curated) mask label of a photo. Panics if `person` is out of range.
    pub fn mask(&self, person: usize, slot: Slot) -> Mask {
        self.masks[person][slot.index()]
    }
    pub fn gender(&self, person: usize) -> Gender {
        self.gender[person]
    }
    /// The annotator's note on a person, if any.
    pub fn note(&self, person: usize) -> Option<&str> {
        self.notes.get(&person).map(String::as_str)
    }
    /// How many people carry a note.
    pub fn notes_count(&self) -> usize {
        self.notes.len()
    }
    /// Every note, by person in dataset order.
    pub fn notes(&self) -> Vec<(usize, &str)> {
        let mut notes: Vec<(usize, &str)> =
            self.notes.iter().map(|(&p, n)| (p, n.as_str())).collect();
        notes.sort_unstable_by_key(|&(p, _)| p);
        notes
    }
    pub fn age_years(&self, person: usize) -> u32 {
        self.age[person]
    }
    pub fn age_bin(&self, person: usize) -> AgeBin {
        AgeBin::from_years(self.age[person])
    }
    pub fn class_of(&self, person: usize, slot: Slot) -> ClassCode {
        ClassCode::new(
            self.mask(person, slot),
            self.gender(person),
            self.age_bin(person),
        )
    }
    /// The label as given in the dataset (before any curation).
    pub fn given_mask(&self, slot: Slot) -> Mask {
        slot.mask()
    }
    pub fn given_gender(&self, person: usize) -> Gender {
        self.given_gender[person]
    }
    pub fn given_age_years(&self, person: usize) -> u32 {
        self.given_age[person]
    }
    /// The person's folder name (the key used in the journal).
    pub fn folder(&self, person: usize) -> &str {
        &self.folders[person]
    }
    pub fn person_index(&self, folder: &str) -> Option<usize> {
        self.index.get(folder).copied()
    }
    pub fn num_people(&self) -> usize {
        self.folders.len()
    }

    /// The latest review decision on a target (photo, person or issue).
    pub fn review(&self, target: &Target) -> Option<ReviewDecision> {
        self.reviews.get(target).copied()
    }
    /// The latest review decision on the issue with this id.
    pub fn issue_decision(&self, issue_id: &str) -> Option<ReviewDecision> {
        self.reviews.get(&Target::issue(issue_id)).copied()
    }
    /// Every target with a review decision.
    pub fn reviews(&self) -> impl Iterator<Item = (&Target, ReviewDecision)> {
        self.reviews.iter().map(|(t, d)| (t, *d))
    }

    /// True when any label of the person (gender, age, any photo's mask) differs from the
    /// given one.
    pub fn is_edited_person(&self, person: usize) -> bool {
        self.gender[person] != self.given_gender[person]
            || self.age[person] != self.given_age[person]
            || Slot::ALL
                .iter()
                .any(|s| self.masks[person][s.index()] != s.mask())
    }
    /// True when this photo's curated class differs from its given class.
    pub fn is_edited_photo(&self, person: usize, slot: Slot) -> bool {
        self.masks[person][slot.index()] != slot.mask()
            || self.gender[person] != self.given_gender[person]
            || AgeBin::from_years(self.age[person]) != AgeBin::from_years(self.given_age[person])
    }

    /// Edit steps (single edits and batches, not undo/redo) journaled since opening.
    pub fn edits_this_session(&self) -> usize {
        self.session_edits
    }
    /// Labels that now differ from the given ones: masks of photos, plus gender and age of
    /// people (counted once per person, not per photo). Review decisions are not counted.
    pub fn total_changes(&self) -> usize {
        (0..self.folders.len())
            .map(|p| {
                usize::from(self.gender[p] != self.given_gender[p])
                    + usize::from(self.age[p] != self.given_age[p])
                    + Slot::ALL
                        .iter()
                        .filter(|s| {
                            self.present[p][s.index()] && self.masks[p][s.index()] != s.mask()
                        })
                        .count()
            })
            .sum()
    }

    /// The curated class of every photo, in [`Dataset::photo_refs`] order.
    pub fn curated_class_labels(&self, dataset: &Dataset) -> Vec<ClassCode> {
        dataset
            .photo_refs()
            .map(|r| self.class_of(r.person, r.slot))
            .collect()
    }

    /// The current labels in the label-issue engine's form (what the review queue checks).
    pub fn issue_labels(&self) -> crate::issues::DatasetLabels {
        crate::issues::DatasetLabels {
            people: (0..self.num_people())
                .map(|p| crate::issues::PersonLabels {
                    gender: self.gender(p),
                    age: self.age_years(p),
                    mask: Slot::ALL.map(|slot| self.mask(p, slot)),
                })
                .collect(),
        }
    }

    /// The labels as they were before `time` (RFC 3339 or `%Y-%m-%dT%H:%M:%S%z`): the
    /// current labels with every later journal line taken back, newest first. A run's
    /// issues are found on the labels it was trained on, so a fix made after the run leaves
    /// its issue in the queue as fixed instead of making it vanish at the next open.
    /// An unreadable `time` gives the current labels.
    pub fn issue_labels_before(&self, time: &str) -> crate::issues::DatasetLabels {
        let mut labels = self.issue_labels();
        let Some(cutoff) = parse_time(time) else {
            return labels;
        };
        for entry in self.history.iter().rev() {
            if parse_time(&entry.time).is_none_or(|t| t < cutoff) {
                continue;
            }
            let Ok(key) = self.resolve(&entry.target) else {
                continue;
            };
            match (key, &entry.old) {
                (Key::Photo(p, slot), Value::Mask(m)) => labels.people[p].mask[slot.index()] = *m,
                (Key::Person(p), Value::Gender(g)) => labels.people[p].gender = *g,
                (Key::Person(p), Value::Age(a)) => labels.people[p].age = *a,
                _ => {}
            }
        }
        labels
    }

    /// Every journal entry applied, oldest first (replayed ones, then this session's).
    pub fn history(&self) -> &[JournalEntry] {
        &self.history
    }
    /// The entries about one person (their photos and the person), oldest first.
    pub fn person_history(&self, person: usize) -> impl Iterator<Item = &JournalEntry> {
        let folder = self.folders[person].as_str();
        self.history
            .iter()
            .filter(move |e| e.target.person_folder() == Some(folder))
    }

    pub fn annotator(&self) -> &str {
        &self.annotator
    }
    pub fn journal_path(&self) -> &Path {
        &self.journal_path
    }
    pub fn is_read_only(&self) -> bool {
        self.writer.is_none()
    }

    /// The edits that swap the current mask labels of two photos of a person (for
    /// [`Curation::apply_batch`]; e.g. incorrect_mask and normal files that were swapped).
    pub fn swap_masks_edits(
        &self,
        person: usize,
        a: Slot,
        b: Slot,
        reason: Option<&str>,
    ) -> Vec<Edit> {
        let folder = &self.folders[person];
        let (ma, mb) = (self.mask(person, a), self.mask(person, b));
        [(a, mb), (b, ma)]
            .into_iter()
            .map(|(slot, m)| Edit {
                target: Target::photo(folder.clone(), slot),
                change: Change::Mask(m),
                reason: reason.map(str::to_string),
            })
            .collect()
    }
}

fn torn_or(unterminated: bool, reason: String) -> String {
    if unterminated {
        format!("torn last line (a write cut short, never confirmed): {reason}")
    } else {
        reason
    }
}

fn field_fits(key: &Key, field: JournalField) -> bool {
    matches!(
        (key, field),
        (Key::Photo(..), JournalField::Mask)
            | (
                Key::Person(_),
                JournalField::Gender | JournalField::Age | JournalField::Note
            )
            | (_, JournalField::Review)
    )
}

/// Removes the step whose seqs are `refs` from a stack, searching from the top.
/// Returns it and whether it was the top.
fn take_matching(stack: &mut Vec<Step>, refs: &[u64]) -> Option<(Step, bool)> {
    let pos = stack.iter().rposition(|s| s.sorted_seqs() == refs)?;
    let on_top = pos + 1 == stack.len();
    Some((stack.remove(pos), on_top))
}

fn describe_step(step: &Step) -> String {
    if let Some(label) = &step.label {
        return label.clone();
    }
    match step.changes.as_slice() {
        [c] => format!(
            "{} {}: {} -> {}",
            c.target,
            c.new.field().name(),
            c.old.token(),
            c.new.token()
        ),
        cs => format!("{} changes", cs.len()),
    }
}

#[cfg(test)]
mod tests;

/// A journal or run time as an instant.
fn parse_time(text: &str) -> Option<chrono::DateTime<chrono::FixedOffset>> {
    chrono::DateTime::parse_from_rfc3339(text)
        .or_else(|_| chrono::DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%z"))
        .ok()
}
