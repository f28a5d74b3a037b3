//! Export of the curated labels as CSV files: a corrected train.csv in the original schema,
//! one row per photo with its labels, the full change log, the net changes, and the ids
//! decided to be one person (for a split by identity).
//! Every file is written atomically; the dataset's own files are never touched.

use super::{Curation, CurationError, JournalField, Target, Value};
use crate::dataset::Dataset;
use crate::workspace::write_atomic;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// File names inside the export folder.
pub const TRAIN_CSV: &str = "train.csv";
pub const PHOTO_LABELS_CSV: &str = "photo_labels.csv";
pub const CHANGE_LOG_CSV: &str = "change_log.csv";
pub const NET_CHANGES_CSV: &str = "net_changes.csv";
pub const SAME_PERSON_CSV: &str = "same_person.csv";

/// One file an export wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportedFile {
    pub path: PathBuf,
    /// Data rows (without the header).
    pub rows: usize,
    pub what: &'static str,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportSummary {
    pub files: Vec<ExportedFile>,
    /// People whose gender or age differs from train.csv.
    pub people_changed: usize,
    /// Photos whose class differs from the given one.
    pub photos_changed: usize,
    /// Items whose latest decision is "needs review": not settled yet.
    pub needs_review: usize,
    /// People with an annotator's note.
    pub notes: usize,
}

impl ExportSummary {
    /// What the export holds, in a line: the changes, and what is still undecided.
    pub fn describe(&self) -> String {
        let people = |n: usize| if n == 1 { "person" } else { "people" };
        let mut text = format!(
            "{} {} with corrected gender/age, {} {} with a changed class",
            self.people_changed,
            people(self.people_changed),
            self.photos_changed,
            if self.photos_changed == 1 {
                "photo"
            } else {
                "photos"
            }
        );
        if self.needs_review > 0 {
            text.push_str(&format!(
                "; {} {} still marked needs review ({NET_CHANGES_CSV} lists {})",
                self.needs_review,
                if self.needs_review == 1 {
                    "item is"
                } else {
                    "items are"
                },
                if self.needs_review == 1 { "it" } else { "them" },
            ));
        }
        if self.notes > 0 {
            text.push_str(&format!(
                "; notes on {} {} ({NET_CHANGES_CSV})",
                self.notes,
                people(self.notes)
            ));
        }
        text
    }
}

/// Writes the export files into `out_dir` (created when missing).
pub fn export(
    dataset: &Dataset,
    curation: &Curation,
    out_dir: &Path,
) -> Result<ExportSummary, CurationError> {
    prepare_export(dataset, curation)?.write(out_dir)
}

/// The export's contents, built in memory (fast) so that the slow part, writing to disk,
/// can run on another thread without holding the curation.
#[derive(Debug, Clone)]
pub struct PreparedExport {
    /// The dataset root: no export may write into the dataset's own files.
    root: PathBuf,
    files: Vec<(&'static str, String, &'static str)>,
    people_changed: usize,
    photos_changed: usize,
    needs_review: usize,
    notes: usize,
}

/// Renders the export files from the curated labels.
pub fn prepare_export(
    dataset: &Dataset,
    curation: &Curation,
) -> Result<PreparedExport, CurationError> {
    let train = corrected_train_csv(dataset, curation)?;
    let files = vec![
        (
            TRAIN_CSV,
            train,
            "train.csv with corrected gender and age (original schema)",
        ),
        (
            PHOTO_LABELS_CSV,
            photo_labels_csv(dataset, curation),
            "curated labels of every photo",
        ),
        (
            CHANGE_LOG_CSV,
            change_log_csv(curation),
            "every journal entry",
        ),
        (
            NET_CHANGES_CSV,
            net_changes_csv(curation),
            "net change per target and field",
        ),
        (
            SAME_PERSON_CSV,
            same_person_csv(curation),
            "ids decided to be one person, by group",
        ),
    ];
    let people_changed = (0..curation.num_people())
        .filter(|&p| {
            curation.gender(p) != curation.given_gender(p)
                || curation.age_years(p) != curation.given_age_years(p)
        })
        .count();
    let photos_changed = dataset
        .photo_refs()
        .filter(|r| curation.is_edited_photo(r.person, r.slot))
        .count();
    let needs_review = curation
        .reviews()
        .filter(|(_, d)| *d == super::ReviewDecision::NeedsReview)
        .count();
    Ok(PreparedExport {
        root: dataset.root.clone(),
        files,
        people_changed,
        photos_changed,
        needs_review,
        notes: curation.notes_count(),
    })
}

