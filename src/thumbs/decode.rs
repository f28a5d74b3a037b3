//! The one decoding path for every photo: thumbnails, `scan --deep`, the photo checks and
//! the training loader all come through [`decode_photo`], so they accept and refuse the
//! same files.
//!
//! JPEGs are decoded reduced (1/2, 1/4 or 1/8 of full size straight out of the decoder),
//! so a 384x512 photo shrinks to 96x128 without ever building the full-size pixels:
//! baseline JPEGs by our own [`reduced_jpeg`] decoder, other JPEGs by `jpeg-decoder`'s DCT
//! scaling. Anything else goes through the `image` crate.
//!
//! Hostile files are bounded before any pixel is allocated: every decoder, the fallbacks
//! included, first reads the declared size and refuses more than [`MAX_PIXELS`] pixels, a
//! side over [`MAX_SOURCE_SIDE`], or more pixels than the file's bytes could encode; the
//! `image` crate also runs under an allocation limit of [`MAX_DECODE_BYTES`]. A decoder
//! that panics (a bug in a dependency) is an error for that photo, never a crash.

use super::reduced_jpeg::{self, Reduced};
use super::{Thumb, ThumbError};
use crate::dataset::{image_check, ImageFormat};
use std::io::Read;
use std::path::Path;

/// Largest side accepted before decoding; larger images are refused with a reason rather
/// than allocating gigabytes for a thumbnail.
pub const MAX_SOURCE_SIDE: u32 = 16_384;

/// Most pixels a photo may declare (16 Mi, e.g. 4096 x 4096; the dataset's photos have
/// 0.2 M). Together with the decoders' own buffers this keeps one decode under
/// [`MAX_DECODE_BYTES`].
pub const MAX_PIXELS: u64 = 1 << 24;

/// Memory one decode may allocate (256 MiB).
pub const MAX_DECODE_BYTES: u64 = 256 << 20;

/// A JPEG spends at least one bit on every 8 x 8 block of its first component, so a file
/// of n bytes holds at most 512 n pixels; PNG's deflate packs at most 1032 bytes into one,
/// and a pixel takes at least 1/8 byte.
const JPEG_PIXELS_PER_BYTE: u64 = 512;
const PNG_PIXELS_PER_BYTE: u64 = 1032 * 8;

/// How a damaged file is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strictness {
    /// Show what can be recovered: a baseline JPEG whose data is damaged is handed to the
    /// general decoder, which fills what is missing (thumbnails, training).
    Lenient,
    /// Any damage the decoders can see is an error (`scan --deep`).
    Strict,
}

/// A decoded photo: straight RGBA at a size that covers what the caller asked for (or
/// the full size when that is smaller).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    pub source_width: u32,
    pub source_height: u32,
    pub width: u32,
    pub height: u32,
    pub rgba: Vec<u8>,
}

/// The size a `src_w` x `src_h` image takes when fitted inside `max_w` x `max_h`,
/// keeping its aspect ratio. Never upscales, never returns a zero side.
pub fn fit_within(src_w: u32, src_h: u32, max_w: u32, max_h: u32) -> (u32, u32) {
    let (max_w, max_h) = (max_w.max(1), max_h.max(1));
    if src_w <= max_w && src_h <= max_h {
        return (src_w.max(1), src_h.max(1));
    }
    // Compare src_w/max_w with src_h/max_h without floats.
    if u64::from(src_w) * u64::from(max_h) >= u64::from(src_h) * u64::from(max_w) {
        let h = (u64::from(src_h) * u64::from(max_w) + u64::from(src_w) / 2) / u64::from(src_w);
        (max_w, (h as u32).clamp(1, max_h))
    } else {
        let w = (u64::from(src_w) * u64::from(max_h) + u64::from(src_h) / 2) / u64::from(src_h);
        ((w as u32).clamp(1, max_w), max_h)
    }
}

/// Reads a photo file: only a regular file (a named pipe would block forever, a device
/// could stream without end), and only up to [`image_check::MAX_FILE_BYTES`].
pub fn read_photo(path: &Path) -> Result<Vec<u8>, ThumbError> {
    let file = image_check::open_regular_file(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::InvalidInput => ThumbError::unsupported(path, e.to_string()),
        _ => ThumbError::io(path, &e),
    })?;
    let len = file.metadata().map_err(|e| ThumbError::io(path, &e))?.len();
    if len > image_check::MAX_FILE_BYTES {
        return Err(ThumbError::unsupported(
            path,
            format!("{len} bytes, more than a photo file may have"),
        ));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(image_check::MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| ThumbError::io(path, &e))?;
    Ok(bytes)
}

