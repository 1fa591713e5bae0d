//! A make's pic is begun before the engine runs (row closed, upload being written) and
//! finished or abandoned after it.

mod common;

use bytes::Bytes;
use chrono::TimeDelta;
use common::*;
use platform::{NewPic, PicPlan, PlatformError, Settings};
use serde_json::json;

fn plan(original: &'static [u8]) -> PicPlan {
    PicPlan {
        item_id: ITEM,
        colours: vec!["white".into(), "blue".into()],
        png: true,
        print_sheet: false,
        original: Bytes::from_static(original),
    }
}

fn made() -> NewPic {
    NewPic {
        item_id: ITEM,
        photos: vec![
            ("white".into(), jpeg(b"white")),
            ("blue".into(), jpeg(b"blue")),
        ],
        original: None,
        transparent_png: Some(Bytes::from_static(b"\x89PNG\r\n\x1a\npng")),
        print_sheet: None,
        checks: json!({"ok": true}),
    }
}

both_backends! {
    #[tokio::test]
    async fn a_begun_pic_cannot_be_submitted_until_finished() {
        let env = env().await;
        let app = env.app(10_000, false).await;
        let pending = env.p.begin_pic(&app, plan(b"\xFF\xD8\xFForiginal")).await.expect("begin");
        let pic_id = pending.pic_id().to_string();
        let early = env.p.submit(&app, submission(&pic_id)).await;
        assert!(matches!(early, Err(PlatformError::PicExpired(_))), "{early:?}");
        let pic = env.p.finish_pic(pending, made()).await.expect("finish");
        assert_eq!(pic.checks, json!({"ok": true}));
        assert_eq!(pic.blob_keys().len(), 4, "two colours, original, png");
        for key in pic.blob_keys() {
            assert!(env.blob_file(&key).is_file(), "{key}");
        }
        assert_eq!(env.p.blob(pic.original_key.as_deref().unwrap()).await.unwrap(),
            Bytes::from_static(b"\xFF\xD8\xFForiginal"));
        let stored = env.p.repo().pic(&pic_id).await.expect("q").expect("row");
        assert_eq!(stored, pic);
        env.p.submit(&app, submission(&pic_id)).await.expect("submit once finished");
    }

    #[tokio::test]
    async fn an_abandoned_pic_leaves_nothing() {
        let env = env().await;
        let app = env.app(10_000, false).await;
        let pending = env.p.begin_pic(&app, plan(b"\xFF\xD8\xFForiginal")).await.expect("begin");
        let pic_id = pending.pic_id().to_string();
        let pic = env.p.repo().pic(&pic_id).await.expect("q").expect("row while pending");
        env.p.abandon_pic(pending).await.expect("abandon");
        assert!(env.p.repo().pic(&pic_id).await.expect("q").is_none());
        for key in pic.blob_keys() {
            assert!(!env.blob_file(&key).exists(), "{key}");
        }
    }

    #[tokio::test]
    async fn a_make_that_never_ends_is_swept_by_retention() {
        let settings = Settings {
            pic_grace: TimeDelta::minutes(10),
            ..Settings::default()
        };
        let env = env_with(settings).await;
        let app = env.app(10_000, false).await;
        let pending = env.p.begin_pic(&app, plan(b"\xFF\xD8\xFForiginal")).await.expect("begin");
        let pic_id = pending.pic_id().to_string();
        // The process dies here: the pending pic is dropped, its upload written.
        drop(pending);
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let row = env.p.repo().pic(&pic_id).await.expect("q").expect("row");
        let original = row.original_key.clone().expect("original key");
        assert!(env.blob_file(&original).is_file());
        env.clock.advance(TimeDelta::minutes(11));
        let r = env.p.run_retention(env.p.now()).await.expect("run");
        assert_eq!(r.pics_deleted, 1);
        assert!(env.p.repo().pic(&pic_id).await.expect("q").is_none());
        assert!(!env.blob_file(&original).exists());
    }

    #[tokio::test]
    async fn a_make_unlike_its_plan_is_refused_and_removed() {
        let env = env().await;
        let app = env.app(10_000, false).await;
        let pending = env.p.begin_pic(&app, plan(b"\xFF\xD8\xFForiginal")).await.expect("begin");
        let pic_id = pending.pic_id().to_string();
        let mut other = made();
        other.photos.pop();
        let err = env.p.finish_pic(pending, other).await.expect_err("refused");
        assert!(matches!(err, PlatformError::Invalid(_)), "{err:?}");
        assert!(env.p.repo().pic(&pic_id).await.expect("q").is_none());
    }
}
