//! Cheap validity checks of photo files: the header (format, size, channels) and the end
//! marker, without decoding pixels. A full decode is available for a deep check.

use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// The two formats the dataset uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ImageFormat {
    Jpeg,
    Png,
}

/// What the header of a photo says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageInfo {
    pub format: ImageFormat,
    pub width: u32,
    pub height: u32,
    /// Colour channels as stored (1 grey, 2 grey+alpha, 3 RGB, 4 RGBA/CMYK).
    pub channels: u8,
}

/// Largest photo file read at all (256 MiB); real photos are a thousand times smaller.
pub const MAX_FILE_BYTES: u64 = 256 << 20;

/// Bytes read from the start of a file before walking JPEG markers; SOF almost always
/// sits well inside this even with EXIF blocks.
const HEAD_BYTES: usize = 64 * 1024;
/// Bytes read from the end of a file to find the end marker (JPEGs may carry padding).
const TAIL_BYTES: usize = 1024;

/// What a file that is not a regular file is, for messages ("a named pipe", ...).
pub fn special_file_kind(t: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a named pipe";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_block_device() || t.is_char_device() {
            return "a device";
        }
    }
    if t.is_dir() {
        "a folder"
    } else {
        "not a regular file"
    }
}

/// Opens `path` for reading only when it is a regular file: a named pipe would block the
/// open (and every read) forever, a device could stream without end. The type is checked
/// before opening and again on the open file, so a swap in between is caught too.
pub fn open_regular_file(path: &Path) -> std::io::Result<File> {
    let not_regular = |t: &std::fs::FileType| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{}, not a photo file (not opened)", special_file_kind(t)),
        )
    };
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(not_regular(&meta.file_type()));
    }
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Never wait in open() should the entry have become a pipe since the check.
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(not_regular(&meta.file_type()));
    }
    Ok(file)
}

/// Checks a file's header and end marker. The error is a human reason.
pub fn check_file(path: &Path) -> Result<ImageInfo, String> {
    let mut file = open_regular_file(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::InvalidInput => e.to_string(),
        _ => format!("cannot open: {e}"),
    })?;
    let len = file
        .metadata()
        .map_err(|e| format!("cannot stat: {e}"))?
        .len();
    if len == 0 {
        return Err("empty file".into());
    }
    if len > MAX_FILE_BYTES {
        return Err(format!(
            "{len} bytes, more than a photo file may have ({MAX_FILE_BYTES})"
        ));
    }
    let head_len = (len as usize).min(HEAD_BYTES);
    let mut head = vec![0u8; head_len];
    file.read_exact(&mut head)
        .map_err(|e| format!("cannot read: {e}"))?;
    let tail = if len as usize > head_len {
        let tail_len = (len as usize - head_len).min(TAIL_BYTES) as u64;
        file.seek(SeekFrom::Start(len - tail_len))
            .map_err(|e| format!("cannot read: {e}"))?;
        let mut t = Vec::with_capacity(tail_len as usize);
        (&mut file)
            .take(tail_len)
            .read_to_end(&mut t)
            .map_err(|e| format!("cannot read: {e}"))?;
        t
    } else {
        Vec::new()
    };
    match check_parts(&head, &tail, len) {
        Err(HeaderError::NeedWholeFile) => {
            let mut bytes = Vec::with_capacity(len as usize);
            file.seek(SeekFrom::Start(0))
                .and_then(|_| file.read_to_end(&mut bytes))
                .map_err(|e| format!("cannot read: {e}"))?;
            check_bytes(&bytes)
        }
        other => other.map_err(|e| e.to_string()),
    }
}

/// Checks a whole file held in memory (same rules as [`check_file`]).
pub fn check_bytes(bytes: &[u8]) -> Result<ImageInfo, String> {
    if bytes.is_empty() {
        return Err("empty file".into());
    }
    check_parts(bytes, &[], bytes.len() as u64).map_err(|e| e.to_string())
}

/// Fully decodes the file; catches damage inside the compressed data that the header
/// check cannot see.
///
/// The decode is the one every photo goes through (thumbnails, training), in its strict
/// form: any damage the decoders see is reported.
pub fn decode_file(path: &Path) -> Result<ImageInfo, String> {
    let info = check_file(path)?;
    crate::thumbs::decode::verify_file(path)
        .map_err(|e| format!("cannot decode: {}", e.reason()))?;
    Ok(info)
}

#[derive(Debug)]
enum HeaderError {
    Bad(String),
    /// The head buffer ended before the frame header; read everything and retry.
    NeedWholeFile,
}

