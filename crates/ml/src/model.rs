//! The networks: a small CNN for CPU training, and tch::vision ResNet / EfficientNet
//! backbones with replaced heads. Three heads (mask 3, gender 2, age 3) are one 8-logit
//! layer split 3+2+3; their 18-class probability is the product of the three softmaxes.
//! The age head (when the recipe has one) gives two more numbers per photo: the predicted
//! age in years and the log of its spread, trained with a Laplace or Gaussian likelihood.

use crate::MlError;
use mask_curator::dataset::NUM_CLASSES;
use mask_curator::ml::config::{AgeLoss, Backbone, Heads, Loss, TrainConfig};
use std::path::{Path, PathBuf};
use tch::nn::{self, ModuleT};
use tch::{Device, Kind, Reduction, Tensor};

/// Variable name prefixes of the classifier; never taken from pretrained files.
const HEAD_PREFIXES: [&str; 4] = ["head.", "age.", "fc.", "classifier."];

/// The age head works on a standard scale, `years = AGE_CENTRE + AGE_UNIT * z`, so that
/// its outputs start near the data's range (ages 18..60, mean about 39).
const AGE_CENTRE: f64 = 39.0;
const AGE_UNIT: f64 = 12.0;
/// Bounds of the learned log-scale (standard units: 0.08 to 240 years): keeps the
/// likelihood finite while the head is untrained.
const AGE_LOG_SCALE: (f64, f64) = (-5.0, 3.0);

/// What the network gives for a batch.
pub struct Output {
    /// `N x 8` (three heads) or `N x 18`.
    pub logits: Tensor,
    /// `N x 2` raw age outputs (standard-scale mean, log-scale), when the recipe has an
    /// age head; [`Net::age_years`] turns them into years and a spread.
    pub age: Option<Tensor>,
}

/// A network with its weights.
pub struct Net {
    pub vs: nn::VarStore,
    body: Box<dyn ModuleT>,
    /// The classifier after the body's features (None: the backbone has its own).
    head: Option<nn::Linear>,
    /// The age head beside `head` (None: no age head, or the backbone's own classifier
    /// carries the two age outputs after the class logits).
    age_head: Option<nn::Linear>,
    heads: Heads,
    age_loss: AgeLoss,
    dropout: f64,
    /// Feature-map cells the body's flat features hold per channel (the small CNN keeps a
    /// 4x3 grid; resnets pool to one): the embedding averages over them.
    embed_cells: i64,
}

impl std::fmt::Debug for Net {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Net({:?}, {} variables)", self.heads, self.vs.len())
    }
}

/// Rows x columns of the small CNN's last feature map (portrait photos are 4:3 tall).
const SMALL_CNN_GRID: [i64; 2] = [4, 3];

fn small_cnn(p: &nn::Path) -> (Box<dyn ModuleT>, i64) {
    let channels = [3i64, 32, 64, 128, 192];
    let mut seq = nn::seq_t();
    for i in 0..channels.len() - 1 {
        let b = p / format!("block{i}");
        let conv_cfg = nn::ConvConfig {
            padding: 1,
            bias: false,
            ..Default::default()
        };
        seq = seq
            .add(nn::conv2d(
                &b / "conv",
                channels[i],
                channels[i + 1],
                3,
                conv_cfg,
            ))
            .add(nn::batch_norm2d(
                &b / "bn",
                channels[i + 1],
                Default::default(),
            ))
            .add_fn(|x| x.relu());
        if i + 1 < channels.len() - 1 {
            seq = seq.add_fn(|x| x.max_pool2d_default(2));
        }
    }
    // Pool to a coarse 4x3 grid rather than one value per channel: where a feature is
    // (hair beside the neck, stubble under the mouth) says as much about gender and age
    // as what it is, and four conv layers alone do not see the whole face.
    let [grid_h, grid_w] = SMALL_CNN_GRID;
    let seq = seq.add_fn(move |x| x.adaptive_avg_pool2d([grid_h, grid_w]).flat_view());
    (
        Box::new(seq),
        channels[channels.len() - 1] * grid_h * grid_w,
    )
}

