//! The bounded mutation test: a few thousand seeded mutations (bit flips, truncation,
//! inserted and deleted bytes, random runs, extreme header fields) of small valid JPEGs,
//! PNGs, `.npy` files, journals, train.csv files and probability CSVs, each through the
//! public entry points the app uses. Asserts no panic, a generous time bound per input
//! (it guards hangs, not speed) and that no input needs more than 256 MB of heap.
//!
//! `MASK_CURATOR_MUTATIONS=<n>` multiplies the counts (a longer local run); the long run
//! with figures is the `fuzz_long_run` example (docs/fuzzing.md).

mod hostile_support;

use hostile_support::{self as hs, Rng};
use mask_curator::curation::Curation;
use mask_curator::dataset;
use mask_curator::workspace::Workspace;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::time::{Duration, Instant};

#[global_allocator]
static ALLOC: hs::Counting = hs::Counting;

/// The heap peak is process-wide: the tests take turns so one does not reset another's.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

const TIME_BOUND: Duration = Duration::from_secs(2);
const MEMORY_BOUND: usize = 256 << 20;

/// Figures of one kind of input.
#[derive(Default)]
struct Tally {
    inputs: usize,
    panics: Vec<String>,
    slow: Vec<String>,
    heavy: Vec<String>,
    max_time: Duration,
    max_heap: usize,
    /// Panics inside a decoder that the decode boundary caught (reported, not fatal).
    caught: usize,
}

impl Tally {
    /// Runs one input; `what` names it for the failure message.
    fn run(&mut self, what: impl Fn() -> String, f: impl FnOnce() -> bool) {
        self.inputs += 1;
        let started = Instant::now();
        let (outcome, heap) = hs::peak_heap(|| catch_unwind(AssertUnwindSafe(f)));
        let took = started.elapsed();
        self.max_time = self.max_time.max(took);
        self.max_heap = self.max_heap.max(heap);
        match outcome {
            Ok(caught) => self.caught += usize::from(caught),
            Err(_) => self.panics.push(what()),
        }
        if took > TIME_BOUND {
            self.slow.push(format!("{} ({took:?})", what()));
        }
        if heap > MEMORY_BOUND {
            self.heavy.push(format!("{} ({heap} bytes)", what()));
        }
    }

    fn check(&self, kind: &str) {
        println!(
            "{kind}: {} inputs, {} panics, {} caught by the decode boundary, max {:?}, max heap {} KB",
            self.inputs,
            self.panics.len(),
            self.caught,
            self.max_time,
            self.max_heap / 1024
        );
        assert!(
            self.panics.is_empty(),
            "{kind}: panics on {:?}",
            self.panics
        );
        assert!(
            self.slow.is_empty(),
            "{kind}: over {TIME_BOUND:?}: {:?}",
            self.slow
        );
        assert!(
            self.heavy.is_empty(),
            "{kind}: over 256 MB: {:?}",
            self.heavy
        );
    }
}

