//! K-fold training by person. Each fold trains one model, writes its weights, its
//! validation probabilities (out of fold) and, when the dataset has an eval set, its eval
//! probabilities. When every fold is done the out-of-fold files are assembled. With an age
//! head the same happens for the predicted years and their spread (`val_age_fold<k>.npy`,
//! `eval_age_fold<k>.npy`, then `oof_age.npy`).

use crate::model::{Net, Output};
use crate::{catch_torch, device, MlError};
use crossbeam_channel::Sender;
use mask_curator::curation::Identities;
use mask_curator::dataset::{AgeBin, ClassCode, Dataset, NUM_CLASSES};
use mask_curator::ml::config::{OptimizerKind, Scheduler, TrainConfig};
pub use mask_curator::ml::labels::LabelSource;
use mask_curator::ml::loader::{Item, LoadError, Loader};
use mask_curator::ml::npy::{self, Matrix};
use mask_curator::ml::run::{self, EpochRecord, FoldSummary, IndexRow, RunDir, RunInfo, RunStatus};
use mask_curator::ml::split::{keep_identities_together, person_folds};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tch::nn::OptimizerConfig;
use tch::{Device, Kind, Tensor};

// Training reports the worker protocol's events: the worker writes them as lines for a
// front end, or draws them as progress bars on a terminal.
pub use mask_curator::ml::protocol::{BatchProgress, WorkerEvent};

/// A training request.
pub struct TrainRequest {
    pub dataset: Arc<Dataset>,
    /// The 18-class label of each photo, in `Dataset::photo_refs()` order.
    pub labels: Vec<ClassCode>,
    /// The age in years of each person (`Dataset::people` order), from the same labels:
    /// what the age head trains on.
    pub person_ages: Vec<u32>,
    /// Ids decided to be one person: each group trains and is held out in one fold.
    pub identities: Identities,
    pub label_source: LabelSource,
    pub config: TrainConfig,
    pub run_dir: RunDir,
    /// Train only this fold (the others may run elsewhere; see [`assemble`]).
    pub only_fold: Option<usize>,
    /// Where `<backbone>.safetensors` / `.ot` pretrained files are looked for.
    pub models_dir: PathBuf,
    pub cancel: Arc<AtomicBool>,
    pub events: Option<Sender<WorkerEvent>>,
}

#[derive(Debug, Clone)]
pub struct TrainOutcome {
    pub run_dir: RunDir,
    pub info: RunInfo,
}

/// One training photo.
struct Row {
    path: String,
    person: String,
    person_index: usize,
    /// Label with the official age bins (validation, out-of-fold scores).
    official: usize,
    /// Label with the recipe's age boundary (the training target).
    target: usize,
    /// The person's age in years (the age head's target).
    age: u32,
}

fn rows_of(
    dataset: &Dataset,
    labels: &[ClassCode],
    person_ages: &[u32],
    age_old_from: u32,
) -> Result<Vec<Row>, MlError> {
    let refs: Vec<_> = dataset.photo_refs().collect();
    if refs.len() != labels.len() {
        return Err(MlError::Data(format!(
            "{} labels for {} photos: the labels must follow Dataset::photo_refs() order",
            labels.len(),
            refs.len()
        )));
    }
    if person_ages.len() != dataset.people.len() {
        return Err(MlError::Data(format!(
            "{} ages for {} people: the ages must follow Dataset::people order",
            person_ages.len(),
            dataset.people.len()
        )));
    }
    refs.iter()
        .zip(labels)
        .map(|(r, &label)| {
            let person = &dataset.people[r.person];
            let photo = dataset
                .photo(*r)
                .ok_or_else(|| MlError::Data(format!("photo {r:?} vanished")))?;
            let mut target = label;
            // Move the old boundary down only where the curated bin agrees with the age.
            if label.age() == AgeBin::Middle
                && person.age_bin() == AgeBin::Middle
                && AgeBin::from_years_with_old_from(person.age, age_old_from) == AgeBin::Old
            {
                target = ClassCode::new(label.mask(), label.gender(), AgeBin::Old);
            }
            Ok(Row {
                path: photo.rel_path.to_string_lossy().replace('\\', "/"),
                person: person.folder.clone(),
                person_index: r.person,
                official: label.index(),
                target: target.index(),
                age: person_ages[r.person],
            })
        })
        .collect()
}

