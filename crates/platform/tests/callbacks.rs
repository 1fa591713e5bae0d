//! The callback worker against a real HTTP receiver on 127.0.0.1: payloads and headers of
//! every status, signatures, success and failure rules, retries, order, redelivery, leases,
//! per-destination limits and secret rotation.

mod callbacks_env;

use callbacks_env::*;
use chrono::{TimeDelta, Utc};
use platform::callback::{signature, verify};
use platform::{CallbackFilter, CallbackFormat, CallbackState};
use serde_json::json;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);

fn names(r: &Received) -> Vec<String> {
    r.fields().into_iter().map(|(k, _)| k).collect()
}

/// Headers and signature of one received callback, checked as a merchant would.
fn assert_signed(r: &Received, secret: &str, webhook_id: &str) {
    assert_eq!(r.header("webhook-id"), webhook_id);
    let ts: i64 = r.header("webhook-timestamp").parse().expect("timestamp");
    assert!((Utc::now().timestamp() - ts).abs() < 60, "timestamp is now");
    let sig = r.header("webhook-signature");
    assert!(sig.starts_with("v1,"), "{sig}");
    verify(
        secret,
        r.header("webhook-id"),
        r.header("webhook-timestamp"),
        sig,
        &r.body,
        Utc::now(),
    )
    .expect("signature verifies");
    let mut tampered = r.body.clone();
    tampered.push(b'x');
    assert!(verify(
        secret,
        webhook_id,
        r.header("webhook-timestamp"),
        sig,
        &tampered,
        Utc::now()
    )
    .is_err());
}

both_backends! {
    #[tokio::test]
    async fn every_status_has_its_fields_headers_and_a_valid_signature() {
        let env = env().await;
        let rx = Receiver::start().await;
        let (app, key) = env.app(CallbackFormat::Form).await;
        // 2 then 3; 2 then -1; -2.
        let done = env.order(&app, &rx.url("/done")).await;
        env.complete(&done.order_no).await;
        let rejected = env.order(&app, &rx.url("/rejected")).await;
        env.p.take(&rejected.order_no, "r").await.expect("take");
        env.p
            .reject(&rejected.order_no, "r", "背景不是白色 & 请重拍")
            .await
            .expect("reject");
        let cancelled = env.order(&app, &rx.url("/cancelled")).await;
        env.p
            .cancel(&app, &cancelled.order_no)
            .await
            .expect("cancel");

        let w = start(&env.p, quick("1s"));
        let got = rx.wait_for(5, WAIT).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        let report = w.stop().await;
        assert_eq!(rx.got().len(), 5, "each callback exactly once");
        assert_eq!(report.succeeded, 5);

        let all = env
            .p
            .callbacks(&CallbackFilter::default())
            .await
            .expect("cbs");
        let sign = platform::app::key_sign(&key);
        for r in &got {
            assert_eq!(
                r.header("content-type"),
                "application/x-www-form-urlencoded"
            );
            assert_eq!(r.field("sign").as_deref(), Some(sign.as_str()));
            signature::verify_sign(&key, &r.field("sign").expect("sign")).expect("sign is md5(key)");
            let order_no = r.field("order_no").expect("order_no");
            let cb = all
                .iter()
                .find(|c| c.order_no == order_no && c.status == r.status())
                .expect("a matching outbox row");
            assert_signed(r, &app.webhook_secret, &cb.webhook_id);
            assert_eq!(cb.state, CallbackState::Succeeded);
            let expected: &[&str] = match r.status() {
                3 => &[
                    "status",
                    "order_no",
                    "sign",
                    "image_receipt",
                    "image",
                    "image_print",
                ],
                -1 => &["status", "order_no", "sign", "reject_msg"],
                2 | -2 => &["status", "order_no", "sign"],
                s => panic!("unexpected status {s}"),
            };
            assert_eq!(names(r), expected, "fields of status {}", r.status());
        }
        let by_path = |p: &str| -> Vec<i32> {
            got.iter()
                .filter(|r| r.path == p)
                .map(Received::status)
                .collect()
        };
        assert_eq!(by_path("/done"), [2, 3], "in order");
        assert_eq!(by_path("/rejected"), [2, -1]);
        assert_eq!(by_path("/cancelled"), [-2]);
        let three = got.iter().find(|r| r.status() == 3).expect("status 3");
        let receipt = three.field("image_receipt").expect("receipt url");
        assert!(
            receipt.starts_with("https://files.example/files/order/"),
            "a signed file URL: {receipt}"
        );
        let rejected_cb = got.iter().find(|r| r.status() == -1).expect("-1");
        assert_eq!(
            rejected_cb.field("reject_msg").as_deref(),
            Some("背景不是白色 & 请重拍")
        );
    }
}

