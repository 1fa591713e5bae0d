//! The delivery worker: claims due callbacks with a lease, POSTs them, records each attempt
//! and its outcome in one transaction, and retries on the schedule.
//!
//! - **At least once:** a worker that dies mid-delivery leaves its claim to expire; another
//!   (or the restarted one) claims it again, same `webhook-id`.
//! - **In order:** the claim only hands out the oldest unfinished callback of each order.
//! - **Fair:** at most `per_host` deliveries in flight per destination (`host:port`); a
//!   destination at its limit is skipped by the claim, so a slow merchant waits alone.
//! - **Bounded:** at most `concurrency` callbacks claimed and unfinished at once.
//!
//! Several workers (processes or nodes) can share one database.

use chrono::{DateTime, TimeDelta, Utc};
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tracing::Instrument as _;

use super::delivery::{self, Answer, Deliverer, Outgoing};
use super::schedule::RetrySchedule;
use super::signature::{signature_header, signing_secrets};
use super::{target, AttemptOutcome, Callback, CallbackAttempt, CallbackClaim};
use crate::error::{PlatformError, Result};
use crate::Platform;

/// Turns a blob key into a signed, expiring URL (the server's `UrlSigner`).
pub type UrlSignerFn = Arc<dyn Fn(&str) -> String + Send + Sync>;

/// How the worker runs.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    pub schedule: RetrySchedule,
    /// Deliveries in flight per destination (`host:port`).
    pub per_host: usize,
    /// Callbacks claimed and unfinished at once, over all destinations.
    pub concurrency: usize,
    /// How long a claim lasts; a dead worker's callbacks are claimed again after it.
    pub lease: Duration,
    /// How often to look for due callbacks when idle.
    pub poll: Duration,
    /// One attempt, connection to last byte.
    pub timeout: Duration,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            schedule: RetrySchedule::default(),
            per_host: 8,
            concurrency: 64,
            lease: Duration::from_secs(60),
            poll: Duration::from_millis(250),
            timeout: delivery::TIMEOUT,
        }
    }
}

impl WorkerConfig {
    /// A callback may wait for one delivery to its host before its own, so the lease must
    /// outlast two attempts.
    pub fn check(&self) -> Result<()> {
        if self.per_host == 0 || self.concurrency == 0 {
            return Err(PlatformError::Invalid(
                "callback per-host limit and concurrency must be at least 1".into(),
            ));
        }
        if self.lease < self.timeout * 2 + Duration::from_secs(5) {
            return Err(PlatformError::Invalid(format!(
                "callback lease {:?} must exceed twice the timeout {:?} plus 5 s",
                self.lease, self.timeout
            )));
        }
        Ok(())
    }
}

/// Counts since the worker started.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct WorkerReport {
    pub attempts: u64,
    pub succeeded: u64,
    pub retried: u64,
    pub failed: u64,
}

#[derive(Default)]
struct Counters {
    attempts: AtomicU64,
    succeeded: AtomicU64,
    retried: AtomicU64,
    failed: AtomicU64,
}

/// Per destination: the in-flight semaphore and how many of its callbacks are claimed.
#[derive(Default)]
struct Targets {
    map: Mutex<HashMap<String, (Arc<Semaphore>, usize)>>,
}

impl Targets {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Arc<Semaphore>, usize)>> {
        self.map
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Counts a claimed callback and hands out its destination's semaphore.
    fn enter(&self, target: &str, per_host: usize) -> Arc<Semaphore> {
        let mut map = self.lock();
        let entry = map
            .entry(target.to_string())
            .or_insert_with(|| (Arc::new(Semaphore::new(per_host)), 0));
        entry.1 += 1;
        entry.0.clone()
    }

    fn leave(&self, target: &str) {
        let mut map = self.lock();
        if let Some(entry) = map.get_mut(target) {
            entry.1 = entry.1.saturating_sub(1);
            if entry.1 == 0 {
                map.remove(target);
            }
        }
    }

