//! Matting: a coarse person mask becomes a clean alpha at output resolution, and the person is
//! composited onto a new background colour without a fringe of the old one.
//!
//! ```text
//! let alpha = matte::refine(&rgb, &coarse, &MatteOptions::default())?;   // GrayImage, 0..255
//! let fg    = matte::estimate_foreground(&rgb, &alpha)?;                 // decontaminated colours
//! let out   = matte::composite(&fg, &alpha, [67, 142, 219])?;            // one per colour
//! let png   = matte::to_rgba(&fg, &alpha)?;                              // transparent PNG
//! ```
//!
//! `refine` works in three steps, all at the resolution of `rgb`:
//! 1. [`trimap`]: sure foreground / sure background / an unknown band around the coarse mask's
//!    outline, its half-width a fraction of the image diagonal, wider where [`MatteHints`] say
//!    hair or ears are (the segmentation model cuts both).
//! 2. The coarse mask: the starting point and a weak prior inside the band. ([`guided_filter`],
//!    He et al.'s fast subsampled variant, is kept as the baseline refinement is measured
//!    against; as a prior it gave the same edge error for 4 ms more.)
//! 3. Closed-form matting (Levin et al. 2008) solved only in the band: the matting Laplacian
//!    (3×3 windows) is built for the band's rows only (5×5 stencils), and the system is solved
//!    with Jacobi-preconditioned conjugate gradients, the sure regions as boundary conditions
//!    and the coarse mask as a weak prior. Bands of more than `coarse_first` pixels are solved
//!    at half resolution first (and so on down); the full-resolution pass polishes that start.
//!
//! Measured (tests/matte.rs, one core): a 358×441 crop refines in ~18 ms (trimap 2, building
//! `L`'s band rows 3, conjugate gradients 10) and a 970×1300 one in ~100 ms.
//! With the real MediaPipe mask sharpened by the head pass (`vision::PersonMask`), the band
//! error against the reference mattes is 0.45 (obama), 0.77 (biden) and 0.68 (biden,
//! 970×1300) of the plain upsampled mask's.
//!
//! `estimate_foreground` is the multi-level foreground estimation of Germer et al. 2020: it
//! recovers the person's own colour in semi-transparent pixels, so the old background does not
//! show on the new colour.

mod foreground;
mod guided;
mod laplacian;
mod plane;
mod trimap;

use crate::geom::{Landmarks, Point, Rect};
use crate::EngineError;
use image::{GrayImage, RgbImage, RgbaImage};
use thiserror::Error;

pub use trimap::trimap;

/// Why matting refused its input.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum MatteError {
    #[error("image is {image:?} but mask is {mask:?}")]
    SizeMismatch { image: (u32, u32), mask: (u32, u32) },
    #[error("empty image")]
    Empty,
}

impl From<MatteError> for EngineError {
    fn from(e: MatteError) -> Self {
        EngineError::Internal(format!("matte: {e}"))
    }
}

/// Where the face mesh says hair and ears are, in the pixel coordinates of the image being
/// matted. The unknown band is widened there.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MatteHints {
    /// Hair above the forehead (and a little around the crown).
    pub hair_region: Option<Rect>,
    /// The two ears, beside the cheeks.
    pub ears: [Option<Rect>; 2],
}

impl MatteHints {
    /// Hair above the forehead and the ears beside the cheeks, from the face mesh and the crown
    /// height (both in the pixels of the image being matted).
    pub fn from_mesh(mesh: &Landmarks, crown_y: f32) -> MatteHints {
        if mesh.points.len() <= Landmarks::CHEEK_LEFT.max(Landmarks::FOREHEAD_TOP) {
            return MatteHints::default();
        }
        let (cr, cl) = (
            mesh.at(Landmarks::CHEEK_RIGHT),
            mesh.at(Landmarks::CHEEK_LEFT),
        );
        let forehead = mesh.at(Landmarks::FOREHEAD_TOP);
        let w = (cl.x - cr.x).abs().max(1.0);
        let top = crown_y.min(forehead.y) - 0.15 * w;
        let hair = Rect {
            x: cr.x.min(cl.x) - 0.15 * w,
            y: top,
            w: 1.3 * w,
            h: (forehead.y + 0.1 * w - top).max(1.0),
        };
        let ear = |c: Point, outward: f32| Rect {
            x: if outward < 0.0 { c.x - 0.25 * w } else { c.x },
            y: c.y - 0.35 * w,
            w: 0.25 * w,
            h: 0.6 * w,
        };
        let (left, right) = if cr.x <= cl.x { (cr, cl) } else { (cl, cr) };
        MatteHints {
            hair_region: Some(hair),
            ears: [Some(ear(left, -1.0)), Some(ear(right, 1.0))],
        }
    }
}

/// Tuning knobs. The defaults are measured on the test portraits (see tests/matte.rs).
#[derive(Debug, Clone, PartialEq)]
pub struct MatteOptions {
    /// Half-width of the unknown band, as a fraction of the image diagonal.
    pub band: f32,
    /// Band widening inside the hair hint (outwards and inwards).
    pub hair_widen: f32,
    /// Band widening inside the ear hints.
    pub ear_widen: f32,
    /// Guided filter radius (for [`guided_filter`]), as a fraction of the image diagonal.
    pub guided_radius: f32,
    /// Guided filter regularisation (for [`guided_filter`]; colours in 0..1).
    pub guided_eps: f32,
    /// Closed-form matting regularisation ε (colours in 0..1).
    pub eps: f32,
    /// Weight of the coarse-mask prior inside the band (0 = pure closed-form).
    pub prior_weight: f32,
    /// Conjugate-gradient iteration cap.
    pub max_iterations: usize,
    /// Iteration cap once a half-resolution solution gave the start (large bands).
    pub refine_iterations: usize,
    /// Bands with more unknown pixels than this are first solved at half resolution.
    pub coarse_first: usize,
    /// Stop when the preconditioned residual is this small relative to the right-hand side.
    pub tolerance: f32,
}

