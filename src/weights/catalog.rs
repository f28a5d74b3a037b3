//! Where pretrained weights for each backbone are published, and where they are kept.
//!
//! The weights are torchvision's ImageNet ones (its default weights per model, as of
//! torchvision 0.28): the backbones of the training worker use torchvision's variable
//! names, so these files fit as they are. Figures are torchvision's published ones.

use crate::ml::config::Backbone;
use std::path::{Path, PathBuf};

/// torchvision's download folder.
pub const TORCHVISION_BASE: &str = "https://download.pytorch.org/models/";

/// A folder URL that replaces [`TORCHVISION_BASE`] (a company mirror, or a test server):
/// the file names stay the same.
pub const MIRROR_ENV: &str = "MASK_CURATOR_WEIGHTS_MIRROR";

/// One backbone's published weights.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Published {
    pub backbone: Backbone,
    /// The file under [`TORCHVISION_BASE`]; its name carries the start of its SHA-256.
    pub file: &'static str,
    /// torchvision's name for these weights.
    pub weights: &'static str,
    /// Parameters of the whole ImageNet model, classifier included.
    pub params: u64,
    /// Inputs of the ImageNet classifier (1000 outputs), to count the backbone alone.
    pub classifier_inputs: u64,
    /// File size in MiB.
    pub mebibytes: f64,
    /// ImageNet-1K top-1 accuracy, %.
    pub imagenet_top1: f64,
}

pub const PUBLISHED: [Published; 8] = [
    Published {
        backbone: Backbone::Resnet18,
        file: "resnet18-f37072fd.pth",
        weights: "IMAGENET1K_V1",
        params: 11_689_512,
        classifier_inputs: 512,
        mebibytes: 44.661,
        imagenet_top1: 69.758,
    },
    Published {
        backbone: Backbone::Resnet34,
        file: "resnet34-b627a593.pth",
        weights: "IMAGENET1K_V1",
        params: 21_797_672,
        classifier_inputs: 512,
        mebibytes: 83.275,
        imagenet_top1: 73.314,
    },
    Published {
        backbone: Backbone::Resnet50,
        file: "resnet50-11ad3fa6.pth",
        weights: "IMAGENET1K_V2",
        params: 25_557_032,
        classifier_inputs: 2048,
        mebibytes: 97.79,
        imagenet_top1: 80.858,
    },
    Published {
        backbone: Backbone::EfficientnetB0,
        file: "efficientnet_b0_rwightman-7f5810bc.pth",
        weights: "IMAGENET1K_V1",
        params: 5_288_548,
        classifier_inputs: 1280,
        mebibytes: 20.451,
        imagenet_top1: 77.692,
    },
    Published {
        backbone: Backbone::EfficientnetB1,
        file: "efficientnet_b1-c27df63c.pth",
        weights: "IMAGENET1K_V2",
        params: 7_794_184,
        classifier_inputs: 1280,
        mebibytes: 30.136,
        imagenet_top1: 79.838,
    },
    Published {
        backbone: Backbone::EfficientnetB2,
        file: "efficientnet_b2_rwightman-c35c1473.pth",
        weights: "IMAGENET1K_V1",
        params: 9_109_994,
        classifier_inputs: 1408,
        mebibytes: 35.174,
        imagenet_top1: 80.608,
    },
    Published {
        backbone: Backbone::EfficientnetB3,
        file: "efficientnet_b3_rwightman-b3899882.pth",
        weights: "IMAGENET1K_V1",
        params: 12_233_232,
        classifier_inputs: 1536,
        mebibytes: 47.184,
        imagenet_top1: 82.008,
    },
    Published {
        backbone: Backbone::EfficientnetB4,
        file: "efficientnet_b4_rwightman-23ab8bcd.pth",
        weights: "IMAGENET1K_V1",
        params: 19_341_616,
        classifier_inputs: 1792,
        mebibytes: 74.489,
        imagenet_top1: 83.384,
    },
];

