//! Reading a dataset folder in the real layout. Only an unusable root is an error; every
//! smaller fault becomes a [`Problem`] and the scan goes on.

use super::image_check::{self, ImageInfo};
use super::parallel::{par_map, resolve_threads};
use super::{
    is_junk_file, ClassCode, Dataset, DatasetError, EvalSet, FolderName, Gender, Person, Photo,
    Problem, ProblemKind, Slot, PHOTO_EXTENSIONS,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

/// How thoroughly photo files are checked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Verify {
    /// Header, size and end marker only (fast; catches truncated and garbage files).
    #[default]
    Header,
    /// Decode every pixel as well (slow; also catches damage inside the data).
    Decode,
}

/// Progress of a running scan.
#[derive(Debug, Clone, Copy)]
pub struct ScanProgress {
    pub stage: &'static str,
    pub done: usize,
    pub total: usize,
}

/// Options for [`scan_with`]. `Default` checks headers on all cores.
#[derive(Default, Clone, Copy)]
pub struct ScanOptions<'a> {
    pub verify: Verify,
    /// Worker threads; 0 means one per core.
    pub threads: usize,
    pub progress: Option<&'a (dyn Fn(ScanProgress) + Sync)>,
    /// Raised by the caller to stop; the scan then returns [`DatasetError::Cancelled`].
    pub cancel: Option<&'a AtomicBool>,
}

/// Figures about the files a scan looked at.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScanStats {
    /// Training photo files checked (including duplicates and corrupt ones).
    pub photos_checked: usize,
    pub eval_images_checked: usize,
    /// macOS `._*` and similar metadata files skipped silently.
    pub junk_skipped: usize,
    /// Kept training photos by stored channel count (3 RGB, 4 RGBA, ...).
    pub channels: BTreeMap<u8, usize>,
    /// Kept training and eval photos by `WIDTHxHEIGHT`.
    pub sizes: BTreeMap<String, usize>,
    pub threads: usize,
    pub elapsed_secs: f64,
}

/// A scanned dataset plus figures about the scan.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScanReport {
    pub dataset: Dataset,
    pub stats: ScanStats,
}

/// Scans `root` (the folder holding `train/` and `eval/`) with default options.
pub fn scan(root: &Path) -> Result<Dataset, DatasetError> {
    scan_with(root, &ScanOptions::default()).map(|r| r.dataset)
}

