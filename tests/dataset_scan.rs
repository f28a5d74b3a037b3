//! Scanning small hand-made trees: every quirk of the real layout and every problem kind,
//! through the library and through `mask-curator scan`.

use image::ImageEncoder;
use mask_curator::dataset::{
    scan, scan_with, ClassCode, DatasetError, DatasetSummary, Gender, GivenLabels, Mask,
    ProblemKind, ScanOptions, Slot, Verify,
};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The seven file stems of a person's folder.
fn stems() -> [&'static str; 7] {
    mask_curator::dataset::Slot::ALL.map(mask_curator::dataset::Slot::stem)
}

fn jpeg(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([x as u8, y as u8, 99]));
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
        .write_image(img.as_raw(), w, h, image::ExtendedColorType::Rgb8)
        .unwrap();
    out
}

fn png(rgba: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let (ty, n) = if rgba {
        (image::ExtendedColorType::Rgba8, 4)
    } else {
        (image::ExtendedColorType::Rgb8, 3)
    };
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(&vec![50u8; 12 * 16 * n], 12, 16, ty)
        .unwrap();
    out
}

/// A tree with the given people (`folder` names; labels taken from them) and eval images.
struct Tree {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Tree {
    fn new(folders: &[&str], eval: &[&str]) -> Tree {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let mut csv = String::from("id,gender,race,age,path\n");
        for f in folders {
            let parts: Vec<&str> = f.rsplitn(4, '_').collect();
            csv.push_str(&format!(
                "{},{},{},{},{f}\n",
                parts[3], parts[2], parts[1], parts[0]
            ));
            let d = root.join("train/images").join(f);
            std::fs::create_dir_all(&d).unwrap();
            for stem in stems() {
                std::fs::write(d.join(format!("{stem}.jpg")), jpeg(16, 16)).unwrap();
            }
        }
        std::fs::write(root.join("train/train.csv"), csv).unwrap();
        if !eval.is_empty() {
            std::fs::create_dir_all(root.join("eval/images")).unwrap();
            let mut info = String::from("ImageID,ans\n");
            for id in eval {
                info.push_str(&format!("{id},0\n"));
                std::fs::write(root.join("eval/images").join(id), jpeg(16, 16)).unwrap();
            }
            std::fs::write(root.join("eval/info.csv"), info).unwrap();
        }
        Tree { _dir: dir, root }
    }
    fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }
    fn write(&self, rel: &str, bytes: &[u8]) {
        std::fs::create_dir_all(self.path(rel).parent().unwrap()).unwrap();
        std::fs::write(self.path(rel), bytes).unwrap();
    }
    fn remove(&self, rel: &str) {
        std::fs::remove_file(self.path(rel)).unwrap();
    }
}

fn kinds(root: &Path) -> Vec<(ProblemKind, String, Option<usize>)> {
    scan(root)
        .unwrap()
        .problems
        .iter()
        .map(|p| (p.kind, p.path.to_string_lossy().into_owned(), p.line))
        .collect()
}

const A: &str = "000001_female_Asian_45";
const B: &str = "000002_male_Asian_60";
const C: &str = "001498-1_male_Asian_19";

#[test]
fn clean_tree_reads_people_labels_and_order() {
    let t = Tree::new(&[A, B, C], &["aa.jpg", "bb.jpg"]);
    let ds = scan(&t.root).unwrap();
    assert!(ds.problems.is_empty(), "{:?}", ds.problems);
    assert_eq!(ds.people.len(), 3);
    assert_eq!(ds.people[0].folder, A);
    assert_eq!(
        (ds.people[0].gender, ds.people[0].age),
        (Gender::Female, 45)
    );
    assert_eq!(ds.people[2].id, "001498-1");
    let refs: Vec<_> = ds.photo_refs().collect();
    assert_eq!(refs.len(), 21);
    assert_eq!(refs[5].slot, Slot::Incorrect);
    let labels = GivenLabels::of(&ds);
    // female 45 wearing a mask = class 4; male 60 not wearing = 2*6 + 0 + 2 = 14.
    assert_eq!(labels.classes[0], ClassCode::from_index(4).unwrap());
    assert_eq!(labels.classes[13], ClassCode::from_index(14).unwrap());
    assert_eq!(labels.classes[14].mask(), Mask::Wear);
    assert_eq!(labels.person[20], 2);
    let photo = ds.photo(refs[8]).unwrap();
    assert_eq!(ds.find_photo(&photo.rel_path), Some(refs[8]));
    assert_eq!(
        photo.rel_path,
        Path::new("train/images/000002_male_Asian_60/mask2.jpg")
    );
    let eval = ds.eval.unwrap();
    assert_eq!(eval.image_ids, vec!["aa.jpg", "bb.jpg"]);
}

