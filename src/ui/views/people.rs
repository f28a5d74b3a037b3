//! The people grid: one row per person (seven photo tiles + curated labels), filters,
//! sort, and virtual scrolling: only the rows on screen are laid out or touch thumbnails.

use crate::dataset::{AgeBin, Field, Gender, Mask, PhotoRef, Slot, NUM_CLASSES};
use crate::ui::app::Runtime;
use crate::ui::commands::Command;
use crate::ui::state::{PeopleFilter, PersistentState, ReviewedFilter, SortBy};
use crate::ui::thumb_textures::ThumbTextures;
use crate::ui::widgets::{
    age_chip_ui, gender_chip_ui, labelled_combo_ui, mask_strip, photo_content, photo_tile_ui,
    PhotoSource,
};
use crate::workbench::session::{ItemStatus, QueueItem, Session};
use egui::{Color32, Vec2};

pub fn people_ui(
    ui: &mut egui::Ui,
    state: &mut PersistentState,
    rt: &mut Runtime,
    commands: &mut Vec<Command>,
) {
    let open_found = filters_ui(ui, &mut state.people_filter, rt);
    ui.separator();
    let filter = state.people_filter.clone();
    let list: Vec<usize> = rt.people(&filter).to_vec();
    // Enter in the search opens the person found (the first one shown).
    if open_found && !filter.text.is_empty() {
        match list.first() {
            Some(&first) => commands.push(Command::OpenPerson(first)),
            None => commands.push(Command::Say(format!(
                "No person's id or folder contains \"{}\" under these filters",
                filter.text
            ))),
        }
    }
    // A filter that hides the selected person hands the selection to the first person it
    // shows, so O, J and K act on someone on screen (a search for 000168 followed by O
    // opened the person selected before the search).
    if let Some(&first) = list.first() {
        if !rt.selected_person.is_some_and(|s| list.contains(&s)) {
            commands.push(Command::SelectPerson(first));
            rt.scroll_to_selected = true;
        }
    }
    let Some(session) = &rt.session else { return };
    ui.horizontal(|ui| {
        ui.label(format!(
            "{} of {} people",
            list.len(),
            session.dataset.people.len()
        ));
        if !filter.is_default() && ui.small_button("Clear filters").clicked() {
            state.people_filter = PeopleFilter::default();
        }
        ui.weak("Click a photo to select it, double-click or O to open the person.");
    });
    let thumb_h = state.thumb_height;
    let thumb_w = (thumb_h * 0.75).round();
    let row_h = thumb_h + 8.0;
    // As many people side by side as the window holds, so a wide window is filled.
    let spacing = ui.spacing().item_spacing.x;
    let person_w = NAME_WIDTH + spacing + Slot::ALL.len() as f32 * (thumb_w + spacing);
    let cols =
        (((ui.available_width() + PERSON_GAP) / (person_w + PERSON_GAP)).floor() as usize).max(1);
    let rows = list.len().div_ceil(cols);
    let visible_rows =
        (ui.available_height() / (row_h + ui.spacing().item_spacing.y)).floor() as usize;
    rt.grid_page_rows = (visible_rows.max(1) * cols).max(1);
    let selected = rt.selected_person;
    let mut scroll = egui::ScrollArea::vertical()
        .id_salt("people_grid")
        .auto_shrink([false, false]);
    if rt.scroll_to_selected {
        rt.scroll_to_selected = false;
        if let Some(pos) = selected.and_then(|s| list.iter().position(|&p| p == s)) {
            let spacing = ui.spacing().item_spacing.y;
            let target = (pos / cols) as f32 * (row_h + spacing);
            let visible = ui.available_height();
            // The offset the grid was drawn at (a state looked up by a hand-made id was
            // never found, so K, Page Up and Home never scrolled up).
            let current = rt.grid_offset;
            // Scroll only when the row is off screen, keeping it in view with a margin.
            if target < current || target + row_h > current + visible {
                scroll = scroll.vertical_scroll_offset((target - visible / 3.0).max(0.0));
            }
        }
    }
    let selected_slot = rt.selected_slot;
    let mut thumbs = rt.thumbs.as_mut();
    let shown = scroll.show_rows(ui, row_h, rows, |ui, range| {
        for r in range {
            let people = &list[r * cols..((r + 1) * cols).min(list.len())];
            ui.horizontal_top(|ui| {
                for &p in people {
                    let size = Vec2::new(thumb_w, thumb_h);
                    person_row_ui(
                        ui,
                        session,
                        p,
                        (selected == Some(p)).then_some(selected_slot),
                        size,
                        thumbs.as_deref_mut(),
                        commands,
                    );
                    ui.add_space(PERSON_GAP - spacing);
                }
            });
        }
    });
    rt.grid_offset = shown.state.clamped_offset().y;
}

