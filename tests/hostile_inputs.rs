//! Regression tests for hostile inputs, each built from its description: decompression
//! bombs, a decoder that panics, named pipes named like photos, damaged cache entries,
//! damage inside a photo that a deep scan must see. Memory is measured with a counting
//! allocator: a decode must stay under 256 MB whatever the file declares.

mod hostile_support;

use hostile_support as hs;
use mask_curator::dataset::{scan_with, ProblemKind, ScanOptions, Verify};
use mask_curator::thumbs::decode::{self, Strictness};
use mask_curator::thumbs::reduced_jpeg::{self, Reduced};
use mask_curator::thumbs::{DiskCache, SourceStamp, ThumbConfig, Thumbnailer};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[global_allocator]
static ALLOC: hs::Counting = hs::Counting;

/// Tests that measure memory run one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

const MEMORY_BOUND: usize = 256 << 20;

fn thumb(name: &str, bytes: &[u8]) -> Result<mask_curator::thumbs::Thumb, String> {
    decode::decode_bytes(Path::new(name), bytes, 96, 128).map_err(|e| e.to_string())
}

#[test]
fn decompression_bombs_are_refused_before_allocating() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    for (name, bytes) in [
        ("progressive.jpg", hs::bomb_progressive()),
        ("baseline.jpg", hs::bomb_baseline()),
    ] {
        assert!(bytes.len() < 4096, "{name}: {} bytes", bytes.len());
        let started = Instant::now();
        let (result, peak) = hs::peak_heap(|| thumb(name, &bytes));
        let took = started.elapsed();
        let err = result.expect_err(name);
        assert!(err.contains(name) && err.contains("65535x65535"), "{err}");
        assert!(peak < MEMORY_BOUND, "{name}: {peak} bytes");
        // A generous bound against hangs (the unbounded fallback took 43 s).
        assert!(took < Duration::from_secs(5), "{name}: {took:?}");
        // Strict (scan --deep) and the training path refuse it the same way.
        let strict =
            decode::decode_photo(Path::new(name), &bytes, &|_, _| (1, 1), Strictness::Strict);
        assert!(strict.is_err());
    }
}

#[test]
fn a_png_declaring_a_huge_size_is_refused_before_allocating() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut png = hs::png(16, 16, 4);
    // IHDR width and height at 16..24; the header CRC is left wrong on purpose too.
    png[16..20].copy_from_slice(&60_000u32.to_be_bytes());
    png[20..24].copy_from_slice(&60_000u32.to_be_bytes());
    let (result, peak) = hs::peak_heap(|| thumb("huge.png", &png));
    assert!(result.is_err());
    assert!(peak < MEMORY_BOUND, "{peak} bytes");
}

#[test]
fn the_truncated_16383_square_is_noticed_before_decoding_blocks() {
    let bytes = hs::truncated_16383();
    assert_eq!(bytes.len(), 631);
    match reduced_jpeg::decode(&bytes, |w, h| (w / 8, h / 8), 16_384) {
        Reduced::Damaged(why) => assert_eq!(why, "entropy data ended early"),
        other => panic!("expected damage, got {other:?}"),
    }
    let err = thumb("cut.jpg", &bytes).unwrap_err();
    assert!(err.contains("16383x16383"), "{err}");
}

#[test]
fn an_odd_sampling_progressive_file_is_an_error_or_a_picture_never_a_crash() {
    let bytes = hs::odd_sampling_progressive();
    match thumb("odd.jpg", &bytes) {
        Ok(t) => assert_eq!(t.rgba.len(), (t.width * t.height * 4) as usize),
        Err(e) => assert!(e.contains("odd.jpg"), "{e}"),
    }
    let strict = decode::decode_photo(
        Path::new("odd.jpg"),
        &bytes,
        &|_, _| (1, 1),
        Strictness::Strict,
    );
    if let Err(e) = strict {
        assert!(!e.reason().is_empty());
    }
}

#[test]
fn a_panicking_waker_does_not_end_the_only_worker() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.jpg");
    let b = dir.path().join("b.jpg");
    std::fs::write(&a, hs::jpeg(64, 48, 5)).unwrap();
    std::fs::write(&b, hs::jpeg(64, 48, 6)).unwrap();
    let thumbs = Thumbnailer::new(ThumbConfig {
        workers: 1,
        ..Default::default()
    });
    let first = Arc::new(AtomicBool::new(true));
    let flag = Arc::clone(&first);
    thumbs.set_on_ready(Box::new(move || {
        if flag.swap(false, Ordering::SeqCst) {
            panic!("waker failed");
        }
    }));
    thumbs.request(&a);
    assert!(wait_ready(&thumbs, &a).is_ok());
    thumbs.request(&b);
    assert!(
        wait_ready(&thumbs, &b).is_ok(),
        "the worker died with the first job"
    );
}

