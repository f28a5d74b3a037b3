//! The dataset engine: the real on-disk layout (train.csv, one folder per person with
//! seven photos, eval/info.csv), label types, and the problems a scan collects.
//! Pure: no GUI, no torch.

pub mod image_check;
pub mod labels;
pub(crate) mod parallel;
mod scan;
mod summary;

pub use image_check::{ImageFormat, ImageInfo};
pub use labels::{AgeBin, ClassCode, Field, Gender, Mask, NUM_CLASSES};
pub use scan::{scan, scan_with, ScanOptions, ScanProgress, ScanReport, ScanStats, Verify};
pub use summary::{DatasetSummary, GivenLabels};

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The dataset root itself is unusable (a scan cannot even start). Everything smaller is
/// a [`Problem`] instead.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    #[error("{0}: no such folder")]
    NoRoot(PathBuf),
    #[error("{path}: {reason}")]
    Layout { path: PathBuf, reason: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("scan cancelled")]
    Cancelled,
}

/// Parses train.csv contents as a scan does: the number of usable rows and the problems
/// of the others. Err for a file that cannot be read as a table at all. (For fuzzing and
/// tools; [`scan`] reads the file itself.)
pub fn parse_train_csv(bytes: &[u8]) -> Result<(usize, Vec<Problem>), String> {
    scan::parse_train_csv(bytes, Path::new("train/train.csv")).map(|(rows, p)| (rows.len(), p))
}

/// Photo extensions of the real layout (compared case-insensitively).
pub const PHOTO_EXTENSIONS: [&str; 3] = ["jpg", "jpeg", "png"];

/// macOS and Windows metadata files that sit next to photos and are skipped silently.
pub fn is_junk_file(name: &str) -> bool {
    name.starts_with("._") || name == ".DS_Store" || name == "Thumbs.db" || name == "desktop.ini"
}

/// The parts of a person folder name `{id}_{gender}_{race}_{age}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderName {
    pub id: String,
    pub gender: Gender,
    pub race: String,
    pub age: u32,
}

impl FolderName {
    /// Parses `000001_female_Asian_45` or `001498-1_male_Asian_19`.
    pub fn parse(folder: &str) -> Option<Self> {
        let mut parts = folder.rsplitn(4, '_');
        let age = parts.next()?.parse().ok()?;
        let race = parts.next()?.to_string();
        let gender = Gender::parse(parts.next()?)?;
        let id = parts.next()?.to_string();
        if id.is_empty() || race.is_empty() {
            return None;
        }
        Some(FolderName {
            id,
            gender,
            race,
            age,
        })
    }
    /// The folder name for these labels.
    pub fn format(id: &str, gender: Gender, race: &str, age: u32) -> String {
        format!("{id}_{}_{race}_{age}", gender.name())
    }
}

/// The seven photo slots of a person, in display order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Slot {
    Mask1 = 0,
    Mask2 = 1,
    Mask3 = 2,
    Mask4 = 3,
    Mask5 = 4,
    Incorrect = 5,
    Normal = 6,
}

impl Slot {
    pub const ALL: [Slot; 7] = [
        Slot::Mask1,
        Slot::Mask2,
        Slot::Mask3,
        Slot::Mask4,
        Slot::Mask5,
        Slot::Incorrect,
        Slot::Normal,
    ];
    pub fn index(self) -> usize {
        self as usize
    }
    pub fn from_index(i: usize) -> Option<Self> {
        Self::ALL.get(i).copied()
    }
    /// The file stem in the real layout.
    pub fn stem(self) -> &'static str {
        match self {
            Slot::Mask1 => "mask1",
            Slot::Mask2 => "mask2",
            Slot::Mask3 => "mask3",
            Slot::Mask4 => "mask4",
            Slot::Mask5 => "mask5",
            Slot::Incorrect => "incorrect_mask",
            Slot::Normal => "normal",
        }
    }
    pub fn from_stem(stem: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.stem() == stem)
    }
    /// The mask label the file name implies.
    pub fn mask(self) -> Mask {
        match self {
            Slot::Incorrect => Mask::Incorrect,
            Slot::Normal => Mask::NotWear,
            _ => Mask::Wear,
        }
    }
}