impl Net {
    pub fn new(config: &TrainConfig, device: Device) -> Result<Net, MlError> {
        let vs = nn::VarStore::new(device);
        let root = vs.root();
        let with_age = config.age_loss != AgeLoss::None;
        // Backbones with their own classifier (efficientnet) get two more outputs for age.
        let out = config.heads.outputs() + if with_age { 2 } else { 0 };
        let (body, features): (Box<dyn ModuleT>, Option<i64>) = match config.backbone {
            Backbone::SmallCnn => {
                let (b, f) = small_cnn(&root);
                (b, Some(f))
            }
            Backbone::Resnet18 => (
                Box::new(tch::vision::resnet::resnet18_no_final_layer(&root)),
                Some(512),
            ),
            Backbone::Resnet34 => (
                Box::new(tch::vision::resnet::resnet34_no_final_layer(&root)),
                Some(512),
            ),
            Backbone::Resnet50 => (
                Box::new(tch::vision::resnet::resnet50_no_final_layer(&root)),
                Some(2048),
            ),
            Backbone::EfficientnetB0 => (Box::new(tch::vision::efficientnet::b0(&root, out)), None),
            Backbone::EfficientnetB1 => (Box::new(tch::vision::efficientnet::b1(&root, out)), None),
            Backbone::EfficientnetB2 => (Box::new(tch::vision::efficientnet::b2(&root, out)), None),
            Backbone::EfficientnetB3 => (Box::new(tch::vision::efficientnet::b3(&root, out)), None),
            Backbone::EfficientnetB4 => (Box::new(tch::vision::efficientnet::b4(&root, out)), None),
        };
        let classes = config.heads.outputs();
        let head = features.map(|f| nn::linear(&root / "head", f, classes, Default::default()));
        let age_head = features
            .filter(|_| with_age)
            .map(|f| nn::linear(&root / "age", f, 2, Default::default()));
        Ok(Net {
            vs,
            body,
            head,
            age_head,
            heads: config.heads,
            age_loss: config.age_loss,
            dropout: config.dropout,
            embed_cells: match config.backbone {
                Backbone::SmallCnn => SMALL_CNN_GRID[0] * SMALL_CNN_GRID[1],
                _ => 1,
            },
        })
    }

    /// Whether this network predicts age in years.
    pub fn has_age(&self) -> bool {
        self.age_loss != AgeLoss::None
    }

    /// Whether [`Net::embed`] gives vectors: backbones whose classifier is ours (the
    /// small CNN, resnets). tch's efficientnets keep their features inside.
    pub fn has_embedding(&self) -> bool {
        self.head.is_some()
    }

    /// `N x D` embeddings of a batch (eval mode): the body's features before the heads,
    /// averaged over the small CNN's grid cells, so photos that the model sees alike are
    /// close. `None` for backbones without a feature layer of ours.
    pub fn embed(&self, x: &Tensor) -> Result<Option<Tensor>, MlError> {
        if !self.has_embedding() {
            return Ok(None);
        }
        let features = self.body.forward_t(x, false);
        if self.embed_cells == 1 {
            return Ok(Some(features));
        }
        let n = features.size()[0];
        Ok(Some(
            features.f_view([n, -1, self.embed_cells])?.f_mean_dim(
                [2i64].as_slice(),
                false,
                Kind::Float,
            )?,
        ))
    }

    /// Class logits and, with an age head, the raw age outputs.
    pub fn forward(&self, x: &Tensor, train: bool) -> Result<Output, MlError> {
        let features = self.body.forward_t(x, train);
        match &self.head {
            Some(head) => {
                let features = features.f_dropout(self.dropout, train)?;
                let age = self.age_head.as_ref().map(|a| features.apply(a));
                Ok(Output {
                    logits: features.apply(head),
                    age,
                })
            }
            None if self.has_age() => {
                let classes = self.heads.outputs();
                Ok(Output {
                    logits: features.f_narrow(1, 0, classes)?,
                    age: Some(features.f_narrow(1, classes, 2)?),
                })
            }
            None => Ok(Output {
                logits: features,
                age: None,
            }),
        }
    }

