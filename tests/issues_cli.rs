//! End-to-end tests of `find-issues` and `evaluate-issues` driving the real binary.

use mask_curator::arrays::write_npy;
use mask_curator::issues::cleanlab::{find_label_issues_ranked, FindOptions, RankOptions};
use mask_curator::issues::ProbView;
use rand::{Rng, SeedableRng};
use std::path::Path;
use std::process::Command;

/// A valid 8 x 8 JPEG: the dataset scanner checks photo headers.
fn tiny_jpeg() -> Vec<u8> {
    use image::ImageEncoder;
    let img = image::RgbImage::from_pixel(8, 8, image::Rgb([120, 90, 60]));
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80)
        .write_image(img.as_raw(), 8, 8, image::ExtendedColorType::Rgb8)
        .unwrap();
    out
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mask-curator"))
}

/// N examples, K classes, softmax of noisy logits, 10% of labels flipped.
/// Runs a command that must succeed (a failure shows its stderr).
fn ok(cmd: &mut Command) -> std::process::Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn arrays(n: usize, k: usize, seed: u64) -> (Vec<i64>, Vec<f32>) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut labels = Vec::new();
    let mut probs = Vec::new();
    for _ in 0..n {
        let truth = rng.random_range(0..k);
        let logits: Vec<f64> = (0..k)
            .map(|j| rng.random::<f64>() * 2.0 + if j == truth { 2.5 } else { 0.0 })
            .collect();
        let s: f64 = logits.iter().map(|l| l.exp()).sum();
        probs.extend(logits.iter().map(|l| (l.exp() / s) as f32));
        labels.push(if rng.random::<f64>() < 0.1 {
            rng.random_range(0..k)
        } else {
            truth
        } as i64);
    }
    (labels, probs)
}

#[test]
fn find_issues_on_npy_arrays_matches_the_library_and_ranks_ascending() {
    let dir = tempfile::tempdir().unwrap();
    let (labels, probs) = arrays(600, 3, 1);
    write_npy(&dir.path().join("l.npy"), &[600], &labels).unwrap();
    write_npy(&dir.path().join("p.npy"), &[600, 3], &probs).unwrap();
    let out = ok(bin()
        .args(["find-issues", "--labels"])
        .arg(dir.path().join("l.npy"))
        .arg("--pred-probs")
        .arg(dir.path().join("p.npy")));
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    assert!(lines
        .next()
        .unwrap()
        .starts_with("index,given,suggested,score"));
    let rows: Vec<(usize, usize, usize, f64)> = lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (
                f[0].parse().unwrap(),
                f[1].parse().unwrap(),
                f[2].parse().unwrap(),
                f[3].parse().unwrap(),
            )
        })
        .collect();
    let ul: Vec<usize> = labels.iter().map(|&l| l as usize).collect();
    let (_, ranked) = find_label_issues_ranked(
        &ul,
        ProbView::new(&probs, 3).unwrap(),
        &FindOptions::default(),
        RankOptions::default(),
    )
    .unwrap();
    assert!(ranked.len() > 20);
    assert_eq!(
        rows.iter().map(|r| r.0).collect::<Vec<_>>(),
        ranked.iter().map(|r| r.0).collect::<Vec<_>>()
    );
    for w in rows.windows(2) {
        assert!(w[0].3 <= w[1].3);
    }
    for r in &rows {
        assert_eq!(r.1, ul[r.0]);
        assert_ne!(r.2, r.1);
    }
}

