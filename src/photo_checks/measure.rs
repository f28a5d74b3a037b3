//! What one photo's pixels say about its quality, measured the way cleanvision 0.3.7
//! measures it (same formulas, same constants), on the photo decoded at half size.
//!
//! - brightness of a pixel: sqrt(0.241 R² + 0.691 G² + 0.068 B²) / 255; the 99th and 5th
//!   percentiles (NumPy's linear interpolation) say dark and light;
//! - entropy: Shannon entropy (bits) of the 768-bin R, G, B histogram, as PIL's
//!   `Image.entropy` computes it for an RGB image;
//! - blur: the photo shrunk to at most 64 px a side, made gray (PIL's rounded 601 luma),
//!   PIL's FIND_EDGES kernel (8·centre − the 8 neighbours, clipped to 0..255, the border
//!   copied); the edges' standard deviation, and the standard deviation of the gray
//!   histogram's 256 counts (what keeps a flat, featureless photo from counting as blurred);
//! - a perceptual hash for near duplicates: the DCT of a 32 x 32 gray copy, its 16 x 16
//!   lowest frequencies against their median (256 bits). cleanvision keeps 8 x 8 (64
//!   bits); on the demo's look-alike portraits that many bits cannot tell different
//!   people apart (docs/photo-checks.md).

/// Side of the gray copy the blur is measured on (cleanvision's
/// `MAX_RESOLUTION_FOR_BLURRY_DETECTION`).
const BLUR_MAX_SIDE: u32 = 64;

/// Side of the gray copy the perceptual hash is taken from, and of its kept corner.
const HASH_SOURCE: usize = 32;
const HASH_SIDE: usize = 16;

/// A 256-bit perceptual hash, bit i of word i / 64.
pub type PHash = [u64; 4];

/// How many bits two hashes differ in.
pub fn hash_distance(a: &PHash, b: &PHash) -> u32 {
    a.iter().zip(b).map(|(x, y)| (x ^ y).count_ones()).sum()
}

/// A channel spread (max − min of R, G, B) above this marks a pixel as coloured; JPEG's
/// chroma rounding leaves a gray photo within a few levels.
const COLOUR_SPREAD: u8 = 8;

/// What [`measure`] found in one photo.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measures {
    /// The photo's own size (before any reduction).
    pub width: u32,
    pub height: u32,
    pub brightness_p99: f32,
    pub brightness_p5: f32,
    pub entropy: f32,
    /// Standard deviation of the edge image (cleanvision's `blurriness`).
    pub edge_std: f32,
    /// Standard deviation of the gray histogram's counts.
    pub gray_hist_std: f32,
    /// Fewer than 1% of the pixels carry colour.
    pub grayscale: bool,
    pub phash: PHash,
}

/// Measures straight RGBA pixels (`w` x `h`, alpha ignored) of a photo whose own size is
/// `source_w` x `source_h`.
pub fn measure(source_w: u32, source_h: u32, rgba: &[u8], w: u32, h: u32) -> Measures {
    let pixels = || rgba.chunks_exact(4).take((w * h) as usize);
    let mut brightness: Vec<f64> = pixels()
        .map(|p| pixel_brightness(p[0], p[1], p[2]))
        .collect();
    brightness.sort_unstable_by(f64::total_cmp);
    let percentile =
        |p: f64| crate::stats::quantile_sorted(&brightness, p / 100.0).unwrap_or(0.0) as f32;
    let mut hist = [0u64; 768];
    let mut coloured = 0usize;
    for p in pixels() {
        hist[usize::from(p[0])] += 1;
        hist[256 + usize::from(p[1])] += 1;
        hist[512 + usize::from(p[2])] += 1;
        let (lo, hi) = (p[0].min(p[1]).min(p[2]), p[0].max(p[1]).max(p[2]));
        coloured += usize::from(hi - lo > COLOUR_SPREAD);
    }
    let n = brightness.len();

    let (bw, bh) =
        crate::thumbs::decode::fit_within(source_w, source_h, BLUR_MAX_SIDE, BLUR_MAX_SIDE);
    let (bw, bh) = (bw.min(w), bh.min(h));
    let small = crate::thumbs::decode::box_resize(rgba, w, h, bw, bh);
    let gray: Vec<u8> = small
        .rgba
        .chunks_exact(4)
        .map(|p| pil_luma(p[0], p[1], p[2]))
        .collect();
    let mut gray_hist = [0u64; 256];
    for &g in &gray {
        gray_hist[usize::from(g)] += 1;
    }

    Measures {
        width: source_w,
        height: source_h,
        brightness_p99: percentile(99.0),
        brightness_p5: percentile(5.0),
        entropy: entropy_bits(&hist),
        edge_std: std_dev(
            find_edges(&gray, bw as usize, bh as usize)
                .iter()
                .map(|&e| f64::from(e)),
        ),
        gray_hist_std: std_dev(gray_hist.iter().map(|&c| c as f64)),
        grayscale: n > 0 && coloured * 100 < n,
        phash: phash(rgba, w, h),
    }
}