    /// Destinations with `per_host` or more claimed: the next claim skips them.
    fn full(&self, per_host: usize) -> Vec<String> {
        let map = self.lock();
        map.iter()
            .filter(|(_, (_, n))| *n >= per_host)
            .map(|(t, _)| t.clone())
            .collect()
    }
}

/// The callback delivery worker. Start it with [`Worker::run`].
pub struct Worker {
    platform: Platform,
    config: WorkerConfig,
    deliverer: Deliverer,
    urls: UrlSignerFn,
    targets: Targets,
    counters: Counters,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Worker {
    /// A worker on `platform`, whose settings hold the SSRF allow-list. `urls` signs the
    /// file URLs of status 3 callbacks afresh at each attempt.
    pub fn new(platform: Platform, config: WorkerConfig, urls: UrlSignerFn) -> Result<Self> {
        config.check()?;
        let policy = Arc::new(platform.settings().callbacks.clone());
        let deliverer = Deliverer::new(policy, config.timeout)
            .map_err(|e| PlatformError::Invalid(format!("callback HTTP client: {e}")))?;
        Ok(Self {
            platform,
            config,
            deliverer,
            urls,
            targets: Targets::default(),
            counters: Counters::default(),
        })
    }

    pub fn config(&self) -> &WorkerConfig {
        &self.config
    }

    pub fn report(&self) -> WorkerReport {
        let c = &self.counters;
        WorkerReport {
            attempts: c.attempts.load(Ordering::Relaxed),
            succeeded: c.succeeded.load(Ordering::Relaxed),
            retried: c.retried.load(Ordering::Relaxed),
            failed: c.failed.load(Ordering::Relaxed),
        }
    }

    /// Delivers until `shutdown` completes, then finishes the attempts in flight (each ends
    /// within the timeout) and returns the counts. Database errors are logged and retried.
    pub async fn run(self: Arc<Self>, shutdown: impl Future<Output = ()>) -> WorkerReport {
        tokio::pin!(shutdown);
        let mut tasks = JoinSet::new();
        tracing::info!(
            schedule = %self.config.schedule,
            per_host = self.config.per_host,
            concurrency = self.config.concurrency,
            "callback worker started"
        );
        loop {
            while tasks.try_join_next().is_some() {}
            let room = self.config.concurrency.saturating_sub(tasks.len());
            let full_batch = room > 0 && self.claim_and_start(room, &mut tasks).await == room;
            tokio::select! {
                biased;
                () = &mut shutdown => break,
                () = std::future::ready(()), if full_batch => {}
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
                () = tokio::time::sleep(self.config.poll) => {}
            }
        }
        tracing::info!(in_flight = tasks.len(), "callback worker stopping");
        while tasks.join_next().await.is_some() {}
        let report = self.report();
        tracing::info!(?report, "callback worker stopped");
        report
    }

    /// Claims up to `room` and starts them; how many were claimed.
    async fn claim_and_start(self: &Arc<Self>, room: usize, tasks: &mut JoinSet<()>) -> usize {
        let batch = match self.claim(room).await {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(error = %e, "claiming callbacks failed");
                return 0;
            }
        };
        let n = batch.len();
        for cb in batch {
            let dest = target(&cb.notice_url);
            let gate = self.targets.enter(&dest, self.config.per_host);
            let me = self.clone();
            let span = tracing::info_span!("callback", webhook_id = %cb.webhook_id, order_no = %cb.order_no);
            tasks.spawn(
                async move {
                    if let Ok(permit) = gate.acquire_owned().await {
                        me.deliver(cb).await;
                        drop::<OwnedSemaphorePermit>(permit);
                    }
                    me.targets.leave(&dest);
                }
                .instrument(span),
            );
        }
        n
    }

