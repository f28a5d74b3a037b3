//! The thumbnail pipeline on generated images: scaled decode, colour formats, errors, the
//! disk cache, and the worker queue (priority, dropping, bound).

use mask_curator::thumbs::{
    decode, load_or_decode, DiskCache, Thumb, ThumbConfig, ThumbError, Thumbnailer,
};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A noisy 384x512 portrait-like RGB photo: a gradient background and a bright oval.
fn portrait(seed: u32, w: u32, h: u32) -> image::RgbImage {
    image::RgbImage::from_fn(w, h, |x, y| {
        let dx = x as f32 - w as f32 / 2.0;
        let dy = y as f32 - h as f32 * 0.45;
        let inside = (dx / (w as f32 * 0.3)).powi(2) + (dy / (h as f32 * 0.3)).powi(2) < 1.0;
        let noise = (x.wrapping_mul(7919) ^ y.wrapping_mul(104_729) ^ seed.wrapping_mul(31)) % 17;
        let base = if inside {
            [210u8, 170, 140]
        } else {
            [40, 60 + (y * 100 / h) as u8, 120]
        };
        image::Rgb(base.map(|c| c.saturating_add(noise as u8)))
    })
}

fn write_jpeg(path: &Path, img: &image::RgbImage) {
    let mut f = std::fs::File::create(path).unwrap();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut f, 90)
        .encode_image(img)
        .unwrap();
}

fn wait_for(thumbs: &Thumbnailer, n: usize) -> Vec<(PathBuf, Result<Thumb, ThumbError>)> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut out = Vec::new();
    while out.len() < n {
        assert!(
            Instant::now() < deadline,
            "only {} of {n} results after 30 s",
            out.len()
        );
        out.extend(thumbs.poll_ready(usize::MAX));
        std::thread::sleep(Duration::from_millis(2));
    }
    out
}

fn photo_set(dir: &Path, n: u32) -> Vec<PathBuf> {
    (0..n)
        .map(|i| {
            let p = dir.join(format!("p{i:03}.jpg"));
            write_jpeg(&p, &portrait(i, 384, 512));
            p
        })
        .collect()
}

#[test]
fn jpeg_is_scaled_to_fit_keeping_aspect() {
    let dir = tempfile::tempdir().unwrap();
    let tall = dir.path().join("tall.jpg");
    write_jpeg(&tall, &portrait(1, 384, 512));
    let t = decode::decode_file(&tall, 96, 128).unwrap();
    assert_eq!((t.width, t.height), (96, 128));
    assert_eq!(t.rgba.len(), 96 * 128 * 4);

    // A non-power-of-two ratio: DCT scaling gets close, the box filter finishes.
    let t = decode::decode_file(&tall, 60, 60).unwrap();
    assert_eq!((t.width, t.height), (45, 60));

    let wide = dir.path().join("wide.jpg");
    write_jpeg(&wide, &portrait(2, 512, 384));
    let t = decode::decode_file(&wide, 96, 128).unwrap();
    assert_eq!((t.width, t.height), (96, 72));

    // Small images are not upscaled.
    let small = dir.path().join("small.jpg");
    write_jpeg(&small, &portrait(3, 40, 30));
    let t = decode::decode_file(&small, 96, 128).unwrap();
    assert_eq!((t.width, t.height), (40, 30));
}

#[test]
fn scaled_decode_matches_full_decode_colours() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.jpg");
    let img = portrait(5, 384, 512);
    write_jpeg(&p, &img);
    let t = decode::decode_file(&p, 96, 128).unwrap();
    // The oval centre is skin-coloured, the corner is the blue background.
    let px = |x: u32, y: u32| {
        let i = ((y * t.width + x) * 4) as usize;
        [t.rgba[i], t.rgba[i + 1], t.rgba[i + 2], t.rgba[i + 3]]
    };
    let centre = px(48, 58);
    assert!(
        centre[0] > 190 && centre[2] > 130 && centre[2] < 170,
        "{centre:?}"
    );
    let corner = px(2, 2);
    assert!(corner[0] < 70 && corner[2] > 110, "{corner:?}");
    assert_eq!(centre[3], 255);
}

