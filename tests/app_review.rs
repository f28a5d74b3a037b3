//! Drives the real app with egui_kittest on a generated dataset: open it, move through the
//! review queue with keys, fix a gender and a photo's mask, undo/redo, restart on the same
//! folder and see the edits, export and read the CSVs back.
#![cfg(feature = "gui")]

mod app_support;

use app_support::*;
use egui::{Key, Modifiers};
use egui_kittest::kittest::Queryable;
use mask_curator::dataset::{Field, Gender, Mask, Slot};
use mask_curator::ui::state::View;

fn person_index(
    h: &egui_kittest::Harness<'static, mask_curator::ui::MaskCuratorApp>,
    p: usize,
) -> usize {
    h.state()
        .session()
        .unwrap()
        .dataset
        .person_index(&folder(p))
        .unwrap()
}

/// Presses J until the current queue item is the one `pick` accepts.
fn move_to_item(
    h: &mut egui_kittest::Harness<'static, mask_curator::ui::MaskCuratorApp>,
    pick: impl Fn(&mask_curator::workbench::session::QueueItem) -> bool,
) -> mask_curator::workbench::session::QueueItem {
    for _ in 0..200 {
        if let Some(item) = h.state_mut().current_item() {
            if pick(&item) {
                return item;
            }
        }
        let before = h.state().rt.queue_pos;
        h.key_press(Key::J);
        h.run();
        assert_eq!(
            h.state().rt.queue_pos,
            before + 1,
            "J moves one item down the queue"
        );
    }
    panic!("item not found in the queue");
}

