//! An open dataset: the scan, the curated labels (journal-backed), the newest run's
//! probabilities and the issues found with them. The only place the app talks to the
//! curation and issue engines, so the views only see plain labels.

use crate::curation::JournalEntry;
use crate::curation::{
    Change, Curation, CurationError, Edit, Identities, IdentityConflict, IdentityDecision,
    ReviewDecision, Target,
};
use crate::dataset::{AgeBin, ClassCode, Dataset, Field, Gender, Mask, PhotoRef, Slot};
use crate::review_queue::{finished_runs, load_chosen_run, RunChoice, RunProbs};
use crate::workspace::Workspace;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

/// Why a session request failed. Every edit is either in the journal or reported here.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("cannot open the edit journal: {0}")]
    Journal(CurationError),
    #[error("edit not saved: {0}")]
    Edit(CurationError),
    #[error("undo failed: {0}")]
    Undo(CurationError),
    #[error("redo failed: {0}")]
    Redo(CurationError),
    #[error("export failed: {0}")]
    Export(CurationError),
    #[error(transparent)]
    Run(#[from] crate::review_queue::RunLoadError),
    #[error("{} is not a folder", .0.display())]
    NotAFolder(PathBuf),
    #[error(transparent)]
    Scan(#[from] crate::dataset::DatasetError),
    #[error("{} holds no people: expected train/train.csv and train/images/<folder>/", .0.display())]
    NoPeople(PathBuf),
}

/// Opens the dataset folder `dir` for an annotator: scans it, replays its edit journal and
/// loads `run` (or the newest finished run) with its issues. `stage` hears what is
/// happening. Runs on a worker thread.
pub fn open_folder(
    dir: &std::path::Path,
    run: Option<&str>,
    stage: &dyn Fn(&str),
) -> Result<Session, SessionError> {
    if !dir.is_dir() {
        return Err(SessionError::NotAFolder(dir.to_path_buf()));
    }
    stage("Scanning photos and train.csv…");
    let dataset = crate::dataset::scan(dir)?;
    if dataset.people.is_empty() {
        return Err(SessionError::NoPeople(dir.to_path_buf()));
    }
    stage("Replaying the edit journal and loading the newest run…");
    Session::open(dataset, run)
}

/// One entry of the review queue.
pub type QueueItem = crate::review_queue::RunIssue;

/// Where an item stands, from the curated labels and the journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemStatus {
    Open,
    Kept,
    Accepted,
    NeedsReview,
    /// The label was changed by hand.
    Fixed,
}

impl ItemStatus {
    /// The state that speaks for several items: needing review beats open beats decided
    /// (then the first); `None` for no items.
    pub fn worst(statuses: &[ItemStatus]) -> Option<ItemStatus> {
        [ItemStatus::NeedsReview, ItemStatus::Open]
            .into_iter()
            .find(|s| statuses.contains(s))
            .or_else(|| statuses.first().copied())
    }
    pub fn name(self) -> &'static str {
        match self {
            ItemStatus::Open => "open",
            ItemStatus::Kept => "kept",
            ItemStatus::Accepted => "accepted",
            ItemStatus::NeedsReview => "needs review",
            ItemStatus::Fixed => "fixed",
        }
    }
}

impl From<ReviewDecision> for ItemStatus {
    fn from(decision: ReviewDecision) -> Self {
        match decision {
            ReviewDecision::Keep => ItemStatus::Kept,
            ReviewDecision::Accepted => ItemStatus::Accepted,
            ReviewDecision::NeedsReview => ItemStatus::NeedsReview,
        }
    }
}

/// The annotator's decisions so far against what the run expected of the same items: the
/// one check of the run's probabilities that needs no ground truth. A weak run cannot tell
/// its own misses from wrong labels and its probabilities run high; the annotator's keeps
/// show it after a few items.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct DecisionCheck {
    /// Items kept, accepted or fixed.
    pub decided: usize,
    /// Of those, accepted or fixed: the given label was wrong.
    pub wrong: usize,
    /// The sum of the decided items' calibrated probabilities.
    pub expected_wrong: f64,
    /// The standard deviation of the number of wrong labels if those probabilities hold.
    pub sd: f64,
}

/// Whether the decisions bear out the run's probabilities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agreement {
    TooFewToTell,
    Agrees,
    /// Fewer wrong labels than expected (more than two standard deviations).
    RunHigh,
    RunLow,
}

impl DecisionCheck {
    /// Decisions before the check says anything.
    pub const MIN_DECIDED: usize = 8;

    pub fn agreement(&self) -> Agreement {
        if self.decided < Self::MIN_DECIDED {
            return Agreement::TooFewToTell;
        }
        // Half a label of slack, so that a handful of sure items cannot make a verdict.
        let z = (self.wrong as f64 - self.expected_wrong) / self.sd.max(0.5);
        if z < -2.0 {
            Agreement::RunHigh
        } else if z > 2.0 {
            Agreement::RunLow
        } else {
            Agreement::Agrees
        }
    }

