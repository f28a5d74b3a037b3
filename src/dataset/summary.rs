//! Counts over a dataset (used by `scan` and the app's overview) and the given labels as
//! flat arrays in [`Dataset::photo_refs`] order (used by confident learning and training).

use super::{AgeBin, ClassCode, Dataset, Field, Gender, PhotoRef, ProblemKind, NUM_CLASSES};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The labels as given by the dataset (file names and train.csv), one entry per photo in
/// [`Dataset::photo_refs`] order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GivenLabels {
    pub refs: Vec<PhotoRef>,
    /// 18-class code per photo.
    pub classes: Vec<ClassCode>,
    /// Index into [`Dataset::people`] per photo.
    pub person: Vec<usize>,
    /// Age in years per photo (from the person).
    pub age_years: Vec<u32>,
}

impl GivenLabels {
    pub fn of(dataset: &Dataset) -> Self {
        let refs: Vec<PhotoRef> = dataset.photo_refs().collect();
        let mut out = GivenLabels {
            classes: Vec::with_capacity(refs.len()),
            person: Vec::with_capacity(refs.len()),
            age_years: Vec::with_capacity(refs.len()),
            refs: Vec::new(),
        };
        for r in &refs {
            let p = &dataset.people[r.person];
            out.classes.push(p.class_of(r.slot));
            out.person.push(r.person);
            out.age_years.push(p.age);
        }
        out.refs = refs;
        out
    }
    pub fn len(&self) -> usize {
        self.classes.len()
    }
    pub fn is_empty(&self) -> bool {
        self.classes.is_empty()
    }
    /// Class indices 0..17 (what cleanlab-style code takes as `labels`).
    pub fn class_indices(&self) -> Vec<usize> {
        self.classes.iter().map(|c| c.index()).collect()
    }
    /// One field's label per photo (mask 0..2, gender 0..1, age bin 0..2).
    pub fn field_indices(&self, field: Field) -> Vec<usize> {
        self.classes.iter().map(|c| c.field_index(field)).collect()
    }
}

/// Counts per field and class; what the overview screen and `mask-curator scan` show.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DatasetSummary {
    pub people: usize,
    pub photos: usize,
    /// Photos per 18-class code.
    pub per_class: [usize; NUM_CLASSES],
    /// Photos per mask label.
    pub mask_photos: [usize; 3],
    /// People per gender and per age bin.
    pub gender_people: [usize; 2],
    pub age_people: [usize; 3],
    /// People by `[gender][age bin]`.
    pub people_by_gender_age: [[usize; 3]; 2],
    /// People per age in years.
    pub people_by_age: BTreeMap<u32, usize>,
    /// Photos per lower-case file extension.
    pub photos_by_extension: BTreeMap<String, usize>,
    /// Folders whose photos do not all share one extension.
    pub mixed_extension_folders: Vec<String>,
    /// Ids carried by more than one folder.
    pub duplicated_ids: Vec<String>,
    /// Ids with a suffix (not plain digits), e.g. `001498-1`.
    pub suffixed_ids: usize,
    /// People with fewer than seven photos.
    pub incomplete_people: usize,
    pub eval_images: Option<usize>,
    /// Eval images per class when the ground truth is known (demo data).
    pub eval_per_class: Option<[usize; NUM_CLASSES]>,
    /// Problem counts in [`ProblemKind::ALL`] order, only kinds that occur.
    pub problems: Vec<(ProblemKind, usize)>,
}

impl DatasetSummary {
    /// Counts with the labels as given.
    pub fn of(dataset: &Dataset) -> Self {
        let classes: Vec<ClassCode> = GivenLabels::of(dataset).classes;
        Self::with_classes(dataset, &classes)
    }

    /// Counts with `classes` (one per photo in [`Dataset::photo_refs`] order), e.g. the
    /// corrected labels. People are counted by their first photo's gender and age.
    /// Extra or missing entries are ignored.
    pub fn with_classes(dataset: &Dataset, classes: &[ClassCode]) -> Self {
        let mut s = DatasetSummary {
            people: dataset.people.len(),
            ..Default::default()
        };
        let mut first_class: Vec<Option<ClassCode>> = vec![None; dataset.people.len()];
        for (r, c) in dataset.photo_refs().zip(classes) {
            s.photos += 1;
            s.per_class[c.index()] += 1;
            s.mask_photos[c.mask().index()] += 1;
            first_class[r.person].get_or_insert(*c);
        }
        let mut id_count: BTreeMap<&str, usize> = BTreeMap::new();
        for (person, first) in dataset.people.iter().zip(&first_class) {
            let (gender, age): (Gender, AgeBin) = match first {
                Some(c) => (c.gender(), c.age()),
                None => (person.gender, person.age_bin()),
            };
            s.gender_people[gender.index()] += 1;
            s.age_people[age.index()] += 1;
            s.people_by_gender_age[gender.index()][age.index()] += 1;
            *s.people_by_age.entry(person.age).or_default() += 1;
            *id_count.entry(person.id.as_str()).or_default() += 1;
            if !person.id.chars().all(|c| c.is_ascii_digit()) {
                s.suffixed_ids += 1;
            }
            let mut exts: Vec<String> = Vec::new();
            for photo in person.photos.iter().flatten() {
                let ext = photo
                    .rel_path
                    .extension()
                    .map(|e| e.to_string_lossy().to_ascii_lowercase())
                    .unwrap_or_default();
                *s.photos_by_extension.entry(ext.clone()).or_default() += 1;
                if !exts.contains(&ext) {
                    exts.push(ext);
                }
            }
            if exts.len() > 1 {
                s.mixed_extension_folders.push(person.folder.clone());
            }
            if person.photos.iter().any(Option::is_none) {
                s.incomplete_people += 1;
            }
        }
        s.duplicated_ids = id_count
            .into_iter()
            .filter(|(_, n)| *n > 1)
            .map(|(id, _)| id.to_string())
            .collect();
        if let Some(eval) = &dataset.eval {
            s.eval_images = Some(eval.image_ids.len());
            s.eval_per_class = eval.ground_truth.as_ref().map(|gt| {
                let mut counts = [0; NUM_CLASSES];
                for c in gt {
                    counts[c.index()] += 1;
                }
                counts
            });
        }
        s.problems = ProblemKind::ALL
            .iter()
            .map(|k| (*k, dataset.problems.iter().filter(|p| p.kind == *k).count()))
            .filter(|(_, n)| *n > 0)
            .collect();
        s
    }

    /// Photos per class of one field.
    pub fn field_photos(&self, field: Field) -> Vec<usize> {
        let mut out = vec![0; field.num_classes()];
        for (i, n) in self.per_class.iter().enumerate() {
            if let Some(c) = ClassCode::from_index(i) {
                out[c.field_index(field)] += n;
            }
        }
        out
    }
}