#[test]
fn review_fix_undo_redo_restart_and_export() {
    let (_tmp, root, mut h) = app_on_dataset();
    {
        let app = h.state();
        let session = app.session().expect("dataset opened");
        assert_eq!(session.dataset.people.len(), PEOPLE);
        let issues = session.issues.as_ref().expect("issues from the run");
        assert_eq!(issues.run_id, "test-run");
        let flip = person_index(&h, GENDER_FLIP);
        assert!(
            issues
                .items
                .iter()
                .any(|i| i.person == flip && i.field == Field::Gender),
            "the flipped gender is flagged: {:?}",
            issues.items
        );
    }
    // The status bar and tabs are there, named for screen readers and queries.
    h.get_by_label_contains("Review (").click();
    h.run();
    assert_eq!(h.state().state.view, View::Review);
    h.key_press(Key::F3);
    h.run();
    assert_eq!(h.state().state.view, View::People);
    h.key_press(Key::F5);
    h.run();
    assert_eq!(h.state().state.view, View::Review);

    // K at the top stays at the top; J moves down.
    assert_eq!(h.state().rt.queue_pos, 0);
    h.key_press(Key::K);
    h.run();
    assert_eq!(h.state().rt.queue_pos, 0);

    // Fix the gender: M on the flipped person's gender issue; all seven photos follow.
    let flip = person_index(&h, GENDER_FLIP);
    let item = move_to_item(&mut h, |i| i.person == flip && i.field == Field::Gender);
    assert_eq!(h.state().rt.selected_person, Some(flip));
    let pos = h.state().rt.queue_pos;
    h.key_press(Key::M);
    h.run();
    {
        let s = h.state().session().unwrap();
        assert_eq!(s.gender(flip), Gender::Male);
        for slot in Slot::ALL {
            assert_eq!(
                s.class_of(flip, slot).gender(),
                Gender::Male,
                "{slot:?} follows the person"
            );
        }
        assert_eq!(s.edits_this_session(), 1);
        assert_eq!(
            s.item_status(&item),
            mask_curator::workbench::session::ItemStatus::Fixed
        );
    }
    // Moves on to the next item still open (below, else wrapping to the top).
    {
        let next = h.state_mut().current_item().expect("an item is selected");
        let s = h.state().session().unwrap();
        assert_ne!(h.state().rt.queue_pos, pos, "moves on after the fix");
        assert_eq!(
            s.item_status(&next),
            mask_curator::workbench::session::ItemStatus::Open,
            "lands on an open item"
        );
    }

    // Fix one photo's mask: the swapped person's incorrect_mask photo is really "not wear".
    h.state_mut()
        .apply(mask_curator::ui::commands::Command::QueueGo(0));
    h.run();
    let swap = person_index(&h, MASK_SWAP);
    let item = move_to_item(&mut h, |i| {
        i.person == swap && i.field == Field::Mask && i.slot == Some(Slot::Incorrect)
    });
    assert_eq!(
        h.state().rt.selected_slot,
        Slot::Incorrect,
        "the flagged photo is selected"
    );
    assert_eq!(item.suggested, Mask::NotWear.index());
    h.key_press(Key::Num3);
    h.run();
    assert_eq!(
        h.state().session().unwrap().mask(swap, Slot::Incorrect),
        Mask::NotWear
    );
    assert_eq!(
        h.state().session().unwrap().mask(swap, Slot::Normal),
        Mask::NotWear,
        "other photos untouched"
    );

    // Undo, redo (both chords).
    h.key_press_modifiers(Modifiers::COMMAND, Key::Z);
    h.run();
    assert_eq!(
        h.state().session().unwrap().mask(swap, Slot::Incorrect),
        Mask::Incorrect
    );
    assert_eq!(
        h.state().session().unwrap().gender(flip),
        Gender::Male,
        "only the last edit is undone"
    );
    h.key_press_modifiers(Modifiers::COMMAND | Modifiers::SHIFT, Key::Z);
    h.run();
    assert_eq!(
        h.state().session().unwrap().mask(swap, Slot::Incorrect),
        Mask::NotWear
    );
    h.key_press_modifiers(Modifiers::COMMAND, Key::Z);
    h.run();
    h.key_press_modifiers(Modifiers::COMMAND, Key::Y);
    h.run();
    assert_eq!(
        h.state().session().unwrap().mask(swap, Slot::Incorrect),
        Mask::NotWear
    );

    // Typing in the search field never edits labels.
    h.key_press(Key::Slash);
    h.run();
    assert_eq!(h.state().state.view, View::People);
    h.get_by_label("Search:").type_text("m");
    h.run();
    assert_eq!(h.state().state.people_filter.text, "m");
    assert_eq!(h.state().session().unwrap().gender(flip), Gender::Male);
    h.key_press(Key::Escape);
    h.run();

    // Restart: drop the app, open the same folder again; the journal brings the edits back.
    drop(h);
    let mut h = harness(&root);
    {
        let s = h.state().session().unwrap();
        assert_eq!(s.gender(flip), Gender::Male);
        assert_eq!(s.mask(swap, Slot::Incorrect), Mask::NotWear);
        assert_eq!(s.edits_this_session(), 0);
        assert!(s.is_edited(flip) && s.is_edited(swap));
    }

    // Export (Ctrl+E) and read the CSVs.
    h.key_press_modifiers(Modifiers::COMMAND, Key::E);
    // The files are written off the UI thread.
    wait_idle(&mut h);
    let out = h.state().rt.last_export.clone().expect("exported");
    // The status line says what the export holds, not only where it went.
    assert!(
        notice(&h).starts_with(&format!("Exported to {}: ", out.display()))
            && notice(&h).contains("1 person with corrected gender/age"),
        "{}",
        notice(&h)
    );
    let train =
        std::fs::read_to_string(out.join(mask_curator::curation::export::TRAIN_CSV)).unwrap();
    let mut lines = train.lines();
    assert_eq!(lines.next(), Some("id,gender,race,age,path"));
    let row = train
        .lines()
        .find(|l| l.ends_with(&folder(GENDER_FLIP)))
        .unwrap();
    assert!(
        row.contains(",male,"),
        "corrected gender in train.csv: {row}"
    );
    assert_eq!(train.lines().count(), PEOPLE + 1);
    let photos =
        std::fs::read_to_string(out.join(mask_curator::curation::export::PHOTO_LABELS_CSV))
            .unwrap();
    let photo_row = photos
        .lines()
        .find(|l| l.contains(&format!("{}/incorrect_mask.png", folder(MASK_SWAP))))
        .unwrap();
    assert!(
        photo_row.contains("not wear") || photo_row.contains(",2,"),
        "{photo_row}"
    );
    let changes =
        std::fs::read_to_string(out.join(mask_curator::curation::export::CHANGE_LOG_CSV)).unwrap();
    assert!(
        changes.contains(&folder(GENDER_FLIP)) && changes.contains(&folder(MASK_SWAP)),
        "{changes}"
    );
    // The original data is untouched.
    let original = std::fs::read_to_string(root.join("train/train.csv")).unwrap();
    assert!(
        original.contains(&format!("{},female,", "000004")) || original.contains("female,Asian")
    );
}

