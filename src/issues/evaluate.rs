//! Scores found issues against a demo dataset's noise manifest (`<root>/noise.csv`,
//! `path,field,true_value,given_value,kind`): recall per noise kind and precision per
//! field, for image-level (cleanlab per photo) and structure-aware (person level, swaps)
//! detection side by side.

use super::person::{Detector, IssueReport};
use crate::dataset::Field;
use serde::Serialize;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum NoiseFileError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}, line {line}: {reason}")]
    Line {
        path: PathBuf,
        line: usize,
        reason: String,
    },
}

/// One injected error: `path` is a photo path (mask) or a person folder (gender, age).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NoiseEntry {
    pub path: String,
    pub field: Field,
    pub kind: String,
}

impl NoiseEntry {
    /// The person folder the wrong label belongs to (a mask entry names a photo).
    pub fn person_folder(&self) -> String {
        match self.field {
            Field::Mask => person_of(&self.path),
            _ => leaf(&self.path).to_string(),
        }
    }
}

/// The manifest's field for injected noise that is not a label (duplicate identities).
pub const NON_LABEL_FIELD: &str = "identity";

/// The label noise of a manifest (rows of [`NON_LABEL_FIELD`] are left out).
pub fn read_noise_csv(path: &Path) -> Result<Vec<NoiseEntry>, NoiseFileError> {
    let bytes = std::fs::read(path).map_err(|source| NoiseFileError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let bad_at = |line: usize, reason: String| NoiseFileError::Line {
        path: path.to_path_buf(),
        line,
        reason,
    };
    let mut records = super::io::csv_records(&bytes)
        .map_err(|(line, reason)| bad_at(line, reason))?
        .into_iter();
    let mut out = Vec::new();
    let cols = records.next().map(|(_, h)| h).unwrap_or_default();
    let col = |name: &str| cols.iter().position(|c| c == name);
    let (Some(pc), Some(fc), Some(kc)) = (col("path"), col("field"), col("kind")) else {
        return Err(bad_at(
            1,
            "header must have path, field and kind columns".into(),
        ));
    };
    for (line, f) in records {
        let bad = |reason: String| bad_at(line, reason);
        let (Some(p), Some(field), Some(kind)) = (f.get(pc), f.get(fc), f.get(kc)) else {
            return Err(bad(format!("{} columns, expected {}", f.len(), cols.len())));
        };
        // A duplicated identity (one person under two ids) is not a label a model can
        // contradict: it is recorded in the manifest but not scored here.
        if *field == NON_LABEL_FIELD {
            continue;
        }
        let field = Field::parse(field).ok_or_else(|| bad(format!("unknown field {field:?}")))?;
        out.push(NoiseEntry {
            path: p.replace('\\', "/"),
            field,
            kind: kind.to_string(),
        });
    }
    Ok(out)
}

/// Detection quality of one approach on one noise kind.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KindScore {
    pub approach: &'static str,
    pub kind: String,
    pub field: Field,
    pub entries: usize,
    pub found: usize,
    pub recall: f64,
    /// Units (people for gender/age, photos for mask) this approach flagged on the field.
    pub flagged: usize,
    pub true_flags: usize,
    pub precision: f64,
    /// Ranking quality, threshold-free: the mean precision at the rank of each entry of
    /// this kind (entries not flagged add 0).
    pub average_precision: f64,
}

fn person_of(photo: &str) -> String {
    let parts: Vec<&str> = photo.split('/').collect();
    if parts.len() >= 2 {
        parts[parts.len() - 2].to_string()
    } else {
        photo.to_string()
    }
}

/// The last path component (person folders may be given as `train/images/<folder>`).
fn leaf(p: &str) -> &str {
    p.trim_end_matches('/').rsplit('/').next().unwrap_or(p)
}

/// Keeps the first occurrence of each unit, in order.
fn first_occurrences(units: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    units
        .into_iter()
        .filter(|u| seen.insert(u.clone()))
        .collect()
}

/// Average precision of a ranked list at the `entries` it should find: the mean, over the
/// entries, of the precision (hits on any `truth` unit) at the rank where the entry comes;
/// an entry never ranked adds 0.
fn average_precision(ranked: &[String], entries: &[String], truth: &BTreeSet<String>) -> f64 {
    if entries.is_empty() {
        return 0.0;
    }
    let wanted: BTreeSet<&String> = entries.iter().collect();
    let (mut hits, mut sum) = (0usize, 0f64);
    for (k, unit) in ranked.iter().enumerate() {
        if truth.contains(unit) {
            hits += 1;
        }
        if wanted.contains(unit) {
            sum += hits as f64 / (k + 1) as f64;
        }
    }
    sum / wanted.len() as f64
}