/// One photo file of a person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Photo {
    pub slot: Slot,
    /// Path relative to the dataset root, e.g. `train/images/000001_female_Asian_45/mask1.jpg`.
    pub rel_path: PathBuf,
}

/// A person: one folder of train/images and one row of train.csv.
/// Keyed by `folder`, never by `id` (ids repeat and some carry suffixes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Person {
    /// The folder name (train.csv `path`), unique key.
    pub folder: String,
    /// The id as written in train.csv (e.g. `001498-1`).
    pub id: String,
    pub gender: Gender,
    pub age: u32,
    pub race: String,
    /// Photos by slot; `None` where the file is missing.
    pub photos: [Option<Photo>; 7],
}

impl Person {
    /// A person of the real layout with all seven photos, in memory (nothing on disk):
    /// folder `<id>_<gender>_Asian_<age>`, photos `train/images/<folder>/<slot>.jpg`. What
    /// tests, benches and fuzz targets replay edits against.
    pub fn with_all_photos(id: &str, gender: Gender, age: u32) -> Person {
        let folder = FolderName::format(id, gender, "Asian", age);
        Person {
            photos: Slot::ALL.map(|slot| {
                Some(Photo {
                    slot,
                    rel_path: PathBuf::from(format!("train/images/{folder}/{}.jpg", slot.stem())),
                })
            }),
            folder,
            id: id.to_string(),
            gender,
            age,
            race: "Asian".into(),
        }
    }

    pub fn age_bin(&self) -> AgeBin {
        AgeBin::from_years(self.age)
    }
    /// The class of this person's photo in `slot`, from the given (uncorrected) labels.
    pub fn class_of(&self, slot: Slot) -> ClassCode {
        ClassCode::new(slot.mask(), self.gender, self.age_bin())
    }
}

/// Identifies one training photo: person index into [`Dataset::people`] and slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PhotoRef {
    pub person: usize,
    pub slot: Slot,
}

/// The eval split: info.csv rows in file order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EvalSet {
    /// File names of eval/images in info.csv order.
    pub image_ids: Vec<String>,
    /// Ground-truth classes (`eval/gt.csv`, only in generated demo data).
    pub ground_truth: Option<Vec<ClassCode>>,
}

/// Something wrong found while scanning. A scan never aborts on these.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    /// The file (or folder) at fault, relative to the dataset root when inside it.
    pub path: PathBuf,
    /// 1-based line for CSV problems.
    pub line: Option<usize>,
    pub kind: ProblemKind,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ProblemKind {
    MissingPhoto,
    CorruptImage,
    UnknownFile,
    FolderMismatch,
    MissingFolder,
    FolderWithoutRow,
    BadRow,
    DuplicatePhoto,
    BadEvalRow,
    MissingEvalImage,
    UnreadableFolder,
}