impl Published {
    /// Parameters without the ImageNet classifier: what a file for this backbone must
    /// hold, whatever classifier it was trained with.
    pub fn backbone_params(&self) -> u64 {
        self.params - (self.classifier_inputs * 1000 + 1000)
    }

    /// The file's address, under `mirror` when given (a folder URL).
    pub fn url(&self, mirror: Option<&str>) -> String {
        match mirror {
            Some(base) => format!("{}/{}", base.trim_end_matches('/'), self.file),
            None => format!("{TORCHVISION_BASE}{}", self.file),
        }
    }

    /// Expected download size in bytes.
    pub fn bytes(&self) -> u64 {
        (self.mebibytes * 1024.0 * 1024.0) as u64
    }
}

/// The published weights of `backbone` (none for the small CNN).
pub fn published(backbone: Backbone) -> Option<&'static Published> {
    PUBLISHED.iter().find(|p| p.backbone == backbone)
}

/// The mirror folder from [`MIRROR_ENV`], if set.
pub fn mirror_from_env() -> Option<String> {
    std::env::var(MIRROR_ENV)
        .ok()
        .filter(|s| !s.trim().is_empty())
}

/// The start of the SHA-256 a file name promises, torch.hub's convention: the last
/// `-<hex>` before the extension (`resnet18-f37072fd.pth` → `f37072fd`).
pub fn sha256_prefix(file_name: &str) -> Option<&str> {
    let stem = file_name.split('.').next()?;
    let (_, hex) = stem.rsplit_once('-')?;
    (hex.len() >= 6
        && hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
    .then_some(hex)
}

/// Where a downloaded backbone's weights are written: `<models>/<backbone>.safetensors`,
/// the first file the training worker looks for.
pub fn weights_file(models_dir: &Path, backbone: Backbone) -> PathBuf {
    models_dir.join(format!("{}.safetensors", backbone.name()))
}

/// The weights file the training worker would load for `backbone`, if any (the same
/// look-up: `.safetensors`, then `.ot`).
pub fn installed(models_dir: &Path, backbone: Backbone) -> Option<PathBuf> {
    ["safetensors", "ot"]
        .map(|ext| models_dir.join(format!("{}.{ext}", backbone.name())))
        .into_iter()
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_backbone_but_the_small_cnn_has_published_weights() {
        for b in Backbone::ALL {
            assert_eq!(published(b).is_some(), b != Backbone::SmallCnn, "{b:?}");
        }
        for p in PUBLISHED {
            let prefix = sha256_prefix(p.file).unwrap();
            assert_eq!(prefix.len(), 8, "{}", p.file);
            assert!(p.file.starts_with(p.backbone.name()), "{}", p.file);
            assert!(p.backbone_params() < p.params);
        }
        // torchvision's resnet18 without its 512 x 1000 classifier.
        assert_eq!(
            published(Backbone::Resnet18).unwrap().backbone_params(),
            11_176_512
        );
    }

    #[test]
    fn urls_follow_the_mirror() {
        let p = published(Backbone::Resnet18).unwrap();
        assert_eq!(
            p.url(None),
            "https://download.pytorch.org/models/resnet18-f37072fd.pth"
        );
        assert_eq!(
            p.url(Some("http://127.0.0.1:8080/w/")),
            "http://127.0.0.1:8080/w/resnet18-f37072fd.pth"
        );
    }

    #[test]
    fn hash_prefixes_follow_torch_hub() {
        assert_eq!(sha256_prefix("resnet18-f37072fd.pth"), Some("f37072fd"));
        assert_eq!(
            sha256_prefix("efficientnet_b0_rwightman-7f5810bc.pth"),
            Some("7f5810bc")
        );
        assert_eq!(sha256_prefix("resnet18.pth"), None);
        assert_eq!(sha256_prefix("my-weights.pth"), None);
        assert_eq!(sha256_prefix("x-ABCDEF12.pth"), None);
    }
}