    /// "Your decisions: 10 decided, 4 wrong labels; the run expected 8.1".
    pub fn text(&self) -> String {
        let labels = if self.wrong == 1 { "label" } else { "labels" };
        format!(
            "Your decisions: {} decided, {} wrong {labels}; the run expected {:.1}",
            self.decided, self.wrong, self.expected_wrong
        )
    }

    /// What to make of it, when the decisions disagree with the run.
    pub fn advice(&self) -> Option<String> {
        let ratio = self.wrong as f64 / self.expected_wrong.max(1e-9);
        match self.agreement() {
            Agreement::RunHigh => Some(format!(
                "Fewer wrong labels than this run expects: its probabilities run high here (a weak model's own misses look like label errors). Read its counts as about {ratio:.1}x."
            )),
            Agreement::RunLow => Some(
                "More wrong labels than this run expects: its probabilities run low here, and the possible tier likely holds more of them."
                    .to_string(),
            ),
            Agreement::TooFewToTell | Agreement::Agrees => None,
        }
    }
}

/// The issues of one run, indexed for the views.
#[derive(Debug, Clone, Default)]
pub struct IssueSet {
    pub run_id: String,
    /// Highest score first.
    pub items: Vec<QueueItem>,
    /// Item indices per person.
    pub by_person: HashMap<usize, Vec<usize>>,
    /// Distinct kind names, sorted.
    pub kinds: Vec<String>,
    /// Per field: likely / possible counts and the expected real errors among them.
    pub queues: Vec<crate::issues::FieldQueue>,
    /// Why age was judged from bins (a run without predicted years).
    pub age_note: Option<String>,
    /// Per person index: the model's age in years and its spread (years runs), as the age
    /// issues state it.
    pub age_readings: std::collections::BTreeMap<usize, (f64, f64)>,
}

impl IssueSet {
    /// Likely items first, each tier by score (the calibrated probability that the given
    /// label is wrong), highest first.
    pub fn new(run_id: String, mut items: Vec<QueueItem>) -> Self {
        items.sort_by(|a, b| {
            (a.tier != crate::issues::Tier::Likely)
                .cmp(&(b.tier != crate::issues::Tier::Likely))
                .then(b.score.total_cmp(&a.score))
                .then(a.person.cmp(&b.person))
        });
        let mut by_person: HashMap<usize, Vec<usize>> = HashMap::new();
        for (i, it) in items.iter().enumerate() {
            by_person.entry(it.person).or_default().push(i);
        }
        let mut kinds: Vec<String> = items.iter().map(|i| i.kind.clone()).collect();
        kinds.sort();
        kinds.dedup();
        IssueSet {
            run_id,
            items,
            by_person,
            kinds,
            queues: Vec::new(),
            age_note: None,
            age_readings: Default::default(),
        }
    }

    /// Items of the likely tier, and the expected real errors among them.
    pub fn likely(&self) -> (usize, f64) {
        let items = self
            .items
            .iter()
            .filter(|i| i.tier == crate::issues::Tier::Likely);
        items.fold((0, 0.0), |(n, e), i| (n + 1, e + f64::from(i.score)))
    }

    /// Whether the run flags `person` with an item of the likely tier (the queue's default
    /// list), not only possible ones.
    pub fn has_likely(&self, person: usize) -> bool {
        self.by_person.get(&person).is_some_and(|items| {
            items
                .iter()
                .any(|&i| self.items[i].tier == crate::issues::Tier::Likely)
        })
    }

    /// The highest issue score of a person (0 when not flagged).
    pub fn person_score(&self, person: usize) -> f32 {
        self.by_person
            .get(&person)
            .into_iter()
            .flatten()
            .map(|&i| self.items[i].score)
            .fold(0.0, f32::max)
    }
}

/// How a possible second id of a person was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityReason {
    /// The run's embeddings see the two as one person.
    LookAlike,
    /// One picture is filed under both (photo checks).
    SharedPicture,
    /// Only the annotator's decision links them.
    Decided,
}

/// The loaded dataset and everything derived from it.
pub struct Session {
    pub dataset: Arc<Dataset>,
    pub workspace: Workspace,
    curation: Curation,
    /// What replaying the journal at open found (e.g. a torn last line), shown once.
    pub replay_note: Option<String>,
    pub probs: Option<RunProbs>,
    pub issues: Option<IssueSet>,
    /// What the photo checks found (quality, duplicates); `None` until they have run.
    pub photos: Option<Arc<crate::photo_checks::PhotoReport>>,
    /// The map, outliers and look-alike people of the run in `probs` (its
    /// `embeddings.npy`); `None` until analysed, or when the run has no embeddings.
    pub embeddings: Option<Arc<crate::embeddings::EmbeddingReport>>,
    /// Bumped on every change of labels, so caches keyed on it refresh.
    pub generation: u64,
    /// The ids decided to be one person (refreshed on every edit, undo and redo).
    identities: Identities,
    /// Each person's neighbours in id order (the previous and the next folder by name,
    /// which starts with the zero-padded id).
    id_neighbours: Vec<[Option<usize>; 2]>,
}

