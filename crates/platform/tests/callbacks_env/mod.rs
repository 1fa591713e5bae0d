//! For the callback tests: a real HTTP receiver on 127.0.0.1 that records every request and
//! answers from a script, a platform on a temporary data dir (real clock), and a worker.
#![allow(dead_code)]

#[path = "../backends/mod.rs"]
pub mod backends;
pub use backends::*;

use axum::body::Bytes as Body;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use platform::callback::{UrlSignerFn, Worker, WorkerConfig, WorkerReport};
use platform::Bytes;
use platform::{
    App, Approval, CallbackFormat, CallbackPolicy, FixedItems, ItemTerms, NewApp, NewPic, Order,
    Platform, RetrySchedule, Settings, Submission,
};
use serde_json::json;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const ITEM: i64 = 111;

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    /// Lower-case names.
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
    pub at: Instant,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", String::as_str)
    }

    /// The form (or JSON) fields, in order.
    pub fn fields(&self) -> Vec<(String, String)> {
        if self.header("content-type").starts_with("application/json") {
            let v: serde_json::Value = serde_json::from_slice(&self.body).expect("json body");
            let obj = v.as_object().expect("json object");
            return obj
                .iter()
                .map(|(k, v)| {
                    let text = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                    (k.clone(), text)
                })
                .collect();
        }
        url::form_urlencoded::parse(&self.body)
            .into_owned()
            .collect()
    }

    pub fn field(&self, name: &str) -> Option<String> {
        self.fields()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    pub fn status(&self) -> i32 {
        self.field("status")
            .and_then(|s| s.parse().ok())
            .expect("status field")
    }
}

/// One scripted answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: String,
    pub delay: Duration,
    pub headers: Vec<(String, String)>,
}

impl Reply {
    pub fn json(status: u16, body: serde_json::Value) -> Self {
        Self::text(status, &body.to_string())
    }

    pub fn text(status: u16, body: &str) -> Self {
        Self {
            status,
            body: body.to_string(),
            delay: Duration::ZERO,
            headers: vec![],
        }
    }

    /// The seed's acknowledgement.
    pub fn ok() -> Self {
        Self::json(200, json!({"data": {}, "code": 0, "msg": "同步完成"}))
    }

    pub fn after(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }
}

#[derive(Default)]
struct Shared {
    got: Mutex<Vec<Received>>,
    script: Mutex<VecDeque<Reply>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

/// The merchant's endpoint.
#[derive(Clone)]
pub struct Receiver {
    pub addr: std::net::SocketAddr,
    shared: Arc<Shared>,
}

impl Receiver {
    /// Listens on 127.0.0.1; answers `{"code":0}` unless scripted otherwise.
    pub async fn start() -> Self {
        let shared = Arc::new(Shared::default());
        let s = shared.clone();
        let app = axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap, body: Body| {
            let s = s.clone();
            async move { answer(&s, uri, headers, body).await }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, shared }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The next answers, in order; afterwards `{"code":0}` again.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.shared.script.lock().expect("script").extend(replies);
    }

    pub fn got(&self) -> Vec<Received> {
        self.shared.got.lock().expect("got").clone()
    }

    pub fn max_in_flight(&self) -> usize {
        self.shared.max_in_flight.load(Ordering::SeqCst)
    }

