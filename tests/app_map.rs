//! The map (F7) and what the run's embeddings flag: an outlier photo and a duplicated
//! identity, found from `embeddings.npy`, shown on the map, in the overview, the people
//! filter and the person view; a click on a point or a list entry opens the person.
#![cfg(feature = "gui")]

mod app_support;

use app_support::*;
use egui::{Key, PointerButton};
use egui_kittest::kittest::Queryable;
use mask_curator::dataset::Slot;
use mask_curator::ui::commands::Command;
use mask_curator::ui::state::View;
use std::path::Path;

/// A normal photo unlike any other.
const STRAY: usize = 11;
/// Two ids of one look.
const TWINS: [usize; 2] = [20, 21];
const DIM: usize = 12;

/// Deterministic noise in [-1, 1] (splitmix64's finaliser: neighbouring inputs give
/// unrelated outputs).
fn noise(i: usize) -> f32 {
    let mut x = (i as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 31;
    ((x >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
}

/// Features as a trained network gives them: mostly shared, then the person's look, the
/// mask status and a little per-photo noise.
fn write_embeddings(root: &Path) {
    let mut data = Vec::new();
    for p in 0..PEOPLE {
        let look = if p == TWINS[1] { TWINS[0] } else { p };
        for slot in Slot::ALL {
            let row = data.len() / DIM;
            for c in 0..DIM {
                let v = if p == STRAY && slot == Slot::Normal {
                    if c == 3 {
                        4.0
                    } else {
                        -1.0
                    }
                } else {
                    2.0 + 0.4 * noise(look * 131 + c)
                        + 0.8 * noise(9000 + slot.mask().index() * 17 + c)
                        + 0.25 * noise(50_000 + row * 31 + c)
                };
                data.push(v);
            }
        }
    }
    write_npy(
        &root.join(".mask-curator/runs/test-run/embeddings.npy"),
        PEOPLE * 7,
        DIM,
        &data,
    );
}

/// The small dataset with [`write_embeddings`]'s features in its run.
fn dataset_with_embeddings() -> (tempfile::TempDir, std::path::PathBuf) {
    let (tmp, root) = dataset_in_tempdir();
    write_embeddings(&root);
    (tmp, root)
}

fn open_with_embeddings() -> (
    tempfile::TempDir,
    egui_kittest::Harness<'static, mask_curator::ui::MaskCuratorApp>,
) {
    let (tmp, root) = dataset_with_embeddings();
    let mut h = harness(&root);
    wait_idle(&mut h);
    (tmp, h)
}

#[test]
fn the_map_shows_the_outlier_and_the_look_alikes_and_opens_what_is_clicked() {
    let (_tmp, mut h) = open_with_embeddings();
    let (outliers_n, flagged) = {
        let session = h.state().rt.session.as_ref().unwrap();
        let report = session
            .embeddings
            .as_ref()
            .expect("the run's embeddings analysed");
        let outliers: Vec<_> = report.outliers.iter().map(|&r| report.rows[r]).collect();
        // The stray first; at most a few edge photos of the cloud besides it.
        assert!(outliers.len() <= 3, "{outliers:?}");
        assert_eq!(
            (outliers[0].person, outliers[0].slot),
            (STRAY, Slot::Normal)
        );
        let pairs: Vec<_> = report.lookalikes.iter().map(|l| (l.a, l.b)).collect();
        assert_eq!(pairs, vec![(TWINS[0], TWINS[1])]);
        (outliers.len(), report.flagged_people())
    };
    for p in [STRAY, TWINS[0], TWINS[1]] {
        assert!(flagged.contains(&p), "{flagged:?}");
    }

    // The overview counts them and leads to the people concerned.
    h.state_mut().apply(Command::Show(View::Overview));
    h.run();
    h.get_by_label("Outliers and look-alikes (the run's embeddings)");
    h.get_by_label("outlier photos: unlike any photo of another person");
    h.get_by_label("Show the people concerned").click();
    h.run();
    assert_eq!(h.state().state.view, View::People);
    let filter = h.state().state.people_filter.clone();
    assert!(filter.embedding_flags_only);
    let mut shown = h.state_mut().rt.people(&filter).to_vec();
    shown.sort_unstable();
    assert_eq!(shown, flagged);

    // F7: the map, its lists; a list entry opens the person on the photo.
    h.key_press(Key::F7);
    h.run();
    assert_eq!(h.state().state.view, View::Map);
    h.get_by_label("map of the photos");
    h.get_by_label(&mask_curator::workbench::queries::counted(
        outliers_n,
        "outlier photo",
    ));
    h.get_by_label("1 look-alike pair");
    h.get_by_label(&folder(TWINS[1])).click();
    h.run();
    assert_eq!(h.state().state.view, View::Person);
    assert_eq!(h.state().rt.selected_person, Some(TWINS[1]));
    // The person view says whom the model takes this person for; the link opens them.
    h.get_by_label("as one: the same person under two ids?");
    h.get_by_label(&folder(TWINS[0])).click();
    h.run();
    assert_eq!(h.state().rt.selected_person, Some(TWINS[0]));

    // On the map, hovering the stray point names it; clicking opens its person and photo.
    h.key_press(Key::F7);
    h.run();
    let at = {
        let app = h.state();
        let session = app.rt.session.as_ref().unwrap();
        let report = session.embeddings.as_ref().unwrap();
        let row = report.outliers[0];
        app.rt
            .map_view
            .as_ref()
            .unwrap()
            .screen_pos(report, row)
            .expect("the map was drawn")
    };
    h.event(egui::Event::PointerMoved(at));
    h.run();
    h.get_by_label(&format!("{} / normal", folder(STRAY)));
    h.get_by_label_contains(&format!(
        "unlike the other photos: outlier 1 of {outliers_n}"
    ));
    for pressed in [true, false] {
        h.event(egui::Event::PointerButton {
            pos: at,
            button: PointerButton::Primary,
            pressed,
            modifiers: Default::default(),
        });
        h.run();
    }
    assert_eq!(h.state().state.view, View::Person);
    assert_eq!(h.state().rt.selected_person, Some(STRAY));
    assert_eq!(h.state().rt.selected_slot, Slot::Normal);
    // The photo is marked in the person view.
    h.get_by_label("⚠ outlier");
}

#[test]
fn a_run_without_embeddings_says_so_and_flags_nothing() {
    let (_tmp, _root, mut h) = app_on_dataset();
    wait_idle(&mut h);
    assert!(h.state().rt.session.as_ref().unwrap().embeddings.is_none());
    h.key_press(Key::F7);
    h.run();
    h.get_by_label_contains("Run test-run has no embeddings.npy");
    h.state_mut().apply(Command::Show(View::Overview));
    h.run();
    h.get_by_label_contains("saved no embeddings");
}

#[test]
fn a_corrupt_embeddings_file_is_reported_and_the_session_stays_open() {
    let (_tmp, root) = dataset_in_tempdir();
    // Rows that do not match the run's index.
    write_npy(
        &root.join(".mask-curator/runs/test-run/embeddings.npy"),
        5,
        DIM,
        &vec![1.0; 5 * DIM],
    );
    let mut h = harness(&root);
    wait_idle(&mut h);
    h.run();
    assert!(h.state().rt.session.is_some());
    // The status bar and the overview name the file and what is wrong with it.
    let said = h
        .query_all_by_label_contains("embeddings.npy: 5 rows, but the run's index has 210 photos")
        .count();
    assert!(said >= 1);
    h.key_press(Key::F7);
    h.run();
    h.get_by_label_contains("Run test-run's embeddings cannot be used: ");
}

#[test]
fn the_runs_tsne_layout_places_the_points() {
    let (_tmp, root) = dataset_with_embeddings();
    // The worker's layout: the stray far up and right, everyone else near the origin.
    let stray_row = STRAY * 7 + Slot::Normal.index();
    let places: Vec<f32> = (0..PEOPLE * 7)
        .flat_map(|r| {
            if r == stray_row {
                [50.0, 50.0]
            } else {
                [noise(r) * 5.0, noise(r + 7_000) * 5.0]
            }
        })
        .collect();
    write_npy(
        &root.join(".mask-curator/runs/test-run/map.npy"),
        PEOPLE * 7,
        2,
        &places,
    );
    let mut h = harness(&root);
    wait_idle(&mut h);
    h.key_press(Key::F7);
    h.run();
    h.get_by_label_contains("placed by t-SNE on fold 0's features");
    let app = h.state();
    let report = app.rt.session.as_ref().unwrap().embeddings.clone().unwrap();
    let view = app.rt.map_view.as_ref().unwrap();
    let stray = view.screen_pos(&report, stray_row).unwrap();
    let others: Vec<egui::Pos2> = (0..PEOPLE * 7)
        .filter(|&r| r != stray_row)
        .map(|r| view.screen_pos(&report, r).unwrap())
        .collect();
    // Up and right of every other point (screen y grows downwards).
    assert!(others.iter().all(|p| p.x < stray.x && p.y > stray.y));
}

#[test]
fn a_rectangle_drawn_on_the_map_selects_people_for_the_grid() {
    let (_tmp, mut h) = open_with_embeddings();
    h.key_press(Key::F7);
    h.run();
    h.get_by_label("Drag on the map to select the photos in a rectangle.");
    // A small rectangle around one person's photo (the stray pushes everyone else into
    // one corner of the map).
    let (from, to, inside) = {
        let app = h.state();
        let report = app.rt.session.as_ref().unwrap().embeddings.clone().unwrap();
        let view = app.rt.map_view.as_ref().unwrap();
        let at = view.screen_pos(&report, 5 * 7).unwrap();
        let (from, to) = (at - egui::vec2(5.0, 5.0), at + egui::vec2(5.0, 5.0));
        let area = egui::Rect::from_two_pos(from, to);
        let mut people: Vec<usize> = (0..report.rows.len())
            .filter(|&r| area.contains(view.screen_pos(&report, r).unwrap()))
            .map(|r| report.rows[r].person)
            .collect();
        people.sort_unstable();
        people.dedup();
        (from, to, people)
    };
    assert!(
        inside.contains(&5) && inside.len() < PEOPLE,
        "the rectangle holds part of the map: {inside:?}"
    );
    h.event(egui::Event::PointerMoved(from));
    h.event(egui::Event::PointerButton {
        pos: from,
        button: PointerButton::Primary,
        pressed: true,
        modifiers: Default::default(),
    });
    h.run();
    for k in 1..=8 {
        h.event(egui::Event::PointerMoved(
            from + (to - from) * (k as f32 / 8.0),
        ));
        h.run();
    }
    h.event(egui::Event::PointerButton {
        pos: to,
        button: PointerButton::Primary,
        pressed: false,
        modifiers: Default::default(),
    });
    h.run();
    // A drag is not a click: the map stays.
    assert_eq!(h.state().state.view, View::Map);
    h.get_by_label_contains(&format!("of {} people", inside.len()));
    h.get_by_label("Show them in the people grid").click();
    h.run();
    assert_eq!(h.state().state.view, View::People);
    let filter = h.state().state.people_filter.clone();
    assert_eq!(filter.only_people.as_deref(), Some(inside.as_slice()));
    assert_eq!(h.state_mut().rt.people(&filter).to_vec(), inside);
    // The grid says so, and one click shows everyone again.
    h.get_by_label(&format!("Map selection: {} people ✖", inside.len()))
        .click();
    h.run();
    assert_eq!(h.state().state.people_filter.only_people, None);
}

fn conflicts(
    h: &egui_kittest::Harness<'static, mask_curator::ui::MaskCuratorApp>,
) -> Vec<mask_curator::curation::IdentityConflict> {
    h.state().rt.session.as_ref().unwrap().identity_conflicts()
}

fn groups(h: &egui_kittest::Harness<'static, mask_curator::ui::MaskCuratorApp>) -> Vec<Vec<usize>> {
    h.state()
        .rt
        .session
        .as_ref()
        .unwrap()
        .identities()
        .groups()
        .to_vec()
}

#[test]
fn the_annotator_decides_whether_look_alikes_are_one_person_keyboard_first() {
    use egui::Modifiers;
    let (tmp, mut h) = open_with_embeddings();
    let root = tmp.path().join("data");
    let (a, b) = (TWINS[0], TWINS[1]);
    h.state_mut().apply(Command::OpenPerson(b));
    h.run();
    h.get_by_label("as one: the same person under two ids?");
    h.get_by_label("Same person (S)");
    h.get_by_label("Different people (D)");

    // S: the look-alike is the same person. Saved in the journal; the view and the status
    // line say their labels disagree (given: male 35 and female 48).
    h.key_press(Key::S);
    h.run();
    assert_eq!(groups(&h), vec![vec![a, b]]);
    let said = notice(&h);
    assert!(
        said.contains(&format!("{} and {}: same person", folder(b), folder(a)))
            && said.contains("labels disagree: gender male / female; age 35 / 48")
            && said.ends_with("saved"),
        "{said}"
    );
    h.get_by_label("— same person");
    h.get_by_label("⚠ One person, 2 ids: labels disagree: gender male / female; age 35 / 48");
    let journal = std::fs::read_to_string(root.join(".mask-curator/journal.jsonl")).unwrap();
    let id = mask_curator::curation::identity::same_person_issue_id(&folder(a), &folder(b));
    assert!(journal.contains(&id), "{journal}");

    // Undo takes it back and says what it took back.
    h.key_press_modifiers(Modifiers::COMMAND, Key::Z);
    h.run();
    assert!(groups(&h).is_empty());
    assert!(
        notice(&h).contains("same person -> no decision"),
        "{}",
        notice(&h)
    );
    h.get_by_label("as one: the same person under two ids?");

    // D: different people. No group, no conflict; the map's list says it is decided.
    h.key_press(Key::D);
    h.run();
    assert!(groups(&h).is_empty());
    h.get_by_label("— different people");
    assert!(conflicts(&h).is_empty());
    h.key_press(Key::F7);
    h.run();
    h.get_by_label("— different people");

    // The button changes the decision; a person with no candidate says S does nothing.
    h.state_mut().apply(Command::OpenPerson(b));
    h.run();
    // S now acts on the next undecided candidate (a person with one of b's flat photos);
    // the look-alike's own row comes first.
    h.get_all_by_label("Same person")
        .next()
        .expect("the look-alike's row")
        .click();
    h.run();
    assert_eq!(groups(&h), vec![vec![a, b]]);
    // The disagreement settled in one step: b's labels (female, 48) for a; undo restores.
    let labels = |h: &egui_kittest::Harness<'static, mask_curator::ui::MaskCuratorApp>| {
        let s = h.state().rt.session.as_ref().unwrap();
        (s.gender(a).name().to_string(), s.age_years(a))
    };
    h.get_by_label("Give the other ids these labels").click();
    h.run();
    assert_eq!(labels(&h), ("female".to_string(), 48));
    assert!(
        notice(&h).contains("labels (female, 48) given to its other ids (1 changed)"),
        "{}",
        notice(&h)
    );
    assert!(conflicts(&h).is_empty());
    h.key_press_modifiers(Modifiers::COMMAND, Key::Z);
    h.run();
    assert_eq!(labels(&h), ("male".to_string(), 35));
    assert_eq!(groups(&h), vec![vec![a, b]]);
    // (The fixture's flat photos are filed under several people: without the photo checks
    // person 5 has no candidate.)
    let photos = h.state_mut().rt.session.as_mut().unwrap().photos.take();
    h.state_mut().apply(Command::OpenPerson(5));
    h.run();
    h.key_press(Key::S);
    h.run();
    assert!(
        notice(&h).contains("no look-alike or shared photo to decide on"),
        "{}",
        notice(&h)
    );
    assert_eq!(groups(&h), vec![vec![a, b]]);
    h.state_mut().rt.session.as_mut().unwrap().photos = photos;

    // The overview counts the group and its disagreement and leads to the two people.
    h.key_press(Key::F2);
    h.run();
    h.get_by_label("One person under several ids (your decisions)");
    h.get_by_label("⚠ 1 group has labels that disagree");
    h.get_by_label("Show them").click();
    h.run();
    assert_eq!(h.state().state.view, View::People);
    assert_eq!(
        h.state().state.people_filter.only_people.as_deref(),
        Some([a, b].as_slice())
    );
    // The grid names the set it shows, and marks both: one person, two ids.
    h.get_by_label("Ids whose labels disagree: 2 people ✖");
    assert_eq!(h.get_all_by_label("2 ids").count(), 2);

    // The export lists the group.
    h.key_press_modifiers(Modifiers::COMMAND, Key::E);
    wait_idle(&mut h);
    let out = h.state().rt.last_export.clone().expect("exported");
    let same = std::fs::read_to_string(out.join("same_person.csv")).unwrap();
    assert_eq!(
        same,
        format!(
            "group,folder,gender,age\n{a_},{a_},male,35\n{a_},{b_},female,48\n",
            a_ = folder(a),
            b_ = folder(b)
        )
    );

    // A reopen finds the decision in the journal.
    drop(h);
    let mut h = harness(&root);
    wait_idle(&mut h);
    assert_eq!(groups(&h), vec![vec![a, b]]);
}

/// The legend wraps an entry whole at any width: a name is never split over two lines.
#[test]
fn the_legend_wraps_whole_entries() {
    let (_tmp, root) = dataset_with_embeddings();
    let mut wrapped = false;
    for width in (640..=1200).step_by(40) {
        let mut h = harness_sized(&root, [width as f32, 700.0]);
        wait_idle(&mut h);
        press(&mut h, Key::F7);
        h.run();
        let line = h.get_by_label("wear").rect().height();
        for name in ["outlier", "look-alike", "selected person"] {
            // (An entry's sign and name were once one label: "○ selected person".)
            let r = if name == "selected person" {
                h.get_by_label_contains(name).rect()
            } else {
                h.get_by_label(name).rect()
            };
            assert!(
                r.height() < 1.5 * line,
                "{name:?} split over lines at width {width}: {r:?}"
            );
            wrapped |= r.top() > h.get_by_label("wear").rect().bottom();
        }
    }
    assert!(wrapped, "some widths wrap the legend");
}