#[test]
fn quirks_mixed_extensions_rgba_junk_and_duplicated_ids() {
    let d1 = "003397_female_Asian_19";
    let d2 = "003397_female_Asian_20";
    let t = Tree::new(&[A, d1, d2], &[]);
    t.remove(&format!("train/images/{A}/mask5.jpg"));
    t.write(&format!("train/images/{A}/mask5.png"), &png(true));
    t.remove(&format!("train/images/{A}/normal.jpg"));
    t.write(&format!("train/images/{A}/normal.JPEG"), &jpeg(8, 8));
    t.write(
        &format!("train/images/{A}/._mask1.jpg"),
        b"\x00\x05\x16\x07junk",
    );
    t.write(&format!("train/images/{A}/.DS_Store"), b"junk");
    t.write("train/images/._000001_female_Asian_45", b"junk");
    let report = scan_with(&t.root, &ScanOptions::default()).unwrap();
    let ds = &report.dataset;
    assert!(ds.problems.is_empty(), "{:?}", ds.problems);
    assert_eq!(report.stats.junk_skipped, 3);
    assert_eq!(report.stats.channels.get(&4), Some(&1));
    let s = DatasetSummary::of(ds);
    assert_eq!(s.mixed_extension_folders, vec![A.to_string()]);
    assert_eq!(s.photos_by_extension.get("png"), Some(&1));
    assert_eq!(s.photos_by_extension.get("jpeg"), Some(&1));
    assert_eq!(s.duplicated_ids, vec!["003397".to_string()]);
    assert_eq!(ds.people.len(), 3);
    assert_eq!(ds.people[1].age, 19);
    assert_eq!(ds.people[2].age, 20);
}

#[test]
fn missing_photo_and_duplicate_photo() {
    let t = Tree::new(&[A], &[]);
    t.remove(&format!("train/images/{A}/mask3.jpg"));
    t.write(&format!("train/images/{A}/mask1.png"), &png(false));
    let ds = scan(&t.root).unwrap();
    let got: Vec<_> = ds
        .problems
        .iter()
        .map(|p| (p.kind, p.path.to_string_lossy().into_owned()))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                ProblemKind::DuplicatePhoto,
                format!("train/images/{A}/mask1.png")
            ),
            (
                ProblemKind::MissingPhoto,
                format!("train/images/{A}/mask3.jpg")
            ),
        ]
    );
    let p = &ds.people[0];
    assert!(p.photos[Slot::Mask3.index()].is_none());
    assert_eq!(
        p.photos[0].as_ref().unwrap().rel_path,
        Path::new("train/images").join(A).join("mask1.jpg")
    );
    assert_eq!(ds.photo_count(), 6);
}

#[test]
fn corrupt_images_truncated_garbage_and_empty() {
    let t = Tree::new(&[A], &[]);
    let full = jpeg(64, 64);
    t.write(
        &format!("train/images/{A}/mask1.jpg"),
        &full[..full.len() / 2],
    );
    t.write(
        &format!("train/images/{A}/mask2.jpg"),
        b"<html>not an image</html>",
    );
    t.write(&format!("train/images/{A}/mask4.jpg"), b"");
    let ds = scan(&t.root).unwrap();
    let corrupt: Vec<(String, String)> = ds
        .problems
        .iter()
        .filter(|p| p.kind == ProblemKind::CorruptImage)
        .map(|p| {
            (
                p.path.file_name().unwrap().to_string_lossy().into_owned(),
                p.reason.clone(),
            )
        })
        .collect();
    assert_eq!(corrupt.len(), 3, "{:?}", ds.problems);
    assert!(corrupt[0].1.contains("truncated"), "{:?}", corrupt[0]);
    assert!(corrupt[1].1.contains("not a JPEG or PNG"));
    assert_eq!(corrupt[2].1, "empty file");
    assert_eq!(ds.photo_count(), 4, "corrupt photos are left out");
    assert_eq!(
        ds.problems.len(),
        3,
        "a corrupt slot is not also reported missing"
    );
}

