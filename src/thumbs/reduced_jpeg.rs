//! A baseline-JPEG decoder made for thumbnails: every 8x8 block is reduced straight to
//! 1, 2x2, 4x4 or 8x8 pixels, each the exact area average of the pixels it covers.
//!
//! Why our own: for a thumbnail at 1/4 size almost all the time of a general decoder goes
//! into Huffman decoding coefficients that a 2x2 reduction then ignores. Here
//!
//! * stuffed bytes are removed in one pass first (8 bytes at a time), so the bit reader
//!   refills without a data-dependent branch,
//! * one table lookup decodes up to two whole AC coefficients (code, run and value), or
//!   one and the end of the block, when they fit in [`FAST_BITS`] bits,
//! * a coefficient only costs arithmetic when it moves the reduced pixels: the area average
//!   of a cosine over a half block is zero for even frequencies above 0, so at 1/4 size only
//!   frequencies {0, 1, 3, 5, 7} in each direction contribute, each with a precomputed
//!   weight (dequantisation folded in).
//!
//! Supported: 8-bit sequential Huffman JPEGs (SOF0/SOF1) with one scan holding every
//! component, 1 (grey) or 3 (YCbCr or Adobe RGB) components, sampling factors 1 or 2,
//! restart markers. Anything else returns [`Reduced::Unsupported`] and the caller falls
//! back to a general decoder. Damage inside the entropy-coded data of a file it does read
//! is [`Reduced::Damaged`]: the caller decides whether a lenient decoder may still try.

use std::cell::RefCell;
use std::rc::Rc;

/// Lookahead of the fast Huffman tables, in bits.
const FAST_BITS: u32 = 11;
const FAST_SIZE: usize = 1 << FAST_BITS;

