use crate::ml::config::{
    AgeLoss, Backbone, DeviceChoice, Heads, ImageSize, OptimizerKind, TrainConfig,
};
use crate::ml::run::{RunDir, RunStatus};
use crate::ml::train::{self, LabelSource, TrainEvent, TrainRequest};
use anyhow::{bail, Context};
use clap::Args as ClapArgs;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// Train k-fold models by person; prints the run folder as its last line.
#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Dataset folder (holding train/ and eval/).
    pub dir: PathBuf,
    /// A config.json to start from (flags below override it).
    #[arg(long)]
    pub config: Option<PathBuf>,
    #[arg(long, value_enum)]
    pub backbone: Option<Backbone>,
    #[arg(long, value_enum)]
    pub heads: Option<Heads>,
    #[arg(long)]
    pub folds: Option<usize>,
    #[arg(long)]
    pub epochs: Option<u32>,
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Network input, WIDTHxHEIGHT (e.g. 72x96).
    #[arg(long)]
    pub image_size: Option<ImageSize>,
    #[arg(long)]
    pub lr: Option<f64>,
    #[arg(long, value_enum)]
    pub optimizer: Option<OptimizerKind>,
    #[arg(long)]
    pub dropout: Option<f64>,
    /// The age-in-years head's likelihood (none: no age head).
    #[arg(long, value_enum)]
    pub age_loss: Option<AgeLoss>,
    /// Ages from this one up count as old for training (58, 59 or 60).
    #[arg(long)]
    pub age_old_from: Option<u32>,
    #[arg(long)]
    pub seed: Option<u64>,
    #[arg(long, value_enum)]
    pub device: Option<DeviceChoice>,
    /// Loader threads (0 = one per core).
    #[arg(long)]
    pub workers: Option<usize>,
    /// Switch the training augmentation off.
    #[arg(long)]
    pub no_augment: bool,
    /// Train on the labels as given on disk, ignoring the curation journal.
    #[arg(long)]
    pub given_labels: bool,
    /// Train only fold I (into --run-dir, which may be shared by other machines).
    #[arg(long)]
    pub fold: Option<usize>,
    /// The run folder (default: a new one under <DIR>/.mask-curator/runs/).
    #[arg(long)]
    pub run_dir: Option<PathBuf>,
    /// Build the out-of-fold files of RUN_DIR from its fold outputs (no training).
    #[arg(long, value_name = "RUN_DIR")]
    pub assemble: Option<PathBuf>,
    /// Where pretrained `<backbone>.safetensors` / `.ot` files are looked for.
    #[arg(long, default_value = "models")]
    pub models: PathBuf,
    /// Write the resulting config.json here and stop (to edit and pass with --config).
    #[arg(long)]
    pub print_config: bool,
}

impl Args {
    /// The config from the file (or defaults) with the flags applied.
    pub fn to_config(&self) -> anyhow::Result<TrainConfig> {
        let mut c = match &self.config {
            Some(p) => TrainConfig::load(p).map_err(anyhow::Error::msg)?,
            None => TrainConfig::default(),
        };
        macro_rules! set {
            ($($field:ident),*) => { $( if let Some(v) = self.$field.clone() { c.$field = v; } )* };
        }
        set!(
            backbone,
            heads,
            folds,
            epochs,
            batch_size,
            image_size,
            lr,
            optimizer,
            dropout,
            age_loss,
            age_old_from,
            seed,
            device,
            workers
        );
        if self.no_augment {
            c.augment = crate::ml::config::Augment::OFF;
        }
        if self.given_labels {
            c.use_curated_labels = false;
        }
        c.validate().map_err(anyhow::Error::msg)?;
        Ok(c)
    }
}

pub fn run(args: Args) -> anyhow::Result<()> {
    if let Some(dir) = &args.assemble {
        let run = RunDir::new(dir);
        let info =
            train::assemble(&run).with_context(|| format!("assembling {}", dir.display()))?;
        if let Some(s) = &info.summary {
            eprintln!(
                "out-of-fold macro F1 {:.4}  accuracy {:.4}",
                s.oof_macro_f1, s.oof_accuracy
            );
            if let Some(age) = &s.age {
                eprintln!("{}", age_line(age));
            }
        }
        println!("{}", run.dir.display());
        return Ok(());
    }
    let mut config = args.to_config()?;
    if args.print_config {
        println!("{}", serde_json::to_string_pretty(&config)?);
        return Ok(());
    }
    let run_dir = match &args.run_dir {
        Some(d) => RunDir::new(d),
        None if args.fold.is_some() => bail!("--fold needs --run-dir (the folder the folds share)"),
        None => RunDir::fresh(
            &crate::workspace::Workspace::for_dataset(&args.dir).runs_dir(),
            config.backbone.name(),
        ),
    };
    if args.fold.is_some() && run_dir.config().exists() {
        // Folds of one run must share one recipe: the run folder's wins.
        let device = config.device;
        config = run_dir.read_config()?;
        config.device = device;
        eprintln!("using the recipe of {}", run_dir.config().display());
    }
    let dataset = crate::ml::labels::load_dataset(&args.dir)
        .with_context(|| format!("scanning {}", args.dir.display()))?;
    let labels = crate::ml::labels::training_labels(&dataset, config.use_curated_labels)?;
    let (tx, rx) = crossbeam_channel::unbounded();
    let request = TrainRequest {
        dataset: Arc::new(dataset),
        labels: labels.classes,
        person_ages: labels.person_ages,
        label_source: labels.source,
        config,
        run_dir: run_dir.clone(),
        only_fold: args.fold,
        models_dir: args.models.clone(),
        cancel: Arc::new(AtomicBool::new(false)),
        events: Some(tx),
    };
    let worker = std::thread::spawn(move || train::train(request));
    render_progress(rx);
    let outcome = worker
        .join()
        .map_err(|_| anyhow::anyhow!("the training thread crashed"))?;
    let outcome = outcome.with_context(|| format!("training into {}", run_dir.dir.display()))?;
    if let Some(s) = &outcome.info.summary {
        eprintln!(
            "out-of-fold ({} labels): macro F1 {:.4}  accuracy {:.4}  mask {:.4}  gender {:.4}  age {:.4}",
            label_source_name(&outcome.info.labels),
            s.oof_macro_f1,
            s.oof_accuracy,
            s.oof_f1_mask,
            s.oof_f1_gender,
            s.oof_f1_age
        );
        match &s.age {
            Some(age) => eprintln!("{}", age_line(age)),
            None => eprintln!("out-of-fold age in years: none (the recipe has no age head)"),
        }
    }
    if outcome.info.status != RunStatus::Finished && args.fold.is_none() {
        eprintln!("run status: {}", outcome.info.status.name());
    }
    println!("{}", outcome.run_dir.dir.display());
    Ok(())
}