impl PreparedExport {
    /// Writes every file atomically into `out_dir` (created when missing). Refuses a
    /// folder inside the dataset other than its `.mask-curator/` workspace, and any file
    /// that would replace one of the dataset's own.
    pub fn write(&self, out_dir: &Path) -> Result<ExportSummary, CurationError> {
        let names: Vec<&str> = self.files.iter().map(|(name, _, _)| *name).collect();
        check_export_dir(&self.root, out_dir, &names)?;
        let mut summary = ExportSummary {
            people_changed: self.people_changed,
            photos_changed: self.photos_changed,
            needs_review: self.needs_review,
            notes: self.notes,
            ..ExportSummary::default()
        };
        for (name, text, what) in &self.files {
            let path = out_dir.join(name);
            write_atomic(&path, text.as_bytes()).map_err(|e| CurationError::io(&path, e))?;
            let rows = text.lines().count().saturating_sub(1);
            summary.files.push(ExportedFile { path, rows, what });
        }
        Ok(summary)
    }
}

/// Where an export (or any report a command writes, e.g. `check-photos --out`) may go:
/// outside the dataset, or inside its workspace folder. Paths are compared after resolving
/// symlinks and `..`, so no spelling of a dataset folder slips through; a file that exists
/// and resolves into the dataset is refused by name.
pub fn check_export_dir(root: &Path, out_dir: &Path, names: &[&str]) -> Result<(), CurationError> {
    let refuse = |path: &Path, reason: String| CurationError::UnsafeExport {
        path: path.to_path_buf(),
        reason,
    };
    let root_real = std::fs::canonicalize(root).map_err(|e| CurationError::io(root, e))?;
    let workspace_real = root_real.join(crate::workspace::WORKSPACE_DIR);
    let inside_dataset = |p: &Path| p.starts_with(&root_real) && !p.starts_with(&workspace_real);
    for name in names {
        let file = out_dir.join(name);
        if let Ok(real) = std::fs::canonicalize(&file) {
            if inside_dataset(&real) {
                let what = if real.is_dir() { "a folder" } else { "a file" };
                return Err(refuse(
                    &file,
                    format!("would replace {}, {what} of the dataset", real.display()),
                ));
            }
        }
    }
    let out_real = resolve_lexically_missing(out_dir)
        .ok_or_else(|| refuse(out_dir, "cannot tell where this folder is".into()))?;
    if inside_dataset(&out_real) {
        return Err(refuse(
            out_dir,
            format!(
                "the folder is inside the dataset {}; export outside it or into {}",
                root_real.display(),
                workspace_real.display()
            ),
        ));
    }
    Ok(())
}

/// [`check_export_dir`] for one file a command writes (`--out FILE`, a submission).
pub fn check_export_file(root: &Path, file: &Path) -> Result<(), CurationError> {
    let name =
        file.file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| CurationError::UnsafeExport {
                path: file.to_path_buf(),
                reason: "it names no file".into(),
            })?;
    let dir = file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    check_export_dir(root, dir, &[name])
}

/// `path` with its longest existing prefix resolved by the file system and the rest (not
/// yet created) appended; `None` when the rest climbs with `..`.
fn resolve_lexically_missing(path: &Path) -> Option<PathBuf> {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().ok()?.join(path)
    };
    let mut existing = absolute.as_path();
    let mut rest = Vec::new();
    loop {
        if let Ok(real) = std::fs::canonicalize(existing) {
            let mut out = real;
            for part in rest.iter().rev() {
                out.push(part);
            }
            return Some(out);
        }
        let name = existing.file_name()?;
        if name == ".." {
            return None;
        }
        rest.push(name.to_os_string());
        existing = existing.parent()?;
    }
}

