//! The review queue: ranked issues on the left, the current one in front (given vs
//! suggested, score, probabilities, actions), and the whole person below for context.

use crate::curation::ReviewDecision;
use crate::dataset::Field;
use crate::ui::app::Runtime;
use crate::ui::commands::Command;
use crate::ui::session::ItemStatus;
use crate::ui::state::{PersistentState, QueueFilter};
use crate::ui::widgets::{chip_ui, labelled_combo_ui, probability_bars_ui};
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
        if ui.button("Reload newest run").clicked() {
            commands.push(Command::ReloadRun);
        }
        return;
    };
    let before = state.queue_filter.clone();
    egui::Panel::left("queue_list")
        .resizable(true)
        .default_size(330.0)
        .show(ui, |ui| {
            queue_filters_ui(ui, &mut state.queue_filter, &kinds);
            ui.separator();
            queue_list_ui(ui, state, rt, commands);
        });
    if state.queue_filter != before {
        commands.push(Command::QueueGo(0));
    }
    egui::CentralPanel::default().show(ui, |ui| {
        egui::ScrollArea::vertical()
            .id_salt("review_item")
            .auto_shrink([false, false])
            .show(ui, |ui| {
                current_item_ui(ui, state, rt, commands);
            });
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
    let Some(session) = &rt.session else { return };
    let Some(issues) = &session.issues else {
        return;
    };
    let done = list
        .iter()
        .filter(|&&i| session.item_status(&issues.items[i]) != ItemStatus::Open)
        .count();
    ui.label(format!("{} issues · {} decided", list.len(), done));
    egui::ScrollArea::vertical()
        .id_salt("queue_rows")
        .auto_shrink([false, false])
        .show_rows(ui, QUEUE_ROW_HEIGHT, list.len(), |ui, rows| {
            for row in rows {
                let item = &issues.items[list[row]];
                let status = session.item_status(item);
                let photo = match (item.slot, &item.pair) {
                    (Some(_), Some(_)) => " (swapped pair)".to_string(),
                    (Some(s), None) => format!("/{}", s.stem()),
                    (None, _) => String::new(),
                };
                let text = format!(
                    "{:>4}. {} {} -> {}   {:.2}  [{}]\n      {}{}",
                    row + 1,
                    item.field.name(),
                    item.field.class_name(item.given),
                    item.field.class_name(item.suggested),
                    item.score,
                    status.name(),
                    session.folder(item.person),
                    photo,
                );
                let mut rich = egui::RichText::new(text).size(12.0);
                if status != ItemStatus::Open {
                    rich = rich.weak();
                }
                let r = ui.selectable_label(row == pos, rich);
                if row == pos && rt.scroll_to_selected {
                    r.scroll_to_me(Some(egui::Align::Center));
                }
                if r.clicked() {
                    commands.push(Command::QueueGo(row));
                }
            }
        });
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
        ui.heading("The queue is empty");
        ui.label("No issue matches the filters.");
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
    ui.horizontal(|ui| {
        ui.heading(format!("Issue {} of {}", pos + 1, total));
        let color = match status {
            ItemStatus::Open => Color32::from_rgb(219, 143, 0),
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
        ui.horizontal(|ui| {
            let scope = match (item.slot, &item.pair) {
                (Some(slot), Some(pair)) => {
                    format!("photos {} and {} swapped", slot.stem(), pair.slot.stem())
                }
                (Some(slot), None) => format!("photo {}", slot.stem()),
                (None, _) => "whole person (all seven photos)".to_string(),
            };
            ui.strong(format!("{} · {} issue · {}", item.field.name(), item.kind, scope));
            ui.weak(format!("score {:.3}", item.score));
        });
        ui.horizontal(|ui| {
            ui.label("given");
            chip_ui(ui, item.field, item.given, false);
            ui.label("-> suggested");
            chip_ui(ui, item.field, item.suggested, false);
            let now = session.value(item.field, item.person, item.slot.unwrap_or(crate::dataset::Slot::Mask1));
            if now != item.given {
                ui.label("· now");
                chip_ui(ui, item.field, now, true);
            }
        });
        probability_bars_ui(ui, item.field, &item.probabilities, Some(item.given), Some(item.suggested));
        if let Some(pair) = &item.pair {
            ui.horizontal(|ui| {
                ui.label(format!("and {}: given", pair.slot.stem()));
                chip_ui(ui, item.field, pair.given, false);
                ui.label("-> suggested");
                chip_ui(ui, item.field, pair.suggested, false);
                let now = session.value(item.field, item.person, pair.slot);
                if now != pair.given {
                    ui.label("· now");
                    chip_ui(ui, item.field, now, true);
                }
            });
            probability_bars_ui(ui, item.field, &pair.probabilities, Some(pair.given), Some(pair.suggested));
            ui.weak("Accepting fixes both photos in one step.");
        }
        ui.horizontal(|ui| {
            if ui.button("Accept suggestion (Enter)").clicked() {
                commands.push(Command::Decide(ReviewDecision::Accepted));
            }
            if ui.button("Keep given (Space)").clicked() {
                commands.push(Command::Decide(ReviewDecision::Keep));
            }
            if ui.button("Needs review (N)").clicked() {
                commands.push(Command::Decide(ReviewDecision::NeedsReview));
            }
        });
        ui.weak("Or set a label: 1/2/3 mask of the selected photo, M/F gender, 4/5/6 age bin, A age in years.");
    });
    ui.add_space(6.0);
    super::person::person_detail_ui(ui, state, rt, item.person, Some(&item), commands);
    rt.scroll_to_selected = false;
}
