//! The review queue: ranked issues on the left, the current one in front (given vs
//! suggested, what the model estimates, actions), its person's seven photos right under
//! it, then the person's labels. Everything fits the width it gets, down to a 1000 px
//! window with the training panel open.

use crate::curation::ReviewDecision;
use crate::dataset::{AgeBin, Field};
use crate::ui::app::Runtime;
use crate::ui::commands::Command;
use crate::ui::state::{PersistentState, QueueFilter};
use crate::ui::widgets::{
    age_chip_ui, blocks_ui, chip_ui, labelled_combo_ui, probability_bars_ui, Block,
    PROBABILITY_BARS_WIDTH,
};
use crate::workbench::session::{ItemStatus, QueueItem, Session};
use egui::Color32;

pub fn review_ui(
    ui: &mut egui::Ui,
    state: &mut PersistentState,
    rt: &mut Runtime,
    commands: &mut Vec<Command>,
) {
    let Some(session) = &rt.session else { return };
    let Some(kinds) = session.issues.as_ref().map(|i| i.kinds.clone()) else {
        ui.heading("No issues yet");
        ui.label("Issues come from a finished training run's out-of-fold probabilities.");
        ui.label(format!(
            "Runs are read from {}.",
            session.workspace.runs_dir().display()
        ));
        if ui.button("Look for a finished run").clicked() {
            commands.push(Command::ReloadRun);
        }
        return;
    };
    let before = state.queue_filter.clone();
    // The list takes at most a third of the space it shares with the item.
    let width = ui.available_width();
    egui::Panel::left("queue_list")
        .resizable(true)
        .default_size((width * 0.32).clamp(180.0, 330.0))
        .min_size(150.0)
        .max_size((width * 0.6).max(150.0))
        .show(ui, |ui| {
            run_picker_ui(ui, rt, commands);
            queue_filters_ui(ui, &mut state.queue_filter, &kinds);
            ui.separator();
            queue_list_ui(ui, state, rt, commands);
        });
    if state.queue_filter != before {
        commands.push(Command::QueueGo(0));
    }
    // Each item opens at its top (its issue first), however far down the last one was
    // scrolled (to its note, say).
    let new_item = rt.detail_shown_for != rt.shown_item;
    rt.detail_shown_for = rt.shown_item.clone();
    egui::CentralPanel::default().show(ui, |ui| {
        let mut area = egui::ScrollArea::vertical()
            .id_salt("review_item")
            .auto_shrink([false, false]);
        if new_item {
            area = area.vertical_scroll_offset(0.0);
        }
        area.show(ui, |ui| {
            current_item_ui(ui, state, rt, commands);
        });
    });
}

/// Which run feeds the queue: the newest finished one unless the annotator picks another.
fn run_picker_ui(ui: &mut egui::Ui, rt: &Runtime, commands: &mut Vec<Command>) {
    let Some(session) = &rt.session else { return };
    let current = session.probs.as_ref().map(|p| p.run_id.clone());
    let describe = |id: &str| {
        let run = rt.runs.iter().find(|r| r.id == id);
        let f1 = run
            .and_then(|r| r.macro_f1)
            .map_or(String::new(), |f| format!(" · F1 {f:.3}"));
        let newest = rt.runs.first().is_some_and(|r| r.id == id);
        format!("{id}{f1}{}", if newest { " · newest" } else { "" })
    };
    ui.horizontal(|ui| {
        let name = ui.label("Run");
        let selected = current.as_deref().map_or("none".to_string(), describe);
        egui::ComboBox::from_id_salt("run_picker")
            .selected_text(egui::RichText::new(selected).size(12.0))
            .truncate()
            .width(ui.available_width() - 8.0)
            .show_ui(ui, |ui| {
                for run in &rt.runs {
                    let chosen = current.as_deref() == Some(run.id.as_str());
                    if ui.selectable_label(chosen, describe(&run.id)).clicked() && !chosen {
                        commands.push(Command::UseRun(run.id.clone()));
                    }
                }
            })
            .response
            .labelled_by(name.id)
            .on_hover_text("The run whose out-of-fold probabilities feed this queue");
    });
}

fn queue_filters_ui(ui: &mut egui::Ui, f: &mut QueueFilter, kinds: &[String]) {
    ui.horizontal_wrapped(|ui| {
        labelled_combo_ui(ui, "Field", f.field.map_or("all", Field::name), |ui| {
            ui.selectable_value(&mut f.field, None, "all");
            for field in Field::ALL {
                ui.selectable_value(&mut f.field, Some(field), field.name());
            }
        });
        labelled_combo_ui(
            ui,
            "Kind",
            f.kind.clone().unwrap_or_else(|| "all".into()),
            |ui| {
                ui.selectable_value(&mut f.kind, None, "all");
                for k in kinds {
                    ui.selectable_value(&mut f.kind, Some(k.clone()), k);
                }
            },
        );
        ui.checkbox(&mut f.open_only, "Open only");
        ui.checkbox(&mut f.show_possible, "Possible too")
            .on_hover_text("Also list the possible tier: weaker evidence, beyond the engine's estimate of how many labels are wrong (P)");
    });
}

