//! The operators' callback commands on a data dir: `callback list --failed`, `callback show`,
//! `callback redeliver`, the `callback worker` process, and `app rotate-secret`.

mod callback_support;

use callback_support::callbacks_env::*;
use callback_support::*;
use chrono::{DateTime, TimeDelta, Utc};
use platform::callback::verify;
use platform::{CallbackFilter, CallbackFormat, CallbackState};
use serde_json::json;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_callbacks_are_listed_shown_and_redelivered() {
    let env = env().await;
    let rx = Receiver::start().await;
    rx.script([
        Reply::json(500, json!({"msg": "down"})),
        Reply::json(200, json!({"code": 7, "msg": "not yet"})),
    ]);
    let (app, _) = env.app(CallbackFormat::Form).await;
    let o = env.order(&app, &rx.url("/cli")).await;
    env.p.take(&o.order_no, "r").await.expect("take");
    let dir = env.dir.path();

    let w = WorkerProcess::start(dir, "100ms", &[]);
    let p = env.p.clone();
    until(Duration::from_secs(20), "the callback to fail", || {
        let p = p.clone();
        async move {
            let f = CallbackFilter {
                state: Some(CallbackState::Failed),
                ..Default::default()
            };
            p.callbacks(&f).await.expect("cbs").len() == 1
        }
    })
    .await;
    w.stop();

    let failed = json(dir, &["callback", "list", "--failed", "--json"]);
    let rows = failed.as_array().expect("array");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["order_no"], json!(o.order_no));
    assert_eq!(rows[0]["attempts"], 2);
    let id = rows[0]["id"].as_i64().expect("id").to_string();
    let table = ok(dir, &["callback", "list", "--failed"]);
    assert!(
        table.contains(&o.order_no) && table.contains("failed") && table.contains("1 callbacks"),
        "{table}"
    );
    let pending = ok(dir, &["callback", "list", "--state", "pending"]);
    assert!(pending.contains("0 callbacks"), "{pending}");

    let shown = json(dir, &["callback", "show", &id, "--json"]);
    let attempts = shown["attempts"].as_array().expect("attempts");
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0]["http_status"], 500);
    assert!(attempts[1]["error"]
        .as_str()
        .is_some_and(|e| e.contains("code is 7")));
    assert!(attempts[1]["response_head"]
        .as_str()
        .is_some_and(|h| h.contains("not yet")));
    let text = ok(dir, &["callback", "show", &id]);
    assert!(
        text.contains("HTTP 500") && text.contains("state:    failed"),
        "{text}"
    );

    let queued = ok(dir, &["callback", "redeliver", &id]);
    assert!(queued.contains("queued"), "{queued}");
    let again = run(dir, &["callback", "redeliver", &id]);
    assert!(
        !again.status.success(),
        "a pending callback is not redelivered twice"
    );
    let w = WorkerProcess::start(dir, "100ms", &[]);
    let got = rx.wait_for(3, Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    w.stop();
    assert_eq!(got[2].header("webhook-id"), got[0].header("webhook-id"));
    assert_eq!(rx.got().len(), 3);
    let shown = json(dir, &["callback", "show", &id, "--json"]);
    assert_eq!(shown["callback"]["state"], "succeeded");
    assert!(ok(dir, &["callback", "list", "--failed"]).contains("0 callbacks"));
    let missing = run(dir, &["callback", "show", "999999"]);
    assert!(!missing.status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotate_secret_signs_with_both_secrets_during_the_overlap() {
    let env = env().await;
    let rx = Receiver::start().await;
    let (app, _) = env.app(CallbackFormat::Form).await;
    let dir = env.dir.path();
    let id = app.app_id.to_string();
    let rotated = json(
        dir,
        &["app", "rotate-secret", &id, "--overlap", "1h", "--json"],
    );
    let new = rotated["webhook_secret"]
        .as_str()
        .expect("secret")
        .to_string();
    assert!(new.starts_with("whsec_") && new != app.webhook_secret);
    let until: DateTime<Utc> =
        serde_json::from_value(rotated["previous_valid_until"].clone()).expect("until");
    let expect = Utc::now() + TimeDelta::hours(1);
    assert!((until - expect).num_seconds().abs() < 60, "{until}");

    let o = env.order(&app, &rx.url("/rot")).await;
    env.p.take(&o.order_no, "r").await.expect("take");
    let w = WorkerProcess::start(dir, "1s", &[]);
    let got = rx.wait_for(1, Duration::from_secs(20)).await;
    w.stop();
    let r = &got[0];
    let sig = r.header("webhook-signature");
    assert_eq!(sig.split(' ').count(), 2, "{sig}");
    for secret in [new.as_str(), app.webhook_secret.as_str()] {
        verify(
            secret,
            r.header("webhook-id"),
            r.header("webhook-timestamp"),
            sig,
            &r.body,
            Utc::now(),
        )
        .expect("both secrets verify");
    }

    let text = ok(dir, &["app", "rotate-secret", &id, "--overlap", "0"]);
    assert!(text.contains("no longer signs"), "{text}");
    let bad = run(dir, &["app", "rotate-secret", &id, "--overlap", "soon"]);
    assert!(!bad.status.success());
}

#[test]
fn bad_worker_flags_are_refused_with_a_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (flags, says) in [
        (
            &["--callback-schedule", "1s,later"][..],
            "callback-schedule",
        ),
        (
            &["--callback-allow-cidr", "localhost"][..],
            "callback-allow-cidr",
        ),
        (
            &["--callback-timeout", "30s", "--callback-lease", "10s"][..],
            "lease",
        ),
    ] {
        let out = run(dir.path(), &[&["callback", "worker"][..], flags].concat());
        assert!(!out.status.success(), "{flags:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{flags:?}: {err}");
    }
}
