//! The callback outbox as the delivery worker will use it.

mod common;

use chrono::TimeDelta;
use common::*;
use platform::{AttemptOutcome, CallbackAttempt, CallbackFilter, CallbackState};

both_backends! {
    #[tokio::test]
    async fn callbacks_are_claimed_in_order_with_leases() {
        let env = env().await;
        let app = env.app(100_000, false).await;
        let o = env.submit(&app).await;
        env.p.take(&o.order_no, "r").await.expect("take");
        env.p
            .approve(
                &o.order_no,
                "r",
                platform::Approval {
                    receipt_no: "R".into(),
                    ..Default::default()
                },
            )
            .await
            .expect("approve");
        let other = env.submit(&app).await;
        env.p.cancel(&app, &other.order_no).await.expect("cancel");

        let now = env.p.now();
        let lease = TimeDelta::seconds(30);
        let claimed = env
            .p
            .claim_due_callbacks(now, lease, 10)
            .await
            .expect("claim");
        // Status 3 of the first order waits for its status 2.
        let got: Vec<_> = claimed
            .iter()
            .map(|c| (c.order_no.clone(), c.status))
            .collect();
        assert_eq!(got, [(o.order_no.clone(), 2), (other.order_no.clone(), -2)]);
        assert!(claimed.iter().all(|c| c.state == CallbackState::Delivering));
        assert!(claimed[0].webhook_id.starts_with("msg_"));
        assert!(env
            .p
            .claim_due_callbacks(now, lease, 10)
            .await
            .expect("again")
            .is_empty());

        // The first worker crashed: after the lease, the same row is claimed again, same id.
        let later = now + TimeDelta::seconds(31);
        let reclaimed = env
            .p
            .claim_due_callbacks(later, lease, 10)
            .await
            .expect("reclaim");
        assert_eq!(reclaimed.len(), 2);
        assert_eq!(reclaimed[0].webhook_id, claimed[0].webhook_id);

        let first = &reclaimed[0];
        let attempt = CallbackAttempt {
            callback_id: first.id,
            at: later,
            http_status: Some(500),
            latency_ms: 12,
            response_head: platform::callback::response_head("oops"),
            error: Some("HTTP 500".into()),
        };
        env.p.record_attempt(&attempt).await.expect("attempt");
        assert!(env
            .p
            .reschedule_callback(first.id, later + TimeDelta::seconds(5), later)
            .await
            .expect("resched"));
        assert!(env
            .p
            .mark_callback_succeeded(reclaimed[1].id, later)
            .await
            .expect("ok"));
        assert!(env
            .p
            .claim_due_callbacks(later, lease, 10)
            .await
            .expect("not yet")
            .is_empty());

        let due = later + TimeDelta::seconds(5);
        let retry = env
            .p
            .claim_due_callbacks(due, lease, 10)
            .await
            .expect("retry");
        assert_eq!((retry.len(), retry[0].attempts, retry[0].status), (1, 1, 2));
        let ok = CallbackAttempt {
            callback_id: retry[0].id,
            at: due,
            http_status: Some(200),
            latency_ms: 3,
            response_head: r#"{"code":0}"#.into(),
            error: None,
        };
        env.p
            .settle_attempt(&ok, AttemptOutcome::Succeeded)
            .await
            .expect("settle");
        let filter = CallbackFilter {
            order_no: Some(o.order_no.clone()),
            ..Default::default()
        };
        let settled = env.p.callbacks(&filter).await.expect("cbs");
        assert_eq!(settled[0].state, CallbackState::Succeeded);
        assert_eq!((settled[0].attempts, settled[0].lease_until), (2, None));
        // Now status 3 may go.
        let next = env
            .p
            .claim_due_callbacks(due, lease, 10)
            .await
            .expect("status 3");
        assert_eq!(next.iter().map(|c| c.status).collect::<Vec<_>>(), [3]);
        assert!(env
            .p
            .mark_callback_failed(next[0].id, due)
            .await
            .expect("failed"));
        assert!(!env
            .p
            .mark_callback_succeeded(next[0].id, due)
            .await
            .expect("settled"));

        let failed = CallbackFilter {
            state: Some(CallbackState::Failed),
            ..Default::default()
        };
        assert_eq!(env.p.callbacks(&failed).await.expect("failed").len(), 1);
        let again = env
            .p
            .redeliver_callback(next[0].id, due)
            .await
            .expect("redeliver");
        assert_eq!(again.state, CallbackState::Pending);
        assert!(
            env.p.redeliver_callback(next[0].id, due).await.is_err(),
            "pending cannot be redelivered"
        );
        assert_eq!(
            env.p
                .claim_due_callbacks(due, lease, 10)
                .await
                .expect("claim")
                .len(),
            1
        );
        let attempts = env.p.callback_attempts(first.id).await.expect("attempts");
        assert_eq!(attempts, [attempt, ok]);
    }
}
