//! Limits that keep the service responsive: a token bucket per app, and a bounded pool for
//! the photo engine with a bounded queue and a queue timeout.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::codes::ApiError;

/// A token bucket per app: `rate` requests per second on average, bursts up to `burst`.
/// A rate of 0 turns the limit off.
#[derive(Debug)]
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<i64, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl RateLimiter {
    pub fn new(rate: f64, burst: f64) -> Self {
        Self {
            rate,
            burst: burst.max(1.0),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token for `app_id`, or answers `RATE_LIMITED` with the seconds to wait.
    pub fn check(&self, app_id: i64) -> Result<(), ApiError> {
        self.check_at(app_id, Instant::now())
    }

    fn check_at(&self, app_id: i64, now: Instant) -> Result<(), ApiError> {
        if self.rate <= 0.0 {
            return Ok(());
        }
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() > 100_000 {
            // Forget idle buckets (full ones) so the map stays small.
            let (rate, burst) = (self.rate, self.burst);
            buckets.retain(|_, b| b.tokens + now.duration_since(b.at).as_secs_f64() * rate < burst);
        }
        let b = buckets.entry(app_id).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        let refill = now.saturating_duration_since(b.at).as_secs_f64() * self.rate;
        b.tokens = (b.tokens + refill).min(self.burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            return Ok(());
        }
        let wait = ((1.0 - b.tokens) / self.rate).ceil().max(1.0) as u64;
        Err(ApiError::rate_limited(wait))
    }
}

/// Runs engine work on the blocking pool, at most `workers` at a time. At most `workers +
/// queue` requests are admitted at once (see [`MakePool::admit`]); a request that waits longer
/// than `queue_timeout` for a slot gets `BUSY`.
#[derive(Debug, Clone)]
pub struct MakePool {
    slots: Arc<Semaphore>,
    admitted: Arc<Semaphore>,
    workers: usize,
    queued: Arc<AtomicUsize>,
    queue_timeout: Duration,
}

/// A make request's place, from before its body is read until its answer.
#[derive(Debug)]
pub struct Ticket(#[allow(dead_code)] OwnedSemaphorePermit);

impl MakePool {
    pub fn new(workers: usize, queue: usize, queue_timeout: Duration) -> Self {
        let workers = workers.max(1);
        Self {
            slots: Arc::new(Semaphore::new(workers)),
            admitted: Arc::new(Semaphore::new(workers + queue)),
            workers,
            queued: Arc::new(AtomicUsize::new(0)),
            queue_timeout,
        }
    }

    /// A place for one more make, or `BUSY` at once when the workers and the queue are full.
    /// Taken before the body is read, so the photos held in memory stay bounded.
    pub fn admit(&self) -> Result<Ticket, ApiError> {
        self.admitted
            .clone()
            .try_acquire_owned()
            .map(Ticket)
            .map_err(|_| ApiError::busy())
    }

    /// (waiting for a slot, running) now.
    pub fn depth(&self) -> (usize, usize) {
        let running = self.workers.saturating_sub(self.slots.available_permits());
        (self.queued.load(Ordering::Relaxed), running)
    }

    /// Runs `f` on a blocking thread once a slot is free, inside the caller's span (the
    /// request id). The slot is held until `f` ends, even if the caller stops waiting (the
    /// client went away), so the bound holds.
    pub async fn run<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let asked = Instant::now();
        let permit = {
            let _queued = Queued::enter(&self.queued);
            tokio::time::timeout(self.queue_timeout, self.slots.clone().acquire_owned()).await
        }
        .map_err(|_| ApiError::busy())?
        .map_err(|_| ApiError::busy())?;
        let span = tracing::Span::current();
        let waited = asked.elapsed();
        tokio::task::spawn_blocking(move || {
            let _in = span.enter();
            let start = Instant::now();
            let out = f();
            drop(permit);
            tracing::debug!(
                queued_ms = waited.as_millis() as u64,
                run_ms = start.elapsed().as_millis() as u64,
                "engine job done"
            );
            out
        })
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "engine task failed");
            ApiError::internal()
        })
    }
}

/// Counts a waiter while alive (also when the wait is dropped).
struct Queued<'a>(&'a AtomicUsize);

impl<'a> Queued<'a> {
    fn enter(n: &'a AtomicUsize) -> Self {
        n.fetch_add(1, Ordering::Relaxed);
        Self(n)
    }
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::code;

    #[test]
    fn bucket_allows_burst_then_refuses_then_refills() {
        let rl = RateLimiter::new(2.0, 3.0);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(rl.check_at(1, t0).is_ok());
        }
        let e = rl.check_at(1, t0).unwrap_err();
        assert_eq!(e.code, code::RATE_LIMITED);
        assert!(rl.check_at(2, t0).is_ok(), "buckets are per app");
        assert!(rl.check_at(1, t0 + Duration::from_millis(600)).is_ok());
        assert!(RateLimiter::new(0.0, 1.0).check_at(1, t0).is_ok());
    }

    #[tokio::test]
    async fn pool_answers_busy_when_the_queue_wait_is_too_long() {
        let pool = MakePool::new(1, 4, Duration::from_millis(50));
        let p2 = pool.clone();
        let slow = tokio::spawn(async move {
            p2.run(|| std::thread::sleep(Duration::from_millis(300)))
                .await
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(pool.depth(), (0, 1), "one running, none waiting");
        let e = pool.run(|| 1).await.unwrap_err();
        assert_eq!(e.code, code::BUSY);
        assert_eq!(pool.depth(), (0, 1), "the timed-out waiter is gone");
        slow.await.unwrap().unwrap();
        assert_eq!(pool.run(|| 7).await.unwrap(), 7);
    }

    #[test]
    fn admission_is_bounded_by_workers_plus_queue() {
        let pool = MakePool::new(2, 1, Duration::from_secs(1));
        let held: Vec<_> = (0..3).map(|_| pool.admit().unwrap()).collect();
        assert_eq!(pool.admit().unwrap_err().code, code::BUSY);
        drop(held);
        assert!(pool.admit().is_ok());
    }
}
