//! Photo loading for training and inference. Worker threads decode, crop and resize photos
//! (cached in memory after the first time, as u8 RGB at the network's input size), apply
//! the training augmentation and hand finished batches through a bounded prefetch queue.
//! The training loop only sees an iterator of batches, in a deterministic order.

use super::config::{Augment, CropBox, ImageSize, TrainConfig};
use crossbeam_channel::{bounded, unbounded, Receiver, Sender};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;

/// ImageNet statistics, the normalisation pretrained torchvision weights expect.
const MEAN: [f32; 3] = [0.485, 0.456, 0.406];
const STD: [f32; 3] = [0.229, 0.224, 0.225];

#[derive(Debug, Clone, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct LoadError {
    pub path: PathBuf,
    pub reason: String,
}

/// A photo prepared for the network: RGB u8, row-major, `size.height x size.width x 3`.
pub type Prepared = Arc<[u8]>;

/// Decodes `path`, crops `crop` and resizes to `size`. The decode is the one every photo
/// goes through (`thumbs::decode::decode_photo`: size limits, panics caught, the same
/// colour handling as thumbnails); JPEGs come out at the smallest DCT scale that still
/// covers the target, which is much faster than a full decode.
pub fn prepare_photo(path: &Path, crop: CropBox, size: ImageSize) -> Result<Vec<u8>, LoadError> {
    use crate::thumbs::decode::{decode_photo, read_photo, Strictness};
    let err = |reason: String| LoadError {
        path: path.to_path_buf(),
        reason,
    };
    let bytes = read_photo(path).map_err(|e| err(e.reason().to_string()))?;
    // The scaled photo must keep at least the target size inside the crop.
    let need_w = (size.width as f32 / (crop.right - crop.left)).ceil() as u32;
    let need_h = (size.height as f32 / (crop.bottom - crop.top)).ceil() as u32;
    let decoded = decode_photo(path, &bytes, &|_, _| (need_w, need_h), Strictness::Lenient)
        .map_err(|e| err(format!("cannot decode: {}", e.reason())))?;
    let (w, h) = (decoded.width, decoded.height);
    let rgb: Vec<u8> = decoded
        .rgba
        .chunks_exact(4)
        .flat_map(|p| [p[0], p[1], p[2]])
        .collect();
    let rgb = image::RgbImage::from_raw(w, h, rgb)
        .ok_or_else(|| err("decoded pixels do not match their size".to_string()))?;
    if w < 2 || h < 2 {
        return Err(err(format!("image is only {w}x{h} pixels")));
    }
    let x0 = ((crop.left * w as f32) as u32).min(w - 1);
    let y0 = ((crop.top * h as f32) as u32).min(h - 1);
    let x1 = ((crop.right * w as f32).ceil() as u32).clamp(x0 + 1, w);
    let y1 = ((crop.bottom * h as f32).ceil() as u32).clamp(y0 + 1, h);
    let cropped = image::imageops::crop_imm(&rgb, x0, y0, x1 - x0, y1 - y0).to_image();
    let resized = image::imageops::resize(
        &cropped,
        size.width,
        size.height,
        image::imageops::FilterType::Triangle,
    );
    Ok(resized.into_raw())
}

/// [`prepare_photo`] with any panic (cropping, resizing, a decoder) turned into an error
/// for that photo.
fn prepare_guarded(path: &Path, crop: CropBox, size: ImageSize) -> Result<Vec<u8>, LoadError> {
    catch_unwind(|| prepare_photo(path, crop, size)).unwrap_or_else(|panic| {
        Err(LoadError {
            path: path.to_path_buf(),
            reason: format!(
                "cannot decode: panicked: {}",
                crate::thumbs::decode::panic_message(panic.as_ref())
            ),
        })
    })
}

/// One photo to load.
#[derive(Debug, Clone)]
pub struct Item {
    pub path: PathBuf,
    /// The target class (18-class code, or anything the caller wants carried along).
    pub label: i64,
}

/// A batch ready for the network.
#[derive(Debug)]
pub struct Batch {
    /// Position of the batch in the epoch.
    pub index: usize,
    /// Item indices in the batch, in order.
    pub items: Vec<usize>,
    /// Normalised float pixels, `N x 3 x H x W`.
    pub pixels: Vec<f32>,
    pub labels: Vec<i64>,
}

