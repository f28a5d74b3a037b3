//! The training side panel: recipe form, Start / Cancel, live progress and curves, past
//! runs to compare (per-class F1, confusion heat map), and the ensemble form. Training and
//! inference run on background threads; the panel only polls their channels.

use crate::dataset::{ClassCode, NUM_CLASSES};
use crate::ml::config::{
    Augment, Backbone, DeviceChoice, Heads, Loss, OptimizerKind, Scheduler, TrainConfig,
};
use crate::ml::ensemble::Weighting;
use crate::ml::protocol::{BatchProgress, WorkerEvent};
use crate::ml::run::{self, EpochRecord, RunDir, RunInfo, RunStatus};
use crate::workbench::training::{models_dir, train_args, write_recipe, PredictRequest};
use crate::workbench::weights::{self, WeightsDownload, WeightsState};
use crate::workbench::worker::{mark_run_failed, WorkerProcess};
use crate::workspace::Workspace;
use egui::{Color32, RichText, Ui};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What the panel tells the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrainPanelEvent {
    /// A run finished; its out-of-fold probabilities can refresh the issue list.
    RunFinished(PathBuf),
}

struct TrainJob {
    worker: WorkerProcess,
    /// The recipe file the worker reads; removed when the job ends.
    _recipe: tempfile::NamedTempFile,
    run_dir: RunDir,
    /// The worker reported the run's end (finished, cancelled or failed).
    finished: Option<(RunStatus, Option<String>)>,
    last_batch: Option<BatchProgress>,
    epochs: Vec<EpochRecord>,
    log: Vec<String>,
    folds: usize,
    epochs_per_fold: u32,
}

struct PredictJob {
    worker: WorkerProcess,
    /// What the worker said it wrote, or the error it reported.
    outcome: Option<Result<String, String>>,
}

pub struct TrainPanel {
    root: PathBuf,
    config: TrainConfig,
    image_size_text: String,
    /// The size `image_size_text` was last synced with.
    image_size_shown: crate::ml::config::ImageSize,
    job: Option<TrainJob>,
    status: Option<String>,
    runs: Vec<(RunDir, RunInfo)>,
    selected_run: Option<PathBuf>,
    ensemble_runs: BTreeSet<PathBuf>,
    tta: bool,
    weighting: Weighting,
    out_path: String,
    predict: Option<PredictJob>,
    predict_result: Option<String>,
    /// Where pretrained weights are kept (the worker is told with `--models`).
    models_dir: PathBuf,
    /// A folder URL that replaces torchvision's for downloads (`MASK_CURATOR_WEIGHTS_MIRROR`).
    weights_mirror: Option<String>,
    /// An address that replaces the published one (what `weights fetch --url` does).
    weights_url: Option<String>,
    download: Option<WeightsDownload>,
    /// How the last download ended.
    download_result: Option<String>,
}

impl TrainPanel {
    pub fn new(dataset_root: PathBuf) -> Self {
        let config = TrainConfig::default();
        let out_path = crate::ml::ensemble::next_free_submission(
            &crate::workspace::Workspace::for_dataset(&dataset_root)
                .exports_dir()
                .join("submission.csv"),
        )
        .display()
        .to_string();
        let mut panel = TrainPanel {
            runs: Vec::new(),
            image_size_text: config.image_size.to_string(),
            image_size_shown: config.image_size,
            config,
            root: dataset_root,
            job: None,
            status: None,
            selected_run: None,
            ensemble_runs: BTreeSet::new(),
            tta: false,
            weighting: Weighting::Uniform,
            out_path,
            predict: None,
            predict_result: None,
            models_dir: models_dir(),
            weights_mirror: crate::weights::catalog::mirror_from_env(),
            weights_url: None,
            download: None,
            download_result: None,
        };
        panel.refresh_runs();
        panel
    }

    /// The recipe the form edits (also set from a saved config or by tests).
    pub fn config_mut(&mut self) -> &mut TrainConfig {
        &mut self.config
    }

    /// Where pretrained weights are looked for and downloaded to, and an address that
    /// replaces the published one (None: torchvision's, or the mirror's).
    pub fn set_weights_location(&mut self, models_dir: PathBuf, url: Option<String>) {
        self.models_dir = models_dir;
        self.weights_url = url;
    }

