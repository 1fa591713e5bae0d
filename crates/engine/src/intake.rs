//! Intake: judge, measure and decode an uploaded photo.
//!
//! Order of work, cheapest first: byte limit → magic bytes → header dimensions (parsed from the
//! JPEG SOF / PNG IHDR, no pixels allocated) → decode → EXIF orientation.
//! JPEG is decoded by libjpeg-turbo, optionally at a DCT scale (1/2, 1/4, 1/8), which is far
//! cheaper than decoding at full size and resizing. PNG goes through the `png` codec.
//!
//! Big pixel buffers are recycled through a small pool (`recycle`): a fresh 36 MB buffer costs
//! 20–28 ms of page faults, a reused one nothing.

use crate::EngineError;
use image::{DynamicImage, RgbImage};
use std::cell::RefCell;
use std::sync::Mutex;
use turbojpeg::{Colorspace, Decompressor, PixelFormat, ScalingFactor};

/// Largest accepted upload.
pub const MAX_BYTES: usize = 5 * 1024 * 1024;
/// A side of this many pixels or more is refused.
pub const MAX_SIDE: u32 = 6000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Jpeg,
    Png,
}

/// What the header says, before any pixel is decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub format: Format,
    /// Stored dimensions (before orientation).
    pub width: u32,
    pub height: u32,
    /// EXIF orientation, 1..=8 (1 when absent).
    pub orientation: u16,
}

impl Header {
    /// Dimensions once the orientation is applied.
    pub fn upright_dims(&self) -> (u32, u32) {
        if self.orientation >= 5 {
            (self.height, self.width)
        } else {
            (self.width, self.height)
        }
    }
}

/// A decoded, upright RGB image.
#[derive(Clone)]
pub struct Decoded {
    pub image: RgbImage,
    /// DCT scale denominator used (1, 2, 4 or 8): one pixel here is about `scale` pixels of the
    /// original. Always 1 for PNG.
    pub scale: u32,
    /// Full-resolution dimensions after orientation.
    pub orig_width: u32,
    pub orig_height: u32,
}

impl std::fmt::Debug for Decoded {
    // Dimensions only: a derived Debug would print every pixel.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoded")
            .field("dims", &self.image.dimensions())
            .field("scale", &self.scale)
            .field("orig", &(self.orig_width, self.orig_height))
            .finish()
    }
}

/// Judge the format by magic bytes. Only JPEG and PNG are accepted.
pub fn sniff(bytes: &[u8]) -> Result<Format, EngineError> {
    if bytes.is_empty() {
        return Err(EngineError::Empty);
    }
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Ok(Format::Jpeg);
    }
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Ok(Format::Png);
    }
    Err(EngineError::UnsupportedFormat(format_name(bytes).into()))
}

/// Name a refused format, for the error message.
fn format_name(b: &[u8]) -> &'static str {
    let at = |i: usize, s: &[u8]| b.get(i..i + s.len()) == Some(s);
    if at(0, b"GIF87a") || at(0, b"GIF89a") {
        "GIF"
    } else if at(0, b"RIFF") && at(8, b"WEBP") {
        "WebP"
    } else if at(4, b"ftyp") {
        let brand = b.get(8..12).unwrap_or_default();
        match brand {
            b"avif" | b"avis" => "AVIF",
            b"heic" | b"heix" | b"hevc" | b"hevx" | b"heim" | b"heis" | b"mif1" | b"msf1" => "HEIC",
            _ => "ISO media (MP4/MOV)",
        }
    } else if at(0, b"BM") {
        "BMP"
    } else if at(0, b"II*\0") || at(0, b"MM\0*") {
        "TIFF"
    } else if at(0, b"%PDF") {
        "PDF"
    } else if at(0, &[0xFF, 0x0A]) || at(0, b"\0\0\0\x0cJXL ") {
        "JPEG XL"
    } else if at(0, b"\0\0\0\x0cjP  ") {
        "JPEG 2000"
    } else if at(0, &[0xFF, 0xD8]) {
        "damaged JPEG"
    } else {
        "unknown"
    }
}