/// The two rankings compared: per-photo confident learning, people ranked by their most
/// suspicious photo, and the person-level detectors in their own score order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Approach {
    ImageLevel,
    PersonLevel,
}

impl Approach {
    fn name(self) -> &'static str {
        match self {
            Approach::ImageLevel => "image_level",
            Approach::PersonLevel => "person_level",
        }
    }
}

/// The units (photos for mask, people otherwise) an approach flags on `field`, most
/// suspicious first, each once.
fn ranked_units(report: &IssueReport, approach: Approach, field: Field) -> Vec<String> {
    let photos =
        |d: Detector| -> Vec<String> { report.photo_flags.get(&d).cloned().unwrap_or_default() };
    match approach {
        // The report keeps per-photo flags in rank order.
        Approach::ImageLevel => match field {
            Field::Mask => first_occurrences(photos(Detector::PhotoMask)),
            Field::Gender => {
                first_occurrences(photos(Detector::PhotoGender).iter().map(|p| person_of(p)))
            }
            Field::Age => {
                first_occurrences(photos(Detector::PhotoAge).iter().map(|p| person_of(p)))
            }
        },
        Approach::PersonLevel => {
            let mut found: Vec<(f64, Vec<String>)> = Vec::new();
            for i in report.issues.iter().filter(|i| i.field == field) {
                let counts = match field {
                    Field::Mask => i
                        .found_by
                        .iter()
                        .any(|d| matches!(d, Detector::MaskSwap | Detector::PhotoMask)),
                    _ => i.found_by.iter().any(|d| d.is_person_level()),
                };
                if counts {
                    let units = match field {
                        Field::Mask => i.photos.clone(),
                        _ => vec![i.person.clone()],
                    };
                    found.push((i.score, units));
                }
            }
            found.sort_by(|a, b| a.0.total_cmp(&b.0));
            first_occurrences(found.into_iter().flat_map(|(_, units)| units))
        }
    }
}

/// Compares a report with the manifest. Image level: a person-level entry counts as found
/// when any of the person's photos is flagged on that field by the per-photo run, and
/// people rank by their most suspicious photo. Person level: the people flagged over
/// combined evidence (and swaps with single-photo mask flags), in their own score order.
pub fn evaluate(report: &IssueReport, noise: &[NoiseEntry]) -> Vec<KindScore> {
    let unit_of = |e: &NoiseEntry| -> String {
        match e.field {
            Field::Mask => e.path.clone(),
            _ => leaf(&e.path).to_string(),
        }
    };
    let mut kinds: Vec<(String, Field)> = noise.iter().map(|e| (e.kind.clone(), e.field)).collect();
    kinds.sort();
    kinds.dedup();
    let mut out = Vec::new();
    for approach in [Approach::ImageLevel, Approach::PersonLevel] {
        for (kind, field) in &kinds {
            let ranked = ranked_units(report, approach, *field);
            let units: BTreeSet<String> = ranked.iter().cloned().collect();
            let truth: BTreeSet<String> = noise
                .iter()
                .filter(|e| e.field == *field)
                .map(unit_of)
                .collect();
            let entries: Vec<String> = noise
                .iter()
                .filter(|e| &e.kind == kind && e.field == *field)
                .map(unit_of)
                .collect();
            let found = entries.iter().filter(|u| units.contains(*u)).count();
            let true_flags = units.iter().filter(|u| truth.contains(*u)).count();
            out.push(KindScore {
                approach: approach.name(),
                kind: kind.clone(),
                field: *field,
                entries: entries.len(),
                found,
                recall: if entries.is_empty() {
                    0.0
                } else {
                    found as f64 / entries.len() as f64
                },
                flagged: units.len(),
                true_flags,
                precision: if units.is_empty() {
                    0.0
                } else {
                    true_flags as f64 / units.len() as f64
                },
                average_precision: average_precision(&ranked, &entries, &truth),
            });
        }
    }
    out
}

/// The recall at which issue 11 asks for gender precision.
pub const TARGET_RECALL: f64 = 0.93;

/// A ranking judged wherever the queue is cut: the precision of its first k units (k =
/// the wrong units) and the best precision of a cut that reaches [`TARGET_RECALL`]
/// (`None` when the ranking never does). Under a model whose only evidence is the
/// probabilities, the second figure bounds what any cut of that ranking can give.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RankingScore {
    pub errors: usize,
    pub precision_at_k: f64,
    pub precision_at_target_recall: Option<f64>,
}

