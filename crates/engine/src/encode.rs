//! Encoders: JPEG (libjpeg-turbo) with the JFIF density set, JPEG inside a KB band, and the
//! transparent PNG with pHYs.

use crate::intake::JpegSegments;
use crate::EngineError;
use image::{GrayImage, RgbImage};
use std::cell::RefCell;
use turbojpeg::{Compressor, PixelFormat, Subsamp};

/// Lowest quality `encode_jpeg_in_band` will go to before refusing the spec.
pub const MIN_QUALITY: u8 = 40;
/// Highest quality tried: above it files grow fast for no visible gain.
pub const MAX_QUALITY: u8 = 95;

/// A JPEG that fits a KB band, and the quality that made it.
#[derive(Debug, Clone)]
pub struct Encoded {
    pub bytes: Vec<u8>,
    pub quality: u8,
}

thread_local! {
    static COMPRESSOR: RefCell<Option<Compressor>> = const { RefCell::new(None) };
}

fn internal(e: impl std::fmt::Display) -> EngineError {
    EngineError::Internal(format!("JPEG encode: {e}"))
}

/// Baseline JPEG, 4:2:0, optimised Huffman tables, JFIF density = `dpi` dots per inch.
pub fn encode_jpeg(img: &RgbImage, quality: u8, dpi: u32) -> Result<Vec<u8>, EngineError> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    if w == 0 || h == 0 {
        return Err(EngineError::Internal("encode of an empty image".into()));
    }
    let jpeg = COMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        let c = match slot.as_mut() {
            Some(c) => c,
            None => slot.insert(Compressor::new().map_err(internal)?),
        };
        c.set_quality(quality.clamp(1, 100) as i32)
            .map_err(internal)?;
        c.set_subsamp(Subsamp::Sub2x2).map_err(internal)?;
        c.set_optimize(true).map_err(internal)?;
        let src = turbojpeg::Image {
            pixels: img.as_raw().as_slice(),
            width: w,
            pitch: w * 3,
            height: h,
            format: PixelFormat::RGB,
        };
        c.compress_to_vec(src).map_err(internal)
    })?;
    set_density(jpeg, dpi)
}

/// Set the JFIF APP0 density to `dpi` dots per inch, inserting an APP0 when there is none.
pub fn set_density(mut jpeg: Vec<u8>, dpi: u32) -> Result<Vec<u8>, EngineError> {
    let dpi = u16::try_from(dpi)
        .ok()
        .filter(|&d| d > 0)
        .ok_or_else(|| EngineError::Internal(format!("dpi {dpi}")))?;
    let [hi, lo] = dpi.to_be_bytes();
    match jfif_at(&jpeg) {
        Some(at) => {
            // After "JFIF\0" and the 2-byte version: units, Xdensity, Ydensity.
            let p = at + 4 + 7;
            jpeg[p..p + 5].copy_from_slice(&[1, hi, lo, hi, lo]);
        }
        None => {
            let app0 = [
                0xFF, 0xE0, 0, 16, b'J', b'F', b'I', b'F', 0, 1, 1, 1, hi, lo, hi, lo, 0, 0,
            ];
            jpeg.splice(2..2, app0);
        }
    }
    Ok(jpeg)
}

/// Offset of the JFIF APP0 marker, if the JPEG has one.
fn jfif_at(jpeg: &[u8]) -> Option<usize> {
    JpegSegments::new(jpeg)
        .map_while(Result::ok)
        .find(|s| s.marker == 0xE0 && s.data.len() >= 12 && s.data.starts_with(b"JFIF\0"))
        .map(|s| s.offset)
}

/// The JFIF density: (units, x, y); units 1 = dots per inch, 2 = per cm, 0 = aspect only.
pub fn jfif_density(jpeg: &[u8]) -> Option<(u8, u16, u16)> {
    let p = jfif_at(jpeg)? + 11;
    let b = jpeg.get(p..p + 5)?;
    Some((
        b[0],
        u16::from_be_bytes([b[1], b[2]]),
        u16::from_be_bytes([b[3], b[4]]),
    ))
}

/// The best quality (≤ `MAX_QUALITY`) whose file is ≤ `max_kb`, padded up to `min_kb` with
/// JPEG comment segments when smaller. 1 KB = 1024 bytes. Refuses with
/// `SpecUnmet { rule: "file_size" }` when even `MIN_QUALITY` is over the cap.
pub fn encode_jpeg_in_band(
    img: &RgbImage,
    dpi: u32,
    min_kb: f32,
    max_kb: f32,
) -> Result<Encoded, EngineError> {
    let min = (min_kb.max(0.0) * 1024.0).ceil() as usize;
    let max = (max_kb * 1024.0).floor() as usize;
    let unmet = |detail: String| EngineError::SpecUnmet {
        rule: "file_size".into(),
        detail,
    };
    if max_kb.is_nan() || max < min {
        return Err(unmet(format!("empty band {min_kb}–{max_kb} KB")));
    }
    let best = best_under(img, dpi, max)?.ok_or_else(|| {
        unmet(format!(
            "{}x{} does not fit in {max_kb} KB even at quality {MIN_QUALITY}",
            img.width(),
            img.height()
        ))
    })?;
    let bytes = pad_to(best.bytes, min)?;
    if bytes.len() > max {
        return Err(unmet(format!(
            "band {min_kb}–{max_kb} KB too narrow to pad into"
        )));
    }
    Ok(Encoded {
        bytes,
        quality: best.quality,
    })
}