/// Decodes `bytes` (the contents of `path`, which only names the file in errors) at the
/// smallest size that still covers `wanted(source width, source height)`.
pub fn decode_photo(
    path: &Path,
    bytes: &[u8],
    wanted: &dyn Fn(u32, u32) -> (u32, u32),
    strictness: Strictness,
) -> Result<Decoded, ThumbError> {
    // The decoders are third-party code run on untrusted bytes: a panic in one must cost
    // this photo, not the thread (or the app).
    let result = quiet_panics(|| {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            decode_unguarded(path, bytes, wanted, strictness)
        }))
    });
    match result {
        Ok(result) => result,
        Err(panic) => Err(ThumbError::corrupt(
            path,
            format!(
                "the decoder failed on this file ({})",
                panic_message(&*panic)
            ),
        )),
    }
}

thread_local! {
    static DECODING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` with the panic hook silent on this thread: a decoder panic that the decode
/// boundary turns into an error for one photo is reported as that error, not also as a
/// "thread panicked" message and backtrace on the terminal (printing a backtrace can take
/// longer than the decode itself). Panics elsewhere, and on other threads, print as usual.
fn quiet_panics<T>(f: impl FnOnce() -> T) -> T {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !DECODING.with(|d| d.get()) {
                previous(info);
            }
        }));
    });
    let was = DECODING.with(|d| d.replace(true));
    let out = f();
    DECODING.with(|d| d.set(was));
    out
}

/// The text of a caught panic.
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".to_string())
}

/// Reads and decodes `path` into a thumbnail no larger than `max_w` x `max_h`.
pub fn decode_file(path: &Path, max_w: u32, max_h: u32) -> Result<Thumb, ThumbError> {
    let bytes = read_photo(path)?;
    decode_bytes(path, &bytes, max_w, max_h)
}

/// Decodes in-memory file contents into a thumbnail; `path` only names the file in errors.
pub fn decode_bytes(
    path: &Path,
    bytes: &[u8],
    max_w: u32,
    max_h: u32,
) -> Result<Thumb, ThumbError> {
    decode_fitted(path, bytes, max_w, max_h).map(|(_, thumb)| thumb)
}

/// [`decode_bytes`] that also says the photo's own size (width, height) before fitting.
pub fn decode_fitted(
    path: &Path,
    bytes: &[u8],
    max_w: u32,
    max_h: u32,
) -> Result<((u32, u32), Thumb), ThumbError> {
    let fit = |w, h| fit_within(w, h, max_w, max_h);
    let image = decode_photo(path, bytes, &fit, Strictness::Lenient)?;
    let (fit_w, fit_h) = fit(image.source_width, image.source_height);
    // A decode at full size may be smaller than the box only when the source is.
    let (fit_w, fit_h) = (fit_w.min(image.width), fit_h.min(image.height));
    let thumb = box_resize(&image.rgba, image.width, image.height, fit_w, fit_h);
    Ok(((image.source_width, image.source_height), thumb))
}

/// Decodes every pixel of `path` as strictly as the decoders allow (`scan --deep`): at
/// the smallest scale, which still reads all of the compressed data.
pub fn verify_file(path: &Path) -> Result<(), ThumbError> {
    let bytes = read_photo(path)?;
    decode_photo(path, &bytes, &|_, _| (1, 1), Strictness::Strict).map(|_| ())
}

fn decode_unguarded(
    path: &Path,
    bytes: &[u8],
    wanted: &dyn Fn(u32, u32) -> (u32, u32),
    strictness: Strictness,
) -> Result<Decoded, ThumbError> {
    if bytes.is_empty() {
        return Err(ThumbError::corrupt(path, "empty file"));
    }
    if bytes.starts_with(&[0xFF, 0xD8]) {
        decode_jpeg(path, bytes, wanted, strictness)
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        decode_generic(bytes, ImageFormat::Png).map_err(|reason| ThumbError::corrupt(path, reason))
    } else {
        let head: Vec<String> = bytes.iter().take(4).map(|b| format!("{b:02x}")).collect();
        Err(ThumbError::unsupported(
            path,
            format!("not a JPEG or PNG image (starts with {})", head.join(" ")),
        ))
    }
}

/// Refuses a declared size before anything is allocated for it: zero, a side over
/// [`MAX_SOURCE_SIDE`], more than [`MAX_PIXELS`], or more pixels than `file_len` bytes of
/// that format can encode. Shared with the scan's header check.
pub fn check_declared_size(
    w: u32,
    h: u32,
    file_len: u64,
    format: crate::dataset::ImageFormat,
) -> Result<(), String> {
    let (name, pixels_per_byte) = match format {
        crate::dataset::ImageFormat::Jpeg => ("JPEG", JPEG_PIXELS_PER_BYTE),
        crate::dataset::ImageFormat::Png => ("PNG", PNG_PIXELS_PER_BYTE),
    };
    if w == 0 || h == 0 {
        return Err(format!("image has zero size ({w}x{h})"));
    }
    if w > MAX_SOURCE_SIDE || h > MAX_SOURCE_SIDE {
        return Err(format!(
            "image too large ({w}x{h}, over {MAX_SOURCE_SIDE} px a side)"
        ));
    }
    let pixels = u64::from(w) * u64::from(h);
    if pixels > MAX_PIXELS {
        return Err(format!(
            "image too large ({w}x{h}, more than {} megapixels)",
            MAX_PIXELS >> 20
        ));
    }
    if pixels > file_len.saturating_mul(pixels_per_byte) {
        return Err(format!(
            "corrupt {name}: the header declares {w}x{h}, more than the file's {file_len} bytes can hold"
        ));
    }
    Ok(())
}

fn decode_jpeg(
    path: &Path,
    bytes: &[u8],
    wanted: &dyn Fn(u32, u32) -> (u32, u32),
    strictness: Strictness,
) -> Result<Decoded, ThumbError> {
    // Most photos are baseline JPEGs: our reducing decoder does those about twice as fast.
    let refused = match reduced_jpeg::decode(bytes, wanted, MAX_SOURCE_SIDE) {
        Reduced::Decoded(image) => {
            // Clean data ends within a byte of the last block; a strict check treats a
            // longer tail as bytes inserted or damaged inside the photo.
            if strictness == Strictness::Strict && image.unused_bytes > STRICT_UNUSED_BYTES {
                return Err(ThumbError::corrupt(
                    path,
                    format!(
                        "corrupt JPEG: {} bytes of image data left over after the last block",
                        image.unused_bytes
                    ),
                ));
            }
            return Ok(Decoded {
                source_width: image.source_width,
                source_height: image.source_height,
                width: image.width,
                height: image.height,
                rgba: image.rgba,
            });
        }
        Reduced::Damaged(why) if strictness == Strictness::Strict => {
            return Err(ThumbError::corrupt(path, format!("corrupt JPEG: {why}")));
        }
        Reduced::Damaged(why) | Reduced::Unsupported(why) => why,
    };
    // Progressive, CMYK, 12-bit... are read by jpeg-decoder, and when it cannot, by the
    // `image` crate; both under the same limits. Keep the first specific reason.
    match decode_jpeg_general(bytes, wanted) {
        Ok(image) => Ok(image),
        Err(GeneralError::Refused(reason)) => Err(ThumbError::corrupt(path, reason)),
        Err(GeneralError::Failed(reason)) => {
            decode_generic(bytes, ImageFormat::Jpeg).map_err(|_| {
                let reason = if refused == "progressive, lossless or arithmetic JPEG" {
                    reason
                } else {
                    format!("{reason} ({refused})")
                };
                ThumbError::corrupt(path, format!("corrupt JPEG: {reason}"))
            })
        }
    }
}

/// Image-data bytes a strict check lets pass after the last block (fill bytes some
/// encoders leave before the end marker).
const STRICT_UNUSED_BYTES: usize = 16;

enum GeneralError {
    /// The file was refused on its declared size: no other decoder may try.
    Refused(String),
    /// The decoder failed: another may try.
    Failed(String),
}

/// Any JPEG `jpeg-decoder` reads (progressive, CMYK, ...), with its DCT scaling.
fn decode_jpeg_general(
    bytes: &[u8],
    wanted: &dyn Fn(u32, u32) -> (u32, u32),
) -> Result<Decoded, GeneralError> {
    use jpeg_decoder::{Decoder, PixelFormat};
    let failed = |e: jpeg_decoder::Error| GeneralError::Failed(e.to_string());
    let mut decoder = Decoder::new(bytes);
    decoder.read_info().map_err(failed)?;
    let info = decoder
        .info()
        .ok_or_else(|| GeneralError::Failed("no frame header".into()))?;
    let (src_w, src_h) = (u32::from(info.width), u32::from(info.height));
    check_declared_size(src_w, src_h, bytes.len() as u64, ImageFormat::Jpeg)
        .map_err(GeneralError::Refused)?;
    decoder.set_max_decoding_buffer_size(MAX_DECODE_BYTES as usize);
    let (want_w, want_h) = wanted(src_w, src_h);
    // The decoder picks the smallest DCT scale whose output still covers the request.
    let (out_w, out_h) = decoder
        .scale(clamp_u16(want_w.min(src_w)), clamp_u16(want_h.min(src_h)))
        .map_err(failed)?;
    let pixels = decoder.decode().map_err(failed)?;
    let (out_w, out_h) = (u32::from(out_w), u32::from(out_h));
    let count = out_w as usize * out_h as usize;
    let format = decoder
        .info()
        .map(|i| i.pixel_format)
        .ok_or_else(|| GeneralError::Failed("no frame header".into()))?;
    let needed = count * format.pixel_bytes();
    if pixels.len() < needed {
        return Err(GeneralError::Failed(format!(
            "decoder returned {} bytes, expected {needed}",
            pixels.len()
        )));
    }
    let mut rgba = Vec::with_capacity(count * 4);
    match format {
        PixelFormat::RGB24 => {
            for p in pixels[..needed].chunks_exact(3) {
                rgba.extend_from_slice(&[p[0], p[1], p[2], 255]);
            }
        }
        PixelFormat::L8 => {
            for &l in &pixels[..needed] {
                rgba.extend_from_slice(&[l, l, l, 255]);
            }
        }
        PixelFormat::L16 => {
            for p in pixels[..needed].chunks_exact(2) {
                let l = (u16::from_ne_bytes([p[0], p[1]]) >> 8) as u8;
                rgba.extend_from_slice(&[l, l, l, 255]);
            }
        }
        PixelFormat::CMYK32 => {
            // The decoder hands back real ink amounts (it undoes Adobe's inversion) for
            // CMYK, but inverted C'M'Y' with real K for YCCK.
            let ycck = adobe_transform(bytes) == Some(2);
            for p in pixels[..needed].chunks_exact(4) {
                let light_k = 255 - u16::from(p[3]);
                let ch = |c: u8| {
                    let light = if ycck {
                        u16::from(c)
                    } else {
                        255 - u16::from(c)
                    };
                    ((light * light_k + 127) / 255) as u8
                };
                rgba.extend_from_slice(&[ch(p[0]), ch(p[1]), ch(p[2]), 255]);
            }
        }
    }
    Ok(Decoded {
        source_width: src_w,
        source_height: src_h,
        width: out_w,
        height: out_h,
        rgba,
    })
}

/// The colour transform flag of the Adobe APP14 segment (0 CMYK/RGB, 1 YCbCr, 2 YCCK),
/// looked up in the markers before the first scan.
fn adobe_transform(bytes: &[u8]) -> Option<u8> {
    let mut i = 2;
    while i + 4 <= bytes.len() {
        if bytes[i] != 0xFF {
            return None;
        }
        let marker = bytes[i + 1];
        if marker == 0xFF {
            i += 1;
            continue;
        }
        if marker == 0xDA {
            return None;
        }
        let len = usize::from(u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]));
        let body = bytes.get(i + 4..i + 2 + len)?;
        if marker == 0xEE && body.len() >= 12 && body.starts_with(b"Adobe") {
            return Some(body[11]);
        }
        i += 2 + len;
    }
    None
}

/// A PNG, or a JPEG neither JPEG decoder read, through the `image` crate: dimensions
/// first, then the decode under an allocation limit.
fn decode_generic(bytes: &[u8], format: ImageFormat) -> Result<Decoded, String> {
    let image_format = match format {
        ImageFormat::Jpeg => image::ImageFormat::Jpeg,
        ImageFormat::Png => image::ImageFormat::Png,
    };
    let reader = |limits: image::Limits| {
        let mut r = image::ImageReader::with_format(std::io::Cursor::new(bytes), image_format);
        r.limits(limits);
        r
    };
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SOURCE_SIDE);
    limits.max_image_height = Some(MAX_SOURCE_SIDE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    let (src_w, src_h) = reader(limits.clone())
        .into_dimensions()
        .map_err(|e| e.to_string())?;
    check_declared_size(src_w, src_h, bytes.len() as u64, format)?;
    let image = reader(limits).decode().map_err(|e| e.to_string())?;
    let (w, h) = (image.width(), image.height());
    if (w, h) != (src_w, src_h) {
        return Err(format!(
            "decoded {w}x{h}, but the header said {src_w}x{src_h}"
        ));
    }
    Ok(Decoded {
        source_width: w,
        source_height: h,
        width: w,
        height: h,
        rgba: image.into_rgba8().into_raw(),
    })
}

fn clamp_u16(v: u32) -> u16 {
    v.min(u32::from(u16::MAX)) as u16
}

/// Area-average resize of RGBA pixels: each output pixel is the mean of the source block it
/// covers. Cheap and alias-free for the small ratios left after DCT scaling.
pub fn box_resize(src: &[u8], src_w: u32, src_h: u32, dst_w: u32, dst_h: u32) -> Thumb {
    if src_w == dst_w && src_h == dst_h {
        return Thumb {
            width: dst_w,
            height: dst_h,
            rgba: src.to_vec(),
        };
    }
    let (sw, sh, dw, dh) = (
        src_w as usize,
        src_h as usize,
        dst_w as usize,
        dst_h as usize,
    );
    let spans = |dst: usize, src: usize| -> Vec<(usize, usize)> {
        (0..dst)
            .map(|o| {
                let start = o * src / dst;
                let end = ((o + 1) * src / dst).clamp(start + 1, src);
                (start, end)
            })
            .collect()
    };
    let xs = spans(dw, sw);
    let ys = spans(dh, sh);
    let mut out = Vec::with_capacity(dw * dh * 4);
    for &(y0, y1) in &ys {
        for &(x0, x1) in &xs {
            let mut acc = [0u32; 4];
            for y in y0..y1 {
                let row = &src[(y * sw + x0) * 4..(y * sw + x1) * 4];
                for p in row.chunks_exact(4) {
                    for c in 0..4 {
                        acc[c] += u32::from(p[c]);
                    }
                }
            }
            let n = ((y1 - y0) * (x1 - x0)) as u32;
            out.extend(acc.iter().map(|&a| ((a + n / 2) / n) as u8));
        }
    }
    Thumb {
        width: dst_w,
        height: dst_h,
        rgba: out,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_keeps_aspect_and_never_upscales() {
        assert_eq!(fit_within(384, 512, 96, 128), (96, 128));
        assert_eq!(fit_within(512, 384, 96, 128), (96, 72));
        assert_eq!(fit_within(50, 60, 96, 128), (50, 60));
        assert_eq!(fit_within(1000, 10, 96, 128), (96, 1));
        assert_eq!(fit_within(10, 5000, 96, 128), (1, 128));
    }

    #[test]
    fn box_resize_averages_blocks() {
        // 2x2 -> 1x1: mean of four pixels.
        let src = [0, 0, 0, 255, 100, 0, 0, 255, 0, 200, 0, 255, 0, 0, 40, 255];
        let t = box_resize(&src, 2, 2, 1, 1);
        assert_eq!(t.rgba, vec![25, 50, 10, 255]);
    }

    #[test]
    fn garbage_is_an_error_with_reason() {
        let err = decode_bytes(Path::new("x.jpg"), b"hello", 96, 128).unwrap_err();
        assert!(err.to_string().contains("not a JPEG or PNG"), "{err}");
        assert!(err.to_string().contains("x.jpg"), "{err}");
        let err = decode_bytes(
            Path::new("y.jpg"),
            &[0xFF, 0xD8, 0xFF, 0xE0, 0, 16],
            96,
            128,
        )
        .unwrap_err();
        assert!(err.to_string().contains("corrupt JPEG"), "{err}");
    }
}
