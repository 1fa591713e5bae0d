//! The merchant API end to end: the real binary (`serve`) on a temporary data dir and a free
//! port, driven over HTTP as a merchant would, with the real portraits of ../shared/testdata.
//! Operators act through the `order` CLI on the same data dir while `serve` runs.

mod support;

use serde_json::{json, Value};
use std::collections::HashSet;
use std::time::{Duration, Instant};
use support::{b64, code, gd_param, raw_request, testdata, Direct, Server};

const GD: &str = "111"; // Guangdong driving licence: white, print sheet, 4 params
const PASSPORT: &str = "120"; // white, grey, light_blue
const NOTICE: &str = "https://shop.example/notify";

fn make(s: &Server, key: &str, item: &str, image_b64: &str) -> Value {
    s.call(
        "/receipt/make",
        &[("key", key), ("item_id", item), ("image", image_b64)],
    )
}

fn submit(s: &Server, key: &str, pic_id: &str, param: &str) -> Value {
    s.call(
        "/receipt/submit",
        &[
            ("key", key),
            ("pic_id", pic_id),
            ("notice_url", NOTICE),
            ("param", param),
        ],
    )
}

fn query(s: &Server, key: &str, order_no: &str) -> Value {
    s.call("/receipt/query", &[("key", key), ("order_no", order_no)])
}

fn status_of(s: &Server, key: &str, order_no: &str) -> i64 {
    let q = query(s, key, order_no);
    assert_eq!(code(&q), 0, "{q}");
    q["data"]["status"].as_i64().expect("status")
}

fn balance(s: &Server, key: &str) -> String {
    let v = s.call("/user/info", &[("key", key)]);
    v["data"]["balance"].as_str().expect("balance").to_string()
}

fn assert_code(v: &Value, expected: i64, what: &str) {
    assert_eq!(code(v), expected, "{what}: {v}");
    assert!(
        v["msg"].as_str().is_some_and(|m| !m.is_empty()),
        "{what}: msg: {v}"
    );
    assert!(
        v["msg_en"].as_str().is_some_and(|m| !m.is_empty()),
        "{what}: msg_en: {v}"
    );
}

/// Signed URL → (path, expires, sign).
fn split_url(url: &str) -> (String, String, String) {
    let (path, query) = url.split_once('?').expect("query");
    let q: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let get = |k: &str| {
        q.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .expect(k)
    };
    (path.to_string(), get("expires"), get("sign"))
}