impl std::fmt::Display for HeaderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HeaderError::Bad(s) => f.write_str(s),
            HeaderError::NeedWholeFile => f.write_str("truncated header"),
        }
    }
}

fn bad<T>(msg: impl Into<String>) -> Result<T, HeaderError> {
    Err(HeaderError::Bad(msg.into()))
}

/// `head` is the start of the file, `tail` its last bytes when not already inside `head`.
fn check_parts(head: &[u8], tail: &[u8], len: u64) -> Result<ImageInfo, HeaderError> {
    let whole = head.len() as u64 == len;
    // The size a photo declares is held to the limits every decode applies, so a file no
    // decoder will read is a problem of the scan, not a surprise in the grid.
    let sized = |info: ImageInfo, format| {
        crate::thumbs::decode::check_declared_size(info.width, info.height, len, format)
            .map(|()| info)
            .or_else(bad)
    };
    if head.starts_with(&[0xFF, 0xD8]) {
        sized(check_jpeg(head, tail, whole)?, ImageFormat::Jpeg)
    } else if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        sized(check_png(head, tail, whole)?, ImageFormat::Png)
    } else {
        let shown: Vec<String> = head.iter().take(4).map(|b| format!("{b:02x}")).collect();
        bad(format!(
            "not a JPEG or PNG file (starts with {})",
            shown.join(" ")
        ))
    }
}

fn check_jpeg(head: &[u8], tail: &[u8], whole: bool) -> Result<ImageInfo, HeaderError> {
    let mut pos = 2;
    let (width, height, channels, sof_end) = loop {
        // Markers may be preceded by any number of 0xFF fill bytes.
        while pos < head.len() && head[pos] == 0xFF && head.get(pos + 1) == Some(&0xFF) {
            pos += 1;
        }
        if pos + 4 > head.len() {
            return if whole {
                bad("truncated before the frame header")
            } else {
                Err(HeaderError::NeedWholeFile)
            };
        }
        if head[pos] != 0xFF {
            return bad(format!("broken JPEG marker structure at byte {pos}"));
        }
        let marker = head[pos + 1];
        if (0xD0..=0xD7).contains(&marker) || marker == 0x01 {
            pos += 2;
            continue;
        }
        if marker == 0xD9 || marker == 0xDA {
            return bad("no frame header before the image data");
        }
        let seg_len = u16::from_be_bytes([head[pos + 2], head[pos + 3]]) as usize;
        if seg_len < 2 {
            return bad(format!("bad JPEG segment length at byte {pos}"));
        }
        let is_sof = matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
        if is_sof {
            if pos + 4 + 6 > head.len() {
                return if whole {
                    bad("truncated frame header")
                } else {
                    Err(HeaderError::NeedWholeFile)
                };
            }
            let s = &head[pos + 4..];
            let height = u16::from_be_bytes([s[1], s[2]]) as u32;
            let width = u16::from_be_bytes([s[3], s[4]]) as u32;
            break (width, height, s[5], pos + 2 + seg_len);
        }
        pos += 2 + seg_len;
    };
    if width == 0 || height == 0 {
        return bad(format!("invalid size {width}x{height}"));
    }
    if !matches!(channels, 1 | 3 | 4) {
        return bad(format!("unsupported JPEG with {channels} components"));
    }
    // Entropy-coded data never contains FF D9 (FF is always stuffed), so an end marker in
    // the last bytes means the file was written completely.
    let tail_region: &[u8] = if tail.is_empty() {
        let from = head
            .len()
            .saturating_sub(TAIL_BYTES)
            .max(sof_end.min(head.len()));
        &head[from..]
    } else {
        tail
    };
    if !tail_region.windows(2).any(|w| w == [0xFF, 0xD9]) {
        return bad("truncated JPEG (no end-of-image marker)");
    }
    Ok(ImageInfo {
        format: ImageFormat::Jpeg,
        width,
        height,
        channels,
    })
}

