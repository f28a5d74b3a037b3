//! A small soft-edged rasteriser on `image::RgbImage`: shapes are coverage functions in a
//! local frame (head coordinates) that may be shifted, rotated and scaled into the image.

use image::RgbImage;

pub type Rgb = [f32; 3];

/// Maps local coordinates (origin at the head centre, `u` right, `v` down, in unscaled
/// pixels) to image pixels.
#[derive(Debug, Clone, Copy)]
pub struct Frame {
    pub cx: f32,
    pub cy: f32,
    pub cos: f32,
    pub sin: f32,
    pub scale: f32,
}

impl Frame {
    pub fn new(cx: f32, cy: f32, angle_rad: f32, scale: f32) -> Self {
        Frame {
            cx,
            cy,
            cos: angle_rad.cos(),
            sin: angle_rad.sin(),
            scale,
        }
    }
    pub fn to_image(&self, u: f32, v: f32) -> (f32, f32) {
        let (x, y) = (u * self.scale, v * self.scale);
        (
            self.cx + x * self.cos - y * self.sin,
            self.cy + x * self.sin + y * self.cos,
        )
    }
    pub fn to_local(&self, x: f32, y: f32) -> (f32, f32) {
        let (dx, dy) = (x - self.cx, y - self.cy);
        (
            (dx * self.cos + dy * self.sin) / self.scale,
            (-dx * self.sin + dy * self.cos) / self.scale,
        )
    }
}

/// A box in local coordinates `(u0, v0, u1, v1)`.
pub type LocalBox = (f32, f32, f32, f32);

/// Paints every pixel whose centre maps into `bbox`: `shade(u, v)` returns a colour and an
/// opacity in 0..1 (`None` or 0 leaves the pixel alone).
pub fn paint(
    img: &mut RgbImage,
    frame: &Frame,
    bbox: LocalBox,
    mut shade: impl FnMut(f32, f32) -> Option<(Rgb, f32)>,
) {
    let (u0, v0, u1, v1) = bbox;
    let corners = [
        frame.to_image(u0, v0),
        frame.to_image(u1, v0),
        frame.to_image(u0, v1),
        frame.to_image(u1, v1),
    ];
    let (w, h) = (img.width() as f32, img.height() as f32);
    let x0 = corners
        .iter()
        .map(|c| c.0)
        .fold(f32::MAX, f32::min)
        .floor()
        .max(0.0) as u32;
    let x1 = corners
        .iter()
        .map(|c| c.0)
        .fold(f32::MIN, f32::max)
        .ceil()
        .min(w) as u32;
    let y0 = corners
        .iter()
        .map(|c| c.1)
        .fold(f32::MAX, f32::min)
        .floor()
        .max(0.0) as u32;
    let y1 = corners
        .iter()
        .map(|c| c.1)
        .fold(f32::MIN, f32::max)
        .ceil()
        .min(h) as u32;
    for y in y0..y1 {
        for x in x0..x1 {
            let (u, v) = frame.to_local(x as f32 + 0.5, y as f32 + 0.5);
            if u < u0 || u > u1 || v < v0 || v > v1 {
                continue;
            }
            if let Some((colour, alpha)) = shade(u, v) {
                if alpha > 0.0 {
                    blend(img, x, y, colour, alpha.min(1.0));
                }
            }
        }
    }
}

pub fn blend(img: &mut RgbImage, x: u32, y: u32, colour: Rgb, alpha: f32) {
    let p = img.get_pixel_mut(x, y);
    for (out, c) in p.0.iter_mut().zip(colour) {
        let old = *out as f32;
        *out = (old + (c - old) * alpha).round().clamp(0.0, 255.0) as u8;
    }
}

/// Opacity of a soft edge: 1 well inside (`signed` > 0 is inside), 0 outside, a ramp of
/// `feather` pixels across the edge.
pub fn edge(signed: f32, feather: f32) -> f32 {
    (signed / feather + 0.5).clamp(0.0, 1.0)
}

/// Coverage of an axis-aligned ellipse (in local coordinates).
pub fn ellipse(u: f32, v: f32, cu: f32, cv: f32, ru: f32, rv: f32, feather: f32) -> f32 {
    let (du, dv) = ((u - cu) / ru, (v - cv) / rv);
    let d = (du * du + dv * dv).sqrt();
    edge((1.0 - d) * ru.min(rv), feather)
}

