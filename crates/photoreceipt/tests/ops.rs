//! Operations, on the real binary: blobs on a real S3 server (`--store-url`, s3s-fs on
//! loopback), S3 going away during a make, `/healthz`, `/readyz`, `/metrics`, JSON logs with
//! the request id.

#[path = "../../platform/tests/s3_server/mod.rs"]
mod s3_server;
mod support;

use s3_server::S3Server;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};
use support::{b64, code, gd_param, testdata, Direct, Server};

const GD: &str = "111";

/// `serve --store-url <s3s-fs>` with the keys in the usual AWS variables.
fn serve_on(s3: &S3Server, extra: &[&str]) -> Server {
    let url = s3.url();
    let mut args = vec!["--store-url", url.as_str(), "--rate-limit", "0"];
    args.extend_from_slice(extra);
    let dir = tempfile::tempdir().expect("tempdir");
    Server::start_opts(dir, &args, &s3.env(), Stdio::inherit())
}

fn make(s: &Server, key: &str) -> (u16, Value) {
    let image = b64(&testdata("portraits/biden.jpg"));
    s.post(
        "/receipt/make",
        &[("key", key), ("item_id", GD), ("image", &image)],
    )
}

/// Every blob key in the data dir's local store (there should be none on S3).
fn local_blobs(s: &Server) -> usize {
    let dir = s.data_dir().join("blobs");
    walk(&dir)
}

fn walk(dir: &std::path::Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| {
            if e.path().is_dir() {
                walk(&e.path())
            } else {
                1
            }
        })
        .sum()
}

#[test]
fn serve_on_s3_makes_pics_whose_urls_fetch_from_any_node() {
    let s3 = S3Server::start();
    let secret = "a-cluster-wide-url-secret";
    let s = serve_on(&s3, &["--url-secret", secret]);
    let (_, key) = s.create_app("Shop", "10", false);
    let (status, v) = make(&s, &key);
    assert_eq!((status, code(&v)), (200, 0), "{v}");
    let white = v["data"]["list"]["white"].as_str().expect("white URL");
    assert!(white.starts_with(&s.base), "our signed URL: {white}");
    let (st, ctype, _, body) = s.fetch(white);
    assert_eq!((st, ctype.as_str()), (200, "image/jpeg"));
    assert!(body.starts_with(&[0xFF, 0xD8, 0xFF]));
    let print = v["data"]["print"].as_str().expect("print sheet URL");
    assert_eq!(s.fetch(print).0, 200);

    let pic_id = v["data"]["pic_id"].as_str().expect("pic_id");
    let rt = tokio::runtime::Runtime::new().expect("rt");
    let in_s3 = rt.block_on(async { platform::BlobStore::list(&s3.store(), "pic").await });
    let in_s3 = in_s3.expect("list the bucket");
    assert!(
        in_s3.iter().any(|k| k.contains(pic_id)) && in_s3.len() >= 3,
        "the pic's blobs are in the bucket: {in_s3:?}"
    );
    assert_eq!(local_blobs(&s), 0, "nothing in the data dir's blobs/");

    // A second node on the same bucket and secret (its own data dir) serves the same URL.
    let other = serve_on(&s3, &["--url-secret", secret]);
    let path = &white[s.base.len()..];
    let (st, _, _, body2) = other.fetch(&other.url(path));
    assert_eq!(
        (st, body2.len()),
        (200, body.len()),
        "verified on another node"
    );
}

#[test]
fn presigned_urls_point_at_the_bucket_and_fetch_there() {
    let s3 = S3Server::start();
    let s = serve_on(&s3, &["--presign-urls"]);
    let (_, key) = s.create_app("Shop", "10", false);
    let (_, v) = make(&s, &key);
    assert_eq!(code(&v), 0, "{v}");
    let white = v["data"]["list"]["white"].as_str().expect("white URL");
    assert!(white.starts_with(&s3.endpoint()), "presigned: {white}");
    assert!(white.contains("X-Amz-Signature="), "{white}");
    let (st, ctype, _, body) = s.fetch(white);
    assert_eq!((st, ctype.as_str()), (200, "image/jpeg"));
    assert!(body.starts_with(&[0xFF, 0xD8, 0xFF]));
}

