//! Builds a placeholder copy of the real dataset (tiny valid images under the real file
//! names, the real train.csv and info.csv) and checks that a scan reproduces the real
//! counts and quirks. Needs `../shared/real-layout/` beside the repository.

use image::ImageEncoder;
use mask_curator::dataset::{scan_with, DatasetSummary, ProblemKind, ScanOptions, NUM_CLASSES};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn shared_layout() -> Option<PathBuf> {
    // `<repo>/../shared`, or `shared/` beside any ancestor (worktrees sit one level deeper).
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let found = manifest
        .ancestors()
        .skip(1)
        .map(|a| a.join("shared/real-layout"))
        .find(|d| {
            d.join("train.csv").is_file()
                && d.join("train_images.csv").is_file()
                && d.join("eval_info.csv").is_file()
        });
    if found.is_none() {
        eprintln!(
            "SKIPPED: no shared/real-layout beside {} or its parents",
            manifest.display()
        );
    }
    found
}

fn tiny_jpeg() -> Vec<u8> {
    let img = image::RgbImage::from_pixel(8, 8, image::Rgb([120, 90, 60]));
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80)
        .write_image(img.as_raw(), 8, 8, image::ExtendedColorType::Rgb8)
        .unwrap();
    out
}

fn tiny_png(rgba: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let enc = image::codecs::png::PngEncoder::new(&mut out);
    if rgba {
        enc.write_image(&[7u8; 8 * 8 * 4], 8, 8, image::ExtendedColorType::Rgba8)
            .unwrap();
    } else {
        enc.write_image(&[7u8; 8 * 8 * 3], 8, 8, image::ExtendedColorType::Rgb8)
            .unwrap();
    }
    out
}

/// The real image paths (relative to train/images) with their class.
fn real_images(layout: &Path) -> Vec<(String, usize)> {
    let mut reader = csv::Reader::from_path(layout.join("train_images.csv")).unwrap();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            let rel = r[1]
                .strip_prefix("input/data/train/images/")
                .unwrap()
                .to_string();
            (rel, r[2].parse().unwrap())
        })
        .collect()
}

struct Tree {
    _dir: tempfile::TempDir,
    root: PathBuf,
    rgba_photos: usize,
    junk_files: usize,
}

