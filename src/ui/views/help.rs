//! The `?` overlay: every key, from the same table that drives the shortcuts.

use crate::ui::commands::Command;
use crate::ui::keys::overlay_rows;

pub fn help_ui(ctx: &egui::Context, commands: &mut Vec<Command>) {
    let screen = ctx.content_rect();
    let rows = overlay_rows();
    // The table is taller than most windows: side by side in two halves where the window
    // is wide enough for both, and scrolled where it is not, so no key is out of reach.
    let columns = if screen.width() >= 1300.0 { 2 } else { 1 };
    let per_column = rows.len().div_ceil(columns).max(1);
    egui::Window::new("Keys")
        .collapsible(false)
        .resizable(false)
        .anchor(egui::Align2::CENTER_CENTER, egui::Vec2::ZERO)
        .show(ctx, |ui| {
            egui::ScrollArea::vertical()
                .max_height((screen.height() - 150.0).max(120.0))
                .show(ui, |ui| {
                    ui.horizontal_top(|ui| {
                        for (c, chunk) in rows.chunks(per_column).enumerate() {
                            if c > 0 {
                                ui.add_space(24.0);
                            }
                            egui::Grid::new(("keys_grid", c))
                                .striped(true)
                                .num_columns(2)
                                .show(ui, |ui| {
                                    for (keys, action) in chunk {
                                        ui.monospace(keys.as_str());
                                        ui.label(action.description());
                                        ui.end_row();
                                    }
                                });
                        }
                    });
                });
            ui.add_space(6.0);
            ui.weak("Plain keys are ignored while a text field has focus; Esc leaves it.");
            if ui.button("Close").clicked() {
                commands.push(Command::ToggleHelp);
            }
        });
}
