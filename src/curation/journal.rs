//! The on-disk journal: JSON Lines, one change per line, appended and synced before an edit
//! counts as done. See docs/journal.md for the format and the guarantees.

use super::{CurationError, ReviewDecision, Target};
use crate::dataset::{Gender, Mask};
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// What kind of step wrote a journal line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Edit,
    Undo,
    Redo,
}

impl Op {
    pub fn name(self) -> &'static str {
        match self {
            Op::Edit => "edit",
            Op::Undo => "undo",
            Op::Redo => "redo",
        }
    }
}

/// The field a journal line changes. `Review` is the annotator's decision on a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JournalField {
    Mask,
    Gender,
    Age,
    Review,
    /// The annotator's note on a person (free text for whoever reads the labels next).
    Note,
}

impl JournalField {
    pub fn name(self) -> &'static str {
        match self {
            JournalField::Mask => "mask",
            JournalField::Gender => "gender",
            JournalField::Age => "age",
            JournalField::Review => "review",
            JournalField::Note => "note",
        }
    }
}

/// A value of one field: the `old` and `new` of a journal line.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Value {
    Mask(Mask),
    Gender(Gender),
    /// Age in years.
    Age(u32),
    /// `None`: no decision recorded (the state before the first review, or after undoing it).
    Review(Option<ReviewDecision>),
    /// `None`: no note. Text as [`super::clean_note`] leaves it.
    Note(Option<String>),
}

impl Value {
    pub fn field(&self) -> JournalField {
        match self {
            Value::Mask(_) => JournalField::Mask,
            Value::Gender(_) => JournalField::Gender,
            Value::Age(_) => JournalField::Age,
            Value::Review(_) => JournalField::Review,
            Value::Note(_) => JournalField::Note,
        }
    }

    /// The value as written in the journal and in exported CSVs (`not_wear`, `female`,
    /// `45`, `needs_review`, a note's text; empty for no review decision or no note).
    pub fn token(&self) -> String {
        match self {
            Value::Mask(m) => mask_token(*m).to_string(),
            Value::Gender(g) => g.name().to_string(),
            Value::Age(a) => a.to_string(),
            Value::Review(r) => r.map_or(String::new(), |d| d.token().to_string()),
            Value::Note(n) => n.clone().unwrap_or_default(),
        }
    }

    fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Age(a) => serde_json::Value::from(*a),
            Value::Review(None) | Value::Note(None) => serde_json::Value::Null,
            other => serde_json::Value::from(other.token()),
        }
    }

    fn from_json(field: JournalField, v: &serde_json::Value) -> Result<Value, String> {
        let text = || {
            v.as_str()
                .ok_or_else(|| format!("{} value {v} is not a string", field.name()))
        };
        match field {
            JournalField::Mask => {
                let s = text()?;
                parse_mask_token(s)
                    .map(Value::Mask)
                    .ok_or_else(|| format!("unknown mask value {s:?}"))
            }
            JournalField::Gender => {
                let s = text()?;
                Gender::parse(s)
                    .map(Value::Gender)
                    .ok_or_else(|| format!("unknown gender value {s:?}"))
            }
            JournalField::Age => {
                let years = v
                    .as_u64()
                    .ok_or_else(|| format!("age value {v} is not a whole number of years"))?;
                // The same range an annotator may set: replay applies nothing an edit could not.
                u32::try_from(years)
                    .ok()
                    .filter(|a| super::AGE_RANGE.contains(a))
                    .map(Value::Age)
                    .ok_or_else(|| {
                        format!(
                            "age value {years} is outside {}..={} years",
                            super::AGE_RANGE.start(),
                            super::AGE_RANGE.end()
                        )
                    })
            }
            JournalField::Review => {
                if v.is_null() {
                    return Ok(Value::Review(None));
                }
                let s = text()?;
                ReviewDecision::parse(s)
                    .map(|d| Value::Review(Some(d)))
                    .ok_or_else(|| format!("unknown review value {s:?}"))
            }
            JournalField::Note => {
                if v.is_null() {
                    return Ok(Value::Note(None));
                }
                // Replay applies only a note an edit could have written.
                let s = text()?;
                match super::clean_note(s) {
                    Ok(Some(clean)) if clean == s => Ok(Value::Note(Some(clean))),
                    Ok(_) => Err(format!(
                        "note {s:?} is not as the app writes one (trimmed, on one line, not empty)"
                    )),
                    Err(reason) => Err(reason),
                }
            }
        }
    }
}

