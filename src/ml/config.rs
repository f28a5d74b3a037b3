//! The recipe of a training run. One JSON file (`config.json` in the run folder); the GUI
//! form and the CLI flags edit the same struct. Pure: no torch.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A recipe that cannot be used; the text names the field (and the file).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    /// A value out of its range.
    #[error("{0}")]
    Range(String),
    #[error("{}: {reason}", path.display())]
    File {
        path: std::path::PathBuf,
        reason: String,
    },
}

/// Where training and inference run; chosen at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum DeviceChoice {
    /// CUDA when available, else CPU.
    #[default]
    Auto,
    Cpu,
    Cuda,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Backbone {
    /// A few conv blocks; trains in minutes on two CPU cores.
    #[default]
    SmallCnn,
    Resnet18,
    Resnet34,
    Resnet50,
    EfficientnetB0,
    EfficientnetB1,
    EfficientnetB2,
    EfficientnetB3,
    EfficientnetB4,
}

impl Backbone {
    pub const ALL: [Backbone; 9] = [
        Backbone::SmallCnn,
        Backbone::Resnet18,
        Backbone::Resnet34,
        Backbone::Resnet50,
        Backbone::EfficientnetB0,
        Backbone::EfficientnetB1,
        Backbone::EfficientnetB2,
        Backbone::EfficientnetB3,
        Backbone::EfficientnetB4,
    ];
    /// The name used in files (`models/<name>.safetensors`) and run folders.
    pub fn name(self) -> &'static str {
        match self {
            Backbone::SmallCnn => "small_cnn",
            Backbone::Resnet18 => "resnet18",
            Backbone::Resnet34 => "resnet34",
            Backbone::Resnet50 => "resnet50",
            Backbone::EfficientnetB0 => "efficientnet_b0",
            Backbone::EfficientnetB1 => "efficientnet_b1",
            Backbone::EfficientnetB2 => "efficientnet_b2",
            Backbone::EfficientnetB3 => "efficientnet_b3",
            Backbone::EfficientnetB4 => "efficientnet_b4",
        }
    }
}

/// Output layout of the classifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Heads {
    /// Mask (3), gender (2) and age (3) heads; 18-class probabilities are their product.
    #[default]
    ThreeHeads,
    /// One 18-class softmax.
    Class18,
}

impl Heads {
    /// The network's class outputs: 3 + 2 + 3 logits, or 18.
    pub fn outputs(self) -> i64 {
        match self {
            Heads::ThreeHeads => 8,
            Heads::Class18 => crate::dataset::NUM_CLASSES as i64,
        }
    }
}

/// Width x height of the network input in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageSize {
    pub width: u32,
    pub height: u32,
}

impl Default for ImageSize {
    fn default() -> Self {
        ImageSize {
            width: 72,
            height: 96,
        }
    }
}

impl fmt::Display for ImageSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}x{}", self.width, self.height)
    }
}

impl FromStr for ImageSize {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("image size `{s}`: expected WIDTHxHEIGHT, e.g. 72x96");
        let (w, h) = s.split_once(['x', 'X']).ok_or_else(bad)?;
        let width: u32 = w.trim().parse().map_err(|_| bad())?;
        let height: u32 = h.trim().parse().map_err(|_| bad())?;
        if !(8..=2048).contains(&width) || !(8..=2048).contains(&height) {
            return Err(format!(
                "image size `{s}`: each side must be 8..2048 pixels"
            ));
        }
        Ok(ImageSize { width, height })
    }
}

/// The face crop, as fractions of the photo's width and height (left, top, right, bottom).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CropBox {
    pub left: f32,
    pub top: f32,
    pub right: f32,
    pub bottom: f32,
}

impl Default for CropBox {
    /// Around the face of a 384x512 photo: about 307x410 pixels, ratio 3:4.
    fn default() -> Self {
        CropBox {
            left: 0.1,
            top: 0.1,
            right: 0.9,
            bottom: 0.9,
        }
    }
}

impl CropBox {
    pub const FULL: CropBox = CropBox {
        left: 0.0,
        top: 0.0,
        right: 1.0,
        bottom: 1.0,
    };
    pub fn validate(&self) -> Result<(), ConfigError> {
        let ok =
            |a: f32, b: f32| (0.0..=1.0).contains(&a) && (0.0..=1.0).contains(&b) && b - a >= 0.05;
        if ok(self.left, self.right) && ok(self.top, self.bottom) {
            Ok(())
        } else {
            Err(ConfigError::Range(format!(
                "crop box {self:?}: fractions must be in 0..1 with left < right and top < bottom"
            )))
        }
    }
}

