//! The repository: every database access of the platform goes through [`Repo`].
//!
//! The trait speaks the domain, not SQL. Each method that changes more than one row is one
//! transaction. Back-ends: SQLite ([`SqliteRepo`], the embedded default) and PostgreSQL
//! ([`PostgresRepo`], for several nodes), with the same semantics (row locks and
//! `SKIP LOCKED` where SQLite relies on its single writer). [`open_repo`] opens either from a URL.

pub mod copy;
mod postgres;
mod sqlite;
mod url;

pub use postgres::PostgresRepo;
pub use sqlite::SqliteRepo;
pub use url::{open_repo, DatabaseUrl};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::app::App;
use crate::callback::{
    AttemptOutcome, Callback, CallbackAttempt, CallbackClaim, CallbackFilter, CallbackState,
    NewCallback,
};
use crate::error::Result;
use crate::ledger::{LedgerEntry, LedgerKind};
use crate::operator::{AuditEntry, Operator, Session, SpecOverride};
use crate::order::{Order, OrderCounts, OrderEvent, OrderFilter, OrderStatus};
use crate::pic::Pic;

/// A new order, written with its first event in one transaction.
#[derive(Debug, Clone)]
pub struct NewOrder {
    pub order: Order,
    pub event: OrderEvent,
    /// Refuse with `InsufficientBalance` unless, with this order counted, the app's
    /// balance still covers every order that holds balance (see [`OrderStatus::holds_balance`]).
    pub reserve: bool,
}

/// The callbacks not yet settled (pending or delivering), for `/metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxBacklog {
    pub waiting: i64,
    /// The earliest `next_attempt_at` among them: how far behind the outbox is.
    pub oldest_due: Option<DateTime<Utc>>,
}

/// A ledger movement that is not tied to a transition (top-up, manual refund).
#[derive(Debug, Clone)]
pub struct Credit {
    pub app_id: i64,
    pub order_no: Option<String>,
    pub kind: LedgerKind,
    /// Signed amount added to the balance.
    pub amount_fen: i64,
    pub note: Option<String>,
    pub at: DateTime<Utc>,
}

/// One state change, applied atomically: the order row (compare-and-set on `from`), the
/// event, the outbox row and the ledger charge, or nothing at all.
#[derive(Debug, Clone)]
pub struct Transition {
    /// The order as it must be after the change (every mutable column is written).
    pub order: Order,
    /// The status the order must still have; otherwise `WrongState` with the current one.
    pub from: OrderStatus,
    pub event: OrderEvent,
    pub callback: Option<NewCallback>,
    /// Charge this much (fen, positive) to the order's app, once per order.
    pub charge_fen: Option<i64>,
    /// Mark `order.pic_id` as used by this order; `PicUsed` if another order took it.
    pub use_pic: bool,
    /// As [`NewOrder::reserve`].
    pub reserve: bool,
}

#[async_trait]
pub trait Repo: Send + Sync {
    // ---- apps and the ledger
    /// Inserts the app (its `app_id` is assigned) and, when its balance is positive,
    /// the opening top-up in the ledger.
    async fn insert_app(&self, app: &App) -> Result<App>;
    async fn app(&self, app_id: i64) -> Result<Option<App>>;
    async fn app_by_key_hash(&self, key_hash: &str) -> Result<Option<App>>;
    async fn apps(&self) -> Result<Vec<App>>;
    /// Replaces the key (hash, prefix, sign). False if no such app.
    async fn set_app_key(
        &self,
        app_id: i64,
        key_hash: &str,
        prefix: &str,
        sign: &str,
    ) -> Result<bool>;
    async fn set_app_disabled(&self, app_id: i64, disabled: bool) -> Result<bool>;
    /// Replaces the webhook secret; `prev` keeps signing until `prev_until` (rotation).
    /// False if no such app.
    async fn set_app_webhook_secret(
        &self,
        app_id: i64,
        secret: &str,
        prev: Option<&str>,
        prev_until: Option<DateTime<Utc>>,
    ) -> Result<bool>;
    /// Moves the balance and writes the ledger row, atomically.
    async fn credit(&self, credit: &Credit) -> Result<LedgerEntry>;
    /// Newest first.
    async fn ledger(&self, app_id: i64, limit: u32) -> Result<Vec<LedgerEntry>>;
    /// Sum of `price_fen` of the app's orders that hold balance.
    async fn held_fen(&self, app_id: i64) -> Result<i64>;

