//! End to end: `mask-curator check-photos` on a generated demo dataset: it finds the
//! photos the demo spoiled (photo_defects.csv), and those this test spoils on top: one
//! photo darkened, one person's photo filed again (re-encoded) under another person, one
//! person's normal file copied over its incorrect_mask slot. Nothing else is flagged.

use image::ImageEncoder;
use mask_curator::dataset::{scan, Slot};
use std::path::Path;
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mask-curator"))
}

fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "command failed\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn save_jpeg(img: &image::RgbImage, path: &Path, quality: u8) {
    let mut bytes = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, quality)
        .write_image(
            img.as_raw(),
            img.width(),
            img.height(),
            image::ExtendedColorType::Rgb8,
        )
        .unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// Every file under `root` except the workspace, with its bytes.
fn tree(root: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.ends_with(".mask-curator") {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p.clone(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn check_photos_finds_a_dark_photo_a_photo_filed_twice_and_a_copied_slot() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("demo");
    run_ok(
        bin()
            .args(["demo-data", "--people", "40", "--seed", "5", "--out"])
            .arg(&root),
    );
    let dataset = scan(&root).unwrap();
    let planted: Vec<(String, String, String)> =
        std::fs::read_to_string(root.join("photo_defects.csv"))
            .unwrap()
            .lines()
            .skip(1)
            .map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                (f[0].to_string(), f[1].to_string(), f[2].to_string())
            })
            .collect();
    let kinds: Vec<&str> = planted.iter().map(|(_, k, _)| k.as_str()).collect();
    for kind in [
        "dark",
        "light",
        "grayscale",
        "exact_duplicate",
        "near_duplicate",
    ] {
        assert!(
            kinds.contains(&kind),
            "the demo plants a {kind} photo: {planted:?}"
        );
    }
    let spoiled = |p: usize| {
        let folder = &dataset.people[p].folder;
        planted.iter().any(|(path, _, other)| {
            path.contains(folder.as_str()) || other.contains(folder.as_str())
        })
    };
    // People whose slots are all .jpg (the demo mixes extensions), not spoiled already.
    let jpg = |p: usize, slot: Slot| {
        dataset.people[p].photos[slot.index()]
            .as_ref()
            .filter(|ph| ph.rel_path.extension().is_some_and(|e| e == "jpg"))
            .map(|ph| root.join(&ph.rel_path))
    };
    let mut people = (0..dataset.people.len())
        .filter(|&p| !spoiled(p) && Slot::ALL.iter().all(|&s| jpg(p, s).is_some()));
    let (a, b, c, d) = (
        people.next().unwrap(),
        people.next().unwrap(),
        people.next().unwrap(),
        people.next().unwrap(),
    );
    let path = |p: usize, slot: Slot| jpg(p, slot).unwrap();
    let rel = |p: usize, slot: Slot| {
        dataset.people[p].photos[slot.index()]
            .as_ref()
            .unwrap()
            .rel_path
            .display()
            .to_string()
    };

    let dark = image::open(path(a, Slot::Mask3)).unwrap().to_rgb8();
    let dark = image::RgbImage::from_fn(dark.width(), dark.height(), |x, y| {
        image::Rgb(dark.get_pixel(x, y).0.map(|v| (f32::from(v) * 0.15) as u8))
    });
    save_jpeg(&dark, &path(a, Slot::Mask3), 90);
    let refiled = image::open(path(b, Slot::Mask2)).unwrap().to_rgb8();
    save_jpeg(&refiled, &path(c, Slot::Mask2), 70);
    std::fs::copy(path(d, Slot::Normal), path(d, Slot::Incorrect)).unwrap();

    let before = tree(&root);
    let csv = tmp.path().join("checks.csv");
    let out = run_ok(bin().arg("check-photos").arg(&root).arg("--out").arg(&csv));
    assert!(out.contains("280 photos measured"), "{out}");
    let rows: Vec<String> = std::fs::read_to_string(&csv)
        .unwrap()
        .lines()
        .skip(1)
        .map(str::to_string)
        .collect();
    let has = |path: &str, check: &str, detail: &str| {
        rows.iter()
            .any(|r| r.starts_with(&format!("{path},{check},")) && r.contains(detail))
    };
    assert!(has(&rel(a, Slot::Mask3), "dark", ""), "{rows:#?}");
    assert!(
        has(&rel(b, Slot::Mask2), "near_duplicate", &rel(c, Slot::Mask2)),
        "{rows:#?}"
    );
    assert!(
        has(&rel(c, Slot::Mask2), "near_duplicate", &rel(b, Slot::Mask2)),
        "{rows:#?}"
    );
    assert!(
        has(
            &rel(d, Slot::Incorrect),
            "exact_duplicate",
            "mask labels differ"
        ),
        "{rows:#?}"
    );
    assert!(
        has(
            &rel(d, Slot::Normal),
            "exact_duplicate",
            &rel(d, Slot::Incorrect)
        ),
        "{rows:#?}"
    );
    for (path, check, other) in &planted {
        assert!(
            has(path, check, other),
            "planted {check} {path} not found: {rows:#?}"
        );
    }
    // Nothing else: the demo's other photos are fine, and its seven photos of one sitting
    // are not near duplicates of each other.
    assert_eq!(rows.len(), 5 + planted.len(), "{rows:#?}");

    // A second check decodes nothing (the measures are saved beside the data) and finds
    // the same; the dataset itself was never written.
    let saved = root.join(".mask-curator/photo_measures.csv");
    let written = std::fs::metadata(&saved).unwrap().modified().unwrap();
    let again = run_ok(bin().arg("check-photos").arg(&root));
    // Nothing changed, so nothing was rewritten.
    assert_eq!(
        std::fs::metadata(&saved).unwrap().modified().unwrap(),
        written
    );
    assert!(
        again.contains("(280 unchanged since the last check)"),
        "{again}"
    );
    assert!(again.contains("near_duplicate   4"), "{again}");
    assert!(root.join(".mask-curator/photo_measures.csv").is_file());
    assert_eq!(tree(&root), before);
}
