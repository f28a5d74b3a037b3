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

/// Scans the dataset at `root` for training and inference.
pub fn load_dataset(root: &std::path::Path) -> anyhow::Result<Dataset> {
    Ok(crate::dataset::scan(root)?)
}