    pub fn is_downloading(&self) -> bool {
        self.download.is_some()
    }

    /// Bytes received by the running download.
    pub fn download_progress(&self) -> Option<crate::weights::download::Progress> {
        self.download.as_ref().map(|d| d.progress())
    }

    /// How the last pretrained-weights download ended.
    pub fn download_result(&self) -> Option<&str> {
        self.download_result.as_deref()
    }

    /// Downloads the chosen backbone's published ImageNet weights in the background.
    pub fn start_download(&mut self) {
        if self.download.is_some() {
            return;
        }
        match WeightsDownload::start(
            self.config.backbone,
            &self.models_dir,
            self.weights_mirror.as_deref(),
            self.weights_url.clone(),
        ) {
            Ok(d) => {
                self.download = Some(d);
                self.download_result = None;
            }
            Err(e) => self.download_result = Some(format!("download failed: {e}")),
        }
    }

    fn poll_download(&mut self) {
        let Some(outcome) = self.download.as_ref().and_then(|d| d.finished()) else {
            return;
        };
        self.download = None;
        self.download_result = Some(match outcome {
            Ok(installed) => format!(
                "installed {} ({} tensors); training starts from it",
                installed.path.display(),
                installed.tensors
            ),
            Err(crate::weights::WeightsError::Cancelled) => {
                "download cancelled; Download again resumes it".to_string()
            }
            Err(e) => format!("download failed: {e}"),
        });
    }

    /// The pretrained-weights line under the recipe: what training will start from, and
    /// the Download button (with progress and Cancel) when published weights are missing.
    fn weights_ui(&mut self, ui: &mut Ui) {
        ui.horizontal_wrapped(|ui| {
            ui.label("pretrained:");
            if let Some(d) = &self.download {
                let p = d.progress();
                let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
                let (fraction, text) = match p.total {
                    Some(t) if t > 0 => (
                        p.received as f32 / t as f32,
                        format!(
                            "{} {:.1} / {:.1} MiB",
                            d.backbone.name(),
                            mib(p.received),
                            mib(t)
                        ),
                    ),
                    _ => (0.0, format!("{} {:.1} MiB", d.backbone.name(), mib(p.received))),
                };
                ui.add(
                    egui::ProgressBar::new(fraction)
                        .text(text)
                        .desired_width(180.0),
                );
                if ui.button("Cancel download").clicked() {
                    d.cancel();
                }
                return;
            }
            match weights::state(&self.models_dir, self.config.backbone) {
                WeightsState::NonePublished => {
                    ui.weak("none (trained from scratch)");
                }
                WeightsState::Installed(path) => {
                    let name = path
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    ui.label(format!("✔ ImageNet ({name})"))
                        .on_hover_text(path.display().to_string());
                }
                WeightsState::Missing { mebibytes } => {
                    ui.weak("none: trains from scratch")
                        .on_hover_text(format!("looked for in {}", self.models_dir.display()));
                    if ui
                        .button(format!("Download ImageNet weights ({mebibytes:.0} MiB)"))
                        .on_hover_text(
                            "torchvision's published weights, checked and installed in the models folder",
                        )
                        .clicked()
                    {
                        self.start_download();
                    }
                }
            }
        });
        if let Some(r) = &self.download_result {
            ui.add(egui::Label::new(r.as_str()).wrap());
        }
    }

    /// The last status line ("run finished", "training failed: …").
    pub fn status(&self) -> Option<&str> {
        self.status.as_deref()
    }

    /// Past runs of this dataset, newest first, as the runs table shows them.
    pub fn runs(&self) -> &[(RunDir, RunInfo)] {
        &self.runs
    }

    pub fn is_training(&self) -> bool {
        self.job.is_some()
    }

    /// The training worker's process id while a run trains.
    pub fn worker_pid(&self) -> Option<u32> {
        self.job.as_ref().map(|j| j.worker.pid())
    }

    /// The run folder of the run training now.
    pub fn training_run(&self) -> Option<&RunDir> {
        self.job.as_ref().map(|j| &j.run_dir)
    }

    /// The lines the panel shows under the progress bars (newest last).
    pub fn log(&self) -> &[String] {
        self.job.as_ref().map_or(&[], |j| &j.log)
    }

