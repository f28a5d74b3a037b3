//! Thumbnail pipeline figures, with Pillow (draft mode) measured on the same files in the
//! same run. Prints figures; asserts nothing about speed.
//!
//!   cargo bench --no-default-features --bench thumbs
//!
//! Env: THUMBS_BENCH_IMAGES (default 300 source photos), THUMBS_BENCH_PEOPLE (default 4500),
//! MASK_CURATOR_BENCH_PYTHON (a python with Pillow; default
//! ~/.cache/mask-curator/bench-venv/bin/python).

mod support;

use mask_curator::thumbs::{
    decode, load_or_decode, DiskCache, SourceStamp, Thumb, ThumbConfig, Thumbnailer,
};
use rand::{Rng, SeedableRng};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const MAX_W: u32 = 96;
const MAX_H: u32 = 128;
const SLOTS: [&str; 7] = [
    "mask1",
    "mask2",
    "mask3",
    "mask4",
    "mask5",
    "incorrect_mask",
    "normal",
];

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A 384x512 portrait-like photo: smooth background, face oval, mask band, sensor noise.
fn portrait(rng: &mut rand_chacha::ChaCha8Rng) -> image::RgbImage {
    let (w, h) = (384u32, 512u32);
    let bg = [
        rng.random_range(60..200u8),
        rng.random_range(60..200u8),
        rng.random_range(60..200u8),
    ];
    let skin = [
        rng.random_range(170..230u8),
        rng.random_range(130..180u8),
        rng.random_range(100..150u8),
    ];
    let mask = [
        rng.random_range(0..255u8),
        rng.random_range(0..255u8),
        rng.random_range(0..255u8),
    ];
    let (cx, cy) = (
        w as f32 / 2.0 + rng.random_range(-20.0..20.0),
        h as f32 * 0.45,
    );
    let mut img = image::RgbImage::new(w, h);
    for (x, y, px) in img.enumerate_pixels_mut() {
        let dx = (x as f32 - cx) / 120.0;
        let dy = (y as f32 - cy) / 165.0;
        let r2 = dx * dx + dy * dy;
        let base = if r2 < 1.0 {
            if dy > 0.15 {
                mask
            } else {
                skin
            }
        } else {
            let shade = (y as f32 / h as f32 * 40.0) as u8;
            [
                bg[0].saturating_sub(shade),
                bg[1].saturating_sub(shade),
                bg[2],
            ]
        };
        let n: i16 = rng.random_range(-10..=10);
        *px = image::Rgb(base.map(|c| (i16::from(c) + n).clamp(0, 255) as u8));
    }
    img
}

fn per_image_ms(d: Duration, n: usize) -> f64 {
    d.as_secs_f64() * 1000.0 / n as f64
}

/// Requests every path (newest first order does not matter here) and waits for all.
fn run_pool(cfg: ThumbConfig, paths: &[PathBuf]) -> (Duration, usize) {
    let started = Instant::now();
    let thumbs = Thumbnailer::new(ThumbConfig {
        queue_cap: paths.len() + 1,
        ..cfg
    });
    for p in paths.iter().rev() {
        thumbs.request(p);
    }
    let mut ok = 0;
    let mut done = 0;
    while done < paths.len() {
        let batch = thumbs.poll_ready(usize::MAX);
        if batch.is_empty() {
            std::thread::sleep(Duration::from_micros(200));
        }
        done += batch.len();
        ok += batch.iter().filter(|(_, r)| r.is_ok()).count();
    }
    (started.elapsed(), ok)
}

/// Our cold thumbnail time per photo, one thread, best of three passes over `paths`.
fn cold_decode_ms(paths: &[PathBuf]) -> f64 {
    let mut best = Duration::MAX;
    for _ in 0..3 {
        let t = Instant::now();
        for p in paths {
            let thumb = decode::decode_file(p, MAX_W, MAX_H).expect("bench decode");
            std::hint::black_box(thumb);
        }
        best = best.min(t.elapsed());
    }
    per_image_ms(best, paths.len())
}

/// Writes `paths` one a line to `dir/name` for the Pillow script.
fn write_list(dir: &Path, name: &str, paths: &[PathBuf]) -> PathBuf {
    let list = dir.join(name);
    let text: String = paths.iter().map(|p| format!("{}\n", p.display())).collect();
    std::fs::write(&list, text).expect("bench list");
    list
}

fn pillow(python: &Path, list: &Path) -> Result<(String, f64), String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/bench-thumbs-pillow.py");
    let out = std::process::Command::new(python)
        .arg(&script)
        .arg(list)
        .arg(MAX_W.to_string())
        .arg(MAX_H.to_string())
        .arg("3")
        .output()
        .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
    }
    let field = |k: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(k))
            .map(str::to_string)
    };
    let ms = field("pillow_ms_per_image=")
        .and_then(|v| v.parse().ok())
        .ok_or("no figure printed")?;
    Ok((field("pillow_version=").unwrap_or_default(), ms))
}

