//! End to end: `mask-curator outliers` on a generated demo dataset with a finished run
//! whose embeddings hold one stray photo and one duplicated identity: both are named on
//! the terminal and in the CSV; a run without embeddings, a corrupt file and an output
//! inside the dataset are refused with a message naming the file.

use mask_curator::dataset::{scan, Dataset, Slot};
use std::path::Path;
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mask-curator"))
}

fn run(cmd: &mut Command) -> (bool, String, String) {
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Deterministic noise in [-1, 1] (splitmix64's finaliser).
fn noise(i: usize) -> f32 {
    let mut x = (i as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 31;
    ((x >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
}

const DIM: usize = 16;

/// A finished run over every photo of `dataset`: uniform probabilities, and embeddings
/// where `stray` (person, slot) points elsewhere and person `twins.1` has `twins.0`'s look.
fn write_run(
    root: &Path,
    dataset: &Dataset,
    stray: (usize, Slot),
    twins: (usize, usize),
) -> std::path::PathBuf {
    let run = root.join(".mask-curator/runs/20261201-000000-test");
    std::fs::create_dir_all(&run).unwrap();
    let mut index = String::from("row,path,person,fold\n");
    let mut probs = Vec::new();
    let mut features = Vec::new();
    for (row, photo) in dataset.photo_refs().enumerate() {
        let p = &dataset.people[photo.person];
        let path = dataset.photo(photo).unwrap().rel_path.display().to_string();
        index.push_str(&format!("{row},{path},{},{}\n", p.folder, photo.person % 5));
        probs.extend([1.0f32 / 18.0; 18]);
        let look = if photo.person == twins.1 {
            twins.0
        } else {
            photo.person
        };
        for c in 0..DIM {
            features.push(if (photo.person, photo.slot) == stray {
                if c == 5 {
                    4.0
                } else {
                    -1.0
                }
            } else {
                2.0 + 0.4 * noise(look * 131 + c)
                    + 0.8 * noise(9000 + photo.slot.mask().index() * 17 + c)
                    + 0.25 * noise(50_000 + row * 31 + c)
            });
        }
    }
    let rows = probs.len() / 18;
    std::fs::write(run.join("oof_index.csv"), index).unwrap();
    mask_curator::arrays::write_npy(&run.join("oof_probs.npy"), &[rows, 18], &probs).unwrap();
    mask_curator::arrays::write_npy(&run.join("embeddings.npy"), &[rows, DIM], &features).unwrap();
    std::fs::write(
        run.join("run.json"),
        r#"{"id":"20261201-000000-test","status":"finished","created":"2026-12-01T00:00:00Z"}"#,
    )
    .unwrap();
    run
}

#[test]
fn outliers_names_the_stray_photo_and_the_duplicated_identity() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("demo");
    let (ok, _, err) = run(bin()
        .args(["demo-data", "--people", "60", "--seed", "3", "--out"])
        .arg(&root));
    assert!(ok, "{err}");
    let dataset = scan(&root).unwrap();
    // Before any run there is nothing to analyse, and the message says what to do.
    let (ok, _, err) = run(bin().arg("outliers").arg(&root));
    assert!(!ok && err.contains("has no finished run"), "{err}");

    let stray = (17, Slot::Normal);
    let twins = (30, 41);
    let run_dir = write_run(&root, &dataset, stray, twins);
    let out = tmp.path().join("out/outliers.csv");
    let (ok, stdout, err) = run(bin().arg("outliers").arg(&root).arg("--out").arg(&out));
    assert!(ok, "{err}");
    let stray_path = dataset
        .photo(mask_curator::dataset::PhotoRef {
            person: stray.0,
            slot: stray.1,
        })
        .unwrap()
        .rel_path
        .display()
        .to_string();
    let listed: Vec<&str> = stdout
        .lines()
        .skip_while(|l| !l.contains("outlier photo"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .collect();
    assert!(
        listed.first().is_some_and(|l| l.ends_with(&stray_path)),
        "the stray first:\n{stdout}"
    );
    let (a, b) = (
        &dataset.people[twins.0].folder,
        &dataset.people[twins.1].folder,
    );
    assert!(
        stdout.contains("1 look-alike pair (") && stdout.contains(&format!("{a}  ~  {b}")),
        "{stdout}"
    );
    let csv = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "kind,path,other,score,detail,decision");
    assert!(
        lines[1].starts_with(&format!("outlier,{stray_path},,")),
        "{csv}"
    );
    assert!(
        lines.iter().any(|l| l
            .starts_with(&format!("lookalike,train/images/{a},train/images/{b},"))
            && l.ends_with(',')),
        "undecided: {csv}"
    );

    // The annotator decides the pair is one person: the listing and the CSV say so.
    {
        let workspace = mask_curator::workspace::Workspace::for_dataset(&root);
        let (mut cur, _) =
            mask_curator::curation::Curation::open(&dataset, &workspace, "test").unwrap();
        let edit = cur.identity_edit(
            twins.1,
            twins.0,
            mask_curator::curation::IdentityDecision::Same,
        );
        cur.apply(edit).unwrap();
    }
    let (ok, stdout, err) = run(bin().arg("outliers").arg(&root).arg("--out").arg(&out));
    assert!(ok, "{err}");
    assert!(stdout.contains("decided: same person)"), "{stdout}");
    let csv = std::fs::read_to_string(&out).unwrap();
    assert!(
        csv.lines()
            .any(|l| l.starts_with("lookalike,") && l.ends_with(",same person")),
        "{csv}"
    );
    // The summary counts the group and names it when its labels disagree.
    let (ok, stdout, err) = run(bin().arg("open").arg(&root).arg("--summary"));
    assert!(ok, "{err}");
    let (pa, pb) = (&dataset.people[twins.0], &dataset.people[twins.1]);
    let disagree = pa.gender != pb.gender
        || pa.age_bin() != pb.age_bin()
        || pa.age.abs_diff(pb.age) > mask_curator::curation::identity::AGE_GAP_YEARS;
    assert!(
        stdout.contains(&format!(
            "One person under several ids (decided): 2 ids in 1 group, {} with labels that disagree",
            usize::from(disagree)
        )),
        "{stdout}"
    );
    assert_eq!(
        stdout.contains(&format!("labels disagree: {a} (")),
        disagree,
        "{stdout}"
    );

    // An output inside the dataset (outside its workspace) is refused.
    let (ok, _, err) = run(bin()
        .arg("outliers")
        .arg(&root)
        .arg("--out")
        .arg(root.join("train/outliers.csv")));
    assert!(!ok, "{err}");
    assert!(!root.join("train/outliers.csv").exists());

    // A file whose rows do not match the run's index names itself.
    mask_curator::arrays::write_npy(&run_dir.join("embeddings.npy"), &[3, DIM], &[1f32; 3 * DIM])
        .unwrap();
    let (ok, _, err) = run(bin().arg("outliers").arg(&root));
    assert!(
        !ok && err.contains("embeddings.npy") && err.contains("3 rows"),
        "{err}"
    );

    // A run without embeddings says why and what to do.
    std::fs::remove_file(run_dir.join("embeddings.npy")).unwrap();
    let (ok, _, err) = run(bin().arg("outliers").arg(&root).arg("--run").arg(&run_dir));
    assert!(!ok && err.contains("has no embeddings.npy"), "{err}");
    // The run named by its id is the same folder; an unknown id names the runs there are.
    let (ok, _, err) = run(bin()
        .arg("outliers")
        .arg(&root)
        .args(["--run", "20261201-000000-test"]));
    assert!(!ok && err.contains("has no embeddings.npy"), "{err}");
    let (ok, _, err) = run(bin().arg("outliers").arg(&root).args(["--run", "20261201"]));
    assert!(
        !ok && err.contains("20261201: no such run folder")
            && err.contains("newest first: 20261201-000000-test"),
        "{err}"
    );
}
