//! The egui app annotators work in: open a dataset, browse people, review ranked label
//! issues with the keyboard, fix labels (journaled as they happen), export.
//!
//! Layout: [`app`] (state + command handling), [`commands`] (what views ask for),
//! [`state`] (persisted between runs), [`session`] (the open dataset and its curated
//! labels), [`jobs`] (background work), [`keys`] (the key map), `views` (the screens),
//! [`thumb_textures`] (thumbnail textures for the grid).

pub mod app;
pub mod commands;
pub mod jobs;
pub mod keys;
pub mod state;
mod theme;
pub mod thumb_textures;
pub mod train_panel;
mod views;
pub mod widgets;

pub use app::{AppOptions, MaskCuratorApp};

/// Opens the app window (glow renderer). Returns when the window closes.
pub fn run_native(options: AppOptions) -> Result<(), String> {
    let native = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("mask-curator")
            .with_inner_size([1400.0, 900.0])
            .with_min_inner_size([800.0, 500.0]),
        ..Default::default()
    };
    eframe::run_native(
        "mask-curator",
        native,
        Box::new(move |cc| Ok(Box::new(MaskCuratorApp::new(cc, options)))),
    )
    .map_err(|e| e.to_string())
}
