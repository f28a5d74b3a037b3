//! The screens. Each `*_ui` function draws from state and pushes [`Command`]s; only view-
//! local settings (filters, zoom) are changed in place.

mod eval;
mod help;
mod map;
mod open;
mod overview;
mod people;
mod person;
mod photo_viewer;
mod review;
mod status;

pub use crate::workbench::queries::Counts;
pub use eval::EvalViewState;
pub use map::MapViewState;

use super::app::Runtime;
use super::commands::Command;
use super::state::{PersistentState, View};

/// The whole window: top bar, status bar, optional training panel, and the current screen.
pub fn frame_ui(
    ui: &mut egui::Ui,
    state: &mut PersistentState,
    rt: &mut Runtime,
    commands: &mut Vec<Command>,
) {
    egui::Panel::top("top_bar").show(ui, |ui| top_bar_ui(ui, state, rt, commands));
    egui::Panel::bottom("status_bar").show(ui, |ui| status::status_bar_ui(ui, state, rt));
    if state.show_train_panel && rt.session.is_some() {
        egui::Panel::right("train_panel")
            .resizable(true)
            .default_size(340.0)
            .show(ui, |ui| {
                train_panel_ui(ui, rt, commands);
            });
    }
    egui::CentralPanel::default().show(ui, |ui| {
        if rt.session.is_none() {
            open::open_ui(ui, state, rt, commands);
            return;
        }
        match state.view {
            View::Overview => overview::overview_ui(ui, state, rt, commands),
            View::People => people::people_ui(ui, state, rt, commands),
            View::Person => person::person_ui(ui, state, rt, commands),
            View::Review => review::review_ui(ui, state, rt, commands),
            View::Eval => eval::eval_ui(ui, rt),
            View::Map => map::map_ui(ui, rt, commands),
        }
    });
    photo_viewer::photo_viewer_ui(ui.ctx(), state, rt, commands);
    if rt.show_help {
        help::help_ui(ui.ctx(), commands);
    }
    new_run_question_ui(ui.ctx(), rt, commands);
}

/// A finished run that scores below the queue's current run does not replace it silently.
fn new_run_question_ui(ctx: &egui::Context, rt: &Runtime, commands: &mut Vec<Command>) {
    let (Some(run), Some(session)) = (&rt.pending_run, &rt.session) else {
        return;
    };
    let current = session.probs.as_ref();
    let f1 = |f: Option<f64>| f.map_or("unknown".to_string(), |f| format!("{f:.3}"));
    let modal = egui::Modal::new(egui::Id::unique("new_run_question")).show(ctx, |ui| {
        ui.heading("A new run finished");
        ui.label(format!(
            "Run {} has out-of-fold macro F1 {}, below the run the queue shows now ({}: {}).",
            run.id,
            f1(run.macro_f1),
            current.map_or("none", |c| c.run_id.as_str()),
            f1(current.and_then(|c| c.macro_f1)),
        ));
        ui.label("Replace the review queue with the new run's issues?");
        ui.horizontal(|ui| {
            if ui.button("Use the new run").clicked() {
                commands.push(Command::UseRun(run.id.clone()));
            }
            if ui.button("Keep the current run").clicked() {
                commands.push(Command::KeepCurrentRun);
            }
        });
    });
    if modal.should_close() {
        commands.push(Command::KeepCurrentRun);
    }
}