impl Session {
    /// Opens the curation journal of a scanned dataset and loads a finished run: `run` when
    /// it names one that exists (the annotator's choice), else the newest. Runs on a worker
    /// thread.
    pub fn open(dataset: Dataset, run: Option<&str>) -> Result<Session, SessionError> {
        let workspace = Workspace::for_dataset(&dataset.root);
        let (curation, report) =
            Curation::open(&dataset, &workspace, "").map_err(SessionError::Journal)?;
        let replay_note = (!report.is_clean()).then(|| report.summary());
        let id_neighbours = id_neighbours(&dataset);
        let identities = curation.identities();
        let dataset = Arc::new(dataset);
        let mut session = Session {
            dataset,
            workspace,
            curation,
            replay_note,
            probs: None,
            issues: None,
            photos: None,
            embeddings: None,
            generation: 0,
            identities,
            id_neighbours,
        };
        let runs = session.finished_runs();
        let choice = run
            .and_then(|id| runs.iter().find(|r| r.id == id))
            .or_else(|| runs.first())
            .cloned();
        // A run that cannot be read must not keep the dataset (and its edits) closed.
        if let Some(choice) = choice {
            let labels = session.run_labels(&choice);
            match load_run_issues(&session.dataset, &choice, &labels) {
                Ok((probs, issues)) => {
                    session.probs = Some(probs);
                    session.issues = Some(issues);
                }
                Err(e) => {
                    let note = format!("The run {}'s issues could not be loaded: {e}", choice.id);
                    session.replay_note = Some(match session.replay_note.take() {
                        Some(replay) => format!("{replay}\n{note}"),
                        None => note,
                    });
                }
            }
        }
        Ok(session)
    }

    /// The finished runs of this dataset, newest first.
    pub fn finished_runs(&self) -> Vec<RunChoice> {
        finished_runs(&self.workspace)
    }

    /// The labels a run's issues are judged on: the curated labels as they were when the
    /// run was made. A fix made since then leaves its issue in the queue, marked fixed, so
    /// the queue keeps its size across restarts.
    pub fn run_labels(&self, run: &RunChoice) -> crate::issues::DatasetLabels {
        self.curation.issue_labels_before(&run.created)
    }

    /// Puts a loaded run's probabilities and issues in place.
    pub fn set_run(&mut self, probs: RunProbs, issues: IssueSet) {
        self.probs = Some(probs);
        self.issues = Some(issues);
        // The analysis belongs to the run it came from.
        self.embeddings = None;
        self.generation += 1;
    }

    pub fn root(&self) -> &std::path::Path {
        &self.dataset.root
    }

    pub fn folder(&self, person: usize) -> &str {
        self.dataset
            .people
            .get(person)
            .map_or("", |p| p.folder.as_str())
    }

    // --- curated labels -------------------------------------------------------------

    pub fn mask(&self, person: usize, slot: Slot) -> Mask {
        self.curation.mask(person, slot)
    }
    pub fn gender(&self, person: usize) -> Gender {
        self.curation.gender(person)
    }
    pub fn age_years(&self, person: usize) -> u32 {
        self.curation.age_years(person)
    }
    pub fn age_bin(&self, person: usize) -> AgeBin {
        self.curation.age_bin(person)
    }
    /// The annotator's note on the person, if any.
    pub fn note(&self, person: usize) -> Option<&str> {
        self.curation.note(person)
    }
    pub fn notes_count(&self) -> usize {
        self.curation.notes_count()
    }
    /// The people with a note, ascending.
    pub fn noted_people(&self) -> Vec<usize> {
        self.curation.notes().into_iter().map(|(p, _)| p).collect()
    }
    pub fn class_of(&self, person: usize, slot: Slot) -> ClassCode {
        self.curation.class_of(person, slot)
    }
    pub fn is_edited(&self, person: usize) -> bool {
        self.curation.is_edited_person(person)
    }
    /// The curated value of `field` for a photo, as an index.
    pub fn value(&self, field: Field, person: usize, slot: Slot) -> usize {
        match field {
            Field::Mask => self.mask(person, slot).index(),
            Field::Gender => self.gender(person).index(),
            Field::Age => self.age_bin(person).index(),
        }
    }
    /// Every journal line applied, oldest first.
    pub fn history(&self) -> &[JournalEntry] {
        self.curation.history()
    }
    pub fn edits_this_session(&self) -> usize {
        self.curation.edits_this_session()
    }
    pub fn can_undo(&self) -> bool {
        self.curation.can_undo()
    }
    pub fn can_redo(&self) -> bool {
        self.curation.can_redo()
    }

