//! The dataset engine: the real on-disk layout (train.csv, one folder per person with
//! seven photos, eval/info.csv), label types, and the problems a scan collects.
//! Pure: no GUI, no torch.

pub mod labels;

pub use labels::{AgeBin, ClassCode, Field, Gender, Mask, NUM_CLASSES};

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
}