impl RankingScore {
    fn of(ranked: &[String], truth: &BTreeSet<String>) -> Self {
        let errors = truth.len();
        let (mut hits, mut at_k, mut best) = (0usize, 0usize, None::<f64>);
        for (i, unit) in ranked.iter().enumerate() {
            if truth.contains(unit) {
                hits += 1;
            }
            if i + 1 == errors {
                at_k = hits;
            }
            if errors > 0 && hits as f64 >= TARGET_RECALL * errors as f64 {
                let precision = hits as f64 / (i + 1) as f64;
                best = Some(best.map_or(precision, |b: f64| b.max(precision)));
            }
        }
        if ranked.len() < errors {
            at_k = hits;
        }
        RankingScore {
            errors,
            precision_at_k: if errors == 0 {
                0.0
            } else {
                at_k as f64 / errors as f64
            },
            precision_at_target_recall: best,
        }
    }

    /// "0.88, 0.80" (precision at k, precision at the target recall; "-" if never reached).
    pub fn text(&self) -> String {
        let at_recall = self
            .precision_at_target_recall
            .map_or("-".to_string(), |p| format!("{p:.2}"));
        format!("{:.2}, {at_recall}", self.precision_at_k)
    }
}

/// Precision and recall of one flagged set against the units it should find.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PrecisionRecall {
    pub flagged: usize,
    pub true_flags: usize,
    pub entries: usize,
    pub found: usize,
}

impl PrecisionRecall {
    fn of(flagged: &BTreeSet<String>, hits: &BTreeSet<String>, entries: &BTreeSet<String>) -> Self {
        PrecisionRecall {
            flagged: flagged.len(),
            true_flags: flagged.iter().filter(|u| hits.contains(*u)).count(),
            entries: entries.len(),
            found: entries.iter().filter(|u| flagged.contains(*u)).count(),
        }
    }
    pub fn precision(&self) -> f64 {
        if self.flagged == 0 {
            0.0
        } else {
            self.true_flags as f64 / self.flagged as f64
        }
    }
    pub fn recall(&self) -> f64 {
        if self.entries == 0 {
            0.0
        } else {
            self.found as f64 / self.entries as f64
        }
    }
    /// "0.88 / 0.93" (precision / recall).
    pub fn text(&self) -> String {
        format!("{:.2} / {:.2}", self.precision(), self.recall())
    }
}

/// What the annotator's queue is worth against the manifest: one approach.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueScore {
    pub approach: &'static str,
    /// Queue items (people per person field, photos for mask, a swap counted once).
    pub items: usize,
    /// Gender, people.
    pub gender: PrecisionRecall,
    /// Age issues called gross, against people with a gross age error.
    pub age_gross: PrecisionRecall,
    /// People with a boundary age error whose issue is called gross.
    pub boundary_as_gross: usize,
    /// Swapped incorrect_mask/normal, photos.
    pub swaps: PrecisionRecall,
}

/// Issue 11's measures, ours beside cleanlab's image level on the same probabilities.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueEvaluation {
    /// People with at least one injected label error.
    pub wrong_people: usize,
    /// The likely tier (what `find-issues --data` writes by default).
    pub likely: QueueScore,
    /// Likely and possible together.
    pub all: QueueScore,
    /// Per-photo confident learning on each field's marginal (cleanlab 2.9's
    /// `find_label_issues` per field, photos combined per person for gender and age; an age
    /// flag is a boundary case when the given age is within 2 years of 30 or 60).
    pub image_level: QueueScore,
    /// The engine's expected number of real errors among the likely items, and the actual.
    pub expected_in_likely: f64,
    pub true_in_likely: usize,
    /// Gender rankings, whatever the cut: every person by the engine's calibrated
    /// probability, and cleanlab's image level (people by their most suspicious photo).
    pub gender_ranking: RankingScore,
    pub image_gender_ranking: RankingScore,
}

