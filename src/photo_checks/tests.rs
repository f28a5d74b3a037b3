use super::*;
use crate::dataset::Slot;

fn fine(phash: measure::PHash) -> Measures {
    Measures {
        width: 384,
        height: 512,
        brightness_p99: 0.85,
        brightness_p5: 0.12,
        entropy: 7.4,
        edge_std: 60.0,
        gray_hist_std: 10.0,
        grayscale: false,
        phash,
    }
}

/// `people` people of seven photos each, every photo fine, hashes far apart across people
/// and 32 bits apart inside one (one sitting: the pose moves, the picture is another).
fn dataset(people: usize) -> Vec<Measured> {
    (0..people)
        .flat_map(|p| {
            Slot::ALL.into_iter().map(move |slot| {
                // One random-looking base per person; each slot flips its own 32 bits.
                let base = |k: u64| (p as u64 * 4 + k + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
                let mut phash = [base(0), base(1), base(2), base(3)];
                phash[slot.index() / 2] ^= 0xffff_ffff << (32 * (slot.index() % 2));
                Measured {
                    photo: PhotoRef { person: p, slot },
                    result: Ok(FileMeasures {
                        digest: (p * 7 + slot.index()) as u64,
                        len: 30_000,
                        measures: fine(phash),
                    }),
                }
            })
        })
        .collect()
}

fn at(set: &mut [Measured], person: usize, slot: Slot) -> &mut FileMeasures {
    let m = set
        .iter_mut()
        .find(|m| m.photo == PhotoRef { person, slot })
        .unwrap();
    m.result.as_mut().unwrap()
}

#[test]
fn a_fine_dataset_has_no_findings_and_sittings_are_not_duplicates() {
    let mut set = dataset(30);
    // Person 5 sat still: its seven photos are one picture to a perceptual hash, which
    // a generic tool reports as a near-duplicate set.
    let still = at(&mut set, 5, Slot::Mask1).measures.phash;
    for slot in Slot::ALL {
        let mut h = still;
        h[0] ^= slot.index() as u64;
        at(&mut set, 5, slot).measures.phash = h;
    }
    let r = judge(&set, &Thresholds::default());
    assert_eq!(r.checked, 210);
    assert!(r.findings.is_empty(), "{:?}", r.findings);
    assert!(r.groups.is_empty());
    assert_eq!(r.within_person_near_sets, 1);
}

#[test]
fn each_property_flags_the_photo_that_has_it() {
    let mut set = dataset(30);
    at(&mut set, 1, Slot::Mask1).measures.brightness_p99 = 0.2;
    let washed_out = &mut at(&mut set, 2, Slot::Normal).measures;
    washed_out.brightness_p5 = 0.97;
    // Washed out to white, it has no colour left either: flagged as light only.
    washed_out.grayscale = true;
    at(&mut set, 3, Slot::Mask2).measures.edge_std = 10.0;
    at(&mut set, 4, Slot::Mask3).measures.entropy = 2.0;
    at(&mut set, 5, Slot::Mask4).measures.grayscale = true;
    let odd = at(&mut set, 6, Slot::Mask5);
    odd.measures.width = 1000;
    odd.measures.height = 200;
    at(&mut set, 7, Slot::Incorrect).measures.width = 380;
    let r = judge(&set, &Thresholds::default());
    let got: Vec<(CheckKind, usize, Slot)> = r
        .findings
        .iter()
        .map(|f| (f.kind, f.photo.person, f.photo.slot))
        .collect();
    assert!(got.contains(&(CheckKind::Dark, 1, Slot::Mask1)), "{got:?}");
    assert!(
        got.contains(&(CheckKind::Light, 2, Slot::Normal)),
        "{got:?}"
    );
    assert!(
        got.contains(&(CheckKind::Blurry, 3, Slot::Mask2)),
        "{got:?}"
    );
    assert!(
        got.contains(&(CheckKind::LowInformation, 4, Slot::Mask3)),
        "{got:?}"
    );
    assert!(
        got.contains(&(CheckKind::Grayscale, 5, Slot::Mask4)),
        "{got:?}"
    );
    assert!(
        got.contains(&(CheckKind::OddAspectRatio, 6, Slot::Mask5)),
        "{got:?}"
    );
    // All other photos are 384 x 512 (IQR 0), so any other size is odd.
    assert!(
        got.contains(&(CheckKind::OddSize, 6, Slot::Mask5)),
        "{got:?}"
    );
    assert!(
        got.contains(&(CheckKind::OddSize, 7, Slot::Incorrect)),
        "{got:?}"
    );
    assert_eq!(got.len(), 8, "{got:?}");
    assert!(r.flags_person(3) && !r.flags_person(0));
}

#[test]
fn a_dark_photo_with_few_gray_levels_is_dark_not_blurred() {
    // cleanvision: a histogram concentrated on few levels (std above the colour
    // threshold) keeps the blur score up.
    let mut set = dataset(20);
    let m = &mut at(&mut set, 0, Slot::Mask1).measures;
    m.edge_std = 5.0;
    m.gray_hist_std = 150.0;
    let r = judge(&set, &Thresholds::default());
    assert_eq!(r.count(CheckKind::Blurry), 0, "{:?}", r.findings);
}

#[test]
fn a_property_common_to_the_dataset_is_one_note_not_many_flags() {
    let mut set = dataset(20);
    for m in set.iter_mut().take(30) {
        m.result.as_mut().unwrap().measures.brightness_p99 = 0.25;
    }
    let r = judge(&set, &Thresholds::default());
    assert_eq!(r.count(CheckKind::Dark), 0);
    assert_eq!(r.dataset_wide, vec![(CheckKind::Dark, 30)]);
    // At 10% or below it flags photos.
    let mut set = dataset(20);
    for m in set.iter_mut().take(14) {
        m.result.as_mut().unwrap().measures.brightness_p99 = 0.25;
    }
    assert_eq!(
        judge(&set, &Thresholds::default()).count(CheckKind::Dark),
        14
    );
}

#[test]
fn one_picture_under_most_photos_is_a_note_not_thousands_of_duplicates() {
    // A placeholder tree: 80 of 140 photos are one file; two others share a file too.
    let mut set = dataset(20);
    let placeholder = *at(&mut set, 0, Slot::Mask1);
    for m in set.iter_mut().take(80) {
        m.result = Ok(placeholder);
    }
    let copied = *at(&mut set, 15, Slot::Normal);
    *at(&mut set, 16, Slot::Normal) = copied;
    let r = judge(&set, &Thresholds::default());
    assert_eq!(r.dataset_wide, vec![(CheckKind::ExactDuplicate, 80)]);
    assert_eq!(r.groups.len(), 1, "{:?}", r.groups);
    assert_eq!(r.groups[0].people, 2);
    assert_eq!(r.count(CheckKind::ExactDuplicate), 2);
    assert!(
        r.flagged_people.iter().all(|&p| p == 15 || p == 16),
        "{:?}",
        r.flagged_people
    );

    // In a larger dataset a picture under fewer than 10% of the photos but filed 50
    // times is a placeholder too; 49 copies are still flagged one by one.
    for copies in [50, 49] {
        let mut set = dataset(100);
        let placeholder = *at(&mut set, 0, Slot::Mask1);
        for m in set.iter_mut().take(copies) {
            m.result = Ok(placeholder);
        }
        let r = judge(&set, &Thresholds::default());
        let flagged = r.count(CheckKind::ExactDuplicate);
        if copies == 50 {
            assert_eq!(r.dataset_wide, vec![(CheckKind::ExactDuplicate, 50)]);
            assert_eq!(flagged, 0);
        } else {
            assert!(r.dataset_wide.is_empty());
            assert_eq!(flagged, 49);
        }
    }
}

#[test]
fn duplicates_across_people_are_reported_and_inside_one_by_file_only() {
    let mut set = dataset(30);
    // Person 4's mask3 is person 9's mask3 re-encoded: hash 8 bits off, another file.
    let mut theirs = at(&mut set, 9, Slot::Mask3).measures.phash;
    theirs[3] ^= 0xff << 20;
    at(&mut set, 4, Slot::Mask3).measures.phash = theirs;
    // Person 12's normal file was copied over its incorrect_mask slot.
    let copied = *at(&mut set, 12, Slot::Normal);
    *at(&mut set, 12, Slot::Incorrect) = copied;
    let r = judge(&set, &Thresholds::default());

    assert_eq!(r.groups.len(), 2, "{:?}", r.groups);
    let exact = &r.groups[0];
    assert_eq!(exact.kind, CheckKind::ExactDuplicate);
    assert_eq!(exact.people, 1);
    assert!(exact.mask_labels_disagree());
    let near = &r.groups[1];
    assert_eq!(near.kind, CheckKind::NearDuplicate);
    assert_eq!(
        near.photos,
        vec![
            PhotoRef {
                person: 4,
                slot: Slot::Mask3
            },
            PhotoRef {
                person: 9,
                slot: Slot::Mask3
            }
        ]
    );
    assert_eq!(near.people, 2);
    let f = r
        .of_photo(PhotoRef {
            person: 4,
            slot: Slot::Mask3,
        })
        .next()
        .unwrap();
    assert_eq!(f.kind, CheckKind::NearDuplicate);
    assert!((f.score - 248.0 / 256.0).abs() < 1e-6);
    assert_eq!(
        r.others(f),
        vec![PhotoRef {
            person: 9,
            slot: Slot::Mask3
        }]
    );
    assert_eq!(r.count(CheckKind::ExactDuplicate), 2);
}

#[test]
fn unreadable_photos_are_listed_not_judged() {
    let mut set = dataset(10);
    set[3].result = Err("corrupt JPEG".into());
    let r = judge(&set, &Thresholds::default());
    assert_eq!(r.checked, 69);
    assert_eq!(
        r.unreadable,
        vec![(set[3].photo, "corrupt JPEG".to_string())]
    );
}

#[test]
fn a_raised_cancel_flag_stops_the_check_before_any_photo() {
    use crate::dataset::{Dataset, Gender, Person};
    let dataset = Dataset {
        root: std::path::PathBuf::from("/nonexistent"),
        people: vec![Person::with_all_photos("000001", Gender::Female, 30)],
        ..Dataset::default()
    };
    let stop = AtomicBool::new(true);
    let touched = std::sync::atomic::AtomicUsize::new(0);
    let out = check_dataset(&dataset, None, 1, Some(&stop), &|done, _| {
        touched.store(done, std::sync::atomic::Ordering::Relaxed)
    });
    assert!(out.is_none());
    assert_eq!(touched.into_inner(), 0);
    // Unraised, the same call reports the seven missing files as unreadable.
    let report = check_dataset(&dataset, None, 1, None, &|_, _| {})
        .unwrap()
        .unwrap();
    assert_eq!(report.unreadable.len(), 7);
}