#[test]
fn grayscale_rgba_png_and_cmyk_are_converted() {
    let dir = tempfile::tempdir().unwrap();

    let gray_path = dir.path().join("gray.jpg");
    let gray = image::GrayImage::from_fn(200, 100, |x, _| image::Luma([(x % 256) as u8]));
    let mut f = std::fs::File::create(&gray_path).unwrap();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut f, 95)
        .encode_image(&gray)
        .unwrap();
    drop(f);
    let t = decode::decode_file(&gray_path, 96, 128).unwrap();
    assert_eq!((t.width, t.height), (96, 48));
    for p in t.rgba.chunks_exact(4) {
        assert!(p[0] == p[1] && p[1] == p[2] && p[3] == 255, "{p:?}");
    }

    let png_path = dir.path().join("rgba.png");
    let rgba = image::RgbaImage::from_fn(384, 512, |x, _| {
        image::Rgba([10, 200, 30, if x < 192 { 255 } else { 0 }])
    });
    rgba.save(&png_path).unwrap();
    let t = decode::decode_file(&png_path, 96, 128).unwrap();
    assert_eq!((t.width, t.height), (96, 128));
    assert_eq!(&t.rgba[..4], &[10, 200, 30, 255]);
    let last = t.rgba.len() - 4;
    assert_eq!(t.rgba[last + 3], 0, "right half is transparent");

    // A 4-channel PNG that is fully opaque (how some dataset photos are saved).
    let png4 = dir.path().join("opaque4.png");
    image::RgbaImage::from_pixel(384, 512, image::Rgba([90, 80, 70, 255]))
        .save(&png4)
        .unwrap();
    let t = decode::decode_file(&png4, 96, 128).unwrap();
    assert_eq!(&t.rgba[..4], &[90, 80, 70, 255]);

    // Adobe CMYK JPEG of solid RGB (200, 30, 40), written by another encoder.
    let cmyk = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cmyk_red_64x48.jpg");
    let t = decode::decode_file(&cmyk, 96, 128).unwrap();
    assert_eq!((t.width, t.height), (64, 48));
    let p = &t.rgba[(10 * 64 + 10) * 4..][..4];
    let close = |a: u8, b: u8| (i32::from(a) - i32::from(b)).abs() <= 8;
    assert!(
        close(p[0], 200) && close(p[1], 30) && close(p[2], 40) && p[3] == 255,
        "{p:?}"
    );
}

#[test]
fn corrupt_and_missing_files_are_errors_with_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.jpg");
    let err = load_or_decode(&missing, 96, 128, None).unwrap_err();
    assert!(matches!(err, ThumbError::Io { .. }));
    assert!(
        err.to_string().contains("nope.jpg") && err.reason().contains("not found"),
        "{err}"
    );

    let text = dir.path().join("notes.jpg");
    std::fs::write(&text, b"this is not an image").unwrap();
    let err = decode::decode_file(&text, 96, 128).unwrap_err();
    assert!(err.reason().contains("not a JPEG or PNG"), "{err}");

    // A real JPEG cut in half.
    let good = dir.path().join("good.jpg");
    write_jpeg(&good, &portrait(9, 384, 512));
    let bytes = std::fs::read(&good).unwrap();
    let cut = dir.path().join("cut.jpg");
    std::fs::write(&cut, &bytes[..bytes.len() / 3]).unwrap();
    match decode::decode_file(&cut, 96, 128) {
        Err(e) => assert!(e.reason().contains("JPEG") && !e.reason().is_empty(), "{e}"),
        // Decoders may pad a truncated scan; then the thumbnail must still be well formed.
        Ok(t) => assert_eq!(t.rgba.len(), (t.width * t.height * 4) as usize),
    }

    // Header only: no scan data at all is always an error.
    let head = dir.path().join("head.jpg");
    std::fs::write(&head, &bytes[..200]).unwrap();
    let err = decode::decode_file(&head, 96, 128).unwrap_err();
    assert!(
        err.to_string().contains("head.jpg") && err.reason().contains("corrupt JPEG"),
        "{err}"
    );

    let png = dir.path().join("bad.png");
    std::fs::write(&png, b"\x89PNG\r\n\x1a\nxxxxxxxxxxxx").unwrap();
    let err = decode::decode_file(&png, 96, 128).unwrap_err();
    assert!(matches!(err, ThumbError::Corrupt { .. }), "{err}");

    let empty = dir.path().join("empty.png");
    std::fs::write(&empty, b"").unwrap();
    assert_eq!(
        decode::decode_file(&empty, 96, 128).unwrap_err().reason(),
        "empty file"
    );

    // A folder where a photo should be.
    let folder = dir.path().join("mask1.jpg");
    std::fs::create_dir(&folder).unwrap();
    assert!(load_or_decode(&folder, 96, 128, None).is_err());
}

