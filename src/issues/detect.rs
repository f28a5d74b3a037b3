//! The detectors of [`super::person::find_dataset_issues`], one function each, sharing a
//! read-only [`Ctx`] and adding to one [`Found`].

use super::age_years::{combine_person, PersonAge, YearsModel, YearsVerdict};
use super::calibrate::{cross_fit, hash_group, Channel, Evidence};
use super::cleanlab::{
    estimate_py_and_noise_matrices, find_label_issues_ranked, num_label_issues, FindOptions,
    NumIssuesMethod,
};
use super::person::{
    issue_kind, Calibration, DatasetIssueOptions, DatasetLabels, Detector, Issue, IssueKind,
    RunSummary, Tier, WrongEstimate,
};
use super::probs::{InputError, ProbView};
use super::table::ProbTable;
use crate::dataset::{AgeBin, ClassCode, Dataset, Field, Mask, PhotoRef, Slot};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

const LOG_FLOOR: f64 = 1e-12;

/// What every detector reads.
pub(super) struct Ctx<'a> {
    pub dataset: &'a Dataset,
    pub labels: &'a DatasetLabels,
    pub probs: &'a ProbTable,
    pub opts: &'a DatasetIssueOptions,
    pub run_id: String,
    /// Per field: N x K marginals of the 18-class rows.
    pub field_probs: HashMap<Field, Vec<f64>>,
    /// Rows of each person present in the table.
    pub person_rows: BTreeMap<usize, Vec<usize>>,
    /// Cross-fitting group per dataset person.
    pub group: Vec<usize>,
    pub cross_fit_by: &'static str,
}

/// What the detectors found so far.
#[derive(Default)]
pub(super) struct Found {
    pub issues: HashMap<String, Issue>,
    pub runs: Vec<RunSummary>,
    pub photo_flags: BTreeMap<Detector, Vec<String>>,
    pub calibration: Vec<Calibration>,
    /// Per field: how many labels are expected wrong over its units (photos for mask,
    /// people for gender and age).
    pub estimated_wrong: BTreeMap<Field, WrongEstimate>,
    /// Calibrated P(wrong) per person for gender and age.
    pub person_p: HashMap<Field, HashMap<usize, f64>>,
    /// People flagged by confident learning over people, per field.
    pub person_flags: HashMap<Field, BTreeSet<usize>>,
    pub years_models: Vec<YearsModel>,
    /// Per person: the model's age in years and its standard deviation (years runs).
    pub age_readings: BTreeMap<usize, (f64, f64)>,
}

/// One flagged row of a confident-learning run.
pub(super) struct Flag {
    pub row: usize,
    pub suggested: usize,
    pub score: f64,
}

/// Photo-level calibration: P(wrong) per row and field, and each row's channel per field.
pub(super) struct PhotoCalibration {
    pub p_wrong: HashMap<Field, Vec<f64>>,
    pub channels: HashMap<Field, Vec<Channel>>,
}

