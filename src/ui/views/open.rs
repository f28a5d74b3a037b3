//! The open screen: a path field with Browse…, the demo dataset in one click, recent
//! datasets, and what went wrong with the last attempt.

use crate::ui::app::Runtime;
use crate::ui::commands::Command;
use crate::ui::state::PersistentState;
use std::path::PathBuf;

pub fn open_ui(
    ui: &mut egui::Ui,
    state: &PersistentState,
    rt: &mut Runtime,
    commands: &mut Vec<Command>,
) {
    ui.add_space(24.0);
    ui.vertical_centered(|ui| {
        ui.heading("Open a dataset");
        ui.label("A folder with train/train.csv and train/images/<person>/ (eval/ optional).");
    });
    ui.add_space(16.0);
    let busy = rt.opening.is_some() || rt.jobs.is_busy();
    ui.horizontal(|ui| {
        let label = ui.label("Dataset folder:");
        let field = egui::TextEdit::singleline(&mut rt.path_text)
            .hint_text("/path/to/dataset")
            .desired_width(ui.available_width() - 220.0);
        let response = ui.add_enabled(!busy, field).labelled_by(label.id);
        let entered = response.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        if ui
            .add_enabled(!busy, egui::Button::new("Browse…"))
            .clicked()
        {
            commands.push(Command::Browse);
        }
        let path = rt.path_text.trim().to_string();
        if (ui
            .add_enabled(!busy && !path.is_empty(), egui::Button::new("Open"))
            .clicked()
            || entered)
            && !path.is_empty()
        {
            commands.push(Command::OpenDataset(PathBuf::from(path)));
        }
    });
    ui.add_space(8.0);
    ui.horizontal(|ui| {
        let demo = rt.options.demo_dir.display().to_string();
        if ui
            .add_enabled(!busy, egui::Button::new("Open the demo dataset"))
            .on_hover_text(format!("Generated in {demo} the first time"))
            .clicked()
        {
            commands.push(Command::OpenDemo);
        }
        ui.weak(format!("({demo})"));
    });
    if busy {
        ui.add_space(8.0);
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label(rt.jobs.stage());
        });
    }
    if let Some(err) = &rt.open_error {
        ui.add_space(8.0);
        egui::Frame::group(ui.style())
            .fill(ui.visuals().error_fg_color.gamma_multiply(0.15))
            .show(ui, |ui| {
                ui.colored_label(ui.visuals().error_fg_color, err);
            });
    }
    ui.add_space(16.0);
    ui.heading("Recent");
    if state.recent.is_empty() {
        ui.weak("Nothing opened yet.");
    }
    for dir in &state.recent {
        ui.horizontal(|ui| {
            let exists = dir.is_dir();
            if ui
                .add_enabled(
                    !busy && exists,
                    egui::Button::new(dir.display().to_string()),
                )
                .clicked()
            {
                rt.path_text = dir.display().to_string();
                commands.push(Command::OpenDataset(dir.clone()));
            }
            if !exists {
                ui.weak("(missing)");
            }
            if ui
                .small_button("Forget")
                .on_hover_text("Remove from the recent list")
                .clicked()
            {
                commands.push(Command::ForgetRecent(dir.clone()));
            }
        });
    }
}
