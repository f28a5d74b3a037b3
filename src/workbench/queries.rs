//! Questions the front ends ask of an open session: which people a filter keeps, the
//! order of the review queue, and the label counts (given and curated) the overview
//! shows. Pure: no egui.

use super::session::{ItemStatus, QueueItem, Session};
use crate::dataset::{AgeBin, ClassCode, DatasetSummary, Field, Gender, Mask, NUM_CLASSES};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Which review state the people grid shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum ReviewedFilter {
    #[default]
    Any,
    /// Flagged people with no decision yet.
    Open,
    /// People with a decision (keep / accepted) or an edit.
    Reviewed,
    NeedsReview,
}

impl ReviewedFilter {
    pub const ALL: [ReviewedFilter; 4] = [
        ReviewedFilter::Any,
        ReviewedFilter::Open,
        ReviewedFilter::Reviewed,
        ReviewedFilter::NeedsReview,
    ];
    pub fn name(self) -> &'static str {
        match self {
            ReviewedFilter::Any => "any",
            ReviewedFilter::Open => "open",
            ReviewedFilter::Reviewed => "reviewed",
            ReviewedFilter::NeedsReview => "needs review",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum SortBy {
    #[default]
    Id,
    IssueScore,
}

/// People-grid filters. `None` means "any".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct PeopleFilter {
    pub gender: Option<Gender>,
    pub age: Option<AgeBin>,
    /// Person has at least one photo with this (curated) mask label.
    pub mask: Option<Mask>,
    /// Person has at least one photo of this class (0..18).
    pub class: Option<usize>,
    /// Person has an issue of the likely tier.
    pub flagged_only: bool,
    /// Person has a photo the photo checks flagged (dark, blurred, duplicate, …).
    #[serde(default)]
    pub photo_problems_only: bool,
    /// Person has an outlier photo or looks like another person (the run's embeddings).
    #[serde(default)]
    pub embedding_flags_only: bool,
    /// Only these people (ascending): a selection drawn on the map. Not remembered
    /// between sessions: it belongs to the run's map it was drawn on.
    #[serde(skip)]
    pub only_people: Option<Vec<usize>>,
    /// What `only_people` are, as the grid names them ("Map selection", "Labels that
    /// disagree").
    #[serde(skip)]
    pub only_people_name: String,
    pub edited_only: bool,
    /// Person carries an annotator's note.
    #[serde(default)]
    pub noted_only: bool,
    pub reviewed: ReviewedFilter,
    /// Substring of the id, the folder or the note, case-insensitive.
    pub text: String,
    pub sort: SortBy,
}

impl PeopleFilter {
    pub fn is_default(&self) -> bool {
        *self == PeopleFilter::default()
    }
}

/// The people `f` keeps, in its sort order.
pub fn filter_people(session: &Session, f: &PeopleFilter) -> Vec<usize> {
    let needle = f.text.trim().to_lowercase();
    let ds = &session.dataset;
    let mut list: Vec<usize> = (0..ds.people.len())
        .filter(|&p| {
            let person = &ds.people[p];
            let photos = || person.photos.iter().flatten();
            f.gender.is_none_or(|g| session.gender(p) == g)
                && f.age.is_none_or(|a| session.age_bin(p) == a)
                && f.mask
                    .is_none_or(|m| photos().any(|ph| session.mask(p, ph.slot) == m))
                && f.class
                    .is_none_or(|c| photos().any(|ph| session.class_of(p, ph.slot).index() == c))
                && (!f.flagged_only || session.issues.as_ref().is_some_and(|i| i.has_likely(p)))
                && (!f.photo_problems_only
                    || session.photos.as_ref().is_some_and(|r| r.flags_person(p)))
                && (!f.embedding_flags_only
                    || session
                        .embeddings
                        .as_ref()
                        .is_some_and(|e| e.flags_person(p)))
                && f.only_people
                    .as_ref()
                    .is_none_or(|only| only.binary_search(&p).is_ok())
                && (!f.edited_only || session.is_edited(p))
                && (!f.noted_only || session.note(p).is_some())
                && match f.reviewed {
                    ReviewedFilter::Any => true,
                    ReviewedFilter::Open => session.person_status(p) == Some(ItemStatus::Open),
                    ReviewedFilter::NeedsReview => {
                        session.person_status(p) == Some(ItemStatus::NeedsReview)
                    }
                    ReviewedFilter::Reviewed => {
                        session.is_edited(p)
                            || matches!(
                                session.person_status(p),
                                Some(ItemStatus::Kept | ItemStatus::Accepted | ItemStatus::Fixed)
                            )
                    }
                }
                && (needle.is_empty()
                    || person.folder.to_lowercase().contains(&needle)
                    || person.id.to_lowercase().contains(&needle)
                    || session
                        .note(p)
                        .is_some_and(|n| n.to_lowercase().contains(&needle)))
        })
        .collect();
    match f.sort {
        SortBy::Id => list.sort_by(|&a, &b| ds.people[a].folder.cmp(&ds.people[b].folder)),
        SortBy::IssueScore => {
            if let Some(issues) = &session.issues {
                list.sort_by(|&a, &b| {
                    issues
                        .person_score(b)
                        .total_cmp(&issues.person_score(a))
                        .then(a.cmp(&b))
                });
            }
        }
    }
    list
}

/// Label counts, given (from the files) and curated (after edits).
#[derive(Debug, Clone, PartialEq)]
pub struct Counts {
    /// The session generation the counts were made at.
    pub generation: u64,
    pub people: usize,
    pub photos: usize,
    pub class_given: [usize; NUM_CLASSES],
    pub class_curated: [usize; NUM_CLASSES],
    /// Per field: (given, curated) count of each value; gender and age count people.
    pub fields: Vec<(Field, Vec<usize>, Vec<usize>)>,
}

/// The counts of the session's dataset, given and curated: two [`DatasetSummary`]s.
pub fn counts(session: &Session) -> Counts {
    let ds = &session.dataset;
    let curated: Vec<ClassCode> = ds
        .photo_refs()
        .map(|r| session.class_of(r.person, r.slot))
        .collect();
    let given = DatasetSummary::of(ds);
    let now = DatasetSummary::with_classes(ds, &curated);
    Counts {
        generation: session.generation,
        people: given.people,
        photos: given.photos,
        class_given: given.per_class,
        class_curated: now.per_class,
        fields: vec![
            (
                Field::Mask,
                given.mask_photos.to_vec(),
                now.mask_photos.to_vec(),
            ),
            (
                Field::Gender,
                given.gender_people.to_vec(),
                now.gender_people.to_vec(),
            ),
            (
                Field::Age,
                given.age_people.to_vec(),
                now.age_people.to_vec(),
            ),
        ],
    }
}

/// The review queue in order, as item indices: the items `passes` keeps (the annotator's
/// filters), the possible tier only with `show_possible`, likely first and each tier by
/// score (the issue set's order). Each item of a person found wrong is followed by its
/// id neighbours' items of the same field and the same wrong value
/// ([`Session::batch_leads`]), whatever their tier: the annotator checks the run while
/// it is in front of them. Leads whose found neighbour is not listed (fixed in the person
/// view, or filtered out) come first.
pub fn review_order(
    session: &Session,
    passes: impl Fn(&QueueItem) -> bool,
    show_possible: bool,
) -> Vec<usize> {
    let Some(issues) = &session.issues else {
        return Vec::new();
    };
    let items = &issues.items;
    let leads = session.batch_leads();
    let mut sorted_leads: Vec<(usize, usize)> = leads.iter().map(|(&i, &n)| (i, n)).collect();
    sorted_leads.sort_unstable();
    let mut after: BTreeMap<(usize, Field), Vec<usize>> = BTreeMap::new();
    for &(i, n) in &sorted_leads {
        if passes(&items[i]) {
            after.entry((n, items[i].field)).or_default().push(i);
        }
    }
    struct Order<'a> {
        items: &'a [QueueItem],
        after: &'a BTreeMap<(usize, Field), Vec<usize>>,
        placed: Vec<bool>,
    }
    impl Order<'_> {
        fn place(&mut self, i: usize, out: &mut Vec<usize>) {
            if std::mem::replace(&mut self.placed[i], true) {
                return;
            }
            out.push(i);
            let key = (self.items[i].person, self.items[i].field);
            for &j in self.after.get(&key).map(Vec::as_slice).unwrap_or_default() {
                self.place(j, out);
            }
        }
    }
    let mut order = Order {
        items,
        after: &after,
        placed: vec![false; items.len()],
    };
    let mut list = Vec::new();
    for (i, it) in items.iter().enumerate() {
        let shown = show_possible || it.tier == crate::issues::Tier::Likely;
        if leads.contains_key(&i) || !shown || !passes(it) {
            continue;
        }
        order.place(i, &mut list);
    }
    let mut first = Vec::new();
    for js in after.values() {
        for &j in js {
            order.place(j, &mut first);
        }
    }
    first.extend(list);
    first
}

