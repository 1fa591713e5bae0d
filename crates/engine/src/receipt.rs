//! The receipt card (回执) the platform issues when no authority image is uploaded, and the
//! receipt number on a print sheet's margin.
//!
//! The card is 1800 × 1200 px at 300 dpi (6 × 4 in, prints on 4R paper): a header with the
//! receipt number, the photo, the holder's masked name and ID number, the document type, the
//! collection point, the issue and valid-until dates, a Code 128 barcode of the number (set B,
//! printable ASCII) and a QR code of the verification URL.

use image::{Rgb, RgbImage};
use qrcode::{EcLevel, QrCode};

use crate::sheet::Sheet;
use crate::text::{Align, Font};
use crate::{encode, intake, raster, EngineError};

pub const RECEIPT_WIDTH: u32 = 1800;
pub const RECEIPT_HEIGHT: u32 = 1200;
pub const RECEIPT_DPI: u32 = 300;
const RECEIPT_QUALITY: u8 = 92;
/// The font file the receipts are drawn with (fetched by `scripts/fetch-fonts`).
pub const RECEIPT_FONT_FILE: &str = "wqy-microhei.ttc";

const NAVY: [u8; 3] = [31, 78, 121];
const INK: [u8; 3] = [26, 26, 26];
const GREY: [u8; 3] = [96, 104, 112];
const RULE: [u8; 3] = [190, 196, 204];
const WHITE: [u8; 3] = [255, 255, 255];

/// Where the parts of the card go: (x, y, w, h) in pixels.
pub mod area {
    pub const HEADER: (u32, u32, u32, u32) = (20, 20, 1760, 150);
    pub const PHOTO: (u32, u32, u32, u32) = (80, 220, 390, 520);
    pub const FIELDS: (u32, u32, u32, u32) = (540, 220, 1180, 540);
    pub const BARCODE: (u32, u32, u32, u32) = (80, 840, 1260, 230);
    pub const QR: (u32, u32, u32, u32) = (1420, 820, 300, 300);
}

/// What the card shows. Personal data arrives already masked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptContent {
    /// The receipt number: 1–64 printable ASCII characters (Code 128 set B).
    pub receipt_no: String,
    /// The ID photo (JPEG or PNG).
    pub photo: Vec<u8>,
    /// e.g. `张*三`.
    pub name_masked: String,
    /// e.g. `**************1234`.
    pub id_masked: String,
    /// The document type, e.g. `中国居民身份证`.
    pub document: String,
    /// The studio that took the order.
    pub collection_point: String,
    /// e.g. `2026年02月14日`.
    pub issued: String,
    pub valid_until: String,
    /// Encoded in the QR code and printed under the barcode.
    pub verify_url: String,
}

/// The card as a 300-dpi JPEG.
pub fn render_receipt(content: &ReceiptContent, font: &Font) -> Result<Vec<u8>, EngineError> {
    let img = draw_receipt(content, font)?;
    encode::encode_jpeg(&img, RECEIPT_QUALITY, RECEIPT_DPI)
}

/// The card as pixels.
pub fn draw_receipt(c: &ReceiptContent, font: &Font) -> Result<RgbImage, EngineError> {
    let bars = code128_modules(&c.receipt_no)?;
    let qr = qr_modules(&c.verify_url)?;
    let photo = intake::decode(&c.photo, None)?.image;
    let mut img = RgbImage::from_pixel(RECEIPT_WIDTH, RECEIPT_HEIGHT, Rgb(WHITE));
    frame(&mut img);
    header(&mut img, font, &c.receipt_no);
    place_photo(&mut img, &photo)?;
    fields(&mut img, font, c);
    draw_barcode(&mut img, font, &bars, &c.receipt_no)?;
    draw_qr(&mut img, font, &qr)?;
    fill(&mut img, (80, 795, 1640, 2), RULE);
    let (x, y, w, h) = area::BARCODE;
    let url_box = (x as f32, (y + h + 10) as f32, w as f32, 40.0);
    let verify = format!("核验：{}", c.verify_url);
    font.draw_in(&mut img, &verify, url_box, 28.0, Align::Left, GREY);
    Ok(img)
}