#[test]
fn keep_and_accept_decisions_move_on_and_survive_a_restart() {
    let (_tmp, root, mut h) = app_on_dataset();
    // The key overlay opens and closes from the keyboard (and every glyph in it draws).
    h.key_press(Key::F1);
    h.run();
    assert!(h.state().rt.show_help);
    h.get_by_label_contains("Accept the suggested label");
    h.key_press(Key::Escape);
    h.run();
    assert!(!h.state().rt.show_help);
    h.key_press(Key::F5);
    h.run();
    let first = h.state_mut().current_item().unwrap();
    h.key_press(Key::Space);
    h.run();
    assert_eq!(h.state().rt.queue_pos, 1);
    let second = h.state_mut().current_item().unwrap();
    h.key_press(Key::Enter);
    h.run();
    {
        let s = h.state().session().unwrap();
        assert_eq!(
            s.item_status(&first),
            mask_curator::workbench::session::ItemStatus::Kept
        );
        assert_eq!(
            s.item_status(&second),
            mask_curator::workbench::session::ItemStatus::Accepted
        );
        let slot = second.slot.unwrap_or(Slot::Mask1);
        assert_eq!(
            s.value(second.field, second.person, slot),
            second.suggested,
            "suggestion applied"
        );
    }
    drop(h);
    let h = harness(&root);
    let s = h.state().session().unwrap();
    assert_eq!(
        s.item_status(&first),
        mask_curator::workbench::session::ItemStatus::Kept
    );
    assert_eq!(
        s.item_status(&second),
        mask_curator::workbench::session::ItemStatus::Accepted
    );
}

#[test]
fn a_bad_folder_shows_a_clear_message_instead_of_crashing() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("no-such-dataset");
    let mut h = harness(&missing);
    assert!(h.state().session().is_none());
    let err = h.state().rt.open_error.clone().expect("error shown");
    assert!(err.contains("no-such-dataset"), "{err}");
    // The message is on screen.
    h.get_by_label_contains("no-such-dataset");
    // An empty folder (no train.csv) is refused with a message too.
    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    h.get_by_label("Dataset folder:").click();
    h.state_mut().rt.path_text = empty.display().to_string();
    h.get_by_label("Open").click();
    wait_idle(&mut h);
    assert!(h.state().session().is_none());
    assert!(h
        .state()
        .rt
        .open_error
        .as_deref()
        .unwrap_or("")
        .contains("empty"));
}

#[test]
fn people_grid_filters_and_person_keys() {
    let (_tmp, _root, mut h) = app_on_dataset();
    h.key_press(Key::F3);
    h.run();
    let filter = h.state().state.people_filter.clone();
    assert_eq!(h.state_mut().rt.people(&filter).len(), PEOPLE);
    h.state_mut().state.people_filter.gender = Some(Gender::Female);
    h.run();
    let filter = h.state().state.people_filter.clone();
    assert_eq!(h.state_mut().rt.people(&filter).len(), PEOPLE / 2);
    h.state_mut().state.people_filter.gender = None;
    h.state_mut().state.people_filter.flagged_only = true;
    h.run();
    let filter = h.state().state.people_filter.clone();
    let flagged = h.state_mut().rt.people(&filter).to_vec();
    let flip = person_index(&h, GENDER_FLIP);
    let swap = person_index(&h, MASK_SWAP);
    assert!(
        flagged.contains(&flip) && flagged.contains(&swap),
        "{flagged:?}"
    );
    // J walks the filtered list, O opens the person, F sets the gender there.
    h.state_mut().rt.selected_person = Some(flagged[0]);
    h.key_press(Key::J);
    h.run();
    assert_eq!(h.state().rt.selected_person, Some(flagged[1]));
    h.key_press(Key::O);
    h.run();
    assert_eq!(h.state().state.view, View::Person);
    let p = flagged[1];
    let before = h.state().session().unwrap().gender(p);
    h.key_press(if before == Gender::Male {
        Key::F
    } else {
        Key::M
    });
    h.run();
    assert_ne!(h.state().session().unwrap().gender(p), before);
    assert_eq!(
        h.state().state.view,
        View::Person,
        "no auto-advance outside the queue"
    );
    // Age by bin key and by typing years.
    h.key_press(Key::Num6);
    h.run();
    assert_eq!(
        h.state().session().unwrap().age_bin(p),
        mask_curator::dataset::AgeBin::Old
    );
    h.key_press(Key::A);
    h.run();
    h.state_mut().rt.age_text = "41".into();
    h.key_press(Key::Enter);
    h.run();
    assert_eq!(h.state().session().unwrap().age_years(p), 41);
}