fn main() {
    let n_images = env_usize("THUMBS_BENCH_IMAGES", 300);
    let n_people = env_usize("THUMBS_BENCH_PEOPLE", 4500);
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("thumbs bench: {n_images} source JPEGs 384x512 q90, thumbnail box {MAX_W}x{MAX_H}, {cores} cores, loadavg {}", load.trim());

    let work = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("cannot make a temp folder: {e}");
            return;
        }
    };
    let src_dir = work.path().join("src");
    std::fs::create_dir_all(&src_dir).expect("bench temp folder");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let mut sources = Vec::with_capacity(n_images);
    // The same photos with chroma subsampled 4:2:0, as most cameras write them.
    let subsampled_dir = work.path().join("src-420");
    std::fs::create_dir_all(&subsampled_dir).expect("bench temp folder");
    let mut subsampled = Vec::with_capacity(n_images);
    let mut total_bytes = 0u64;
    for i in 0..n_images {
        let p = src_dir.join(format!("{i:04}.jpg"));
        let mut f = std::io::BufWriter::new(std::fs::File::create(&p).expect("bench file"));
        let photo = portrait(&mut rng);
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut f, 90)
            .encode_image(&photo)
            .expect("encode bench photo");
        drop(f);
        let p420 = subsampled_dir.join(format!("{i:04}.jpg"));
        let mut encoder = jpeg_encoder::Encoder::new_file(&p420, 90).expect("bench 4:2:0 file");
        encoder.set_sampling_factor(jpeg_encoder::SamplingFactor::R_4_2_0);
        encoder
            .encode(
                photo.as_raw(),
                photo.width() as u16,
                photo.height() as u16,
                jpeg_encoder::ColorType::Rgb,
            )
            .expect("encode bench 4:2:0 photo");
        subsampled.push(p420);
        total_bytes += std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
        sources.push(p);
    }
    println!(
        "  mean source file: {:.1} KB",
        total_bytes as f64 / n_images as f64 / 1024.0
    );

    // Warm the OS file cache so both decoders read from memory.
    for p in &sources {
        let _ = std::fs::read(p);
    }

    // --- cold decode, one thread (best of 3 passes) ---
    let ours_ms = cold_decode_ms(&sources);
    println!("  ours  cold decode, 1 thread:            {ours_ms:.3} ms/image");
    let in_memory: Vec<Vec<u8>> = sources
        .iter()
        .map(|p| std::fs::read(p).expect("bench read"))
        .collect();
    let t = Instant::now();
    for (p, bytes) in sources.iter().zip(&in_memory) {
        std::hint::black_box(decode::decode_bytes(p, bytes, MAX_W, MAX_H).expect("bench decode"));
    }
    println!(
        "    of which decode from memory           {:.3} ms/image",
        per_image_ms(t.elapsed(), n_images)
    );

    let full = Instant::now();
    for p in &sources {
        let img = image::open(p).expect("bench decode").to_rgba8();
        std::hint::black_box(image::imageops::thumbnail(&img, MAX_W, MAX_H));
    }
    println!(
        "  image crate full decode + thumbnail:    {:.3} ms/image (what DCT scaling avoids)",
        per_image_ms(full.elapsed(), n_images)
    );

    // --- Pillow peer ---
    let python = std::env::var_os("MASK_CURATOR_BENCH_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_default();
            home.join(".cache/mask-curator/bench-venv/bin/python")
        });
    match pillow(&python, &write_list(work.path(), "list.txt", &sources)) {
        Ok((version, pil_ms)) => {
            println!("  Pillow {version} draft mode, 1 thread:   {pil_ms:.3} ms/image");
            println!("  speedup vs Pillow per core:             {:.2}x", pil_ms / ours_ms);
        }
        Err(why) => println!(
            "  Pillow peer NOT MEASURED ({}): {why}\n  (set MASK_CURATOR_BENCH_PYTHON to a python with Pillow, or create \
             ~/.cache/mask-curator/bench-venv with Pillow)",
            python.display()
        ),
    }

    // --- the same photos with 4:2:0 chroma ---
    let ours_420 = cold_decode_ms(&subsampled);
    let peer = match pillow(
        &python,
        &write_list(work.path(), "list-420.txt", &subsampled),
    ) {
        Ok((_, pil_ms)) => format!(
            "Pillow {pil_ms:.3} ms/image, speedup {:.2}x",
            pil_ms / ours_420
        ),
        Err(_) => "Pillow not measured".to_string(),
    };
    println!("  4:2:0 copies, 1 thread: ours {ours_420:.3} ms/image, {peer}");

    // --- cold through the pool ---
    for workers in [1, 2] {
        let cfg = ThumbConfig {
            workers,
            max_w: MAX_W,
            max_h: MAX_H,
            disk_cache: None,
            queue_cap: 0,
        };
        let (d, ok) = run_pool(cfg, &sources);
        println!(
            "  ours  cold, pool of {workers}:                  {:.0} images/s ({ok} ok)",
            n_images as f64 / d.as_secs_f64()
        );
    }
    let cache_dir = work.path().join("cold-cache");
    let cfg = ThumbConfig {
        workers: 2,
        max_w: MAX_W,
        max_h: MAX_H,
        disk_cache: Some(cache_dir.clone()),
        queue_cap: 0,
    };
    let (d, _) = run_pool(cfg, &sources);
    println!(
        "  ours  cold + disk cache write, pool of 2: {:.0} images/s",
        n_images as f64 / d.as_secs_f64()
    );

    // --- a full-size dataset in the cache: 4,500 people x 7 (hard links to the sources) ---
    let root = work.path().join("dataset");
    let cache = DiskCache::new(root.join(".mask-curator/thumbs"), MAX_W, MAX_H);
    let source_thumbs: Vec<Thumb> = sources
        .iter()
        .map(|p| decode::decode_file(p, MAX_W, MAX_H).expect("bench decode"))
        .collect();
    let mut grid: Vec<PathBuf> = Vec::with_capacity(n_people * 7);
    let fill = Instant::now();
    for person in 0..n_people {
        let folder = root.join(format!("train/images/{person:06}_female_Asian_30"));
        std::fs::create_dir_all(&folder).expect("bench folder");
        for (slot, stem) in SLOTS.iter().enumerate() {
            let k = (person * 7 + slot) % n_images;
            let path = folder.join(format!("{stem}.jpg"));
            if std::fs::hard_link(&sources[k], &path).is_err() {
                std::fs::copy(&sources[k], &path).expect("bench copy");
            }
            let stamp = SourceStamp::of(&std::fs::metadata(&path).expect("bench stat"));
            cache
                .store(&path, stamp, &source_thumbs[k])
                .expect("bench cache store");
            grid.push(path);
        }
    }
    let fill_s = fill.elapsed().as_secs_f64();
    let (mut cache_bytes, mut cache_files) = (0u64, 0u64);
    if let Ok(dirs) = std::fs::read_dir(cache.dir()) {
        for d in dirs.flatten() {
            for f in std::fs::read_dir(d.path()).into_iter().flatten().flatten() {
                cache_bytes += f.metadata().map(|m| m.len()).unwrap_or(0);
                cache_files += 1;
            }
        }
    }
    println!(
        "  cache of {} photos: {cache_files} entries, {:.1} MB ({:.1} KB each); filled in {fill_s:.1} s",
        grid.len(),
        cache_bytes as f64 / 1e6,
        cache_bytes as f64 / cache_files.max(1) as f64 / 1024.0
    );

    // Single-thread cached read.
    let sample = &grid[..grid.len().min(2000)];
    let t = Instant::now();
    for p in sample {
        let loaded = load_or_decode(p, MAX_W, MAX_H, Some(&cache)).expect("bench cached read");
        assert!(loaded.from_cache, "bench cache entry missing");
        std::hint::black_box(loaded);
    }
    let hit_ms = per_image_ms(t.elapsed(), sample.len());
    println!(
        "  warm cache read, 1 thread:              {hit_ms:.3} ms/image ({:.1}x cheaper than decoding)",
        ours_ms / hit_ms
    );

    // Where a cached read spends its time.
    let t = Instant::now();
    let entries: Vec<Vec<u8>> = sample
        .iter()
        .map(|p| std::fs::read(cache.entry_path(p)).unwrap_or_default())
        .collect();
    let read_ms = per_image_ms(t.elapsed(), sample.len());
    let stamps: Vec<SourceStamp> = sample
        .iter()
        .map(|p| SourceStamp::of(&std::fs::metadata(p).expect("bench stat")))
        .collect();
    let t = Instant::now();
    for ((p, bytes), stamp) in sample.iter().zip(&entries).zip(&stamps) {
        std::hint::black_box(cache.parse_entry(p, *stamp, bytes).expect("bench entry"));
    }
    let parse_ms = per_image_ms(t.elapsed(), sample.len());
    println!("    of which file read {read_ms:.3} ms, entry decode {parse_ms:.3} ms");

    let cfg = ThumbConfig {
        workers: 2,
        max_w: MAX_W,
        max_h: MAX_H,
        disk_cache: Some(cache.dir().to_path_buf()),
        queue_cap: 0,
    };
    let first_screen = &grid[..grid.len().min(20 * 7)];
    let (d, ok) = run_pool(cfg.clone(), first_screen);
    println!(
        "  open -> first 20 people x 7 from cache: {:.1} ms ({ok} thumbs, pool start included)",
        d.as_secs_f64() * 1000.0
    );
    let (d, ok) = run_pool(cfg, &grid);
    println!(
        "  all {} cached thumbs, pool of 2:      {:.2} s = {:.0} images/s ({ok} ok)",
        grid.len(),
        d.as_secs_f64(),
        grid.len() as f64 / d.as_secs_f64()
    );

    match support::peak_rss_mb() {
        Some(mb) => println!("  peak memory (VmHWM):                    {mb:.1} MB"),
        None => println!("  peak memory: /proc/self/status not available"),
    }
}