    pub fn item_status(&self, item: &QueueItem) -> ItemStatus {
        if let Some(decision) = self.curation.issue_decision(&item.issue_id) {
            return decision.into();
        }
        let slot = item.slot.unwrap_or(Slot::Mask1);
        if self.value(item.field, item.person, slot) != item.given {
            ItemStatus::Fixed
        } else {
            ItemStatus::Open
        }
    }

    /// The decisions on this run's items against its probabilities (items brought by a
    /// neighbour found wrong left out).
    pub fn decision_check(&self) -> DecisionCheck {
        let Some(issues) = &self.issues else {
            return DecisionCheck::default();
        };
        let mut check = DecisionCheck::default();
        let mut variance = 0.0;
        for item in &issues.items {
            // An item brought by a neighbour found wrong was judged on more than the run's
            // probability: it says nothing of the run's calibration.
            if self.batch_lead_of(item).is_some() {
                continue;
            }
            let wrong = match self.item_status(item) {
                ItemStatus::Accepted | ItemStatus::Fixed => true,
                ItemStatus::Kept => false,
                ItemStatus::Open | ItemStatus::NeedsReview => continue,
            };
            let p = f64::from(item.score).clamp(0.0, 1.0);
            check.decided += 1;
            check.wrong += usize::from(wrong);
            check.expected_wrong += p;
            variance += p * (1.0 - p);
        }
        check.sd = variance.sqrt();
        check
    }

    /// Gender and age items of people next in id order to a person whose label of the same
    /// field was found wrong the same way (same given value, same correction): wrong
    /// labels come in runs of consecutive ids (006359-006364 in the real data, all
    /// "female" men), so each found one makes its neighbours suspects, however weak the
    /// model's own evidence. Item index -> the person found wrong.
    pub fn batch_leads(&self) -> HashMap<usize, usize> {
        let mut leads = HashMap::new();
        let Some(issues) = &self.issues else {
            return leads;
        };
        for (i, it) in issues.items.iter().enumerate() {
            if let Some(n) = self.batch_lead_of(it) {
                leads.insert(i, n);
            }
        }
        leads
    }

    /// The neighbour in id order whose label of the item's field was found wrong the same
    /// way, if any (see [`Session::batch_leads`]).
    pub fn batch_lead_of(&self, item: &QueueItem) -> Option<usize> {
        if !matches!(item.field, Field::Gender | Field::Age) {
            return None;
        }
        let around = self.id_neighbours.get(item.person)?;
        around.iter().flatten().copied().find(|&n| {
            let given = self.given_value(item.field, n, Slot::Mask1);
            let now = self.value(item.field, n, Slot::Mask1);
            now != given && given == item.given && now == item.suggested
        })
    }

    /// The review state of a person: the "worst" of its items (open beats decided).
    pub fn person_status(&self, person: usize) -> Option<ItemStatus> {
        let issues = self.issues.as_ref()?;
        let items = issues.by_person.get(&person)?;
        let statuses: Vec<ItemStatus> = items
            .iter()
            .map(|&i| self.item_status(&issues.items[i]))
            .collect();
        ItemStatus::worst(&statuses)
    }

    // --- edits (each journaled and flushed by the curation engine before it returns) --

    pub fn set_mask(
        &mut self,
        person: usize,
        slot: Slot,
        mask: Mask,
        reason: &str,
    ) -> Result<(), SessionError> {
        let edit = Edit::new(Target::photo(self.folder(person), slot), Change::Mask(mask))
            .with_reason(reason);
        self.apply(vec![edit])
    }

    pub fn set_gender(
        &mut self,
        person: usize,
        gender: Gender,
        reason: &str,
    ) -> Result<(), SessionError> {
        let edit = Edit::new(Target::person(self.folder(person)), Change::Gender(gender))
            .with_reason(reason);
        self.apply(vec![edit])
    }

    pub fn set_age_years(
        &mut self,
        person: usize,
        years: u32,
        reason: &str,
    ) -> Result<(), SessionError> {
        let edit = Edit::new(Target::person(self.folder(person)), Change::AgeYears(years))
            .with_reason(reason);
        self.apply(vec![edit])
    }

    /// Sets (or, with blanks only, removes) the person's note.
    pub fn set_note(&mut self, person: usize, text: &str) -> Result<(), SessionError> {
        // The curation cleans it: blanks only are no note.
        let change = Change::Note(Some(text.to_string()));
        let edit = Edit::new(Target::person(self.folder(person)), change);
        self.apply(vec![edit])
    }

    /// Records a decision on an issue; with `Accepted`, also applies the suggestion.
    pub fn decide(
        &mut self,
        item: &QueueItem,
        decision: ReviewDecision,
    ) -> Result<(), SessionError> {
        let mut edits = Vec::new();
        if decision == ReviewDecision::Accepted {
            edits.push(self.suggestion_edit(item));
            if let Some(pair) = &item.pair {
                let paired = QueueItem {
                    slot: Some(pair.slot),
                    given: pair.given,
                    suggested: pair.suggested,
                    pair: None,
                    ..item.clone()
                };
                edits.push(self.suggestion_edit(&paired));
            }
        }
        edits.push(
            Edit::new(
                Target::issue(item.issue_id.clone()),
                Change::Review(decision),
            )
            .with_reason(format!(
                "{} issue {}, score {:.3}",
                item.kind, item.issue_id, item.score
            )),
        );
        self.apply(edits)
    }

