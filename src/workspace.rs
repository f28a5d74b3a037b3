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
    /// Saved photo measures, so a second photo check decodes only changed files.
    pub fn photo_measures_path(&self) -> PathBuf {
        self.dir.join("photo_measures.csv")
    }
    /// Default folder for exported CSVs.
    pub fn exports_dir(&self) -> PathBuf {
        self.dir.join("exports")
    }
    pub fn ensure(&self) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)
    }
}

/// Writes `bytes` to `path` atomically: a temp file in the same folder, fsync, rename, then
/// fsync of the folder, so the rename itself (and any folder created for it) survives a
/// power cut.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    create_dir_all_synced(dir)?;
    let mut builder = tempfile::Builder::new();
    // A new file gets what `File::create` gives (0666 less the umask), not a temporary
    // file's private 0600: exports and runs are read by others too (the engineer who
    // trains from an annotator's export, a cluster job's folds).
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let mut tmp = builder.tempfile_in(dir)?;
    if let Ok(existing) = std::fs::metadata(path) {
        // A file replaced keeps its permissions (a group-readable export stays so).
        tmp.as_file().set_permissions(existing.permissions())?;
    }
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    sync_dir(dir)
}

/// Creates `dir` and any missing parents, syncing the folder that holds each new one: a
/// new folder's name lives in its parent, which a crash could otherwise lose.
pub fn create_dir_all_synced(dir: &Path) -> std::io::Result<()> {
    let mut missing = Vec::new();
    let mut at = Some(dir);
    while let Some(p) = at.filter(|p| !p.as_os_str().is_empty() && !p.is_dir()) {
        missing.push(p);
        at = p.parent();
    }
    for new in missing.iter().rev() {
        match std::fs::create_dir(new) {
            Ok(()) => {}
            // Another writer made it in between: it exists, which is all we need.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && new.is_dir() => {}
            Err(e) => return Err(e),
        }
        let parent = new
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        sync_dir(parent)?;
    }
    Ok(())
}

/// Makes a folder's entries (renames, new files, new sub-folders) durable.
#[cfg(unix)]
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(test)]
    synced::record(dir);
    std::fs::File::open(dir)?.sync_all()
}

/// Elsewhere folders cannot be opened for syncing; the rename is as durable as the OS makes it.
#[cfg(not(unix))]
pub fn sync_dir(_dir: &Path) -> std::io::Result<()> {
    Ok(())
}

/// The folders this thread synced, so tests can check durability steps are taken.
#[cfg(test)]
pub(crate) mod synced {
    use std::cell::RefCell;
    use std::path::{Path, PathBuf};

    thread_local! {
        static LOG: RefCell<Vec<PathBuf>> = const { RefCell::new(Vec::new()) };
    }

    pub(crate) fn record(dir: &Path) {
        LOG.with_borrow_mut(|log| log.push(dir.to_path_buf()));
    }

    /// Takes the folders synced on this thread since the last call.
    pub(crate) fn take() -> Vec<PathBuf> {
        LOG.with_borrow_mut(std::mem::take)
    }
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

    #[cfg(unix)]
    #[test]
    fn atomic_write_gives_the_permissions_of_a_plain_create_and_keeps_a_replaced_files() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("plain.csv");
        std::fs::File::create(&plain).unwrap();
        let p = dir.path().join("out.csv");
        write_atomic(&p, b"first").unwrap();
        // The umask decides both (under the usual 022 a temporary file's 0600 differs).
        assert_eq!(mode(&p), mode(&plain));

        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o640)).unwrap();
        write_atomic(&p, b"second").unwrap();
        assert_eq!(mode(&p), 0o640);
    }

    #[cfg(unix)]
    #[test]
    fn atomic_write_syncs_the_folder_after_the_rename_and_every_new_folder() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a/b/out.csv");
        synced::take();
        write_atomic(&p, b"x").unwrap();
        let synced = synced::take();
        // The folders that gained a new entry: the root (a), a (b), and b (the rename).
        assert_eq!(
            synced,
            vec![
                dir.path().to_path_buf(),
                dir.path().join("a"),
                dir.path().join("a/b"),
            ]
        );
        write_atomic(&p, b"y").unwrap();
        assert_eq!(synced::take(), vec![dir.path().join("a/b")]);
    }
}