pub(crate) fn mask_token(m: Mask) -> &'static str {
    match m {
        Mask::Wear => "wear",
        Mask::Incorrect => "incorrect",
        Mask::NotWear => "not_wear",
    }
}

fn parse_mask_token(s: &str) -> Option<Mask> {
    match s {
        "wear" => Some(Mask::Wear),
        "incorrect" => Some(Mask::Incorrect),
        "not_wear" => Some(Mask::NotWear),
        _ => None,
    }
}

/// The largest seq a journal line may carry: 2^53, the largest integer every JSON reader
/// keeps exact, and more edits than any dataset will see. A file claiming more is damaged or
/// hostile; refusing it keeps every seq computation far from overflow.
pub const MAX_SEQ: u64 = 1 << 53;

/// One line of the journal.
#[derive(Debug, Clone, PartialEq)]
pub struct JournalEntry {
    /// Unique, increasing line number of the journal's own (not the file's line number).
    pub seq: u64,
    /// RFC 3339, UTC.
    pub time: String,
    pub annotator: String,
    pub op: Op,
    /// The seq of the first line of the step this line belongs to; a step is one undo unit.
    pub step: u64,
    /// How many lines the step has. Replay drops a step with fewer complete lines.
    pub step_len: u32,
    /// The label of a multi-change step (e.g. "swap incorrect/normal").
    pub batch: Option<String>,
    pub target: Target,
    pub field: JournalField,
    pub old: Value,
    pub new: Value,
    pub reason: Option<String>,
    /// For undo lines: the seq of the line whose change this one takes back.
    pub reverts: Option<u64>,
    /// For redo lines: the seq of the line whose change this one applies again.
    pub reapplies: Option<u64>,
}

/// The wire form: field order is what a reader of the file sees.
#[derive(Serialize, Deserialize)]
struct Line {
    seq: u64,
    time: String,
    annotator: String,
    op: Op,
    target: String,
    field: JournalField,
    old: serde_json::Value,
    new: serde_json::Value,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reverts: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reapplies: Option<u64>,
    step: u64,
    step_len: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    batch: Option<String>,
}

impl JournalEntry {
    /// The entry as one JSON line, without the newline.
    pub fn to_line(&self) -> String {
        let line = Line {
            seq: self.seq,
            time: self.time.clone(),
            annotator: self.annotator.clone(),
            op: self.op,
            target: self.target.to_string(),
            field: self.field,
            old: self.old.to_json(),
            new: self.new.to_json(),
            reason: self.reason.clone(),
            reverts: self.reverts,
            reapplies: self.reapplies,
            step: self.step,
            step_len: self.step_len,
            batch: self.batch.clone(),
        };
        // Serializing plain strings, numbers and enums cannot fail.
        serde_json::to_string(&line).unwrap_or_default()
    }

    /// Parses one journal line; the error says what is wrong with it.
    pub fn parse_line(text: &str) -> Result<JournalEntry, String> {
        let line: Line =
            serde_json::from_str(text).map_err(|e| format!("not a journal entry: {e}"))?;
        for (name, value) in [
            ("seq", Some(line.seq)),
            ("step", Some(line.step)),
            ("reverts", line.reverts),
            ("reapplies", line.reapplies),
        ] {
            if value.is_some_and(|v| v > MAX_SEQ) {
                return Err(format!(
                    "{name} {} is beyond the largest seq a journal uses (2^53)",
                    value.unwrap_or_default()
                ));
            }
        }
        let target: Target = line.target.parse()?;
        let old = Value::from_json(line.field, &line.old)?;
        let new = Value::from_json(line.field, &line.new)?;
        if line.step_len == 0
            || line.step > line.seq
            || line.seq - line.step >= u64::from(line.step_len)
        {
            return Err(format!(
                "seq {} does not fit step {} of {} lines",
                line.seq, line.step, line.step_len
            ));
        }
        Ok(JournalEntry {
            seq: line.seq,
            time: line.time,
            annotator: line.annotator,
            op: line.op,
            step: line.step,
            step_len: line.step_len,
            batch: line.batch,
            target,
            field: line.field,
            old,
            new,
            reason: line.reason,
            reverts: line.reverts,
            reapplies: line.reapplies,
        })
    }
}

/// A raw line of the journal file as read back.
pub(crate) struct RawLine {
    /// 1-based line number in the file.
    pub number: usize,
    pub text: Result<String, String>,
    /// The file's last line had no newline: it may be a write cut short.
    pub unterminated: bool,
}

