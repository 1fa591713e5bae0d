//! `photoreceipt app`: run the built binary on a temporary data dir.

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_photoreceipt"))
        .arg("app")
        .args(args)
        .env("PHOTORECEIPT_DATA_DIR", dir)
        .env("PHOTORECEIPT_LOG", "warn")
        .output()
        .expect("run photoreceipt")
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = run(dir, args);
    assert!(
        out.status.success(),
        "app {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

fn json(dir: &Path, args: &[&str]) -> Value {
    let text = ok(dir, args);
    assert_eq!(text.trim().lines().count(), 1, "one line: {text}");
    serde_json::from_str(&text).expect("JSON")
}

fn platform(dir: &Path) -> (tokio::runtime::Runtime, platform::Platform) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let items = std::sync::Arc::new(platform::FixedItems::new());
    let p = rt
        .block_on(platform::Platform::open_embedded(
            dir,
            Default::default(),
            items,
        ))
        .expect("open");
    (rt, p)
}

#[test]
fn create_json_prints_one_object_with_the_key_once() {
    let dir = tempfile::tempdir().expect("tmp");
    let v = json(
        dir.path(),
        &[
            "create",
            "--name",
            "Demo Shop",
            "--balance-yuan",
            "100",
            "--json",
        ],
    );
    let obj = v.as_object().expect("object");
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["app_id", "key", "sign", "webhook_secret"]);
    let key = v["key"].as_str().expect("key");
    assert!(key.starts_with("pr_live_") && key.len() == 40, "{key}");
    assert_eq!(v["sign"], platform::app::key_sign(key));
    assert!(v["webhook_secret"]
        .as_str()
        .expect("secret")
        .starts_with("whsec_"));
    assert_eq!(v["app_id"], 1);

    // The key is stored hashed: no file of the data dir holds it.
    for entry in std::fs::read_dir(dir.path()).expect("ls") {
        let path = entry.expect("entry").path();
        if path.is_file() {
            let bytes = std::fs::read(&path).expect("read");
            assert!(
                !bytes.windows(key.len()).any(|w| w == key.as_bytes()),
                "{path:?}"
            );
        }
    }
    // ... and it authenticates.
    let (rt, p) = platform(dir.path());
    let app = rt.block_on(p.authenticate(key)).expect("auth");
    assert_eq!(app.name, "Demo Shop");
    assert_eq!(app.balance_fen, 10_000);
}

#[test]
fn list_show_and_topup_through_the_ledger() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let text = ok(d, &["create", "--name", "Studio", "--balance-yuan", "7"]);
    assert!(
        text.contains("pr_live_") && text.contains("shown only now"),
        "{text}"
    );
    json(d, &["create", "--name", "Sandy", "--sandbox", "--json"]);

    let list = ok(d, &["list"]);
    assert!(
        list.contains("Studio") && list.contains("Sandy") && list.contains("2 apps"),
        "{list}"
    );
    assert!(!list.contains("whsec_"), "no secrets in lists");
    let apps = json(d, &["list", "--json"]);
    assert_eq!(apps[1]["sandbox"], true);
    assert_eq!(
        apps[1]["key_prefix"]
            .as_str()
            .map(|k| k.starts_with("pr_test_")),
        Some(true)
    );

    let out = ok(d, &["topup", "1", "--yuan", "12.5"]);
    assert!(out.contains("balance 19.50 yuan"), "{out}");
    let shown = json(d, &["show", "1", "--json"]);
    assert_eq!(shown["balance_fen"], 1950);
    assert_eq!(shown["balance_yuan"], "19.50");
    let kinds: Vec<&str> = shown["ledger"]
        .as_array()
        .expect("ledger")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["topup", "topup"]);
    assert!(ok(d, &["show", "1"]).contains("balance:   19.50 yuan"));

    for bad in [
        ["topup", "1", "--yuan", "-3"],
        ["topup", "1", "--yuan", "1.234"],
        ["topup", "9", "--yuan", "1"],
    ] {
        let out = run(d, &bad);
        assert!(!out.status.success(), "{bad:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("error:"),
            "{bad:?}"
        );
    }
    assert_eq!(json(d, &["show", "1", "--json"])["balance_fen"], 1950);
}

#[test]
fn rotate_key_replaces_key_and_sign_and_disable_refuses_it() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let first = json(d, &["create", "--name", "S", "--json"]);
    let second = json(d, &["rotate-key", "1", "--json"]);
    let (k1, k2) = (
        first["key"].as_str().expect("k1"),
        second["key"].as_str().expect("k2"),
    );
    assert_ne!(k1, k2);
    assert_eq!(second["sign"], platform::app::key_sign(k2));
    assert_eq!(
        second["webhook_secret"], first["webhook_secret"],
        "the secret is not the key"
    );

    let (rt, p) = platform(d);
    assert!(matches!(
        rt.block_on(p.authenticate(k1)),
        Err(platform::PlatformError::KeyInvalid)
    ));
    assert!(rt.block_on(p.authenticate(k2)).is_ok());

    assert!(ok(d, &["disable", "1"]).contains("disabled"));
    assert!(matches!(
        rt.block_on(p.authenticate(k2)),
        Err(platform::PlatformError::AppDisabled(1))
    ));
    ok(d, &["enable", "1"]);
    assert!(rt.block_on(p.authenticate(k2)).is_ok());
}

#[test]
fn data_dir_flag_beats_the_environment() {
    let env_dir = tempfile::tempdir().expect("tmp");
    let flag_dir = tempfile::tempdir().expect("tmp");
    let flag = flag_dir.path().to_str().expect("utf-8 path");
    ok(
        env_dir.path(),
        &["create", "--name", "Flagged", "--data-dir", flag],
    );
    assert!(flag_dir.path().join("photoreceipt.db").is_file());
    assert!(ok(env_dir.path(), &["list"]).contains("0 apps"));
    assert!(ok(env_dir.path(), &["list", "--data-dir", flag]).contains("Flagged"));
}