    fn suggestion_edit(&self, item: &QueueItem) -> Edit {
        let folder = self.folder(item.person).to_string();
        let reason = format!(
            "accepted suggestion ({} issue, score {:.3})",
            item.kind, item.score
        );
        let (target, change) = match item.field {
            Field::Mask => (
                Target::photo(folder, item.slot.unwrap_or(Slot::Mask1)),
                Change::Mask(Mask::from_index(item.suggested).unwrap_or(Mask::Wear)),
            ),
            Field::Gender => (
                Target::person(folder),
                Change::Gender(Gender::from_index(item.suggested).unwrap_or(Gender::Male)),
            ),
            Field::Age => {
                // Judged in years: the model's reading, as the issue says ("given 20, model
                // 47 ± 4" sets 47). From bins alone: the nearest age in the suggested bin.
                let bin = AgeBin::from_index(item.suggested).unwrap_or(AgeBin::Middle);
                let years = item
                    .suggested_years
                    .unwrap_or_else(|| nearest_age_in_bin(self.age_years(item.person), bin));
                (Target::person(folder), Change::AgeYears(years))
            }
        };
        Edit::new(target, change).with_reason(reason)
    }

    fn apply(&mut self, edits: Vec<Edit>) -> Result<(), SessionError> {
        let result = if edits.len() == 1 {
            let mut edits = edits;
            self.curation.apply(edits.remove(0))
        } else {
            self.curation.apply_batch(edits, "review decision")
        };
        self.changed();
        result.map_err(SessionError::Edit)
    }

    /// After any edit, undo or redo (done or failed: a failed one is taken back).
    fn changed(&mut self) {
        self.generation += 1;
        self.identities = self.curation.identities();
    }

    /// Takes back the latest step; returns its journal lines (empty: nothing to undo).
    pub fn undo(&mut self) -> Result<Vec<JournalEntry>, SessionError> {
        let r = self.curation.undo().map_err(SessionError::Undo);
        self.changed();
        Ok(if r? { self.last_step() } else { Vec::new() })
    }

    /// Applies the latest undone step again; returns its journal lines (empty: nothing).
    pub fn redo(&mut self) -> Result<Vec<JournalEntry>, SessionError> {
        let r = self.curation.redo().map_err(SessionError::Redo);
        self.changed();
        Ok(if r? { self.last_step() } else { Vec::new() })
    }

    // --- one person under two ids -------------------------------------------------------

    /// The people `person` may be filed twice as, each once and with how it was found
    /// (the first way wins): the run's look-alike, the people with the same picture as one
    /// of theirs (photo checks), then the ids already decided to be the same person.
    pub fn identity_candidates(&self, person: usize) -> Vec<(usize, IdentityReason)> {
        let mut out: Vec<(usize, IdentityReason)> = Vec::new();
        let mut add = |q: usize, why| {
            if q != person && out.iter().all(|&(seen, _)| seen != q) {
                out.push((q, why));
            }
        };
        if let Some(l) = self
            .embeddings
            .as_ref()
            .and_then(|e| e.lookalike_of(person))
        {
            add(
                if l.a == person { l.b } else { l.a },
                IdentityReason::LookAlike,
            );
        }
        if let Some(report) = &self.photos {
            for g in report.groups.iter().filter(|g| g.people > 1) {
                if g.photos.iter().any(|r| r.person == person) {
                    for r in &g.photos {
                        add(r.person, IdentityReason::SharedPicture);
                    }
                }
            }
        }
        for q in self.identities.same_as(person) {
            add(q, IdentityReason::Decided);
        }
        out
    }

    /// The candidate S and D act on: the first not yet decided, else the first.
    pub fn identity_keyed_candidate(&self, person: usize) -> Option<usize> {
        let candidates = self.identity_candidates(person);
        candidates
            .iter()
            .map(|&(q, _)| q)
            .find(|&q| self.identity_decision(person, q).is_none())
            .or_else(|| candidates.first().map(|&(q, _)| q))
    }

    /// What the annotator decided about `a` and `b` being one person.
    pub fn identity_decision(&self, a: usize, b: usize) -> Option<IdentityDecision> {
        self.curation.identity_decision(a, b)
    }

    /// Records whether `a` and `b` are one person (journaled like every edit; undoable).
    pub fn decide_identity(
        &mut self,
        a: usize,
        b: usize,
        decision: IdentityDecision,
    ) -> Result<(), SessionError> {
        if a == b || a >= self.dataset.people.len() || b >= self.dataset.people.len() {
            return Err(SessionError::Edit(CurationError::InvalidEdit(format!(
                "an identity decision needs two different people (got {a} and {b})"
            ))));
        }
        let edit = self.curation.identity_edit(a, b, decision);
        self.apply(vec![edit])
    }