/// Byte limit, format, header dimensions and orientation, without decoding.
pub fn inspect(bytes: &[u8]) -> Result<Header, EngineError> {
    if bytes.len() > MAX_BYTES {
        return Err(EngineError::TooLarge {
            bytes: bytes.len(),
            limit: MAX_BYTES,
        });
    }
    let format = sniff(bytes)?;
    let (width, height) = header_dims(bytes, format)?;
    Ok(Header {
        format,
        width,
        height,
        orientation: orientation(bytes),
    })
}

/// Stored dimensions from the JPEG SOF or PNG IHDR; refuses a side ≥ `MAX_SIDE` with
/// `Resolution` before anything is allocated.
pub fn header_dims(bytes: &[u8], fmt: Format) -> Result<(u32, u32), EngineError> {
    let (w, h) = match fmt {
        Format::Png => png_ihdr_dims(bytes)?,
        Format::Jpeg => jpeg_sof_dims(bytes)?,
    };
    if w == 0 || h == 0 {
        return Err(EngineError::Corrupt(format!("header says {w}x{h}")));
    }
    if w >= MAX_SIDE || h >= MAX_SIDE {
        return Err(EngineError::Resolution {
            width: w,
            height: h,
            limit: MAX_SIDE,
        });
    }
    Ok((w, h))
}

fn be16(b: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(i)?, *b.get(i + 1)?]))
}

fn be32(b: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(i..i + 4)?.try_into().ok()?))
}

fn png_ihdr_dims(b: &[u8]) -> Result<(u32, u32), EngineError> {
    if b.get(12..16) != Some(b"IHDR") {
        return Err(EngineError::Corrupt("PNG without IHDR".into()));
    }
    match (be32(b, 16), be32(b, 20)) {
        (Some(w), Some(h)) => Ok((w, h)),
        _ => Err(EngineError::Corrupt("PNG header truncated".into())),
    }
}

fn jpeg_sof_dims(b: &[u8]) -> Result<(u32, u32), EngineError> {
    for seg in JpegSegments::new(b) {
        let seg = seg?;
        // SOF0..SOF15, except DHT (C4), JPG (C8) and DAC (CC).
        if (0xC0..=0xCF).contains(&seg.marker) && ![0xC4, 0xC8, 0xCC].contains(&seg.marker) {
            return match (be16(seg.data, 1), be16(seg.data, 3)) {
                (Some(h), Some(w)) => Ok((w as u32, h as u32)),
                _ => Err(EngineError::Corrupt("JPEG frame header truncated".into())),
            };
        }
    }
    Err(EngineError::Corrupt("JPEG without a frame header".into()))
}

/// One marker segment of a JPEG header: `offset` is where its 0xFF marker byte is.
#[derive(Debug, Clone, Copy)]
pub(crate) struct JpegSegment<'a> {
    pub marker: u8,
    pub offset: usize,
    /// Payload after the 2-byte length.
    pub data: &'a [u8],
}

/// Walks the marker segments after SOI up to (not including) the first SOS or EOI.
pub(crate) struct JpegSegments<'a> {
    b: &'a [u8],
    i: usize,
    done: bool,
}

impl<'a> JpegSegments<'a> {
    pub fn new(b: &'a [u8]) -> Self {
        Self {
            b,
            i: 2,
            done: false,
        }
    }
}

impl<'a> Iterator for JpegSegments<'a> {
    type Item = Result<JpegSegment<'a>, EngineError>;

