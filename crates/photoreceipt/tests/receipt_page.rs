//! Through the real `serve`: submit and query answer the ETA; a receipt approved with the CLI
//! is rendered, its QR code points at `/r/{receipt_no}`, and that page says it is valid with
//! the masked name only. Unknown numbers get 404.

mod support;

use platform::{Bytes, NewPic};
use serde_json::json;
use support::{gd_param, Direct, Server};

fn get_page(url: &str) -> (u16, String, String) {
    let resp = match ureq::get(url).call() {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{url}: {e}"),
    };
    let status = resp.status();
    let ctype = resp.content_type().to_string();
    (status, ctype, resp.into_string().expect("body"))
}

/// A real 260×378 photo (Guangdong driving-licence receipt, item 111, 22×32 mm at 300 dpi).
fn photo() -> Bytes {
    let img = engine::intake::decode(&support::testdata("portraits/obama.jpg"), None)
        .expect("decode")
        .image;
    let cell = engine::raster::resize_rgb(&img, 260, 378).expect("resize");
    Bytes::from(engine::encode::encode_jpeg(&cell, 90, 300).expect("jpeg"))
}

#[test]
fn eta_then_receipt_then_its_public_page() {
    let s = Server::start(&[]);
    let (_, key) = s.create_app("Shop", "100", false);
    let direct = Direct::open(s.data_dir());
    let app = direct.app(&key);
    let new = NewPic {
        item_id: 111,
        photos: vec![("white".into(), photo())],
        checks: json!({"pass": true, "checks": []}),
        ..Default::default()
    };
    let pic = direct
        .rt
        .block_on(direct.p.store_pic(&app, new))
        .expect("pic");
    let param = gd_param();
    let v = s.call(
        "/receipt/submit",
        &[
            ("key", &key),
            ("pic_id", &pic.pic_id),
            ("notice_url", "https://shop.example/cb"),
            ("param", &param),
        ],
    );
    let no = v["data"]["order_no"]
        .as_str()
        .expect("order_no")
        .to_string();
    let eta = v["data"]["eta"].as_str().expect("eta in submit");
    let eta = chrono::DateTime::parse_from_rfc3339(eta).expect("RFC 3339");
    assert_eq!(eta.offset().local_minus_utc(), 8 * 3600, "China time");
    let order = direct.rt.block_on(direct.p.order(&no)).expect("order");
    assert_eq!(eta, order.sla_due_at, "the SLA due time");
    let q = s.call("/receipt/query", &[("key", &key), ("order_no", &no)]);
    assert!(q["data"]["eta"].is_string(), "{q}");

    s.cli_ok(&["order", "take", &no]);
    s.cli_ok(&[
        "order",
        "approve",
        &no,
        "--receipt-no",
        "GD2026/0001",
        "--public-url",
        &s.base,
    ]);
    let order = direct.rt.block_on(direct.p.order(&no)).expect("order");
    let card = direct
        .rt
        .block_on(
            direct
                .p
                .blob(order.receipt_key.as_deref().expect("receipt")),
        )
        .expect("blob");
    let card = engine::intake::decode(&card, None).expect("card").image;
    let mut prepared =
        rqrr::PreparedImage::prepare(image::DynamicImage::ImageRgb8(card).to_luma8());
    let grids = prepared.detect_grids();
    let (_, url) = grids.first().expect("a QR code").decode().expect("decodes");
    assert_eq!(url, s.url("/r/GD2026%2F0001"));

    let (status, ctype, html) = get_page(&url);
    assert_eq!(status, 200);
    assert!(ctype.starts_with("text/html"), "{ctype}");
    for needle in ["有效", "GD2026/0001", "张*", "驾驶证（广东回执）"] {
        assert!(html.contains(needle), "{needle} missing from {html}");
    }
    for secret in ["张三", "11010519491231002X", "13800138000", "深圳"] {
        assert!(!html.contains(secret), "{secret} leaked");
    }
    let (status, _, html) = get_page(&s.url("/r/GD2026-9999"));
    assert_eq!(status, 404);
    assert!(html.contains("未找到该回执"));
}
