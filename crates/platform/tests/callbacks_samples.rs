//! The merchants' verification samples in docs/samples, run against real signed callbacks
//! (form and JSON, with URLs, Chinese text and `&` in the fields): each must accept the real
//! callback and refuse a tampered body, a wrong secret and a wrong app key.
//!
//! A language whose toolchain is missing is installed with apt-get when running as root;
//! if it still is missing the test FAILS, unless named in PHOTORECEIPT_SAMPLES_SKIP
//! (e.g. `php,java`), which prints a loud warning instead.

mod callbacks_env;

#[path = "../../../docs/samples/verify_callback.rs"]
mod rust_sample;

use callbacks_env::*;
use chrono::Utc;
use platform::CallbackFormat;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

fn samples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/samples")
}

/// How to run one sample: the program, its leading arguments, the apt package.
struct Lang {
    name: &'static str,
    program: &'static str,
    file: &'static str,
    apt: &'static str,
}

const LANGS: &[Lang] = &[
    Lang {
        name: "python",
        program: "python3",
        file: "verify_callback.py",
        apt: "python3",
    },
    Lang {
        name: "node",
        program: "node",
        file: "verify_callback.js",
        apt: "nodejs",
    },
    Lang {
        name: "php",
        program: "php",
        file: "verify_callback.php",
        apt: "php-cli",
    },
    Lang {
        name: "java",
        program: "java",
        file: "VerifyCallback.java",
        apt: "default-jdk-headless",
    },
];

