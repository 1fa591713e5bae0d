//! Moving an install from SQLite to PostgreSQL: every row arrives unchanged (read back
//! through the repository on both sides), counts are checked, a second run changes nothing
//! and a run after more activity brings the new rows; new ids continue after the copied ones.

mod common;

use chrono::TimeDelta;
use common::*;
use platform::callback::CallbackAttempt;
use platform::operator::Role;
use platform::repo::copy::{check_counts, copy_sqlite_to_postgres, TABLES};
use platform::{Approval, CallbackFilter, OrderFilter, PostgresRepo, Repo, SqliteRepo};

/// An install with a bit of everything: apps, orders in several states with events,
/// callbacks and attempts, charges, pics, operators, sessions, the audit log, overrides.
async fn busy_install(env: &Env) {
    let app = env.app(100_000, false).await;
    let sandbox = env.app(0, true).await;
    for i in 0..6 {
        let o = env.submit(if i % 2 == 0 { &app } else { &sandbox }).await;
        if i >= 2 {
            env.p.take(&o.order_no, "rev").await.expect("take");
        }
        if i >= 4 {
            let a = Approval {
                receipt_no: format!("R{i}"),
                ..Default::default()
            };
            env.p.approve(&o.order_no, "rev", a).await.expect("approve");
        }
    }
    env.pic(&app).await;
    let cbs = env
        .p
        .callbacks(&CallbackFilter::default())
        .await
        .expect("cbs");
    let attempt = CallbackAttempt {
        callback_id: cbs[0].id,
        at: env.p.now(),
        http_status: Some(500),
        latency_ms: 12,
        response_head: "oops".into(),
        error: Some("HTTP 500".into()),
    };
    env.p.record_attempt(&attempt).await.expect("attempt");
    let (_, password) = env
        .p
        .create_operator("alice", Role::Admin, "setup")
        .await
        .expect("operator");
    env.p.login("alice", &password).await.expect("login");
    env.p.login("alice", "wrong").await.expect("failed login");
    env.p
        .set_spec_override(ITEM_NO_PRINT, Some(false), Some(900), "alice")
        .await
        .expect("override");
    env.p
        .hold_job("retention", env.p.now())
        .await
        .expect("lease");
}

/// Everything the repository reads, as text, for comparing two back-ends.
async fn dump(repo: &dyn Repo) -> Vec<String> {
    let mut out = Vec::new();
    for app in repo.apps().await.expect("apps") {
        out.push(format!("{app:?}"));
        out.push(format!(
            "{:?}",
            repo.ledger(app.app_id, 1000).await.expect("ledger")
        ));
    }
    let all = OrderFilter {
        limit: 1000,
        ..Default::default()
    };
    for o in repo.orders(&all).await.expect("orders") {
        out.push(format!("{o:?}"));
        out.push(format!(
            "{:?}",
            repo.order_events(&o.order_no).await.expect("ev")
        ));
        out.push(format!(
            "{:?}",
            repo.pics_of_order(&o.order_no).await.expect("pics")
        ));
    }
    let cbs = CallbackFilter {
        limit: 1000,
        ..Default::default()
    };
    for c in repo.callbacks(&cbs).await.expect("callbacks") {
        out.push(format!("{c:?}"));
        out.push(format!(
            "{:?}",
            repo.callback_attempts(c.id).await.expect("att")
        ));
    }
    out.push(format!("{:?}", repo.operators().await.expect("operators")));
    out.push(format!(
        "{:?}",
        repo.audit_log(None, 1000).await.expect("audit")
    ));
    out.push(format!(
        "{:?}",
        repo.spec_overrides().await.expect("overrides")
    ));
    out
}

#[tokio::test]
async fn an_install_moves_to_postgres_unchanged_and_the_copy_can_run_again() {
    let env = env().await;
    busy_install(&env).await;
    let TestDb::Sqlite(file) = env.db.clone() else {
        panic!("the source is SQLite")
    };
    let url = testpg::shared().new_database().expect("database");

    let first = copy_sqlite_to_postgres(&file, &url, |_| {})
        .await
        .expect("copy");
    check_counts(&first).expect("counts");
    assert_eq!(first.len(), TABLES.len());
    let n = |r: &[platform::repo::copy::TableCopy], t: &str| {
        r.iter().find(|c| c.table == t).expect(t).target_rows
    };
    assert_eq!(n(&first, "orders"), 6);
    assert_eq!(n(&first, "apps"), 2);
    assert!(n(&first, "callback_attempts") == 1 && n(&first, "operator_sessions") == 1);

    let source = SqliteRepo::open(&file).await.expect("sqlite");
    let target = PostgresRepo::open(&url).await.expect("postgres");
    assert_eq!(dump(&source).await, dump(&target).await);

    // Again: nothing changes.
    let second = copy_sqlite_to_postgres(&file, &url, |_| {})
        .await
        .expect("again");
    assert_eq!(second, first);
    assert_eq!(dump(&source).await, dump(&target).await);

    // The old install kept working; a third run brings the new rows and changes.
    let app = env.p.apps().await.expect("apps")[0].clone();
    let o = env.submit(&app).await;
    env.p.cancel(&app, &o.order_no).await.expect("cancel");
    env.clock.advance(TimeDelta::minutes(1));
    let third = copy_sqlite_to_postgres(&file, &url, |_| {})
        .await
        .expect("third");
    check_counts(&third).expect("counts");
    assert_eq!(n(&third, "orders"), 7);
    assert_eq!(dump(&source).await, dump(&target).await);

    // New rows on PostgreSQL get ids after the copied ones.
    let max_id: i64 = sqlx::query_scalar("SELECT MAX(app_id) FROM apps")
        .fetch_one(target.pool())
        .await
        .expect("max");
    let on_pg = TestDb::Postgres(url.clone())
        .open(
            env.dir.path(),
            Default::default(),
            std::sync::Arc::new(platform::FixedItems::new()),
        )
        .await;
    let fresh = on_pg
        .create_app(platform::NewApp {
            name: "New".into(),
            ..Default::default()
        })
        .await
        .expect("new app");
    assert_eq!(fresh.app.app_id, max_id + 1);
}

#[tokio::test]
async fn a_target_with_other_rows_is_reported() {
    let env = env().await;
    env.app(100, false).await;
    let TestDb::Sqlite(file) = env.db.clone() else {
        panic!("the source is SQLite")
    };
    let url = testpg::shared().new_database().expect("database");
    let other = TestDb::Postgres(url.clone())
        .open(
            env.dir.path(),
            Default::default(),
            std::sync::Arc::new(platform::FixedItems::new()),
        )
        .await;
    for name in ["x", "y"] {
        other
            .create_app(platform::NewApp {
                name: name.into(),
                ..Default::default()
            })
            .await
            .expect("app");
    }
    let report = copy_sqlite_to_postgres(&file, &url, |_| {})
        .await
        .expect("copy");
    let err = check_counts(&report)
        .expect_err("counts differ")
        .to_string();
    assert!(err.contains("apps (1 → 2)"), "{err}");
}
