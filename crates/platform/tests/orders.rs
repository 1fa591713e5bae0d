//! The order state machine on a real SQLite file: allowed and refused transitions, the
//! outbox and ledger rows written with them, money rules, concurrency.

mod common;

use chrono::TimeDelta;
use common::*;
use platform::{Action, Approval, CallbackFilter, OrderStatus, PlatformError, Submission};
use std::collections::HashSet;

fn approval(no: &str) -> Approval {
    Approval {
        receipt_no: no.into(),
        receipt_image: Some(jpeg(b"receipt")),
        ..Default::default()
    }
}

/// (events, callbacks, charges) of an order, counted in the database.
async fn rows(env: &Env, order_no: &str) -> (i64, i64, i64) {
    let f = format!("order_no = '{order_no}'");
    (
        env.count("order_events", &f).await,
        env.count("callbacks", &f).await,
        env.count("ledger", &format!("{f} AND kind = 'charge'"))
            .await,
    )
}

async fn payloads(env: &Env, order_no: &str) -> Vec<platform::CallbackPayload> {
    let filter = CallbackFilter {
        order_no: Some(order_no.into()),
        ..Default::default()
    };
    let cbs = env.p.callbacks(&filter).await.expect("callbacks");
    cbs.into_iter().map(|c| c.payload).collect()
}

both_backends! {
    #[tokio::test]
    async fn every_allowed_transition_writes_event_outbox_and_ledger_together() {
        let env = env().await;
        let app = env.app(10_000, false).await;
        let o = env.submit(&app).await;
        assert_eq!(o.status, OrderStatus::Pending);
        assert_eq!(o.order_no.len(), 20);
        assert_eq!(rows(&env, &o.order_no).await, (1, 0, 0));

        let o2 = env.p.take(&o.order_no, "alice").await.expect("take");
        assert_eq!(o2.status, OrderStatus::Reviewing);
        assert_eq!(o2.reviewer.as_deref(), Some("alice"));
        assert_eq!(rows(&env, &o.order_no).await, (2, 1, 0));

        env.p.release(&o.order_no, "alice").await.expect("release");
        assert_eq!(
            rows(&env, &o.order_no).await,
            (3, 1, 0),
            "release sends no callback"
        );

        env.p.take(&o.order_no, "bob").await.expect("take again");
        let rej = env
            .p
            .reject(&o.order_no, "bob", "ears hidden")
            .await
            .expect("reject");
        assert_eq!(rej.status, OrderStatus::Rejected);
        assert_eq!(rows(&env, &o.order_no).await, (5, 3, 0));

        let pic2 = env.pic(&app).await;
        let mut sub = submission(&pic2.pic_id);
        sub.params = serde_json::json!({"text_mobile": "13900000000"});
        let re = env
            .p
            .resubmit(&app, &o.order_no, sub)
            .await
            .expect("resubmit");
        assert_eq!(
            (re.status, re.order_no.as_str()),
            (OrderStatus::Pending, o.order_no.as_str())
        );
        assert_eq!(re.pic_id, pic2.pic_id);
        assert_eq!(re.reject_msg, None);
        assert_eq!(
            re.params.as_ref().map(|p| p["text_mobile"].clone()),
            Some("13900000000".into())
        );
        assert_eq!(
            rows(&env, &o.order_no).await,
            (6, 3, 0),
            "resubmit sends no callback"
        );

        env.p.take(&o.order_no, "bob").await.expect("take 3");
        let done = env
            .p
            .approve(&o.order_no, "bob", approval("GD123"))
            .await
            .expect("approve");
        assert_eq!(done.status, OrderStatus::Completed);
        assert_eq!(done.receipt_no.as_deref(), Some("GD123"));
        assert!(done.completed_at.is_some());
        assert_eq!(rows(&env, &o.order_no).await, (8, 5, 1));
        assert_eq!(env.balance(&app).await, 10_000 - PRICE);

        let statuses: Vec<i32> = payloads(&env, &o.order_no)
            .await
            .iter()
            .map(|p| p.status)
            .collect();
        assert_eq!(statuses, [2, 2, -1, 2, 3]);
        let events = env.p.order_events(&o.order_no).await.expect("events");
        let actions: Vec<Action> = events.iter().map(|e| e.action).collect();
        use Action::*;
        assert_eq!(
            actions,
            [Submit, Take, Release, Take, Reject, Resubmit, Take, Approve]
        );
        assert_eq!(events[4].note.as_deref(), Some("ears hidden"));
    }
}

