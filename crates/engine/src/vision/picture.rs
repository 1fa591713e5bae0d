//! Turning an `RgbImage` into network input: anti-aliased resize, letterbox, rotated crop, tensors.

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::RgbImage;

use crate::{EngineError, Point};

/// Resizes the `(left, top, width, height)` region of `img` to `w`×`h` with a bilinear
/// convolution (it averages when shrinking, so no aliasing from a 12 MP frame).
pub(crate) fn resize(
    img: &RgbImage,
    region: (f64, f64, f64, f64),
    w: u32,
    h: u32,
) -> Result<RgbImage, EngineError> {
    let fail = |e: String| EngineError::Internal(format!("resize: {e}"));
    let src = ImageRef::new(img.width(), img.height(), img.as_raw(), PixelType::U8x3)
        .map_err(|e| fail(e.to_string()))?;
    let mut dst = Image::new(w.max(1), h.max(1), PixelType::U8x3);
    let (l, t, rw, rh) = region;
    let options = ResizeOptions::new()
        .resize_alg(ResizeAlg::Convolution(FilterType::Bilinear))
        .crop(l, t, rw, rh);
    Resizer::new()
        .resize(&src, &mut dst, &options)
        .map_err(|e| fail(e.to_string()))?;
    RgbImage::from_raw(dst.width(), dst.height(), dst.into_vec())
        .ok_or_else(|| fail("buffer size".into()))
}

/// An axis-aligned pixel region of an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Region {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
}

impl Region {
    pub fn whole(img: &RgbImage) -> Region {
        Region {
            x: 0,
            y: 0,
            w: img.width(),
            h: img.height(),
        }
    }
}

/// Where a region sits inside a square letterboxed input (aspect ratio kept, black bars).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Letterbox {
    size: f32,
    scale_x: f32,
    scale_y: f32,
    off_x: f32,
    off_y: f32,
    region: Region,
}

impl Letterbox {
    /// Input coordinates normalised to 0..1 → pixels of the whole image.
    pub fn image_point(self, nx: f32, ny: f32) -> Point {
        Point::new(
            self.region.x as f32 + (nx * self.size - self.off_x) / self.scale_x,
            self.region.y as f32 + (ny * self.size - self.off_y) / self.scale_y,
        )
    }
}

/// `region` of `img` fitted into a `size`×`size` square, centred, black bars around.
pub(crate) fn letterbox(
    img: &RgbImage,
    region: Region,
    size: u32,
) -> Result<(RgbImage, Letterbox), EngineError> {
    let (w, h) = (region.w.max(1) as f32, region.h.max(1) as f32);
    let scale = size as f32 / w.max(h);
    let rw = ((w * scale).round() as u32).clamp(1, size);
    let rh = ((h * scale).round() as u32).clamp(1, size);
    let crop = (
        f64::from(region.x),
        f64::from(region.y),
        f64::from(w),
        f64::from(h),
    );
    let small = resize(img, crop, rw, rh)?;
    let (ox, oy) = ((size - rw) / 2, (size - rh) / 2);
    let mut square = RgbImage::new(size, size);
    image::imageops::replace(&mut square, &small, i64::from(ox), i64::from(oy));
    let lb = Letterbox {
        size: size as f32,
        scale_x: rw as f32 / w,
        scale_y: rh as f32 / h,
        off_x: ox as f32,
        off_y: oy as f32,
        region,
    };
    Ok((square, lb))
}

/// A square region of interest rotated by `angle` (radians, clockwise in image coordinates).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Roi {
    pub center: Point,
    pub size: f32,
    pub angle: f32,
}

impl Roi {
    /// ROI coordinates normalised to 0..1 → image pixels (undoing the rotation).
    pub fn image_point(self, nx: f32, ny: f32) -> Point {
        let (x, y) = ((nx - 0.5) * self.size, (ny - 0.5) * self.size);
        let (sin, cos) = self.angle.sin_cos();
        Point::new(
            self.center.x + cos * x - sin * y,
            self.center.y + sin * x + cos * y,
        )
    }
}

