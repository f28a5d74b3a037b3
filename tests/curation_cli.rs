//! End-to-end tests of the journal and the export through the real binary: a crash test that
//! SIGKILLs a process applying edits and checks every confirmed edit survives, and `export`
//! on a small dataset tree with a journal.

use mask_curator::curation::{Curation, JournalEntry, Op};
use mask_curator::dataset::{scan, Gender, Slot};
use mask_curator::workspace::Workspace;
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_mask-curator");

/// Writes `<root>/train/train.csv` (CRLF, like the real file) and one folder of seven tiny
/// valid JPEGs per person. Person `i` is female when `i` is even, aged `20 + 7 * i`.
fn make_dataset(root: &Path, people: usize) -> Vec<String> {
    let images = root.join("train/images");
    let mut csv = String::from("id,gender,race,age,path\r\n");
    let mut folders = Vec::new();
    for i in 0..people {
        let gender = if i % 2 == 0 { "female" } else { "male" };
        let age = 20 + 7 * (i as u32 % 6);
        let id = format!("{:06}", i + 1);
        let folder = format!("{id}_{gender}_Asian_{age}");
        let dir = images.join(&folder);
        std::fs::create_dir_all(&dir).unwrap();
        for (s, slot) in Slot::ALL.iter().enumerate() {
            let shade = ((30 * s + 5 * i) % 200) as u8;
            let img = image::RgbImage::from_pixel(12, 16, image::Rgb([shade, 100, 200 - shade]));
            img.save(dir.join(format!("{}.jpg", slot.stem()))).unwrap();
        }
        csv.push_str(&format!("{id},{gender},Asian,{age},{folder}\r\n"));
        folders.push(folder);
    }
    std::fs::write(root.join("train/train.csv"), csv).unwrap();
    folders
}

/// One `confirmed <seq> <target> <field> <new>` line of `journal-stress`.
#[derive(Debug, Clone, PartialEq)]
struct Confirmed {
    seq: u64,
    target: String,
    field: String,
    new: String,
}

fn parse_confirmed(line: &str) -> Option<Confirmed> {
    let mut parts = line.strip_prefix("confirmed ")?.splitn(4, ' ');
    Some(Confirmed {
        seq: parts.next()?.parse().ok()?,
        target: parts.next()?.to_string(),
        field: parts.next()?.to_string(),
        new: parts.next().unwrap_or("").to_string(),
    })
}

fn as_confirmed(e: &JournalEntry) -> Confirmed {
    Confirmed {
        seq: e.seq,
        target: e.target.to_string(),
        field: e.field.name().to_string(),
        new: e.new.token(),
    }
}

/// Runs `journal-stress` and SIGKILLs it after `kill_after` confirmations.
/// Returns every confirmation it printed before dying.
fn stress_and_kill(root: &Path, kill_after: usize) -> Vec<Confirmed> {
    let mut child = Command::new(BIN)
        .args([
            "journal-stress",
            root.to_str().unwrap(),
            "--edits",
            "100000",
        ])
        .env("MASK_CURATOR_ANNOTATOR", "crash-test")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut confirmed = Vec::new();
    let mut lines = BufReader::new(stdout).lines();
    while confirmed.len() < kill_after {
        let line = lines.next().expect("journal-stress ended early").unwrap();
        if let Some(c) = parse_confirmed(&line) {
            confirmed.push(c);
        }
    }
    // Child::kill sends SIGKILL on Unix: no destructor, no flush, mid-stream.
    child.kill().unwrap();
    child.wait().unwrap();
    // The pipe may still hold confirmations printed before the kill landed: they count too.
    for line in lines.map_while(Result::ok) {
        if let Some(c) = parse_confirmed(&line) {
            confirmed.push(c);
        }
    }
    confirmed
}