#[test]
fn find_issues_reads_csv_and_writes_out_file_with_options() {
    let dir = tempfile::tempdir().unwrap();
    let (labels, probs) = arrays(300, 2, 2);
    let lp = dir.path().join("labels.csv");
    let pp = dir.path().join("probs.csv");
    std::fs::write(
        &lp,
        labels.iter().map(|l| format!("{l}\n")).collect::<String>(),
    )
    .unwrap();
    let mut s = String::from("p0,p1\n");
    for r in probs.chunks(2) {
        s.push_str(&format!("{},{}\n", r[0], r[1]));
    }
    std::fs::write(&pp, s).unwrap();
    let out_path = dir.path().join("out/issues.csv");
    for filter in [
        "prune_by_class",
        "both",
        "confident_learning",
        "predicted_neq_given",
        "low_self_confidence",
        "low_normalized_margin",
    ] {
        let st = bin()
            .args(["find-issues", "--labels"])
            .arg(&lp)
            .arg("--pred-probs")
            .arg(&pp)
            .args([
                "--filter-by",
                filter,
                "--rank-by",
                "normalized_margin",
                "--out",
            ])
            .arg(&out_path)
            .output()
            .unwrap();
        assert!(
            st.status.success(),
            "{filter}: {}",
            String::from_utf8_lossy(&st.stderr)
        );
        let text = std::fs::read_to_string(&out_path).unwrap();
        assert!(text.lines().count() > 5, "{filter}: {text}");
    }
    let st = bin()
        .args(["find-issues", "--labels"])
        .arg(&lp)
        .arg("--pred-probs")
        .arg(&pp)
        .args(["--frac-noise", "0.5", "--min-examples-per-class", "3"])
        .output()
        .unwrap();
    assert!(st.status.success());
}

fn fails_with(args: &[&std::ffi::OsStr], needles: &[&str]) {
    let out = bin().arg("find-issues").args(args).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    for n in needles {
        assert!(err.contains(n), "missing {n:?} in: {err}");
    }
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn bad_inputs_get_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let l = d.join("l.npy");
    let p = d.join("p.npy");
    let os = |p: &Path| p.as_os_str().to_owned();
    let run = |needles: &[&str]| {
        fails_with(
            &[
                os(Path::new("--labels")).as_os_str(),
                os(&l).as_os_str(),
                os(Path::new("--pred-probs")).as_os_str(),
                os(&p).as_os_str(),
            ],
            needles,
        )
    };
    write_npy(&l, &[3], &[0i64, 1, 1]).unwrap();
    write_npy(&p, &[3, 2], &[0.5f32, 0.5, f32::NAN, 0.5, 0.1, 0.9]).unwrap();
    run(&["p.npy", "row 1, column 0", "not finite"]);
    write_npy(&p, &[3, 2], &[0.5f32, 0.5, 1.5, 0.5, 0.1, 0.9]).unwrap();
    run(&["row 1, column 0", "outside [0, 1]"]);
    write_npy(&p, &[3, 2], &[0.5f32, 0.5, 0.5, 0.5, 0.1, 0.9]).unwrap();
    write_npy(&l, &[3], &[0i64, 2, 1]).unwrap();
    run(&["l.npy", "row 1", "label 2"]);
    write_npy(&l, &[2], &[0i64, 1]).unwrap();
    run(&["shape mismatch", "2 labels", "3 rows"]);
    write_npy(&l, &[3], &[1i64, 1, 1]).unwrap();
    run(&["1 distinct class"]);
    write_npy(&l, &[3], &[0i64, 0, 0]).unwrap();
    write_npy(&p, &[3, 1], &[0.5f32, 0.5, 0.5]).unwrap();
    run(&["at least 2 classes"]);
    write_npy(&l, &[0], &[0i64; 0]).unwrap();
    write_npy(&p, &[0, 2], &[0f32; 0]).unwrap();
    run(&["empty"]);
    std::fs::write(&p, b"not numpy").unwrap();
    run(&["p.npy", "magic"]);
}

// ---- dataset mode -------------------------------------------------------------------

struct Demo {
    _dir: tempfile::TempDir,
    root: std::path::PathBuf,
    run: std::path::PathBuf,
}

/// The seven file stems of a person's folder.
fn stems() -> [&'static str; 7] {
    mask_curator::dataset::Slot::ALL.map(mask_curator::dataset::Slot::stem)
}

