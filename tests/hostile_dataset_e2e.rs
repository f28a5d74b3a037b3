//! A dataset seeded with every hostile file from the hostile-input findings, driven
//! through the real binary (`scan`, `scan --deep`, `open --summary`, `export`) and through
//! the thumbnail pipeline the app's grids use: nothing crashes or hangs, every bad photo
//! is a problem with a reason (and a "cannot decode" tile), and no confirmed edit is lost.

mod hostile_support;

use hostile_support as hs;
use mask_curator::thumbs::{ThumbConfig, Thumbnailer};
use mask_curator::workspace::Workspace;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_mask-curator");
/// The seven file stems of a person's folder.
fn stems() -> [&'static str; 7] {
    mask_curator::dataset::Slot::ALL.map(mask_curator::dataset::Slot::stem)
}

/// Runs the binary with a deadline: a hang fails the test instead of blocking it.
fn run(args: &[&str]) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .env("MASK_CURATOR_ANNOTATOR", "e2e")
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("mask-curator {args:?} did not finish in 120 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

struct Seeded {
    _dir: tempfile::TempDir,
    root: PathBuf,
    folders: Vec<String>,
    /// Photos that cannot be shown, relative to the root.
    bad: Vec<String>,
}

fn seeded_dataset() -> Seeded {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    // train.csv as a spreadsheet saves it: byte order mark, CRLF.
    let mut csv = String::from("\u{feff}id,gender,race,age,path\r\n");
    let mut folders = Vec::new();
    for i in 0..4 {
        let folder = format!("{:06}_female_Asian_{}", i + 1, 25 + i);
        let d = root.join("train/images").join(&folder);
        std::fs::create_dir_all(&d).unwrap();
        for (s, stem) in stems().iter().enumerate() {
            std::fs::write(
                d.join(format!("{stem}.jpg")),
                hs::jpeg(96, 128, (i * 7 + s) as u64),
            )
            .unwrap();
        }
        csv.push_str(&format!(
            "{:06},female,Asian,{},{folder}\r\n",
            i + 1,
            25 + i
        ));
        folders.push(folder);
    }
    std::fs::write(root.join("train/train.csv"), csv).unwrap();
    let photo = |p: usize, stem: &str| format!("train/images/{}/{stem}.jpg", folders[p]);
    let mut bad = Vec::new();
    for (rel, bytes) in [
        (photo(0, "mask1"), hs::bomb_progressive()),
        (photo(0, "mask2"), hs::bomb_baseline()),
        (photo(1, "mask1"), hs::truncated_16383()),
    ] {
        std::fs::write(root.join(&rel), bytes).unwrap();
        bad.push(rel);
    }
    std::fs::write(root.join(photo(0, "mask3")), hs::odd_sampling_progressive()).unwrap();
    // A file on which the last fallback decoder (zune-jpeg) panics.
    let zune = photo(1, "mask3");
    std::fs::write(
        root.join(&zune),
        std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/zune_panic_130x33.jpg"),
        )
        .unwrap(),
    )
    .unwrap();
    // Damage the header check cannot see: only the deep scan lists it.
    std::fs::write(
        root.join(photo(1, "mask2")),
        hs::random_bytes_mid(&hs::jpeg(384, 512, 21), 300, 22),
    )
    .unwrap();
    #[cfg(unix)]
    {
        let fifo = root.join(photo(0, "mask4"));
        std::fs::remove_file(&fifo).unwrap();
        make_fifo(&fifo);
    }
    // A finished run whose probabilities declare an impossible shape.
    let run = Workspace::for_dataset(&root).runs_dir().join("r1");
    std::fs::create_dir_all(&run).unwrap();
    std::fs::write(run.join("oof_probs.npy"), &hs::npy_overflows()[0]).unwrap();
    std::fs::write(run.join("oof_index.csv"), "row,path,person,fold\n").unwrap();
    std::fs::write(
        run.join("run.json"),
        r#"{"id":"r1","status":"finished","created":"2026-01-01T00:00:00Z"}"#,
    )
    .unwrap();
    // Damaged thumbnail cache entries where the photos' entries would be.
    let thumbs = Workspace::for_dataset(&root).thumbs_dir();
    let cache = mask_curator::thumbs::DiskCache::new(&thumbs, 96, 128);
    for f in &folders {
        for stem in stems() {
            let p = root
                .join("train/images")
                .join(f)
                .join(format!("{stem}.jpg"));
            let entry = cache.entry_path(&p);
            std::fs::create_dir_all(entry.parent().unwrap()).unwrap();
            std::fs::write(entry, b"MCT2 not an entry at all").unwrap();
        }
    }
    Seeded {
        _dir: dir,
        root,
        folders,
        bad,
    }
}

#[cfg(unix)]
fn make_fifo(path: &Path) {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: `c` is a valid NUL-terminated path for the duration of the call.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
}