#[test]
fn every_confirmed_edit_survives_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    make_dataset(root, 12);
    let dataset = scan(root).unwrap();
    let workspace = Workspace::for_dataset(root);

    let mut all_confirmed: Vec<Confirmed> = Vec::new();
    for (round, kill_after) in [400usize, 250, 333].into_iter().enumerate() {
        if round == 2 {
            // A write cut short by a power cut: half an entry, no newline. The next writer
            // must start on a fresh line and the fragment must stay a skipped line.
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .open(workspace.journal_path())
                .unwrap();
            std::io::Write::write_all(&mut f, b"{\"seq\":99999,\"time\":\"2026-11-").unwrap();
        }
        let confirmed = stress_and_kill(root, kill_after);
        assert!(confirmed.len() >= kill_after);
        all_confirmed.extend(confirmed);

        let (cur, report) = Curation::open(&dataset, &workspace, "checker").unwrap();
        let history: Vec<Confirmed> = cur.history().iter().map(as_confirmed).collect();
        // Every confirmed entry is replayed, in order, with the same values.
        assert!(
            history.len() >= all_confirmed.len(),
            "round {round}: {} confirmed but only {} replayed ({report:?})",
            all_confirmed.len(),
            history.len()
        );
        assert_eq!(
            history[..all_confirmed.len()],
            all_confirmed[..],
            "round {round}"
        );
        // Beyond that, at most the one step that was being written when the kill landed
        // (a swap batch has two lines).
        let extra = &cur.history()[all_confirmed.len()..];
        assert!(
            extra.len() <= 2,
            "round {round}: {} unconfirmed entries replayed",
            extra.len()
        );
        assert!(report.skipped.len() <= 2, "round {round}: {report:?}");
        assert!(
            report.skipped.iter().all(|s| s.reason.contains("torn")
                || s.reason.contains("incomplete")
                || s.reason.contains("not a journal entry")),
            "round {round}: {report:?}"
        );
        assert!(report.notes.is_empty(), "round {round}: {report:?}");
        if round == 2 {
            assert!(
                report
                    .skipped
                    .iter()
                    .any(|s| s.reason.contains("not a journal entry")),
                "the torn fragment is not reported: {report:?}"
            );
        }
        println!(
            "round {round}: {} confirmed so far, {} replayed, {} unconfirmed but complete, skipped {:?}",
            all_confirmed.len(),
            cur.history().len(),
            cur.history().len() - all_confirmed.len(),
            report.skipped
        );
        // The next writer sees exactly the state of the replayed entries.
        all_confirmed.extend(extra.iter().map(as_confirmed));
        // Undo and redo each reference an entry that exists.
        let seqs: Vec<u64> = cur.history().iter().map(|e| e.seq).collect();
        for e in cur.history() {
            match e.op {
                Op::Undo => assert!(seqs.contains(&e.reverts.unwrap())),
                Op::Redo => assert!(seqs.contains(&e.reapplies.unwrap())),
                Op::Edit => {}
            }
        }
        // The values are what the last confirmed entry per target and field set.
        let mut last: HashMap<(String, String), String> = HashMap::new();
        for c in &all_confirmed {
            last.insert((c.target.clone(), c.field.clone()), c.new.clone());
        }
        for ((target, field), value) in &last {
            let folder = target.split_once(':').unwrap().1;
            let folder = folder.split('/').next().unwrap();
            let p = cur.person_index(folder).unwrap();
            let now = match field.as_str() {
                "gender" => cur.gender(p).name().to_string(),
                "age" => cur.age_years(p).to_string(),
                "mask" => {
                    let slot = Slot::from_stem(target.rsplit('/').next().unwrap()).unwrap();
                    mask_curator::curation::Value::Mask(cur.mask(p, slot)).token()
                }
                _ => continue,
            };
            assert_eq!(&now, value, "round {round}: {target} {field}");
        }
        drop(cur);
    }
    // Seqs stay unique and increasing across crashes.
    let seqs: Vec<u64> = all_confirmed.iter().map(|c| c.seq).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "seqs not increasing");
}

fn run_ok(args: &[&str]) -> String {
    let out = Command::new(BIN).args(args).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{args:?} failed:\n{stdout}\n{stderr}");
    stdout
}

