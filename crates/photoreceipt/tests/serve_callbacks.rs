//! `serve` runs the callback worker: a real make, submit, take and approve end with signed
//! callbacks at a receiver on 127.0.0.1, in order, and the receipt URL they carry works.

mod support;

use std::time::Duration;
use support::receiver::receiver;
use support::{b64, code, gd_param, testdata, Server};

#[test]
fn serve_delivers_signed_callbacks_in_order() {
    let s = Server::start(&[
        "--callback-allow-cidr",
        "127.0.0.0/8",
        "--callback-schedule",
        "1s,1s,1s",
    ]);
    let (_, key) = s.create_app("merchant", "100", false);
    let made = s.call(
        "/receipt/make",
        &[
            ("key", &key),
            ("item_id", "111"),
            ("image", &b64(&testdata("portraits/obama.jpg"))),
        ],
    );
    assert_eq!(code(&made), 0, "{made}");
    let pic_id = made["data"]["pic_id"].as_str().expect("pic_id").to_string();
    let (notice_url, deliveries) = receiver();
    let submitted = s.call(
        "/receipt/submit",
        &[
            ("key", &key),
            ("pic_id", &pic_id),
            ("notice_url", &notice_url),
            ("param", &gd_param()),
        ],
    );
    assert_eq!(code(&submitted), 0, "{submitted}");
    let order_no = submitted["data"]["order_no"]
        .as_str()
        .expect("order_no")
        .to_string();

    s.cli_ok(&["order", "take", &order_no]);
    let wait = |status: &str| {
        let d = deliveries
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("no callback with status {status}"));
        assert_eq!(
            d.form.get("status").map(String::as_str),
            Some(status),
            "{:?}",
            d.form
        );
        d
    };
    let reviewing = wait("2");
    let sign = hex::encode(<md5::Md5 as md5::Digest>::digest(key.as_bytes()));
    assert_eq!(
        reviewing.form.get("sign"),
        Some(&sign),
        "sign is md5 of the key"
    );
    assert_eq!(reviewing.form.get("order_no"), Some(&order_no));
    assert!(
        !reviewing.form.contains_key("image_receipt"),
        "status 2 carries no images"
    );
    for h in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
        assert!(
            reviewing.headers.contains_key(h),
            "missing {h}: {:?}",
            reviewing.headers
        );
    }
    assert!(reviewing.headers["webhook-signature"].starts_with("v1,"));

    s.cli_ok(&[
        "order",
        "approve",
        &order_no,
        "--receipt-no",
        "GD2026120300001",
    ]);
    let done = wait("3");
    let receipt = done
        .form
        .get("image_receipt")
        .expect("image_receipt on status 3");
    let (status, content_type, _, body) = s.fetch(receipt);
    assert_eq!(status, 200, "the receipt URL works");
    assert!(content_type.starts_with("image/"), "{content_type}");
    assert!(
        image::load_from_memory(&body).is_ok(),
        "the receipt is an image"
    );
    assert!(
        done.form.contains_key("image_print"),
        "Guangdong licence offers a print sheet"
    );
    assert_ne!(done.headers["webhook-id"], reviewing.headers["webhook-id"]);
}