/// Two lines of 12 pt text per queue row.
const QUEUE_ROW_HEIGHT: f32 = 34.0;

fn queue_list_ui(
    ui: &mut egui::Ui,
    state: &PersistentState,
    rt: &mut Runtime,
    commands: &mut Vec<Command>,
) {
    let list: Vec<usize> = rt.queue(&state.queue_filter).to_vec();
    let pos = rt.queue_pos;
    let scroll_to = rt.scroll_to_selected;
    let pace = rt.pace_secs();
    let row_step = QUEUE_ROW_HEIGHT + ui.spacing().item_spacing.y;
    rt.queue_page_rows = ((ui.available_height() - 20.0) / row_step).max(1.0) as usize;
    let Some(session) = &rt.session else { return };
    let Some(issues) = &session.issues else {
        return;
    };
    let done = list
        .iter()
        .filter(|&&i| session.item_status(&issues.items[i]) != ItemStatus::Open)
        .count();
    ui.label(format!(
        "{} · {done} decided",
        crate::workbench::queries::counted(list.len(), "issue")
    ));
    if let (Some(pace), open @ 1..) = (pace, list.len() - done) {
        ui.weak(crate::workbench::queries::time_left_text(open, pace))
            .on_hover_text("The median time between your last edits and decisions, breaks of over five minutes left out");
    }
    let (likely, expected) = issues.likely();
    let possible = issues.items.len() - likely;
    ui.label(format!(
        "likely {likely} (about {expected:.0} expected real errors) · possible {possible}{}",
        if state.queue_filter.show_possible { "" } else { " (hidden)" }
    ))
    .on_hover_text("The score of an item is the calibrated probability that its given label is wrong; their sum is the expected number of real errors.");
    crate::ui::widgets::decision_check_ui(ui, &session.decision_check());
    if let Some(note) = &issues.age_note {
        ui.weak(note);
    }
    let leads = session.batch_leads();
    let mut area = egui::ScrollArea::vertical()
        .id_salt("queue_rows")
        .auto_shrink([false, false]);
    if scroll_to {
        // Only the rows on screen are laid out, so a row far away (End, a jump from the
        // person view) cannot scroll itself into view: the list is placed to centre it.
        let view = ui.available_height();
        area =
            area.vertical_scroll_offset((pos as f32 * row_step - (view - row_step) / 2.0).max(0.0));
    }
    area.show_rows(ui, QUEUE_ROW_HEIGHT, list.len(), |ui, rows| {
        for row in rows {
            let item = &issues.items[list[row]];
            let status = session.item_status(item);
            let photo = match (item.slot, &item.pair) {
                (Some(_), Some(_)) => " (swapped pair)".to_string(),
                (Some(s), None) => format!("/{}", s.stem()),
                (None, _) => String::new(),
            };
            // Judged in years, the years say more than the bins (43 read as 57 is
            // "30-59 -> 30-59" in bins).
            let change = item.change_text();
            let run = if leads.contains_key(&list[row]) {
                " · next to a wrong one"
            } else {
                ""
            };
            let head = format!(
                "{:>4}. {} {change}  {:>5}  [{}]",
                row + 1,
                item.field.name(),
                crate::issues::prob_text(item.score),
                status.name(),
            );
            let noted = if session.note(item.person).is_some() {
                " · note"
            } else {
                ""
            };
            let who = format!("      {}{photo}{run}{noted}", session.folder(item.person));
            let r = queue_row_ui(ui, row == pos, status != ItemStatus::Open, &head, &who);
            if r.clicked() {
                commands.push(Command::QueueGo(row));
            }
        }
    });
}

