//! The `?` overlay: every key, from the same table that drives the shortcuts.

use crate::ui::commands::Command;
use crate::ui::keys::overlay_rows;

pub fn help_ui(ctx: &egui::Context, commands: &mut Vec<Command>) {
    egui::Window::new("Keys")
        .collapsible(false)
        .resizable(false)
        .anchor(egui::Align2::CENTER_CENTER, egui::Vec2::ZERO)
        .show(ctx, |ui| {
            egui::Grid::new("keys_grid")
                .striped(true)
                .num_columns(2)
                .show(ui, |ui| {
                    for (keys, action) in overlay_rows() {
                        ui.monospace(keys);
                        ui.label(action.description());
                        ui.end_row();
                    }
                });
            ui.add_space(6.0);
            ui.weak("Plain keys are ignored while a text field has focus; Esc leaves it.");
            if ui.button("Close").clicked() {
                commands.push(Command::ToggleHelp);
            }
        });
}