    /// Waits until `n` requests arrived (panics after `limit`).
    pub async fn wait_for(&self, n: usize, limit: Duration) -> Vec<Received> {
        let start = Instant::now();
        loop {
            let got = self.got();
            if got.len() >= n {
                return got;
            }
            assert!(
                start.elapsed() < limit,
                "waited {limit:?} for {n} callbacks, got {}: {:?}",
                got.len(),
                got.iter().map(|r| r.fields()).collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn answer(s: &Shared, uri: Uri, headers: HeaderMap, body: Body) -> Response {
    let now = s.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    s.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let received = Received {
        path: uri.path().to_string(),
        headers: headers
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
            .collect(),
        body: body.to_vec(),
        at: Instant::now(),
    };
    s.got.lock().expect("got").push(received);
    let reply = s
        .script
        .lock()
        .expect("script")
        .pop_front()
        .unwrap_or_else(Reply::ok);
    tokio::time::sleep(reply.delay).await;
    s.in_flight.fetch_sub(1, Ordering::SeqCst);
    let mut resp = (
        StatusCode::from_u16(reply.status).expect("status"),
        reply.body,
    )
        .into_response();
    for (k, v) in reply.headers {
        let name = axum::http::HeaderName::from_bytes(k.as_bytes()).expect("name");
        resp.headers_mut()
            .insert(name, v.parse().expect("header value"));
    }
    if !resp.headers().contains_key("content-type") {
        resp.headers_mut()
            .insert("content-type", "application/json".parse().expect("ct"));
    }
    resp
}

/// A platform on a temporary data dir with the real clock; loopback allowed unless
/// `settings` says otherwise.
pub struct Env {
    pub dir: tempfile::TempDir,
    pub p: Platform,
    pub db: TestDb,
}

pub fn loopback_allowed() -> Settings {
    Settings {
        callbacks: CallbackPolicy::parse_allow(&["127.0.0.0/8"]).expect("cidr"),
        ..Settings::default()
    }
}

pub fn items() -> Arc<FixedItems> {
    Arc::new(FixedItems::new().with(
        ITEM,
        ItemTerms {
            price_fen: 700,
            print_price_fen: Some(1000),
        },
    ))
}

pub async fn env() -> Env {
    env_with(loopback_allowed()).await
}

pub async fn env_with(settings: Settings) -> Env {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = TestDb::new(dir.path());
    let p = db.open(dir.path(), settings, items()).await;
    Env { dir, p, db }
}

impl Env {
    /// The same data dir opened again with other settings (another process's view).
    pub async fn reopen(&self, settings: Settings) -> Platform {
        self.db.open(self.dir.path(), settings, items()).await
    }

    pub async fn app(&self, format: CallbackFormat) -> (App, String) {
        let issued = self
            .p
            .create_app(NewApp {
                name: "Shop".into(),
                balance_fen: 1_000_000,
                sandbox: false,
                callback_format: format,
            })
            .await
            .expect("create app");
        (issued.app, issued.key)
    }

    /// A pending order whose callbacks go to `notice_url`.
    pub async fn order(&self, app: &App, notice_url: &str) -> Order {
        self.try_order(app, notice_url).await.expect("submit")
    }

    pub async fn try_order(&self, app: &App, notice_url: &str) -> platform::Result<Order> {
        let pic = self
            .p
            .store_pic(
                app,
                NewPic {
                    item_id: ITEM,
                    photos: vec![("white".into(), jpeg(b"white"))],
                    original: Some(jpeg(b"original")),
                    transparent_png: None,
                    print_sheet: None,
                    checks: json!({"ok": true}),
                },
            )
            .await
            .expect("store pic");
        self.p
            .submit(
                app,
                Submission {
                    pic_id: pic.pic_id,
                    notice_url: notice_url.to_string(),
                    params: json!({"text_mobile": "13800138000", "text_name": "张三"}),
                    is_print: false,
                    print_param: None,
                },
            )
            .await
    }

    /// Take and approve with a receipt, an adjusted photo and a print sheet: callbacks 2, 3.
    pub async fn complete(&self, order_no: &str) {
        self.p.take(order_no, "reviewer").await.expect("take");
        self.p
            .approve(
                order_no,
                "reviewer",
                Approval {
                    receipt_no: "RC-1".into(),
                    receipt_image: Some(jpeg(b"receipt")),
                    adjusted_image: Some(jpeg(b"adjusted")),
                    print_image: Some(jpeg(b"print")),
                },
            )
            .await
            .expect("approve");
    }
}

pub fn jpeg(tag: &[u8]) -> Bytes {
    let mut v = vec![0xFF, 0xD8, 0xFF, 0xE0];
    v.extend_from_slice(tag);
    Bytes::from(v)
}

/// File URLs as the server would sign them (a stand-in base).
pub fn signer() -> UrlSignerFn {
    Arc::new(|key: &str| format!("https://files.example/files/{key}?sign=t"))
}

/// A quick config: exact steps (no jitter), short timeout and lease.
pub fn quick(schedule: &str) -> WorkerConfig {
    WorkerConfig {
        schedule: RetrySchedule::parse(schedule)
            .expect("schedule")
            .with_jitter(0.0),
        timeout: Duration::from_millis(400),
        lease: Duration::from_secs(6),
        poll: Duration::from_millis(20),
        ..WorkerConfig::default()
    }
}

/// A worker running in the background until [`Running::stop`].
pub struct Running {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    handle: tokio::task::JoinHandle<WorkerReport>,
}

impl Running {
    pub async fn stop(mut self) -> WorkerReport {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        (&mut self.handle).await.expect("worker task")
    }
}

pub fn start(p: &Platform, config: WorkerConfig) -> Running {
    let worker = Arc::new(Worker::new(p.clone(), config, signer()).expect("worker"));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let handle = tokio::spawn(worker.run(async move {
        let _ = rx.await;
    }));
    Running {
        stop: Some(tx),
        handle,
    }
}