fn csv_text(rows: Vec<Vec<String>>, crlf: bool) -> String {
    let eol = if crlf { "\r\n" } else { "\n" };
    let mut out = String::new();
    for row in rows {
        let cells: Vec<String> = row.iter().map(|c| csv_cell(c)).collect();
        out.push_str(&cells.join(","));
        out.push_str(eol);
    }
    out
}

/// Quotes a cell when it holds a comma, quote or line break.
fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The dataset's train.csv with the curated gender and age of every person, row for row in
/// the original order and schema. The `path` (folder) column is kept, so the rows still
/// resolve to the photo folders; rows whose folder is not in the dataset pass unchanged.
pub fn corrected_train_csv(
    dataset: &Dataset,
    curation: &Curation,
) -> Result<String, CurationError> {
    let path = dataset.root.join("train").join("train.csv");
    let bytes = std::fs::read(&path).map_err(|e| CurationError::io(&path, e))?;
    let crlf = bytes.windows(2).any(|w| w == b"\r\n");
    let bad = |line: usize, reason: String| CurationError::BadInput {
        path: path.clone(),
        line,
        reason,
    };
    // Flexible: a row with a wrong number of cells passes through as it is (the scan
    // reports it); only unreadable bytes stop the export.
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(bytes.as_slice());
    let header = reader.headers().map_err(|e| bad(1, e.to_string()))?.clone();
    let column = |name: &str| {
        header
            .iter()
            .position(|h| {
                h.trim()
                    .trim_start_matches('\u{feff}')
                    .eq_ignore_ascii_case(name)
            })
            .ok_or_else(|| {
                bad(
                    1,
                    format!(
                        "no `{name}` column (found: {})",
                        header.iter().collect::<Vec<_>>().join(",")
                    ),
                )
            })
    };
    let (gender_col, age_col, path_col) = (column("gender")?, column("age")?, column("path")?);
    let mut rows = vec![header.iter().map(str::to_string).collect::<Vec<_>>()];
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line() as usize);
            bad(line, e.to_string())
        })?;
        let mut row: Vec<String> = record.iter().map(str::to_string).collect();
        let folder = record.get(path_col).unwrap_or("").trim();
        if let Some(p) = curation.person_index(folder) {
            if let Some(cell) = row.get_mut(gender_col) {
                *cell = curation.gender(p).name().to_string();
            }
            if let Some(cell) = row.get_mut(age_col) {
                *cell = curation.age_years(p).to_string();
            }
        }
        rows.push(row);
    }
    Ok(csv_text(rows, crlf))
}

/// One row per photo in [`Dataset::photo_refs`] order: the official integer codes first
/// (`path,mask,gender,age,class`), readable columns after.
pub fn photo_labels_csv(dataset: &Dataset, curation: &Curation) -> String {
    let mut rows = vec![[
        "path",
        "mask",
        "gender",
        "age",
        "class",
        "person",
        "slot",
        "mask_name",
        "gender_name",
        "age_years",
        "age_name",
        "edited",
    ]
    .map(str::to_string)
    .to_vec()];
    for r in dataset.photo_refs() {
        let Some(photo) = dataset.photo(r) else {
            continue;
        };
        let class = curation.class_of(r.person, r.slot);
        let rel = photo.rel_path.to_string_lossy().replace('\\', "/");
        rows.push(vec![
            rel,
            class.mask().index().to_string(),
            class.gender().index().to_string(),
            class.age().index().to_string(),
            class.index().to_string(),
            curation.folder(r.person).to_string(),
            r.slot.stem().to_string(),
            class.mask().name().to_string(),
            class.gender().name().to_string(),
            curation.age_years(r.person).to_string(),
            class.age().name().to_string(),
            u8::from(curation.is_edited_photo(r.person, r.slot)).to_string(),
        ]);
    }
    csv_text(rows, false)
}

/// The ids the annotator decided are one person: a row per id of each group, `group`
/// being the group's first folder (what a split by identity groups on), with the curated
/// gender and age, so a group whose labels disagree shows here too.
pub fn same_person_csv(curation: &Curation) -> String {
    let mut rows = vec![["group", "folder", "gender", "age"]
        .map(str::to_string)
        .to_vec()];
    for group in curation.identities().groups() {
        for &p in group {
            rows.push(vec![
                curation.folder(group[0]).to_string(),
                curation.folder(p).to_string(),
                curation.gender(p).name().to_string(),
                curation.age_years(p).to_string(),
            ]);
        }
    }
    csv_text(rows, false)
}