/// Scans `root`, checking photo files in parallel.
pub fn scan_with(root: &Path, opts: &ScanOptions<'_>) -> Result<ScanReport, DatasetError> {
    let started = Instant::now();
    let threads = resolve_threads(opts.threads);
    check_root(root)?;
    let csv_rel = PathBuf::from("train/train.csv");
    let csv_bytes = std::fs::read(root.join(&csv_rel)).map_err(|source| DatasetError::Io {
        path: root.join(&csv_rel),
        source,
    })?;
    let (rows, mut problems) =
        parse_train_csv(&csv_bytes, &csv_rel).map_err(|reason| DatasetError::Layout {
            path: root.join(&csv_rel),
            reason,
        })?;

    let images_dir = root.join("train/images");
    let mut stats = ScanStats {
        threads,
        ..Default::default()
    };
    let (folders, mut listing_problems, junk) = list_person_folders(&images_dir)?;
    stats.junk_skipped += junk;

    // Match rows to folders; people keep train.csv order.
    let folder_set: HashSet<&str> = folders.iter().map(String::as_str).collect();
    let mut matched: Vec<&TrainRow> = Vec::with_capacity(rows.len());
    for row in &rows {
        if folder_set.contains(row.folder.as_str()) {
            matched.push(row);
        } else {
            problems.push(Problem {
                path: images_rel(&row.folder),
                line: Some(row.line),
                kind: ProblemKind::MissingFolder,
                reason: format!(
                    "train.csv names folder {} but it does not exist",
                    row.folder
                ),
            });
        }
    }
    let row_folders: HashSet<&str> = rows.iter().map(|r| r.folder.as_str()).collect();
    for folder in &folders {
        if !row_folders.contains(folder.as_str()) {
            listing_problems.push(Problem {
                path: images_rel(folder),
                line: None,
                kind: ProblemKind::FolderWithoutRow,
                reason: "no train.csv row has this path".into(),
            });
        }
    }
    for row in &matched {
        if let Some(p) = folder_mismatch(row) {
            problems.push(p);
        }
    }
    problems.append(&mut listing_problems);

    let total = matched.len();
    let report_train = |done: usize| {
        if let Some(cb) = opts.progress {
            if done.is_multiple_of(32) || done == total {
                cb(ScanProgress {
                    stage: "train photos",
                    done,
                    total,
                });
            }
        }
    };
    let results = par_map(&matched, threads, opts.cancel, &report_train, |row| {
        scan_person_folder(root, &row.folder, opts.verify)
    })
    .ok_or(DatasetError::Cancelled)?;

    let mut people = Vec::with_capacity(matched.len());
    for (row, result) in matched.iter().zip(results) {
        stats.photos_checked += result.checked;
        stats.junk_skipped += result.junk;
        for info in &result.infos {
            *stats.channels.entry(info.channels).or_default() += 1;
            *stats
                .sizes
                .entry(format!("{}x{}", info.width, info.height))
                .or_default() += 1;
        }
        problems.extend(result.problems);
        if result.unreadable {
            continue;
        }
        people.push(Person {
            folder: row.folder.clone(),
            id: row.id.clone(),
            gender: row.gender,
            age: row.age,
            race: row.race.clone(),
            photos: result.photos,
        });
    }

    let eval = scan_eval(root, opts, threads, &mut problems, &mut stats)?;
    stats.elapsed_secs = started.elapsed().as_secs_f64();
    Ok(ScanReport {
        dataset: Dataset {
            root: root.to_path_buf(),
            people,
            eval,
            problems,
        },
        stats,
    })
}

fn images_rel(folder: &str) -> PathBuf {
    Path::new("train/images").join(folder)
}

fn check_root(root: &Path) -> Result<(), DatasetError> {
    if !root.is_dir() {
        return Err(DatasetError::NoRoot(root.to_path_buf()));
    }
    let train = root.join("train");
    if !train.is_dir() {
        let hint = if root.join("train.csv").is_file() && root.join("images").is_dir() {
            " (this looks like the train folder itself: pass its parent)"
        } else {
            " (expected <root>/train/train.csv and <root>/train/images/)"
        };
        return Err(DatasetError::Layout {
            path: root.to_path_buf(),
            reason: format!("no train/ folder{hint}"),
        });
    }
    if !train.join("train.csv").is_file() {
        return Err(DatasetError::Layout {
            path: train.join("train.csv"),
            reason: "missing: the labels of the training set live here".into(),
        });
    }
    if !train.join("images").is_dir() {
        return Err(DatasetError::Layout {
            path: train.join("images"),
            reason: "missing: expected one folder per person".into(),
        });
    }
    Ok(())
}

/// One usable row of train.csv.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TrainRow {
    pub line: usize,
    pub id: String,
    pub gender: Gender,
    pub race: String,
    pub age: u32,
    pub folder: String,
}

const TRAIN_COLUMNS: [&str; 5] = ["id", "gender", "race", "age", "path"];

/// Ages outside this range are treated as typing errors.
const PLAUSIBLE_AGES: std::ops::RangeInclusive<u32> = 1..=120;

/// A CSV reader past its header line, with the column names trimmed, without a byte-order
/// mark and in lower case (spreadsheets add the mark and change the case).
fn csv_with_header(bytes: &[u8]) -> Result<(csv::Reader<&[u8]>, Vec<String>), String> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
    let names = reader
        .headers()
        .map_err(|e| format!("cannot read the header line: {e}"))?
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_ascii_lowercase())
        .collect();
    Ok((reader, names))
}

