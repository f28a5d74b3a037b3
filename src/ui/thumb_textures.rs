//! GPU textures for the people grid, fed by the pure [`Thumbnailer`].
//!
//! Each frame the grid calls [`ThumbTextures::get`] for every visible photo, then
//! [`ThumbTextures::end_frame`] once. Photos are known by a [`PhotoKey`] (person and slot),
//! not by path: the grid asks for ~70 photos a frame, and a key costs nothing to hash or
//! compare, while a path is only built when a decode is first requested. `end_frame` uploads at most
//! [`TextureBudget::uploads_per_frame`] new textures (so a burst of finished decodes never
//! stalls a frame), drops queued decodes for photos that were not drawn this frame
//! (scrolled away), and evicts the least recently drawn textures while over
//! [`TextureBudget::max_bytes`]. Textures drawn this frame are never evicted.
//!
//! ```ignore
//! // In the grid:
//! match textures.get(PhotoKey::new(person, slot), || root.join(rel_path)) {
//!     ThumbView::Ready(tex) => { ui.image((tex.id(), size)); }
//!     ThumbView::Loading => { /* grey cell */ }
//!     ThumbView::Failed(reason) => { /* placeholder with `reason` as tooltip */ }
//! }
//! // After drawing the grid:
//! textures.end_frame(ctx);
//! ```

use crate::thumbs::{ThumbConfig, ThumbStats, Thumbnailer};
use egui::{ColorImage, Context, TextureHandle, TextureOptions};
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

/// Limits of the texture side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextureBudget {
    /// Most bytes of thumbnail textures kept (RGBA, 4 bytes per pixel).
    pub max_bytes: usize,
    /// Most textures created per frame.
    pub uploads_per_frame: usize,
    /// Most time a frame spends creating textures: on a loaded machine fewer uploads fit,
    /// and the rest wait for the next frame rather than stretch this one.
    pub upload_time: std::time::Duration,
}

impl Default for TextureBudget {
    fn default() -> Self {
        // 96x128 thumbnails are 48 KiB: 128 MiB holds ~2,700 of them, several screens.
        // 24 uploads a frame fill a screen of 10 people x 7 in three frames and keep a
        // frame's upload work near 1 ms (benches/ui_scroll.rs).
        TextureBudget {
            max_bytes: 128 << 20,
            uploads_per_frame: 24,
            upload_time: std::time::Duration::from_micros(1500),
        }
    }
}

/// Which photo of the dataset: person index and slot, packed in a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PhotoKey(u32);

/// The high bit marks an eval photo's key (training keys stay far below it).
const EVAL_KEYS: u32 = 1 << 31;

impl PhotoKey {
    pub fn new(person: usize, slot: usize) -> Self {
        PhotoKey((person * crate::dataset::Slot::ALL.len() + slot) as u32)
    }

    /// An eval photo (its `info.csv` row), kept apart from the training photos' keys.
    pub fn eval(row: usize) -> Self {
        PhotoKey(EVAL_KEYS | row as u32)
    }
}

/// What to draw for one photo this frame.
pub enum ThumbView<'a> {
    Ready(&'a TextureHandle),
    Loading,
    Failed(&'a str),
}

enum Entry {
    Texture {
        handle: TextureHandle,
        bytes: usize,
        last_used: u64,
    },
    Failed {
        reason: String,
    },
}

/// Sizes and counters for a status line or a bench.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TextureStats {
    pub textures: usize,
    pub texture_bytes: usize,
    pub failed: usize,
    pub uploaded_last_frame: usize,
    pub uploaded_total: u64,
    pub evicted_total: u64,
    pub pipeline: ThumbStats,
}

pub struct ThumbTextures {
    thumbs: Thumbnailer,
    budget: TextureBudget,
    entries: HashMap<PhotoKey, Entry>,
    /// Photos asked for this frame; what is not asked for again is no longer wanted.
    wanted: HashSet<PhotoKey>,
    /// Decodes asked of the pipeline and not yet received, by path (what the pipeline
    /// returns) and by key.
    requested: HashMap<PathBuf, PhotoKey>,
    requested_keys: HashSet<PhotoKey>,
    frame: u64,
    texture_bytes: usize,
    uploaded_last_frame: usize,
    uploaded_total: u64,
    evicted_total: u64,
}

