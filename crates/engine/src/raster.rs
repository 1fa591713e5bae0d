//! Resize, crop and rotate, on `fast_image_resize` (SIMD convolution).
//!
//! Colour is resized with Lanczos3; alpha/grey planes with a (scale-aware) triangle filter,
//! which never overshoots, so an alpha edge gains no ringing halo.

use crate::{EngineError, Point};
use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::{GrayImage, ImageBuffer, Pixel, RgbImage};
use std::cell::RefCell;

/// Below this roll (degrees) a crop is taken axis-aligned: the "correct roll above 1°".
pub const ROLL_SKIP_DEG: f32 = 1.0;

/// A rectangle of the source image, possibly rotated about its centre.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RotRect {
    /// Centre, in source pixels (pixel (i, j) covers [i, i+1) × [j, j+1)).
    pub center: Point,
    /// Size in source pixels.
    pub width: f32,
    pub height: f32,
    /// Rotation of the rectangle's x axis, clockwise on screen (y down). Same sign as
    /// `Landmarks::roll_deg`: pass the roll to level the eyes.
    pub angle_deg: f32,
}

impl RotRect {
    /// The four corners in source pixels: top-left, top-right, bottom-right, bottom-left.
    pub fn corners(&self) -> [Point; 4] {
        let (ex, ey) = self.axes();
        let (hw, hh) = (self.width / 2.0, self.height / 2.0);
        [(-hw, -hh), (hw, -hh), (hw, hh), (-hw, hh)].map(|(u, v)| {
            Point::new(
                self.center.x + u * ex.x + v * ey.x,
                self.center.y + u * ex.y + v * ey.y,
            )
        })
    }

    fn effective_angle(&self) -> f32 {
        if self.angle_deg.abs() <= ROLL_SKIP_DEG {
            0.0
        } else {
            self.angle_deg
        }
    }

    /// Unit vectors of the rectangle's x and y axes in the source.
    fn axes(&self) -> (Point, Point) {
        let (s, c) = self.effective_angle().to_radians().sin_cos();
        (Point::new(c, s), Point::new(-s, c))
    }
}

/// How far the rectangle reaches outside the source, per source edge, as a fraction of the
/// rectangle's height (top, bottom) or width (left, right). All zero when fully inside.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Overhang {
    pub top: f32,
    pub bottom: f32,
    pub left: f32,
    pub right: f32,
}

impl Overhang {
    pub fn is_none(&self) -> bool {
        self.max() <= 0.0
    }
    pub fn max(&self) -> f32 {
        self.top.max(self.bottom).max(self.left).max(self.right)
    }
}

/// A crop and how much of it lay outside the source. Outside pixels repeat the nearest edge
/// pixel: check `overhang` and refuse when it matters instead of shipping them.
#[derive(Debug, Clone)]
pub struct Crop<I> {
    pub image: I,
    pub overhang: Overhang,
}

pub fn overhang(rect: &RotRect, src_w: u32, src_h: u32) -> Overhang {
    let cs = rect.corners();
    let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
    for p in cs {
        (x0, y0, x1, y1) = (x0.min(p.x), y0.min(p.y), x1.max(p.x), y1.max(p.y));
    }
    // Sub-1e-3 px is float noise, not a cut.
    let out = |d: f32, size: f32| if d > 1e-3 { d / size } else { 0.0 };
    Overhang {
        top: out(-y0, rect.height),
        bottom: out(y1 - src_h as f32, rect.height),
        left: out(-x0, rect.width),
        right: out(x1 - src_w as f32, rect.width),
    }
}

thread_local! {
    static RESIZER: RefCell<Resizer> = RefCell::new(Resizer::new());
}

/// Resize raw interleaved u8 pixels, optionally from a sub-pixel crop of the source.
fn fir_resize(
    src: &[u8],
    (sw, sh): (u32, u32),
    pixel: PixelType,
    crop: Option<(f64, f64, f64, f64)>,
    (dw, dh): (u32, u32),
) -> Result<Vec<u8>, EngineError> {
    if sw == 0 || sh == 0 || dw == 0 || dh == 0 {
        return Err(EngineError::Internal(format!(
            "resize {sw}x{sh} to {dw}x{dh}"
        )));
    }
    let internal = |e: String| EngineError::Internal(format!("resize: {e}"));
    let src = ImageRef::new(sw, sh, src, pixel).map_err(|e| internal(e.to_string()))?;
    let mut dst = Image::new(dw, dh, pixel);
    let alg = match pixel {
        PixelType::U8 => ResizeAlg::Convolution(FilterType::Bilinear),
        _ => ResizeAlg::Convolution(FilterType::Lanczos3),
    };
    let mut opts = ResizeOptions::new().resize_alg(alg);
    if let Some((l, t, w, h)) = crop {
        opts = opts.crop(l, t, w, h);
    }
    RESIZER
        .with(|r| r.borrow_mut().resize(&src, &mut dst, &opts))
        .map_err(|e| internal(e.to_string()))?;
    Ok(dst.into_vec())
}

