//! The reviewers' console in real headless Chromium (Debian's chromium + chromedriver,
//! driven by fantoccini) against the real `serve`: log in, refuse a wrong password and a
//! form without its CSRF token, lock out after 5 failures; take and approve (the callback
//! carries `image_receipt`, whose QR code decodes back to the receipt number), adjust and
//! approve (the callback carries `image`), approve with the authority's own receipt image,
//! reject with a preset reason (`reject_msg`); the admin pages (apps, keys, specs, reveal, audit).
//! Screenshots of the queue, order and receipt pages go to
//! `<target>/tmp/console-screenshots/`.

#[path = "support/browser.rs"]
mod browser;
mod support;

use browser::Browser;
use fantoccini::Locator;
use serde_json::Value;
use std::sync::mpsc;
use std::time::Duration;
use support::receiver::{receiver, switchable_receiver, Delivery};
use support::{b64, code, gd_param, testdata, Server};

fn serve() -> Server {
    Server::start(&[
        "--callback-allow-cidr",
        "127.0.0.0/8",
        "--callback-schedule",
        "1s,1s,1s",
    ])
}

/// `operator create --json`: the one-time password.
fn operator(s: &Server, name: &str, role: &str) -> String {
    let out = s.cli_ok(&[
        "operator", "create", "--name", name, "--role", role, "--json",
    ]);
    let v: Value = serde_json::from_str(&out).expect("operator JSON");
    v["password"].as_str().expect("password").to_string()
}

/// A real make of obama.jpg for the Guangdong licence (item 111), submitted with
/// `notice_url`; returns the order number.
fn order(s: &Server, key: &str, notice_url: &str) -> String {
    let made = s.call(
        "/receipt/make",
        &[
            ("key", key),
            ("item_id", "111"),
            ("image", &b64(&testdata("portraits/obama.jpg"))),
        ],
    );
    assert_eq!(code(&made), 0, "{made}");
    let pic_id = made["data"]["pic_id"].as_str().expect("pic_id");
    let submitted = s.call(
        "/receipt/submit",
        &[
            ("key", key),
            ("pic_id", pic_id),
            ("notice_url", notice_url),
            ("param", &gd_param()),
        ],
    );
    assert_eq!(code(&submitted), 0, "{submitted}");
    submitted["data"]["order_no"]
        .as_str()
        .expect("order_no")
        .to_string()
}

/// The next callback for `order_no` with `status` (others for other orders are skipped).
fn callback(rx: &mpsc::Receiver<Delivery>, order_no: &str, status: &str) -> Delivery {
    loop {
        let d = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("no callback {status} for {order_no}"));
        if d.form.get("order_no").map(String::as_str) == Some(order_no) {
            assert_eq!(
                d.form.get("status").map(String::as_str),
                Some(status),
                "{:?}",
                d.form
            );
            return d;
        }
    }
}