/// What disagrees in the labels of one person filed under several ids, e.g. "labels
/// disagree: gender female / male; age 20 / 41".
pub fn describe_identity_conflict(
    session: &Session,
    conflict: &crate::curation::IdentityConflict,
) -> String {
    let join = |f: &dyn Fn(usize) -> String| {
        conflict
            .people
            .iter()
            .map(|&p| f(p))
            .collect::<Vec<_>>()
            .join(" / ")
    };
    let mut parts = Vec::new();
    if conflict.gender {
        parts.push(format!(
            "gender {}",
            join(&|p| session.gender(p).name().to_string())
        ));
    }
    if conflict.age {
        parts.push(format!(
            "age {}",
            join(&|p| session.age_years(p).to_string())
        ));
    }
    format!("labels disagree: {}", parts.join("; "))
}

/// A gap between two steps longer than this is a break, not the time an item took.
pub const PACE_BREAK_SECS: f64 = 300.0;
/// The pace is measured over this many latest gaps.
pub const PACE_RECENT_GAPS: usize = 50;
/// Gaps needed before a pace is stated.
const PACE_MIN_GAPS: usize = 4;

/// The annotator's pace: the median time between successive journal steps (a decision,
/// a label set; the lines of one step count once) over the latest
/// [`PACE_RECENT_GAPS`], breaks left out. `None` until a few
/// steps have been taken. Undo and redo lines are not steps of work.
pub fn review_pace_secs(history: &[crate::curation::JournalEntry]) -> Option<f64> {
    let mut times: Vec<chrono::DateTime<chrono::FixedOffset>> = history
        .iter()
        .filter(|e| e.seq == e.step && e.op == crate::curation::Op::Edit)
        // A note is written while an item is on screen: part of that item's time.
        .filter(|e| e.field != crate::curation::JournalField::Note)
        .filter_map(|e| chrono::DateTime::parse_from_rfc3339(&e.time).ok())
        .collect();
    times.sort();
    let mut gaps: Vec<f64> = times
        .windows(2)
        .map(|w| (w[1] - w[0]).num_milliseconds() as f64 / 1000.0)
        .filter(|&g| g <= PACE_BREAK_SECS)
        .collect();
    // The recent pace: an annotator speeds up over a queue (and a journal spans days).
    gaps.drain(..gaps.len().saturating_sub(PACE_RECENT_GAPS));
    if gaps.len() < PACE_MIN_GAPS {
        return None;
    }
    gaps.sort_by(f64::total_cmp);
    let mid = gaps.len() / 2;
    Some(if gaps.len() % 2 == 1 {
        gaps[mid]
    } else {
        (gaps[mid - 1] + gaps[mid]) / 2.0
    })
}