/// Every journal entry, oldest first.
pub fn change_log_csv(curation: &Curation) -> String {
    let mut rows = vec![[
        "time",
        "annotator",
        "target",
        "field",
        "old",
        "new",
        "reason",
        "seq",
        "op",
        "reverts",
        "reapplies",
        "batch",
    ]
    .map(str::to_string)
    .to_vec()];
    let opt = |v: Option<u64>| v.map_or(String::new(), |s| s.to_string());
    for e in curation.history() {
        rows.push(vec![
            e.time.clone(),
            e.annotator.clone(),
            e.target.to_string(),
            e.field.name().to_string(),
            e.old.token(),
            e.new.token(),
            e.reason.clone().unwrap_or_default(),
            e.seq.to_string(),
            e.op.name().to_string(),
            opt(e.reverts),
            opt(e.reapplies),
            e.batch.clone().unwrap_or_default(),
        ]);
    }
    csv_text(rows, false)
}

/// The net effect per target and field: labels whose current value differs from the given
/// one, and current review decisions, with the latest journal entry that touched them.
pub fn net_changes_csv(curation: &Curation) -> String {
    // The latest entry per (target, field), for time / annotator / reason.
    let mut latest: BTreeMap<(Target, JournalField), &super::JournalEntry> = BTreeMap::new();
    for e in curation.history() {
        latest.insert((e.target.clone(), e.field), e);
    }
    // The latest entry that carried a reason (undo/redo lines have none of their own).
    let mut latest_reason: BTreeMap<(Target, JournalField), &str> = BTreeMap::new();
    for e in curation.history() {
        if let Some(r) = &e.reason {
            latest_reason.insert((e.target.clone(), e.field), r);
        }
    }
    let mut rows = vec![[
        "target",
        "field",
        "given",
        "current",
        "time",
        "annotator",
        "reason",
    ]
    .map(str::to_string)
    .to_vec()];
    for ((target, field), entry) in &latest {
        let given = given_value(curation, target, *field);
        let current = current_value(curation, target, *field);
        if given == current || current.is_none() {
            continue;
        }
        rows.push(vec![
            target.to_string(),
            field.name().to_string(),
            given.as_ref().map_or(String::new(), Value::token),
            current.as_ref().map_or(String::new(), Value::token),
            entry.time.clone(),
            entry.annotator.clone(),
            latest_reason
                .get(&(target.clone(), *field))
                .map_or(String::new(), |r| r.to_string()),
        ]);
    }
    csv_text(rows, false)
}

fn given_value(curation: &Curation, target: &Target, field: JournalField) -> Option<Value> {
    match (target, field) {
        (Target::Photo { slot, .. }, JournalField::Mask) => Some(Value::Mask(slot.mask())),
        (Target::Person { person }, JournalField::Gender) => curation
            .person_index(person)
            .map(|p| Value::Gender(curation.given_gender(p))),
        (Target::Person { person }, JournalField::Age) => curation
            .person_index(person)
            .map(|p| Value::Age(curation.given_age_years(p))),
        (_, JournalField::Review) => Some(Value::Review(None)),
        (Target::Person { .. }, JournalField::Note) => Some(Value::Note(None)),
        _ => None,
    }
}

fn current_value(curation: &Curation, target: &Target, field: JournalField) -> Option<Value> {
    let person = target
        .person_folder()
        .and_then(|f| curation.person_index(f));
    match (target, field, person) {
        (Target::Photo { slot, .. }, JournalField::Mask, Some(p)) => {
            Some(Value::Mask(curation.mask(p, *slot)))
        }
        (Target::Person { .. }, JournalField::Gender, Some(p)) => {
            Some(Value::Gender(curation.gender(p)))
        }
        (Target::Person { .. }, JournalField::Age, Some(p)) => {
            Some(Value::Age(curation.age_years(p)))
        }
        (_, JournalField::Review, _) => Some(Value::Review(curation.review(target))),
        (Target::Person { .. }, JournalField::Note, Some(p)) => {
            Some(Value::Note(curation.note(p).map(str::to_string)))
        }
        _ => None,
    }
}