both_backends! {
    #[tokio::test]
    async fn callback_payloads_carry_the_seed_fields_that_apply() {
        let env = env().await;
        let app = env.app(10_000, false).await;
        let o = env.submit(&app).await;
        env.p.take(&o.order_no, "r").await.expect("take");
        env.p
            .reject(&o.order_no, "r", "blurred")
            .await
            .expect("reject");
        let pic = env.pic(&app).await;
        env.p
            .resubmit(&app, &o.order_no, submission(&pic.pic_id))
            .await
            .expect("resubmit");
        env.p.take(&o.order_no, "r").await.expect("take");
        let a = Approval {
            receipt_no: "R1".into(),
            receipt_image: Some(jpeg(b"receipt")),
            adjusted_image: Some(jpeg(b"adjusted")),
            print_image: Some(jpeg(b"print")),
        };
        let done = env.p.approve(&o.order_no, "r", a).await.expect("approve");
        let p = payloads(&env, &o.order_no).await;
        assert_eq!(p[0].image_receipt_key, None);
        assert_eq!(p[1].reject_msg.as_deref(), Some("blurred"));
        assert_eq!(p[1].image_receipt_key, None);
        let last = &p[3];
        assert_eq!(last.status, 3);
        assert_eq!(last.reject_msg, None);
        for key in [
            &last.image_receipt_key,
            &last.image_key,
            &last.image_print_key,
        ] {
            let key = key.as_deref().expect("image key");
            assert!(key.starts_with(&format!("order/{}/", o.order_no)), "{key}");
            assert!(env.blob_file(key).is_file(), "{key} stored");
        }
        assert_eq!(last.image_receipt_key, done.receipt_key);
        let receipt = env
            .p
            .blob(done.receipt_key.as_deref().unwrap())
            .await
            .expect("blob");
        assert_eq!(receipt, jpeg(b"receipt"));
    }
}

both_backends! {
    #[tokio::test]
    async fn approve_without_images_uses_the_made_photo_and_cancel_calls_back_minus_2() {
        let env = env().await;
        let app = env.app(10_000, false).await;
        let o = env.submit(&app).await;
        env.p.take(&o.order_no, "r").await.expect("take");
        let bare = Approval {
            receipt_no: "R2".into(),
            ..Default::default()
        };
        let done = env
            .p
            .approve(&o.order_no, "r", bare)
            .await
            .expect("approve");
        let pic = env
            .p
            .repo()
            .pic(&o.pic_id)
            .await
            .expect("pic")
            .expect("kept");
        assert_eq!(done.receipt_key.as_deref(), pic.photo_key("white"));
        assert_eq!(done.image_key, None);

        let c = env.submit(&app).await;
        let cancelled = env.p.cancel(&app, &c.order_no).await.expect("cancel");
        assert_eq!(cancelled.status, OrderStatus::Cancelled);
        assert_eq!(rows(&env, &c.order_no).await, (2, 1, 0));
        assert_eq!(payloads(&env, &c.order_no).await[0].status, -2);
    }
}

/// Drives a fresh order to `status`.
async fn order_in(env: &Env, app: &platform::App, status: OrderStatus) -> String {
    let o = env.submit(app).await;
    let no = o.order_no.clone();
    match status {
        OrderStatus::Pending => {}
        OrderStatus::Reviewing => drop(env.p.take(&no, "r").await.expect("take")),
        OrderStatus::Completed => {
            env.p.take(&no, "r").await.expect("take");
            env.p
                .approve(&no, "r", approval("R"))
                .await
                .expect("approve");
        }
        OrderStatus::Rejected => {
            env.p.take(&no, "r").await.expect("take");
            env.p.reject(&no, "r", "no").await.expect("reject");
        }
        OrderStatus::Cancelled => drop(env.p.cancel(app, &no).await.expect("cancel")),
    }
    no
}

