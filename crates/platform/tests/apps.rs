//! Apps, keys and the ledger.

mod common;

use common::*;
use platform::{LedgerKind, NewApp, PlatformError};

both_backends! {
    #[tokio::test]
    async fn keys_are_stored_hashed_and_authenticate() {
        let env = env().await;
        let issued = env
            .p
            .create_app(NewApp {
                name: "Studio".into(),
                balance_fen: 12_345,
                ..Default::default()
            })
            .await
            .expect("create");
        let key = issued.key.clone();
        assert!(key.starts_with("pr_live_"));
        assert_eq!(issued.app.sign, platform::app::key_sign(&key));
        assert!(issued.app.webhook_secret.starts_with("whsec_"));

        let app = env.p.authenticate(&key).await.expect("auth");
        assert_eq!(app.app_id, issued.app.app_id);
        assert!(matches!(
            env.p.authenticate("pr_live_nope").await,
            Err(PlatformError::KeyInvalid)
        ));
        assert!(matches!(
            env.p.authenticate("").await,
            Err(PlatformError::KeyInvalid)
        ));

        if let TestDb::Postgres(_) = env.db {
            // No column of the app's row holds the key; one holds its hash.
            let rows_with = |s: &str| format!("SELECT COUNT(*) FROM apps a WHERE a::text LIKE '%{s}%'");
            assert_eq!(env.db.scalar(&rows_with(&app.key_hash)).await, 1, "the hash is stored");
            assert_eq!(env.db.scalar(&rows_with(&key[8..])).await, 0, "the key is not");
            return;
        }
        // Neither the database nor its WAL holds the key; they do hold its hash.
        let mut all = Vec::new();
        for entry in std::fs::read_dir(env.dir.path()).expect("dir") {
            let path = entry.expect("entry").path();
            if path.is_file() {
                all.extend(std::fs::read(&path).expect("read"));
            }
        }
        let has = |needle: &str| all.windows(needle.len()).any(|w| w == needle.as_bytes());
        assert!(has(&app.key_hash), "the hash is stored");
        assert!(!has(&key), "the key is not");
        assert!(!has(&key[8..]), "nor its random part");
    }
}

both_backends! {
    #[tokio::test]
    async fn rotation_replaces_key_and_sign_and_disable_refuses_the_key() {
        let env = env().await;
        let first = env
            .p
            .create_app(NewApp {
                name: "S".into(),
                sandbox: true,
                ..Default::default()
            })
            .await
            .expect("create");
        assert!(first.key.starts_with("pr_test_"));
        let second = env.p.rotate_key(first.app.app_id).await.expect("rotate");
        assert!(second.key.starts_with("pr_test_"));
        assert_ne!(second.key, first.key);
        assert_eq!(second.app.sign, platform::app::key_sign(&second.key));
        assert_ne!(second.app.sign, first.app.sign);
        assert!(matches!(
            env.p.authenticate(&first.key).await,
            Err(PlatformError::KeyInvalid)
        ));
        assert_eq!(
            env.p.authenticate(&second.key).await.expect("new key").sign,
            second.app.sign
        );

        env.p
            .set_disabled(first.app.app_id, true)
            .await
            .expect("disable");
        assert!(matches!(
            env.p.authenticate(&second.key).await,
            Err(PlatformError::AppDisabled(_))
        ));
        env.p
            .set_disabled(first.app.app_id, false)
            .await
            .expect("enable");
        assert!(env.p.authenticate(&second.key).await.is_ok());
        assert!(matches!(
            env.p.rotate_key(999).await,
            Err(PlatformError::AppNotFound(999))
        ));
    }
}

both_backends! {
    #[tokio::test]
    async fn topups_and_charges_go_through_the_ledger() {
        let env = env().await;
        let app = env.app(1_000, false).await;
        let e = env.p.topup(app.app_id, 500, "cli").await.expect("topup");
        assert_eq!(
            (e.kind, e.amount_fen, e.balance_after),
            (LedgerKind::Topup, 500, 1_500)
        );
        assert!(matches!(
            env.p.topup(app.app_id, 0, "cli").await,
            Err(PlatformError::Invalid(_))
        ));
        assert!(matches!(
            env.p.topup(77, 100, "cli").await,
            Err(PlatformError::AppNotFound(77))
        ));

        let o = env.submit(&app).await;
        env.p.take(&o.order_no, "r").await.expect("take");
        let a = platform::Approval {
            receipt_no: "R".into(),
            ..Default::default()
        };
        env.p.approve(&o.order_no, "r", a).await.expect("approve");
        let ledger = env.p.ledger(app.app_id, 0).await.expect("ledger");
        let kinds: Vec<_> = ledger
            .iter()
            .map(|e| (e.kind, e.amount_fen, e.balance_after))
            .collect();
        assert_eq!(
            kinds,
            [
                (LedgerKind::Charge, -PRICE, 1_500 - PRICE),
                (LedgerKind::Topup, 500, 1_500),
                (LedgerKind::Topup, 1_000, 1_000),
            ]
        );
        assert_eq!(ledger[0].order_no.as_deref(), Some(o.order_no.as_str()));
        let sum: i64 = ledger.iter().map(|e| e.amount_fen).sum();
        assert_eq!(sum, env.balance(&app).await);
    }
}

both_backends! {
    #[tokio::test]
    async fn app_names_must_be_given() {
        let env = env().await;
        let err = env
            .p
            .create_app(NewApp {
                name: "  ".into(),
                ..Default::default()
            })
            .await;
        assert!(matches!(err, Err(PlatformError::Invalid(_))));
        assert_eq!(env.p.apps().await.expect("apps").len(), 0);
    }
}