/// Resize a colour image (Lanczos3).
pub fn resize_rgb(img: &RgbImage, w: u32, h: u32) -> Result<RgbImage, EngineError> {
    let px = fir_resize(
        img.as_raw(),
        img.dimensions(),
        PixelType::U8x3,
        None,
        (w, h),
    )?;
    RgbImage::from_raw(w, h, px).ok_or_else(|| EngineError::Internal("resize size".into()))
}

/// Resize a grey/alpha plane (triangle filter: no overshoot).
pub fn resize_gray(img: &GrayImage, w: u32, h: u32) -> Result<GrayImage, EngineError> {
    let px = fir_resize(img.as_raw(), img.dimensions(), PixelType::U8, None, (w, h))?;
    GrayImage::from_raw(w, h, px).ok_or_else(|| EngineError::Internal("resize size".into()))
}

/// Take `rect` of the source and produce exactly `out_w`×`out_h`, from full-resolution pixels.
/// Axis-aligned and inside the source: one crop+resize. Otherwise the covering box is first
/// downscaled (anti-aliased) to about output resolution, then rotated with bilinear sampling.
pub fn crop_rotate_resize(
    img: &RgbImage,
    rect: &RotRect,
    out_w: u32,
    out_h: u32,
) -> Result<Crop<RgbImage>, EngineError> {
    crop_plane(img, PixelType::U8x3, rect, out_w, out_h)
}

/// `crop_rotate_resize` for a grey or alpha plane.
pub fn crop_rotate_resize_gray(
    img: &GrayImage,
    rect: &RotRect,
    out_w: u32,
    out_h: u32,
) -> Result<Crop<GrayImage>, EngineError> {
    crop_plane(img, PixelType::U8, rect, out_w, out_h)
}

fn crop_plane<P: Pixel<Subpixel = u8>>(
    img: &ImageBuffer<P, Vec<u8>>,
    pixel: PixelType,
    rect: &RotRect,
    out_w: u32,
    out_h: u32,
) -> Result<Crop<ImageBuffer<P, Vec<u8>>>, EngineError> {
    if !(rect.width > 0.0 && rect.height > 0.0 && rect.center.x.is_finite()) {
        return Err(EngineError::Internal(format!("crop rectangle {rect:?}")));
    }
    let (sw, sh) = img.dimensions();
    let overhang = overhang(rect, sw, sh);
    let px = if overhang.is_none() && rect.effective_angle() == 0.0 {
        let (l, t) = (
            rect.center.x - rect.width / 2.0,
            rect.center.y - rect.height / 2.0,
        );
        let crop = (
            l.max(0.0) as f64,
            t.max(0.0) as f64,
            rect.width as f64,
            rect.height as f64,
        );
        let crop = (
            crop.0,
            crop.1,
            crop.2.min(sw as f64 - crop.0),
            crop.3.min(sh as f64 - crop.1),
        );
        fir_resize(img.as_raw(), (sw, sh), pixel, Some(crop), (out_w, out_h))?
    } else {
        warp(
            img.as_raw(),
            (sw, sh),
            P::CHANNEL_COUNT as usize,
            pixel,
            rect,
            (out_w, out_h),
        )?
    };
    let image = ImageBuffer::from_raw(out_w, out_h, px)
        .ok_or_else(|| EngineError::Internal("crop size".into()))?;
    Ok(Crop { image, overhang })
}