#[test]
fn a_corrupt_file_with_a_good_twin_uses_the_twin() {
    let t = Tree::new(&[A], &[]);
    t.write(&format!("train/images/{A}/mask1.jpg"), b"garbage");
    t.write(&format!("train/images/{A}/mask1.png"), &png(false));
    let ds = scan(&t.root).unwrap();
    assert_eq!(ds.problems.len(), 1);
    assert_eq!(ds.problems[0].kind, ProblemKind::CorruptImage);
    assert!(ds.people[0].photos[0]
        .as_ref()
        .unwrap()
        .rel_path
        .ends_with("mask1.png"));
}

#[test]
fn deep_verify_decodes_pixels() {
    let t = Tree::new(&[A], &[]);
    // Header and end marker intact, compressed data destroyed.
    let mut bytes = jpeg(64, 64);
    let n = bytes.len();
    for b in &mut bytes[n / 2..n - 2] {
        *b = 0xFF;
    }
    t.write(&format!("train/images/{A}/mask1.jpg"), &bytes);
    let shallow = scan_with(&t.root, &ScanOptions::default()).unwrap().dataset;
    let deep = scan_with(
        &t.root,
        &ScanOptions {
            verify: Verify::Decode,
            ..Default::default()
        },
    )
    .unwrap()
    .dataset;
    assert!(
        deep.problems
            .iter()
            .any(|p| p.kind == ProblemKind::CorruptImage),
        "{:?}",
        deep.problems
    );
    assert!(deep.problems.len() >= shallow.problems.len());
}

#[test]
fn unknown_files_and_folders() {
    let t = Tree::new(&[A], &[]);
    t.write(&format!("train/images/{A}/mask6.jpg"), &jpeg(8, 8));
    t.write(&format!("train/images/{A}/notes.txt"), b"hi");
    std::fs::create_dir_all(t.path(&format!("train/images/{A}/extra"))).unwrap();
    t.write("train/images/stray.jpg", &jpeg(8, 8));
    let got = kinds(&t.root);
    let unknown: Vec<&String> = got
        .iter()
        .filter(|k| k.0 == ProblemKind::UnknownFile)
        .map(|k| &k.1)
        .collect();
    assert_eq!(unknown.len(), 4, "{got:?}");
    assert!(unknown.iter().any(|p| p.ends_with("mask6.jpg")));
    assert!(unknown.iter().any(|p| p.ends_with("notes.txt")));
    assert!(unknown.iter().any(|p| p.ends_with("extra")));
    assert!(unknown
        .iter()
        .any(|p| p.as_str() == "train/images/stray.jpg"));
}

