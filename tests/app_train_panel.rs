//! The loop in the GUI: open a generated dataset, open the training panel (F9), start a
//! small run with the Start button, watch it finish, and see the review queue reload from
//! the new run's out-of-fold probabilities. Also: Cancel stops a run and leaves it marked;
//! a worker killed mid-run fails its run and nothing else; the panel and the command line
//! train the same run from the same recipe. Training runs in the worker process
//! (`mask-curator-ml`, built beside the test binaries by `cargo test --workspace`).
#![cfg(feature = "gui")]

mod app_support;

use app_support::*;
use egui::Key;
use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use mask_curator::ml::run::{RunDir, RunStatus};
use mask_curator::ui::commands::Command;
use mask_curator::ui::MaskCuratorApp;
use std::time::{Duration, Instant};

fn open_panel(h: &mut Harness<'static, MaskCuratorApp>) {
    h.key_press(Key::F9);
    h.run();
    assert!(h.state().state.show_train_panel, "F9 shows the panel");
    h.get_by_label("Start");
}

#[test]
fn start_a_run_from_the_panel_and_the_queue_reloads_from_it() {
    let (_tmp, _root, mut h) = app_on_dataset();
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
    assert!(is_training(h.state()), "Start launches training");
    // The window keeps drawing while it trains; Cancel replaces Start.
    h.get_by_label("Cancel");

    step_until(&mut h, "the run to finish", |app| !is_training(app));
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
    let (_tmp, _root, mut h) = app_on_dataset();
    open_panel(&mut h);
    small_recipe(&mut h, 200);
    h.get_by_label("Start").click();
    h.run();
    // Once the worker has started its run (on a loaded machine loading libtorch alone can
    // take seconds), let it train a little, then cancel.
    wait_for_the_worker_to_start(&mut h);
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(500) {
        h.step();
        std::thread::sleep(Duration::from_millis(20));
    }
    h.get_by_label("Cancel").click();
    h.run();
    step_until(&mut h, "the run to stop", |app| !is_training(app));
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

/// Steps the app until the panel's worker has started its run (the run folder has its
/// `run.json`), returning the worker's pid.
fn wait_for_the_worker_to_start(h: &mut Harness<'static, MaskCuratorApp>) -> u32 {
    step_until(h, "the worker to start its run", |app| {
        app.rt
            .train_panel
            .as_ref()
            .and_then(|p| p.training_run())
            .is_some_and(|r| r.run_json().is_file())
    });
    h.state()
        .rt
        .train_panel
        .as_ref()
        .and_then(|p| p.worker_pid())
        .expect("a worker runs")
}

#[test]
fn a_worker_killed_mid_run_fails_the_run_and_the_app_and_its_edits_stay() {
    let (_tmp, root, mut h) = app_on_dataset();
    // An edit before training, and one while it runs.
    h.state_mut().apply(Command::SetAgeYears {
        person: 0,
        years: 77,
    });
    open_panel(&mut h);
    small_recipe(&mut h, 200);
    h.get_by_label("Start").click();
    h.run();
    let pid = wait_for_the_worker_to_start(&mut h);
    h.state_mut().apply(Command::SetAgeYears {
        person: 1,
        years: 66,
    });
    h.run();

    // What the out-of-memory killer does.
    let pid = libc::pid_t::try_from(pid).unwrap();
    assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
    step_until(&mut h, "the app to notice", |app| !is_training(app));
    let panel = h.state().rt.train_panel.as_ref().unwrap();
    let status = panel.status().unwrap_or_default().to_string();
    assert!(
        status.starts_with("training failed") && status.contains("signal 9"),
        "{status}"
    );
    let (run, info) = panel.runs().first().expect("the run is listed").clone();
    assert_eq!(info.status, RunStatus::Failed);
    assert!(
        info.error
            .as_deref()
            .is_some_and(|e| e.contains("signal 9")),
        "the run says why: {:?}",
        info.error
    );
    assert_eq!(
        RunDir::new(&run.dir).read_info().unwrap().status,
        RunStatus::Failed,
        "on disk too"
    );

    // The app goes on: a third edit, and the queue is the one it had.
    h.state_mut().apply(Command::SetAgeYears {
        person: 2,
        years: 55,
    });
    h.run();
    let session = h.state().session().unwrap();
    assert_eq!(session.issues.as_ref().unwrap().run_id, "test-run");
    assert_eq!(session.edits_this_session(), 3);
    drop(h);

    // Reopened, every edit is there.
    let h = harness(&root);
    let session = h.state().session().unwrap();
    assert_eq!(
        [0, 1, 2].map(|p| session.age_years(p)),
        [77, 66, 55],
        "no edit is lost"
    );
}

#[test]
fn the_panel_and_the_command_line_train_the_same_run_from_the_same_recipe() {
    let (tmp, root, mut h) = app_on_dataset();
    open_panel(&mut h);
    small_recipe(&mut h, 1);
    h.state_mut()
        .rt
        .train_panel
        .as_mut()
        .unwrap()
        .config_mut()
        .seed = 4242;
    h.get_by_label("Start").click();
    h.run();
    step_until(&mut h, "the panel's run to finish", |app| !is_training(app));
    let panel = h.state().rt.train_panel.as_ref().unwrap();
    let (from_panel, info) = panel.runs().first().expect("the run is listed").clone();
    assert_eq!(info.status, RunStatus::Finished, "{:?}", panel.status());
    drop(h);

    // The engineer's way: the recipe the panel saved, on the command line.
    let from_cli = RunDir::new(tmp.path().join("cli-run"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mask-curator"))
        .arg("train")
        .arg(&root)
        .arg("--config")
        .arg(from_panel.config())
        .arg("--run-dir")
        .arg(&from_cli.dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let read = |p: std::path::PathBuf| std::fs::read_to_string(p).unwrap();
    assert_eq!(
        read(from_cli.config()),
        read(from_panel.config()),
        "the same recipe"
    );
    assert_eq!(
        read(from_cli.split_csv()),
        read(from_panel.split_csv()),
        "the same split"
    );
    assert_eq!(read(from_cli.oof_index()), read(from_panel.oof_index()));
    let a = mask_curator::ml::npy::read(&from_panel.oof_probs()).unwrap();
    let b = mask_curator::ml::npy::read(&from_cli.oof_probs()).unwrap();
    assert_eq!((a.rows, a.cols), (b.rows, b.cols));
    let worst = a
        .data
        .iter()
        .zip(&b.data)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f32, f32::max);
    assert!(worst < 1e-4, "out-of-fold probabilities differ by {worst}");
}

/// The worker refuses the request (the dataset's train.csv went away after the app opened
/// it): the panel says why, naming the file, lists no new finished run, and the app goes
/// on with its queue; Start is offered again.
#[test]
fn a_request_the_worker_refuses_is_reported_and_the_app_goes_on() {
    let (_tmp, root, mut h) = app_on_dataset();
    // Gone since the app read it (a bad row alone would not do: the scan lists it as a
    // problem and training goes on without that person).
    std::fs::remove_file(root.join("train/train.csv")).unwrap();

    open_panel(&mut h);
    small_recipe(&mut h, 1);
    h.get_by_label("Start").click();
    h.run();
    step_until(&mut h, "the worker to answer", |app| !is_training(app));
    let panel = h.state().rt.train_panel.as_ref().unwrap();
    let status = panel.status().unwrap_or_default().to_string();
    assert!(
        status.starts_with("training failed") && status.contains("train.csv"),
        "{status}"
    );
    assert!(
        panel
            .runs()
            .iter()
            .all(|(_, info)| info.status != RunStatus::Finished || info.id == "test-run"),
        "no new finished run: {:?}",
        panel.runs()
    );
    h.get_by_label_contains("training failed");
    h.get_by_label("Start");
    // The app goes on with the queue it had.
    h.state_mut().apply(Command::SetAgeYears {
        person: 0,
        years: 41,
    });
    h.run();
    let session = h.state().session().unwrap();
    assert_eq!(session.issues.as_ref().unwrap().run_id, "test-run");
    assert_eq!(session.age_years(0), 41);
}

/// The ensemble's output field starts at a name no earlier prediction has taken, and is
/// typed by hand: a path onto a file of the dataset is refused at once with the reason (no
/// worker starts), and the file stays as it was.
#[test]
fn a_submission_never_replaces_the_datasets_files_or_an_earlier_one() {
    let (_tmp, root) = dataset_in_tempdir();
    let train_csv = root.join("train/train.csv");
    let before = std::fs::read(&train_csv).unwrap();
    // The fixture's run as the panel lists runs: a full run.json.
    let run = RunDir::new(root.join(".mask-curator/runs/test-run"));
    let info = mask_curator::ml::run::RunInfo {
        id: "test-run".into(),
        status: RunStatus::Finished,
        created: "20261101-000000".into(),
        updated: "20261101-000000".into(),
        dataset_root: root.clone(),
        num_photos: 0,
        num_people: 0,
        labels: "given".into(),
        config: Default::default(),
        folds: Vec::new(),
        summary: None,
        error: None,
    };
    run.write_json(&run.run_json(), &info).unwrap();
    // A submission of an earlier session.
    let exports = root.join(".mask-curator/exports");
    std::fs::create_dir_all(&exports).unwrap();
    std::fs::write(exports.join("submission.csv"), "ImageID,ans\n").unwrap();
    let mut h = harness(&root);
    open_panel(&mut h);
    let panel = h.state().rt.train_panel.as_ref().unwrap();
    assert_eq!(
        std::path::PathBuf::from(panel.output_path()),
        exports.join("submission-2.csv")
    );
    h.get_by_label("use test-run in the ensemble").click();
    h.run();
    h.get_by_label_contains("1 run(s) ticked");
    h.get_by_label("output").click();
    h.run();
    h.key_press_modifiers(egui::Modifiers::COMMAND, Key::A);
    h.run();
    h.get_by_label("output")
        .type_text(&train_csv.display().to_string());
    h.run();
    h.get_by_label("Predict").click();
    h.run();
    h.get_by_label_contains("failed: refusing to write");
    h.get_by_label_contains("train.csv, a file of the dataset");
    assert!(
        !h.state().rt.train_panel.as_ref().unwrap().is_predicting(),
        "no worker started"
    );
    assert_eq!(std::fs::read(&train_csv).unwrap(), before);
}