fn wait_ready(thumbs: &Thumbnailer, path: &Path) -> Result<mask_curator::thumbs::Thumb, String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Some((p, result)) = thumbs.poll_one() {
            if p == path {
                return result.map_err(|e| e.to_string());
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!("{} never became ready", path.display());
}

#[test]
fn a_damaged_cache_entry_is_dropped_and_the_photo_decoded_again() {
    let dir = tempfile::tempdir().unwrap();
    let photo = dir.path().join("p.jpg");
    std::fs::write(&photo, hs::jpeg(96, 128, 7)).unwrap();
    let cache = DiskCache::new(dir.path().join("thumbs"), 96, 128);
    let fresh = decode::decode_file(&photo, 96, 128).unwrap();
    let stamp = SourceStamp::of(&std::fs::metadata(&photo).unwrap());
    cache.store(&photo, stamp, &fresh).unwrap();
    let entry = std::fs::read(cache.entry_path(&photo)).unwrap();
    assert!(cache.parse_entry(&photo, stamp, &entry).is_some());
    // Damage anywhere in the entry (header or pixels) makes it a miss, never broken pixels.
    let mut misses = 0;
    for at in (0..entry.len()).step_by(7) {
        let mut bad = entry.clone();
        bad[at] ^= 0x10;
        if cache.parse_entry(&photo, stamp, &bad).is_none() {
            misses += 1;
        }
    }
    assert_eq!(misses, entry.len().div_ceil(7));
    // On disk: the pool decodes the photo again and gets the right pixels.
    let mut bad = entry.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0x55;
    std::fs::write(cache.entry_path(&photo), &bad).unwrap();
    let loaded = mask_curator::thumbs::load_or_decode(&photo, 96, 128, Some(&cache)).unwrap();
    assert!(!loaded.from_cache);
    assert_eq!(loaded.thumb, fresh);
}

/// A person folder tree of `people` people with seven valid photos each.
fn dataset(root: &Path, people: usize) -> Vec<String> {
    let mut csv = String::from("id,gender,race,age,path\n");
    let mut folders = Vec::new();
    for i in 0..people {
        let folder = format!("{:06}_female_Asian_{}", i + 1, 20 + i);
        let dir = root.join("train/images").join(&folder);
        std::fs::create_dir_all(&dir).unwrap();
        for (s, stem) in [
            "mask1",
            "mask2",
            "mask3",
            "mask4",
            "mask5",
            "incorrect_mask",
            "normal",
        ]
        .iter()
        .enumerate()
        {
            std::fs::write(
                dir.join(format!("{stem}.jpg")),
                hs::jpeg(96, 128, (i * 7 + s) as u64),
            )
            .unwrap();
        }
        csv.push_str(&format!("{:06},female,Asian,{},{folder}\n", i + 1, 20 + i));
        folders.push(folder);
    }
    std::fs::write(root.join("train/train.csv"), csv).unwrap();
    folders
}

#[test]
fn a_deep_scan_sees_random_bytes_inside_a_photo() {
    let dir = tempfile::tempdir().unwrap();
    let folders = dataset(dir.path(), 2);
    let victim: PathBuf = dir
        .path()
        .join("train/images")
        .join(&folders[1])
        .join("mask3.jpg");
    // A photo of realistic size, 300 random bytes written over its middle.
    let photo = hs::jpeg(384, 512, 11);
    std::fs::write(&victim, hs::random_bytes_mid(&photo, 300, 12)).unwrap();
    let header_only = scan_with(dir.path(), &ScanOptions::default()).unwrap();
    assert!(header_only.dataset.problems.is_empty());
    let deep = scan_with(
        dir.path(),
        &ScanOptions {
            verify: Verify::Decode,
            ..Default::default()
        },
    )
    .unwrap();
    let problems = &deep.dataset.problems;
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].kind, ProblemKind::CorruptImage);
    assert!(problems[0].path.ends_with("mask3.jpg"));
    assert!(
        problems[0].reason.starts_with("cannot decode:"),
        "{}",
        problems[0].reason
    );
}

#[test]
fn deep_scans_see_random_bytes_in_many_photos() {
    // The same damage at many seeds: the deep check must catch nearly all of it.
    let photo = hs::jpeg(384, 512, 13);
    let mut caught = 0;
    let seeds = 50;
    for seed in 0..seeds {
        let bad = hs::random_bytes_mid(&photo, 300, seed);
        if decode::decode_photo(Path::new("x.jpg"), &bad, &|_, _| (1, 1), Strictness::Strict)
            .is_err()
        {
            caught += 1;
        }
    }
    assert!(caught >= seeds * 9 / 10, "caught {caught} of {seeds}");
}

