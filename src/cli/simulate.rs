//! `mask-curator simulate`: a simulated model run on a dataset (out-of-fold probabilities,
//! predicted years, split) with injected label noise and its manifest, for measuring issue
//! detection without training.

use crate::cli::find_issues::load_dataset;
use crate::simulate::{simulate, write_run, NoiseRates, SimConfig, Strength};
use anyhow::Context;
use clap::Args as ClapArgs;
use std::path::PathBuf;

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Dataset folder (with train/); its given labels are read, never changed.
    #[arg(long)]
    pub data: PathBuf,
    /// Run folder to write (default: <DATA>/.mask-curator/runs/sim-<strength>-seed<seed>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Model strength: realistic (per-photo accuracy mask 0.997, gender 0.934, age bin
    /// 0.855), strong (0.999, 0.97, 0.92) or weak (0.99, 0.90, 0.80).
    #[arg(long, default_value = "realistic")]
    pub strength: String,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Folds of the simulated split (by person, stratified by gender x age bin).
    #[arg(long, default_value_t = 5)]
    pub folds: usize,
    /// Share of each field's error variance common to a person's photos (0..1).
    #[arg(long)]
    pub person_share: Option<f64>,
    /// How much sharper than calibrated the probabilities are (1 = calibrated).
    #[arg(long)]
    pub overconfidence: Option<f64>,
    /// Fraction of people with a flipped gender.
    #[arg(long, default_value_t = 0.02)]
    pub gender_flips: f64,
    /// Length of one run of consecutive people with flipped gender (0: none).
    #[arg(long, default_value_t = 6)]
    pub flip_run: usize,
    /// Fraction of people with a gross age error (another bin, >= 15 years off).
    #[arg(long, default_value_t = 0.01)]
    pub age_gross: f64,
    /// Fraction of people with an age error across the 30 or 60 boundary (1-2 years).
    #[arg(long, default_value_t = 0.01)]
    pub age_boundary: f64,
    /// Fraction of people with incorrect_mask and normal swapped.
    #[arg(long, default_value_t = 0.005)]
    pub swaps: f64,
    /// Leave out oof_age.npy (a run from a model without an age head).
    #[arg(long)]
    pub no_age: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let mut strength = Strength::preset(&args.strength).with_context(|| {
        format!(
            "unknown --strength {:?}; one of {}",
            args.strength,
            Strength::PRESETS.join(", ")
        )
    })?;
    if let Some(s) = args.person_share {
        anyhow::ensure!((0.0..=1.0).contains(&s), "--person-share must be in 0..1");
        strength.person_share = s;
    }
    if let Some(c) = args.overconfidence {
        anyhow::ensure!(
            c > 0.0 && c.is_finite(),
            "--overconfidence must be positive"
        );
        strength.overconfidence = c;
    }
    for (name, v) in [
        ("--gender-flips", args.gender_flips),
        ("--age-gross", args.age_gross),
        ("--age-boundary", args.age_boundary),
        ("--swaps", args.swaps),
    ] {
        anyhow::ensure!((0.0..=0.2).contains(&v), "{name} must be between 0 and 0.2");
    }
    anyhow::ensure!(args.folds >= 2, "--folds must be at least 2");
    let cfg = SimConfig {
        strength,
        noise: NoiseRates {
            gender_flip: args.gender_flips,
            flip_run: args.flip_run,
            age_gross: args.age_gross,
            age_boundary: args.age_boundary,
            mask_swap: args.swaps,
        },
        seed: args.seed,
        folds: args.folds,
    };
    let started = std::time::Instant::now();
    let dataset = load_dataset(&args.data)?;
    let out = args.out.clone().unwrap_or_else(|| {
        crate::workspace::Workspace::for_dataset(&args.data)
            .runs_dir()
            .join(format!("sim-{}-seed{}", cfg.strength.name, cfg.seed))
    });
    check_out_dir(&args.data, &out)?;
    let sim = simulate(&dataset, &cfg)?;
    write_run(&sim, &cfg, &out, !args.no_age)?;
    let m = &sim.measured;
    println!(
        "wrote {}: {} photos of {} people, {} injected label errors on {} people (noise.csv)",
        out.display(),
        m.photos,
        m.people,
        sim.manifest.len(),
        m.wrong_people
    );
    println!(
        "simulated {} model: per-photo accuracy mask {:.3}, gender {:.3}, age bin {:.3}; age MAE {:.1} years{} ({:.2} s)",
        cfg.strength.name,
        m.mask_accuracy,
        m.gender_accuracy,
        m.age_bin_accuracy,
        m.age_mae_years,
        if args.no_age { ", no oof_age.npy" } else { "" },
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// A simulated run goes into a new or empty folder, or over an earlier simulated run; never
/// into the dataset (outside its workspace) nor over a trained run or other files.
fn check_out_dir(data: &std::path::Path, out: &std::path::Path) -> anyhow::Result<()> {
    crate::curation::export::check_export_dir(data, out, &[])?;
    let holds_files = std::fs::read_dir(out).is_ok_and(|mut entries| entries.next().is_some());
    if holds_files && !crate::ml::run::RunDir::new(out).is_simulated() {
        anyhow::bail!(
            "refusing to write the simulated run into {}: it holds files that are not an earlier simulated run (name a new folder)",
            out.display()
        );
    }
    Ok(())
}