    /// Gives the other ids of `from`'s person its gender and age, as one undo step (the
    /// way to settle a group whose labels disagree). Returns how many people changed.
    pub fn copy_labels_to_same_person(&mut self, from: usize) -> Result<usize, SessionError> {
        let (gender, years) = (self.gender(from), self.age_years(from));
        let folder = self.folder(from).to_string();
        let mut edits = Vec::new();
        let mut changed = 0;
        for q in self.identities.same_as(from) {
            if self.gender(q) == gender && self.age_years(q) == years {
                continue;
            }
            changed += 1;
            let target = Target::person(self.folder(q));
            let reason = format!("one person with {folder}: its labels");
            edits.push(Edit::new(target.clone(), Change::Gender(gender)).with_reason(&reason));
            edits.push(Edit::new(target, Change::AgeYears(years)).with_reason(&reason));
        }
        if edits.is_empty() {
            return Ok(0);
        }
        let result = self
            .curation
            .apply_batch(edits, &format!("labels of {folder} given to its other ids"));
        self.changed();
        result.map(|()| changed).map_err(SessionError::Edit)
    }

    /// The ids decided to be one person.
    pub fn identities(&self) -> &Identities {
        &self.identities
    }

    /// The groups of one person filed twice whose labels disagree.
    pub fn identity_conflicts(&self) -> Vec<IdentityConflict> {
        self.curation.identity_conflicts(&self.identities)
    }

    /// How the labels of `person`'s ids disagree, if they do.
    pub fn identity_conflict_of(&self, person: usize) -> Option<IdentityConflict> {
        self.identity_conflicts()
            .into_iter()
            .find(|c| c.people.contains(&person))
    }

    /// The journal lines of the step written last.
    fn last_step(&self) -> Vec<JournalEntry> {
        let history = self.curation.history();
        let Some(last) = history.last() else {
            return Vec::new();
        };
        let start = history
            .iter()
            .rposition(|e| e.step != last.step)
            .map_or(0, |i| i + 1);
        history[start..].to_vec()
    }

    /// The label the dataset gave (before any edit) of `field`, as an index.
    pub fn given_value(&self, field: Field, person: usize, slot: Slot) -> usize {
        match field {
            Field::Mask => slot.mask().index(),
            Field::Gender => self.curation.given_gender(person).index(),
            Field::Age => AgeBin::from_years(self.curation.given_age_years(person)).index(),
        }
    }

    /// Writes the corrected CSVs to `<workspace>/exports/<timestamp>/`.
    /// The export's files rendered from the current labels, and the new folder they go
    /// to (a timestamped folder under the workspace's exports). Writing is left to the
    /// caller so it can happen off the UI thread.
    /// The current labels, for the label-issue engine.
    pub fn curation_labels(&self) -> crate::issues::DatasetLabels {
        self.curation.issue_labels()
    }

    pub fn prepare_export(
        &self,
    ) -> Result<(crate::curation::PreparedExport, PathBuf), SessionError> {
        let dir = self
            .workspace
            .exports_dir()
            .join(chrono::Local::now().format("%Y%m%d-%H%M%S").to_string());
        let prepared = crate::curation::prepare_export(&self.dataset, &self.curation)
            .map_err(SessionError::Export)?;
        Ok((prepared, dir))
    }

    /// Model probabilities of each value of `field` for one photo, when a run exists.
    pub fn photo_probs(&self, field: Field, r: PhotoRef) -> Option<Vec<f32>> {
        self.probs.as_ref()?.marginal(field, r)
    }

    /// The model's view of a person's `field`: the mean of its photos' probabilities.
    pub fn person_probs(&self, person: usize, field: Field) -> Option<Vec<f32>> {
        let mut sum = vec![0.0; field.num_classes()];
        let mut n = 0;
        for slot in Slot::ALL {
            if let Some(v) = self.photo_probs(field, PhotoRef { person, slot }) {
                sum.iter_mut().zip(&v).for_each(|(s, x)| *s += x);
                n += 1;
            }
        }
        (n > 0).then(|| sum.into_iter().map(|s| s / n as f32).collect())
    }