#[test]
fn age_field_escape_restores_and_enter_saves() {
    let (_tmp, _root, mut h) = app_on_dataset();
    let p = person_index(&h, 2);
    h.state_mut()
        .apply(mask_curator::ui::commands::Command::OpenPerson(p));
    h.run();
    assert_eq!(h.state().state.view, View::Person);
    let before = h.state().session().unwrap().age_years(p);

    // A focuses the field; typing then Esc puts the saved age back and edits nothing.
    h.key_press(Key::A);
    h.run();
    h.get_by_label("years (A):").type_text("7");
    h.run();
    assert_ne!(h.state().rt.age_text, before.to_string(), "typed");
    h.key_press(Key::Escape);
    h.run();
    assert_eq!(h.state().rt.age_text, before.to_string(), "Esc restores");
    assert_eq!(h.state().session().unwrap().age_years(p), before);
    assert_eq!(h.state().session().unwrap().edits_this_session(), 0);

    // Enter saves a valid age.
    h.key_press(Key::A);
    h.run();
    for _ in 0..4 {
        h.key_press(Key::Backspace);
        h.key_press(Key::Delete);
    }
    h.run();
    h.get_by_label("years (A):").type_text("61");
    h.run();
    h.key_press(Key::Enter);
    h.run();
    assert_eq!(h.state().session().unwrap().age_years(p), 61);
    assert_eq!(h.state().session().unwrap().edits_this_session(), 1);
}

#[test]
fn a_swapped_pair_is_one_item_and_accepting_fixes_both_photos_in_one_undo_step() {
    let (_tmp, _root, mut h) = app_on_dataset();
    let swap = person_index(&h, MASK_SWAP);
    {
        let issues = h.state().session().unwrap().issues.as_ref().unwrap();
        let items: Vec<_> = issues.items.iter().filter(|i| i.person == swap).collect();
        assert_eq!(items.len(), 1, "one queue item for the pair: {items:?}");
        let pair = items[0].pair.as_ref().expect("the pair is shown");
        assert_eq!(items[0].slot, Some(Slot::Incorrect));
        assert_eq!(pair.slot, Slot::Normal);
    }
    h.key_press(Key::F5);
    h.run();
    move_to_item(&mut h, |i| i.person == swap);
    h.key_press(Key::Enter);
    h.run();
    {
        let s = h.state().session().unwrap();
        assert_eq!(s.mask(swap, Slot::Incorrect), Mask::NotWear);
        assert_eq!(s.mask(swap, Slot::Normal), Mask::Incorrect);
    }
    h.key_press_modifiers(Modifiers::COMMAND, Key::Z);
    h.run();
    let s = h.state().session().unwrap();
    assert_eq!(s.mask(swap, Slot::Incorrect), Mask::Incorrect, "one undo");
    assert_eq!(s.mask(swap, Slot::Normal), Mask::NotWear, "restores both");
}

/// The key overlay lists more keys than a window is tall: side by side in a wide window,
/// every key on screen at once; scrolled in a small one, with its first key and Close
/// button still on screen. (In one column it once ran off both edges of a 1400 x 860 window.)
#[test]
fn the_key_overlay_fits_the_window() {
    let (_tmp, root) = dataset_in_tempdir();
    let on_screen = |r: egui::Rect, size: [f32; 2]| {
        r.top() >= 0.0 && r.bottom() <= size[1] && r.left() >= 0.0 && r.right() <= size[0]
    };

    let wide = [1400.0, 900.0];
    let mut h = harness_sized(&root, wide);
    h.key_press(Key::F1);
    h.run();
    for (keys, action) in mask_curator::ui::keys::overlay_rows() {
        // (A description may be a button's label elsewhere on screen too.)
        let nodes: Vec<_> = h.query_all_by_label(action.description()).collect();
        assert!(!nodes.is_empty(), "{keys} is listed");
        for r in nodes.iter().map(|n| n.rect()) {
            assert!(on_screen(r, wide), "{keys}: {r:?} off a {wide:?} window");
        }
    }
    assert!(on_screen(h.get_by_label("Close").rect(), wide));
    // One app at a time holds a dataset.
    drop(h);

    for small in [[1280.0, 800.0], [1000.0, 700.0]] {
        let mut h = harness_sized(&root, small);
        h.key_press(Key::F1);
        h.run();
        let first = mask_curator::ui::keys::overlay_rows()[0].1.description();
        assert!(h.state().rt.show_help);
        assert!(
            h.query_all_by_label(first).count() >= 1,
            "{first} is listed"
        );
        for r in h
            .query_all_by_label(first)
            .chain([h.get_by_label("Close")])
            .map(|n| n.rect())
        {
            assert!(on_screen(r, small), "{r:?} off a {small:?} window");
        }
    }
}