    fn refresh_runs(&mut self) {
        self.runs =
            run::list_runs(&crate::workspace::Workspace::for_dataset(&self.root).runs_dir());
    }

    /// Starts training with the current form in the worker process: the recipe is handed
    /// over as a file, as `mask-curator train --config` takes it.
    pub fn start(&mut self) {
        if self.job.is_some() {
            return;
        }
        if let Err(e) = self.config.validate() {
            self.status = Some(format!("cannot start: {e}"));
            return;
        }
        let workspace = Workspace::for_dataset(&self.root);
        let run_dir = RunDir::fresh(&workspace.runs_dir(), self.config.backbone.name());
        let recipe = match write_recipe(&workspace, &self.config) {
            Ok(r) => r,
            Err(e) => {
                self.status = Some(format!("cannot start: cannot write the recipe: {e}"));
                return;
            }
        };
        let worker = match WorkerProcess::spawn(&train_args(
            &self.root,
            recipe.path(),
            &run_dir,
            &self.models_dir,
        )) {
            Ok(w) => w,
            Err(e) => {
                self.status = Some(format!("cannot start: {e}"));
                return;
            }
        };
        self.job = Some(TrainJob {
            worker,
            _recipe: recipe,
            run_dir,
            finished: None,
            last_batch: None,
            epochs: Vec::new(),
            log: Vec::new(),
            folds: self.config.folds,
            epochs_per_fold: self.config.epochs,
        });
        self.status = Some("starting…".into());
    }

    /// Asks the running training to stop (within a batch; a worker that does not obey is
    /// stopped with signals).
    pub fn cancel(&mut self) {
        if let Some(job) = &mut self.job {
            job.worker.cancel();
            self.status = Some("cancelling…".into());
        }
    }

    /// Follows the worker's events; when it has ended, reports a finished run.
    fn poll(&mut self) -> Option<TrainPanelEvent> {
        let job = self.job.as_mut()?;
        for event in job.worker.events().try_iter() {
            match event {
                WorkerEvent::Started {
                    run_dir,
                    device,
                    folds,
                    ..
                } => {
                    job.log.push(format!(
                        "run {} on {device}, folds {folds:?}",
                        run_dir.display()
                    ));
                    job.folds = folds.len();
                    // Progress bars take over from here.
                    self.status = None;
                }
                WorkerEvent::FoldStarted {
                    fold,
                    train_photos,
                    val_photos,
                    pretrained,
                } => job.log.push(format!(
                    "fold {fold}: {train_photos} train / {val_photos} val{}",
                    pretrained
                        .map(|p| format!(", pretrained {p}"))
                        .unwrap_or_default()
                )),
                WorkerEvent::Preparing { done, total } => {
                    self.status = Some(format!("checking photos: {done} of {total}"));
                }
                WorkerEvent::Log { text } => job.log.push(text),
                WorkerEvent::Batch(b) => job.last_batch = Some(b),
                WorkerEvent::Epoch(r) => job.epochs.push(r),
                WorkerEvent::FoldFinished(s) => job.log.push(match &s.error {
                    Some(e) => format!("fold {} failed: {e}", s.fold),
                    None => format!(
                        "fold {} {} ({} epochs)",
                        s.fold,
                        s.status.name(),
                        s.epochs_completed
                    ),
                }),
                WorkerEvent::Finished { status, error, .. } => {
                    self.status = Some(match &error {
                        Some(e) => format!("run {}: {e}", status.name()),
                        None => format!("run {}", status.name()),
                    });
                    job.finished = Some((status, error));
                }
                WorkerEvent::Error { message } => {
                    self.status = Some(format!("training failed: {message}"));
                    job.finished = Some((RunStatus::Failed, Some(message)));
                }
                WorkerEvent::Predicted { .. } => {}
            }
        }
        let exit = job.worker.try_wait()?;
        // Lines written just before the end may still be on their way: take them first.
        if !job.worker.outputs_drained() {
            return None;
        }
        let job = self.job.take()?;
        let event = match &job.finished {
            Some((RunStatus::Finished, _)) => {
                Some(TrainPanelEvent::RunFinished(job.run_dir.dir.clone()))
            }
            Some(_) => None,
            None => {
                // The worker died without reporting an end: an abort, a kill, a crash.
                let reason = job.worker.failure_reason(&exit);
                mark_run_failed(&job.run_dir, &reason);
                self.status = Some(format!("training failed: {reason}"));
                None
            }
        };
        self.refresh_runs();
        if job.run_dir.run_json().exists() {
            self.selected_run = Some(job.run_dir.dir.clone());
        }
        event
    }