async fn try_action(
    env: &Env,
    app: &platform::App,
    no: &str,
    action: Action,
) -> Result<(), PlatformError> {
    let r = match action {
        Action::Submit => return Ok(()),
        Action::Take => env.p.take(no, "x").await,
        Action::Approve => env.p.approve(no, "x", approval("R")).await,
        Action::Reject => env.p.reject(no, "x", "why").await,
        Action::Resubmit => {
            let pic = env.pic(app).await;
            env.p.resubmit(app, no, submission(&pic.pic_id)).await
        }
        Action::Cancel => env.p.cancel(app, no).await,
        Action::Release => env.p.release(no, "x").await,
    };
    r.map(|_| ())
}

both_backends! {
    #[tokio::test]
    async fn every_refused_transition_is_wrong_state_and_writes_nothing() {
        let env = env().await;
        let app = env.app(1_000_000, false).await;
        let mut refused = 0;
        for status in OrderStatus::ALL {
            for action in Action::ALL {
                if action == Action::Submit
                    || platform::order::next_status(Some(status), action).is_some()
                {
                    continue;
                }
                let no = order_in(&env, &app, status).await;
                let before = rows(&env, &no).await;
                let balance = env.balance(&app).await;
                match try_action(&env, &app, &no, action).await {
                    Err(PlatformError::WrongState {
                        order_no,
                        status: s,
                        action: a,
                    }) => {
                        assert_eq!((order_no.as_str(), s, a), (no.as_str(), status, action));
                    }
                    other => panic!("{status:?} {action:?}: {other:?}"),
                }
                assert_eq!(rows(&env, &no).await, before, "{status:?} {action:?}");
                assert_eq!(env.balance(&app).await, balance);
                assert_eq!(env.p.order(&no).await.expect("order").status, status);
                refused += 1;
            }
        }
        assert_eq!(refused, 5 * 6 - 6, "30 pairs minus the 6 allowed ones");
    }
}

both_backends! {
    #[tokio::test]
    async fn a_failing_outbox_insert_rolls_the_whole_transition_back() {
        let env = env().await;
        let app = env.app(10_000, false).await;
        let a = env.submit(&app).await;
        let b = env.submit(&app).await;
        env.p.take(&a.order_no, "r").await.expect("take a");
        let taken = env
            .p
            .callbacks(&CallbackFilter::default())
            .await
            .expect("cbs");
        // Hand-build b's take with a webhook_id that is already used: the outbox insert fails.
        let mut order = b.clone();
        order.status = OrderStatus::Reviewing;
        let t = platform::repo::Transition {
            event: platform::OrderEvent {
                order_no: b.order_no.clone(),
                from: Some(OrderStatus::Pending),
                to: OrderStatus::Reviewing,
                action: Action::Take,
                actor: "r".into(),
                note: None,
                at: env.p.now(),
            },
            callback: Some(platform::callback::NewCallback {
                webhook_id: taken[0].webhook_id.clone(),
                notice_url: b.notice_url.clone(),
                payload: Default::default(),
            }),
            order,
            from: OrderStatus::Pending,
            charge_fen: None,
            use_pic: false,
            reserve: false,
        };
        assert!(matches!(
            env.p.repo().apply(&t).await,
            Err(PlatformError::Db(_))
        ));
        assert_eq!(
            env.p.order(&b.order_no).await.expect("b").status,
            OrderStatus::Pending
        );
        assert_eq!(rows(&env, &b.order_no).await, (1, 0, 0));
    }
}

