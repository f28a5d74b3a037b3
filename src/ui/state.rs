//! What the app remembers between runs (eframe persistence): recent datasets, the last
//! view, filters, sort and zoom. Runtime resources (the open dataset, threads, textures)
//! live elsewhere.

use crate::dataset::Field;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// How many recent datasets the open screen lists.
pub const MAX_RECENT: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum View {
    #[default]
    Overview,
    People,
    Person,
    Review,
    Eval,
    Map,
}

impl View {
    pub const ALL: [View; 6] = [
        View::Overview,
        View::People,
        View::Person,
        View::Review,
        View::Eval,
        View::Map,
    ];
    pub fn title(self) -> &'static str {
        match self {
            View::Overview => "Overview",
            View::People => "People",
            View::Person => "Person",
            View::Review => "Review",
            View::Eval => "Eval",
            View::Map => "Map",
        }
    }
}

// The people filters are queries over the session: they live in the workbench.
pub use crate::workbench::queries::{PeopleFilter, ReviewedFilter, SortBy};

/// Review-queue filters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct QueueFilter {
    pub field: Option<Field>,
    /// Issue kind name as the issue engine reports it; `None` = all kinds.
    pub kind: Option<String>,
    /// Hide issues that already have a decision or a fix.
    pub open_only: bool,
    /// Also list the *possible* tier (weaker evidence, beyond the engine's estimate of the
    /// wrong labels); by default only the *likely* items are queued.
    pub show_possible: bool,
}

/// What the app remembers per dataset: its filters, where the review queue was left, and
/// the run an annotator chose for the queue (`None`: the newest finished run).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct DatasetPrefs {
    pub people_filter: PeopleFilter,
    pub queue_filter: QueueFilter,
    /// The issue id of the queue item on screen when the dataset was last left.
    pub queue_item: Option<String>,
    pub run: Option<String>,
}

/// How many datasets keep their own filters and queue position.
pub const MAX_DATASET_PREFS: usize = 32;

/// Everything persisted between runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PersistentState {
    /// Most recent first.
    pub recent: Vec<PathBuf>,
    pub view: View,
    pub people_filter: PeopleFilter,
    pub queue_filter: QueueFilter,
    /// Photo height in the person and review views, points.
    pub photo_height: f32,
    /// Thumbnail height in the people grid, points.
    pub thumb_height: f32,
    pub show_train_panel: bool,
    /// Per dataset (keyed by its canonical path): filters, queue position, chosen run.
    /// The filters above are the open dataset's, swapped in and out on open and close.
    pub datasets: BTreeMap<PathBuf, DatasetPrefs>,
}

impl Default for PersistentState {
    fn default() -> Self {
        PersistentState {
            recent: Vec::new(),
            view: View::Overview,
            people_filter: PeopleFilter::default(),
            queue_filter: QueueFilter {
                open_only: false,
                ..Default::default()
            },
            photo_height: 220.0,
            thumb_height: 72.0,
            show_train_panel: false,
            datasets: BTreeMap::new(),
        }
    }
}

impl PersistentState {
    /// Puts `dir` first in the recent list (deduplicated, bounded).
    pub fn remember(&mut self, dir: &Path) {
        self.recent.retain(|p| p != dir);
        self.recent.insert(0, dir.to_path_buf());
        self.recent.truncate(MAX_RECENT);
    }

    /// Stores the open dataset's filters and queue position under `dir`.
    pub fn store_dataset_prefs(
        &mut self,
        dir: &Path,
        queue_item: Option<String>,
        run: Option<String>,
    ) {
        let prefs = DatasetPrefs {
            people_filter: self.people_filter.clone(),
            queue_filter: self.queue_filter.clone(),
            queue_item,
            run,
        };
        self.datasets.insert(dir.to_path_buf(), prefs);
        // Bounded: forget datasets that are no longer in the recent list first.
        while self.datasets.len() > MAX_DATASET_PREFS {
            let stale = self
                .datasets
                .keys()
                .find(|k| !self.recent.contains(k))
                .or_else(|| self.datasets.keys().next())
                .cloned();
            match stale {
                Some(k) => {
                    self.datasets.remove(&k);
                }
                None => break,
            }
        }
    }

    /// Makes `dir`'s filters the current ones (defaults for a dataset never seen) and
    /// returns what else was remembered for it.
    pub fn load_dataset_prefs(&mut self, dir: &Path) -> DatasetPrefs {
        let prefs = self.datasets.get(dir).cloned().unwrap_or_default();
        self.people_filter = prefs.people_filter.clone();
        self.queue_filter = prefs.queue_filter.clone();
        prefs
    }

    pub fn zoom(&mut self, factor: f32) {
        self.photo_height = (self.photo_height * factor).clamp(48.0, 640.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::Gender;

    #[test]
    fn recent_list_is_most_recent_first_without_duplicates() {
        let mut s = PersistentState::default();
        for i in 0..10 {
            s.remember(Path::new(&format!("/data/{i}")));
        }
        s.remember(Path::new("/data/5"));
        assert_eq!(s.recent.len(), MAX_RECENT);
        assert_eq!(s.recent[0], Path::new("/data/5"));
        assert_eq!(s.recent.iter().filter(|p| p.ends_with("5")).count(), 1);
    }

    #[test]
    fn filters_belong_to_their_dataset() {
        let mut s = PersistentState::default();
        let (a, b) = (Path::new("/data/a"), Path::new("/data/b"));
        s.load_dataset_prefs(a);
        s.queue_filter.kind = Some("mask_swap".into());
        s.people_filter.flagged_only = true;
        s.store_dataset_prefs(a, Some("gender:x".into()), None);
        // A dataset never opened starts with no filter.
        let fresh = s.load_dataset_prefs(b);
        assert_eq!(s.queue_filter, QueueFilter::default());
        assert!(!s.people_filter.flagged_only);
        assert_eq!(fresh.queue_item, None);
        s.store_dataset_prefs(b, None, None);
        // Back to the first: its filters and position come back.
        let back = s.load_dataset_prefs(a);
        assert_eq!(s.queue_filter.kind.as_deref(), Some("mask_swap"));
        assert!(s.people_filter.flagged_only);
        assert_eq!(back.queue_item.as_deref(), Some("gender:x"));
    }

    #[test]
    fn state_round_trips_through_json_and_tolerates_missing_fields() {
        let mut s = PersistentState {
            view: View::Review,
            ..Default::default()
        };
        s.people_filter.gender = Some(Gender::Female);
        let text = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<PersistentState>(&text).unwrap(), s);
        let partial: PersistentState = serde_json::from_str(r#"{"view":"People"}"#).unwrap();
        assert_eq!(partial.view, View::People);
        assert_eq!(
            partial.photo_height,
            PersistentState::default().photo_height
        );
    }
}