/// Crops `roi` out of `img` into an `out`×`out` image, edges replicated. Large ROIs are first
/// shrunk with a proper filter so the bilinear warp never skips pixels.
pub(crate) fn warp(img: &RgbImage, roi: &Roi, out: u32) -> Result<RgbImage, EngineError> {
    let (sin, cos) = roi.angle.sin_cos();
    let half = roi.size / 2.0 * (sin.abs() + cos.abs());
    let (iw, ih) = (img.width() as f32, img.height() as f32);
    let x0 = (roi.center.x - half).floor().clamp(0.0, iw - 1.0);
    let y0 = (roi.center.y - half).floor().clamp(0.0, ih - 1.0);
    let x1 = (roi.center.x + half).ceil().clamp(x0 + 1.0, iw);
    let y1 = (roi.center.y + half).ceil().clamp(y0 + 1.0, ih);
    // Shrink so the ROI spans about 1.5× the output resolution; never enlarge.
    let k = (1.5 * out as f32 / roi.size).min(1.0);
    let sw = (((x1 - x0) * k).round() as u32).max(1);
    let sh = (((y1 - y0) * k).round() as u32).max(1);
    let region = (
        f64::from(x0),
        f64::from(y0),
        f64::from(x1 - x0),
        f64::from(y1 - y0),
    );
    let small = resize(img, region, sw, sh)?;
    let (kx, ky) = (sw as f32 / (x1 - x0), sh as f32 / (y1 - y0));
    let mut dst = RgbImage::new(out, out);
    for (u, v, px) in dst.enumerate_pixels_mut() {
        let p = roi.image_point((u as f32 + 0.5) / out as f32, (v as f32 + 0.5) / out as f32);
        px.0 = bilinear(&small, (p.x - x0) * kx - 0.5, (p.y - y0) * ky - 0.5);
    }
    Ok(dst)
}

/// Bilinear sample at pixel-centre coordinates (x, y), clamped to the edges.
fn bilinear(img: &RgbImage, x: f32, y: f32) -> [u8; 3] {
    let (w, h) = (img.width() as i64, img.height() as i64);
    let (fx, fy) = (x.floor(), y.floor());
    let (ax, ay) = (x - fx, y - fy);
    let at = |dx: i64, dy: i64| {
        let px = (fx as i64 + dx).clamp(0, w - 1) as u32;
        let py = (fy as i64 + dy).clamp(0, h - 1) as u32;
        img.get_pixel(px, py).0
    };
    let (p00, p10, p01, p11) = (at(0, 0), at(1, 0), at(0, 1), at(1, 1));
    let mut outp = [0u8; 3];
    for c in 0..3 {
        let top = f32::from(p00[c]) * (1.0 - ax) + f32::from(p10[c]) * ax;
        let bottom = f32::from(p01[c]) * (1.0 - ax) + f32::from(p11[c]) * ax;
        outp[c] = (top * (1.0 - ay) + bottom * ay).round().clamp(0.0, 255.0) as u8;
    }
    outp
}

/// Interleaved RGB (NHWC) floats mapped from 0..255 to `lo..hi`.
pub(crate) fn nhwc(img: &RgbImage, lo: f32, hi: f32) -> Vec<f32> {
    let k = (hi - lo) / 255.0;
    img.as_raw()
        .iter()
        .map(|&b| lo + f32::from(b) * k)
        .collect()
}

/// Planar RGB (NCHW) floats mapped from 0..255 to 0..1.
pub(crate) fn nchw(img: &RgbImage) -> Vec<f32> {
    let n = (img.width() * img.height()) as usize;
    let mut out = vec![0.0; 3 * n];
    for (i, px) in img.pixels().enumerate() {
        for c in 0..3 {
            out[c * n + i] = f32::from(px.0[c]) / 255.0;
        }
    }
    out
}