    pub fn ui(&mut self, ui: &mut Ui) -> Option<TrainPanelEvent> {
        let event = self.poll();
        self.poll_download();
        if self.job.is_some() || self.predict.is_some() || self.download.is_some() {
            ui.ctx().request_repaint_after(Duration::from_millis(150));
        }
        egui::ScrollArea::vertical()
            .id_salt("train_panel_scroll")
            .show(ui, |ui| {
                ui.heading("Train");
                ui.add_enabled_ui(self.job.is_none(), |ui| self.config_form(ui));
                self.weights_ui(ui);
                if self.job.is_none() {
                    if ui.button("Start").clicked() {
                        self.start();
                    }
                } else if ui.button("Cancel").clicked() {
                    self.cancel();
                }
                // On its own line, wrapped: a failure's reason can be long.
                if let Some(s) = &self.status {
                    ui.add(egui::Label::new(s.as_str()).wrap());
                }
                self.progress_ui(ui);
                ui.separator();
                self.runs_ui(ui);
                ui.separator();
                self.ensemble_ui(ui);
            });
        event
    }

    fn config_form(&mut self, ui: &mut Ui) {
        let c = &mut self.config;
        egui::Grid::new("train_config")
            .num_columns(2)
            .striped(true)
            .show(ui, |ui| {
                let name = ui.label("backbone");
                egui::ComboBox::from_id_salt("backbone")
                    .selected_text(c.backbone.name())
                    .show_ui(ui, |ui| {
                        for b in Backbone::ALL {
                            ui.selectable_value(&mut c.backbone, b, b.name());
                        }
                    })
                    .response
                    .labelled_by(name.id);
                ui.end_row();
                ui.label("heads");
                ui.horizontal(|ui| {
                    ui.radio_value(&mut c.heads, Heads::ThreeHeads, "3 heads");
                    ui.radio_value(&mut c.heads, Heads::Class18, "18 classes");
                });
                ui.end_row();
                let name = ui.label("image size (WxH)");
                // The config changed elsewhere (a loaded recipe): show it.
                if self.image_size_shown != c.image_size {
                    self.image_size_text = c.image_size.to_string();
                    self.image_size_shown = c.image_size;
                }
                if ui
                    .text_edit_singleline(&mut self.image_size_text)
                    .labelled_by(name.id)
                    .changed()
                {
                    if let Ok(s) = self.image_size_text.parse() {
                        c.image_size = s;
                        self.image_size_shown = s;
                    }
                }
                ui.end_row();
                ui.label("folds / epochs");
                ui.horizontal(|ui| {
                    let name = ui.weak("folds");
                    ui.add(egui::DragValue::new(&mut c.folds).range(2..=10))
                        .labelled_by(name.id);
                    let name = ui.weak("epochs");
                    ui.add(egui::DragValue::new(&mut c.epochs).range(1..=200))
                        .labelled_by(name.id);
                });
                ui.end_row();
                let name = ui.label("batch size");
                ui.add(egui::DragValue::new(&mut c.batch_size).range(1..=512))
                    .labelled_by(name.id);
                ui.end_row();
                let name = ui.label("learning rate");
                ui.add(
                    egui::DragValue::new(&mut c.lr)
                        .speed(1e-5)
                        .range(1e-6..=1.0),
                )
                .labelled_by(name.id);
                ui.end_row();
                ui.label("optimizer");
                ui.horizontal(|ui| {
                    ui.radio_value(&mut c.optimizer, OptimizerKind::Adamw, "AdamW");
                    ui.radio_value(&mut c.optimizer, OptimizerKind::Adam, "Adam");
                    ui.radio_value(&mut c.optimizer, OptimizerKind::Sgd, "SGD");
                });
                ui.end_row();
                let name = ui.label("loss");
                egui::ComboBox::from_id_salt("loss")
                    .selected_text(loss_name(c.loss))
                    .show_ui(ui, |ui| {
                        for l in [
                            Loss::Ce,
                            Loss::WeightedCe,
                            Loss::Focal { gamma: 2.0 },
                            Loss::F1Mix { ce_weight: 0.3 },
                            Loss::LabelSmoothing { epsilon: 0.1 },
                        ] {
                            ui.selectable_value(&mut c.loss, l, loss_name(l));
                        }
                    })
                    .response
                    .labelled_by(name.id);
                ui.end_row();
                let name = ui.label("scheduler");
                egui::ComboBox::from_id_salt("scheduler")
                    .selected_text(scheduler_name(c.scheduler))
                    .show_ui(ui, |ui| {
                        for s in [
                            Scheduler::None,
                            Scheduler::CosineWarmRestarts { t0: c.epochs },
                            Scheduler::Step {
                                step: 3,
                                gamma: 0.5,
                            },
                            Scheduler::Plateau {
                                patience: 1,
                                factor: 0.5,
                            },
                        ] {
                            ui.selectable_value(&mut c.scheduler, s, scheduler_name(s));
                        }
                    })
                    .response
                    .labelled_by(name.id);
                ui.end_row();
                let name = ui.label("dropout");
                ui.add(egui::Slider::new(&mut c.dropout, 0.0..=0.8))
                    .labelled_by(name.id);
                ui.end_row();
                ui.label("age old from");
                ui.horizontal(|ui| {
                    for a in [58, 59, 60] {
                        ui.radio_value(&mut c.age_old_from, a, a.to_string());
                    }
                });
                ui.end_row();
                ui.label("augmentation");
                let mut on = !c.augment.is_off();
                if ui
                    .checkbox(&mut on, "mild (flip, rotate, colour)")
                    .changed()
                {
                    c.augment = if on { Augment::default() } else { Augment::OFF };
                }
                ui.end_row();
                ui.label("labels");
                ui.checkbox(&mut c.use_curated_labels, "curated (journal applied)");
                ui.end_row();
                ui.label("device");
                ui.horizontal(|ui| {
                    ui.radio_value(&mut c.device, DeviceChoice::Auto, "auto");
                    ui.radio_value(&mut c.device, DeviceChoice::Cpu, "CPU");
                    ui.radio_value(&mut c.device, DeviceChoice::Cuda, "CUDA");
                });
                ui.end_row();
                let name = ui.label("seed");
                ui.add(egui::DragValue::new(&mut c.seed))
                    .labelled_by(name.id);
                ui.end_row();
            });
    }