/// The fold of each person of `dataset` under the labels given (gender and age bin of the
/// curated labels stratify the split), with the ids of one person in one fold. Also
/// returns how many ids moved to their group's fold.
pub fn folds_for(
    dataset: &Dataset,
    labels: &[ClassCode],
    identities: &Identities,
    k: usize,
    seed: u64,
) -> (Vec<usize>, usize) {
    let mut strata: Vec<(mask_curator::dataset::Gender, AgeBin)> = dataset
        .people
        .iter()
        .map(|p| (p.gender, p.age_bin()))
        .collect();
    for (r, label) in dataset.photo_refs().zip(labels) {
        strata[r.person] = (label.gender(), label.age());
    }
    let mut folds = person_folds(&strata, k, seed);
    let moved = keep_identities_together(&mut folds, identities);
    (folds, moved)
}

struct Ctx<'a> {
    req: &'a TrainRequest,
    rows: Vec<Row>,
    person_fold: Vec<usize>,
    loader: Loader,
    eval: Option<(Vec<String>, Loader)>,
    device: Device,
    started: Instant,
    batches_done: usize,
    batches_total: usize,
}

impl Ctx<'_> {
    fn send(&self, e: WorkerEvent) {
        if let Some(tx) = &self.req.events {
            let _ = tx.send(e);
        }
    }
}

