//! Two ids, one person. The real data holds identities filed under two ids; the run's
//! embeddings (look-alike people) and the photo checks (the same picture under two people)
//! point at them, and the annotator decides. A decision is a review decision on the pair's
//! own issue id (`same_person:<folder>|<folder>`), so it is journaled, undone and exported
//! like every other decision, with no new journal format: *accepted* means the same person,
//! *keep* means different people.
//!
//! What a "same person" decision changes: the training split keeps the pair in one fold (a
//! face in both the training and the held-out part would flatter the out-of-fold figures
//! and hide the pair's label errors), the export lists the groups (`same_person.csv`), and
//! a group whose labels disagree (gender, age bin, or years far apart) is pointed out.

use super::{Change, Curation, Edit, ReviewDecision, Target};
use crate::dataset::Gender;

/// The issue id prefix of a pair's identity decision.
pub const SAME_PERSON_PREFIX: &str = "same_person:";

/// Ages of one person filed twice are from the same sitting: more years apart than this
/// is a label to look at, even within one age bin.
pub const AGE_GAP_YEARS: u32 = 5;

/// What the annotator decided about two ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityDecision {
    /// One person under two ids.
    Same,
    /// Two people who look alike.
    Different,
    /// Unsure: come back to it.
    Unsure,
}

impl IdentityDecision {
    fn review(self) -> ReviewDecision {
        match self {
            IdentityDecision::Same => ReviewDecision::Accepted,
            IdentityDecision::Different => ReviewDecision::Keep,
            IdentityDecision::Unsure => ReviewDecision::NeedsReview,
        }
    }
    /// The identity decision a review decision on a pair's id stands for.
    pub fn from_review(d: ReviewDecision) -> IdentityDecision {
        match d {
            ReviewDecision::Accepted => IdentityDecision::Same,
            ReviewDecision::Keep => IdentityDecision::Different,
            ReviewDecision::NeedsReview => IdentityDecision::Unsure,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            IdentityDecision::Same => "same person",
            IdentityDecision::Different => "different people",
            IdentityDecision::Unsure => "unsure",
        }
    }
}

/// The issue id of the pair, the same whichever way round the folders come.
pub fn same_person_issue_id(a: &str, b: &str) -> String {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    format!("{SAME_PERSON_PREFIX}{lo}|{hi}")
}

/// The two folders of a pair's issue id; `None` for any other id.
pub fn parse_same_person_issue_id(id: &str) -> Option<(&str, &str)> {
    let rest = id.strip_prefix(SAME_PERSON_PREFIX)?;
    let (a, b) = rest.split_once('|')?;
    (!a.is_empty() && !b.is_empty() && a != b).then_some((a, b))
}

/// How the labels of one person filed twice disagree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityConflict {
    /// People of the group, ascending.
    pub people: Vec<usize>,
    /// Their genders differ.
    pub gender: bool,
    /// Their age bins differ, or their years are more than [`AGE_GAP_YEARS`] apart.
    pub age: bool,
}

/// The people confirmed to be one person, as groups.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identities {
    /// The group of each person: the lowest person index of its group (itself when alone).
    group: Vec<usize>,
    /// Every group of two or more ids, each ascending, ordered by their first person
    /// (built once: the views ask for them every frame).
    groups: Vec<Vec<usize>>,
}

impl Identities {
    /// Groups from "same person" pairs (person indexes) over `n` people.
    pub fn from_pairs(n: usize, pairs: impl IntoIterator<Item = (usize, usize)>) -> Identities {
        let mut parent: Vec<usize> = (0..n).collect();
        fn root(parent: &mut [usize], mut x: usize) -> usize {
            while parent[x] != x {
                parent[x] = parent[parent[x]];
                x = parent[x];
            }
            x
        }
        for (a, b) in pairs {
            if a >= n || b >= n {
                continue;
            }
            let (ra, rb) = (root(&mut parent, a), root(&mut parent, b));
            // The lower index becomes the root, so a group is named by its first person.
            let (lo, hi) = (ra.min(rb), ra.max(rb));
            parent[hi] = lo;
        }
        let group: Vec<usize> = (0..n).map(|p| root(&mut parent, p)).collect();
        let mut by_root: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
        for (p, &g) in group.iter().enumerate().filter(|&(p, &g)| p != g) {
            by_root.entry(g).or_insert_with(|| vec![g]).push(p);
        }
        let groups = by_root.into_values().collect();
        Identities { group, groups }
    }

    /// The group `person` belongs to, when it has two or more ids.
    fn group_members(&self, person: usize) -> Option<&[usize]> {
        let first = self.group_of(person);
        self.groups
            .binary_search_by_key(&first, |g| g[0])
            .ok()
            .map(|i| self.groups[i].as_slice())
    }

    /// How many ids `person`'s person is filed under (1 when alone).
    pub fn ids_of(&self, person: usize) -> usize {
        self.group_members(person).map_or(1, <[usize]>::len)
    }

