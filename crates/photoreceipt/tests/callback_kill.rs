//! `kill -9` of the callback worker between attempts and in the middle of one, then a
//! restart: the callbacks still arrive, each exactly once after its success, in order.

mod callback_support;

use callback_support::callbacks_env::*;
use callback_support::*;
use platform::{CallbackFilter, CallbackFormat, CallbackState};
use serde_json::json;
use std::time::Duration;

/// The timeout and lease of the worker processes: a killed worker's claim is taken over
/// after 9 s (the least lease for a 2 s timeout).
const FLAGS: &[&str] = &["--callback-timeout", "2s", "--callback-lease", "9s"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_workers_lose_no_callback_and_repeat_none_after_success() {
    let env = env().await;
    let rx = Receiver::start().await;
    rx.script([
        Reply::json(500, json!({"code": 0})),
        // Never answered in time: the worker is killed while it waits.
        Reply::ok().after(Duration::from_secs(30)),
    ]);
    let (app, _) = env.app(CallbackFormat::Form).await;
    let o = env.order(&app, &rx.url("/kill")).await;
    env.complete(&o.order_no).await;
    let dir = env.dir.path();
    let first_cb = |state: CallbackState, attempts: i32| {
        let p = env.p.clone();
        async move {
            let cbs = p.callbacks(&CallbackFilter::default()).await.expect("cbs");
            cbs[0].state == state && cbs[0].attempts == attempts
        }
    };

    // 1st worker: attempt 1 gets a 500 and is recorded; killed while waiting to retry.
    let w = WorkerProcess::start(dir, "1s,2s,4s", FLAGS);
    until(Duration::from_secs(20), "attempt 1 recorded", || {
        first_cb(CallbackState::Pending, 1)
    })
    .await;
    w.kill9();
    assert_eq!(rx.got().len(), 1);

    // 2nd worker: attempt 2 is sent; killed while the receiver holds it.
    let w = WorkerProcess::start(dir, "1s,2s,4s", FLAGS);
    rx.wait_for(2, Duration::from_secs(20)).await;
    w.kill9();
    let stuck = &env
        .p
        .callbacks(&CallbackFilter::default())
        .await
        .expect("cbs")[0];
    assert_eq!(
        stuck.state,
        CallbackState::Delivering,
        "claimed by the dead worker"
    );

    // 3rd worker: takes the claim over once its lease runs out; 2 then 3 succeed.
    let killed_at = std::time::Instant::now();
    let w = WorkerProcess::start(dir, "1s,2s,4s", FLAGS);
    let got = rx.wait_for(4, Duration::from_secs(30)).await;
    assert!(
        got[2].at.duration_since(killed_at) >= Duration::from_secs(6),
        "not before the dead worker's lease ran out"
    );
    // Nothing more comes, however long we wait.
    tokio::time::sleep(Duration::from_secs(3)).await;
    w.stop();
    let got = rx.got();
    let statuses: Vec<i32> = got.iter().map(Received::status).collect();
    assert_eq!(
        statuses,
        [2, 2, 2, 3],
        "in order, each once after its success"
    );
    let ids: Vec<&str> = got.iter().map(|r| r.header("webhook-id")).collect();
    assert!(
        ids[0] == ids[1] && ids[1] == ids[2],
        "one webhook-id across retries"
    );
    assert_ne!(ids[2], ids[3]);

    let cbs = env
        .p
        .callbacks(&CallbackFilter::default())
        .await
        .expect("cbs");
    assert!(cbs.iter().all(|c| c.state == CallbackState::Succeeded));
    // The in-flight attempt of the killed worker was never recorded: 500, then success.
    let attempts = env.p.callback_attempts(cbs[0].id).await.expect("attempts");
    let http: Vec<Option<u16>> = attempts.iter().map(|a| a.http_status).collect();
    assert_eq!(http, [Some(500), Some(200)]);
    assert_eq!(
        env.p.callback_attempts(cbs[1].id).await.expect("a").len(),
        1
    );
}
