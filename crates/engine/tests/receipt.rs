//! The receipt card: size and dpi, the QR code and the Code 128 barcode read back by
//! independent decoders (rqrr, rxing), the text where the layout puts it; the print sheet's
//! caption.

use engine::encode::jfif_density;
use engine::receipt::{self, area, ReceiptContent, RECEIPT_FONT_FILE};
use engine::sheet::{self, Copies, Paper, SheetOptions};
use engine::text::Font;
use engine::{intake, raster, EngineError};
use image::{imageops, GrayImage, RgbImage};
use std::sync::OnceLock;

fn font() -> &'static Font {
    static FONT: OnceLock<Font> = OnceLock::new();
    FONT.get_or_init(|| {
        let path = engine::vision::Models::default_dir().join(RECEIPT_FONT_FILE);
        let bytes = std::fs::read(&path).unwrap_or_else(|e| {
            panic!("{} missing ({e}): run scripts/fetch-fonts", path.display())
        });
        Font::from_bytes(bytes).expect("the receipt font loads")
    })
}

/// A 3:4 head-and-shoulders crop of a real portrait, as a JPEG.
fn photo_jpeg() -> Vec<u8> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/testdata/portraits/obama.jpg"
    );
    let img = intake::decode(&std::fs::read(path).unwrap(), None)
        .unwrap()
        .image;
    let (w, h) = (img.width(), img.height());
    let cw = (h * 3 / 4).min(w);
    let crop = imageops::crop_imm(&img, (w - cw) / 2, 0, cw, cw * 4 / 3).to_image();
    let small = raster::resize_rgb(&crop, 390, 520).unwrap();
    engine::encode::encode_jpeg(&small, 90, 300).unwrap()
}

fn content(receipt_no: &str) -> ReceiptContent {
    ReceiptContent {
        receipt_no: receipt_no.into(),
        photo: photo_jpeg(),
        name_masked: "张*三".into(),
        id_masked: "**************123X".into(),
        document: "中国居民身份证".into(),
        collection_point: "PhotoReceipt 证件照服务".into(),
        issued: "2026年02月14日".into(),
        valid_until: "2026年08月13日".into(),
        verify_url: format!("https://photo.example.com/r/{receipt_no}"),
    }
}

fn preview(name: &str, img: &RgbImage) {
    if let Some(dir) = std::env::var_os("PHOTORECEIPT_PREVIEW_DIR") {
        img.save(std::path::Path::new(&dir).join(name)).unwrap();
    }
}

fn gray(img: &RgbImage) -> GrayImage {
    image::DynamicImage::ImageRgb8(img.clone()).to_luma8()
}

fn read_qr(img: &RgbImage) -> Vec<String> {
    let mut prepared = rqrr::PreparedImage::prepare(gray(img));
    prepared
        .detect_grids()
        .iter()
        .filter_map(|g| g.decode().ok().map(|(_, text)| text))
        .collect()
}

fn read_code128(img: &RgbImage) -> Option<String> {
    let (w, h) = img.dimensions();
    let luma = gray(img).into_raw();
    let found =
        rxing::helpers::detect_in_luma(luma, w, h, Some(rxing::BarcodeFormat::CODE_128)).ok()?;
    Some(found.getText().to_string())
}

fn decoded(jpeg: &[u8]) -> RgbImage {
    intake::decode(jpeg, None).unwrap().image
}

fn crop(img: &RgbImage, (x, y, w, h): (u32, u32, u32, u32)) -> RgbImage {
    imageops::crop_imm(img, x, y, w, h).to_image()
}

