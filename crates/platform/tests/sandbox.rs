//! Sandbox apps' orders move on their own.

mod common;

use chrono::TimeDelta;
use common::*;
use platform::{NewPic, OrderStatus, SandboxReport};
use serde_json::json;

both_backends! {
    #[tokio::test]
    async fn sandbox_orders_are_taken_then_approved_or_rejected_by_their_checks() {
        let env = env().await;
        let sandbox = env.app(0, true).await;
        let live = env.app(10_000, false).await;
        let good = env.submit(&sandbox).await;
        let bad_pic = NewPic {
            item_id: ITEM,
            photos: vec![("white".into(), jpeg(b"w"))],
            checks: json!({"pass": false, "checks": [{"pass": false, "msg": "头部过小"}]}),
            ..Default::default()
        };
        let bad_pic = env.p.store_pic(&sandbox, bad_pic).await.expect("pic");
        let bad = env
            .p
            .submit(&sandbox, submission(&bad_pic.pic_id))
            .await
            .expect("submit");
        let untouched = env.submit(&live).await;
        let delay = TimeDelta::seconds(5);

        let r = env.p.run_sandbox(env.p.now(), delay).await.expect("run");
        assert_eq!(r, SandboxReport::default(), "not before the delay");
        env.clock.advance(TimeDelta::seconds(6));
        let r = env.p.run_sandbox(env.p.now(), delay).await.expect("run");
        assert_eq!(r.taken, 2);
        assert_eq!(
            env.p.order(&good.order_no).await.expect("o").status,
            OrderStatus::Reviewing
        );
        env.clock.advance(TimeDelta::seconds(6));
        let r = env.p.run_sandbox(env.p.now(), delay).await.expect("run");
        assert_eq!((r.approved, r.rejected), (1, 1));

        let done = env.p.order(&good.order_no).await.expect("good");
        assert_eq!(done.status, OrderStatus::Completed);
        assert!(done.receipt_no.expect("receipt").starts_with("SANDBOX"));
        let rejected = env.p.order(&bad.order_no).await.expect("bad");
        assert_eq!(rejected.status, OrderStatus::Rejected);
        assert_eq!(rejected.reject_msg.as_deref(), Some("头部过小"));
        assert_eq!(
            env.p.order(&untouched.order_no).await.expect("live").status,
            OrderStatus::Pending
        );
        assert_eq!(env.count("ledger", "kind = 'charge'").await, 0);
        assert_eq!(env.count("callbacks", "").await, 4, "2, 2, 3, -1");
    }
}
