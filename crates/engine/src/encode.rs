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

/// Binary search for the highest quality with size ≤ `max` bytes.
fn best_under(img: &RgbImage, dpi: u32, max: usize) -> Result<Option<Encoded>, EngineError> {
    let at = |q: u8| encode_jpeg(img, q, dpi).map(|bytes| Encoded { bytes, quality: q });
    let top = at(MAX_QUALITY)?;
    if top.bytes.len() <= max {
        return Ok(Some(top));
    }
    let mut best = at(MIN_QUALITY)?;
    if best.bytes.len() > max {
        return Ok(None);
    }
    // Invariant: `best.quality` fits, `hi` does not.
    let mut hi = MAX_QUALITY;
    while hi - best.quality > 1 {
        let mid = best.quality + (hi - best.quality) / 2;
        let e = at(mid)?;
        if e.bytes.len() <= max {
            best = e;
        } else {
            hi = mid;
        }
    }
    Ok(Some(best))
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