fn query_status(s: &Server, key: &str, order_no: &str) -> i64 {
    let v = s.call("/receipt/query", &[("key", key), ("order_no", order_no)]);
    v["data"]["status"].as_i64().expect("status")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_wrong_password_csrf_and_lockout() {
    let s = serve();
    let password = operator(&s, "lin", "reviewer");
    let (_, key) = s.create_app("Studio", "100", false);
    let (notice_url, _rx) = receiver();
    let no = order(&s, &key, &notice_url);
    let b = Browser::start().await;

    let page = b.login(&s.base, "lin", "not-the-password").await;
    assert!(page.contains("用户名或密码错误"), "{page}");
    assert!(b
        .client
        .get_all_cookies()
        .await
        .expect("cookies")
        .iter()
        .all(|c| c.name() != "pr_console"));

    let page = b.login(&s.base, "lin", &password).await;
    assert!(page.contains("审核队列"), "{page}");
    let session = b
        .client
        .get_named_cookie("pr_console")
        .await
        .expect("session cookie");
    assert_eq!(session.http_only(), Some(true), "{session:?}");
    assert_eq!(format!("{:?}", session.same_site()), "Some(Strict)");

    // The take form without its CSRF token is refused and changes nothing.
    b.goto(&s.url(&format!("/console/orders/{no}"))).await;
    b.client
        .execute(
            "document.querySelectorAll('#take input[name=csrf]').forEach(e => e.remove())",
            vec![],
        )
        .await
        .expect("remove csrf");
    b.submit("#take button").await;
    let page = b.body().await;
    assert!(page.contains("CSRF"), "{page}");
    assert_eq!(query_status(&s, &key, &no), 1, "still pending");

    // With the token, the same form works.
    b.goto(&s.url(&format!("/console/orders/{no}"))).await;
    b.submit("#take button").await;
    assert_eq!(query_status(&s, &key, &no), 2, "taken");

    // Five wrong passwords lock the operator out, even for the right one.
    let locked = operator(&s, "wang", "reviewer");
    b.client.delete_all_cookies().await.expect("log out");
    for _ in 0..5 {
        b.login(&s.base, "wang", "wrong").await;
    }
    let page = b.login(&s.base, "wang", &locked).await;
    assert!(page.contains("锁定"), "{page}");
    b.client.clone().close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn take_approve_adjust_and_reject_reach_the_merchant() {
    let s = serve();
    let password = operator(&s, "zhou", "reviewer");
    let (_, key) = s.create_app("Studio", "100", false);
    let (notice_url, rx) = receiver();
    let plain = order(&s, &key, &notice_url);
    let adjusted = order(&s, &key, &notice_url);
    let rejected = order(&s, &key, &notice_url);
    let b = Browser::start().await;
    b.login(&s.base, "zhou", &password).await;

    overdue(&s, &rejected);
    b.goto(&s.url("/console")).await;
    let late = b.text("#queue tr.overdue").await;
    assert!(
        late.contains(rejected.as_str()) && late.contains("超时"),
        "{late}"
    );
    let queue = b.text("#queue").await;
    for no in [&plain, &adjusted, &rejected] {
        assert!(queue.contains(no.as_str()), "{no} not queued: {queue}");
    }
    b.screenshot("queue").await;

    // Take and approve with the authority's number: the platform renders the receipt.
    b.goto(&s.url(&format!("/console/orders/{plain}"))).await;
    b.submit("#take button").await;
    callback(&rx, &plain, "2");
    assert!(b.text("#checks").await.len() > 10, "checks shown");
    b.screenshot("order").await;
    b.fill("#approve input[name=receipt_no]", "GD2026120400001")
        .await;
    b.submit("#approve button[type=submit]").await;
    let done = callback(&rx, &plain, "3");
    let receipt_url = done.form.get("image_receipt").expect("image_receipt");
    assert!(!done.form.contains_key("image"), "no adjustment, no image");
    let (status, _, _, bytes) = s.fetch(receipt_url);
    assert_eq!(status, 200);
    let qr = decode_qr(&bytes);
    assert!(qr.contains("GD2026120400001"), "QR says {qr}");

    // The QR target, in the browser.
    b.goto(&s.url("/r/GD2026120400001")).await;
    let page = b.body().await;
    assert!(page.contains("有效"), "{page}");
    assert!(!page.contains("11010519491231002X") && !page.contains("张三"));
    b.screenshot("receipt-page").await;
    b.goto(receipt_url).await;
    b.screenshot("receipt-image").await;

    // Adjust (nudge, brighten), preview, approve: the callback carries the re-made photo.
    b.goto(&s.url(&format!("/console/orders/{adjusted}"))).await;
    b.submit("#take button").await;
    callback(&rx, &adjusted, "2");
    b.fill("#approve input[name=dx]", "6").await;
    b.fill("#approve input[name=brightness]", "0.15").await;
    b.click("#preview-button").await;
    let loaded = wait_for_preview(&b).await;
    assert!(loaded > 0, "the preview image loads");
    b.fill("#approve input[name=receipt_no]", "GD2026120400002")
        .await;
    b.submit("#approve button[type=submit]").await;
    let done = callback(&rx, &adjusted, "3");
    let image = done.form.get("image").expect("image after an adjustment");
    let (status, ctype, _, photo) = s.fetch(image);
    assert_eq!(status, 200);
    assert!(ctype.starts_with("image/jpeg"), "{ctype}");
    let photo = image::load_from_memory(&photo).expect("a JPEG");
    assert_eq!(
        (photo.width(), photo.height()),
        (260, 378),
        "the spec's size"
    );

    // Approve with the authority's own receipt image: that image is what the merchant gets.
    let uploaded = order(&s, &key, &notice_url);
    b.goto(&s.url(&format!("/console/orders/{uploaded}"))).await;
    b.submit("#take button").await;
    callback(&rx, &uploaded, "2");
    let scan = s.data_dir().join("authority-receipt.png");
    let mut img = image::RgbImage::new(300, 200);
    img.put_pixel(10, 10, image::Rgb([200, 30, 30]));
    img.save(&scan).expect("write scan");
    b.fill("#approve input[name=receipt_no]", "GD2026120400003")
        .await;
    b.element("#approve input[name=receipt_image]")
        .await
        .send_keys(&scan.display().to_string())
        .await
        .expect("choose file");
    b.submit("#approve button[type=submit]").await;
    let done = callback(&rx, &uploaded, "3");
    let (status, _, _, got) = s.fetch(done.form.get("image_receipt").expect("image_receipt"));
    assert_eq!(status, 200);
    let got = image::load_from_memory(&got).expect("image").to_rgb8();
    assert_eq!(
        got.dimensions(),
        (300, 200),
        "the uploaded receipt, not a rendered one"
    );

    // Reject with a preset reason.
    b.goto(&s.url(&format!("/console/orders/{rejected}"))).await;
    b.submit("#take button").await;
    callback(&rx, &rejected, "2");
    b.client
        .find(Locator::Css("#reject select[name=preset]"))
        .await
        .expect("preset select")
        .select_by_value("照片过暗或过亮")
        .await
        .expect("select preset");
    b.submit("#reject button[type=submit]").await;
    let done = callback(&rx, &rejected, "-1");
    assert_eq!(
        done.form.get("reject_msg").map(String::as_str),
        Some("照片过暗或过亮")
    );
    assert_eq!(query_status(&s, &key, &rejected), -1);
    b.client.clone().close().await.expect("close");
}

/// Moves the order's SLA due time an hour into the past, in the SQLite file itself (the
/// server has no clock to wind).
fn overdue(s: &Server, order_no: &str) {
    let db = s.data_dir().join("photoreceipt.db");
    let script = "import sqlite3,sys,time\n\
        c=sqlite3.connect(sys.argv[1]);c.execute('PRAGMA busy_timeout=5000')\n\
        n=c.execute('UPDATE orders SET sla_due_at=? WHERE order_no=?',(int(time.time()*1000)-3600000,sys.argv[2])).rowcount\n\
        c.commit();assert n==1";
    let ok = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(&db)
        .arg(order_no)
        .status()
        .expect("python3");
    assert!(ok.success(), "could not move the SLA of {order_no}");
}

/// The preview `<img>`'s natural width once it has loaded (0 if it never does).
async fn wait_for_preview(b: &Browser) -> u64 {
    for _ in 0..100 {
        let w = b
            .client
            .execute(
                "const i=document.getElementById('preview');return i.complete?i.naturalWidth:0",
                vec![],
            )
            .await
            .expect("script");
        if let Some(w) = w.as_u64().filter(|w| *w > 0) {
            return w;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    0
}

fn decode_qr(bytes: &[u8]) -> String {
    let gray = image::load_from_memory(bytes).expect("receipt").to_luma8();
    let mut img = rqrr::PreparedImage::prepare(gray);
    let grids = img.detect_grids();
    assert!(!grids.is_empty(), "a QR code on the receipt");
    grids[0].decode().expect("QR decodes").1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_pages_apps_specs_reveal_and_audit() {
    let s = serve();
    let admin = operator(&s, "boss", "admin");
    let reviewer = operator(&s, "lin", "reviewer");
    let b = Browser::start().await;

    // A reviewer does not get the admin pages.
    b.login(&s.base, "lin", &reviewer).await;
    b.goto(&s.url("/console/admin/apps")).await;
    assert!(b.body().await.contains("需要管理员权限"));
    b.client.delete_all_cookies().await.expect("log out");
    b.login(&s.base, "boss", &admin).await;

    // Create an app: its key is shown once and works at once; top it up.
    b.goto(&s.url("/console/admin/apps")).await;
    b.fill("#new-app input[name=name]", "Counter").await;
    b.fill("#new-app input[name=balance_yuan]", "50").await;
    b.submit("#new-app button").await;
    let key = b.text("#secret").await.trim().to_string();
    let info = s.call("/user/info", &[("key", &key)]);
    assert_eq!(code(&info), 0, "{info}");
    assert_eq!(info["data"]["balance_fen"], 5000);
    let app_id = info["data"]["app_id"].as_i64().expect("app_id");
    let row = format!("#apps tr[data-app='{app_id}']");
    b.goto(&s.url("/console/admin/apps")).await;
    b.fill(&format!("{row} input[name=amount_yuan]"), "12.5")
        .await;
    b.submit(&format!("{row} form[action$='/topup'] button"))
        .await;
    let info = s.call("/user/info", &[("key", &key)]);
    assert_eq!(info["data"]["balance_fen"], 6250, "{info}");
    b.goto(&s.url(&format!("/console/admin/apps/{app_id}")))
        .await;
    assert!(
        b.body().await.contains("12.50"),
        "the top-up is in the ledger"
    );

    // Rotating the key: the new one is shown once, the old one stops working.
    b.goto(&s.url("/console/admin/apps")).await;
    b.submit(&format!("{row} form[action$='/rotate'] button"))
        .await;
    let rotated = b.text("#secret").await.trim().to_string();
    assert_ne!(rotated, key);
    assert_ne!(code(&s.call("/user/info", &[("key", &key)])), 0);
    let key = rotated;
    assert_eq!(code(&s.call("/user/info", &[("key", &key)])), 0);

    // Spec 111: a new price, then no receipts at all.
    let spec_form = "#specs tr[data-item='111'] form";
    b.goto(&s.url("/console/admin/specs")).await;
    b.fill(&format!("{spec_form} input[name=price_yuan]"), "9.5")
        .await;
    b.submit(&format!("{spec_form} button")).await;
    let item = s.call("/item/get", &[("key", &key), ("item_id", "111")]);
    assert_eq!(item["data"]["price_fen"], 950, "{item}");
    b.click(&format!("{spec_form} input[name=enabled]")).await;
    b.submit(&format!("{spec_form} button")).await;
    let item = s.call("/item/get", &[("key", &key), ("item_id", "111")]);
    assert_eq!(item["data"]["is_receipt"], false, "{item}");
    b.click(&format!("{spec_form} input[name=enabled]")).await;
    b.submit(&format!("{spec_form} button")).await;

    // The ID number is masked; revealing it is audited.
    let (notice_url, _rx) = receiver();
    let no = order(&s, &key, &notice_url);
    b.goto(&s.url(&format!("/console/orders/{no}"))).await;
    let masked = b.text("#idcard").await;
    assert!(
        masked.ends_with("002X") && !masked.contains("110105"),
        "{masked}"
    );
    b.submit("#reveal button").await;
    assert_eq!(b.text("#idcard").await.trim(), "11010519491231002X");
    b.goto(&s.url("/console/admin/audit")).await;
    let audit = b.body().await;
    assert!(
        audit.contains("reveal_id") && audit.contains(&no),
        "{audit}"
    );
    assert!(audit.contains("boss"), "{audit}");

    // A callback the merchant kept refusing is listed as failed; redeliver sends it again.
    let (down_url, rx, up) = switchable_receiver(false);
    let stuck = order(&s, &key, &down_url);
    s.cli_ok(&["order", "take", &stuck]);
    let row = format!("#failed-callbacks tr[data-order='{stuck}']");
    let mut listed = false;
    for _ in 0..60 {
        b.goto(&s.url("/console/admin/callbacks")).await;
        if b.client.find(Locator::Css(&row)).await.is_ok() {
            listed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(listed, "the failed callback of {stuck} is listed");
    up.store(true, std::sync::atomic::Ordering::SeqCst);
    b.submit(&format!("{row} form button")).await;
    callback(&rx, &stuck, "2");
    b.client.clone().close().await.expect("close");
}