    fn progress_ui(&self, ui: &mut Ui) {
        let Some(job) = &self.job else { return };
        if let Some(b) = &job.last_batch {
            let done_epochs = job.epochs.len() as f32;
            let total_epochs = (job.folds as f32 * job.epochs_per_fold as f32).max(1.0);
            ui.add(
                egui::ProgressBar::new(done_epochs / total_epochs).text(format!(
                    "fold {} epoch {}/{}",
                    b.fold, b.epoch, job.epochs_per_fold
                )),
            );
            ui.add(
                egui::ProgressBar::new(b.batch as f32 / b.batches.max(1) as f32).text(format!(
                    "batch {}/{}  loss {:.4}  {:.0} img/s  ETA {:.0}s",
                    b.batch, b.batches, b.loss, b.images_per_sec, b.eta_secs
                )),
            );
        }
        curves(ui, "live", &job.epochs);
        for line in job.log.iter().rev().take(4) {
            ui.weak(line.as_str());
        }
    }

    fn runs_ui(&mut self, ui: &mut Ui) {
        ui.horizontal(|ui| {
            ui.heading("Runs");
            if ui.small_button("Refresh").clicked() {
                self.refresh_runs();
            }
        });
        if self.runs.is_empty() {
            ui.weak("no runs yet");
            return;
        }
        egui::Grid::new("runs_table")
            .num_columns(8)
            .striped(true)
            .show(ui, |ui| {
                for h in [
                    "", "run", "recipe", "status", "labels", "OOF F1", "acc", "age MAE",
                ] {
                    ui.label(RichText::new(h).strong());
                }
                ui.end_row();
                for (dir, info) in &self.runs {
                    let mut chosen = self.ensemble_runs.contains(&dir.dir);
                    let tick = ui.checkbox(&mut chosen, "");
                    // The tick box shows no text; a screen reader (and a test) names it.
                    let name = format!("use {} in the ensemble", info.id);
                    tick.widget_info(|| {
                        egui::WidgetInfo::selected(egui::Role::CheckBox, true, chosen, &name)
                    });
                    if tick.on_hover_text("use in the ensemble").changed() {
                        if chosen {
                            self.ensemble_runs.insert(dir.dir.clone());
                        } else {
                            self.ensemble_runs.remove(&dir.dir);
                        }
                    }
                    let selected = self.selected_run.as_ref() == Some(&dir.dir);
                    if ui.selectable_label(selected, info.id.as_str()).clicked() {
                        self.selected_run = Some(dir.dir.clone());
                    }
                    // The recipe's label (e.g. the quick demo run) or its backbone.
                    let recipe = info
                        .config
                        .label
                        .clone()
                        .unwrap_or_else(|| info.config.backbone.name().to_string());
                    ui.label(recipe).on_hover_text(info.config.describe());
                    ui.label(info.status.name());
                    ui.label(info.labels.as_str());
                    let s = info.summary.as_ref();
                    ui.label(s.map_or("-".into(), |s| format!("{:.4}", s.oof_macro_f1)));
                    ui.label(s.map_or("-".into(), |s| format!("{:.4}", s.oof_accuracy)));
                    let age = s.and_then(|s| s.age.as_ref());
                    ui.label(age.map_or("-".into(), |a| format!("{:.1} y", a.mae_years)));
                    ui.end_row();
                }
            });
        let Some(sel) = self.selected_run.clone() else {
            return;
        };
        let Some((dir, info)) = self.runs.iter().find(|(d, _)| d.dir == sel) else {
            return;
        };
        ui.label(format!(
            "{}: {} {}, {}x{}, {} folds x {} epochs, lr {}",
            info.id,
            info.config.backbone.name(),
            match info.config.heads {
                Heads::ThreeHeads => "3 heads",
                Heads::Class18 => "18 classes",
            },
            info.config.image_size.width,
            info.config.image_size.height,
            info.config.folds,
            info.config.epochs,
            info.config.lr
        ));
        // One plot id per run: a plot keeps its bounds in memory, and bounds fitted to
        // another run (or to none) would leave this one's lines off screen.
        curves(
            ui,
            &format!("run_{}", info.id),
            &dir.epoch_records(info.config.folds),
        );
        if let Some(s) = &info.summary {
            ui.label(format!(
                "out of fold: mask F1 {:.3}  gender F1 {:.3}  age F1 {:.3}",
                s.oof_f1_mask, s.oof_f1_gender, s.oof_f1_age
            ));
            ui.collapsing("per-class F1", |ui| {
                egui::Grid::new("per_class").num_columns(3).show(ui, |ui| {
                    for (c, f1) in s.per_class_f1.iter().enumerate() {
                        ui.label(c.to_string());
                        ui.label(
                            ClassCode::from_index(c)
                                .map(|c| c.describe())
                                .unwrap_or_default(),
                        );
                        ui.add(
                            egui::ProgressBar::new(*f1 as f32)
                                .text(format!("{f1:.3}"))
                                .desired_width(120.0),
                        );
                        ui.end_row();
                    }
                });
            });
            ui.collapsing("confusion matrix (out of fold)", |ui| {
                confusion_heatmap(ui, &s.confusion)
            });
        }
    }

