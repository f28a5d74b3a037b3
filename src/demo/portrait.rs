//! Synthetic 384x512 portraits. A person's identity (skin, face shape, hair, background,
//! clothes) is fixed; each photo varies pose and light slightly and puts on a mask.
//! Gender cues (hair length, jaw, brows, beard, lipstick) and age cues (grey hair,
//! wrinkles, eye bags, sagging lower face, receding hairline) overlap between groups, and
//! the age cues grow continuously with years so that 29/30 and 59/60 look alike.

use super::raster::{
    edge, ellipse, hash01, mix, paint, ring, scale, segment, smoothstep, value_noise, Frame, Rgb,
};
use super::rng::Rng;
use crate::dataset::Gender;
use image::RgbImage;

pub const WIDTH: u32 = 384;
pub const HEIGHT: u32 = 512;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HairStyle {
    Short,
    Medium,
    Long,
}

/// Everything about a person's look that does not change between their photos.
#[derive(Debug, Clone)]
pub struct Identity {
    pub skin: Rgb,
    pub hair: Rgb,
    pub hair_style: HairStyle,
    pub fringe: bool,
    pub face_rx: f32,
    pub face_ry: f32,
    /// 0 tapered chin .. 1 square jaw.
    pub jaw: f32,
    pub eye_spacing: f32,
    pub eye_size: f32,
    pub brow_width: f32,
    pub lips: Rgb,
    /// Stubble strength 0..1.
    pub beard: f32,
    pub glasses: Option<Rgb>,
    /// Hairline recession tendency 0..1 (grows with age).
    pub balding: f32,
    /// Per-person shift of the age cues in years (people age differently).
    pub grey_shift: f32,
    pub wrinkle_shift: f32,
    pub bg_top: Rgb,
    pub bg_bottom: Rgb,
    pub bg_seed: u32,
    pub shirt: Rgb,
    pub texture_seed: u32,
}

impl Identity {
    /// Draws an identity for a person of this (true) gender. Distributions overlap, but
    /// about as little as real faces do for a trained model: most people's gender is
    /// clear from hair, brows and jaw, a minority (short-haired women, men with a bob)
    /// is ambiguous. Age, not gender, is meant to be the hard field, as in the real data.
    pub fn sample(rng: &mut Rng, gender: Gender) -> Self {
        let female = gender == Gender::Female;
        let tone = rng.unit();
        let skin = mix([238.0, 205.0, 180.0], [185.0, 138.0, 105.0], tone);
        let skin = [
            skin[0] + rng.normal(0.0, 4.0),
            skin[1] + rng.normal(0.0, 4.0),
            skin[2] + rng.normal(0.0, 4.0),
        ];
        let hair = match rng.below(10) {
            0..=5 => [28.0, 24.0, 24.0],
            6..=7 => [58.0, 42.0, 32.0],
            _ if female => [110.0, 72.0, 45.0],
            _ => [70.0, 52.0, 40.0],
        };
        let hair = scale(hair, 1.0 + rng.normal(0.0, 0.08));
        let style_roll = rng.unit();
        let hair_style = if female {
            if style_roll < 0.80 {
                HairStyle::Long
            } else if style_roll < 0.92 {
                HairStyle::Medium
            } else {
                HairStyle::Short
            }
        } else if style_roll < 0.90 {
            HairStyle::Short
        } else if style_roll < 0.98 {
            HairStyle::Medium
        } else {
            HairStyle::Long
        };
        let lipstick = female && rng.unit() < 0.6;
        let natural_lips = mix(skin, [190.0, 90.0, 90.0], 0.45);
        let lips = if lipstick {
            [
                rng.range(170.0, 215.0),
                rng.range(35.0, 80.0),
                rng.range(55.0, 95.0),
            ]
        } else {
            natural_lips
        };
        let pastel = |rng: &mut Rng| {
            let base = rng.range(120.0, 225.0);
            [
                base + rng.normal(0.0, 18.0),
                base + rng.normal(0.0, 18.0),
                base + rng.normal(0.0, 18.0),
            ]
        };
        let bg_top = pastel(rng);
        let bg_bottom = scale(bg_top, rng.range(0.75, 1.05));
        Identity {
            skin,
            hair,
            hair_style,
            fringe: rng.unit() < if female { 0.45 } else { 0.25 },
            face_rx: rng.normal(if female { 82.0 } else { 92.0 }, 4.5),
            face_ry: rng.normal(if female { 114.0 } else { 120.0 }, 5.0),
            jaw: (rng.normal(if female { 0.3 } else { 0.7 }, 0.12)).clamp(0.0, 1.0),
            eye_spacing: rng.normal(33.0, 2.0),
            eye_size: rng.normal(if female { 1.06 } else { 1.0 }, 0.07),
            brow_width: rng.normal(if female { 3.2 } else { 6.4 }, 0.8).max(2.0),
            lips,
            beard: if !female && rng.unit() < 0.5 {
                rng.range(0.35, 0.8)
            } else {
                0.0
            },
            glasses: (rng.unit() < 0.15).then(|| match rng.below(3) {
                0 => [25.0, 25.0, 30.0],
                1 => [120.0, 80.0, 50.0],
                _ => [160.0, 160.0, 170.0],
            }),
            balding: if !female && rng.unit() < 0.45 {
                rng.range(0.4, 1.0)
            } else {
                0.0
            },
            grey_shift: rng.normal(0.0, 5.0),
            wrinkle_shift: rng.normal(0.0, 5.0),
            bg_top,
            bg_bottom,
            bg_seed: rng.next_u32(),
            shirt: [
                rng.range(20.0, 230.0),
                rng.range(20.0, 230.0),
                rng.range(20.0, 230.0),
            ],
            texture_seed: rng.next_u32(),
        }
    }
}