fn check_png(head: &[u8], tail: &[u8], whole: bool) -> Result<ImageInfo, HeaderError> {
    if head.len() < 33 {
        return if whole {
            bad("truncated PNG header")
        } else {
            Err(HeaderError::NeedWholeFile)
        };
    }
    let ihdr = &head[8..33];
    if &ihdr[4..8] != b"IHDR" || u32::from_be_bytes([ihdr[0], ihdr[1], ihdr[2], ihdr[3]]) != 13 {
        return bad("PNG does not start with an IHDR chunk");
    }
    let crc = u32::from_be_bytes([ihdr[21], ihdr[22], ihdr[23], ihdr[24]]);
    if crc32(&ihdr[4..21]) != crc {
        return bad("PNG header checksum mismatch");
    }
    let width = u32::from_be_bytes([ihdr[8], ihdr[9], ihdr[10], ihdr[11]]);
    let height = u32::from_be_bytes([ihdr[12], ihdr[13], ihdr[14], ihdr[15]]);
    let channels = match ihdr[17] {
        0 => 1,
        2 | 3 => 3,
        4 => 2,
        6 => 4,
        t => return bad(format!("invalid PNG colour type {t}")),
    };
    if width == 0 || height == 0 {
        return bad(format!("invalid size {width}x{height}"));
    }
    let end: &[u8] = if tail.is_empty() {
        &head[head.len().saturating_sub(64)..]
    } else {
        tail
    };
    let iend_chunk = [0, 0, 0, 0, b'I', b'E', b'N', b'D', 0xAE, 0x42, 0x60, 0x82];
    if !end.windows(iend_chunk.len()).any(|w| w == iend_chunk) {
        return bad("truncated PNG (no IEND chunk)");
    }
    Ok(ImageInfo {
        format: ImageFormat::Png,
        width,
        height,
        channels,
    })
}

/// CRC-32 (IEEE), as PNG chunks use.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageEncoder, RgbImage, RgbaImage};

    fn jpeg(w: u32, h: u32) -> Vec<u8> {
        let img = RgbImage::from_fn(w, h, |x, y| image::Rgb([x as u8, y as u8, 7]));
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80)
            .write_image(img.as_raw(), w, h, image::ExtendedColorType::Rgb8)
            .unwrap();
        out
    }

    fn png_rgba(w: u32, h: u32) -> Vec<u8> {
        let img = RgbaImage::from_fn(w, h, |x, _| image::Rgba([x as u8, 1, 2, 255]));
        let mut out = Vec::new();
        image::codecs::png::PngEncoder::new(&mut out)
            .write_image(img.as_raw(), w, h, image::ExtendedColorType::Rgba8)
            .unwrap();
        out
    }

    #[test]
    fn reads_jpeg_and_png_headers() {
        let j = check_bytes(&jpeg(24, 32)).unwrap();
        assert_eq!(
            (j.format, j.width, j.height, j.channels),
            (ImageFormat::Jpeg, 24, 32, 3)
        );
        let p = check_bytes(&png_rgba(5, 9)).unwrap();
        assert_eq!(
            (p.format, p.width, p.height, p.channels),
            (ImageFormat::Png, 5, 9, 4)
        );
    }

    #[test]
    fn truncated_and_garbage_files_are_rejected() {
        let j = jpeg(64, 64);
        let err = check_bytes(&j[..j.len() - 20]).unwrap_err();
        assert!(err.contains("truncated JPEG"), "{err}");
        let p = png_rgba(16, 16);
        assert!(check_bytes(&p[..p.len() - 5]).unwrap_err().contains("IEND"));
        assert!(check_bytes(b"hello world, not an image")
            .unwrap_err()
            .contains("not a JPEG or PNG"));
        assert!(check_bytes(&j[..10]).is_err());
        assert_eq!(check_bytes(&[]).unwrap_err(), "empty file");
        let mut bad_crc = p.clone();
        bad_crc[20] ^= 0xFF;
        assert!(check_bytes(&bad_crc).unwrap_err().contains("checksum"));
    }

    #[test]
    fn file_check_uses_head_and_tail() {
        let dir = tempfile::tempdir().unwrap();
        // Big enough that head and tail are read separately.
        let big = RgbImage::from_fn(600, 600, |x, y| {
            image::Rgb([(x * y) as u8, (x ^ y) as u8, y as u8])
        });
        let mut bytes = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 95)
            .write_image(big.as_raw(), 600, 600, image::ExtendedColorType::Rgb8)
            .unwrap();
        assert!(bytes.len() > HEAD_BYTES + TAIL_BYTES);
        let ok = dir.path().join("ok.jpg");
        std::fs::write(&ok, &bytes).unwrap();
        assert_eq!(check_file(&ok).unwrap().width, 600);
        let cut = dir.path().join("cut.jpg");
        std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
        assert!(check_file(&cut).unwrap_err().contains("truncated"));
        assert!(decode_file(&ok).is_ok());
    }

    #[test]
    fn crc_matches_known_value() {
        assert_eq!(crc32(b"IEND"), 0xAE42_6082);
    }
}