/// One row of the queue: what the item says, then whose it is, each line cut to the
/// list's width on its own (a button cuts its text after the first line, and the person
/// would be lost). Exactly [`QUEUE_ROW_HEIGHT`] tall, the height the list scrolls by.
fn queue_row_ui(
    ui: &mut egui::Ui,
    selected: bool,
    decided: bool,
    head: &str,
    who: &str,
) -> egui::Response {
    let size = egui::vec2(ui.available_width(), QUEUE_ROW_HEIGHT);
    let (rect, response) = ui.allocate_exact_size(size, egui::Sense::click());
    response.widget_info(|| {
        egui::WidgetInfo::selected(
            egui::Role::Button,
            ui.is_enabled(),
            selected,
            format!("{head}\n{who}"),
        )
    });
    if ui.is_rect_visible(rect) {
        let visuals = ui.style().interact_selectable(&response, selected);
        if selected || response.hovered() || response.has_focus() {
            ui.painter().rect(
                rect,
                visuals.corner_radius,
                visuals.weak_bg_fill,
                visuals.bg_stroke,
                egui::StrokeKind::Inside,
            );
        }
        let color = if decided && !selected {
            ui.visuals().weak_text_color()
        } else {
            visuals.text_color()
        };
        let pad = ui.spacing().button_padding.x;
        let width = (rect.width() - 2.0 * pad).max(0.0);
        let mut y = rect.top() + 2.0;
        for line in [head, who] {
            let text = egui::RichText::new(line).size(12.0).color(color);
            let galley = egui::WidgetText::from(text).into_galley(
                ui,
                Some(egui::TextWrapMode::Truncate),
                width,
                egui::TextStyle::Button,
            );
            let height = galley.size().y;
            ui.painter()
                .galley(egui::pos2(rect.left() + pad, y), galley, color);
            y += height;
        }
    }
    response
}

/// An empty queue because of its filters: which filter hides how many, one click to clear.
fn empty_queue_ui(
    ui: &mut egui::Ui,
    state: &PersistentState,
    session: &Session,
    commands: &mut Vec<Command>,
) {
    ui.heading("The queue is empty");
    let Some(issues) = &session.issues else {
        return;
    };
    let f = &state.queue_filter;
    if issues.items.is_empty() {
        ui.label("The run found no issue.");
        return;
    }
    let hidden_by =
        |keep: &dyn Fn(&QueueItem) -> bool| issues.items.iter().filter(|it| !keep(it)).count();
    let mut reasons = Vec::new();
    if let Some(field) = f.field {
        let n = hidden_by(&|it| it.field == field);
        reasons.push(format!("Field = {} hides {n}", field.name()));
    }
    if let Some(kind) = &f.kind {
        let n = hidden_by(&|it| it.kind == *kind);
        reasons.push(format!("Kind = {kind} hides {n}"));
    }
    if f.open_only {
        let n = hidden_by(&|it| session.item_status(it) == ItemStatus::Open);
        reasons.push(format!("Open only hides {n} (decided)"));
    }
    if !f.show_possible {
        let n = hidden_by(&|it| it.tier == crate::issues::Tier::Likely);
        reasons.push(format!("the possible tier ({n}) is hidden"));
    }
    ui.label(format!(
        "The run has {}; the filters hide them all: {}.",
        crate::workbench::queries::counted(issues.items.len(), "issue"),
        reasons.join(", ")
    ));
    if ui.button("Clear the filters").clicked() {
        commands.push(Command::ClearQueueFilters);
    }
}

fn current_item_ui(
    ui: &mut egui::Ui,
    state: &PersistentState,
    rt: &mut Runtime,
    commands: &mut Vec<Command>,
) {
    let filter = state.queue_filter.clone();
    let total = rt.queue(&filter).len();
    let pos = rt.queue_pos;
    let Some(idx) = rt.queue(&filter).get(pos).copied() else {
        if let Some(session) = &rt.session {
            empty_queue_ui(ui, state, session, commands);
        }
        return;
    };
    let Some(session) = &rt.session else { return };
    let Some(item) = session
        .issues
        .as_ref()
        .and_then(|i| i.items.get(idx))
        .cloned()
    else {
        return;
    };
    let status = session.item_status(&item);
    ui.horizontal_wrapped(|ui| {
        ui.heading(format!("Issue {} of {}", pos + 1, total));
        let color = match status {
            ItemStatus::Open => crate::ui::widgets::AMBER,
            ItemStatus::NeedsReview => Color32::from_rgb(207, 34, 46),
            _ => Color32::from_rgb(46, 160, 67),
        };
        ui.colored_label(color, status.name());
        if ui.button("Previous").on_hover_text("K / Up").clicked() {
            commands.push(Command::QueueStep(-1));
        }
        if ui.button("Next").on_hover_text("J / Down").clicked() {
            commands.push(Command::QueueStep(1));
        }
    });
    egui::Frame::group(ui.style()).show(ui, |ui| {
        issue_box_ui(ui, session, &item, commands);
    });
    ui.add_space(4.0);
    super::person::person_detail_ui(ui, state, rt, item.person, Some(&item), commands);
    rt.scroll_to_selected = false;
}

