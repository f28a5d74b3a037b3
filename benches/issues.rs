//! Confident learning speed and memory, ours against cleanlab 2.9 on the same arrays in
//! the same run. `cargo bench --no-default-features --bench issues` (or
//! scripts/bench-issues.sh, which also installs cleanlab into a venv).
//!
//! cleanlab is run from the venv at $MASK_CURATOR_CLEANLAB_VENV or
//! ~/.cache/mask-curator/cleanlab-venv; without it the bench says so and prints ours only.

mod support;

use mask_curator::arrays::write_npy;
use mask_curator::issues::cleanlab::{
    find_label_issues, find_label_issues_ranked, FindOptions, RankOptions,
};
use mask_curator::issues::ProbView;
use rand::{Rng, SeedableRng};
use std::path::Path;
use std::time::Instant;
use support::{cleanlab_python, peak_rss_mb};

const K: usize = 18;

/// Realistic out-of-fold probabilities: class sizes of the real data, a softmax over noisy
/// logits, 5% of labels flipped.
fn generate(n: usize, seed: u64) -> (Vec<i64>, Vec<f32>) {
    let sizes = [
        2745.0, 2050.0, 415.0, 3660.0, 4085.0, 545.0, 549.0, 410.0, 83.0, 732.0, 817.0, 109.0,
        549.0, 410.0, 83.0, 732.0, 817.0, 109.0f64,
    ];
    let total: f64 = sizes.iter().sum();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut labels = Vec::with_capacity(n);
    let mut probs = Vec::with_capacity(n * K);
    let mut logits = [0f64; K];
    for _ in 0..n {
        let mut u = rng.random::<f64>() * total;
        let mut truth = K - 1;
        for (c, &s) in sizes.iter().enumerate() {
            if u < s {
                truth = c;
                break;
            }
            u -= s;
        }
        for (j, l) in logits.iter_mut().enumerate() {
            // Sum of uniforms: a cheap bell-shaped noise.
            let z: f64 = (0..4).map(|_| rng.random::<f64>()).sum::<f64>() - 2.0;
            *l = z * 1.7 + if j == truth { 3.5 } else { 0.0 };
        }
        let m = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let s: f64 = logits.iter().map(|l| (l - m).exp()).sum();
        probs.extend(logits.iter().map(|l| ((l - m).exp() / s) as f32));
        let given = if rng.random::<f64>() < 0.05 {
            rng.random_range(0..K)
        } else {
            truth
        };
        labels.push(given as i64);
    }
    (labels, probs)
}

const PY: &str = r#"
import sys, time, warnings
warnings.filterwarnings("ignore")
import numpy as np
from cleanlab.filter import find_label_issues
labels = np.load(sys.argv[1]); probs = np.load(sys.argv[2])
t = time.perf_counter(); m = find_label_issues(labels, probs); a = time.perf_counter() - t
t = time.perf_counter(); r = find_label_issues(labels, probs, return_indices_ranked_by="self_confidence"); b = time.perf_counter() - t
print(f"{a} {b} {int(m.sum())} {len(r)}")
"#;

/// cleanlab's (mask seconds, ranked seconds, flagged) on the arrays saved in `dir`.
fn run_cleanlab(py: &Path, dir: &Path) -> Result<(f64, f64, usize), String> {
    let out = std::process::Command::new(py)
        .arg("-c")
        .arg(PY)
        .arg(dir.join("labels.npy"))
        .arg(dir.join("probs.npy"))
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let v: Vec<f64> = text
        .split_whitespace()
        .filter_map(|s| s.parse().ok())
        .collect();
    match v.as_slice() {
        [a, b, m, _] => Ok((*a, *b, *m as usize)),
        _ => Err(format!("unexpected output: {text}")),
    }
}

/// cleanlab's flagged rows as a whole process: start Python, import, load the arrays,
/// find the issues (prune_by_noise_rate), write their indices as a CSV.
const PY_PROCESS: &str = r#"
import sys
import numpy as np
from cleanlab.filter import find_label_issues
labels = np.load(sys.argv[1]); probs = np.load(sys.argv[2])
m = find_label_issues(labels, probs)
np.savetxt(sys.argv[3], np.flatnonzero(m), fmt="%d")
"#;