fn build_tree(layout: &Path) -> Tree {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("data");
    std::fs::create_dir_all(root.join("train/images")).unwrap();
    std::fs::create_dir_all(root.join("eval/images")).unwrap();
    std::fs::copy(layout.join("train.csv"), root.join("train/train.csv")).unwrap();
    std::fs::copy(layout.join("eval_info.csv"), root.join("eval/info.csv")).unwrap();
    let (jpeg, png, png_rgba) = (tiny_jpeg(), tiny_png(false), tiny_png(true));
    let mut rgba_photos = 0;
    let mut png_seen = 0;
    for (rel, _) in real_images(layout) {
        let path = root.join("train/images").join(&rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let bytes = if rel.ends_with(".png") {
            // Every third PNG is saved with an alpha channel, like the real 4-channel files.
            png_seen += 1;
            if png_seen % 3 == 0 {
                rgba_photos += 1;
                &png_rgba
            } else {
                &png
            }
        } else {
            &jpeg
        };
        std::fs::write(path, bytes).unwrap();
    }
    // macOS junk next to photos and among the person folders.
    let junk = [
        "train/images/000001_female_Asian_45/._mask1.jpg",
        "train/images/003397_female_Asian_19/._normal.jpg",
        "train/images/._000002_female_Asian_52",
        "eval/images/._cbc5c6e168e63498590db46022617123f1fe1268.jpg",
    ];
    for j in junk {
        std::fs::write(root.join(j), b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X").unwrap();
    }
    let mut reader = csv::Reader::from_path(layout.join("eval_info.csv")).unwrap();
    for r in reader.records() {
        std::fs::write(root.join("eval/images").join(&r.unwrap()[0]), &jpeg).unwrap();
    }
    Tree {
        _dir: dir,
        root,
        rgba_photos,
        junk_files: junk.len(),
    }
}

#[test]
fn scan_reproduces_the_real_counts_and_quirks() {
    let Some(layout) = shared_layout() else {
        return;
    };
    let tree = build_tree(&layout);
    let report = scan_with(&tree.root, &ScanOptions::default()).unwrap();
    let ds = &report.dataset;
    let s = DatasetSummary::of(ds);

    assert!(
        ds.problems.is_empty(),
        "unexpected problems: {:?}",
        &ds.problems[..ds.problems.len().min(5)]
    );
    assert_eq!(s.people, 2700);
    assert_eq!(s.photos, 18900);
    // The per-class counts of domain.md.
    let expected: [usize; NUM_CLASSES] = [
        2745, 2050, 415, 3660, 4085, 545, 549, 410, 83, 732, 817, 109, 549, 410, 83, 732, 817, 109,
    ];
    assert_eq!(s.per_class, expected);
    // And the same per photo as the class column of train_images.csv.
    let real: BTreeMap<String, usize> = real_images(&layout).into_iter().collect();
    for r in ds.photo_refs() {
        let photo = ds.photo(r).unwrap();
        let rel = photo
            .rel_path
            .strip_prefix("train/images")
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert_eq!(
            ds.people[r.person].class_of(r.slot).index(),
            real[&rel],
            "{rel}"
        );
    }
    assert_eq!(s.people_by_gender_age, [[549, 410, 83], [732, 817, 109]]);
    assert_eq!(s.people_by_age[&60], 192);
    assert_eq!(s.people_by_age[&59], 85);
    assert_eq!(s.people_by_age[&58], 159);

    // Mixed extensions: counts and the seven people mixing inside their folder.
    let ext: Vec<(&str, usize)> = s
        .photos_by_extension
        .iter()
        .map(|(e, n)| (e.as_str(), *n))
        .collect();
    assert_eq!(ext, vec![("jpeg", 354), ("jpg", 18035), ("png", 511)]);
    let mut expected_mixed: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for rel in real.keys() {
        let (folder, file) = rel.split_once('/').unwrap();
        expected_mixed
            .entry(folder)
            .or_default()
            .insert(file.rsplit_once('.').unwrap().1);
    }
    let expected_mixed: Vec<&str> = expected_mixed
        .into_iter()
        .filter(|(_, e)| e.len() > 1)
        .map(|(f, _)| f)
        .collect();
    assert_eq!(expected_mixed.len(), 7);
    let mut mixed = s.mixed_extension_folders.clone();
    mixed.sort();
    assert_eq!(mixed, expected_mixed);

    // Suffixed and duplicated ids: people are keyed by folder.
    assert_eq!(s.suffixed_ids, 41);
    assert!(ds
        .people
        .iter()
        .any(|p| p.id == "001498-1" && p.folder.starts_with("001498-1_")));
    assert_eq!(s.duplicated_ids, vec!["003397".to_string()]);
    assert!(ds.person_index("003397_female_Asian_19").is_some());
    assert!(ds.person_index("003397_female_Asian_20").is_some());

    // Junk skipped silently, RGBA files read as 4-channel photos.
    assert_eq!(report.stats.junk_skipped, tree.junk_files);
    assert_eq!(
        report.stats.channels.get(&4).copied().unwrap_or(0),
        tree.rgba_photos
    );
    assert!(tree.rgba_photos > 100);

    // Eval in info.csv order.
    let eval = ds.eval.as_ref().unwrap();
    assert_eq!(eval.image_ids.len(), 12600);
    assert_eq!(
        eval.image_ids[0],
        "cbc5c6e168e63498590db46022617123f1fe1268.jpg"
    );
    assert!(eval.ground_truth.is_none());
    assert_eq!(report.stats.eval_images_checked, 12600);
}

#[test]
fn damaged_copy_of_the_real_tree_reports_each_fault() {
    let Some(layout) = shared_layout() else {
        return;
    };
    let tree = build_tree(&layout);
    let images = tree.root.join("train/images");
    std::fs::remove_file(images.join("000001_female_Asian_45/mask3.jpg")).unwrap();
    std::fs::write(images.join("000002_female_Asian_52/normal.jpg"), b"garbage").unwrap();
    std::fs::remove_file(
        tree.root
            .join("eval/images/cbc5c6e168e63498590db46022617123f1fe1268.jpg"),
    )
    .unwrap();
    let ds = scan_with(&tree.root, &ScanOptions::default())
        .unwrap()
        .dataset;
    let kinds: Vec<ProblemKind> = ds.problems.iter().map(|p| p.kind).collect();
    assert_eq!(
        kinds,
        vec![
            ProblemKind::MissingPhoto,
            ProblemKind::CorruptImage,
            ProblemKind::MissingEvalImage
        ],
        "{:?}",
        ds.problems
    );
    assert_eq!(ds.photo_count(), 18898);
    assert_eq!(ds.people.len(), 2700);
}
