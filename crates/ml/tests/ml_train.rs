//! End to end: train 2 folds x 1 epoch of the small CNN on a tiny generated dataset (CPU),
//! then check the out-of-fold files, checkpoint reloading, the ensemble and the submission,
//! and that cancelling stops promptly; the age head's out-of-fold years through the binary.

use mask_curator::dataset::{
    AgeBin, ClassCode, Dataset, EvalSet, Gender, Person, Photo, Slot, NUM_CLASSES,
};
use mask_curator::ml::config::{Augment, DeviceChoice, ImageSize, TrainConfig};
use mask_curator::ml::npy;
use mask_curator::ml::run::{read_index, RunDir, RunStatus};
use mask_curator_ml::train::{self, LabelSource, TrainRequest, WorkerEvent};
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

/// The text of the worker's log events.
fn log_lines(events: &[WorkerEvent]) -> Vec<&String> {
    events
        .iter()
        .filter_map(|e| match e {
            WorkerEvent::Log { text } => Some(text),
            _ => None,
        })
        .collect()
}

fn request(
    d: &Dataset,
    run: RunDir,
    cancel: Arc<AtomicBool>,
    events: Option<crossbeam_channel::Sender<WorkerEvent>>,
) -> TrainRequest {
    TrainRequest {
        dataset: Arc::new(d.clone()),
        labels: given_labels(d),
        person_ages: d.people.iter().map(|p| p.age).collect(),
        identities: Default::default(),
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
        mask_curator_ml::infer::predict_photos(&run, 0, &photos, tch::Device::Cpu, false).unwrap();
    let saved = npy::read(&run.val_probs(0)).unwrap();
    assert_eq!((again.rows, again.cols), (saved.rows, saved.cols));
    for (a, b) in again.data.iter().zip(&saved.data) {
        assert!((a - b).abs() < 1e-5, "{a} vs {b}");
    }

    // The binary's ensemble equals the hand-computed mean of the saved fold probabilities.
    let out = tmp.path().join(".mask-curator/exports/submission.csv");
    // `predict` of this run on the CPU, with `--out` when given.
    let predict = |out: Option<&Path>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_mask-curator-ml"));
        cmd.arg("predict")
            .arg(tmp.path())
            .arg("--runs")
            .arg(&run.dir)
            .args(["--device", "cpu"]);
        if let Some(out) = out {
            cmd.arg("--out").arg(out);
        }
        cmd.output().unwrap()
    };
    let status = predict(Some(&out));
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

    // A submission never replaces the dataset's files (`--out info.csv` from the eval
    // folder): refused before inference, info.csv left as it was.
    let info = tmp.path().join("eval/info.csv");
    let info_before = std::fs::read(&info).unwrap();
    let refused = predict(Some(&info));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "{err}");
    assert!(err.contains("a file of the dataset"), "{err}");
    assert_eq!(std::fs::read(&info).unwrap(), info_before);

    // Without --out, the submission goes beside the earlier one in exports/, as the app's.
    let again = predict(None);
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let second = out.with_file_name("submission-2.csv");
    let stdout = String::from_utf8_lossy(&again.stdout);
    assert_eq!(
        stdout.lines().last(),
        Some(second.display().to_string().as_str())
    );
    assert_eq!(
        std::fs::read_to_string(&second).unwrap(),
        std::fs::read_to_string(&out).unwrap()
    );
}

