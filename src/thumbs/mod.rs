//! The bounded thumbnail pipeline behind the people grid. Pure: no GUI.
//!
//! ```text
//! request(path) ──► pending (LIFO, capped) ──► N workers ──► ready ──► poll_ready(max)
//!                      ▲ retain(keep)              │ disk cache hit? else scaled decode + store
//!                      └── drops what scrolled away └─► on_ready callback (wake the UI)
//! ```
//!
//! # Use
//! ```no_run
//! use mask_curator::thumbs::{ThumbConfig, Thumbnailer};
//! # let root = std::path::Path::new(".");
//! let ws = mask_curator::workspace::Workspace::for_dataset(root);
//! let thumbs = Thumbnailer::new(ThumbConfig::for_workspace(&ws));
//! thumbs.set_on_ready(Box::new(|| { /* ctx.request_repaint() */ }));
//! // Every frame:
//! //   for each visible photo without a texture: thumbs.request(&path);
//! //   thumbs.retain(|p| visible.contains(p));       // drop what scrolled out of view
//! for (path, result) in thumbs.poll_ready(8) {
//!     match result {
//!         Ok(thumb) => { /* upload thumb.rgba (thumb.width x thumb.height) */ }
//!         Err(e) => { /* placeholder showing e.reason() */ }
//!     }
//! }
//! ```
//!
//! * [`Thumbnailer::request`] is idempotent and cheap: a path already pending, being
//!   decoded, or ready-but-unpolled is not queued again, so the grid may simply request
//!   every visible cell each frame.
//! * Workers take the **newest** pending request first: the rows that just came into view.
//! * The pending queue holds at most [`ThumbConfig::queue_cap`] paths; beyond that the
//!   oldest requests are dropped (they belong to rows long scrolled past).
//! * [`Thumbnailer::retain`] drops pending requests the caller no longer wants and returns
//!   their paths.
//! * Results come back as `Result<Thumb, ThumbError>`; a missing or corrupt photo is an
//!   error with a reason, never a panic.
//! * With [`ThumbConfig::disk_cache`] set, thumbnails persist under
//!   `<root>/.mask-curator/thumbs/` keyed by path + size + mtime (see [`cache`]).
//!
//! The egui side (textures, per-frame upload budget, LRU under a memory budget) lives in
//! `ui::thumb_textures`. Design and measured figures: docs/thumbnails.md.

pub mod cache;
pub mod decode;
mod pool;
pub mod reduced_jpeg;

pub use cache::{load_or_decode, lookup_or_decode, DiskCache, Loaded, SourceStamp};
pub use pool::{ThumbStats, Thumbnailer};

use std::path::{Path, PathBuf};

/// A decoded thumbnail: straight (unpremultiplied) RGBA, row-major, `width * height * 4` bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thumb {
    pub width: u32,
    pub height: u32,
    pub rgba: Vec<u8>,
}

impl Thumb {
    pub fn byte_size(&self) -> usize {
        self.rgba.len()
    }
}

/// Why a thumbnail could not be made. `Display` names the file and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ThumbError {
    #[error("{}: cannot read: {reason}", path.display())]
    Io { path: PathBuf, reason: String },
    #[error("{}: {reason}", path.display())]
    Corrupt { path: PathBuf, reason: String },
    #[error("{}: {reason}", path.display())]
    Unsupported { path: PathBuf, reason: String },
}

impl ThumbError {
    pub(crate) fn io(path: &Path, e: &std::io::Error) -> Self {
        let reason = match e.kind() {
            std::io::ErrorKind::NotFound => "file not found".to_string(),
            _ => e.to_string(),
        };
        ThumbError::Io {
            path: path.to_path_buf(),
            reason,
        }
    }
    pub(crate) fn corrupt(path: &Path, reason: impl Into<String>) -> Self {
        ThumbError::Corrupt {
            path: path.to_path_buf(),
            reason: reason.into(),
        }
    }
    pub(crate) fn unsupported(path: &Path, reason: impl Into<String>) -> Self {
        ThumbError::Unsupported {
            path: path.to_path_buf(),
            reason: reason.into(),
        }
    }
    /// The reason alone (for a placeholder that already shows which photo it is).
    pub fn reason(&self) -> &str {
        match self {
            ThumbError::Io { reason, .. }
            | ThumbError::Corrupt { reason, .. }
            | ThumbError::Unsupported { reason, .. } => reason,
        }
    }
    /// What a photo tile shows in place of the picture: `cannot decode: <reason>` (or
    /// `cannot read: <reason>` when the file could not even be read).
    pub fn tile_text(&self) -> String {
        match self {
            ThumbError::Io { reason, .. } => format!("cannot read: {reason}"),
            ThumbError::Corrupt { reason, .. } | ThumbError::Unsupported { reason, .. } => {
                format!("cannot decode: {reason}")
            }
        }
    }
    pub fn path(&self) -> &Path {
        match self {
            ThumbError::Io { path, .. }
            | ThumbError::Corrupt { path, .. }
            | ThumbError::Unsupported { path, .. } => path,
        }
    }
}

/// How the pipeline runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThumbConfig {
    /// Decoding threads (at least 1).
    pub workers: usize,
    /// The thumbnail box: results fit inside it, aspect kept, never upscaled.
    pub max_w: u32,
    pub max_h: u32,
    /// Folder of the persistent cache; `None` decodes every time.
    pub disk_cache: Option<PathBuf>,
    /// Most pending requests kept; older ones are dropped first.
    pub queue_cap: usize,
}

impl Default for ThumbConfig {
    fn default() -> Self {
        ThumbConfig {
            workers: 2,
            max_w: 96,
            max_h: 128,
            disk_cache: None,
            queue_cap: 512,
        }
    }
}

impl ThumbConfig {
    /// Defaults with the cache in the workspace (`<root>/.mask-curator/thumbs/`).
    pub fn for_workspace(ws: &crate::workspace::Workspace) -> Self {
        ThumbConfig {
            disk_cache: Some(ws.thumbs_dir()),
            ..Default::default()
        }
    }
}
