//! Photo checks: what is wrong with a photo itself rather than its label. Dark, light,
//! blurred, low-information, grayscale, odd-shaped and odd-sized photos, and the same
//! photo filed twice (exact duplicates: the same file; near duplicates: the same picture
//! re-encoded or slightly changed).
//!
//! The properties and thresholds are cleanvision 0.3.7's defaults ([`measure`]); what
//! this dataset's structure adds:
//! - seven photos of one person taken in one sitting look alike, so near duplicates are
//!   only reported **across people** (a generic tool reports every person as a set); two
//!   people sharing a picture are one person under two ids, or a photo in the wrong folder;
//! - an exact duplicate inside one person is a slot that holds another slot's file: when
//!   the two slots carry different mask labels one of them is certainly wrong;
//! - a property that flags more than [`MAX_PREVALENCE`] of the photos describes the whole
//!   dataset (a dim studio, a small camera), not single photos: it is reported once as a
//!   note instead of flagging thousands of photos (cleanlab's Datalab does the same); so
//!   is one picture filed as more than that share of the photos, or
//!   [`PLACEHOLDER_PHOTOS`] times or more (a placeholder tree).
//!
//! [`check_dataset`] measures every photo on worker threads (through the one decode path,
//! [`crate::thumbs::decode`]), reusing the measures saved for unchanged files
//! ([`store`]); [`judge`] turns measures into a [`PhotoReport`]. Pure: no GUI, no torch.

pub mod measure;
pub mod store;

use crate::dataset::parallel::par_map;
use crate::dataset::{Dataset, PhotoRef};
use crate::thumbs::decode;
use crate::thumbs::SourceStamp;
use measure::Measures;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

/// A property flagging more than this share of the photos is a note about the dataset.
pub const MAX_PREVALENCE: f64 = 0.1;

/// One picture filed this many times is a placeholder, not a misfiled photo: a photo in
/// the wrong folder, or a person under two ids, gives a handful of copies.
pub const PLACEHOLDER_PHOTOS: usize = 50;

/// Two photos whose perceptual hashes differ in at most this many of 256 bits show the
/// same picture. Measured on the demo (docs/photo-checks.md): a photo re-encoded at JPEG
/// quality 50 or halved in size stays within 6 bits; of the 178 million pairs of photos
/// of different people in a 2,700-person demo none came within 8 bits, 3 within 10.
pub const NEAR_DUPLICATE_BITS: u32 = 8;

/// The photos are decoded at most this large (half of the dataset's 384 x 512).
const MEASURE_W: u32 = 192;
const MEASURE_H: u32 = 256;

/// What a photo check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CheckKind {
    Dark,
    Light,
    Blurry,
    LowInformation,
    Grayscale,
    OddAspectRatio,
    OddSize,
    ExactDuplicate,
    NearDuplicate,
}

impl CheckKind {
    pub const ALL: [CheckKind; 9] = [
        CheckKind::ExactDuplicate,
        CheckKind::NearDuplicate,
        CheckKind::Dark,
        CheckKind::Light,
        CheckKind::Blurry,
        CheckKind::LowInformation,
        CheckKind::Grayscale,
        CheckKind::OddAspectRatio,
        CheckKind::OddSize,
    ];
    /// The word in CSVs and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            CheckKind::Dark => "dark",
            CheckKind::Light => "light",
            CheckKind::Blurry => "blurry",
            CheckKind::LowInformation => "low_information",
            CheckKind::Grayscale => "grayscale",
            CheckKind::OddAspectRatio => "odd_aspect_ratio",
            CheckKind::OddSize => "odd_size",
            CheckKind::ExactDuplicate => "exact_duplicate",
            CheckKind::NearDuplicate => "near_duplicate",
        }
    }
    /// The note for a kind left out as common to the dataset ([`PhotoReport::dataset_wide`]):
    /// "210 photos are almost blank", "18900 photos are one file (a placeholder?)".
    pub fn common_text(self, photos: usize) -> String {
        match self {
            CheckKind::ExactDuplicate => format!("{photos} photos are one file (a placeholder?)"),
            CheckKind::NearDuplicate => {
                format!("{photos} photos show one picture (a placeholder?)")
            }
            other => format!("{photos} photos are {}", other.title()),
        }
    }
    /// A heading for people.
    pub fn title(self) -> &'static str {
        match self {
            CheckKind::Dark => "dark",
            CheckKind::Light => "overexposed",
            CheckKind::Blurry => "blurred",
            CheckKind::LowInformation => "almost blank",
            CheckKind::Grayscale => "grayscale",
            CheckKind::OddAspectRatio => "odd shape",
            CheckKind::OddSize => "odd size",
            CheckKind::ExactDuplicate => "same file as another photo",
            CheckKind::NearDuplicate => "same picture as another person's photo",
        }
    }
    pub fn is_duplicate(self) -> bool {
        matches!(self, CheckKind::ExactDuplicate | CheckKind::NearDuplicate)
    }
}

