//! Shared by the app tests: a small dataset in the real layout (tiny PNG photos), a
//! finished run whose probabilities disagree with a few labels, and harness helpers.
#![allow(dead_code)]

use egui_kittest::Harness;
use mask_curator::dataset::{AgeBin, ClassCode, Gender, Mask, Slot, NUM_CLASSES};
use mask_curator::ml::config::{DeviceChoice, ImageSize};
use mask_curator::ui::{AppOptions, MaskCuratorApp};
use std::path::Path;
use std::time::{Duration, Instant};

pub const PEOPLE: usize = 30;
/// Labelled female, the model is sure it is male (all seven photos).
pub const GENDER_FLIP: usize = 3;
/// incorrect_mask.png and normal.png hold each other's picture.
pub const MASK_SWAP: usize = 7;

pub fn folder(p: usize) -> String {
    let (gender, age) = given(p);
    format!("{:06}_{}_Asian_{age}", p + 1, gender.name())
}

/// The labels written to train.csv.
pub fn given(p: usize) -> (Gender, u32) {
    let gender = if p.is_multiple_of(2) {
        Gender::Male
    } else {
        Gender::Female
    };
    let age = [22, 27, 35, 48, 55, 60][p % 6];
    (gender, age)
}

/// What the photos "really" show (the model's belief).
pub fn truth(p: usize, slot: Slot) -> ClassCode {
    let (mut gender, age) = given(p);
    if p == GENDER_FLIP {
        gender = gender.flipped();
    }
    let mask = match (p, slot) {
        (MASK_SWAP, Slot::Incorrect) => Mask::NotWear,
        (MASK_SWAP, Slot::Normal) => Mask::Incorrect,
        _ => slot.mask(),
    };
    ClassCode::new(mask, gender, AgeBin::from_years(age))
}

/// Writes the dataset (train.csv + 7 tiny PNGs per person) and a finished run.
pub fn write_dataset(root: &Path) {
    let images = root.join("train/images");
    let mut csv = String::from("id,gender,race,age,path\n");
    for p in 0..PEOPLE {
        let (gender, age) = given(p);
        let f = folder(p);
        csv.push_str(&format!("{:06},{},Asian,{age},{f}\n", p + 1, gender.name()));
        let dir = images.join(&f);
        std::fs::create_dir_all(&dir).unwrap();
        for slot in Slot::ALL {
            let shade = (20 + 30 * slot.index() + 3 * p) as u8;
            let img =
                image::RgbImage::from_pixel(24, 32, image::Rgb([shade, 120, 200 - shade / 2]));
            img.save(dir.join(format!("{}.png", slot.stem()))).unwrap();
        }
    }
    std::fs::write(root.join("train/train.csv"), csv).unwrap();
    write_run(root, "test-run");
}

fn write_run(root: &Path, id: &str) {
    write_run_scored(root, id, "2026-11-22T00:00:00Z", None, GENDER_FLIP);
}

/// What a test's stand-in model says about one photo: its 18 class probabilities and,
/// for a run with an age head, (predicted years, spread).
pub type PhotoOutput = ([f32; NUM_CLASSES], Option<[f32; 2]>);

