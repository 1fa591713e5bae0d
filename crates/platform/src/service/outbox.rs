//! The callback outbox, for the delivery worker.

use chrono::{DateTime, TimeDelta, Utc};

use super::Platform;
use crate::callback::{
    AttemptOutcome, Callback, CallbackAttempt, CallbackClaim, CallbackFilter, CallbackState,
};
use crate::error::{PlatformError, Result};

impl Platform {
    /// Claims up to `limit` due callbacks for `lease`: at most one per order (the oldest
    /// unfinished), so an order's callbacks go out in order. A claim whose lease runs out
    /// (a crashed worker) becomes claimable again.
    pub async fn claim_due_callbacks(
        &self,
        now: DateTime<Utc>,
        lease: TimeDelta,
        limit: u32,
    ) -> Result<Vec<Callback>> {
        let claim = CallbackClaim {
            now,
            lease_until: now + lease,
            limit,
            per_target: 0,
            skip_targets: Vec::new(),
        };
        self.repo.claim_due_callbacks(&claim).await
    }

    /// [`Self::claim_due_callbacks`] with limits per destination, for the worker.
    pub async fn claim_callbacks(&self, claim: &CallbackClaim) -> Result<Vec<Callback>> {
        self.repo.claim_due_callbacks(claim).await
    }

    /// Records one delivery attempt and counts it.
    pub async fn record_attempt(&self, attempt: &CallbackAttempt) -> Result<()> {
        self.repo.record_attempt(attempt, None).await
    }

    /// Records an attempt and its outcome (succeeded, retry at, failed) in one transaction:
    /// the worker's usual call after each delivery.
    pub async fn settle_attempt(
        &self,
        attempt: &CallbackAttempt,
        outcome: AttemptOutcome,
    ) -> Result<()> {
        self.repo.record_attempt(attempt, Some(outcome)).await
    }

    /// Delivered. False if the callback was not being delivered (already settled).
    pub async fn mark_callback_succeeded(&self, id: i64, now: DateTime<Utc>) -> Result<bool> {
        let from = [CallbackState::Delivering, CallbackState::Pending];
        self.repo
            .set_callback_state(id, CallbackState::Succeeded, None, &from, now)
            .await
    }

    /// The schedule is exhausted: no more automatic attempts.
    pub async fn mark_callback_failed(&self, id: i64, now: DateTime<Utc>) -> Result<bool> {
        let from = [CallbackState::Delivering, CallbackState::Pending];
        self.repo
            .set_callback_state(id, CallbackState::Failed, None, &from, now)
            .await
    }

    /// Back to pending, due at `at` (the next step of the retry schedule).
    pub async fn reschedule_callback(
        &self,
        id: i64,
        at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let from = [CallbackState::Delivering, CallbackState::Pending];
        self.repo
            .set_callback_state(id, CallbackState::Pending, Some(at), &from, now)
            .await
    }

    /// An operator sends a failed (or delivered) callback again, now.
    pub async fn redeliver_callback(&self, id: i64, now: DateTime<Utc>) -> Result<Callback> {
        let from = [CallbackState::Failed, CallbackState::Succeeded];
        let moved = self
            .repo
            .set_callback_state(id, CallbackState::Pending, Some(now), &from, now)
            .await?;
        let cb = self.callback(id).await?;
        if !moved {
            return Err(PlatformError::Invalid(format!(
                "callback {id} is {}; only failed or succeeded ones can be redelivered",
                cb.state.as_str()
            )));
        }
        tracing::info!(id, order_no = %cb.order_no, "callback redelivery queued");
        Ok(cb)
    }

    /// One callback; `Invalid` if there is none.
    pub async fn callback(&self, id: i64) -> Result<Callback> {
        self.repo
            .callback(id)
            .await?
            .ok_or_else(|| PlatformError::Invalid(format!("no callback {id}")))
    }

    pub async fn callbacks(&self, filter: &CallbackFilter) -> Result<Vec<Callback>> {
        self.repo.callbacks(filter).await
    }

    pub async fn callback_attempts(&self, callback_id: i64) -> Result<Vec<CallbackAttempt>> {
        self.repo.callback_attempts(callback_id).await
    }
}
