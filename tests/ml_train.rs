//! End to end: train 2 folds x 1 epoch of the small CNN on a tiny generated dataset (CPU),
//! then check the out-of-fold files, checkpoint reloading, the ensemble and the submission,
//! and that cancelling stops promptly.
#![cfg(feature = "torch")]

use mask_curator::dataset::{
    AgeBin, ClassCode, Dataset, EvalSet, Gender, Person, Photo, Slot, NUM_CLASSES,
};
use mask_curator::ml::config::{Augment, DeviceChoice, ImageSize, TrainConfig};
use mask_curator::ml::npy;
use mask_curator::ml::run::{read_index, RunDir, RunStatus};
use mask_curator::ml::train::{self, LabelSource, TrainEvent, TrainRequest};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

const PEOPLE: usize = 8;
const EVAL: usize = 10;

/// A photo whose colours follow its class, so that the model has something to learn.
fn write_photo(path: &Path, class: ClassCode, salt: u32) {
    let c = class.index() as u32;
    let img = image::RgbImage::from_fn(48, 64, |x, y| {
        let noise = (x * 7 + y * 13 + salt * 31) % 23;
        image::Rgb([
            (class.mask().index() as u32 * 100 + noise) as u8,
            (class.gender().index() as u32 * 120 + x) as u8,
            (class.age().index() as u32 * 80 + y + c) as u8,
        ])
    });
    img.save(path).unwrap();
}

/// A tiny dataset in the real layout, and the same dataset as the scan would return it.
fn tiny_dataset(root: &Path) -> Dataset {
    let images = root.join("train/images");
    std::fs::create_dir_all(&images).unwrap();
    let mut csv = String::from("id,gender,race,age,path\n");
    let mut people = Vec::new();
    for i in 0..PEOPLE {
        let gender = Gender::ALL[i % 2];
        let age = [22, 45, 60][i % 3];
        let id = format!("{:06}", i + 1);
        let folder = format!("{id}_{}_Asian_{age}", gender.name());
        std::fs::create_dir_all(images.join(&folder)).unwrap();
        csv.push_str(&format!("{id},{},Asian,{age},{folder}\n", gender.name()));
        let mut photos: [Option<Photo>; 7] = Default::default();
        for slot in Slot::ALL {
            let rel = PathBuf::from(format!("train/images/{folder}/{}.jpg", slot.stem()));
            write_photo(
                &root.join(&rel),
                ClassCode::new(slot.mask(), gender, AgeBin::from_years(age)),
                i as u32 * 7 + slot.index() as u32,
            );
            photos[slot.index()] = Some(Photo {
                slot,
                rel_path: rel,
            });
        }
        people.push(Person {
            folder,
            id,
            gender,
            age,
            race: "Asian".into(),
            photos,
        });
    }
    std::fs::write(root.join("train/train.csv"), csv).unwrap();
    std::fs::create_dir_all(root.join("eval/images")).unwrap();
    let mut info = String::from("ImageID,ans\n");
    let mut gt = String::from("ImageID,class\n");
    let mut ids = Vec::new();
    let mut truth = Vec::new();
    for j in 0..EVAL {
        let id = format!("{:040x}.jpg", j * 7919 + 1);
        let class = ClassCode::from_index((j * 5) % NUM_CLASSES).unwrap();
        write_photo(&root.join("eval/images").join(&id), class, 1000 + j as u32);
        info.push_str(&format!("{id},0\n"));
        gt.push_str(&format!("{id},{}\n", class.index()));
        ids.push(id);
        truth.push(class);
    }
    std::fs::write(root.join("eval/info.csv"), info).unwrap();
    std::fs::write(root.join("eval/gt.csv"), gt).unwrap();
    Dataset {
        root: root.to_path_buf(),
        people,
        eval: Some(EvalSet {
            image_ids: ids,
            ground_truth: Some(truth),
        }),
        problems: Vec::new(),
    }
}

