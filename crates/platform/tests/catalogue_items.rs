//! The catalogue as the platform's price list and param rules (Guangdong driving licence).

use base64::Engine as _;
use platform::{NewApp, NewPic, Platform, PlatformError, Settings, Submission};
use serde_json::json;
use std::sync::Arc;

const GD: i64 = 111;

fn gd_params(with_image: bool) -> serde_json::Value {
    let mut p = json!({"text_mobile": "13800138000", "text_city": "深圳", "text_name": "张三",
                       "text_idcard": "11010519491231002X"});
    if with_image {
        let png = b"\x89PNG\r\n\x1a\nidcard";
        p["image_idcard"] = json!(base64::engine::general_purpose::STANDARD.encode(png));
    }
    p
}

#[tokio::test]
async fn catalogue_prices_and_validates_and_idcard_images_become_blobs() {
    let dir = tempfile::tempdir().expect("tmp");
    let cat = catalogue::Catalogue::builtin();
    let rule = cat
        .get(GD as u32)
        .and_then(|s| s.receipt.clone())
        .expect("receipt spec");
    let p = Platform::open_embedded(dir.path(), Settings::default(), Arc::new(cat))
        .await
        .expect("open");
    let app = p
        .create_app(NewApp {
            name: "S".into(),
            balance_fen: 100_000,
            ..Default::default()
        })
        .await
        .expect("app")
        .app;
    let mut pics = Vec::new();
    for _ in 0..2 {
        pics.push(p.store_pic(&app, pic_of(GD)).await.expect("pic"));
    }
    let sub = |pic_id: &str, params| Submission {
        pic_id: pic_id.into(),
        notice_url: "https://shop.example/cb".into(),
        params,
        is_print: false,
        print_param: None,
    };
    let mut missing = gd_params(false);
    missing.as_object_mut().expect("obj").remove("text_city");
    match p.submit(&app, sub(&pics[0].pic_id, missing)).await {
        Err(PlatformError::Param(e)) => assert_eq!(e.field(), Some("text_city")),
        other => panic!("{other:?}"),
    }

    let order = p
        .submit(&app, sub(&pics[0].pic_id, gd_params(true)))
        .await
        .expect("submit");
    assert_eq!(order.price_fen, i64::from(rule.price_fen));
    let params = order.params.as_ref().expect("params");
    assert_eq!(params["text_city"], "深圳");
    assert!(
        params.get("image_idcard").is_none(),
        "the image is not kept in the row"
    );
    assert_eq!(order.param_files.len(), 1);
    let key = &order.param_files[0].key;
    assert!(key.starts_with(&format!("order/{}/idcard-", order.order_no)) && key.ends_with(".png"));
    assert_eq!(&p.blob(key).await.expect("blob")[..8], b"\x89PNG\r\n\x1a\n");

    // A resubmission sends what changed, as the seed's example does (mobile, city and the
    // image): the fields it leaves out are kept from the rejected order, the file too.
    let reject = |no: String| {
        let p = &p;
        async move {
            p.take(&no, "r").await.expect("take");
            p.reject(&no, "r", "id card unreadable")
                .await
                .expect("reject");
        }
    };
    reject(order.order_no.clone()).await;
    let changed = json!({"text_mobile": "13900139000", "text_city": "广州"});
    let re = p
        .resubmit(&app, &order.order_no, sub(&pics[1].pic_id, changed))
        .await
        .expect("resubmit with only the changed fields");
    let params = re.params.as_ref().expect("params");
    assert_eq!(params["text_mobile"], "13900139000");
    assert_eq!(params["text_city"], "广州");
    assert_eq!(params["text_name"], "张三");
    assert_eq!(params["text_idcard"], "11010519491231002X");
    assert_eq!(
        re.param_files, order.param_files,
        "the ID-card image is kept"
    );
    assert_eq!(
        &p.blob(key).await.expect("kept blob")[..8],
        b"\x89PNG\r\n\x1a\n"
    );

    // A field sent empty is cleared: a required one is then missing, the image is dropped.
    reject(order.order_no.clone()).await;
    let pic3 = p.store_pic(&app, pic_of(GD)).await.expect("pic");
    match p
        .resubmit(
            &app,
            &order.order_no,
            sub(&pic3.pic_id, json!({"text_name": ""})),
        )
        .await
    {
        Err(PlatformError::Param(e)) => assert_eq!(e.field(), Some("text_name")),
        other => panic!("{other:?}"),
    }
    let re = p
        .resubmit(
            &app,
            &order.order_no,
            sub(&pic3.pic_id, json!({"image_idcard": ""})),
        )
        .await
        .expect("resubmit");
    assert!(re.param_files.is_empty());
    assert!(matches!(
        p.blob(key).await,
        Err(PlatformError::BlobNotFound(_))
    ));
    assert_eq!(re.params.as_ref().expect("params")["text_name"], "张三");
}

fn pic_of(item_id: i64) -> NewPic {
    NewPic {
        item_id,
        photos: vec![(
            "white".into(),
            platform::Bytes::from_static(b"\xFF\xD8\xFFjpg"),
        )],
        checks: json!({}),
        ..Default::default()
    }
}

#[test]
fn unknown_and_non_receipt_items_have_no_terms() {
    use platform::Items as _;
    let cat = catalogue::Catalogue::builtin();
    assert!(cat.terms(999_999).is_none());
    assert!(cat.terms(-1).is_none());
    let plain = cat
        .iter()
        .find(|s| !s.is_receipt())
        .expect("a spec without receipts");
    assert!(cat.terms(i64::from(plain.item_id)).is_none());
}