#[test]
fn export_command_writes_corrected_csvs() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let folders = make_dataset(root, 5);
    let original_csv = std::fs::read(root.join("train/train.csv")).unwrap();
    let dataset = scan(root).unwrap();
    let workspace = Workspace::for_dataset(root);
    {
        use mask_curator::curation::{Change, Edit, Target};
        let (mut cur, _) = Curation::open(&dataset, &workspace, "e2e").unwrap();
        cur.apply(
            Edit::new(Target::person(&folders[0]), Change::Gender(Gender::Male))
                .with_reason("issue gender:x"),
        )
        .unwrap();
        cur.apply(Edit::new(Target::person(&folders[1]), Change::AgeYears(60)))
            .unwrap();
        let p = cur.person_index(&folders[3]).unwrap();
        let swap = cur.swap_masks_edits(p, Slot::Incorrect, Slot::Normal, None);
        cur.apply_batch(swap, "swap").unwrap();
    }
    // Export while another process holds the journal must still work (read-only replay).
    let (_writer, _) = Curation::open(&dataset, &workspace, "app").unwrap();

    // Inside the workspace: an export may not write anywhere else in the dataset.
    let out_dir = root.join(".mask-curator/export-here");
    let stdout = run_ok(&[
        "export",
        root.to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    for name in [
        "train.csv",
        "photo_labels.csv",
        "change_log.csv",
        "net_changes.csv",
    ] {
        assert!(
            stdout.contains(&out_dir.join(name).display().to_string()),
            "{stdout}"
        );
    }
    assert!(stdout.contains("replayed 4 journal entries"), "{stdout}");

    let train = std::fs::read_to_string(out_dir.join("train.csv")).unwrap();
    let original = String::from_utf8(original_csv.clone()).unwrap();
    let want = original
        .replace(
            &format!(",female,Asian,20,{}", folders[0]),
            &format!(",male,Asian,20,{}", folders[0]),
        )
        .replace(
            &format!(",male,Asian,27,{}", folders[1]),
            &format!(",male,Asian,60,{}", folders[1]),
        );
    assert_ne!(want, original);
    assert_eq!(train, want);
    // The dataset's own file is untouched.
    assert_eq!(
        std::fs::read(root.join("train/train.csv")).unwrap(),
        original_csv
    );

    let labels = std::fs::read_to_string(out_dir.join("photo_labels.csv")).unwrap();
    let row = |path: String| {
        labels
            .lines()
            .find(|l| l.starts_with(&format!("{path},")))
            .unwrap_or_else(|| panic!("no row for {path}"))
            .split(',')
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    // Person 0, now male 20: wear/male/<30 = 0.
    assert_eq!(
        row(format!("train/images/{}/mask2.jpg", folders[0]))[1..5],
        ["0", "0", "0", "0"]
    );
    // Person 1, male 60: normal = not wear/male/>=60 = 2*6 + 0 + 2 = 14.
    assert_eq!(
        row(format!("train/images/{}/normal.jpg", folders[1]))[4],
        "14"
    );
    // Person 3 (male, 41): incorrect_mask now labelled not wear => 12 + 0 + 1 = 13.
    assert_eq!(
        row(format!("train/images/{}/incorrect_mask.jpg", folders[3]))[1..5],
        ["2", "0", "1", "13"]
    );
    assert_eq!(labels.lines().count(), 1 + 5 * 7);

    let log = std::fs::read_to_string(out_dir.join("change_log.csv")).unwrap();
    assert_eq!(log.lines().count(), 1 + 4);
    assert!(
        log.lines().nth(1).unwrap().contains(",e2e,person:"),
        "{log}"
    );
    assert!(log.contains("issue gender:x"));

    // Default output folder.
    let stdout = run_ok(&["export", root.to_str().unwrap()]);
    assert!(
        workspace.exports_dir().join("net_changes.csv").is_file(),
        "{stdout}"
    );
    let net = std::fs::read_to_string(workspace.exports_dir().join("net_changes.csv")).unwrap();
    assert_eq!(net.lines().count(), 1 + 4, "{net}");
}

#[test]
fn export_command_names_the_missing_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["export", dir.path().join("nope").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("nope"), "{stderr}");
}