#[test]
fn rows_and_folders_that_do_not_match() {
    let t = Tree::new(&[A, B], &[]);
    // Row without folder, folder without row, folder name disagreeing with its row.
    std::fs::rename(
        t.path(&format!("train/images/{B}")),
        t.path("train/images/000002_male_Asian_61"),
    )
    .unwrap();
    let csv = format!(
        "id,gender,race,age,path\n000001,male,Asian,44,{A}\n000002,male,Asian,60,{B}\n000009,female,Asian,20,000009_female_Asian_20\n"
    );
    std::fs::create_dir_all(t.path("train/images/000009_female_Asian_20")).unwrap();
    for stem in stems() {
        t.write(
            &format!("train/images/000009_female_Asian_20/{stem}.jpg"),
            &jpeg(8, 8),
        );
    }
    std::fs::write(t.path("train/train.csv"), csv).unwrap();
    let ds = scan(&t.root).unwrap();
    let got: Vec<_> = ds
        .problems
        .iter()
        .map(|p| (p.kind, p.path.to_string_lossy().into_owned(), p.line))
        .collect();
    assert!(
        got.contains(&(
            ProblemKind::MissingFolder,
            format!("train/images/{B}"),
            Some(3)
        )),
        "{got:?}"
    );
    assert!(got.contains(&(
        ProblemKind::FolderWithoutRow,
        "train/images/000002_male_Asian_61".into(),
        None
    )));
    let mismatch = ds
        .problems
        .iter()
        .find(|p| p.kind == ProblemKind::FolderMismatch)
        .unwrap();
    assert_eq!(mismatch.line, Some(2));
    assert!(
        mismatch.reason.contains("gender female vs male")
            && mismatch.reason.contains("age 45 vs 44"),
        "{}",
        mismatch.reason
    );
    // train.csv wins for labels; the person without a folder is left out.
    assert_eq!(ds.people.len(), 2);
    assert_eq!((ds.people[0].gender, ds.people[0].age), (Gender::Male, 44));
}

#[test]
fn bad_rows_name_their_line() {
    let t = Tree::new(&[A, B, C], &[]);
    let csv = format!(
        "id,gender,race,age,path\n000001,female,Asian,forty,{A}\n000002,man,Asian,60,{B}\n000003,female,Asian\n001498-1,male,Asian,19,{C}\n001498-1,male,Asian,19,{C}\n000004,male,Asian,abc,weird_folder\n"
    );
    std::fs::write(t.path("train/train.csv"), csv).unwrap();
    let ds = scan(&t.root).unwrap();
    let bad: Vec<(Option<usize>, &str)> = ds
        .problems
        .iter()
        .filter(|p| p.kind == ProblemKind::BadRow)
        .map(|p| (p.line, p.reason.as_str()))
        .collect();
    assert_eq!(bad.len(), 5, "{bad:?}");
    assert_eq!(bad[0].0, Some(2));
    assert!(bad[0].1.contains("age 'forty'") && bad[0].1.contains("using 45"));
    assert_eq!(bad[1].0, Some(3));
    assert!(bad[1].1.contains("gender 'man'") && bad[1].1.contains("using 'male'"));
    assert_eq!(bad[2].0, Some(4));
    assert!(bad[2].1.contains("columns"));
    assert_eq!(bad[3].0, Some(6));
    assert!(bad[3].1.contains("duplicate row") && bad[3].1.contains("line 5"));
    assert_eq!(bad[4].0, Some(7));
    assert!(ds
        .problems
        .iter()
        .all(|p| p.kind != ProblemKind::BadRow || p.path == Path::new("train/train.csv")));
    // A, B (values from their folder names) and C survive.
    assert_eq!(ds.people.len(), 3);
    assert_eq!(ds.people[0].age, 45);
    assert_eq!(ds.people[1].gender, Gender::Male);
}

#[test]
fn eval_rows_images_and_ground_truth() {
    let t = Tree::new(&[A], &["a1.jpg", "b2.jpg", "c3.jpg"]);
    std::fs::write(
        t.path("eval/info.csv"),
        "ImageID,ans\na1.jpg,0\n,0\nb2.jpg,0\na1.jpg,0\nc3.jpg,0\nd4.jpg,0\n",
    )
    .unwrap();
    t.write("eval/images/c3.jpg", b"broken");
    t.write("eval/images/zz.jpg", &jpeg(8, 8));
    t.write("eval/images/._a1.jpg", b"junk");
    std::fs::write(
        t.path("eval/gt.csv"),
        "ImageID,class\na1.jpg,3\nb2.jpg,17\nc3.jpg,0\nd4.jpg,5\n",
    )
    .unwrap();
    let ds = scan(&t.root).unwrap();
    let got: Vec<_> = ds
        .problems
        .iter()
        .map(|p| (p.kind, p.path.to_string_lossy().into_owned(), p.line))
        .collect();
    assert!(
        got.contains(&(ProblemKind::BadEvalRow, "eval/info.csv".into(), Some(3))),
        "{got:?}"
    );
    assert!(got.contains(&(ProblemKind::BadEvalRow, "eval/info.csv".into(), Some(5))));
    assert!(got.contains(&(
        ProblemKind::MissingEvalImage,
        "eval/images/d4.jpg".into(),
        Some(7)
    )));
    assert!(got.contains(&(
        ProblemKind::CorruptImage,
        "eval/images/c3.jpg".into(),
        Some(6)
    )));
    assert!(got.contains(&(ProblemKind::UnknownFile, "eval/images/zz.jpg".into(), None)));
    let eval = ds.eval.unwrap();
    assert_eq!(eval.image_ids, vec!["a1.jpg", "b2.jpg", "c3.jpg", "d4.jpg"]);
    let gt: Vec<usize> = eval
        .ground_truth
        .unwrap()
        .iter()
        .map(|c| c.index())
        .collect();
    assert_eq!(gt, vec![3, 17, 0, 5]);
}