/// A CSV's rows read one at a time, each numbered by its line in the file (a quoted field
/// may span lines); blank rows are skipped, and a row the reader cannot read is handed to
/// the caller's `unreadable` with its line and why, then skipped too.
struct NumberedRows<'a> {
    reader: csv::Reader<&'a [u8]>,
    /// The row [`NumberedRows::next_row`] last read.
    record: csv::StringRecord,
    last_line: usize,
}

impl<'a> NumberedRows<'a> {
    fn new(reader: csv::Reader<&'a [u8]>) -> Self {
        NumberedRows {
            reader,
            record: csv::StringRecord::new(),
            last_line: 1,
        }
    }

    /// The next row's line (the row is in `record`); `None` at the end.
    fn next_row(&mut self, mut unreadable: impl FnMut(usize, String)) -> Option<usize> {
        loop {
            match self.reader.read_record(&mut self.record) {
                Ok(false) => return None,
                Ok(true) => {}
                Err(e) => {
                    let line = e
                        .position()
                        .map_or(self.last_line + 1, |p| p.line() as usize);
                    self.last_line = line;
                    unreadable(line, format!("unreadable row: {e}"));
                    continue;
                }
            }
            let line = self
                .record
                .position()
                .map_or(self.last_line + 1, |p| p.line() as usize);
            self.last_line = line;
            if !self.record.iter().all(|f| f.trim().is_empty()) {
                return Some(line);
            }
        }
    }
}

/// Parses train.csv. Err only for a file that cannot be read as a table at all (no header,
/// missing columns); bad rows become problems.
pub(crate) fn parse_train_csv(
    bytes: &[u8],
    rel: &Path,
) -> Result<(Vec<TrainRow>, Vec<Problem>), String> {
    let (reader, names) = csv_with_header(bytes)?;
    let mut col = [0usize; 5];
    for (i, want) in TRAIN_COLUMNS.iter().enumerate() {
        col[i] = names.iter().position(|n| n == want).ok_or_else(|| {
            format!(
                "line 1: header has no '{want}' column (found: {}; expected id,gender,race,age,path)",
                names.join(",")
            )
        })?;
    }
    let problem = |line: usize, reason: String| Problem {
        path: rel.to_path_buf(),
        line: Some(line),
        kind: ProblemKind::BadRow,
        reason,
    };
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    let mut first_line_of: HashMap<String, usize> = HashMap::new();
    let mut csv_rows = NumberedRows::new(reader);
    while let Some(line) = csv_rows.next_row(|line, reason| problems.push(problem(line, reason))) {
        let record = &csv_rows.record;
        let field = |i: usize| record.get(col[i]).map(str::trim);
        let (Some(id), Some(gender_s), Some(race), Some(age_s), Some(folder)) =
            (field(0), field(1), field(2), field(3), field(4))
        else {
            problems.push(problem(
                line,
                format!("expected {} columns, found {}", names.len(), record.len()),
            ));
            continue;
        };
        if folder.is_empty() || folder.contains(['/', '\\']) || folder == "." || folder == ".." {
            problems.push(problem(
                line,
                format!("path '{folder}' is not a folder name"),
            ));
            continue;
        }
        if let Some(first) = first_line_of.get(folder) {
            problems.push(problem(
                line,
                format!("duplicate row for {folder} (first at line {first})"),
            ));
            continue;
        }
        let from_folder = FolderName::parse(folder);
        let gender = match Gender::parse(gender_s) {
            Some(g) => g,
            None => match &from_folder {
                Some(f) => {
                    problems.push(problem(
                        line,
                        format!("gender '{gender_s}' is not male/female; using '{}' from the folder name", f.gender.name()),
                    ));
                    f.gender
                }
                None => {
                    problems.push(problem(
                        line,
                        format!("gender '{gender_s}' is not male/female"),
                    ));
                    continue;
                }
            },
        };
        let age = match age_s
            .parse::<u32>()
            .ok()
            .filter(|a| PLAUSIBLE_AGES.contains(a))
        {
            Some(a) => a,
            None => {
                match from_folder
                    .as_ref()
                    .filter(|f| PLAUSIBLE_AGES.contains(&f.age))
                {
                    Some(f) => {
                        problems.push(problem(
                        line,
                        format!("age '{age_s}' is not an age in years; using {} from the folder name", f.age),
                    ));
                        f.age
                    }
                    None => {
                        problems.push(problem(
                            line,
                            format!("age '{age_s}' is not an age in years"),
                        ));
                        continue;
                    }
                }
            }
        };
        let id = if id.is_empty() {
            from_folder
                .as_ref()
                .map(|f| f.id.clone())
                .unwrap_or_default()
        } else {
            id.to_string()
        };
        first_line_of.insert(folder.to_string(), line);
        rows.push(TrainRow {
            line,
            id,
            gender,
            race: race.to_string(),
            age,
            folder: folder.to_string(),
        });
    }
    Ok((rows, problems))
}