/// The people grid, every filter cleared.
fn clear_people_filter(h: &mut egui_kittest::Harness<'static, mask_curator::ui::MaskCuratorApp>) {
    press(h, Key::F3);
    h.state_mut().state.people_filter = Default::default();
    h.run();
}

/// Searching hands the selection to what the search shows: `/`, an id, Esc, O opens that
/// person, not the one selected before the search (which the grid no longer shows); Enter
/// in the search field opens them at once.
#[test]
fn a_search_then_o_opens_the_person_found() {
    let (_tmp, _root, mut h) = app_on_dataset();
    press(&mut h, Key::F3);
    let before = h.state().rt.selected_person;
    let name = folder(PEOPLE - 1);
    let wanted = h
        .state()
        .session()
        .unwrap()
        .dataset
        .person_index(&name)
        .unwrap();
    assert_ne!(before, Some(wanted), "the test looks for someone else");
    press(&mut h, Key::Slash);
    let id = name[..6].to_string();
    h.get_by_label("Search:").type_text(&id);
    h.run();
    press(&mut h, Key::Escape);
    press(&mut h, Key::O);
    assert_eq!(h.state().state.view, View::Person);
    assert_eq!(h.state().rt.selected_person, Some(wanted));
    // Enter in the search field opens the person found in one step.
    clear_people_filter(&mut h);
    let other = h.state_mut().rt.people(&Default::default())[0];
    let other_name = h.state().session().unwrap().folder(other).to_string();
    assert_ne!(other, wanted);
    // The last search is still there: `/` selects it, so typing replaces it.
    h.state_mut().state.people_filter.text = name[..6].to_string();
    h.run();
    press(&mut h, Key::Slash);
    h.get_by_label("Search:").type_text(&other_name[..6]);
    h.run();
    assert_eq!(h.state().state.people_filter.text, &other_name[..6]);
    press(&mut h, Key::Enter);
    assert_eq!(h.state().state.view, View::Person);
    assert_eq!(h.state().rt.selected_person, Some(other));
    // Clearing the search keeps the person found selected.
    clear_people_filter(&mut h);
    assert_eq!(h.state().rt.selected_person, Some(other));
    // Enter on a search that finds nobody says so, and stays in the grid.
    press(&mut h, Key::F3);
    press(&mut h, Key::Slash);
    h.get_by_label("Search:").type_text("nobody-here");
    h.run();
    press(&mut h, Key::Enter);
    assert_eq!(h.state().state.view, View::People);
    assert_eq!(
        notice(&h),
        "No person's id or folder contains \"nobody-here\" under these filters"
    );
}