    fn next(&mut self) -> Option<Self::Item> {
        let b = self.b;
        while !self.done {
            let offset = self.i;
            // Tolerate fill bytes (0xFF 0xFF …) before a marker.
            while b.get(self.i) == Some(&0xFF) && b.get(self.i + 1) == Some(&0xFF) {
                self.i += 1;
            }
            if b.get(self.i) != Some(&0xFF) {
                self.done = true;
                return Some(Err(EngineError::Corrupt(format!(
                    "JPEG marker expected at byte {offset}"
                ))));
            }
            let marker = *b.get(self.i + 1)?;
            match marker {
                0x01 | 0xD0..=0xD8 => self.i += 2,
                0xD9 | 0xDA => {
                    self.done = true;
                    return None;
                }
                _ => {
                    let Some(len) = be16(b, self.i + 2).map(usize::from).filter(|&l| l >= 2) else {
                        self.done = true;
                        return Some(Err(EngineError::Corrupt("JPEG header truncated".into())));
                    };
                    let start = self.i + 4;
                    let Some(data) = b.get(start..start + len - 2) else {
                        self.done = true;
                        return Some(Err(EngineError::Corrupt("JPEG segment truncated".into())));
                    };
                    let marker_at = self.i;
                    self.i = start + len - 2;
                    return Some(Ok(JpegSegment {
                        marker,
                        offset: marker_at,
                        data,
                    }));
                }
            }
        }
        None
    }
}

/// EXIF orientation (1..=8) of a JPEG (APP1) or PNG (eXIf); 1 when absent or unreadable.
pub fn orientation(bytes: &[u8]) -> u16 {
    let tiff = match sniff(bytes) {
        Ok(Format::Jpeg) => JpegSegments::new(bytes)
            .map_while(Result::ok)
            .find(|s| s.marker == 0xE1 && s.data.starts_with(b"Exif\0\0"))
            .map(|s| &s.data[6..]),
        Ok(Format::Png) => png_exif(bytes),
        Err(_) => None,
    };
    tiff.and_then(tiff_orientation)
        .filter(|o| (1..=8).contains(o))
        .unwrap_or(1)
}

/// The eXIf chunk's TIFF payload, if it comes before the image data.
fn png_exif(b: &[u8]) -> Option<&[u8]> {
    let mut i = 8;
    loop {
        let len = be32(b, i)? as usize;
        let kind = b.get(i + 4..i + 8)?;
        if kind == b"eXIf" {
            return b.get(i + 8..i + 8 + len);
        }
        if kind == b"IDAT" || kind == b"IEND" {
            return None;
        }
        i = i.checked_add(12 + len)?;
    }
}

fn tiff_orientation(tiff: &[u8]) -> Option<u16> {
    let exif = exif::Reader::new().read_raw(tiff.to_vec()).ok()?;
    let field = exif.get_field(exif::Tag::Orientation, exif::In::PRIMARY)?;
    field.value.get_uint(0).and_then(|v| u16::try_from(v).ok())
}

/// Decode to an upright RGB image. For a JPEG with `max_side_hint`, decode at the smallest DCT
/// scale (1/8, 1/4, 1/2, 1) whose longest side is still ≥ the hint; otherwise full size.
pub fn decode(bytes: &[u8], max_side_hint: Option<u32>) -> Result<Decoded, EngineError> {
    let header = inspect(bytes)?;
    let scale = match max_side_hint {
        Some(hint) if header.format == Format::Jpeg => scale_for(&header, hint),
        _ => 1,
    };
    decode_with(bytes, &header, scale)
}

/// Decode at an explicit DCT scale denominator (1, 2, 4 or 8; PNG ignores it and uses 1).
pub fn decode_at_scale(bytes: &[u8], scale: u32) -> Result<Decoded, EngineError> {
    if ![1, 2, 4, 8].contains(&scale) {
        return Err(EngineError::Internal(format!("DCT scale 1/{scale}")));
    }
    let header = inspect(bytes)?;
    decode_with(bytes, &header, scale)
}

/// The largest denominator d in {8, 4, 2, 1} with ceil(longest / d) ≥ `min_longest`.
pub fn scale_for(header: &Header, min_longest: u32) -> u32 {
    let longest = header.width.max(header.height);
    [8, 4, 2]
        .into_iter()
        .find(|&d| longest.div_ceil(d) >= min_longest)
        .unwrap_or(1)
}