/// Scores the review queue the way issue 11 measures it.
pub fn evaluate_queue(report: &IssueReport, noise: &[NoiseEntry]) -> QueueEvaluation {
    use super::person::{IssueKind, Tier};
    let people_with = |pred: &dyn Fn(&NoiseEntry) -> bool| -> BTreeSet<String> {
        noise
            .iter()
            .filter(|e| pred(e))
            .map(NoiseEntry::person_folder)
            .collect()
    };
    let wrong_people = people_with(&|_| true).len();
    let gender_truth = people_with(&|e| e.field == Field::Gender);
    let age_truth = people_with(&|e| e.field == Field::Age);
    let gross_truth = people_with(&|e| e.kind == "age_gross");
    let boundary_truth = people_with(&|e| e.kind == "age_boundary");
    let swap_photos: BTreeSet<String> = noise
        .iter()
        .filter(|e| e.kind == "mask_swap")
        .map(|e| e.path.clone())
        .collect();
    let mask_truth: BTreeSet<String> = noise
        .iter()
        .filter(|e| e.field == Field::Mask)
        .map(|e| e.path.clone())
        .collect();

    let ours = |approach: &'static str, keep: &dyn Fn(Tier) -> bool| -> QueueScore {
        let issues: Vec<_> = report.issues.iter().filter(|i| keep(i.tier)).collect();
        let people = |kind: IssueKind| -> BTreeSet<String> {
            issues
                .iter()
                .filter(|i| i.kind == kind)
                .map(|i| i.person.clone())
                .collect()
        };
        let gross = people(IssueKind::AgeGross);
        let photos: BTreeSet<String> = issues
            .iter()
            .filter(|i| i.kind == IssueKind::MaskSwap)
            .flat_map(|i| i.photos.iter().cloned())
            .collect();
        QueueScore {
            approach,
            items: issues.len(),
            gender: PrecisionRecall::of(&people(IssueKind::Gender), &gender_truth, &gender_truth),
            age_gross: PrecisionRecall::of(&gross, &gross_truth, &gross_truth),
            boundary_as_gross: boundary_truth.intersection(&gross).count(),
            swaps: PrecisionRecall::of(&photos, &mask_truth, &swap_photos),
        }
    };
    let likely = ours("likely", &|t| t == Tier::Likely);
    let all = ours("all", &|_| true);

    let flagged_people = |d: Detector| -> BTreeSet<String> {
        report
            .photo_flags
            .get(&d)
            .map(|v| v.iter().map(|p| person_of(p)).collect())
            .unwrap_or_default()
    };
    let image_gender = flagged_people(Detector::PhotoGender);
    let image_age = flagged_people(Detector::PhotoAge);
    let near_boundary = |folder: &String| {
        crate::dataset::FolderName::parse(folder)
            .is_some_and(|f| f.age.abs_diff(30) <= 2 || f.age.abs_diff(60) <= 2)
    };
    let image_gross: BTreeSet<String> = image_age
        .iter()
        .filter(|p| !near_boundary(p))
        .cloned()
        .collect();
    let image_mask: BTreeSet<String> = report
        .photo_flags
        .get(&Detector::PhotoMask)
        .map(|v| v.iter().cloned().collect())
        .unwrap_or_default();
    let image_level = QueueScore {
        approach: "cleanlab image level",
        items: image_gender.len() + image_age.len() + image_mask.len(),
        gender: PrecisionRecall::of(&image_gender, &gender_truth, &gender_truth),
        age_gross: PrecisionRecall::of(&image_gross, &gross_truth, &gross_truth),
        boundary_as_gross: boundary_truth.intersection(&image_gross).count(),
        swaps: PrecisionRecall::of(&image_mask, &mask_truth, &swap_photos),
    };
    let true_in_likely = report
        .issues
        .iter()
        .filter(|i| i.tier == Tier::Likely)
        .filter(|i| match i.field {
            Field::Gender => gender_truth.contains(&i.person),
            Field::Age => age_truth.contains(&i.person),
            Field::Mask => i.photos.iter().any(|p| mask_truth.contains(p)),
        })
        .count();
    QueueEvaluation {
        wrong_people,
        likely,
        all,
        image_level,
        expected_in_likely: report.expected_in_likely(),
        true_in_likely,
        gender_ranking: RankingScore::of(
            &report
                .person_doubt
                .get(&Field::Gender)
                .map(|d| {
                    d.iter()
                        .map(|(folder, _)| folder.clone())
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default(),
            &gender_truth,
        ),
        image_gender_ranking: RankingScore::of(
            &ranked_units(report, Approach::ImageLevel, Field::Gender),
            &gender_truth,
        ),
    }
}

/// The markdown header of [`queue_row`].
pub const QUEUE_TABLE_HEADER: &str = "| run | wrong people | likely queue (x wrong) | expected / real errors in likely | gender P / R | age_gross P / R | boundary called gross | swaps P / R | gender ranking: P@k, P at R 0.93 |\n|---|---|---|---|---|---|---|---|---|";

/// One markdown row: ours (likely tier) with cleanlab's image level in brackets.
pub fn queue_row(label: &str, e: &QueueEvaluation) -> String {
    let (o, c) = (&e.likely, &e.image_level);
    let ratio = |n: usize| n as f64 / e.wrong_people.max(1) as f64;
    format!(
        "| {label} | {} | {} ({:.2}x) [cl {} ({:.2}x)] | {:.0} / {} | {} [cl {}] | {} [cl {}] | {} [cl {}] | {} [cl {}] | {} [cl {}] |",
        e.wrong_people,
        o.items,
        ratio(o.items),
        c.items,
        ratio(c.items),
        e.expected_in_likely,
        e.true_in_likely,
        o.gender.text(),
        c.gender.text(),
        o.age_gross.text(),
        c.age_gross.text(),
        o.boundary_as_gross,
        c.boundary_as_gross,
        o.swaps.text(),
        c.swaps.text(),
        e.gender_ranking.text(),
        e.image_gender_ranking.text(),
    )
}

pub fn scores_csv(scores: &[KindScore]) -> Vec<u8> {
    let mut s = String::from(
        "approach,kind,field,entries,found,recall,flagged,true_flags,precision,average_precision\n",
    );
    for k in scores {
        s.push_str(&format!(
            "{},{},{},{},{},{:.4},{},{},{:.4},{:.4}\n",
            k.approach,
            k.kind,
            k.field.name(),
            k.entries,
            k.found,
            k.recall,
            k.flagged,
            k.true_flags,
            k.precision,
            k.average_precision
        ));
    }
    s.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn average_precision_counts_every_true_unit_and_misses_as_zero() {
        let s = |v: &[&str]| v.iter().map(|u| u.to_string()).collect::<Vec<_>>();
        let truth: BTreeSet<String> = s(&["a", "b", "c"]).into_iter().collect();
        // a at rank 1 (1/1), b at rank 4 (3/4): c is another kind's unit but still a hit.
        let ap = average_precision(&s(&["a", "x", "c", "b"]), &s(&["a", "b"]), &truth);
        assert!((ap - (1.0 + 3.0 / 4.0) / 2.0).abs() < 1e-12, "{ap}");
        // An entry never ranked counts 0.
        let ap = average_precision(&s(&["a", "x"]), &s(&["a", "b"]), &truth);
        assert!((ap - 0.5).abs() < 1e-12, "{ap}");
        assert_eq!(average_precision(&s(&["a"]), &[], &truth), 0.0);
        assert_eq!(
            first_occurrences(s(&["p", "q", "p", "r"])),
            s(&["p", "q", "r"])
        );
    }

    #[test]
    fn ranking_scores_precision_at_k_and_the_best_cut_reaching_the_target_recall() {
        let s = |v: &[&str]| v.iter().map(|u| u.to_string()).collect::<Vec<_>>();
        let truth: BTreeSet<String> = s(&["a", "b", "c"]).into_iter().collect();
        // k = 3: a, x, b -> 2/3. Recall 3/3 first at rank 5 (3/5), the only cut reaching 0.93.
        let r = RankingScore::of(&s(&["a", "x", "b", "y", "c", "z"]), &truth);
        assert_eq!(r.errors, 3);
        assert!((r.precision_at_k - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(r.precision_at_target_recall, Some(0.6));
        assert_eq!(r.text(), "0.67, 0.60");
        // A ranking that never reaches the recall has no such cut, and a short one counts
        // its hits over k.
        let r = RankingScore::of(&s(&["a", "b"]), &truth);
        assert_eq!(r.precision_at_target_recall, None);
        assert!((r.precision_at_k - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(r.text(), "0.67, -");
    }

    #[test]
    fn manifest_skips_identity_rows_and_names_bad_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("noise.csv");
        std::fs::write(
            &path,
            "path,field,true_value,given_value,kind\n\
             train/images/000107_male_Asian_20,gender,female,male,gender_flip\n\
             train/images/000431_female_Asian_52,identity,000400_female_Asian_52,000431_female_Asian_52,duplicate_identity\n\
             train/images/000120_female_Asian_24/normal.jpg,mask,incorrect,not wear,mask_swap\n",
        )
        .unwrap();
        let entries = read_noise_csv(&path).unwrap();
        let kinds: Vec<&str> = entries.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, ["gender_flip", "mask_swap"]);
        assert_eq!(entries[1].field, Field::Mask);

        std::fs::write(&path, "path,field,kind\na,colour,x\n").unwrap();
        let err = read_noise_csv(&path).unwrap_err().to_string();
        assert!(
            err.contains("noise.csv, line 2") && err.contains("colour"),
            "{err}"
        );
    }
}
