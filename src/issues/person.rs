//! Structure-aware label issues for this dataset: per field and on the 18-class joint,
//! person-level gender and age (in years when the run predicts years), incorrect_mask /
//! normal swaps, age-boundary cases; each issue with a calibrated probability that the
//! label is wrong and a tier (`likely` / `possible`) from the engine's own estimate of how
//! many labels of the field are wrong.
//!
//! Entry point: [`find_dataset_issues`]. Pure: labels come in as [`DatasetLabels`] (the
//! given labels, or the curated ones), probabilities as a [`ProbTable`]. The detectors
//! live in [`super::detect`].

use super::age_years::{YearsJudgement, YearsModel};
use super::cleanlab::{FindOptions, RankOptions, SquareMatrix};
use super::detect::{self, Ctx, Found};
use super::probs::InputError;
use super::table::ProbTable;
use crate::dataset::{AgeBin, ClassCode, Dataset, Field, Gender, Mask, PhotoRef, Slot};
use serde::Serialize;
use std::collections::BTreeMap;

/// The labels to check, indexed like `Dataset::people`.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonLabels {
    pub gender: Gender,
    /// Age in years (the age bin follows from it).
    pub age: u32,
    /// Mask label per slot (normally the one the file name implies).
    pub mask: [Mask; 7],
}

#[derive(Debug, Clone, PartialEq)]
pub struct DatasetLabels {
    pub people: Vec<PersonLabels>,
}

impl DatasetLabels {
    /// The labels as given by train.csv and the file names.
    pub fn given(dataset: &Dataset) -> Self {
        DatasetLabels {
            people: dataset
                .people
                .iter()
                .map(|p| PersonLabels {
                    gender: p.gender,
                    age: p.age,
                    mask: Slot::ALL.map(Slot::mask),
                })
                .collect(),
        }
    }
    pub(super) fn class_of(&self, r: PhotoRef) -> ClassCode {
        let p = &self.people[r.person];
        ClassCode::new(p.mask[r.slot.index()], p.gender, AgeBin::from_years(p.age))
    }
}

/// Which detector found an issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Detector {
    /// Confident learning on the 18-class joint, per photo.
    Joint18,
    /// Confident learning on one field's marginal, per photo.
    PhotoMask,
    PhotoGender,
    PhotoAge,
    /// Confident learning over people, on the photos' combined evidence.
    PersonGender,
    PersonAge,
    /// The person's given age against the model's predicted years.
    PersonAgeYears,
    /// The incorrect_mask / normal pair of one person fits better swapped.
    MaskSwap,
}

impl Detector {
    pub fn name(self) -> &'static str {
        match self {
            Detector::Joint18 => "joint18",
            Detector::PhotoMask => "photo_mask",
            Detector::PhotoGender => "photo_gender",
            Detector::PhotoAge => "photo_age",
            Detector::PersonGender => "person_gender",
            Detector::PersonAge => "person_age",
            Detector::PersonAgeYears => "person_age_years",
            Detector::MaskSwap => "mask_swap",
        }
    }
    /// Detectors that judge a whole person (or pair) rather than one photo.
    pub fn is_person_level(self) -> bool {
        matches!(
            self,
            Detector::PersonGender | Detector::PersonAge | Detector::PersonAgeYears
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IssueKind {
    /// One photo's mask label.
    Mask,
    /// incorrect_mask and normal swapped inside one person.
    MaskSwap,
    Gender,
    /// A disagreement about age that no boundary explains.
    AgeGross,
    /// Given age and the model's reading on either side of 30 or 60, within the model's
    /// uncertainty of it: ambiguous rather than wrong.
    AgeBoundary,
}

impl IssueKind {
    pub fn name(self) -> &'static str {
        match self {
            IssueKind::Mask => "mask",
            IssueKind::MaskSwap => "mask_swap",
            IssueKind::Gender => "gender",
            IssueKind::AgeGross => "age_gross",
            IssueKind::AgeBoundary => "age_boundary",
        }
    }
}

/// Where an issue sits in the review queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// Within the engine's estimate of the field's wrong labels: shown by default.
    Likely,
    /// Weaker evidence (photo-level only, boundary cases, beyond the estimate).
    Possible,
}