both_backends! {
    #[tokio::test]
    async fn json_apps_get_a_json_body_with_status_as_a_number() {
        let env = env().await;
        let rx = Receiver::start().await;
        let (app, key) = env.app(CallbackFormat::Json).await;
        let o = env.order(&app, &rx.url("/json")).await;
        env.complete(&o.order_no).await;
        let w = start(&env.p, quick("1s"));
        let got = rx.wait_for(2, WAIT).await;
        w.stop().await;
        let cbs = env
            .p
            .callbacks(&CallbackFilter::default())
            .await
            .expect("cbs");
        for (r, cb) in got.iter().zip(&cbs) {
            assert_eq!(r.header("content-type"), "application/json");
            let v: serde_json::Value = serde_json::from_slice(&r.body).expect("json");
            assert_eq!(v["status"], json!(cb.status), "a number");
            assert_eq!(v["order_no"], json!(o.order_no));
            assert_eq!(v["sign"], json!(platform::app::key_sign(&key)));
            assert_signed(r, &app.webhook_secret, &cb.webhook_id);
        }
        let v: serde_json::Value = serde_json::from_slice(&got[1].body).expect("json");
        assert!(v["image_receipt"]
            .as_str()
            .is_some_and(|u| u.contains("/files/")));
        assert!(v.get("reject_msg").is_none());
    }
}

both_backends! {
    #[tokio::test]
    async fn failures_are_retried_until_code_zero() {
        let env = env().await;
        let rx = Receiver::start().await;
        rx.script([
            Reply::json(500, json!({"code": 0})),
            Reply::ok().after(Duration::from_millis(1500)), // past the 400 ms timeout
            Reply::json(200, json!({"code": 1, "msg": "busy"})),
            Reply::text(200, "<html><body>OK</body></html>").header("content-type", "text/html"),
            Reply::text(302, "").header("location", "https://elsewhere.example/"),
            Reply::json(200, json!({"code": "0"})),
        ]);
        let (app, _) = env.app(CallbackFormat::Form).await;
        let o = env.order(&app, &rx.url("/retry")).await;
        env.p.take(&o.order_no, "r").await.expect("take");
        let w = start(&env.p, quick("50ms,50ms,50ms,50ms,50ms,50ms"));
        let got = rx.wait_for(6, WAIT).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let report = w.stop().await;
        assert_eq!(rx.got().len(), 6, "no attempt after the success");
        assert_eq!(report.succeeded, 1);
        assert_eq!(report.retried, 5);
        let ids: std::collections::HashSet<&str> = got.iter().map(|r| r.header("webhook-id")).collect();
        assert_eq!(ids.len(), 1, "webhook-id is stable across retries");

        let cb = &env
            .p
            .callbacks(&CallbackFilter::default())
            .await
            .expect("cbs")[0];
        assert_eq!(cb.state, CallbackState::Succeeded);
        assert_eq!(cb.attempts, 6);
        let attempts = env.p.callback_attempts(cb.id).await.expect("attempts");
        let statuses: Vec<Option<u16>> = attempts.iter().map(|a| a.http_status).collect();
        assert_eq!(
            statuses,
            [Some(500), None, Some(200), Some(200), Some(302), Some(200)]
        );
        let errors: Vec<String> = attempts
            .iter()
            .map(|a| a.error.clone().unwrap_or_default())
            .collect();
        assert!(errors[0].contains("HTTP 500"), "{errors:?}");
        assert!(errors[1].contains("timeout"), "{errors:?}");
        assert!(errors[2].contains("code is 1"), "{errors:?}");
        assert!(errors[3].contains("not JSON"), "{errors:?}");
        assert!(errors[4].contains("redirect"), "{errors:?}");
        assert!(errors[5].is_empty(), "the last one succeeded");
        assert!(attempts[1].latency_ms >= 350, "the timeout took its time");
        assert!(
            attempts[3].response_head.contains("<html>"),
            "the answer is kept"
        );
        assert_eq!(rx.got().iter().filter(|r| r.path == "/retry").count(), 6);
    }
}