fn scale() -> usize {
    std::env::var("MASK_CURATOR_MUTATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

fn photo_seeds() -> Vec<(&'static str, Vec<u8>)> {
    use jpeg_encoder::SamplingFactor;
    vec![
        ("baseline 4:4:4", hs::jpeg(40, 56, 1)),
        (
            "baseline 4:2:0",
            hs::jpeg_with(48, 64, 2, |e| e.set_sampling_factor(SamplingFactor::F_2_2)),
        ),
        (
            "baseline restarts",
            hs::jpeg_with(48, 40, 3, |e| e.set_restart_interval(2)),
        ),
        ("grey", hs::grey_jpeg(40, 32)),
        (
            "progressive",
            hs::jpeg_with(40, 48, 4, |e| e.set_progressive(true)),
        ),
        ("odd sampling", hs::odd_sampling_progressive()),
    ]
}

#[test]
fn mutated_photos_never_panic_hang_or_blow_up() {
    let _serial = serial();
    let n = 2400 * scale();
    let seeds = photo_seeds();
    let mut jpegs = Tally::default();
    let mut rng = Rng::new(0x5EED_0001);
    for i in 0..n {
        let (name, seed) = &seeds[i % seeds.len()];
        let mut input = hs::mutate(seed, &mut rng);
        if rng.below(4) == 0 {
            input = hs::mutate(&input, &mut rng);
        }
        jpegs.run(
            || format!("{name} mutation {i}"),
            || hs::all_decodes(&input),
        );
    }
    // The hand-made hostile files themselves.
    for (i, bad) in [
        hs::bomb_progressive(),
        hs::bomb_baseline(),
        hs::truncated_16383(),
        hs::random_bytes_mid(&hs::jpeg(96, 128, 9), 300, 9),
    ]
    .iter()
    .enumerate()
    {
        jpegs.run(|| format!("hostile file {i}"), || hs::all_decodes(bad));
    }
    jpegs.check("JPEG");

    let mut pngs = Tally::default();
    let png = hs::png(24, 20, 5);
    for i in 0..400 * scale() {
        let input = hs::mutate(&png, &mut rng);
        pngs.run(|| format!("png mutation {i}"), || hs::all_decodes(&input));
    }
    pngs.check("PNG");
}

#[test]
fn mutated_npy_files_never_panic_or_blow_up() {
    let _serial = serial();
    let mut tally = Tally::default();
    let mut rng = Rng::new(0x5EED_0002);
    let seeds: Vec<Vec<u8>> = vec![
        mask_curator::arrays::npy::to_npy_bytes(&[6, 3], &[0.25f32; 18]),
        mask_curator::arrays::npy::to_npy_bytes(&[5], &[1.5f64; 5]),
        mask_curator::arrays::npy::to_npy_bytes(&[4], &[7i64; 4]),
        mask_curator::arrays::npy::to_npy_bytes(&[2, 2], &[3i32; 4]),
    ];
    let mut hostile = hs::npy_overflows();
    hostile.push(hs::npy_raw("<f4", "(4294967296, 4294967296)", &[0; 16]));
    for (i, bad) in hostile.iter().enumerate() {
        tally.run(
            || format!("hostile npy {i}"),
            || {
                let _ = mask_curator::arrays::npy::read_npy_bytes(bad, Path::new("x.npy"));
                false
            },
        );
    }
    for i in 0..1500 * scale() {
        let input = hs::mutate(&seeds[i % seeds.len()], &mut rng);
        tally.run(
            || format!("npy mutation {i}"),
            || {
                let _ = mask_curator::arrays::npy::read_npy_bytes(&input, Path::new("x.npy"));
                false
            },
        );
    }
    tally.check(".npy");
}

#[test]
fn mutated_journals_never_panic_and_replay_only_valid_values() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let ds = hs::small_dataset(dir.path());
    let ws = Workspace::for_dataset(dir.path());
    ws.ensure().unwrap();
    let p = |i: usize| format!("person:{}", ds.people[i].folder);
    let photo = |i: usize| format!("photo:{}/normal", ds.people[i].folder);
    let seed_journal = [
        hs::journal_line(1, &p(0), "gender", "\"female\"", "\"male\""),
        hs::journal_line(2, &p(1), "age", "31", "64"),
        hs::journal_line(3, &photo(2), "mask", "\"not_wear\"", "\"incorrect\""),
        hs::journal_line(4, &p(2), "review", "null", "\"keep\""),
        hs::journal_line(18_446_744_073_709_551_612, &p(0), "age", "30", "31"),
        hs::journal_line(6, &p(1), "age", "64", "4294967295"),
    ]
    .join("\n")
        + "\n";
    let mut tally = Tally::default();
    let mut rng = Rng::new(0x5EED_0003);
    for i in 0..600 * scale() {
        let input = hs::mutate(seed_journal.as_bytes(), &mut rng);
        std::fs::write(ws.journal_path(), &input).unwrap();
        tally.run(
            || {
                format!(
                    "journal mutation {i}: {:?}",
                    String::from_utf8_lossy(&input)
                )
            },
            || {
                if let Ok((c, _)) = Curation::open_read_only(&ds, &ws) {
                    for person in 0..c.num_people() {
                        let age = c.age_years(person);
                        assert!((1..=120).contains(&age), "age {age} applied");
                    }
                }
                false
            },
        );
    }
    tally.check("journal");
}

#[test]
fn mutated_csv_files_never_panic() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("train/images/000001_female_Asian_30")).unwrap();
    let train = "\u{feff}id,gender,race,age,path\r\n000001,female,Asian,30,000001_female_Asian_30\r\n000002,male,Asian,61,000002_male_Asian_61\r\n";
    let probs = "p0,p1,p2\n0.1,0.2,0.7\n0.5,0.25,0.25\n";
    let labels = "\u{feff}2\n0\n1\n";
    let mut rng = Rng::new(0x5EED_0004);
    let mut tally = Tally::default();
    for i in 0..300 * scale() {
        let input = hs::mutate(train.as_bytes(), &mut rng);
        std::fs::write(root.join("train/train.csv"), &input).unwrap();
        tally.run(
            || {
                format!(
                    "train.csv mutation {i}: {:?}",
                    String::from_utf8_lossy(&input)
                )
            },
            || {
                let _ = dataset::scan(root);
                false
            },
        );
    }
    let prob_path = root.join("probs.csv");
    let label_path = root.join("labels.csv");
    for i in 0..300 * scale() {
        let p = hs::mutate(probs.as_bytes(), &mut rng);
        let l = hs::mutate(labels.as_bytes(), &mut rng);
        std::fs::write(&prob_path, &p).unwrap();
        std::fs::write(&label_path, &l).unwrap();
        tally.run(
            || format!("probability CSV mutation {i}"),
            || {
                let _ = mask_curator::issues::io::read_probs(&prob_path);
                let _ = mask_curator::issues::io::read_labels(&label_path);
                false
            },
        );
    }
    tally.check("CSV");
}
