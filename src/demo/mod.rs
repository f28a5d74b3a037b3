//! The demo dataset: synthetic portraits in the real layout, with the real quirks and
//! injected label noise of the real kinds, deterministic for a seed.
//!
//! [`plan`] decides people, labels, quirks and noise; [`generate`] renders and writes the
//! photos on all cores into a staging folder that is renamed into place at the end, so a
//! demo folder is either complete or absent.

pub mod noise;
pub mod placeholder;
pub mod plan;
pub mod portrait;
pub mod raster;
pub mod rng;

pub use noise::{read_manifest, ManifestError, NoiseEntry, NoiseKind};
pub use plan::{plan, DefectKind, DemoPlan, Ext, PlannedDefect, PlannedEvalPerson, PlannedPerson};

use crate::dataset::parallel::{par_map, resolve_threads};
use crate::dataset::{Gender, Slot};
use image::{ImageEncoder, RgbImage};
use portrait::{Identity, MaskFit, MaskLook, Pose};
use rng::Rng;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoConfig {
    /// Training people (seven photos each).
    pub people: usize,
    pub seed: u64,
    /// Fraction of training people given a label error (0 = clean labels).
    pub noise_rate: f64,
    /// Eval people per training person (0.4 gives 40% as many eval photos).
    pub eval_ratio: f64,
    /// Worker threads; 0 means one per core.
    pub threads: usize,
    pub jpeg_quality: u8,
    /// Spoil a few photos (dark, overexposed, grayscale, a file copied, a photo filed
    /// again under another person) so the photo checks have something to show; listed in
    /// `photo_defects.csv`. Only from 30 people on.
    pub photo_defects: bool,
}

impl DemoConfig {
    /// The real dataset's size: 2,700 training people (18,900 photos) and 1,800 eval
    /// people (12,600 eval photos), as `open --demo --full` and `demo-data --full` make it.
    pub fn full_size() -> DemoConfig {
        DemoConfig {
            people: 2700,
            eval_ratio: 1800.0 / 2700.0,
            ..DemoConfig::default()
        }
    }
}

impl Default for DemoConfig {
    fn default() -> Self {
        DemoConfig {
            people: 300,
            seed: 777,
            noise_rate: 0.06,
            eval_ratio: 0.4,
            threads: 0,
            jpeg_quality: 90,
            photo_defects: true,
        }
    }
}

/// What [`generate`] wrote and how fast.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DemoSummary {
    pub root: PathBuf,
    pub people: usize,
    pub train_images: usize,
    pub eval_images: usize,
    pub noise_entries: usize,
    pub bytes_written: u64,
    pub threads: usize,
    pub elapsed_secs: f64,
    pub images_per_sec: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("{0} already exists and is not empty; choose another --out or remove it")]
    Exists(PathBuf),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: cannot encode the image: {reason}")]
    Encode { path: PathBuf, reason: String },
    #[error("demo generation cancelled")]
    Cancelled,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> DemoError + '_ {
    move |source| DemoError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// One photo to render.
#[derive(Debug, Clone)]
struct Task {
    rel_path: String,
    identity_seed: u64,
    gender: Gender,
    age: u32,
    /// Which picture to draw (differs from the file's slot for swapped files).
    picture: Slot,
    incorrect_fit: MaskFit,
    photo_seed: u64,
    ext: Ext,
    rgba: bool,
    /// How the picture is spoiled after drawing, and the JPEG quality it is saved at when
    /// not the dataset's.
    spoil: Option<DefectKind>,
    quality: Option<u8>,
}

/// JPEG quality of a photo filed again: another encoding of the same picture.
const REFILED_QUALITY: u8 = 70;