both_backends! {
    #[tokio::test]
    async fn answers_are_kept_to_two_kilobytes() {
        let env = env().await;
        let rx = Receiver::start().await;
        rx.script([Reply::text(500, &"x".repeat(10_000))]);
        let (app, _) = env.app(CallbackFormat::Form).await;
        let o = env.order(&app, &rx.url("/big")).await;
        env.p.take(&o.order_no, "r").await.expect("take");
        let w = start(&env.p, quick("50ms"));
        rx.wait_for(2, WAIT).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        w.stop().await;
        let cb = &env
            .p
            .callbacks(&CallbackFilter::default())
            .await
            .expect("cbs")[0];
        let attempts = env.p.callback_attempts(cb.id).await.expect("attempts");
        assert_eq!(attempts[0].response_head.len(), 2048);
        assert_eq!(cb.state, CallbackState::Succeeded);
    }
}

both_backends! {
    #[tokio::test]
    async fn an_exhausted_schedule_fails_lets_the_next_status_go_and_can_be_redelivered() {
        let env = env().await;
        let rx = Receiver::start().await;
        rx.script((0..3).map(|_| Reply::json(503, json!({"code": 0}))));
        let (app, _) = env.app(CallbackFormat::Form).await;
        let o = env.order(&app, &rx.url("/x")).await;
        env.complete(&o.order_no).await;
        let w = start(&env.p, quick("50ms,50ms"));
        let got = rx.wait_for(4, WAIT).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        // Status 2 tried three times (the schedule), failed; only then status 3.
        let statuses: Vec<i32> = got.iter().map(Received::status).collect();
        assert_eq!(statuses, [2, 2, 2, 3]);
        let failed = CallbackFilter {
            state: Some(CallbackState::Failed),
            ..Default::default()
        };
        let listed = env.p.callbacks(&failed).await.expect("failed");
        assert_eq!(listed.len(), 1);
        assert_eq!((listed[0].status, listed[0].attempts), (2, 3));

        // The operator sends it again: it arrives (now answered 0) and succeeds.
        env.p
            .redeliver_callback(listed[0].id, env.p.now())
            .await
            .expect("redeliver");
        let got = rx.wait_for(5, WAIT).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        w.stop().await;
        assert_eq!(got[4].status(), 2);
        assert_eq!(got[4].header("webhook-id"), got[0].header("webhook-id"));
        let cb = env
            .p
            .callbacks(&CallbackFilter::default())
            .await
            .expect("cbs");
        assert!(cb.iter().all(|c| c.state == CallbackState::Succeeded));
        assert_eq!(rx.got().len(), 5);
    }
}

both_backends! {
    #[tokio::test]
    async fn status_three_waits_for_status_two_to_succeed() {
        let env = env().await;
        let rx = Receiver::start().await;
        rx.script([
            Reply::json(500, json!({})),
            Reply::json(200, json!({"code": 2})),
        ]);
        let (app, _) = env.app(CallbackFormat::Form).await;
        let o = env.order(&app, &rx.url("/order")).await;
        env.complete(&o.order_no).await;
        let w = start(&env.p, quick("100ms,100ms,100ms"));
        let got = rx.wait_for(4, WAIT).await;
        tokio::time::sleep(Duration::from_millis(400)).await;
        w.stop().await;
        let statuses: Vec<i32> = got.iter().map(Received::status).collect();
        assert_eq!(statuses, [2, 2, 2, 3]);
        assert_eq!(rx.got().len(), 4);
    }
}