/// Trains the folds of `req` into its run folder. Cancelling (the `cancel` flag) stops
/// within a batch and leaves the run marked cancelled with the folds and epochs completed.
/// Errors inside torch mark the run failed and are returned.
pub fn train(req: TrainRequest) -> Result<TrainOutcome, MlError> {
    let config = &req.config;
    config.validate()?;
    let run = &req.run_dir;
    std::fs::create_dir_all(&run.dir)
        .map_err(|e| MlError::Io(format!("{}: {e}", run.dir.display())))?;
    let rows = rows_of(
        &req.dataset,
        &req.labels,
        &req.person_ages,
        config.age_old_from,
    )?;
    if rows.is_empty() {
        return Err(MlError::Data(format!(
            "{}: no training photos",
            req.dataset.root.display()
        )));
    }
    let folds_to_run: Vec<usize> = match req.only_fold {
        Some(f) if f >= config.folds => {
            return Err(MlError::Config(format!(
                "--fold {f}: the run has folds 0..{}",
                config.folds - 1
            )))
        }
        Some(f) => vec![f],
        None => (0..config.folds).collect(),
    };
    let device = device::choose(config.device).map_err(|e| MlError::Config(e.to_string()))?;
    let (person_fold, moved) = folds_for(
        &req.dataset,
        &req.labels,
        &req.identities,
        config.folds,
        config.seed,
    );
    if let (Some(tx), false) = (&req.events, req.identities.is_empty()) {
        let _ = tx.send(WorkerEvent::Log {
            text: format!(
                "Ids decided to be one person: {}, each group kept in one fold ({moved} moved to their group's fold)",
                req.identities.counts_text()
            ),
        });
    }

    // Run files shared by all folds (identical whichever process writes them).
    run.write_json(&run.config(), config)?;
    let split: Vec<(String, usize)> = req
        .dataset
        .people
        .iter()
        .zip(&person_fold)
        .map(|(p, &f)| (p.folder.clone(), f))
        .collect();
    run::write_split(&run.split_csv(), &split)?;
    if !run.run_json().exists() {
        let info = RunInfo {
            id: run.id(),
            status: RunStatus::Running,
            created: run::now(),
            updated: run::now(),
            dataset_root: req.dataset.root.clone(),
            num_photos: rows.len(),
            num_people: req.dataset.people.len(),
            labels: req.label_source.name().to_string(),
            config: config.clone(),
            folds: Vec::new(),
            summary: None,
            error: None,
        };
        run.write_json(&run.run_json(), &info)?;
    }
    for &k in &folds_to_run {
        // A fold trained again starts from a clean slate.
        for p in [
            run.fold_json(k),
            run.fold_metrics(k),
            run.val_probs(k),
            run.val_index(k),
            run.eval_probs(k, false),
            run.eval_probs(k, true),
            run.val_age(k),
            run.eval_age(k, false),
            run.eval_age(k, true),
        ] {
            let _ = std::fs::remove_file(p);
        }
        if k == EMBEDDING_FOLD {
            let _ = std::fs::remove_file(run.embeddings());
            let _ = std::fs::remove_file(run.map());
        }
    }
    run::refresh_info(run, None, None)?;

    let items: Vec<Item> = rows
        .iter()
        .map(|r| Item {
            path: req.dataset.root.join(&r.path),
            label: r.target as i64,
        })
        .collect();
    let loader = Loader::for_recipe(items, config);
    let send = |e: WorkerEvent| {
        if let Some(tx) = &req.events {
            let _ = tx.send(e);
        }
    };
    let progress = |done, total| send(WorkerEvent::Preparing { done, total });
    let Some(failed) = loader.prepare_all(&req.cancel, &progress) else {
        return cancelled_before_training(&req, &folds_to_run);
    };
    let (rows, loader) = if failed.is_empty() {
        (rows, loader)
    } else {
        skip_photos(&req, rows, loader, &failed)?
    };
    if rows.is_empty() {
        return Err(MlError::Data(format!(
            "{}: no photo of the dataset can be decoded",
            req.dataset.root.display()
        )));
    }
    let eval = match (&req.dataset.eval, config.predict_eval) {
        (Some(e), true) if !e.image_ids.is_empty() => {
            let items = e
                .image_ids
                .iter()
                .map(|id| Item {
                    path: req.dataset.root.join("eval").join("images").join(id),
                    label: 0,
                })
                .collect();
            let loader = Loader::for_recipe(items, config);
            let Some(failed) = loader.prepare_all(&req.cancel, &progress) else {
                return cancelled_before_training(&req, &folds_to_run);
            };
            for (i, err) in failed {
                loader.use_blank(i);
                send(WorkerEvent::Log {
                    text: format!("eval photo {err}: predicted from a blank photo"),
                });
            }
            Some((e.image_ids.clone(), loader))
        }
        _ => None,
    };
    let train_batches = |k: usize| {
        let n = rows
            .iter()
            .filter(|r| person_fold[r.person_index] != k)
            .count();
        n.div_ceil(config.batch_size)
    };
    let batches_total: usize = folds_to_run
        .iter()
        .map(|&k| train_batches(k) * config.epochs as usize)
        .sum();
    let first_fold_batches = train_batches(folds_to_run[0]);
    let mut ctx = Ctx {
        rows,
        person_fold,
        loader,
        eval,
        device,
        started: Instant::now(),
        batches_done: 0,
        batches_total,
        req: &req,
    };
    ctx.send(WorkerEvent::Started {
        run_dir: run.dir.clone(),
        folds: folds_to_run.clone(),
        epochs: config.epochs,
        batches_per_epoch: first_fold_batches,
        device: format!("{device:?}"),
    });

    let mut failure: Option<MlError> = None;
    for &k in &folds_to_run {
        let result = catch_torch(|| train_fold(&mut ctx, k));
        let summary = match result {
            Ok(s) => s,
            Err(e) => {
                let s = FoldSummary {
                    fold: k,
                    status: RunStatus::Failed,
                    epochs_completed: 0,
                    epochs: config.epochs,
                    last: None,
                    error: Some(e.to_string()),
                };
                failure = Some(e);
                s
            }
        };
        run.write_json(&run.fold_json(k), &summary)?;
        let stop = summary.status != RunStatus::Finished;
        ctx.send(WorkerEvent::FoldFinished(summary));
        if stop {
            break;
        }
    }

    let all_done = run
        .fold_summaries(config.folds)?
        .iter()
        .filter(|s| s.status == RunStatus::Finished)
        .count()
        == config.folds;
    let summary = if all_done && failure.is_none() {
        Some(run::assemble_oof(run, config.folds, ctx.rows.len())?)
    } else {
        None
    };
    let info = run::refresh_info(run, summary, None)?;
    ctx.send(WorkerEvent::Finished {
        run_dir: run.dir.clone(),
        status: info.status,
        error: failure.as_ref().map(|e| e.to_string()),
    });
    match failure {
        Some(e) => Err(e),
        None => Ok(TrainOutcome {
            run_dir: run.clone(),
            info,
        }),
    }
}