#[cfg(unix)]
#[test]
fn a_named_pipe_named_like_a_photo_is_a_problem_and_never_opened() {
    let dir = tempfile::tempdir().unwrap();
    let folders = dataset(dir.path(), 2);
    let fifo = dir
        .path()
        .join("train/images")
        .join(&folders[0])
        .join("mask4.jpg");
    std::fs::remove_file(&fifo).unwrap();
    make_fifo(&fifo);
    // In a thread, so a scan that blocks on the pipe fails the test instead of hanging it.
    let root = dir.path().to_path_buf();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for verify in [Verify::Header, Verify::Decode] {
            let report = scan_with(
                &root,
                &ScanOptions {
                    verify,
                    ..Default::default()
                },
            );
            let _ = tx.send(report.map(|r| r.dataset.problems));
        }
    });
    for _ in 0..2 {
        let problems = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("scan blocked on a named pipe")
            .unwrap();
        let pipe: Vec<_> = problems
            .iter()
            .filter(|p| p.path.ends_with("mask4.jpg"))
            .collect();
        assert_eq!(pipe.len(), 2, "{problems:?}");
        assert!(pipe
            .iter()
            .any(|p| p.kind == ProblemKind::CorruptImage && p.reason.contains("named pipe")));
        assert!(pipe.iter().any(|p| p.kind == ProblemKind::MissingPhoto));
    }
    // The thumbnail path refuses it without opening it as well.
    let err = decode::decode_file(&fifo, 96, 128).unwrap_err();
    assert!(err.reason().contains("named pipe"), "{err}");
}

#[cfg(unix)]
pub fn make_fifo(path: &Path) {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: `c` is a valid NUL-terminated path for the duration of the call.
    let rc = unsafe { libc::mkfifo(c.as_ptr(), 0o644) };
    assert_eq!(rc, 0, "mkfifo {}", path.display());
}

#[cfg(unix)]
#[test]
fn an_unreadable_person_folder_is_reported_as_such() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let folders = dataset(dir.path(), 2);
    let locked = dir.path().join("train/images").join(&folders[1]);
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::read_dir(&locked).is_ok() {
        // Running as root: permissions do not stop reading. The classification itself is
        // covered by the scan module's unit test.
        eprintln!("note: folder permissions are not enforced here (root); skipped");
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
        return;
    }
    let report = scan_with(dir.path(), &ScanOptions::default()).unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
    let kinds: Vec<ProblemKind> = report.dataset.problems.iter().map(|p| p.kind).collect();
    assert_eq!(kinds, vec![ProblemKind::UnreadableFolder]);
}

#[test]
fn a_panic_inside_a_decoder_is_an_error_for_that_photo() {
    // The size callback runs inside the decoders (ours and jpeg-decoder's), so a panic
    // there stands for a panicking decoder: the boundary must turn it into an error.
    for (name, bytes) in [
        ("baseline.jpg", hs::jpeg(64, 48, 8)),
        (
            "progressive.jpg",
            hs::jpeg_with(64, 48, 9, |e| e.set_progressive(true)),
        ),
    ] {
        for strictness in [Strictness::Lenient, Strictness::Strict] {
            let err = decode::decode_photo(
                Path::new(name),
                &bytes,
                &|_, _| panic!("simulated decoder bug"),
                strictness,
            )
            .unwrap_err();
            assert!(
                err.reason().contains("the decoder failed on this file")
                    && err.reason().contains("simulated decoder bug")
                    && err.to_string().contains(name),
                "{err}"
            );
            assert!(err.tile_text().starts_with("cannot decode: "));
        }
    }
}

/// A 2,700-byte 130x33 JPEG on which zune-jpeg (the `image` crate's JPEG decoder, our last
/// fallback) panics in its IDCT. Found by `examples/fuzz_long_run.rs`, seed 1, JPEG input
/// 414153 (a mutation of `hostile_support::odd_sampling_progressive`).
fn zune_panic_jpeg() -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/zune_panic_130x33.jpg"),
    )
    .unwrap()
}

#[test]
fn a_file_that_panics_the_fallback_decoder_is_an_error_and_the_only_worker_lives_on() {
    let bytes = zune_panic_jpeg();
    for strictness in [Strictness::Lenient, Strictness::Strict] {
        let err = decode::decode_photo(Path::new("z.jpg"), &bytes, &|_, _| (96, 128), strictness)
            .unwrap_err();
        assert!(
            err.reason().contains("the decoder failed on this file"),
            "{err}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.jpg");
    let good = dir.path().join("good.jpg");
    std::fs::write(&bad, &bytes).unwrap();
    std::fs::write(&good, hs::jpeg(64, 48, 10)).unwrap();
    let thumbs = Thumbnailer::new(ThumbConfig {
        workers: 1,
        ..Default::default()
    });
    thumbs.request(&bad);
    let err = wait_ready(&thumbs, &bad).unwrap_err();
    assert!(
        err.contains("cannot") || err.contains("decoder failed"),
        "{err}"
    );
    thumbs.request(&good);
    assert!(wait_ready(&thumbs, &good).is_ok());
}
