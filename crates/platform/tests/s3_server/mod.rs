//! A real S3 server for the tests: `s3s-fs` (installed by `scripts/setup-s3`, which
//! `scripts/setup` runs) on loopback, on a free port, over a temporary folder, with its own
//! keys and one bucket. Killed on drop. Also used by the binary's tests (`#[path]`).
#![allow(dead_code)]

use platform::ObjectBlobStore;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const ACCESS_KEY: &str = "photoreceipt-test";
pub const SECRET_KEY: &str = "photoreceipt-test-secret-key";
pub const REGION: &str = "us-east-1";
pub const BUCKET: &str = "photoreceipt";

pub struct S3Server {
    child: Option<Child>,
    pub port: u16,
    pub root: tempfile::TempDir,
}

/// `$S3S_FS`, else `s3s-fs` in cargo's bin dir, where `scripts/setup-s3` puts it.
fn binary() -> PathBuf {
    if let Some(p) = std::env::var_os("S3S_FS") {
        return p.into();
    }
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .expect("CARGO_HOME or HOME");
    let bin = home.join("bin/s3s-fs");
    assert!(
        bin.is_file(),
        "{} is missing: run scripts/setup-s3 (scripts/test does)",
        bin.display()
    );
    bin
}

impl S3Server {
    /// Starts the server with the bucket [`BUCKET`] created, and waits until it answers.
    pub fn start() -> S3Server {
        let root = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(root.path().join(BUCKET)).expect("bucket dir");
        for _ in 0..5 {
            let port = free_port();
            if let Some(child) = spawn(port, root.path()) {
                return S3Server {
                    child: Some(child),
                    port,
                    root,
                };
            }
        }
        panic!("s3s-fs did not start");
    }

    /// Starts it again after [`Self::kill`], on the same port and folder.
    pub fn restart(&mut self) {
        self.kill();
        for _ in 0..50 {
            if let Some(child) = spawn(self.port, self.root.path()) {
                self.child = Some(child);
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("s3s-fs did not restart on port {}", self.port);
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `s3://photoreceipt?endpoint=http://127.0.0.1:PORT&region=us-east-1`.
    pub fn url(&self) -> String {
        format!("s3://{BUCKET}?endpoint={}&region={REGION}", self.endpoint())
    }

    /// The keys for a child process (`photoreceipt serve --store-url …`).
    pub fn env(&self) -> [(&'static str, &'static str); 2] {
        [
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY),
        ]
    }

    /// A store on the bucket, for this process.
    pub fn store(&self) -> ObjectBlobStore {
        ObjectBlobStore::s3_with_keys(&self.url(), ACCESS_KEY, SECRET_KEY).expect("S3 store")
    }

    /// SIGKILL: the store is gone (the port refuses connections).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// s3s-fs on `port` over `root`, once it answers.
fn spawn(port: u16, root: &std::path::Path) -> Option<Child> {
    let mut child = Command::new(binary())
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
        .arg(root)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start s3s-fs");
    if wait_listening(&mut child, port) {
        return Some(child);
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

fn wait_listening(child: &mut Child, port: u16) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let until = Instant::now() + Duration::from_secs(15);
    while Instant::now() < until {
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}
