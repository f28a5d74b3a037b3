//! Prints what the journal costs: the latency of one confirmed edit (append + sync_data)
//! next to a bare `write` + `sync_data` of the same bytes on the same disk, and the time to
//! open (replay) a long journal for a dataset of the real size. Figures only, no asserts.
//!
//! cargo bench --no-default-features --bench curation_journal

use mask_curator::curation::{
    Change, Curation, Edit, JournalEntry, JournalField, Op, Target, Value,
};
use mask_curator::dataset::{Dataset, Gender, Person};
use mask_curator::workspace::Workspace;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

const PEOPLE: usize = 4500;

fn dataset(root: &Path) -> Dataset {
    let people = (0..PEOPLE)
        .map(|i| {
            let gender = if i % 2 == 0 {
                Gender::Female
            } else {
                Gender::Male
            };
            Person::with_all_photos(&format!("{:06}", i + 1), gender, 18 + (i as u32 % 43))
        })
        .collect();
    Dataset {
        root: root.to_path_buf(),
        people,
        eval: None,
        problems: Vec::new(),
    }
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn report(name: &str, mut times: Vec<Duration>) {
    times.sort();
    println!(
        "{name:<34} n={:<6} median {:>8.3} ms   p99 {:>8.3} ms   max {:>8.3} ms",
        times.len(),
        percentile(&times, 0.5).as_secs_f64() * 1e3,
        percentile(&times, 0.99).as_secs_f64() * 1e3,
        percentile(&times, 1.0).as_secs_f64() * 1e3,
    );
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ds = dataset(dir.path());
    let ws = Workspace::for_dataset(dir.path());
    let edits = 500;

    // Peer: the bare cost of appending a line of the same size and syncing it.
    let peer_path = dir.path().join("peer.jsonl");
    let mut peer = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(&peer_path)
        .expect("peer file");
    let line = format!("{}\n", "x".repeat(260));
    let peer_times: Vec<Duration> = (0..edits)
        .map(|_| {
            let t = Instant::now();
            peer.write_all(line.as_bytes()).expect("write");
            peer.sync_data().expect("sync");
            t.elapsed()
        })
        .collect();

    let (mut cur, _) = Curation::open(&ds, &ws, "bench").expect("open");
    let apply_times: Vec<Duration> = (0..edits)
        .map(|i| {
            let p = (i * 37) % PEOPLE;
            let edit = Edit::new(
                Target::person(cur.folder(p).to_string()),
                Change::Gender(cur.gender(p).flipped()),
            )
            .with_reason(format!("issue gender:{} run bench", cur.folder(p)));
            let t = Instant::now();
            cur.apply(edit).expect("apply");
            t.elapsed()
        })
        .collect();
    let undo_times: Vec<Duration> = (0..100)
        .map(|_| {
            let t = Instant::now();
            cur.undo().expect("undo");
            t.elapsed()
        })
        .collect();
    println!("journal on {}", dir.path().display());
    report("peer: write + sync_data", peer_times);
    report("Curation::apply (journaled+synced)", apply_times);
    report("Curation::undo", undo_times);
    drop(cur);

    // A long journal of consistent entries (each flips a person's gender), written in one
    // go: building the file is not what is measured, opening it is.
    let mut gender: Vec<Gender> = ds.people.iter().map(|p| p.gender).collect();
    let mut text = String::new();
    let long = 100_000u64;
    for seq in 1..=long {
        let p = (seq as usize * 53) % PEOPLE;
        let old = gender[p];
        gender[p] = old.flipped();
        let entry = JournalEntry {
            seq,
            time: "2026-11-22T01:00:00.000Z".into(),
            annotator: "bench".into(),
            op: Op::Edit,
            step: seq,
            step_len: 1,
            batch: None,
            target: Target::person(ds.people[p].folder.clone()),
            field: JournalField::Gender,
            old: Value::Gender(old),
            new: Value::Gender(gender[p]),
            reason: Some(format!("issue gender:{} run bench", ds.people[p].folder)),
            reverts: None,
            reapplies: None,
        };
        text.push_str(&entry.to_line());
        text.push('\n');
    }
    std::fs::write(ws.journal_path(), &text).expect("write long journal");
    let mb = text.len() as f64 / 1e6;
    let t = Instant::now();
    let (cur, rep) = Curation::open(&ds, &ws, "bench").expect("open long");
    let open_time = t.elapsed();
    println!(
        "open + replay {long} entries ({mb:.1} MB): {:.1} ms ({} applied, {} skipped, {} notes)",
        open_time.as_secs_f64() * 1e3,
        rep.entries,
        rep.skipped.len(),
        rep.notes.len()
    );
    let t = Instant::now();
    let labels = cur.curated_class_labels(&ds);
    println!(
        "curated_class_labels for {} photos: {:.2} ms",
        labels.len(),
        t.elapsed().as_secs_f64() * 1e3
    );
    let t = Instant::now();
    let total = cur.total_changes();
    println!(
        "total_changes ({total}): {:.3} ms",
        t.elapsed().as_secs_f64() * 1e3
    );
}