/// The rotated / overhanging case: pre-scale the covering box, then sample bilinearly.
fn warp(
    src: &[u8],
    (sw, sh): (u32, u32),
    ch: usize,
    pixel: PixelType,
    rect: &RotRect,
    (ow, oh): (u32, u32),
) -> Result<Vec<u8>, EngineError> {
    let cs = rect.corners();
    let fold = |f: fn(f32, f32) -> f32, init: f32, get: fn(&Point) -> f32| {
        cs.iter().map(get).fold(init, f)
    };
    // Covering box, 2 px margin for the filter, clamped to the source.
    let x0 = (fold(f32::min, f32::MAX, |p| p.x) - 2.0).floor().max(0.0);
    let y0 = (fold(f32::min, f32::MAX, |p| p.y) - 2.0).floor().max(0.0);
    let x1 = (fold(f32::max, f32::MIN, |p| p.x) + 2.0)
        .ceil()
        .min(sw as f32);
    let y1 = (fold(f32::max, f32::MIN, |p| p.y) + 2.0)
        .ceil()
        .min(sh as f32);
    if x1 - x0 < 1.0 || y1 - y0 < 1.0 {
        return Err(EngineError::Internal(
            "crop rectangle outside the source".into(),
        ));
    }
    let (kx, ky) = (
        (ow as f32 / rect.width).min(1.0),
        (oh as f32 / rect.height).min(1.0),
    );
    // Intermediate: the covering box at about output resolution (or the source itself).
    let (mid, mw, mh, fx, fy, ox, oy);
    let owned;
    if kx < 1.0 || ky < 1.0 {
        mw = ((x1 - x0) * kx).ceil().max(1.0) as u32;
        mh = ((y1 - y0) * ky).ceil().max(1.0) as u32;
        let crop = (x0 as f64, y0 as f64, (x1 - x0) as f64, (y1 - y0) as f64);
        owned = fir_resize(src, (sw, sh), pixel, Some(crop), (mw, mh))?;
        mid = owned.as_slice();
        (fx, fy, ox, oy) = (mw as f32 / (x1 - x0), mh as f32 / (y1 - y0), x0, y0);
    } else {
        (mid, mw, mh, fx, fy, ox, oy) = (src, sw, sh, 1.0, 1.0, 0.0, 0.0);
    }
    let (ex, ey) = rect.axes();
    let (du, dv) = (rect.width / ow as f32, rect.height / oh as f32);
    // Output pixel (u, v) → intermediate pixel-index space (centres at i + 0.5): an affine map,
    // walked with one step per column and one per row.
    let to_mid = |uu: f32, vv: f32| {
        let px = rect.center.x + uu * ex.x + vv * ey.x;
        let py = rect.center.y + uu * ex.y + vv * ey.y;
        ((px - ox) * fx - 0.5, (py - oy) * fy - 0.5)
    };
    let (u0, v0) = (0.5 * du - rect.width / 2.0, 0.5 * dv - rect.height / 2.0);
    let origin = to_mid(u0, v0);
    let step_u = sub(to_mid(u0 + du, v0), origin);
    let step_v = sub(to_mid(u0, v0 + dv), origin);
    let mut out = vec![0u8; ow as usize * oh as usize * ch];
    let plane = Plane {
        px: mid,
        w: mw as usize,
        h: mh as usize,
        ch,
    };
    for (v, row) in out.chunks_exact_mut(ow as usize * ch).enumerate() {
        let (mut qx, mut qy) = (
            origin.0 + v as f32 * step_v.0,
            origin.1 + v as f32 * step_v.1,
        );
        for o in row.chunks_exact_mut(ch) {
            plane.bilinear(qx, qy, o);
            qx += step_u.0;
            qy += step_u.1;
        }
    }
    Ok(out)
}

fn sub(a: (f32, f32), b: (f32, f32)) -> (f32, f32) {
    (a.0 - b.0, a.1 - b.1)
}

/// Interleaved u8 pixels, for bilinear sampling.
struct Plane<'a> {
    px: &'a [u8],
    w: usize,
    h: usize,
    ch: usize,
}