fn folder_mismatch(row: &TrainRow) -> Option<Problem> {
    let reason = match FolderName::parse(&row.folder) {
        None => "folder name is not {id}_{gender}_{race}_{age}".to_string(),
        Some(f) => {
            let mut diffs = Vec::new();
            if f.id != row.id {
                diffs.push(format!("id {} vs {}", f.id, row.id));
            }
            if f.gender != row.gender {
                diffs.push(format!(
                    "gender {} vs {}",
                    f.gender.name(),
                    row.gender.name()
                ));
            }
            if f.race != row.race {
                diffs.push(format!("race {} vs {}", f.race, row.race));
            }
            if f.age != row.age {
                diffs.push(format!("age {} vs {}", f.age, row.age));
            }
            if diffs.is_empty() {
                return None;
            }
            format!("folder says / train.csv says: {}", diffs.join(", "))
        }
    };
    Some(Problem {
        path: images_rel(&row.folder),
        line: Some(row.line),
        kind: ProblemKind::FolderMismatch,
        reason,
    })
}

/// Person folders under train/images (sorted), problems about other entries there, and
/// the number of junk files skipped.
fn list_person_folders(dir: &Path) -> Result<(Vec<String>, Vec<Problem>, usize), DatasetError> {
    let io = |source| DatasetError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut folders = Vec::new();
    let mut problems = Vec::new();
    let mut junk = 0;
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if is_junk_file(&name) {
            junk += 1;
            continue;
        }
        if entry.path().is_dir() {
            folders.push(name);
        } else {
            problems.push(Problem {
                path: Path::new("train/images").join(&name),
                line: None,
                kind: ProblemKind::UnknownFile,
                reason: "a file where person folders are expected".into(),
            });
        }
    }
    folders.sort();
    Ok((folders, problems, junk))
}

/// What a folder entry is, following symlinks, without opening it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum EntryType {
    File,
    Dir,
    /// A named pipe, socket, device, or a dangling link, by name.
    Other(&'static str),
}

impl EntryType {
    fn of(path: &Path) -> EntryType {
        match std::fs::metadata(path) {
            Ok(m) if m.is_file() => EntryType::File,
            Ok(m) if m.is_dir() => EntryType::Dir,
            Ok(m) => EntryType::Other(super::image_check::special_file_kind(&m.file_type())),
            Err(_) => EntryType::Other("a link to nothing or an unreadable entry"),
        }
    }
}

/// The problem for a person folder that `read_dir` refused: gone since it was listed (a
/// half-synced copy), or there but unreadable (permissions, I/O error).
fn folder_listing_problem(rel_dir: PathBuf, e: &std::io::Error) -> Problem {
    let kind = if e.kind() == std::io::ErrorKind::NotFound {
        ProblemKind::MissingFolder
    } else {
        ProblemKind::UnreadableFolder
    };
    Problem {
        path: rel_dir,
        line: None,
        kind,
        reason: format!("cannot list the folder: {e}"),
    }
}

#[derive(Debug, Default)]
struct FolderResult {
    photos: [Option<Photo>; 7],
    problems: Vec<Problem>,
    infos: Vec<ImageInfo>,
    checked: usize,
    junk: usize,
    unreadable: bool,
}

