//! The persistent thumbnail cache: one small file per photo under
//! `<root>/.mask-curator/thumbs/<2 hex>/<16 hex>.thumb`.
//!
//! The file name is a stable hash of the source path and the thumbnail box; the header
//! repeats the full path, the source file's size and mtime and the box, so a changed or
//! replaced photo (or a hash collision) is a miss and gets decoded again. The pixels are
//! stored as a small JPEG (about 3 KB for 96x128, so 31,500 photos take ~90 MB instead of
//! 1.5 GB raw), or raw RGBA when the thumbnail has transparency.
//!
//! Entries are written to a temp file and renamed into place, so a reader never sees a
//! half-written entry. They are not fsynced: the cache is disposable, and any entry that
//! fails validation on read is simply decoded again. A checksum over the header and the
//! pixels catches entries damaged on disk (or written by someone else), which would
//! otherwise come back as thumbnails with broken pixels.

use super::{decode, Thumb};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

/// Version 2 added the checksum; older entries are misses and get rewritten.
const MAGIC: &[u8; 4] = b"MCT2";
const KIND_JPEG_RGB: u8 = 0;
const KIND_RAW_RGBA: u8 = 1;
const JPEG_QUALITY: u8 = 90;
/// Largest entry read back (a raw 1024 x 1024 RGBA thumbnail is 4 MiB).
const MAX_ENTRY_BYTES: u64 = 16 << 20;

/// What identifies one version of a source file: its size and modification time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceStamp {
    pub len: u64,
    /// Nanoseconds since the Unix epoch (negative before it).
    pub mtime_ns: i128,
}

impl SourceStamp {
    pub fn of(meta: &std::fs::Metadata) -> Self {
        let mtime_ns = match meta.modified() {
            Ok(t) => match t.duration_since(UNIX_EPOCH) {
                Ok(d) => d.as_nanos() as i128,
                Err(before) => -(before.duration().as_nanos() as i128),
            },
            // Platforms without mtime: size alone must do.
            Err(_) => 0,
        };
        SourceStamp {
            len: meta.len(),
            mtime_ns,
        }
    }
}

/// A thumbnail cache rooted at one folder, for one thumbnail box.
#[derive(Debug, Clone)]
pub struct DiskCache {
    dir: PathBuf,
    max_w: u32,
    max_h: u32,
}