#[test]
fn a_dataset_full_of_hostile_files_scans_opens_and_exports_without_losing_edits() {
    let s = seeded_dataset();
    let root = s.root.to_str().unwrap();

    // A journal with confirmed edits between hostile lines.
    let ws = Workspace::for_dataset(&s.root);
    let person = |i: usize| format!("person:{}", s.folders[i]);
    let journal = [
        hs::journal_line(1, &person(2), "gender", "\"female\"", "\"male\""),
        hs::journal_line(18_446_744_073_709_551_612, &person(3), "age", "28", "29"),
        hs::journal_line(2, &person(3), "age", "28", "4294967295"),
        hs::journal_line(3, &person(3), "age", "28", "71"),
    ]
    .join("\n")
        + "\n";
    std::fs::write(ws.journal_path(), journal).unwrap();

    let scan = run(&["scan", root]);
    let out = text(&scan);
    assert!(scan.status.success(), "{out}");
    for rel in &s.bad {
        assert!(
            out.contains(rel.as_str()),
            "scan does not list {rel}:\n{out}"
        );
    }
    #[cfg(unix)]
    assert!(out.contains("named pipe"), "{out}");

    let deep = run(&["scan", "--deep", "--limit", "100", root]);
    let out = text(&deep);
    assert!(deep.status.success(), "{out}");
    let damaged = format!("{}/mask2.jpg", s.folders[1]);
    assert!(
        out.contains(&damaged) && out.contains("cannot decode"),
        "deep scan misses {damaged}:\n{out}"
    );
    // The decoder's panic is that photo's problem, said once, not a panic report.
    assert!(
        out.contains(&format!("{}/mask3.jpg: cannot decode", s.folders[1])),
        "{out}"
    );
    assert!(!out.contains("panicked"), "{out}");

    // The photo checks decode every photo through the same guarded path: the hostile
    // files are unreadable photos with a reason, nothing crashes; the report cannot be
    // written into the dataset.
    let checks = run(&["check-photos", root, "--limit", "100"]);
    let out = text(&checks);
    assert!(checks.status.success(), "{out}");
    // The photo whose decoder panics (its damaged neighbour decodes leniently, as its
    // thumbnail does).
    let panicking = format!("{}/mask3.jpg", s.folders[1]);
    assert!(
        out.lines().any(|l| l.contains("unreadable:")
            && l.contains(&panicking)
            && l.contains("the decoder failed")),
        "{out}"
    );
    assert!(!out.contains("panicked"), "{out}");
    let train_csv = std::fs::read(s.root.join("train/train.csv")).unwrap();
    let into_dataset = format!("{root}/train/train.csv");
    let refused = run(&["check-photos", root, "--out", &into_dataset]);
    assert!(!refused.status.success(), "{}", text(&refused));
    assert!(
        text(&refused).contains("a file of the dataset"),
        "{}",
        text(&refused)
    );
    assert_eq!(
        std::fs::read(s.root.join("train/train.csv")).unwrap(),
        train_csv
    );

    let open = run(&["open", "--summary", root]);
    let out = text(&open);
    assert!(open.status.success(), "{out}");
    assert!(out.contains("larger than any file"), "{out}");

    // What the app's grid does: a thumbnail for every photo file, through the damaged
    // cache. Every request finishes; the bad ones as "cannot decode" tiles.
    let thumbs = Thumbnailer::new(ThumbConfig::for_workspace(&ws));
    let mut paths = Vec::new();
    for f in &s.folders {
        for stem in stems() {
            let p = s
                .root
                .join("train/images")
                .join(f)
                .join(format!("{stem}.jpg"));
            thumbs.request(&p);
            paths.push(p);
        }
    }
    let mut results = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while results.len() < paths.len() {
        assert!(Instant::now() < deadline, "thumbnails never finished");
        results.extend(thumbs.poll_ready(64));
        std::thread::sleep(Duration::from_millis(5));
    }
    for rel in &s.bad {
        let (_, result) = results
            .iter()
            .find(|(p, _)| p.ends_with(rel))
            .unwrap_or_else(|| panic!("no thumbnail result for {rel}"));
        let err = result.as_ref().expect_err(rel);
        assert!(err.tile_text().starts_with("cannot decode: "), "{err}");
    }
    let good = results.iter().filter(|(_, r)| r.is_ok()).count();
    assert!(good >= 4 * 7 - 6, "{good} thumbnails");

    // Export refuses the dataset's own folder, naming the file it would replace...
    let original = std::fs::read(s.root.join("train/train.csv")).unwrap();
    let train_dir = format!("{root}/train");
    let refused = run(&["export", root, "--out", &train_dir]);
    let out = text(&refused);
    assert!(!refused.status.success(), "{out}");
    assert!(out.contains("train.csv"), "{out}");
    assert_eq!(
        std::fs::read(s.root.join("train/train.csv")).unwrap(),
        original
    );

    // ... and exports the confirmed edits, none of the hostile ones.
    let exported = run(&["export", root]);
    let out = text(&exported);
    assert!(exported.status.success(), "{out}");
    let csv = std::fs::read_to_string(ws.exports_dir().join("train.csv")).unwrap();
    let row = |i: usize| {
        csv.lines()
            .find(|l| l.ends_with(s.folders[i].as_str()))
            .unwrap_or_else(|| panic!("no row for {}:\n{csv}", s.folders[i]))
            .to_string()
    };
    assert!(row(2).contains(",male,"), "{csv}");
    assert!(row(3).contains(",71,"), "{csv}");
    assert!(!csv.contains("4294967295"), "{csv}");
    assert!(out.contains("line 2") && out.contains("line 3"), "{out}");
}