/// What the issue is, the model's estimate for it (named for what it is), and the actions.
fn issue_box_ui(
    ui: &mut egui::Ui,
    session: &Session,
    item: &QueueItem,
    commands: &mut Vec<Command>,
) {
    let folder = session.folder(item.person);
    let scope = match (item.slot, &item.pair) {
        (Some(slot), Some(pair)) => {
            format!("photos {} and {} swapped", slot.stem(), pair.slot.stem())
        }
        (Some(slot), None) => format!("photo {}", slot.stem()),
        (None, _) => "whole person (all seven photos)".to_string(),
    };
    ui.horizontal_wrapped(|ui| {
        ui.strong(format!("{} · {} · {}", item.field.name(), item.kind, scope));
        ui.label(format!(
            "{} · p(wrong) {}",
            item.tier.name(),
            crate::issues::prob_text(item.score)
        ))
        .on_hover_text("The calibrated probability that the given label is wrong");
    });
    if let Some(years) = &item.years_text {
        ui.strong(years);
    }
    if let Some(n) = session.batch_lead_of(item) {
        ui.colored_label(
            crate::ui::widgets::AMBER,
            format!(
                "Next in id order to {}, whose {} was wrong the same way: wrong labels come in runs of consecutive ids.",
                session.folder(n),
                item.field.name()
            ),
        );
    }
    ui.spacing_mut().item_spacing.y = 2.0;
    ui.horizontal_wrapped(|ui| {
        ui.label(egui::RichText::new(folder).monospace());
        ui.label("given");
        let years_chip = |ui: &mut egui::Ui, years: u32, edited: bool| {
            age_chip_ui(ui, years, AgeBin::from_years(years), edited);
        };
        match (item.given_years, item.suggested_years) {
            (Some(given), Some(model)) => {
                years_chip(ui, given, false);
                ui.label("-> suggested");
                years_chip(ui, model, false);
                let now = session.age_years(item.person);
                if now != given {
                    ui.label("· now");
                    years_chip(ui, now, true);
                }
            }
            _ => {
                chip_ui(ui, item.field, item.given, false);
                ui.label("-> suggested");
                chip_ui(ui, item.field, item.suggested, false);
                let now = session.value(
                    item.field,
                    item.person,
                    item.slot.unwrap_or(crate::dataset::Slot::Mask1),
                );
                if now != item.given {
                    ui.label("· now");
                    chip_ui(ui, item.field, now, true);
                }
            }
        }
    });
    // The engine's own estimate: for a person-level issue it combines the seven photos,
    // for a photo issue it is that photo's. A swapped pair shows both photos side by side.
    let estimate = match item.slot {
        Some(slot) => format!("model, photo {}:", slot.stem()),
        None => "model, the person's seven photos combined:".to_string(),
    };
    let mut blocks: Vec<Block<'_>> = vec![Box::new(|ui| {
        ui.weak(estimate);
        probability_bars_ui(
            ui,
            item.field,
            &item.probabilities,
            Some(item.given),
            Some(item.suggested),
        );
    })];
    if let Some(pair) = &item.pair {
        blocks.push(Box::new(move |ui| {
            ui.horizontal_wrapped(|ui| {
                ui.weak(format!("model, photo {}: given", pair.slot.stem()));
                chip_ui(ui, item.field, pair.given, false);
                ui.weak("-> suggested");
                chip_ui(ui, item.field, pair.suggested, false);
                let now = session.value(item.field, item.person, pair.slot);
                if now != pair.given {
                    ui.weak("· now");
                    chip_ui(ui, item.field, now, true);
                }
            });
            probability_bars_ui(
                ui,
                item.field,
                &pair.probabilities,
                Some(pair.given),
                Some(pair.suggested),
            );
        }));
    }
    blocks_ui(ui, PROBABILITY_BARS_WIDTH, blocks);
    if item.pair.is_some() {
        ui.weak("Accepting fixes both photos in one step.");
    }
    ui.horizontal_wrapped(|ui| {
        let hint = "Or set a label: 1/2/3 mask of the selected photo, M/F gender, 4/5/6 age \
                    bin, A age in years. The given label's key keeps it.";
        if ui
            .button("Accept (Enter)")
            .on_hover_text("Apply the suggested label and move on")
            .clicked()
        {
            commands.push(Command::Decide(ReviewDecision::Accepted));
        }
        if ui
            .button("Keep given (Space)")
            .on_hover_text("The given label is right: record it and move on")
            .clicked()
        {
            commands.push(Command::Decide(ReviewDecision::Keep));
        }
        if ui
            .button("Needs review (N)")
            .on_hover_text("Come back to it later (a note, C, first says why)")
            .clicked()
        {
            commands.push(Command::Decide(ReviewDecision::NeedsReview));
        }
        ui.weak("or a label key").on_hover_text(hint);
    });
    // The note is edited under the labels, often below the fold: it is read here.
    if let Some(note) = session.note(item.person) {
        crate::ui::widgets::note_line_ui(ui, note)
            .on_hover_text("The note on this person (C edits it)");
    }
}