impl<'a> Ctx<'a> {
    pub fn new(
        dataset: &'a Dataset,
        labels: &'a DatasetLabels,
        probs: &'a ProbTable,
        opts: &'a DatasetIssueOptions,
    ) -> Self {
        let n = probs.rows.len();
        let field_probs = Field::ALL
            .iter()
            .map(|&f| (f, (0..n).flat_map(|r| marginal(f, probs.row(r))).collect()))
            .collect();
        let mut person_rows: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for (row, r) in probs.rows.iter().enumerate() {
            person_rows.entry(r.person).or_default().push(row);
        }
        let folds = probs.folds.as_ref();
        let group = dataset
            .people
            .iter()
            .map(|p| match folds.and_then(|f| f.get(&p.folder)) {
                Some(&fold) => fold,
                None => hash_group(&p.folder),
            })
            .collect();
        Ctx {
            dataset,
            labels,
            probs,
            opts,
            run_id: probs.run_id.clone(),
            field_probs,
            person_rows,
            group,
            cross_fit_by: if folds.is_some() {
                "split.csv"
            } else {
                "person hash"
            },
        }
    }
    pub fn photo_path(&self, r: PhotoRef) -> String {
        self.dataset
            .photo(r)
            .map(|p| p.rel_path.to_string_lossy().replace('\\', "/"))
            .unwrap_or_default()
    }
    pub fn folder(&self, p: usize) -> String {
        self.dataset.people[p].folder.clone()
    }
    pub fn field_labels(&self, f: Field) -> Vec<usize> {
        self.probs
            .rows
            .iter()
            .map(|&r| self.labels.class_of(r).field_index(f))
            .collect()
    }
    /// The given value of a person-level field.
    pub fn person_label(&self, field: Field, p: usize) -> usize {
        let pl = &self.labels.people[p];
        match field {
            Field::Gender => pl.gender.index(),
            _ => AgeBin::from_years(pl.age).index(),
        }
    }
    fn row_photos(&self, rows: &[usize]) -> Vec<String> {
        rows.iter()
            .map(|&r| self.photo_path(self.probs.rows[r]))
            .collect()
    }
    #[allow(clippy::too_many_arguments)]
    fn issue(
        &self,
        id: String,
        kind: IssueKind,
        field: Field,
        p: usize,
        photos: Vec<String>,
        given: String,
        suggested: String,
        score: f64,
        probs: Vec<f64>,
        found_by: Vec<Detector>,
        p_wrong: f64,
    ) -> Issue {
        Issue {
            id,
            kind,
            field,
            person: self.folder(p),
            person_index: p,
            photos,
            given,
            suggested,
            score,
            probs,
            found_by,
            run_id: self.run_id.clone(),
            p_wrong,
            tier: Tier::Possible,
            years: None,
        }
    }
}