/// Coverage of a stroke of `width` along the segment `a`-`b`.
pub fn segment(u: f32, v: f32, a: (f32, f32), b: (f32, f32), width: f32) -> f32 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len2 = (dx * dx + dy * dy).max(1e-6);
    let t = (((u - a.0) * dx + (v - a.1) * dy) / len2).clamp(0.0, 1.0);
    let (px, py) = (a.0 + t * dx - u, a.1 + t * dy - v);
    edge(width * 0.5 - (px * px + py * py).sqrt(), 1.0)
}

/// Coverage of a ring (outline of a circle).
pub fn ring(u: f32, v: f32, cu: f32, cv: f32, r: f32, width: f32) -> f32 {
    let d = ((u - cu).powi(2) + (v - cv).powi(2)).sqrt();
    edge(width * 0.5 - (d - r).abs(), 1.0)
}

pub fn smoothstep(lo: f32, hi: f32, x: f32) -> f32 {
    let t = ((x - lo) / (hi - lo)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

pub fn mix(a: Rgb, b: Rgb, t: f32) -> Rgb {
    [
        a[0] + (b[0] - a[0]) * t,
        a[1] + (b[1] - a[1]) * t,
        a[2] + (b[2] - a[2]) * t,
    ]
}

pub fn scale(c: Rgb, k: f32) -> Rgb {
    [c[0] * k, c[1] * k, c[2] * k]
}

/// A deterministic hash of integer coordinates to 0..1 (texture noise).
pub fn hash01(x: i32, y: i32, seed: u32) -> f32 {
    let mut h = (x as u32).wrapping_mul(0x27d4_eb2d)
        ^ (y as u32).wrapping_mul(0x1656_67b1)
        ^ seed.wrapping_mul(0x9e37_79b9);
    h ^= h >> 15;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^= h >> 16;
    (h >> 8) as f32 / (1u32 << 24) as f32
}

/// Smooth value noise in 0..1 with cells of `cell` pixels.
pub fn value_noise(u: f32, v: f32, cell: f32, seed: u32) -> f32 {
    let (fu, fv) = (u / cell, v / cell);
    let (iu, iv) = (fu.floor(), fv.floor());
    let (tu, tv) = (fu - iu, fv - iv);
    let (su, sv) = (tu * tu * (3.0 - 2.0 * tu), tv * tv * (3.0 - 2.0 * tv));
    let (i, j) = (iu as i32, iv as i32);
    let a = hash01(i, j, seed);
    let b = hash01(i + 1, j, seed);
    let c = hash01(i, j + 1, seed);
    let d = hash01(i + 1, j + 1, seed);
    let top = a + (b - a) * su;
    let bottom = c + (d - c) * su;
    top + (bottom - top) * sv
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_round_trips() {
        let f = Frame::new(100.0, 200.0, 0.2, 1.1);
        let (x, y) = f.to_image(13.0, -7.0);
        let (u, v) = f.to_local(x, y);
        assert!((u - 13.0).abs() < 1e-3 && (v + 7.0).abs() < 1e-3);
    }

    #[test]
    fn ellipse_paints_inside_only() {
        let mut img = RgbImage::new(40, 40);
        let f = Frame::new(20.0, 20.0, 0.0, 1.0);
        paint(&mut img, &f, (-10.0, -10.0, 10.0, 10.0), |u, v| {
            Some(([255.0, 0.0, 0.0], ellipse(u, v, 0.0, 0.0, 8.0, 8.0, 1.0)))
        });
        assert_eq!(img.get_pixel(20, 20).0, [255, 0, 0]);
        assert_eq!(img.get_pixel(2, 2).0, [0, 0, 0]);
        assert_eq!(img.get_pixel(20, 35).0, [0, 0, 0]);
    }

    #[test]
    fn noise_is_deterministic_and_bounded() {
        for i in 0..100 {
            let a = value_noise(i as f32 * 1.7, 3.0, 8.0, 5);
            assert!((0.0..=1.0).contains(&a));
            assert_eq!(a, value_noise(i as f32 * 1.7, 3.0, 8.0, 5));
        }
    }
}