/// Loads items by index into batches on worker threads, caching prepared photos.
pub struct Loader {
    items: Arc<Vec<Item>>,
    cache: Arc<Vec<OnceLock<Prepared>>>,
    crop: CropBox,
    size: ImageSize,
    workers: usize,
    prefetch: usize,
}

impl Loader {
    /// A loader as a recipe sets it up: its crop, input size, workers and prefetch.
    pub fn for_recipe(items: Vec<Item>, config: &TrainConfig) -> Self {
        Loader::new(
            items,
            config.crop,
            config.image_size,
            config.workers,
            config.prefetch,
        )
    }

    /// `workers` 0 means one per core.
    pub fn new(
        items: Vec<Item>,
        crop: CropBox,
        size: ImageSize,
        workers: usize,
        prefetch: usize,
    ) -> Self {
        let workers = if workers == 0 {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
        } else {
            workers
        };
        let cache = Arc::new((0..items.len()).map(|_| OnceLock::new()).collect());
        Loader {
            items: Arc::new(items),
            cache,
            crop,
            size,
            workers,
            prefetch: prefetch.max(1),
        }
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
    pub fn size(&self) -> ImageSize {
        self.size
    }
    /// Photos currently cached.
    pub fn cached(&self) -> usize {
        self.cache.iter().filter(|c| c.get().is_some()).count()
    }

    /// Decodes every photo not yet cached, on the loader's worker threads, and returns the
    /// ones that cannot be used (item index and why), in item order. Run before training so
    /// that one bad photo is skipped and reported instead of failing a batch mid-epoch; the
    /// decodes are not wasted, the cache keeps them for the first epoch. `progress` gets
    /// (done, total) now and then. `None` when `cancel` was set.
    pub fn prepare_all(
        &self,
        cancel: &AtomicBool,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Option<Vec<(usize, LoadError)>> {
        let total = self.items.len();
        let next = AtomicUsize::new(0);
        let done = AtomicUsize::new(0);
        let failed = parking_lot::Mutex::new(Vec::new());
        let step = (total / 100).max(1);
        progress(0, total);
        std::thread::scope(|scope| {
            for _ in 0..self.workers.min(total.max(1)) {
                scope.spawn(|| loop {
                    if cancel.load(Ordering::Relaxed) {
                        break;
                    }
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= total {
                        break;
                    }
                    if self.cache[i].get().is_none() {
                        match prepare_guarded(&self.items[i].path, self.crop, self.size) {
                            Ok(photo) => {
                                let _ = self.cache[i].set(photo.into());
                            }
                            Err(e) => failed.lock().push((i, e)),
                        }
                    }
                    let d = done.fetch_add(1, Ordering::Relaxed) + 1;
                    if d.is_multiple_of(step) || d == total {
                        progress(d, total);
                    }
                });
            }
        });
        if cancel.load(Ordering::Relaxed) {
            return None;
        }
        let mut failed = failed.into_inner();
        failed.sort_by_key(|(i, _)| *i);
        Some(failed)
    }

    /// The loader over the items whose `keep` is true, in order, with their cached photos.
    pub fn retain(self, keep: &[bool]) -> Loader {
        let items = Arc::unwrap_or_clone(self.items);
        let cache = Arc::unwrap_or_clone(self.cache);
        let (items, cache): (Vec<Item>, Vec<OnceLock<Prepared>>) = items
            .into_iter()
            .zip(cache)
            .zip(keep.iter().copied().chain(std::iter::repeat(true)))
            .filter(|(_, k)| *k)
            .map(|(pair, _)| pair)
            .unzip();
        Loader {
            items: Arc::new(items),
            cache: Arc::new(cache),
            ..self
        }
    }

    /// Stands a plain mid-grey photo in for item `i` (an eval photo that cannot be decoded
    /// still needs a prediction row; what the model says of a blank photo is that row).
    pub fn use_blank(&self, i: usize) {
        let (w, h) = (self.size.width as usize, self.size.height as usize);
        let blank: Prepared = vec![128u8; w * h * 3].into();
        let _ = self.cache[i].set(blank);
    }

    /// Batches of `order` (item indices) of `batch_size`, augmented with `augment` seeded by
    /// `seed` (the same seed gives the same pixels whatever the thread timing).
    pub fn batches(
        &self,
        order: Vec<usize>,
        batch_size: usize,
        augment: Augment,
        seed: u64,
    ) -> Batches {
        let batch_size = batch_size.max(1);
        let jobs: Vec<Vec<usize>> = order.chunks(batch_size).map(<[usize]>::to_vec).collect();
        let total = jobs.len();
        let (job_tx, job_rx) = unbounded::<(usize, Vec<usize>)>();
        let (out_tx, out_rx) = bounded::<Result<Batch, LoadError>>(self.prefetch);
        let handles = (0..self.workers.min(total.max(1)))
            .map(|_| {
                let job_rx = job_rx.clone();
                let out_tx = out_tx.clone();
                let ctx = WorkerContext {
                    items: Arc::clone(&self.items),
                    cache: Arc::clone(&self.cache),
                    crop: self.crop,
                    size: self.size,
                    augment,
                    seed,
                };
                std::thread::spawn(move || {
                    for (index, members) in job_rx {
                        // A panicking batch is an error for that batch: the worker lives on
                        // and the training loop reports it instead of waiting forever.
                        let built = catch_unwind(AssertUnwindSafe(|| ctx.build(index, members)))
                            .unwrap_or_else(|panic| {
                                Err(LoadError {
                                    path: PathBuf::from(format!("batch {index}")),
                                    reason: format!(
                                        "the loader panicked: {}",
                                        crate::thumbs::decode::panic_message(panic.as_ref())
                                    ),
                                })
                            });
                        if out_tx.send(built).is_err() {
                            break;
                        }
                    }
                })
            })
            .collect();
        let mut batches = Batches {
            jobs: jobs.into_iter().enumerate().collect::<Vec<_>>().into_iter(),
            job_tx: Some(job_tx),
            out_rx,
            pending: BTreeMap::new(),
            next: 0,
            total,
            handles,
        };
        // Only `prefetch` batches are ever queued or being built: memory stays bounded.
        for _ in 0..self.prefetch {
            batches.issue();
        }
        batches
    }
}

struct WorkerContext {
    items: Arc<Vec<Item>>,
    cache: Arc<Vec<OnceLock<Prepared>>>,
    crop: CropBox,
    size: ImageSize,
    augment: Augment,
    seed: u64,
}

impl WorkerContext {
    fn build(&self, index: usize, members: Vec<usize>) -> Result<Batch, LoadError> {
        let (w, h) = (self.size.width as usize, self.size.height as usize);
        let plane = w * h;
        let mut pixels = vec![0f32; members.len() * 3 * plane];
        let mut labels = Vec::with_capacity(members.len());
        let mut rng = ChaCha8Rng::seed_from_u64(
            self.seed ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
        );
        for (slot, &i) in members.iter().enumerate() {
            let item = &self.items[i];
            let photo = match self.cache[i].get() {
                Some(p) => Arc::clone(p),
                None => {
                    let fresh: Prepared = prepare_guarded(&item.path, self.crop, self.size)?.into();
                    Arc::clone(self.cache[i].get_or_init(|| fresh))
                }
            };
            let params = AugmentParams::draw(&self.augment, &mut rng);
            params.apply(
                &photo,
                w,
                h,
                &mut pixels[slot * 3 * plane..(slot + 1) * 3 * plane],
            );
            labels.push(item.label);
        }
        Ok(Batch {
            index,
            items: members,
            pixels,
            labels,
        })
    }
}

/// The batches of one pass, in order. Dropping it stops the workers.
pub struct Batches {
    jobs: std::vec::IntoIter<(usize, Vec<usize>)>,
    job_tx: Option<Sender<(usize, Vec<usize>)>>,
    out_rx: Receiver<Result<Batch, LoadError>>,
    pending: BTreeMap<usize, Batch>,
    next: usize,
    total: usize,
    handles: Vec<JoinHandle<()>>,
}

impl Batches {
    pub fn total(&self) -> usize {
        self.total
    }
    fn issue(&mut self) {
        match (self.jobs.next(), &self.job_tx) {
            (Some(job), Some(tx)) => {
                let _ = tx.send(job);
            }
            _ => self.job_tx = None,
        }
    }
}

impl Iterator for Batches {
    type Item = Result<Batch, LoadError>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.next >= self.total {
            return None;
        }
        loop {
            if let Some(batch) = self.pending.remove(&self.next) {
                self.next += 1;
                self.issue();
                return Some(Ok(batch));
            }
            match self.out_rx.recv() {
                Ok(Ok(batch)) => {
                    self.pending.insert(batch.index, batch);
                }
                Ok(Err(e)) => {
                    self.next = self.total;
                    return Some(Err(e));
                }
                Err(_) => {
                    // Every worker is gone with batches still owed: say so, never end the
                    // epoch early in silence.
                    let missing = self.next;
                    self.next = self.total;
                    return Some(Err(LoadError {
                        path: PathBuf::from(format!("batch {missing}")),
                        reason: "the loader's workers stopped before the epoch ended".into(),
                    }));
                }
            }
        }
    }
}

impl Drop for Batches {
    fn drop(&mut self) {
        self.job_tx = None;
        // Unblock workers waiting on a full queue, then wait for them.
        while self.out_rx.try_recv().is_ok() {}
        for h in self.handles.drain(..) {
            while !h.is_finished() {
                while self.out_rx.try_recv().is_ok() {}
                std::thread::yield_now();
            }
            let _ = h.join();
        }
    }
}

/// Random parameters of one photo's augmentation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AugmentParams {
    pub flip: bool,
    pub angle_rad: f32,
    pub brightness: f32,
    pub contrast: f32,
    pub hue_rad: f32,
    pub saturation: f32,
}