    fn ensemble_ui(&mut self, ui: &mut Ui) {
        ui.heading("Ensemble");
        self.poll_predict();
        ui.label(format!(
            "{} run(s) ticked in the table",
            self.ensemble_runs.len()
        ));
        ui.checkbox(&mut self.tta, "horizontal-flip TTA");
        ui.horizontal(|ui| {
            ui.radio_value(&mut self.weighting, Weighting::Uniform, "uniform");
            ui.radio_value(
                &mut self.weighting,
                Weighting::F1,
                "weighted by validation F1",
            );
        });
        ui.horizontal(|ui| {
            let name = ui.label("output");
            // As wide as the panel: the file name is at the end of a long path.
            ui.add(egui::TextEdit::singleline(&mut self.out_path).desired_width(f32::INFINITY))
                .labelled_by(name.id);
        });
        let can_run = self.predict.is_none() && !self.ensemble_runs.is_empty();
        if ui
            .add_enabled(can_run, egui::Button::new("Predict"))
            .clicked()
        {
            self.start_predict();
        }
        if let Some(r) = &self.predict_result {
            ui.label(r.as_str());
        }
    }

    /// Starts ensemble inference over the ticked runs in the worker.
    pub fn start_predict(&mut self) {
        if self.predict.is_some() || self.ensemble_runs.is_empty() {
            return;
        }
        let request = PredictRequest {
            dataset: self.root.clone(),
            runs: self.ensemble_runs.iter().cloned().collect(),
            tta: self.tta,
            weighting: self.weighting,
            device: self.config.device,
            out: PathBuf::from(&self.out_path),
        };
        if let Err(e) = crate::ml::ensemble::check_submission_path(&self.root, &request.out) {
            self.predict_result = Some(format!("failed: {e}"));
            return;
        }
        match WorkerProcess::spawn(&request.args()) {
            Ok(worker) => {
                self.predict = Some(PredictJob {
                    worker,
                    outcome: None,
                });
                self.predict_result = Some("predicting…".into());
            }
            Err(e) => self.predict_result = Some(format!("failed: {e}")),
        }
    }

