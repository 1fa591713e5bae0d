//! The person mask of a make: selfie segmentation over the likely crop, sharpened over the head
//! by a second pass on a square around it. The second pass sees hair and ears at two to three
//! times the resolution of the first, so the outline there is much closer to the real one.

use image::{GrayImage, Luma, RgbImage};

use super::segment::Mask;
use super::Models;
use crate::{EngineError, Landmarks, Point, Rect};

/// Side of the head square, in crown-to-chin heights, and how far it reaches above the crown.
/// Measured on the reference alphas (tests/matte.rs): smaller squares cut the hair, larger
/// ones lose the resolution gain.
const HEAD_SIDE: f32 = 1.4;
const ABOVE_CROWN: f32 = 0.2;
/// The head pass fades into the body pass over this fraction of the square's side.
const FEATHER: f32 = 0.1;

/// One network pass and the source rectangle it covers.
#[derive(Debug, Clone, PartialEq)]
pub struct Pass {
    pub mask: Mask,
    pub region: Rect,
}

impl Pass {
    /// The mask at source point `p`; `None` outside the region.
    fn at(&self, p: Point) -> Option<f32> {
        let r = &self.region;
        let (u, v) = ((p.x - r.x) / r.w, (p.y - r.y) / r.h);
        if !(0.0..=1.0).contains(&u) || !(0.0..=1.0).contains(&v) {
            return None;
        }
        Some(self.mask.sample(u, v))
    }
}

/// Person probability (0..1) over a source image: the body pass, with the head pass blended in.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonMask {
    pub body: Pass,
    pub head: Option<Pass>,
    /// Source image size: the head pass needs no fade at an edge of the image.
    pub dims: (u32, u32),
}

impl PersonMask {
    /// The person probability at source point `p`: 0 outside the body pass's region.
    pub fn at(&self, p: Point) -> f32 {
        let Some(body) = self.body.at(p) else {
            return 0.0;
        };
        let Some(head) = &self.head else {
            return body;
        };
        match head.at(p) {
            Some(h) => {
                let w = self.head_weight(&head.region, p);
                w * h + (1.0 - w) * body
            }
            None => body,
        }
    }

    /// The body pass alone at source point `p` (what framing is measured on).
    pub fn body_at(&self, p: Point) -> f32 {
        self.body.at(p).unwrap_or(0.0)
    }

    /// 1 inside the head square, fading to 0 at its edges (except where they are the image's).
    fn head_weight(&self, r: &Rect, p: Point) -> f32 {
        let fade = (FEATHER * r.w.max(r.h)).max(1.0);
        let (w, h) = (self.dims.0 as f32, self.dims.1 as f32);
        let side = |d: f32, at_edge: bool| if at_edge { f32::MAX } else { d };
        let d = side(p.x - r.x, r.x <= 0.0)
            .min(side(r.right() - p.x, r.right() >= w))
            .min(side(p.y - r.y, r.y <= 0.0))
            .min(side(r.bottom() - p.y, r.bottom() >= h));
        (d / fade).clamp(0.0, 1.0)
    }

    /// The mask sampled at the centres of a `w`×`h` grid whose pixel (i, j) centre is at
    /// `origin + (i + ½)·ex + (j + ½)·ey` in source pixels.
    pub fn rasterize(&self, origin: Point, ex: Point, ey: Point, w: u32, h: u32) -> GrayImage {
        let mut out = GrayImage::new(w, h);
        for (j, row) in out.rows_mut().enumerate() {
            let jf = j as f32 + 0.5;
            let start = Point::new(origin.x + jf * ey.x, origin.y + jf * ey.y);
            for (i, px) in row.enumerate() {
                let i = i as f32 + 0.5;
                let v = self.at(Point::new(start.x + i * ex.x, start.y + i * ex.y));
                *px = Luma([(v.clamp(0.0, 1.0) * 255.0 + 0.5) as u8]);
            }
        }
        out
    }
}

/// The square the head pass covers: from a little above the crown, centred on the face, in
/// source pixels and clamped to the image. `None` when the head is degenerate.
pub fn head_square(mesh: &Landmarks, crown: Point, dims: (u32, u32)) -> Option<Rect> {
    let chin = mesh.chin();
    let height = crown.dist(chin);
    if height.is_nan() || height <= 4.0 {
        return None;
    }
    let centre_x = (mesh.at(Landmarks::CHEEK_RIGHT).x + mesh.at(Landmarks::CHEEK_LEFT).x) / 2.0;
    let side = HEAD_SIDE * height;
    let (w, h) = (dims.0 as f32, dims.1 as f32);
    let x0 = (centre_x - side / 2.0).clamp(0.0, w - 1.0).floor();
    let y0 = (crown.y.min(chin.y) - ABOVE_CROWN * height)
        .clamp(0.0, h - 1.0)
        .floor();
    let x1 = (centre_x + side / 2.0).clamp(x0 + 1.0, w).ceil();
    let y1 = (y0 + side).clamp(y0 + 1.0, h).ceil();
    Some(Rect {
        x: x0,
        y: y0,
        w: x1 - x0,
        h: y1 - y0,
    })
}

impl Models {
    /// Person probability over `region` of `img` (source pixels), read in place.
    pub fn segment_region(&self, img: &RgbImage, region: Rect) -> Result<Mask, EngineError> {
        if img.width() == 0 || img.height() == 0 || !(region.w >= 1.0 && region.h >= 1.0) {
            return Err(EngineError::Empty);
        }
        let r = (
            f64::from(region.x),
            f64::from(region.y),
            f64::from(region.w),
            f64::from(region.h),
        );
        self.segmenter.run_region(img, r)
    }

    /// The body pass over `body` (source pixels); no head pass yet.
    pub fn segment_person(&self, img: &RgbImage, body: Rect) -> Result<PersonMask, EngineError> {
        Ok(PersonMask {
            body: Pass {
                mask: self.segment_region(img, body)?,
                region: body,
            },
            head: None,
            dims: img.dimensions(),
        })
    }

    /// Adds the head pass over `head` (see [`head_square`]) to `mask`.
    pub fn sharpen_head(
        &self,
        img: &RgbImage,
        mask: &mut PersonMask,
        head: Rect,
    ) -> Result<(), EngineError> {
        mask.head = Some(Pass {
            mask: self.segment_region(img, head)?,
            region: head,
        });
        Ok(())
    }
}
