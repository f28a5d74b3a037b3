//! The requests that start training or inference in the worker: the same command lines
//! `mask-curator train` / `predict` take, so that a run started from the app and one
//! started from a terminal with the same recipe are the same run.

use crate::ml::config::{DeviceChoice, TrainConfig};
use crate::ml::ensemble::Weighting;
use crate::ml::run::RunDir;
use crate::workspace::Workspace;
use clap::ValueEnum;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Writes `config` as a recipe file (`config.json` format) in the dataset's workspace for
/// the worker to read with `--config`. The file is removed when the handle drops: keep it
/// until the worker has ended.
pub fn write_recipe(
    workspace: &Workspace,
    config: &TrainConfig,
) -> std::io::Result<tempfile::NamedTempFile> {
    let dir = workspace.runs_dir();
    crate::workspace::create_dir_all_synced(&dir)?;
    let mut file = tempfile::Builder::new()
        .prefix(".recipe-")
        .suffix(".json")
        .tempfile_in(&dir)?;
    let text = serde_json::to_string_pretty(config).map_err(std::io::Error::other)?;
    std::io::Write::write_all(&mut file, text.as_bytes())?;
    file.as_file().sync_all()?;
    Ok(file)
}

/// `train DATASET --config RECIPE --run-dir RUN --models MODELS`: every fold of the
/// recipe into `run`, starting from the pretrained weights in `models` when there are any.
pub fn train_args(dataset: &Path, recipe: &Path, run: &RunDir, models: &Path) -> Vec<OsString> {
    vec![
        "train".into(),
        dataset.into(),
        "--config".into(),
        recipe.into(),
        "--run-dir".into(),
        run.dir.clone().into(),
        "--models".into(),
        models.into(),
    ]
}

/// The pretrained weights folder the app uses: `models/` in the working directory, the
/// worker's default too, as an absolute path (the panel shows it).
pub fn models_dir() -> PathBuf {
    std::path::absolute("models").unwrap_or_else(|_| PathBuf::from("models"))
}

/// An ensemble inference request: the fold models of `runs` vote on the eval photos.
#[derive(Debug, Clone, PartialEq)]
pub struct PredictRequest {
    pub dataset: PathBuf,
    pub runs: Vec<PathBuf>,
    pub tta: bool,
    pub weighting: Weighting,
    pub device: DeviceChoice,
    pub out: PathBuf,
}

impl PredictRequest {
    /// `predict DATASET --runs … [--tta] --weights W --device D --out OUT`.
    pub fn args(&self) -> Vec<OsString> {
        let mut args: Vec<OsString> = vec!["predict".into(), self.dataset.clone().into()];
        args.push("--runs".into());
        args.extend(self.runs.iter().map(|r| r.clone().into()));
        if self.tta {
            args.push("--tta".into());
        }
        args.push("--weights".into());
        args.push(value_name(self.weighting).into());
        args.push("--device".into());
        args.push(value_name(self.device).into());
        args.push("--out".into());
        args.push(self.out.clone().into());
        args
    }
}

/// The command-line spelling of a value.
fn value_name<T: ValueEnum>(v: T) -> String {
    v.to_possible_value()
        .map(|p| p.get_name().to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recipe_file_reads_back_as_the_same_config() {
        let tmp = tempfile::tempdir().unwrap();
        let ws = Workspace::for_dataset(tmp.path());
        let mut config = TrainConfig::quick_demo();
        config.seed = 4242;
        config.epochs = 3;
        let file = write_recipe(&ws, &config).unwrap();
        assert_eq!(TrainConfig::load(file.path()).unwrap(), config);
        let path = file.path().to_path_buf();
        drop(file);
        assert!(!path.exists(), "the recipe outlived its handle");
    }

    #[test]
    fn predict_args_spell_every_choice_as_the_cli_does() {
        let r = PredictRequest {
            dataset: "/d".into(),
            runs: vec!["/r1".into(), "/r2".into()],
            tta: true,
            weighting: Weighting::F1,
            device: DeviceChoice::Cpu,
            out: "/o.csv".into(),
        };
        let args: Vec<String> = r
            .args()
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            args,
            [
                "predict",
                "/d",
                "--runs",
                "/r1",
                "/r2",
                "--tta",
                "--weights",
                "f1",
                "--device",
                "cpu",
                "--out",
                "/o.csv"
            ]
        );
    }
}
