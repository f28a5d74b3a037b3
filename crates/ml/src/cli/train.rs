use super::Report;
use crate::train::{self, LabelSource, TrainRequest};
use anyhow::{bail, Context};
use clap::Args as ClapArgs;
use mask_curator::cli::progress::{age_line, render_training};
use mask_curator::ml::config::{
    AgeLoss, Backbone, DeviceChoice, Heads, ImageSize, OptimizerKind, TrainConfig,
};
use mask_curator::ml::run::{RunDir, RunStatus};
use std::path::PathBuf;
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
            c.augment = mask_curator::ml::config::Augment::OFF;
        }
        if self.given_labels {
            c.use_curated_labels = false;
        }
        c.validate().map_err(anyhow::Error::msg)?;
        Ok(c)
    }
}

pub fn run(args: Args, report: Report) -> anyhow::Result<()> {
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
            &mask_curator::workspace::Workspace::for_dataset(&args.dir).runs_dir(),
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
    let dataset = mask_curator::ml::labels::load_dataset(&args.dir)
        .with_context(|| format!("scanning {}", args.dir.display()))?;
    let labels = mask_curator::ml::labels::training_labels(&dataset, config.use_curated_labels)?;
    let (tx, rx) = crossbeam_channel::unbounded();
    let request = TrainRequest {
        dataset: Arc::new(dataset),
        labels: labels.classes,
        person_ages: labels.person_ages,
        identities: labels.identities,
        label_source: labels.source,
        config,
        run_dir: run_dir.clone(),
        only_fold: args.fold,
        models_dir: args.models.clone(),
        cancel: report.cancel_flag(),
        events: Some(tx),
    };
    let worker = std::thread::spawn(move || train::train(request));
    match report {
        Report::Terminal => render_training(&rx),
        Report::Lines => rx.iter().for_each(|e| super::emit(&e)),
    }
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
    if report == Report::Terminal {
        println!("{}", outcome.run_dir.dir.display());
    }
    Ok(())
}

fn label_source_name(s: &str) -> &str {
    if s == LabelSource::Curated.name() {
        "curated"
    } else {
        "given"
    }
}
