use super::Report;
use crate::infer::{self, Weighting};
use anyhow::{bail, Context};
use clap::Args as ClapArgs;
use mask_curator::ml::config::DeviceChoice;
use mask_curator::ml::ensemble;
use mask_curator::ml::protocol::WorkerEvent;
use std::path::PathBuf;

/// Ensemble inference on eval/info.csv; writes `ImageID,ans` in info.csv row order.
#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Dataset folder (holding eval/info.csv and eval/images/).
    pub dir: PathBuf,
    /// Runs whose fold models vote (soft voting over all of them): run folders, or ids of
    /// the dataset's runs (folder names under <DIR>/.mask-curator/runs/).
    #[arg(long, num_args = 1.., required = true)]
    pub runs: Vec<PathBuf>,
    /// Average each model's probabilities with those of the mirrored photo.
    #[arg(long)]
    pub tta: bool,
    #[arg(long, value_enum, default_value_t = Weighting::Uniform)]
    pub weights: Weighting,
    #[arg(long, value_enum, default_value_t = DeviceChoice::Auto)]
    pub device: DeviceChoice,
    /// The submission CSV to write (default: the first free `submission[-N].csv` in
    /// <DIR>/.mask-curator/exports/, as the app's Predict writes: never over an earlier one).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub fn run(args: Args, report: Report) -> anyhow::Result<()> {
    let out = match &args.out {
        Some(out) => out.clone(),
        None => ensemble::next_free_submission(
            &mask_curator::workspace::Workspace::for_dataset(&args.dir)
                .exports_dir()
                .join("submission.csv"),
        ),
    };
    // Before an inference that may take long, not after it.
    ensemble::check_submission_path(&args.dir, &out)?;
    let runs = args
        .runs
        .iter()
        .map(|r| mask_curator::ml::run::resolve_run_dir(&args.dir, r))
        .collect::<Result<Vec<_>, _>>()
        .map_err(anyhow::Error::msg)?;
    let device = crate::device::choose(args.device)?;
    let dataset = mask_curator::ml::labels::load_dataset(&args.dir)
        .with_context(|| format!("scanning {}", args.dir.display()))?;
    let Some(eval) = dataset.eval.as_ref() else {
        bail!("{}: no eval/info.csv to predict", args.dir.display());
    };
    let result = infer::ensemble(&dataset, &runs, args.tta, args.weights, device, &|line| {
        eprintln!("{line}")
    })?;
    let csv = ensemble::submission_csv(&eval.image_ids, &result.classes)?;
    mask_curator::workspace::write_atomic(&out, csv.as_bytes())
        .with_context(|| format!("writing {}", out.display()))?;
    eprintln!(
        "{} fold model(s), {} rows",
        result.members.len(),
        result.classes.len()
    );
    // Predicted age in years beside the submission: ImageID,age,spread.
    let age_path = ensemble::age_path(&out);
    match &result.age {
        Some(age) => {
            let csv = ensemble::age_csv(&eval.image_ids, age)?;
            mask_curator::workspace::write_atomic(&age_path, csv.as_bytes())
                .with_context(|| format!("writing {}", age_path.display()))?;
            eprintln!("predicted ages written to {}", age_path.display());
        }
        None => {
            let runs: Vec<String> = result
                .runs_without_age
                .iter()
                .map(|r| r.display().to_string())
                .collect();
            eprintln!(
                "no age in years: {} predate the age head (their models predict age bins only)",
                runs.join(", ")
            );
        }
    }
    let reused = result.members.iter().filter(|m| m.reused).count();
    let mut summary = format!(
        "wrote {} ({} models, {reused} from saved probabilities)",
        out.display(),
        result.members.len()
    );
    let mut metrics_path = None;
    if let Some(scores) = &result.scores {
        let m = &scores.metrics;
        if report == Report::Terminal {
            println!("macro F1   {:.4}", m.macro_f1);
            println!("accuracy   {:.4}", m.accuracy);
            println!(
                "field F1   mask {:.4}  gender {:.4}  age {:.4}",
                scores.f1_mask, scores.f1_gender, scores.f1_age
            );
            println!("class  support     F1  name");
            for (c, f1) in m.per_class_f1.iter().enumerate() {
                let name = mask_curator::dataset::ClassCode::from_index(c)
                    .map(|c| c.describe())
                    .unwrap_or_default();
                println!("{c:>5} {:>8} {f1:>6.3}  {name}", m.support[c]);
            }
            println!("confusion (rows: true class, columns: predicted)");
            for (c, row) in m.confusion.iter().enumerate() {
                let cells: Vec<String> = row.iter().map(|v| format!("{v:>4}")).collect();
                println!("{c:>5} {}", cells.join(""));
            }
        }
        let report_json = serde_json::json!({ "scores": scores, "members": result.members, "tta": args.tta, "weights": args.weights });
        let path = mask_curator::ml::ensemble::write_metrics_report(&out, &report_json)
            .map_err(anyhow::Error::msg)?;
        eprintln!("metrics written to {}", path.display());
        summary.push_str(&format!(
            "\neval macro F1 {:.4}, accuracy {:.4}",
            m.macro_f1, m.accuracy
        ));
        metrics_path = Some(path);
    }
    match report {
        Report::Terminal => println!("{}", out.display()),
        Report::Lines => super::emit(&WorkerEvent::Predicted {
            out: out.clone(),
            metrics: metrics_path,
            summary,
        }),
    }
    Ok(())
}