fn has(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Finds (or installs) the toolchain; false when it is explicitly skipped.
fn toolchain(lang: &Lang) -> bool {
    if has(lang.program) {
        return true;
    }
    if is_root() && has("apt-get") {
        eprintln!(
            "{} not found: apt-get install -y {}",
            lang.program, lang.apt
        );
        let install = || {
            Command::new("apt-get")
                .args(["install", "-y", "-q", lang.apt])
                .env("DEBIAN_FRONTEND", "noninteractive")
                .status()
                .is_ok_and(|s| s.success())
        };
        if !install() {
            let _ = Command::new("apt-get").args(["update", "-q"]).status();
            install();
        }
        if has(lang.program) {
            return true;
        }
    }
    let skip = std::env::var("PHOTORECEIPT_SAMPLES_SKIP").unwrap_or_default();
    if skip.split(',').any(|s| s.trim() == lang.name) {
        eprintln!(
            "\n!!!!!!!! WARNING: the {} callback sample was NOT checked: `{}` is missing \
             and PHOTORECEIPT_SAMPLES_SKIP names it !!!!!!!!\n",
            lang.name, lang.program
        );
        return false;
    }
    panic!(
        "`{}` is needed to check docs/samples/{} (install {} or set \
         PHOTORECEIPT_SAMPLES_SKIP={} to skip it knowingly)",
        lang.program, lang.file, lang.apt, lang.name
    );
}

/// A real callback as the receiver got it, plus what its app holds.
struct Captured {
    secret: String,
    key: String,
    got: Received,
}

impl Captured {
    fn args(&self, body_file: &Path, secret: &str, key: &str) -> Vec<String> {
        let h = |n: &str| self.got.header(n).to_string();
        vec![
            secret.to_string(),
            key.to_string(),
            h("webhook-id"),
            h("webhook-timestamp"),
            h("webhook-signature"),
            body_file.display().to_string(),
            h("content-type"),
        ]
    }
}

/// Status 3 (signed URLs with `?` and `&`) in form and JSON, and -1 with a Chinese reason,
/// delivered by the worker; the second app is in its secret-rotation overlap.
async fn capture() -> (Env, Vec<Captured>) {
    let env = env().await;
    let rx = Receiver::start().await;
    let (form_app, form_key) = env.app(CallbackFormat::Form).await;
    let (json_app, json_key) = env.app(CallbackFormat::Json).await;
    let json_app = env
        .p
        .rotate_webhook_secret(json_app.app_id, chrono::TimeDelta::hours(1))
        .await
        .expect("rotate");
    let a = env.order(&form_app, &rx.url("/form")).await;
    env.complete(&a.order_no).await;
    let b = env.order(&form_app, &rx.url("/form")).await;
    env.p.take(&b.order_no, "r").await.expect("take");
    env.p
        .reject(&b.order_no, "r", "照片背景不合格 & 请重新拍摄 (100%)")
        .await
        .expect("reject");
    let c = env.order(&json_app, &rx.url("/json")).await;
    env.complete(&c.order_no).await;
    let w = start(&env.p, quick("1s"));
    let got = rx.wait_for(6, Duration::from_secs(10)).await;
    w.stop().await;
    let captured = got
        .into_iter()
        .filter(|r| r.status() != 2)
        .map(|got| {
            let (secret, key) = if got.path == "/json" {
                (json_app.webhook_secret.clone(), json_key.clone())
            } else {
                (form_app.webhook_secret.clone(), form_key.clone())
            };
            Captured { secret, key, got }
        })
        .collect();
    (env, captured)
}

fn run(lang: &Lang, args: &[String]) -> (bool, String) {
    let out = Command::new(lang.program)
        .arg(samples_dir().join(lang.file))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", lang.program));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[tokio::test]
async fn every_sample_verifies_real_callbacks_and_refuses_forgeries() {
    let (env, captured) = capture().await;
    assert_eq!(captured.len(), 3);
    let dir = env.dir.path();
    let wrong_secret = "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let mut checked = Vec::new();
    for lang in LANGS {
        if !toolchain(lang) {
            continue;
        }
        for (i, c) in captured.iter().enumerate() {
            let body = dir.join(format!("body-{i}"));
            std::fs::write(&body, &c.got.body).expect("write body");
            let mut tampered_body = c.got.body.clone();
            tampered_body[0] ^= 1;
            let tampered = dir.join(format!("tampered-{i}"));
            std::fs::write(&tampered, &tampered_body).expect("write");

            let (ok, out) = run(lang, &c.args(&body, &c.secret, &c.key));
            assert!(ok, "{}: a real callback must verify: {out}", lang.name);
            let order_no = c.got.field("order_no").expect("order_no");
            let status = c.got.status();
            assert!(
                out.contains(&format!("verified status={status} order_no={order_no}")),
                "{}: {out}",
                lang.name
            );
            for (what, args) in [
                ("a tampered body", c.args(&tampered, &c.secret, &c.key)),
                ("a wrong secret", c.args(&body, wrong_secret, &c.key)),
                (
                    "a wrong app key",
                    c.args(&body, &c.secret, "pr_live_not_the_key"),
                ),
            ] {
                let (ok, out) = run(lang, &args);
                assert!(!ok, "{}: {what} must be refused: {out}", lang.name);
                assert!(out.contains("mismatch"), "{}: {what}: {out}", lang.name);
            }
        }
        checked.push(lang.name);
    }
    eprintln!("callback samples checked: {checked:?} and rust");
}

#[tokio::test]
async fn the_rust_sample_and_the_library_agree() {
    let (_env, captured) = capture().await;
    let now = Utc::now();
    for c in &captured {
        let h = |n: &str| c.got.header(n);
        let (id, ts, sig) = (
            h("webhook-id"),
            h("webhook-timestamp"),
            h("webhook-signature"),
        );
        let body = &c.got.body;
        assert!(rust_sample::verify_webhook(
            &c.secret,
            id,
            ts,
            sig,
            body,
            now.timestamp()
        ));
        platform::callback::verify(&c.secret, id, ts, sig, body, now).expect("library");
        let sign = c.got.field("sign").expect("sign");
        assert!(rust_sample::verify_sign(&c.key, &sign));
        platform::callback::verify_sign(&c.key, &sign).expect("library sign");

        let mut forged = body.clone();
        forged.extend_from_slice(b"&status=3");
        assert!(!rust_sample::verify_webhook(
            &c.secret,
            id,
            ts,
            sig,
            &forged,
            now.timestamp()
        ));
        assert!(platform::callback::verify(&c.secret, id, ts, sig, &forged, now).is_err());
        let late = now.timestamp() + 301;
        assert!(!rust_sample::verify_webhook(
            &c.secret, id, ts, sig, body, late
        ));
        assert!(!rust_sample::verify_sign("another key", &sign));
    }
    // The JSON app is mid-rotation: two signatures.
    let json = captured
        .iter()
        .find(|c| c.got.path == "/json")
        .expect("json callback");
    assert_eq!(json.got.header("webhook-signature").split(' ').count(), 2);
}

/// docs/callbacks.md quotes the samples; the quotes must be the tested code, verbatim.
#[test]
fn the_docs_quote_the_tested_samples_verbatim() {
    let doc_path = samples_dir().join("../callbacks.md");
    let doc = std::fs::read_to_string(&doc_path).expect("docs/callbacks.md");
    let mut quoted = Vec::new();
    for block in doc.split("<!-- sample: ").skip(1) {
        let (file, rest) = block.split_once(" -->").expect("marker");
        let code = rest
            .split_once("```")
            .and_then(|(_, r)| r.split_once('\n'))
            .and_then(|(_, r)| r.split_once("\n```"))
            .map(|(code, _)| code)
            .expect("a fenced block after the marker");
        let sample = std::fs::read_to_string(samples_dir().join(file)).expect(file);
        assert!(code.len() > 200, "{file}: the quote has the code");
        assert!(
            sample.contains(code),
            "docs/callbacks.md quotes {file}, but the quote differs from the file"
        );
        quoted.push(file.to_string());
    }
    let all = [
        "verify_callback.py",
        "verify_callback.js",
        "verify_callback.php",
        "VerifyCallback.java",
        "verify_callback.rs",
    ];
    assert_eq!(quoted, all);
}