impl Tier {
    pub fn name(self) -> &'static str {
        match self {
            Tier::Likely => "likely",
            Tier::Possible => "possible",
        }
    }
}

/// The two tiers in a line, as the overview and the terminal summary state them: "12
/// likely (about 7 expected real errors), 267 possible".
pub fn tiers_text(likely: usize, expected: f64, possible: usize) -> String {
    format!("{likely} likely (about {expected:.0} expected real errors), {possible} possible")
}

/// A probability that a label is wrong as the app shows it: two decimals, but never "0.00"
/// or "1.00": a calibrated score is not a certainty, even where it saturates (scores are
/// stored as f32, in which 1 - 1e-8 is 1.0).
pub fn prob_text(p: impl Into<f64>) -> String {
    never_certain(p.into(), 1.0, 2, "")
}

/// A model's probability as a whole percentage, with the same care: `<1%` and `>99%`
/// rather than "0%" or "100%".
pub fn percent_text(p: impl Into<f64>) -> String {
    never_certain(p.into(), 100.0, 0, "%")
}

/// `p` times `scale` with `decimals` places and `unit`; below 0.005 it reads as below 0.01
/// and from 0.995 on as above 0.99 (scaled alike), so that neither 0 nor 1 is shown.
fn never_certain(p: f64, scale: f64, decimals: usize, unit: &str) -> String {
    let (mark, shown) = if p < 0.005 {
        ("<", 0.01)
    } else if p >= 0.995 {
        (">", 0.99)
    } else {
        ("", p)
    };
    format!("{mark}{:.*}{unit}", decimals, shown * scale)
}

/// One suspected label error.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Issue {
    /// Stable: `kind:person[:slot]`.
    pub id: String,
    pub kind: IssueKind,
    pub field: Field,
    /// Person folder.
    pub person: String,
    pub person_index: usize,
    /// Photo paths relative to the dataset root.
    pub photos: Vec<String>,
    pub given: String,
    /// The suggested class (for age, the bin).
    pub suggested: String,
    /// Label quality (lower = more likely wrong), in [0, 1].
    pub score: f64,
    /// The probabilities behind it, over the field's classes (person-level: combined).
    pub probs: Vec<f64>,
    pub found_by: Vec<Detector>,
    pub run_id: String,
    /// Calibrated probability that the given label is wrong.
    pub p_wrong: f64,
    pub tier: Tier,
    /// Age issues from a run with predicted years: given years against the model's.
    pub years: Option<YearsJudgement>,
}

impl Issue {
    /// "given 20, model 47 ± 4" for age issues judged in years.
    pub fn years_text(&self) -> Option<String> {
        self.years.as_ref().map(YearsJudgement::text)
    }
}

/// Noise estimates of one confident-learning run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunSummary {
    pub detector: Detector,
    pub examples: usize,
    pub flagged: usize,
    /// `num_label_issues` estimates.
    pub num_issues_off_diagonal: usize,
    pub num_issues_calibrated: usize,
    /// Estimated fraction of wrong labels (calibrated estimate / examples).
    pub noise_rate: f64,
    /// P(given = i | true = j).
    pub noise_matrix: SquareMatrix,
    pub label_counts: Vec<usize>,
}

/// How age was judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AgeSource {
    /// Predicted years (`oof_age.npy`).
    Years,
    /// Only the three bins' probabilities (a run without an age head).
    Bins,
}

/// What the queue holds for one field, and how many wrong labels the engine expects.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldQueue {
    pub field: Field,
    pub likely: usize,
    pub possible: usize,
    /// Expected number of wrong labels of the field over the whole dataset (the sum of
    /// the calibrated probabilities; people for gender and age, photos for mask).
    pub estimated_wrong: f64,
    /// The units it is over.
    pub units: usize,
    /// Expected real errors among the likely / possible items (sum of their p_wrong).
    pub expected_in_likely: f64,
    pub expected_in_possible: f64,
}

