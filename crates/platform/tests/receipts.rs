//! Approving renders the receipt card and the captioned print sheet; the public receipt check.

#[path = "backends/mod.rs"]
mod backends;

use backends::*;
use bytes::Bytes;
use chrono::{TimeDelta, TimeZone, Utc};
use engine::receipt::RECEIPT_FONT_FILE;
use platform::receipt::ReceiptSettings;
use platform::{
    App, Approval, FixedItems, ItemTerms, ManualClock, NewApp, NewPic, Order, Platform,
    PlatformError, ReceiptState, ReceiptTerms, Settings, Submission,
};
use serde_json::json;
use std::sync::Arc;

const ITEM: i64 = 7;
const NO_SHEET: i64 = 8;
const PUBLIC: &str = "https://photo.example.com";

struct Env {
    _dir: tempfile::TempDir,
    p: Platform,
    clock: Arc<ManualClock>,
    photo: Bytes,
}

fn terms(print_sheet: bool) -> ReceiptTerms {
    ReceiptTerms {
        document: "往来港澳通行证".into(),
        validity_days: 180,
        print_sheet,
        width_mm: 30.0,
        height_mm: 40.0,
        dpi: 300,
    }
}

fn receipts(with_font: bool) -> ReceiptSettings {
    let s = ReceiptSettings {
        studio: "测试照相馆".into(),
        public_url: PUBLIC.into(),
        font: None,
    };
    if !with_font {
        return s;
    }
    let path = engine::vision::Models::default_dir().join(RECEIPT_FONT_FILE);
    s.with_font_file(&path)
        .expect("font (run scripts/fetch-fonts)")
}

/// A 354×472 (30×40 mm at 300 dpi) photo cut from a real portrait.
fn photo() -> Bytes {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/testdata/portraits/obama2.jpg"
    );
    let img = engine::intake::decode(&std::fs::read(path).unwrap(), None)
        .unwrap()
        .image;
    let small = engine::raster::resize_rgb(&img, 354, 472).unwrap();
    Bytes::from(engine::encode::encode_jpeg(&small, 90, 300).unwrap())
}

async fn env(with_font: bool) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let price = ItemTerms {
        price_fen: 700,
        print_price_fen: None,
    };
    let items = FixedItems::new()
        .with(ITEM, price)
        .with(NO_SHEET, price)
        .with_receipt(ITEM, terms(true))
        .with_receipt(NO_SHEET, terms(false));
    let settings = Settings {
        receipts: receipts(with_font),
        ..Settings::default()
    };
    // Saturday 2026-02-14, 11:00 in China.
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 2, 14, 3, 0, 0).unwrap(),
    ));
    let p = TestDb::new(dir.path())
        .open(dir.path(), settings, Arc::new(items))
        .await
        .with_clock(clock.clone());
    Env {
        _dir: dir,
        p,
        clock,
        photo: photo(),
    }
}

impl Env {
    async fn app(&self) -> App {
        let new = NewApp {
            name: "Shop".into(),
            balance_fen: 100_000,
            ..Default::default()
        };
        self.p.create_app(new).await.unwrap().app
    }

    /// An order under review, for `item`.
    async fn reviewing(&self, app: &App, item: i64) -> Order {
        let pic = NewPic {
            item_id: item,
            photos: vec![("white".into(), self.photo.clone())],
            print_sheet: Some(Bytes::from_static(b"\xFF\xD8old sheet")),
            checks: json!({}),
            ..Default::default()
        };
        let pic = self.p.store_pic(app, pic).await.unwrap();
        let sub = Submission {
            pic_id: pic.pic_id,
            notice_url: "https://shop.example/notify".into(),
            params: json!({"text_name": "张三丰", "text_idcard": "11010519491231002X"}),
            is_print: false,
            print_param: None,
        };
        let o = self.p.submit(app, sub).await.unwrap();
        self.p.take(&o.order_no, "rev").await.unwrap()
    }

    async fn approve(&self, o: &Order, receipt_no: &str) -> Result<Order, PlatformError> {
        let a = Approval {
            receipt_no: receipt_no.into(),
            ..Default::default()
        };
        self.p.approve(&o.order_no, "rev", a).await
    }

    async fn image(&self, key: &Option<String>) -> image::RgbImage {
        let bytes = self.p.blobs().get(key.as_deref().unwrap()).await.unwrap();
        engine::intake::decode(&bytes, None).unwrap().image
    }
}

fn qr_texts(img: &image::RgbImage) -> Vec<String> {
    let gray = image::DynamicImage::ImageRgb8(img.clone()).to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(gray);
    prepared
        .detect_grids()
        .iter()
        .filter_map(|g| g.decode().ok().map(|(_, t)| t))
        .collect()
}