/// "1 issue", "2 issues": a count with its noun (a regular plural).
pub fn counted(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// "1 person", "2 people".
pub fn counted_people(n: usize) -> String {
    if n == 1 {
        "1 person".to_string()
    } else {
        format!("{n} people")
    }
}

/// "about 12 min left at your pace (25 s an item)" for `open` items.
pub fn time_left_text(open: usize, pace_secs: f64) -> String {
    // Keys pressed in one burst are not a pace below a second.
    let pace_secs = pace_secs.max(1.0);
    let left = open as f64 * pace_secs;
    let left = if left < 90.0 {
        format!("{} s", left.round())
    } else if left < 5400.0 {
        format!("{} min", (left / 60.0).round())
    } else {
        format!("{:.1} h", left / 3600.0)
    };
    format!(
        "about {left} left at your pace ({} s an item)",
        pace_secs.round()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::curation::{JournalEntry, JournalField, Op, Target, Value};

    /// One journal line at `secs` after a fixed start, first of a step when `first`.
    fn line(seq: u64, secs: i64, op: Op, first: bool) -> JournalEntry {
        let start = chrono::DateTime::parse_from_rfc3339("2026-12-01T09:00:00Z").expect("time");
        JournalEntry {
            seq,
            time: (start + chrono::Duration::seconds(secs)).to_rfc3339(),
            annotator: "a".into(),
            op,
            step: if first { seq } else { seq - 1 },
            step_len: 1,
            batch: None,
            target: Target::issue(format!("gender:{seq}")),
            field: JournalField::Review,
            old: Value::Review(None),
            new: Value::Review(None),
            reason: None,
            reverts: None,
            reapplies: None,
        }
    }

    #[test]
    fn a_count_takes_its_nouns_number() {
        assert_eq!(counted(1, "look-alike pair"), "1 look-alike pair");
        assert_eq!(counted(0, "problem"), "0 problems");
        assert_eq!(counted(12, "issue"), "12 issues");
        assert_eq!(counted_people(1), "1 person");
        assert_eq!(counted_people(0), "0 people");
        assert_eq!(counted_people(7), "7 people");
    }

    #[test]
    fn the_pace_is_the_median_step_gap_without_breaks_undos_or_second_lines() {
        let mut history = vec![
            line(1, 0, Op::Edit, true),
            line(2, 20, Op::Edit, true),
            // The second line of step 2: the same step, not another item.
            line(3, 21, Op::Edit, false),
            line(4, 40, Op::Edit, true),
            // An undo is not work done.
            line(5, 41, Op::Undo, true),
        ];
        assert_eq!(review_pace_secs(&history), None, "two gaps are too few");
        history.extend([
            // A coffee break: left out.
            line(6, 1000, Op::Edit, true),
            line(7, 1030, Op::Edit, true),
            line(8, 1050, Op::Edit, true),
            line(9, 1110, Op::Edit, true),
        ]);
        // Gaps 20, 20, 30, 20, 60 -> median 20.
        assert_eq!(review_pace_secs(&history), Some(20.0));
        // Notes written on the way are part of their item's time, not items.
        let mut noted = history.clone();
        for (seq, secs) in [(100, 1035), (101, 1045), (102, 1100)] {
            let mut note = line(seq, secs, Op::Edit, true);
            note.field = JournalField::Note;
            note.new = Value::Note(Some("why".into()));
            noted.push(note);
        }
        assert_eq!(review_pace_secs(&noted), Some(20.0));
        // Faster later: only the latest gaps count.
        let last = history.last().map_or(0, |e| e.seq);
        history.extend(
            (1..=PACE_RECENT_GAPS as u64)
                .map(|k| line(last + k, 1110 + 5 * k as i64, Op::Edit, true)),
        );
        assert_eq!(review_pace_secs(&history), Some(5.0));
        assert_eq!(
            time_left_text(36, 20.0),
            "about 12 min left at your pace (20 s an item)"
        );
        assert_eq!(
            time_left_text(3, 20.0),
            "about 60 s left at your pace (20 s an item)"
        );
        assert_eq!(
            time_left_text(900, 20.0),
            "about 5.0 h left at your pace (20 s an item)"
        );
        assert_eq!(
            time_left_text(10, 0.01),
            "about 10 s left at your pace (1 s an item)"
        );
    }
}
