//! End to end: `mask-curator demo-data` then `mask-curator scan` on a temporary folder.

use mask_curator::dataset::{scan, Mask, ProblemKind, Slot};
use mask_curator::demo::{read_manifest, NoiseKind};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mask-curator"))
}

fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "command failed\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn demo(out: &Path, people: usize, seed: u64, noise: f64) -> Output {
    run_ok(bin().args(["demo-data", "--out"]).arg(out).args([
        "--people",
        &people.to_string(),
        "--seed",
        &seed.to_string(),
        "--noise",
        &noise.to_string(),
    ]))
}

/// Every file under `root`, relative path -> bytes.
fn read_tree(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(
                    p.strip_prefix(root).unwrap().to_path_buf(),
                    std::fs::read(&p).unwrap(),
                );
            }
        }
    }
    out
}

#[test]
fn demo_data_scans_clean_with_the_planned_counts() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("demo");
    let out = demo(&root, 40, 5, 0.2);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("images/s"), "{text}");
    assert!(
        text.contains("40 people, 280 train photos, 112 eval photos"),
        "{text}"
    );

    // A deep scan decodes every photo: all files are valid.
    let scan_out = run_ok(bin().args(["scan", "--deep", "--json"]).arg(&root));
    let v: serde_json::Value = serde_json::from_slice(&scan_out.stdout).unwrap();
    assert_eq!(
        v["problems"].as_array().unwrap().len(),
        0,
        "{}",
        v["problems"]
    );
    let s = &v["summary"];
    assert_eq!(s["people"], 40);
    assert_eq!(s["photos"], 280);
    assert_eq!(s["eval_images"], 112);
    assert_eq!(v["stats"]["sizes"]["384x512"], 280 + 112);
    assert_eq!(v["stats"]["junk_skipped"], 2);
    assert!(
        v["stats"]["channels"]["4"].as_u64().unwrap() >= 1,
        "an RGBA photo"
    );
    assert!(s["photos_by_extension"]["png"].as_u64().unwrap() >= 1);
    assert!(s["photos_by_extension"]["jpeg"].as_u64().unwrap() >= 1);
    assert!(s["mixed_extension_folders"].as_array().unwrap().len() >= 2);
    assert_eq!(s["duplicated_ids"].as_array().unwrap().len(), 1);
    assert!(s["suffixed_ids"].as_u64().unwrap() >= 1);
    let per_class: Vec<u64> = s["per_class"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap())
        .collect();
    assert_eq!(per_class.iter().sum::<u64>(), 280);
    // Mostly female, few 60-year-olds, as in the real data.
    let gender: Vec<u64> = s["gender_people"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap())
        .collect();
    assert!(gender[1] > gender[0], "{gender:?}");
    let ds = scan(&root).unwrap();
    let eval = ds.eval.as_ref().unwrap();
    let gt = eval.ground_truth.as_ref().unwrap();
    assert_eq!(gt.len(), 112);
    assert!(eval
        .image_ids
        .iter()
        .all(|id| id.len() == 44 && id.ends_with(".jpg")));
    // Every eval person contributes one photo of each mask kind.
    let masks = gt.iter().filter(|c| c.mask() == Mask::Wear).count();
    assert_eq!(masks, 16 * 5);

    // The text report agrees.
    let text_out = run_ok(bin().arg("scan").arg(&root));
    let text = String::from_utf8_lossy(&text_out.stdout);
    assert!(
        text.contains("people 40") && text.contains("No problems found."),
        "{text}"
    );
}