fn tasks(plan: &DemoPlan, seed: u64) -> Vec<Task> {
    let mut out = Vec::with_capacity(plan.train.len() * 7 + plan.eval_order.len());
    let photo_seed =
        |i: usize, slot: Slot| Rng::derive(seed, 30, (i * 8 + slot.index()) as u64).next_u64();
    for (i, p) in plan.train.iter().enumerate() {
        for slot in Slot::ALL {
            let mut task = Task {
                rel_path: p.rel_path(slot),
                identity_seed: p.identity_seed,
                gender: p.true_gender,
                age: p.true_age,
                picture: p.shown[slot.index()],
                incorrect_fit: p.incorrect_fit,
                photo_seed: photo_seed(i, slot),
                ext: p.exts[slot.index()],
                rgba: p.rgba && p.exts[slot.index()] == Ext::Png,
                spoil: None,
                quality: None,
            };
            let defect = plan
                .photo_defects
                .iter()
                .find(|d| d.person == i && d.slot == slot);
            match defect.map(|d| d.kind) {
                None => {}
                Some(DefectKind::CopyOf(source)) => {
                    // The same picture and encoding as the source slot: the same bytes.
                    task.picture = p.shown[source.index()];
                    task.photo_seed = photo_seed(i, source);
                }
                Some(DefectKind::RefiledFrom {
                    person,
                    slot: source,
                }) => {
                    if let Some(from) = plan.train.get(person) {
                        task.identity_seed = from.identity_seed;
                        task.gender = from.true_gender;
                        task.age = from.true_age;
                        task.picture = from.shown[source.index()];
                        task.incorrect_fit = from.incorrect_fit;
                        task.photo_seed = photo_seed(person, source);
                        task.quality = Some(REFILED_QUALITY);
                    }
                }
                Some(kind) => task.spoil = Some(kind),
            }
            out.push(task);
        }
    }
    for (i, p) in plan.eval.iter().enumerate() {
        for slot in Slot::ALL {
            out.push(Task {
                rel_path: format!("eval/images/{}", p.image_ids[slot.index()]),
                identity_seed: p.identity_seed,
                gender: p.gender,
                age: p.age,
                picture: slot,
                incorrect_fit: p.incorrect_fit,
                photo_seed: Rng::derive(seed, 31, (i * 8 + slot.index()) as u64).next_u64(),
                ext: Ext::Jpg,
                rgba: false,
                spoil: None,
                quality: None,
            });
        }
    }
    out
}

/// Draws the picture of one task.
fn render_task(t: &Task) -> RgbImage {
    let identity = Identity::sample(&mut Rng::new(t.identity_seed), t.gender);
    let mut rng = Rng::new(t.photo_seed);
    let pose = Pose::sample(&mut rng);
    let mask = match t.picture {
        Slot::Normal => None,
        Slot::Incorrect => Some(MaskLook::sample(&mut rng, t.incorrect_fit)),
        _ => Some(MaskLook::sample(&mut rng, MaskFit::Correct)),
    };
    let mut img = portrait::render(&identity, t.age, &pose, mask);
    match t.spoil {
        Some(DefectKind::Dark) => img
            .pixels_mut()
            .for_each(|p| p.0 = p.0.map(|v| (u16::from(v) * 15 / 100) as u8)),
        Some(DefectKind::Overexposed) => img
            .pixels_mut()
            .for_each(|p| p.0 = p.0.map(|v| 255 - ((255 - u16::from(v)) * 5 / 100) as u8)),
        Some(DefectKind::Grayscale) => img.pixels_mut().for_each(|p| {
            let [r, g, b] = p.0.map(u32::from);
            let y = ((r * 299 + g * 587 + b * 114) / 1000) as u8;
            p.0 = [y; 3];
        }),
        _ => {}
    }
    img
}

/// Renders one photo of a person as the generator would (for previews and tests).
pub fn render_preview(
    gender: Gender,
    age: u32,
    identity_seed: u64,
    photo_seed: u64,
    slot: Slot,
) -> RgbImage {
    render_task(&Task {
        rel_path: String::new(),
        identity_seed,
        gender,
        age,
        picture: slot,
        incorrect_fit: MaskFit::BelowNose,
        photo_seed,
        ext: Ext::Jpg,
        rgba: false,
        spoil: None,
        quality: None,
    })
}

fn encode(img: &RgbImage, ext: Ext, rgba: bool, quality: u8) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(64 * 1024);
    let (w, h) = img.dimensions();
    match ext {
        Ext::Jpg | Ext::Jpeg => {
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
                .write_image(img.as_raw(), w, h, image::ExtendedColorType::Rgb8)
                .map_err(|e| e.to_string())?
        }
        Ext::Png if rgba => {
            let rgba_img = image::DynamicImage::ImageRgb8(img.clone()).into_rgba8();
            image::codecs::png::PngEncoder::new(&mut out)
                .write_image(rgba_img.as_raw(), w, h, image::ExtendedColorType::Rgba8)
                .map_err(|e| e.to_string())?
        }
        Ext::Png => image::codecs::png::PngEncoder::new(&mut out)
            .write_image(img.as_raw(), w, h, image::ExtendedColorType::Rgb8)
            .map_err(|e| e.to_string())?,
    }
    Ok(out)
}

