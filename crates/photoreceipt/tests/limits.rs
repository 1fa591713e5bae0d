//! Issue 8, limits as a merchant meets them on a real `serve`: the body limit while streaming,
//! a body that trickles in, the bounded make queue answering "busy" before reading the body,
//! and the per-app token bucket's 429 with `Retry-After`.

mod support;

use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};
use support::{code, Server};

fn connect(base: &str) -> TcpStream {
    let s = TcpStream::connect(base.trim_start_matches("http://")).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    s
}

/// Reads a whole `Connection: close` answer: (status, headers text, JSON body).
fn read_answer(mut s: TcpStream) -> (u16, String, Value) {
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    // A chunked body: the JSON is between the first chunk size line and the next.
    let json = body
        .find('{')
        .map_or("", |i| &body[i..body.rfind('}').map_or(i, |j| j + 1)]);
    (
        status,
        head.to_ascii_lowercase(),
        serde_json::from_str(json).unwrap_or(Value::Null),
    )
}

const MAKE_HEAD: &str = "POST /receipt/make HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nConnection: close\r\n";

#[test]
fn a_chunked_body_over_the_limit_is_cut_off_while_streaming() {
    let s = Server::start(&["--max-body", "65536"]);
    let mut c = connect(&s.base);
    write!(c, "{MAKE_HEAD}Transfer-Encoding: chunked\r\n\r\n").expect("head");
    let chunk = vec![b'a'; 16 * 1024];
    // 1 MB offered, 64 KB allowed: the server answers and stops reading long before the end.
    for _ in 0..64 {
        if write!(c, "{:x}\r\n", chunk.len()).is_err()
            || c.write_all(&chunk).is_err()
            || c.write_all(b"\r\n").is_err()
        {
            break;
        }
    }
    let _ = c.write_all(b"0\r\n\r\n");
    let (status, _, v) = read_answer(c);
    assert_eq!(status, 413);
    assert_eq!(code(&v), 7003, "{v}");
}

#[test]
fn make_is_busy_at_once_when_the_queue_is_full_and_a_trickling_body_times_out() {
    let s = Server::start(&[
        "--make-workers",
        "1",
        "--make-queue",
        "0",
        "--body-timeout",
        "2s",
    ]);
    // A client that sends its headers and half its body, then stalls, holds the only place.
    let mut slow = connect(&s.base);
    write!(slow, "{MAKE_HEAD}Content-Length: 5000\r\n\r\nkey=x&image=").expect("head");
    std::thread::sleep(Duration::from_millis(300));

    // Another make is refused at once. The client sends its whole 1 MB body first, as
    // HTTP clients do, and must get the answer, not a broken connection.
    let started = Instant::now();
    let mut other = connect(&s.base);
    let body = format!("key=x&item_id=111&image={}", "A".repeat(1 << 20));
    write!(other, "{MAKE_HEAD}Content-Length: {}\r\n\r\n", body.len()).expect("head");
    other
        .write_all(body.as_bytes())
        .expect("the whole body is taken");
    let (status, _, v) = read_answer(other);
    assert_eq!((status, code(&v)), (200, 7002), "busy: {v}");
    assert!(
        v["msg_en"].as_str().is_some_and(|m| m.contains("busy")),
        "{v}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "busy answers at once: {:?}",
        started.elapsed()
    );
    // Other endpoints are not affected.
    assert_eq!(s.get("/healthz").0, 200);

    // The stalled body gets 408 / 7004 after --body-timeout, and frees its place.
    let (status, _, v) = read_answer(slow);
    assert_eq!((status, code(&v)), (408, 7004), "{v}");
    assert!(started.elapsed() < Duration::from_secs(5));
    let (status, v) = s.post(
        "/receipt/make",
        &[("key", "pr_live_nope"), ("item_id", "111")],
    );
    assert_eq!((status, code(&v)), (200, 1101), "admitted again: {v}");
}

#[test]
fn the_rate_limit_is_per_app_with_retry_after_and_refills() {
    let s = Server::start(&["--rate-limit", "1", "--rate-burst", "3"]);
    let (_, a) = s.create_app("A", "0", false);
    let (_, b) = s.create_app("B", "0", false);
    let info = |key: &str| match ureq::post(&s.url("/user/info")).send_form(&[("key", key)]) {
        Ok(r) => (200, None, r.into_json::<Value>().expect("json")),
        Err(ureq::Error::Status(st, r)) => (
            st,
            r.header("retry-after").map(str::to_string),
            r.into_json().expect("json"),
        ),
        Err(e) => panic!("{e}"),
    };
    for _ in 0..3 {
        assert_eq!(info(&a).0, 200, "the burst is allowed");
    }
    let (status, retry, v) = info(&a);
    assert_eq!((status, code(&v)), (429, 7001), "{v}");
    let wait: u64 = retry.expect("Retry-After").parse().expect("seconds");
    assert!((1..=2).contains(&wait), "Retry-After {wait}");
    assert!(
        v["msg"]
            .as_str()
            .is_some_and(|m| m.contains(&wait.to_string())),
        "{v}"
    );
    assert_eq!(info(&b).0, 200, "another app has its own bucket");
    std::thread::sleep(Duration::from_secs(wait));
    assert_eq!(info(&a).0, 200, "after Retry-After the key works again");
}

/// A client that trickles its request head (one byte every 100 ms, never ending it) is cut off
/// after `--header-timeout`, while other clients are served meanwhile.
#[test]
fn a_request_head_that_never_ends_is_cut_off() {
    let s = Server::start(&["--header-timeout", "1s"]);
    let mut slow = connect(&s.base);
    let mut writer = slow.try_clone().expect("clone");
    let started = Instant::now();
    std::thread::spawn(move || {
        let head = b"POST /receipt/make HTTP/1.1\r\nHost: x\r\nX-Slow: ".iter();
        for b in head.chain(std::iter::repeat(&b'a')) {
            if writer.write_all(&[*b]).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(s.get("/healthz").0, 200, "others are served meanwhile");
    let mut buf = [0u8; 256];
    let closed = matches!(slow.read(&mut buf), Ok(0) | Err(_));
    let waited = started.elapsed();
    assert!(closed, "the connection is closed");
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(5),
        "closed after {waited:?}"
    );
}
