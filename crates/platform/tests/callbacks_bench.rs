//! Callbacks delivered per second to a local receiver, SQLite, one worker (bench/callbacks.sh).
//! Ignored by default: `cargo test -p platform --test callbacks_bench -- --ignored --nocapture`.
//! CALLBACK_BENCH_N (default 5000) callbacks of distinct orders are due at once; the time runs
//! from the worker's start to the last one recorded as succeeded.

mod callbacks_env;

use callbacks_env::*;
use platform::{CallbackFilter, CallbackFormat, CallbackState, WorkerConfig};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A lean receiver: counts and answers the seed's acknowledgement.
async fn receiver() -> (String, Arc<AtomicU64>) {
    let hits = Arc::new(AtomicU64::new(0));
    let h = hits.clone();
    let app = axum::Router::new().fallback(move || {
        let h = h.clone();
        async move {
            h.fetch_add(1, Ordering::Relaxed);
            (
                [("content-type", "application/json")],
                r#"{"data":{},"code":0,"msg":"同步完成"}"#,
            )
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/notify", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, hits)
}

/// One real order and callback, then `n - 1` copies of both (distinct orders), in SQL.
async fn preload(env: &Env, url: &str, n: u32) {
    let (app, _) = env.app(CallbackFormat::Form).await;
    let o = env.order(&app, url).await;
    env.p.take(&o.order_no, "r").await.expect("take");
    let db = SqlitePool::connect_with(
        SqliteConnectOptions::new().filename(env.dir.path().join("photoreceipt.db")),
    )
    .await
    .expect("db");
    let seq = "WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < ?)";
    sqlx::query(&format!(
        "{seq} INSERT INTO orders (order_no, app_id, pic_id, item_id, status, notice_url,
            params, param_files, is_print, price_fen, sla_due_at, submitted_at, updated_at)
         SELECT printf('9%019d', i), app_id, pic_id, item_id, status, notice_url, params,
            param_files, is_print, price_fen, sla_due_at, submitted_at, updated_at
         FROM orders, seq WHERE order_no = ?"
    ))
    .bind(n - 1)
    .bind(&o.order_no)
    .execute(&db)
    .await
    .expect("orders");
    sqlx::query(&format!(
        "{seq} INSERT INTO callbacks (webhook_id, order_no, app_id, status, notice_url, target,
            payload, state, attempts, next_attempt_at, created_at, updated_at)
         SELECT 'msg_bench' || i, printf('9%019d', i), app_id, status, notice_url, target,
            payload, state, attempts, next_attempt_at, created_at, updated_at
         FROM callbacks, seq WHERE order_no = ?"
    ))
    .bind(n - 1)
    .bind(&o.order_no)
    .execute(&db)
    .await
    .expect("callbacks");
    db.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: bench/callbacks.sh"]
async fn callbacks_per_second_to_a_local_receiver() {
    let n: u32 = std::env::var("CALLBACK_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000);
    let env = env().await;
    let (url, hits) = receiver().await;
    preload(&env, &url, n).await;
    let config = WorkerConfig {
        per_host: 64,
        concurrency: 64,
        ..WorkerConfig::default()
    };
    let started = Instant::now();
    let w = start(&env.p, config);
    let succeeded = CallbackFilter {
        state: Some(CallbackState::Succeeded),
        limit: n + 1,
        ..Default::default()
    };
    loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if hits.load(Ordering::Relaxed) >= u64::from(n) {
            let done = env.p.callbacks(&succeeded).await.expect("cbs").len();
            if done >= n as usize {
                break;
            }
        }
        assert!(started.elapsed() < Duration::from_secs(300), "too slow");
    }
    let elapsed = started.elapsed();
    let report = w.stop().await;
    assert_eq!(report.succeeded, u64::from(n));
    assert_eq!(
        hits.load(Ordering::Relaxed),
        u64::from(n),
        "each exactly once"
    );
    let rate = f64::from(n) / elapsed.as_secs_f64();
    println!(
        "callbacks: {n} delivered in {:.2} s = {rate:.0}/s (SQLite, one worker, concurrency 64, \
         {} cores)",
        elapsed.as_secs_f64(),
        std::thread::available_parallelism().map_or(0, |c| c.get())
    );
}