#[test]
fn a_photo_that_cannot_be_decoded_is_skipped_and_logged_not_a_failed_run() {
    let tmp = tempfile::tempdir().unwrap();
    let dataset = tiny_dataset(tmp.path());
    // One training photo and one eval photo turn into garbage after the scan (a half-synced
    // folder): the run must go on without the first and predict the second from a blank.
    let bad = dataset.people[3].photos[2]
        .as_ref()
        .unwrap()
        .rel_path
        .clone();
    std::fs::write(tmp.path().join(&bad), b"\xFF\xD8\xFF\xE0 not a jpeg at all").unwrap();
    let eval_id = dataset.eval.as_ref().unwrap().image_ids[4].clone();
    std::fs::write(tmp.path().join("eval/images").join(&eval_id), b"garbage").unwrap();
    let run = RunDir::new(tmp.path().join("run"));
    let (tx, rx) = crossbeam_channel::unbounded();
    let req = request(
        &dataset,
        run.clone(),
        Arc::new(AtomicBool::new(false)),
        Some(tx),
    );
    let worker = std::thread::spawn(move || train::train(req));
    let events: Vec<WorkerEvent> = rx.iter().collect();
    let outcome = worker.join().unwrap().unwrap();
    assert_eq!(outcome.info.status, RunStatus::Finished);
    assert_eq!(outcome.info.num_photos, PEOPLE * 7 - 1);

    let bad_text = bad.to_string_lossy().replace('\\', "/");
    let logs = log_lines(&events);
    assert!(
        logs.iter()
            .any(|l| l.contains(&bad_text) && l.contains("cannot decode")),
        "{logs:?}"
    );
    assert!(logs.iter().any(|l| l.contains(&eval_id)), "{logs:?}");
    assert!(events
        .iter()
        .any(|e| matches!(e, WorkerEvent::Preparing { done, total } if done == total && *total == PEOPLE * 7)));
    let skipped = std::fs::read_to_string(run.skipped_csv()).unwrap();
    assert!(skipped.starts_with("path,reason\n"), "{skipped}");
    assert!(skipped.contains(&bad_text), "{skipped}");

    // The out-of-fold files cover every other photo, and the issue engine reads them.
    let index = read_index(&run.oof_index()).unwrap();
    assert_eq!(index.len(), PEOPLE * 7 - 1);
    assert!(index.iter().all(|r| r.path != bad_text));
    assert_eq!(npy::read(&run.oof_probs()).unwrap().rows, PEOPLE * 7 - 1);
    let table = mask_curator::issues::ProbTable::load_run(&dataset, &run.dir).unwrap();
    assert_eq!(table.rows.len(), PEOPLE * 7 - 1);
    // Eval predictions still have a row for every eval photo.
    assert_eq!(
        npy::read(&run.eval_probs(0, false)).unwrap().rows,
        EVAL,
        "the blank stands in for the bad eval photo"
    );
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
        if let WorkerEvent::Batch(progress) = event {
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

/// A dataset in the real layout whose photos show the age in years: the blue channel grows
/// with it (plus per-photo noise), so a model can learn years and not only bins.
fn age_dataset(root: &Path, people: usize) -> Vec<u32> {
    let images = root.join("train/images");
    let mut csv = String::from("id,gender,race,age,path\n");
    let mut ages = Vec::new();
    for i in 0..people {
        let gender = Gender::ALL[i % 2];
        let age = 18 + (i * 42 / (people - 1)) as u32;
        ages.push(age);
        let id = format!("{:06}", i + 1);
        let folder = format!("{id}_{}_Asian_{age}", gender.name());
        std::fs::create_dir_all(images.join(&folder)).unwrap();
        csv.push_str(&format!("{id},{},Asian,{age},{folder}\n", gender.name()));
        for slot in Slot::ALL {
            let salt = (i * 7 + slot.index()) as u32;
            let img = image::RgbImage::from_fn(48, 64, |x, y| {
                let noise = (x * 7 + y * 13 + salt * 31) % 17;
                image::Rgb([
                    (slot.mask().index() as u32 * 100 + noise) as u8,
                    (gender.index() as u32 * 120 + x) as u8,
                    ((age - 18) * 5 + noise) as u8,
                ])
            });
            img.save(images.join(&folder).join(format!("{}.jpg", slot.stem())))
                .unwrap();
        }
    }
    std::fs::write(root.join("train/train.csv"), csv).unwrap();
    // A small eval set: three photos of the first people, for predict.
    std::fs::create_dir_all(root.join("eval/images")).unwrap();
    let mut info = String::from("ImageID,ans\n");
    for (j, age) in ages.iter().enumerate().take(3) {
        let id = format!("{:040x}.jpg", j + 1);
        let from = images.join(format!(
            "{:06}_{}_Asian_{}/mask1.jpg",
            j + 1,
            Gender::ALL[j % 2].name(),
            age
        ));
        std::fs::copy(from, root.join("eval/images").join(&id)).unwrap();
        info.push_str(&format!("{id},0\n"));
    }
    std::fs::write(root.join("eval/info.csv"), info).unwrap();
    ages
}

fn run_bin(args: &[&str], dir: &Path) -> (String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_mask-curator-ml"))
        .arg(args[0])
        .arg(dir)
        .args(&args[1..])
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(out.status.success(), "{args:?} failed\n{stdout}\n{stderr}");
    (stdout, stderr)
}

const AGE_RECIPE: [&str; 14] = [
    "--device",
    "cpu",
    "--folds",
    "2",
    "--epochs",
    "10",
    "--image-size",
    "24x32",
    "--batch-size",
    "8",
    "--lr",
    "0.003",
    "--workers",
    "1",
];

#[test]
fn the_age_head_learns_years_out_of_fold_and_predict_writes_them() {
    let tmp = tempfile::tempdir().unwrap();
    let ages = age_dataset(tmp.path(), 16);
    let mut args = vec!["train"];
    args.extend(AGE_RECIPE);
    let (stdout, stderr) = run_bin(&args, tmp.path());
    let run = RunDir::new(stdout.lines().last().unwrap());
    assert!(stderr.contains("out-of-fold age: MAE"), "{stderr}");

    // oof_age.npy: one row per oof_index.csv row, finite years, positive spreads.
    let index = read_index(&run.oof_index()).unwrap();
    let age = npy::read(&run.oof_age()).unwrap();
    assert_eq!((age.rows, age.cols), (index.len(), 2));
    assert_eq!(index.len(), 16 * 7);
    assert!(age.data.iter().all(|v| v.is_finite()), "{:?}", age.data);
    assert!((0..age.rows).all(|r| age.row(r)[1] > 0.0));

    // Better than the best constant guess, by the run's own figures and by hand.
    let info = run.read_info().unwrap();
    let summary = info
        .summary
        .unwrap()
        .age
        .expect("an age summary in run.json");
    let truth = |r: &mask_curator::ml::run::IndexRow| {
        let folder = r.person.as_str();
        f64::from(ages[folder[..6].parse::<usize>().unwrap() - 1])
    };
    let mae = index
        .iter()
        .enumerate()
        .map(|(i, r)| (f64::from(age.row(i)[0]) - truth(r)).abs())
        .sum::<f64>()
        / index.len() as f64;
    assert!(
        (mae - summary.mae_years).abs() < 1e-3,
        "{mae} vs {summary:?}"
    );
    assert!(
        summary.mae_years < 0.75 * summary.baseline_mae_years,
        "{summary:?}"
    );
    for k in 0..2 {
        assert_eq!(npy::read(&run.eval_age(k, false)).unwrap().rows, 3);
    }

    // embeddings.npy: fold 0's model's features of every photo, rows as oof_index.csv
    // (the small CNN's 192 channels), finite and not all alike.
    let emb = npy::read(&run.embeddings()).unwrap();
    assert_eq!((emb.rows, emb.cols), (index.len(), 192));
    assert!(emb.data.iter().all(|v| v.is_finite()));
    let first = emb.row(0);
    // map.npy: their t-SNE layout, one finite place per photo.
    let map = npy::read(&run.map()).unwrap();
    assert_eq!((map.rows, map.cols), (index.len(), 2));
    assert!(map.data.iter().all(|v| v.is_finite()));
    assert!((1..emb.rows).any(|r| emb
        .row(r)
        .iter()
        .zip(first)
        .any(|(a, b)| (a - b).abs() > 1e-3)));

    // predict votes the fold models' ages into <out stem>.age.csv, in info.csv order. The
    // run is named by its id, as the app and `train` name it.
    let out = tmp.path().join(".mask-curator/exports/submission.csv");
    let out_arg = out.display().to_string();
    let run_arg = run.dir.file_name().unwrap().to_string_lossy().into_owned();
    assert_eq!(
        run.dir,
        mask_curator::workspace::Workspace::for_dataset(tmp.path())
            .runs_dir()
            .join(&run_arg)
    );
    // A mistyped id is refused before any work, naming the runs there are.
    let typo = Command::new(env!("CARGO_BIN_EXE_mask-curator-ml"))
        .arg("predict")
        .arg(tmp.path())
        .args(["--runs", "no-such-run", "--out", &out_arg])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&typo.stderr);
    assert!(!typo.status.success());
    assert!(
        said.contains("no-such-run: no such run folder") && said.contains(&run_arg),
        "{said}"
    );
    assert_eq!(said.matches("no such run folder").count(), 1, "{said}");
    let (_, stderr) = run_bin(
        &[
            "predict", "--runs", &run_arg, "--device", "cpu", "--tta", "--out", &out_arg,
        ],
        tmp.path(),
    );
    let csv = std::fs::read_to_string(out.with_file_name("submission.age.csv"))
        .unwrap_or_else(|e| panic!("{e}\n{stderr}"));
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "ImageID,age,spread");
    assert_eq!(lines.len(), 4);
    for line in &lines[1..] {
        let cols: Vec<f64> = line
            .split(',')
            .skip(1)
            .map(|v| v.parse().unwrap())
            .collect();
        assert!((10.0..90.0).contains(&cols[0]) && cols[1] > 0.0, "{line}");
    }
    assert!(run.eval_age(0, true).exists());
}