fn frame(img: &mut RgbImage) {
    let (x, y, w, _) = area::HEADER;
    let (right, bottom) = (x + w, RECEIPT_HEIGHT - y);
    for t in 0..4 {
        fill(img, (x, y + t, w, 1), NAVY);
        fill(img, (x, bottom - 1 - t, w, 1), NAVY);
        fill(img, (x + t, y, 1, bottom - y), NAVY);
        fill(img, (right - 1 - t, y, 1, bottom - y), NAVY);
    }
}

fn header(img: &mut RgbImage, font: &Font, receipt_no: &str) {
    let (x, y, w, h) = area::HEADER;
    fill(img, area::HEADER, NAVY);
    let (x, y, w, h) = (x as f32 + 60.0, y as f32, w as f32 - 120.0, h as f32);
    font.draw_in(img, "证件照回执", (x, y, w, h), 76.0, Align::Left, WHITE);
    let title_w = font.width("证件照回执", 76.0) + 60.0;
    let no = format!("回执编号  {receipt_no}");
    let no_box = (x + title_w, y, w - title_w, h);
    font.draw_in(img, &no, no_box, 46.0, Align::Right, WHITE);
}

/// The photo scaled into its box (aspect kept, centred), with a thin frame.
fn place_photo(img: &mut RgbImage, photo: &RgbImage) -> Result<(), EngineError> {
    let (bx, by, bw, bh) = area::PHOTO;
    let (pw, ph) = (photo.width().max(1) as f32, photo.height().max(1) as f32);
    let k = (bw as f32 / pw).min(bh as f32 / ph);
    let (w, h) = (((pw * k) as u32).max(1), ((ph * k) as u32).max(1));
    let scaled = raster::resize_rgb(photo, w, h)?;
    let (x, y) = (bx + (bw - w) / 2, by + (bh - h) / 2);
    image::imageops::replace(img, &scaled, i64::from(x), i64::from(y));
    outline(img, (x - 2, y - 2, w + 4, h + 4), 2, RULE);
    Ok(())
}

fn fields(img: &mut RgbImage, font: &Font, c: &ReceiptContent) {
    let rows = [
        ("姓　　名", &c.name_masked),
        ("证件号码", &c.id_masked),
        ("证件类型", &c.document),
        ("采集地点", &c.collection_point),
        ("签发日期", &c.issued),
        ("有效期至", &c.valid_until),
    ];
    let (x, y, w, h) = area::FIELDS;
    let pitch = h as f32 / rows.len() as f32;
    let label_w = 230.0;
    for (i, (label, value)) in rows.iter().enumerate() {
        let top = y as f32 + i as f32 * pitch;
        let label_box = (x as f32, top, label_w, pitch);
        font.draw_in(img, label, label_box, 42.0, Align::Left, GREY);
        let value_box = (x as f32 + label_w, top, w as f32 - label_w, pitch);
        font.draw_in(img, value, value_box, 52.0, Align::Left, INK);
        if i + 1 < rows.len() {
            let rule_y = (top + pitch) as u32;
            fill(img, (x, rule_y, w, 1), RULE);
        }
    }
}

/// The modules of `text` in Code 128 (1 = bar), start to stop, without quiet zones: set B,
/// with runs of 4 or more digits in set C (two digits a symbol). `text` must be 1–64
/// printable ASCII characters.
pub fn code128_modules(text: &str) -> Result<Vec<u8>, EngineError> {
    let printable = text.bytes().all(|b| (b' '..=b'~').contains(&b));
    if text.is_empty() || text.len() > 64 || !printable {
        return Err(unbarcodable(
            "a receipt number must be 1–64 printable ASCII characters to be barcoded",
        ));
    }
    barcoders::sym::code128::Code128::new(code128_sets(text))
        .map(|c| c.encode())
        .map_err(|e| EngineError::Internal(format!("Code 128 of {text:?}: {e}")))
}

fn unbarcodable(detail: &str) -> EngineError {
    EngineError::SpecUnmet {
        rule: "receipt_no".into(),
        detail: detail.into(),
    }
}

/// `text` in barcoders' notation: `Ɓ` switches to set B, `Ć` to set C. A digit run of odd
/// length keeps its first digit in set B.
fn code128_sets(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::new();
    let mut in_c = None;
    let mut i = 0;
    while i < b.len() {
        let run = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        let take_c = run >= 4 && (run % 2 == 0 || run >= 5);
        let (set, len) = match (take_c, run % 2) {
            (true, 0) => ('Ć', run),
            (true, _) => ('Ɓ', 1),
            (false, _) => ('Ɓ', run.max(1)),
        };
        if in_c != Some(set) {
            out.push(set);
            in_c = Some(set);
        }
        out.push_str(&text[i..i + len]);
        i += len;
    }
    out
}