/// Mild augmentation; each part can be switched off.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Augment {
    pub hflip: bool,
    /// Random rotation in -deg..deg (0 = off).
    pub rotate_degrees: f32,
    /// Random brightness and contrast factors in 1 +- this (0 = off).
    pub brightness_contrast: f32,
    /// Random hue rotation (degrees) and saturation factor 1 +- `saturation` (0 = off).
    pub hue_degrees: f32,
    pub saturation: f32,
}

impl Default for Augment {
    fn default() -> Self {
        Augment {
            hflip: true,
            rotate_degrees: 10.0,
            brightness_contrast: 0.2,
            hue_degrees: 5.0,
            saturation: 0.2,
        }
    }
}

impl Augment {
    pub const OFF: Augment = Augment {
        hflip: false,
        rotate_degrees: 0.0,
        brightness_contrast: 0.0,
        hue_degrees: 0.0,
        saturation: 0.0,
    };
    pub fn is_off(&self) -> bool {
        *self == Self::OFF
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Loss {
    #[default]
    Ce,
    /// Cross entropy with inverse-frequency class weights (from the training fold).
    WeightedCe,
    Focal {
        gamma: f64,
    },
    /// `ce_weight * CE + (1 - ce_weight) * (1 - soft macro F1)`.
    F1Mix {
        ce_weight: f64,
    },
    LabelSmoothing {
        epsilon: f64,
    },
}

/// The age head: predicted years and a spread, trained on the given age in years with a
/// negative log-likelihood. Laplace is the default: its loss grows like |error|, so the few
/// gross age errors of noisy labels pull the head far less than under a Gaussian's square.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum AgeLoss {
    /// No age head (runs made before it existed read as this).
    None,
    /// Laplace negative log-likelihood (mean absolute error with a learned scale).
    #[default]
    Laplace,
    /// Gaussian negative log-likelihood (squared error with a learned variance).
    Gaussian,
}

impl AgeLoss {
    /// What a `config.json` without the field means: a run from before the age head.
    fn absent() -> AgeLoss {
        AgeLoss::None
    }
    pub fn name(self) -> &'static str {
        match self {
            AgeLoss::None => "none",
            AgeLoss::Laplace => "laplace",
            AgeLoss::Gaussian => "gaussian",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    #[default]
    Adamw,
    Adam,
    Sgd,
}

#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Scheduler {
    #[default]
    None,
    /// Cosine annealing with warm restarts every `t0` epochs (SGDR, period fixed).
    CosineWarmRestarts { t0: u32 },
    /// lr * gamma every `step` epochs.
    Step { step: u32, gamma: f64 },
    /// lr * factor when the validation loss has not improved for `patience` epochs.
    Plateau { patience: u32, factor: f64 },
}

impl Scheduler {
    /// The learning rate at (fractional) epoch `t` for the schedules that depend only on
    /// time; plateau is handled by the training loop.
    pub fn lr_at(&self, base_lr: f64, t: f64) -> f64 {
        match *self {
            Scheduler::None | Scheduler::Plateau { .. } => base_lr,
            Scheduler::CosineWarmRestarts { t0 } => {
                let t0 = f64::from(t0.max(1));
                let phase = (t % t0) / t0;
                0.5 * base_lr * (1.0 + (std::f64::consts::PI * phase).cos())
            }
            Scheduler::Step { step, gamma } => {
                base_lr * gamma.powi((t.floor() as i32) / (step.max(1) as i32))
            }
        }
    }
}

/// A training run's recipe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrainConfig {
    /// A name for the recipe shown in the runs table (e.g. "quick demo run"); none for
    /// recipes made in the form or on the command line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    pub backbone: Backbone,
    pub heads: Heads,
    /// Dropout before the classifier (ignored by efficientnet, whose classifier is fixed).
    pub dropout: f64,
    pub image_size: ImageSize,
    pub crop: CropBox,
    /// Training-time augmentation (validation and inference never augment).
    pub augment: Augment,
    /// Ages from this one up count as old for training (58 or 59 move the boundary down);
    /// validation metrics always use the official 60.
    pub age_old_from: u32,
    pub loss: Loss,
    /// The age-in-years head (`none` for runs made before it: their weights have none).
    #[serde(default = "AgeLoss::absent")]
    pub age_loss: AgeLoss,
    pub optimizer: OptimizerKind,
    pub lr: f64,
    pub weight_decay: f64,
    pub scheduler: Scheduler,
    pub batch_size: usize,
    pub epochs: u32,
    pub folds: usize,
    pub seed: u64,
    pub device: DeviceChoice,
    /// Loader threads decoding photos (0 = number of cores).
    pub workers: usize,
    /// Batches prepared ahead of the training loop.
    pub prefetch: usize,
    /// Train on the curated labels (journal applied); off: the labels as given on disk.
    pub use_curated_labels: bool,
    /// Also write eval-set probabilities of each fold model (for ensembling later).
    pub predict_eval: bool,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            label: None,
            backbone: Backbone::SmallCnn,
            heads: Heads::ThreeHeads,
            dropout: 0.3,
            image_size: ImageSize::default(),
            crop: CropBox::default(),
            augment: Augment::default(),
            age_old_from: 60,
            loss: Loss::Ce,
            age_loss: AgeLoss::Laplace,
            optimizer: OptimizerKind::Adamw,
            lr: 1e-3,
            weight_decay: 1e-4,
            // Cosine decay over the run: on the demo data it lifts validation macro F1
            // from about 0.25 (6 epochs, constant lr) to about 0.4.
            scheduler: Scheduler::CosineWarmRestarts { t0: 12 },
            batch_size: 32,
            epochs: 12,
            folds: 5,
            seed: 777,
            device: DeviceChoice::Auto,
            workers: 0,
            prefetch: 4,
            use_curated_labels: true,
            predict_eval: true,
        }
    }
}