    async fn claim(&self, room: usize) -> Result<Vec<Callback>> {
        let now = self.platform.now();
        let claim = CallbackClaim {
            now,
            lease_until: now + delta(self.config.lease),
            limit: u32::try_from(room).unwrap_or(u32::MAX),
            per_target: u32::try_from(self.config.per_host).unwrap_or(u32::MAX),
            skip_targets: self.targets.full(self.config.per_host),
        };
        self.platform.claim_callbacks(&claim).await
    }

    /// Claims what is due now and delivers it, once; how many attempts were made. For tests
    /// and one-shot runs; [`Worker::run`] is the loop.
    pub async fn run_once(self: &Arc<Self>) -> usize {
        let mut tasks = JoinSet::new();
        let n = self
            .claim_and_start(self.config.concurrency, &mut tasks)
            .await;
        while tasks.join_next().await.is_some() {}
        n
    }

    /// One attempt, recorded with its outcome.
    async fn deliver(&self, cb: Callback) {
        let at = self.platform.now();
        let answer = match self.outgoing(&cb, at).await {
            Ok(out) => self.deliverer.send(&out).await,
            Err(e) => Answer {
                http_status: None,
                latency: Duration::ZERO,
                head: String::new(),
                error: Some(format!("cannot build the callback: {e}")),
                hint: Default::default(),
            },
        };
        let outcome = self.outcome(&cb, &answer);
        let attempt = CallbackAttempt {
            callback_id: cb.id,
            at,
            http_status: answer.http_status,
            latency_ms: i64::try_from(answer.latency.as_millis()).unwrap_or(i64::MAX),
            response_head: answer.head.clone(),
            error: answer.error.clone(),
        };
        self.count(outcome);
        tracing::debug!(id = cb.id, order_no = %cb.order_no, status = cb.status,
            http = ?answer.http_status, error = ?answer.error, ?outcome, "callback attempt");
        if let Err(e) = self.platform.settle_attempt(&attempt, outcome).await {
            // The lease runs out and the callback is tried again.
            tracing::warn!(id = cb.id, error = %e, "recording a callback attempt failed");
        }
    }

    /// The signed request: fresh file URLs, timestamp and signatures at each attempt.
    async fn outgoing(&self, cb: &Callback, now: DateTime<Utc>) -> Result<Outgoing> {
        let app = self.platform.app(cb.app_id).await?;
        let urls = self.urls.clone();
        let (body, content_type) =
            delivery::body(&cb.payload, &app.sign, app.callback_format, |key| urls(key));
        let timestamp = now.timestamp();
        let secrets = signing_secrets(&app, now);
        let signature = signature_header(&secrets, &cb.webhook_id, timestamp, &body)
            .map_err(|e| PlatformError::Corrupt(format!("app {} secret: {e}", app.app_id)))?;
        Ok(Outgoing {
            url: cb.notice_url.clone(),
            webhook_id: cb.webhook_id.clone(),
            timestamp,
            signature,
            content_type,
            body,
        })
    }

    fn outcome(&self, cb: &Callback, answer: &Answer) -> AttemptOutcome {
        if answer.succeeded() {
            return AttemptOutcome::Succeeded;
        }
        let made = u32::try_from(cb.attempts.saturating_add(1)).unwrap_or(u32::MAX);
        match self.config.schedule.delay(made, answer.hint) {
            Some(wait) => AttemptOutcome::RetryAt(self.platform.now() + delta(wait)),
            None => AttemptOutcome::Failed,
        }
    }

    fn count(&self, outcome: AttemptOutcome) {
        let c = &self.counters;
        c.attempts.fetch_add(1, Ordering::Relaxed);
        let which = match outcome {
            AttemptOutcome::Succeeded => &c.succeeded,
            AttemptOutcome::RetryAt(_) => &c.retried,
            AttemptOutcome::Failed => &c.failed,
        };
        which.fetch_add(1, Ordering::Relaxed);
    }
}

fn delta(d: Duration) -> TimeDelta {
    TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX)
}