    /// `N x 2` (predicted years, spread as a standard deviation in years) from the raw
    /// age outputs. A Laplace scale b has standard deviation b * sqrt(2).
    pub fn age_years(&self, age: &Tensor) -> Result<Tensor, MlError> {
        let mean = age
            .f_narrow(1, 0, 1)?
            .f_mul_scalar(AGE_UNIT)?
            .f_add_scalar(AGE_CENTRE)?;
        let per_scale = match self.age_loss {
            AgeLoss::Laplace => AGE_UNIT * std::f64::consts::SQRT_2,
            _ => AGE_UNIT,
        };
        let spread = age
            .f_narrow(1, 1, 1)?
            .f_clamp(AGE_LOG_SCALE.0, AGE_LOG_SCALE.1)?
            .f_exp()?
            .f_mul_scalar(per_scale)?;
        Ok(Tensor::f_cat(&[mean, spread], 1)?)
    }

    /// The age head's negative log-likelihood of `years` (a float tensor, one per row),
    /// averaged over the batch.
    pub fn age_loss(&self, age: &Tensor, years: &Tensor) -> Result<Tensor, MlError> {
        let z = years
            .f_sub_scalar(AGE_CENTRE)?
            .f_div_scalar(AGE_UNIT)?
            .f_view([-1])?;
        let mean = age.f_select(1, 0)?;
        let log_scale = age
            .f_select(1, 1)?
            .f_clamp(AGE_LOG_SCALE.0, AGE_LOG_SCALE.1)?;
        let scaled = z.f_sub(&mean)?.f_mul(&log_scale.f_neg()?.f_exp()?)?;
        let nll = match self.age_loss {
            AgeLoss::Gaussian => scaled.f_square()?.f_mul_scalar(0.5)?,
            _ => scaled.f_abs()?,
        };
        Ok(nll.f_add(&log_scale)?.f_mean(Kind::Float)?)
    }

    /// 18-class probabilities from logits.
    pub fn probs18(&self, logits: &Tensor) -> Result<Tensor, MlError> {
        match self.heads {
            Heads::Class18 => Ok(logits.f_softmax(-1, Kind::Float)?),
            Heads::ThreeHeads => {
                let n = logits.size()[0];
                let pm = logits
                    .f_narrow(1, 0, 3)?
                    .f_softmax(-1, Kind::Float)?
                    .f_view([n, 3, 1, 1])?;
                let pg = logits
                    .f_narrow(1, 3, 2)?
                    .f_softmax(-1, Kind::Float)?
                    .f_view([n, 1, 2, 1])?;
                let pa = logits
                    .f_narrow(1, 5, 3)?
                    .f_softmax(-1, Kind::Float)?
                    .f_view([n, 1, 1, 3])?;
                Ok(pm
                    .f_mul(&pg)?
                    .f_mul(&pa)?
                    .f_reshape([n, NUM_CLASSES as i64])?)
            }
        }
    }

    /// The training loss for 18-class `labels`; `weights` holds per-head class weights
    /// (for weighted cross entropy).
    pub fn loss(
        &self,
        logits: &Tensor,
        labels: &Tensor,
        loss: Loss,
        weights: &[Tensor],
    ) -> Result<Tensor, MlError> {
        match self.heads {
            Heads::Class18 => head_loss(logits, labels, loss, weights.first()),
            Heads::ThreeHeads => {
                let mask = labels.f_div_scalar_mode(6, "floor")?;
                let gender = labels.f_remainder(6)?.f_div_scalar_mode(3, "floor")?;
                let age = labels.f_remainder(3)?;
                let lm = head_loss(&logits.f_narrow(1, 0, 3)?, &mask, loss, weights.first())?;
                let lg = head_loss(&logits.f_narrow(1, 3, 2)?, &gender, loss, weights.get(1))?;
                let la = head_loss(&logits.f_narrow(1, 5, 3)?, &age, loss, weights.get(2))?;
                Ok(lm.f_add(&lg)?.f_add(&la)?)
            }
        }
    }

