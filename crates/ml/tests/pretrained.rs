//! Pretrained weights from a `torch.save` file reach the network: a state dict with
//! torchvision's layout (written like PyTorch writes it, from a resnet18's own variables
//! plus the ImageNet classifier and BatchNorm's step counters) is installed by the app's
//! installer, and the worker's resnet18 loads every backbone variable from it, with the
//! same values, leaving its own heads untouched.

#[path = "../../../tests/weights_support/mod.rs"]
mod weights_support;

use mask_curator::ml::config::{Backbone, TrainConfig};
use mask_curator::weights::download::{install, Request, Source};
use mask_curator_ml::model::Net;
use std::sync::atomic::AtomicBool;
use tch::{Device, Tensor};
use weights_support::*;

fn resnet18() -> Net {
    let config = TrainConfig {
        backbone: Backbone::Resnet18,
        ..TrainConfig::default()
    };
    Net::new(&config, Device::Cpu).unwrap()
}

fn f32_data(t: &Tensor) -> Vec<u8> {
    let values: Vec<f32> = Vec::try_from(t.flatten(0, -1)).unwrap();
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

#[test]
fn an_installed_torch_save_file_loads_into_the_backbone() {
    tch::manual_seed(1);
    let source = resnet18();
    let mut tensors = Vec::new();
    let mut variables: Vec<(String, Tensor)> = source.vs.variables().into_iter().collect();
    variables.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, t) in &variables {
        if name.starts_with("head.") || name.starts_with("age.") {
            continue;
        }
        tensors.push(SaveTensor {
            name: name.clone(),
            storage: "FloatStorage",
            shape: t.size().iter().map(|&d| d as usize).collect(),
            data: f32_data(t),
        });
        if let Some(bn) = name.strip_suffix(".running_var") {
            tensors.push(SaveTensor {
                name: format!("{bn}.num_batches_tracked"),
                storage: "LongStorage",
                shape: vec![],
                data: 3i64.to_le_bytes().to_vec(),
            });
        }
    }
    tensors.push(SaveTensor {
        name: "fc.weight".into(),
        storage: "FloatStorage",
        shape: vec![1000, 512],
        data: f32_bytes(512_000, 9),
    });
    tensors.push(SaveTensor {
        name: "fc.bias".into(),
        storage: "FloatStorage",
        shape: vec![1000],
        data: f32_bytes(1000, 10),
    });

    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("weights.pth");
    write_torch_save(&file, &tensors);
    let named = tmp
        .path()
        .join(format!("resnet18-{}.pth", &sha256_hex(&file)[..8]));
    std::fs::rename(&file, &named).unwrap();
    let models = tmp.path().join("models");
    let installed = install(
        &Request {
            backbone: Backbone::Resnet18,
            models_dir: models.clone(),
            source: Source::File(named),
            replace: false,
        },
        &AtomicBool::new(false),
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(installed.backbone_params, 11_176_512);

    tch::manual_seed(2);
    let mut net = resnet18();
    let head_before = f32_data(&net.vs.variables()["head.weight"]);
    let (path, loaded) = net
        .load_pretrained(&models, Backbone::Resnet18)
        .unwrap()
        .expect("the installed file is found");
    assert_eq!(path, installed.path);
    let total = net.vs.variables().len();
    assert_eq!(loaded, total - 4, "all but head.* and age.* of {total}");
    let now = net.vs.variables();
    for (name, t) in &variables {
        let same = f32_data(&now[name]) == f32_data(t);
        if name.starts_with("head.") || name.starts_with("age.") {
            assert!(!same, "{name} keeps its own initialisation");
        } else {
            assert!(same, "{name} comes from the file");
        }
    }
    assert_eq!(f32_data(&now["head.weight"]), head_before);
}