#[test]
fn disk_cache_hits_and_invalidates_on_change() {
    let dir = tempfile::tempdir().unwrap();
    let cache = DiskCache::new(dir.path().join("cache"), 96, 128);
    let photo = dir.path().join("mask1.jpg");
    write_jpeg(&photo, &portrait(1, 384, 512));

    let first = load_or_decode(&photo, 96, 128, Some(&cache)).unwrap();
    assert!(!first.from_cache);
    assert!(first.store_error.is_none());
    assert!(cache.entry_path(&photo).is_file());

    let second = load_or_decode(&photo, 96, 128, Some(&cache)).unwrap();
    assert!(second.from_cache);
    assert_eq!((second.thumb.width, second.thumb.height), (96, 128));
    // Stored lossy, but close to the fresh decode.
    let diff: u64 = first
        .thumb
        .rgba
        .iter()
        .zip(&second.thumb.rgba)
        .map(|(a, b)| u64::from(a.abs_diff(*b)))
        .sum();
    assert!(
        diff / (first.thumb.rgba.len() as u64) < 6,
        "mean abs diff {}",
        diff / first.thumb.rgba.len() as u64
    );

    // Same size, new mtime: a miss.
    let f = std::fs::File::options().write(true).open(&photo).unwrap();
    f.set_modified(std::time::SystemTime::now() + Duration::from_secs(60))
        .unwrap();
    drop(f);
    assert!(
        !load_or_decode(&photo, 96, 128, Some(&cache))
            .unwrap()
            .from_cache
    );
    assert!(
        load_or_decode(&photo, 96, 128, Some(&cache))
            .unwrap()
            .from_cache
    );

    // Replaced by a different photo (different size): a miss and a different thumbnail.
    let mtime = std::fs::metadata(&photo).unwrap().modified().unwrap();
    let replacement = image::RgbImage::from_pixel(384, 512, image::Rgb([0, 0, 255]));
    write_jpeg(&photo, &replacement);
    std::fs::File::options()
        .write(true)
        .open(&photo)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    let third = load_or_decode(&photo, 96, 128, Some(&cache)).unwrap();
    assert!(!third.from_cache);
    assert!(third.thumb.rgba[2] > 200 && third.thumb.rgba[0] < 30);

    // A damaged entry is a miss, not an error.
    std::fs::write(cache.entry_path(&photo), b"MCT1 garbage").unwrap();
    assert!(
        !load_or_decode(&photo, 96, 128, Some(&cache))
            .unwrap()
            .from_cache
    );

    // Another thumbnail box uses other entries.
    let big = DiskCache::new(dir.path().join("cache"), 192, 256);
    assert_ne!(big.entry_path(&photo), cache.entry_path(&photo));
    let loaded = load_or_decode(&photo, 192, 256, Some(&big)).unwrap();
    assert!(!loaded.from_cache);
    assert_eq!((loaded.thumb.width, loaded.thumb.height), (192, 256));
}

#[test]
fn transparent_thumbs_survive_the_cache_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let cache = DiskCache::new(dir.path().join("cache"), 96, 128);
    let png = dir.path().join("a.png");
    image::RgbaImage::from_fn(96, 128, |x, y| {
        image::Rgba([x as u8, y as u8, 7, (x + y) as u8])
    })
    .save(&png)
    .unwrap();
    let first = load_or_decode(&png, 96, 128, Some(&cache)).unwrap();
    let second = load_or_decode(&png, 96, 128, Some(&cache)).unwrap();
    assert!(second.from_cache);
    assert_eq!(first.thumb, second.thumb);
}

fn paused_pool(workers: usize, queue_cap: usize) -> Thumbnailer {
    let t = Thumbnailer::new(ThumbConfig {
        workers,
        queue_cap,
        ..Default::default()
    });
    t.set_paused(true);
    t
}

#[test]
fn newest_request_is_decoded_first() {
    let dir = tempfile::tempdir().unwrap();
    let photos = photo_set(dir.path(), 5);
    let thumbs = paused_pool(1, 64);
    for p in &photos {
        thumbs.request(p);
    }
    // Asking again does not queue twice.
    thumbs.request(&photos[0]);
    assert_eq!(thumbs.stats().pending, 5);
    thumbs.set_paused(false);
    let order: Vec<PathBuf> = wait_for(&thumbs, 5)
        .into_iter()
        .map(|(p, r)| {
            assert!(r.is_ok());
            p
        })
        .collect();
    let newest_first: Vec<PathBuf> = photos.iter().rev().cloned().collect();
    assert_eq!(order, newest_first);
    assert_eq!(thumbs.stats().decoded, 5);
}

#[test]
fn unwanted_requests_are_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let photos = photo_set(dir.path(), 6);
    let thumbs = paused_pool(2, 64);
    for p in &photos {
        thumbs.request(p);
    }
    let visible = [photos[1].clone(), photos[4].clone()];
    thumbs.retain(|p| visible.iter().any(|v| v == p));
    let s = thumbs.stats();
    assert_eq!((s.pending, s.dropped_unwanted), (2, 4));
    thumbs.set_paused(false);
    let mut got: Vec<PathBuf> = wait_for(&thumbs, 2).into_iter().map(|(p, _)| p).collect();
    std::thread::sleep(Duration::from_millis(100));
    assert!(
        thumbs.poll_ready(usize::MAX).is_empty(),
        "dropped requests were decoded"
    );
    got.sort();
    assert_eq!(got, visible.to_vec());

    // cancel_all empties the queue.
    thumbs.set_paused(true);
    for p in &photos {
        thumbs.request(p);
    }
    thumbs.cancel_all();
    assert_eq!(thumbs.stats().pending, 0);
    assert_eq!(thumbs.stats().cancelled, 6);
}