/// The run files of a finished run `id` made at `created` (out-of-fold macro F1 `f1` in
/// its summary, when given): `model` gives every photo's outputs, in dataset order.
pub fn write_run_files(
    root: &Path,
    id: &str,
    created: &str,
    f1: Option<f64>,
    model: impl Fn(usize, Slot) -> PhotoOutput,
) {
    let run = root.join(".mask-curator/runs").join(id);
    std::fs::create_dir_all(&run).unwrap();
    let mut index = String::from("row,path,person,fold\n");
    let (mut probs, mut ages) = (Vec::new(), Vec::new());
    let mut row = 0;
    for p in 0..PEOPLE {
        for slot in Slot::ALL {
            let (v, age) = model(p, slot);
            probs.extend_from_slice(&v);
            ages.extend(age.into_iter().flatten());
            index.push_str(&format!(
                "{row},train/images/{}/{}.png,{},{}\n",
                folder(p),
                slot.stem(),
                folder(p),
                p % 5
            ));
            row += 1;
        }
    }
    write_npy(&run.join("oof_probs.npy"), row, NUM_CLASSES, &probs);
    if !ages.is_empty() {
        assert_eq!(ages.len(), row * 2, "every photo or none has an age");
        write_npy(&run.join("oof_age.npy"), row, 2, &ages);
    }
    std::fs::write(run.join("oof_index.csv"), index).unwrap();
    let summary = f1.map_or(String::new(), |f| {
        format!(r#","summary":{{"oof_macro_f1":{f}}}"#)
    });
    std::fs::write(
        run.join("run.json"),
        format!(r#"{{"id":"{id}","status":"finished","created":"{created}","config":{{}},"metrics":{{}}{summary}}}"#),
    )
    .unwrap();
}

/// Probabilities sure of class `class`, `rest` on every other class.
pub fn sure_of(class: usize, rest: f32) -> [f32; NUM_CLASSES] {
    let mut v = [rest; NUM_CLASSES];
    v[class] = 1.0 - rest * (NUM_CLASSES as f32 - 1.0);
    v
}

/// Writes a finished run `id` made at `created`, with out-of-fold macro F1 `f1` in its
/// summary, whose model believes person `flipped`'s gender is the other one (and sees the
/// swapped pair of [`MASK_SWAP`]).
pub fn write_run_scored(root: &Path, id: &str, created: &str, f1: Option<f64>, flipped: usize) {
    write_run_files(root, id, created, f1, |p, slot| {
        let mut t = truth(p, slot);
        if p == GENDER_FLIP && flipped != GENDER_FLIP {
            t = ClassCode::new(t.mask(), given(p).0, t.age());
        }
        if p == flipped && flipped != GENDER_FLIP {
            t = ClassCode::new(t.mask(), given(p).0.flipped(), t.age());
        }
        // The model is surest about the gender flip, so it ranks near the top of the queue.
        let rest = if p == flipped { 0.003 } else { 0.01 };
        (sure_of(t.index(), rest), None)
    });
}

/// A float32 C-order .npy (version 1.0).
pub fn write_npy(path: &Path, rows: usize, cols: usize, values: &[f32]) {
    let mut header =
        format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    for v in values {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    std::fs::write(path, bytes).unwrap();
}

pub fn options(dir: &Path) -> AppOptions {
    AppOptions {
        open: Some(dir.to_path_buf()),
        use_storage: false,
        ..Default::default()
    }
}

/// The small dataset written afresh into `<tmp>/data` (removed when the first value is
/// dropped) and the app opened on it.
pub fn app_on_dataset() -> (
    tempfile::TempDir,
    std::path::PathBuf,
    Harness<'static, MaskCuratorApp>,
) {
    app_on_dataset_sized(DEFAULT_SIZE)
}

/// [`app_on_dataset`] in a window of `size` points.
pub fn app_on_dataset_sized(
    size: [f32; 2],
) -> (
    tempfile::TempDir,
    std::path::PathBuf,
    Harness<'static, MaskCuratorApp>,
) {
    let (tmp, root) = dataset_in_tempdir();
    let h = harness_sized(&root, size);
    (tmp, root, h)
}

/// The small dataset written afresh into `<tmp>/data`: the folder lives as long as the
/// returned guard.
pub fn dataset_in_tempdir() -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    write_dataset(&root);
    (tmp, root)
}

/// The window the tests open the app in unless they need another.
const DEFAULT_SIZE: [f32; 2] = [1400.0, 900.0];

pub fn harness(dir: &Path) -> Harness<'static, MaskCuratorApp> {
    harness_sized(dir, DEFAULT_SIZE)
}

/// The app on `dir` in a window of `size` points.
pub fn harness_sized(dir: &Path, size: [f32; 2]) -> Harness<'static, MaskCuratorApp> {
    let opts = options(dir);
    let mut h = Harness::builder()
        .with_size(size)
        // Thumbnails decode on worker threads and request repaints as they arrive; how many
        // frames that takes depends on machine load.
        .with_max_steps(2000)
        .build_eframe(move |cc| MaskCuratorApp::new(cc, opts));
    wait_idle(&mut h);
    h
}

/// Presses a key and lets the app handle it.
pub fn press(h: &mut Harness<'static, MaskCuratorApp>, key: egui::Key) {
    h.key_press(key);
    h.run();
}

/// The status line's text (empty when it shows nothing).
pub fn notice(h: &Harness<'static, MaskCuratorApp>) -> String {
    h.state()
        .rt
        .notice
        .as_ref()
        .map(|n| n.text.clone())
        .unwrap_or_default()
}

/// Steps until background jobs are done (the open job scans and loads the run).
pub fn wait_idle(h: &mut Harness<'static, MaskCuratorApp>) {
    let start = Instant::now();
    // A click or key queued before this call starts its job on the next frame.
    h.step();
    while h.state().is_busy() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "background job did not finish"
        );
        h.step();
        std::thread::sleep(Duration::from_millis(10));
    }
    h.run();
}

/// A training recipe small enough for a test on two CPU cores, set in the open panel.
pub fn small_recipe(h: &mut Harness<'static, MaskCuratorApp>, epochs: u32) {
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

/// The panel follows a worker.
pub fn is_training(app: &MaskCuratorApp) -> bool {
    app.rt.train_panel.as_ref().is_some_and(|p| p.is_training())
}

/// Steps the app (training reports through a channel polled each frame) until `done`.
pub fn step_until(
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
