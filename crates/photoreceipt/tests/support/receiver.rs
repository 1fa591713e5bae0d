//! A merchant's callback endpoint on 127.0.0.1 for the tests: answers every POST with
//! `{"code":0}` and hands each delivery to the test.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};

pub struct Delivery {
    pub headers: HashMap<String, String>,
    pub form: HashMap<String, String>,
}

/// A merchant's endpoint: answers every POST with `{"code":0}` and hands each one to the test.
pub fn receiver() -> (String, mpsc::Receiver<Delivery>) {
    let (url, rx, _) = switchable_receiver(true);
    (url, rx)
}

/// Like [`receiver`] while the switch is on; while it is off, every POST gets HTTP 500 and is
/// not handed on.
pub fn switchable_receiver(on: bool) -> (String, mpsc::Receiver<Delivery>, Arc<AtomicBool>) {
    let switch = Arc::new(AtomicBool::new(on));
    let up = switch.clone();
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind receiver");
    let url = format!("http://{}/notify", listener.local_addr().expect("addr"));
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream);
            let mut headers = HashMap::new();
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            loop {
                line.clear();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                    break;
                }
                if let Some((k, v)) = line.split_once(':') {
                    headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
                }
            }
            let len = headers
                .get("content-length")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            let mut body = vec![0; len];
            let _ = reader.read_exact(&mut body);
            let form = url::form_urlencoded::parse(&body).into_owned().collect();
            let ok = up.load(Ordering::SeqCst);
            let (head, answer) = if ok {
                ("200 OK", r#"{"code":0,"msg":"同步完成","data":{}}"#)
            } else {
                ("500 Internal Server Error", r#"{"code":1,"msg":"down"}"#)
            };
            let mut stream = reader.into_inner();
            let _ = write!(stream, "HTTP/1.1 {head}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}", answer.len());
            if ok {
                let _ = tx.send(Delivery { headers, form });
            }
        }
    });
    (url, rx, switch)
}