#[test]
fn a_run_without_an_age_head_still_predicts() {
    let tmp = tempfile::tempdir().unwrap();
    age_dataset(tmp.path(), 6);
    let mut args = vec!["train"];
    // One epoch is enough here: only the files matter.
    args.extend(AGE_RECIPE.map(|a| if a == "10" { "1" } else { a }));
    args.extend(["--age-loss", "none"]);
    let (stdout, stderr) = run_bin(&args, tmp.path());
    assert!(stderr.contains("no age head"), "{stderr}");
    let run = RunDir::new(stdout.lines().last().unwrap());
    assert!(!run.oof_age().exists());
    assert!(
        run.embeddings().exists(),
        "the embedding does not need an age head"
    );
    assert!(run.read_info().unwrap().summary.unwrap().age.is_none());
    // A run made before the age head existed has no `age_loss` in its recipe at all.
    for path in [run.config(), run.run_json()] {
        let mut v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let config = if path == run.config() {
            &mut v
        } else {
            &mut v["config"]
        };
        assert!(config.as_object_mut().unwrap().remove("age_loss").is_some());
        std::fs::write(&path, serde_json::to_string(&v).unwrap()).unwrap();
    }
    for k in 0..2 {
        std::fs::remove_file(run.eval_probs(k, false)).unwrap();
    }
    let out = tmp.path().join(".mask-curator/exports/submission.csv");
    let (out_arg, run_arg) = (out.display().to_string(), run.dir.display().to_string());
    let (_, stderr) = run_bin(
        &[
            "predict", "--runs", &run_arg, "--device", "cpu", "--out", &out_arg,
        ],
        tmp.path(),
    );
    assert_eq!(std::fs::read_to_string(&out).unwrap().lines().count(), 4);
    assert!(stderr.contains("predate the age head"), "{stderr}");
    assert!(!out.with_file_name("submission.age.csv").exists());
}