/// Marginal of an 18-class row over one field.
fn marginal(field: Field, row: &[f32]) -> Vec<f64> {
    let mut m = vec![0f64; field.num_classes()];
    for (c, &p) in row.iter().enumerate() {
        if let Some(code) = ClassCode::from_index(c) {
            m[code.field_index(field)] += p as f64;
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

/// Runs confident learning on an f64 matrix; a field with a single label class (nothing to
/// compare against) yields no flags and no summary.
fn run_cl(
    detector: Detector,
    labels: &[usize],
    data: &[f64],
    k: usize,
    find: &FindOptions,
    opts: &DatasetIssueOptions,
) -> Result<(Vec<Flag>, Option<RunSummary>), InputError> {
    let distinct = labels.iter().collect::<BTreeSet<_>>().len();
    if labels.is_empty() || distinct < 2 {
        return Ok((Vec::new(), None));
    }
    let view = ProbView::new(data, k)?;
    let (_, ranked) = find_label_issues_ranked(labels, view, find, opts.rank)?;
    let flags: Vec<Flag> = ranked
        .iter()
        .map(|&(row, score)| Flag {
            row,
            suggested: best_other(view.row(row), labels[row]),
            score,
        })
        .collect();
    let s = summary(detector, labels, view, flags.len(), find)?;
    Ok((flags, Some(s)))
}

fn class_name(field: Field, i: usize) -> String {
    field.class_name(i).to_string()
}

fn given_text(field: Field, age: u32, given: usize) -> String {
    match field {
        Field::Age => format!("{} ({age})", class_name(field, given)),
        _ => class_name(field, given),
    }
}

/// Confident learning on the 18-class joint, straight on the table (no copy). Returns the
/// (row, field) pairs where the joint's suggestion changes that field.
pub(super) fn joint18(
    ctx: &Ctx<'_>,
    found: &mut Found,
) -> Result<HashSet<(usize, Field)>, InputError> {
    let probs = ctx.probs;
    let joint_labels: Vec<usize> = probs
        .rows
        .iter()
        .map(|&r| ctx.labels.class_of(r).index())
        .collect();
    let view = ProbView::new(&probs.data, ProbTable::K)?;
    let (_, ranked) = find_label_issues_ranked(&joint_labels, view, &ctx.opts.find, ctx.opts.rank)?;
    let mut fields = HashSet::new();
    let mut flagged = Vec::with_capacity(ranked.len());
    for &(row, _) in &ranked {
        let y = joint_labels[row];
        let p64: Vec<f64> = view.row(row).iter().map(|&v| v as f64).collect();
        if let (Some(s), Some(g)) = (
            ClassCode::from_index(best_other(&p64, y)),
            ClassCode::from_index(y),
        ) {
            for f in Field::ALL {
                if s.field_index(f) != g.field_index(f) {
                    fields.insert((row, f));
                }
            }
        }
        flagged.push(ctx.photo_path(probs.rows[row]));
    }
    found.photo_flags.insert(Detector::Joint18, flagged);
    let data64: Vec<f64> = probs.data.iter().map(|&v| v as f64).collect();
    found.runs.push(summary(
        Detector::Joint18,
        &joint_labels,
        ProbView::new(&data64, ProbTable::K)?,
        ranked.len(),
        &ctx.opts.find,
    )?);
    Ok(fields)
}

/// Confident learning per photo on each field's marginal.
pub(super) fn photo_fields(
    ctx: &Ctx<'_>,
    found: &mut Found,
) -> Result<HashMap<Field, Vec<Flag>>, InputError> {
    let mut out = HashMap::new();
    for (field, det) in [
        (Field::Mask, Detector::PhotoMask),
        (Field::Gender, Detector::PhotoGender),
        (Field::Age, Detector::PhotoAge),
    ] {
        let labels = ctx.field_labels(field);
        let (flags, s) = run_cl(
            det,
            &labels,
            &ctx.field_probs[&field],
            field.num_classes(),
            &ctx.opts.find,
            ctx.opts,
        )?;
        found.runs.extend(s);
        found.photo_flags.insert(
            det,
            flags
                .iter()
                .map(|f| ctx.photo_path(ctx.probs.rows[f.row]))
                .collect(),
        );
        out.insert(field, flags);
    }
    Ok(out)
}

fn log_rows(p: &[f64]) -> Vec<f64> {
    p.iter().map(|v| v.max(LOG_FLOOR).ln()).collect()
}

/// Per-photo calibration of each field (cross-fitted by person group).
pub(super) fn photo_calibration(ctx: &Ctx<'_>, found: &mut Found) -> PhotoCalibration {
    let groups: Vec<usize> = ctx.probs.rows.iter().map(|r| ctx.group[r.person]).collect();
    let mut out = PhotoCalibration {
        p_wrong: HashMap::new(),
        channels: HashMap::new(),
    };
    for field in Field::ALL {
        let labels = ctx.field_labels(field);
        let log_probs = log_rows(&ctx.field_probs[&field]);
        let (p, channels) = cross_fit(&Evidence {
            log_probs: &log_probs,
            k: field.num_classes(),
            labels: &labels,
            groups: &groups,
        });
        if field == Field::Mask {
            found
                .estimated_wrong
                .insert(field, WrongEstimate::of(p.iter().copied()));
        }
        found.calibration.push(Calibration {
            field,
            level: "photo",
            temperatures: channels.iter().map(|c| c.temperature).collect(),
            noise_rates: channels.iter().map(|c| c.noise_rate).collect(),
        });
        out.p_wrong.insert(field, p);
        out.channels.insert(field, channels);
    }
    out
}

/// Mask issues per photo.
pub(super) fn mask_photos(
    ctx: &Ctx<'_>,
    flags: &[Flag],
    joint: &HashSet<(usize, Field)>,
    cal: &PhotoCalibration,
    found: &mut Found,
) {
    let mask_p = &ctx.field_probs[&Field::Mask];
    let labels = ctx.field_labels(Field::Mask);
    for f in flags {
        let r = ctx.probs.rows[f.row];
        let id = format!("mask:{}:{}", ctx.folder(r.person), r.slot.stem());
        let mut found_by = vec![Detector::PhotoMask];
        if joint.contains(&(f.row, Field::Mask)) {
            found_by.push(Detector::Joint18);
        }
        let issue = ctx.issue(
            id.clone(),
            IssueKind::Mask,
            Field::Mask,
            r.person,
            vec![ctx.photo_path(r)],
            class_name(Field::Mask, labels[f.row]),
            class_name(Field::Mask, f.suggested),
            f.score,
            mask_p[f.row * 3..f.row * 3 + 3].to_vec(),
            found_by,
            cal.p_wrong[&Field::Mask][f.row],
        );
        found.issues.insert(id, issue);
    }
}

/// Swapped incorrect_mask / normal pairs: the swapped assignment is more likely than the
/// given one and each photo's most probable mask agrees with the swap. Its probability is
/// the posterior of "swapped" under the calibrated photo probabilities, with the rate of
/// swaps fitted (EM) on the other groups' people.
pub(super) fn mask_swaps(ctx: &Ctx<'_>, cal: &PhotoCalibration, found: &mut Found) {
    let mask_p = &ctx.field_probs[&Field::Mask];
    let channels = &cal.channels[&Field::Mask];
    // Per person with both photos: (person, rows, log-likelihood ratio swapped : kept).
    let mut pairs = Vec::new();
    for (&p, rows) in &ctx.person_rows {
        let find = |slot: Slot| {
            rows.iter()
                .copied()
                .find(|&row| ctx.probs.rows[row].slot == slot)
        };
        let (Some(ri), Some(rn)) = (find(Slot::Incorrect), find(Slot::Normal)) else {
            continue;
        };
        let pl = &ctx.labels.people[p];
        if pl.mask[Slot::Incorrect.index()] != Mask::Incorrect
            || pl.mask[Slot::Normal.index()] != Mask::NotWear
        {
            continue;
        }
        let ch = channels[ctx.group[p]];
        let qi = ch.posterior(&log_rows(&mask_p[ri * 3..ri * 3 + 3]));
        let qn = ch.posterior(&log_rows(&mask_p[rn * 3..rn * 3 + 3]));
        let ln = |v: f64| v.max(LOG_FLOOR).ln();
        let llr = ln(qi[2]) + ln(qn[1]) - ln(qi[1]) - ln(qn[2]);
        pairs.push((p, ri, rn, llr));
    }
    // P(swapped | photos) for a prior rate pi of swaps.
    let posterior = |pi: f64, llr: f64| 1.0 / (1.0 + (((1.0 - pi) / pi).ln() - llr).exp());
    let n_groups = ctx.group.iter().copied().max().map_or(1, |g| g + 1);
    let rates: Vec<f64> = (0..n_groups)
        .map(|g| {
            let others: Vec<f64> = pairs
                .iter()
                .filter(|x| ctx.group[x.0] != g)
                .map(|x| x.3)
                .collect();
            let mut pi = 0.005;
            for _ in 0..30 {
                if others.is_empty() {
                    break;
                }
                pi = (others.iter().map(|&l| posterior(pi, l)).sum::<f64>() / others.len() as f64)
                    .clamp(1e-4, 0.5);
            }
            pi
        })
        .collect();
    for &(p, ri, rn, llr) in &pairs {
        let pi = &mask_p[ri * 3..ri * 3 + 3];
        let pn = &mask_p[rn * 3..rn * 3 + 3];
        let argmax = |v: &[f64]| (0..3).fold(0, |b, j| if v[j] > v[b] { j } else { b });
        let ln = |v: f64| v.max(LOG_FLOOR).ln();
        let keep = ln(pi[1]) + ln(pn[2]);
        let swap = ln(pi[2]) + ln(pn[1]);
        if !(swap > keep && argmax(pi) == 2 && argmax(pn) == 1) {
            continue;
        }
        let mut found_by = vec![Detector::MaskSwap];
        for slot in [Slot::Incorrect, Slot::Normal] {
            if let Some(old) =
                found
                    .issues
                    .remove(&format!("mask:{}:{}", ctx.folder(p), slot.stem()))
            {
                found_by.extend(old.found_by);
            }
        }
        found_by.sort();
        found_by.dedup();
        let id = format!("mask_swap:{}", ctx.folder(p));
        let issue = ctx.issue(
            id.clone(),
            IssueKind::MaskSwap,
            Field::Mask,
            p,
            ctx.row_photos(&[ri, rn]),
            "incorrect_mask:incorrect;normal:not wear".into(),
            "incorrect_mask:not wear;normal:incorrect (files swapped)".into(),
            1.0 / (1.0 + (swap - keep).exp()),
            pi.iter().chain(pn).copied().collect(),
            found_by,
            posterior(rates[ctx.group[p]], llr),
        );
        found.issues.insert(id, issue);
    }
}

/// Person level for gender or age bins: a person's photos combined by their mean
/// log-probability, confident learning over people, and a calibrated P(wrong) per person
/// (temperature and noise rate cross-fitted). With `emit`, the flagged people become
/// issues (age judged in years does not emit these; it still records the summary and the
/// flags for `found_by`).
pub(super) fn person_field(
    ctx: &Ctx<'_>,
    field: Field,
    joint: &HashSet<(usize, Field)>,
    emit: bool,
    found: &mut Found,
) -> Result<(), InputError> {
    let (det, photo_det) = match field {
        Field::Gender => (Detector::PersonGender, Detector::PhotoGender),
        _ => (Detector::PersonAge, Detector::PhotoAge),
    };
    let kf = field.num_classes();
    let fp = &ctx.field_probs[&field];
    let people: Vec<usize> = ctx.person_rows.keys().copied().collect();
    let mut mean_log = Vec::with_capacity(people.len() * kf);
    let mut combined = Vec::with_capacity(people.len() * kf);
    let mut plabels = Vec::with_capacity(people.len());
    for &p in &people {
        let rows = &ctx.person_rows[&p];
        let mut lp = vec![0f64; kf];
        for &row in rows {
            for (c, v) in lp.iter_mut().enumerate() {
                *v += fp[row * kf + c].max(LOG_FLOOR).ln() / rows.len() as f64;
            }
        }
        let m = lp.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let z: f64 = lp.iter().map(|v| (v - m).exp()).sum();
        combined.extend(lp.iter().map(|v| (v - m).exp() / z));
        mean_log.extend(lp);
        plabels.push(ctx.person_label(field, p));
    }
    let groups: Vec<usize> = people.iter().map(|&p| ctx.group[p]).collect();
    let (p_wrong, channels) = cross_fit(&Evidence {
        log_probs: &mean_log,
        k: kf,
        labels: &plabels,
        groups: &groups,
    });
    found.calibration.push(Calibration {
        field,
        level: "person",
        temperatures: channels.iter().map(|c| c.temperature).collect(),
        noise_rates: channels.iter().map(|c| c.noise_rate).collect(),
    });
    found.person_p.insert(
        field,
        people
            .iter()
            .copied()
            .zip(p_wrong.iter().copied())
            .collect(),
    );
    if emit {
        found
            .estimated_wrong
            .insert(field, WrongEstimate::of(p_wrong.iter().copied()));
    }

    let find = FindOptions {
        filter_by: ctx.opts.person_filter_by,
        ..ctx.opts.find.clone()
    };
    let (flags, s) = run_cl(det, &plabels, &combined, kf, &find, ctx.opts)?;
    found.runs.extend(s);
    found
        .person_flags
        .insert(field, flags.iter().map(|f| people[f.row]).collect());
    if !emit {
        return Ok(());
    }
    // People flagged by confident learning, and anyone more likely mislabelled than not.
    let cl_rows: HashMap<usize, &Flag> = flags.iter().map(|f| (f.row, f)).collect();
    let photo_set: BTreeSet<String> = found
        .photo_flags
        .get(&photo_det)
        .map(|v| v.iter().cloned().collect())
        .unwrap_or_default();
    for (i, &p) in people.iter().enumerate() {
        let flag = cl_rows.get(&i);
        if flag.is_none() && p_wrong[i] < 0.5 {
            continue;
        }
        let given = plabels[i];
        let row_p = &combined[i * kf..(i + 1) * kf];
        let suggested = flag.map_or_else(|| best_other(row_p, given), |f| f.suggested);
        let score = flag.map_or(row_p[given], |f| f.score);
        let rows = &ctx.person_rows[&p];
        let mut found_by = vec![det];
        if rows
            .iter()
            .any(|&r| photo_set.contains(&ctx.photo_path(ctx.probs.rows[r])))
        {
            found_by.push(photo_det);
        }
        if rows.iter().any(|&r| joint.contains(&(r, field))) {
            found_by.push(Detector::Joint18);
        }
        let age = ctx.labels.people[p].age;
        let id = format!("{}:{}", field.name(), ctx.folder(p));
        let issue = ctx.issue(
            id.clone(),
            issue_kind(field, age, given, suggested, ctx.opts.boundary_years),
            field,
            p,
            ctx.row_photos(rows),
            given_text(field, age, given),
            class_name(field, suggested),
            score,
            row_p.to_vec(),
            found_by,
            p_wrong[i],
        );
        found.issues.insert(id, issue);
    }
    Ok(())
}

/// Age judged in years (see [`super::age_years`]): one issue per person whose given age is
/// more likely wrong than right (`age_gross`) or sits with the model's reading on either
/// side of a boundary (`age_boundary`).
pub(super) fn age_years(
    ctx: &Ctx<'_>,
    photo: &HashMap<Field, Vec<Flag>>,
    joint: &HashSet<(usize, Field)>,
    found: &mut Found,
) {
    let mut readings: Vec<(usize, PersonAge)> = Vec::new();
    for (&p, rows) in &ctx.person_rows {
        let r: Vec<(f64, f64)> = rows.iter().filter_map(|&r| ctx.probs.age_row(r)).collect();
        if let Some(a) = combine_person(&r) {
            readings.push((p, a));
        }
    }
    let n_groups = ctx.group.iter().copied().max().map_or(1, |g| g + 1);
    let models: Vec<YearsModel> = (0..n_groups)
        .map(|g| {
            let train: Vec<(PersonAge, u32)> = readings
                .iter()
                .filter(|(p, _)| ctx.group[*p] != g || n_groups == 1)
                .map(|(p, a)| (*a, ctx.labels.people[*p].age))
                .collect();
            YearsModel::fit(&train)
        })
        .collect();
    found.calibration.push(Calibration {
        field: Field::Age,
        level: "person (years)",
        temperatures: vec![1.0; models.len()],
        noise_rates: models.iter().map(|m| m.noise_rate).collect(),
    });
    let photo_people: BTreeSet<usize> = photo[&Field::Age]
        .iter()
        .map(|f| ctx.probs.rows[f.row].person)
        .collect();
    let bin_people = found
        .person_flags
        .get(&Field::Age)
        .cloned()
        .unwrap_or_default();
    let mut person_p = HashMap::new();
    for (p, a) in &readings {
        let p = *p;
        let given_years = ctx.labels.people[p].age;
        let j = models[ctx.group[p]].judge(a, given_years, ctx.opts.boundary_years);
        person_p.insert(p, j.p_wrong);
        found.age_readings.insert(p, (j.expected, j.sd));
        let kind = match j.verdict(ctx.opts.boundary_years) {
            YearsVerdict::Fits => continue,
            YearsVerdict::Boundary => IssueKind::AgeBoundary,
            YearsVerdict::Gross => IssueKind::AgeGross,
        };
        let rows = &ctx.person_rows[&p];
        let mut found_by = vec![Detector::PersonAgeYears];
        if bin_people.contains(&p) {
            found_by.push(Detector::PersonAge);
        }
        if photo_people.contains(&p) {
            found_by.push(Detector::PhotoAge);
        }
        if rows.iter().any(|&r| joint.contains(&(r, Field::Age))) {
            found_by.push(Detector::Joint18);
        }
        let given = AgeBin::from_years(given_years).index();
        let id = format!("age:{}", ctx.folder(p));
        let mut issue = ctx.issue(
            id.clone(),
            kind,
            Field::Age,
            p,
            ctx.row_photos(rows),
            given_text(Field::Age, given_years, given),
            class_name(Field::Age, j.expected_bin().index()),
            1.0 - j.p_wrong,
            j.bins.to_vec(),
            found_by,
            j.p_wrong,
        );
        issue.years = Some(j);
        found.issues.insert(id, issue);
    }
    found.estimated_wrong.insert(
        Field::Age,
        WrongEstimate {
            units: ctx.person_rows.len(),
            ..WrongEstimate::of(person_p.values().copied())
        },
    );
    found.person_p.insert(Field::Age, person_p);
    found.years_models = models;
}

/// Photo-level gender / age flags on a person no person-level detector flagged: listed as
/// the weaker evidence they are (found_by names only the photo detector), never likely.
/// With age judged in years, a person whose years fit the label gets no such item.
pub(super) fn photo_extras(
    ctx: &Ctx<'_>,
    field: Field,
    photo: &HashMap<Field, Vec<Flag>>,
    joint: &HashSet<(usize, Field)>,
    found: &mut Found,
) {
    let photo_det = match field {
        Field::Gender => Detector::PhotoGender,
        _ => Detector::PhotoAge,
    };
    let years = ctx.probs.age.is_some() && !ctx.opts.ignore_years && field == Field::Age;
    if years {
        return;
    }
    let fp = &ctx.field_probs[&field];
    let kf = field.num_classes();
    let mut by_person: BTreeMap<usize, Vec<&Flag>> = BTreeMap::new();
    for f in &photo[&field] {
        let p = ctx.probs.rows[f.row].person;
        if !found
            .issues
            .contains_key(&format!("{}:{}", field.name(), ctx.folder(p)))
        {
            by_person.entry(p).or_default().push(f);
        }
    }
    for (p, flags) in by_person {
        let Some(worst) = flags.iter().min_by(|a, b| a.score.total_cmp(&b.score)) else {
            continue;
        };
        let given = ctx.person_label(field, p);
        let mut found_by = vec![photo_det];
        if flags.iter().any(|f| joint.contains(&(f.row, field))) {
            found_by.push(Detector::Joint18);
        }
        let age = ctx.labels.people[p].age;
        let p_wrong = found
            .person_p
            .get(&field)
            .and_then(|m| m.get(&p))
            .copied()
            .unwrap_or(0.0);
        let id = format!("{}:{}", field.name(), ctx.folder(p));
        let issue = ctx.issue(
            id.clone(),
            issue_kind(field, age, given, worst.suggested, ctx.opts.boundary_years),
            field,
            p,
            flags
                .iter()
                .map(|f| ctx.photo_path(ctx.probs.rows[f.row]))
                .collect(),
            given_text(field, age, given),
            class_name(field, worst.suggested),
            worst.score,
            fp[worst.row * kf..(worst.row + 1) * kf].to_vec(),
            found_by,
            p_wrong,
        );
        found.issues.insert(id, issue);
    }
}