#[test]
fn presign_without_s3_is_refused_at_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = std::process::Command::new(support::BIN)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--presign-urls",
            "--data-dir",
        ])
        .arg(dir.path())
        .env_remove("PHOTORECEIPT_STORE_URL")
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--presign-urls needs an s3://"), "{err}");
}

#[test]
fn s3_down_during_make_answers_9002_keeps_nothing_and_readyz_tells() {
    let mut s3 = S3Server::start();
    let s = serve_on(&s3, &[]);
    let (_, key) = s.create_app("Shop", "10", false);
    let (_, kept) = make(&s, &key);
    assert_eq!(code(&kept), 0, "{kept}");
    let kept_id = kept["data"]["pic_id"].as_str().expect("pic_id").to_string();
    let (st, ready) = s.get("/readyz");
    assert_eq!((st, code(&ready)), (200, 0), "{ready}");

    s3.kill();
    let t = Instant::now();
    let (status, v) = make(&s, &key);
    assert_eq!((status, code(&v)), (503, 9002), "{v}");
    assert!(v["msg_en"].as_str().is_some_and(|m| m.contains("store")));
    assert!(v["data"].get("pic_id").is_none(), "{v}");
    assert!(
        t.elapsed() < Duration::from_secs(60),
        "no hang: {:?}",
        t.elapsed()
    );
    let (st, ready) = s.get("/readyz");
    assert_eq!((st, code(&ready)), (503, 9003), "{ready}");
    assert_eq!(ready["data"]["store"], "unavailable");
    assert_eq!(ready["data"]["database"], "ok");
    let (st, health) = s.get("/healthz");
    assert_eq!((st, code(&health)), (200, 0), "alive all the same");

    s3.restart();
    let (st, _) = s.get("/readyz");
    assert_eq!(st, 200, "ready again once S3 is back");
    let d = Direct::open(s.data_dir());
    let far = d.p.now() + chrono::TimeDelta::days(365);
    let pics =
        d.rt.block_on(d.p.repo().unsubmitted_pics_expired(far, 100))
            .expect("pics");
    let ids: Vec<&str> = pics.iter().map(|p| p.pic_id.as_str()).collect();
    assert_eq!(ids, [kept_id.as_str()], "no pic row from the failed make");
    let keys =
        d.rt.block_on(platform::BlobStore::list(&s3.store(), "pic"))
            .expect("list");
    assert!(!keys.is_empty());
    assert!(
        keys.iter().all(|k| k.contains(&kept_id)),
        "no blob of the failed make: {keys:?}"
    );
    let (_, again) = make(&s, &key);
    assert_eq!(code(&again), 0, "makes work again: {again}");
}

