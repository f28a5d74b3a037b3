//! The person view: the seven photos large with their mask labels, the person's gender
//! and age, and the model's probabilities when a run exists. Also used by the review queue
//! to show the whole person around an issue.

use crate::dataset::{AgeBin, Field, Gender, Mask, PhotoRef, Slot};
use crate::ui::app::Runtime;
use crate::ui::commands::Command;
use crate::ui::state::PersistentState;
use crate::ui::thumb_textures::ThumbTextures;
use crate::ui::widgets::{
    age_chip_ui, blocks_ui, gender_chip_ui, mask_strip, photo_content, photo_tile_ui,
    probability_bars_ui, value_color, Block, PhotoSource, PROBABILITY_BARS_WIDTH,
};
use crate::workbench::session::{QueueItem, Session};

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
    ui.add(egui::Slider::new(&mut state.photo_height, 48.0..=640.0).suffix(" pt"))
        .labelled_by(label.id);
}

/// The person's labels and seven photos; `item` highlights the field and photo under
/// review. In review the photos come first, right under the issue, so the flagged photo is
/// on screen without scrolling.
pub fn person_detail_ui(
    ui: &mut egui::Ui,
    state: &PersistentState,
    rt: &mut Runtime,
    p: usize,
    item: Option<&QueueItem>,
    commands: &mut Vec<Command>,
) {
    let Some(session) = &rt.session else { return };
    let Some(person) = session.dataset.people.get(p) else {
        return;
    };
    ui.horizontal_wrapped(|ui| {
        if item.is_none() {
            ui.heading(egui::RichText::new(&person.folder).monospace());
        }
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
    if item.is_some() {
        // The photos stay right under the issue; other ids of the person come last.
        photos_ui(ui, state, rt, p, item, commands);
        labels_ui(ui, rt, p, item, commands);
        note_ui(ui, rt, p, commands);
        if let Some(session) = &rt.session {
            identity_ui(ui, session, p, commands);
        }
    } else {
        issues_ui(ui, session, p, commands);
        identity_ui(ui, session, p, commands);
        labels_ui(ui, rt, p, item, commands);
        note_ui(ui, rt, p, commands);
        photos_ui(ui, state, rt, p, item, commands);
    }
}

/// What the run on screen suspects of this person, each with its tier, probability and
/// state, and a button to review it in the queue.
fn issues_ui(
    ui: &mut egui::Ui,
    session: &crate::workbench::session::Session,
    p: usize,
    commands: &mut Vec<Command>,
) {
    let Some(issues) = &session.issues else {
        return;
    };
    let Some(items) = issues.by_person.get(&p) else {
        return;
    };
    for &i in items {
        let item = &issues.items[i];
        let status = session.item_status(item);
        let likely = item.tier == crate::issues::Tier::Likely;
        ui.horizontal_wrapped(|ui| {
            let photo = item
                .photos_text()
                .map_or(String::new(), |photos| format!(" ({photos})"));
            let text = format!(
                "{}{} {}{photo} · {} {} · {}{}",
                if likely { "⚠ " } else { "" },
                item.field.name(),
                item.change_text(),
                item.tier.name(),
                crate::issues::prob_text(item.score),
                status.name(),
                item.years_text
                    .as_ref()
                    .map_or(String::new(), |y| format!(" · {y}")),
            );
            if likely && status == crate::workbench::session::ItemStatus::Open {
                ui.colored_label(crate::ui::widgets::AMBER, text);
            } else {
                ui.weak(text);
            }
            if ui
                .small_button("Review")
                .on_hover_text(format!("Show issue {} in the review queue", item.issue_id))
                .clicked()
            {
                commands.push(Command::ReviewIssue(item.issue_id.clone()));
            }
        });
    }
}

/// Gender and age of the person, the model's view of what is not under review, and the
/// selected photo's mask.
fn labels_ui(
    ui: &mut egui::Ui,
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
    ui.horizontal_wrapped(|ui| {
        let gender = session.gender(p);
        ui.strong("Gender");
        gender_chip_ui(ui, gender, gender != person.gender);
        for (g, key) in [(Gender::Male, "M"), (Gender::Female, "F")] {
            if ui
                .selectable_label(gender == g, format!("{} ({key})", g.name()))
                .clicked()
            {
                commands.push(Command::SetGender {
                    person: p,
                    gender: g,
                });
            }
        }
    });
    ui.horizontal_wrapped(|ui| {
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
                    .id(egui::Id::unique(("age_field", p)))
                    .desired_width(40.0)
                    .hint_text(session.age_years(p).to_string()),
            )
            .labelled_by(label.id);
        if rt.focus_age {
            rt.focus_age = false;
            // Typing replaces the age shown (its value stays as the hint).
            rt.age_text.clear();
            field.request_focus();
        }
        if field.lost_focus() {
            let entered = ui.input(|i| i.key_pressed(egui::Key::Enter));
            let text = rt.age_text.trim().to_string();
            rt.age_text = session.age_years(p).to_string();
            if entered && !text.is_empty() {
                match text.parse::<u32>() {
                    Ok(years) if (1..=120).contains(&years) => {
                        commands.push(Command::SetAgeYears { person: p, years });
                    }
                    _ => commands.push(Command::Warn(format!(
                        "{}: \"{text}\" is not an age in years (1-120); the age stays {}",
                        person.folder,
                        session.age_years(p)
                    ))),
                }
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
            {
                commands.push(Command::SetAgeBin { person: p, bin });
            }
        }
        // What a run with an age head reads, as its age issues state it.
        let reading = session
            .issues
            .as_ref()
            .and_then(|i| i.age_readings.get(&p).copied());
        if let Some((years, sd)) = reading {
            ui.weak(format!("model {years:.0} ± {sd:.0}"))
                .on_hover_text("The run's reading of the seven photos, corrected for how it reads people of each age");
        }
    });
    // The model's view of the person: the mean of its photos. In review the field under
    // review has its own estimate in the issue box, so it is not repeated here.
    if session.probs.is_some() {
        let mut blocks: Vec<Block<'_>> = Vec::new();
        for field in [Field::Gender, Field::Age] {
            if item.is_some_and(|it| it.field == field) {
                continue;
            }
            if let Some(mean) = session.person_probs(p, field) {
                blocks.push(Box::new(move |ui| {
                    ui.weak(format!("model, {}: mean of the seven photos", field.name()));
                    // The marker stays on the label the dataset gave, whatever the edits.
                    let given = Some(session.given_value(field, p, Slot::Mask1));
                    probability_bars_ui(ui, field, &mean, given, None);
                }));
            }
        }
        blocks_ui(ui, PROBABILITY_BARS_WIDTH, blocks);
    }
    // The selected photo's mask, set with 1/2/3 or these buttons.
    let selected_mask = session.mask(p, selected_slot);
    ui.horizontal_wrapped(|ui| {
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
}

/// The annotator's note on the person, for whoever reads the labels next (another
/// annotator, the engineer who trains): C starts it, Enter or a click elsewhere saves it,
/// Esc drops what was typed.
fn note_ui(ui: &mut egui::Ui, rt: &mut Runtime, p: usize, commands: &mut Vec<Command>) {
    let Some(session) = &rt.session else { return };
    let current = session.note(p).unwrap_or_default().to_string();
    if rt.note_text_person != Some(p) {
        rt.note_text = current.clone();
        rt.note_text_person = Some(p);
    }
    ui.horizontal(|ui| {
        let label = ui.strong("Note (C)");
        let field = ui
            .add(
                egui::TextEdit::singleline(&mut rt.note_text)
                    // A fixed id: the photos above it add widgets as their thumbnails
                    // arrive, and an id counted from them would drop the focus.
                    .id(egui::Id::unique(("note_field", p)))
                    .char_limit(crate::curation::NOTE_MAX_CHARS)
                    .desired_width(ui.available_width().min(640.0))
                    .hint_text("a remark on this person for whoever reads the labels next"),
            )
            .labelled_by(label.id);
        if rt.focus_note {
            rt.focus_note = false;
            rt.note_into_view = true;
            field.request_focus();
        }
        // In review the field sits under the photos, often below the fold, and moves down
        // as their thumbnails arrive: it is brought into view until it is there.
        if rt.note_into_view {
            if !field.has_focus() || ui.clip_rect().contains_rect(field.rect) {
                rt.note_into_view = false;
            } else {
                field.scroll_to_me(None);
            }
        }
        if field.lost_focus() {
            let text = std::mem::replace(&mut rt.note_text, current.clone());
            if !rt.text_cancelled && text.trim() != current {
                commands.push(Command::SetNote { person: p, text });
            }
        }
    });
}

/// The seven photos, as many per row as fit the width.
fn photos_ui(
    ui: &mut egui::Ui,
    state: &PersistentState,
    rt: &mut Runtime,
    p: usize,
    item: Option<&QueueItem>,
    commands: &mut Vec<Command>,
) {
    let selected_slot = rt.selected_slot;
    // In review the photos share the window with the issue above them: fit what is left
    // of it (the scroll area's visible part below the cursor).
    let visible_below = (ui.clip_rect().bottom() - ui.cursor().top() - 8.0).max(0.0);
    // What is visible to the right of the cursor: content above (a wide issue box) may
    // have widened the scroll area's page past the panel.
    let visible_width = ui
        .available_width()
        .min(ui.clip_rect().right() - ui.cursor().left());
    let (size, per_row) = photo_layout(
        visible_width,
        ui.spacing().item_spacing.x,
        state.photo_height,
        item.map(|_| visible_below),
    );
    rt.shown_photo_height = size.y;
    let Some(session) = &rt.session else { return };
    ui.add_space(4.0);
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

/// The narrowest tile that still shows its labels.
const MIN_TILE_WIDTH: f32 = 64.0;
/// Height of the lines under a tile (slot, label, model guess) and the row gap.
const CAPTION_HEIGHT: f32 = 40.0;

/// Tile size and photos per row. The person view honours the zoom and wraps. Review fits
/// the seven photos into `available` width and, when given, `height` (what is left of the
/// window below the issue): it tries one row, two balanced rows (4 + 3) and three, and
/// takes the layout with the largest tiles that fit, never narrower than
/// [`MIN_TILE_WIDTH`] unless nothing else fits. No photo is ever cut off at the side.
pub fn photo_layout(
    available: f32,
    spacing: f32,
    zoom_height: f32,
    fit: Option<f32>,
) -> (egui::Vec2, usize) {
    const ASPECT: f32 = 0.75; // the photos are 384 x 512
    let n = Slot::ALL.len();
    let zoom_width = (zoom_height * ASPECT).round();
    let width_for =
        |per_row: usize| ((available - spacing * (per_row as f32 - 1.0)) / per_row as f32).floor();
    let size_of = |width: f32| egui::vec2(width.round(), (width / ASPECT).round());
    let Some(height) = fit else {
        let per_row =
            (((available + spacing) / (zoom_width + spacing)).floor() as usize).clamp(1, n);
        return (
            size_of(zoom_width.min(width_for(per_row)).max(24.0)),
            per_row,
        );
    };
    let mut best: Option<(f32, usize)> = None;
    for rows in 1..=3 {
        let per_row = n.div_ceil(rows);
        let by_height = ((height / rows as f32 - CAPTION_HEIGHT) * ASPECT).floor();
        let width = zoom_width.min(width_for(per_row)).min(by_height);
        if width >= MIN_TILE_WIDTH && best.is_none_or(|(w, _)| width > w) {
            best = Some((width, per_row));
        }
    }
    // Nothing fits the height: keep the tiles readable and let the page scroll.
    let (width, per_row) = best.unwrap_or_else(|| {
        let per_row =
            (((available + spacing) / (MIN_TILE_WIDTH + spacing)).floor() as usize).clamp(1, n);
        (zoom_width.min(width_for(per_row)).max(24.0), per_row)
    });
    (size_of(width), per_row)
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
    if session.dataset.people.get(p).is_none() {
        return;
    }
    let flagged = item.is_some_and(|it| {
        it.field == Field::Mask
            && (it.slot == Some(slot) || it.pair.as_ref().is_some_and(|pair| pair.slot == slot))
    });
    ui.vertical(|ui| {
        ui.set_width(size.x);
        let path = PhotoSource::of(session, PhotoRef { person: p, slot });
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
        if tile.double_clicked() {
            commands.push(Command::PhotoViewer(true));
        }
        // The mask label as a strip along the bottom of the photo (outlined when edited);
        // slot and the model's guess on small lines of their own, so narrow tiles stay
        // aligned and short.
        let mask = session.mask(p, slot);
        mask_strip(ui, tile.rect, mask, mask != slot.mask());
        ui.label(egui::RichText::new(slot.stem()).small().weak());
        if let Some((best, text)) = model_mask_guess(session, PhotoRef { person: p, slot }) {
            ui.label(
                egui::RichText::new(text)
                    .small()
                    .color(value_color(Field::Mask, best)),
            )
            .on_hover_text("the model's guess for this photo");
        }
        photo_findings_ui(ui, session, PhotoRef { person: p, slot }, commands);
    });
}

/// Other ids this person may be filed under: the run's look-alike, people with the same
/// picture, and ids already decided to be them. Each with a link, how it was found, the
/// decision and the buttons (S / D act on the first undecided one); a group whose labels
/// disagree says what disagrees.
fn identity_ui(ui: &mut egui::Ui, session: &Session, p: usize, commands: &mut Vec<Command>) {
    use crate::curation::IdentityDecision;
    use crate::workbench::session::IdentityReason;
    let candidates = session.identity_candidates(p);
    // A picture filed under many people (a placeholder, a stock photo) names them all:
    // the first few are enough to act on.
    const SHOWN: usize = 4;
    let hidden = candidates.len().saturating_sub(SHOWN);
    let keyed = session.identity_keyed_candidate(p);
    for (other, reason) in candidates.into_iter().take(SHOWN) {
        let decision = session.identity_decision(p, other);
        ui.horizontal_wrapped(|ui| {
            let (why, question) = match reason {
                IdentityReason::LookAlike => (
                    "The model sees this person and",
                    "as one: the same person under two ids?",
                ),
                IdentityReason::SharedPicture => (
                    "A picture of this person is filed under",
                    "too: the same person under two ids?",
                ),
                IdentityReason::Decided => ("Decided to be one person with", ""),
            };
            let colour = match decision {
                None | Some(IdentityDecision::Unsure) => crate::ui::widgets::AMBER,
                Some(_) => ui.visuals().weak_text_color(),
            };
            let mark = if decision.is_none() { "⚠ " } else { "" };
            ui.colored_label(colour, format!("{mark}{why}"));
            if ui
                .link(session.folder(other))
                .on_hover_text("Open the other person")
                .clicked()
            {
                commands.push(Command::OpenPerson(other));
            }
            match decision {
                None => {
                    ui.colored_label(colour, question);
                }
                Some(d) => {
                    ui.strong(format!("— {}", d.name()));
                }
            }
            for (d, label, key) in [
                (IdentityDecision::Same, "Same person", "S"),
                (IdentityDecision::Different, "Different people", "D"),
            ] {
                let text = if keyed == Some(other) {
                    format!("{label} ({key})")
                } else {
                    label.to_string()
                };
                let button = ui
                    .selectable_label(decision == Some(d), text)
                    .on_hover_text(match d {
                        IdentityDecision::Same => {
                            "One person under two ids: training keeps them in one fold, the export lists them (same_person.csv), and their labels are compared"
                        }
                        _ => "Two people who look alike",
                    });
                if button.clicked() && decision != Some(d) {
                    commands.push(Command::DecideIdentity {
                        person: p,
                        other: Some(other),
                        decision: d,
                    });
                }
            }
        });
    }
    if hidden > 0 {
        ui.weak(format!(
            "and {hidden} more people with a picture of this person (marked under the photos)"
        ));
    }
    if let Some(c) = session.identity_conflict_of(p) {
        ui.horizontal_wrapped(|ui| {
            ui.colored_label(
                crate::ui::widgets::AMBER,
                format!(
                    "⚠ One person, {} ids: {}",
                    c.people.len(),
                    crate::workbench::queries::describe_identity_conflict(session, &c)
                ),
            );
            if ui
                .button("Give the other ids these labels")
                .on_hover_text(format!(
                    "{}, {} for every id of this person (one undo step)",
                    session.gender(p).name(),
                    session.age_years(p)
                ))
                .clicked()
            {
                commands.push(Command::CopyLabelsToSamePerson(p));
            }
        });
    }
}

/// What the photo checks found in this photo, one small amber line each; a duplicate of
/// another person's photo links to that person.
fn photo_findings_ui(
    ui: &mut egui::Ui,
    session: &Session,
    photo: PhotoRef,
    commands: &mut Vec<Command>,
) {
    if let Some(text) = session
        .embeddings
        .as_ref()
        .and_then(|e| e.describe_outlier(photo))
    {
        ui.label(
            egui::RichText::new("⚠ outlier")
                .small()
                .color(crate::ui::widgets::AMBER),
        )
        .on_hover_text(format!("{text}\nFrom the run's embeddings (map: F7)"));
    }
    let Some(report) = &session.photos else {
        return;
    };
    for f in report.of_photo(photo) {
        let text = egui::RichText::new(format!("⚠ {}", f.kind.title()))
            .small()
            .color(crate::ui::widgets::AMBER);
        let detail = crate::photo_checks::describe(&session.dataset, report, f);
        let hover = if detail.is_empty() {
            format!(
                "{} (score {:.2}; photos score 0-1, lower is worse)",
                f.kind.title(),
                f.score
            )
        } else {
            detail
        };
        let other = report
            .others(f)
            .into_iter()
            .find(|o| o.person != photo.person);
        match other {
            Some(o) => {
                let folder = session
                    .dataset
                    .people
                    .get(o.person)
                    .map_or("", |p| p.folder.as_str());
                if ui
                    .link(text)
                    .on_hover_text(format!("{hover}\nClick to open {folder}"))
                    .clicked()
                {
                    commands.push(Command::OpenPerson(o.person));
                }
            }
            None => {
                ui.label(text).on_hover_text(hover);
            }
        }
    }
}

/// The run's most likely mask for a photo and how it reads ("model: wear 93%").
pub(super) fn model_mask_guess(session: &Session, photo: PhotoRef) -> Option<(usize, String)> {
    let probs = session.photo_probs(Field::Mask, photo)?;
    let best = argmax(&probs)?;
    Some((
        best,
        format!(
            "model: {} {}",
            Field::Mask.class_name(best),
            crate::issues::percent_text(probs[best])
        ),
    ))
}

fn argmax(v: &[f32]) -> Option<usize> {
    v.iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(i, _)| i)
}
