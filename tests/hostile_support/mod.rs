//! Hostile files built from their descriptions, shared by the hostile-input tests, the
//! bounded mutation test and the seeded-dataset end-to-end test. Everything is generated
//! here from a seed; nothing is copied in.

#![allow(dead_code)]

use jpeg_encoder::{ColorType, Encoder, SamplingFactor};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A small deterministic generator (xorshift64*), so every test input is reproducible.
#[derive(Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    pub fn byte(&mut self) -> u8 {
        self.next() as u8
    }
}

/// A smooth RGB picture with some grain: compresses like a photo.
pub fn picture(w: usize, h: usize, seed: u64) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let mut out = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        for x in 0..w {
            let g = rng.byte() % 16;
            out.extend_from_slice(&[
                ((x * 255 / w.max(1)) as u8).wrapping_add(g),
                ((y * 255 / h.max(1)) as u8).wrapping_add(g),
                (((x + y) * 7) as u8).wrapping_add(g),
            ]);
        }
    }
    out
}

/// A JPEG of `picture(w, h, seed)`, with encoder options set by `options`.
pub fn jpeg_with(
    w: usize,
    h: usize,
    seed: u64,
    options: impl FnOnce(&mut Encoder<&mut Vec<u8>>),
) -> Vec<u8> {
    let rgb = picture(w, h, seed);
    let mut out = Vec::new();
    let mut encoder = Encoder::new(&mut out, 85);
    options(&mut encoder);
    encoder
        .encode(&rgb, w as u16, h as u16, ColorType::Rgb)
        .expect("encode test JPEG");
    out
}

pub fn jpeg(w: usize, h: usize, seed: u64) -> Vec<u8> {
    jpeg_with(w, h, seed, |_| {})
}

pub fn grey_jpeg(w: usize, h: usize) -> Vec<u8> {
    let luma: Vec<u8> = (0..w * h).map(|i| (i % 251) as u8).collect();
    let mut out = Vec::new();
    Encoder::new(&mut out, 80)
        .encode(&luma, w as u16, h as u16, ColorType::Luma)
        .expect("encode grey JPEG");
    out
}

pub fn png(w: u32, h: u32, seed: u64) -> Vec<u8> {
    use image::ImageEncoder;
    let rgb = picture(w as usize, h as usize, seed);
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(&rgb, w, h, image::ExtendedColorType::Rgb8)
        .expect("encode PNG");
    out
}

/// Offset of the frame header marker (FF C0..CF except C4, C8, CC).
pub fn sof_offset(bytes: &[u8]) -> Option<usize> {
    let mut i = 2;
    while i + 4 <= bytes.len() {
        if bytes[i] != 0xFF {
            return None;
        }
        let marker = bytes[i + 1];
        if (0xC0..=0xCF).contains(&marker) && !matches!(marker, 0xC4 | 0xC8 | 0xCC) {
            return Some(i);
        }
        let len = usize::from(u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]));
        i += 2 + len;
    }
    None
}

/// Offset of the first byte of entropy-coded data (after the first SOS segment).
pub fn scan_data_offset(bytes: &[u8]) -> Option<usize> {
    let mut i = 2;
    while i + 4 <= bytes.len() {
        let marker = bytes[i + 1];
        let len = usize::from(u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]));
        if marker == 0xDA {
            return Some(i + 2 + len);
        }
        i += 2 + len;
    }
    None
}

/// Rewrites the width and height the frame header declares.
pub fn declare_size(bytes: &mut [u8], w: u16, h: u16) {
    let sof = sof_offset(bytes).expect("frame header");
    bytes[sof + 5..sof + 7].copy_from_slice(&h.to_be_bytes());
    bytes[sof + 7..sof + 9].copy_from_slice(&w.to_be_bytes());
}

/// Finding 1: a progressive JPEG of about 2 KB whose frame header says 65535 x 65535.
pub fn bomb_progressive() -> Vec<u8> {
    let mut b = jpeg_with(48, 40, 1, |e| e.set_progressive(true));
    declare_size(&mut b, 65535, 65535);
    b
}

/// Finding 1, baseline flavour: the reducing decoder refuses the size and used to hand
/// the file to an unbounded fallback.
pub fn bomb_baseline() -> Vec<u8> {
    let mut b = jpeg(48, 40, 2);
    declare_size(&mut b, 65535, 65535);
    b
}

/// Finding 2's shape: 130 x 33, every component in a scan of its own (a progressive
/// file's AC scans are non-interleaved), one sampling byte set to 0x44.
pub fn odd_sampling_progressive() -> Vec<u8> {
    let mut b = jpeg_with(130, 33, 3, |e| {
        e.set_progressive(true);
        e.set_sampling_factor(SamplingFactor::F_2_2);
    });
    let sof = sof_offset(&b).expect("frame header");
    // Components start at sof + 10: id, sampling, table; the second component's byte.
    b[sof + 10 + 3 + 1] = 0x44;
    b
}

/// Finding 10: a 631-byte baseline grey JPEG whose header declares 16383 x 16383.
pub fn truncated_16383() -> Vec<u8> {
    let mut b = grey_jpeg(64, 64);
    declare_size(&mut b, 16383, 16383);
    b.truncate(631);
    b
}