impl AugmentParams {
    pub const IDENTITY: AugmentParams = AugmentParams {
        flip: false,
        angle_rad: 0.0,
        brightness: 1.0,
        contrast: 1.0,
        hue_rad: 0.0,
        saturation: 1.0,
    };

    pub fn draw(a: &Augment, rng: &mut impl Rng) -> Self {
        let mut sym = |r: f32| {
            if r > 0.0 {
                rng.random_range(-r..=r)
            } else {
                0.0
            }
        };
        let angle = sym(a.rotate_degrees).to_radians();
        let brightness = 1.0 + sym(a.brightness_contrast);
        let contrast = 1.0 + sym(a.brightness_contrast);
        let hue = sym(a.hue_degrees).to_radians();
        let saturation = 1.0 + sym(a.saturation);
        let flip = a.hflip && rng.random_bool(0.5);
        AugmentParams {
            flip,
            angle_rad: angle,
            brightness,
            contrast,
            hue_rad: hue,
            saturation,
        }
    }

    /// Writes the augmented, normalised photo (`h x w x 3` u8) into `out` (`3 x h x w`).
    pub fn apply(&self, photo: &[u8], w: usize, h: usize, out: &mut [f32]) {
        let plane = w * h;
        let color = self.color_matrix(photo);
        let geometric = self.flip || self.angle_rad != 0.0;
        let (cos, sin) = (self.angle_rad.cos(), self.angle_rad.sin());
        let (cx, cy) = ((w as f32 - 1.0) / 2.0, (h as f32 - 1.0) / 2.0);
        for y in 0..h {
            for x in 0..w {
                let rgb = if geometric {
                    let xf = if self.flip {
                        (w - 1 - x) as f32
                    } else {
                        x as f32
                    };
                    // Inverse rotation: where in the source this output pixel comes from.
                    let (dx, dy) = (xf - cx, y as f32 - cy);
                    sample_bilinear(
                        photo,
                        w,
                        h,
                        cx + cos * dx + sin * dy,
                        cy - sin * dx + cos * dy,
                    )
                } else {
                    let o = (y * w + x) * 3;
                    [
                        f32::from(photo[o]),
                        f32::from(photo[o + 1]),
                        f32::from(photo[o + 2]),
                    ]
                };
                let rgb = rgb.map(|v| v / 255.0);
                for c in 0..3 {
                    let m = &color.0[c];
                    let v = (m[0] * rgb[0] + m[1] * rgb[1] + m[2] * rgb[2] + color.1[c])
                        .clamp(0.0, 1.0);
                    out[c * plane + y * w + x] = (v - MEAN[c]) / STD[c];
                }
            }
        }
    }