/// How the mask is worn in one photo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaskFit {
    /// Covers nose and mouth.
    Correct,
    /// Below the nose: mouth covered, nose out.
    BelowNose,
    /// Pulled down onto the chin.
    OnChin,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaskKind {
    /// Pleated surgical mask.
    Pleated,
    /// Shaped mask with a centre seam.
    Seamed,
    /// Plain cloth mask.
    Cloth,
}

#[derive(Debug, Clone, Copy)]
pub struct MaskLook {
    pub fit: MaskFit,
    pub kind: MaskKind,
    pub colour: Rgb,
}

const MASK_COLOURS: [Rgb; 8] = [
    [240.0, 241.0, 243.0],
    [160.0, 200.0, 232.0],
    [32.0, 32.0, 36.0],
    [140.0, 141.0, 146.0],
    [238.0, 178.0, 198.0],
    [42.0, 52.0, 92.0],
    [222.0, 204.0, 172.0],
    [120.0, 170.0, 140.0],
];

impl MaskLook {
    pub fn sample(rng: &mut Rng, fit: MaskFit) -> Self {
        let kind = match rng.below(3) {
            0 => MaskKind::Pleated,
            1 => MaskKind::Seamed,
            _ => MaskKind::Cloth,
        };
        let base = MASK_COLOURS[rng.below(MASK_COLOURS.len() as u32) as usize];
        let colour = scale(base, rng.range(0.93, 1.04));
        MaskLook { fit, kind, colour }
    }
}

/// Small per-photo changes of pose and light.
#[derive(Debug, Clone, Copy)]
pub struct Pose {
    pub dx: f32,
    pub dy: f32,
    pub angle: f32,
    pub scale: f32,
    pub brightness: f32,
    /// Left-right light gradient.
    pub light_tilt: f32,
    pub warmth: f32,
    pub noise_seed: u32,
}

impl Pose {
    pub fn sample(rng: &mut Rng) -> Self {
        Pose {
            dx: rng.normal(0.0, 8.0),
            dy: rng.normal(0.0, 6.0),
            angle: rng.normal(0.0, 0.06),
            scale: rng.normal(1.0, 0.03),
            brightness: rng.normal(1.0, 0.06),
            light_tilt: rng.normal(0.0, 0.07),
            warmth: rng.normal(0.0, 0.025),
            noise_seed: rng.next_u32(),
        }
    }
}