fn pixel_brightness(r: u8, g: u8, b: u8) -> f64 {
    let (r, g, b) = (f64::from(r), f64::from(g), f64::from(b));
    (0.241 * r * r + 0.691 * g * g + 0.068 * b * b).sqrt() / 255.0
}

/// PIL's "L" conversion: ITU-R 601-2 luma in 16-bit fixed point, rounded.
fn pil_luma(r: u8, g: u8, b: u8) -> u8 {
    ((u32::from(r) * 19595 + u32::from(g) * 38470 + u32::from(b) * 7471 + 0x8000) >> 16) as u8
}

fn entropy_bits(hist: &[u64]) -> f32 {
    let total: u64 = hist.iter().sum();
    if total == 0 {
        return 0.0;
    }
    let total = total as f64;
    -hist
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / total;
            p * p.log2()
        })
        .sum::<f64>() as f32
}

/// PIL's FIND_EDGES on a gray image: the border keeps its pixels, the inside is
/// 8·centre − its 8 neighbours, clipped to 0..255.
fn find_edges(gray: &[u8], w: usize, h: usize) -> Vec<u8> {
    let mut out = gray.to_vec();
    for y in 1..h.saturating_sub(1) {
        for x in 1..w.saturating_sub(1) {
            let at = |dx: usize, dy: usize| i32::from(gray[(y + dy - 1) * w + (x + dx - 1)]);
            let neighbours: i32 = (0..3)
                .flat_map(|dy| (0..3).map(move |dx| (dx, dy)))
                .filter(|&(dx, dy)| (dx, dy) != (1, 1))
                .map(|(dx, dy)| at(dx, dy))
                .sum();
            out[y * w + x] = (8 * at(1, 1) - neighbours).clamp(0, 255) as u8;
        }
    }
    out
}

/// Population standard deviation.
fn std_dev(values: impl Iterator<Item = f64> + Clone) -> f32 {
    let (n, sum, sum2) = values.fold((0usize, 0.0, 0.0), |(n, s, s2), v| {
        (n + 1, s + v, s2 + v * v)
    });
    if n == 0 {
        return 0.0;
    }
    let mean = sum / n as f64;
    (sum2 / n as f64 - mean * mean).max(0.0).sqrt() as f32
}

/// The hash of a picture without structure (a flat colour): its bits would be rounding
/// noise, so it matches nothing.
pub const NO_HASH: PHash = [0; 4];

/// Gray levels a 32 x 32 copy must vary by (standard deviation) to have a hash.
const HASH_MIN_STD: f64 = 1.0;

/// The perceptual hash: bit i (row-major over the 16 x 16 lowest DCT frequencies of a
/// 32 x 32 gray copy) is set when that coefficient is above their median; [`NO_HASH`]
/// for a flat picture.
fn phash(rgba: &[u8], w: u32, h: u32) -> PHash {
    let n = HASH_SOURCE;
    let small = crate::thumbs::decode::box_resize(rgba, w, h, n as u32, n as u32);
    let gray: Vec<f64> = small
        .rgba
        .chunks_exact(4)
        .map(|p| f64::from(pil_luma(p[0], p[1], p[2])))
        .collect();
    if std_dev(gray.iter().copied()) < HASH_MIN_STD as f32 {
        return NO_HASH;
    }
    // cos((2x + 1) u π / 2N) for the kept frequencies u < 8.
    let basis: Vec<f64> = (0..HASH_SIDE)
        .flat_map(|u| {
            (0..n).map(move |x| {
                ((2 * x + 1) as f64 * u as f64 * std::f64::consts::PI / (2 * n) as f64).cos()
            })
        })
        .collect();
    // Columns first (along y), then rows, keeping only the low frequencies of each.
    let mut cols = vec![0.0; HASH_SIDE * n];
    for v in 0..HASH_SIDE {
        for x in 0..n {
            cols[v * n + x] = (0..n).map(|y| gray[y * n + x] * basis[v * n + y]).sum();
        }
    }
    let mut low = [0.0f64; HASH_SIDE * HASH_SIDE];
    for v in 0..HASH_SIDE {
        for u in 0..HASH_SIDE {
            low[v * HASH_SIDE + u] = (0..n).map(|x| cols[v * n + x] * basis[u * n + x]).sum();
        }
    }
    let mut sorted = low;
    sorted.sort_unstable_by(f64::total_cmp);
    let half = sorted.len() / 2;
    let median = (sorted[half - 1] + sorted[half]) / 2.0;
    let mut bits = [0u64; 4];
    for (i, &c) in low.iter().enumerate() {
        bits[i / 64] |= u64::from(c > median) << (i % 64);
    }
    bits
}