    /// Brightness, contrast, saturation and hue as one affine map of RGB in 0..1.
    fn color_matrix(&self, photo: &[u8]) -> ([[f32; 3]; 3], [f32; 3]) {
        if self.brightness == 1.0
            && self.contrast == 1.0
            && self.saturation == 1.0
            && self.hue_rad == 0.0
        {
            return (
                [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
                [0.0; 3],
            );
        }
        // Hue rotation in YIQ space, saturation scales I and Q.
        const TO_YIQ: [[f32; 3]; 3] = [
            [0.299, 0.587, 0.114],
            [0.596, -0.274, -0.322],
            [0.211, -0.523, 0.312],
        ];
        const FROM_YIQ: [[f32; 3]; 3] = [
            [1.0, 0.956, 0.621],
            [1.0, -0.272, -0.647],
            [1.0, -1.106, 1.703],
        ];
        let (c, s) = (
            self.hue_rad.cos() * self.saturation,
            self.hue_rad.sin() * self.saturation,
        );
        let rot = [[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]];
        let m = matmul(&FROM_YIQ, &matmul(&rot, &TO_YIQ));
        // Contrast around the photo's mean grey, then brightness.
        let n = (photo.len() / 3).max(1) as f32;
        let mean_grey = photo
            .chunks_exact(3)
            .map(|p| 0.299 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2]))
            .sum::<f32>()
            / n
            / 255.0;
        let k = self.contrast * self.brightness;
        let m = m.map(|row| row.map(|v| v * k));
        let offset = (1.0 - self.contrast) * mean_grey * self.brightness;
        (m, [offset; 3])
    }
}

