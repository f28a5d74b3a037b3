//! The workspace: everything mask-curator writes for a dataset lives in one folder beside
//! the data (`<root>/.mask-curator/`), never in the data itself.

use std::path::{Path, PathBuf};

pub const WORKSPACE_DIR: &str = ".mask-curator";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workspace {
    pub dir: PathBuf,
}

impl Workspace {
    pub fn for_dataset(root: &Path) -> Self {
        Workspace {
            dir: root.join(WORKSPACE_DIR),
        }
    }
    /// The append-only edit journal.
    pub fn journal_path(&self) -> PathBuf {
        self.dir.join("journal.jsonl")
    }
    /// One sub-folder per training run.
    pub fn runs_dir(&self) -> PathBuf {
        self.dir.join("runs")
    }
    /// Persistent thumbnail cache.
    pub fn thumbs_dir(&self) -> PathBuf {
        self.dir.join("thumbs")
    }
    /// Default folder for exported CSVs.
    pub fn exports_dir(&self) -> PathBuf {
        self.dir.join("exports")
    }
    pub fn ensure(&self) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)
    }
}

/// Writes `bytes` to `path` atomically: a temp file in the same folder, fsync, rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_whole_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/out.csv");
        write_atomic(&p, b"first").unwrap();
        write_atomic(&p, b"second").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"second");
        // No temp files left behind.
        assert_eq!(std::fs::read_dir(p.parent().unwrap()).unwrap().count(), 1);
    }
}