both_backends! {
    #[tokio::test]
    async fn retry_after_is_honoured_within_twice_the_step() {
        let env = env().await;
        let rx = Receiver::start().await;
        rx.script([Reply::json(503, json!({})).header("retry-after", "1")]);
        let (app, _) = env.app(CallbackFormat::Form).await;
        let o = env.order(&app, &rx.url("/ra")).await;
        env.p.take(&o.order_no, "r").await.expect("take");
        let w = start(&env.p, quick("600ms"));
        let got = rx.wait_for(2, WAIT).await;
        w.stop().await;
        let gap = got[1].at - got[0].at;
        assert!(
            gap >= Duration::from_millis(950) && gap < Duration::from_millis(1500),
            "asked 1 s, step 600 ms (clamp 600–1200 ms): waited {gap:?}"
        );
    }
}

both_backends! {
    #[tokio::test]
    async fn a_dead_workers_claim_is_taken_over_after_its_lease() {
        let env = env().await;
        let rx = Receiver::start().await;
        let (app, _) = env.app(CallbackFormat::Form).await;
        let o = env.order(&app, &rx.url("/lease")).await;
        env.p.take(&o.order_no, "r").await.expect("take");
        // A worker claims it for 1.5 s and dies before sending.
        let claimed = env
            .p
            .claim_due_callbacks(env.p.now(), TimeDelta::milliseconds(1500), 10)
            .await
            .expect("claim");
        assert_eq!(claimed.len(), 1);
        let w = start(&env.p, quick("1s"));
        tokio::time::sleep(Duration::from_millis(800)).await;
        assert!(rx.got().is_empty(), "not while the lease holds");
        let got = rx.wait_for(1, WAIT).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        w.stop().await;
        assert_eq!(got[0].header("webhook-id"), claimed[0].webhook_id);
        assert_eq!(rx.got().len(), 1);
    }
}

both_backends! {
    #[tokio::test]
    async fn a_slow_merchant_gets_at_most_n_in_flight_and_does_not_hold_up_others() {
        let env = env().await;
        let slow = Receiver::start().await;
        let fast = Receiver::start().await;
        slow.script((0..8).map(|_| Reply::ok().after(Duration::from_millis(1000))));
        let (app, _) = env.app(CallbackFormat::Form).await;
        for _ in 0..8 {
            let o = env.order(&app, &slow.url("/slow")).await;
            env.p.take(&o.order_no, "r").await.expect("take");
        }
        for _ in 0..6 {
            let o = env.order(&app, &fast.url("/fast")).await;
            env.p.take(&o.order_no, "r").await.expect("take");
        }
        let config = platform::WorkerConfig {
            per_host: 2,
            concurrency: 8,
            timeout: Duration::from_secs(3),
            lease: Duration::from_secs(12),
            ..quick("1s")
        };
        let started = std::time::Instant::now();
        let w = start(&env.p, config);
        fast.wait_for(6, WAIT).await;
        let fast_done = started.elapsed();
        slow.wait_for(8, WAIT).await;
        tokio::time::sleep(Duration::from_millis(1200)).await;
        let report = w.stop().await;
        assert_eq!(report.succeeded, 14);
        assert!(
            fast_done < Duration::from_millis(700),
            "the fast merchant's callbacks did not wait for the slow one: {fast_done:?}"
        );
        assert_eq!(
            slow.max_in_flight(),
            2,
            "at most 2 in flight to the slow merchant"
        );
    }
}