#[test]
fn finished_results_nobody_wants_any_more_are_dropped_not_kept() {
    // Fast scrolling: the workers finish thumbnails faster than frames upload them. What
    // scrolled away must not stay in memory waiting to be polled.
    let dir = tempfile::tempdir().unwrap();
    let photos = photo_set(dir.path(), 6);
    let thumbs = paused_pool(2, 64);
    for p in &photos {
        thumbs.request(p);
    }
    thumbs.set_paused(false);
    let started = std::time::Instant::now();
    while thumbs.stats().ready < photos.len() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "decodes stalled"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let visible = [photos[2].clone()];
    let mut dropped = thumbs.retain(|p| visible.iter().any(|v| v == p));
    dropped.sort();
    let mut expected: Vec<PathBuf> = photos
        .iter()
        .filter(|p| **p != photos[2])
        .cloned()
        .collect();
    expected.sort();
    assert_eq!(
        dropped, expected,
        "the caller learns which to ask for again"
    );
    assert_eq!(thumbs.stats().ready, 1);
    let got: Vec<PathBuf> = thumbs
        .poll_ready(usize::MAX)
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    assert_eq!(got, visible.to_vec());
    // Asked for again, a dropped one comes back (from the disk cache).
    assert!(!thumbs.is_queued(&photos[0]));
    thumbs.request(&photos[0]);
    assert_eq!(wait_for(&thumbs, 1)[0].0, photos[0]);
}

#[test]
fn queue_is_bounded_and_keeps_the_newest() {
    let dir = tempfile::tempdir().unwrap();
    let photos = photo_set(dir.path(), 8);
    let thumbs = paused_pool(1, 3);
    for (i, p) in photos.iter().enumerate() {
        let dropped = thumbs.request(p);
        assert!(thumbs.stats().pending <= 3);
        // From the fourth request on, each one pushes out the oldest pending request.
        let expected: Vec<PathBuf> = i
            .checked_sub(3)
            .map(|j| photos[j].clone())
            .into_iter()
            .collect();
        assert_eq!(dropped, expected);
    }
    let s = thumbs.stats();
    assert_eq!((s.pending, s.dropped_overflow, s.requested), (3, 5, 8));
    thumbs.set_paused(false);
    let got: Vec<PathBuf> = wait_for(&thumbs, 3).into_iter().map(|(p, _)| p).collect();
    assert_eq!(
        got,
        vec![photos[7].clone(), photos[6].clone(), photos[5].clone()]
    );
}

#[test]
fn pool_reports_errors_uses_the_disk_cache_and_wakes_the_caller() {
    let dir = tempfile::tempdir().unwrap();
    let photos = photo_set(dir.path(), 4);
    let broken = dir.path().join("broken.jpg");
    std::fs::write(&broken, b"\xFF\xD8\xFF\xE0 nothing useful here").unwrap();
    let cache_dir = dir.path().join(".mask-curator/thumbs");
    let cfg = ThumbConfig {
        disk_cache: Some(cache_dir.clone()),
        ..Default::default()
    };

    let wakes = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    {
        let thumbs = Thumbnailer::new(cfg.clone());
        let w = wakes.clone();
        thumbs.set_on_ready(Box::new(move || {
            w.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }));
        for p in photos.iter().chain([&broken]) {
            thumbs.request(p);
        }
        let results = wait_for(&thumbs, 5);
        let err = results
            .iter()
            .find(|(p, _)| p == &broken)
            .unwrap()
            .1
            .as_ref()
            .unwrap_err();
        assert!(err.reason().contains("corrupt JPEG"), "{err}");
        let s = thumbs.stats();
        assert_eq!((s.decoded, s.failed, s.cache_hits), (4, 1, 0));
    }
    assert_eq!(wakes.load(std::sync::atomic::Ordering::SeqCst), 5);

    // A new pipeline (the app opened again) reads from the disk cache.
    let thumbs = Thumbnailer::new(cfg);
    for p in &photos {
        thumbs.request(p);
    }
    let results = wait_for(&thumbs, 4);
    assert!(results
        .iter()
        .all(|(_, r)| r.as_ref().is_ok_and(|t| (t.width, t.height) == (96, 128))));
    let s = thumbs.stats();
    assert_eq!((s.decoded, s.cache_hits), (0, 4));
}