    /// The inference result once the worker has ended.
    fn poll_predict(&mut self) {
        let Some(job) = &mut self.predict else { return };
        for event in job.worker.events().try_iter() {
            match event {
                WorkerEvent::Predicted { summary, .. } => job.outcome = Some(Ok(summary)),
                WorkerEvent::Error { message } => job.outcome = Some(Err(message)),
                _ => {}
            }
        }
        let Some(exit) = job.worker.try_wait() else {
            return;
        };
        if !job.worker.outputs_drained() {
            return;
        }
        let Some(job) = self.predict.take() else {
            return;
        };
        self.predict_result = Some(match job.outcome {
            Some(Ok(summary)) => {
                // The next prediction goes beside this one, not over it.
                let next = crate::ml::ensemble::next_free_submission(Path::new(&self.out_path));
                self.out_path = next.display().to_string();
                format!("{summary}\nthe next prediction goes to {}", self.out_path)
            }
            Some(Err(e)) => format!("failed: {e}"),
            None => format!("failed: {}", job.worker.failure_reason(&exit)),
        });
        self.refresh_runs();
    }

    /// The last inference's result line ("predicting…", what was written, or why not).
    pub fn predict_result(&self) -> Option<&str> {
        self.predict_result.as_deref()
    }

    /// The output field: where the next prediction writes its submission.
    pub fn output_path(&self) -> &str {
        &self.out_path
    }

    pub fn is_predicting(&self) -> bool {
        self.predict.is_some()
    }
}

fn loss_name(l: Loss) -> String {
    match l {
        Loss::Ce => "cross entropy".into(),
        Loss::WeightedCe => "weighted CE".into(),
        Loss::Focal { gamma } => format!("focal (gamma {gamma})"),
        Loss::F1Mix { ce_weight } => format!("{ce_weight} CE + {} F1", 1.0 - ce_weight),
        Loss::LabelSmoothing { epsilon } => format!("label smoothing {epsilon}"),
    }
}

fn scheduler_name(s: Scheduler) -> String {
    match s {
        Scheduler::None => "constant".into(),
        Scheduler::CosineWarmRestarts { t0 } => format!("cosine restarts (t0 {t0})"),
        Scheduler::Step { step, gamma } => format!("step {step} x{gamma}"),
        Scheduler::Plateau { patience, factor } => format!("plateau ({patience}, x{factor})"),
    }
}