#[test]
fn incomplete_ground_truth_is_ignored_with_a_problem() {
    let t = Tree::new(&[A], &["a1.jpg", "b2.jpg"]);
    std::fs::write(
        t.path("eval/gt.csv"),
        "ImageID,class\na1.jpg,3\nb2.jpg,18\n",
    )
    .unwrap();
    let ds = scan(&t.root).unwrap();
    assert!(ds.eval.unwrap().ground_truth.is_none());
    assert_eq!(
        ds.problems
            .iter()
            .filter(|p| p.kind == ProblemKind::BadEvalRow)
            .count(),
        2
    );
}

#[test]
fn unusable_roots_are_errors_with_clear_messages() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    assert!(matches!(scan(&missing), Err(DatasetError::NoRoot(_))));
    let err = scan(dir.path()).unwrap_err().to_string();
    assert!(err.contains("no train/ folder"), "{err}");
    let t = Tree::new(&[A], &[]);
    let err = scan(&t.path("train")).unwrap_err().to_string();
    assert!(err.contains("pass its parent"), "{err}");
    std::fs::write(t.path("train/train.csv"), "name,age\nx,1\n").unwrap();
    let err = scan(&t.root).unwrap_err().to_string();
    assert!(err.contains("train.csv") && err.contains("'id'"), "{err}");
    std::fs::remove_file(t.path("train/train.csv")).unwrap();
    let err = scan(&t.root).unwrap_err().to_string();
    assert!(
        err.contains("train.csv") && err.contains("missing"),
        "{err}"
    );
}

#[test]
fn scan_command_prints_counts_and_problems_and_exits_zero() {
    let t = Tree::new(&[A, B, C], &["aa.jpg"]);
    t.remove(&format!("train/images/{A}/mask3.jpg"));
    for i in 0..15 {
        t.write(&format!("train/images/{B}/extra{i}.txt"), b"x");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_mask-curator"))
        .arg("scan")
        .arg(&t.root)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("people 3"), "{text}");
    assert!(text.contains("photos 20"), "{text}");
    assert!(text.contains("missing photo (1)"), "{text}");
    assert!(
        text.contains(&format!("train/images/{A}/mask3.jpg")),
        "{text}"
    );
    assert!(text.contains("unknown file (15)"), "{text}");
    assert!(text.contains("and 5 more"), "{text}");
    // Class 4 (wear/female/30-59): four photos of A.
    assert!(
        text.lines()
            .any(|l| l.trim_start().starts_with("4 ") && l.trim_end().ends_with(" 4")),
        "{text}"
    );

    let all = Command::new(env!("CARGO_BIN_EXE_mask-curator"))
        .args(["scan", "--all"])
        .arg(&t.root)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&all.stdout).contains("extra9.txt"));

    let json = Command::new(env!("CARGO_BIN_EXE_mask-curator"))
        .args(["scan", "--json"])
        .arg(&t.root)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["summary"]["people"], 3);
    assert_eq!(v["summary"]["photos"], 20);
    assert_eq!(v["problems"].as_array().unwrap().len(), 16);

    let bad = Command::new(env!("CARGO_BIN_EXE_mask-curator"))
        .arg("scan")
        .arg(t.path("nowhere"))
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("no such folder"));
}