/// Width of the name and labels column left of a person's photos.
const NAME_WIDTH: f32 = 230.0;
/// Space between two people on one grid row.
const PERSON_GAP: f32 = 20.0;

fn person_row_ui(
    ui: &mut egui::Ui,
    session: &Session,
    p: usize,
    // The selected photo when this person is the selected one.
    selected: Option<Slot>,
    thumb: Vec2,
    mut thumbs: Option<&mut ThumbTextures>,
    commands: &mut Vec<Command>,
) {
    let person = &session.dataset.people[p];
    let is_selected = selected.is_some();
    let issues = session.issues.as_ref();
    // A person with a likely item shows those (amber, as the queue lists them by
    // default); one with possible items only shows them quietly: with a weak run nearly
    // everyone has one, and an amber sign on each would drown the likely ones.
    let likely = issues.is_some_and(|i| i.has_likely(p));
    let shown: Vec<&QueueItem> = issues
        .and_then(|i| i.by_person.get(&p).map(|items| (i, items)))
        .map(|(set, items)| {
            items
                .iter()
                .map(|&i| &set.items[i])
                .filter(|it| !likely || it.tier == crate::issues::Tier::Likely)
                .collect()
        })
        .unwrap_or_default();
    let flagged: Vec<(Field, Option<Slot>)> = shown.iter().map(|it| (it.field, it.slot)).collect();
    // The state and probability of the items shown: a decided likely item reads as
    // decided even while a possible one of the person is still open.
    let statuses: Vec<ItemStatus> = shown.iter().map(|it| session.item_status(it)).collect();
    let status = ItemStatus::worst(&statuses);
    let score = shown.iter().map(|it| it.score).fold(0.0, f32::max);
    // The amber corner marks a photo of a likely item only.
    let flagged_slots: Vec<Option<Slot>> = if likely {
        flagged.iter().map(|(_, s)| *s).collect()
    } else {
        Vec::new()
    };
    // The flag names the fields in question: "gender", "mask, age".
    let mut fields: Vec<&str> = Vec::new();
    for (field, _) in &flagged {
        if !fields.contains(&field.name()) {
            fields.push(field.name());
        }
    }
    let row = ui.horizontal(|ui| {
        ui.set_height(thumb.y + 4.0);
        ui.vertical(|ui| {
            ui.set_width(NAME_WIDTH);
            let name = egui::RichText::new(&person.folder).monospace();
            let name = if is_selected {
                name.strong().color(ui.visuals().selection.stroke.color)
            } else {
                name
            };
            if ui
                .add(egui::Button::new(name).frame(false))
                .on_hover_text("Open in the person view")
                .clicked()
            {
                commands.push(Command::OpenPerson(p));
            }
            ui.horizontal(|ui| {
                let edited = session.is_edited(p);
                gender_chip_ui(ui, session.gender(p), session.gender(p) != person.gender);
                age_chip_ui(
                    ui,
                    session.age_years(p),
                    session.age_bin(p),
                    session.age_years(p) != person.age,
                );
                if edited {
                    ui.weak("edited");
                }
                let ids = session.identities().ids_of(p);
                if ids > 1 {
                    ui.weak(format!("{ids} ids")).on_hover_text(
                        "Decided to be one person with other ids (the person view names them)",
                    );
                }
                if let Some(note) = session.note(p) {
                    ui.weak("note").on_hover_text(note);
                }
            });
            if let Some(status) = status {
                let color = match status {
                    ItemStatus::Open => crate::ui::widgets::AMBER,
                    ItemStatus::NeedsReview => Color32::from_rgb(207, 34, 46),
                    _ => Color32::from_rgb(46, 160, 67),
                };
                if likely {
                    ui.colored_label(
                        color,
                        format!(
                            "⚠ {} {} · {}",
                            fields.join(", "),
                            crate::issues::prob_text(score),
                            status.name()
                        ),
                    )
                    .on_hover_text(
                        "Fields the run flags as likely wrong for this person, the highest \
                         probability that a label is wrong, the review state",
                    );
                } else {
                    let text = format!(
                        "possible: {} {} · {}",
                        fields.join(", "),
                        crate::issues::prob_text(score),
                        status.name()
                    );
                    let label = if status == ItemStatus::Open {
                        ui.weak(text)
                    } else {
                        ui.colored_label(color, text)
                    };
                    label.on_hover_text(
                        "Weaker evidence only (the review queue lists it with Possible too): \
                         fields, the highest probability that a label is wrong, the review state",
                    );
                }
            }
        });
        for slot in Slot::ALL {
            let path = PhotoSource::of(session, PhotoRef { person: p, slot });
            let mask = session.mask(p, slot);
            let flagged = flagged_slots.contains(&Some(slot));
            let tile = photo_tile_ui(
                ui,
                thumb,
                photo_content(thumbs.as_deref_mut(), path, slot.stem()),
                selected == Some(slot),
                flagged,
                &format!("{} {}", person.folder, slot.stem()),
            );
            mask_strip(ui, tile.rect, mask, mask != slot.mask());
            if tile.double_clicked() {
                commands.push(Command::OpenPerson(p));
            } else if tile.clicked() {
                commands.push(Command::SelectPerson(p));
                commands.push(Command::SelectPhoto(slot));
            }
        }
    });
    if is_selected {
        ui.painter().rect_stroke(
            row.response.rect.expand(2.0),
            4.0,
            egui::Stroke::new(1.0, ui.visuals().selection.stroke.color.gamma_multiply(0.5)),
            egui::StrokeKind::Outside,
        );
    }
}

