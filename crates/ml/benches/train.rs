//! Training throughput: the small CNN, same batch size and input size, from the same JPEG
//! files, here (loader threads + cache + libtorch) and in PyTorch (DataLoader with 2 workers,
//! PIL decode + resize; scripts/bench-train-pytorch.py), 2 epochs so that our photo cache
//! counts. Prints images/s of both and the ratio.
//!
//!   cargo bench --bench train            (BENCH_PHOTOS=448 BENCH_EPOCHS=2 by default)
//!
//! The PyTorch side runs with MASK_CURATOR_PYTHON, else .venv/bin/python (scripts/setup.sh).

use mask_curator::ml::config::{AgeLoss, Augment, CropBox, ImageSize, TrainConfig};
use mask_curator::ml::loader::{Item, Loader};
use mask_curator_ml::model::Net;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;
use tch::nn::OptimizerConfig;
use tch::{Device, Tensor};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Photos of the real size (384x512) with enough texture to be realistic to decode.
fn make_photos(dir: &Path, n: usize) -> Vec<(PathBuf, i64)> {
    (0..n)
        .map(|i| {
            let path = dir.join(format!("{i:05}.jpg"));
            let label = (i % 18) as i64;
            if !path.exists() {
                let img = image::RgbImage::from_fn(384, 512, |x, y| {
                    let v = (x * 3 + y * 5 + (i as u32) * 17) ^ (x * y / 7);
                    image::Rgb([
                        (v % 251) as u8,
                        ((v / 3 + label as u32 * 11) % 253) as u8,
                        ((x + y) % 255) as u8,
                    ])
                });
                img.save(&path).expect("write bench photo");
            }
            (path, label)
        })
        .collect()
}

fn main() {
    let photos = env_usize("BENCH_PHOTOS", 448);
    let epochs = env_usize("BENCH_EPOCHS", 2);
    let batch = env_usize("BENCH_BATCH", 32);
    let workers = env_usize("BENCH_WORKERS", 2);
    let size = ImageSize {
        width: 72,
        height: 96,
    };
    let crop = CropBox::default();
    let dir = std::env::temp_dir().join(format!("mask-curator-bench-{photos}"));
    std::fs::create_dir_all(&dir).expect("bench folder");
    let files = make_photos(&dir, photos);
    println!("bench: {photos} JPEGs 384x512 in {}, small_cnn, batch {batch}, input {size}, {epochs} epochs, {workers} loader threads", dir.display());

    tch::manual_seed(777);
    // The PyTorch script builds the classification network only: no age head here.
    let config = TrainConfig {
        image_size: size,
        batch_size: batch,
        age_loss: AgeLoss::None,
        ..Default::default()
    };
    let net = Net::new(&config, Device::Cpu).expect("model");
    let mut opt = tch::nn::adamw(0.9, 0.999, config.weight_decay)
        .build(&net.vs, config.lr)
        .expect("optimizer");
    let items: Vec<Item> = files
        .iter()
        .map(|(p, l)| Item {
            path: p.clone(),
            label: *l,
        })
        .collect();
    let loader = Loader::new(items, crop, size, workers, 4);
    let augment = Augment {
        hflip: true,
        ..Augment::OFF
    };
    let started = Instant::now();
    let mut per_epoch = Vec::new();
    for epoch in 0..epochs {
        let t = Instant::now();
        let order: Vec<usize> = (0..photos).collect();
        for b in loader.batches(order, batch, augment, epoch as u64) {
            let b = b.expect("batch");
            let n = b.labels.len() as i64;
            let x = Tensor::from_slice(&b.pixels).view([
                n,
                3,
                i64::from(size.height),
                i64::from(size.width),
            ]);
            let y = Tensor::from_slice(&b.labels);
            let loss = net
                .loss(
                    &net.forward(&x, true).expect("forward").logits,
                    &y,
                    config.loss,
                    &[],
                )
                .expect("loss");
            opt.backward_step(&loss);
        }
        per_epoch.push(photos as f64 / t.elapsed().as_secs_f64());
    }
    let ours = (photos * epochs) as f64 / started.elapsed().as_secs_f64();
    let epochs_text: Vec<String> = per_epoch.iter().map(|v| format!("{v:.0}")).collect();
    println!(
        "mask-curator : {ours:8.1} images/s (per epoch: {})",
        epochs_text.join(", ")
    );

    let python = std::env::var("MASK_CURATOR_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(".venv/bin/python"));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/bench-train-pytorch.py");
    let out = Command::new(&python)
        .arg(&script)
        .arg(&dir)
        .args([
            "--photos",
            &photos.to_string(),
            "--epochs",
            &epochs.to_string(),
            "--batch-size",
            &batch.to_string(),
        ])
        .args([
            "--workers",
            &workers.to_string(),
            "--size",
            &size.to_string(),
        ])
        .output();
    match out {
        Ok(o) if o.status.success() => {
            let text = String::from_utf8_lossy(&o.stdout);
            print!("{text}");
            let theirs = text
                .lines()
                .find_map(|l| l.strip_prefix("pytorch      :"))
                .and_then(|rest| rest.split_whitespace().next()?.parse::<f64>().ok());
            match theirs {
                Some(t) => println!(
                    "ratio        : {:.2}x (mask-curator / PyTorch; target >= 1.2x)",
                    ours / t
                ),
                None => println!("could not read the PyTorch figure from:\n{text}"),
            }
        }
        Ok(o) => println!(
            "PyTorch bench failed ({}):\n{}",
            python.display(),
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => println!(
            "PyTorch bench not run: {}: {e} (set MASK_CURATOR_PYTHON)",
            python.display()
        ),
    }
}
