//! `mask-curator scan DIR`: counts and problems of a dataset folder. Problems never make
//! the command fail; only an unusable folder does.

use crate::dataset::{
    scan_with, ClassCode, DatasetSummary, Field, Problem, ScanOptions, ScanReport, Verify,
    NUM_CLASSES,
};
use clap::Args as ClapArgs;
use std::fmt::Write as _;
use std::path::PathBuf;

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Dataset folder (holds train/ and eval/).
    pub dir: PathBuf,
    /// List every problem instead of the first few of each kind.
    #[arg(long)]
    pub all: bool,
    /// Problems listed per kind without --all.
    #[arg(long, default_value_t = 10)]
    pub limit: usize,
    /// Print one JSON object (summary, problems, scan figures) instead of text.
    #[arg(long)]
    pub json: bool,
    /// Decode every image fully instead of checking headers (slower, finds more damage).
    #[arg(long)]
    pub deep: bool,
    /// Worker threads (0 = one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let opts = ScanOptions {
        verify: if args.deep {
            Verify::Decode
        } else {
            Verify::Header
        },
        threads: args.threads,
        ..Default::default()
    };
    let report = scan_with(&args.dir, &opts)?;
    let summary = DatasetSummary::of(&report.dataset);
    if args.json {
        let value = serde_json::json!({
            "root": report.dataset.root,
            "summary": summary,
            "problems": report.dataset.problems,
            "stats": report.stats,
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        let limit = if args.all { usize::MAX } else { args.limit };
        print!("{}", render_text(&report, &summary, limit));
    }
    Ok(())
}

fn pct(n: usize, total: usize) -> String {
    if total == 0 {
        "-".into()
    } else {
        format!("{:.1}%", 100.0 * n as f64 / total as f64)
    }
}

/// The human report. `limit` caps the problems listed per kind.
pub fn render_text(report: &ScanReport, s: &DatasetSummary, limit: usize) -> String {
    let ds = &report.dataset;
    let st = &report.stats;
    let mut o = String::new();
    let _ = writeln!(o, "Dataset {}", ds.root.display());
    let exts: Vec<String> = s
        .photos_by_extension
        .iter()
        .map(|(e, n)| format!(".{e} {n}"))
        .collect();
    let _ = writeln!(
        o,
        "  people {}   photos {} ({})",
        s.people,
        s.photos,
        exts.join(", ")
    );
    let _ = writeln!(
        o,
        "  folders mixing extensions {}   suffixed ids {}   duplicated ids {}{}   people missing photos {}",
        s.mixed_extension_folders.len(),
        s.suffixed_ids,
        s.duplicated_ids.len(),
        if s.duplicated_ids.is_empty() { String::new() } else { format!(" ({})", s.duplicated_ids.join(", ")) },
        s.incomplete_people,
    );
    let channels: Vec<String> = st
        .channels
        .iter()
        .map(|(c, n)| format!("{c}ch {n}"))
        .collect();
    let sizes: Vec<String> = st.sizes.iter().map(|(sz, n)| format!("{sz} {n}")).collect();
    let _ = writeln!(
        o,
        "  channels: {}   sizes: {}",
        channels.join(", "),
        sizes.join(", ")
    );
    match (&ds.eval, s.eval_images) {
        (Some(eval), Some(n)) => {
            let _ = writeln!(
                o,
                "  eval images {n}{}",
                if eval.ground_truth.is_some() {
                    " (with ground truth eval/gt.csv)"
                } else {
                    ""
                }
            );
        }
        _ => {
            let _ = writeln!(o, "  eval: none");
        }
    }
    let secs = st.elapsed_secs.max(1e-9);
    let _ = writeln!(
        o,
        "  scanned in {:.2} s on {} threads: {:.0} photos/s, {:.0} people/s ({} junk files skipped)",
        st.elapsed_secs,
        st.threads,
        (st.photos_checked + st.eval_images_checked) as f64 / secs,
        s.people as f64 / secs,
        st.junk_skipped
    );

    let _ = writeln!(o, "\nFields");
    for field in Field::ALL {
        let counts = match field {
            Field::Mask => s.field_photos(Field::Mask),
            Field::Gender => s.gender_people.to_vec(),
            Field::Age => s.age_people.to_vec(),
        };
        let unit = if field == Field::Mask {
            "photos"
        } else {
            "people"
        };
        let total: usize = counts.iter().sum();
        let parts: Vec<String> = counts
            .iter()
            .enumerate()
            .map(|(i, n)| format!("{} {n} ({})", field.class_name(i), pct(*n, total)))
            .collect();
        let _ = writeln!(o, "  {:<7}{}   [{unit}]", field.name(), parts.join("   "));
    }
    let _ = writeln!(o, "\nPeople by gender and age");
    let _ = writeln!(o, "  {:<8}{:>7}{:>7}{:>7}", "", "<30", "30-59", ">=60");
    for (g, row) in s.people_by_gender_age.iter().enumerate() {
        let _ = writeln!(
            o,
            "  {:<8}{:>7}{:>7}{:>7}",
            Field::Gender.class_name(g),
            row[0],
            row[1],
            row[2]
        );
    }
    let _ = writeln!(
        o,
        "\nClasses (photos{})",
        if s.eval_per_class.is_some() {
            " / eval"
        } else {
            ""
        }
    );
    for i in 0..NUM_CLASSES {
        let Some(c) = ClassCode::from_index(i) else {
            continue;
        };
        let eval = s
            .eval_per_class
            .map(|e| format!("{:>8}", e[i]))
            .unwrap_or_default();
        let _ = writeln!(
            o,
            "  {i:>2}  {:<22}{:>7}{eval}",
            c.describe(),
            s.per_class[i]
        );
    }

    let total: usize = s.problems.iter().map(|(_, n)| n).sum();
    if total == 0 {
        let _ = writeln!(o, "\nNo problems found.");
        return o;
    }
    let _ = writeln!(o, "\nProblems: {total} in {} kinds", s.problems.len());
    for (kind, n) in &s.problems {
        let _ = writeln!(o, "  {} ({n}): {}", kind.title(), kind.consequence());
        let of_kind: Vec<&Problem> = ds.problems.iter().filter(|p| p.kind == *kind).collect();
        for p in of_kind.iter().take(limit) {
            let _ = writeln!(o, "    {p}");
        }
        if of_kind.len() > limit {
            let _ = writeln!(
                o,
                "    ... and {} more (--all lists them)",
                of_kind.len() - limit
            );
        }
    }
    o
}