impl DiskCache {
    pub fn new(dir: impl Into<PathBuf>, max_w: u32, max_h: u32) -> Self {
        DiskCache {
            dir: dir.into(),
            max_w,
            max_h,
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the entry for `source` lives.
    pub fn entry_path(&self, source: &Path) -> PathBuf {
        let mut h = Fnv64::new();
        h.write(source.as_os_str().as_encoded_bytes());
        h.write(&self.max_w.to_le_bytes());
        h.write(&self.max_h.to_le_bytes());
        let hex = format!("{:016x}", h.0);
        self.dir.join(&hex[..2]).join(format!("{hex}.thumb"))
    }

    /// The cached thumbnail of `source` if it was made from this exact version of the file.
    /// Any unreadable, foreign or stale entry is a miss.
    pub fn load(&self, source: &Path, stamp: SourceStamp) -> Option<Thumb> {
        use std::io::Read;
        // Only a regular file of a sane size: the cache folder is as open to strange
        // files as the dataset is.
        let file = crate::dataset::image_check::open_regular_file(&self.entry_path(source)).ok()?;
        let mut bytes = Vec::new();
        file.take(MAX_ENTRY_BYTES).read_to_end(&mut bytes).ok()?;
        self.parse_entry(source, stamp, &bytes)
    }

    /// [`DiskCache::load`] on entry bytes already read.
    pub fn parse_entry(&self, source: &Path, stamp: SourceStamp, bytes: &[u8]) -> Option<Thumb> {
        // The checksum covers everything before it: a damaged entry is a miss.
        let (body, sum) = bytes.split_at_checked(bytes.len().checked_sub(8)?)?;
        if fnv64(body).to_le_bytes() != sum {
            return None;
        }
        let mut r = Reader(body);
        if r.take(4)? != MAGIC {
            return None;
        }
        let len = u64::from_le_bytes(r.take(8)?.try_into().ok()?);
        let mtime_ns = i128::from_le_bytes(r.take(16)?.try_into().ok()?);
        let max_w = r.u32()?;
        let max_h = r.u32()?;
        if len != stamp.len
            || mtime_ns != stamp.mtime_ns
            || max_w != self.max_w
            || max_h != self.max_h
        {
            return None;
        }
        let path_len = r.u32()? as usize;
        if r.take(path_len)? != source.as_os_str().as_encoded_bytes() {
            return None;
        }
        let width = r.u32()?;
        let height = r.u32()?;
        let kind = r.take(1)?[0];
        let payload_len = r.u32()? as usize;
        let payload = r.take(payload_len)?;
        if !r.0.is_empty() || width == 0 || height == 0 || width > max_w || height > max_h {
            return None;
        }
        let count = width as usize * height as usize;
        let rgba = match kind {
            KIND_RAW_RGBA if payload.len() == count * 4 => payload.to_vec(),
            KIND_JPEG_RGB => {
                // Through the photo decoding path: size limits and panics caught, as for
                // any file on disk.
                let img = decode::decode_photo(
                    source,
                    payload,
                    &|w, h| (w, h),
                    decode::Strictness::Strict,
                )
                .ok()?;
                if (img.width, img.height) != (width, height) {
                    return None;
                }
                img.rgba
            }
            _ => return None,
        };
        Some(Thumb {
            width,
            height,
            rgba,
        })
    }

    /// Stores `thumb` for this version of `source`, atomically replacing any old entry.
    pub fn store(&self, source: &Path, stamp: SourceStamp, thumb: &Thumb) -> std::io::Result<()> {
        let opaque = thumb.rgba.chunks_exact(4).all(|p| p[3] == 255);
        let (kind, payload) = if opaque {
            let rgb: Vec<u8> = thumb
                .rgba
                .chunks_exact(4)
                .flat_map(|p| [p[0], p[1], p[2]])
                .collect();
            let mut jpeg = Vec::with_capacity(8 * 1024);
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, JPEG_QUALITY)
                .encode(
                    &rgb,
                    thumb.width,
                    thumb.height,
                    image::ExtendedColorType::Rgb8,
                )
                .map_err(std::io::Error::other)?;
            (KIND_JPEG_RGB, jpeg)
        } else {
            (KIND_RAW_RGBA, thumb.rgba.clone())
        };
        let path_bytes = source.as_os_str().as_encoded_bytes();
        let mut out = Vec::with_capacity(64 + path_bytes.len() + payload.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&stamp.len.to_le_bytes());
        out.extend_from_slice(&stamp.mtime_ns.to_le_bytes());
        out.extend_from_slice(&self.max_w.to_le_bytes());
        out.extend_from_slice(&self.max_h.to_le_bytes());
        out.extend_from_slice(&(path_bytes.len() as u32).to_le_bytes());
        out.extend_from_slice(path_bytes);
        out.extend_from_slice(&thumb.width.to_le_bytes());
        out.extend_from_slice(&thumb.height.to_le_bytes());
        out.push(kind);
        out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        out.extend_from_slice(&payload);
        let sum = fnv64(&out);
        out.extend_from_slice(&sum.to_le_bytes());

        let entry = self.entry_path(source);
        let folder = entry.parent().unwrap_or(&self.dir);
        std::fs::create_dir_all(folder)?;
        let mut tmp = tempfile::NamedTempFile::new_in(folder)?;
        tmp.write_all(&out)?;
        tmp.persist(&entry).map_err(|e| e.error)?;
        Ok(())
    }
}

/// A thumbnail and how it was obtained.
#[derive(Debug)]
pub struct Loaded {
    pub thumb: Thumb,
    pub from_cache: bool,
    /// Why the fresh thumbnail could not be cached (it is still returned).
    pub store_error: Option<std::io::Error>,
}

/// Thumbnail of `source` from the cache when fresh, else decoded (and stored).
pub fn load_or_decode(
    source: &Path,
    max_w: u32,
    max_h: u32,
    cache: Option<&DiskCache>,
) -> Result<Loaded, super::ThumbError> {
    let (thumb, to_store) = lookup_or_decode(source, max_w, max_h, cache)?;
    // A cache that cannot be written only costs speed next time.
    let store_error = match (cache, to_store) {
        (Some(cache), Some(stamp)) => cache.store(source, stamp, &thumb).err(),
        _ => None,
    };
    Ok(Loaded {
        thumb,
        from_cache: to_store.is_none() && cache.is_some(),
        store_error,
    })
}

/// The thumbnail from the cache when fresh, else decoded. A freshly decoded one comes with
/// the stamp to [`DiskCache::store`] it under, so the caller can hand the pixels out first
/// and write the cache afterwards.
pub fn lookup_or_decode(
    source: &Path,
    max_w: u32,
    max_h: u32,
    cache: Option<&DiskCache>,
) -> Result<(Thumb, Option<SourceStamp>), super::ThumbError> {
    let meta = std::fs::metadata(source).map_err(|e| super::ThumbError::io(source, &e))?;
    if !meta.is_file() {
        let what = crate::dataset::image_check::special_file_kind(&meta.file_type());
        return Err(super::ThumbError::unsupported(
            source,
            format!("{what}, not a photo file (not opened)"),
        ));
    }
    let stamp = SourceStamp::of(&meta);
    if let Some(cache) = cache {
        if let Some(thumb) = cache.load(source, stamp) {
            return Ok((thumb, None));
        }
    }
    Ok((decode::decode_file(source, max_w, max_h)?, Some(stamp)))
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
}

fn fnv64(bytes: &[u8]) -> u64 {
    let mut h = Fnv64::new();
    h.write(bytes);
    h.0
}

/// FNV-1a: a hash whose value never changes between builds, so entry names stay valid.
struct Fnv64(u64);

impl Fnv64 {
    fn new() -> Self {
        Fnv64(0xcbf2_9ce4_8422_2325)
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}