both_backends! {
    #[tokio::test]
    async fn a_second_charge_is_refused_by_the_database() {
        let env = env().await;
        let app = env.app(10_000, false).await;
        let no = order_in(&env, &app, OrderStatus::Completed).await;
        // A transition that would charge again (bypassing the state machine) fails whole.
        let order = env.p.order(&no).await.expect("order");
        let t = platform::repo::Transition {
            event: platform::OrderEvent {
                order_no: no.clone(),
                from: Some(OrderStatus::Completed),
                to: OrderStatus::Completed,
                action: Action::Approve,
                actor: "evil".into(),
                note: None,
                at: env.p.now(),
            },
            order,
            from: OrderStatus::Completed,
            callback: None,
            charge_fen: Some(PRICE),
            use_pic: false,
            reserve: false,
        };
        let err = env.p.repo().apply(&t).await.expect_err("second charge");
        assert!(matches!(err, PlatformError::Conflict(_)), "{err:?}");
        assert_eq!(rows(&env, &no).await, (3, 2, 1));
        assert_eq!(env.balance(&app).await, 10_000 - PRICE);
    }
}

both_backends! {
    #[tokio::test]
    async fn concurrent_double_approve_charges_exactly_once() {
        let env = env().await;
        let app = env.app(100_000, false).await;
        for _ in 0..5 {
            let no = order_in(&env, &app, OrderStatus::Reviewing).await;
            let (a, b) = tokio::join!(
                env.p.approve(&no, "alice", approval("A")),
                env.p.approve(&no, "bob", approval("B"))
            );
            let oks = [a.is_ok(), b.is_ok()].iter().filter(|x| **x).count();
            assert_eq!(oks, 1, "{a:?} {b:?}");
            let loser = if a.is_ok() { b } else { a };
            assert!(matches!(
                loser,
                Err(PlatformError::WrongState {
                    status: OrderStatus::Completed,
                    ..
                })
            ));
            assert_eq!(rows(&env, &no).await.2, 1);
            // The loser's receipt blob was removed again.
            let files = env
                .p
                .blobs()
                .list(&format!("order/{no}"))
                .await
                .expect("list");
            assert_eq!(files.len(), 1, "{files:?}");
        }
        assert_eq!(env.balance(&app).await, 100_000 - 5 * PRICE);
    }
}

both_backends! {
    #[tokio::test]
    async fn sandbox_apps_are_never_checked_nor_charged() {
        let env = env().await;
        let app = env.app(0, true).await;
        let no = order_in(&env, &app, OrderStatus::Completed).await;
        assert_eq!(rows(&env, &no).await.2, 0);
        assert_eq!(env.balance(&app).await, 0);
        assert_eq!(
            env.count("ledger", &format!("app_id = {}", app.app_id))
                .await,
            0
        );
    }
}

both_backends! {
    #[tokio::test]
    async fn fifty_concurrent_submits_get_fifty_order_numbers_and_one_charge_each() {
        let env = env().await;
        let app = env.app(50 * PRICE, false).await;
        let mut pics = Vec::new();
        for _ in 0..50 {
            pics.push(env.pic(&app).await);
        }
        let subs = pics
            .iter()
            .map(|pic| env.p.submit(&app, submission(&pic.pic_id)));
        let orders: Vec<_> = futures::future::join_all(subs)
            .await
            .into_iter()
            .collect::<Result<_, _>>()
            .expect("all accepted");
        let nos: HashSet<_> = orders.iter().map(|o| o.order_no.clone()).collect();
        assert_eq!(nos.len(), 50);
        let mut sorted: Vec<_> = orders.iter().map(|o| o.order_no.clone()).collect();
        sorted.sort();
        assert!(
            sorted.iter().all(|n| n.starts_with("20250303100000")),
            "China time: {sorted:?}"
        );
        for o in &orders {
            env.p.take(&o.order_no, "r").await.expect("take");
        }
        // Approve every order twice at once.
        let approvals = orders.iter().flat_map(|o| {
            [
                env.p.approve(&o.order_no, "a", approval("A")),
                env.p.approve(&o.order_no, "b", approval("B")),
            ]
        });
        let results = futures::future::join_all(approvals).await;
        assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 50);
        assert_eq!(env.count("ledger", "kind = 'charge'").await, 50);
        assert_eq!(env.balance(&app).await, 0);
    }
}