/// Wall seconds of a whole process (best of `runs`), failing on a non-zero exit.
fn time_process(
    runs: usize,
    mut make: impl FnMut() -> std::process::Command,
) -> Result<f64, String> {
    let mut best = f64::INFINITY;
    for _ in 0..runs {
        let t = Instant::now();
        let out = make().output().map_err(|e| e.to_string())?;
        let secs = t.elapsed().as_secs_f64();
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned());
        }
        best = best.min(secs);
    }
    Ok(best)
}

fn best_of<R>(runs: usize, mut f: impl FnMut() -> R) -> (f64, R) {
    let mut best = f64::INFINITY;
    let mut last = None;
    for _ in 0..runs {
        let t = Instant::now();
        let r = f();
        best = best.min(t.elapsed().as_secs_f64());
        last = Some(r);
    }
    (best, last.expect("at least one run"))
}

fn main() {
    let python = cleanlab_python();
    if python.is_none() {
        println!("cleanlab not installed: run scripts/bench-issues.sh to install it (venv at ~/.cache/mask-curator/cleanlab-venv)");
    }
    println!(
        "find_label_issues, K = {K}, float32, {} core(s) available",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    for n in [18_900usize, 1_000_000] {
        let (labels_i64, probs) = generate(n, 7);
        let labels: Vec<usize> = labels_i64.iter().map(|&l| l as usize).collect();
        let rss_before = peak_rss_mb();
        let view = ProbView::new(&probs, K).expect("generated shape");
        let opts = FindOptions::default();
        let (t_mask, issues) = best_of(5, || {
            find_label_issues(&labels, view, &opts).expect("valid input")
        });
        let (t_rank, (_, ranked)) = best_of(5, || {
            find_label_issues_ranked(&labels, view, &opts, RankOptions::default())
                .expect("valid input")
        });
        let rss_after = peak_rss_mb();
        let flagged = issues.flagged().len();
        println!(
            "N = {n} x {K} ({:.1} MB of probabilities)",
            (probs.len() * 4) as f64 / 1e6
        );
        println!("  ours      prune_by_noise_rate: {:>9.2} ms   ranked: {:>9.2} ms   flagged {flagged} (ranked {})", t_mask * 1e3, t_rank * 1e3, ranked.len());
        if let (Some(a), Some(b)) = (rss_before, rss_after) {
            println!(
                "  memory    peak RSS {b:.1} MB; the engine added {:.1} MB on top of the inputs",
                b - a
            );
        }
        let Some(py) = &python else { continue };
        let dir = tempfile::tempdir().expect("temp dir");
        write_npy(&dir.path().join("labels.npy"), &[n], &labels_i64).expect("write labels");
        write_npy(&dir.path().join("probs.npy"), &[n, K], &probs).expect("write probs");
        match run_cleanlab(py, dir.path()) {
            Ok((a, b, m)) => {
                println!("  cleanlab  prune_by_noise_rate: {:>9.2} ms   ranked: {:>9.2} ms   flagged {m}", a * 1e3, b * 1e3);
                println!(
                    "  speedup   {:.1}x (mask), {:.1}x (ranked); same count: {}",
                    a / t_mask,
                    b / t_rank,
                    m == flagged
                );
            }
            Err(e) => println!("  cleanlab failed: {e}"),
        }
        // Whole processes, as a user runs them: ours is `mask-curator find-issues` (it
        // does not load libtorch), cleanlab's is Python importing it.
        let (labels_npy, probs_npy) = (dir.path().join("labels.npy"), dir.path().join("probs.npy"));
        let ours = time_process(3, || {
            let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_mask-curator"));
            c.arg("find-issues")
                .arg("--labels")
                .arg(&labels_npy)
                .arg("--pred-probs")
                .arg(&probs_npy)
                .arg("--out")
                .arg(dir.path().join("ours.csv"));
            c
        });
        let theirs = time_process(3, || {
            let mut c = std::process::Command::new(py);
            c.arg("-c")
                .arg(PY_PROCESS)
                .arg(&labels_npy)
                .arg(&probs_npy)
                .arg(dir.path().join("theirs.csv"));
            c
        });
        match (ours, theirs) {
            (Ok(a), Ok(b)) => println!(
                "  whole process (start, read .npy, find, write CSV): ours {:.0} ms, cleanlab {:.0} ms, speedup {:.1}x",
                a * 1e3,
                b * 1e3,
                b / a
            ),
            (Err(e), _) | (_, Err(e)) => println!("  whole process failed: {e}"),
        }
    }
}
