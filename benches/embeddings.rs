//! The embeddings analysis (map, outliers, look-alike people) at the real data's scale,
//! against cleanlab 2.9's `OutOfDistribution` on the same features in the same run.
//! `cargo bench --no-default-features --bench embeddings` (scripts/bench-embeddings.sh also
//! installs cleanlab and scikit-learn into a venv).
//!
//! Features are made like a trained network's: mostly shared and positive, then the
//! person's look, the mask status and per-photo noise; some photos are replaced by strays
//! and some people share a look (duplicated identities). Printed: time, peak memory, how
//! many planted strays each method ranks among its most atypical, and the twins found;
//! and the time of the t-SNE layout the worker saves as `map.npy`.

mod support;

use mask_curator::arrays::write_npy;
use mask_curator::dataset::{Dataset, Gender, Person, PhotoRef, Slot};
use mask_curator::embeddings::{analyse, Embeddings};
use rand::{Rng, SeedableRng};
use std::path::Path;
use std::time::Instant;
use support::{cleanlab_python, peak_rss_mb};

const PEOPLE: usize = 2_700;
const STRAYS: usize = 20;
const TWINS: usize = 5;

struct Planted {
    dataset: Dataset,
    rows: Vec<PhotoRef>,
    features: Vec<f32>,
    strays: Vec<usize>,
    twins: Vec<(usize, usize)>,
}

fn normal(rng: &mut impl Rng) -> f32 {
    // Box-Muller.
    let (u, v): (f32, f32) = (rng.random::<f32>().max(1e-7), rng.random());
    (-2.0 * u.ln()).sqrt() * (std::f32::consts::TAU * v).cos()
}

fn generate(dim: usize, seed: u64) -> Planted {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let people: Vec<Person> = (0..PEOPLE)
        .map(|i| {
            Person::with_all_photos(
                &format!("{:06}", i + 1),
                Gender::ALL[i % 2],
                18 + (i % 43) as u32,
            )
        })
        .collect();
    let shared: Vec<f32> = (0..dim).map(|_| 1.0 + rng.random::<f32>()).collect();
    let mut looks: Vec<Vec<f32>> = (0..PEOPLE)
        .map(|_| (0..dim).map(|_| 0.35 * normal(&mut rng)).collect())
        .collect();
    // Duplicated identities: person 2k+1 has person 2k's look, spread over the dataset.
    let twins: Vec<(usize, usize)> = (0..TWINS).map(|k| (k * 500 + 7, k * 500 + 8)).collect();
    for &(a, b) in &twins {
        looks[b] = looks[a].clone();
    }
    let masks: Vec<Vec<f32>> = (0..3)
        .map(|_| (0..dim).map(|_| 0.6 * normal(&mut rng)).collect())
        .collect();
    let mut rows = Vec::with_capacity(PEOPLE * 7);
    let mut features = Vec::with_capacity(PEOPLE * 7 * dim);
    for (p, look) in looks.iter().enumerate() {
        for slot in Slot::ALL {
            rows.push(PhotoRef { person: p, slot });
            let m = &masks[slot.mask().index()];
            features.extend(
                (0..dim).map(|c| (shared[c] + look[c] + m[c] + 0.25 * normal(&mut rng)).max(0.0)),
            );
        }
    }
    // Strays: photos of nothing like a face in this dataset (a sparse, other pattern).
    let mut strays = Vec::new();
    while strays.len() < STRAYS {
        let r = rng.random_range(0..rows.len());
        if strays.contains(&r) {
            continue;
        }
        for (c, v) in features[r * dim..(r + 1) * dim].iter_mut().enumerate() {
            *v = if c % 7 == strays.len() % 7 {
                3.0 + rng.random::<f32>()
            } else {
                0.1 * rng.random::<f32>()
            };
        }
        strays.push(r);
    }
    Planted {
        dataset: Dataset {
            people,
            ..Default::default()
        },
        rows,
        features,
        strays,
        twins,
    }
}

/// cleanlab's outlier scores for the features (its defaults: k = 10, cosine distance for
/// more than 3 dimensions), their time, and its process's peak memory.
const PY: &str = r#"
import sys, time, resource, warnings
warnings.filterwarnings("ignore")
import numpy as np
from cleanlab.outlier import OutOfDistribution
x = np.load(sys.argv[1])
t = time.perf_counter()
scores = OutOfDistribution().fit_score(features=x)
secs = time.perf_counter() - t
np.save(sys.argv[2], scores.astype(np.float64))
print(secs, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0)
"#;

