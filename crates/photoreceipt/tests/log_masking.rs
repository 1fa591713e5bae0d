//! Issue 8: the logs never hold a full ID number, a full mobile number, or a key. A whole order
//! cycle (make, submit with personal data, refused submits, query by GET, review, callbacks)
//! runs with every log at debug level, `serve`'s and the CLI's; then the logs are grepped for
//! the test values.

mod support;

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;
use support::{b64, code, testdata, BIN};

const ID: &str = "11010519491231002X";
const MOBILE: &str = "13800138000";
const BAD_ID: &str = "440301199001011235";
const BAD_MOBILE: &str = "1380013800912";

/// A merchant endpoint on 127.0.0.1: fails the first callback with a 500, then acknowledges.
fn receiver() -> (String, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/notify", listener.local_addr().expect("addr"));
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for (n, stream) in listener.incoming().flatten().enumerate() {
            let mut reader = BufReader::new(stream);
            let mut len = 0;
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 0 && line.trim() != "" {
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
                line.clear();
            }
            let mut body = vec![0; len];
            let _ = reader.read_exact(&mut body);
            let (status, answer) = if n == 0 {
                ("500 Oops", r#"{"code":1}"#)
            } else {
                ("200 OK", r#"{"code":0,"msg":"同步完成","data":{}}"#)
            };
            let mut s = reader.into_inner();
            let _ = write!(
                s,
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                answer.len()
            );
            let _ = tx.send(String::from_utf8_lossy(&body).into_owned());
        }
    });
    (url, rx)
}

/// A CLI subcommand at debug level; its stderr goes to the log.
fn cli(dir: &std::path::Path, args: &[&str], log: &mut String) -> String {
    let out = Command::new(BIN)
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .env("PHOTORECEIPT_LOG", "debug")
        .output()
        .expect("cli");
    log.push_str(&String::from_utf8_lossy(&out.stderr));
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

#[test]
fn a_full_cycle_at_debug_level_logs_no_id_number_mobile_or_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log_path = dir.path().join("serve.log");
    let mut cli_log = String::new();
    let created: Value = serde_json::from_str(&cli(
        dir.path(),
        &[
            "app",
            "create",
            "--name",
            "Shop",
            "--balance-yuan",
            "100",
            "--json",
        ],
        &mut cli_log,
    ))
    .expect("app JSON");
    let key = created["key"].as_str().expect("key").to_string();
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .args([
            "--callback-allow-cidr",
            "127.0.0.0/8",
            "--callback-schedule",
            "1s,1s,1s",
        ])
        .env("PHOTORECEIPT_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log_path).expect("log file"))
        .spawn()
        .expect("serve");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let base = loop {
        let line = lines.next().expect("serve exited").expect("read");
        if let Some(a) = line.strip_prefix("photoreceipt listening on ") {
            break a.trim().to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    let post = |path: &str, form: &[(&str, &str)]| -> Value {
        let r = ureq::post(&format!("{base}{path}")).send_form(form);
        match r {
            Ok(r) | Err(ureq::Error::Status(_, r)) => r.into_json().expect("json"),
            Err(e) => panic!("{e}"),
        }
    };

    let made = post(
        "/receipt/make",
        &[
            ("key", &key),
            ("item_id", "111"),
            ("image", &b64(&testdata("portraits/obama.jpg"))),
        ],
    );
    assert_eq!(code(&made), 0, "{made}");
    let pic = made["data"]["pic_id"].as_str().expect("pic_id").to_string();
    let (notice, callbacks) = receiver();
    let param = |id: &str, mobile: &str| {
        json!({"text_mobile": mobile, "text_city": "深圳", "text_name": "张三", "text_idcard": id})
            .to_string()
    };
    // Refusals that name the field at fault must not put its value in the logs either.
    for (id, mobile, expected) in [(BAD_ID, MOBILE, 4323), (ID, BAD_MOBILE, 4310)] {
        let v = post(
            "/receipt/submit",
            &[
                ("key", &key),
                ("pic_id", &pic),
                ("notice_url", &notice),
                ("param", &param(id, mobile)),
            ],
        );
        assert_eq!(code(&v), expected, "{v}");
    }
    let json_submit = ureq::post(&format!("{base}/receipt/submit"))
        .send_json(json!({"key": key, "pic_id": pic, "notice_url": notice, "param": {"text_idcard": ID, "text_mobile": "12"}}));
    assert!(json_submit.is_ok());
    let v = post(
        "/receipt/submit",
        &[
            ("key", &key),
            ("pic_id", &pic),
            ("notice_url", &notice),
            ("param", &param(ID, MOBILE)),
        ],
    );
    assert_eq!(code(&v), 0, "{v}");
    let order = v["data"]["order_no"]
        .as_str()
        .expect("order_no")
        .to_string();
    // A GET carries the key in the query string.
    let q: Value = ureq::get(&format!("{base}/receipt/query?key={key}&order_no={order}"))
        .call()
        .expect("query")
        .into_json()
        .expect("json");
    assert_eq!(code(&q), 0, "{q}");

    cli(dir.path(), &["order", "take", &order], &mut cli_log);
    cli(dir.path(), &["order", "show", &order], &mut cli_log);
    cli(
        dir.path(),
        &[
            "order",
            "approve",
            &order,
            "--receipt-no",
            "GD2026120400001",
        ],
        &mut cli_log,
    );
    // Status 2 fails once, then 2 and 3 are delivered.
    let mut got = Vec::new();
    while !got.iter().any(|b: &String| b.contains("status=3")) {
        got.push(
            callbacks
                .recv_timeout(Duration::from_secs(30))
                .expect("callback"),
        );
    }
    assert!(got.len() >= 3, "the failed callback was retried: {got:?}");

    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    let serve_log = std::fs::read_to_string(&log_path).expect("log");
    assert!(serve_log.contains("DEBUG"), "serve logged at debug level");
    assert!(serve_log.contains(&order), "the log is about this order");
    assert!(serve_log.contains("callback"), "callbacks were logged");
    let sign = hex::encode(<md5::Md5 as md5::Digest>::digest(key.as_bytes()));
    let secrets = [
        ("ID number", ID.to_string()),
        ("refused ID number", BAD_ID.to_string()),
        ("mobile", MOBILE.to_string()),
        ("refused mobile", BAD_MOBILE.to_string()),
        ("key", key.clone()),
        ("sign (md5 of the key)", sign),
        (
            "webhook secret",
            created["webhook_secret"]
                .as_str()
                .expect("secret")
                .to_string(),
        ),
        (
            "URL signing secret",
            std::fs::read_to_string(dir.path().join("url-signing.key")).expect("url key"),
        ),
    ];
    for (name, log) in [("serve", &serve_log), ("CLI", &cli_log)] {
        for (what, value) in &secrets {
            let value = value.trim();
            let at = log.find(value).map(|i| {
                String::from_utf8_lossy(
                    &log.as_bytes()[i.saturating_sub(200)..(i + 200).min(log.len())],
                )
                .into_owned()
            });
            assert!(
                at.is_none(),
                "the {name} log holds the {what}: …{}…",
                at.unwrap_or_default()
            );
        }
    }
}