/// The first bytes of a macOS AppleDouble (`._name`) file.
const APPLE_DOUBLE: &[u8] = b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        \x00\x02\x00\x00\x00\x09\x00\x00\x00\x32\x00\x00\x0e\xb0";

fn csv_bytes(header: &[&str], rows: impl Iterator<Item = Vec<String>>) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    // Writing into a Vec cannot fail.
    let _ = w.write_record(header);
    for r in rows {
        let _ = w.write_record(&r);
    }
    w.into_inner().unwrap_or_default()
}

/// The CSV files of the plan: (relative path, bytes).
fn csv_files(plan: &DemoPlan) -> Vec<(String, Vec<u8>)> {
    let train = csv_bytes(
        &["id", "gender", "race", "age", "path"],
        plan.train.iter().map(|p| {
            vec![
                p.id.clone(),
                p.given_gender.name().into(),
                plan::RACE.into(),
                p.given_age.to_string(),
                p.folder(),
            ]
        }),
    );
    let info = csv_bytes(
        &["ImageID", "ans"],
        plan.eval_order
            .iter()
            .map(|&(i, s)| vec![plan.eval[i].image_ids[s.index()].clone(), "0".into()]),
    );
    let gt = csv_bytes(
        &["ImageID", "class"],
        plan.eval_order.iter().map(|&(i, s)| {
            vec![
                plan.eval[i].image_ids[s.index()].clone(),
                plan.eval[i].class_of(s).to_string(),
            ]
        }),
    );
    vec![
        ("train/train.csv".into(), train),
        ("eval/info.csv".into(), info),
        ("eval/gt.csv".into(), gt),
        ("noise.csv".into(), noise::to_csv(&plan.noise)),
        ("photo_defects.csv".into(), defects_csv(plan)),
    ]
}

/// `photo_defects.csv`: path, the check that should find it, the other photo of a
/// duplicate.
fn defects_csv(plan: &DemoPlan) -> Vec<u8> {
    let path = |person: usize, slot: Slot| {
        plan.train
            .get(person)
            .map(|p| p.rel_path(slot))
            .unwrap_or_default()
    };
    let mut rows = Vec::new();
    for d in &plan.photo_defects {
        let mine = path(d.person, d.slot);
        let other = match d.kind {
            DefectKind::CopyOf(source) => Some(path(d.person, source)),
            DefectKind::RefiledFrom { person, slot } => Some(path(person, slot)),
            _ => None,
        };
        rows.push(vec![
            mine.clone(),
            d.kind.check().to_string(),
            other.clone().unwrap_or_default(),
        ]);
        // A duplicate is found on both photos.
        if let Some(other) = other {
            rows.push(vec![other, d.kind.check().to_string(), mine]);
        }
    }
    csv_bytes(&["path", "check", "other"], rows.into_iter())
}