    /// When the run is sure that the current label of (`field`, `person`, `slot`), just
    /// set by hand, is wrong: what it reads instead, e.g. "the model reads this photo as
    /// wear (97%)". Sure means at most [`DOUBT_AT_MOST`] on the label and at least
    /// [`DOUBT_SURE`] on another value; an age from a run with years is judged in years
    /// (more than [`DOUBT_YEARS`] and three spreads from the reading), so 58 against a
    /// reading of 61 is no remark. A slip of a key among hundreds is caught while Ctrl+Z is
    /// at hand; a deliberate override just reads the remark.
    pub fn model_doubts(&self, field: Field, person: usize, slot: Slot) -> Option<String> {
        if field == Field::Age {
            let reading = self
                .issues
                .as_ref()
                .and_then(|i| i.age_readings.get(&person));
            if let Some(&(years, sd)) = reading {
                let off = (f64::from(self.age_years(person)) - years).abs();
                return (off > DOUBT_YEARS && off > 3.0 * sd)
                    .then(|| format!("the model reads this person as {years:.0} ± {sd:.0} years"));
            }
        }
        let value = self.value(field, person, slot);
        let (probs, whom) = match field {
            Field::Mask => (
                self.photo_probs(field, PhotoRef { person, slot })?,
                "this photo",
            ),
            Field::Gender | Field::Age => (self.person_probs(person, field)?, "this person"),
        };
        let (best, &p_best) = probs.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1))?;
        let p_value = *probs.get(value)?;
        (best != value && p_value <= DOUBT_AT_MOST && p_best >= DOUBT_SURE).then(|| {
            format!(
                "the model reads {whom} as {} ({})",
                field.class_name(best),
                crate::issues::percent_text(p_best)
            )
        })
    }
}

/// A value set by hand is questioned when the model gives it at most this...
pub const DOUBT_AT_MOST: f32 = 0.1;
/// ...and another value at least this.
pub const DOUBT_SURE: f32 = 0.8;
/// An age set by hand is questioned this many years (and three spreads) from the reading.
pub const DOUBT_YEARS: f64 = 10.0;

/// Each person's previous and next person in id order: the folders sorted by name.
fn id_neighbours(dataset: &Dataset) -> Vec<[Option<usize>; 2]> {
    let mut order: Vec<usize> = (0..dataset.people.len()).collect();
    order.sort_by(|&a, &b| dataset.people[a].folder.cmp(&dataset.people[b].folder));
    let mut out = vec![[None, None]; dataset.people.len()];
    for (k, &p) in order.iter().enumerate() {
        out[p] = [
            k.checked_sub(1).map(|j| order[j]),
            order.get(k + 1).copied(),
        ];
    }
    out
}

/// The age closest to `years` inside `bin` (a gross error keeps the most plausible age).
pub fn nearest_age_in_bin(years: u32, bin: AgeBin) -> u32 {
    match bin {
        AgeBin::Young => years.clamp(18, 29),
        AgeBin::Middle => years.clamp(30, 59),
        AgeBin::Old => years.max(60),
    }
}

/// Runs the photo checks of `dataset` on one thread (the other cores decode thumbnails),
/// reusing and updating the saved measures. `progress(done, total)`; `None` when cancelled.
pub fn check_photos(
    dataset: &Dataset,
    progress: &(dyn Fn(usize, usize) + Sync),
    cancel: Option<&std::sync::atomic::AtomicBool>,
) -> Option<Result<crate::photo_checks::PhotoReport, crate::photo_checks::store::StoreError>> {
    let saved = Workspace::for_dataset(&dataset.root).photo_measures_path();
    crate::photo_checks::check_dataset(dataset, Some(&saved), 1, cancel, progress)
}

/// What a run's embeddings show (`embeddings::analyse`): `Ok(None)` when the run has no
/// `embeddings.npy`. `rows` are the photos of the run's index rows
/// (`RunProbs::table.rows`). Runs on a worker thread: a few seconds at real scale.
pub fn analyse_embeddings(
    dataset: &Dataset,
    run_dir: &std::path::Path,
    run_id: &str,
    rows: &[crate::dataset::PhotoRef],
) -> Result<Option<crate::embeddings::EmbeddingReport>, crate::embeddings::EmbeddingError> {
    Ok(crate::embeddings::Embeddings::load_run(run_dir, rows)?
        .map(|e| crate::embeddings::analyse(dataset, &e, run_id)))
}

