//! The labels a run trains on: the curated ones (journal applied) or those given on disk.

use crate::dataset::{ClassCode, Dataset};

/// The 18-class label of every photo in `Dataset::photo_refs()` order, and which labels
/// they are ("curated" or "given").
pub fn training_labels(
    dataset: &Dataset,
    curated: bool,
) -> anyhow::Result<(Vec<ClassCode>, super::train::LabelSource)> {
    use super::train::LabelSource;
    let given = || {
        dataset
            .photo_refs()
            .map(|r| dataset.people[r.person].class_of(r.slot))
            .collect::<Vec<_>>()
    };
    if !curated {
        return Ok((given(), LabelSource::Given));
    }
    Ok((
        curated_labels(dataset)?.unwrap_or_else(given),
        LabelSource::Curated,
    ))
}

/// The curated labels (the journal replayed read-only; the given labels when there is no
/// journal yet).
fn curated_labels(dataset: &Dataset) -> anyhow::Result<Option<Vec<ClassCode>>> {
    let workspace = crate::workspace::Workspace::for_dataset(&dataset.root);
    if !workspace.journal_path().exists() {
        return Ok(None);
    }
    let (curation, _report) = crate::curation::Curation::open_read_only(dataset, &workspace)
        .map_err(|e| anyhow::anyhow!("{}: {e}", workspace.journal_path().display()))?;
    Ok(Some(curation.curated_class_labels(dataset)))
}

/// Reads the dataset at `root` for training and inference.
pub fn load_dataset(root: &std::path::Path) -> anyhow::Result<Dataset> {
    interim::read_layout(root)
}

/// A reader of the real layout for the interval before the dataset scanner is available.
mod interim {
    use crate::dataset::{ClassCode, Dataset, EvalSet, Gender, Person, Photo, Slot};
    use anyhow::{bail, Context};
    use std::path::{Path, PathBuf};

    pub fn read_layout(root: &Path) -> anyhow::Result<Dataset> {
        let csv_path = root.join("train/train.csv");
        let mut reader =
            csv::Reader::from_path(&csv_path).with_context(|| csv_path.display().to_string())?;
        let mut people = Vec::new();
        for (i, rec) in reader.records().enumerate() {
            let rec = rec.with_context(|| format!("{} line {}", csv_path.display(), i + 2))?;
            let (Some(id), Some(gender), Some(race), Some(age), Some(folder)) =
                (rec.get(0), rec.get(1), rec.get(2), rec.get(3), rec.get(4))
            else {
                bail!(
                    "{} line {}: expected id,gender,race,age,path",
                    csv_path.display(),
                    i + 2
                );
            };
            let gender = Gender::parse(gender)
                .with_context(|| format!("{} line {}: gender", csv_path.display(), i + 2))?;
            let age: u32 = age
                .trim()
                .parse()
                .with_context(|| format!("{} line {}: age", csv_path.display(), i + 2))?;
            let dir = root.join("train/images").join(folder);
            let mut photos: [Option<Photo>; 7] = Default::default();
            if let Ok(entries) = std::fs::read_dir(&dir) {
                let mut names: Vec<String> = entries
                    .flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect();
                names.sort();
                for name in names.into_iter().filter(|n| !n.starts_with('.')) {
                    let stem = name.rsplit_once('.').map_or(name.as_str(), |(s, _)| s);
                    if let Some(slot) = Slot::from_stem(stem) {
                        if photos[slot.index()].is_none() {
                            let rel_path = PathBuf::from("train/images").join(folder).join(&name);
                            photos[slot.index()] = Some(Photo { slot, rel_path });
                        }
                    }
                }
            }
            people.push(Person {
                folder: folder.to_string(),
                id: id.to_string(),
                gender,
                age,
                race: race.to_string(),
                photos,
            });
        }
        let info = root.join("eval/info.csv");
        let eval = if info.exists() {
            let mut r =
                csv::Reader::from_path(&info).with_context(|| info.display().to_string())?;
            let image_ids = r
                .records()
                .map(|rec| rec.map(|r| r.get(0).unwrap_or_default().to_string()))
                .collect::<Result<Vec<_>, _>>()?;
            let gt_path = root.join("eval/gt.csv");
            let ground_truth = if gt_path.exists() {
                let mut r = csv::Reader::from_path(&gt_path)?;
                let classes: Vec<ClassCode> = r
                    .records()
                    .map(|rec| {
                        let rec = rec?;
                        let c: usize = rec.get(1).unwrap_or_default().trim().parse()?;
                        ClassCode::from_index(c).context("class outside 0..17")
                    })
                    .collect::<anyhow::Result<_>>()
                    .with_context(|| gt_path.display().to_string())?;
                (classes.len() == image_ids.len()).then_some(classes)
            } else {
                None
            };
            Some(EvalSet {
                image_ids,
                ground_truth,
            })
        } else {
            None
        };
        Ok(Dataset {
            root: root.to_path_buf(),
            people,
            eval,
            problems: Vec::new(),
        })
    }
}
