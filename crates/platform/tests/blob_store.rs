//! The same `BlobStore` tests on the local dir and on a real S3 server (s3s-fs on loopback),
//! plus what only S3 does: Content-Type on objects, presigned GETs fetched over HTTP, and a
//! store that goes away.

mod common;
mod s3_server;

use bytes::Bytes;
use platform::{BlobStore, NewPic, ObjectBlobStore, PlatformError};
use s3_server::S3Server;
use std::sync::Arc;
use std::time::Duration;

async fn suite(store: &dyn BlobStore) {
    let put = |k: &'static str, v: &'static [u8]| store.put(k, Bytes::from_static(v));
    put("pic/20250101/1/white.jpg", b"abc").await.expect("put");
    put("pic/20250101/1/blue.jpg", b"de").await.expect("put");
    put("pic/20250102/2/white.jpg", b"f").await.expect("put");
    put("order/20250101120000123456/receipt-x.jpg", b"r")
        .await
        .expect("put");
    assert_eq!(
        store.get("pic/20250101/1/white.jpg").await.expect("get"),
        Bytes::from_static(b"abc")
    );
    put("pic/20250101/1/white.jpg", b"replaced")
        .await
        .expect("overwrite");
    assert_eq!(
        store.get("pic/20250101/1/white.jpg").await.expect("get"),
        Bytes::from_static(b"replaced"),
        "a put replaces the blob"
    );
    assert!(store
        .exists("pic/20250101/1/blue.jpg")
        .await
        .expect("exists"));
    assert!(!store
        .exists("pic/20250101/1/red.jpg")
        .await
        .expect("exists"));
    assert_eq!(
        store.list("pic/20250101").await.expect("list"),
        ["pic/20250101/1/blue.jpg", "pic/20250101/1/white.jpg"]
    );
    assert_eq!(
        store.list("pic").await.expect("list").len(),
        3,
        "only under the prefix"
    );
    assert!(store.list("nothing/here").await.expect("list").is_empty());

    store.delete("pic/20250101/1/white.jpg").await.expect("del");
    store
        .delete("pic/20250101/1/white.jpg")
        .await
        .expect("deleting a missing blob is fine");
    assert!(!store
        .exists("pic/20250101/1/white.jpg")
        .await
        .expect("exists"));
    assert!(matches!(
        store.get("pic/20250101/1/white.jpg").await,
        Err(PlatformError::BlobNotFound(_))
    ));
    assert_eq!(
        store.list("pic/20250101").await.expect("list"),
        ["pic/20250101/1/blue.jpg"]
    );

    // Every byte value, a few MB (a 12 MP original is about 4 MB).
    let big: Vec<u8> = (0..5_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    store
        .put("pic/20250103/3/x-original.jpg", Bytes::from(big.clone()))
        .await
        .expect("put big");
    assert_eq!(
        store
            .get("pic/20250103/3/x-original.jpg")
            .await
            .expect("get"),
        big
    );
    assert!(
        store.put("../escape", Bytes::new()).await.is_err(),
        "keys cannot leave the store"
    );
}

#[tokio::test]
async fn local_dir_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = ObjectBlobStore::local(&dir.path().join("blobs")).expect("store");
    suite(&store).await;
    assert!(
        store
            .presigned_url("pic/20250101/1/blue.jpg", Duration::from_secs(60))
            .is_none(),
        "a local dir cannot presign"
    );
}

#[tokio::test]
async fn s3_store() {
    let s3 = S3Server::start();
    suite(&s3.store()).await;
    assert!(s3.store().describe().contains("s3://photoreceipt"));
}

async fn fetch(url: &str) -> (u16, String, Bytes) {
    let resp = reqwest::get(url).await.expect("GET");
    let status = resp.status().as_u16();
    let ctype = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap_or("").to_string())
        .unwrap_or_default();
    (status, ctype, resp.bytes().await.expect("body"))
}

#[tokio::test]
async fn s3_objects_carry_their_content_type_and_presigned_gets_serve_them() {
    let s3 = S3Server::start();
    let store = s3.store();
    let jpeg = Bytes::from_static(&[0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3, 4]);
    store
        .put("pic/20250101/9/white.jpg", jpeg.clone())
        .await
        .expect("put");
    store
        .put(
            "pic/20250101/9/x-transparent.png",
            Bytes::from_static(b"\x89PNG\r\n\x1a\nxx"),
        )
        .await
        .expect("put");

    let url = store
        .presigned_url("pic/20250101/9/white.jpg", Duration::from_secs(300))
        .expect("S3 presigns");
    assert!(url.starts_with(&s3.endpoint()), "{url}");
    let (status, ctype, body) = fetch(&url).await;
    assert_eq!(status, 200, "{url}");
    assert_eq!(ctype, "image/jpeg");
    assert_eq!(body, jpeg);

    let png_url = store
        .presigned_url("pic/20250101/9/x-transparent.png", Duration::from_secs(300))
        .expect("presign");
    assert_eq!(fetch(&png_url).await.1, "image/png");

    // Tampering with the signed URL is refused by the server.
    let other = url.replace("white.jpg", "x-transparent.png");
    assert_eq!(fetch(&other).await.0, 403, "a URL signed for another key");
    let unsigned = url.split('?').next().expect("path").to_string();
    assert_eq!(fetch(&unsigned).await.0, 403, "no signature");
}

#[tokio::test]
async fn presigned_urls_expire() {
    let s3 = S3Server::start();
    let store = s3.store();
    store
        .put(
            "pic/20250101/8/white.jpg",
            Bytes::from_static(b"\xFF\xD8\xFFx"),
        )
        .await
        .expect("put");
    let url = store
        .presigned_url("pic/20250101/8/white.jpg", Duration::from_secs(1))
        .expect("presign");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(fetch(&url).await.0, 403, "expired");
}

