//! Decoding one image file into a small RGBA thumbnail.
//!
//! JPEGs are decoded reduced (1/2, 1/4 or 1/8 of full size straight out of the decoder),
//! so a 384x512 photo shrinks to 96x128 without ever building the full-size pixels:
//! baseline JPEGs by our own [`reduced_jpeg`] decoder, other JPEGs by `jpeg-decoder`'s DCT
//! scaling. Anything else goes through the `image` crate and is then box-filtered down.

use super::reduced_jpeg::{self, Reduced};
use super::{Thumb, ThumbError};
use std::path::Path;

/// Largest side accepted before decoding; larger images are refused with a reason rather
/// than allocating gigabytes for a thumbnail.
const MAX_SOURCE_SIDE: u32 = 16_384;

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

/// Reads and decodes `path` into a thumbnail no larger than `max_w` x `max_h`.
pub fn decode_file(path: &Path, max_w: u32, max_h: u32) -> Result<Thumb, ThumbError> {
    let bytes = std::fs::read(path).map_err(|e| ThumbError::io(path, &e))?;
    decode_bytes(path, &bytes, max_w, max_h)
}

/// Decodes in-memory file contents; `path` only names the file in errors.
pub fn decode_bytes(
    path: &Path,
    bytes: &[u8],
    max_w: u32,
    max_h: u32,
) -> Result<Thumb, ThumbError> {
    if bytes.is_empty() {
        return Err(ThumbError::corrupt(path, "empty file"));
    }
    if bytes.starts_with(&[0xFF, 0xD8]) {
        match decode_jpeg_scaled(bytes, max_w, max_h) {
            Ok(thumb) => Ok(thumb),
            // A few JPEG variants (e.g. arithmetic coding) are only known to the other
            // decoder; keep the first reason when both fail.
            Err(reason) => decode_generic(path, bytes, max_w, max_h)
                .map_err(|_| ThumbError::corrupt(path, format!("corrupt JPEG: {reason}"))),
        }
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        decode_generic(path, bytes, max_w, max_h)
    } else {
        let head: Vec<String> = bytes.iter().take(4).map(|b| format!("{b:02x}")).collect();
        Err(ThumbError::unsupported(
            path,
            format!("not a JPEG or PNG image (starts with {})", head.join(" ")),
        ))
    }
}

fn decode_jpeg_scaled(bytes: &[u8], max_w: u32, max_h: u32) -> Result<Thumb, String> {
    // Most photos are baseline JPEGs: our reducing decoder does those about twice as fast.
    let fit = |w, h| fit_within(w, h, max_w, max_h);
    if let Reduced::Decoded(image) = reduced_jpeg::decode(bytes, fit, MAX_SOURCE_SIDE) {
        let (fit_w, fit_h) = fit(image.source_width, image.source_height);
        if (image.width, image.height) == (fit_w, fit_h) {
            return Ok(Thumb {
                width: fit_w,
                height: fit_h,
                rgba: image.rgba,
            });
        }
        return Ok(box_resize(
            &image.rgba,
            image.width,
            image.height,
            fit_w,
            fit_h,
        ));
    }
    decode_jpeg_general(bytes, max_w, max_h)
}

/// Any JPEG `jpeg-decoder` reads (progressive, CMYK, ...), with its DCT scaling.
fn decode_jpeg_general(bytes: &[u8], max_w: u32, max_h: u32) -> Result<Thumb, String> {
    use jpeg_decoder::{Decoder, PixelFormat};
    let mut decoder = Decoder::new(bytes);
    decoder.read_info().map_err(|e| e.to_string())?;
    let info = decoder.info().ok_or("no frame header")?;
    let (src_w, src_h) = (u32::from(info.width), u32::from(info.height));
    if src_w == 0 || src_h == 0 {
        return Err(format!("image has zero size ({src_w}x{src_h})"));
    }
    let (fit_w, fit_h) = fit_within(src_w, src_h, max_w, max_h);
    // The decoder picks the smallest DCT scale whose output still covers the request.
    let (out_w, out_h) = decoder
        .scale(clamp_u16(fit_w), clamp_u16(fit_h))
        .map_err(|e| e.to_string())?;
    let pixels = decoder.decode().map_err(|e| e.to_string())?;
    let (out_w, out_h) = (u32::from(out_w), u32::from(out_h));
    let count = out_w as usize * out_h as usize;
    let format = decoder
        .info()
        .map(|i| i.pixel_format)
        .ok_or("no frame header")?;
    let needed = count * format.pixel_bytes();
    if pixels.len() < needed {
        return Err(format!(
            "decoder returned {} bytes, expected {needed}",
            pixels.len()
        ));
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
    Ok(box_resize(&rgba, out_w, out_h, fit_w, fit_h))
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

fn decode_generic(path: &Path, bytes: &[u8], max_w: u32, max_h: u32) -> Result<Thumb, ThumbError> {
    let reader = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| ThumbError::io(path, &e))?;
    let (src_w, src_h) = reader
        .into_dimensions()
        .map_err(|e| ThumbError::corrupt(path, e.to_string()))?;
    if src_w > MAX_SOURCE_SIDE || src_h > MAX_SOURCE_SIDE {
        return Err(ThumbError::unsupported(
            path,
            format!("image too large for a thumbnail ({src_w}x{src_h})"),
        ));
    }
    let image =
        image::load_from_memory(bytes).map_err(|e| ThumbError::corrupt(path, e.to_string()))?;
    let rgba = image.to_rgba8();
    let (w, h) = rgba.dimensions();
    if w == 0 || h == 0 {
        return Err(ThumbError::corrupt(
            path,
            format!("image has zero size ({w}x{h})"),
        ));
    }
    let (fit_w, fit_h) = fit_within(w, h, max_w, max_h);
    Ok(box_resize(rgba.as_raw(), w, h, fit_w, fit_h))
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
