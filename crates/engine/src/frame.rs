//! Framing: where the crop goes, from the head's crown, chin and eye line and the spec's bands.
//!
//! Works in an *upright* frame: source coordinates rotated about the eye centre so the eyes are level.
//! In that frame the eye line is y = 0, the crown is above (y < 0) and the chin below (y > 0).

use crate::geom::{Band, Point};
use crate::spec::PhotoSpec;
use serde::Serialize;

/// The head, measured on the source image.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Head {
    /// Eye centre in source pixels: the pivot of the upright frame.
    pub pivot: Point,
    /// Roll of the eye line in degrees (positive = clockwise in image coordinates).
    pub roll_deg: f32,
    /// Crown (top of hair) y in the upright frame (negative).
    pub crown_y: f32,
    /// Chin y in the upright frame (positive).
    pub chin_y: f32,
    /// Horizontal centre of the face in the upright frame.
    pub center_x: f32,
    /// Width of the head at ear level (ear to ear where the ears show), source pixels.
    pub width: f32,
}

impl Head {
    /// Source point → upright frame.
    pub fn to_upright(&self, p: Point) -> Point {
        let (s, c) = (-self.roll_deg).to_radians().sin_cos();
        let (dx, dy) = (p.x - self.pivot.x, p.y - self.pivot.y);
        Point::new(c * dx - s * dy, s * dx + c * dy)
    }
    /// Upright frame → source point.
    pub fn to_source(&self, p: Point) -> Point {
        let (s, c) = self.roll_deg.to_radians().sin_cos();
        Point::new(
            self.pivot.x + c * p.x - s * p.y,
            self.pivot.y + s * p.x + c * p.y,
        )
    }
    pub fn height(&self) -> f32 {
        self.chin_y - self.crown_y
    }
}

/// Where the output comes from: an upright-frame rectangle and its scale.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Framing {
    /// Output pixels per source pixel.
    pub scale: f32,
    /// Top-left of the crop in the upright frame.
    pub left: f32,
    pub top: f32,
    /// Rotation to apply, degrees (the head's roll).
    pub roll_deg: f32,
    /// Planned positions in output pixels.
    pub head_height: f32,
    pub crown_gap: f32,
    pub eye_line: f32,
}

impl Framing {
    /// Output pixel centre (i, j) → source point.
    pub fn source_of(&self, head: &Head, i: f32, j: f32) -> Point {
        let up = Point::new(self.left + i / self.scale, self.top + j / self.scale);
        head.to_source(up)
    }
    /// Crop size in source pixels.
    pub fn source_size(&self, spec: &PhotoSpec) -> (f32, f32) {
        (
            spec.width_px as f32 / self.scale,
            spec.height_px as f32 / self.scale,
        )
    }
    /// Centre of the crop in source pixels.
    pub fn source_center(&self, head: &Head, spec: &PhotoSpec) -> Point {
        self.source_of(
            head,
            spec.width_px as f32 / 2.0,
            spec.height_px as f32 / 2.0,
        )
    }
}

/// Picks head height and crown gap inside their bands so that the eye line lands in its band,
/// as close to the middle of all three as possible.
pub fn plan(head: &Head, spec: &PhotoSpec) -> Framing {
    let eye_frac = -head.crown_y / head.height().max(1.0);
    let width_frac = head.width / head.height().max(1.0);
    let (hb, gb, eb) = (spec.head_height, spec.crown_gap, spec.eye_line);
    let mut best = (f32::MAX, hb.mid(), gb.mid());
    const STEPS: usize = 24;
    for a in 0..=STEPS {
        let h = lerp(hb, a as f32 / STEPS as f32);
        for b in 0..=STEPS {
            let g = lerp(gb, b as f32 / STEPS as f32);
            let eye = g + eye_frac * h;
            let face = spec.face_width.map_or(0.0, |fb| {
                let w = width_frac * h;
                band_violation(fb, w) * 100.0 + off_mid(fb, w)
            });
            let cost = band_violation(eb, eye) * 100.0
                + face
                + off_mid(hb, h)
                + off_mid(gb, g)
                + off_mid(eb, eye) * 0.5
                + (g + h - spec.height_px as f32).max(0.0) * 100.0;
            if cost < best.0 {
                best = (cost, h, g);
            }
        }
    }
    let (_, h, g) = best;
    let scale = h / head.height().max(1.0);
    Framing {
        scale,
        left: head.center_x - spec.width_px as f32 / 2.0 / scale,
        top: head.crown_y - g / scale,
        roll_deg: head.roll_deg,
        head_height: h,
        crown_gap: g,
        eye_line: g + eye_frac * h,
    }
}

