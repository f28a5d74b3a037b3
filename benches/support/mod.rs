//! What several benches share: memory figures of the bench's own process and the Python
//! venv with cleanlab that the peer measurements run in.
#![allow(dead_code)]

use std::path::PathBuf;

/// A `/proc/self/status` figure in MB (`VmRSS:` now, `VmHWM:` the peak, `RssAnon:` the heap
/// and other private memory, `RssFile:` mapped files such as libtorch's libraries); `None`
/// where the file does not exist (not Linux).
pub fn status_mb(key: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    Some(line.split_whitespace().nth(1)?.parse::<f64>().ok()? / 1024.0)
}

/// The process's peak resident memory so far, MB.
pub fn peak_rss_mb() -> Option<f64> {
    status_mb("VmHWM:")
}

/// The venv's python with cleanlab (`MASK_CURATOR_CLEANLAB_VENV`, else the per-user cache
/// `scripts/bench-issues.sh` fills); `None` when it is not there, and the peer is skipped.
pub fn cleanlab_python() -> Option<PathBuf> {
    let venv = std::env::var_os("MASK_CURATOR_CLEANLAB_VENV")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .map(|h| PathBuf::from(h).join(".cache/mask-curator/cleanlab-venv"))
        })?;
    let py = venv.join("bin/python");
    py.exists().then_some(py)
}
