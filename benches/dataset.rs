//! Throughput of the demo generator and of the dataset scan. Prints figures; asserts none.
//!
//!   cargo bench --no-default-features --bench dataset
//!   DEMO_BENCH_PEOPLE=300 cargo bench --no-default-features --bench dataset

use image::ImageEncoder;
use mask_curator::dataset::{scan_with, ScanOptions, Verify};
use mask_curator::demo::{generate, DemoConfig};
use std::path::Path;
use std::time::Instant;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn bench_scan(label: &str, root: &Path, verify: Verify, threads: usize) {
    // One untimed pass warms the page cache so runs compare decoding, not the disk.
    let _ = scan_with(
        root,
        &ScanOptions {
            verify,
            threads,
            ..Default::default()
        },
    );
    let started = Instant::now();
    let report = match scan_with(
        root,
        &ScanOptions {
            verify,
            threads,
            ..Default::default()
        },
    ) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{label}: scan failed: {e}");
            return;
        }
    };
    let secs = started.elapsed().as_secs_f64();
    let files = report.stats.photos_checked + report.stats.eval_images_checked;
    println!(
        "scan {label:<34} {:>6} files {:>5} people in {secs:>6.3} s: {:>8.0} photos/s {:>7.0} people/s ({} threads, {:?}, {} problems)",
        files,
        report.dataset.people.len(),
        files as f64 / secs,
        report.dataset.people.len() as f64 / secs,
        report.stats.threads,
        verify,
        report.dataset.problems.len()
    );
}

fn placeholder_tree(dir: &Path) -> Option<std::path::PathBuf> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let Some(layout) = manifest
        .ancestors()
        .skip(1)
        .map(|a| a.join("shared/real-layout"))
        .find(|d| d.join("train_images.csv").is_file())
    else {
        println!(
            "placeholder tree: SKIPPED (no shared/real-layout beside {})",
            manifest.display()
        );
        return None;
    };
    let train_images = layout.join("train_images.csv");
    let root = dir.join("real");
    let jpeg = {
        let img = image::RgbImage::from_pixel(8, 8, image::Rgb([120, 90, 60]));
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80)
            .write_image(img.as_raw(), 8, 8, image::ExtendedColorType::Rgb8)
            .ok()?;
        out
    };
    let png = {
        let mut out = Vec::new();
        image::codecs::png::PngEncoder::new(&mut out)
            .write_image(&[9u8; 8 * 8 * 3], 8, 8, image::ExtendedColorType::Rgb8)
            .ok()?;
        out
    };
    std::fs::create_dir_all(root.join("train/images")).ok()?;
    std::fs::create_dir_all(root.join("eval/images")).ok()?;
    std::fs::copy(layout.join("train.csv"), root.join("train/train.csv")).ok()?;
    std::fs::copy(layout.join("eval_info.csv"), root.join("eval/info.csv")).ok()?;
    let mut reader = csv::Reader::from_path(&train_images).ok()?;
    for r in reader.records() {
        let r = r.ok()?;
        let rel = r[1].strip_prefix("input/data/train/images/")?.to_string();
        let path = root.join("train/images").join(&rel);
        std::fs::create_dir_all(path.parent()?).ok()?;
        std::fs::write(path, if rel.ends_with(".png") { &png } else { &jpeg }).ok()?;
    }
    let mut reader = csv::Reader::from_path(layout.join("eval_info.csv")).ok()?;
    for r in reader.records() {
        std::fs::write(root.join("eval/images").join(&r.ok()?[0]), &jpeg).ok()?;
    }
    Some(root)
}

fn main() {
    // `cargo test --benches` runs this with `--bench` absent: keep that quick.
    let quick = !std::env::args().any(|a| a == "--bench");
    let people = env_usize("DEMO_BENCH_PEOPLE", if quick { 8 } else { 120 });
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("cannot create a temp dir: {e}");
            return;
        }
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("dataset bench: {cores} cores, demo of {people} people");

    let mut demo_root = None;
    for threads in [1, 0] {
        let out = dir.path().join(format!("demo-{threads}"));
        let cfg = DemoConfig {
            people,
            threads,
            ..Default::default()
        };
        match generate(&out, &cfg, None, None) {
            Ok(s) => {
                println!(
                    "demo-data {:>5} images ({} train + {} eval) in {:>6.2} s: {:>6.1} images/s on {} thread(s), {:.1} MB",
                    s.train_images + s.eval_images,
                    s.train_images,
                    s.eval_images,
                    s.elapsed_secs,
                    s.images_per_sec,
                    s.threads,
                    s.bytes_written as f64 / 1e6
                );
                demo_root = Some(out);
            }
            Err(e) => eprintln!("demo-data failed: {e}"),
        }
    }
    if let Some(root) = &demo_root {
        bench_scan("demo tree, headers, 1 thread", root, Verify::Header, 1);
        bench_scan("demo tree, headers", root, Verify::Header, 0);
        bench_scan("demo tree, full decode", root, Verify::Decode, 0);
    }
    if quick {
        return;
    }
    if let Some(root) = placeholder_tree(dir.path()) {
        bench_scan(
            "placeholder 18,900 + 12,600, 1 thread",
            &root,
            Verify::Header,
            1,
        );
        bench_scan("placeholder 18,900 + 12,600", &root, Verify::Header, 0);
    }
}