/// Loss and macro F1 per epoch, one line per fold, on two plots (their scales differ:
/// losses start near 2-3, F1 lives in 0..1).
fn curves(ui: &mut Ui, id: &str, records: &[EpochRecord]) {
    if records.is_empty() {
        return;
    }
    type Series = (&'static str, fn(&EpochRecord) -> f64);
    let plots: [(&str, &[Series]); 2] = [
        (
            "loss",
            &[
                ("train loss", |r| r.train_loss),
                ("val loss", |r| r.val_loss),
            ],
        ),
        ("macro F1 (18 classes)", &[("val macro F1", |r| r.macro_f1)]),
    ];
    let folds: BTreeSet<usize> = records.iter().map(|r| r.fold).collect();
    for (title, series) in plots {
        ui.weak(title);
        let mut plot = egui_plot::Plot::new(format!("{id}_{title}"))
            .height(110.0)
            .legend(egui_plot::Legend::default());
        if title.starts_with("macro F1") {
            plot = plot.include_y(0.0).include_y(1.0);
        }
        plot.show(ui, |plot| {
            for (name, value) in series {
                for &f in &folds {
                    let points: Vec<[f64; 2]> = records
                        .iter()
                        .filter(|r| r.fold == f)
                        .map(|r| [f64::from(r.epoch), value(r)])
                        .collect();
                    // One legend entry per series, a line per fold (ten "f0".."f4"
                    // entries covered the curves).
                    let colour = series_colour(name);
                    plot.line(egui_plot::Line::new(*name, points.clone()).color(colour));
                    // A line alone draws nothing for a one-epoch run: each epoch gets a dot.
                    plot.points(
                        egui_plot::Points::new(*name, points)
                            .radius(2.5)
                            .color(colour),
                    );
                }
            }
        });
    }
}

/// A series' colour: blue for training, orange for validation, the same for every fold so
/// that the legend shows it.
fn series_colour(name: &str) -> egui::Color32 {
    if name.starts_with("train") {
        egui::Color32::from_rgb(110, 170, 240)
    } else {
        egui::Color32::from_rgb(240, 160, 80)
    }
}

/// The confusion matrix as a heat map, row-normalised so that rare classes show too.
fn confusion_heatmap(ui: &mut Ui, confusion: &[Vec<u64>]) {
    let cell = 14.0;
    // Room for the axis titles and the class numbers left of and above the cells.
    let margin = egui::vec2(34.0, 30.0);
    let n = confusion.len().min(NUM_CLASSES);
    let (outer, response) = ui.allocate_exact_size(
        margin + egui::vec2(cell * n as f32, cell * n as f32),
        egui::Sense::hover(),
    );
    let rect = egui::Rect::from_min_size(
        outer.min + margin,
        egui::vec2(cell * n as f32, cell * n as f32),
    );
    let axis = ui.painter_at(outer);
    let text_color = ui.visuals().text_color();
    let small = egui::FontId::proportional(9.0);
    axis.text(
        egui::pos2(rect.center().x, outer.min.y),
        egui::Align2::CENTER_TOP,
        "predicted class (columns)",
        egui::FontId::proportional(11.0),
        text_color,
    );
    axis.text(
        egui::pos2(outer.min.x, rect.min.y - 2.0),
        egui::Align2::LEFT_BOTTOM,
        "label (rows)",
        egui::FontId::proportional(11.0),
        text_color,
    );
    for i in 0..n {
        let offset = i as f32 * cell + cell / 2.0;
        axis.text(
            egui::pos2(rect.min.x + offset, rect.min.y - 2.0),
            egui::Align2::CENTER_BOTTOM,
            i.to_string(),
            small.clone(),
            text_color,
        );
        axis.text(
            egui::pos2(rect.min.x - 3.0, rect.min.y + offset),
            egui::Align2::RIGHT_CENTER,
            i.to_string(),
            small.clone(),
            text_color,
        );
    }
    let painter = ui.painter_at(rect);
    for (t, row) in confusion.iter().enumerate().take(n) {
        let total: u64 = row.iter().sum::<u64>().max(1);
        for (p, &v) in row.iter().enumerate().take(n) {
            let strength = v as f32 / total as f32;
            let base = if t == p {
                Color32::from_rgb(40, 160, 90)
            } else {
                Color32::from_rgb(210, 70, 50)
            };
            let color = Color32::from_gray(30).lerp_to_gamma(base, strength.sqrt());
            let min = rect.min + egui::vec2(p as f32 * cell, t as f32 * cell);
            painter.rect_filled(
                egui::Rect::from_min_size(min, egui::vec2(cell - 1.0, cell - 1.0)),
                0.0,
                color,
            );
        }
    }
    if let Some(pos) = response.hover_pos().filter(|p| rect.contains(*p)) {
        let p = ((pos.x - rect.min.x) / cell) as usize;
        let t = ((pos.y - rect.min.y) / cell) as usize;
        if let Some(v) = confusion.get(t).and_then(|r| r.get(p)) {
            response.on_hover_text(format!("label {t} predicted {p}: {v} photo(s)"));
        }
    }
}