impl ThumbTextures {
    /// Starts the decode workers; they request a repaint of `ctx` whenever a thumbnail is
    /// ready.
    pub fn new(ctx: &Context, cfg: ThumbConfig, budget: TextureBudget) -> Self {
        let thumbs = Thumbnailer::new(cfg);
        let ctx = ctx.clone();
        thumbs.set_on_ready(Box::new(move || ctx.request_repaint()));
        ThumbTextures {
            thumbs,
            budget,
            entries: HashMap::new(),
            wanted: HashSet::new(),
            requested: HashMap::new(),
            requested_keys: HashSet::new(),
            frame: 0,
            texture_bytes: 0,
            uploaded_last_frame: 0,
            uploaded_total: 0,
            evicted_total: 0,
        }
    }

    /// The texture of photo `key`, or why there is none yet. The first time, queues a
    /// decode of the file `path()` names.
    pub fn get(&mut self, key: PhotoKey, path: impl FnOnce() -> PathBuf) -> ThumbView<'_> {
        self.wanted.insert(key);
        if !self.entries.contains_key(&key) {
            if self.requested_keys.insert(key) {
                let path = path();
                // A full queue drops its oldest requests: forget them, or those photos
                // would never be asked for again.
                let dropped = self.thumbs.request(&path);
                self.requested.insert(path, key);
                self.forget_requests(dropped);
            }
            return ThumbView::Loading;
        }
        match self.entries.get_mut(&key) {
            Some(Entry::Texture {
                handle, last_used, ..
            }) => {
                *last_used = self.frame;
                ThumbView::Ready(handle)
            }
            Some(Entry::Failed { reason }) => ThumbView::Failed(reason),
            None => ThumbView::Loading,
        }
    }

    /// Forgets that `paths` were requested (the pipeline dropped them), so they are asked
    /// for again when drawn.
    fn forget_requests(&mut self, paths: Vec<PathBuf>) {
        for path in paths {
            if let Some(key) = self.requested.remove(&path) {
                self.requested_keys.remove(&key);
            }
        }
    }

    /// Call once per frame after the grid is drawn: uploads finished thumbnails (bounded),
    /// forgets decodes no longer wanted, and evicts textures over the memory budget.
    pub fn end_frame(&mut self, ctx: &Context) {
        let wanted = std::mem::take(&mut self.wanted);
        // Only when a requested photo scrolled away do paths get compared at all.
        if self.requested_keys.iter().any(|k| !wanted.contains(k)) {
            let requested = &self.requested;
            let dropped = self
                .thumbs
                .retain(|p| requested.get(p).is_some_and(|k| wanted.contains(k)));
            self.forget_requests(dropped);
        }

        self.uploaded_last_frame = 0;
        let started = std::time::Instant::now();
        // At least one a frame, so even a starved machine makes progress.
        while self.uploaded_last_frame < self.budget.uploads_per_frame
            && (self.uploaded_last_frame == 0 || started.elapsed() < self.budget.upload_time)
        {
            let Some((path, result)) = self.thumbs.poll_one() else {
                break;
            };
            // A decode from before `clear()`: nobody asks for it.
            let Some(key) = self.requested.remove(&path) else {
                continue;
            };
            self.requested_keys.remove(&key);
            let entry = match result {
                Ok(thumb) => {
                    let size = [thumb.width as usize, thumb.height as usize];
                    // JPEG thumbnails are opaque: premultiplying would change nothing and
                    // costs a pass over every pixel on the UI thread.
                    let image = if thumb.rgba.chunks_exact(4).all(|px| px[3] == u8::MAX) {
                        ColorImage::from_rgba_premultiplied(size, &thumb.rgba)
                    } else {
                        ColorImage::from_rgba_unmultiplied(size, &thumb.rgba)
                    };
                    let handle = ctx.load_texture(
                        format!("thumb:{}", path.display()),
                        image,
                        TextureOptions::LINEAR,
                    );
                    self.uploaded_last_frame += 1;
                    self.texture_bytes += thumb.rgba.len();
                    Entry::Texture {
                        handle,
                        bytes: thumb.rgba.len(),
                        last_used: self.frame,
                    }
                }
                Err(e) => Entry::Failed {
                    reason: e.tile_text(),
                },
            };
            if let Some(Entry::Texture { bytes, .. }) = self.entries.insert(key, entry) {
                self.texture_bytes -= bytes;
            }
        }
        self.uploaded_total += self.uploaded_last_frame as u64;
        if self.thumbs.stats().ready > 0 {
            // More finished than this frame may upload: come back next frame.
            ctx.request_repaint();
        }
        self.evict_over_budget();
        self.frame += 1;
    }

    fn evict_over_budget(&mut self) {
        if self.texture_bytes <= self.budget.max_bytes {
            return;
        }
        let mut by_age: Vec<(u64, PhotoKey)> = self
            .entries
            .iter()
            .filter_map(|(p, e)| match e {
                Entry::Texture { last_used, .. } if *last_used < self.frame => {
                    Some((*last_used, *p))
                }
                _ => None,
            })
            .collect();
        by_age.sort_unstable();
        for (_, key) in by_age {
            if self.texture_bytes <= self.budget.max_bytes {
                break;
            }
            if let Some(Entry::Texture { bytes, .. }) = self.entries.remove(&key) {
                // Dropping the handle frees the GPU texture.
                self.texture_bytes -= bytes;
                self.evicted_total += 1;
            }
        }
    }

    /// Forgets every texture, error and queued decode (e.g. another dataset was opened, or
    /// a photo was replaced on disk).
    pub fn clear(&mut self) {
        self.thumbs.cancel_all();
        self.entries.clear();
        self.wanted.clear();
        self.requested.clear();
        self.requested_keys.clear();
        self.texture_bytes = 0;
    }

    /// The pipeline underneath, e.g. to pause decoding while training.
    pub fn thumbnailer(&self) -> &Thumbnailer {
        &self.thumbs
    }

    pub fn stats(&self) -> TextureStats {
        TextureStats {
            textures: self
                .entries
                .values()
                .filter(|e| matches!(e, Entry::Texture { .. }))
                .count(),
            texture_bytes: self.texture_bytes,
            failed: self
                .entries
                .values()
                .filter(|e| matches!(e, Entry::Failed { .. }))
                .count(),
            uploaded_last_frame: self.uploaded_last_frame,
            uploaded_total: self.uploaded_total,
            evicted_total: self.evicted_total,
            pipeline: self.thumbs.stats(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::time::{Duration, Instant};

    fn photos(dir: &Path, n: usize) -> Vec<PathBuf> {
        (0..n)
            .map(|i| {
                let p = dir.join(format!("{i}.png"));
                image::RgbaImage::from_pixel(96, 128, image::Rgba([i as u8, 0, 0, 255]))
                    .save(&p)
                    .unwrap();
                p
            })
            .collect()
    }

    /// Test photos are named by number; anything else gets the last key.
    fn key(p: &Path) -> PhotoKey {
        let n = p.file_stem().and_then(|s| s.to_str()?.parse().ok());
        PhotoKey(n.unwrap_or(u32::MAX))
    }

    /// Runs frames (drawing `visible`) until `done` or 20 s.
    fn run_until(
        ctx: &Context,
        tex: &mut ThumbTextures,
        visible: &[PathBuf],
        done: impl Fn(&ThumbTextures) -> bool,
    ) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !done(tex) {
            assert!(Instant::now() < deadline, "timed out: {:?}", tex.stats());
            for p in visible {
                let _ = tex.get(key(p), || p.to_path_buf());
            }
            tex.end_frame(ctx);
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn uploads_are_bounded_per_frame_and_lru_evicted_under_budget() {
        let dir = tempfile::tempdir().unwrap();
        let all = photos(dir.path(), 12);
        let ctx = Context::default();
        let one = 96 * 128 * 4;
        let budget = TextureBudget {
            max_bytes: 6 * one,
            uploads_per_frame: 2,
            // Generous: this test is about the count and the byte budget.
            upload_time: Duration::from_secs(1),
        };
        let mut tex = ThumbTextures::new(&ctx, ThumbConfig::default(), budget);

        // First screen: 4 photos.
        let first = &all[..4];
        for p in first {
            assert!(matches!(
                tex.get(key(p), || p.to_path_buf()),
                ThumbView::Loading
            ));
        }
        // Let every decode finish, then check the upload cap.
        let deadline = Instant::now() + Duration::from_secs(20);
        while tex.thumbnailer().stats().ready < 4 {
            assert!(Instant::now() < deadline);
            std::thread::sleep(Duration::from_millis(2));
        }
        for p in first {
            let _ = tex.get(key(p), || p.to_path_buf());
        }
        tex.end_frame(&ctx);
        assert_eq!(tex.stats().uploaded_last_frame, 2);
        run_until(&ctx, &mut tex, first, |t| t.stats().textures == 4);
        assert!(first
            .iter()
            .all(|p| matches!(tex.get(key(p), || p.to_path_buf()), ThumbView::Ready(_))));
        tex.end_frame(&ctx);

        // Scroll to the next 4, then the last 4: 12 textures exceed the 6-texture budget,
        // so the oldest screen goes first and the visible one is kept.
        run_until(&ctx, &mut tex, &all[4..8], |t| {
            t.stats().uploaded_total == 8
        });
        run_until(&ctx, &mut tex, &all[8..], |t| {
            t.stats().uploaded_total == 12
        });
        let s = tex.stats();
        assert!(s.texture_bytes <= budget.max_bytes, "{s:?}");
        assert_eq!(s.textures, 6);
        for p in &all[8..] {
            assert!(matches!(
                tex.get(key(p), || p.to_path_buf()),
                ThumbView::Ready(_)
            ));
        }
        for p in first {
            assert!(
                matches!(tex.get(key(p), || p.to_path_buf()), ThumbView::Loading),
                "oldest screen must have been evicted"
            );
        }
    }

    #[test]
    fn requests_dropped_by_a_full_queue_are_asked_for_again() {
        let dir = tempfile::tempdir().unwrap();
        let all = photos(dir.path(), 5);
        let ctx = Context::default();
        let cfg = ThumbConfig {
            queue_cap: 2,
            ..ThumbConfig::default()
        };
        let mut tex = ThumbTextures::new(&ctx, cfg, TextureBudget::default());
        tex.thumbnailer().set_paused(true);
        for p in &all {
            let _ = tex.get(key(p), || p.to_path_buf());
        }
        tex.end_frame(&ctx);
        assert!(tex.stats().pipeline.dropped_overflow >= 3);
        tex.thumbnailer().set_paused(false);
        run_until(&ctx, &mut tex, &all, |t| t.stats().textures == 5);
    }

    #[test]
    fn an_exhausted_upload_time_still_uploads_one_texture_a_frame() {
        let dir = tempfile::tempdir().unwrap();
        let all = photos(dir.path(), 3);
        let ctx = Context::default();
        let budget = TextureBudget {
            upload_time: Duration::ZERO,
            ..TextureBudget::default()
        };
        let mut tex = ThumbTextures::new(&ctx, ThumbConfig::default(), budget);
        for p in &all {
            let _ = tex.get(key(p), || p.to_path_buf());
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        while tex.thumbnailer().stats().ready < 3 {
            assert!(Instant::now() < deadline);
            std::thread::sleep(Duration::from_millis(2));
        }
        for expected_total in 1..=3 {
            for p in &all {
                let _ = tex.get(key(p), || p.to_path_buf());
            }
            tex.end_frame(&ctx);
            let s = tex.stats();
            assert_eq!(s.uploaded_last_frame, 1, "{s:?}");
            assert_eq!(s.uploaded_total, expected_total, "{s:?}");
        }
    }

    #[test]
    fn failures_show_a_reason_and_unwanted_decodes_are_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.jpg");
        std::fs::write(&bad, b"garbage").unwrap();
        let ctx = Context::default();
        let mut tex = ThumbTextures::new(&ctx, ThumbConfig::default(), TextureBudget::default());
        run_until(&ctx, &mut tex, std::slice::from_ref(&bad), |t| {
            t.stats().failed == 1
        });
        assert!(
            matches!(tex.get(key(&bad), || bad.clone()), ThumbView::Failed(r) if r.starts_with("cannot decode: ") && r.contains("not a JPEG or PNG"))
        );

        let all = photos(dir.path(), 20);
        tex.thumbnailer().set_paused(true);
        for p in &all {
            let _ = tex.get(key(p), || p.to_path_buf());
        }
        tex.end_frame(&ctx);
        // The next frame shows only two of them: the rest are dropped from the queue.
        for p in &all[..2] {
            let _ = tex.get(key(p), || p.to_path_buf());
        }
        tex.end_frame(&ctx);
        let s = tex.stats().pipeline;
        assert_eq!(s.pending, 2);
        assert_eq!(s.dropped_unwanted, 18);

        // Scrolling back to a dropped photo asks for it again, and it arrives.
        tex.thumbnailer().set_paused(false);
        let back = &all[15..16];
        run_until(&ctx, &mut tex, back, |t| t.stats().uploaded_total >= 1);
        let p = &back[0];
        assert!(matches!(
            tex.get(key(p), || p.to_path_buf()),
            ThumbView::Ready(_)
        ));
    }
}
