//! The long local mutation run (docs/fuzzing.md): millions of seeded mutations through
//! the same entry points as the bounded test in `tests/fuzz_mutations.rs`, with figures.
//!
//! ```text
//! cargo run --release --no-default-features --example fuzz_long_run -- \
//!     [--jpeg N] [--png N] [--npy N] [--csv N] [--journal N] [--seed S]
//! ```
//!
//! Prints per kind: inputs, panics (caught here, each printed with its seed and
//! mutation index), decoder panics caught by the decode boundary, slowest input, largest
//! heap peak of one input, and at the end the process's peak RSS. An abort ends the
//! process without the summary, which is how it shows.

#[path = "../tests/hostile_support/mod.rs"]
mod hostile_support;

use hostile_support::{self as hs, Rng};
use mask_curator::curation::Curation;
use mask_curator::thumbs::decode::{self, Strictness};
use mask_curator::workspace::Workspace;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::time::{Duration, Instant};

#[global_allocator]
static ALLOC: hs::Counting = hs::Counting;

#[derive(Default)]
struct Tally {
    inputs: u64,
    panics: u64,
    caught: u64,
    over_1s: u64,
    over_256mb: u64,
    max_time: Duration,
    max_heap: usize,
    total: Duration,
}

impl Tally {
    fn run(&mut self, label: &dyn Fn() -> String, f: impl FnOnce() -> bool) {
        self.inputs += 1;
        let started = Instant::now();
        let (outcome, heap) = hs::peak_heap(|| catch_unwind(AssertUnwindSafe(f)));
        let took = started.elapsed();
        self.total += took;
        self.max_time = self.max_time.max(took);
        self.max_heap = self.max_heap.max(heap);
        match outcome {
            Ok(caught) => self.caught += u64::from(caught),
            Err(_) => {
                self.panics += 1;
                eprintln!("PANIC: {}", label());
            }
        }
        if took > Duration::from_secs(1) {
            self.over_1s += 1;
            eprintln!("SLOW ({took:?}): {}", label());
        }
        if heap > 256 << 20 {
            self.over_256mb += 1;
            eprintln!("HEAVY ({heap} bytes): {}", label());
        }
    }