    /// Inverse-frequency class weights per head from training labels (18-class codes).
    pub fn class_weights(&self, labels: &[i64], device: Device) -> Result<Vec<Tensor>, MlError> {
        let inverse = |values: Vec<usize>, n: usize| -> Result<Tensor, MlError> {
            let mut counts = vec![0f32; n];
            for v in &values {
                counts[*v] += 1.0;
            }
            let total = values.len() as f32;
            let w: Vec<f32> = counts
                .iter()
                .map(|&c| total / (n as f32 * c.max(1.0)))
                .collect();
            Ok(Tensor::f_from_slice(&w)?.f_to_device(device)?)
        };
        let l: Vec<usize> = labels.iter().map(|&c| c as usize).collect();
        match self.heads {
            Heads::Class18 => Ok(vec![inverse(l, NUM_CLASSES)?]),
            Heads::ThreeHeads => Ok(vec![
                inverse(l.iter().map(|c| c / 6).collect(), 3)?,
                inverse(l.iter().map(|c| (c % 6) / 3).collect(), 2)?,
                inverse(l.iter().map(|c| c % 3).collect(), 3)?,
            ]),
        }
    }

    /// Loads pretrained weights from `models/<backbone>.safetensors` (or `.ot`) when such a
    /// file exists: every variable with the same name and shape, except the classifier.
    /// Returns the file and how many variables were loaded.
    pub fn load_pretrained(
        &mut self,
        models_dir: &Path,
        backbone: Backbone,
    ) -> Result<Option<(PathBuf, usize)>, MlError> {
        let candidates =
            ["safetensors", "ot"].map(|ext| models_dir.join(format!("{}.{ext}", backbone.name())));
        let Some(path) = candidates.into_iter().find(|p| p.is_file()) else {
            return Ok(None);
        };
        let named = if path.extension().is_some_and(|e| e == "safetensors") {
            Tensor::read_safetensors(&path)
        } else {
            Tensor::load_multi_with_device(&path, Device::Cpu)
        }
        .map_err(|e| MlError::Torch(format!("{}: {e}", path.display())))?;
        let named: std::collections::HashMap<String, Tensor> = named.into_iter().collect();
        let mut loaded = 0;
        let variables = self.vs.variables();
        tch::no_grad(|| -> Result<(), MlError> {
            for (name, mut var) in variables {
                if HEAD_PREFIXES.iter().any(|p| name.starts_with(p)) {
                    continue;
                }
                if let Some(src) = named.get(&name) {
                    if src.size() == var.size() {
                        var.f_copy_(&src.f_to_kind(var.kind())?.f_to_device(var.device())?)?;
                        loaded += 1;
                    }
                }
            }
            Ok(())
        })?;
        if loaded == 0 {
            return Err(MlError::Config(format!(
                "{}: no variable matches the {} backbone (names or shapes differ); see models/README.md",
                path.display(),
                backbone.name()
            )));
        }
        Ok(Some((path, loaded)))
    }

    /// Saves the weights (safetensors), atomically.
    pub fn save(&self, path: &Path) -> Result<(), MlError> {
        let dir = path.parent().unwrap_or(Path::new("."));
        let tmp = dir.join(format!(
            ".{}.partial.safetensors",
            path.file_stem()
                .map(|s| s.to_string_lossy())
                .unwrap_or_default()
        ));
        self.vs
            .save(&tmp)
            .map_err(|e| MlError::Torch(format!("{}: {e}", path.display())))?;
        std::fs::rename(&tmp, path).map_err(|e| MlError::Io(format!("{}: {e}", path.display())))
    }

