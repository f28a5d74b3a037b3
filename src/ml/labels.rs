//! The labels a run trains on: the curated ones (journal applied) or those given on disk.

use crate::dataset::{ClassCode, Dataset};

/// What a run trains on.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainingLabels {
    /// The 18-class label of every photo, in `Dataset::photo_refs()` order.
    pub classes: Vec<ClassCode>,
    /// The age in years of every person, in `Dataset::people` order (the age head's
    /// target).
    pub person_ages: Vec<u32>,
    /// Ids the annotator decided are one person (none with the given labels): the split
    /// keeps each group in one fold.
    pub identities: crate::curation::Identities,
    pub source: LabelSource,
}

/// Why the labels of a run cannot be gathered.
#[derive(Debug, thiserror::Error)]
pub enum LabelsError {
    #[error("{}: {message}", path.display())]
    Journal {
        path: std::path::PathBuf,
        message: String,
    },
    #[error(transparent)]
    Dataset(#[from] crate::dataset::DatasetError),
}

/// The curated labels (the journal replayed read-only; the given labels when there is no
/// journal yet), or with `curated` off the labels as given on disk.
pub fn training_labels(dataset: &Dataset, curated: bool) -> Result<TrainingLabels, LabelsError> {
    let workspace = crate::workspace::Workspace::for_dataset(&dataset.root);
    if curated && workspace.journal_path().exists() {
        let (curation, _report) = crate::curation::Curation::open_read_only(dataset, &workspace)
            .map_err(|e| LabelsError::Journal {
                path: workspace.journal_path(),
                message: e.to_string(),
            })?;
        return Ok(TrainingLabels {
            classes: curation.curated_class_labels(dataset),
            person_ages: (0..dataset.people.len())
                .map(|p| curation.age_years(p))
                .collect(),
            identities: curation.identities(),
            source: LabelSource::Curated,
        });
    }
    Ok(TrainingLabels {
        classes: dataset
            .photo_refs()
            .map(|r| dataset.people[r.person].class_of(r.slot))
            .collect(),
        person_ages: dataset.people.iter().map(|p| p.age).collect(),
        identities: crate::curation::Identities::default(),
        source: if curated {
            LabelSource::Curated
        } else {
            LabelSource::Given
        },
    })
}

/// Scans the dataset at `root` for training and inference.
pub fn load_dataset(root: &std::path::Path) -> Result<Dataset, LabelsError> {
    Ok(crate::dataset::scan(root)?)
}

/// Where the training labels come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelSource {
    /// The curation journal applied.
    Curated,
    /// The labels as given on disk.
    Given,
}

impl LabelSource {
    pub fn name(self) -> &'static str {
        match self {
            LabelSource::Curated => "curated",
            LabelSource::Given => "given",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::curation::{Curation, IdentityDecision};
    use crate::dataset::{Gender, Person};

    #[test]
    fn curated_labels_carry_the_same_person_decisions_and_given_ones_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let dataset = Dataset {
            root: dir.path().to_path_buf(),
            people: (0..4)
                .map(|i| Person::with_all_photos(&format!("{:06}", i + 1), Gender::Male, 30))
                .collect(),
            eval: None,
            problems: Vec::new(),
        };
        let workspace = crate::workspace::Workspace::for_dataset(dir.path());
        {
            let (mut cur, _) = Curation::open(&dataset, &workspace, "t").unwrap();
            cur.apply(cur.identity_edit(3, 1, IdentityDecision::Same))
                .unwrap();
            cur.apply(cur.identity_edit(0, 2, IdentityDecision::Different))
                .unwrap();
        }
        let curated = training_labels(&dataset, true).unwrap();
        assert_eq!(curated.identities.groups(), vec![vec![1, 3]]);
        let given = training_labels(&dataset, false).unwrap();
        assert!(given.identities.is_empty());
    }
}