fn check_image(path: &Path, verify: Verify) -> Result<ImageInfo, String> {
    match verify {
        Verify::Header => image_check::check_file(path),
        Verify::Decode => image_check::decode_file(path),
    }
}

fn scan_person_folder(root: &Path, folder: &str, verify: Verify) -> FolderResult {
    let mut out = FolderResult::default();
    let rel_dir = images_rel(folder);
    let entries = match std::fs::read_dir(root.join(&rel_dir)) {
        Ok(rd) => rd.filter_map(Result::ok).collect::<Vec<_>>(),
        Err(e) => {
            out.unreadable = true;
            out.problems.push(folder_listing_problem(rel_dir, &e));
            return out;
        }
    };
    let mut names: Vec<(String, EntryType)> = entries
        .iter()
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                EntryType::of(&e.path()),
            )
        })
        .collect();
    names.sort();
    let mut candidates: [Vec<String>; 7] = Default::default();
    for (name, entry_type) in names {
        if is_junk_file(&name) {
            out.junk += 1;
            continue;
        }
        let unknown = |reason: String| Problem {
            path: rel_dir.join(&name),
            line: None,
            kind: ProblemKind::UnknownFile,
            reason,
        };
        if entry_type == EntryType::Dir {
            out.problems.push(unknown("unexpected sub-folder".into()));
            continue;
        }
        let (stem, ext) = name.rsplit_once('.').unwrap_or((name.as_str(), ""));
        if !PHOTO_EXTENSIONS.iter().any(|e| e.eq_ignore_ascii_case(ext)) {
            out.problems
                .push(unknown(format!("not a photo (extension '{ext}')")));
            continue;
        }
        if let EntryType::Other(what) = entry_type {
            // Opening a named pipe blocks until someone writes to it: never open one.
            out.checked += 1;
            out.problems.push(Problem {
                path: rel_dir.join(&name),
                line: None,
                kind: ProblemKind::CorruptImage,
                reason: format!("{what}, not a photo file (not opened)"),
            });
            continue;
        }
        match Slot::from_stem(stem) {
            Some(slot) => candidates[slot.index()].push(name.clone()),
            None => out.problems.push(unknown(format!(
                "unknown photo name '{stem}' (expected mask1..mask5, incorrect_mask, normal)"
            ))),
        }
    }
    for slot in Slot::ALL {
        let names = &candidates[slot.index()];
        if names.is_empty() {
            out.problems.push(Problem {
                path: rel_dir.join(format!("{}.jpg", slot.stem())),
                line: None,
                kind: ProblemKind::MissingPhoto,
                reason: format!("no {} photo (.jpg, .jpeg or .png)", slot.stem()),
            });
            continue;
        }
        let mut kept: Option<&String> = None;
        for name in names {
            let rel = rel_dir.join(name);
            out.checked += 1;
            match check_image(&root.join(&rel), verify) {
                Err(reason) => out.problems.push(Problem {
                    path: rel,
                    line: None,
                    kind: ProblemKind::CorruptImage,
                    reason,
                }),
                Ok(info) => match kept {
                    None => {
                        kept = Some(name);
                        out.infos.push(info);
                        out.photos[slot.index()] = Some(Photo {
                            slot,
                            rel_path: rel,
                        });
                    }
                    Some(first) => out.problems.push(Problem {
                        path: rel,
                        line: None,
                        kind: ProblemKind::DuplicatePhoto,
                        reason: format!("a second {} photo besides {first}", slot.stem()),
                    }),
                },
            }
        }
    }
    out
}