/// The value of the sample `name{labels}` in a metrics text (`labels` exactly as printed).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[test]
fn metrics_rise_with_requests_orders_and_callbacks() {
    let s = Server::start(&["--rate-limit", "0", "--callback-allow-cidr", "127.0.0.1/32"]);
    let (_, key) = s.create_app("Shop", "100", false);
    let metrics = || {
        let resp = ureq::get(&s.url("/metrics")).call().expect("/metrics");
        assert!(resp.content_type().contains("openmetrics-text"));
        resp.into_string().expect("text")
    };
    let before = metrics();
    let list = r#"photoreceipt_http_requests_total{route="/item/list",status="200",code="0"}"#;
    assert_eq!(sample(&before, list), None, "{before}");
    s.call("/item/list", &[]);
    s.call("/item/list", &[]);
    s.call("/user/info", &[]);
    assert_eq!(
        s.fetch(&s.url("/files/pic/x/secret-name.jpg?expires=1&sign=00"))
            .0,
        404
    );
    let after = metrics();
    let files = r#"photoreceipt_http_requests_total{route="/files/{*key}",status="404",code=""}"#;
    assert_eq!(
        sample(&after, files),
        Some(1.0),
        "by route pattern: {after}"
    );
    assert!(!after.contains("secret-name"), "no raw path in a label");
    assert_eq!(sample(&after, list), Some(2.0), "{after}");
    let no_key = r#"photoreceipt_http_requests_total{route="/user/info",status="200",code="1001"}"#;
    assert_eq!(sample(&after, no_key), Some(1.0), "{after}");
    let hist = r#"photoreceipt_http_request_duration_seconds_count{route="/item/list"}"#;
    assert_eq!(sample(&after, hist), Some(2.0), "{after}");
    assert_eq!(sample(&after, "photoreceipt_make_queue_depth"), Some(0.0));
    assert_eq!(
        sample(&after, r#"photoreceipt_orders{status="pending"}"#),
        Some(0.0)
    );

    // An order whose callback goes to a closed port: attempts and failures rise.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let notice = format!("http://{}/notify", closed.local_addr().expect("addr"));
    drop(closed);
    let d = Direct::open(s.data_dir());
    let pic = d.passing_pic(&d.app(&key), 111);
    let param = gd_param();
    let v = s.call(
        "/receipt/submit",
        &[
            ("key", &key),
            ("pic_id", &pic),
            ("notice_url", &notice),
            ("param", &param),
        ],
    );
    assert_eq!(code(&v), 0, "{v}");
    let order_no = v["data"]["order_no"]
        .as_str()
        .expect("order_no")
        .to_string();
    assert_eq!(
        sample(&metrics(), r#"photoreceipt_orders{status="pending"}"#),
        Some(1.0)
    );
    // Cancelling queues callback -2.
    let c = s.call("/receipt/cancel", &[("key", &key), ("order_no", &order_no)]);
    assert_eq!(code(&c), 0, "{c}");
    let until = Instant::now() + Duration::from_secs(20);
    let text = loop {
        let text = metrics();
        if sample(&text, "photoreceipt_callback_failures_total").unwrap_or(0.0) >= 1.0 {
            break text;
        }
        assert!(Instant::now() < until, "no failed attempt counted: {text}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(sample(&text, "photoreceipt_callback_attempts_total").unwrap_or(0.0) >= 1.0);
    assert_eq!(
        sample(&text, r#"photoreceipt_orders{status="cancelled"}"#),
        Some(1.0)
    );
    assert_eq!(
        sample(&text, "photoreceipt_outbox_waiting"),
        Some(1.0),
        "{text}"
    );
    assert!(
        sample(&text, "photoreceipt_outbox_lag_seconds").is_some(),
        "{text}"
    );
}

#[test]
fn json_logs_carry_the_request_id_into_the_make_job() {
    let dir = tempfile::tempdir().expect("tempdir");
    let env = [
        ("PHOTORECEIPT_LOG", "warn,server=debug"),
        ("PHOTORECEIPT_LOG_FORMAT", "json"),
    ];
    let mut s = Server::start_opts(dir, &["--rate-limit", "0"], &env, Stdio::piped());
    let stderr = s.child.stderr.take().expect("stderr");
    let (tx, lines) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let (_, key) = s.create_app("Shop", "10", false);
    let image = b64(&testdata("portraits/biden.jpg"));
    let resp = ureq::post(&s.url("/receipt/make"))
        .set("x-request-id", "ops-test-42")
        .send_form(&[("key", &key), ("item_id", GD), ("image", &image)])
        .expect("make");
    assert_eq!(resp.header("x-request-id"), Some("ops-test-42"));
    let resp = ureq::get(&s.url("/healthz")).call().expect("healthz");
    let fresh = resp
        .header("x-request-id")
        .expect("an id is made")
        .to_string();
    assert_eq!(fresh.len(), 16, "{fresh}");

    let mut seen = Vec::new();
    let until = Instant::now() + Duration::from_secs(10);
    let (mut job, mut answered) = (false, false);
    while !(job && answered) && Instant::now() < until {
        let Ok(line) = lines.recv_timeout(Duration::from_millis(500)) else {
            continue;
        };
        let v: Value = serde_json::from_str(&line).unwrap_or_else(|_| panic!("not JSON: {line}"));
        let ours = v["spans"]
            .as_array()
            .is_some_and(|spans| spans.iter().any(|sp| sp["request_id"] == "ops-test-42"));
        if ours {
            job |= v["message"] == "engine job done";
            answered |= v["message"] == "answered" && v["status"] == 200;
        }
        seen.push(line);
    }
    assert!(job, "the make job's line carries the request id: {seen:#?}");
    assert!(answered, "the request's line: {seen:#?}");
}