both_backends! {
    #[tokio::test]
    async fn balance_is_reserved_at_submit_and_released_by_cancel_or_reject() {
        let env = env().await;
        let app = env.app(2 * PRICE, false).await;
        let a = env.submit(&app).await;
        let b = env.submit(&app).await;
        let pic = env.pic(&app).await;
        let err = env
            .p
            .submit(&app, submission(&pic.pic_id))
            .await
            .expect_err("third");
        assert!(
            matches!(
                err,
                PlatformError::InsufficientBalance {
                    available_fen: 0,
                    price_fen: PRICE
                }
            ),
            "{err:?}"
        );
        assert_eq!(
            env.p
                .repo()
                .pic(&pic.pic_id)
                .await
                .expect("pic")
                .expect("kept")
                .used_by,
            None
        );
        env.p.cancel(&app, &a.order_no).await.expect("cancel");
        let c = env
            .p
            .submit(&app, submission(&pic.pic_id))
            .await
            .expect("fits again");
        env.p.take(&b.order_no, "r").await.expect("take");
        env.p
            .reject(&b.order_no, "r", "dark")
            .await
            .expect("reject");
        // b no longer holds balance; a resubmit must fit again: it does (c holds 700 of 1400).
        let pic2 = env.pic(&app).await;
        env.p
            .resubmit(&app, &b.order_no, submission(&pic2.pic_id))
            .await
            .expect("resubmit");
        // Now both hold the whole balance; print-and-mail on a new order does not fit.
        let pic3 = env.pic(&app).await;
        let mut sub = submission(&pic3.pic_id);
        sub.is_print = true;
        sub.print_param = Some(print_param());
        let err = env.p.submit(&app, sub).await.expect_err("no room");
        assert!(
            matches!(err, PlatformError::InsufficientBalance { price_fen, .. } if price_fen == PRICE + PRINT_PRICE)
        );
        env.p
            .topup(app.app_id, PRICE + PRINT_PRICE, "cli")
            .await
            .expect("topup");
        let mut sub = submission(&pic3.pic_id);
        sub.is_print = true;
        sub.print_param = Some(print_param());
        let printed = env.p.submit(&app, sub).await.expect("fits after top-up");
        assert_eq!(printed.price_fen, PRICE + PRINT_PRICE);
        let info = env.p.user_info(&app).await.expect("info");
        assert_eq!(info.available_fen, 0);
        assert_eq!(info.orders.get(OrderStatus::Pending), 3);
        assert_eq!(info.orders.get(OrderStatus::Cancelled), 1);
        assert_eq!(c.status, OrderStatus::Pending);
    }
}

both_backends! {
    #[tokio::test]
    async fn pics_must_exist_be_fresh_unused_and_the_apps_own() {
        let env = env().await;
        let app = env.app(10_000, false).await;
        let other = env.app(10_000, false).await;
        let pic = env.pic(&app).await;

        let err = env
            .p
            .submit(&other, submission(&pic.pic_id))
            .await
            .expect_err("foreign");
        assert!(matches!(err, PlatformError::PicForeign(_)), "{err:?}");
        let err = env
            .p
            .submit(&app, submission("999999999999"))
            .await
            .expect_err("unknown");
        assert!(matches!(err, PlatformError::PicNotFound(_)), "{err:?}");

        env.clock.advance(TimeDelta::minutes(50));
        let err = env
            .p
            .submit(&app, submission(&pic.pic_id))
            .await
            .expect_err("expired");
        assert!(matches!(err, PlatformError::PicExpired(_)), "{err:?}");

        let fresh = env.pic(&app).await;
        env.clock.advance(TimeDelta::minutes(49));
        let o = env
            .p
            .submit(&app, submission(&fresh.pic_id))
            .await
            .expect("49 min is fine");
        let err = env
            .p
            .submit(&app, submission(&fresh.pic_id))
            .await
            .expect_err("used");
        assert!(matches!(err, PlatformError::PicUsed { ref order_no, .. } if *order_no == o.order_no));
        assert_eq!(env.count("orders", "").await, 1);
    }
}

