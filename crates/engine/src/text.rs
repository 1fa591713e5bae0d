//! Text on images: one outline font (a CJK face, e.g. WenQuanYi Micro Hei), laid out on a
//! single line with kerning and drawn anti-aliased. The caller loads the font bytes once.

use ab_glyph::{point, Font as _, FontArc, PxScale, ScaleFont as _};
use image::RgbImage;

use crate::EngineError;

/// A loaded font. Cheap to clone (shared).
#[derive(Clone)]
pub struct Font(FontArc);

impl std::fmt::Debug for Font {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Font")
            .field("glyphs", &self.0.glyph_count())
            .finish()
    }
}

/// Where a line of text goes inside its box.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Centre,
    Right,
}

impl Font {
    /// A TrueType/OpenType font or the first face of a collection (`.ttc`).
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Font, EngineError> {
        ab_glyph::FontVec::try_from_vec_and_index(bytes, 0)
            .map(|f| Font(FontArc::new(f)))
            .map_err(|_| EngineError::Corrupt("not a TrueType/OpenType font".into()))
    }

    /// True when the font has a glyph for every character of `text`.
    pub fn covers(&self, text: &str) -> bool {
        text.chars().all(|c| c == ' ' || self.0.glyph_id(c).0 != 0)
    }

    /// Advance width of `text` at `px` pixels per em.
    pub fn width(&self, text: &str, px: f32) -> f32 {
        let f = self.0.as_scaled(PxScale::from(px));
        let mut prev = None;
        let mut w = 0.0;
        for c in text.chars() {
            let id = f.glyph_id(c);
            if let Some(p) = prev {
                w += f.kern(p, id);
            }
            w += f.h_advance(id);
            prev = Some(id);
        }
        w
    }

    /// The size, at most `px`, at which `text` is no wider than `max_w`.
    pub fn fit(&self, text: &str, px: f32, max_w: f32) -> f32 {
        let w = self.width(text, px);
        if w > max_w && w > 0.0 {
            px * max_w / w
        } else {
            px
        }
    }

    /// Draws `text` with its left end at `x` and its baseline at `baseline`.
    pub fn draw(
        &self,
        img: &mut RgbImage,
        text: &str,
        x: f32,
        baseline: f32,
        px: f32,
        rgb: [u8; 3],
    ) {
        let scale = PxScale::from(px);
        let f = self.0.as_scaled(scale);
        let (iw, ih) = (img.width() as i64, img.height() as i64);
        let mut caret = x;
        let mut prev = None;
        for c in text.chars() {
            let id = f.glyph_id(c);
            if let Some(p) = prev {
                caret += f.kern(p, id);
            }
            let glyph = id.with_scale_and_position(scale, point(caret, baseline));
            caret += f.h_advance(id);
            prev = Some(id);
            let Some(outline) = self.0.outline_glyph(glyph) else {
                continue;
            };
            let b = outline.px_bounds();
            outline.draw(|gx, gy, cover| {
                let (x, y) = (b.min.x as i64 + gx as i64, b.min.y as i64 + gy as i64);
                if x >= 0 && y >= 0 && x < iw && y < ih {
                    blend(img.get_pixel_mut(x as u32, y as u32), rgb, cover);
                }
            });
        }
    }

    /// Draws `text` in the box (x, y, w, h): aligned horizontally, centred vertically, shrunk
    /// to fit the width. Returns the size used.
    pub fn draw_in(
        &self,
        img: &mut RgbImage,
        text: &str,
        area: (f32, f32, f32, f32),
        px: f32,
        align: Align,
        rgb: [u8; 3],
    ) -> f32 {
        let (x, y, w, h) = area;
        let px = self.fit(text, px, w);
        let tw = self.width(text, px);
        let left = match align {
            Align::Left => x,
            Align::Centre => x + (w - tw) / 2.0,
            Align::Right => x + w - tw,
        };
        let f = self.0.as_scaled(PxScale::from(px));
        // Centre the ascent–descent span (descent is negative).
        let baseline = y + (h + f.ascent() + f.descent()) / 2.0;
        self.draw(img, text, left, baseline, px, rgb);
        px
    }
}

fn blend(dst: &mut image::Rgb<u8>, rgb: [u8; 3], cover: f32) {
    let a = cover.clamp(0.0, 1.0);
    for (d, s) in dst.0.iter_mut().zip(rgb) {
        *d = (f32::from(*d) * (1.0 - a) + f32::from(s) * a).round() as u8;
    }
}