/// Leaves the run cancelled when the cancel came while photos were being checked.
fn cancelled_before_training(
    req: &TrainRequest,
    folds_to_run: &[usize],
) -> Result<TrainOutcome, MlError> {
    let run = &req.run_dir;
    let summary = FoldSummary {
        fold: folds_to_run[0],
        status: RunStatus::Cancelled,
        epochs_completed: 0,
        epochs: req.config.epochs,
        last: None,
        error: None,
    };
    run.write_json(&run.fold_json(summary.fold), &summary)?;
    let info = run::refresh_info(run, None, None)?;
    if let Some(tx) = &req.events {
        let _ = tx.send(WorkerEvent::FoldFinished(summary));
        let _ = tx.send(WorkerEvent::Finished {
            run_dir: run.dir.clone(),
            status: info.status,
            error: None,
        });
    }
    Ok(TrainOutcome {
        run_dir: run.clone(),
        info,
    })
}

/// Drops the photos that cannot be decoded from the run: they are listed in the run's
/// `skipped.csv` and its log, and `run.json` counts the photos actually used. Every process
/// training a fold of the run drops the same photos, so the row numbers agree.
fn skip_photos(
    req: &TrainRequest,
    mut rows: Vec<Row>,
    loader: Loader,
    failed: &[(usize, LoadError)],
) -> Result<(Vec<Row>, Loader), MlError> {
    let run = &req.run_dir;
    let mut keep = vec![true; rows.len()];
    let mut csv = csv::Writer::from_writer(Vec::new());
    let io = |e: csv::Error| MlError::Io(format!("{}: {e}", run.skipped_csv().display()));
    csv.write_record(["path", "reason"]).map_err(io)?;
    for (i, e) in failed {
        keep[*i] = false;
        csv.write_record([rows[*i].path.as_str(), e.reason.as_str()])
            .map_err(io)?;
        if let Some(tx) = &req.events {
            let _ = tx.send(WorkerEvent::Log {
                text: format!("skipped {}: {}", rows[*i].path, e.reason),
            });
        }
    }
    let bytes = csv
        .into_inner()
        .map_err(|e| MlError::Io(format!("{}: {e}", run.skipped_csv().display())))?;
    mask_curator::workspace::write_atomic(&run.skipped_csv(), &bytes)
        .map_err(|e| MlError::Io(format!("{}: {e}", run.skipped_csv().display())))?;
    if let Some(tx) = &req.events {
        let _ = tx.send(WorkerEvent::Log {
            text: format!(
                "{} of {} photos cannot be decoded and are left out of this run (listed in {})",
                failed.len(),
                rows.len(),
                run.skipped_csv().display()
            ),
        });
    }
    let mut kept = keep.iter();
    rows.retain(|_| *kept.next().unwrap_or(&true));
    let mut info = run.read_info()?;
    if info.num_photos != rows.len() {
        info.num_photos = rows.len();
        run.write_json(&run.run_json(), &info)?;
    }
    Ok((rows, loader.retain(&keep)))
}

/// Builds the out-of-fold files of a run whose folds were trained separately (e.g. one
/// `train --fold I` per machine) and marks it finished.
pub fn assemble(run: &RunDir) -> Result<RunInfo, MlError> {
    let info = run.read_info()?;
    let folds = run.fold_summaries(info.config.folds)?;
    for k in 0..info.config.folds {
        match folds.iter().find(|s| s.fold == k) {
            Some(s) if s.status == RunStatus::Finished => {}
            Some(s) => {
                return Err(MlError::Config(format!(
                    "fold {k} is {} ({}): train it again with --fold {k}",
                    s.status.name(),
                    s.error.as_deref().unwrap_or("no error recorded")
                )))
            }
            None => {
                return Err(MlError::Config(format!(
                    "fold {k} has not been trained (train it with --fold {k})"
                )))
            }
        }
    }
    let summary = run::assemble_oof(run, info.config.folds, info.num_photos)?;
    Ok(run::refresh_info(run, Some(summary), None)?)
}