both_backends! {
    #[tokio::test]
    async fn during_a_secret_rotation_both_secrets_sign() {
        let env = env().await;
        let rx = Receiver::start().await;
        let (app, _) = env.app(CallbackFormat::Form).await;
        let old = app.webhook_secret.clone();
        let rotated = env
            .p
            .rotate_webhook_secret(app.app_id, TimeDelta::hours(24))
            .await
            .expect("rotate");
        assert_ne!(rotated.webhook_secret, old);
        assert_eq!(rotated.prev_webhook_secret.as_deref(), Some(old.as_str()));
        let o = env.order(&app, &rx.url("/rot")).await;
        env.p.take(&o.order_no, "r").await.expect("take");
        let w = start(&env.p, quick("1s"));
        let got = rx.wait_for(1, WAIT).await;
        w.stop().await;
        let r = &got[0];
        let sig = r.header("webhook-signature");
        assert_eq!(sig.split(' ').count(), 2, "two signatures: {sig}");
        for secret in [&old, &rotated.webhook_secret] {
            verify(
                secret,
                r.header("webhook-id"),
                r.header("webhook-timestamp"),
                sig,
                &r.body,
                Utc::now(),
            )
            .expect("either secret verifies");
        }

        // No overlap: only the new secret signs from now on.
        let fresh = env
            .p
            .rotate_webhook_secret(app.app_id, TimeDelta::zero())
            .await
            .expect("rotate");
        assert!(fresh.prev_webhook_secret.is_none());
        let o = env.order(&app, &rx.url("/rot2")).await;
        env.p.take(&o.order_no, "r").await.expect("take");
        let w = start(&env.p, quick("1s"));
        let got = rx.wait_for(2, WAIT).await;
        w.stop().await;
        let r = &got[1];
        let sig = r.header("webhook-signature");
        assert_eq!(sig.split(' ').count(), 1);
        let check = |s: &str| {
            verify(
                s,
                r.header("webhook-id"),
                r.header("webhook-timestamp"),
                sig,
                &r.body,
                Utc::now(),
            )
        };
        assert!(check(&fresh.webhook_secret).is_ok());
        assert!(
            check(&rotated.webhook_secret).is_err(),
            "the replaced secret no longer signs"
        );
    }
}

both_backends! {
    #[tokio::test]
    async fn claims_respect_per_destination_limits_skips_and_order() {
        let env = env().await;
        let (app, _) = env.app(CallbackFormat::Form).await;
        let (a, b) = ("http://127.0.0.1:1/a", "http://127.0.0.2:1/b");
        for _ in 0..4 {
            let o = env.order(&app, a).await;
            env.complete(&o.order_no).await; // 2 and 3: only 2 is claimable
        }
        for _ in 0..3 {
            let o = env.order(&app, b).await;
            env.p.take(&o.order_no, "r").await.expect("take");
        }
        let claim = |per_target: u32, skip: Vec<String>| platform::CallbackClaim {
            now: env.p.now(),
            lease_until: env.p.now() + TimeDelta::seconds(30),
            limit: 100,
            per_target,
            skip_targets: skip,
        };
        let got = env
            .p
            .claim_callbacks(&claim(2, vec![]))
            .await
            .expect("claim");
        let to = |url: &str| got.iter().filter(|c| c.notice_url == url).count();
        assert_eq!((to(a), to(b)), (2, 2), "two per destination");
        assert!(got.iter().all(|c| c.status == 2), "never a 3 before its 2");

        let skip_a = vec![platform::callback::target(a)];
        assert_eq!(skip_a, ["127.0.0.1:1"]);
        let got = env
            .p
            .claim_callbacks(&claim(0, skip_a))
            .await
            .expect("claim");
        assert_eq!(got.len(), 1, "only b's last one; a is skipped");
        assert_eq!(got[0].notice_url, b);
        let got = env
            .p
            .claim_callbacks(&claim(0, vec![]))
            .await
            .expect("claim");
        assert_eq!(got.len(), 2, "a's other two status 2");
        assert!(got.iter().all(|c| c.notice_url == a && c.status == 2));
    }
}
