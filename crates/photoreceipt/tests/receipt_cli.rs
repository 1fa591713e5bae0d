//! `photoreceipt order approve` without `--receipt-image` renders the receipt (QR to the
//! public URL's `/r/{receipt_no}`) and, for a spec with a print sheet, the captioned sheet.

use platform::{Bytes, FixedItems, ItemTerms, NewPic, Platform, Submission};
use serde_json::json;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

/// 往来港澳通行证: 30×40 mm at 300 dpi, with a print sheet.
const ITEM: i64 = 121;

fn cli(dir: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_photoreceipt"))
        .args(args)
        .env("PHOTORECEIPT_DATA_DIR", dir)
        .env("PHOTORECEIPT_PUBLIC_URL", "https://receipts.example.com/")
        .env("PHOTORECEIPT_STUDIO_NAME", "测试照相馆")
        .env("PHOTORECEIPT_LOG", "warn")
        .output()
        .expect("run photoreceipt");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

fn photo() -> Bytes {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/testdata/portraits/biden.jpg"
    );
    let img = engine::intake::decode(&std::fs::read(path).expect("portrait"), None)
        .expect("decode")
        .image;
    let cell = engine::raster::resize_rgb(&img, 354, 472).expect("resize");
    Bytes::from(engine::encode::encode_jpeg(&cell, 90, 300).expect("jpeg"))
}

fn decode(bytes: &[u8]) -> image::RgbImage {
    engine::intake::decode(bytes, None).expect("decode").image
}

#[test]
fn the_cli_approval_renders_the_receipt_and_the_sheet() {
    let dir = tempfile::tempdir().expect("tmp");
    let created: serde_json::Value = serde_json::from_str(&cli(
        dir.path(),
        &[
            "app",
            "create",
            "--name",
            "Shop",
            "--balance-yuan",
            "50",
            "--json",
        ],
    ))
    .expect("json");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    let terms = ItemTerms {
        price_fen: 700,
        print_price_fen: None,
    };
    let items = FixedItems::new().with(ITEM, terms);
    let p = rt
        .block_on(Platform::open_embedded(
            dir.path(),
            Default::default(),
            Arc::new(items),
        ))
        .expect("open");
    let key = created["key"].as_str().expect("key");
    let app = rt.block_on(p.authenticate(key)).expect("auth");
    let new = NewPic {
        item_id: ITEM,
        photos: vec![("white".into(), photo())],
        checks: json!({}),
        ..Default::default()
    };
    let pic = rt.block_on(p.store_pic(&app, new)).expect("pic");
    let sub = Submission {
        pic_id: pic.pic_id,
        notice_url: "https://shop.example/cb".into(),
        params: json!({"text_name": "王小明", "text_idcard": "11010519491231002X"}),
        is_print: false,
        print_param: None,
    };
    let no = rt.block_on(p.submit(&app, sub)).expect("submit").order_no;
    cli(dir.path(), &["order", "take", &no]);
    cli(
        dir.path(),
        &["order", "approve", &no, "--receipt-no", "HK0001"],
    );

    let order = rt.block_on(p.order(&no)).expect("order");
    let blob = |k: &Option<String>| {
        rt.block_on(p.blob(k.as_deref().expect("key")))
            .expect("blob")
    };
    let card = decode(&blob(&order.receipt_key));
    assert_eq!(card.dimensions(), (1800, 1200));
    let mut prepared =
        rqrr::PreparedImage::prepare(image::DynamicImage::ImageRgb8(card).to_luma8());
    let texts: Vec<String> = prepared
        .detect_grids()
        .iter()
        .filter_map(|g| g.decode().ok().map(|(_, t)| t))
        .collect();
    assert_eq!(
        texts,
        vec!["https://receipts.example.com/r/HK0001".to_string()]
    );
    assert_eq!(decode(&blob(&order.print_key)).dimensions(), (1200, 1800));
}