fn run_cleanlab(py: &Path, dir: &Path) -> Result<(f64, f64, Vec<f64>), String> {
    let out = std::process::Command::new(py)
        .arg("-c")
        .arg(PY)
        .arg(dir.join("features.npy"))
        .arg(dir.join("scores.npy"))
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
    let [secs, rss] = v.as_slice() else {
        return Err(format!("unexpected output: {text}"));
    };
    let scores =
        mask_curator::arrays::read_npy(&dir.join("scores.npy")).map_err(|e| e.to_string())?;
    let mask_curator::arrays::NpyData::F64(scores) = scores.data else {
        return Err("scores are not float64".into());
    };
    Ok((*secs, *rss, scores))
}

/// How many of `planted` are among the `n` lowest `scores`.
fn found_in_lowest(scores: &[f64], planted: &[usize], n: usize) -> usize {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    order[..n.min(order.len())]
        .iter()
        .filter(|r| planted.contains(r))
        .count()
}

fn main() {
    let python = cleanlab_python();
    if python.is_none() {
        println!("cleanlab not installed: run scripts/bench-embeddings.sh to install it");
    }
    println!(
        "embeddings analysis, {PEOPLE} people x 7 photos, {} core(s) available",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    for dim in [192usize, 512] {
        let planted = generate(dim, 11);
        let n = planted.rows.len();
        let rss_before = peak_rss_mb();
        let t = Instant::now();
        let emb = Embeddings::new(
            planted.rows.clone(),
            dim,
            planted.features.clone(),
            Path::new("bench"),
        )
        .expect("generated shape");
        let report = analyse(&planted.dataset, &emb, "bench");
        let secs = t.elapsed().as_secs_f64();
        let rss_after = peak_rss_mb();
        let ours: Vec<f64> = report.outlier_score.iter().map(|&s| f64::from(s)).collect();
        let flagged_strays = report
            .outliers
            .iter()
            .filter(|r| planted.strays.contains(r))
            .count();
        let twins_found = planted
            .twins
            .iter()
            .filter(|&&(a, b)| report.lookalikes.iter().any(|l| (l.a, l.b) == (a, b)))
            .count();
        println!(
            "N = {n} x {dim} ({:.1} MB of features)",
            (n * dim * 4) as f64 / 1e6
        );
        println!(
            "  ours      {:>8.2} s   flagged {} photos: {flagged_strays} of {STRAYS} strays; strays among the {STRAYS} lowest scores: {}; look-alike pairs {} ({twins_found} of {TWINS} twins)",
            secs,
            report.outliers.len(),
            found_in_lowest(&ours, &planted.strays, STRAYS),
            report.lookalikes.len()
        );
        if let (Some(a), Some(b)) = (rss_before, rss_after) {
            println!(
                "  memory    peak RSS {b:.1} MB; the analysis added {:.1} MB",
                b - a
            );
        }
        if dim == 192 {
            // The worker's map.npy: made once per run, after fold 0.
            let t = Instant::now();
            let layout = mask_curator::embeddings::tsne_layout(&planted.features, dim, None)
                .expect("not cancelled");
            println!(
                "  t-SNE     {:>8.2} s   the map of {} photos (the worker makes it once per run)",
                t.elapsed().as_secs_f64(),
                layout.len()
            );
        }
        let Some(py) = &python else { continue };
        let dir = tempfile::tempdir().expect("temp dir");
        write_npy(
            &dir.path().join("features.npy"),
            &[n, dim],
            &planted.features,
        )
        .expect("write features");
        match run_cleanlab(py, dir.path()) {
            Ok((c_secs, c_rss, scores)) => {
                println!(
                    "  cleanlab  {c_secs:>8.2} s   OutOfDistribution.fit_score (scores only); strays among the {STRAYS} lowest scores: {}; process peak RSS {c_rss:.0} MB",
                    found_in_lowest(&scores, &planted.strays, STRAYS)
                );
                println!("  speedup   {:.1}x", c_secs / secs);
            }
            Err(e) => println!("  cleanlab failed: {e}"),
        }
    }
}