fn lerp(b: Band, t: f32) -> f32 {
    b.min + (b.max - b.min) * t
}

fn band_violation(b: Band, v: f32) -> f32 {
    (b.min - v).max(0.0) + (v - b.max).max(0.0)
}

/// Distance from the band's middle, in half-widths.
fn off_mid(b: Band, v: f32) -> f32 {
    let half = ((b.max - b.min) / 2.0).max(1.0);
    ((v - b.mid()) / half).powi(2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Background;

    fn licence() -> PhotoSpec {
        PhotoSpec {
            slug: "cn-driving-licence".into(),
            width_px: 260,
            height_px: 378,
            dpi: 300,
            width_mm: 22.0,
            height_mm: 32.0,
            colors: vec![Background {
                name: "white".into(),
                rgb: [255, 255, 255],
            }],
            head_height: Band::new(224.0, 260.0),
            crown_gap: Band::new(10.0, 20.0),
            eye_line: Band::new(120.0, 170.0),
            face_width: Some(Band::new(165.0, 189.0)),
            file_size_kb: Band::new(14.0, 30.0),
        }
    }

    #[test]
    fn upright_round_trip() {
        let head = Head {
            pivot: Point::new(100.0, 80.0),
            roll_deg: 7.0,
            crown_y: -60.0,
            chin_y: 90.0,
            center_x: 0.0,
            width: 110.0,
        };
        let p = Point::new(140.0, 33.0);
        let q = head.to_source(head.to_upright(p));
        assert!(p.dist(q) < 1e-3);
    }

    #[test]
    fn plan_lands_every_band() {
        let spec = licence();
        let head = Head {
            pivot: Point::new(500.0, 400.0),
            roll_deg: 0.0,
            crown_y: -140.0,
            chin_y: 160.0,
            center_x: 3.0,
            width: 200.0,
        };
        let f = plan(&head, &spec);
        assert!(spec.head_height.contains(f.head_height), "{f:?}");
        assert!(spec.crown_gap.contains(f.crown_gap), "{f:?}");
        assert!(spec.eye_line.contains(f.eye_line), "{f:?}");
        // The crown maps to the planned gap, the chin to gap + head height.
        let crown_out = (head.crown_y - f.top) * f.scale;
        let chin_out = (head.chin_y - f.top) * f.scale;
        assert!((crown_out - f.crown_gap).abs() < 0.01);
        assert!((chin_out - f.crown_gap - f.head_height).abs() < 0.01);
        // The face is centred.
        let cx = (head.center_x - f.left) * f.scale;
        assert!((cx - 130.0).abs() < 0.01);
    }

    #[test]
    fn plan_reports_eye_line_it_cannot_meet() {
        let mut spec = licence();
        spec.eye_line = Band::new(300.0, 310.0);
        let head = Head {
            pivot: Point::new(0.0, 0.0),
            roll_deg: 0.0,
            crown_y: -140.0,
            chin_y: 160.0,
            center_x: 0.0,
            width: 200.0,
        };
        let f = plan(&head, &spec);
        assert!(!spec.eye_line.contains(f.eye_line));
    }
}