both_backends! {
    #[tokio::test]
    async fn submit_checks_url_item_and_print_param() {
        let env = env().await;
        let app = env.app(100_000, false).await;
        let pic = env.pic(&app).await;
        let bad_url = Submission {
            notice_url: "ftp://shop/".into(),
            ..submission(&pic.pic_id)
        };
        assert!(matches!(
            env.p.submit(&app, bad_url).await,
            Err(PlatformError::InvalidNoticeUrl(_))
        ));
        let no_print = Submission {
            is_print: true,
            ..submission(&pic.pic_id)
        };
        let err = env.p.submit(&app, no_print).await.expect_err("print_param");
        assert!(matches!(err, PlatformError::BadField { ref field, .. } if field == "print_param"));
        let not_object = Submission {
            params: serde_json::json!([1]),
            ..submission(&pic.pic_id)
        };
        assert!(matches!(
            env.p.submit(&app, not_object).await,
            Err(PlatformError::Param(_))
        ));

        let unknown = env.pic_of(&app, 4242).await;
        let err = env
            .p
            .submit(&app, submission(&unknown.pic_id))
            .await
            .expect_err("item");
        assert!(matches!(err, PlatformError::ItemUnknown(4242)));
        let plain = env.pic_of(&app, ITEM_NO_PRINT).await;
        let sub = Submission {
            is_print: true,
            print_param: Some(print_param()),
            ..submission(&plain.pic_id)
        };
        assert!(matches!(
            env.p.submit(&app, sub).await,
            Err(PlatformError::PrintUnavailable(_))
        ));
        assert_eq!(env.count("orders", "").await, 0);
    }
}

both_backends! {
    #[tokio::test]
    async fn merchants_see_and_touch_only_their_own_orders() {
        let env = env().await;
        let app = env.app(10_000, false).await;
        let other = env.app(10_000, false).await;
        let o = env.submit(&app).await;
        let err = env.p.query(&other, &o.order_no).await.expect_err("foreign");
        assert!(matches!(err, PlatformError::OrderNotFound(_)));
        let err = env
            .p
            .cancel(&other, &o.order_no)
            .await
            .expect_err("foreign");
        assert!(matches!(err, PlatformError::OrderNotFound(_)));
        assert!(matches!(
            env.p.query(&app, "123").await,
            Err(PlatformError::OrderNotFound(_))
        ));
        let detail = env.p.query(&app, &o.order_no).await.expect("own");
        assert_eq!(detail.pic.map(|p| p.photos.len()), Some(2));
        assert_eq!(
            detail.order.sla_due_at - detail.order.submitted_at,
            TimeDelta::minutes(15)
        );
    }
}

both_backends! {
    #[tokio::test]
    async fn order_lists_filter_by_status() {
        let env = env().await;
        let app = env.app(100_000, false).await;
        let a = order_in(&env, &app, OrderStatus::Pending).await;
        env.clock.advance(TimeDelta::seconds(1));
        let b = order_in(&env, &app, OrderStatus::Reviewing).await;
        env.clock.advance(TimeDelta::seconds(1));
        let c = order_in(&env, &app, OrderStatus::Pending).await;
        let f = platform::OrderFilter {
            status: Some(OrderStatus::Pending),
            oldest_first: true,
            ..Default::default()
        };
        let pending: Vec<_> = env
            .p
            .orders(&f)
            .await
            .expect("list")
            .into_iter()
            .map(|o| o.order_no)
            .collect();
        assert_eq!(pending, [a.clone(), c.clone()]);
        let all: Vec<_> = env
            .p
            .orders(&Default::default())
            .await
            .expect("all")
            .into_iter()
            .map(|o| o.order_no)
            .collect();
        assert_eq!(all, [c, b, a]);
    }
}