#[test]
fn make_answers_the_seed_shape_and_serves_signed_files() {
    let s = Server::start(&[]);
    let (_, key) = s.create_app("Shop", "0", false);
    let photo = testdata("portraits/obama.jpg");

    let v = make(&s, &key, PASSPORT, &b64(&photo));
    assert_eq!(code(&v), 0, "{v}");
    assert_eq!(v["msg"], "success");
    let pic_id = v["data"]["pic_id"].as_str().expect("pic_id is a string");
    assert!(
        !pic_id.is_empty() && pic_id.bytes().all(|b| b.is_ascii_digit()),
        "{pic_id}"
    );
    let list = v["data"]["list"].as_object().expect("list");
    let colours: HashSet<&str> = list.keys().map(String::as_str).collect();
    assert_eq!(colours, HashSet::from(["white", "grey", "light_blue"]));
    assert!(
        v["data"]["checks"]["checks"].is_array(),
        "checks report beside the list"
    );

    for url in list.values() {
        let url = url.as_str().expect("url");
        assert!(url.starts_with(&s.base) && url.contains(pic_id), "{url}");
        let (status, ctype, len, body) = s.fetch(url);
        assert_eq!((status, ctype.as_str()), (200, "image/jpeg"), "{url}");
        assert_eq!(len, Some(body.len()), "Content-Length");
        assert!(body.starts_with(&[0xFF, 0xD8, 0xFF]));
    }
    let png = v["data"]["png"].as_str().expect("transparent PNG url");
    let (status, ctype, _, _) = s.fetch(png);
    assert_eq!((status, ctype.as_str()), (200, "image/png"));

    // Tampering: another file, another expiry, another signature, none at all.
    let (path, exp, sign) = split_url(list["white"].as_str().expect("white"));
    let later: i64 = exp.parse::<i64>().expect("expires") + 1;
    let mut bad_sign = sign.clone();
    bad_sign.replace_range(0..1, if sign.starts_with('0') { "1" } else { "0" });
    for url in [
        format!(
            "{}?expires={exp}&sign={sign}",
            path.replace("white", "grey")
        ),
        format!("{path}?expires={later}&sign={sign}"),
        format!("{path}?expires={exp}&sign={bad_sign}"),
        format!("{path}?expires={exp}"),
        path.clone(),
        format!("{path}?expires=1&sign={sign}"),
    ] {
        assert_eq!(s.fetch(&url).0, 404, "{url}");
    }

    // The same make as JSON, as multipart with a file, and with a data: URI wrapped at 76.
    let wrapped: Vec<String> = b64(&photo)
        .as_bytes()
        .chunks(76)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    let data_uri = format!("data:image/jpeg;base64,{}", wrapped.join("\r\n"));
    let (_, j) = s.post_json(
        "/receipt/make",
        &json!({"key": key, "item_id": 110, "image": data_uri}),
    );
    assert_eq!(code(&j), 0, "{j}");
    assert!(j["data"]["list"]["white"].is_string());
    let boundary = "XbOuNdArY";
    let mut body = Vec::new();
    for (name, value) in [("key", key.as_str()), ("item_id", GD)] {
        body.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes());
    }
    body.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n").as_bytes());
    body.extend(&photo);
    body.extend(format!("\r\n--{boundary}--\r\n").as_bytes());
    let resp = ureq::post(&s.url("/receipt/make"))
        .set(
            "Content-Type",
            &format!("multipart/form-data; boundary={boundary}"),
        )
        .send_bytes(&body)
        .expect("multipart");
    let m: Value = resp.into_json().expect("json");
    assert_eq!(code(&m), 0, "{m}");
    assert!(
        m["data"]["print"].is_string(),
        "the Guangdong spec has a print sheet: {m}"
    );
}

