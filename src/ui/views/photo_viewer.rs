//! The selected photo at the size of the window (Z, or a double-click on a photo in the
//! person and review views): a mask worn under the nose or a face's age is judged on it.
//! The keys keep working under it: Left/Right show the person's other photos, 1/2/3 set
//! the shown photo's mask, J/K move through the queue (the grid: the people); Z or Esc
//! closes it.

use crate::dataset::{PhotoRef, Slot};
use crate::ui::app::Runtime;
use crate::ui::commands::Command;
use crate::ui::state::PersistentState;
use crate::ui::widgets::{mask_strip, photo_content, photo_tile_ui, PhotoSource};

/// Photos are 3:4 (384 x 512 in the real data).
const ASPECT: f32 = 0.75;

pub fn photo_viewer_ui(
    ctx: &egui::Context,
    state: &PersistentState,
    rt: &mut Runtime,
    commands: &mut Vec<Command>,
) {
    if !rt.photo_viewer {
        return;
    }
    let Some(p) = rt.viewed_person(state.view) else {
        return;
    };
    // In the grid the label keys do not act: J/K move to the next person, O opens one.
    let hint = if state.view == crate::ui::state::View::People {
        "Left/Right: the other photos · J/K: the next person · O: open the person · Z or Esc: close"
    } else {
        "Left/Right: the other photos · 1/2/3: its mask · Z or Esc: close"
    };
    let slot = rt.selected_slot;
    let Some(session) = rt.session.as_ref() else {
        return;
    };
    let Some(person) = session.dataset.people.get(p) else {
        return;
    };
    // As large as the window allows, leaving room for the lines above and below.
    let screen = ctx.content_rect();
    let height = (screen.height() - 150.0)
        .min((screen.width() - 80.0) / ASPECT)
        .max(160.0);
    let size = egui::vec2((height * ASPECT).round(), height.round());
    let modal = egui::Modal::new(egui::Id::unique("photo_viewer")).show(ctx, |ui| {
        ui.horizontal(|ui| {
            ui.strong(egui::RichText::new(&person.folder).monospace());
            ui.label(format!(
                "{} ({}/{})",
                slot.stem(),
                slot.index() + 1,
                Slot::ALL.len()
            ));
            // The labels the annotator judges on it, as they stand now.
            ui.label(format!(
                "· {} · {} ({})",
                session.gender(p).name(),
                session.age_years(p),
                session.age_bin(p).name()
            ));
            if let Some((_, text)) =
                super::person::model_mask_guess(session, PhotoRef { person: p, slot })
            {
                ui.weak(text);
            }
        });
        let source = PhotoSource::of(session, PhotoRef { person: p, slot });
        let tile = photo_tile_ui(
            ui,
            size,
            photo_content(rt.photos.as_mut(), source, "loading…"),
            false,
            false,
            &format!("large photo {}", slot.stem()),
        );
        let mask = session.mask(p, slot);
        mask_strip(ui, tile.rect, mask, mask != slot.mask());
        if let Some(note) = session.note(p) {
            crate::ui::widgets::note_line_ui(ui, note);
        }
        ui.horizontal(|ui| {
            ui.weak(hint);
            if ui.button("Close").clicked() {
                commands.push(Command::PhotoViewer(false));
            }
        });
    });
    if modal.should_close() {
        commands.push(Command::PhotoViewer(false));
    }
}