/// Draws one photo of a person of `age` years.
pub fn render(id: &Identity, age: u32, pose: &Pose, mask: Option<MaskLook>) -> RgbImage {
    let mut img = RgbImage::new(WIDTH, HEIGHT);
    let age = age as f32;
    let grey = 0.9 * smoothstep(40.0, 72.0, age + id.grey_shift);
    let wrinkles = smoothstep(27.0, 66.0, age + id.wrinkle_shift);
    let sag = smoothstep(36.0, 72.0, age + id.wrinkle_shift * 0.5);
    let recession = id.balding * smoothstep(28.0, 66.0, age);
    let f = Frame::new(
        WIDTH as f32 / 2.0 + pose.dx,
        236.0 + pose.dy,
        pose.angle,
        pose.scale,
    );
    let (rx, ry) = (id.face_rx, id.face_ry);
    let tex = id.texture_seed;

    background(&mut img, id);

    // Hair behind the head and shoulders.
    let back_len = match id.hair_style {
        HairStyle::Long => 190.0,
        HairStyle::Medium => 70.0,
        HairStyle::Short => -1000.0,
    };
    let hair_at = |u: f32, v: f32| -> Rgb {
        let strand = value_noise(u * 3.0 + v * 0.15, v * 0.08, 4.0, tex);
        let c = scale(id.hair, 0.8 + 0.45 * strand);
        if hash01((u * 0.8) as i32, (v * 0.12) as i32, tex ^ 0x5151) < grey {
            mix([178.0, 176.0, 174.0], [222.0, 220.0, 216.0], strand)
        } else {
            c
        }
    };
    if back_len > 0.0 {
        let hw = rx + 22.0;
        paint(
            &mut img,
            &f,
            (-hw - 4.0, -ry - 30.0, hw + 4.0, back_len + 20.0),
            |u, v| {
                let top = ellipse(u, v, 0.0, -8.0, hw, ry + 20.0, 2.0);
                let ragged = back_len + 12.0 * value_noise(u, 0.0, 9.0, tex ^ 7);
                let body = if v > -8.0 {
                    edge(hw - u.abs(), 2.0) * edge(ragged - v, 3.0)
                } else {
                    0.0
                };
                Some((hair_at(u, v), top.max(body)))
            },
        );
    }
    // Shoulders and neck.
    paint(&mut img, &f, (-220.0, 150.0, 220.0, 420.0), |u, v| {
        let shade = 0.92 + 0.08 * value_noise(u, v, 30.0, tex ^ 3);
        Some((
            scale(id.shirt, shade),
            ellipse(u, v, 0.0, 300.0, 195.0, 130.0, 2.0),
        ))
    });
    let neck_w = rx * (0.5 + 0.08 * id.jaw);
    paint(
        &mut img,
        &f,
        (-neck_w - 2.0, 40.0, neck_w + 2.0, 200.0),
        |u, v| {
            let a = edge(neck_w - u.abs(), 1.5)
                * edge(if v < 185.0 { 1.0 } else { 185.0 - v + 1.0 }, 2.0);
            Some((scale(id.skin, 0.82), a))
        },
    );
    // Ears.
    for side in [-1.0f32, 1.0] {
        paint(
            &mut img,
            &f,
            (side * rx - 16.0, -22.0, side * rx + 16.0, 34.0),
            |u, v| {
                Some((
                    scale(id.skin, 0.9),
                    ellipse(u, v, side * (rx - 2.0), 6.0, 11.0, 22.0, 1.5),
                ))
            },
        );
    }

    // Face: the lower half tapers towards the chin (less for square jaws) and widens with sag.
    let face_half_width = |v: f32| -> f32 {
        let y = (v / ry).clamp(-1.0, 1.0);
        let base = rx * (1.0 - y * y).max(0.0).sqrt();
        if y > 0.0 {
            let taper = 1.0 - (1.0 - id.jaw) * 0.28 * y * y;
            let jowl = 1.0 + sag * 0.09 * (y * std::f32::consts::PI).sin();
            base * taper * jowl
        } else {
            base
        }
    };
    let face_cov = |u: f32, v: f32| -> f32 {
        edge(face_half_width(v) - u.abs(), 1.5) * edge(ry - v.abs(), 1.5)
    };
    let dull = 1.0 - 0.06 * wrinkles;
    paint(
        &mut img,
        &f,
        (-rx - 12.0, -ry - 2.0, rx + 12.0, ry + 2.0),
        |u, v| {
            let a = face_cov(u, v);
            if a <= 0.0 {
                return None;
            }
            let d2 = (u / rx).powi(2) + (v / ry).powi(2);
            let mottle = 0.97 + 0.05 * value_noise(u, v, 6.0, tex ^ 11);
            Some((scale(id.skin, (1.02 - 0.1 * d2) * mottle * dull), a))
        },
    );
    // Stubble on jaw and upper lip.
    if id.beard > 0.0 {
        paint(&mut img, &f, (-rx, 30.0, rx, ry), |u, v| {
            let a = face_cov(u, v) * edge(v - 38.0 - 4.0 * (u / rx).powi(2) * 10.0, 3.0);
            let dots = hash01(u as i32, v as i32, tex ^ 99);
            Some((
                mix(id.hair, [150.0, 150.0, 150.0], grey * 0.7),
                a * id.beard * 0.55 * (0.6 + 0.4 * dots),
            ))
        });
    }

    // Age lines: forehead, crow's feet, nasolabial folds, eye bags.
    if wrinkles > 0.02 {
        let line = scale(id.skin, 0.6);
        paint(&mut img, &f, (-rx, -75.0, rx, 80.0), |u, v| {
            let mut a: f32 = 0.0;
            for (k, lv) in [-60.0f32, -51.0, -42.0].iter().enumerate() {
                let reach = 30.0 + 12.0 * wrinkles + k as f32 * 4.0;
                let curve = lv + 5.0 * (u / reach).powi(2);
                let w = edge(reach - u.abs(), 6.0);
                a = a.max(
                    edge(1.1 - (v - curve).abs(), 1.0)
                        * w
                        * smoothstep(k as f32 * 0.2, 1.0, wrinkles),
                );
            }
            for side in [-1.0f32, 1.0] {
                let corner = side * (id.eye_spacing + 14.0);
                for dv in [-5.0f32, 0.0, 5.0] {
                    a = a.max(
                        segment(
                            u,
                            v,
                            (corner, -10.0 + dv * 0.4),
                            (corner + side * 12.0, -10.0 + dv),
                            1.3,
                        ) * wrinkles,
                    );
                }
                let fold = segment(u, v, (side * 15.0, 30.0), (side * 30.0, 66.0), 2.2);
                a = a.max(fold * (0.35 + 0.65 * wrinkles) * wrinkles);
                let bag =
                    ellipse(u, v, side * id.eye_spacing, 0.0, 12.0, 5.0, 2.0) * edge(v + 2.0, 2.0);
                a = a.max(bag * wrinkles * 0.7);
            }
            Some((line, a * 0.55))
        });
    }

    // Eyes, brows, nose, mouth.
    for side in [-1.0f32, 1.0] {
        let ex = side * id.eye_spacing;
        let es = id.eye_size;
        paint(&mut img, &f, (ex - 20.0, -40.0, ex + 20.0, 2.0), |u, v| {
            let white = ellipse(u, v, ex, -10.0, 11.5 * es, 5.2 * es, 1.2);
            if white <= 0.0 {
                let lid = segment(
                    u,
                    v,
                    (ex - 11.0 * es, -11.0),
                    (ex + 11.0 * es, -12.0 - 2.0 * es),
                    1.4,
                );
                let brow_arch = -27.0 - 3.0 * (1.0 - ((u - ex) / 14.0).powi(2)).max(0.0);
                let brow = edge(id.brow_width * 0.5 - (v - brow_arch).abs(), 1.0)
                    * edge(15.0 - (u - ex).abs(), 2.0);
                let brow_colour = mix(id.hair, [185.0, 182.0, 178.0], grey * 0.6);
                return if brow > lid {
                    Some((brow_colour, brow * 0.9))
                } else {
                    Some(([45.0, 35.0, 32.0], lid * 0.8))
                };
            }
            let iris = ellipse(u, v, ex, -10.0, 4.8 * es, 4.8 * es, 1.0);
            let pupil = ellipse(u, v, ex, -10.0, 2.0 * es, 2.0 * es, 0.8);
            let c = mix(
                mix([236.0, 234.0, 230.0], [62.0, 44.0, 36.0], iris),
                [12.0, 10.0, 10.0],
                pupil,
            );
            Some((c, white))
        });
    }
    paint(&mut img, &f, (-16.0, 0.0, 16.0, 38.0), |u, v| {
        let bridge = ellipse(u, v, 0.0, 20.0, 9.0, 16.0, 4.0) * 0.12;
        let nostrils = ellipse(u, v, -6.0, 31.0, 3.5, 2.2, 1.0)
            .max(ellipse(u, v, 6.0, 31.0, 3.5, 2.2, 1.0))
            * 0.55;
        Some((scale(id.skin, 0.55), bridge.max(nostrils)))
    });
    paint(&mut img, &f, (-30.0, 46.0, 30.0, 72.0), |u, v| {
        let lips = ellipse(u, v, 0.0, 58.0, 22.0, 7.0, 1.2);
        let line = segment(u, v, (-20.0, 58.0), (20.0, 58.0), 1.5);
        if line > 0.3 {
            Some(([70.0, 35.0, 35.0], line * 0.8))
        } else {
            Some((id.lips, lips))
        }
    });

    // Hair on top of the head; the hairline recedes with age for some men.
    let hairline = |u: f32| -> f32 {
        let temples = 22.0 * (u / rx).powi(2);
        let base = if id.fringe { -44.0 } else { -70.0 };
        base + temples - recession * 38.0 * (1.0 - (u / rx).powi(2)).max(0.0)
    };
    let thickness = match id.hair_style {
        HairStyle::Short => 10.0,
        HairStyle::Medium => 16.0,
        HairStyle::Long => 18.0,
    };
    paint(
        &mut img,
        &f,
        (-rx - 24.0, -ry - 30.0, rx + 24.0, 40.0),
        |u, v| {
            let cap = ellipse(u, v, 0.0, -6.0, rx + thickness * 0.6, ry + thickness, 1.5);
            let sides = if id.hair_style == HairStyle::Short {
                -10.0
            } else {
                25.0
            };
            let below_line = edge(hairline(u) - v, 2.5);
            let side_burn = edge(sides - v, 2.0) * edge(u.abs() - (face_half_width(v) - 6.0), 2.0);
            let thin = 1.0 - 0.5 * recession * hash01(u as i32, v as i32, tex ^ 3);
            Some((hair_at(u, v), cap * below_line.max(side_burn) * thin))
        },
    );

    if let Some(glasses) = id.glasses {
        paint(&mut img, &f, (-rx, -28.0, rx, 8.0), |u, v| {
            let mut a: f32 = 0.0;
            for side in [-1.0f32, 1.0] {
                a = a.max(ring(u, v, side * id.eye_spacing, -10.0, 15.0, 2.2));
                a = a.max(segment(
                    u,
                    v,
                    (side * (id.eye_spacing + 15.0), -12.0),
                    (side * (rx - 2.0), -14.0),
                    2.0,
                ));
            }
            a = a.max(segment(
                u,
                v,
                (-id.eye_spacing + 15.0, -12.0),
                (id.eye_spacing - 15.0, -12.0),
                2.0,
            ));
            Some((glasses, a))
        });
    }

    if let Some(mask) = mask {
        draw_mask(&mut img, &f, id, &face_half_width, mask);
    }
    finish(&mut img, pose);
    img
}

