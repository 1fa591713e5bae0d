//! The `photoreceipt callback worker` process on a temporary data dir, beside the platform's
//! test receiver (shared with the platform's callback tests).
#![allow(dead_code)]

#[path = "../../../platform/tests/callbacks_env/mod.rs"]
pub mod callbacks_env;

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_photoreceipt");

/// A running `callback worker`. Killed (SIGKILL) on drop.
pub struct WorkerProcess {
    pub child: Child,
}

impl WorkerProcess {
    /// `callback worker` with the loopback allowed and `schedule`, plus `extra` flags.
    pub fn start(dir: &Path, schedule: &str, extra: &[&str]) -> Self {
        let child = Command::new(BIN)
            .args(["callback", "worker", "--data-dir"])
            .arg(dir)
            .args(["--callback-allow-cidr", "127.0.0.0/8"])
            .args(["--callback-schedule", schedule])
            .args(extra)
            .env("PHOTORECEIPT_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the callback worker");
        Self { child }
    }

    /// `kill -9`.
    pub fn kill9(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reap");
    }

    /// SIGTERM, then wait for a clean exit.
    pub fn stop(mut self) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill -TERM");
        assert!(sent.success());
        let status = self.child.wait().expect("wait");
        assert!(
            status.success(),
            "the worker stops cleanly on SIGTERM: {status}"
        );
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the binary to completion.
pub fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .env("PHOTORECEIPT_LOG", "warn")
        .output()
        .expect("run photoreceipt")
}

/// Runs it and expects success; stdout.
pub fn ok(dir: &Path, args: &[&str]) -> String {
    let out = run(dir, args);
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn json(dir: &Path, args: &[&str]) -> serde_json::Value {
    serde_json::from_str(&ok(dir, args)).expect("JSON output")
}

/// Polls `check` every 50 ms until it holds (panics after `limit`).
pub async fn until<F, Fut>(limit: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !check().await {
        assert!(start.elapsed() < limit, "waited {limit:?} for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
