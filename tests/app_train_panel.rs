//! The loop in the GUI: open a generated dataset, open the training panel (F9), start a
//! small run with the Start button, watch it finish, and see the review queue reload from
//! the new run's out-of-fold probabilities. Also: Cancel stops a run and leaves it marked.
#![cfg(all(feature = "gui", feature = "torch"))]

mod app_support;

use app_support::*;
use egui::Key;
use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use mask_curator::ml::config::{DeviceChoice, ImageSize};
use mask_curator::ml::run::RunStatus;
use mask_curator::ui::MaskCuratorApp;
use std::time::{Duration, Instant};

/// A recipe small enough for a test on two CPU cores.
fn small_recipe(h: &mut Harness<'static, MaskCuratorApp>, epochs: u32) {
    let panel = h
        .state_mut()
        .rt
        .train_panel
        .as_mut()
        .expect("the panel is made when first shown");
    let c = panel.config_mut();
    c.folds = 2;
    c.epochs = epochs;
    c.batch_size = 8;
    c.image_size = ImageSize {
        width: 24,
        height: 32,
    };
    c.device = DeviceChoice::Cpu;
    c.workers = 1;
    // The generated dataset has no eval set.
    c.predict_eval = false;
}

fn open_panel(h: &mut Harness<'static, MaskCuratorApp>) {
    h.key_press(Key::F9);
    h.run();
    assert!(h.state().state.show_train_panel, "F9 shows the panel");
    h.get_by_label("Start");
}

/// Steps the app (training reports through a channel polled each frame) until `done`.
fn step_until(
    h: &mut Harness<'static, MaskCuratorApp>,
    what: &str,
    done: impl Fn(&MaskCuratorApp) -> bool,
) {
    let start = Instant::now();
    while !done(h.state()) {
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "timed out waiting for: {what}"
        );
        h.step();
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn start_a_run_from_the_panel_and_the_queue_reloads_from_it() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    write_dataset(&root);
    let mut h = harness(&root);
    let before = h
        .state()
        .session()
        .unwrap()
        .issues
        .as_ref()
        .unwrap()
        .run_id
        .clone();
    assert_eq!(before, "test-run");

    open_panel(&mut h);
    small_recipe(&mut h, 1);
    h.get_by_label("Start").click();
    h.run();
    let training =
        |app: &MaskCuratorApp| app.rt.train_panel.as_ref().is_some_and(|p| p.is_training());
    assert!(training(h.state()), "Start launches training");
    // The window keeps drawing while it trains; Cancel replaces Start.
    h.get_by_label("Cancel");

    step_until(&mut h, "the run to finish", |app| !training(app));
    let panel = h.state().rt.train_panel.as_ref().unwrap();
    assert_eq!(panel.status(), Some("run finished"), "{:?}", panel.status());
    let (run, info) = panel.runs().first().expect("the run is listed").clone();
    assert_eq!(info.status, RunStatus::Finished);
    assert!(run.dir.join("oof_probs.npy").is_file());

    // The finished run feeds the review queue.
    wait_idle(&mut h);
    step_until(&mut h, "the queue to reload", |app| {
        app.session()
            .and_then(|s| s.issues.as_ref())
            .is_some_and(|i| i.run_id != "test-run")
    });
    let issues = h.state().session().unwrap().issues.as_ref().unwrap();
    assert_eq!(issues.run_id, info.id, "the queue comes from the new run");
    let probs = h.state().session().unwrap().probs.as_ref().unwrap();
    assert_eq!(
        probs.rows.len(),
        PEOPLE * 7,
        "every photo has probabilities"
    );
}

#[test]
fn cancel_from_the_panel_stops_the_run_and_marks_it() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    write_dataset(&root);
    let mut h = harness(&root);
    open_panel(&mut h);
    small_recipe(&mut h, 200);
    h.get_by_label("Start").click();
    h.run();
    // Let it train a little, then cancel.
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(1500) {
        h.step();
        std::thread::sleep(Duration::from_millis(20));
    }
    h.get_by_label("Cancel").click();
    h.run();
    step_until(&mut h, "the run to stop", |app| {
        !app.rt.train_panel.as_ref().is_some_and(|p| p.is_training())
    });
    let panel = h.state().rt.train_panel.as_ref().unwrap();
    let (run, info) = panel.runs().first().expect("the run is listed").clone();
    assert_eq!(info.status, RunStatus::Cancelled, "{:?}", panel.status());
    assert!(
        info.folds.iter().all(|f| f.epochs_completed < 200),
        "stopped early: {:?}",
        info.folds
    );
    assert!(
        !run.dir.join("oof_probs.npy").exists(),
        "a partial run has no out-of-fold file"
    );
    // The queue still comes from the last finished run.
    assert_eq!(
        h.state().session().unwrap().issues.as_ref().unwrap().run_id,
        "test-run"
    );
}