/// Natural (row-major) index of the k-th coefficient in zigzag order.
const ZIGZAG: [usize; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20,
    13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59,
    52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

/// Pixels of a reduced decode: RGBA, `width * height * 4` bytes.
#[derive(Debug)]
pub struct ReducedImage {
    /// Size of the full image.
    pub source_width: u32,
    pub source_height: u32,
    pub width: u32,
    pub height: u32,
    pub rgba: Vec<u8>,
    /// Entropy-coded bytes left over after the last block: a clean file ends within a byte
    /// of it, so more means the data inside was damaged (bytes inserted or replaced).
    pub unused_bytes: usize,
}

/// What [`decode`] made of the bytes.
#[derive(Debug)]
pub enum Reduced {
    Decoded(ReducedImage),
    /// A variant this decoder does not handle: use a general decoder.
    Unsupported(&'static str),
    /// A baseline file whose entropy-coded data is damaged (cut short, bad codes).
    Damaged(&'static str),
}

/// Why [`Parser::run`] stopped.
enum Refused {
    Unsupported(&'static str),
    Damaged(&'static str),
}

impl From<&'static str> for Refused {
    fn from(why: &'static str) -> Self {
        Refused::Unsupported(why)
    }
}

/// Decodes `bytes` at the smallest of 1/8, 1/4, 1/2 or full size whose output still covers
/// `wanted(source width, source height)` (as a scaled IDCT would), each pixel the average
/// of the area it covers. Images with a side over `max_side` are left to the caller.
pub fn decode(bytes: &[u8], wanted: impl Fn(u32, u32) -> (u32, u32), max_side: u32) -> Reduced {
    let parser = match Parser::new(bytes) {
        Ok(p) => p,
        Err(why) => return Reduced::Unsupported(why),
    };
    match parser.run(&wanted, max_side) {
        Ok(image) => Reduced::Decoded(image),
        Err(Refused::Unsupported(why)) => Reduced::Unsupported(why),
        Err(Refused::Damaged(why)) => Reduced::Damaged(why),
    }
}

type Res<T> = Result<T, &'static str>;

#[derive(Clone)]
struct Huffman {
    /// Top FAST_BITS bits -> (code length << 8) | symbol; 0 when the code is longer.
    fast: Box<[u16; FAST_SIZE]>,
    /// For AC tables: top FAST_BITS bits -> up to two whole coefficients (or one and the
    /// end of block, or the end of block alone) when their codes and values fit; 0 when not
    /// even one does. See [`PairEntry`]. Unused (zeros) for DC tables.
    pairs: Box<[u64; FAST_SIZE]>,
    /// Largest code of each length (index 1..=16), -1 when none; as in the standard.
    max_code: [i32; 18],
    /// Index into `symbols` of the first code of each length, minus that code.
    offset: [i32; 17],
    symbols: Vec<u8>,
}

impl Huffman {
    /// Builds the tables of a DC (`class` 0) or AC (`class` 1) table.
    fn new(counts: &[u8; 16], symbols: &[u8], class: u8) -> Res<Huffman> {
        let mut fast = Box::new([0u16; FAST_SIZE]);
        let mut max_code = [-1i32; 18];
        let mut offset = [0i32; 17];
        let mut code: u32 = 0;
        let mut k = 0usize;
        for len in 1..=16u32 {
            let n = usize::from(counts[len as usize - 1]);
            offset[len as usize] = k as i32 - code as i32;
            for _ in 0..n {
                if code >= (1 << len) {
                    return Err("bad Huffman table");
                }
                if len <= FAST_BITS {
                    let shift = FAST_BITS - len;
                    let first = (code << shift) as usize;
                    let entry = ((len as u16) << 8) | u16::from(symbols[k]);
                    fast[first..first + (1 << shift)].fill(entry);
                }
                code += 1;
                k += 1;
            }
            if n > 0 {
                max_code[len as usize] = code as i32 - 1;
            }
            code <<= 1;
        }
        let mut pairs = Box::new([0u64; FAST_SIZE]);
        // A DC table's entries depend on the AC table that follows it: see `dc_entries`.
        if class == 1 {
            for (i, slot) in pairs.iter_mut().enumerate() {
                *slot = PairEntry::build(&fast, i as u32);
            }
        }
        Ok(Huffman {
            fast,
            pairs,
            max_code,
            offset,
            symbols: symbols.to_vec(),
        })
    }
}

/// Packing of a [`Huffman::pairs`] entry (a `u64`).
struct PairEntry;

impl PairEntry {
    /// Bits 0-5: bits used by everything in the entry.
    const USED: u64 = 63;
    /// Bits 6-11: bits used by the first coefficient alone.
    const FIRST_SHIFT: u32 = 6;
    /// Bits 12-15: zeros before the first coefficient; bits 16-19: before the second.
    const RUN1_SHIFT: u32 = 12;
    const RUN2_SHIFT: u32 = 16;
    /// Bit 20: a second coefficient follows; bit 21: the block ends after the first.
    const SECOND: u64 = 1 << 20;
    const END: u64 = 1 << 21;
    /// Bits 32-47 and 48-63: the two values (i16).
    const VALUE1_SHIFT: u32 = 32;
    const VALUE2_SHIFT: u32 = 48;

    /// The value of `size` bits that follow a `len`-bit code at the top of lookahead `bits`.
    fn value_at(bits: u32, len: u32, size: u32) -> i32 {
        extend((bits >> (FAST_BITS - len - size)) & ((1 << size) - 1), size)
    }

    /// The fields of an entry's first code (`len` bits, then `size` value bits, at the top
    /// of lookahead `bits`) when nothing follows it in the entry.
    fn first(bits: u32, len: u32, run: u32, size: u32) -> u64 {
        let used = len + size;
        u64::from(used)
            | u64::from(used) << Self::FIRST_SHIFT
            | u64::from(run) << Self::RUN1_SHIFT
            | u64::from(Self::value_at(bits, len, size) as i16 as u16) << Self::VALUE1_SHIFT
    }

    /// For a DC table `dc` followed by AC table `ac`: the difference coded by lookahead bits
    /// `i` as the first value, and the end of block when the AC table's end-of-block code
    /// follows in the same bits (a block with no AC coefficient, as most chroma blocks are:
    /// one lookup decodes it whole). 0 when the DC code and value do not fit.
    fn build_dc(dc: &[u16; FAST_SIZE], ac: &[u16; FAST_SIZE], i: u32) -> u64 {
        let entry = dc[i as usize];
        let (len, size) = (u32::from(entry >> 8), u32::from(entry & 0xFF));
        if entry == 0 || size > 15 || len + size > FAST_BITS {
            return 0;
        }
        let used = len + size;
        let dc_only = Self::first(i, len, 0, size);
        let next = ac[((i << used) & (FAST_SIZE as u32 - 1)) as usize];
        let next_len = u32::from(next >> 8);
        if next != 0 && next & 0xFF == 0 && next_len <= FAST_BITS - used {
            (dc_only & !Self::USED) | u64::from(used + next_len) | Self::END
        } else {
            dc_only
        }
    }

    /// The entry for lookahead bits `i`, given the symbol table `fast`.
    fn build(fast: &[u16; FAST_SIZE], i: u32) -> u64 {
        let split = |e: u16| {
            (
                u32::from(e >> 8),
                u32::from((e >> 4) & 15),
                u32::from(e & 15),
            )
        };
        let first = fast[i as usize];
        let (len1, run1, size1) = split(first);
        if first == 0 || len1 + size1 > FAST_BITS {
            return 0;
        }
        if size1 == 0 && run1 == 0 {
            // A bare end of block: a zero added at the current index, then the end. Taking
            // it here spares the slower path for the code that ends nearly every block.
            return Self::first(i, len1, 0, 0) | Self::END;
        }
        // Otherwise a coefficient, or 16 zeros (run 15 of size 0: a zero after 15 zeros).
        let used1 = len1 + size1;
        let mut entry = Self::first(i, len1, run1, size1);
        // The bits after the first coefficient, zero-filled: a second code is real only
        // if it fits in the bits that are left.
        let room = FAST_BITS - used1;
        let rest = (i << used1) & (FAST_SIZE as u32 - 1);
        let second = fast[rest as usize];
        let (len2, run2, size2) = split(second);
        if second == 0 || len2 + size2 > room {
            return entry;
        }
        if size2 > 0 {
            let value2 = Self::value_at(rest, len2, size2);
            entry = (entry & !Self::USED)
                | u64::from(used1 + len2 + size2)
                | u64::from(run2) << Self::RUN2_SHIFT
                | Self::SECOND
                | u64::from(value2 as i16 as u16) << Self::VALUE2_SHIFT;
        } else if run2 == 0 {
            entry = (entry & !Self::USED) | u64::from(used1 + len2) | Self::END;
        }
        entry
    }
}

/// The JPEG sign extension of a `size`-bit magnitude category value.
#[inline(always)]
fn extend(bits: u32, size: u32) -> i32 {
    if size == 0 {
        0
    } else if bits < (1 << (size - 1)) {
        bits as i32 - (1 << size) + 1
    } else {
        bits as i32
    }
}

struct Component {
    id: u8,
    h: usize,
    v: usize,
    quant: usize,
    dc: usize,
    ac: usize,
}

struct Parser<'a> {
    data: &'a [u8],
    pos: usize,
    width: usize,
    height: usize,
    components: Vec<Component>,
    quant: [Option<[u16; 64]>; 4],
    dc_tables: [Option<Rc<Huffman>>; 4],
    ac_tables: [Option<Rc<Huffman>>; 4],
    restart_interval: usize,
    adobe_transform: Option<u8>,
    jfif: bool,
    frame_seen: bool,
}

impl<'a> Parser<'a> {
    fn new(data: &'a [u8]) -> Res<Parser<'a>> {
        if !data.starts_with(&[0xFF, 0xD8]) {
            return Err("not a JPEG");
        }
        Ok(Parser {
            data,
            pos: 2,
            width: 0,
            height: 0,
            components: Vec::new(),
            quant: [None; 4],
            dc_tables: [None, None, None, None],
            ac_tables: [None, None, None, None],
            restart_interval: 0,
            adobe_transform: None,
            jfif: false,
            frame_seen: false,
        })
    }

    fn byte(&mut self) -> Res<u8> {
        let b = *self.data.get(self.pos).ok_or("truncated header")?;
        self.pos += 1;
        Ok(b)
    }

    fn u16(&mut self) -> Res<usize> {
        Ok(usize::from(self.byte()?) << 8 | usize::from(self.byte()?))
    }

    /// Reads markers up to the first scan, then decodes it.
    fn run(
        mut self,
        wanted: &dyn Fn(u32, u32) -> (u32, u32),
        max_side: u32,
    ) -> Result<ReducedImage, Refused> {
        loop {
            if self.byte()? != 0xFF {
                return Err("marker expected".into());
            }
            let mut marker = self.byte()?;
            while marker == 0xFF {
                marker = self.byte()?;
            }
            let len = match marker {
                0xD8 | 0x01 | 0xD0..=0xD7 => continue,
                0xD9 => return Err("no scan".into()),
                _ => self.u16()?,
            };
            let body_end = self.pos + len.checked_sub(2).ok_or("bad segment length")?;
            let body = self
                .data
                .get(self.pos..body_end)
                .ok_or("truncated segment")?;
            match marker {
                0xC0 | 0xC1 => self.frame(body)?,
                0xC2..=0xCF if marker != 0xC4 && marker != 0xC8 && marker != 0xCC => {
                    return Err("progressive, lossless or arithmetic JPEG".into());
                }
                0xC4 => self.huffman_tables(body)?,
                0xDB => self.quant_tables(body)?,
                0xDD => {
                    if body.len() < 2 {
                        return Err("bad restart interval".into());
                    }
                    self.restart_interval = usize::from(body[0]) << 8 | usize::from(body[1]);
                }
                0xE0 if body.starts_with(b"JFIF\0") => self.jfif = true,
                0xEE if body.len() >= 12 && body.starts_with(b"Adobe") => {
                    self.adobe_transform = Some(body[11]);
                }
                0xDA => {
                    self.scan_header(body)?;
                    self.pos = body_end;
                    return self.decode_scan(wanted, max_side);
                }
                _ => {}
            }
            self.pos = body_end;
        }
    }

    fn frame(&mut self, body: &[u8]) -> Res<()> {
        if self.frame_seen {
            return Err("two frames");
        }
        self.frame_seen = true;
        if body.len() < 6 || body[0] != 8 {
            return Err("not an 8-bit JPEG");
        }
        self.height = usize::from(body[1]) << 8 | usize::from(body[2]);
        self.width = usize::from(body[3]) << 8 | usize::from(body[4]);
        let n = usize::from(body[5]);
        if n != 1 && n != 3 {
            return Err("component count other than 1 or 3");
        }
        if body.len() < 6 + 3 * n {
            return Err("truncated frame header");
        }
        for c in body[6..6 + 3 * n].chunks_exact(3) {
            let (h, v) = (usize::from(c[1] >> 4), usize::from(c[1] & 15));
            if !(1..=2).contains(&h) || !(1..=2).contains(&v) || c[2] > 3 {
                return Err("unsupported sampling factors");
            }
            self.components.push(Component {
                id: c[0],
                h,
                v,
                quant: usize::from(c[2]),
                dc: 0,
                ac: 0,
            });
        }
        Ok(())
    }

    fn huffman_tables(&mut self, mut body: &[u8]) -> Res<()> {
        while !body.is_empty() {
            if body.len() < 17 {
                return Err("truncated Huffman table");
            }
            let (class, id) = (body[0] >> 4, usize::from(body[0] & 15));
            let total: usize = body[1..17].iter().map(|&c| usize::from(c)).sum();
            let segment = body.get(..17 + total).ok_or("truncated Huffman table")?;
            if id > 3 || class > 1 {
                return Err("bad Huffman table id");
            }
            let table = cached_huffman(segment)?;
            if class == 0 {
                self.dc_tables[id] = Some(table);
            } else {
                self.ac_tables[id] = Some(table);
            }
            body = &body[17 + total..];
        }
        Ok(())
    }

    fn quant_tables(&mut self, mut body: &[u8]) -> Res<()> {
        while !body.is_empty() {
            let (precision, id) = (body[0] >> 4, usize::from(body[0] & 15));
            if id > 3 {
                return Err("bad quantisation table id");
            }
            let mut table = [0u16; 64];
            let size = if precision == 0 { 64 } else { 128 };
            let values = body
                .get(1..1 + size)
                .ok_or("truncated quantisation table")?;
            for (k, q) in table.iter_mut().enumerate() {
                *q = if precision == 0 {
                    u16::from(values[k])
                } else {
                    u16::from(values[2 * k]) << 8 | u16::from(values[2 * k + 1])
                };
            }
            self.quant[id] = Some(table);
            body = &body[1 + size..];
        }
        Ok(())
    }

    fn scan_header(&mut self, body: &[u8]) -> Res<()> {
        if !self.frame_seen {
            return Err("scan before frame");
        }
        let n = usize::from(*body.first().ok_or("empty scan header")?);
        if n != self.components.len() {
            return Err("non-interleaved scans");
        }
        if body.len() < 1 + 2 * n + 3 {
            return Err("truncated scan header");
        }
        for (i, s) in body[1..1 + 2 * n].chunks_exact(2).enumerate() {
            let c = self
                .components
                .get_mut(i)
                .filter(|c| c.id == s[0])
                .ok_or("scan components out of frame order")?;
            c.dc = usize::from(s[1] >> 4);
            c.ac = usize::from(s[1] & 15);
            if c.dc > 3 || c.ac > 3 {
                return Err("bad Huffman table id");
            }
        }
        Ok(())
    }

    fn decode_scan(
        &self,
        wanted: &dyn Fn(u32, u32) -> (u32, u32),
        max_side: u32,
    ) -> Result<ReducedImage, Refused> {
        let (w, h) = (self.width, self.height);
        if w == 0 || h == 0 {
            return Err("zero size".into());
        }
        if w > max_side as usize || h > max_side as usize {
            return Err("too large".into());
        }
        let (min_w, min_h) = wanted(w as u32, h as u32);
        let per_block = [1usize, 2, 4, 8]
            .into_iter()
            .find(|&p| {
                (w * p).div_ceil(8) >= min_w as usize && (h * p).div_ceil(8) >= min_h as usize
            })
            .unwrap_or(8);
        match per_block {
            1 => self.decode_blocks::<1, 1>(),
            2 => self.decode_blocks::<2, 4>(),
            4 => self.decode_blocks::<4, 16>(),
            _ => self.decode_blocks::<8, 64>(),
        }
    }

    /// Decodes every block to `P` x `P` (= `N`) pixels, then converts colour.
    fn decode_blocks<const P: usize, const N: usize>(&self) -> Result<ReducedImage, Refused> {
        let (w, h) = (self.width, self.height);
        let hmax = self.components.iter().map(|c| c.h).max().unwrap_or(1);
        let vmax = self.components.iter().map(|c| c.v).max().unwrap_or(1);
        let single = self.components.len() == 1;
        // A single-component scan is not interleaved: its blocks simply cover the image.
        let (mcus_x, mcus_y) = if single {
            (w.div_ceil(8), h.div_ceil(8))
        } else {
            (w.div_ceil(8 * hmax), h.div_ceil(8 * vmax))
        };
        // Every block costs at least two bits (a DC code and an end of block): a file too
        // short for the blocks its header declares is cut off, and is refused before
        // anything is allocated for them or decoded from zeros.
        let blocks_per_mcu: usize = if single {
            1
        } else {
            self.components.iter().map(|c| c.h * c.v).sum()
        };
        let scan = unstuff(self.data, self.pos);
        let mcus = mcus_x * mcus_y;
        if mcus.saturating_mul(blocks_per_mcu).saturating_mul(2) > scan.bytes.len() * 8 {
            return Err(Refused::Damaged("entropy data ended early"));
        }
        let mut planes = Vec::with_capacity(self.components.len());
        for c in &self.components {
            let quant = self.quant[c.quant]
                .as_ref()
                .ok_or("missing quantisation table")?;
            let dc = self.dc_tables[c.dc]
                .as_ref()
                .ok_or("missing Huffman table")?;
            let ac = self.ac_tables[c.ac]
                .as_ref()
                .ok_or("missing Huffman table")?;
            let (bw, bh) = if single {
                (mcus_x, mcus_y)
            } else {
                (mcus_x * c.h, mcus_y * c.v)
            };
            let weights = cached_weights::<P>(quant);
            planes.push(Plane {
                dc_entries: cached_dc_entries(dc, ac),
                moves: moving_coefficients(&weights, P * P),
                weights,
                dc,
                ac,
                stride: bw * P,
                sums: vec![0f32; bw * P * bh * P],
                pixels: Vec::new(),
                pred: 0,
                h: if single { 1 } else { c.h },
                v: if single { 1 } else { c.v },
            });
        }
        if self.restart_interval > 0
            && scan.interval_ends.len() < mcus.div_ceil(self.restart_interval)
        {
            return Err(Refused::Damaged("restart markers missing"));
        }
        let mut interval_start = 0;
        let mut interval = 0;
        let mut bits = BitReader::new(&scan.bytes, 0);
        for mcu in 0..mcus {
            if self.restart_interval > 0 && mcu > 0 && mcu % self.restart_interval == 0 {
                // Data consumed past the interval's end means damage: let the general decoder judge.
                if bits.consumed_bits(interval_start)
                    > (scan.interval_ends[interval] - interval_start) * 8
                {
                    return Err(Refused::Damaged("entropy data ended early"));
                }
                interval_start = scan.interval_ends[interval];
                interval += 1;
                bits = BitReader::new(&scan.bytes, interval_start);
                for p in &mut planes {
                    p.pred = 0;
                }
            }
            let (mx, my) = (mcu % mcus_x, mcu / mcus_x);
            for plane in &mut planes {
                for by in 0..plane.v {
                    for bx in 0..plane.h {
                        let pixels =
                            decode_block::<P, N>(&mut bits, plane).map_err(Refused::Damaged)?;
                        let (x0, y0) = ((mx * plane.h + bx) * P, (my * plane.v + by) * P);
                        for j in 0..P {
                            let row = (y0 + j) * plane.stride + x0;
                            plane.sums[row..row + P].copy_from_slice(&pixels[j * P..(j + 1) * P]);
                        }
                    }
                }
            }
        }
        let end = scan.interval_ends.get(interval).copied().unwrap_or(0);
        let consumed = bits.consumed_bits(interval_start);
        if consumed > (end - interval_start) * 8 {
            return Err(Refused::Damaged("entropy data ended early"));
        }
        let unused_bytes = (end - interval_start).saturating_sub(consumed.div_ceil(8));
        // Level shift and rounding for whole planes at once: a loop the compiler vectorises.
        for plane in &mut planes {
            plane.pixels = level_shift(&plane.sums);
        }
        let out_w = (w * P).div_ceil(8);
        let out_h = (h * P).div_ceil(8);
        let mut rgba = Vec::with_capacity(out_w * out_h * 4);
        if single {
            let y = &planes[0];
            for row in 0..out_h {
                for &l in &y.pixels[row * y.stride..row * y.stride + out_w] {
                    rgba.extend_from_slice(&[l, l, l, 255]);
                }
            }
        } else {
            let rgb = self.adobe_transform == Some(0)
                || (!self.jfif
                    && self.adobe_transform.is_none()
                    && self.components.iter().map(|c| c.id).eq(*b"RGB"));
            let full: Vec<std::borrow::Cow<[u8]>> = planes
                .iter()
                .map(|p| upsample(&p.pixels, p.stride, out_w, out_h, hmax / p.h, vmax / p.v))
                .collect();
            rgba.resize(out_w * out_h * 4, 0);
            if rgb {
                let samples = full[0].iter().zip(full[1].iter()).zip(full[2].iter());
                for (px, ((&a, &b), &c)) in rgba.chunks_exact_mut(4).zip(samples) {
                    px.copy_from_slice(&[a, b, c, 255]);
                }
            } else {
                ycbcr_to_rgba(&full[0], &full[1], &full[2], &mut rgba);
            }
        }
        Ok(ReducedImage {
            source_width: w as u32,
            source_height: h as u32,
            width: out_w as u32,
            height: out_h as u32,
            rgba,
            unused_bytes,
        })
    }
}

/// A component's reduced pixels (`stride` to a row) at `out_w` x `out_h`, tightly packed.
/// A subsampled component (`fx`, `fy` = 2) is interpolated linearly between sample
/// centres, which keeps colour gradients smooth where nearest-sample would leave steps.
/// With a factor of 2 the output samples sit a quarter of the way between two source
/// samples, so the weights are always 3/4 and 1/4: one pass down (into 4x the value) and
/// one across (16x), without per-pixel weight tables.
fn upsample(
    pixels: &[u8],
    stride: usize,
    out_w: usize,
    out_h: usize,
    fx: usize,
    fy: usize,
) -> std::borrow::Cow<'_, [u8]> {
    let rows = pixels.len() / stride;
    if fx == 1 && fy == 1 && stride == out_w && rows == out_h {
        return std::borrow::Cow::Borrowed(pixels);
    }
    let row = |i: usize| &pixels[i * stride..(i + 1) * stride];
    let mut down = vec![0u16; stride];
    let mut across = vec![0u8; stride * fx];
    let mut out = Vec::with_capacity(out_w * out_h);
    let blend = |near: u16, far: u16| ((3 * near + far + 8) >> 4) as u8;
    for r in 0..out_h {
        let (near, far) = if fy == 1 {
            let i = r.min(rows - 1);
            (i, i)
        } else {
            let m = (r / 2).min(rows - 1);
            (
                m,
                if r % 2 == 0 {
                    m.saturating_sub(1)
                } else {
                    (m + 1).min(rows - 1)
                },
            )
        };
        for ((d, &a), &b) in down.iter_mut().zip(row(near)).zip(row(far)) {
            *d = 3 * u16::from(a) + u16::from(b);
        }
        if fx == 1 {
            for (o, &d) in across.iter_mut().zip(&down) {
                *o = blend(d, d);
            }
        } else {
            // Outputs 2m+1 and 2m+2 lie between samples m and m+1; the first and last
            // outputs have one sample only.
            across[0] = blend(down[0], down[0]);
            across[2 * stride - 1] = blend(down[stride - 1], down[stride - 1]);
            for (pair, d) in across[1..2 * stride - 1]
                .chunks_exact_mut(2)
                .zip(down.windows(2))
            {
                pair[0] = blend(d[0], d[1]);
                pair[1] = blend(d[1], d[0]);
            }
        }
        out.extend_from_slice(&across[..out_w]);
    }
    std::borrow::Cow::Owned(out)
}

/// Added to a float in [0, 2^22), leaves it rounded to the nearest integer in the low
/// bits of its representation: a float-to-integer conversion that stays in vector
/// instructions, where a cast would not.
const ROUND_TO_INTEGER: f32 = 12_582_912.0;

/// Decoded sums to samples: level shift, rounding, clamping.
fn level_shift(sums: &[f32]) -> Vec<u8> {
    sums.iter()
        .map(|&v| ((v + 128.0).clamp(0.0, 255.0) + ROUND_TO_INTEGER).to_bits() as u8)
        .collect()
}

/// JFIF YCbCr to RGBA, eight pixels at a time: each pixel becomes
/// one little-endian word, so the group is computed and stored with vector instructions.
fn ycbcr_to_rgba(y: &[u8], cb: &[u8], cr: &[u8], rgba: &mut [u8]) {
    const GROUP: usize = 8;
    let whole = y.len() / GROUP * GROUP;
    let groups = rgba[..whole * 4]
        .chunks_exact_mut(GROUP * 4)
        .zip(y.chunks_exact(GROUP))
        .zip(cb.chunks_exact(GROUP).zip(cr.chunks_exact(GROUP)));
    for ((out, y), (cb, cr)) in groups {
        let mut words = [0u32; GROUP];
        for i in 0..GROUP {
            words[i] = ycbcr_pixel(y[i], cb[i], cr[i]);
        }
        for (o, w) in out.chunks_exact_mut(4).zip(words) {
            o.copy_from_slice(&w.to_le_bytes());
        }
    }
    for i in whole..y.len() {
        rgba[i * 4..i * 4 + 4].copy_from_slice(&ycbcr_pixel(y[i], cb[i], cr[i]).to_le_bytes());
    }
}

/// One pixel as the little-endian word of its R, G, B, A bytes. In floats, rounded as in
/// [`level_shift`]: with only the baseline x86-64 instructions, 32-bit integer multiplies
/// are slow in vectors and float ones are not.
#[inline(always)]
fn ycbcr_pixel(y: u8, cb: u8, cr: u8) -> u32 {
    let (y, cb, cr) = (f32::from(y), f32::from(cb) - 128.0, f32::from(cr) - 128.0);
    let c = |v: f32| (v.clamp(0.0, 255.0) + ROUND_TO_INTEGER).to_bits() & 0xFF;
    c(y + 1.402 * cr)
        | c(y - 0.344_136 * cb - 0.714_136 * cr) << 8
        | c(y + 1.772 * cb) << 16
        | 0xFF << 24
}

/// Tables built for recent images, per thread: photos from one camera or encoder share
/// their Huffman and quantisation tables, and building them (the pair table, the weights'
/// cosines) would otherwise cost about a tenth of a thumbnail.
#[derive(Default)]
struct TableCache {
    huffman: Vec<(Vec<u8>, Rc<Huffman>)>,
    /// DC lookups per (DC table, AC table) pair; the tables are held, so their addresses
    /// identify them.
    dc_entries: Vec<DcEntries>,
    weights: Vec<(usize, [u16; 64], Rc<Vec<f32>>)>,
}

/// A DC table, the AC table after it, and their [`PairEntry::build_dc`] lookups.
struct DcEntries {
    dc: Rc<Huffman>,
    ac: Rc<Huffman>,
    entries: Rc<Vec<u64>>,
}

/// Most tables of each kind kept per thread.
const CACHED_TABLES: usize = 8;

thread_local! {
    static TABLES: RefCell<TableCache> = RefCell::default();
}

/// The Huffman table of a DHT entry (`segment`: class/id byte, counts, symbols).
fn cached_huffman(segment: &[u8]) -> Res<Rc<Huffman>> {
    TABLES.with_borrow_mut(|cache| {
        if let Some((_, table)) = cache
            .huffman
            .iter()
            .find(|(key, _)| key[1..] == segment[1..] && (key[0] >> 4) == (segment[0] >> 4))
        {
            return Ok(Rc::clone(table));
        }
        let mut counts = [0u8; 16];
        counts.copy_from_slice(&segment[1..17]);
        let table = Rc::new(Huffman::new(&counts, &segment[17..], segment[0] >> 4)?);
        if cache.huffman.len() == CACHED_TABLES {
            cache.huffman.remove(0);
        }
        cache.huffman.push((segment.to_vec(), Rc::clone(&table)));
        Ok(table)
    })
}

/// [`PairEntry::build_dc`] for every lookahead of a DC table followed by an AC table.
fn cached_dc_entries(dc: &Rc<Huffman>, ac: &Rc<Huffman>) -> Rc<Vec<u64>> {
    TABLES.with_borrow_mut(|cache| {
        if let Some(found) = cache
            .dc_entries
            .iter()
            .find(|e| Rc::ptr_eq(&e.dc, dc) && Rc::ptr_eq(&e.ac, ac))
        {
            return Rc::clone(&found.entries);
        }
        let entries: Rc<Vec<u64>> = Rc::new(
            (0..FAST_SIZE as u32)
                .map(|i| PairEntry::build_dc(&dc.fast, &ac.fast, i))
                .collect(),
        );
        if cache.dc_entries.len() == CACHED_TABLES {
            cache.dc_entries.remove(0);
        }
        cache.dc_entries.push(DcEntries {
            dc: Rc::clone(dc),
            ac: Rc::clone(ac),
            entries: Rc::clone(&entries),
        });
        entries
    })
}

/// [`block_weights`] for a quantisation table, reused while the tables repeat.
fn cached_weights<const P: usize>(quant: &[u16; 64]) -> Rc<Vec<f32>> {
    TABLES.with_borrow_mut(|cache| {
        if let Some((_, _, w)) = cache.weights.iter().find(|(p, q, _)| *p == P && q == quant) {
            return Rc::clone(w);
        }
        let weights = Rc::new(block_weights::<P>(quant));
        if cache.weights.len() == CACHED_TABLES {
            cache.weights.remove(0);
        }
        cache.weights.push((P, *quant, Rc::clone(&weights)));
        weights
    })
}

struct Plane<'t> {
    /// `weights[k * P * P + j * P + i]`: what one unit of coefficient k (zigzag order) adds
    /// to reduced pixel (i, j), dequantisation included.
    weights: Rc<Vec<f32>>,
    /// Bit k set when coefficient k can change the reduced block at all.
    moves: u64,
    /// [`PairEntry::build_dc`] for every lookahead, for this plane's DC and AC tables.
    dc_entries: Rc<Vec<u64>>,
    dc: &'t Huffman,
    ac: &'t Huffman,
    stride: usize,
    /// Reduced pixels before the level shift, as decoded.
    sums: Vec<f32>,
    /// The same as bytes, once the scan is decoded.
    pixels: Vec<u8>,
    pred: i32,
    h: usize,
    v: usize,
}

/// `weights[k * P * P + j * P + i]`: how much coefficient k (zigzag order) adds to output
/// pixel (i, j) of a block reduced to P x P, i.e. the mean of its basis function over the
/// pixels that output covers, times the quantiser.
fn block_weights<const P: usize>(quant: &[u16; 64]) -> Vec<f32> {
    let span = 8 / P;
    // axis[i][u]: mean over the pixels of output i of (1/2) C(u) cos((2x + 1) u pi / 16).
    let mut axis = [[0f64; 8]; 8];
    for (i, row) in axis.iter_mut().enumerate().take(P) {
        for (u, a) in row.iter_mut().enumerate() {
            let cu = if u == 0 {
                std::f64::consts::FRAC_1_SQRT_2
            } else {
                1.0
            };
            let sum: f64 = (i * span..(i + 1) * span)
                .map(|x| {
                    0.5 * cu * ((2 * x + 1) as f64 * u as f64 * std::f64::consts::PI / 16.0).cos()
                })
                .sum();
            let mean = sum / span as f64;
            *a = if mean.abs() < 1e-9 { 0.0 } else { mean };
        }
    }
    let mut weights = vec![0f32; 64 * P * P];
    for (k, wk) in weights.chunks_exact_mut(P * P).enumerate() {
        let (v, u) = (ZIGZAG[k] / 8, ZIGZAG[k] % 8);
        let q = f64::from(quant[k]);
        for j in 0..P {
            for i in 0..P {
                wk[j * P + i] = (q * axis[j][v] * axis[i][u]) as f32;
            }
        }
    }
    weights
}

/// Bit k set when some weight of coefficient k is not zero.
fn moving_coefficients(weights: &[f32], per_block: usize) -> u64 {
    weights
        .chunks_exact(per_block)
        .enumerate()
        .filter(|(_, w)| w.iter().any(|&x| x != 0.0))
        .fold(0, |mask, (k, _)| mask | 1 << k)
}

/// Decodes one block's coefficients into its `N` = `P` x `P` reduced pixels (minus the
/// level shift). The sums are a local array so they stay in registers.
#[inline(always)]
fn decode_block<const P: usize, const N: usize>(
    bits: &mut BitReader,
    plane: &mut Plane,
) -> Res<[f32; N]> {
    // Every step below keeps >= 25 bits in the reader (see the AC loop), and a new reader
    // starts full, so the lookup can go ahead of the refill here too.
    let lookup = bits.peek_fast();
    let entry = plane.dc_entries[lookup];
    bits.refill();
    let diff = if entry != 0 {
        bits.consume(entry as u32 & PairEntry::USED as u32);
        i32::from((entry >> PairEntry::VALUE1_SHIFT) as u16 as i16)
    } else {
        let size = u32::from(bits.symbol_at(lookup, plane.dc)?);
        if size > 15 {
            return Err("bad DC coefficient");
        }
        extend(bits.take(size), size)
    };
    plane.pred = plane.pred.wrapping_add(diff);
    let dc = plane.pred as f32;
    let weights = &plane.weights[..64 * N];
    let mut out = [0f32; N];
    #[allow(clippy::needless_range_loop)] // constant indices let the sums live in registers
    for i in 0..N {
        out[i] = dc * weights[i];
    }
    if entry & PairEntry::END != 0 {
        // The lookup took the end of block too.
        return Ok(out);
    }
    let ac = plane.ac;
    let mut k = 1usize;
    while k < 64 {
        // At least 25 bits are left from the last refill (a coefficient takes <= 31 of 56+),
        // so the table lookup does not wait for this refill: the two run side by side.
        let lookup = bits.peek_fast();
        let entry = ac.pairs[lookup];
        bits.refill();
        if entry != 0 {
            k += (entry >> PairEntry::RUN1_SHIFT & 15) as usize;
            if k > 63 {
                return Err("coefficient index past 63");
            }
            let first = k;
            let value1 = f32::from((entry >> PairEntry::VALUE1_SHIFT) as u16 as i16);
            k += 1;
            if k == 64 {
                // The block is full: what follows the first coefficient is the next block.
                add_coefficient::<P, N>(&mut out, weights, plane.moves, first, value1);
                bits.consume((entry >> PairEntry::FIRST_SHIFT & 63) as u32);
                break;
            }
            bits.consume((entry & PairEntry::USED) as u32);
            if entry & PairEntry::END != 0 {
                add_coefficient::<P, N>(&mut out, weights, plane.moves, first, value1);
                break;
            }
            // Without a second coefficient this adds zero at k and leaves k as it is.
            let at = k + (entry >> PairEntry::RUN2_SHIFT & 15) as usize;
            if at > 63 {
                return Err("coefficient index past 63");
            }
            let value2 = f32::from((entry >> PairEntry::VALUE2_SHIFT) as u16 as i16);
            add_two_coefficients::<P, N>(
                &mut out,
                weights,
                plane.moves,
                [first, at],
                [value1, value2],
            );
            k = at + usize::from(entry & PairEntry::SECOND != 0);
            continue;
        }
        let rs = bits.symbol_at(lookup, ac)?;
        let (run, size) = (usize::from(rs >> 4), u32::from(rs & 15));
        if size == 0 {
            if run == 15 {
                k += 16;
                continue;
            }
            break;
        }
        k += run;
        if k > 63 {
            return Err("coefficient index past 63");
        }
        let value = extend(bits.take(size), size) as f32;
        add_coefficient::<P, N>(&mut out, weights, plane.moves, k, value);
        k += 1;
    }
    Ok(out)
}

/// Adds coefficient `k` (zigzag) of `value` to the reduced pixels.
#[inline(always)]
fn add_coefficient<const P: usize, const N: usize>(
    out: &mut [f32; N],
    weights: &[f32],
    moves: u64,
    k: usize,
    value: f32,
) {
    // Up to 4x4 a multiply-add by zero weights is cheaper than a branch on which
    // coefficients matter, whose outcome the CPU cannot predict.
    if P <= 4 || moves >> k & 1 != 0 {
        let w = &weights[k * N..(k + 1) * N];
        #[allow(clippy::needless_range_loop)] // constant indices keep the sums in registers
        for i in 0..N {
            out[i] += value * w[i];
        }
    }
}

/// Adds two coefficients at once: their products are summed before they meet the running
/// sums, so each lookup puts one addition, not two, on the sums' chain of dependencies.
#[inline(always)]
fn add_two_coefficients<const P: usize, const N: usize>(
    out: &mut [f32; N],
    weights: &[f32],
    moves: u64,
    k: [usize; 2],
    value: [f32; 2],
) {
    if P <= 4 {
        let w1 = &weights[k[0] * N..(k[0] + 1) * N];
        let w2 = &weights[k[1] * N..(k[1] + 1) * N];
        #[allow(clippy::needless_range_loop)] // constant indices keep the sums in registers
        for i in 0..N {
            out[i] += value[0] * w1[i] + value[1] * w2[i];
        }
    } else {
        add_coefficient::<P, N>(out, weights, moves, k[0], value[0]);
        add_coefficient::<P, N>(out, weights, moves, k[1], value[1]);
    }
}

/// The entropy-coded data of a scan with stuffed bytes removed, cut at restart markers.
struct Unstuffed {
    bytes: Vec<u8>,
    /// End (byte offset into `bytes`) of each restart interval; the last one ends the scan.
    interval_ends: Vec<usize>,
}

/// Copies the scan's entropy-coded data from `start` up to the marker that ends it,
/// turning `FF 00` into `FF` and splitting at restart markers. Eight bytes at a time while
/// none of them is `FF`.
fn unstuff(data: &[u8], start: usize) -> Unstuffed {
    let mut bytes = Vec::with_capacity(data.len().saturating_sub(start) + 16);
    let mut interval_ends = Vec::new();
    let mut i = start;
    loop {
        while let Some(chunk) = data.get(i..i + 8) {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            if has_ff_byte(u64::from_ne_bytes(word)) {
                break;
            }
            bytes.extend_from_slice(chunk);
            i += 8;
        }
        let Some(&b) = data.get(i) else { break };
        if b != 0xFF {
            bytes.push(b);
            i += 1;
            continue;
        }
        match data.get(i + 1) {
            Some(0x00) => {
                bytes.push(0xFF);
                i += 2;
            }
            // Fill bytes before a marker.
            Some(0xFF) => i += 1,
            Some(0xD0..=0xD7) => {
                interval_ends.push(bytes.len());
                i += 2;
            }
            _ => break,
        }
    }
    interval_ends.push(bytes.len());
    Unstuffed {
        bytes,
        interval_ends,
    }
}

#[inline(always)]
fn has_ff_byte(word: u64) -> bool {
    let inverted = !word;
    inverted.wrapping_sub(0x0101_0101_0101_0101) & !inverted & 0x8080_8080_8080_8080 != 0
}

/// MSB-first bit reader over unstuffed data. Past the end it reads zeros; `consumed_bits`
/// tells whether that happened.
struct BitReader<'a> {
    data: &'a [u8],
    /// Next byte to load (may run past the end).
    pos: usize,
    /// Bits not yet consumed, left-aligned; `count` of them are valid.
    acc: u64,
    count: u32,
}

impl<'a> BitReader<'a> {
    /// A reader at byte `pos`, already filled.
    fn new(data: &'a [u8], pos: usize) -> BitReader<'a> {
        let mut reader = BitReader {
            data,
            pos,
            acc: 0,
            count: 0,
        };
        reader.refill();
        reader
    }

    /// Tops the buffer up to at least 56 valid bits, without a data-dependent branch:
    /// loads 8 bytes, keeps the whole bytes that fit (bits loaded twice are the same bits).
    #[inline(always)]
    fn refill(&mut self) {
        let word = match self.data.get(self.pos..self.pos + 8) {
            Some(chunk) => {
                let mut b = [0u8; 8];
                b.copy_from_slice(chunk);
                u64::from_be_bytes(b)
            }
            None => self.tail_word(),
        };
        self.acc |= word >> self.count;
        self.pos += ((63 - self.count) >> 3) as usize;
        self.count |= 56;
    }

    /// The last < 8 bytes, zero-padded. Inlined like everything the block loop calls: a
    /// call inside the loop would make the compiler keep the running sums in memory.
    #[inline(always)]
    fn tail_word(&self) -> u64 {
        let mut b = [0u8; 8];
        if let Some(rest) = self.data.get(self.pos..) {
            b[..rest.len()].copy_from_slice(rest);
        }
        u64::from_be_bytes(b)
    }

    #[inline(always)]
    fn peek_fast(&self) -> usize {
        (self.acc >> (64 - FAST_BITS)) as usize
    }

    #[inline(always)]
    fn consume(&mut self, n: u32) {
        self.acc <<= n;
        self.count -= n;
    }

    /// Takes `n` <= 16 bits (refill before a symbol and its value: together <= 31 bits).
    #[inline(always)]
    fn take(&mut self, n: u32) -> u32 {
        if n == 0 {
            return 0;
        }
        let v = (self.acc >> (64 - n)) as u32;
        self.consume(n);
        v
    }

    /// Decodes a symbol; `lookup` is `peek_fast()` taken before the last refill (the same
    /// top bits), so the table read need not wait for the refill.
    #[inline(always)]
    fn symbol_at(&mut self, lookup: usize, table: &Huffman) -> Res<u8> {
        let entry = table.fast[lookup];
        let (len, symbol) = if entry != 0 {
            (u32::from(entry >> 8), (entry & 0xFF) as u8)
        } else {
            long_code(self.acc, table)?
        };
        self.consume(len);
        Ok(symbol)
    }

    /// Bits consumed since byte `start`.
    fn consumed_bits(&self, start: usize) -> usize {
        (self.pos - start) * 8 - self.count as usize
    }
}

/// A code longer than the fast table: (length, symbol).
#[inline(always)]
fn long_code(acc: u64, table: &Huffman) -> Res<(u32, u8)> {
    for len in FAST_BITS + 1..=16 {
        let code = (acc >> (64 - len)) as i32;
        if code <= table.max_code[len as usize] {
            let index = (table.offset[len as usize] + code) as usize;
            let symbol = *table.symbols.get(index).ok_or("bad Huffman code")?;
            return Ok((len, symbol));
        }
    }
    Err("bad Huffman code")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_of_the_1_4_reduction_skip_even_frequencies() {
        let q = [1u16; 64];
        let w = block_weights::<2>(&q);
        // DC: 1/8 of the coefficient in every output pixel (the IDCT's scale).
        for &v in &w[..4] {
            assert!((v - 0.125).abs() < 1e-6, "{v}");
        }
        let moves = moving_coefficients(&w, 4);
        for (k, natural) in ZIGZAG.iter().enumerate() {
            let (v, u) = (natural / 8, natural % 8);
            let expected = [0, 1, 3, 5, 7].contains(&u) && [0, 1, 3, 5, 7].contains(&v);
            assert_eq!(moves >> k & 1 == 1, expected, "u={u} v={v}");
        }
        // 1/8: only the DC moves the block's mean.
        assert_eq!(moving_coefficients(&block_weights::<1>(&q), 1), 1);
        // Full size is the plain IDCT: the sum over pixels of a non-DC basis is 0.
        let full = block_weights::<8>(&q);
        for wk in full.chunks_exact(64).skip(1) {
            assert!(wk.iter().sum::<f32>().abs() < 1e-4);
        }
    }

    #[test]
    fn one_lookup_takes_an_end_of_block_sixteen_zeros_or_a_dc_difference() {
        // Three 2-bit codes: 00 = end of block, 01 = run 0 size 1, 10 = 16 zeros.
        let mut counts = [0u8; 16];
        counts[1] = 3;
        let ac = Huffman::new(&counts, &[0x00, 0x01, 0xF0], 1).unwrap();
        let at = |bits: u32, len: u32| ac.pairs[(bits << (FAST_BITS - len)) as usize];
        let field = |e: u64, shift: u32, mask: u64| e >> shift & mask;

        let end = at(0b00, 2);
        assert_eq!(end & PairEntry::USED, 2);
        assert_eq!(field(end, PairEntry::FIRST_SHIFT, 63), 2);
        assert_ne!(end & PairEntry::END, 0);
        assert_eq!(field(end, PairEntry::VALUE1_SHIFT, 0xFFFF), 0);

        // 16 zeros, then a coefficient of +1 (code 01, value bit 1).
        let zeros = at(0b10011, 5); // 10, 01, 1
        assert_eq!(field(zeros, PairEntry::RUN1_SHIFT, 15), 15);
        assert_eq!(field(zeros, PairEntry::FIRST_SHIFT, 63), 2);
        assert_eq!(zeros & PairEntry::USED, 5);
        assert_ne!(zeros & PairEntry::SECOND, 0);
        assert_eq!(field(zeros, PairEntry::VALUE2_SHIFT, 0xFFFF) as i16, 1);

        // DC: code 01 means size 1; value bit 0 is -1. When the AC table's end of block
        // (00) follows, the one entry takes the whole block.
        let dc = Huffman::new(&counts, &[0, 1, 2], 0).unwrap();
        let dc_entry = |bits: u32, len: u32| {
            PairEntry::build_dc(&dc.fast, &ac.fast, bits << (FAST_BITS - len))
        };
        let whole = dc_entry(0b01000, 5); // 01, 0, 00
        assert_eq!(field(whole, PairEntry::FIRST_SHIFT, 63), 3);
        assert_eq!(whole & PairEntry::USED, 5);
        assert_ne!(whole & PairEntry::END, 0);
        assert_eq!(field(whole, PairEntry::VALUE1_SHIFT, 0xFFFF) as i16, -1);
        let then_ac = dc_entry(0b01001, 5); // 01, 0, then an AC coefficient
        assert_eq!(then_ac & PairEntry::USED, 3);
        assert_eq!(then_ac & PairEntry::END, 0);
        assert_eq!(field(then_ac, PairEntry::VALUE1_SHIFT, 0xFFFF) as i16, -1);
        // A DC size above 15 is left to the checked path.
        let bad = Huffman::new(&counts, &[0, 1, 0x1F], 0).unwrap();
        assert_eq!(
            PairEntry::build_dc(&bad.fast, &ac.fast, 0b10 << (FAST_BITS - 2)),
            0
        );
    }

    /// Linear interpolation between sample centres with a weight table per coordinate:
    /// what [`upsample`] must equal.
    fn upsample_reference(
        pixels: &[u8],
        stride: usize,
        out_w: usize,
        out_h: usize,
        fx: usize,
        fy: usize,
    ) -> Vec<u8> {
        let rows = pixels.len() / stride;
        // For each output coordinate: the two samples around it and the weight (of 256) of the second.
        let taps = |n: usize, f: usize, limit: usize| -> Vec<(usize, usize, u32)> {
            (0..n)
                .map(|o| {
                    let centre = ((2 * o + 1) as f32 / (2 * f) as f32 - 0.5).max(0.0);
                    let i0 = (centre as usize).min(limit - 1);
                    let i1 = (i0 + 1).min(limit - 1);
                    (i0, i1, ((centre - i0 as f32) * 256.0).round() as u32)
                })
                .collect()
        };
        let xs = taps(out_w, fx, stride);
        let ys = taps(out_h, fy, rows);
        let mut out = Vec::with_capacity(out_w * out_h);
        for &(y0, y1, wy) in &ys {
            let (r0, r1) = (
                &pixels[y0 * stride..(y0 + 1) * stride],
                &pixels[y1 * stride..(y1 + 1) * stride],
            );
            for &(x0, x1, wx) in &xs {
                let top = u32::from(r0[x0]) * (256 - wx) + u32::from(r0[x1]) * wx;
                let bottom = u32::from(r1[x0]) * (256 - wx) + u32::from(r1[x1]) * wx;
                out.push(((top * (256 - wy) + bottom * wy + (1 << 15)) >> 16) as u8);
            }
        }
        out
    }

    #[test]
    fn upsampling_by_two_matches_the_weight_table_interpolation() {
        let mut seed = 12345u32;
        for (fx, fy) in [(1, 1), (2, 1), (1, 2), (2, 2)] {
            for (stride, rows) in [(4, 3), (7, 5), (16, 16)] {
                let pixels: Vec<u8> = (0..stride * rows)
                    .map(|_| {
                        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                        (seed >> 16) as u8
                    })
                    .collect();
                // Output sizes as a reduced image's: up to the factor times the samples.
                for (out_w, out_h) in [(stride * fx, rows * fy), (stride * fx - 1, rows * fy - 1)] {
                    let ours = upsample(&pixels, stride, out_w, out_h, fx, fy);
                    let reference = upsample_reference(&pixels, stride, out_w, out_h, fx, fy);
                    assert_eq!(
                        &ours[..],
                        &reference[..],
                        "{fx}x{fy} {stride}x{rows} -> {out_w}x{out_h}"
                    );
                }
            }
        }
    }

    #[test]
    fn sign_extension_follows_the_standard() {
        assert_eq!(extend(0, 1), -1);
        assert_eq!(extend(1, 1), 1);
        assert_eq!(extend(0b00, 2), -3);
        assert_eq!(extend(0b01, 2), -2);
        assert_eq!(extend(0b10, 2), 2);
        assert_eq!(extend(0b111, 3), 7);
    }

    #[test]
    fn other_variants_and_damage_ask_for_the_general_decoder() {
        assert!(matches!(
            decode(b"\xFF\xD8", |w, h| (w, h), 16384),
            Reduced::Unsupported(_)
        ));
        assert!(matches!(
            decode(b"GIF89a", |w, h| (w, h), 16384),
            Reduced::Unsupported(_)
        ));
        // A progressive frame header.
        let progressive = [0xFF, 0xD8, 0xFF, 0xC2, 0, 11, 8, 0, 8, 0, 8, 1, 1, 0x11, 0];
        assert!(matches!(
            decode(&progressive, |w, h| (w, h), 16384),
            Reduced::Unsupported("progressive, lossless or arithmetic JPEG")
        ));
    }

    /// A smooth test picture with edges and some grain, `w` x `h` RGB.
    fn picture(w: usize, h: usize) -> Vec<u8> {
        let mut seed = 0x2545_F491_u32;
        let mut rgb = Vec::with_capacity(w * h * 3);
        for y in 0..h {
            for x in 0..w {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                let grain = (seed % 17) as i32 - 8;
                // A disc with a soft rim: chroma subsampling stays faithful, so the
                // comparison measures the decoder, not the upsampling filters.
                let r = (((x as f32 - w as f32 / 2.0).powi(2)
                    + (y as f32 - h as f32 / 2.0).powi(2))
                .sqrt()
                    - w as f32 / 3.0)
                    .clamp(-8.0, 8.0);
                let t = (r + 8.0) / 16.0;
                let outside = [(x * 255 / w) as f32, 90.0, (y * 255 / h) as f32];
                let base = [200.0, 150.0, 120.0]
                    .iter()
                    .zip(outside)
                    .map(|(a, b)| (a * (1.0 - t) + b * t) as i32)
                    .collect::<Vec<_>>();
                let base = [base[0], base[1], base[2]];
                rgb.extend(base.map(|c| (c + grain).clamp(0, 255) as u8));
            }
        }
        rgb
    }

    fn encode(
        rgb: &[u8],
        w: usize,
        h: usize,
        grey: bool,
        set: impl FnOnce(&mut jpeg_encoder::Encoder<&mut Vec<u8>>),
    ) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = jpeg_encoder::Encoder::new(&mut out, 90);
        set(&mut encoder);
        let (data, color) = if grey {
            let luma: Vec<u8> = rgb.chunks_exact(3).map(|p| p[1]).collect();
            (luma, jpeg_encoder::ColorType::Luma)
        } else {
            (rgb.to_vec(), jpeg_encoder::ColorType::Rgb)
        };
        encoder
            .encode(&data, w as u16, h as u16, color)
            .expect("encode");
        out
    }

    /// Full decode by jpeg-decoder, then the exact area average down to `out_w` x `out_h`
    /// (sizes here divide evenly).
    fn reference(jpeg: &[u8], out_w: usize, out_h: usize) -> Vec<u8> {
        let mut decoder = jpeg_decoder::Decoder::new(jpeg);
        let pixels = decoder.decode().expect("reference decode");
        let info = decoder.info().expect("info");
        let (w, h) = (usize::from(info.width), usize::from(info.height));
        let channels = pixels.len() / (w * h);
        let (sx, sy) = (w / out_w, h / out_h);
        let mut out = Vec::new();
        for oy in 0..out_h {
            for ox in 0..out_w {
                for c in 0..3 {
                    let mut sum = 0u32;
                    for y in oy * sy..(oy + 1) * sy {
                        for x in ox * sx..(ox + 1) * sx {
                            sum += u32::from(pixels[(y * w + x) * channels + c.min(channels - 1)]);
                        }
                    }
                    out.push((sum as f32 / (sx * sy) as f32).round() as u8);
                }
                out.push(255);
            }
        }
        out
    }

    fn assert_close(ours: &ReducedImage, reference: &[u8], what: &str, max_mean: f32) {
        assert_eq!(ours.rgba.len(), reference.len(), "{what}");
        let diffs: Vec<i32> = ours
            .rgba
            .iter()
            .zip(reference)
            .map(|(&a, &b)| (i32::from(a) - i32::from(b)).abs())
            .collect();
        let mean = diffs.iter().sum::<i32>() as f32 / diffs.len() as f32;
        let max = diffs.iter().copied().max().unwrap_or(0);
        assert!(
            mean < max_mean && max < 40,
            "{what}: mean {mean:.2}, max {max}"
        );
    }

    fn reduced(jpeg: &[u8], min_w: u32, min_h: u32) -> ReducedImage {
        match decode(jpeg, |_, _| (min_w, min_h), 16_384) {
            Reduced::Decoded(image) => image,
            Reduced::Unsupported(why) | Reduced::Damaged(why) => panic!("not decoded: {why}"),
        }
    }

    #[test]
    fn every_sampling_and_scale_matches_a_full_decode_averaged() {
        use jpeg_encoder::SamplingFactor::*;
        let (w, h) = (128, 160);
        let rgb = picture(w, h);
        for sampling in [F_1_1, F_2_2, F_2_1, F_1_2] {
            let jpeg = encode(&rgb, w, h, false, |e| e.set_sampling_factor(sampling));
            for (per_block, min) in [(1, 16), (2, 32), (4, 64), (8, 128)] {
                let (ow, oh) = (w * per_block / 8, h * per_block / 8);
                let ours = reduced(&jpeg, min, min);
                assert_eq!((ours.width, ours.height), (ow as u32, oh as u32));
                assert_eq!((ours.source_width, ours.source_height), (128, 160));
                // Subsampled chroma is upsampled differently (nearest vs. the reference's
                // smoothing), which only shows at the larger scales.
                let tolerance = if sampling == F_1_1 { 1.0 } else { 3.0 };
                let what = format!("{sampling:?} at {per_block}/8");
                assert_close(&ours, &reference(&jpeg, ow, oh), &what, tolerance);
            }
        }
    }

    #[test]
    fn grey_and_restart_markers_decode() {
        let (w, h) = (96, 64);
        let rgb = picture(w, h);
        let grey = encode(&rgb, w, h, true, |_| {});
        assert_close(
            &reduced(&grey, 24, 16),
            &reference(&grey, 24, 16),
            "grey",
            1.0,
        );
        let plain = encode(&rgb, w, h, false, |e| {
            e.set_sampling_factor(jpeg_encoder::SamplingFactor::F_2_2)
        });
        let plain_thumb = reduced(&plain, 24, 16);
        assert_close(&plain_thumb, &reference(&plain, 24, 16), "4:2:0", 3.0);
        for interval in [1, 3, 7] {
            let jpeg = encode(&rgb, w, h, false, |e| {
                e.set_sampling_factor(jpeg_encoder::SamplingFactor::F_2_2);
                e.set_restart_interval(interval);
            });
            // Restart markers change the bit stream, not the coefficients.
            assert_ne!(jpeg.len(), plain.len());
            let with_restarts = reduced(&jpeg, 24, 16);
            assert_eq!(
                with_restarts.rgba, plain_thumb.rgba,
                "restart every {interval}"
            );
        }
    }

    #[test]
    fn blocks_without_an_end_of_block_code_decode() {
        // Strong grain at quality 100: nearly every block's last coefficient is non-zero,
        // so blocks end at coefficient 63 and the next block's DC code follows directly.
        let (w, h) = (64, 64);
        let mut seed = 99u32;
        let rgb: Vec<u8> = (0..w * h * 3)
            .map(|_| {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (seed >> 24) as u8
            })
            .collect();
        let mut out = Vec::new();
        let mut encoder = jpeg_encoder::Encoder::new(&mut out, 100);
        encoder.set_sampling_factor(jpeg_encoder::SamplingFactor::F_1_1);
        encoder
            .encode(&rgb, w as u16, h as u16, jpeg_encoder::ColorType::Rgb)
            .expect("encode");
        for (min, side) in [(16, 16), (32, 32)] {
            let ours = reduced(&out, min, min);
            assert_close(&ours, &reference(&out, side, side), "no EOB", 1.0);
        }
    }

    #[test]
    fn odd_sizes_cover_the_partial_blocks() {
        let (w, h) = (101, 77);
        let jpeg = encode(&picture(w, h), w, h, false, |e| {
            e.set_sampling_factor(jpeg_encoder::SamplingFactor::F_2_2)
        });
        let ours = reduced(&jpeg, 20, 10);
        assert_eq!((ours.width, ours.height), (26, 20));
        assert_eq!(ours.rgba.len(), 26 * 20 * 4);
    }

    #[test]
    fn progressive_and_cut_files_are_left_to_the_general_decoder() {
        let (w, h) = (64, 64);
        let rgb = picture(w, h);
        let progressive = encode(&rgb, w, h, false, |e| e.set_progressive(true));
        assert!(matches!(
            decode(&progressive, |w, h| (w, h), 16_384),
            Reduced::Unsupported(_)
        ));
        let baseline = encode(&rgb, w, h, false, |_| {});
        for cut in [baseline.len() / 2, baseline.len() - 40] {
            assert!(
                matches!(
                    decode(&baseline[..cut], |w, h| (w / 4, h / 4), 16_384),
                    Reduced::Damaged(_)
                ),
                "cut at {cut}"
            );
        }
        // Random damage never panics.
        let mut seed = 7u32;
        for _ in 0..200 {
            let mut bad = baseline.clone();
            for _ in 0..4 {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let at = 2 + (seed as usize >> 8) % (bad.len() - 2);
                bad[at] = (seed >> 3) as u8;
            }
            let _ = decode(&bad, |w, h| (w / 4, h / 4), 16_384);
        }
    }
}