impl Default for MatteOptions {
    fn default() -> Self {
        Self {
            band: 0.007,
            hair_widen: 1.5,
            ear_widen: 1.5,
            guided_radius: 0.008,
            guided_eps: 1e-3,
            eps: 1e-5,
            prior_weight: 0.001,
            max_iterations: 300,
            refine_iterations: 15,
            coarse_first: 12_000,
            tolerance: 1e-3,
        }
    }
}

/// Refines a coarse person mask (same size as `rgb`, 0..255) into an alpha matte.
pub fn refine(
    rgb: &RgbImage,
    coarse: &GrayImage,
    opts: &MatteOptions,
) -> Result<GrayImage, MatteError> {
    refine_with_hints(rgb, coarse, &MatteHints::default(), opts)
}

/// [`refine`], with the band widened where `hints` says hair and ears are.
pub fn refine_with_hints(
    rgb: &RgbImage,
    coarse: &GrayImage,
    hints: &MatteHints,
    opts: &MatteOptions,
) -> Result<GrayImage, MatteError> {
    check_sizes(rgb, coarse)?;
    let tri = trimap(coarse, hints, opts);
    let guide = plane::guide(rgb);
    let (w, h) = (rgb.width() as usize, rgb.height() as usize);
    let coarse = plane::unit(coarse);
    // The coarse mask itself is the weak prior and the start: a guided-filtered one measured
    // the same edge error (tests/matte.rs) and cost 4 ms more.
    let prior = |px: &[u32]| px.iter().map(|&i| coarse[i as usize]).collect();
    let alpha = laplacian::solve(&guide, w, h, tri.as_raw(), &prior, opts);
    Ok(plane::to_gray(&alpha, w as u32, h as u32))
}

/// The guided filter alone (He et al.), with `rgb` as the guide: the minimum refinement, and
/// the baseline `refine` is measured against. `radius` in pixels.
pub fn guided_filter(
    rgb: &RgbImage,
    coarse: &GrayImage,
    radius: f32,
    eps: f32,
) -> Result<GrayImage, MatteError> {
    check_sizes(rgb, coarse)?;
    let (w, h) = (rgb.width() as usize, rgb.height() as usize);
    let guide = plane::guide(rgb);
    let g = guided::Guided::new(&guide, w, h, &plane::unit(coarse), radius, eps);
    let all: Vec<u32> = (0..(w * h) as u32).collect();
    Ok(plane::to_gray(&g.at(&guide, &all), w as u32, h as u32))
}

/// The guided filter radius for an image of this size, in pixels (`opts.guided_radius`).
pub fn guided_radius_px(w: usize, h: usize, opts: &MatteOptions) -> f32 {
    (opts.guided_radius * diagonal(w, h)).max(2.0)
}

/// The person's own colour at every pixel where `alpha` > 0 (Germer et al. 2020). Where alpha
/// is 0 the colour is an extrapolation and does not matter.
pub fn estimate_foreground(rgb: &RgbImage, alpha: &GrayImage) -> Result<RgbImage, MatteError> {
    check_sizes(rgb, alpha)?;
    Ok(foreground::estimate(rgb, alpha))
}

/// `alpha·fg + (1 − alpha)·background`, per pixel, in sRGB.
pub fn composite(
    fg: &RgbImage,
    alpha: &GrayImage,
    background: [u8; 3],
) -> Result<RgbImage, MatteError> {
    check_sizes(fg, alpha)?;
    let mut out = RgbImage::new(fg.width(), fg.height());
    let bg = background.map(|c| c as u32);
    for ((o, f), a) in out.pixels_mut().zip(fg.pixels()).zip(alpha.pixels()) {
        let a = a.0[0] as u32;
        for ((o, &f), &b) in o.0.iter_mut().zip(&f.0).zip(&bg) {
            *o = ((f as u32 * a + b * (255 - a) + 127) / 255) as u8;
        }
    }
    Ok(out)
}

/// The person on a transparent background (for the PNG output).
pub fn to_rgba(fg: &RgbImage, alpha: &GrayImage) -> Result<RgbaImage, MatteError> {
    check_sizes(fg, alpha)?;
    let mut out = RgbaImage::new(fg.width(), fg.height());
    for ((o, f), a) in out.pixels_mut().zip(fg.pixels()).zip(alpha.pixels()) {
        o.0 = [f.0[0], f.0[1], f.0[2], a.0[0]];
    }
    Ok(out)
}

fn check_sizes(rgb: &RgbImage, mask: &GrayImage) -> Result<(), MatteError> {
    if rgb.width() == 0 || rgb.height() == 0 {
        return Err(MatteError::Empty);
    }
    if rgb.dimensions() != mask.dimensions() {
        return Err(MatteError::SizeMismatch {
            image: rgb.dimensions(),
            mask: mask.dimensions(),
        });
    }
    Ok(())
}

/// Unknown band half-width in pixels.
pub(crate) fn band_px(w: usize, h: usize, opts: &MatteOptions) -> f32 {
    (opts.band * diagonal(w, h)).max(2.0)
}

pub(crate) fn diagonal(w: usize, h: usize) -> f32 {
    ((w * w + h * h) as f32).sqrt()
}