/// The highest quality with size ≤ `max` bytes. libjpeg scales its quantisation tables by
/// `200 − 2q` % (q ≥ 50) and log(size) is close to linear in the log of that scale, so each
/// trial is placed on the line through the last two (the first from the quality-95 size and a
/// typical slope): about 3–4 encodes instead of a binary search's 7–8.
fn best_under(img: &RgbImage, dpi: u32, max: usize) -> Result<Option<Encoded>, EngineError> {
    let at = |q: u8| encode_jpeg(img, q, dpi).map(|bytes| Encoded { bytes, quality: q });
    let top = at(MAX_QUALITY)?;
    if top.bytes.len() <= max {
        return Ok(Some(top));
    }
    let target = (max.max(1) as f64).ln();
    let point = |e: &Encoded| (table_scale(e.quality), (e.bytes.len().max(1) as f64).ln());
    // Invariant: `hi` is over the cap; `best`, once found, is under it.
    let mut hi = MAX_QUALITY;
    let mut best: Option<Encoded> = None;
    let (mut last, mut before) = (point(&top), None);
    loop {
        let lo = best.as_ref().map_or(MIN_QUALITY - 1, |b| b.quality);
        if hi - lo <= 1 {
            return Ok(best);
        }
        let slope = match before {
            Some((x0, y0)) if last.0 != x0 && (last.1 - y0) / (last.0 - x0) < -0.05 => {
                (last.1 - y0) / (last.0 - x0)
            }
            _ => TYPICAL_SLOPE,
        };
        let scale = last.0 + (target - last.1) / slope;
        let q = quality_for(scale).clamp(f64::from(lo + 1), f64::from(hi - 1)) as u8;
        let e = at(q)?;
        (before, last) = (Some(last), point(&e));
        if e.bytes.len() <= max {
            best = Some(e);
        } else {
            hi = q;
        }
    }
}

/// d log(size) / d log(table scale), measured on portraits.
const TYPICAL_SLOPE: f64 = -0.54;

/// log of libjpeg's quantisation-table scale (percent) for quality `q`.
fn table_scale(q: u8) -> f64 {
    let q = f64::from(q.clamp(1, 100));
    if q < 50.0 {
        (5000.0 / q).ln()
    } else {
        (200.0 - 2.0 * q).max(1.0).ln()
    }
}

/// The quality whose table scale is `exp(log_scale)`, rounded down (towards smaller files).
fn quality_for(log_scale: f64) -> f64 {
    let s = log_scale.exp();
    let q = if s > 100.0 {
        5000.0 / s
    } else {
        (200.0 - s) / 2.0
    };
    q.floor()
}

/// Grow a JPEG to at least `min` bytes with COM segments right after APP0 (never after EOI).
fn pad_to(jpeg: Vec<u8>, min: usize) -> Result<Vec<u8>, EngineError> {
    if jpeg.len() >= min {
        return Ok(jpeg);
    }
    const MAX_PAYLOAD: usize = 65533;
    let at = match jfif_at(&jpeg) {
        Some(app0) => app0 + 2 + usize::from(u16::from_be_bytes([jpeg[app0 + 2], jpeg[app0 + 3]])),
        None => 2,
    };
    let mut need = min - jpeg.len();
    let mut pad = Vec::with_capacity(need + 8);
    while need > 0 {
        // Each segment costs 4 bytes of marker and length besides its payload.
        let payload = need.saturating_sub(4).min(MAX_PAYLOAD);
        pad.extend_from_slice(&[0xFF, 0xFE]);
        pad.extend_from_slice(&((payload + 2) as u16).to_be_bytes());
        pad.resize(pad.len() + payload, b' ');
        need = need.saturating_sub(payload + 4);
    }
    let mut out = Vec::with_capacity(jpeg.len() + pad.len());
    out.extend_from_slice(&jpeg[..at]);
    out.extend_from_slice(&pad);
    out.extend_from_slice(&jpeg[at..]);
    Ok(out)
}

/// RGBA PNG from colour + alpha, pHYs = `dpi`, fast compression.
pub fn encode_png_rgba(
    rgb: &RgbImage,
    alpha: &GrayImage,
    dpi: u32,
) -> Result<Vec<u8>, EngineError> {
    if rgb.dimensions() != alpha.dimensions() {
        return Err(EngineError::Internal(format!(
            "PNG: colour {:?} and alpha {:?} differ",
            rgb.dimensions(),
            alpha.dimensions()
        )));
    }
    let mut rgba = Vec::with_capacity(alpha.len() * 4);
    for (c, a) in rgb.pixels().zip(alpha.pixels()) {
        rgba.extend_from_slice(&[c[0], c[1], c[2], a[0]]);
    }
    let png_err = |e: png::EncodingError| EngineError::Internal(format!("PNG encode: {e}"));
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, rgb.width(), rgb.height());
    enc.set_color(png::ColorType::Rgba);
    enc.set_depth(png::BitDepth::Eight);
    enc.set_compression(png::Compression::Fast);
    let ppm = (dpi as f64 / 0.0254).round() as u32;
    enc.set_pixel_dims(Some(png::PixelDimensions {
        xppu: ppm,
        yppu: ppm,
        unit: png::Unit::Meter,
    }));
    let mut writer = enc.write_header().map_err(png_err)?;
    writer.write_image_data(&rgba).map_err(png_err)?;
    writer.finish().map_err(png_err)?;
    Ok(out)
}
