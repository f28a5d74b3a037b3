//! The review queue's data, shared by the app and `open`'s text summary: the newest
//! finished run under `<root>/.mask-curator/runs/`, its out-of-fold probabilities
//! (`oof_probs.npy` + `oof_index.csv`) keyed by photo, and the label-issue engine's
//! findings on them turned into queue items (one per decision an annotator makes).

use crate::dataset::{Dataset, Field, PhotoRef, NUM_CLASSES};
use crate::workspace::Workspace;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Why a run's probabilities or issues cannot be loaded; each names the file (and line).
#[derive(Debug, thiserror::Error)]
pub enum RunLoadError {
    #[error("{}: {message}", path.display())]
    File { path: PathBuf, message: String },
    #[error("cannot read the probabilities of {}: {source}", dir.display())]
    Table {
        dir: PathBuf,
        source: crate::issues::table::ProbTableError,
    },
    #[error("cannot find issues in {}: {source}", dir.display())]
    Issues {
        dir: PathBuf,
        source: crate::issues::InputError,
    },
}

fn file_error(path: &Path, message: impl Into<String>) -> RunLoadError {
    RunLoadError::File {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// One suspected label error.
#[derive(Debug, Clone, PartialEq)]
pub struct RunIssue {
    /// Stable across runs (`field:folder` or `field:folder/stem`), so a decision recorded
    /// in the journal still applies after retraining.
    pub issue_id: String,
    pub kind: String,
    pub field: Field,
    pub person: usize,
    /// The photo of a mask issue; `None` for person-level gender and age issues.
    pub slot: Option<crate::dataset::Slot>,
    pub given: usize,
    pub suggested: usize,
    /// The calibrated probability that the given label is wrong (the engine's
    /// `Issue::p_wrong`): higher = more likely wrong; means the same across runs.
    pub score: f32,
    pub probabilities: Vec<f32>,
    /// A swapped incorrect_mask/normal pair: the other photo's fix, applied together with
    /// this one when the suggestion is accepted (one undo step).
    pub pair: Option<PairedFix>,
    /// `Likely` items are shown by default, `Possible` ones behind a toggle.
    pub tier: crate::issues::Tier,
    /// Age issues judged in years: "given 20, model 47 ± 4".
    pub years_text: Option<String>,
    /// Age issues: the given age in years (as of the run).
    pub given_years: Option<u32>,
    /// Age issues judged in years: the model's reading in whole years (18..60, 60 meaning
    /// 60 or older), what accepting the suggestion sets.
    pub suggested_years: Option<u32>,
}

impl RunIssue {
    /// The given label as the issue states it: the years of an issue judged in years
    /// ("26"), else the class ("<30", "male").
    pub fn given_text(&self) -> String {
        match self.given_years {
            Some(years) => years.to_string(),
            None => self.field.class_name(self.given).to_string(),
        }
    }

    /// The photos the issue is about: "mask2", a swapped pair "incorrect_mask + normal";
    /// `None` for a person-level issue.
    pub fn photos_text(&self) -> Option<String> {
        let slot = self.slot?;
        Some(match &self.pair {
            Some(pair) => format!("{} + {}", slot.stem(), pair.slot.stem()),
            None => slot.stem().to_string(),
        })
    }

    /// Given and suggested as the issue states them: "20 -> 57" judged in years,
    /// "male -> female" otherwise.
    pub fn change_text(&self) -> String {
        match (self.given_years, self.suggested_years) {
            (Some(given), Some(model)) => format!("{given} -> {model}"),
            _ => format!(
                "{} -> {}",
                self.field.class_name(self.given),
                self.field.class_name(self.suggested)
            ),
        }
    }
}

/// The second photo of a swapped pair.
#[derive(Debug, Clone, PartialEq)]
pub struct PairedFix {
    pub slot: crate::dataset::Slot,
    pub given: usize,
    pub suggested: usize,
    pub probabilities: Vec<f32>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunIssues {
    /// Likely items first, then the most likely wrong first.
    pub issues: Vec<RunIssue>,
    /// Per field: likely / possible counts, expected real errors among them, the expected
    /// number of wrong labels of the field (for the overview).
    pub queues: Vec<crate::issues::FieldQueue>,
    /// Why age was judged from bins (a run without predicted years); `None` in years.
    pub age_note: Option<String>,
    /// Per person index: the model's age in years and its spread (years runs).
    pub age_readings: std::collections::BTreeMap<usize, (f64, f64)>,
}

/// The issues of a run for the review queue, found by the label-issue engine
/// ([`crate::issues::find_dataset_issues`]) on `labels` (the curated labels when the run is
/// loaded, so fixed labels drop out and a wrong fix is caught after retraining): mask per photo, gender and
/// age per person, swapped incorrect_mask/normal pairs (one queue item whose acceptance
/// fixes both photos), age boundary cases.
pub fn find_run_issues(
    dataset: &Dataset,
    labels: &crate::issues::DatasetLabels,
    probs: &RunProbs,
) -> Result<RunIssues, RunLoadError> {
    use crate::dataset::Slot;
    use crate::issues::{find_dataset_issues, DatasetIssueOptions, IssueKind, ProbTable};
    let table = ProbTable::load_run(dataset, &probs.dir).map_err(|source| RunLoadError::Table {
        dir: probs.dir.clone(),
        source,
    })?;
    let report = find_dataset_issues(dataset, labels, &table, &DatasetIssueOptions::default())
        .map_err(|source| RunLoadError::Issues {
            dir: probs.dir.clone(),
            source,
        })?;
    let class_index =
        |field: Field, name: &str| (0..field.num_classes()).find(|&i| field.class_name(i) == name);
    let mut issues = Vec::new();
    for issue in &report.issues {
        let Some(current) = labels.people.get(issue.person_index) else {
            continue;
        };
        let values: Vec<f32> = issue.probs.iter().map(|&v| v as f32).collect();
        // The queue ranks by the calibrated probability that the label is wrong.
        let score = issue.p_wrong as f32;
        let (tier, years_text) = (issue.tier, issue.years_text());
        let suggested_years = issue
            .years
            .as_ref()
            .map(|j| j.expected.round().clamp(18.0, 60.0) as u32);
        if issue.kind == IssueKind::MaskSwap {
            // One decision for the pair: the engine's probabilities are the incorrect_mask
            // photo's three mask values, then the normal photo's.
            let probs_of = |range: std::ops::Range<usize>| {
                values.get(range).map(<[f32]>::to_vec).unwrap_or_default()
            };
            let incorrect = current.mask[Slot::Incorrect.index()].index();
            let normal = current.mask[Slot::Normal.index()].index();
            issues.push(RunIssue {
                issue_id: issue.id.clone(),
                kind: issue.kind.name().to_string(),
                field: Field::Mask,
                person: issue.person_index,
                slot: Some(Slot::Incorrect),
                given: incorrect,
                suggested: normal,
                score,
                probabilities: probs_of(0..3),
                pair: Some(PairedFix {
                    slot: Slot::Normal,
                    given: normal,
                    suggested: incorrect,
                    probabilities: probs_of(3..6),
                }),
                tier,
                years_text,
                given_years: None,
                suggested_years: None,
            });
            continue;
        }
        let slot = issue
            .photos
            .first()
            .and_then(|p| Path::new(p).file_stem())
            .and_then(|stem| Slot::from_stem(&stem.to_string_lossy()));
        let given = match issue.field {
            Field::Mask => slot.map(|s| current.mask[s.index()].index()),
            Field::Gender => Some(current.gender.index()),
            Field::Age => Some(crate::dataset::AgeBin::from_years(current.age).index()),
        };
        let (Some(given), Some(suggested)) = (given, class_index(issue.field, &issue.suggested))
        else {
            continue;
        };
        issues.push(RunIssue {
            issue_id: issue.id.clone(),
            kind: issue.kind.name().to_string(),
            field: issue.field,
            person: issue.person_index,
            slot: (issue.field == Field::Mask).then_some(slot).flatten(),
            given,
            suggested,
            score,
            probabilities: values,
            pair: None,
            tier,
            years_text,
            given_years: (issue.field == Field::Age).then_some(current.age),
            suggested_years,
        });
    }
    Ok(RunIssues {
        issues,
        queues: report.queues.clone(),
        age_note: report.age_note.clone(),
        age_readings: report.age_readings.clone(),
    })
}

// --- runs and their probabilities ------------------------------------------------------

/// A finished run's out-of-fold probabilities, keyed by photo.
#[derive(Debug, Clone, Default)]
pub struct RunProbs {
    pub run_id: String,
    pub dir: PathBuf,
    pub rows: HashMap<PhotoRef, [f32; NUM_CLASSES]>,
    /// The run's files as read once (`issues::table::ProbTable::load_run`: probabilities,
    /// index, predicted years, split); the issue engine works on this.
    pub table: crate::issues::ProbTable,
    /// When the run was made (`run.json`), to tell edits made before it from edits after.
    pub created: String,
    /// Out-of-fold macro F1, when recorded.
    pub macro_f1: Option<f64>,
}

impl RunProbs {
    pub fn class_probs(&self, r: PhotoRef) -> Option<&[f32; NUM_CLASSES]> {
        self.rows.get(&r)
    }

    /// Probability of each value of `field` (marginal of the 18-class probabilities).
    pub fn marginal(&self, field: Field, r: PhotoRef) -> Option<Vec<f32>> {
        let p = self.rows.get(&r)?;
        let mut out = vec![0.0f32; field.num_classes()];
        for (class, v) in p.iter().enumerate() {
            if let Some(c) = crate::dataset::ClassCode::from_index(class) {
                out[c.field_index(field)] += v;
            }
        }
        Some(out)
    }
}

/// A finished run the review queue can be fed from.
#[derive(Debug, Clone, PartialEq)]
pub struct RunChoice {
    pub id: String,
    pub dir: PathBuf,
    /// `run.json`'s creation time as written (empty when unknown).
    pub created: String,
    /// Out-of-fold macro F1 over the 18 classes, when the run recorded it.
    pub macro_f1: Option<f64>,
    /// The recipe's backbone, e.g. `small`.
    pub recipe: Option<String>,
}

/// Every run dir whose `run.json` says finished (or, without run.json, that holds both
/// probability files), newest first. Newest = latest `created`, then name. The one
/// definition of "newest finished run".
pub fn finished_runs(ws: &Workspace) -> Vec<RunChoice> {
    let Ok(entries) = std::fs::read_dir(ws.runs_dir()) else {
        return Vec::new();
    };
    let mut runs = Vec::new();
    for entry in entries.flatten() {
        let dir = entry.path();
        if !dir.join("oof_probs.npy").is_file() || !dir.join("oof_index.csv").is_file() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        let header = match crate::ml::run::RunDir::new(&dir).read_header() {
            Ok(h) => h,
            Err(_) => continue,
        };
        if header
            .as_ref()
            .is_some_and(|h| h.status.as_deref() != Some("finished"))
        {
            continue;
        }
        let header = header.unwrap_or_default();
        runs.push(RunChoice {
            id: header.id.unwrap_or_else(|| name.clone()),
            created: header.created,
            dir,
            macro_f1: header.summary.and_then(|s| s.oof_macro_f1),
            recipe: header.config.and_then(|c| c.backbone),
        });
    }
    runs.sort_by(|a, b| crate::ml::run::newest_first((&a.created, &a.dir), (&b.created, &b.dir)));
    runs
}

/// The newest finished run: (id, dir).
pub fn latest_finished_run(ws: &Workspace) -> Option<(String, PathBuf)> {
    finished_runs(ws).into_iter().next().map(|r| (r.id, r.dir))
}

/// Loads the newest finished run's probabilities, or `None` when there is no run.
pub fn load_run_probs(dataset: &Dataset, ws: &Workspace) -> Result<Option<RunProbs>, RunLoadError> {
    match finished_runs(ws).into_iter().next() {
        Some(run) => load_chosen_run(dataset, &run).map(Some),
        None => Ok(None),
    }
}

/// Loads one run's out-of-fold probabilities, keyed by photo.
pub fn load_chosen_run(dataset: &Dataset, run: &RunChoice) -> Result<RunProbs, RunLoadError> {
    let dir = run.dir.clone();
    let table = crate::issues::ProbTable::load_run(dataset, &dir).map_err(|source| {
        RunLoadError::Table {
            dir: dir.clone(),
            source,
        }
    })?;
    let mut rows = HashMap::with_capacity(table.rows.len());
    for (i, &r) in table.rows.iter().enumerate() {
        let mut p = [0f32; NUM_CLASSES];
        p.copy_from_slice(table.row(i));
        if p.iter().any(|v| !v.is_finite()) {
            return Err(file_error(
                &dir.join("oof_probs.npy"),
                format!("row {i} holds NaN or infinite probabilities"),
            ));
        }
        rows.insert(r, p);
    }
    Ok(RunProbs {
        run_id: run.id.clone(),
        dir,
        rows,
        table,
        created: run.created.clone(),
        macro_f1: run.macro_f1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_issue_states_its_labels_in_years_when_judged_in_years() {
        let mut item = RunIssue {
            issue_id: "age:000001".into(),
            kind: "age_gross".into(),
            field: Field::Age,
            person: 0,
            slot: None,
            given: 0,
            suggested: 1,
            score: 0.9,
            probabilities: vec![0.1, 0.8, 0.1],
            pair: None,
            tier: crate::issues::Tier::Likely,
            years_text: None,
            given_years: Some(26),
            suggested_years: None,
        };
        // Judged in bins: the change in bins, the given label in years all the same.
        assert_eq!(item.change_text(), "<30 -> 30-59");
        assert_eq!(item.given_text(), "26");
        item.suggested_years = Some(57);
        assert_eq!(item.change_text(), "26 -> 57");
        item.given_years = None;
        item.field = Field::Gender;
        item.given = 0;
        assert_eq!(item.given_text(), "male");
        assert_eq!(item.change_text(), "male -> female");
    }

    #[test]
    fn newest_finished_run_wins_and_unfinished_runs_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let ws = Workspace::for_dataset(dir.path());
        for (name, status, created) in [
            ("a", "finished", "2026-01-01T00:00:00Z"),
            ("b", "finished", "2026-02-01T00:00:00Z"),
            ("c", "running", "2026-03-01T00:00:00Z"),
        ] {
            let run = ws.runs_dir().join(name);
            std::fs::create_dir_all(&run).unwrap();
            std::fs::write(run.join("oof_probs.npy"), b"").unwrap();
            std::fs::write(run.join("oof_index.csv"), b"row,path,person,fold\n").unwrap();
            std::fs::write(
                run.join("run.json"),
                format!(r#"{{"id":"run-{name}","status":"{status}","created":"{created}"}}"#),
            )
            .unwrap();
        }
        let (id, path) = latest_finished_run(&ws).unwrap();
        assert_eq!(id, "run-b");
        assert!(path.ends_with("b"));
    }
}