/// Loads a run's probabilities and finds its issues on `labels` (see
/// [`Session::run_labels`]). Runs on a worker thread.
pub fn load_run_issues(
    dataset: &Dataset,
    run: &RunChoice,
    labels: &crate::issues::DatasetLabels,
) -> Result<(RunProbs, IssueSet), SessionError> {
    let probs = load_chosen_run(dataset, run)?;
    let report = crate::review_queue::find_run_issues(dataset, labels, &probs)?;
    let mut issues = IssueSet::new(probs.run_id.clone(), report.issues);
    issues.queues = report.queues;
    issues.age_note = report.age_note;
    issues.age_readings = report.age_readings;
    Ok((probs, issues))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_ids_are_found_decided_and_settled() {
        use crate::dataset::Person;
        use crate::photo_checks::{CheckKind, DuplicateGroup, PhotoReport};
        let dir = tempfile::tempdir().unwrap();
        let dataset = Dataset {
            root: dir.path().to_path_buf(),
            people: (0..4)
                .map(|i| {
                    let g = [Gender::Male, Gender::Female][i % 2];
                    Person::with_all_photos(&format!("{:06}", i + 1), g, 20 + 7 * i as u32)
                })
                .collect(),
            eval: None,
            problems: Vec::new(),
        };
        let mut s = Session::open(dataset, None).unwrap();
        assert!(s.identity_candidates(0).is_empty());
        assert_eq!(s.identity_keyed_candidate(0), None);
        // One picture of person 0 is filed under 1 and 3 too.
        let photo = |person| PhotoRef {
            person,
            slot: Slot::Mask2,
        };
        s.photos = Some(Arc::new(PhotoReport {
            groups: vec![DuplicateGroup {
                kind: CheckKind::NearDuplicate,
                photos: vec![photo(0), photo(1), photo(3)],
                people: 3,
            }],
            ..PhotoReport::default()
        }));
        assert_eq!(
            s.identity_candidates(0),
            vec![
                (1, IdentityReason::SharedPicture),
                (3, IdentityReason::SharedPicture)
            ]
        );
        assert_eq!(s.identity_keyed_candidate(0), Some(1));
        // Deciding the first moves the keys to the next.
        s.decide_identity(0, 1, IdentityDecision::Different)
            .unwrap();
        assert_eq!(s.identity_keyed_candidate(0), Some(3));
        s.decide_identity(3, 0, IdentityDecision::Same).unwrap();
        assert_eq!(s.identities().groups(), vec![vec![0, 3]]);
        assert!(s.decide_identity(2, 2, IdentityDecision::Same).is_err());
        // Without the photo checks, person 3 is still a candidate: the decision links them.
        s.photos = None;
        assert_eq!(s.identity_candidates(0), vec![(3, IdentityReason::Decided)]);
        // Male 20 and female 41: their labels disagree until settled, in one undo step.
        assert_eq!(s.identity_conflicts().len(), 1);
        assert_eq!(s.copy_labels_to_same_person(3).unwrap(), 1);
        assert_eq!((s.gender(0), s.age_years(0)), (Gender::Female, 41));
        assert!(s.identity_conflicts().is_empty());
        assert_eq!(s.copy_labels_to_same_person(3).unwrap(), 0);
        s.undo().unwrap();
        assert_eq!((s.gender(0), s.age_years(0)), (Gender::Male, 20));
    }

    #[test]
    fn nearest_age_stays_close_to_the_given_age() {
        assert_eq!(nearest_age_in_bin(59, AgeBin::Old), 60);
        assert_eq!(nearest_age_in_bin(31, AgeBin::Young), 29);
        assert_eq!(nearest_age_in_bin(20, AgeBin::Middle), 30);
        assert_eq!(nearest_age_in_bin(45, AgeBin::Middle), 45);
    }

    #[test]
    fn decisions_far_below_the_runs_expectation_say_so() {
        let check = |decided, wrong, expected: f64, sd| DecisionCheck {
            decided,
            wrong,
            expected_wrong: expected,
            sd,
        };
        // Twelve items at about 0.85 each, all kept: the run expected ten wrong labels.
        let kept = check(12, 0, 10.2, 1.2);
        assert_eq!(kept.agreement(), Agreement::RunHigh);
        assert!(kept.advice().unwrap().contains("about 0.0x"));
        // Four of them wrong: still too few, and the ratio says how far.
        let some = check(12, 4, 10.2, 1.2);
        assert_eq!(some.agreement(), Agreement::RunHigh);
        assert!(some.advice().unwrap().contains("about 0.4x"));
        // Within the spread the probabilities allow: nothing to say.
        assert_eq!(check(12, 9, 10.2, 1.2).agreement(), Agreement::Agrees);
        assert!(check(12, 9, 10.2, 1.2).advice().is_none());
        // Too few decisions to tell, however they went.
        assert_eq!(check(5, 0, 4.8, 0.4).agreement(), Agreement::TooFewToTell);
        // Many more than expected among weak items.
        assert_eq!(check(20, 9, 3.0, 1.5).agreement(), Agreement::RunLow);
        // One wrong label, several.
        assert_eq!(
            check(2, 1, 2.0, 0.5).text(),
            "Your decisions: 2 decided, 1 wrong label; the run expected 2.0"
        );
        assert!(some.text().contains("4 wrong labels;"));
    }

    #[test]
    fn issue_set_sorts_by_score_and_indexes_people() {
        let item = |person, score| QueueItem {
            issue_id: format!("i{person}"),
            kind: "gender".into(),
            field: Field::Gender,
            person,
            slot: None,
            given: 0,
            suggested: 1,
            score,
            probabilities: vec![0.2, 0.8],
            pair: None,
            tier: crate::issues::Tier::Likely,
            years_text: None,
            given_years: None,
            suggested_years: None,
        };
        let set = IssueSet::new("r".into(), vec![item(3, 0.2), item(1, 0.9), item(3, 0.5)]);
        assert_eq!(set.items[0].person, 1);
        assert_eq!(set.by_person[&3].len(), 2);
        assert!((set.person_score(3) - 0.5).abs() < 1e-6);
        assert_eq!(set.person_score(7), 0.0);
    }
}