#[test]
fn ids_decided_to_be_one_person_are_split_into_one_fold() {
    let tmp = tempfile::tempdir().unwrap();
    let dataset = tiny_dataset(tmp.path());
    let labels = given_labels(&dataset);
    let k = tiny_config().folds;
    let seed = tiny_config().seed;
    let (plain, _) = train::folds_for(&dataset, &labels, &Default::default(), k, seed);
    // Two people the plain split puts in different folds, decided to be one person.
    let a = 0;
    let b = (1..PEOPLE).find(|&p| plain[p] != plain[a]).unwrap();
    let workspace = mask_curator::workspace::Workspace::for_dataset(tmp.path());
    {
        let (mut cur, _) =
            mask_curator::curation::Curation::open(&dataset, &workspace, "test").unwrap();
        let edit = cur.identity_edit(b, a, mask_curator::curation::IdentityDecision::Same);
        cur.apply(edit).unwrap();
    }
    let curated = mask_curator::ml::labels::training_labels(&dataset, true).unwrap();
    assert_eq!(curated.identities.groups(), vec![vec![a, b]]);

    // The split the worker writes (it is written before training; cancelled at once).
    let run = RunDir::new(tmp.path().join("run"));
    let (tx, rx) = crossbeam_channel::unbounded();
    let mut req = request(
        &dataset,
        run.clone(),
        Arc::new(AtomicBool::new(true)),
        Some(tx),
    );
    req.identities = curated.identities;
    let _ = train::train(req);
    let split = std::fs::read_to_string(run.split_csv()).unwrap();
    let fold_of = |p: usize| {
        let folder = &dataset.people[p].folder;
        split
            .lines()
            .find(|l| l.starts_with(&format!("{folder},")))
            .and_then(|l| l.rsplit(',').next())
            .map(str::to_string)
            .unwrap()
    };
    assert_eq!(fold_of(a), fold_of(b), "{split}");
    assert_eq!(fold_of(a), plain[a].to_string());
    for p in (0..PEOPLE).filter(|&p| p != b) {
        assert_eq!(fold_of(p), plain[p].to_string(), "person {p} moved");
    }
    let events: Vec<WorkerEvent> = rx.iter().collect();
    let logged = log_lines(&events);
    assert!(
        logged.iter().any(
            |t| t.contains("Ids decided to be one person: 2 ids in 1 group")
                && t.contains("1 moved")
        ),
        "{logged:?}"
    );
}
