//! The SSRF guard: internal targets are refused at submit, and again at delivery (where DNS
//! or the configuration may have changed since), unless allowed by CIDR.

mod callbacks_env;

use callbacks_env::*;
use platform::{
    CallbackFilter, CallbackFormat, CallbackPolicy, CallbackState, PlatformError, Settings,
};
use std::time::Duration;

/// The four classic targets, each with a port of the test receiver where it matters.
fn targets(port: u16) -> Vec<String> {
    vec![
        "http://10.0.0.1/notify".to_string(),
        "http://169.254.169.254/latest/meta-data/".to_string(),
        format!("http://[::1]:{port}/notify"),
        format!("http://localhost:{port}/notify"),
    ]
}

both_backends! {
    #[tokio::test]
    async fn internal_notice_urls_are_refused_at_submit_with_a_clear_error() {
        let env = env_with(Settings::default()).await;
        let (app, _) = env.app(CallbackFormat::Form).await;
        for url in targets(8080) {
            let err = env.try_order(&app, &url).await.expect_err(&url);
            let PlatformError::NoticeUrlRefused(why) = &err else {
                panic!("{url}: expected NoticeUrlRefused, got {err:?}");
            };
            assert!(
                why.contains("public addresses"),
                "{url}: the reason names the rule: {why}"
            );
        }
        // A public literal passes; so does a name that does not resolve right now.
        env.order(&app, "http://93.184.215.14/notify").await;
        env.order(&app, "https://shop.example/notify").await;
    }
}

both_backends! {
    #[tokio::test]
    async fn the_allow_list_admits_its_ranges_only() {
        let settings = Settings {
            callbacks: CallbackPolicy::parse_allow(&["127.0.0.0/8"]).expect("cidr"),
            ..Settings::default()
        };
        let env = env_with(settings).await;
        let (app, _) = env.app(CallbackFormat::Form).await;
        env.order(&app, "http://127.0.0.1:9/x").await;
        let err = env
            .try_order(&app, "http://10.0.0.1/x")
            .await
            .expect_err("private");
        assert!(matches!(err, PlatformError::NoticeUrlRefused(_)), "{err:?}");
    }
}

both_backends! {
    #[tokio::test]
    async fn internal_targets_are_refused_again_at_delivery() {
        // Submitted while everything was allowed (as if DNS said otherwise back then)...
        let open = Settings {
            callbacks: CallbackPolicy::parse_allow(&["0.0.0.0/0", "::/0"]).expect("cidrs"),
            ..Settings::default()
        };
        let env = env_with(open).await;
        let rx = Receiver::start().await;
        let (app, _) = env.app(CallbackFormat::Form).await;
        let mut urls = targets(rx.addr.port());
        urls.push(rx.url("/loopback-literal"));
        for url in &urls {
            let o = env.order(&app, url).await;
            env.p.take(&o.order_no, "r").await.expect("take");
        }
        // ...delivered by a worker whose policy allows nothing internal.
        let strict = env.reopen(Settings::default()).await;
        let w = start(&strict, quick("1s"));
        tokio::time::sleep(Duration::from_millis(800)).await;
        let report = w.stop().await;
        assert!(rx.got().is_empty(), "nothing reached the receiver");
        assert_eq!(report.attempts, urls.len() as u64);
        let cbs = strict
            .callbacks(&CallbackFilter::default())
            .await
            .expect("cbs");
        for cb in &cbs {
            assert_eq!(cb.state, CallbackState::Pending, "retried later");
            let attempts = strict.callback_attempts(cb.id).await.expect("attempts");
            let error = attempts[0].error.clone().unwrap_or_default();
            assert!(
                error.starts_with("refused:") && error.contains("public addresses"),
                "{}: {error}",
                cb.notice_url
            );
            assert_eq!(attempts[0].http_status, None);
        }
    }
}

both_backends! {
    #[tokio::test]
    async fn a_name_resolving_to_loopback_is_refused_by_the_resolver_itself() {
        // `localhost` is not an IP literal: only the guarded DNS resolver can catch it.
        let env = env_with(Settings {
            callbacks: CallbackPolicy::parse_allow(&["127.0.0.0/8", "::1"]).expect("cidrs"),
            ..Settings::default()
        })
        .await;
        let rx = Receiver::start().await;
        let (app, _) = env.app(CallbackFormat::Form).await;
        let o = env
            .order(&app, &format!("http://localhost:{}/named", rx.addr.port()))
            .await;
        env.p.take(&o.order_no, "r").await.expect("take");

        // Allowed: it arrives.
        let w = start(&env.p, quick("1s"));
        rx.wait_for(1, Duration::from_secs(10)).await;
        w.stop().await;

        // Not allowed: refused at connection time.
        let o = env
            .order(&app, &format!("http://localhost:{}/named", rx.addr.port()))
            .await;
        env.p.take(&o.order_no, "r").await.expect("take");
        let strict = env.reopen(Settings::default()).await;
        let w = start(&strict, quick("1s"));
        tokio::time::sleep(Duration::from_millis(600)).await;
        w.stop().await;
        assert_eq!(rx.got().len(), 1, "the second one never arrived");
        let cbs = strict
            .callbacks(&CallbackFilter {
                state: Some(CallbackState::Pending),
                ..Default::default()
            })
            .await
            .expect("pending");
        let attempts = strict.callback_attempts(cbs[0].id).await.expect("attempts");
        let error = attempts[0].error.clone().unwrap_or_default();
        assert!(
            error.contains("localhost") && error.contains("loopback"),
            "{error}"
        );
    }
}