/// A PNG of `w`×`h` grey pixels.
fn png(w: u32, h: u32) -> Vec<u8> {
    let img = image::GrayImage::from_pixel(w, h, image::Luma([128]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .expect("png");
    out.into_inner()
}

/// Two portraits side by side: two faces.
fn two_faces() -> Vec<u8> {
    let one = image::load_from_memory(&testdata("portraits/obama.jpg"))
        .expect("decode")
        .to_rgb8();
    let mut both = image::RgbImage::new(one.width() * 2, one.height());
    image::imageops::replace(&mut both, &one, 0, 0);
    image::imageops::replace(&mut both, &one, i64::from(one.width()), 0);
    let mut out = std::io::Cursor::new(Vec::new());
    both.write_to(&mut out, image::ImageFormat::Jpeg)
        .expect("jpeg");
    out.into_inner()
}

/// (what, form fields, expected code).
type Case<'a> = (&'a str, Vec<(&'a str, String)>, i64);

#[test]
fn make_refusals_have_their_codes() {
    let s = Server::start(&["--rate-limit", "0"]);
    let (app_id, key) = s.create_app("Shop", "0", false);
    let obama = b64(&testdata("portraits/obama.jpg"));
    let k = key.as_str();
    let cases: Vec<Case> = vec![
        (
            "no key",
            vec![("item_id", GD.into()), ("image", obama.clone())],
            1001,
        ),
        (
            "wrong key",
            vec![
                ("key", "pr_live_nope".into()),
                ("item_id", GD.into()),
                ("image", obama.clone()),
            ],
            1101,
        ),
        (
            "no item",
            vec![("key", k.into()), ("image", obama.clone())],
            1001,
        ),
        (
            "unknown item",
            vec![
                ("key", k.into()),
                ("item_id", "999999".into()),
                ("image", obama.clone()),
            ],
            3001,
        ),
        (
            "no image",
            vec![("key", k.into()), ("item_id", GD.into())],
            1001,
        ),
        (
            "bad base64",
            vec![
                ("key", k.into()),
                ("item_id", GD.into()),
                ("image", "!!!not*base64".into()),
            ],
            2001,
        ),
        (
            "gif",
            vec![
                ("key", k.into()),
                ("item_id", GD.into()),
                ("image", b64(b"GIF89a\x01\x00\x01\x00")),
            ],
            2002,
        ),
        (
            "over 5 MB",
            vec![
                ("key", k.into()),
                ("item_id", GD.into()),
                ("image", b64(&vec![0; 5 * 1024 * 1024 + 1])),
            ],
            2003,
        ),
        (
            "6000 px",
            vec![
                ("key", k.into()),
                ("item_id", GD.into()),
                ("image", b64(&png(6000, 8))),
            ],
            2004,
        ),
        (
            "corrupt",
            vec![
                ("key", k.into()),
                ("item_id", GD.into()),
                ("image", b64(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, 1, 2])),
            ],
            2005,
        ),
        (
            "no face",
            vec![
                ("key", k.into()),
                ("item_id", GD.into()),
                ("image", b64(&testdata("no-face/rocket.jpg"))),
            ],
            2101,
        ),
        (
            "two faces",
            vec![
                ("key", k.into()),
                ("item_id", GD.into()),
                ("image", b64(&two_faces())),
            ],
            2102,
        ),
    ];
    for (what, fields, expected) in cases {
        let form: Vec<(&str, &str)> = fields.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let (status, v) = s.post("/receipt/make", &form);
        assert_eq!(status, 200, "{what}: API errors are HTTP 200: {v}");
        assert_code(&v, expected, what);
    }
    // The field at fault is named.
    let v = s.call("/receipt/make", &[("key", k), ("item_id", GD)]);
    assert_eq!(v["data"]["field"], "image");

    // A body over the limit is refused from its Content-Length, before it is read.
    let head = raw_request(
        &s.base,
        "POST /receipt/make HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 50000000\r\nConnection: close\r\n\r\n",
    );
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
    assert!(head.contains("7003"), "{head}");

    // Unknown endpoint; disabled app.
    assert_eq!(s.post("/receipt/nothing", &[("key", k)]).0, 404);
    s.cli_ok(&["app", "disable", &app_id.to_string()]);
    assert_code(&s.call("/user/info", &[("key", k)]), 1102, "disabled app");
}

#[test]
fn busy_and_rate_limited() {
    let s = Server::start(&[
        "--make-workers",
        "1",
        "--make-queue-timeout",
        "1ms",
        "--rate-limit",
        "2",
        "--rate-burst",
        "6",
    ]);
    let (_, key) = s.create_app("Shop", "0", false);
    let image = b64(&testdata("portraits/obama.jpg"));
    let codes: Vec<i64> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                scope.spawn(|| {
                    code(&s.call(
                        "/receipt/make",
                        &[("key", &key), ("item_id", GD), ("image", &image)],
                    ))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    assert!(codes.contains(&0), "one make runs: {codes:?}");
    assert!(
        codes.contains(&7002),
        "the others are told the service is busy: {codes:?}"
    );
    assert!(codes.iter().all(|c| *c == 0 || *c == 7002), "{codes:?}");

    // The bucket (burst 6) is nearly spent by the makes; a burst of queries hits the limit.
    let mut limited = None;
    for _ in 0..10 {
        let resp = ureq::post(&s.url("/user/info")).send_form(&[("key", &key)]);
        if let Err(ureq::Error::Status(429, r)) = resp {
            limited = Some((
                r.header("retry-after").map(str::to_string),
                r.into_json::<Value>().expect("json"),
            ));
            break;
        }
    }
    let (retry_after, body) = limited.expect("429 within 10 quick calls");
    assert!(retry_after.is_some_and(|s| s.parse::<u64>().is_ok_and(|n| n >= 1)));
    assert_code(&body, 7001, "rate limited");
}

#[test]
fn orders_move_only_along_the_state_machine() {
    let s = Server::start(&[]);
    let (_, key) = s.create_app("Shop", "100", false);
    let (_, other) = s.create_app("Other", "100", false);
    let d = Direct::open(s.data_dir());
    let app = d.app(&key);
    let param = gd_param();
    let pic = |item: i64| d.passing_pic(&app, item);

    // Submit: the seed's answer.
    let v = submit(&s, &key, &pic(111), &param);
    assert_eq!((code(&v), v["msg"].as_str()), (0, Some("提交成功")), "{v}");
    let no = v["data"]["order_no"]
        .as_str()
        .expect("order_no")
        .to_string();
    assert!(
        no.len() == 20 && no.bytes().all(|b| b.is_ascii_digit()),
        "{no}"
    );
    let q = query(&s, &key, &no);
    assert_eq!(q["data"]["status"], 1);
    assert!(
        q["data"]["eta"].is_string() && q["data"]["submitted_at"].is_string(),
        "{q}"
    );
    assert_eq!(balance(&s, &key), "100.00", "nothing charged at submit");

    // 1 → -2 by the merchant; nothing else from -2.
    let c = s.call("/receipt/cancel", &[("key", &key), ("order_no", &no)]);
    assert_eq!(
        (code(&c), c["msg"].as_str(), &c["data"]),
        (0, Some("取消成功"), &json!({})),
        "{c}"
    );
    assert_eq!(status_of(&s, &key, &no), -2);
    assert_code(
        &s.call("/receipt/cancel", &[("key", &key), ("order_no", &no)]),
        5002,
        "cancel twice",
    );
    assert!(
        !s.cli(&["order", "take", &no]).status.success(),
        "take a cancelled order"
    );
    let resub = [
        ("key", key.as_str()),
        ("pic_id", &pic(111)),
        ("notice_url", NOTICE),
        ("param", &param),
        ("order_no", &no),
    ];
    assert_code(
        &s.call("/receipt/submit", &resub),
        5002,
        "resubmit a cancelled order",
    );

    // 1 → 2 → -1 → 1 (resubmit) → 2 → 3 by reviewers and the merchant.
    let no = submit(&s, &key, &pic(111), &param)["data"]["order_no"]
        .as_str()
        .expect("no")
        .to_string();
    assert!(
        !s.cli(&["order", "approve", &no, "--receipt-no", "X"])
            .status
            .success(),
        "approve pending"
    );
    assert!(
        !s.cli(&["order", "reject", &no, "--reason", "x"])
            .status
            .success(),
        "reject pending"
    );
    s.cli_ok(&["order", "take", &no]);
    assert_eq!(status_of(&s, &key, &no), 2);
    assert!(
        !s.cli(&["order", "take", &no]).status.success(),
        "take twice"
    );
    assert_code(
        &s.call("/receipt/cancel", &[("key", &key), ("order_no", &no)]),
        5002,
        "cancel reviewing",
    );
    let used = pic(111);
    let resub = |p: &str| {
        s.call(
            "/receipt/submit",
            &[
                ("key", key.as_str()),
                ("pic_id", p),
                ("notice_url", NOTICE),
                ("param", &param),
                ("order_no", &no),
            ],
        )
    };
    assert_code(&resub(&used), 5002, "resubmit reviewing");
    s.cli_ok(&["order", "reject", &no, "--reason", "背景不是纯白色"]);
    let q = query(&s, &key, &no);
    assert_eq!(
        (
            q["data"]["status"].as_i64(),
            q["data"]["reject_msg"].as_str()
        ),
        (Some(-1), Some("背景不是纯白色")),
        "{q}"
    );
    assert_code(
        &s.call("/receipt/cancel", &[("key", &key), ("order_no", &no)]),
        5002,
        "cancel rejected",
    );
    // The seed's resubmit example sends only mobile, city and the ID-card image: the name and
    // ID number are kept from the rejected order.
    let changed = json!({"text_mobile": "13900139000", "text_city": "深圳", "image_idcard": "iVBORw0KGgoAAAANSUhEUg=="});
    let r = s.call(
        "/receipt/submit",
        &[
            ("key", key.as_str()),
            ("pic_id", &used),
            ("notice_url", NOTICE),
            ("param", &changed.to_string()),
            ("order_no", &no),
        ],
    );
    assert_eq!(
        (code(&r), r["data"]["order_no"].as_str()),
        (0, Some(no.as_str())),
        "{r}"
    );
    assert_eq!(status_of(&s, &key, &no), 1);
    let shown = s.cli_ok(&["order", "show", &no, "--json"]);
    let params: Value = serde_json::from_str(&shown).expect("order show --json");
    let params = &params["order"]["params"];
    assert_eq!(
        (
            &params["text_mobile"],
            &params["text_name"],
            &params["text_idcard"]
        ),
        (
            &json!("13900139000"),
            &json!("张三"),
            &json!("11010519491231002X")
        ),
        "{shown}"
    );
    assert!(query(&s, &key, &no)["data"]["reject_msg"].is_null());
    assert_code(
        &submit(&s, &key, &used, &param),
        3104,
        "a pic serves one order",
    );
    s.cli_ok(&["order", "take", &no]);
    s.cli_ok(&["order", "approve", &no, "--receipt-no", "GD2024001"]);
    let q = query(&s, &key, &no);
    assert_eq!(q["data"]["status"], 3);
    assert_eq!(q["data"]["receipt_no"], "GD2024001");
    let receipt = q["data"]["image_receipt"].as_str().expect("receipt url");
    assert_eq!(s.fetch(receipt).0, 200);
    assert_eq!(balance(&s, &key), "93.00", "charged once at completion");

    // Nothing leaves 3.
    assert!(!s
        .cli(&["order", "approve", &no, "--receipt-no", "again"])
        .status
        .success());
    assert!(!s
        .cli(&["order", "reject", &no, "--reason", "x"])
        .status
        .success());
    assert_code(
        &s.call("/receipt/cancel", &[("key", &key), ("order_no", &no)]),
        5002,
        "cancel completed",
    );
    assert_code(&resub(&pic(111)), 5002, "resubmit completed");
    assert_eq!(balance(&s, &key), "93.00");

    let info = s.call("/user/info", &[("key", &key)]);
    assert_eq!(info["data"]["name"], "Shop");
    assert_eq!(info["data"]["orders"]["completed"], 1);
    assert_eq!(info["data"]["orders"]["cancelled"], 1);

    // Another app sees none of it.
    assert_code(&query(&s, &other, &no), 5001, "foreign order");
    assert_code(
        &s.call("/receipt/cancel", &[("key", &other), ("order_no", &no)]),
        5001,
        "cancel foreign",
    );
    assert_code(
        &query(&s, &key, "20990101000000000000"),
        5001,
        "unknown order",
    );
    assert_code(&query(&s, &key, "abc"), 5001, "malformed order_no");
}

#[test]
fn submit_refusals_have_their_codes() {
    let s = Server::start(&["--rate-limit", "0"]);
    let (_, key) = s.create_app("Shop", "100", false);
    let (_, poor) = s.create_app("Poor", "6.99", false);
    let (_, other) = s.create_app("Other", "100", false);
    let d = Direct::open(s.data_dir());
    let app = d.app(&key);
    let param = gd_param();
    let pic = d.passing_pic(&app, 111);
    let mine = |fields: &[(&str, &str)]| {
        let mut form = vec![("key", key.as_str())];
        form.extend_from_slice(fields);
        s.call("/receipt/submit", &form)
    };

    assert_code(
        &mine(&[("notice_url", NOTICE), ("param", &param)]),
        1001,
        "no pic_id",
    );
    let v = mine(&[("pic_id", &pic), ("param", &param)]);
    assert_code(&v, 1001, "no notice_url");
    assert_eq!(v["data"]["field"], "notice_url");
    for bad in ["ftp://shop.example/x", "not a url", "file:///etc/passwd"] {
        assert_code(
            &mine(&[("pic_id", &pic), ("notice_url", bad), ("param", &param)]),
            4001,
            bad,
        );
    }
    for internal in [
        "http://127.0.0.1:9/cb",
        "http://10.1.2.3/cb",
        "http://[::1]/cb",
    ] {
        let v = mine(&[
            ("pic_id", &pic),
            ("notice_url", internal),
            ("param", &param),
        ]);
        assert_code(&v, 4004, internal);
    }
    assert_code(
        &mine(&[
            ("pic_id", "123456789012"),
            ("notice_url", NOTICE),
            ("param", &param),
        ]),
        3101,
        "unknown pic",
    );
    let theirs = d.passing_pic(&d.app(&other), 111);
    assert_code(
        &mine(&[
            ("pic_id", &theirs),
            ("notice_url", NOTICE),
            ("param", &param),
        ]),
        3103,
        "foreign pic",
    );

    // Params, by the spec's rules, naming the field.
    assert_code(
        &mine(&[
            ("pic_id", &pic),
            ("notice_url", NOTICE),
            ("param", "{not json"),
        ]),
        4302,
        "param not JSON",
    );
    assert_code(
        &mine(&[("pic_id", &pic), ("notice_url", NOTICE), ("param", "[1]")]),
        4301,
        "param not object",
    );
    let bad_mobile = param.replace("13800138000", "12345");
    let v = mine(&[
        ("pic_id", &pic),
        ("notice_url", NOTICE),
        ("param", &bad_mobile),
    ]);
    assert_code(&v, 4310, "bad mobile");
    assert_eq!(v["data"]["field"], "param.text_mobile");
    assert!(
        v["msg"].as_str().is_some_and(|m| m.contains("text_mobile")),
        "{v}"
    );
    let bad_id = param.replace("002X", "0021");
    assert_code(
        &mine(&[("pic_id", &pic), ("notice_url", NOTICE), ("param", &bad_id)]),
        4323,
        "bad check digit",
    );
    let v = mine(&[("pic_id", &pic), ("notice_url", NOTICE), ("param", "{}")]);
    assert!((4301..4400).contains(&code(&v)), "missing params: {v}");

    // Print-and-mail.
    assert_code(
        &mine(&[
            ("pic_id", &pic),
            ("notice_url", NOTICE),
            ("param", &param),
            ("is_print", "1"),
        ]),
        4003,
        "no print_param",
    );
    let partial = json!({"name": "张三", "phone": "13800138000"}).to_string();
    let v = mine(&[
        ("pic_id", &pic),
        ("notice_url", NOTICE),
        ("param", &param),
        ("is_print", "1"),
        ("print_param", &partial),
    ]);
    assert_code(&v, 4003, "partial print_param");
    assert_eq!(v["data"]["field"], "print_param.province");
    let full = json!({"name": "张三", "phone": "13800138000", "province": "广东", "city": "深圳", "district": "南山", "address": "科技园 1 号"});
    let v = mine(&[
        ("pic_id", &pic),
        ("notice_url", NOTICE),
        ("param", &param),
        ("is_print", "1"),
        ("print_param", &full.to_string()),
    ]);
    assert_eq!(
        (code(&v), v["data"]["price"].as_str()),
        (0, Some("14.00")),
        "{v}"
    );

    // Money: the balance must cover the price.
    let poor_pic = d.passing_pic(&d.app(&poor), 111);
    let v = s.call(
        "/receipt/submit",
        &[
            ("key", &poor),
            ("pic_id", &poor_pic),
            ("notice_url", NOTICE),
            ("param", &param),
        ],
    );
    assert_code(&v, 6001, "insufficient balance");

    // A spec that takes no receipts.
    let list = s.get("/item/list").1;
    let plain = list["data"]
        .as_array()
        .expect("list")
        .iter()
        .find(|i| i["is_receipt"] == false)
        .expect("a plain spec");
    let plain_pic = d.passing_pic(&app, plain["item_id"].as_i64().expect("id"));
    assert_code(
        &mine(&[("pic_id", &plain_pic), ("notice_url", NOTICE)]),
        3002,
        "no receipt for this spec",
    );
}

#[test]
fn fifty_concurrent_submits_never_share_an_order_no_nor_overspend() {
    let s = Server::start(&["--rate-limit", "0"]);
    let (_, rich) = s.create_app("Rich", "350", false);
    let (_, tight) = s.create_app("Tight", "70", false);
    let d = Direct::open(s.data_dir());
    let param = gd_param();
    let fire = |key: &str, n: usize| -> Vec<Value> {
        let app = d.app(key);
        let pics: Vec<String> = (0..n).map(|_| d.passing_pic(&app, 111)).collect();
        std::thread::scope(|scope| {
            let hs: Vec<_> = pics
                .iter()
                .map(|p| scope.spawn(|| submit(&s, key, p, &param)))
                .collect();
            hs.into_iter().map(|h| h.join().expect("thread")).collect()
        })
    };

    let answers = fire(&rich, 50);
    let nos: HashSet<&str> = answers
        .iter()
        .map(|v| {
            v["data"]["order_no"]
                .as_str()
                .unwrap_or_else(|| panic!("{v}"))
        })
        .collect();
    assert_eq!(nos.len(), 50, "50 distinct order numbers");

    // 70 yuan covers exactly 10 orders at 7 yuan: of 20 at once, 10 pass.
    let answers = fire(&tight, 20);
    let accepted: Vec<&str> = answers
        .iter()
        .filter(|v| code(v) == 0)
        .map(|v| v["data"]["order_no"].as_str().expect("no"))
        .collect();
    assert_eq!(accepted.len(), 10, "{answers:?}");
    assert!(answers.iter().all(|v| code(v) == 0 || code(v) == 6001));

    // Completing them charges each once, even when approved twice at the same moment.
    for no in &accepted {
        s.cli_ok(&["order", "take", no]);
        let outs: Vec<bool> = std::thread::scope(|scope| {
            let hs: Vec<_> = (0..2)
                .map(|_| {
                    scope.spawn(|| {
                        s.cli(&["order", "approve", no, "--receipt-no", "R1"])
                            .status
                            .success()
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().expect("thread")).collect()
        });
        assert_eq!(
            outs.iter().filter(|ok| **ok).count(),
            1,
            "one approval wins: {outs:?}"
        );
    }
    let info = s.call("/user/info", &[("key", &tight)]);
    assert_eq!(info["data"]["balance"], "0.00", "{info}");
    assert_eq!(info["data"]["orders"]["completed"], 10);
}

#[test]
fn sandbox_orders_move_by_themselves() {
    let s = Server::start(&["--sandbox-delay", "200ms"]);
    let (_, key) = s.create_app("Sandbox", "0", true);
    let d = Direct::open(s.data_dir());
    let app = d.app(&key);
    let param = gd_param();
    let passing = submit(&s, &key, &d.passing_pic(&app, 111), &param);
    let failing_pic = d.pic(
        &app,
        111,
        json!({"pass": false, "checks": [
        {"rule": "head_height", "pass": false, "msg": "头部过小"},
        {"rule": "roll", "pass": true, "msg": "头部歪斜"}]}),
    );
    let failing = submit(&s, &key, &failing_pic.pic_id, &param);
    let forced_pic = d.pic(&app, 111, json!({"pass": false, "checks": []}));
    let forced = s.call(
        "/receipt/submit",
        &[
            ("key", &key),
            ("pic_id", &forced_pic.pic_id),
            ("notice_url", NOTICE),
            ("param", &param),
            ("sandbox_result", "completed"),
        ],
    );
    let no = |v: &Value| {
        v["data"]["order_no"]
            .as_str()
            .unwrap_or_else(|| panic!("{v}"))
            .to_string()
    };
    let (passing, failing, forced) = (no(&passing), no(&failing), no(&forced));

    let deadline = Instant::now() + Duration::from_secs(15);
    let mut seen_reviewing = false;
    loop {
        let st: Vec<i64> = [&passing, &failing, &forced]
            .iter()
            .map(|n| status_of(&s, &key, n))
            .collect();
        seen_reviewing |= st.contains(&2);
        if st == [3, -1, 3] {
            break;
        }
        assert!(Instant::now() < deadline, "sandbox orders stuck at {st:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(seen_reviewing, "passed through reviewing");
    assert_eq!(query(&s, &key, &failing)["data"]["reject_msg"], "头部过小");
    assert!(query(&s, &key, &passing)["data"]["image_receipt"].is_string());
    assert_eq!(balance(&s, &key), "0.00", "sandbox apps are never charged");
}

#[test]
fn pics_expire_and_retention_removes_files() {
    let s = Server::start(&[
        "--pic-ttl",
        "1s",
        "--pic-grace",
        "2s",
        "--retention-days",
        "0",
        "--retention-every",
        "300ms",
    ]);
    let (_, key) = s.create_app("Shop", "100", false);
    let v = make(&s, &key, GD, &b64(&testdata("portraits/obama.jpg")));
    assert_eq!(code(&v), 0, "{v}");
    let pic_id = v["data"]["pic_id"].as_str().expect("pic").to_string();
    let url = v["data"]["list"]["white"]
        .as_str()
        .expect("url")
        .to_string();
    assert_eq!(s.fetch(&url).0, 200);
    std::thread::sleep(Duration::from_millis(1300));
    assert_code(&submit(&s, &key, &pic_id, &gd_param()), 3102, "expired pic");
    let deadline = Instant::now() + Duration::from_secs(10);
    while s.fetch(&url).0 != 404 {
        assert!(
            Instant::now() < deadline,
            "retention never deleted the expired pic's photos"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn catalogue_account_openapi_and_health() {
    let s = Server::start(&[]);
    let (app_id, key) = s.create_app("Studio", "12.5", false);
    let (status, list) = s.get("/item/list");
    assert_eq!((status, code(&list)), (200, 0));
    let items = list["data"].as_array().expect("array");
    assert!(items.len() > 260, "{}", items.len());
    let gd = items.iter().find(|i| i["item_id"] == 111).expect("111");
    for field in [
        "name",
        "colors",
        "width_px",
        "height_px",
        "width_mm",
        "height_mm",
        "dpi",
        "file_size_min",
        "file_size_max",
        "is_receipt",
        "receipt_param",
        "price",
    ] {
        assert!(!gd[field].is_null(), "item 111 has {field}");
    }
    let receipts = s.call("/item/list", &[("key", &key), ("is_receipt", "1")]);
    assert!(receipts["data"]
        .as_array()
        .expect("array")
        .iter()
        .all(|i| i["is_receipt"] == true));
    let one = s.call("/item/get", &[("item_id", "111")]);
    assert_eq!(one["data"]["item_id"], 111);
    assert_eq!(s.get("/item/get?item_id=120").1["data"]["item_id"], 120);
    assert_code(
        &s.call("/item/get", &[("item_id", "424242")]),
        3001,
        "unknown item",
    );
    assert_code(
        &s.call("/item/list", &[("key", "wrong")]),
        1101,
        "a key, when given, must be right",
    );

    let (_, info) = s.get(&format!("/user/info?key={key}"));
    assert_eq!(info["data"]["app_id"], app_id);
    assert_eq!(info["data"]["name"], "Studio");
    assert_eq!(info["data"]["balance"], "12.50");
    assert_eq!(info["data"]["orders"]["total"], 0);
    assert_code(&s.call("/user/info", &[]), 1001, "no key");

    let (status, doc) = s.get("/openapi.json");
    assert_eq!(status, 200);
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/receipt/submit"]["post"].is_object());
    let (status, health) = s.get("/healthz");
    assert_eq!((status, code(&health)), (200, 0));
    // Write calls are POST only.
    assert_eq!(
        s.get(&format!("/receipt/cancel?key={key}&order_no=1")).0,
        405
    );
}

#[test]
fn sigterm_finishes_the_requests_in_flight() {
    // One worker and three makes: the last one is still queued when SIGTERM comes.
    let mut s = Server::start(&["--make-workers", "1", "--make-queue-timeout", "60s"]);
    let (_, key) = s.create_app("Shop", "0", false);
    let image = b64(&testdata("portraits/biden.jpg"));
    let makes: Vec<_> = (0..3)
        .map(|_| {
            let (url, key, image) = (s.url("/receipt/make"), key.clone(), image.clone());
            std::thread::spawn(move || {
                let resp = ureq::post(&url)
                    .send_form(&[("key", &key), ("item_id", PASSPORT), ("image", &image)])
                    .expect("answer");
                resp.into_json::<Value>().expect("json")
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(150));
    let status = s
        .terminate(Duration::from_secs(60))
        .expect("exits after SIGTERM");
    assert!(status.success(), "{status:?}");
    for m in makes {
        let v = m.join().expect("thread");
        assert_eq!(code(&v), 0, "a make in flight was answered: {v}");
    }
}
