//! Retention deletes what it should and keeps what it should.

mod common;

use chrono::TimeDelta;
use common::*;
use platform::{Approval, OrderStatus, Settings};

both_backends! {
    #[tokio::test]
    async fn unsubmitted_pics_go_after_ttl_plus_grace() {
        let settings = Settings {
            pic_ttl: TimeDelta::minutes(50),
            pic_grace: TimeDelta::minutes(10),
            ..Settings::default()
        };
        let env = env_with(settings).await;
        let app = env.app(10_000, false).await;
        let old = env.pic(&app).await;
        let submitted = env.pic(&app).await;
        env.p
            .submit(&app, submission(&submitted.pic_id))
            .await
            .expect("submit");
        env.clock.advance(TimeDelta::minutes(30));
        let young = env.pic(&app).await;
        for key in old.blob_keys() {
            assert!(env.blob_file(&key).is_file(), "{key}");
        }
        assert_eq!(old.blob_keys().len(), 4, "two colours, original, png");

        // 55 min after make: expired, but still within the grace.
        env.clock.advance(TimeDelta::minutes(25));
        let r = env.p.run_retention(env.p.now()).await.expect("run");
        assert_eq!(r.pics_deleted, 0);

        // 61 min: past TTL + grace.
        env.clock.advance(TimeDelta::minutes(6));
        let r = env.p.run_retention(env.p.now()).await.expect("run");
        assert_eq!((r.pics_deleted, r.blobs_deleted), (1, 4));
        assert!(env.p.repo().pic(&old.pic_id).await.expect("q").is_none());
        for key in old.blob_keys() {
            assert!(!env.blob_file(&key).exists(), "{key} deleted");
        }
        assert!(env.p.repo().pic(&young.pic_id).await.expect("q").is_some());
        assert!(
            env.p
                .repo()
                .pic(&submitted.pic_id)
                .await
                .expect("q")
                .is_some(),
            "submitted pics stay"
        );
        assert!(env.blob_file(&submitted.blob_keys()[0]).is_file());
        let again = env.p.run_retention(env.p.now()).await.expect("again");
        assert_eq!(again.pics_deleted, 0);
    }
}

both_backends! {
    #[tokio::test]
    async fn finished_orders_lose_photos_and_personal_data_after_n_days() {
        let env = env_with(Settings::default().with_retention_days(30)).await;
        let app = env.app(100_000, false).await;

        // An order rejected once, resubmitted, then completed: two pics, a receipt.
        let done = env.submit(&app).await;
        let first_pic = done.pic_id.clone();
        env.p.take(&done.order_no, "r").await.expect("take");
        env.p
            .reject(&done.order_no, "r", "blurred")
            .await
            .expect("reject");
        let pic2 = env.pic(&app).await;
        env.p
            .resubmit(&app, &done.order_no, submission(&pic2.pic_id))
            .await
            .expect("resubmit");
        env.p.take(&done.order_no, "r").await.expect("take");
        let a = Approval {
            receipt_no: "R9".into(),
            receipt_image: Some(jpeg(b"r")),
            ..Default::default()
        };
        let done = env
            .p
            .approve(&done.order_no, "r", a)
            .await
            .expect("approve");
        let receipt = done.receipt_key.clone().expect("receipt");
        let cancelled = env.submit(&app).await;
        env.p
            .cancel(&app, &cancelled.order_no)
            .await
            .expect("cancel");
        let waiting = env.submit(&app).await; // pending: never purged

        env.clock.advance(TimeDelta::days(29));
        let recent = env.submit(&app).await;
        env.p
            .cancel(&app, &recent.order_no)
            .await
            .expect("cancel recent");
        let r = env.p.run_retention(env.p.now()).await.expect("day 29");
        assert_eq!(r.orders_purged, 0);
        assert!(env.blob_file(&receipt).is_file());

        env.clock
            .advance(TimeDelta::days(1) + TimeDelta::seconds(1));
        let r = env.p.run_retention(env.p.now()).await.expect("day 30");
        assert_eq!(r.orders_purged, 2, "{r:?}");

        let purged = env.p.order(&done.order_no).await.expect("order");
        assert_eq!(purged.status, OrderStatus::Completed);
        assert_eq!((purged.params, purged.receipt_key), (None, None));
        assert_eq!(
            purged.receipt_no.as_deref(),
            Some("R9"),
            "kept for the accounts"
        );
        assert!(purged.purged_at.is_some());
        assert!(!env.blob_file(&receipt).exists());
        for pic_id in [&first_pic, &pic2.pic_id] {
            assert!(
                env.p.repo().pic(pic_id).await.expect("q").is_none(),
                "{pic_id}"
            );
        }
        assert!(env
            .p
            .blobs()
            .list(&format!("order/{}", done.order_no))
            .await
            .expect("ls")
            .is_empty());
        assert_eq!(
            env.count("ledger", "kind = 'charge'").await,
            1,
            "money history stays"
        );

        let kept = env.p.order(&waiting.order_no).await.expect("waiting");
        assert!(kept.params.is_some() && kept.purged_at.is_none());
        assert!(env
            .p
            .repo()
            .pic(&waiting.pic_id)
            .await
            .expect("q")
            .is_some());
        let kept = env.p.order(&recent.order_no).await.expect("recent");
        assert!(kept.params.is_some());
        let again = env.p.run_retention(env.p.now()).await.expect("again");
        assert_eq!(again.orders_purged, 0);
    }
}