/// One flagged photo. `score` follows cleanvision: 0..1, lower is worse, flagged below
/// the kind's threshold (for duplicates: the share of hash bits that agree).
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub photo: PhotoRef,
    pub kind: CheckKind,
    pub score: f32,
    /// Index into [`PhotoReport::groups`] for duplicates.
    pub group: Option<usize>,
}

/// Photos that are one file or one picture.
#[derive(Debug, Clone, PartialEq)]
pub struct DuplicateGroup {
    pub kind: CheckKind,
    /// In dataset order.
    pub photos: Vec<PhotoRef>,
    /// How many different people the photos belong to.
    pub people: usize,
}

impl DuplicateGroup {
    /// A group inside one person whose slots carry different mask labels: one of them
    /// is wrong whatever the picture shows.
    pub fn mask_labels_disagree(&self) -> bool {
        self.people == 1
            && self
                .photos
                .windows(2)
                .any(|w| w[0].slot.mask() != w[1].slot.mask())
    }
}

/// The thresholds (cleanvision 0.3.7's defaults).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    pub dark: f32,
    pub light: f32,
    pub odd_aspect_ratio: f32,
    pub low_information: f32,
    pub low_information_factor: f32,
    pub blurry: f32,
    pub blurry_factor: f32,
    pub blurry_colour: f32,
    pub odd_size_iqr: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            dark: 0.32,
            light: 0.05,
            odd_aspect_ratio: 0.35,
            low_information: 0.3,
            low_information_factor: 0.1,
            blurry: 0.29,
            blurry_factor: 0.01,
            blurry_colour: 0.18,
            odd_size_iqr: 3.0,
        }
    }
}

/// One photo as measured: its file's digest and length, and its pixels' measures, or why
/// it could not be read.
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    pub photo: PhotoRef,
    pub result: Result<FileMeasures, String>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FileMeasures {
    pub digest: u64,
    pub len: u64,
    pub measures: Measures,
}

/// Everything the photo checks found in a dataset.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PhotoReport {
    /// Photos measured (readable ones).
    pub checked: usize,
    /// Photos that could not be read or decoded, with the reason.
    pub unreadable: Vec<(PhotoRef, String)>,
    /// Flagged photos, worst first within each kind, kinds in [`CheckKind::ALL`] order.
    pub findings: Vec<Finding>,
    pub groups: Vec<DuplicateGroup>,
    /// Properties left out because they flagged more than [`MAX_PREVALENCE`] of the
    /// photos: the kind and how many photos it would have flagged.
    pub dataset_wide: Vec<(CheckKind, usize)>,
    /// Sets of near-duplicate photos inside single people: not reported (photos of one
    /// sitting look alike), counted to compare with tools that report them.
    pub within_person_near_sets: usize,
    /// Photos whose measures were reused from the saved ones (unchanged files).
    pub reused: usize,
    /// The people with a flagged photo, sorted (the grid filters on it every refresh).
    pub flagged_people: Vec<usize>,
}