fn train_fold(ctx: &mut Ctx<'_>, k: usize) -> Result<FoldSummary, MlError> {
    let req = ctx.req;
    let config = &req.config;
    let run = &req.run_dir;
    tch::manual_seed(config.seed as i64 + k as i64);
    let train_idx: Vec<usize> = (0..ctx.rows.len())
        .filter(|&i| ctx.person_fold[ctx.rows[i].person_index] != k)
        .collect();
    let val_idx: Vec<usize> = (0..ctx.rows.len())
        .filter(|&i| ctx.person_fold[ctx.rows[i].person_index] == k)
        .collect();
    if train_idx.is_empty() || val_idx.is_empty() {
        return Err(MlError::Data(format!(
            "fold {k} has {} training and {} validation photos: too few people for {} folds",
            train_idx.len(),
            val_idx.len(),
            config.folds
        )));
    }
    let mut net = Net::new(config, ctx.device)?;
    let pretrained = net.load_pretrained(&req.models_dir, config.backbone)?;
    ctx.send(WorkerEvent::FoldStarted {
        fold: k,
        train_photos: train_idx.len(),
        val_photos: val_idx.len(),
        pretrained: pretrained.map(|(p, n)| format!("{} ({n} tensors)", p.display())),
    });
    let mut opt = match config.optimizer {
        OptimizerKind::Adamw => {
            tch::nn::adamw(0.9, 0.999, config.weight_decay).build(&net.vs, config.lr)?
        }
        OptimizerKind::Adam => {
            tch::nn::adam(0.9, 0.999, config.weight_decay).build(&net.vs, config.lr)?
        }
        OptimizerKind::Sgd => {
            tch::nn::sgd(0.9, 0.0, config.weight_decay, true).build(&net.vs, config.lr)?
        }
    };
    let train_targets: Vec<i64> = train_idx
        .iter()
        .map(|&i| ctx.rows[i].target as i64)
        .collect();
    let weights = net.class_weights(&train_targets, ctx.device)?;
    let (w, h) = (
        i64::from(config.image_size.width),
        i64::from(config.image_size.height),
    );
    let batches = train_idx.len().div_ceil(config.batch_size);
    let mut plateau_lr = config.lr;
    let mut best_val_loss = f64::INFINITY;
    let mut epochs_since_best = 0u32;
    let mut last: Option<EpochRecord> = None;
    let mut val_out = Predictions::default();

    for epoch in 1..=config.epochs {
        let mut order = train_idx.clone();
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(
            config.seed ^ ((k as u64) << 40) ^ u64::from(epoch),
        ));
        let epoch_seed = config
            .seed
            .wrapping_mul(31)
            .wrapping_add((k as u64) << 20 | u64::from(epoch));
        let epoch_start = Instant::now();
        let (mut loss_sum, mut seen) = (0f64, 0usize);
        let mut lr = plateau_lr;
        for (b, batch) in ctx
            .loader
            .batches(order, config.batch_size, config.augment, epoch_seed)
            .enumerate()
        {
            if req.cancel.load(Ordering::Relaxed) {
                return Ok(FoldSummary {
                    fold: k,
                    status: RunStatus::Cancelled,
                    epochs_completed: epoch - 1,
                    epochs: config.epochs,
                    last,
                    error: None,
                });
            }
            let batch = batch?;
            let n = batch.labels.len() as i64;
            if !matches!(config.scheduler, Scheduler::Plateau { .. }) {
                lr = config
                    .scheduler
                    .lr_at(config.lr, f64::from(epoch - 1) + b as f64 / batches as f64);
                opt.set_lr(lr);
            }
            let x = input_tensor(&batch.pixels, n, w, h, ctx.device)?;
            let y = Tensor::f_from_slice(&batch.labels)?.f_to_device(ctx.device)?;
            let Output { logits, age } = net.forward(&x, true)?;
            let mut loss = net.loss(&logits, &y, config.loss, &weights)?;
            if let Some(age) = &age {
                let years: Vec<f32> = batch
                    .items
                    .iter()
                    .map(|&i| ctx.rows[i].age as f32)
                    .collect();
                let years = Tensor::f_from_slice(&years)?.f_to_device(ctx.device)?;
                loss = loss.f_add(&net.age_loss(age, &years)?)?;
            }
            opt.zero_grad();
            loss.f_backward()?;
            opt.step();
            let loss_value = f64::try_from(&loss)?;
            if !loss_value.is_finite() {
                return Err(MlError::Torch(format!("fold {k} epoch {epoch}: the loss became {loss_value} (lower the learning rate)")));
            }
            loss_sum += loss_value * n as f64;
            seen += n as usize;
            ctx.batches_done += 1;
            let elapsed = ctx.started.elapsed().as_secs_f64();
            let eta =
                elapsed / ctx.batches_done as f64 * (ctx.batches_total - ctx.batches_done) as f64;
            ctx.send(WorkerEvent::Batch(BatchProgress {
                fold: k,
                epoch,
                batch: b + 1,
                batches,
                loss: loss_value,
                images_per_sec: seen as f64 / epoch_start.elapsed().as_secs_f64().max(1e-9),
                eta_secs: eta,
            }));
        }
        let train_secs = epoch_start.elapsed().as_secs_f64();
        // Validation on the held-out people, official labels.
        let probs = predict_rows(
            &net,
            &ctx.loader,
            &val_idx,
            config.batch_size,
            ctx.device,
            false,
            w,
            h,
            &req.cancel,
        )?;
        let Some(out) = probs else {
            return Ok(FoldSummary {
                fold: k,
                status: RunStatus::Cancelled,
                epochs_completed: epoch - 1,
                epochs: config.epochs,
                last,
                error: None,
            });
        };
        let probs = &out.probs;
        let truth: Vec<usize> = val_idx.iter().map(|&i| ctx.rows[i].official).collect();
        let predicted = mask_curator::metrics::argmax_rows(probs, NUM_CLASSES);
        let age_mae = out.age.as_ref().map(|age| {
            let errors: f64 = val_idx
                .iter()
                .zip(age.chunks_exact(2))
                .map(|(&i, p)| (f64::from(p[0]) - f64::from(ctx.rows[i].age)).abs())
                .sum();
            errors / val_idx.len() as f64
        });
        let val_loss = truth
            .iter()
            .enumerate()
            .map(|(r, &t)| -f64::from(probs[r * NUM_CLASSES + t].max(1e-7)).ln())
            .sum::<f64>()
            / truth.len() as f64;
        let (m, fields) = run::score(&truth, &predicted);
        let record = EpochRecord {
            fold: k,
            epoch,
            train_loss: loss_sum / seen.max(1) as f64,
            val_loss,
            lr,
            macro_f1: m.macro_f1,
            accuracy: m.accuracy,
            f1_mask: fields[0],
            f1_gender: fields[1],
            f1_age: fields[2],
            age_mae,
            images_per_sec: seen as f64 / train_secs.max(1e-9),
            elapsed_secs: ctx.started.elapsed().as_secs_f64(),
        };
        run.append_epoch(&record)?;
        ctx.send(WorkerEvent::Epoch(record.clone()));
        last = Some(record);
        if let Scheduler::Plateau { patience, factor } = config.scheduler {
            if val_loss < best_val_loss - 1e-4 {
                best_val_loss = val_loss;
                epochs_since_best = 0;
            } else {
                epochs_since_best += 1;
                if epochs_since_best > patience {
                    plateau_lr *= factor;
                    opt.set_lr(plateau_lr);
                    epochs_since_best = 0;
                }
            }
        }
        val_out = out;
    }

    // The last epoch's model and its held-out probabilities.
    net.save(&run.weights(k))?;
    write_outputs(run.val_probs(k), run.val_age(k), val_idx.len(), val_out)?;
    let index: Vec<IndexRow> = val_idx
        .iter()
        .map(|&i| {
            let r = &ctx.rows[i];
            IndexRow {
                row: i,
                path: r.path.clone(),
                person: r.person.clone(),
                fold: k,
                label: Some(r.official),
                age: Some(r.age),
            }
        })
        .collect();
    run::write_index(&run.val_index(k), &index)?;
    if k == EMBEDDING_FOLD && net.has_embedding() {
        let started = Instant::now();
        let all: Vec<usize> = (0..ctx.rows.len()).collect();
        let Some((dim, data)) = embed_rows(
            &net,
            &ctx.loader,
            &all,
            config.batch_size,
            ctx.device,
            w,
            h,
            &req.cancel,
        )?
        else {
            return Ok(FoldSummary {
                fold: k,
                status: RunStatus::Cancelled,
                epochs_completed: config.epochs,
                epochs: config.epochs,
                last,
                error: None,
            });
        };
        let path = run.embeddings();
        npy::write(&path, &Matrix::new(all.len(), dim, data.clone()))
            .map_err(|e| MlError::Io(format!("{}: {e}", path.display())))?;
        ctx.send(WorkerEvent::Log {
            text: format!(
                "embeddings.npy: {} photos x {dim} features from fold {k}'s model in {:.1} s",
                all.len(),
                started.elapsed().as_secs_f64()
            ),
        });
        // The map view's layout: half a minute at 18,900 photos, so it is made here once.
        let started = Instant::now();
        if let Some(layout) = mask_curator::embeddings::tsne_layout(&data, dim, Some(&req.cancel)) {
            let path = run.map();
            let flat: Vec<f32> = layout.iter().flat_map(|p| [p[0], p[1]]).collect();
            npy::write(&path, &Matrix::new(layout.len(), 2, flat))
                .map_err(|e| MlError::Io(format!("{}: {e}", path.display())))?;
            ctx.send(WorkerEvent::Log {
                text: format!(
                    "map.npy: t-SNE of the embeddings in {:.1} s",
                    started.elapsed().as_secs_f64()
                ),
            });
        }
    }
    if let Some((_, eval_loader)) = &ctx.eval {
        let all: Vec<usize> = (0..eval_loader.len()).collect();
        match predict_rows(
            &net,
            eval_loader,
            &all,
            config.batch_size,
            ctx.device,
            false,
            w,
            h,
            &req.cancel,
        )? {
            Some(p) => write_outputs(
                run.eval_probs(k, false),
                run.eval_age(k, false),
                all.len(),
                p,
            )?,
            None => {
                return Ok(FoldSummary {
                    fold: k,
                    status: RunStatus::Cancelled,
                    epochs_completed: config.epochs,
                    epochs: config.epochs,
                    last,
                    error: None,
                })
            }
        }
    }
    Ok(FoldSummary {
        fold: k,
        status: RunStatus::Finished,
        epochs_completed: config.epochs,
        epochs: config.epochs,
        last,
        error: None,
    })
}