fn matmul(a: &[[f32; 3]; 3], b: &[[f32; 3]; 3]) -> [[f32; 3]; 3] {
    let mut out = [[0f32; 3]; 3];
    for i in 0..3 {
        for j in 0..3 {
            out[i][j] = (0..3).map(|k| a[i][k] * b[k][j]).sum();
        }
    }
    out
}

fn sample_bilinear(photo: &[u8], w: usize, h: usize, x: f32, y: f32) -> [f32; 3] {
    let x = x.clamp(0.0, (w - 1) as f32);
    let y = y.clamp(0.0, (h - 1) as f32);
    let (x0, y0) = (x.floor() as usize, y.floor() as usize);
    let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
    let (fx, fy) = (x - x0 as f32, y - y0 as f32);
    let px = |xx: usize, yy: usize, c: usize| f32::from(photo[(yy * w + xx) * 3 + c]);
    [0, 1, 2].map(|c| {
        let top = px(x0, y0, c) * (1.0 - fx) + px(x1, y0, c) * fx;
        let bottom = px(x0, y1, c) * (1.0 - fx) + px(x1, y1, c) * fx;
        top * (1.0 - fy) + bottom * fy
    })
}

/// The horizontal mirror of a normalised `N x 3 x H x W` batch (test-time augmentation).
pub fn hflip_batch(pixels: &[f32], w: usize) -> Vec<f32> {
    pixels
        .chunks_exact(w)
        .flat_map(|row| row.iter().rev().copied())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_jpeg(path: &Path, w: u32, h: u32) {
        let img = image::RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([(x * 255 / w) as u8, (y * 255 / h) as u8, 128])
        });
        img.save(path).unwrap();
    }

    #[test]
    fn photos_are_cropped_resized_and_cached() {
        let dir = tempfile::tempdir().unwrap();
        let items: Vec<Item> = (0..5)
            .map(|i| {
                let p = dir.path().join(format!("{i}.jpg"));
                write_jpeg(&p, 96, 128);
                Item { path: p, label: i }
            })
            .collect();
        let size = ImageSize {
            width: 12,
            height: 16,
        };
        let loader = Loader::new(items, CropBox::default(), size, 2, 2);
        let batches: Vec<Batch> = loader
            .batches(vec![4, 3, 2, 1, 0], 2, Augment::OFF, 1)
            .map(Result::unwrap)
            .collect();
        assert_eq!(batches.len(), 3);
        assert_eq!(batches[0].labels, vec![4, 3]);
        assert_eq!(batches[2].items, vec![0]);
        assert_eq!(batches[0].pixels.len(), 2 * 3 * 12 * 16);
        assert_eq!(loader.cached(), 5);
        // The same order and seed give the same pixels, with augmentation too.
        let a: Vec<Vec<f32>> = loader
            .batches(vec![0, 1, 2], 2, Augment::default(), 9)
            .map(|b| b.unwrap().pixels)
            .collect();
        let b: Vec<Vec<f32>> = loader
            .batches(vec![0, 1, 2], 2, Augment::default(), 9)
            .map(|b| b.unwrap().pixels)
            .collect();
        assert_eq!(a, b);
    }

    #[test]
    fn a_corrupt_photo_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.jpg");
        std::fs::write(&p, [0xFF, 0xD8, 0xFF, 0x00, 1, 2, 3]).unwrap();
        let loader = Loader::new(
            vec![Item {
                path: p.clone(),
                label: 0,
            }],
            CropBox::default(),
            ImageSize::default(),
            1,
            1,
        );
        let err = loader
            .batches(vec![0], 1, Augment::OFF, 0)
            .next()
            .unwrap()
            .unwrap_err();
        assert_eq!(err.path, p);
    }

    #[test]
    fn prepare_all_lists_the_photos_that_cannot_be_used_and_retain_drops_them() {
        let dir = tempfile::tempdir().unwrap();
        let mut items = Vec::new();
        for i in 0..6 {
            let p = dir.path().join(format!("{i}.jpg"));
            if i == 1 || i == 4 {
                std::fs::write(&p, [0xFF, 0xD8, 0xFF, 0x00, 1, 2, 3]).unwrap();
            } else {
                write_jpeg(&p, 48, 64);
            }
            items.push(Item { path: p, label: i });
        }
        let size = ImageSize {
            width: 12,
            height: 16,
        };
        let loader = Loader::new(items, CropBox::default(), size, 2, 2);
        let seen = std::sync::Mutex::new(Vec::new());
        let failed = loader
            .prepare_all(&AtomicBool::new(false), &|d, t| {
                seen.lock().unwrap().push((d, t))
            })
            .unwrap();
        assert_eq!(
            failed.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
            vec![1, 4]
        );
        assert!(
            failed[0].1.reason.contains("cannot decode"),
            "{}",
            failed[0].1
        );
        assert_eq!(seen.lock().unwrap().last(), Some(&(6, 6)));
        assert_eq!(loader.cached(), 4);
        let keep: Vec<bool> = (0..6).map(|i| i != 1 && i != 4).collect();
        let loader = loader.retain(&keep);
        assert_eq!(loader.len(), 4);
        assert_eq!(loader.cached(), 4, "retain keeps the decoded photos");
        let labels: Vec<i64> = loader
            .batches(vec![0, 1, 2, 3], 4, Augment::OFF, 0)
            .flat_map(|b| b.unwrap().labels)
            .collect();
        assert_eq!(labels, vec![0, 2, 3, 5]);
        // Cancelled before it starts: nothing is decoded.
        let fresh = Loader::new(
            vec![Item {
                path: dir.path().join("0.jpg"),
                label: 0,
            }],
            CropBox::default(),
            size,
            1,
            1,
        );
        assert!(fresh
            .prepare_all(&AtomicBool::new(true), &|_, _| {})
            .is_none());
        assert_eq!(fresh.cached(), 0);
        // A blank stands in for a photo that cannot be decoded.
        fresh.use_blank(0);
        assert_eq!(fresh.cached(), 1);
    }

    #[test]
    fn identity_augmentation_only_normalises_and_flip_mirrors() {
        let photo: Vec<u8> = (0..2 * 2 * 3).map(|v| (v * 20) as u8).collect();
        let mut out = vec![0f32; 12];
        AugmentParams::IDENTITY.apply(&photo, 2, 2, &mut out);
        assert!((out[0] - (0.0 - MEAN[0]) / STD[0]).abs() < 1e-6);
        assert!((out[4] - (20.0 / 255.0 - MEAN[1]) / STD[1]).abs() < 1e-6);
        let mut flipped = vec![0f32; 12];
        AugmentParams {
            flip: true,
            ..AugmentParams::IDENTITY
        }
        .apply(&photo, 2, 2, &mut flipped);
        assert_eq!(flipped, hflip_batch(&out, 2));
    }
}