    /// How many ids belong to a group of two or more.
    pub fn grouped_ids(&self) -> usize {
        self.groups.iter().map(Vec::len).sum()
    }

    /// The group of `person`: the lowest index among the people it is one person with.
    pub fn group_of(&self, person: usize) -> usize {
        self.group.get(person).copied().unwrap_or(person)
    }

    /// The other ids of the same person, ascending.
    pub fn same_as(&self, person: usize) -> Vec<usize> {
        self.group_members(person)
            .unwrap_or_default()
            .iter()
            .copied()
            .filter(|&q| q != person)
            .collect()
    }

    /// Every group of two or more ids, each ascending, ordered by their first person.
    pub fn groups(&self) -> &[Vec<usize>] {
        &self.groups
    }

    /// Whether any two ids are one person.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// "5 ids in 2 groups", "2 ids in 1 group".
    pub fn counts_text(&self) -> String {
        let groups = self.groups.len();
        let noun = if groups == 1 { "group" } else { "groups" };
        format!("{} ids in {groups} {noun}", self.grouped_ids())
    }
}

impl Curation {
    /// The annotator's decision on whether `a` and `b` (person indexes) are one person.
    pub fn identity_decision(&self, a: usize, b: usize) -> Option<IdentityDecision> {
        if a >= self.num_people() || b >= self.num_people() || a == b {
            return None;
        }
        let id = same_person_issue_id(self.folder(a), self.folder(b));
        self.issue_decision(&id).map(IdentityDecision::from_review)
    }

    /// The edit that records `decision` on the pair `a`, `b`.
    pub fn identity_edit(&self, a: usize, b: usize, decision: IdentityDecision) -> Edit {
        let id = same_person_issue_id(self.folder(a), self.folder(b));
        Edit::new(Target::issue(id), Change::Review(decision.review()))
            .with_reason(format!("identity: {}", decision.name()))
    }

    /// Every pair decided to be one person, as groups. Pairs naming a folder this dataset
    /// does not have (a journal from another copy) are left out.
    pub fn identities(&self) -> Identities {
        let pairs = self
            .reviews()
            .filter(|(_, d)| *d == ReviewDecision::Accepted)
            .filter_map(|(t, _)| match t {
                Target::Issue { id } => parse_same_person_issue_id(id),
                _ => None,
            })
            .filter_map(|(a, b)| Some((self.person_index(a)?, self.person_index(b)?)))
            .collect::<Vec<_>>();
        Identities::from_pairs(self.num_people(), pairs)
    }

    /// The groups of one person filed twice whose curated labels disagree.
    pub fn identity_conflicts(&self, identities: &Identities) -> Vec<IdentityConflict> {
        identities
            .groups()
            .iter()
            .cloned()
            .filter_map(|people| {
                let genders: Vec<Gender> = people.iter().map(|&p| self.gender(p)).collect();
                let gender = genders.iter().any(|&g| g != genders[0]);
                let years: Vec<u32> = people.iter().map(|&p| self.age_years(p)).collect();
                let (lo, hi) = (
                    years.iter().copied().min().unwrap_or(0),
                    years.iter().copied().max().unwrap_or(0),
                );
                let bins_differ = people
                    .iter()
                    .any(|&p| self.age_bin(p) != self.age_bin(people[0]));
                let age = bins_differ || hi - lo > AGE_GAP_YEARS;
                (gender || age).then_some(IdentityConflict {
                    people,
                    gender,
                    age,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pair_ids_do_not_depend_on_the_order() {
        let id = same_person_issue_id("000002_male_Asian_30", "000001_female_Asian_20");
        assert_eq!(
            id,
            same_person_issue_id("000001_female_Asian_20", "000002_male_Asian_30")
        );
        assert_eq!(
            parse_same_person_issue_id(&id),
            Some(("000001_female_Asian_20", "000002_male_Asian_30"))
        );
        assert_eq!(
            parse_same_person_issue_id("gender:000001_female_Asian_20"),
            None
        );
        assert_eq!(parse_same_person_issue_id("same_person:a|"), None);
        assert_eq!(parse_same_person_issue_id("same_person:a|a"), None);
    }

    #[test]
    fn pairs_join_into_groups_named_by_their_first_person() {
        let ids = Identities::from_pairs(6, [(4, 1), (5, 4), (2, 3), (9, 0)]);
        assert_eq!(ids.groups(), vec![vec![1, 4, 5], vec![2, 3]]);
        assert_eq!(ids.group_of(5), 1);
        assert_eq!(ids.same_as(4), vec![1, 5]);
        assert!(ids.same_as(0).is_empty());
        assert_eq!((ids.ids_of(5), ids.ids_of(3), ids.ids_of(0)), (3, 2, 1));
        assert_eq!(ids.grouped_ids(), 5);
        assert!(!ids.is_empty());
        assert!(Identities::from_pairs(3, []).is_empty());
        assert_eq!(ids.counts_text(), "5 ids in 2 groups");
        assert_eq!(
            Identities::from_pairs(3, [(0, 2)]).counts_text(),
            "2 ids in 1 group"
        );
    }
}