impl Plane<'_> {
    /// Bilinear sample at (x, y) in pixel-index space, edges repeated, rounded into `out`.
    #[inline]
    fn bilinear(&self, x: f32, y: f32, out: &mut [u8]) {
        // Clamped to ≥ 0 first, so truncation is the floor (no libm call).
        let x = x.clamp(0.0, (self.w - 1) as f32);
        let y = y.clamp(0.0, (self.h - 1) as f32);
        let (xi, yi) = (x as usize, y as usize);
        let (ax, ay) = (x - xi as f32, y - yi as f32);
        let x2 = (xi + 1).min(self.w - 1);
        let y2 = (yi + 1).min(self.h - 1);
        let (r0, r1) = (yi * self.w, y2 * self.w);
        let (a, b) = ((r0 + xi) * self.ch, (r0 + x2) * self.ch);
        let (c, d) = ((r1 + xi) * self.ch, (r1 + x2) * self.ch);
        let p = self.px;
        for (k, o) in out.iter_mut().enumerate() {
            let top = p[a + k] as f32 + (p[b + k] as f32 - p[a + k] as f32) * ax;
            let bot = p[c + k] as f32 + (p[d + k] as f32 - p[c + k] as f32) * ax;
            *o = (top + (bot - top) * ay + 0.5) as u8;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Luma, Rgb};

    fn rect(cx: f32, cy: f32, w: f32, h: f32, angle_deg: f32) -> RotRect {
        RotRect {
            center: Point::new(cx, cy),
            width: w,
            height: h,
            angle_deg,
        }
    }

    /// Centroid of the dark pixels in the left or right half.
    fn dark_centroid(img: &RgbImage, right: bool) -> (f32, f32) {
        let (mut sx, mut sy, mut n) = (0.0, 0.0, 0.0);
        for (x, y, p) in img.enumerate_pixels() {
            let weight = (255.0 - p[0] as f32) / 255.0;
            if (x >= img.width() / 2) == right && weight > 0.2 {
                (sx, sy, n) = (sx + x as f32 * weight, sy + y as f32 * weight, n + weight);
            }
        }
        (sx / n + 0.5, sy / n + 0.5)
    }

    #[test]
    fn axis_aligned_crop_at_one_to_one_is_the_source() {
        let src = RgbImage::from_fn(200, 100, |x, y| Rgb([x as u8, y as u8, (x ^ y) as u8]));
        let c = crop_rotate_resize(&src, &rect(70.0, 50.0, 100.0, 100.0, 0.0), 100, 100).unwrap();
        assert!(c.overhang.is_none());
        let want = image::imageops::crop_imm(&src, 20, 0, 100, 100).to_image();
        let worst = c
            .image
            .as_raw()
            .iter()
            .zip(want.as_raw())
            .map(|(a, b)| a.abs_diff(*b))
            .max();
        assert!(worst <= Some(1), "worst difference {worst:?}");
    }

    #[test]
    fn rotation_levels_a_tilted_pair_of_dots() {
        let theta = 10f32.to_radians();
        let (c, d) = (Point::new(200.0, 200.0), 60.0);
        let dots = [-d, d].map(|u| Point::new(c.x + u * theta.cos(), c.y + u * theta.sin()));
        let src = RgbImage::from_fn(400, 400, |x, y| {
            let near = dots
                .iter()
                .any(|p| (x as f32 + 0.5 - p.x).abs() < 3.0 && (y as f32 + 0.5 - p.y).abs() < 3.0);
            Rgb(if near { [0; 3] } else { [255; 3] })
        });
        for out in [200u32, 100] {
            let k = out as f32 / 200.0;
            let crop = crop_rotate_resize(&src, &rect(200.0, 200.0, 200.0, 200.0, 10.0), out, out)
                .unwrap();
            let (l, r) = (
                dark_centroid(&crop.image, false),
                dark_centroid(&crop.image, true),
            );
            for (got, want) in [(l, (40.0 * k, 100.0 * k)), (r, (160.0 * k, 100.0 * k))] {
                assert!(
                    (got.0 - want.0).abs() < 0.75 && (got.1 - want.1).abs() < 0.75,
                    "{out}: {got:?} vs {want:?}"
                );
            }
        }
    }

    #[test]
    fn overhang_is_reported_per_edge() {
        let src = RgbImage::from_pixel(300, 300, Rgb([10, 20, 30]));
        let c = crop_rotate_resize(&src, &rect(150.0, 80.0, 100.0, 200.0, 0.0), 50, 100).unwrap();
        assert!((c.overhang.top - 0.1).abs() < 1e-4, "{:?}", c.overhang);
        assert_eq!(
            (c.overhang.bottom, c.overhang.left, c.overhang.right),
            (0.0, 0.0, 0.0)
        );
        // Outside pixels repeat the edge rather than inventing a colour.
        assert_eq!(c.image.get_pixel(25, 2).0, [10, 20, 30]);
        let r = overhang(&rect(280.0, 150.0, 100.0, 100.0, 0.0), 300, 300);
        assert!((r.right - 0.3).abs() < 1e-4 && r.top == 0.0);
        // A tilted rectangle touching the top pokes a corner over it.
        assert!(overhang(&rect(150.0, 50.0, 200.0, 100.0, 5.0), 300, 300).top > 0.0);
    }

    #[test]
    fn rotated_downscale_does_not_alias() {
        let src = RgbImage::from_fn(800, 800, |x, y| {
            Rgb([if (x + y) % 2 == 0 { 0 } else { 255 }; 3])
        });
        let c = crop_rotate_resize(&src, &rect(400.0, 400.0, 600.0, 600.0, 7.0), 150, 150).unwrap();
        let (lo, hi) = c
            .image
            .pixels()
            .fold((255, 0), |(lo, hi), p| (lo.min(p[0]), hi.max(p[0])));
        assert!(
            lo > 110 && hi < 145,
            "checkerboard should average to grey, got {lo}..{hi}"
        );
    }

    #[test]
    fn small_rolls_are_not_rotated_and_gray_planes_work() {
        let src = GrayImage::from_fn(300, 200, |x, y| Luma([((x * 7 + y * 3) % 256) as u8]));
        let a =
            crop_rotate_resize_gray(&src, &rect(150.0, 100.0, 120.0, 160.0, 0.0), 60, 80).unwrap();
        let b =
            crop_rotate_resize_gray(&src, &rect(150.0, 100.0, 120.0, 160.0, 0.8), 60, 80).unwrap();
        assert_eq!(a.image, b.image);
        assert_eq!(a.image.dimensions(), (60, 80));
        let g = resize_gray(&src, 30, 20).unwrap();
        assert_eq!(g.dimensions(), (30, 20));
    }
}