/// Z shows the selected photo at the size of the window; Left/Right show the person's
/// other photos in it, a mask key sets the photo shown, Esc closes it; a double-click on a
/// photo opens it too, and it does not follow the annotator to another screen.
#[test]
fn z_shows_the_selected_photo_large_and_the_keys_work_under_it() {
    let (_tmp, _root, mut h) = app_on_dataset();
    let p = person_index(&h, 5);
    press(&mut h, Key::F3);
    h.state_mut().rt.selected_person = Some(p);
    press(&mut h, Key::O);
    assert_eq!(h.state().state.view, View::Person);
    assert!(h.query_by_label("large photo mask1").is_none());
    press(&mut h, Key::Z);
    let small = h.get_by_label("photo mask1").rect();
    let large = h.get_by_label("large photo mask1").rect();
    assert!(
        large.height() > 2.0 * small.height() && large.height() > 400.0,
        "{large:?} vs {small:?}"
    );
    // Its labels are in its title line.
    let (gender, age) = given(5);
    h.get_by_label_contains(&format!("· {} · {age} (", gender.name()));
    press(&mut h, Key::ArrowRight);
    h.get_by_label("large photo mask2");
    assert_eq!(h.state().rt.selected_slot, Slot::Mask2);
    press(&mut h, Key::Num3);
    assert_eq!(
        h.state().session().unwrap().mask(p, Slot::Mask2),
        Mask::NotWear
    );
    assert_eq!(
        h.state().session().unwrap().mask(p, Slot::Mask1),
        Mask::Wear
    );
    press(&mut h, Key::Escape);
    assert!(h.query_by_label("large photo mask2").is_none());
    assert!(!h.state().rt.photo_viewer);
    // A and C (the fields under the photo) close it, so what is typed shows.
    for key in [Key::A, Key::C] {
        press(&mut h, Key::Z);
        h.get_by_label("large photo mask2");
        press(&mut h, key);
        assert!(!h.state().rt.photo_viewer, "{key:?} closes the large photo");
        assert!(h.ctx.text_edit_focused(), "{key:?} focuses its field");
        press(&mut h, Key::Escape);
    }
    // A double-click on a photo opens it large.
    let tile = h.get_by_label("photo mask4");
    let at = tile.rect().center();
    for _ in 0..2 {
        for pressed in [true, false] {
            h.input_mut().events.push(egui::Event::PointerButton {
                pos: at,
                button: egui::PointerButton::Primary,
                pressed,
                modifiers: Modifiers::NONE,
            });
        }
    }
    h.run();
    h.get_by_label("large photo mask4");
    // Another screen closes it: it is not there on coming back.
    press(&mut h, Key::F2);
    press(&mut h, Key::F4);
    assert!(h.query_by_label("large photo mask4").is_none());
    // In the people grid Z shows the selected person's selected photo; the label keys do
    // not act there, J moves to the next person under it.
    press(&mut h, Key::F3);
    press(&mut h, Key::Z);
    h.get_by_label("large photo mask4");
    assert_eq!(h.state().rt.selected_person, Some(p));
    press(&mut h, Key::Num3);
    assert_eq!(
        h.state().session().unwrap().mask(p, Slot::Mask4),
        Mask::Wear,
        "no label key in the grid"
    );
    press(&mut h, Key::J);
    assert_ne!(h.state().rt.selected_person, Some(p));
    h.get_by_label("large photo mask4");
    press(&mut h, Key::Z);
    assert!(h.query_by_label("large photo mask4").is_none());
}

/// The grid follows the selection both ways: End scrolls to the last person, and Home, K
/// and Page Up scroll back up (once only moves down scrolled: the grid's offset was read
/// from a state never found, as 0).
#[test]
fn the_people_grid_scrolls_up_to_the_selection_too() {
    let (_tmp, _root, mut h) = app_on_dataset_sized([1400.0, 500.0]);
    press(&mut h, Key::F3);
    let on_screen = |h: &egui_kittest::Harness<'static, mask_curator::ui::MaskCuratorApp>,
                     p: usize| {
        h.query_by_label(&folder(p))
            .is_some_and(|n| n.rect().min.y >= 0.0 && n.rect().max.y <= 500.0)
    };
    assert!(on_screen(&h, 0));
    press(&mut h, Key::End);
    assert_eq!(
        h.state().rt.selected_person,
        Some(person_index(&h, PEOPLE - 1))
    );
    assert!(on_screen(&h, PEOPLE - 1) && !on_screen(&h, 0));
    press(&mut h, Key::Home);
    assert_eq!(h.state().rt.selected_person, Some(person_index(&h, 0)));
    assert!(on_screen(&h, 0), "Home scrolls back to the first person");
    press(&mut h, Key::End);
    press(&mut h, Key::PageUp);
    press(&mut h, Key::PageUp);
    let p = h.state().rt.selected_person.unwrap();
    let folder_of = h.state().session().unwrap().folder(p).to_string();
    let node = h.get_by_label(&folder_of);
    assert!(
        node.rect().min.y >= 0.0 && node.rect().max.y <= 500.0,
        "{folder_of} at {:?}",
        node.rect()
    );
}

