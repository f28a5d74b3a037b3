//! UI frame time while scrolling the people grid of a 4,500-person dataset, and peak
//! memory. The real app runs headless (egui_kittest, no GPU): each frame is the app's
//! whole UI pass (layout, thumbnails requested and uploaded, painting) plus tessellation,
//! measured on the UI thread while the thumbnail workers decode on the other cores.
//!
//! The peer, measured in the same run: the same rows drawn the naive way (one
//! `ScrollArea::show` laying out every row, placeholder tiles, no images at all).
//!
//!   cargo bench --bench ui_scroll          (UI_BENCH_PEOPLE=4500 by default)

mod support;

use egui_kittest::Harness;
use mask_curator::dataset::Slot;
use mask_curator::ui::commands::Command;
use mask_curator::ui::state::View;
use mask_curator::ui::{AppOptions, MaskCuratorApp};
use rand::{Rng, SeedableRng};
use std::path::Path;
use std::time::{Duration, Instant};
use support::status_mb;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A noisy 384x512 portrait-sized JPEG (realistic decode cost).
fn write_photo(path: &Path, seed: u64) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let img = image::RgbImage::from_fn(384, 512, |x, y| {
        let n: u8 = rng.random_range(0..24);
        let face = ((x as i32 - 192).pow(2) + (y as i32 - 230).pow(2)) < 130 * 130;
        let base = if face { [210, 170, 140] } else { [70, 90, 120] };
        image::Rgb(base.map(|c: u8| c.saturating_add(n)))
    });
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).expect("bench photo"));
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut f, 90)
        .encode_image(&img)
        .expect("encode bench photo");
}

/// `people` people in the real layout; the photos are hard links to 7 x 8 distinct JPEGs,
/// so the tree is made in seconds but every path decodes on its own.
fn write_dataset(root: &Path, people: usize) {
    let sources = root.join("sources");
    std::fs::create_dir_all(&sources).expect("bench folder");
    let distinct = 56;
    for i in 0..distinct {
        write_photo(&sources.join(format!("{i}.jpg")), i as u64);
    }
    let mut csv = String::from("id,gender,race,age,path\n");
    for p in 0..people {
        let (gender, age) = (["male", "female"][p % 2], 20 + (p * 7) % 45);
        let folder = format!("{:06}_{gender}_Asian_{age}", p + 1);
        csv.push_str(&format!("{:06},{gender},Asian,{age},{folder}\n", p + 1));
        let dir = root.join("train/images").join(&folder);
        std::fs::create_dir_all(&dir).expect("bench folder");
        for slot in Slot::ALL {
            let src = sources.join(format!("{}.jpg", (p * 7 + slot.index()) % distinct));
            let dst = dir.join(format!("{}.jpg", slot.stem()));
            if std::fs::hard_link(&src, &dst).is_err() {
                std::fs::copy(&src, &dst).expect("bench photo copy");
            }
        }
    }
    std::fs::write(root.join("train/train.csv"), csv).expect("bench train.csv");
}

/// Memory of an app run. The headless harness has no GPU renderer, so it keeps every
/// texture upload it is handed (a real renderer copies them to the GPU and frees them):
/// that share is reported apart. Mapped library files (libtorch alone maps hundreds of MB
/// of code) are shared, read-only and reclaimable, so the app's own figure is its private
/// memory above what the process held before the app opened.
fn print_memory(h: &Harness<'static, MaskCuratorApp>, what: &str, anon_before: f64) {
    let (uploads, kept_by_harness) = kept_by_harness(h);
    if let (Some(rss), Some(anon), Some(file)) = (
        status_mb("VmRSS:"),
        status_mb("RssAnon:"),
        status_mb("RssFile:"),
    ) {
        println!(
            "  memory after {what}: {rss:.0} MB resident = {file:.0} MB mapped files + {anon:.0} MB private; \
             the private part holds ~{kept_by_harness:.0} MB of the {uploads} thumbnail uploads the harness keeps \
             and {anon_before:.0} MB the process held at start -> app ~{:.0} MB (target < 600 MB)",
            anon - kept_by_harness - anon_before
        );
    }
}