fn top_bar_ui(
    ui: &mut egui::Ui,
    state: &PersistentState,
    rt: &Runtime,
    commands: &mut Vec<Command>,
) {
    ui.horizontal(|ui| {
        // The window's title names the app: a narrow window (the training panel open on a
        // small screen) gives the name's room to the buttons.
        if ui.available_width() >= 1150.0 || rt.session.is_none() {
            ui.heading("mask-curator");
            ui.separator();
        }
        if let Some(session) = &rt.session {
            for view in View::ALL {
                let label = match (view, &session.issues) {
                    (View::Review, Some(issues)) => {
                        // What the queue lists before its filters (the likely tier, the
                        // possible one when shown, the id neighbours of labels found
                        // wrong), by the queue's own rule, so the counts agree.
                        let listed: Vec<_> = crate::workbench::queries::review_order(
                            session,
                            |_| true,
                            state.queue_filter.show_possible,
                        )
                        .into_iter()
                        .map(|i| &issues.items[i])
                        .collect();
                        let open = listed
                            .iter()
                            .filter(|it| {
                                session.item_status(it)
                                    == crate::workbench::session::ItemStatus::Open
                            })
                            .count();
                        format!("{} ({open}/{} open)", view.title(), listed.len())
                    }
                    _ => view.title().to_string(),
                };
                if ui.selectable_label(state.view == view, label).clicked() {
                    commands.push(Command::Show(view));
                }
            }
            ui.separator();
            if ui
                .add_enabled(session.can_undo(), egui::Button::new("Undo"))
                .on_hover_text("Ctrl+Z")
                .clicked()
            {
                commands.push(Command::Undo);
            }
            if ui
                .add_enabled(session.can_redo(), egui::Button::new("Redo"))
                .on_hover_text("Ctrl+Shift+Z / Ctrl+Y")
                .clicked()
            {
                commands.push(Command::Redo);
            }
            if ui
                .button("Export")
                .on_hover_text("Corrected train.csv, per-photo labels and change log (Ctrl+E)")
                .clicked()
            {
                commands.push(Command::Export);
            }
            if ui.button("Close dataset").clicked() {
                commands.push(Command::CloseDataset);
            }
        }
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            if ui.button("?").on_hover_text("Keys (? or F1)").clicked() {
                commands.push(Command::ToggleHelp);
            }
            if rt.session.is_some()
                && ui
                    .selectable_label(state.show_train_panel, "Train")
                    .on_hover_text("Training panel (F9)")
                    .clicked()
            {
                commands.push(Command::ToggleTrainPanel);
            }
            theme_ui(ui);
        });
    });
}

/// The training side panel (`crate::ui::train_panel::TrainPanel`): made for the open
/// dataset on first show; a finished run reloads the issue list.
fn train_panel_ui(ui: &mut egui::Ui, rt: &mut Runtime, commands: &mut Vec<Command>) {
    let Some(session) = &rt.session else {
        return;
    };
    // The worker scans the folder and replays the journal read-only when a run starts
    // (every edit is on disk before the app shows it), so it trains on the curated labels
    // as they are at that moment.
    let root = session.dataset.root.clone();
    let panel = rt
        .train_panel
        .get_or_insert_with(|| super::train_panel::TrainPanel::new(root));
    if let Some(super::train_panel::TrainPanelEvent::RunFinished(_)) = panel.ui(ui) {
        commands.push(Command::ReloadRun);
    }
}

/// Dark / light / follow the system (the default).
fn theme_ui(ui: &mut egui::Ui) {
    let mut pref = ui.ctx().options(|o| o.theme_preference);
    let before = pref;
    // The top bar's right side is laid out right to left: the box first puts the name
    // in front of it on screen.
    let combo = egui::ComboBox::from_id_salt("theme")
        .width(64.0)
        .selected_text(match pref {
            egui::ThemePreference::System => "system",
            egui::ThemePreference::Dark => "dark",
            egui::ThemePreference::Light => "light",
        })
        .show_ui(ui, |ui| {
            ui.selectable_value(&mut pref, egui::ThemePreference::System, "system");
            ui.selectable_value(&mut pref, egui::ThemePreference::Dark, "dark");
            ui.selectable_value(&mut pref, egui::ThemePreference::Light, "light");
        });
    let name = ui.label("Theme");
    combo.response.labelled_by(name.id);
    if pref != before {
        ui.ctx().set_theme(pref);
    }
}