fn scan_eval(
    root: &Path,
    opts: &ScanOptions<'_>,
    threads: usize,
    problems: &mut Vec<Problem>,
    stats: &mut ScanStats,
) -> Result<Option<EvalSet>, DatasetError> {
    let eval_dir = root.join("eval");
    if !eval_dir.is_dir() {
        return Ok(None);
    }
    let info_rel = PathBuf::from("eval/info.csv");
    let eval_problem = |line: Option<usize>, reason: String| Problem {
        path: info_rel.clone(),
        line,
        kind: ProblemKind::BadEvalRow,
        reason,
    };
    let bytes = match std::fs::read(root.join(&info_rel)) {
        Ok(b) => b,
        Err(e) => {
            problems.push(eval_problem(
                None,
                format!("cannot read ({e}); the eval set is left out"),
            ));
            return Ok(None);
        }
    };
    let (rows, mut row_problems) = match parse_info_csv(&bytes, &info_rel) {
        Ok(v) => v,
        Err(reason) => {
            problems.push(eval_problem(
                Some(1),
                format!("{reason}; the eval set is left out"),
            ));
            return Ok(None);
        }
    };
    problems.append(&mut row_problems);
    let (image_ids, lines): (Vec<String>, Vec<usize>) = rows.into_iter().unzip();

    let images_dir = eval_dir.join("images");
    if !images_dir.is_dir() {
        if !image_ids.is_empty() {
            problems.push(Problem {
                path: PathBuf::from("eval/images"),
                line: None,
                kind: ProblemKind::MissingEvalImage,
                reason: format!(
                    "folder missing: none of the {} eval images exist",
                    image_ids.len()
                ),
            });
        }
    } else {
        let listed: HashSet<&str> = image_ids.iter().map(String::as_str).collect();
        let io = |source| DatasetError::Io {
            path: images_dir.clone(),
            source,
        };
        let mut present = HashSet::new();
        let mut extra = Vec::new();
        for entry in std::fs::read_dir(&images_dir).map_err(io)? {
            let name = entry
                .map_err(io)?
                .file_name()
                .to_string_lossy()
                .into_owned();
            if is_junk_file(&name) {
                stats.junk_skipped += 1;
            } else if listed.contains(name.as_str()) {
                present.insert(name);
            } else {
                extra.push(name);
            }
        }
        extra.sort();
        for name in extra {
            problems.push(Problem {
                path: Path::new("eval/images").join(&name),
                line: None,
                kind: ProblemKind::UnknownFile,
                reason: "not listed in eval/info.csv".into(),
            });
        }
        let to_check: Vec<(usize, &String)> = image_ids
            .iter()
            .enumerate()
            .filter(|(_, id)| present.contains(*id))
            .collect();
        let total = to_check.len();
        let report = |done: usize| {
            if let Some(cb) = opts.progress {
                if done.is_multiple_of(64) || done == total {
                    cb(ScanProgress {
                        stage: "eval images",
                        done,
                        total,
                    });
                }
            }
        };
        let checks = par_map(&to_check, threads, opts.cancel, &report, |(_, id)| {
            check_image(&images_dir.join(id), opts.verify)
        })
        .ok_or(DatasetError::Cancelled)?;
        stats.eval_images_checked += checks.len();
        let mut result_of: Vec<Option<Result<ImageInfo, String>>> = vec![None; image_ids.len()];
        for ((i, _), result) in to_check.iter().zip(checks) {
            result_of[*i] = Some(result);
        }
        for ((id, line), result) in image_ids.iter().zip(&lines).zip(result_of) {
            let path = Path::new("eval/images").join(id);
            let line = Some(*line);
            match result {
                Some(Ok(info)) => {
                    *stats
                        .sizes
                        .entry(format!("{}x{}", info.width, info.height))
                        .or_default() += 1;
                }
                Some(Err(reason)) => problems.push(Problem {
                    path,
                    line,
                    kind: ProblemKind::CorruptImage,
                    reason,
                }),
                None => problems.push(Problem {
                    path,
                    line,
                    kind: ProblemKind::MissingEvalImage,
                    reason: "listed in eval/info.csv but missing".into(),
                }),
            }
        }
    }
    let ground_truth = read_ground_truth(root, &image_ids, problems);
    Ok(Some(EvalSet {
        image_ids,
        ground_truth,
    }))
}

/// An eval/info.csv ImageID with its CSV line.
pub(crate) type InfoRow = (String, usize);