/// Thumbnail uploads so far and the MB of them the harness keeps (96x128 RGBA each).
fn kept_by_harness(h: &Harness<'static, MaskCuratorApp>) -> (u64, f64) {
    let uploads = h
        .state()
        .rt
        .thumbs
        .as_ref()
        .map_or(0, |t| t.stats().uploaded_total);
    (uploads, uploads as f64 * (96.0 * 128.0 * 4.0) / 1e6)
}

/// The app's memory over a whole run, as [`print_memory`] counts it, sampled between
/// frames: its highest value is the app's peak.
struct AppMemory {
    anon_at_start: f64,
    peak: f64,
}

impl AppMemory {
    fn sample(&mut self, h: &Harness<'static, MaskCuratorApp>) {
        if let Some(anon) = status_mb("RssAnon:") {
            let app = anon - kept_by_harness(h).1 - self.anon_at_start;
            self.peak = self.peak.max(app);
        }
    }
}

struct FrameStats {
    frames: usize,
    median: f64,
    p99: f64,
    max: f64,
}

fn stats(mut ms: Vec<f64>) -> FrameStats {
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
    FrameStats {
        frames: ms.len(),
        median: at(0.5),
        p99: at(0.99),
        max: ms[ms.len() - 1],
    }
}

fn print(name: &str, s: &FrameStats) {
    println!(
        "  {name:<44} median {:6.2} ms   p99 {:6.2} ms   max {:6.2} ms   ({} frames)",
        s.median, s.p99, s.max, s.frames
    );
}

/// One frame of the real app plus tessellation, in milliseconds.
fn app_frame(h: &mut Harness<'static, MaskCuratorApp>) -> f64 {
    let t = Instant::now();
    h.step();
    let out = h.output();
    std::hint::black_box(h.ctx.tessellate(out.shapes.clone(), out.pixels_per_point));
    t.elapsed().as_secs_f64() * 1000.0
}

/// Scrolls the grid top to bottom, `rows` people per frame (J held = 1; a fast wheel
/// flick = 10; dragging the scroll bar = 100), one frame per 1/60 s.
fn scroll_app(
    h: &mut Harness<'static, MaskCuratorApp>,
    people: usize,
    rows: i32,
    memory: &mut AppMemory,
) -> FrameStats {
    h.state_mut().apply(Command::SelectPerson(0));
    h.state_mut().apply(Command::StepPerson(0));
    app_frame(h);
    let mut ms = Vec::new();
    let frames = people.div_ceil(rows as usize);
    for frame in 0..frames {
        h.state_mut().apply(Command::StepPerson(rows));
        let spent = app_frame(h);
        ms.push(spent);
        // Between frames, in the time a 60 Hz frame leaves.
        if frame % 10 == 0 {
            memory.sample(h);
        }
        std::thread::sleep(Duration::from_secs_f64(
            (1.0 / 60.0 - spent / 1000.0).max(0.0),
        ));
    }
    stats(ms)
}

fn open_app(root: &Path) -> Harness<'static, MaskCuratorApp> {
    let opts = AppOptions {
        open: Some(root.to_path_buf()),
        use_storage: false,
        ..Default::default()
    };
    let mut h = Harness::builder()
        .with_size([1400.0, 900.0])
        .build_eframe(move |cc| MaskCuratorApp::new(cc, opts));
    let started = Instant::now();
    while h.state().is_busy() || h.state().session().is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "the dataset did not open"
        );
        h.step();
        std::thread::sleep(Duration::from_millis(5));
    }
    h.state_mut().state.view = View::People;
    h.step();
    h
}

