//! The saved measures, `<root>/.mask-curator/photo_measures.csv`: one row per photo with
//! the file's size and modification time, so a second check decodes only the photos
//! that changed. A cache, nothing more: a damaged or foreign file is ignored (and
//! rewritten whole, atomically, by the next check).

use super::measure::Measures;
use super::FileMeasures;
use crate::thumbs::SourceStamp;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

const HEADER: &str = "path,len,mtime_ns,digest,width,height,brightness_p99,brightness_p5,entropy,edge_std,gray_hist_std,grayscale,phash";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot save the photo measures to {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Largest saved-measures file read back (a row is about 200 bytes: room for a million
/// photos). A larger one is not ours to trust with memory; the photos are measured anew.
const MAX_STORE_BYTES: u64 = 256 << 20;

/// The saved measures by photo path (relative to the dataset root); empty when the file
/// is missing, unreadable or too large. Rows that do not parse are skipped.
pub fn load(path: &Path) -> HashMap<PathBuf, (SourceStamp, FileMeasures)> {
    let small_enough =
        std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() <= MAX_STORE_BYTES);
    let Some(text) = small_enough
        .then(|| std::fs::read_to_string(path).ok())
        .flatten()
    else {
        return HashMap::new();
    };
    let mut lines = text.lines();
    if lines.next() != Some(HEADER) {
        return HashMap::new();
    }
    lines.filter_map(parse_row).collect()
}

fn parse_row(line: &str) -> Option<(PathBuf, (SourceStamp, FileMeasures))> {
    // The path may hold commas; the other 12 fields never do.
    let mut fields: Vec<&str> = line.rsplitn(13, ',').collect();
    if fields.len() != 13 {
        return None;
    }
    fields.reverse();
    let f = |i: usize| -> Option<f32> { fields[i].parse().ok().filter(|v: &f32| v.is_finite()) };
    let stamp = SourceStamp {
        len: fields[1].parse().ok()?,
        mtime_ns: fields[2].parse().ok()?,
    };
    let measures = Measures {
        width: fields[4].parse().ok()?,
        height: fields[5].parse().ok()?,
        brightness_p99: f(6)?,
        brightness_p5: f(7)?,
        entropy: f(8)?,
        edge_std: f(9)?,
        gray_hist_std: f(10)?,
        grayscale: fields[11].parse().ok()?,
        phash: parse_hash(fields[12])?,
    };
    let digest = u64::from_str_radix(fields[3], 16).ok()?;
    Some((
        PathBuf::from(fields[0]),
        (
            stamp,
            FileMeasures {
                digest,
                len: stamp.len,
                measures,
            },
        ),
    ))
}

fn parse_hash(hex: &str) -> Option<super::measure::PHash> {
    if hex.len() != 64 || !hex.is_ascii() {
        return None;
    }
    let mut out = [0u64; 4];
    for (i, word) in out.iter_mut().enumerate() {
        *word = u64::from_str_radix(&hex[i * 16..i * 16 + 16], 16).ok()?;
    }
    Some(out)
}

/// Saves `rows` (path relative to the root, the file's stamp, its measures) atomically.
pub fn save(path: &Path, rows: &[(PathBuf, SourceStamp, FileMeasures)]) -> Result<(), StoreError> {
    let mut out = String::with_capacity(rows.len() * 140 + HEADER.len() + 1);
    out.push_str(HEADER);
    out.push('\n');
    for (rel, stamp, fm) in rows {
        // A path with a line break cannot be a row; such a photo is measured each time.
        let Some(rel) = rel.to_str().filter(|s| !s.contains(['\n', '\r'])) else {
            continue;
        };
        let m = &fm.measures;
        out.push_str(&format!(
            "{rel},{},{},{:016x},{},{},{},{},{},{},{},{},{:016x}{:016x}{:016x}{:016x}\n",
            stamp.len,
            stamp.mtime_ns,
            fm.digest,
            m.width,
            m.height,
            m.brightness_p99,
            m.brightness_p5,
            m.entropy,
            m.edge_std,
            m.gray_hist_std,
            m.grayscale,
            m.phash[0],
            m.phash[1],
            m.phash[2],
            m.phash[3]
        ));
    }
    crate::workspace::write_atomic(path, out.as_bytes()).map_err(|source| StoreError::Write {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_round_trip_and_damage_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("photo_measures.csv");
        let m = Measures {
            width: 384,
            height: 512,
            brightness_p99: 0.812_345_6,
            brightness_p5: 0.1,
            entropy: 7.25,
            edge_std: 41.5,
            gray_hist_std: 12.0,
            grayscale: false,
            phash: [0xdead_beef_0123_4567, 1, u64::MAX, 0],
        };
        let fm = FileMeasures {
            digest: 42,
            len: 1000,
            measures: m,
        };
        let stamp = SourceStamp {
            len: 1000,
            mtime_ns: -5,
        };
        let rows = vec![(PathBuf::from("train/images/a,b/mask1.jpg"), stamp, fm)];
        save(&path, &rows).unwrap();
        let loaded = load(&path);
        assert_eq!(loaded[Path::new("train/images/a,b/mask1.jpg")], (stamp, fm));

        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(
            &path,
            format!("{text}garbage,row\nx,1,2,zz,1,1,1,1,1,1,1,true,0\n"),
        )
        .unwrap();
        assert_eq!(load(&path).len(), 1);
        // A file too large to be ours is not read at all (sparse: no disk used).
        let huge = std::fs::File::create(&path).unwrap();
        huge.set_len(MAX_STORE_BYTES + 1).unwrap();
        assert!(load(&path).is_empty());
        std::fs::write(&path, "not,our,header\n").unwrap();
        assert!(load(&path).is_empty());
        assert!(load(&dir.path().join("missing.csv")).is_empty());
    }
}