/// A label set by hand against a run that is sure of another value is saved, and the
/// status line says what the model reads (a slipped key is caught while Ctrl+Z is near).
#[test]
fn a_label_the_model_is_sure_against_is_saved_with_a_remark() {
    let (_tmp, _root, mut h) = app_on_dataset();
    // Person 0 (no issue): the run is sure of every photo's mask and of the gender.
    let p = person_index(&h, 0);
    h.state_mut()
        .apply(mask_curator::ui::commands::Command::OpenPerson(p));
    h.run();
    assert_eq!(h.state().state.view, View::Person);
    press(&mut h, Key::Num3);
    let s = h.state().session().unwrap();
    assert_eq!(s.mask(p, Slot::Mask1), Mask::NotWear, "saved all the same");
    assert!(
        notice(&h).ends_with(". Check: the model reads this photo as wear (88%) (Ctrl+Z undoes)"),
        "{}",
        notice(&h)
    );
    // Back to what the model reads: no remark.
    press(&mut h, Key::Num1);
    assert!(!notice(&h).contains("Check:"), "{}", notice(&h));
    // The person's gender: the mean of the seven photos.
    let other = match h.state().session().unwrap().gender(p) {
        Gender::Male => Key::F,
        Gender::Female => Key::M,
    };
    press(&mut h, other);
    assert!(
        notice(&h).contains(". Check: the model reads this person as "),
        "{}",
        notice(&h)
    );
}

/// C writes a note on the person on screen: Enter saves it to the journal without deciding
/// the issue, Esc drops what was typed, undo takes it back; the grid finds people by their
/// note, and a reopen shows it.
#[test]
fn c_writes_a_note_on_the_person_that_enter_saves_and_esc_drops() {
    let (_tmp, root) = dataset_in_tempdir();
    let note = "mask3 looks like someone else";
    let person = {
        let mut h = harness(&root);
        press(&mut h, Key::F5);
        let item = h.state_mut().current_item().expect("an issue on screen");
        let p = item.person;
        let session = |h: &egui_kittest::Harness<'static, mask_curator::ui::MaskCuratorApp>| {
            h.state().session().unwrap().note(p).map(str::to_string)
        };

        // Esc drops it.
        press(&mut h, Key::C);
        h.get_by_label("Note (C)").type_text("half a thought");
        h.run();
        press(&mut h, Key::Escape);
        assert_eq!(session(&h), None, "Esc saves nothing");
        assert_eq!(
            h.state().rt.note_text,
            "",
            "the field shows the saved note again"
        );

        // Enter saves it, on the person, and the issue stays on screen, undecided.
        press(&mut h, Key::C);
        h.get_by_label("Note (C)").type_text(note);
        h.run();
        press(&mut h, Key::Enter);
        assert_eq!(session(&h).as_deref(), Some(note));
        let now = h.state_mut().current_item().unwrap();
        assert_eq!(
            now.issue_id, item.issue_id,
            "a note does not move the queue on"
        );
        assert_eq!(
            h.state().session().unwrap().item_status(&now),
            mask_curator::workbench::session::ItemStatus::Open,
            "Enter in the note field decides nothing"
        );
        assert!(notice(&h).contains("note"), "{}", notice(&h));
        // The issue box shows it where the annotator reads the issue, the queue's row marks it.
        h.get_by_label(&format!("Note: {note}"));
        let who = h.state().session().unwrap().folder(p).to_string();
        use egui_kittest::kittest::NodeT;
        assert!(
            h.query_all_by_label_contains(&who).any(|n| n
                .accesskit_node()
                .label()
                .is_some_and(|l| l.ends_with(" · note"))),
            "the queue row of {who} marks the note"
        );
        let journal = std::fs::read_to_string(root.join(".mask-curator/journal.jsonl")).unwrap();
        let last: serde_json::Value =
            serde_json::from_str(journal.lines().last().unwrap()).unwrap();
        assert_eq!(last["field"], "note");
        assert_eq!(last["new"], note);
        let folder = h.state().session().unwrap().folder(p).to_string();
        assert_eq!(last["target"], format!("person:{folder}"));

        // Undo takes it back; redo brings it again.
        h.key_press_modifiers(Modifiers::COMMAND, Key::Z);
        h.run();
        assert_eq!(session(&h), None);
        h.key_press_modifiers(Modifiers::COMMAND | Modifiers::SHIFT, Key::Z);
        h.run();
        assert_eq!(session(&h).as_deref(), Some(note));

        // The overview counts the notes and leads to the people.
        press(&mut h, Key::F2);
        h.get_by_label("1 person with a note").click();
        h.run();
        assert_eq!(h.state().state.view, View::People);
        let filter = h.state().state.people_filter.clone();
        assert_eq!(h.state_mut().rt.people(&filter).to_vec(), vec![p]);

        // The grid: "Noted" keeps the person, and the search finds the note's words.
        clear_people_filter(&mut h);
        h.state_mut().state.people_filter.noted_only = true;
        h.run();
        let filter = h.state().state.people_filter.clone();
        assert_eq!(h.state_mut().rt.people(&filter).to_vec(), vec![p]);
        h.state_mut().state.people_filter = Default::default();
        h.run();
        press(&mut h, Key::Slash);
        h.get_by_label("Search:").type_text("SOMEONE else");
        h.run();
        let filter = h.state().state.people_filter.clone();
        assert_eq!(h.state_mut().rt.people(&filter).to_vec(), vec![p]);
        assert_eq!(
            h.query_all_by_label("note").count(),
            1,
            "the grid marks the person with a note"
        );
        folder
    };
    // A reopen shows the note in the person view.
    let mut h = harness(&root);
    let p = h
        .state()
        .session()
        .unwrap()
        .dataset
        .person_index(&person)
        .unwrap();
    h.state_mut()
        .apply(mask_curator::ui::commands::Command::OpenPerson(p));
    h.run();
    assert_eq!(h.state().session().unwrap().note(p), Some(note));
    assert_eq!(
        h.state().rt.note_text,
        note,
        "the field shows the saved note"
    );
    // Under the large photo too.
    press(&mut h, Key::Z);
    h.get_by_label("large photo mask1");
    h.get_by_label(&format!("Note: {note}"));
    press(&mut h, Key::Z);
    // The terminal summary lists it for whoever reads the labels next.
    let text = mask_curator::cli::open::summary_text(&h.state().session().unwrap().dataset);
    assert!(
        text.contains(&format!("Notes on 1 person (the export's net_changes.csv lists them all):\n  {person}: {note}\n")),
        "{text}"
    );
}