/// The label of the run `open --demo` trains on a fresh demo (see [`TrainConfig::quick_demo`]).
pub const QUICK_DEMO_LABEL: &str = "quick demo run";

impl TrainConfig {
    /// The recipe of the quick demo run: the default network and heads on smaller inputs,
    /// fewer folds and epochs, so that generating the demo and training stay under about
    /// three minutes on two CPU cores. It predicts the eval set too (a few seconds), so the
    /// eval view has something to show on the first open. docs/training.md has its figures.
    pub fn quick_demo() -> TrainConfig {
        TrainConfig {
            label: Some(QUICK_DEMO_LABEL.to_string()),
            image_size: ImageSize {
                width: 48,
                height: 64,
            },
            folds: 4,
            epochs: 6,
            scheduler: Scheduler::CosineWarmRestarts { t0: 6 },
            ..TrainConfig::default()
        }
    }

    /// One line naming the recipe, as the runs table and the summary show it.
    pub fn describe(&self) -> String {
        let label = self
            .label
            .as_ref()
            .map(|l| format!("{l}: "))
            .unwrap_or_default();
        format!(
            "{label}{} {}, {} folds x {} epochs",
            self.backbone.name(),
            self.image_size,
            self.folds,
            self.epochs
        )
    }

    /// Checks ranges; the error names the bad field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.check_ranges().map_err(ConfigError::Range)?;
        self.crop.validate()
    }

    fn check_ranges(&self) -> Result<(), String> {
        if self.folds < 2 {
            return Err(format!(
                "folds = {}: need at least 2 (k-fold by person)",
                self.folds
            ));
        }
        if self.epochs == 0 {
            return Err("epochs = 0: need at least 1".into());
        }
        if self.batch_size == 0 {
            return Err("batch_size = 0: need at least 1".into());
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return Err(format!("lr = {}: must be a positive number", self.lr));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(format!("dropout = {}: must be in 0..1", self.dropout));
        }
        if !(31..=60).contains(&self.age_old_from) {
            return Err(format!(
                "age_old_from = {}: must be in 31..60",
                self.age_old_from
            ));
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return Err(format!(
                "weight_decay = {}: must be >= 0",
                self.weight_decay
            ));
        }
        match self.loss {
            Loss::Focal { gamma } if !(0.0..=10.0).contains(&gamma) => {
                return Err(format!("focal gamma = {gamma}: must be in 0..10"))
            }
            Loss::F1Mix { ce_weight } if !(0.0..=1.0).contains(&ce_weight) => {
                return Err(format!("f1_mix ce_weight = {ce_weight}: must be in 0..1"))
            }
            Loss::LabelSmoothing { epsilon } if !(0.0..1.0).contains(&epsilon) => {
                return Err(format!(
                    "label smoothing epsilon = {epsilon}: must be in 0..1"
                ))
            }
            _ => {}
        }
        Ok(())
    }

    /// Reads a config file (missing fields take their defaults).
    pub fn load(path: &std::path::Path) -> Result<Self, ConfigError> {
        let file = |reason: String| ConfigError::File {
            path: path.to_path_buf(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| file(e.to_string()))?;
        let config: TrainConfig = serde_json::from_str(&text).map_err(|e| file(e.to_string()))?;
        config.validate().map_err(|e| file(e.to_string()))?;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_round_trips_through_json_and_fills_defaults() {
        let c = TrainConfig {
            loss: Loss::Focal { gamma: 2.0 },
            scheduler: Scheduler::CosineWarmRestarts { t0: 3 },
            backbone: Backbone::EfficientnetB3,
            ..Default::default()
        };
        let text = serde_json::to_string_pretty(&c).unwrap();
        assert!(text.contains("\"efficientnet_b3\""), "{text}");
        let back: TrainConfig = serde_json::from_str(&text).unwrap();
        assert_eq!(back, c);
        let partial: TrainConfig =
            serde_json::from_str(r#"{"epochs": 2, "heads": "class18"}"#).unwrap();
        assert_eq!(partial.epochs, 2);
        assert_eq!(partial.heads, Heads::Class18);
        assert_eq!(partial.seed, 777);
        // A recipe written before the age head existed describes a network without one.
        assert_eq!(partial.age_loss, AgeLoss::None);
        assert_eq!(TrainConfig::default().age_loss, AgeLoss::Laplace);
    }

    #[test]
    fn image_size_parses_and_rejects_garbage() {
        assert_eq!(
            "96x72".parse::<ImageSize>(),
            Ok(ImageSize {
                width: 96,
                height: 72
            })
        );
        assert!("96".parse::<ImageSize>().is_err());
        assert!("4x4".parse::<ImageSize>().is_err());
    }

    #[test]
    fn validation_names_the_bad_field() {
        let c = TrainConfig {
            folds: 1,
            ..Default::default()
        };
        assert!(c.validate().unwrap_err().to_string().contains("folds"));
        let c = TrainConfig {
            age_old_from: 70,
            ..Default::default()
        };
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .contains("age_old_from"));
        assert!(TrainConfig::default().validate().is_ok());
    }

    #[test]
    fn schedules_follow_their_formulas() {
        let cos = Scheduler::CosineWarmRestarts { t0: 2 };
        assert!((cos.lr_at(1.0, 0.0) - 1.0).abs() < 1e-12);
        assert!((cos.lr_at(1.0, 1.0) - 0.5).abs() < 1e-12);
        assert!((cos.lr_at(1.0, 2.0) - 1.0).abs() < 1e-12, "restarts at t0");
        let step = Scheduler::Step {
            step: 2,
            gamma: 0.1,
        };
        assert!((step.lr_at(1.0, 3.5) - 0.1).abs() < 1e-12);
        assert!((step.lr_at(1.0, 4.0) - 0.01).abs() < 1e-12);
    }

    #[test]
    fn the_quick_demo_recipe_is_labelled_valid_and_smaller() {
        let quick = TrainConfig::quick_demo();
        assert!(quick.validate().is_ok());
        assert_eq!(quick.label.as_deref(), Some(QUICK_DEMO_LABEL));
        let full = TrainConfig::default();
        assert!(
            quick.folds >= 2
                && quick.folds * quick.epochs as usize <= full.folds * full.epochs as usize / 2
        );
        assert_eq!(
            quick.describe(),
            "quick demo run: small_cnn 48x64, 4 folds x 6 epochs"
        );
        assert_eq!(full.describe(), "small_cnn 72x96, 5 folds x 12 epochs");
        // The label travels in config.json; unlabelled recipes do not write the field.
        let text = serde_json::to_string(&quick).unwrap();
        assert!(text.contains("\"label\":\"quick demo run\""), "{text}");
        assert!(!serde_json::to_string(&full).unwrap().contains("\"label\":"));
    }
}