/// The naive peer: every row laid out each frame inside one scroll area.
fn scroll_naive(people: usize, rows: usize, row_h: f32) -> FrameStats {
    let offset = std::rc::Rc::new(std::cell::Cell::new(0.0f32));
    let shared = offset.clone();
    let mut h = Harness::builder()
        .with_size([1400.0, 900.0])
        .build_ui(move |ui| {
            egui::ScrollArea::vertical()
                .vertical_scroll_offset(shared.get())
                .show(ui, |ui| {
                    for p in 0..people {
                        ui.horizontal(|ui| {
                            ui.label(format!("{:06}_person", p + 1));
                            for _ in 0..7 {
                                let (rect, _) = ui.allocate_exact_size(
                                    egui::vec2(row_h * 0.75, row_h),
                                    egui::Sense::click(),
                                );
                                ui.painter()
                                    .rect_filled(rect, 3.0, egui::Color32::DARK_GRAY);
                            }
                        });
                    }
                });
        });
    let mut ms = Vec::new();
    for frame in 0..people.div_ceil(rows) {
        offset.set((frame * rows) as f32 * (row_h + 4.0));
        let t = Instant::now();
        h.step();
        let out = h.output();
        std::hint::black_box(h.ctx.tessellate(out.shapes.clone(), out.pixels_per_point));
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    stats(ms)
}

fn main() {
    let people = env_usize("UI_BENCH_PEOPLE", 4500);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "ui_scroll bench: {people} people x 7 photos (384x512 JPEG), window 1400x900, headless; loadavg {}",
        load.trim()
    );
    // What the process holds before any app exists: libraries loaded, nothing opened.
    let anon_at_start = status_mb("RssAnon:").unwrap_or(0.0);
    if let (Some(rss), Some(file)) = (status_mb("VmRSS:"), status_mb("RssFile:")) {
        println!(
            "  resident at start: {rss:.0} MB ({file:.0} MB mapped files, {anon_at_start:.0} MB private)"
        );
    }
    let mut memory = AppMemory {
        anon_at_start,
        peak: 0.0,
    };
    let work = tempfile::tempdir().expect("bench temp folder");
    let root = work.path().join("dataset");
    let t = Instant::now();
    write_dataset(&root, people);
    println!("  dataset written in {:.1} s", t.elapsed().as_secs_f64());

    // First open: every thumbnail decodes while scrolling (cold).
    let t = Instant::now();
    let mut h = open_app(&root);
    println!(
        "  open (scan + journal) to the first frame: {:.0} ms",
        t.elapsed().as_secs_f64() * 1000.0
    );
    let row_h = h.state().state.thumb_height;
    println!("  real app, first open (thumbnails decoding):");
    print(
        "scroll 10 rows/frame, cold",
        &scroll_app(&mut h, people, 10, &mut memory),
    );
    // Let the workers fill the disk cache for the whole grid, as a session would.
    h.state_mut().apply(Command::SelectPerson(0));
    for _ in 0..people.div_ceil(5) {
        h.state_mut().apply(Command::StepPerson(5));
        h.step();
    }
    drop(h);
    // Hand the first run's freed heap back to the OS, so the second run's resident memory
    // is its own (the harness keeps every upload; a faster first run leaves more behind).
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free heap pages; it has no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
    if let (Some(rss), Some(file), Some(anon)) = (
        status_mb("VmRSS:"),
        status_mb("RssFile:"),
        status_mb("RssAnon:"),
    ) {
        println!(
            "  resident before the second open: {rss:.0} MB ({file:.0} MB mapped files, {anon:.0} MB private)"
        );
    }

    // Second open: thumbnails come from the disk cache.
    let t = Instant::now();
    let mut h = open_app(&root);
    println!(
        "  real app, second open (disk cache; open to first frame {:.0} ms):",
        t.elapsed().as_secs_f64() * 1000.0
    );
    for rows in [1, 10, 100] {
        let name = format!("scroll {rows} rows/frame, warm");
        let s = if rows == 1 {
            // J held through every person would take 75 s at 60 Hz; a tenth shows the same.
            scroll_app(&mut h, people / 10, rows, &mut memory)
        } else {
            scroll_app(&mut h, people, rows, &mut memory)
        };
        print(&name, &s);
    }
    print_memory(&h, "the warm scrolls", anon_at_start);
    println!(
        "  app's peak memory over both opens (sampled every 10th frame, counted as above): {:.0} MB (target < 600 MB)",
        memory.peak
    );
    drop(h);

    println!("  naive egui grid (all rows laid out, no images), same window:");
    print("scroll 100 rows/frame", &scroll_naive(people, 100, row_h));
    if let Some(peak) = status_mb("VmHWM:") {
        println!("  peak resident memory of the whole bench (harness included): {peak:.0} MB");
    }
    println!("  target: p99 under 8 ms CPU per frame while scrolling");
}