#[test]
fn the_card_is_6x4_inches_at_300_dpi_and_its_codes_read_back() {
    let c = content("R2026021400123");
    let jpeg = receipt::render_receipt(&c, font()).unwrap();
    assert_eq!(jfif_density(&jpeg), Some((1, 300, 300)));
    let img = decoded(&jpeg);
    preview("receipt.png", &img);
    assert_eq!(img.dimensions(), (1800, 1200));
    assert_eq!(read_qr(&img), vec![c.verify_url.clone()]);
    assert!(c.verify_url.ends_with("/r/R2026021400123"));
    assert_eq!(read_code128(&img).as_deref(), Some("R2026021400123"));
    // The barcode sits in its own area: read from that crop alone too.
    let bars = crop(&img, area::BARCODE);
    assert_eq!(read_code128(&bars).as_deref(), Some("R2026021400123"));
}

#[test]
fn a_64_character_number_barcodes_with_its_digits_packed() {
    let no = format!("GD-440300-{}", &"20260214".repeat(7)[..54]);
    assert_eq!(no.len(), 64);
    let img = receipt::draw_receipt(&content(&no), font()).unwrap();
    assert_eq!(read_code128(&crop(&img, area::BARCODE)), Some(no.clone()));
    assert_eq!(
        read_qr(&img),
        vec![format!("https://photo.example.com/r/{no}")]
    );
    // Odd digit runs, runs too short for set C, and a number that starts with digits.
    for no in ["12345", "A123B4567C", "2026/0214-0001x", "9", "R 7"] {
        let img = receipt::draw_receipt(&content(no), font()).unwrap();
        assert_eq!(
            read_code128(&crop(&img, area::BARCODE)).as_deref(),
            Some(no)
        );
    }
}

#[test]
fn numbers_that_code_128_cannot_carry_are_refused() {
    // 64 letters: 739 modules do not fit the barcode at 2 px a module.
    let letters = "abcdefghij".repeat(7)[..64].to_string();
    for bad in ["", "回执123", "A\tB", &"9".repeat(65), &letters] {
        match receipt::render_receipt(&content(bad), font()) {
            Err(EngineError::SpecUnmet { rule, .. }) => assert_eq!(rule, "receipt_no", "{bad:?}"),
            other => panic!("{bad:?}: {other:?}"),
        }
    }
}

/// Pixels that differ between two renders, as a bounding box (x0, y0, x1, y1).
fn changed_box(a: &RgbImage, b: &RgbImage) -> Option<(u32, u32, u32, u32)> {
    let mut bbox: Option<(u32, u32, u32, u32)> = None;
    for (x, y, p) in a.enumerate_pixels() {
        if p != b.get_pixel(x, y) {
            let (x0, y0, x1, y1) = bbox.unwrap_or((x, y, x, y));
            bbox = Some((x0.min(x), y0.min(y), x1.max(x), y1.max(y)));
        }
    }
    bbox
}

/// A change to one field of the card.
type Edit = fn(&mut ReceiptContent);

#[test]
fn each_field_is_drawn_in_its_own_row() {
    let base = content("R1");
    let img = receipt::draw_receipt(&base, font()).unwrap();
    let (fx, fy, fw, fh) = area::FIELDS;
    let pitch = fh / 6;
    let edits: [(usize, Edit); 6] = [
        (0, |c| c.name_masked = "李*".into()),
        (1, |c| c.id_masked = "**************9876".into()),
        (2, |c| c.document = "护照".into()),
        (3, |c| c.collection_point = "另一家照相馆".into()),
        (4, |c| c.issued = "2027年01月01日".into()),
        (5, |c| c.valid_until = "2027年06月30日".into()),
    ];
    for (row, edit) in edits {
        let mut c = base.clone();
        edit(&mut c);
        let other = receipt::draw_receipt(&c, font()).unwrap();
        let (x0, y0, x1, y1) = changed_box(&img, &other).expect("the field changed the card");
        let (top, bottom) = (fy + row as u32 * pitch, fy + (row as u32 + 1) * pitch);
        assert!(x0 >= fx && x1 < fx + fw, "row {row}: x {x0}..{x1}");
        assert!(
            y0 >= top && y1 < bottom,
            "row {row}: y {y0}..{y1} not in {top}..{bottom}"
        );
    }
}