/// Reads the journal file (missing file = empty journal) and splits it into lines.
/// Returns the lines and whether the file ends without a newline.
pub(crate) fn read_lines(path: &Path) -> Result<(Vec<RawLine>, bool), CurationError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(CurationError::io(path, e)),
    };
    let unterminated = !bytes.is_empty() && bytes.last() != Some(&b'\n');
    let mut parts: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
    if !unterminated {
        // The empty piece after the final newline is not a line.
        parts.pop();
    }
    let count = parts.len();
    let lines = parts
        .into_iter()
        .enumerate()
        .map(|(i, p)| RawLine {
            number: i + 1,
            text: std::str::from_utf8(p)
                .map(|s| s.trim_end_matches('\r').to_string())
                .map_err(|_| "not valid UTF-8".to_string()),
            unterminated: unterminated && i + 1 == count,
        })
        .collect();
    Ok((lines, unterminated))
}

/// Appends whole steps to the journal and syncs them to disk.
pub(crate) struct JournalWriter {
    file: File,
    path: PathBuf,
    /// The file ends inside a line (a torn write): the next append starts with a newline.
    needs_newline: bool,
    /// A write or sync failed; what is on disk is unknown, so no more appends until reopened.
    failed: Option<String>,
}

impl JournalWriter {
    /// Opens (creating when missing) the journal for appending and takes an exclusive lock
    /// on it, so two processes never interleave their edits.
    pub fn open(path: &Path) -> Result<JournalWriter, CurationError> {
        let dir = path.parent().unwrap_or(Path::new("."));
        // Every new folder on the way is synced into its parent: a journal whose folder
        // vanishes in a crash loses every edit in it.
        crate::workspace::create_dir_all_synced(dir).map_err(|e| CurationError::io(dir, e))?;
        let existed = path.exists();
        let file = OpenOptions::new()
            .append(true)
            .create(true)
            .open(path)
            .map_err(|e| CurationError::io(path, e))?;
        if !try_lock_exclusive(&file).map_err(|e| CurationError::io(path, e))? {
            return Err(CurationError::JournalBusy {
                path: path.to_path_buf(),
            });
        }
        if !existed {
            // Make the new file's directory entry durable too, or a crash could lose the
            // whole journal along with its first confirmed edit.
            crate::workspace::sync_dir(dir).map_err(|e| CurationError::io(dir, e))?;
        }
        Ok(JournalWriter {
            file,
            path: path.to_path_buf(),
            needs_newline: false,
            failed: None,
        })
    }

    /// Tells the writer the file ends inside a line, so the next append starts a new one
    /// instead of gluing onto the torn bytes.
    pub fn set_ends_torn(&mut self, torn: bool) {
        self.needs_newline = torn;
    }

    /// Writes the lines in one go, then `sync_data`. Only after this returns Ok is the step
    /// durable.
    pub fn append(&mut self, entries: &[JournalEntry]) -> Result<(), CurationError> {
        if let Some(reason) = &self.failed {
            return Err(CurationError::JournalFailed {
                path: self.path.clone(),
                reason: reason.clone(),
            });
        }
        let mut buf = String::new();
        if self.needs_newline {
            buf.push('\n');
        }
        for e in entries {
            buf.push_str(&e.to_line());
            buf.push('\n');
        }
        let result = self
            .file
            .write_all(buf.as_bytes())
            .and_then(|()| self.file.sync_data());
        match result {
            Ok(()) => {
                self.needs_newline = false;
                Ok(())
            }
            Err(e) => {
                self.failed = Some(e.to_string());
                Err(CurationError::io(&self.path, e))
            }
        }
    }
}

/// Takes an exclusive advisory lock (`flock`) without waiting; false when another open file
/// holds it. The kernel drops the lock when the process dies, so a crash never leaves the
/// journal locked.
#[cfg(unix)]
fn try_lock_exclusive(file: &File) -> std::io::Result<bool> {
    use std::os::fd::AsRawFd;
    // SAFETY: flock only reads the descriptor, which `file` keeps open for the call.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc == 0 {
        return Ok(true);
    }
    let err = std::io::Error::last_os_error();
    if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
        Ok(false)
    } else {
        Err(err)
    }
}

/// Elsewhere there is no lock; one writer per journal is then up to the user.
#[cfg(not(unix))]
fn try_lock_exclusive(_file: &File) -> std::io::Result<bool> {
    Ok(true)
}

/// The current time as RFC 3339 in UTC with milliseconds.
pub(crate) fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