/// How many of a field's labels are expected wrong: the sum of the calibrated
/// probabilities over its units, and the variance of that count (each unit wrong or not
/// on its own: the sum of p (1 - p)).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct WrongEstimate {
    pub expected: f64,
    pub variance: f64,
    pub units: usize,
}

impl WrongEstimate {
    pub fn of(p_wrong: impl Iterator<Item = f64>) -> Self {
        p_wrong.fold(WrongEstimate::default(), |e, p| WrongEstimate {
            expected: e.expected + p,
            variance: e.variance + p * (1.0 - p),
            units: e.units + 1,
        })
    }

    /// How many items the likely tier may hold: the expected count and two of its
    /// standard deviations, so that a run with more wrong labels than it expects still
    /// finds most of them there (the expected count alone left 7-12% of a strong
    /// model's gender flips in the possible tier on some simulated runs).
    pub fn likely_budget(&self) -> usize {
        (self.expected + 2.0 * self.variance.max(0.0).sqrt()).round() as usize
    }
}

/// The calibration fitted for one field and level.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Calibration {
    pub field: Field,
    /// "photo" or "person".
    pub level: &'static str,
    /// Per cross-fitting group: temperature (1 for the years model) and noise rate.
    pub temperatures: Vec<f64>,
    pub noise_rates: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IssueReport {
    pub run_id: String,
    /// Ranked: likely first, then most likely wrong first.
    pub issues: Vec<Issue>,
    pub runs: Vec<RunSummary>,
    /// Photos flagged by each per-photo detector (for evaluation).
    pub photo_flags: BTreeMap<Detector, Vec<String>>,
    pub age_source: AgeSource,
    /// Set when age fell back to bins: why, for the app and the CLI to show.
    pub age_note: Option<String>,
    /// Per field: likely / possible counts and expected errors.
    pub queues: Vec<FieldQueue>,
    pub calibration: Vec<Calibration>,
    /// The years error model per cross-fitting group (years runs only).
    pub years_models: Vec<YearsModel>,
    /// Per person index: the model's age in years and its standard deviation, as the age
    /// issues state it (years runs only; every person with a reading, flagged or not).
    pub age_readings: BTreeMap<usize, (f64, f64)>,
    /// Per person field: every person's folder and the calibrated probability that the
    /// given label is wrong, most likely wrong first (flagged or not; for evaluation).
    pub person_doubt: BTreeMap<Field, Vec<(String, f64)>>,
    /// "split.csv" when calibration was cross-fitted by the run's folds, else "person hash".
    pub cross_fit_by: &'static str,
}

impl FieldQueue {
    /// The share of the field's labels expected wrong; `None` without units.
    pub fn wrong_share(&self) -> Option<f64> {
        (self.units > 0).then(|| self.estimated_wrong / self.units as f64)
    }
    /// The estimate as people read it: "4 of 2100 photos (0.2%)"; `None` without units.
    pub fn estimate_text(&self) -> Option<String> {
        let share = self.wrong_share()?;
        let unit = if self.field == Field::Mask {
            "photos"
        } else {
            "people"
        };
        Some(format!(
            "{:.0} of {} {unit} ({:.1}%)",
            self.estimated_wrong,
            self.units,
            100.0 * share
        ))
    }
}