/// The fold whose model embeds every training photo (`embeddings.npy`): one model for all
/// photos, because features of different fold models live in different spaces.
const EMBEDDING_FOLD: usize = 0;

/// Runs `each` on the batches of `rows` of `loader` in order (unaugmented, without
/// gradients), giving it the batch's pixels and its number of photos. False when
/// cancelled.
fn for_each_batch(
    loader: &Loader,
    rows: &[usize],
    batch_size: usize,
    cancel: &AtomicBool,
    mut each: impl FnMut(&[f32], i64) -> Result<(), MlError>,
) -> Result<bool, MlError> {
    let _guard = tch::no_grad_guard();
    for batch in loader.batches(
        rows.to_vec(),
        batch_size,
        mask_curator::ml::config::Augment::OFF,
        0,
    ) {
        if cancel.load(Ordering::Relaxed) {
            return Ok(false);
        }
        let batch = batch?;
        each(&batch.pixels, batch.labels.len() as i64)?;
    }
    Ok(true)
}

/// `n` photos of `pixels` (CHW, row-major) as an input tensor on `device`.
fn input_tensor(pixels: &[f32], n: i64, w: i64, h: i64, device: Device) -> Result<Tensor, MlError> {
    Ok(Tensor::f_from_slice(pixels)?
        .f_view([n, 3, h, w])?
        .f_to_device(device)?)
}