/// Writes the demo dataset to `out` (which must not exist or be empty).
/// `progress(done, total)` is called from worker threads as photos are written.
pub fn generate(
    out: &Path,
    cfg: &DemoConfig,
    progress: Option<&(dyn Fn(usize, usize) + Sync)>,
    cancel: Option<&AtomicBool>,
) -> Result<DemoSummary, DemoError> {
    let started = Instant::now();
    if out.exists() {
        let empty = std::fs::read_dir(out)
            .map_err(io_err(out))?
            .next()
            .is_none();
        if !empty {
            return Err(DemoError::Exists(out.to_path_buf()));
        }
    }
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(io_err(&parent))?;
    let staging = tempfile::Builder::new()
        .prefix(".mask-curator-demo-")
        .tempdir_in(&parent)
        .map_err(io_err(&parent))?;
    let root = staging.path();

    let plan = plan::plan(cfg);
    let tasks = tasks(&plan, cfg.seed);
    let mut dirs: Vec<PathBuf> = plan
        .train
        .iter()
        .map(|p| root.join("train/images").join(p.folder()))
        .collect();
    dirs.push(root.join("eval/images"));
    for d in &dirs {
        std::fs::create_dir_all(d).map_err(io_err(d))?;
    }
    let threads = resolve_threads(cfg.threads);
    let total = tasks.len();
    let on_done = |done: usize| {
        if let Some(cb) = progress {
            if done.is_multiple_of(16) || done == total {
                cb(done, total);
            }
        }
    };
    let results = par_map(
        &tasks,
        threads,
        cancel,
        &on_done,
        |t| -> Result<u64, DemoError> {
            let path = root.join(&t.rel_path);
            let img = render_task(t);
            let quality = t.quality.unwrap_or(cfg.jpeg_quality);
            let bytes =
                encode(&img, t.ext, t.rgba, quality).map_err(|reason| DemoError::Encode {
                    path: path.clone(),
                    reason,
                })?;
            std::fs::write(&path, &bytes).map_err(io_err(&path))?;
            Ok(bytes.len() as u64)
        },
    )
    .ok_or(DemoError::Cancelled)?;
    let mut bytes_written = 0;
    for r in results {
        bytes_written += r?;
    }
    for (rel, bytes) in csv_files(&plan) {
        let path = root.join(rel);
        std::fs::write(&path, &bytes).map_err(io_err(&path))?;
        bytes_written += bytes.len() as u64;
    }
    for rel in &plan.junk {
        let path = root.join(rel);
        std::fs::write(&path, APPLE_DOUBLE).map_err(io_err(&path))?;
    }
    let staged = staging.keep();
    if out.exists() {
        std::fs::remove_dir(out).map_err(io_err(out))?;
    }
    if let Err(source) = std::fs::rename(&staged, out) {
        let _ = std::fs::remove_dir_all(&staged);
        return Err(DemoError::Io {
            path: out.to_path_buf(),
            source,
        });
    }
    let elapsed = started.elapsed().as_secs_f64();
    Ok(DemoSummary {
        root: out.to_path_buf(),
        people: plan.train.len(),
        train_images: plan.train.len() * 7,
        eval_images: plan.eval_order.len(),
        noise_entries: plan.noise.len(),
        bytes_written,
        threads,
        elapsed_secs: elapsed,
        images_per_sec: total as f64 / elapsed.max(1e-9),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_photos_are_valid_and_sized() {
        let img = render_preview(Gender::Female, 45, 1, 2, Slot::Mask1);
        assert_eq!(img.dimensions(), (portrait::WIDTH, portrait::HEIGHT));
        for (ext, rgba, channels) in [
            (Ext::Jpg, false, 3),
            (Ext::Png, false, 3),
            (Ext::Png, true, 4),
        ] {
            let bytes = encode(&img, ext, rgba, 90).unwrap();
            let info = crate::dataset::image_check::check_bytes(&bytes).unwrap();
            assert_eq!(
                (info.width, info.height, info.channels),
                (384, 512, channels)
            );
            image::load_from_memory(&bytes).unwrap();
        }
    }

    #[test]
    fn photos_of_one_person_differ_but_share_identity() {
        let a = render_preview(Gender::Male, 30, 5, 1, Slot::Normal);
        let b = render_preview(Gender::Male, 30, 5, 2, Slot::Normal);
        let c = render_preview(Gender::Male, 30, 5, 1, Slot::Normal);
        assert_eq!(a, c, "same seeds, same picture");
        assert_ne!(a, b, "pose and light change between photos");
    }

    #[test]
    fn mask_covers_mouth_only_when_worn() {
        // The mouth region changes colour between a masked and an unmasked photo with the
        // same pose; the eyes region does not.
        let plain = render_preview(Gender::Female, 25, 9, 4, Slot::Normal);
        let masked = render_preview(Gender::Female, 25, 9, 4, Slot::Mask2);
        let diff = |x0: u32, y0: u32, x1: u32, y1: u32| -> f64 {
            let mut s = 0.0;
            for y in y0..y1 {
                for x in x0..x1 {
                    let (p, q) = (plain.get_pixel(x, y).0, masked.get_pixel(x, y).0);
                    s += (0..3)
                        .map(|c| (p[c] as f64 - q[c] as f64).abs())
                        .sum::<f64>();
                }
            }
            s / ((x1 - x0) * (y1 - y0)) as f64
        };
        // Pose noise differs because the photo rng draws a mask look; compare coarsely.
        let mouth = diff(172, 280, 212, 310);
        assert!(mouth > 20.0, "mouth region differs: {mouth}");
    }
}