impl PhotoReport {
    pub fn count(&self, kind: CheckKind) -> usize {
        self.findings.iter().filter(|f| f.kind == kind).count()
    }
    /// The findings about one photo.
    pub fn of_photo(&self, photo: PhotoRef) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(move |f| f.photo == photo)
    }
    /// Whether any photo of person `person` is flagged.
    pub fn flags_person(&self, person: usize) -> bool {
        self.flagged_people.binary_search(&person).is_ok()
    }
    /// The other photos of a finding's duplicate group.
    pub fn others(&self, finding: &Finding) -> Vec<PhotoRef> {
        finding
            .group
            .and_then(|g| self.groups.get(g))
            .map(|g| {
                g.photos
                    .iter()
                    .copied()
                    .filter(|&p| p != finding.photo)
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// What a finding adds to its kind, for people: the other photos of a duplicate (paths
/// relative to the root), and whether the mask labels of an exact duplicate disagree.
/// Empty for the other kinds.
pub fn describe(dataset: &Dataset, report: &PhotoReport, f: &Finding) -> String {
    // A picture filed many times names a few of the others (every one has its own row).
    const NAMED: usize = 5;
    let others = report.others(f);
    let mut named: Vec<String> = others
        .iter()
        .take(NAMED)
        .filter_map(|&o| dataset.photo(o))
        .map(|p| p.rel_path.display().to_string())
        .collect();
    if others.len() > NAMED {
        named.push(format!("and {} more", others.len() - NAMED));
    }
    let others = named.join(" ");
    let group = f.group.and_then(|g| report.groups.get(g));
    match (f.kind, group) {
        (CheckKind::ExactDuplicate, Some(g)) if g.mask_labels_disagree() => {
            format!("same file as {others}; their mask labels differ, so one of them is wrong")
        }
        (CheckKind::ExactDuplicate, Some(_)) => format!("same file as {others}"),
        (CheckKind::NearDuplicate, Some(_)) => format!("same picture as {others}"),
        _ => String::new(),
    }
}

/// Measures the file at `path`: reads it (bounded), decodes it at half size through the
/// one decode path, and measures the pixels.
pub fn measure_file(path: &Path) -> Result<FileMeasures, String> {
    let bytes = decode::read_photo(path).map_err(|e| e.to_string())?;
    let ((source_w, source_h), small) =
        decode::decode_fitted(path, &bytes, MEASURE_W, MEASURE_H).map_err(|e| e.to_string())?;
    Ok(FileMeasures {
        digest: measure::file_digest(&bytes),
        len: bytes.len() as u64,
        measures: measure::measure(source_w, source_h, &small.rgba, small.width, small.height),
    })
}

/// Measures every training photo of `dataset` on `threads` threads (0: all cores) and
/// judges them. With `saved` (a [`store`] file), unchanged files reuse their saved
/// measures and the measures are saved back. `progress(done, total)`; `None` when
/// cancelled.
pub fn check_dataset(
    dataset: &Dataset,
    saved: Option<&Path>,
    threads: usize,
    cancel: Option<&AtomicBool>,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Option<Result<PhotoReport, store::StoreError>> {
    let refs: Vec<(PhotoRef, PathBuf)> = dataset
        .photo_refs()
        .filter_map(|r| Some((r, dataset.photo(r)?.rel_path.clone())))
        .collect();
    // A damaged store file is only a lost cache: measure everything again.
    let previous = saved.map(store::load).unwrap_or_default();
    let total = refs.len();
    let reused = std::sync::atomic::AtomicUsize::new(0);
    let results = par_map(
        &refs,
        threads,
        cancel,
        &|done| progress(done, total),
        |(r, rel)| {
            let path = dataset.root.join(rel);
            let stamp = std::fs::metadata(&path).ok().map(|m| SourceStamp::of(&m));
            if let (Some(stamp), Some((was, kept))) = (stamp, previous.get(rel)) {
                if *was == stamp {
                    reused.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    return (
                        Measured {
                            photo: *r,
                            result: Ok(*kept),
                        },
                        Some((rel.clone(), stamp, *kept)),
                    );
                }
            }
            let result = measure_file(&path);
            let keep = match (&result, stamp) {
                (Ok(m), Some(stamp)) => Some((rel.clone(), stamp, *m)),
                _ => None,
            };
            (Measured { photo: *r, result }, keep)
        },
    )?;
    let (measured, keep): (Vec<Measured>, Vec<_>) = results.into_iter().unzip();
    let rows: Vec<_> = keep.into_iter().flatten().collect();
    let reused = reused.into_inner();
    // Rewritten only when a photo was measured anew or one is gone: opening an unchanged
    // dataset writes nothing.
    let unchanged = reused == rows.len() && rows.len() == previous.len();
    if let (Some(path), false) = (saved, unchanged) {
        if let Err(e) = store::save(path, &rows) {
            return Some(Err(e));
        }
    }
    let mut report = judge(&measured, &Thresholds::default());
    report.reused = reused;
    Some(Ok(report))
}

/// Judges measured photos (in dataset order) against `t`.
pub fn judge(measured: &[Measured], t: &Thresholds) -> PhotoReport {
    let mut report = PhotoReport::default();
    let ok: Vec<(PhotoRef, &FileMeasures)> = measured
        .iter()
        .filter_map(|m| match &m.result {
            Ok(fm) => Some((m.photo, fm)),
            Err(reason) => {
                report.unreadable.push((m.photo, reason.clone()));
                None
            }
        })
        .collect();
    report.checked = ok.len();

    let hashes: HashMap<PhotoRef, measure::PHash> =
        ok.iter().map(|(r, m)| (*r, m.measures.phash)).collect();
    let (exact, near, within) = duplicate_groups(&ok);
    report.within_person_near_sets = within;
    for group in exact.into_iter().chain(near) {
        // One picture under a large share of the photos, or under many whole people, is
        // a placeholder (a tree of stand-in files), not hundreds of misfiled photos: one
        // note.
        let common = group.photos.len() as f64 > MAX_PREVALENCE * ok.len() as f64
            || group.photos.len() >= PLACEHOLDER_PHOTOS;
        if common {
            match report
                .dataset_wide
                .iter_mut()
                .find(|(k, _)| *k == group.kind)
            {
                Some((_, n)) => *n += group.photos.len(),
                None => report.dataset_wide.push((group.kind, group.photos.len())),
            }
            continue;
        }
        let g = report.groups.len();
        for &photo in &group.photos {
            let score = match group.kind {
                CheckKind::NearDuplicate => {
                    let closest = group
                        .photos
                        .iter()
                        .filter(|o| o.person != photo.person)
                        .map(|o| measure::hash_distance(&hashes[&photo], &hashes[o]))
                        .min()
                        .unwrap_or(0);
                    1.0 - closest as f32 / 256.0
                }
                _ => 0.0,
            };
            report.findings.push(Finding {
                photo,
                kind: group.kind,
                score,
                group: Some(g),
            });
        }
        report.groups.push(group);
    }

    let sizes: Vec<f64> = ok
        .iter()
        .map(|(_, m)| (f64::from(m.measures.width) * f64::from(m.measures.height)).sqrt())
        .collect();
    let size_score = odd_size_scorer(&sizes, t.odd_size_iqr);
    for kind in CheckKind::ALL.into_iter().filter(|k| !k.is_duplicate()) {
        let mut flagged: Vec<Finding> = ok
            .iter()
            .zip(&sizes)
            .filter_map(|(&(photo, fm), &size)| {
                let m = &fm.measures;
                let (score, threshold) = match kind {
                    CheckKind::Dark => (m.brightness_p99, t.dark),
                    CheckKind::Light => (1.0 - m.brightness_p5, t.light),
                    CheckKind::Blurry => (blur_score(m, t), t.blurry),
                    CheckKind::LowInformation => (
                        (m.entropy * t.low_information_factor).min(1.0),
                        t.low_information,
                    ),
                    // A photo washed out to white or sunk to black has lost its colour
                    // too; its problem is the exposure, flagged as such.
                    CheckKind::Grayscale => {
                        let exposure = m.brightness_p99 < t.dark || 1.0 - m.brightness_p5 < t.light;
                        (if m.grayscale && !exposure { 0.0 } else { 1.0 }, 0.5)
                    }
                    CheckKind::OddAspectRatio => {
                        let (w, h) = (m.width as f32, m.height as f32);
                        ((w / h).min(h / w), t.odd_aspect_ratio)
                    }
                    CheckKind::OddSize => size_score(size),
                    CheckKind::ExactDuplicate | CheckKind::NearDuplicate => return None,
                };
                (score < threshold).then_some(Finding {
                    photo,
                    kind,
                    score,
                    group: None,
                })
            })
            .collect();
        if flagged.len() as f64 > MAX_PREVALENCE * ok.len() as f64 {
            report.dataset_wide.push((kind, flagged.len()));
            continue;
        }
        flagged.sort_by(|a, b| a.score.total_cmp(&b.score).then(a.photo.cmp(&b.photo)));
        report.findings.extend(flagged);
    }
    report.flagged_people = report.findings.iter().map(|f| f.photo.person).collect();
    report.flagged_people.sort_unstable();
    report.flagged_people.dedup();
    report
}

/// cleanvision's blur score: edge strength, plus the histogram spread when a photo's
/// gray levels are few (a flat picture is not a blurred one), capped at 1.
fn blur_score(m: &Measures, t: &Thresholds) -> f32 {
    let blur = 1.0 - (-m.edge_std * t.blurry_factor).exp();
    let spread = 1.0 - (-m.gray_hist_std * t.blurry_factor).exp();
    let spread = if spread <= t.blurry_colour {
        0.0
    } else {
        spread
    };
    (blur + spread).min(1.0)
}

/// cleanvision's odd-size rule on sqrt(area): a size is odd outside
/// [Q1 − k·IQR, Q3 + k·IQR]; when every photo has one size (the IQR is 0), any other size
/// is odd. Returns (score, threshold) for a size.
fn odd_size_scorer(sizes: &[f64], k: f64) -> impl Fn(f64) -> (f32, f32) {
    let mut sorted = sizes.to_vec();
    sorted.sort_by(f64::total_cmp);
    let q = |p: f64| crate::stats::quantile_sorted(&sorted, p).unwrap_or(0.0);
    let (q1, q3) = (q(0.25), q(0.75));
    let (min, max) = (q1 - k * (q3 - q1), q3 + k * (q3 - q1));
    let (mid, gap) = ((min + max) / 2.0, max - min);
    move |size| {
        let (norm, threshold) = if gap > 0.0 {
            (gap, 0.5)
        } else {
            (mid.max(f64::MIN_POSITIVE), 1.0)
        };
        let score = 1.0 - ((size - mid).abs() / norm).clamp(0.0, 1.0);
        (score as f32, threshold)
    }
}

/// Groups photos that share a file (same length and digest) and, across people, photos
/// whose hashes are within [`NEAR_DUPLICATE_BITS`]. Returns the exact groups, the near
/// groups (those spanning several people and not already one exact group), and the
/// number of near-duplicate sets found inside single people.
fn duplicate_groups(
    ok: &[(PhotoRef, &FileMeasures)],
) -> (Vec<DuplicateGroup>, Vec<DuplicateGroup>, usize) {
    let mut by_file: HashMap<(u64, u64), Vec<PhotoRef>> = HashMap::new();
    for (photo, fm) in ok {
        by_file.entry((fm.len, fm.digest)).or_default().push(*photo);
    }
    let mut exact: Vec<DuplicateGroup> = by_file
        .into_values()
        .filter(|photos| photos.len() > 1)
        .map(|mut photos| {
            photos.sort();
            DuplicateGroup {
                kind: CheckKind::ExactDuplicate,
                people: distinct_people(&photos),
                photos,
            }
        })
        .collect();
    exact.sort_by(|a, b| a.photos.cmp(&b.photos));

    // Union-find over near pairs, one forest for pairs across people (reported) and one
    // for pairs inside a person (counted). All pairs are compared, a popcount each:
    // 18,900 photos take well under a second.
    let n = ok.len();
    let mut across: Vec<usize> = (0..n).collect();
    let mut inside: Vec<usize> = (0..n).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    fn join(parent: &mut [usize], i: usize, j: usize) {
        let (a, b) = (root(parent, i), root(parent, j));
        if a != b {
            parent[b] = a;
        }
    }
    for i in 0..n {
        let hi = &ok[i].1.measures.phash;
        if *hi == measure::NO_HASH {
            continue;
        }
        for j in i + 1..n {
            if measure::hash_distance(hi, &ok[j].1.measures.phash) <= NEAR_DUPLICATE_BITS {
                let forest = if ok[i].0.person == ok[j].0.person {
                    &mut inside
                } else {
                    &mut across
                };
                join(forest, i, j);
            }
        }
    }
    let sets = |parent: &mut [usize]| -> Vec<Vec<PhotoRef>> {
        let mut sets: HashMap<usize, Vec<PhotoRef>> = HashMap::new();
        for (i, (photo, _)) in ok.iter().enumerate() {
            let r = root(parent, i);
            sets.entry(r).or_default().push(*photo);
        }
        sets.into_values().filter(|s| s.len() > 1).collect()
    };
    let within = sets(&mut inside).len();
    let mut near: Vec<DuplicateGroup> = sets(&mut across)
        .into_iter()
        .filter_map(|mut photos| {
            photos.sort();
            let whole_exact = exact.iter().any(|g| g.photos == photos);
            (!whole_exact).then(|| DuplicateGroup {
                kind: CheckKind::NearDuplicate,
                people: distinct_people(&photos),
                photos,
            })
        })
        .collect();
    near.sort_by(|a, b| a.photos.cmp(&b.photos));
    (exact, near, within)
}

fn distinct_people(photos: &[PhotoRef]) -> usize {
    let mut people: Vec<usize> = photos.iter().map(|p| p.person).collect();
    people.sort_unstable();
    people.dedup();
    people.len()
}

#[cfg(test)]
mod tests;
