//! The person view: the seven photos large with their mask labels, the person's gender
//! and age, and the model's probabilities when a run exists. Also used by the review queue
//! to show the whole person around an issue.

use crate::dataset::{AgeBin, Field, Gender, Mask, PhotoRef, Slot};
use crate::ui::app::Runtime;
use crate::ui::commands::Command;
use crate::ui::session::{QueueItem, Session};
use crate::ui::state::PersistentState;
use crate::ui::thumb_textures::{PhotoKey, ThumbTextures};
use crate::ui::widgets::{
    age_chip_ui, chip_ui, gender_chip_ui, mask_chip_ui, photo_content, photo_tile_ui,
    probability_bars_ui, PhotoSource,
};

pub fn person_ui(
    ui: &mut egui::Ui,
    state: &mut PersistentState,
    rt: &mut Runtime,
    commands: &mut Vec<Command>,
) {
    let Some(p) = rt.selected_person else {
        ui.label("Select a person in the People grid.");
        return;
    };
    ui.horizontal(|ui| {
        if ui
            .button("Previous person")
            .on_hover_text("K / Up")
            .clicked()
        {
            commands.push(Command::StepPerson(-1));
        }
        if ui.button("Next person").on_hover_text("J / Down").clicked() {
            commands.push(Command::StepPerson(1));
        }
        zoom_ui(ui, state);
    });
    ui.separator();
    egui::ScrollArea::vertical()
        .id_salt("person_view")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            person_detail_ui(ui, state, rt, p, None, commands);
        });
}

pub fn zoom_ui(ui: &mut egui::Ui, state: &mut PersistentState) {
    let label = ui.label("Photo size:");
    ui.add(egui::Slider::new(&mut state.photo_height, 96.0..=640.0).suffix(" pt"))
        .labelled_by(label.id);
}

/// Labels, then the seven photos; `item` highlights the field and photo under review.
pub fn person_detail_ui(
    ui: &mut egui::Ui,
    state: &PersistentState,
    rt: &mut Runtime,
    p: usize,
    item: Option<&QueueItem>,
    commands: &mut Vec<Command>,
) {
    let selected_slot = rt.selected_slot;
    let Some(session) = &rt.session else { return };
    let Some(person) = session.dataset.people.get(p) else {
        return;
    };
    ui.horizontal(|ui| {
        ui.heading(egui::RichText::new(&person.folder).monospace());
        ui.weak(format!(
            "id {} · given: {}, {} ({})",
            person.id,
            person.gender.name(),
            person.age,
            person.age_bin().name()
        ));
        if session.is_edited(p) {
            ui.colored_label(ui.visuals().warn_fg_color, "edited");
        }
    });
    // Person-level labels.
    ui.horizontal(|ui| {
        let gender = session.gender(p);
        ui.strong("Gender");
        gender_chip_ui(ui, gender, gender != person.gender);
        for (g, key) in [(Gender::Male, "M"), (Gender::Female, "F")] {
            if ui
                .selectable_label(gender == g, format!("{} ({key})", g.name()))
                .clicked()
                && gender != g
            {
                commands.push(Command::SetGender {
                    person: p,
                    gender: g,
                });
            }
        }
        ui.separator();
        ui.strong("Age");
        age_chip_ui(
            ui,
            session.age_years(p),
            session.age_bin(p),
            session.age_years(p) != person.age,
        );
        if rt.age_text_person != Some(p) {
            rt.age_text = session.age_years(p).to_string();
            rt.age_text_person = Some(p);
        }
        let label = ui.label("years (A):");
        let field = ui
            .add(
                egui::TextEdit::singleline(&mut rt.age_text)
                    .desired_width(40.0)
                    .hint_text("age"),
            )
            .labelled_by(label.id);
        if rt.focus_age {
            rt.focus_age = false;
            field.request_focus();
        }
        if field.lost_focus() {
            if ui.input(|i| i.key_pressed(egui::Key::Enter)) {
                match rt.age_text.trim().parse::<u32>() {
                    Ok(years) if (1..=120).contains(&years) => {
                        if years != session.age_years(p) {
                            commands.push(Command::SetAgeYears { person: p, years });
                        }
                    }
                    _ => rt.age_text = session.age_years(p).to_string(),
                }
            } else {
                rt.age_text = session.age_years(p).to_string();
            }
        }
        for (bin, key) in [
            (AgeBin::Young, "4"),
            (AgeBin::Middle, "5"),
            (AgeBin::Old, "6"),
        ] {
            let current = session.age_bin(p) == bin;
            if ui
                .selectable_label(current, format!("{} ({key})", bin.name()))
                .clicked()
                && !current
            {
                commands.push(Command::SetAgeBin { person: p, bin });
            }
        }
    });
    // The model's view of the person: mean of its photos' marginals.
    if session.probs.is_some() {
        ui.horizontal(|ui| {
            for field in [Field::Gender, Field::Age] {
                if let Some(mean) = mean_probs(session, p, field) {
                    ui.vertical(|ui| {
                        ui.weak(format!("model: {}", field.name()));
                        let given = Some(session.value(field, p, Slot::Mask1));
                        let suggested = item.filter(|it| it.field == field).map(|it| it.suggested);
                        probability_bars_ui(ui, field, &mean, given, suggested);
                    });
                }
            }
        });
    }
    ui.add_space(6.0);
    // The selected photo's mask, set with 1/2/3 or these buttons.
    let selected_mask = session.mask(p, selected_slot);
    ui.horizontal(|ui| {
        ui.strong("Mask");
        ui.weak(selected_slot.stem());
        for (m, key) in [
            (Mask::Wear, "1"),
            (Mask::Incorrect, "2"),
            (Mask::NotWear, "3"),
        ] {
            if ui
                .selectable_label(selected_mask == m, format!("{} ({key})", m.name()))
                .clicked()
                && selected_mask != m
            {
                commands.push(Command::SetMask {
                    person: p,
                    slot: selected_slot,
                    mask: m,
                });
            }
        }
        ui.weak("· click a photo or use Left/Right to pick another");
    });
    ui.add_space(4.0);
    let (size, per_row) = photo_layout(
        ui.available_width(),
        ui.spacing().item_spacing.x,
        state.photo_height,
        item.is_some(),
    );
    for row in Slot::ALL.chunks(per_row) {
        ui.horizontal(|ui| {
            for &slot in row {
                photo_column_ui(
                    ui,
                    rt.photos.as_mut(),
                    session,
                    p,
                    slot,
                    selected_slot == slot,
                    size,
                    item,
                    commands,
                );
            }
        });
        ui.add_space(4.0);
    }
}