#[test]
fn noise_manifest_matches_what_the_files_say() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("demo");
    demo(&root, 40, 11, 0.2);
    let ds = scan(&root).unwrap();
    assert!(ds.problems.is_empty(), "{:?}", ds.problems);
    let noise = read_manifest(&root.join("noise.csv")).unwrap();
    for kind in NoiseKind::ALL {
        assert!(
            noise.iter().any(|e| e.kind == kind),
            "no {kind:?} in {noise:?}"
        );
    }
    for e in &noise {
        let folder = e.person_folder();
        let person = ds.person_index(folder).map(|i| &ds.people[i]);
        let person = person.unwrap_or_else(|| panic!("{} names no person", e.path));
        assert_ne!(e.true_value, e.given_value, "{e:?}");
        match e.field.as_str() {
            "gender" => assert_eq!(person.gender.name(), e.given_value, "{e:?}"),
            "age" => assert_eq!(person.age.to_string(), e.given_value, "{e:?}"),
            "mask" => {
                let slot =
                    Slot::from_stem(Path::new(&e.path).file_stem().unwrap().to_str().unwrap())
                        .unwrap();
                let photo = person.photos[slot.index()].as_ref().unwrap();
                assert_eq!(photo.rel_path, Path::new(&e.path));
                assert_eq!(slot.mask().name(), e.given_value);
                assert!(Mask::ALL.iter().any(|m| m.name() == e.true_value));
            }
            "identity" => {
                assert_eq!(e.given_value, folder);
                assert!(ds.person_index(&e.true_value).is_some(), "{e:?}");
            }
            other => panic!("unknown field {other}"),
        }
    }
    // The flip run is a block of consecutive ids labelled female, really male.
    let mut run: Vec<u32> = noise
        .iter()
        .filter(|e| e.kind == NoiseKind::GenderFlipRun)
        .map(|e| {
            e.person_folder()
                .split('_')
                .next()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    run.sort();
    assert!(
        run.len() >= 3 && run.windows(2).all(|w| w[1] == w[0] + 1),
        "{run:?}"
    );
    // Swapped files come in pairs inside one person.
    let swaps: Vec<&str> = noise
        .iter()
        .filter(|e| e.kind == NoiseKind::MaskSwap)
        .map(|e| e.person_folder())
        .collect();
    assert_eq!(swaps.len() % 2, 0);
    // The duplicated identity: same labels, two ids, near-identical photos.
    let dup = noise
        .iter()
        .find(|e| e.kind == NoiseKind::DuplicateIdentity)
        .unwrap();
    let (a, b) = (
        ds.person_index(&dup.true_value).unwrap(),
        ds.person_index(&dup.given_value).unwrap(),
    );
    assert_ne!(ds.people[a].id, ds.people[b].id);
    let mean_diff = |x: &Path, y: &Path| -> f64 {
        let (x, y) = (
            image::open(x).unwrap().to_rgb8(),
            image::open(y).unwrap().to_rgb8(),
        );
        let total: f64 = x
            .as_raw()
            .iter()
            .zip(y.as_raw())
            .map(|(p, q)| (*p as f64 - *q as f64).abs())
            .sum();
        total / x.as_raw().len() as f64
    };
    let normal = |i: usize| {
        ds.root.join(
            &ds.people[i].photos[Slot::Normal.index()]
                .as_ref()
                .unwrap()
                .rel_path,
        )
    };
    let other = (0..ds.people.len()).find(|&i| i != a && i != b).unwrap();
    let same_person = mean_diff(&normal(a), &normal(b));
    let strangers = mean_diff(&normal(a), &normal(other));
    assert!(
        same_person < strangers,
        "duplicate {same_person:.1} vs stranger {strangers:.1}"
    );
}

#[test]
fn same_seed_same_bytes_other_seed_other_data() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c) = (
        dir.path().join("a"),
        dir.path().join("b"),
        dir.path().join("c"),
    );
    demo(&a, 12, 3, 0.25);
    run_ok(
        bin()
            .args([
                "demo-data",
                "--threads",
                "1",
                "--people",
                "12",
                "--seed",
                "3",
                "--noise",
                "0.25",
                "--out",
            ])
            .arg(&b),
    );
    let (ta, tb) = (read_tree(&a), read_tree(&b));
    assert_eq!(ta.len(), tb.len());
    assert!(ta.len() > 12 * 7);
    for (path, bytes) in &ta {
        assert!(
            tb.get(path) == Some(bytes),
            "{} differs between runs",
            path.display()
        );
    }
    demo(&c, 12, 4, 0.25);
    let tc = read_tree(&c);
    assert_ne!(
        ta.get(Path::new("train/train.csv")),
        tc.get(Path::new("train/train.csv"))
    );
}

#[test]
fn refuses_to_write_into_a_non_empty_folder() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("keep.txt"), b"user data").unwrap();
    let out = bin()
        .args(["demo-data", "--people", "3", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not empty"));
    assert_eq!(
        std::fs::read(dir.path().join("keep.txt")).unwrap(),
        b"user data"
    );
}

#[test]
fn clean_demo_has_no_noise_and_damage_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("demo");
    demo(&root, 10, 1, 0.0);
    let noise = read_manifest(&root.join("noise.csv")).unwrap();
    assert!(noise.is_empty());
    // Damage one photo: the scan reports it and still succeeds.
    let ds = scan(&root).unwrap();
    let victim = ds
        .root
        .join(&ds.people[0].photos[0].as_ref().unwrap().rel_path);
    let bytes = std::fs::read(&victim).unwrap();
    std::fs::write(&victim, &bytes[..bytes.len() / 3]).unwrap();
    let ds = scan(&root).unwrap();
    assert_eq!(ds.problems.len(), 1);
    assert_eq!(ds.problems[0].kind, ProblemKind::CorruptImage);
}