    fn print(&self, kind: &str) {
        println!(
            "{kind:8} {:>9} inputs  {} panics  {} caught at the decode boundary  {} over 1 s  {} over 256 MB  max {:.1} ms  mean {:.3} ms  max heap {:.1} MB",
            self.inputs,
            self.panics,
            self.caught,
            self.over_1s,
            self.over_256mb,
            self.max_time.as_secs_f64() * 1e3,
            self.total.as_secs_f64() * 1e3 / self.inputs.max(1) as f64,
            self.max_heap as f64 / (1 << 20) as f64
        );
    }
}

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    // `--replay FILE`: time one input through every decode mode.
    if let Some(file) = std::env::args().skip_while(|a| a != "--replay").nth(1) {
        let bytes = std::fs::read(&file).expect("read the input");
        let path = Path::new(&file);
        let time = |name: &str, f: &dyn Fn() -> String| {
            let started = Instant::now();
            let what = f();
            println!(
                "{name:10} {:>8.1} ms  {what}",
                started.elapsed().as_secs_f64() * 1e3
            );
        };
        let show = |r: Result<(u32, u32), mask_curator::thumbs::ThumbError>| match r {
            Ok((w, h)) => format!("{w}x{h}"),
            Err(e) => e.to_string(),
        };
        time("thumbnail", &|| {
            show(decode::decode_bytes(path, &bytes, 96, 128).map(|t| (t.width, t.height)))
        });
        time("strict", &|| {
            show(
                decode::decode_photo(path, &bytes, &|_, _| (1, 1), Strictness::Strict)
                    .map(|d| (d.width, d.height)),
            )
        });
        time("training", &|| {
            show(
                decode::decode_photo(path, &bytes, &|_, _| (224, 224), Strictness::Lenient)
                    .map(|d| (d.width, d.height)),
            )
        });
        time("header", &|| {
            format!(
                "{:?}",
                mask_curator::dataset::image_check::check_bytes(&bytes)
            )
        });
        return;
    }
    let seed = arg("--seed", 1);
    let n_jpeg = arg("--jpeg", 1_000_000);
    let n_png = arg("--png", 100_000);
    let n_npy = arg("--npy", 100_000);
    let n_csv = arg("--csv", 100_000);
    let n_journal = arg("--journal", 100_000);
    let started = Instant::now();

    use jpeg_encoder::SamplingFactor;
    let photos = [
        hs::jpeg(40, 56, 1),
        hs::jpeg_with(48, 64, 2, |e| e.set_sampling_factor(SamplingFactor::F_2_2)),
        hs::jpeg_with(48, 40, 3, |e| e.set_restart_interval(2)),
        hs::grey_jpeg(40, 32),
        hs::jpeg_with(40, 48, 4, |e| e.set_progressive(true)),
        hs::odd_sampling_progressive(),
        hs::jpeg(96, 128, 5),
    ];
    let mut rng = Rng::new(seed);
    let mut t = Tally::default();
    // `--dump N FILE`: write JPEG input N of this seed to FILE (to reproduce a finding).
    let dump = arg("--dump", u64::MAX);
    for i in 0..n_jpeg {
        let mut input = hs::mutate(&photos[i as usize % photos.len()], &mut rng);
        if rng.below(4) == 0 {
            input = hs::mutate(&input, &mut rng);
        }
        if dump != u64::MAX {
            if i == dump {
                let file = std::env::args().skip_while(|a| a != "--dump").nth(2);
                std::fs::write(file.as_deref().unwrap_or("input.jpg"), &input).expect("dump");
                return;
            }
            continue;
        }
        t.run(&|| format!("jpeg seed {seed} input {i}"), || {
            hs::all_decodes(&input)
        });
    }
    t.print("JPEG");

    let png = hs::png(24, 20, 5);
    let mut t = Tally::default();
    for i in 0..n_png {
        let input = hs::mutate(&png, &mut rng);
        t.run(&|| format!("png seed {seed} input {i}"), || {
            hs::all_decodes(&input)
        });
    }
    t.print("PNG");

    let npys = [
        mask_curator::arrays::npy::to_npy_bytes(&[6, 3], &[0.25f32; 18]),
        mask_curator::arrays::npy::to_npy_bytes(&[5], &[1.5f64; 5]),
        mask_curator::arrays::npy::to_npy_bytes(&[4], &[7i64; 4]),
        mask_curator::arrays::npy::to_npy_bytes(&[2, 2], &[3i32; 4]),
    ];
    let mut t = Tally::default();
    for i in 0..n_npy {
        let input = hs::mutate(&npys[i as usize % npys.len()], &mut rng);
        t.run(&|| format!("npy seed {seed} input {i}"), || {
            let _ = mask_curator::arrays::npy::read_npy_bytes(&input, Path::new("x.npy"));
            false
        });
    }
    t.print(".npy");

    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    std::fs::create_dir_all(root.join("train/images/000001_female_Asian_30")).expect("folders");
    let train = "\u{feff}id,gender,race,age,path\r\n000001,female,Asian,30,000001_female_Asian_30\r\n000002,male,Asian,61,000002_male_Asian_61\r\n";
    let probs = "p0,p1,p2\n0.1,0.2,0.7\n0.5,0.25,0.25\n";
    let mut t = Tally::default();
    for i in 0..n_csv {
        let train_in = hs::mutate(train.as_bytes(), &mut rng);
        let probs_in = hs::mutate(probs.as_bytes(), &mut rng);
        std::fs::write(root.join("train/train.csv"), &train_in).expect("write");
        std::fs::write(root.join("probs.csv"), &probs_in).expect("write");
        t.run(&|| format!("csv seed {seed} input {i}"), || {
            let _ = mask_curator::dataset::scan(root);
            let _ = mask_curator::issues::io::read_probs(&root.join("probs.csv"));
            let _ = mask_curator::issues::io::read_labels(&root.join("probs.csv"));
            false
        });
    }
    t.print("CSV");

    let ds = hs::small_dataset(root);
    let ws = Workspace::for_dataset(root);
    ws.ensure().expect("workspace");
    let who = |i: usize| format!("person:{}", ds.people[i].folder);
    let journal = [
        hs::journal_line(1, &who(0), "gender", "\"female\"", "\"male\""),
        hs::journal_line(2, &who(1), "age", "31", "64"),
        hs::journal_line(
            3,
            &format!("photo:{}/normal", ds.people[2].folder),
            "mask",
            "\"not_wear\"",
            "\"incorrect\"",
        ),
        hs::journal_line(4, &who(2), "review", "null", "\"keep\""),
        hs::journal_line(18_446_744_073_709_551_612, &who(0), "age", "30", "31"),
    ]
    .join("\n")
        + "\n";
    let mut t = Tally::default();
    for i in 0..n_journal {
        let input = hs::mutate(journal.as_bytes(), &mut rng);
        std::fs::write(ws.journal_path(), &input).expect("write");
        t.run(&|| format!("journal seed {seed} input {i}"), || {
            if let Ok((c, _)) = Curation::open_read_only(&ds, &ws) {
                for p in 0..c.num_people() {
                    assert!((1..=120).contains(&c.age_years(p)), "age applied");
                }
            }
            false
        });
    }
    t.print("journal");

    println!(
        "peak RSS {} MB, {:.0} s",
        peak_rss_kb() / 1024,
        started.elapsed().as_secs_f64()
    );
}

/// The process's peak resident set (Linux `VmHWM`), 0 where unknown.
fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}