/// Tile size and photos per row. The review queue always shows the whole person in one
/// row (shrinking the tiles to fit); the person view honours the zoom and wraps.
fn photo_layout(
    available: f32,
    spacing: f32,
    zoom_height: f32,
    one_row: bool,
) -> (egui::Vec2, usize) {
    const ASPECT: f32 = 0.75; // the photos are 384 x 512
    let n = Slot::ALL.len();
    let fit_width = ((available - spacing * (n - 1) as f32) / n as f32).floor();
    let fit_height = (fit_width / ASPECT).max(48.0);
    let height = if one_row {
        zoom_height.min(fit_height)
    } else {
        zoom_height
    };
    let size = egui::vec2((height * ASPECT).round(), height.round());
    let per_row = if one_row {
        n
    } else {
        (((available + spacing) / (size.x + spacing)).floor() as usize).clamp(1, n)
    };
    (size, per_row)
}

/// One photo with its slot, mask chip and the model's mask guess under it.
#[allow(clippy::too_many_arguments)]
fn photo_column_ui(
    ui: &mut egui::Ui,
    photos: Option<&mut ThumbTextures>,
    session: &Session,
    p: usize,
    slot: Slot,
    selected: bool,
    size: egui::Vec2,
    item: Option<&QueueItem>,
    commands: &mut Vec<Command>,
) {
    let Some(person) = session.dataset.people.get(p) else {
        return;
    };
    let flagged = item.is_some_and(|it| {
        it.field == Field::Mask
            && (it.slot == Some(slot) || it.pair.as_ref().is_some_and(|pair| pair.slot == slot))
    });
    ui.vertical(|ui| {
        ui.set_width(size.x);
        let path = person.photos[slot.index()].as_ref().map(|ph| PhotoSource {
            key: PhotoKey::new(p, slot.index()),
            root: session.root(),
            rel_path: &ph.rel_path,
        });
        let tile = photo_tile_ui(
            ui,
            size,
            photo_content(photos, path, slot.stem()),
            selected,
            flagged,
            &format!("photo {}", slot.stem()),
        );
        if tile.clicked() {
            commands.push(Command::SelectPhoto(slot));
        }
        // Slot, label and model guess on lines of their own, so narrow tiles stay aligned.
        let mask = session.mask(p, slot);
        ui.weak(slot.stem());
        ui.horizontal(|ui| {
            ui.weak("label");
            mask_chip_ui(ui, mask, mask != slot.mask());
        });
        if let Some(probs) = session.photo_probs(Field::Mask, PhotoRef { person: p, slot }) {
            if let Some(best) = argmax(&probs) {
                ui.horizontal(|ui| {
                    ui.weak("model");
                    chip_ui(ui, Field::Mask, best, false);
                    ui.weak(format!("{:.0}%", probs[best] * 100.0));
                });
            }
        }
    });
}

fn mean_probs(session: &Session, p: usize, field: Field) -> Option<Vec<f32>> {
    let mut sum = vec![0.0; field.num_classes()];
    let mut n = 0;
    for slot in Slot::ALL {
        if let Some(v) = session.photo_probs(field, PhotoRef { person: p, slot }) {
            sum.iter_mut().zip(&v).for_each(|(s, x)| *s += x);
            n += 1;
        }
    }
    (n > 0).then(|| sum.into_iter().map(|s| s / n as f32).collect())
}

fn argmax(v: &[f32]) -> Option<usize> {
    v.iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(i, _)| i)
}