/// Bars as wide as fit (2–4 px a module, 10-module quiet zones), the number printed under them.
fn draw_barcode(
    img: &mut RgbImage,
    font: &Font,
    bars: &[u8],
    text: &str,
) -> Result<(), EngineError> {
    let (x, y, w, h) = area::BARCODE;
    let total = bars.len() as u32 + 20;
    let module = (w / total).min(4);
    if module < 2 {
        return Err(unbarcodable(
            "the receipt number is too long for the barcode",
        ));
    }
    let left = x + (w - bars.len() as u32 * module) / 2;
    let bar_h = h - 60;
    for (i, _) in bars.iter().enumerate().filter(|(_, &b)| b == 1) {
        fill(img, (left + i as u32 * module, y, module, bar_h), [0, 0, 0]);
    }
    let text_box = (x as f32, (y + bar_h) as f32, w as f32, 60.0);
    font.draw_in(img, text, text_box, 44.0, Align::Centre, INK);
    Ok(())
}

fn qr_modules(payload: &str) -> Result<QrCode, EngineError> {
    QrCode::with_error_correction_level(payload.as_bytes(), EcLevel::M)
        .map_err(|e| EngineError::Internal(format!("QR code of the verification URL: {e}")))
}

/// The QR code (a 4-module quiet zone, whole pixels a module) at the top of its box, centred
/// across, with its caption right under it.
fn draw_qr(img: &mut RgbImage, font: &Font, qr: &QrCode) -> Result<(), EngineError> {
    let (x, y, w, _) = area::QR;
    let n = qr.width() as u32;
    let module = w / (n + 8);
    if module < 3 {
        return Err(EngineError::Internal(
            "verification URL too long for the QR code".into(),
        ));
    }
    let (left, top) = (x + (w - n * module) / 2, y + 4 * module);
    for (i, colour) in qr.to_colors().iter().enumerate() {
        if *colour == qrcode::Color::Dark {
            let (mx, my) = (i as u32 % n, i as u32 / n);
            fill(
                img,
                (left + mx * module, top + my * module, module, module),
                [0, 0, 0],
            );
        }
    }
    let caption = (x as f32, (top + n * module + 10) as f32, w as f32, 44.0);
    font.draw_in(img, "扫码核验回执", caption, 32.0, Align::Centre, GREY);
    Ok(())
}

/// Prints `text` (e.g. `回执编号 R123`) centred in the sheet's caption strip, in grey.
/// `SpecUnmet { rule: "print_sheet" }` when the strip is too low for legible text.
pub fn caption_sheet(sheet: &mut Sheet, text: &str, font: &Font) -> Result<(), EngineError> {
    let (x, y, w, h) = sheet.layout.caption_area;
    if h < 20 || w < 200 {
        return Err(EngineError::SpecUnmet {
            rule: "print_sheet".into(),
            detail: format!("caption strip {w}x{h} px is too small for the receipt number"),
        });
    }
    let px = (h as f32 * 0.7).min(40.0);
    let area = (x as f32 + 40.0, y as f32, w as f32 - 80.0, h as f32);
    font.draw_in(
        &mut sheet.image,
        text,
        area,
        px,
        Align::Centre,
        [90, 90, 90],
    );
    Ok(())
}

/// Paints the rectangle (x, y, w, h), clipped to the image.
fn fill(img: &mut RgbImage, (x, y, w, h): (u32, u32, u32, u32), rgb: [u8; 3]) {
    let (x1, y1) = ((x + w).min(img.width()), (y + h).min(img.height()));
    for py in y..y1 {
        for px in x..x1 {
            img.put_pixel(px, py, Rgb(rgb));
        }
    }
}

fn outline(img: &mut RgbImage, (x, y, w, h): (u32, u32, u32, u32), t: u32, rgb: [u8; 3]) {
    fill(img, (x, y, w, t), rgb);
    fill(img, (x, y + h - t, w, t), rgb);
    fill(img, (x, y, t, h), rgb);
    fill(img, (x + w - t, y, t, h), rgb);
}