/// A tensor's values as f32 on the CPU, flattened.
fn to_cpu_vec(t: &Tensor) -> Result<Vec<f32>, MlError> {
    let t = t
        .f_to_kind(Kind::Float)?
        .f_to_device(Device::Cpu)?
        .f_contiguous()?
        .f_view([-1])?;
    Ok(Vec::<f32>::try_from(&t)?)
}

/// `(D, rows x D)` embeddings of `rows` of `loader` (in that order); `None` when cancelled.
#[allow(clippy::too_many_arguments)]
fn embed_rows(
    net: &Net,
    loader: &Loader,
    rows: &[usize],
    batch_size: usize,
    device: Device,
    w: i64,
    h: i64,
    cancel: &AtomicBool,
) -> Result<Option<(usize, Vec<f32>)>, MlError> {
    let mut out = Vec::new();
    let mut dim = 0;
    let done = for_each_batch(loader, rows, batch_size, cancel, |pixels, n| {
        let x = input_tensor(pixels, n, w, h, device)?;
        let Some(e) = net.embed(&x)? else {
            return Err(MlError::Config("this backbone has no embedding".into()));
        };
        dim = e.size()[1] as usize;
        out.extend_from_slice(&to_cpu_vec(&e)?);
        Ok(())
    })?;
    Ok(done.then_some((dim, out)))
}