/// A small tree in the real layout with injected noise, and 18-class probabilities that
/// are right on average per person but noisy per photo.
fn demo() -> Demo {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("data");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(42);
    let people = 240;
    let mut train = String::from("id,gender,race,age,path\n");
    let mut noise = String::from("path,field,true_value,given_value,kind\n");
    let mut index = String::from("row,path,person,fold\n");
    let mut probs: Vec<f32> = Vec::new();
    let mut row = 0;
    let jpeg = tiny_jpeg();
    for i in 0..people {
        let true_gender = rng.random_range(0..2usize);
        let true_age: u32 = [22, 25, 40, 45, 50, 60][rng.random_range(0..6)];
        let (mut gender, mut age) = (true_gender, true_age);
        let folder_of =
            |g: usize, a: u32| format!("{:06}_{}_Asian_{a}", i + 1, ["male", "female"][g]);
        let mut kind_note = None;
        match i % 12 {
            0 => {
                gender = 1 - true_gender;
                kind_note = Some(("gender", "gender_flip"));
            }
            1 => {
                age = if true_age < 30 { 55 } else { 22 };
                kind_note = Some(("age", "age_gross"));
            }
            _ => {}
        }
        let swap = i % 12 == 5;
        let folder = folder_of(gender, age);
        if let Some((field, kind)) = kind_note {
            noise.push_str(&format!("train/images/{folder},{field},x,y,{kind}\n"));
        }
        train.push_str(&format!(
            "{:06},{},Asian,{age},{folder}\n",
            i + 1,
            ["male", "female"][gender]
        ));
        let pdir = root.join("train/images").join(&folder);
        std::fs::create_dir_all(&pdir).unwrap();
        let true_age_bin = if true_age < 30 {
            0
        } else if true_age < 60 {
            1
        } else {
            2
        };
        for (slot, stem) in stems().iter().enumerate() {
            std::fs::write(pdir.join(format!("{stem}.jpg")), &jpeg).unwrap();
            let mut true_mask = match slot {
                5 => 1,
                6 => 2,
                _ => 0,
            };
            if swap && slot >= 5 {
                true_mask = 3 - true_mask;
                noise.push_str(&format!(
                    "train/images/{folder}/{stem}.jpg,mask,x,y,mask_swap\n"
                ));
            }
            // Per-photo evidence: the true value usually leads, but often not by much, and
            // a third of the photos point the wrong way for gender and age.
            let mut pm = [0.05f64; 3];
            pm[true_mask] = 0.9;
            let mut pg = [0f64; 2];
            let g_conf = if rng.random::<f64>() < 0.3 {
                0.3
            } else {
                0.62 + rng.random::<f64>() * 0.3
            };
            pg[true_gender] = g_conf;
            pg[1 - true_gender] = 1.0 - g_conf;
            let mut pa = [0f64; 3];
            let a_conf = if rng.random::<f64>() < 0.3 {
                0.2
            } else {
                0.55 + rng.random::<f64>() * 0.35
            };
            pa[true_age_bin] = a_conf;
            let wrong = (true_age_bin + 1 + rng.random_range(0..2)) % 3;
            pa[wrong] = 1.0 - a_conf - 0.02;
            pa[3 - true_age_bin - wrong] = 0.02;
            for c in 0..18 {
                let (m, g, a) = (c / 6, (c % 6) / 3, c % 3);
                probs.push((pm[m] * pg[g] * pa[a]) as f32);
            }
            index.push_str(&format!(
                "{row},train/images/{folder}/{stem}.jpg,{folder},{}\n",
                i % 5
            ));
            row += 1;
        }
    }
    std::fs::write(root.join("train/train.csv"), train).unwrap();
    std::fs::write(root.join("noise.csv"), noise).unwrap();
    let run = root.join(".mask-curator/runs/test-run");
    std::fs::create_dir_all(&run).unwrap();
    write_npy(&run.join("oof_probs.npy"), &[row, 18], &probs).unwrap();
    std::fs::write(run.join("oof_index.csv"), index).unwrap();
    Demo {
        _dir: dir,
        root,
        run,
    }
}

#[test]
fn dataset_mode_lists_person_swap_and_photo_issues() {
    let d = demo();
    let out = ok(bin()
        .arg("find-issues")
        .arg("--data")
        .arg(&d.root)
        .arg("--run")
        .arg(&d.run)
        .arg("--all"));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("id,kind,field,tier,p_wrong,person,photos,given,suggested,years,score")
    );
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    let swaps: Vec<&csv::StringRecord> = rows
        .iter()
        .filter(|r| &r[col("kind")] == "mask_swap")
        .collect();
    assert_eq!(swaps.len(), 20, "one swap issue per swapped person");
    assert!(swaps.iter().all(
        |r| r[col("photos")].contains("incorrect_mask") && r[col("photos")].contains("normal")
    ));
    let genders: Vec<&csv::StringRecord> = rows
        .iter()
        .filter(|r| &r[col("kind")] == "gender" && r[col("found_by")].contains("person_gender"))
        .collect();
    assert!(genders.len() >= 15, "{}", genders.len());
    assert!(rows.iter().all(|r| &r[col("run_id")] == "test-run"));
    assert!(rows
        .iter()
        .all(|r| matches!(&r[col("tier")], "likely" | "possible")));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("person_gender") && stderr.contains("noise rate"),
        "{stderr}"
    );
}