#[test]
fn a_long_document_name_shrinks_to_fit_its_row() {
    let mut c = content("R1");
    c.document = "巴基斯坦身份证 (CNIC / NICOP) 加长加长加长加长加长加长加长加长".into();
    let img = receipt::draw_receipt(&c, font()).unwrap();
    let plain = receipt::draw_receipt(&content("R1"), font()).unwrap();
    let (x0, _, x1, _) = changed_box(&img, &plain).unwrap();
    let (fx, _, fw, _) = area::FIELDS;
    assert!(
        x0 >= fx && x1 < fx + fw,
        "text ran out of the card: {x0}..{x1}"
    );
}

#[test]
fn the_photo_fills_its_box() {
    let img = receipt::draw_receipt(&content("R1"), font()).unwrap();
    let (x, y, w, h) = area::PHOTO;
    let inner = crop(&img, (x + 10, y + 10, w - 20, h - 20));
    let white = inner.pixels().filter(|p| p.0 == [255, 255, 255]).count();
    assert!(white * 20 < inner.len() / 3, "photo box mostly white");
}

#[test]
fn garbage_is_not_a_font() {
    assert!(Font::from_bytes(b"not a font at all".to_vec()).is_err());
    assert!(font().covers("证件照回执姓名采集点有效期至扫码核验"));
}

fn sheet_of(spec: &catalogue::Spec) -> sheet::Sheet {
    let px = |mm: f32| (mm / 25.4 * 300.0).round() as u32;
    let cell = RgbImage::from_pixel(px(spec.width_mm), px(spec.height_mm), image::Rgb([40; 3]));
    sheet::render_sheet(
        Paper::SixInch,
        &[(&cell, Copies::Fill)],
        &SheetOptions::default(),
    )
    .unwrap()
}

#[test]
fn the_receipt_number_goes_in_the_sheet_margin_and_nowhere_else() {
    let spec = catalogue::Catalogue::builtin()
        .receipt_specs()
        .find(|s| s.receipt.as_ref().is_some_and(|r| r.print_sheet))
        .expect("a spec with a print sheet");
    let mut s = sheet_of(spec);
    let before = s.image.clone();
    receipt::caption_sheet(&mut s, "回执编号 R2026021400123", font()).unwrap();
    preview("sheet.png", &s.image);
    let (x0, y0, x1, y1) = changed_box(&before, &s.image).expect("caption drawn");
    let (cx, cy, cw, ch) = s.layout.caption_area;
    assert!(
        x0 >= cx && x1 < cx + cw && y0 >= cy && y1 < cy + ch,
        "outside the strip"
    );
    assert!(y1 - y0 >= 12, "caption only {} px tall", y1 - y0);
    for c in &s.layout.cells {
        assert_eq!(
            crop(&before, (c.x, c.y, c.w, c.h)),
            crop(&s.image, (c.x, c.y, c.w, c.h))
        );
    }
}

#[test]
fn every_print_sheet_spec_has_room_for_the_caption() {
    for spec in catalogue::Catalogue::builtin().iter() {
        if spec.receipt.as_ref().is_some_and(|r| r.print_sheet) {
            let mut s = sheet_of(spec);
            receipt::caption_sheet(&mut s, "回执编号 R2026021400123", font())
                .unwrap_or_else(|e| panic!("{}: {e}", spec.slug));
        }
    }
}

#[test]
fn a_strip_too_low_is_refused() {
    let spec = catalogue::Catalogue::builtin().iter().next().unwrap();
    let mut s = sheet_of(spec);
    let (x, _, w, _) = s.layout.caption_area;
    s.layout.caption_area = (x, s.layout.height - 12, w, 12);
    match receipt::caption_sheet(&mut s, "R1", font()) {
        Err(EngineError::SpecUnmet { rule, .. }) => assert_eq!(rule, "print_sheet"),
        other => panic!("{other:?}"),
    }
}