both_backends! {
    #[tokio::test]
    async fn approving_without_an_image_renders_the_receipt_and_a_captioned_sheet() {
        let env = env(true).await;
        let app = env.app().await;
        let o = env.reviewing(&app, ITEM).await;
        let done = env.approve(&o, "HK2026021400017").await.unwrap();
        let card = env.image(&done.receipt_key).await;
        assert_eq!(card.dimensions(), (1800, 1200));
        assert_eq!(qr_texts(&card), vec![format!("{PUBLIC}/r/HK2026021400017")]);
        // The sheet is new (not the pic's), 6 inch at 300 dpi, 9 copies of 30×40 mm, and its
        // bottom margin carries the number.
        let sheet = env.image(&done.print_key).await;
        assert_eq!(sheet.dimensions(), (1200, 1800));
        let strip = image::imageops::crop_imm(&sheet, 100, 1660, 1000, 140).to_image();
        let inked = strip
            .pixels()
            .filter(|p| p.0.iter().all(|&c| c < 160))
            .count();
        assert!(
            inked > 200,
            "no caption in the margin ({inked} dark pixels)"
        );
    }
}

both_backends! {
    #[tokio::test]
    async fn specs_without_a_sheet_get_only_the_receipt() {
        let env = env(true).await;
        let app = env.app().await;
        let o = env.reviewing(&app, NO_SHEET).await;
        let pic = env.p.repo().pic(&o.pic_id).await.unwrap().unwrap();
        let done = env.approve(&o, "R1").await.unwrap();
        assert_eq!(
            env.image(&done.receipt_key).await.dimensions(),
            (1800, 1200)
        );
        assert_eq!(done.print_key, pic.print_key, "the pic's sheet, as before");
    }
}

both_backends! {
    #[tokio::test]
    async fn an_authority_image_is_kept_as_uploaded() {
        let env = env(true).await;
        let app = env.app().await;
        let o = env.reviewing(&app, ITEM).await;
        let upload = Bytes::from_static(b"\xFF\xD8\xFF\xE0authority receipt");
        let a = Approval {
            receipt_no: "R2".into(),
            receipt_image: Some(upload.clone()),
            ..Default::default()
        };
        let done = env.p.approve(&o.order_no, "rev", a).await.unwrap();
        let stored = env
            .p
            .blobs()
            .get(done.receipt_key.as_deref().unwrap())
            .await
            .unwrap();
        assert_eq!(stored, upload);
        assert_eq!(env.image(&done.print_key).await.dimensions(), (1200, 1800));
    }
}

both_backends! {
    #[tokio::test]
    async fn a_number_the_barcode_cannot_carry_is_refused_and_nothing_moves() {
        let env = env(true).await;
        let app = env.app().await;
        let o = env.reviewing(&app, ITEM).await;
        let err = env.approve(&o, "回执１２３").await.unwrap_err();
        assert!(
            matches!(err, PlatformError::Invalid(ref m) if m.contains("receipt_no")),
            "{err}"
        );
        let now = env.p.order(&o.order_no).await.unwrap();
        assert_eq!(now.status, platform::OrderStatus::Reviewing);
        assert!(env.p.check_receipt("回执１２３").await.unwrap().is_none());
    }
}

both_backends! {
    #[tokio::test]
    async fn without_the_font_the_made_photo_stands_in() {
        let env = env(false).await;
        let app = env.app().await;
        let o = env.reviewing(&app, ITEM).await;
        let pic = env.p.repo().pic(&o.pic_id).await.unwrap().unwrap();
        let done = env.approve(&o, "R3").await.unwrap();
        assert_eq!(
            done.receipt_key.as_deref(),
            Some(pic.photos[0].key.as_str())
        );
        assert_eq!(done.print_key, pic.print_key);
    }
}

both_backends! {
    #[tokio::test]
    async fn the_public_check_is_valid_then_expired_and_unknown_numbers_are_none() {
        let env = env(true).await;
        let app = env.app().await;
        let o = env.reviewing(&app, ITEM).await;
        env.approve(&o, "HK77").await.unwrap();
        let c = env.p.check_receipt("HK77").await.unwrap().expect("known");
        assert_eq!(c.state, ReceiptState::Valid);
        assert_eq!(c.name_masked.as_deref(), Some("张*丰"));
        assert_eq!(c.document.as_deref(), Some("往来港澳通行证"));
        assert_eq!(
            c.issued.map(|d| d.to_string()).as_deref(),
            Some("2026-02-14")
        );
        assert_eq!(
            c.valid_until.map(|d| d.to_string()).as_deref(),
            Some("2026-08-13")
        );
        assert!(env.p.check_receipt("HK78").await.unwrap().is_none());
        // The last valid day, then the day after (China dates).
        env.clock
            .set(Utc.with_ymd_and_hms(2026, 8, 13, 15, 59, 0).unwrap());
        let c = env.p.check_receipt("HK77").await.unwrap().unwrap();
        assert_eq!(c.state, ReceiptState::Valid);
        env.clock.advance(TimeDelta::minutes(2));
        let c = env.p.check_receipt("HK77").await.unwrap().unwrap();
        assert_eq!(c.state, ReceiptState::Expired);
    }
}
