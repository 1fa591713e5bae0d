//! The real `photoreceipt serve` on a temporary data dir and a free port, and a merchant's
//! HTTP client for it.

#![allow(dead_code)]

pub mod receiver;

use base64::Engine as _;
use platform::{App, Bytes, FixedItems, NewPic, Pic, Platform};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::time::Duration;

pub const BIN: &str = env!("CARGO_BIN_EXE_photoreceipt");

/// `../shared/testdata/<rel>`, read.
pub fn testdata(rel: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/testdata")
        .join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A running `serve`. Killed on drop.
pub struct Server {
    pub child: Child,
    pub base: String,
    pub dir: tempfile::TempDir,
}

impl Server {
    /// Starts `serve --listen 127.0.0.1:0` on a fresh data dir with `extra` flags, and waits
    /// for the line that tells the bound address.
    pub fn start(extra: &[&str]) -> Server {
        let dir = tempfile::tempdir().expect("tempdir");
        Self::start_in(dir, extra)
    }

    pub fn start_in(dir: tempfile::TempDir, extra: &[&str]) -> Server {
        Self::start_opts(dir, extra, &[], Stdio::inherit())
    }

    /// [`Self::start_in`] with environment variables (set after the defaults) and where
    /// stderr goes (`Stdio::piped()`: read it from `child.stderr`).
    pub fn start_opts(
        dir: tempfile::TempDir,
        extra: &[&str],
        env: &[(&str, &str)],
        stderr: Stdio,
    ) -> Server {
        let mut child = Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path())
            .args(extra)
            .env("PHOTORECEIPT_LOG", "warn")
            .env_remove("PHOTORECEIPT_CONFIG")
            .env_remove("PHOTORECEIPT_STORE_URL")
            .env_remove("PHOTORECEIPT_LOG_FORMAT")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("start serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let base = loop {
            let line = lines
                .next()
                .expect("serve exited before listening")
                .expect("read");
            if let Some(addr) = line.strip_prefix("photoreceipt listening on ") {
                break addr.trim().to_string();
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Server { child, base, dir }
    }

    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// POST form-urlencoded, as the seed. Returns the HTTP status and the JSON answer.
    pub fn post(&self, path: &str, form: &[(&str, &str)]) -> (u16, Value) {
        answer(ureq::post(&self.url(path)).send_form(form))
    }

    /// POST form-urlencoded; asserts HTTP 200 and returns the JSON.
    pub fn call(&self, path: &str, form: &[(&str, &str)]) -> Value {
        let (status, v) = self.post(path, form);
        assert_eq!(status, 200, "{path}: {v}");
        v
    }

    pub fn post_json(&self, path: &str, body: &Value) -> (u16, Value) {
        answer(ureq::post(&self.url(path)).send_json(body.clone()))
    }

    pub fn get(&self, path_and_query: &str) -> (u16, Value) {
        answer(ureq::get(&self.url(path_and_query)).call())
    }

    /// GET a file URL: status, Content-Type, Content-Length header, body.
    pub fn fetch(&self, url: &str) -> (u16, String, Option<usize>, Vec<u8>) {
        let resp = match ureq::get(url).call() {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{url}: {e}"),
        };
        let status = resp.status();
        let ctype = resp.content_type().to_string();
        let len = resp.header("content-length").and_then(|v| v.parse().ok());
        let mut body = Vec::new();
        resp.into_reader().read_to_end(&mut body).expect("body");
        (status, ctype, len, body)
    }

    /// Runs a CLI subcommand on this server's data dir.
    pub fn cli(&self, args: &[&str]) -> Output {
        cli(self.data_dir(), args)
    }

    /// Runs a CLI subcommand that must succeed; returns stdout.
    pub fn cli_ok(&self, args: &[&str]) -> String {
        let out = self.cli(args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8")
    }

    /// `app create --json`: (app_id, key).
    pub fn create_app(&self, name: &str, balance_yuan: &str, sandbox: bool) -> (i64, String) {
        let mut args = vec![
            "app",
            "create",
            "--name",
            name,
            "--balance-yuan",
            balance_yuan,
            "--json",
        ];
        if sandbox {
            args.push("--sandbox");
        }
        let v: Value = serde_json::from_str(&self.cli_ok(&args)).expect("app JSON");
        (
            v["app_id"].as_i64().expect("app_id"),
            v["key"].as_str().expect("key").to_string(),
        )
    }

    /// SIGTERM, then the exit status within `wait`.
    pub fn terminate(&mut self, wait: Duration) -> Option<std::process::ExitStatus> {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let until = std::time::Instant::now() + wait;
        while std::time::Instant::now() < until {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn answer(r: Result<ureq::Response, ureq::Error>) -> (u16, Value) {
    let resp = match r {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("transport: {e}"),
    };
    let status = resp.status();
    let text = resp.into_string().expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

pub fn cli(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .env("PHOTORECEIPT_LOG", "warn")
        .output()
        .expect("run photoreceipt")
}

pub fn code(v: &Value) -> i64 {
    v["code"]
        .as_i64()
        .unwrap_or_else(|| panic!("no code in {v}"))
}

/// The test's own handle on the server's data (a second writer, as the CLI is), to store
/// pics quickly without running the engine.
pub struct Direct {
    pub rt: tokio::runtime::Runtime,
    pub p: Platform,
}

impl Direct {
    pub fn open(dir: &Path) -> Direct {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("rt");
        let p = rt
            .block_on(Platform::open_embedded(
                dir,
                Default::default(),
                Arc::new(FixedItems::new()),
            ))
            .expect("open platform");
        Direct { rt, p }
    }

    pub fn app(&self, key: &str) -> App {
        self.rt.block_on(self.p.authenticate(key)).expect("app")
    }

    /// A pic as make would store it, with the given checks report.
    pub fn pic(&self, app: &App, item_id: i64, checks: Value) -> Pic {
        let new = NewPic {
            item_id,
            photos: vec![(
                "white".into(),
                Bytes::from_static(&[0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3]),
            )],
            checks,
            ..Default::default()
        };
        self.rt
            .block_on(self.p.store_pic(app, new))
            .expect("store pic")
    }

    pub fn passing_pic(&self, app: &App, item_id: i64) -> String {
        self.pic(app, item_id, json!({"pass": true, "checks": []}))
            .pic_id
    }
}

/// The Guangdong driving-licence receipt params of the seed, valid.
pub fn gd_param() -> String {
    json!({"text_mobile": "13800138000", "text_city": "深圳", "text_name": "张三", "text_idcard": "11010519491231002X"})
        .to_string()
}

/// A path under the server's temp dir, for files the test writes.
pub fn temp_file(s: &Server, name: &str) -> PathBuf {
    s.data_dir().join(name)
}

/// Sends raw bytes over TCP and returns the response head (status line and headers).
pub fn raw_request(base: &str, request: &str) -> String {
    let addr = base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    stream.write_all(request.as_bytes()).expect("write");
    let mut buf = Vec::new();
    let _ = stream.read_to_end(&mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}