fn tiny_config() -> TrainConfig {
    TrainConfig {
        folds: 2,
        epochs: 1,
        batch_size: 8,
        image_size: ImageSize {
            width: 24,
            height: 32,
        },
        device: DeviceChoice::Cpu,
        workers: 1,
        augment: Augment::default(),
        ..Default::default()
    }
}

fn given_labels(d: &Dataset) -> Vec<ClassCode> {
    d.photo_refs()
        .map(|r| d.people[r.person].class_of(r.slot))
        .collect()
}

fn request(
    d: &Dataset,
    run: RunDir,
    cancel: Arc<AtomicBool>,
    events: Option<crossbeam_channel::Sender<TrainEvent>>,
) -> TrainRequest {
    TrainRequest {
        dataset: Arc::new(d.clone()),
        labels: given_labels(d),
        label_source: LabelSource::Given,
        config: tiny_config(),
        run_dir: run,
        only_fold: None,
        models_dir: PathBuf::from("no-such-models-dir"),
        cancel,
        events,
    }
}

#[test]
fn trains_folds_writes_oof_reloads_and_ensembles() {
    tch::manual_seed(777);
    let tmp = tempfile::tempdir().unwrap();
    let dataset = tiny_dataset(tmp.path());
    let run = RunDir::new(tmp.path().join("run"));
    let outcome = train::train(request(
        &dataset,
        run.clone(),
        Arc::new(AtomicBool::new(false)),
        None,
    ))
    .unwrap();
    assert_eq!(outcome.info.status, RunStatus::Finished);

    // Every training photo exactly once, in photo_refs order, from the fold that held it out.
    let index = read_index(&run.oof_index()).unwrap();
    let expected: Vec<String> = dataset
        .photo_refs()
        .map(|r| {
            dataset
                .photo(r)
                .unwrap()
                .rel_path
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(
        index.iter().map(|r| r.path.clone()).collect::<Vec<_>>(),
        expected
    );
    assert_eq!(
        index.iter().map(|r| r.row).collect::<Vec<_>>(),
        (0..expected.len()).collect::<Vec<_>>()
    );
    let split = std::fs::read_to_string(run.split_csv()).unwrap();
    for r in &index {
        assert!(
            split.contains(&format!("{},{}\n", r.person, r.fold)),
            "{} not in fold {}",
            r.person,
            r.fold
        );
    }
    let oof = npy::read(&run.oof_probs()).unwrap();
    assert_eq!((oof.rows, oof.cols), (PEOPLE * 7, NUM_CLASSES));
    for r in 0..oof.rows {
        let s: f32 = oof.row(r).iter().sum();
        assert!((s - 1.0).abs() < 1e-4, "row {r} sums to {s}");
    }

    // Reloading fold 0's checkpoint reproduces its saved validation probabilities.
    let val_index = read_index(&run.val_index(0)).unwrap();
    let photos: Vec<PathBuf> = val_index.iter().map(|r| tmp.path().join(&r.path)).collect();
    let again =
        mask_curator::ml::infer::predict_photos(&run, 0, &photos, tch::Device::Cpu, false).unwrap();
    let saved = npy::read(&run.val_probs(0)).unwrap();
    assert_eq!((again.rows, again.cols), (saved.rows, saved.cols));
    for (a, b) in again.data.iter().zip(&saved.data) {
        assert!((a - b).abs() < 1e-5, "{a} vs {b}");
    }

    // The binary's ensemble equals the hand-computed mean of the saved fold probabilities.
    let out = tmp.path().join("sub/submission.csv");
    let status = Command::new(env!("CARGO_BIN_EXE_mask-curator"))
        .args(["predict"])
        .arg(tmp.path())
        .arg("--runs")
        .arg(&run.dir)
        .args(["--device", "cpu", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let stdout = String::from_utf8_lossy(&status.stdout);
    assert_eq!(stdout.lines().last().unwrap(), out.display().to_string());
    assert!(stdout.contains("macro F1"), "{stdout}");
    let f0 = npy::read(&run.eval_probs(0, false)).unwrap();
    let f1 = npy::read(&run.eval_probs(1, false)).unwrap();
    let mean: Vec<f32> = f0
        .data
        .iter()
        .zip(&f1.data)
        .map(|(a, b)| (a + b) / 2.0)
        .collect();
    let expected_classes = mask_curator::metrics::argmax_rows(&mean, NUM_CLASSES);
    let text = std::fs::read_to_string(&out).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("ImageID,ans"));
    let rows: Vec<(String, usize)> = lines
        .map(|l| {
            let (id, ans) = l.split_once(',').unwrap();
            (id.to_string(), ans.parse().unwrap())
        })
        .collect();
    let info_ids = &dataset.eval.as_ref().unwrap().image_ids;
    assert_eq!(
        rows.iter().map(|r| r.0.clone()).collect::<Vec<_>>(),
        *info_ids
    );
    assert!(rows.iter().all(|r| r.1 < NUM_CLASSES));
    assert_eq!(
        rows.iter().map(|r| r.1).collect::<Vec<_>>(),
        expected_classes
    );
    assert!(out.with_file_name("submission.metrics.json").exists());
}

#[test]
fn cancel_after_the_first_batch_marks_the_run_cancelled() {
    let tmp = tempfile::tempdir().unwrap();
    let dataset = tiny_dataset(tmp.path());
    let run = RunDir::new(tmp.path().join("run"));
    let cancel = Arc::new(AtomicBool::new(false));
    let (tx, rx) = crossbeam_channel::unbounded();
    let mut req = request(&dataset, run.clone(), Arc::clone(&cancel), Some(tx));
    req.config.epochs = 3;
    req.config.batch_size = 4;
    let worker = std::thread::spawn(move || train::train(req));
    let (mut batches_seen, mut batches_per_epoch) = (0, 0);
    for event in rx {
        if let TrainEvent::Batch(progress) = event {
            batches_seen += 1;
            batches_per_epoch = progress.batches;
            cancel.store(true, Ordering::Relaxed);
        }
    }
    let outcome = worker.join().unwrap().unwrap();
    // The flag is set as soon as the first batch is reported, but the worker may already be
    // inside the next batch by then (the channel does not wait): it must stop within the
    // first epoch, long before 3 epochs x several batches.
    assert!(
        batches_per_epoch >= 4,
        "{batches_per_epoch} batches an epoch"
    );
    assert!(
        (1..batches_per_epoch).contains(&batches_seen),
        "{batches_seen} of {batches_per_epoch} batches ran after cancelling"
    );
    assert_eq!(outcome.info.status, RunStatus::Cancelled);
    let info = run.read_info().unwrap();
    assert_eq!(info.status, RunStatus::Cancelled);
    assert_eq!(info.folds.len(), 1);
    assert_eq!(info.folds[0].status, RunStatus::Cancelled);
    assert_eq!(info.folds[0].epochs_completed, 0);
    assert!(
        !run.oof_probs().exists(),
        "a partial run must not look complete"
    );
    assert!(!run.weights(0).exists());
}

#[test]
fn folds_trained_separately_assemble_into_the_same_run() {
    let tmp = tempfile::tempdir().unwrap();
    let dataset = tiny_dataset(tmp.path());
    let run = RunDir::new(tmp.path().join("run"));
    for fold in [1, 0] {
        let mut req = request(
            &dataset,
            run.clone(),
            Arc::new(AtomicBool::new(false)),
            None,
        );
        req.only_fold = Some(fold);
        train::train(req).unwrap();
        if fold == 1 {
            assert!(!run.oof_probs().exists());
            assert!(train::assemble(&run)
                .unwrap_err()
                .to_string()
                .contains("--fold 0"));
        }
    }
    // The last fold finishing completes the run by itself; assembling again is harmless.
    let info = train::assemble(&run).unwrap();
    assert_eq!(info.status, RunStatus::Finished);
    assert_eq!(npy::read(&run.oof_probs()).unwrap().rows, PEOPLE * 7);
}
