//! Renders the main screens with wgpu and writes them to docs/screenshots/.
//!
//! Needs a wgpu adapter (lavapipe is enough), so it is ignored by default:
//! `cargo test --test app_screenshots -- --ignored` refreshes the PNGs;
//! `MASK_CURATOR_SCREENSHOT_DATA=DIR` takes the main screens on a dataset of your own.
#![cfg(feature = "gui")]

mod app_support;

use app_support::*;
use egui::Key;
use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use mask_curator::ui::{AppOptions, MaskCuratorApp};
use std::path::{Path, PathBuf};

fn out_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots")
}

fn save(h: &mut Harness<'static, MaskCuratorApp>, name: &str) {
    // Photos and thumbnails decode on worker threads: give them time to arrive.
    for _ in 0..60 {
        h.step();
        std::thread::sleep(std::time::Duration::from_millis(40));
    }
    h.run();
    let img = h.render().expect("render with wgpu");
    // A screen that failed to draw is one flat colour.
    let first = *img.get_pixel(0, 0);
    assert!(img.pixels().any(|p| *p != first), "{name} rendered blank");
    let path = out_dir().join(format!("{name}.png"));
    img.save(&path).unwrap();
    println!("wrote {}", path.display());
}

fn wgpu_harness(opts: AppOptions, theme: egui::Theme) -> Harness<'static, MaskCuratorApp> {
    sized_harness(opts, theme, [1400.0, 860.0])
}

fn sized_harness(
    opts: AppOptions,
    theme: egui::Theme,
    size: [f32; 2],
) -> Harness<'static, MaskCuratorApp> {
    let mut h = Harness::builder()
        .with_size(size)
        .with_max_steps(60)
        .with_theme(theme)
        .wgpu()
        .build_eframe(move |cc| MaskCuratorApp::new(cc, opts));
    wait_idle(&mut h);
    h
}

#[test]
#[ignore = "needs a wgpu adapter; run with --ignored to refresh docs/screenshots"]
fn screenshots_of_the_main_screens() {
    std::fs::create_dir_all(out_dir()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    // The docs show a demo dataset with a trained run when one is given (e.g. after
    // `mask-curator demo-data --out D && mask-curator train D`); otherwise a small
    // generated one with flat photos.
    let root = match std::env::var_os("MASK_CURATOR_SCREENSHOT_DATA") {
        Some(dir) => PathBuf::from(dir),
        None => {
            let root = tmp.path().join("dataset");
            write_dataset(&root);
            root
        }
    };

    let mut h = wgpu_harness(
        AppOptions {
            open: None,
            use_storage: false,
            ..Default::default()
        },
        egui::Theme::Dark,
    );
    h.state_mut().state.remember(&root);
    save(&mut h, "open");
    drop(h);

    let mut h = wgpu_harness(options(&root), egui::Theme::Dark);
    save(&mut h, "overview");
    h.key_press(Key::F3);
    save(&mut h, "people");
    h.key_press(Key::F5);
    h.run();
    save(&mut h, "review");
    h.key_press(Key::F4);
    save(&mut h, "person");
    h.key_press(Key::F1);
    save(&mut h, "keys");
    h.key_press(Key::F1);
    h.key_press(Key::F6);
    save(&mut h, "eval");
    h.key_press(Key::F7);
    h.run();
    // Hover the most atypical photo, when the run's embeddings flag one.
    let stray = h.state().session().and_then(|s| {
        let report = s.embeddings.as_ref()?;
        let row = *report.outliers.first()?;
        h.state().rt.map_view.as_ref()?.screen_pos(report, row)
    });
    if let Some(at) = stray {
        h.event(egui::Event::PointerMoved(at));
        h.run();
    }
    save(&mut h, "map");
    // A person with a photo the photo checks flagged, a duplicate of another person's
    // when there is one (the demo files one photo again under a second person).
    let flagged = h.state().session().and_then(|s| {
        let report = s.photos.as_ref()?;
        let pick = |kind| report.findings.iter().find(|f| f.kind == kind);
        pick(mask_curator::photo_checks::CheckKind::NearDuplicate)
            .or_else(|| report.findings.first())
            .map(|f| f.photo.person)
    });
    if let Some(person) = flagged {
        h.state_mut()
            .apply(mask_curator::ui::commands::Command::OpenPerson(person));
        save(&mut h, "person-photo-check");
    }
    drop(h);

    let mut h = wgpu_harness(options(&root), egui::Theme::Light);
    h.key_press(Key::F5);
    save(&mut h, "review-light");
    drop(h);

    // A small window with the training panel open: the seven photos still fit.
    let mut h = sized_harness(options(&root), egui::Theme::Dark, [1000.0, 700.0]);
    h.key_press(Key::F9);
    h.run();
    h.key_press(Key::F5);
    save(&mut h, "review-1000x700-train");
    drop(h);

    // A wide window: people side by side fill it.
    let mut h = sized_harness(options(&root), egui::Theme::Dark, [1600.0, 900.0]);
    h.key_press(Key::F3);
    save(&mut h, "people-1600");
}

/// The training panel after a small run: progress log, curves, the runs table, the
/// confusion heat map of the selected run.
#[test]
#[ignore = "needs a wgpu adapter; run with --ignored to refresh docs/screenshots"]
fn screenshot_of_the_training_panel() {
    std::fs::create_dir_all(out_dir()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("dataset");
    write_dataset(&root);
    let mut h = wgpu_harness(options(&root), egui::Theme::Dark);
    h.key_press(Key::F9);
    h.run();
    small_recipe(&mut h, 3);
    h.get_by_label("Start").click();
    h.step();
    step_until(&mut h, "the run to finish", |app| !is_training(app));
    wait_idle(&mut h);
    save(&mut h, "train");
}

/// The review queue after the annotator has kept ten of a weak run's likely items: the
/// decisions against the run, and the warning. On a copy of `MASK_CURATOR_SCREENSHOT_DATA`
/// (the decisions are journaled), else on the small generated dataset.
#[test]
#[ignore = "needs a wgpu adapter; run with --ignored to refresh docs/screenshots"]
fn screenshot_of_the_decision_check() {
    std::fs::create_dir_all(out_dir()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("dataset");
    match std::env::var_os("MASK_CURATOR_SCREENSHOT_DATA") {
        Some(dir) => {
            let ok = std::process::Command::new("cp")
                .arg("-a")
                .arg(&dir)
                .arg(&root)
                .status()
                .unwrap()
                .success();
            assert!(ok, "copy {dir:?}");
            // A fresh journal: the screenshot shows this session's decisions only.
            let _ = std::fs::remove_file(root.join(".mask-curator/journal.jsonl"));
        }
        None => write_dataset(&root),
    }
    let mut h = wgpu_harness(options(&root), egui::Theme::Dark);
    h.key_press(Key::F5);
    h.run();
    for _ in 0..10 {
        h.key_press(Key::Space);
        h.run();
    }
    save(&mut h, "review-decision-check");
}