fn decode_with(bytes: &[u8], header: &Header, scale: u32) -> Result<Decoded, EngineError> {
    let (image, scale) = match header.format {
        Format::Jpeg => (decode_jpeg(bytes, scale)?, scale),
        Format::Png => (decode_png(bytes)?, 1),
    };
    let (orig_width, orig_height) = header.upright_dims();
    Ok(Decoded {
        image: orient(image, header.orientation),
        scale,
        orig_width,
        orig_height,
    })
}

thread_local! {
    static DECOMPRESSOR: RefCell<Option<Decompressor>> = const { RefCell::new(None) };
}

fn tj_err(e: turbojpeg::Error) -> EngineError {
    EngineError::Corrupt(format!("JPEG: {e}"))
}

fn decode_jpeg(bytes: &[u8], scale: u32) -> Result<RgbImage, EngineError> {
    DECOMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        let dec = match slot.as_mut() {
            Some(d) => d,
            None => {
                slot.insert(Decompressor::new().map_err(|e| EngineError::Internal(e.to_string()))?)
            }
        };
        let factor = ScalingFactor::new(1, scale as usize);
        dec.set_scaling_factor(factor).map_err(tj_err)?;
        let head = dec.read_header(bytes).map_err(tj_err)?;
        let (w, h) = (factor.scale(head.width), factor.scale(head.height));
        let cmyk = matches!(head.colorspace, Colorspace::CMYK | Colorspace::YCCK);
        let format = if cmyk {
            PixelFormat::CMYK
        } else {
            PixelFormat::RGB
        };
        let mut buf = take_buffer(w * h * format.size());
        let out = turbojpeg::Image {
            pixels: buf.as_mut_slice(),
            width: w,
            pitch: w * format.size(),
            height: h,
            format,
        };
        if let Err(e) = dec.decompress(bytes, out) {
            give_back(buf);
            return Err(tj_err(e));
        }
        if cmyk {
            buf = cmyk_to_rgb(buf, w * h);
        }
        RgbImage::from_raw(w as u32, h as u32, buf)
            .ok_or_else(|| EngineError::Internal("decoded buffer size".into()))
    })
}

/// Adobe-style (inverted) CMYK, as libjpeg-turbo returns it, to RGB: R = C·K/255, in place.
fn cmyk_to_rgb(mut buf: Vec<u8>, pixels: usize) -> Vec<u8> {
    let div255 = |v: u32| {
        let t = v + 128;
        (((t >> 8) + t) >> 8) as u8
    };
    for i in 0..pixels {
        let (c, m, y, k) = (buf[4 * i], buf[4 * i + 1], buf[4 * i + 2], buf[4 * i + 3]);
        let k = k as u32;
        buf[3 * i] = div255(c as u32 * k);
        buf[3 * i + 1] = div255(m as u32 * k);
        buf[3 * i + 2] = div255(y as u32 * k);
    }
    buf.truncate(pixels * 3);
    buf
}

fn decode_png(bytes: &[u8]) -> Result<RgbImage, EngineError> {
    let corrupt = |e: image::ImageError| EngineError::Corrupt(format!("PNG: {e}"));
    let decoder =
        image::codecs::png::PngDecoder::new(std::io::Cursor::new(bytes)).map_err(corrupt)?;
    let img = DynamicImage::from_decoder(decoder).map_err(corrupt)?;
    Ok(if img.color().has_alpha() {
        flatten_on_white(img.into_rgba8())
    } else {
        img.into_rgb8()
    })
}

/// Composite an RGBA image onto white.
fn flatten_on_white(rgba: image::RgbaImage) -> RgbImage {
    let (w, h) = rgba.dimensions();
    let mut out = Vec::with_capacity(w as usize * h as usize * 3);
    for p in rgba.pixels() {
        let a = p[3] as u32;
        for c in &p.0[..3] {
            out.push(((*c as u32 * a + 255 * (255 - a) + 127) / 255) as u8);
        }
    }
    RgbImage::from_raw(w, h, out).unwrap_or_default()
}