#[tokio::test]
async fn an_unreachable_store_fails_the_call_instead_of_hanging() {
    let mut s3 = S3Server::start();
    let store = s3.store();
    store
        .put("pic/20250101/7/white.jpg", Bytes::from_static(b"x"))
        .await
        .expect("put while up");
    s3.kill();
    let put = tokio::time::timeout(
        Duration::from_secs(30),
        store.put("pic/20250101/7/blue.jpg", Bytes::from_static(b"y")),
    )
    .await
    .expect("a put on a dead store returns, it does not hang");
    assert!(matches!(put, Err(PlatformError::Store(_))), "{put:?}");
    let get = tokio::time::timeout(
        Duration::from_secs(30),
        store.get("pic/20250101/7/white.jpg"),
    )
    .await
    .expect("a get returns");
    assert!(matches!(get, Err(PlatformError::Store(_))), "{get:?}");
}

/// A make whose blobs cannot be written leaves no pic behind: no row, so no pic_id that
/// points at missing files.
#[tokio::test]
async fn a_pic_is_stored_whole_or_not_at_all_on_s3() {
    let mut s3 = S3Server::start();
    let env = common::env().await;
    let p = env.p.clone().with_blobs(Arc::new(s3.store()));
    let app = env.app(10_000, false).await;
    let new = || NewPic {
        item_id: common::ITEM,
        photos: vec![
            ("white".into(), Bytes::from_static(b"\xFF\xD8\xFFwhite")),
            ("blue".into(), Bytes::from_static(b"\xFF\xD8\xFFblue")),
        ],
        original: Some(Bytes::from_static(b"\xFF\xD8\xFForiginal")),
        checks: serde_json::json!({"pass": true}),
        ..Default::default()
    };
    let kept = p
        .store_pic(&app, new())
        .await
        .expect("store while S3 is up");
    for key in kept.blob_keys() {
        assert!(s3.store().exists(&key).await.expect("exists"), "{key}");
    }
    s3.kill();
    let err = p.store_pic(&app, new()).await.expect_err("S3 is down");
    assert!(matches!(err, PlatformError::Store(_)), "{err:?}");
    let far = env.p.now() + chrono::TimeDelta::days(365);
    let left = p
        .repo()
        .unsubmitted_pics_expired(far, 100)
        .await
        .expect("pics");
    let ids: Vec<&str> = left.iter().map(|pic| pic.pic_id.as_str()).collect();
    assert_eq!(ids, [kept.pic_id.as_str()], "only the whole pic is left");
}

/// `migrate --blobs-from DIR --blobs-to s3://…`: every blob copied and verified; a second run
/// copies nothing; a blob that differs in the destination is written again.
#[tokio::test]
async fn blobs_copy_from_a_local_dir_to_s3_and_the_copy_can_be_run_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    let local = ObjectBlobStore::local(&dir.path().join("blobs")).expect("store");
    let keys = [
        "pic/20250101/1/white.jpg",
        "pic/20250101/1/x-original.jpg",
        "order/20250101120000123456/receipt-ab.jpg",
        "order/20250101120000123456/sheet.png",
    ];
    for (i, key) in keys.iter().enumerate() {
        let body = format!("blob {i} {}", "x".repeat(i * 1000));
        local.put(key, Bytes::from(body)).await.expect("put");
    }
    let s3 = S3Server::start();
    let remote = s3.store();
    remote
        .put("other/kept.jpg", Bytes::from_static(b"only in S3"))
        .await
        .expect("put");

    let first = platform::copy_blobs(&local, &remote, 3)
        .await
        .expect("copy");
    assert!(first.ok(), "{first:?}");
    assert_eq!((first.listed, first.copied, first.already), (4, 4, 0));
    for key in keys {
        assert_eq!(
            remote.get(key).await.expect("copied"),
            local.get(key).await.expect("source")
        );
    }
    assert_eq!(
        remote.get("pic/20250101/1/white.jpg").await.expect("get"),
        Bytes::from("blob 0 ")
    );

    let again = platform::copy_blobs(&local, &remote, 3)
        .await
        .expect("copy");
    assert!(again.ok(), "{again:?}");
    assert_eq!((again.copied, again.already), (0, 4), "nothing to do twice");

    remote
        .put(keys[1], Bytes::from_static(b"a torn copy"))
        .await
        .expect("put");
    let repair = platform::copy_blobs(&local, &remote, 3)
        .await
        .expect("copy");
    assert_eq!((repair.copied, repair.already), (1, 3), "{repair:?}");
    assert_eq!(
        remote.get(keys[1]).await.expect("get"),
        local.get(keys[1]).await.expect("get")
    );
    assert!(remote.exists("other/kept.jpg").await.expect("exists"));
    assert_eq!(remote.list("").await.expect("list").len(), 5);
}

/// The destination going away mid-copy is reported per blob, not hidden.
#[tokio::test]
async fn a_copy_to_a_dead_store_reports_every_blob_as_failed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let local = ObjectBlobStore::local(&dir.path().join("blobs")).expect("store");
    local
        .put("pic/20250101/1/white.jpg", Bytes::from_static(b"x"))
        .await
        .expect("put");
    let mut s3 = S3Server::start();
    let remote = s3.store();
    s3.kill();
    let report = platform::copy_blobs(&local, &remote, 2)
        .await
        .expect("copy");
    assert!(!report.ok());
    assert_eq!(report.failed.len(), 1, "{report:?}");
    assert_eq!(report.failed[0].0, "pic/20250101/1/white.jpg");
}