impl ProblemKind {
    pub const ALL: [ProblemKind; 11] = [
        ProblemKind::MissingPhoto,
        ProblemKind::CorruptImage,
        ProblemKind::UnknownFile,
        ProblemKind::FolderMismatch,
        ProblemKind::MissingFolder,
        ProblemKind::FolderWithoutRow,
        ProblemKind::BadRow,
        ProblemKind::DuplicatePhoto,
        ProblemKind::BadEvalRow,
        ProblemKind::MissingEvalImage,
        ProblemKind::UnreadableFolder,
    ];
    /// Short heading for reports.
    pub fn title(self) -> &'static str {
        match self {
            ProblemKind::MissingPhoto => "missing photo",
            ProblemKind::CorruptImage => "unreadable or corrupt image",
            ProblemKind::UnknownFile => "unknown file",
            ProblemKind::FolderMismatch => "folder name disagrees with train.csv",
            ProblemKind::MissingFolder => "train.csv row without a folder",
            ProblemKind::FolderWithoutRow => "folder without a train.csv row",
            ProblemKind::BadRow => "bad train.csv row",
            ProblemKind::DuplicatePhoto => "duplicate photo of one slot",
            ProblemKind::BadEvalRow => "bad eval row",
            ProblemKind::MissingEvalImage => "missing eval image",
            ProblemKind::UnreadableFolder => "person folder that cannot be read",
        }
    }
    /// What the scan did about it.
    pub fn consequence(self) -> &'static str {
        match self {
            ProblemKind::MissingPhoto => "the slot stays empty",
            ProblemKind::CorruptImage => "the photo is left out",
            ProblemKind::UnknownFile => "ignored",
            ProblemKind::FolderMismatch => "train.csv labels are used",
            ProblemKind::MissingFolder => "the person is left out",
            ProblemKind::FolderWithoutRow => "the folder is left out",
            ProblemKind::BadRow => "the row is left out unless its folder name supplies the value",
            ProblemKind::DuplicatePhoto => "the first file in name order is used",
            ProblemKind::BadEvalRow => "the row is left out",
            ProblemKind::MissingEvalImage => "the row is kept; it has no photo",
            ProblemKind::UnreadableFolder => "the person is left out",
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        write!(f, ": {}", self.reason)
    }
}

/// A scanned dataset.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Dataset {
    pub root: PathBuf,
    pub people: Vec<Person>,
    pub eval: Option<EvalSet>,
    pub problems: Vec<Problem>,
}

impl Dataset {
    /// Every existing training photo, in person order then slot order. This order is the
    /// row order of probability arrays exported for the dataset.
    pub fn photo_refs(&self) -> impl Iterator<Item = PhotoRef> + '_ {
        self.people.iter().enumerate().flat_map(|(p, person)| {
            person.photos.iter().flatten().map(move |ph| PhotoRef {
                person: p,
                slot: ph.slot,
            })
        })
    }
    pub fn photo(&self, r: PhotoRef) -> Option<&Photo> {
        self.people.get(r.person)?.photos[r.slot.index()].as_ref()
    }
    pub fn person_index(&self, folder: &str) -> Option<usize> {
        self.people.iter().position(|p| p.folder == folder)
    }
    /// The photo at `rel_path` (relative to the root, `/`-separated as in CSVs).
    pub fn find_photo(&self, rel_path: &Path) -> Option<PhotoRef> {
        let folder = rel_path.parent()?.file_name()?.to_str()?;
        let stem = rel_path.file_stem()?.to_str()?;
        let person = self.person_index(folder)?;
        let slot = Slot::from_stem(stem)?;
        let photo = self.people[person].photos[slot.index()].as_ref()?;
        (photo.rel_path == rel_path).then_some(PhotoRef { person, slot })
    }
    /// Absolute (root-joined) path of a photo.
    pub fn abs_path(&self, r: PhotoRef) -> Option<PathBuf> {
        self.photo(r).map(|p| self.root.join(&p.rel_path))
    }
    /// Number of existing training photos.
    pub fn photo_count(&self) -> usize {
        self.people
            .iter()
            .map(|p| p.photos.iter().flatten().count())
            .sum()
    }
    /// Path of an eval image (`eval/images/<ImageID>`).
    pub fn eval_image_path(&self, image_id: &str) -> PathBuf {
        self.root.join("eval").join("images").join(image_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_person_with_all_photos_has_the_real_layout() {
        let p = Person::with_all_photos("000042", Gender::Male, 59);
        assert_eq!(p.folder, "000042_male_Asian_59");
        let parsed = FolderName::parse(&p.folder).unwrap();
        assert_eq!(
            (parsed.id.as_str(), parsed.gender, parsed.age),
            ("000042", Gender::Male, 59)
        );
        for slot in Slot::ALL {
            let photo = p.photos[slot.index()].as_ref().unwrap();
            assert_eq!(photo.slot, slot);
            assert_eq!(
                photo.rel_path,
                Path::new("train/images/000042_male_Asian_59").join(format!("{}.jpg", slot.stem()))
            );
        }
    }
}
