//! A placeholder tree of a real layout: the given train.csv, one folder per row with the
//! real photo file names, each a tiny valid image. The real photos are not needed to
//! measure issue detection (the simulator stands in for the model), only their names and
//! labels, so a 2,700-person tree is written in seconds.
//!
//! Photo names come from `train_images.csv` beside train.csv when present (the real mixed
//! extensions, `input/data/train/images/<folder>/<file>` paths); otherwise every person
//! gets the seven `.jpg` names.

use super::{io_err, DemoError};
use crate::dataset::Slot;
use image::ImageEncoder;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq)]
pub struct PlaceholderSummary {
    pub root: PathBuf,
    pub people: usize,
    pub photos: usize,
}

fn tiny_image(png: bool) -> Result<Vec<u8>, String> {
    let pixels = [128u8; 8 * 8 * 3];
    let mut out = Vec::new();
    if png {
        image::codecs::png::PngEncoder::new(&mut out)
            .write_image(&pixels, 8, 8, image::ExtendedColorType::Rgb8)
            .map_err(|e| e.to_string())?;
    } else {
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80)
            .write_image(&pixels, 8, 8, image::ExtendedColorType::Rgb8)
            .map_err(|e| e.to_string())?;
    }
    Ok(out)
}

/// The person folders (train.csv `path` column, in file order) of a train.csv.
fn folders(train_csv: &Path) -> Result<Vec<String>, DemoError> {
    let bad = |line: usize, reason: String| DemoError::Io {
        path: train_csv.to_path_buf(),
        source: std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("line {line}: {reason}"),
        ),
    };
    let mut reader = csv::Reader::from_path(train_csv).map_err(|e| bad(1, e.to_string()))?;
    let headers = reader.headers().map_err(|e| bad(1, e.to_string()))?.clone();
    let col = headers
        .iter()
        .position(|h| h.trim() == "path")
        .ok_or_else(|| bad(1, "no path column".into()))?;
    let mut out = Vec::new();
    for (i, rec) in reader.records().enumerate() {
        let rec = rec.map_err(|e| bad(i + 2, e.to_string()))?;
        let folder = rec.get(col).unwrap_or("").trim();
        if folder.is_empty() || folder.contains(['/', '\\']) || folder.starts_with('.') {
            return Err(bad(
                i + 2,
                format!("{folder:?} is not a person folder name"),
            ));
        }
        out.push(folder.to_string());
    }
    Ok(out)
}

/// File names per folder from a `train_images.csv` (`,path,class`).
fn real_file_names(list: &Path) -> Result<BTreeMap<String, Vec<String>>, DemoError> {
    let bad = |line: usize, reason: String| DemoError::Io {
        path: list.to_path_buf(),
        source: std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("line {line}: {reason}"),
        ),
    };
    let mut reader = csv::Reader::from_path(list).map_err(|e| bad(1, e.to_string()))?;
    let headers = reader.headers().map_err(|e| bad(1, e.to_string()))?.clone();
    let col = headers
        .iter()
        .position(|h| h.trim() == "path")
        .ok_or_else(|| bad(1, "no path column".into()))?;
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (i, rec) in reader.records().enumerate() {
        let rec = rec.map_err(|e| bad(i + 2, e.to_string()))?;
        let path = rec.get(col).unwrap_or("");
        let mut parts = path.rsplit('/');
        let (Some(file), Some(folder)) = (parts.next(), parts.next()) else {
            return Err(bad(i + 2, format!("{path:?} has no folder")));
        };
        if file.starts_with('.') || folder.starts_with('.') {
            return Err(bad(i + 2, format!("{path:?} is not a photo path")));
        }
        out.entry(folder.to_string())
            .or_default()
            .push(file.to_string());
    }
    Ok(out)
}

/// Writes the placeholder tree of `train_csv`'s layout to `out` (which must not exist or be
/// empty): `train/train.csv` (a byte copy) and `train/images/<folder>/<photo>`.
pub fn write_placeholder_tree(
    train_csv: &Path,
    out: &Path,
) -> Result<PlaceholderSummary, DemoError> {
    if out.exists()
        && std::fs::read_dir(out)
            .map_err(io_err(out))?
            .next()
            .is_some()
    {
        return Err(DemoError::Exists(out.to_path_buf()));
    }
    let people = folders(train_csv)?;
    let list = train_csv.with_file_name("train_images.csv");
    let names = if list.is_file() {
        Some(real_file_names(&list)?)
    } else {
        None
    };
    let encode = |png: bool| {
        tiny_image(png).map_err(|reason| DemoError::Encode {
            path: out.to_path_buf(),
            reason,
        })
    };
    let (jpeg, png) = (encode(false)?, encode(true)?);
    let images = out.join("train/images");
    std::fs::create_dir_all(&images).map_err(io_err(&images))?;
    let bytes = std::fs::read(train_csv).map_err(io_err(train_csv))?;
    let csv_out = out.join("train/train.csv");
    crate::workspace::write_atomic(&csv_out, &bytes).map_err(io_err(&csv_out))?;
    let default_names: Vec<String> = Slot::ALL
        .iter()
        .map(|s| format!("{}.jpg", s.stem()))
        .collect();
    let mut photos = 0;
    for folder in &people {
        let dir = images.join(folder);
        std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let files = names
            .as_ref()
            .and_then(|n| n.get(folder))
            .unwrap_or(&default_names);
        for file in files {
            let path = dir.join(file);
            let is_png = Path::new(file)
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("png"));
            std::fs::write(&path, if is_png { &png } else { &jpeg }).map_err(io_err(&path))?;
            photos += 1;
        }
    }
    Ok(PlaceholderSummary {
        root: out.to_path_buf(),
        people: people.len(),
        photos,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_has_the_listed_names_and_scans_clean() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("train.csv");
        std::fs::write(
            &csv,
            "id,gender,race,age,path\n000001,female,Asian,45,000001_female_Asian_45\n001498-1,male,Asian,60,001498-1_male_Asian_60\n",
        )
        .unwrap();
        let mut list = String::from(",path,class\n");
        for (i, s) in Slot::ALL.iter().enumerate() {
            let ext = if i == 4 { "png" } else { "jpg" };
            list.push_str(&format!(
                "{i},input/data/train/images/000001_female_Asian_45/{}.{ext},0\n",
                s.stem()
            ));
        }
        std::fs::write(dir.path().join("train_images.csv"), list).unwrap();
        let out = dir.path().join("tree");
        let summary = write_placeholder_tree(&csv, &out).unwrap();
        assert_eq!((summary.people, summary.photos), (2, 14));
        assert!(out
            .join("train/images/000001_female_Asian_45/mask5.png")
            .is_file());
        // A folder missing from the list gets the seven default names.
        assert!(out
            .join("train/images/001498-1_male_Asian_60/normal.jpg")
            .is_file());
        let ds = crate::dataset::scan(&out).unwrap();
        assert!(ds.problems.is_empty(), "{:?}", ds.problems);
        assert_eq!(ds.photo_count(), 14);
        // Refuses a non-empty folder.
        assert!(matches!(
            write_placeholder_tree(&csv, &out),
            Err(DemoError::Exists(_))
        ));
    }
}