fn f1(p: f64, r: f64) -> f64 {
    if p + r == 0.0 {
        0.0
    } else {
        2.0 * p * r / (p + r)
    }
}

#[test]
fn evaluate_issues_person_level_beats_image_level_on_noisy_photos() {
    let d = demo();
    let out = ok(bin()
        .arg("evaluate-issues")
        .arg("--data")
        .arg(&d.root)
        .arg("--run")
        .arg(&d.run));
    let text = String::from_utf8(out.stdout).unwrap();
    let mut scores = std::collections::HashMap::new();
    for l in text.lines().skip(1) {
        let f: Vec<&str> = l.split(',').collect();
        let recall: f64 = f[5].parse().unwrap();
        let precision: f64 = f[8].parse().unwrap();
        let ap: f64 = f[9].parse().unwrap();
        assert!((0.0..=1.0).contains(&ap), "{l}");
        scores.insert(
            (f[0].to_string(), f[1].to_string()),
            (precision, recall, ap),
        );
    }
    for kind in ["gender_flip", "age_gross"] {
        let (pi, ri, api) = scores[&("image_level".to_string(), kind.to_string())];
        let (pp, rp, app) = scores[&("person_level".to_string(), kind.to_string())];
        // Every flipped person here has clearly contradicting photos, so the image level
        // ranks them first too; the person level wins on how few people it flags.
        assert!(api > 0.8, "{kind}: image-level AP {api:.2}\n{text}");
        assert!(
            app <= rp + 1e-9,
            "{kind}: AP {app:.2} cannot exceed recall {rp:.2}"
        );
        assert!(
            f1(pp, rp) > f1(pi, ri),
            "{kind}: person level P={pp:.2} R={rp:.2} vs image level P={pi:.2} R={ri:.2}\n{text}"
        );
        assert!(pp >= 0.9, "{kind}: person-level precision {pp}\n{text}");
        // The default filter over people is cleanlab's prune_by_noise_rate, whose
        // calibrated budget under-counts with K <= 3: some flipped people are left to the
        // photo-level list (docs/issues.md).
        assert!(rp >= 0.7, "{kind}: person-level recall {rp}\n{text}");
    }
    let (_, swap_recall, _) = scores[&("person_level".to_string(), "mask_swap".to_string())];
    assert_eq!(swap_recall, 1.0, "{text}");
}

#[test]
fn dataset_mode_leaves_out_bad_train_csv_rows_and_names_their_line() {
    let d = demo();
    let csv = d.root.join("train/train.csv");
    let mut text = std::fs::read_to_string(&csv).unwrap();
    let people = text.lines().count() - 1;
    text.push_str("999999,robot,Asian,x,999999_robot_Asian_x\n");
    std::fs::write(&csv, text).unwrap();
    let out = bin()
        .arg("find-issues")
        .arg("--data")
        .arg(&d.root)
        .arg("--run")
        .arg(&d.run)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // The header is line 1, so the appended row is line people + 2.
    let where_ = format!("train/train.csv:{}", people + 2);
    assert!(stderr.contains(&where_), "{where_} not in: {stderr}");
    let issues = String::from_utf8(out.stdout).unwrap();
    assert!(issues.lines().count() > 20, "{issues}");
    assert!(!issues.contains("robot"), "{issues}");
    // Without a train.csv the folder is unusable: an error naming the file.
    std::fs::remove_file(&csv).unwrap();
    let out = bin()
        .arg("find-issues")
        .arg("--data")
        .arg(&d.root)
        .arg("--run")
        .arg(&d.run)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("train.csv"), "{stderr}");
}