/// FNV-1a over a file's bytes: equal files, equal digests (with the length, a collision
/// among a dataset's photos is far less likely than a disk error).
pub fn file_digest(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(w: u32, h: u32, f: impl Fn(u32, u32) -> [u8; 3]) -> Vec<u8> {
        (0..h)
            .flat_map(|y| (0..w).map(move |x| (x, y)))
            .flat_map(|(x, y)| {
                let [r, g, b] = f(x, y);
                [r, g, b, 255]
            })
            .collect()
    }

    #[test]
    fn entropy_matches_pil_on_an_rgb_image() {
        // PIL: a 4x4 RGB image with constant R and B and 16 distinct G values has entropy
        // log2(3) + (0 + 4 + 0) / 3 = 2.9183.
        let rgba = image(4, 4, |x, y| [10, (y * 4 + x) as u8, 30]);
        let m = measure(4, 4, &rgba, 4, 4);
        assert!((m.entropy - 2.918_296).abs() < 1e-4, "{}", m.entropy);
    }

    #[test]
    fn edges_keep_the_border_and_clip_like_pil() {
        // PIL's FIND_EDGES on a 6x5 field of 100 with one pixel of 200 at (3, 2).
        let mut gray = vec![100u8; 30];
        gray[2 * 6 + 3] = 200;
        let e = find_edges(&gray, 6, 5);
        assert_eq!(&e[0..6], &[100; 6]);
        assert_eq!(&e[6..12], &[100, 0, 0, 0, 0, 100]);
        assert_eq!(&e[12..18], &[100, 0, 0, 255, 0, 100]);
        assert_eq!(pil_luma(10, 0, 30), 6);
    }

    #[test]
    fn dark_light_gray_and_sharp_photos_measure_as_such() {
        let noise = |x: u32, y: u32| ((x * 7919 + y * 104_729) % 251) as u8;
        let dark = image(192, 256, |x, y| {
            [noise(x, y) / 4, noise(x, y) / 12, noise(x, y) / 20]
        });
        let m = measure(384, 512, &dark, 192, 256);
        assert!(m.brightness_p99 < 0.32, "{m:?}");
        assert_eq!((m.width, m.height), (384, 512));
        let light = image(192, 256, |x, y| [250, 250 - noise(x, y) / 60, 252]);
        assert!(1.0 - measure(384, 512, &light, 192, 256).brightness_p5 < 0.05);
        let gray = image(192, 256, |x, y| [noise(x, y); 3]);
        let m = measure(384, 512, &gray, 192, 256);
        assert!(m.grayscale);
        assert!(!measure(384, 512, &dark, 192, 256).grayscale);
        // Sharp checks against the same picture blurred to flat stripes.
        let sharp = image(192, 256, |x, y| {
            if (x / 4 + y / 4) % 2 == 0 {
                [230, 40, 40]
            } else {
                [20, 20, 200]
            }
        });
        let soft = image(192, 256, |_, y| [(100 + y / 8) as u8, 60, 120]);
        assert!(
            measure(384, 512, &sharp, 192, 256).edge_std
                > 3.0 * measure(384, 512, &soft, 192, 256).edge_std
        );
    }

    #[test]
    fn the_hash_ignores_small_changes_and_sees_different_pictures() {
        let face = |x: u32, y: u32| {
            let (dx, dy) = (x as i32 - 96, y as i32 - 110);
            if dx * dx + dy * dy < 60 * 60 {
                [220, 180, 150]
            } else {
                [40, 90, 160]
            }
        };
        let a = image(192, 256, face);
        let brighter = image(192, 256, |x, y| face(x, y).map(|c| c.saturating_add(6)));
        let other = image(192, 256, |x, y| face(191 - x, 255 - y / 2));
        let (ha, hb, hc) = (
            measure(384, 512, &a, 192, 256).phash,
            measure(384, 512, &brighter, 192, 256).phash,
            measure(384, 512, &other, 192, 256).phash,
        );
        assert!(hash_distance(&ha, &hb) <= 8, "{ha:x?} {hb:x?}");
        assert!(hash_distance(&ha, &hc) >= 40, "{ha:x?} {hc:x?}");
        assert_ne!(file_digest(b"abc"), file_digest(b"abd"));
        let flat = image(192, 256, |_, _| [90, 120, 200]);
        assert_eq!(measure(384, 512, &flat, 192, 256).phash, NO_HASH);
    }
}