/// What a model predicts for a list of photos, row-major.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Predictions {
    /// Photos x 18 class probabilities.
    pub probs: Vec<f32>,
    /// Photos x 2: predicted years and spread (std, years); none without an age head.
    pub age: Option<Vec<f32>>,
}

/// Writes a model's predictions of `rows` photos: probabilities, and ages when it has them.
fn write_outputs(
    probs_path: PathBuf,
    age_path: PathBuf,
    rows: usize,
    out: Predictions,
) -> Result<(), MlError> {
    let io = |path: &PathBuf| {
        let path = path.clone();
        move |e: std::io::Error| MlError::Io(format!("{}: {e}", path.display()))
    };
    npy::write(&probs_path, &Matrix::new(rows, NUM_CLASSES, out.probs)).map_err(io(&probs_path))?;
    if let Some(age) = out.age {
        npy::write(&age_path, &Matrix::new(rows, 2, age)).map_err(io(&age_path))?;
    }
    Ok(())
}

/// 18-class probabilities (and ages, with an age head) of `rows` of `loader` (in that
/// order), optionally averaged with the horizontal mirror. `None` when cancelled.
#[allow(clippy::too_many_arguments)]
pub fn predict_rows(
    net: &Net,
    loader: &Loader,
    rows: &[usize],
    batch_size: usize,
    device: Device,
    tta: bool,
    w: i64,
    h: i64,
    cancel: &AtomicBool,
) -> Result<Option<Predictions>, MlError> {
    let mut out = Vec::with_capacity(rows.len() * NUM_CLASSES);
    let mut ages: Option<Vec<f32>> = net.has_age().then(|| Vec::with_capacity(rows.len() * 2));
    let done = for_each_batch(loader, rows, batch_size, cancel, |pixels, n| {
        let run_on = |pixels: &[f32]| -> Result<(Tensor, Option<Vec<f32>>), MlError> {
            let x = input_tensor(pixels, n, w, h, device)?;
            let Output { logits, age } = net.forward(&x, false)?;
            let age = match age {
                Some(a) => Some(to_cpu_vec(&net.age_years(&a)?)?),
                None => None,
            };
            Ok((net.probs18(&logits)?, age))
        };
        let (mut p, mut age) = run_on(pixels)?;
        if tta {
            let flipped = mask_curator::ml::loader::hflip_batch(pixels, w as usize);
            let (pf, age_f) = run_on(&flipped)?;
            p = p.f_add(&pf)?.f_mul_scalar(0.5)?;
            if let (Some(a), Some(b)) = (&mut age, age_f) {
                for (x, y) in a.chunks_exact_mut(2).zip(b.chunks_exact(2)) {
                    let mixed = mask_curator::ml::ensemble::mix_ages(&[
                        (1.0, [x[0], x[1]]),
                        (1.0, [y[0], y[1]]),
                    ]);
                    x.copy_from_slice(&mixed);
                }
            }
        }
        out.extend_from_slice(&to_cpu_vec(&p)?);
        if let (Some(all), Some(a)) = (&mut ages, age) {
            all.extend_from_slice(&a);
        }
        Ok(())
    })?;
    if !done {
        return Ok(None);
    }
    Ok(Some(Predictions {
        probs: out,
        age: ages,
    }))
}