    /// Loads weights saved by [`Net::save`]. Every variable must be there with the same
    /// shape: a file from another network (an older small CNN, another backbone or heads)
    /// is refused naming the first variable that differs, before anything is copied.
    pub fn load(&mut self, path: &Path) -> Result<(), MlError> {
        let saved: std::collections::HashMap<String, Tensor> = Tensor::read_safetensors(path)
            .map_err(|e| MlError::Torch(format!("{}: {e}", path.display())))?
            .into_iter()
            .collect();
        let mut variables: Vec<(String, Tensor)> = self.vs.variables().into_iter().collect();
        variables.sort_by(|a, b| a.0.cmp(&b.0));
        for (name, var) in &variables {
            let differs = |found: String| {
                MlError::Config(format!(
                    "{}: {name} is {found}, this network needs {:?}: the weights come from \
                     another network (a run made by an older version or with another \
                     backbone or heads); train again or predict with that version",
                    path.display(),
                    var.size()
                ))
            };
            match saved.get(name) {
                None => return Err(differs("missing".into())),
                Some(src) if src.size() != var.size() => {
                    return Err(differs(format!("{:?}", src.size())))
                }
                Some(_) => {}
            }
        }
        tch::no_grad(|| -> Result<(), MlError> {
            for (name, mut var) in variables {
                if let Some(src) = saved.get(&name) {
                    var.f_copy_(&src.f_to_kind(var.kind())?.f_to_device(var.device())?)?;
                }
            }
            Ok(())
        })
    }
}