/// Draws the filters; true when Enter was pressed in the search field (open the person
/// found).
fn filters_ui(ui: &mut egui::Ui, f: &mut PeopleFilter, rt: &mut Runtime) -> bool {
    let mut open_found = false;
    ui.horizontal_wrapped(|ui| {
        let label = ui.label("Search:");
        let search = ui
            .add(
                egui::TextEdit::singleline(&mut f.text)
                    .hint_text("id, folder or note (/)")
                    .desired_width(160.0),
            )
            .labelled_by(label.id);
        if rt.focus_search {
            rt.focus_search = false;
            search.request_focus();
            // The last search stays (filters are kept per dataset) but selected, so what is
            // typed replaces it instead of being appended to it.
            let mut edit = egui::TextEdit::load_state(ui.ctx(), search.id).unwrap_or_default();
            let all = egui::text::CCursorRange::select_all_str(&f.text);
            edit.cursor.set_char_range(Some(all));
            edit.store(ui.ctx(), search.id);
        }
        open_found = search.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        option_combo_ui(ui, "Gender", &mut f.gender, &Gender::ALL, |g| {
            g.name().to_string()
        });
        option_combo_ui(ui, "Age", &mut f.age, &AgeBin::ALL, |a| {
            a.name().to_string()
        });
        option_combo_ui(ui, "Mask", &mut f.mask, &Mask::ALL, |m| {
            m.name().to_string()
        });
        let classes: Vec<usize> = (0..NUM_CLASSES).collect();
        option_combo_ui(ui, "Class", &mut f.class, &classes, |c| {
            crate::dataset::ClassCode::from_index(*c)
                .map_or(String::new(), |cc| format!("{c}: {}", cc.describe()))
        });
        ui.checkbox(&mut f.flagged_only, "Flagged").on_hover_text(
            "People the run flags as likely mislabelled (the review queue's default list)",
        );
        ui.checkbox(&mut f.photo_problems_only, "Photo problems")
            .on_hover_text("People with a photo the photo checks flagged: dark, overexposed, blurred, almost blank, grayscale, odd size or shape, or the same photo as another");
        ui.checkbox(&mut f.embedding_flags_only, "Outliers / look-alikes")
            .on_hover_text("People with a photo unlike any other, or whom the model sees as another person (the run's embeddings; map: F7)");
        ui.checkbox(&mut f.edited_only, "Edited");
        ui.checkbox(&mut f.noted_only, "Noted")
            .on_hover_text("People with an annotator's note (C in the person view or the review)");
        if let Some(only) = &f.only_people {
            let name = if f.only_people_name.is_empty() {
                "Selection"
            } else {
                f.only_people_name.as_str()
            };
            if ui
                .button(format!("{name}: {} people ✖", only.len()))
                .on_hover_text("Only these people are shown; click to show everyone")
                .clicked()
            {
                f.only_people = None;
                f.only_people_name.clear();
            }
        }
        labelled_combo_ui(ui, "Review", f.reviewed.name(), |ui| {
            for r in ReviewedFilter::ALL {
                ui.selectable_value(&mut f.reviewed, r, r.name());
            }
        });
        labelled_combo_ui(
            ui,
            "Sort",
            match f.sort {
                SortBy::Id => "id",
                SortBy::IssueScore => "issue score",
            },
            |ui| {
                ui.selectable_value(&mut f.sort, SortBy::Id, "id");
                ui.selectable_value(&mut f.sort, SortBy::IssueScore, "issue score");
            },
        );
    });
    open_found
}

fn option_combo_ui<T: Copy + PartialEq>(
    ui: &mut egui::Ui,
    label: &str,
    value: &mut Option<T>,
    options: &[T],
    name: impl Fn(&T) -> String,
) {
    labelled_combo_ui(
        ui,
        label,
        value.as_ref().map_or("any".to_string(), &name),
        |ui| {
            ui.selectable_value(value, None, "any");
            for o in options {
                ui.selectable_value(value, Some(*o), name(o));
            }
        },
    );
}