impl IssueReport {
    pub fn queue(&self, field: Field) -> Option<&FieldQueue> {
        self.queues.iter().find(|q| q.field == field)
    }
    /// Expected real errors among the likely items of all fields.
    pub fn expected_in_likely(&self) -> f64 {
        total(self.queues.iter().map(|q| q.expected_in_likely))
    }
    pub fn likely(&self) -> impl Iterator<Item = &Issue> {
        self.issues.iter().filter(|i| i.tier == Tier::Likely)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct DatasetIssueOptions {
    pub find: FindOptions,
    pub rank: RankOptions,
    /// Years around 30 and 60 within which an adjacent-bin age issue is a boundary case
    /// (bins), and the least window of a boundary case (years).
    pub boundary_years: u32,
    /// The filter used over people (gender, age bins). Default `prune_by_noise_rate`, as
    /// in cleanlab.
    pub person_filter_by: super::cleanlab::FilterBy,
    /// Judge age in bins even when the run predicts years.
    pub ignore_years: bool,
    /// Least calibrated probability of a likely item.
    pub likely_min_p: f64,
}

impl Default for DatasetIssueOptions {
    fn default() -> Self {
        DatasetIssueOptions {
            find: FindOptions::default(),
            rank: RankOptions::default(),
            boundary_years: 2,
            person_filter_by: super::cleanlab::FilterBy::PruneByNoiseRate,
            ignore_years: false,
            likely_min_p: 0.2,
        }
    }
}

/// The note shown when a run has no predicted years.
pub const BINS_FALLBACK_NOTE: &str = "this run has no predicted years (oof_age.npy): age is judged from the three bins' probabilities, so a model a few years off near 30 or 60 can look like a wrong label";

/// Finds this dataset's label issues. See the module docs and docs/issues.md.
pub fn find_dataset_issues(
    dataset: &Dataset,
    labels: &DatasetLabels,
    probs: &ProbTable,
    opts: &DatasetIssueOptions,
) -> Result<IssueReport, InputError> {
    if labels.people.len() != dataset.people.len() {
        return Err(InputError::ShapeMismatch {
            labels: labels.people.len(),
            rows: dataset.people.len(),
        });
    }
    if probs.rows.is_empty() {
        return Err(InputError::Empty);
    }
    let ctx = Ctx::new(dataset, labels, probs, opts);
    let mut found = Found::default();
    let joint = detect::joint18(&ctx, &mut found)?;
    let photo = detect::photo_fields(&ctx, &mut found)?;
    let cal = detect::photo_calibration(&ctx, &mut found);
    detect::mask_photos(&ctx, &photo[&Field::Mask], &joint, &cal, &mut found);
    detect::mask_swaps(&ctx, &cal, &mut found);
    detect::person_field(&ctx, Field::Gender, &joint, true, &mut found)?;
    let years = probs.age.is_some() && !opts.ignore_years;
    detect::person_field(&ctx, Field::Age, &joint, !years, &mut found)?;
    if years {
        detect::age_years(&ctx, &photo, &joint, &mut found);
    }
    detect::photo_extras(&ctx, Field::Gender, &photo, &joint, &mut found);
    detect::photo_extras(&ctx, Field::Age, &photo, &joint, &mut found);

    let person_doubt = found
        .person_p
        .iter()
        .map(|(&field, by_person)| {
            let mut doubt: Vec<(String, f64)> = by_person
                .iter()
                .map(|(&p, &pw)| (dataset.people[p].folder.clone(), pw))
                .collect();
            doubt.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            (field, doubt)
        })
        .collect();
    let mut issues: Vec<Issue> = found.issues.into_values().collect();
    let queues = assign_tiers(&mut issues, &found.estimated_wrong, opts.likely_min_p);
    issues.sort_by(|a, b| {
        a.tier
            .cmp(&b.tier)
            .then(b.p_wrong.total_cmp(&a.p_wrong))
            .then(a.score.total_cmp(&b.score))
            .then(a.id.cmp(&b.id))
    });
    Ok(IssueReport {
        run_id: ctx.run_id.clone(),
        issues,
        runs: found.runs,
        photo_flags: found.photo_flags,
        age_source: if years {
            AgeSource::Years
        } else {
            AgeSource::Bins
        },
        age_note: (!years).then(|| {
            if probs.age.is_some() {
                "age judged from the bins (years ignored on request)".to_string()
            } else {
                BINS_FALLBACK_NOTE.to_string()
            }
        }),
        queues,
        calibration: found.calibration,
        years_models: found.years_models,
        age_readings: found.age_readings,
        person_doubt,
        cross_fit_by: ctx.cross_fit_by,
    })
}

/// An eligible issue whose label is more likely wrong than right is always likely: the
/// field's estimate can fall short of the items it is sure of (photo-level mask
/// probabilities do not count a swap the swap posterior is sure of).
const MORE_LIKELY_THAN_NOT: f64 = 0.5;

/// Splits each field's issues into likely and possible. Only person-level findings, swaps
/// and photo mask findings can be likely, never boundary cases; of those, ranked by
/// calibrated probability, as many as the engine expects wrong labels of the field plus
/// two standard deviations of that count ([`WrongEstimate::likely_budget`]), each at
/// least `min_p`, and any more likely wrong than right. With calibrated probabilities the
/// second rule keeps the queue under twice the real errors in it.
fn assign_tiers(
    issues: &mut [Issue],
    estimated_wrong: &BTreeMap<Field, WrongEstimate>,
    min_p: f64,
) -> Vec<FieldQueue> {
    let mut queues = Vec::new();
    for field in Field::ALL {
        let estimate = estimated_wrong.get(&field).copied().unwrap_or_default();
        let mut eligible: Vec<usize> = (0..issues.len())
            .filter(|&i| {
                let it = &issues[i];
                it.field == field
                    && it.kind != IssueKind::AgeBoundary
                    && it.found_by.iter().any(|d| {
                        d.is_person_level() || matches!(d, Detector::MaskSwap | Detector::PhotoMask)
                    })
            })
            .collect();
        eligible.sort_by(|&a, &b| {
            issues[b]
                .p_wrong
                .total_cmp(&issues[a].p_wrong)
                .then(issues[a].id.cmp(&issues[b].id))
        });
        let budget = estimate.likely_budget();
        for it in issues.iter_mut().filter(|i| i.field == field) {
            it.tier = Tier::Possible;
        }
        for (rank, &i) in eligible.iter().enumerate() {
            let p = issues[i].p_wrong;
            if (rank < budget && p >= min_p) || p >= MORE_LIKELY_THAN_NOT {
                issues[i].tier = Tier::Likely;
            }
        }
        let of = |tier: Tier| {
            issues
                .iter()
                .filter(move |i| i.field == field && i.tier == tier)
        };
        queues.push(FieldQueue {
            field,
            likely: of(Tier::Likely).count(),
            possible: of(Tier::Possible).count(),
            estimated_wrong: estimate.expected,
            units: estimate.units,
            expected_in_likely: total(of(Tier::Likely).map(|i| i.p_wrong)),
            expected_in_possible: total(of(Tier::Possible).map(|i| i.p_wrong)),
        });
    }
    queues
}
/// The sum of expected counts. Not `Iterator::sum`: a float sum of nothing is -0.0,
/// which the overview printed as "-0.0 expected real errors".
fn total(values: impl Iterator<Item = f64>) -> f64 {
    values.fold(0.0, |a, b| a + b)
}

/// Gender issues are gender issues; age issues are boundary cases when the given age is
/// within `years` of the boundary between the given and the (adjacent) suggested bin.
pub fn issue_kind(field: Field, age: u32, given: usize, suggested: usize, years: u32) -> IssueKind {
    match field {
        Field::Mask => IssueKind::Mask,
        Field::Gender => IssueKind::Gender,
        Field::Age => {
            let boundary = match (given.min(suggested), given.max(suggested)) {
                (0, 1) => Some(30),
                (1, 2) => Some(60),
                _ => None,
            };
            match boundary {
                Some(b) if age.abs_diff(b) <= years => IssueKind::AgeBoundary,
                _ => IssueKind::AgeGross,
            }
        }
    }
}

/// The report's issues as CSV (`id,kind,field,tier,p_wrong,person,photos,given,suggested,
/// years,score,...`): the likely ones, and with `include_possible` the possible ones too.
pub fn issues_csv(report: &IssueReport, include_possible: bool) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record([
        "id",
        "kind",
        "field",
        "tier",
        "p_wrong",
        "person",
        "photos",
        "given",
        "suggested",
        "years",
        "score",
        "probs",
        "found_by",
        "run_id",
    ]);
    for i in report
        .issues
        .iter()
        .filter(|i| include_possible || i.tier == Tier::Likely)
    {
        let probs: Vec<String> = i.probs.iter().map(|p| format!("{p:.6}")).collect();
        let found: Vec<&str> = i.found_by.iter().map(|d| d.name()).collect();
        let _ = w.write_record([
            i.id.as_str(),
            i.kind.name(),
            i.field.name(),
            i.tier.name(),
            &format!("{:.4}", i.p_wrong),
            &i.person,
            &i.photos.join(";"),
            &i.given,
            &i.suggested,
            &i.years_text().unwrap_or_default(),
            &format!("{:.6}", i.score),
            &probs.join(";"),
            &found.join(";"),
            &i.run_id,
        ]);
    }
    w.into_inner().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::Person;
    use crate::simulate::{simulate, NoiseRates, SimConfig, Strength};
    use std::collections::BTreeSet;

    #[test]
    fn a_probability_is_shown_without_false_certainty() {
        assert_eq!(prob_text(0.0015), "<0.01");
        assert_eq!(prob_text(0.0), "<0.01");
        assert_eq!(prob_text(0.0051), "0.01");
        assert_eq!(prob_text(0.4249), "0.42");
        assert_eq!(prob_text(0.9951), ">0.99");
        assert_eq!(prob_text(1.0f32), ">0.99");
        assert_eq!(percent_text(0.004), "<1%");
        assert_eq!(percent_text(0.88f32), "88%");
        assert_eq!(percent_text(0.996), ">99%");
    }

    /// People with the real layout's spread of ages (18..60, many near 60) and genders.
    fn dataset(n: usize) -> Dataset {
        let people = (0..n)
            .map(|i| {
                let age =
                    [19, 22, 25, 28, 33, 38, 45, 50, 54, 56, 58, 60][i % 12] + (i / 12 % 2) as u32;
                let age = age.min(60);
                Person::with_all_photos(&format!("{:06}", i + 1), Gender::ALL[(i / 3) % 2], age)
            })
            .collect();
        Dataset {
            people,
            ..Default::default()
        }
    }

    struct Case {
        ds: Dataset,
        table: ProbTable,
        /// Person folders per noise kind.
        noise: BTreeMap<String, BTreeSet<String>>,
    }

    fn case(strength: &str, seed: u64) -> Case {
        let ds = dataset(1200);
        let cfg = SimConfig {
            strength: Strength::preset(strength).unwrap(),
            noise: NoiseRates {
                gender_flip: 0.03,
                flip_run: 6,
                age_gross: 0.03,
                age_boundary: 0.03,
                mask_swap: 0.01,
            },
            seed,
            folds: 5,
        };
        let sim = simulate(&ds, &cfg).unwrap();
        let mut noise: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for e in &sim.manifest {
            noise
                .entry(e.kind.name().to_string())
                .or_default()
                .insert(e.person_folder().to_string());
        }
        let table = ProbTable {
            run_id: "sim".into(),
            data: sim.probs.clone(),
            rows: ds.photo_refs().collect(),
            age: Some(sim.age.chunks_exact(2).map(|c| [c[0], c[1]]).collect()),
            folds: Some(sim.split.iter().cloned().collect()),
        };
        Case { ds, table, noise }
    }

    fn run(c: &Case, table: &ProbTable) -> IssueReport {
        find_dataset_issues(
            &c.ds,
            &DatasetLabels::given(&c.ds),
            table,
            &DatasetIssueOptions::default(),
        )
        .unwrap()
    }

    fn people(r: &IssueReport, kind: IssueKind, tier: Option<Tier>) -> BTreeSet<String> {
        r.issues
            .iter()
            .filter(|i| i.kind == kind && tier.is_none_or(|t| i.tier == t))
            .map(|i| i.person.clone())
            .collect()
    }

    #[test]
    fn an_empty_tier_expects_zero_errors_not_minus_zero() {
        let empty = total(std::iter::empty());
        assert!(empty == 0.0 && empty.is_sign_positive(), "{empty}");
        assert_eq!(format!("{empty:.1}"), "0.0");
        assert_eq!(total([0.25, 0.5].into_iter()), 0.75);
    }

    fn swap_issue(person: &str, p_wrong: f64) -> Issue {
        Issue {
            id: format!("mask_swap:{person}"),
            kind: IssueKind::MaskSwap,
            field: Field::Mask,
            person: person.to_string(),
            person_index: 0,
            photos: Vec::new(),
            given: String::new(),
            suggested: String::new(),
            score: 1.0 - p_wrong,
            probs: Vec::new(),
            found_by: vec![Detector::MaskSwap],
            run_id: "r".into(),
            p_wrong,
            tier: Tier::Possible,
            years: None,
        }
    }

    #[test]
    fn a_label_more_likely_wrong_than_right_is_likely_even_past_the_estimate() {
        // The photo-level mask estimate says one wrong label; the swap posterior is sure of
        // three swaps. All three are likely; a weak fourth past the estimate is not.
        let mut issues: Vec<Issue> = [("a", 0.999), ("b", 0.998), ("c", 0.97), ("d", 0.3)]
            .iter()
            .map(|(p, w)| swap_issue(p, *w))
            .collect();
        let estimate = BTreeMap::from([(
            Field::Mask,
            WrongEstimate {
                expected: 1.2,
                variance: 0.2,
                units: 700,
            },
        )]);
        let queues = assign_tiers(&mut issues, &estimate, 0.2);
        let likely: Vec<&str> = issues
            .iter()
            .filter(|i| i.tier == Tier::Likely)
            .map(|i| i.person.as_str())
            .collect();
        assert_eq!(likely, ["a", "b", "c"]);
        let mask = queues.iter().find(|q| q.field == Field::Mask).unwrap();
        assert_eq!((mask.likely, mask.possible), (3, 1));
    }

    #[test]
    fn the_likely_tier_reaches_two_standard_deviations_past_the_expected_count() {
        // 40 units: five near-sure, three at 0.3, the rest at 0.01. Expected 5.97 wrong,
        // standard deviation 1.09: the tier holds all eight, not the expected count's six
        // (a run with more wrong labels than it expects keeps them in view), never the
        // 0.01s.
        let p: Vec<f64> = [0.95; 5]
            .into_iter()
            .chain([0.3; 3])
            .chain([0.01; 32])
            .collect();
        let estimate = WrongEstimate::of(p.iter().copied());
        assert_eq!(estimate.units, 40);
        assert!((estimate.expected - 5.97).abs() < 1e-9, "{estimate:?}");
        assert!((estimate.variance - 1.1843).abs() < 1e-9, "{estimate:?}");
        assert_eq!(estimate.likely_budget(), 8);
        let mut issues: Vec<Issue> = p
            .iter()
            .enumerate()
            .map(|(i, w)| swap_issue(&format!("{i:02}"), *w))
            .collect();
        let estimate = BTreeMap::from([(Field::Mask, estimate)]);
        assign_tiers(&mut issues, &estimate, 0.2);
        let likely = issues.iter().filter(|i| i.tier == Tier::Likely).count();
        assert_eq!(likely, 8);
        assert!(issues
            .iter()
            .all(|i| (i.tier == Tier::Likely) == (i.p_wrong >= 0.3)));
    }

    #[test]
    fn years_find_gross_age_errors_that_bins_drown_in_false_alarms() {
        let c = case("realistic", 11);
        let years = run(&c, &c.table);
        assert_eq!(years.age_source, AgeSource::Years);
        assert!(years.age_note.is_none());
        let gross_truth = &c.noise["age_gross"];
        let boundary_truth = &c.noise["age_boundary"];
        let gross = people(&years, IssueKind::AgeGross, None);
        let hits = gross.intersection(gross_truth).count();
        assert!(
            hits as f64 >= 0.8 * gross_truth.len() as f64,
            "{hits} of {}",
            gross_truth.len()
        );
        assert!(
            hits as f64 >= 0.7 * gross.len() as f64,
            "{hits} of {}",
            gross.len()
        );
        assert_eq!(gross.intersection(boundary_truth).count(), 0);
        for i in years.issues.iter().filter(|i| i.field == Field::Age) {
            let text = i.years_text().unwrap();
            assert!(text.starts_with("given ") && text.contains(" ± "), "{text}");
        }

        // The same run without predicted years: bins, said so, and far more false alarms.
        let bins_table = ProbTable {
            age: None,
            ..c.table.clone()
        };
        let bins = run(&c, &bins_table);
        assert_eq!(bins.age_source, AgeSource::Bins);
        assert_eq!(bins.age_note.as_deref(), Some(BINS_FALLBACK_NOTE));
        assert!(bins.issues.iter().all(|i| i.years.is_none()));
        let bins_gross = people(&bins, IssueKind::AgeGross, None);
        let bins_precision =
            bins_gross.intersection(gross_truth).count() as f64 / bins_gross.len().max(1) as f64;
        assert!(
            bins_gross.len() > gross.len()
                && bins_precision < 0.5 * hits as f64 / gross.len() as f64,
            "bins: {} gross, precision {bins_precision}; years: {} gross, {hits} right",
            bins_gross.len(),
            gross.len()
        );
    }

    #[test]
    fn likely_tier_is_sized_to_the_errors_and_keeps_weak_evidence_out() {
        let c = case("realistic", 12);
        let r = run(&c, &c.table);
        let wrong: BTreeSet<&String> = c.noise.values().flatten().collect();
        let likely: Vec<&Issue> = r.likely().collect();
        assert!(!likely.is_empty());
        assert!(
            likely.len() <= 2 * wrong.len(),
            "{} likely for {}",
            likely.len(),
            wrong.len()
        );
        assert!(
            r.issues.len() > 2 * likely.len(),
            "the possible tier holds the rest"
        );
        for i in &likely {
            assert_ne!(i.kind, IssueKind::AgeBoundary, "{}", i.id);
            assert!(
                i.found_by.iter().any(|d| d.is_person_level()
                    || matches!(d, Detector::MaskSwap | Detector::PhotoMask)),
                "{}: {:?}",
                i.id,
                i.found_by
            );
        }
        // Photo-level-only gender flags are possible, and far less precise than the likely
        // gender items.
        let gender_truth: BTreeSet<String> = ["gender_flip", "gender_flip_run"]
            .iter()
            .flat_map(|k| c.noise[*k].iter().cloned())
            .collect();
        let precision = |set: &BTreeSet<String>| {
            set.intersection(&gender_truth).count() as f64 / set.len().max(1) as f64
        };
        let likely_g = people(&r, IssueKind::Gender, Some(Tier::Likely));
        let possible_g = people(&r, IssueKind::Gender, Some(Tier::Possible));
        assert!(precision(&likely_g) >= 0.8, "{}", precision(&likely_g));
        assert!(precision(&possible_g) < 0.3, "{}", precision(&possible_g));
        // Counts for the overview agree with the issues; the expected number of real
        // errors in the likely tier is close to the actual one.
        for q in &r.queues {
            let n = |t: Tier| {
                r.issues
                    .iter()
                    .filter(|i| i.field == q.field && i.tier == t)
                    .count()
            };
            assert_eq!((q.likely, q.possible), (n(Tier::Likely), n(Tier::Possible)));
            // An empty tier expects 0 errors, not -0 (what a float sum of nothing gives).
            assert!(
                q.expected_in_likely.is_sign_positive()
                    && q.expected_in_possible.is_sign_positive()
            );
        }
        let actual = likely.iter().filter(|i| wrong.contains(&i.person)).count() as f64;
        let expected = r.expected_in_likely();
        assert!(
            (expected - actual).abs() <= 0.15 * actual,
            "{expected} vs {actual}"
        );
        // Ranked: likely first, most probable first within a tier.
        for w in r.issues.windows(2) {
            assert!(
                w[0].tier < w[1].tier || (w[0].tier == w[1].tier && w[0].p_wrong >= w[1].p_wrong)
            );
        }
    }
}
