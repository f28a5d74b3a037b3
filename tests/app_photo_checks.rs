//! The photo checks in the real app (egui_kittest): a dataset where one person's photo is
//! another person's file and one photo is dark. The check runs in the background after
//! opening; the overview counts what it found and leads to the people concerned; the
//! person view marks the photo and links to the other person.
#![cfg(feature = "gui")]

mod app_support;

use app_support::*;
use egui_kittest::kittest::Queryable;
use mask_curator::dataset::{PhotoRef, Slot};
use mask_curator::photo_checks::CheckKind;
use mask_curator::ui::commands::Command;
use mask_curator::ui::state::View;

/// A textured picture (the test dataset's other photos are flat colours), `scale` = 1
/// for a normal exposure.
fn textured(seed: u32, scale: f32) -> image::RgbImage {
    image::RgbImage::from_fn(96, 128, |x, y| {
        let v = ((x * 7 + y * 13 + seed * 31) % 97 + (x * y + seed) % 61) as f32 * 1.4;
        let c = |k: f32| ((v * k + 40.0) * scale).min(255.0) as u8;
        image::Rgb([c(1.0), c(0.8), c(0.6)])
    })
}

#[test]
fn the_overview_counts_photo_problems_and_the_person_view_links_a_duplicate() {
    let (_tmp, root) = dataset_in_tempdir();
    let photo = |p: usize, slot: Slot| {
        root.join("train/images")
            .join(folder(p))
            .join(format!("{}.png", slot.stem()))
    };
    // The shared test photos repeat colours across people (identical files, which the
    // check rightly reports): give every photo a flat colour of its own.
    for p in 0..PEOPLE {
        for slot in Slot::ALL {
            let colour = image::Rgb([(20 + 7 * p) as u8, (120 + 15 * slot.index()) as u8, 100]);
            image::RgbImage::from_pixel(24, 32, colour)
                .save(photo(p, slot))
                .unwrap();
        }
    }
    // Person 2's mask1 file was also filed as person 5's mask1.
    textured(1, 1.0).save(photo(2, Slot::Mask1)).unwrap();
    std::fs::copy(photo(2, Slot::Mask1), photo(5, Slot::Mask1)).unwrap();
    // Person 9's normal photo was taken in the dark.
    textured(2, 0.15).save(photo(9, Slot::Normal)).unwrap();

    let mut h = harness(&root);
    let index = |h: &egui_kittest::Harness<'static, _>, p: usize| {
        let app: &mask_curator::ui::MaskCuratorApp = h.state();
        app.session()
            .unwrap()
            .dataset
            .person_index(&folder(p))
            .unwrap()
    };
    let (two, five, nine) = (index(&h, 2), index(&h, 5), index(&h, 9));
    {
        let session = h.state().session().unwrap();
        let report = session
            .photos
            .as_ref()
            .expect("the photo check ran after opening");
        assert_eq!(report.checked, PEOPLE * 7);
        let dup: Vec<_> = report
            .findings
            .iter()
            .filter(|f| f.kind == CheckKind::ExactDuplicate)
            .map(|f| f.photo)
            .collect();
        assert_eq!(
            dup,
            vec![
                PhotoRef {
                    person: two,
                    slot: Slot::Mask1
                },
                PhotoRef {
                    person: five,
                    slot: Slot::Mask1
                }
            ]
        );
        let dark: Vec<_> = report
            .findings
            .iter()
            .filter(|f| f.kind == CheckKind::Dark)
            .map(|f| f.photo)
            .collect();
        assert_eq!(
            dark,
            vec![PhotoRef {
                person: nine,
                slot: Slot::Normal
            }]
        );
        // The flat test photos all carry little information: one note, not 210 flags.
        assert_eq!(report.count(CheckKind::LowInformation), 0);
        assert!(report
            .dataset_wide
            .iter()
            .any(|&(k, n)| k == CheckKind::LowInformation && n > PEOPLE * 6));
    }

    h.state_mut().apply(Command::Show(View::Overview));
    h.run();
    h.get_by_label("Photo checks");
    h.get_by_label("same file as another photo");
    h.get_by_label("dark");
    h.get_by_label_contains("common to the whole dataset");
    h.get_by_label("Show these people").click();
    h.run();
    assert_eq!(h.state().state.view, View::People);
    let filter = h.state().state.people_filter.clone();
    assert!(filter.photo_problems_only);
    let mut shown = h.state_mut().rt.people(&filter).to_vec();
    shown.sort_unstable();
    let mut want = vec![two, five, nine];
    want.sort_unstable();
    assert_eq!(shown, want);

    // The person view marks the copied photo; its link opens the other person.
    h.state_mut().apply(Command::OpenPerson(two));
    h.run();
    h.get_by_label("⚠ same file as another photo").click();
    h.run();
    assert_eq!(h.state().rt.selected_person, Some(five));
    assert_eq!(h.state().state.view, View::Person);
    h.get_by_label("⚠ same file as another photo");
}
