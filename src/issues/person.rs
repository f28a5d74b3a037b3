//! Structure-aware label issues for this dataset: per field and on the 18-class joint,
//! person-level gender and age, incorrect_mask/normal swaps, age-boundary cases.
//!
//! Entry point: [`find_dataset_issues`]. Pure: labels come in as [`DatasetLabels`] (the
//! given labels, or the curated ones), probabilities as a [`ProbTable`].

use super::cleanlab::{
    estimate_py_and_noise_matrices, find_label_issues_ranked, num_label_issues, FindOptions,
    NumIssuesMethod, RankOptions, SquareMatrix,
};
use super::probs::{InputError, ProbView};
use super::table::ProbTable;
use crate::dataset::{AgeBin, ClassCode, Dataset, Field, Gender, Mask, PhotoRef, Slot};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

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
    fn class_of(&self, r: PhotoRef) -> ClassCode {
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
            Detector::MaskSwap => "mask_swap",
        }
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
    /// Age bin wrong by more than a boundary case.
    AgeGross,
    /// Given age within `boundary_years` of 30 or 60 and the adjacent bin suggested:
    /// ambiguous rather than wrong.
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
    pub suggested: String,
    /// Label quality (lower = more likely wrong), in [0, 1].
    pub score: f64,
    /// The probabilities behind it, over the field's classes (person-level: combined).
    pub probs: Vec<f64>,
    pub found_by: Vec<Detector>,
    pub run_id: String,
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

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IssueReport {
    pub run_id: String,
    /// Ranked: most likely wrong first.
    pub issues: Vec<Issue>,
    pub runs: Vec<RunSummary>,
    /// Photos flagged by each per-photo detector (for evaluation).
    pub photo_flags: BTreeMap<Detector, Vec<String>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DatasetIssueOptions {
    pub find: FindOptions,
    pub rank: RankOptions,
    /// Years around 30 and 60 within which an adjacent-bin age issue is a boundary case.
    pub boundary_years: u32,
    /// The filter used over people (gender, age). Default `prune_by_noise_rate`, as in
    /// cleanlab: on trained demo runs it flags a third fewer people than the image level
    /// for the same errors found (see docs/issues.md).
    pub person_filter_by: super::cleanlab::FilterBy,
}

impl Default for DatasetIssueOptions {
    fn default() -> Self {
        DatasetIssueOptions {
            find: FindOptions::default(),
            rank: RankOptions::default(),
            boundary_years: 2,
            person_filter_by: super::cleanlab::FilterBy::PruneByNoiseRate,
        }
    }
}

const LOG_FLOOR: f64 = 1e-12;

fn field_value(field: Field, c: ClassCode) -> usize {
    c.field_index(field)
}

/// Marginal of an 18-class row over one field.
fn marginal(field: Field, row: &[f32]) -> Vec<f64> {
    let mut m = vec![0f64; field.num_classes()];
    for (c, &p) in row.iter().enumerate() {
        if let Some(code) = ClassCode::from_index(c) {
            m[field_value(field, code)] += p as f64;
        }
    }
    m
}

fn best_other(p: &[f64], y: usize) -> usize {
    let mut best = if y == 0 { 1 } else { 0 };
    for (j, &v) in p.iter().enumerate() {
        if j != y && v > p[best] {
            best = j;
        }
    }
    best
}

fn summary(
    detector: Detector,
    labels: &[usize],
    probs: ProbView<'_, f64>,
    flagged: usize,
    opts: &FindOptions,
) -> Result<RunSummary, InputError> {
    let off = num_label_issues(labels, probs, &NumIssuesMethod::OffDiagonal, opts.threads)?;
    let cal = num_label_issues(
        labels,
        probs,
        &NumIssuesMethod::OffDiagonalCalibrated,
        opts.threads,
    )?;
    let (lat, _) = estimate_py_and_noise_matrices(labels, probs, true, opts.threads)?;
    let mut counts = vec![0; probs.k()];
    for &l in labels {
        counts[l] += 1;
    }
    Ok(RunSummary {
        detector,
        examples: labels.len(),
        flagged,
        num_issues_off_diagonal: off,
        num_issues_calibrated: cal,
        noise_rate: cal as f64 / labels.len().max(1) as f64,
        noise_matrix: lat.noise_matrix,
        label_counts: counts,
    })
}

struct Flag {
    row: usize,
    suggested: usize,
    score: f64,
}

/// Runs confident learning on an f64 matrix; a field with a single label class (nothing to
/// compare against) yields no flags and no summary.
fn run_cl(
    detector: Detector,
    labels: &[usize],
    data: &[f64],
    k: usize,
    opts: &DatasetIssueOptions,
) -> Result<(Vec<Flag>, Option<RunSummary>), InputError> {
    let distinct = labels.iter().collect::<BTreeSet<_>>().len();
    if labels.is_empty() || distinct < 2 {
        return Ok((Vec::new(), None));
    }
    let view = ProbView::new(data, k)?;
    let (_, ranked) = find_label_issues_ranked(labels, view, &opts.find, opts.rank)?;
    let flags: Vec<Flag> = ranked
        .iter()
        .map(|&(row, score)| {
            let p = view.row(row);
            Flag {
                row,
                suggested: best_other(p, labels[row]),
                score,
            }
        })
        .collect();
    let s = summary(detector, labels, view, flags.len(), &opts.find)?;
    Ok((flags, Some(s)))
}

fn class_name(field: Field, i: usize) -> String {
    field.class_name(i).to_string()
}

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
    let n = probs.rows.len();
    if n == 0 {
        return Err(InputError::Empty);
    }
    let k = ProbTable::K;
    let photo_path = |r: PhotoRef| -> String {
        dataset
            .photo(r)
            .map(|p| p.rel_path.to_string_lossy().replace('\\', "/"))
            .unwrap_or_default()
    };
    let folder = |p: usize| dataset.people[p].folder.clone();
    let run_id = probs.run_id.clone();
    let mut runs = Vec::new();
    let mut photo_flags: BTreeMap<Detector, Vec<String>> = BTreeMap::new();
    let mut issues: HashMap<String, Issue> = HashMap::new();

    // 18-class joint, straight on the table (no copy).
    let joint_labels: Vec<usize> = probs
        .rows
        .iter()
        .map(|&r| labels.class_of(r).index())
        .collect();
    let joint_view = ProbView::new(&probs.data, k)?;
    let (_, joint_ranked) =
        find_label_issues_ranked(&joint_labels, joint_view, &opts.find, opts.rank)?;
    let mut joint_fields: HashMap<(usize, Field), ()> = HashMap::new();
    for &(row, _) in &joint_ranked {
        let y = joint_labels[row];
        let p = joint_view.row(row);
        let p64: Vec<f64> = p.iter().map(|&v| v as f64).collect();
        let s = ClassCode::from_index(best_other(&p64, y));
        let g = ClassCode::from_index(y);
        if let (Some(s), Some(g)) = (s, g) {
            for f in Field::ALL {
                if s.field_index(f) != g.field_index(f) {
                    joint_fields.insert((row, f), ());
                }
            }
        }
        photo_flags
            .entry(Detector::Joint18)
            .or_default()
            .push(photo_path(probs.rows[row]));
    }
    {
        let data64: Vec<f64> = probs.data.iter().map(|&v| v as f64).collect();
        let view = ProbView::new(&data64, k)?;
        runs.push(summary(
            Detector::Joint18,
            &joint_labels,
            view,
            joint_ranked.len(),
            &opts.find,
        )?);
    }

    // Per-field marginals per photo.
    let field_probs: HashMap<Field, Vec<f64>> = Field::ALL
        .iter()
        .map(|&f| (f, (0..n).flat_map(|r| marginal(f, probs.row(r))).collect()))
        .collect();
    let field_labels = |f: Field| -> Vec<usize> {
        probs
            .rows
            .iter()
            .map(|&r| field_value(f, labels.class_of(r)))
            .collect()
    };

    // Photo-level per field.
    let mut photo_field_flags: HashMap<Field, Vec<Flag>> = HashMap::new();
    for (field, det) in [
        (Field::Mask, Detector::PhotoMask),
        (Field::Gender, Detector::PhotoGender),
        (Field::Age, Detector::PhotoAge),
    ] {
        let fl = field_labels(field);
        let (flags, s) = run_cl(det, &fl, &field_probs[&field], field.num_classes(), opts)?;
        runs.extend(s);
        photo_flags.insert(
            det,
            flags
                .iter()
                .map(|f| photo_path(probs.rows[f.row]))
                .collect(),
        );
        photo_field_flags.insert(field, flags);
    }

    // Mask issues per photo.
    let mask_p = &field_probs[&Field::Mask];
    let mask_labels = field_labels(Field::Mask);
    for f in &photo_field_flags[&Field::Mask] {
        let r = probs.rows[f.row];
        let id = format!("mask:{}:{}", folder(r.person), r.slot.stem());
        let mut found_by = vec![Detector::PhotoMask];
        if joint_fields.contains_key(&(f.row, Field::Mask)) {
            found_by.push(Detector::Joint18);
        }
        issues.insert(
            id.clone(),
            Issue {
                id,
                kind: IssueKind::Mask,
                field: Field::Mask,
                person: folder(r.person),
                person_index: r.person,
                photos: vec![photo_path(r)],
                given: class_name(Field::Mask, mask_labels[f.row]),
                suggested: class_name(Field::Mask, f.suggested),
                score: f.score,
                probs: mask_p[f.row * 3..f.row * 3 + 3].to_vec(),
                found_by,
                run_id: run_id.clone(),
            },
        );
    }

    // Rows per person.
    let mut person_rows: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (row, r) in probs.rows.iter().enumerate() {
        person_rows.entry(r.person).or_default().push(row);
    }

    // Mask swaps: the incorrect_mask / normal pair fits better swapped.
    for (&p, rows) in &person_rows {
        let find = |slot: Slot| {
            rows.iter()
                .copied()
                .find(|&row| probs.rows[row].slot == slot)
        };
        let (Some(ri), Some(rn)) = (find(Slot::Incorrect), find(Slot::Normal)) else {
            continue;
        };
        let pl = &labels.people[p];
        if pl.mask[Slot::Incorrect.index()] != Mask::Incorrect
            || pl.mask[Slot::Normal.index()] != Mask::NotWear
        {
            continue;
        }
        let pi = &mask_p[ri * 3..ri * 3 + 3];
        let pn = &mask_p[rn * 3..rn * 3 + 3];
        let ln = |v: f64| v.max(LOG_FLOOR).ln();
        let keep = ln(pi[1]) + ln(pn[2]);
        let swap = ln(pi[2]) + ln(pn[1]);
        let argmax = |v: &[f64]| (0..3).fold(0, |b, j| if v[j] > v[b] { j } else { b });
        if swap > keep && argmax(pi) == 2 && argmax(pn) == 1 {
            let photos = vec![photo_path(probs.rows[ri]), photo_path(probs.rows[rn])];
            let mut found_by = vec![Detector::MaskSwap];
            for slot in [Slot::Incorrect, Slot::Normal] {
                if let Some(old) = issues.remove(&format!("mask:{}:{}", folder(p), slot.stem())) {
                    found_by.extend(old.found_by);
                }
            }
            found_by.sort();
            found_by.dedup();
            let id = format!("mask_swap:{}", folder(p));
            issues.insert(
                id.clone(),
                Issue {
                    id,
                    kind: IssueKind::MaskSwap,
                    field: Field::Mask,
                    person: folder(p),
                    person_index: p,
                    photos,
                    given: "incorrect_mask:incorrect;normal:not wear".into(),
                    suggested: "incorrect_mask:not wear;normal:incorrect (files swapped)".into(),
                    score: 1.0 / (1.0 + (swap - keep).exp()),
                    probs: pi.iter().chain(pn).copied().collect(),
                    found_by,
                    run_id: run_id.clone(),
                },
            );
        }
    }

    // Person level for gender and age: mean log-probability over the person's photos,
    // renormalised, then confident learning over people.
    let people: Vec<usize> = person_rows.keys().copied().collect();
    for (field, det, photo_det) in [
        (Field::Gender, Detector::PersonGender, Detector::PhotoGender),
        (Field::Age, Detector::PersonAge, Detector::PhotoAge),
    ] {
        let kf = field.num_classes();
        let fp = &field_probs[&field];
        let mut combined = Vec::with_capacity(people.len() * kf);
        let mut plabels = Vec::with_capacity(people.len());
        for &p in &people {
            let rows = &person_rows[&p];
            let mut lp = vec![0f64; kf];
            for &row in rows {
                for c in 0..kf {
                    lp[c] += fp[row * kf + c].max(LOG_FLOOR).ln() / rows.len() as f64;
                }
            }
            let m = lp.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let z: f64 = lp.iter().map(|v| (v - m).exp()).sum();
            combined.extend(lp.iter().map(|v| (v - m).exp() / z));
            let pl = &labels.people[p];
            plabels.push(match field {
                Field::Gender => pl.gender.index(),
                _ => AgeBin::from_years(pl.age).index(),
            });
        }
        let person_opts = DatasetIssueOptions {
            find: FindOptions {
                filter_by: opts.person_filter_by,
                ..opts.find.clone()
            },
            ..opts.clone()
        };
        let (flags, s) = run_cl(det, &plabels, &combined, kf, &person_opts)?;
        runs.extend(s);
        let person_flagged: BTreeSet<usize> = flags.iter().map(|f| people[f.row]).collect();
        for f in &flags {
            let p = people[f.row];
            let given = plabels[f.row];
            let kind = issue_kind(
                field,
                labels.people[p].age,
                given,
                f.suggested,
                opts.boundary_years,
            );
            let id = format!("{}:{}", field.name(), folder(p));
            let mut found_by = vec![det];
            let rows = &person_rows[&p];
            let photo_set: BTreeSet<String> = photo_flags[&photo_det].iter().cloned().collect();
            if rows
                .iter()
                .any(|&r| photo_set.contains(&photo_path(probs.rows[r])))
            {
                found_by.push(photo_det);
            }
            if rows.iter().any(|&r| joint_fields.contains_key(&(r, field))) {
                found_by.push(Detector::Joint18);
            }
            issues.insert(
                id.clone(),
                Issue {
                    id,
                    kind,
                    field,
                    person: folder(p),
                    person_index: p,
                    photos: rows.iter().map(|&r| photo_path(probs.rows[r])).collect(),
                    given: given_text(field, labels.people[p].age, given),
                    suggested: class_name(field, f.suggested),
                    score: f.score,
                    probs: combined[f.row * kf..(f.row + 1) * kf].to_vec(),
                    found_by,
                    run_id: run_id.clone(),
                },
            );
        }
        // Photo-level flags on a person the person level did not flag: listed too, as the
        // weaker evidence they are (found_by names only the photo detector).
        let mut by_person: BTreeMap<usize, Vec<&Flag>> = BTreeMap::new();
        for f in &photo_field_flags[&field] {
            let p = probs.rows[f.row].person;
            if !person_flagged.contains(&p) {
                by_person.entry(p).or_default().push(f);
            }
        }
        for (p, flags) in by_person {
            let Some(worst) = flags.iter().min_by(|a, b| a.score.total_cmp(&b.score)) else {
                continue;
            };
            let given = match field {
                Field::Gender => labels.people[p].gender.index(),
                _ => AgeBin::from_years(labels.people[p].age).index(),
            };
            let id = format!("{}:{}", field.name(), folder(p));
            let mut found_by = vec![photo_det];
            if flags
                .iter()
                .any(|f| joint_fields.contains_key(&(f.row, field)))
            {
                found_by.push(Detector::Joint18);
            }
            issues.insert(
                id.clone(),
                Issue {
                    id,
                    kind: issue_kind(
                        field,
                        labels.people[p].age,
                        given,
                        worst.suggested,
                        opts.boundary_years,
                    ),
                    field,
                    person: folder(p),
                    person_index: p,
                    photos: flags
                        .iter()
                        .map(|f| photo_path(probs.rows[f.row]))
                        .collect(),
                    given: given_text(field, labels.people[p].age, given),
                    suggested: class_name(field, worst.suggested),
                    score: worst.score,
                    probs: fp[worst.row * kf..(worst.row + 1) * kf].to_vec(),
                    found_by,
                    run_id: run_id.clone(),
                },
            );
        }
    }

    let mut issues: Vec<Issue> = issues.into_values().collect();
    // Person-level and swap findings first (stronger evidence), then by score.
    issues.sort_by(|a, b| {
        let strong = |i: &Issue| {
            !i.found_by.iter().any(|d| {
                matches!(
                    d,
                    Detector::PersonGender
                        | Detector::PersonAge
                        | Detector::MaskSwap
                        | Detector::PhotoMask
                )
            })
        };
        strong(a)
            .cmp(&strong(b))
            .then(a.score.total_cmp(&b.score))
            .then(a.id.cmp(&b.id))
    });
    Ok(IssueReport {
        run_id,
        issues,
        runs,
        photo_flags,
    })
}

fn given_text(field: Field, age: u32, given: usize) -> String {
    match field {
        Field::Age => format!("{} ({age})", class_name(field, given)),
        _ => class_name(field, given),
    }
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

/// The report's issues as CSV (`id,kind,field,person,photos,given,suggested,score,...`).
pub fn issues_csv(report: &IssueReport) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record([
        "id",
        "kind",
        "field",
        "person",
        "photos",
        "given",
        "suggested",
        "score",
        "probs",
        "found_by",
        "run_id",
    ]);
    for i in &report.issues {
        let probs: Vec<String> = i.probs.iter().map(|p| format!("{p:.6}")).collect();
        let found: Vec<&str> = i.found_by.iter().map(|d| d.name()).collect();
        let _ = w.write_record([
            i.id.as_str(),
            i.kind.name(),
            i.field.name(),
            &i.person,
            &i.photos.join(";"),
            &i.given,
            &i.suggested,
            &format!("{:.6}", i.score),
            &probs.join(";"),
            &found.join(";"),
            &i.run_id,
        ]);
    }
    w.into_inner().unwrap_or_default()
}