/// Finding 10: `n` random bytes written over the middle of a photo's image data.
pub fn random_bytes_mid(photo: &[u8], n: usize, seed: u64) -> Vec<u8> {
    let start = scan_data_offset(photo).expect("scan data");
    let mid = start + (photo.len() - start) / 2 - n / 2;
    let mut out = photo.to_vec();
    let mut rng = Rng::new(seed);
    for b in &mut out[mid..mid + n] {
        *b = rng.byte();
    }
    out
}

/// Finding 3: `.npy` files whose shape times item size overflows 64 bits.
pub fn npy_overflows() -> Vec<Vec<u8>> {
    [
        ("<f8", "(2305843009213693953, 1)", 8usize),
        ("<i8", "(2305843009213693953,)", 8),
        ("<f4", "(2305843009213693952, 2)", 0),
    ]
    .into_iter()
    .map(|(descr, shape, payload)| npy_raw(descr, shape, &vec![0u8; payload]))
    .collect()
}

/// A version 1.0 `.npy` file with this header and payload, padded as NumPy does.
pub fn npy_raw(descr: &str, shape: &str, payload: &[u8]) -> Vec<u8> {
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(payload);
    out
}

/// One journal line as a crafted or damaged file would hold it.
pub fn journal_line(seq: u64, target: &str, field: &str, old: &str, new: &str) -> String {
    format!(
        r#"{{"seq":{seq},"time":"2026-11-22T00:00:00.000Z","annotator":"x","op":"edit","target":"{target}","field":"{field}","old":{old},"new":{new},"reason":null,"step":{seq},"step_len":1}}"#
    )
}

/// Applies one seeded mutation: bit flips, truncation, byte insertion or deletion, a
/// run of random bytes, or a rewritten 16-bit header field (sizes, lengths).
pub fn mutate(input: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut b = input.to_vec();
    if b.is_empty() {
        return vec![rng.byte()];
    }
    match rng.below(7) {
        0 => {
            for _ in 0..1 + rng.below(8) {
                let at = rng.below(b.len());
                b[at] ^= 1 << rng.below(8);
            }
        }
        1 => {
            let keep = rng.below(b.len());
            b.truncate(keep);
        }
        2 => {
            let at = rng.below(b.len() + 1);
            let n = 1 + rng.below(64);
            let extra: Vec<u8> = (0..n).map(|_| rng.byte()).collect();
            b.splice(at..at, extra);
        }
        3 => {
            let at = rng.below(b.len());
            let n = (1 + rng.below(64)).min(b.len() - at);
            b.drain(at..at + n);
        }
        4 => {
            let at = rng.below(b.len());
            let n = (1 + rng.below(300)).min(b.len() - at);
            for x in &mut b[at..at + n] {
                *x = rng.byte();
            }
        }
        5 => {
            // A 16-bit field in the first 1 KB (JPEG sizes and lengths, PNG sizes): set
            // to an extreme.
            let head = b.len().min(1024);
            if head >= 2 {
                let at = rng.below(head - 1);
                let v: u16 = match rng.below(4) {
                    0 => 0,
                    1 => 0xFFFF,
                    2 => 0x7FFF,
                    _ => rng.next() as u16,
                };
                b[at..at + 2].copy_from_slice(&v.to_be_bytes());
            }
        }
        _ => {
            let at = rng.below(b.len());
            b[at] = [0x00, 0xFF, 0x7F, 0x80, 0xD9, 0xDA, 0x44][rng.below(7)];
        }
    }
    b
}

/// Counts live heap bytes and their peak, for the memory bounds. A binary installs it with
/// `#[global_allocator] static ALLOC: hs::Counting = hs::Counting;`; [`peak_heap`] then
/// measures.
pub struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            let now = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

/// Runs `f` and returns its result with the peak heap it needed above what was live when
/// it started (the peak is process-wide: measure one thing at a time).
pub fn peak_heap<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let out = f();
    (out, PEAK.load(Ordering::Relaxed).saturating_sub(base))
}

/// Three people in memory with every photo present (nothing on disk): what the journal
/// and CSV inputs are replayed against.
pub fn small_dataset(root: &std::path::Path) -> mask_curator::dataset::Dataset {
    use mask_curator::dataset::{Dataset, Gender, Person};
    let people = (0..3u32)
        .map(|i| Person::with_all_photos(&format!("{:06}", i + 1), Gender::Female, 30 + i))
        .collect();
    Dataset {
        root: root.to_path_buf(),
        people,
        eval: None,
        problems: Vec::new(),
    }
}

/// Every way the app decodes a photo: thumbnail, strict (scan --deep), training size,
/// and the header check. True when a decoder panic was caught at the boundary.
pub fn all_decodes(bytes: &[u8]) -> bool {
    use mask_curator::thumbs::decode::{self, Strictness};
    let path = std::path::Path::new("m.jpg");
    let mut caught = false;
    let mut note = |r: Result<(), mask_curator::thumbs::ThumbError>| {
        if let Err(e) = r {
            caught |= e.reason().contains("the decoder failed");
        }
    };
    note(decode::decode_bytes(path, bytes, 96, 128).map(|_| ()));
    note(decode::decode_photo(path, bytes, &|_, _| (1, 1), Strictness::Strict).map(|_| ()));
    note(decode::decode_photo(path, bytes, &|_, _| (224, 224), Strictness::Lenient).map(|_| ()));
    let _ = mask_curator::dataset::image_check::check_bytes(bytes);
    caught
}