/// Parses eval/info.csv: the ImageID column in file order, with CSV line numbers. Bad
/// rows become problems.
pub(crate) fn parse_info_csv(
    bytes: &[u8],
    rel: &Path,
) -> Result<(Vec<InfoRow>, Vec<Problem>), String> {
    let (reader, names) = csv_with_header(bytes)?;
    let col = names
        .iter()
        .position(|n| n == "imageid")
        .ok_or_else(|| "header has no 'ImageID' column (expected ImageID,ans)".to_string())?;
    let mut ids = Vec::new();
    let mut problems = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let problem = |line: usize, reason: String| Problem {
        path: rel.to_path_buf(),
        line: Some(line),
        kind: ProblemKind::BadEvalRow,
        reason,
    };
    let mut csv_rows = NumberedRows::new(reader);
    while let Some(line) = csv_rows.next_row(|line, reason| problems.push(problem(line, reason))) {
        let record = &csv_rows.record;
        let Some(id) = record.get(col).map(str::trim) else {
            problems.push(problem(
                line,
                format!("no ImageID (only {} columns)", record.len()),
            ));
            continue;
        };
        if id.is_empty() || id.contains(['/', '\\']) || id.starts_with('.') {
            problems.push(problem(line, format!("ImageID '{id}' is not a file name")));
            continue;
        }
        if let Some(first) = seen.get(id) {
            problems.push(problem(
                line,
                format!("duplicate ImageID {id} (first at line {first})"),
            ));
            continue;
        }
        seen.insert(id.to_string(), line);
        ids.push((id.to_string(), line));
    }
    Ok((ids, problems))
}

/// Reads eval/gt.csv (demo datasets only). `None` unless every listed image has a class.
fn read_ground_truth(
    root: &Path,
    image_ids: &[String],
    problems: &mut Vec<Problem>,
) -> Option<Vec<ClassCode>> {
    let rel = PathBuf::from("eval/gt.csv");
    let bytes = std::fs::read(root.join(&rel)).ok()?;
    let problem = |line: Option<usize>, reason: String| Problem {
        path: rel.clone(),
        line,
        kind: ProblemKind::BadEvalRow,
        reason,
    };
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(bytes.as_slice());
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            problems.push(problem(
                Some(1),
                format!("cannot read the header line: {e}"),
            ));
            return None;
        }
    };
    let find = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
    };
    let (Some(id_col), Some(class_col)) = (find("ImageID"), find("class")) else {
        problems.push(problem(
            Some(1),
            "header must have ImageID and class columns".into(),
        ));
        return None;
    };
    let mut classes: HashMap<String, ClassCode> = HashMap::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let Ok(record) = record else {
            problems.push(problem(Some(line), "unreadable row".into()));
            continue;
        };
        let id = record.get(id_col).unwrap_or("").trim();
        let class = record.get(class_col).unwrap_or("").trim();
        match class.parse::<usize>().ok().and_then(ClassCode::from_index) {
            Some(c) if !id.is_empty() => {
                classes.insert(id.to_string(), c);
            }
            _ => problems.push(problem(
                Some(line),
                format!("'{id}' has class '{class}', expected 0..17"),
            )),
        }
    }
    let missing: Vec<&String> = image_ids
        .iter()
        .filter(|id| !classes.contains_key(*id))
        .collect();
    if let Some(first) = missing.first() {
        problems.push(problem(
            None,
            format!(
                "no class for {} of the {} eval images (first: {first}); ground truth ignored",
                missing.len(),
                image_ids.len()
            ),
        ));
        return None;
    }
    Some(image_ids.iter().map(|id| classes[id]).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreadable_folder_is_not_filed_as_missing() {
        let denied = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        let p = folder_listing_problem(PathBuf::from("train/images/x"), &denied);
        assert_eq!(p.kind, ProblemKind::UnreadableFolder);
        assert!(p.reason.contains("cannot list"), "{}", p.reason);
        let gone = std::io::Error::from(std::io::ErrorKind::NotFound);
        let p = folder_listing_problem(PathBuf::from("train/images/x"), &gone);
        assert_eq!(p.kind, ProblemKind::MissingFolder);
    }
}