/// Without --run (or --probs), find-issues and evaluate-issues read the newest finished run,
/// the one the app opens on, and say which; with no run they say how to make one.
#[test]
fn dataset_mode_reads_the_newest_run_by_default() {
    let d = demo();
    let find = |extra: &[&str]| {
        bin()
            .arg("find-issues")
            .arg("--data")
            .arg(&d.root)
            .args(extra)
            .output()
            .unwrap()
    };
    let named = find(&["--run", "test-run"]);
    let default = find(&[]);
    assert!(
        default.status.success(),
        "{}",
        String::from_utf8_lossy(&default.stderr)
    );
    assert_eq!(default.stdout, named.stdout);
    let stderr = String::from_utf8_lossy(&default.stderr);
    assert!(
        stderr.contains("run: test-run (the newest finished run"),
        "{stderr}"
    );

    let evaluate = ok(bin().arg("evaluate-issues").arg("--data").arg(&d.root));
    assert!(String::from_utf8_lossy(&evaluate.stdout).starts_with("approach,kind,field"));

    std::fs::remove_dir_all(&d.run).unwrap();
    let none = find(&[]);
    assert!(!none.status.success());
    let stderr = String::from_utf8_lossy(&none.stderr);
    assert!(
        stderr.contains("has no finished run: train one first (mask-curator train "),
        "{stderr}"
    );
}

/// A command's output never takes the place of the dataset's files or of its own inputs:
/// `--out` onto train.csv, noise.csv, a file inside the dataset, the probabilities read or a
/// trained run is refused with the reason, and the file is left as it was.
#[test]
fn outputs_never_replace_the_dataset_or_an_input() {
    let d = demo();
    let train_csv = d.root.join("train/train.csv");
    let noise_csv = d.root.join("noise.csv");
    let oof = d.run.join("oof_probs.npy");
    let before = |p: &std::path::Path| std::fs::read(p).unwrap();
    let (train_before, noise_before, oof_before) =
        (before(&train_csv), before(&noise_csv), before(&oof));
    let refused = |cmd: &mut Command, needle: &str| {
        let out = cmd.output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{cmd:?} was written: {err}");
        assert!(err.contains(needle), "{cmd:?}: missing {needle:?} in {err}");
        assert!(!err.contains("panicked"), "{err}");
    };
    // `COMMAND --data DATA --out OUT`.
    let data_out = |command: &str, out: &Path| {
        let mut cmd = bin();
        cmd.arg(command)
            .arg("--data")
            .arg(&d.root)
            .arg("--out")
            .arg(out);
        cmd
    };
    refused(
        &mut data_out("find-issues", &train_csv),
        "a file of the dataset",
    );
    refused(
        &mut data_out("find-issues", &d.root),
        "a folder of the dataset",
    );
    let inside = d.root.join("train/images/issues.csv");
    refused(&mut data_out("find-issues", &inside), "inside the dataset");
    assert!(!inside.exists());
    refused(
        &mut data_out("evaluate-issues", &noise_csv),
        "a file of the dataset",
    );
    refused(
        &mut data_out("simulate", &d.run),
        "not an earlier simulated run",
    );
    // Without a dataset, the inputs are what is guarded.
    let dir = tempfile::tempdir().unwrap();
    let (labels, probs) = arrays(120, 3, 5);
    let lp = dir.path().join("labels.npy");
    let pp = dir.path().join("probs.npy");
    write_npy(&lp, &[labels.len()], &labels).unwrap();
    write_npy(&pp, &[labels.len(), 3], &probs).unwrap();
    let probs_before = before(&pp);
    refused(
        bin()
            .arg("find-issues")
            .arg("--labels")
            .arg(&lp)
            .arg("--pred-probs")
            .arg(&pp)
            .arg("--out")
            .arg(&pp),
        "it is an input of this command",
    );
    assert_eq!(before(&pp), probs_before);
    assert_eq!(before(&train_csv), train_before);
    assert_eq!(before(&noise_csv), noise_before);
    assert_eq!(before(&oof), oof_before);

    // The workspace and a folder outside the dataset are fine; so is a simulated run
    // written over an earlier one.
    let ws_out = d.root.join(".mask-curator/exports/issues.csv");
    ok(&mut data_out("find-issues", &ws_out));
    assert!(std::fs::read_to_string(&ws_out)
        .unwrap()
        .starts_with("id,kind,field,tier"));
    let sim = dir.path().join("sim");
    for _ in 0..2 {
        ok(&mut data_out("simulate", &sim));
    }
}
