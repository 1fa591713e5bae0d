//! Background jobs of `serve`: the sandbox reviewer and retention. Each stops when the
//! shutdown signal flips, after finishing the pass it is in.

use chrono::TimeDelta;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::Instrument as _;

use crate::state::Service;

/// Starts the jobs; await the handles after flipping `shutdown` to let them finish.
pub fn spawn(svc: Arc<Service>, shutdown: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
    let delay = svc.config.sandbox_delay;
    let tick = (delay / 4).clamp(Duration::from_millis(50), Duration::from_secs(1));
    let s = svc.clone();
    let sandbox = every("sandbox", tick, shutdown.clone(), move || {
        let s = s.clone();
        async move {
            let delay =
                TimeDelta::from_std(s.config.sandbox_delay).unwrap_or(TimeDelta::seconds(10));
            if let Err(e) = s.sandbox.sweep(&s.platform, delay).await {
                tracing::warn!(error = %e, "sandbox pass failed");
            }
        }
    });
    let s = svc.clone();
    let retention = every(
        "retention",
        svc.config.retention_every,
        shutdown,
        move || {
            let s = s.clone();
            async move {
                if let Err(e) = s.platform.run_retention(s.platform.now()).await {
                    tracing::warn!(error = %e, "retention pass failed");
                }
            }
        },
    );
    vec![sandbox, retention]
}

/// Runs `job` now and then every `period` until shutdown, each pass in a `job` span with
/// its own run id (the request id of a job).
fn every<F, Fut>(
    name: &'static str,
    period: Duration,
    mut shutdown: watch::Receiver<bool>,
    job: F,
) -> JoinHandle<()>
where
    F: Fn() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(period.max(Duration::from_millis(10)));
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticks.tick() => {
                    let run = format!("{:016x}", rand::random::<u64>());
                    job().instrument(tracing::debug_span!("job", job = name, run)).await
                }
                _ = shutdown.changed() => return,
            }
            if *shutdown.borrow() {
                return;
            }
        }
    })
}