    // ---- pics
    /// `Conflict` if the pic_id is taken.
    async fn insert_pic(&self, pic: &Pic) -> Result<()>;
    async fn pic(&self, pic_id: &str) -> Result<Option<Pic>>;
    /// Unsubmitted pics that expired before `before`, oldest first.
    async fn unsubmitted_pics_expired(&self, before: DateTime<Utc>, limit: u32)
        -> Result<Vec<Pic>>;
    /// A pic inserted before its make finished gets its checks and expiry. False if gone.
    async fn finish_pic(
        &self,
        pic_id: &str,
        checks: &serde_json::Value,
        expires_at: DateTime<Utc>,
    ) -> Result<bool>;
    /// Deletes the pic row if still unsubmitted. False if it was taken or gone.
    async fn delete_unsubmitted_pic(&self, pic_id: &str) -> Result<bool>;
    /// Every pic an order ever used (all its submissions).
    async fn pics_of_order(&self, order_no: &str) -> Result<Vec<Pic>>;

    // ---- orders
    /// A serial shared by every node for the next order number (see
    /// [`crate::order::OrderNoGen`]); `None` when the process's own counter is enough.
    async fn order_serial(&self) -> Result<Option<i64>> {
        Ok(None)
    }
    /// `Conflict` if the order_no is taken (the caller retries with another),
    /// `PicUsed`, or `InsufficientBalance` when `reserve` fails.
    async fn insert_order(&self, new: &NewOrder) -> Result<Order>;
    /// `WrongState`, `OrderNotFound`, `PicUsed`, `InsufficientBalance`, or
    /// `Conflict` for a second charge; nothing is written then.
    async fn apply(&self, t: &Transition) -> Result<Order>;
    async fn order(&self, order_no: &str) -> Result<Option<Order>>;
    async fn orders(&self, filter: &OrderFilter) -> Result<Vec<Order>>;
    async fn order_events(&self, order_no: &str) -> Result<Vec<OrderEvent>>;
    /// Orders whose receipt number is `receipt_no` (normally one).
    async fn orders_by_receipt_no(&self, receipt_no: &str) -> Result<Vec<Order>>;
    async fn order_counts(&self, app_id: i64) -> Result<OrderCounts>;
    /// Orders of sandbox apps in `status`, last changed before `before`; oldest first.
    async fn sandbox_orders(
        &self,
        status: OrderStatus,
        before: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Order>>;
    /// Orders in `statuses`, not purged, last changed before `before`; oldest first.
    async fn orders_to_purge(
        &self,
        statuses: &[OrderStatus],
        before: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Order>>;
    /// Clears the order's personal data and blob keys and deletes its pic rows, if it is
    /// still in `statuses`, not purged and unchanged since before `before`. False otherwise.
    async fn purge_order(
        &self,
        order_no: &str,
        statuses: &[OrderStatus],
        before: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> Result<bool>;

    // ---- the callback outbox
    /// Claims up to `claim.limit` due callbacks, oldest due first: pending and due, or
    /// delivering with an expired lease; only the oldest unfinished one of each order (so an
    /// order's callbacks go out in order); at most `claim.per_target` per destination and
    /// none for `claim.skip_targets`. They become `delivering` until `claim.lease_until`.
    /// SQLite relies on its single writer; PostgreSQL uses `FOR UPDATE SKIP LOCKED`.
    async fn claim_due_callbacks(&self, claim: &CallbackClaim) -> Result<Vec<Callback>>;
    /// Writes the attempt and counts it on the callback; with an outcome, also moves the
    /// callback (from pending or delivering only), all in one transaction.
    async fn record_attempt(
        &self,
        attempt: &CallbackAttempt,
        outcome: Option<AttemptOutcome>,
    ) -> Result<()>;
    /// Moves a callback to `state` (clearing its lease); `next_attempt_at` when given.
    /// `only_from`: change only if the current state is one of these. False if not changed.
    async fn set_callback_state(
        &self,
        id: i64,
        state: CallbackState,
        next_attempt_at: Option<DateTime<Utc>>,
        only_from: &[CallbackState],
        at: DateTime<Utc>,
    ) -> Result<bool>;
    async fn callback(&self, id: i64) -> Result<Option<Callback>>;
    async fn callbacks(&self, filter: &CallbackFilter) -> Result<Vec<Callback>>;
    async fn callback_attempts(&self, callback_id: i64) -> Result<Vec<CallbackAttempt>>;

    // ---- background jobs
    /// Takes or renews the lease of job `name` for `holder` until `lease_until`, if it is
    /// free, expired at `now`, or already `holder`'s. True if `holder` now holds it.
    async fn claim_job(
        &self,
        name: &str,
        holder: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<bool>;

    // ---- the console: operators, sessions, the audit log, spec overrides
    /// Inserts the operator; `Conflict` if the name is taken.
    async fn insert_operator(&self, op: &Operator) -> Result<()>;
    async fn operator(&self, name: &str) -> Result<Option<Operator>>;
    /// Every operator, by name.
    async fn operators(&self) -> Result<Vec<Operator>>;
    /// Writes role, password_hash, failed_logins, locked_until and disabled of `op.name`.
    /// False if no such operator.
    async fn update_operator(&self, op: &Operator) -> Result<bool>;
    /// One failed login, in one statement: adds 1 to `failed_logins`; when that reaches
    /// `lock_after`, sets `locked_until` and the count back to 0. The operator after it;
    /// `None` if unknown.
    async fn count_login_failure(
        &self,
        name: &str,
        lock_after: u32,
        locked_until: DateTime<Utc>,
    ) -> Result<Option<Operator>>;
    async fn insert_session(&self, session: &Session) -> Result<()>;
    /// The session with this token hash, expired or not (the caller checks `expires_at`).
    async fn session(&self, token_hash: &str) -> Result<Option<Session>>;
    /// False if there was no such session.
    async fn delete_session(&self, token_hash: &str) -> Result<bool>;
    /// Ends every session of the operator (disabled, password reset); how many.
    async fn delete_sessions_of(&self, operator: &str) -> Result<u64>;
    /// Appends to the audit log (`entry.id` is assigned, not read).
    async fn insert_audit(&self, entry: &AuditEntry) -> Result<()>;
    /// Newest first; only `operator`'s when given; at most `limit` (0: 100).
    async fn audit_log(&self, operator: Option<&str>, limit: u32) -> Result<Vec<AuditEntry>>;
    /// Inserts or replaces the override of `o.item_id`.
    async fn set_spec_override(&self, o: &SpecOverride) -> Result<()>;
    /// Every override, by item_id.
    async fn spec_overrides(&self) -> Result<Vec<SpecOverride>>;

    // ---- operations (`/metrics`); the defaults use the methods above, back-ends may do better
    /// Orders of every app, per status.
    async fn order_counts_all(&self) -> Result<OrderCounts> {
        let mut sum: Vec<(OrderStatus, i64)> = Vec::new();
        for app in self.apps().await? {
            for (s, n) in self.order_counts(app.app_id).await?.0 {
                match sum.iter_mut().find(|(t, _)| *t == s) {
                    Some(e) => e.1 += n,
                    None => sum.push((s, n)),
                }
            }
        }
        Ok(OrderCounts(sum))
    }

    /// The unsettled callbacks (the default looks at 10 000 of each state at most).
    async fn outbox_backlog(&self) -> Result<OutboxBacklog> {
        let mut backlog = OutboxBacklog::default();
        for state in [CallbackState::Pending, CallbackState::Delivering] {
            let filter = CallbackFilter {
                order_no: None,
                state: Some(state),
                limit: 10_000,
            };
            for cb in self.callbacks(&filter).await? {
                backlog.waiting += 1;
                let due = cb.next_attempt_at;
                backlog.oldest_due = Some(backlog.oldest_due.map_or(due, |d| d.min(due)));
            }
        }
        Ok(backlog)
    }
}