/// The age head's out-of-fold figures in one line.
pub fn age_line(age: &crate::ml::run::AgeSummary) -> String {
    format!(
        "out-of-fold age: MAE {:.2} years (median age guessed: {:.2})  median spread {:.1} years  \
         within one spread {:.0}%",
        age.mae_years,
        age.baseline_mae_years,
        age.median_spread_years,
        age.within_one_spread * 100.0
    )
}

fn label_source_name(s: &str) -> &str {
    if s == LabelSource::Curated.name() {
        "curated"
    } else {
        "given"
    }
}

/// Draws the training events as progress bars on stderr until the channel closes.
pub(crate) fn render_progress(rx: crossbeam_channel::Receiver<TrainEvent>) {
    let multi = MultiProgress::new();
    // Without a terminal the bars are hidden; the log lines still go to stderr.
    let say = |line: String| {
        if multi.is_hidden() {
            eprintln!("{line}");
        } else {
            let _ = multi.println(line);
        }
    };
    let style = ProgressStyle::with_template("{prefix:>12} [{bar:30}] {pos}/{len} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    let mut overall: Option<ProgressBar> = None;
    let mut epoch_bar: Option<ProgressBar> = None;
    let mut photos_bar: Option<ProgressBar> = None;
    for event in rx {
        match event {
            TrainEvent::Preparing { done, total } => {
                let bar = photos_bar.get_or_insert_with(|| {
                    let bar = multi.add(ProgressBar::new(total as u64));
                    bar.set_style(style.clone());
                    bar.set_prefix("photos");
                    bar.set_message("decoding every photo once");
                    bar
                });
                bar.set_position(done as u64);
                if done == total {
                    bar.finish_and_clear();
                }
            }
            TrainEvent::Log(line) => say(line),
            TrainEvent::Started {
                run_dir,
                folds,
                epochs,
                device,
                ..
            } => {
                say(format!(
                    "run {} on {device}, folds {folds:?}, {epochs} epochs",
                    run_dir.display()
                ));
                let bar = multi.add(ProgressBar::new((folds.len() as u64) * u64::from(epochs)));
                bar.set_style(style.clone());
                bar.set_prefix("epochs");
                overall = Some(bar);
            }
            TrainEvent::FoldStarted {
                fold,
                train_photos,
                val_photos,
                pretrained,
            } => {
                let from = pretrained
                    .map(|p| format!(", pretrained from {p}"))
                    .unwrap_or_default();
                say(format!(
                    "fold {fold}: {train_photos} training / {val_photos} validation photos{from}"
                ));
            }
            TrainEvent::Batch(b) => {
                let bar = epoch_bar.get_or_insert_with(|| {
                    let bar = multi.add(ProgressBar::new(b.batches as u64));
                    bar.set_style(style.clone());
                    bar
                });
                if b.batch == 1 {
                    bar.reset();
                    bar.set_length(b.batches as u64);
                }
                bar.set_prefix(format!("f{} e{}", b.fold, b.epoch));
                bar.set_position(b.batch as u64);
                bar.set_message(format!(
                    "loss {:.4}  {:.0} img/s  ETA {}",
                    b.loss,
                    b.images_per_sec,
                    format_secs(b.eta_secs)
                ));
            }
            TrainEvent::Epoch(r) => {
                if let Some(bar) = &overall {
                    bar.inc(1);
                }
                let age = r
                    .age_mae
                    .map(|m| format!("  age MAE {m:.2} y"))
                    .unwrap_or_default();
                say(format!(
                    "fold {} epoch {}: train loss {:.4}  val loss {:.4}  macro F1 {:.4} (mask {:.3} gender {:.3} age {:.3})  acc {:.4}{age}  {:.0} img/s",
                    r.fold, r.epoch, r.train_loss, r.val_loss, r.macro_f1, r.f1_mask, r.f1_gender, r.f1_age, r.accuracy, r.images_per_sec
                ));
            }
            TrainEvent::FoldFinished(s) => {
                if let Some(e) = &s.error {
                    say(format!("fold {} failed: {e}", s.fold));
                } else {
                    say(format!(
                        "fold {} {} after {} epoch(s)",
                        s.fold,
                        s.status.name(),
                        s.epochs_completed
                    ));
                }
            }
            TrainEvent::Finished { .. } => {}
        }
    }
    for bar in [photos_bar, epoch_bar, overall].into_iter().flatten() {
        bar.finish_and_clear();
    }
}

fn format_secs(s: f64) -> String {
    let s = s.max(0.0).round() as u64;
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    } else {
        format!("{}m{:02}s", s / 60, s % 60)
    }
}
