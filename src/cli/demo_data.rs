//! `mask-curator demo-data --out DIR`: writes the synthetic demo dataset.

use crate::demo::{generate, DemoConfig};
use clap::Args as ClapArgs;
use std::path::PathBuf;

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Folder to create (must not exist or be empty).
    #[arg(long)]
    pub out: PathBuf,
    /// Training people (seven photos each).
    #[arg(long, default_value_t = 300)]
    pub people: usize,
    #[arg(long, default_value_t = 777)]
    pub seed: u64,
    /// Fraction of people given a label error (0 for clean labels).
    #[arg(long, default_value_t = 0.06)]
    pub noise: f64,
    /// Eval people per training person.
    #[arg(long, default_value_t = 0.4)]
    pub eval_ratio: f64,
    /// Worker threads (0 = one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
    /// Leave every photo as drawn: no dark, overexposed, grayscale or duplicated photos
    /// for the photo checks (from 30 people on they are planted, see photo_defects.csv).
    #[arg(long)]
    pub clean_photos: bool,
    /// Instead of a synthetic dataset, write a placeholder tree of this train.csv's layout:
    /// its folders with tiny placeholder photos (real file names from a train_images.csv
    /// beside it, when present) and the same train.csv. For `simulate`.
    #[arg(long, conflicts_with_all = ["people", "noise", "eval_ratio", "json"])]
    pub layout_from: Option<PathBuf>,
    /// The real dataset's size: 2,700 training people and 1,800 eval people (31,500
    /// photos).
    #[arg(long, conflicts_with_all = ["people", "eval_ratio", "layout_from"])]
    pub full: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    if let Some(csv) = &args.layout_from {
        let started = std::time::Instant::now();
        let s = crate::demo::placeholder::write_placeholder_tree(csv, &args.out)?;
        println!(
            "wrote {}: placeholder tree of {} ({} people, {} photos) in {:.2} s",
            s.root.display(),
            csv.display(),
            s.people,
            s.photos,
            started.elapsed().as_secs_f64()
        );
        return Ok(());
    }
    anyhow::ensure!(args.people >= 1, "--people must be at least 1");
    anyhow::ensure!(
        (0.0..=0.5).contains(&args.noise),
        "--noise must be between 0 and 0.5"
    );
    anyhow::ensure!(
        (0.0..=10.0).contains(&args.eval_ratio),
        "--eval-ratio must be between 0 and 10"
    );
    let size = if args.full {
        DemoConfig::full_size()
    } else {
        DemoConfig {
            people: args.people,
            eval_ratio: args.eval_ratio,
            ..Default::default()
        }
    };
    let cfg = DemoConfig {
        people: size.people,
        seed: args.seed,
        noise_rate: args.noise,
        eval_ratio: size.eval_ratio,
        threads: args.threads,
        photo_defects: !args.clean_photos,
        ..Default::default()
    };
    let bar = std::sync::OnceLock::new();
    let progress = |done: usize, total: usize| {
        bar.get_or_init(|| super::progress::CountBar::new("photos", "writing photos", total))
            .set(done);
    };
    let summary = generate(&args.out, &cfg, Some(&progress), None)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        println!(
            "wrote {}: {} people, {} train photos, {} eval photos, {} injected label errors (noise.csv)",
            summary.root.display(),
            summary.people,
            summary.train_images,
            summary.eval_images,
            summary.noise_entries
        );
        println!(
            "{:.1} MB in {:.2} s on {} threads: {:.0} images/s",
            summary.bytes_written as f64 / 1e6,
            summary.elapsed_secs,
            summary.threads,
            summary.images_per_sec
        );
    }
    Ok(())
}