/// Apply an EXIF orientation (1..=8) so the image is upright.
pub fn orient(img: RgbImage, orientation: u16) -> RgbImage {
    let (w, h) = (img.width() as usize, img.height() as usize);
    match orientation {
        2..=4 => {
            let mut buf = img.into_raw();
            flip_in_place(&mut buf, w, h, orientation);
            RgbImage::from_raw(w as u32, h as u32, buf).unwrap_or_default()
        }
        5..=8 => {
            let src = img.into_raw();
            let mut dst = take_buffer(src.len());
            transpose_into(&src, &mut dst, w, h, orientation);
            give_back(src);
            RgbImage::from_raw(h as u32, w as u32, dst).unwrap_or_default()
        }
        _ => img,
    }
}

/// 2: mirror rows, 3: rotate 180°, 4: mirror columns.
fn flip_in_place(buf: &mut [u8], w: usize, h: usize, orientation: u16) {
    let row = w * 3;
    if orientation == 2 || orientation == 3 {
        for r in buf.chunks_exact_mut(row) {
            for x in 0..w / 2 {
                let (a, b) = (x * 3, (w - 1 - x) * 3);
                for c in 0..3 {
                    r.swap(a + c, b + c);
                }
            }
        }
    }
    if orientation == 3 || orientation == 4 {
        for y in 0..h / 2 {
            let (top, bottom) = buf.split_at_mut((h - 1 - y) * row);
            top[y * row..(y + 1) * row].swap_with_slice(&mut bottom[..row]);
        }
    }
}

/// Orientations 5..=8: the output is h×w; walked in tiles for cache locality.
fn transpose_into(src: &[u8], dst: &mut [u8], w: usize, h: usize, orientation: u16) {
    const TILE: usize = 32;
    let (ow, oh) = (h, w);
    let (wi, hi) = (w as isize, h as isize);
    // Source pixel index of output (x, y) = base + x·step_x + y·step_y.
    let (base, step_x, step_y) = match orientation {
        5 => (0, wi, 1),
        6 => ((hi - 1) * wi, -wi, 1),
        7 => ((hi - 1) * wi + wi - 1, -wi, -1),
        _ => (wi - 1, wi, -1),
    };
    for ty in (0..oh).step_by(TILE) {
        for tx in (0..ow).step_by(TILE) {
            for y in ty..(ty + TILE).min(oh) {
                let row = base + y as isize * step_y;
                let d0 = y * ow * 3;
                for x in tx..(tx + TILE).min(ow) {
                    let s = (row + x as isize * step_x) as usize * 3;
                    let d = d0 + x * 3;
                    dst[d..d + 3].copy_from_slice(&src[s..s + 3]);
                }
            }
        }
    }
}

// ---- buffer pool -------------------------------------------------------------------------

/// Buffers kept for reuse; bounded so idle memory stays small.
static POOL: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());
const POOL_MAX: usize = 4;
/// Below this, malloc reuses its own heap well; pooling is not worth it.
const POOL_MIN_BYTES: usize = 1 << 20;

/// Hand back an image that is no longer needed, so the next decode reuses its memory.
pub fn recycle(img: RgbImage) {
    give_back(img.into_raw());
}

fn give_back(buf: Vec<u8>) {
    if buf.capacity() < POOL_MIN_BYTES {
        return;
    }
    if let Ok(mut pool) = POOL.lock() {
        if pool.len() < POOL_MAX {
            pool.push(buf);
        } else if let Some(smallest) = pool.iter_mut().min_by_key(|b| b.capacity()) {
            if smallest.capacity() < buf.capacity() {
                *smallest = buf;
            }
        }
    }
}

/// A buffer of exactly `len` bytes (contents unspecified), from the pool when one is big enough.
fn take_buffer(len: usize) -> Vec<u8> {
    let pooled = POOL.lock().ok().and_then(|mut pool| {
        let i = pool
            .iter()
            .enumerate()
            .filter(|(_, b)| b.capacity() >= len)
            .min_by_key(|(_, b)| b.capacity())
            .map(|(i, _)| i)?;
        Some(pool.swap_remove(i))
    });
    match pooled {
        Some(mut b) => {
            b.resize(len, 0);
            b
        }
        None => vec![0; len],
    }
}