/// The grid's filter bar wraps a labelled box whole: at any width the label ("Review",
/// "Sort", ...) sits on the row of its box, never at the end of the row above it.
#[test]
fn filter_labels_stay_beside_their_boxes_at_any_width() {
    let (_tmp, root) = dataset_in_tempdir();
    let mut wrapped = 0;
    for width in (700..=1500).step_by(40) {
        let mut h = harness_sized(&root, [width as f32, 700.0]);
        press(&mut h, Key::F3);
        for name in ["Gender", "Age", "Mask", "Class", "Review", "Sort"] {
            // The box its label names: a box that starts a row lost its label to the row
            // above.
            let combo = h.get_by_label(name).rect();
            assert!(
                combo.left() > 30.0,
                "{name}'s box starts a row at width {width}: {combo:?}"
            );
            if combo.top() > 50.0 {
                wrapped += 1;
            }
        }
        drop(h);
    }
    assert!(wrapped > 0, "some widths wrap the filter bar");
}

/// The overview fits beside the open training panel: its bars, counts, class chart and
/// texts give way to the panel instead of running under it.
#[test]
fn the_overview_fits_beside_the_training_panel() {
    use egui_kittest::kittest::{By, NodeT};
    let (_tmp, root) = dataset_in_tempdir();
    for width in [900.0, 1000.0, 1200.0] {
        let mut h = harness_sized(&root, [width, 800.0]);
        press(&mut h, Key::F9);
        press(&mut h, Key::F2);
        h.run();
        let panel_left = h.get_by_label("Start").rect().min.x;
        let chart = h.get_by_label("photos per class chart").rect();
        assert!(
            chart.max.x <= panel_left,
            "{chart:?}, panel at {panel_left} in a {width} window"
        );
        let mut checked = 0;
        for node in h.query_all(By::new().role(egui::Role::Label)) {
            let r = node.rect();
            // The panel's own, and the status line across the window's foot.
            if r.min.x >= panel_left || r.min.y > 800.0 - 32.0 {
                continue;
            }
            checked += 1;
            assert!(
                r.max.x <= panel_left + 0.5,
                "{:?} at {r:?} runs under the panel at {panel_left} in a {width} window",
                node.accesskit_node().value()
            );
        }
        assert!(checked > 10, "{checked} labels checked");
    }
}