fn background(img: &mut RgbImage, id: &Identity) {
    let h = img.height() as f32;
    let mut blot = 0.0;
    for (x, y, p) in img.enumerate_pixels_mut() {
        let c = mix(id.bg_top, id.bg_bottom, y as f32 / h);
        // The blots are 90 px wide: sampling them every 4 px is indistinguishable.
        if x % 4 == 0 {
            blot = value_noise(x as f32, y as f32, 90.0, id.bg_seed) - 0.5;
        }
        for (out, ch) in p.0.iter_mut().zip(c) {
            *out = (ch * (1.0 + 0.12 * blot)).clamp(0.0, 255.0) as u8;
        }
    }
}

fn draw_mask(
    img: &mut RgbImage,
    f: &Frame,
    id: &Identity,
    half_width: &dyn Fn(f32) -> f32,
    mask: MaskLook,
) {
    let (rx, ry) = (id.face_rx, id.face_ry);
    // Upper edge: over the nose bridge when worn right; below the nose or the mouth when not.
    let (top_centre, peak, bottom) = match mask.fit {
        MaskFit::Correct => (4.0, 12.0, ry + 10.0),
        MaskFit::BelowNose => (40.0, 4.0, ry + 12.0),
        MaskFit::OnChin => (74.0, 2.0, ry + 24.0),
    };
    let top = |u: f32| top_centre - peak * (1.0 - (u / (rx * 0.7)).powi(2)).max(0.0);
    let shade_seed = id.texture_seed ^ 0xabcd;
    paint(
        img,
        f,
        (-rx - 10.0, top_centre - peak - 2.0, rx + 10.0, bottom + 4.0),
        |u, v| {
            let width = half_width(v.min(ry * 0.6)) + 5.0;
            let a = edge(width - u.abs(), 1.5)
                * edge(v - top(u), 1.5)
                * edge(bottom - v, 2.0)
                * edge(bottom + 2.0 - ((u / (rx + 5.0)).powi(2) * 40.0) - v, 2.0);
            if a <= 0.0 {
                return None;
            }
            let depth = 1.0 - 0.12 * (u / (rx + 5.0)).powi(2);
            let mut c = scale(
                mask.colour,
                depth * (0.97 + 0.04 * value_noise(u, v, 5.0, shade_seed)),
            );
            match mask.kind {
                MaskKind::Pleated => {
                    let rel = v - top(u);
                    for k in 1..4 {
                        let fold = edge(1.0 - (rel - k as f32 * 13.0).abs(), 1.0);
                        c = mix(c, scale(mask.colour, 0.78), fold * 0.8);
                    }
                }
                MaskKind::Seamed => {
                    c = mix(c, scale(mask.colour, 0.72), edge(1.0 - u.abs(), 1.0));
                }
                MaskKind::Cloth => {}
            }
            Some((c, a))
        },
    );
    // Ear loops.
    let loop_colour = mix(mask.colour, [235.0, 235.0, 235.0], 0.3);
    let y_mid = top_centre + 14.0;
    paint(img, f, (-rx - 16.0, -20.0, rx + 16.0, bottom), |u, v| {
        let mut a: f32 = 0.0;
        for side in [-1.0f32, 1.0] {
            let edge_u = side * (half_width(y_mid.min(ry * 0.6)) + 4.0);
            a = a.max(segment(
                u,
                v,
                (edge_u, y_mid),
                (side * (rx + 2.0), -8.0),
                2.0,
            ));
            a = a.max(segment(
                u,
                v,
                (
                    side * (half_width((bottom - 20.0).min(ry * 0.6)) + 3.0),
                    bottom - 20.0,
                ),
                (side * (rx + 2.0), 22.0),
                2.0,
            ));
        }
        Some((loop_colour, a))
    });
}

/// Light (brightness, left-right gradient, warmth) and sensor noise over the whole photo.
fn finish(img: &mut RgbImage, pose: &Pose) {
    let w = img.width() as f32;
    let gains = [1.0 + pose.warmth, 1.0, 1.0 - pose.warmth];
    for (x, y, p) in img.enumerate_pixels_mut() {
        let light = pose.brightness * (1.0 + pose.light_tilt * (x as f32 / w - 0.5) * 2.0);
        let n = (hash01(x as i32, y as i32, pose.noise_seed) - 0.5) * 7.0;
        for (out, gain) in p.0.iter_mut().zip(gains) {
            *out = (*out as f32 * light * gain + n).clamp(0.0, 255.0) as u8;
        }
    }
}