fn head_loss(
    logits: &Tensor,
    target: &Tensor,
    loss: Loss,
    weight: Option<&Tensor>,
) -> Result<Tensor, MlError> {
    let ce = |w: Option<&Tensor>, smoothing: f64| {
        logits.f_cross_entropy_loss(target, w, Reduction::Mean, -100, smoothing)
    };
    Ok(match loss {
        Loss::Ce => ce(None, 0.0)?,
        Loss::WeightedCe => ce(weight, 0.0)?,
        Loss::LabelSmoothing { epsilon } => ce(None, epsilon)?,
        Loss::Focal { gamma } => {
            let logp = logits
                .f_log_softmax(-1, Kind::Float)?
                .f_gather(1, &target.f_unsqueeze(1)?, false)?
                .f_squeeze_dim(1)?;
            let p = logp.f_exp()?;
            let factor = p.f_neg()?.f_add_scalar(1.0)?.f_pow_tensor_scalar(gamma)?;
            factor.f_mul(&logp)?.f_neg()?.f_mean(Kind::Float)?
        }
        Loss::F1Mix { ce_weight } => {
            let n_classes = logits.size()[1];
            let p = logits.f_softmax(-1, Kind::Float)?;
            let y = target.f_one_hot(n_classes)?.f_to_kind(Kind::Float)?;
            let tp = p.f_mul(&y)?.f_sum_dim_intlist(0, false, Kind::Float)?;
            let predicted = p.f_sum_dim_intlist(0, false, Kind::Float)?;
            let actual = y.f_sum_dim_intlist(0, false, Kind::Float)?;
            // Soft F1 = 2 tp / (predicted + actual).
            let f1 = tp
                .f_mul_scalar(2.0)?
                .f_div(&predicted.f_add(&actual)?.f_add_scalar(1e-7)?)?;
            let f1_loss = f1.f_mean(Kind::Float)?.f_neg()?.f_add_scalar(1.0)?;
            ce(None, 0.0)?
                .f_mul_scalar(ce_weight)?
                .f_add(&f1_loss.f_mul_scalar(1.0 - ce_weight)?)?
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_of_another_network_are_refused_naming_the_variable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fold0.safetensors");
        let three = TrainConfig::default();
        Net::new(&three, Device::Cpu).unwrap().save(&path).unwrap();

        // Same network: gives the same outputs as tch's own loader.
        let mut saved = Net::new(&three, Device::Cpu).unwrap();
        saved.vs.load(&path).unwrap();
        let mut again = Net::new(&three, Device::Cpu).unwrap();
        again.load(&path).unwrap();
        let x = Tensor::rand([2, 3, 96, 72], (Kind::Float, Device::Cpu));
        let a = saved.forward(&x, false).unwrap();
        let b = again.forward(&x, false).unwrap();
        for (a, b) in [(a.logits, b.logits), (a.age.unwrap(), b.age.unwrap())] {
            assert_eq!(
                f64::try_from(a.f_sub(&b).unwrap().abs().max()).unwrap(),
                0.0
            );
        }

        // An 18-class head: refused, the message names the head and both shapes.
        let class18 = TrainConfig {
            heads: Heads::Class18,
            ..TrainConfig::default()
        };
        let mut other = Net::new(&class18, Device::Cpu).unwrap();
        let head_sum = |net: &Net| {
            let v = net.vs.variables();
            f64::try_from(v["head.bias"].sum(Kind::Double)).unwrap()
        };
        let before = head_sum(&other);
        let err = other.load(&path).unwrap_err().to_string();
        assert!(
            err.contains("fold0.safetensors")
                && err.contains("head.")
                && err.contains("another network"),
            "{err}"
        );
        assert!(!err.contains("Exception raised"), "{err}");
        // Nothing was copied.
        assert_eq!(before, head_sum(&other));
    }

    #[test]
    fn runs_without_an_age_head_still_load_and_give_no_age() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fold0.safetensors");
        // A recipe from before the age head (its config.json has no `age_loss`).
        let older: TrainConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(older.age_loss, AgeLoss::None);
        Net::new(&older, Device::Cpu).unwrap().save(&path).unwrap();
        let mut net = Net::new(&older, Device::Cpu).unwrap();
        net.load(&path).unwrap();
        assert!(!net.has_age());
        let x = Tensor::rand([2, 3, 96, 72], (Kind::Float, Device::Cpu));
        let out = net.forward(&x, false).unwrap();
        assert_eq!(out.logits.size(), [2, 8]);
        assert!(out.age.is_none());
        // A network with the age head refuses those weights, naming the age head.
        let mut with_age = Net::new(&TrainConfig::default(), Device::Cpu).unwrap();
        let err = with_age.load(&path).unwrap_err().to_string();
        assert!(err.contains("age."), "{err}");
    }

    #[test]
    fn age_outputs_are_years_and_a_spread_and_the_loss_is_the_likelihood() {
        let laplace = Net::new(&TrainConfig::default(), Device::Cpu).unwrap();
        let gaussian = Net::new(
            &TrainConfig {
                age_loss: AgeLoss::Gaussian,
                ..TrainConfig::default()
            },
            Device::Cpu,
        )
        .unwrap();
        // Raw (0, 0): the centre of the scale, unit log-scale; (1, ln 0.5): 12 years older.
        let raw = Tensor::from_slice(&[0f32, 0.0, 1.0, 0.5f32.ln()]).view([2, 2]);
        let years = Vec::<f32>::try_from(laplace.age_years(&raw).unwrap().view([-1])).unwrap();
        let expect = [39.0, 12.0 * 2f32.sqrt(), 51.0, 6.0 * 2f32.sqrt()];
        for (y, e) in years.iter().zip(expect) {
            assert!((y - e).abs() < 1e-4, "{years:?}");
        }
        let g = Vec::<f32>::try_from(gaussian.age_years(&raw).unwrap().view([-1])).unwrap();
        assert!(
            (g[1] - 12.0).abs() < 1e-4 && (g[3] - 6.0).abs() < 1e-4,
            "{g:?}"
        );
        // Given 75 years (z = 3): Laplace |3 - 0| / 1 + 0 and |3 - 1| / 0.5 + ln 0.5.
        let truth = Tensor::from_slice(&[75f32, 75.0]);
        let l = f64::try_from(laplace.age_loss(&raw, &truth).unwrap()).unwrap();
        let want = (3.0 + (4.0 + 0.5f64.ln())) / 2.0;
        assert!((l - want).abs() < 1e-5, "{l} vs {want}");
        // Gaussian: (3^2 / 2 + 0 + 4^2 / 2 + ln 0.5) / 2: the square weighs far errors more.
        let l = f64::try_from(gaussian.age_loss(&raw, &truth).unwrap()).unwrap();
        let want = (4.5 + (8.0 + 0.5f64.ln())) / 2.0;
        assert!((l - want).abs() < 1e-5, "{l} vs {want}");
    }
}
