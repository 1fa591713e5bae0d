//! [`Repo`] on PostgreSQL, for several nodes on one database. The same schema and semantics
//! as [`super::SqliteRepo`]; where SQLite relies on its single writer this uses row locks:
//! compare-and-set `UPDATE … WHERE status = $from` (a concurrent change waits for the lock,
//! then re-checks), `FOR NO KEY UPDATE` on the app row around balance checks (not `FOR
//! UPDATE`, which would deadlock against the foreign-key locks of concurrent inserts), and
//! `FOR UPDATE SKIP LOCKED` + a lease for the callback claim.
//! Times are Unix milliseconds (BIGINT), JSON is text, as on SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{Postgres, Row, Transaction};
use std::str::FromStr;
use std::time::Duration;

use super::{Credit, NewOrder, Repo, Transition};
use crate::app::{App, CallbackFormat};
use crate::callback::{
    self, AttemptOutcome, Callback, CallbackAttempt, CallbackClaim, CallbackFilter, CallbackState,
    NewCallback,
};
use crate::error::{PlatformError, Result};
use crate::ledger::{LedgerEntry, LedgerKind};
use crate::operator::{AuditEntry, Operator, Session, SpecOverride};
use crate::order::{Action, Order, OrderCounts, OrderEvent, OrderFilter, OrderStatus};
use crate::pic::Pic;

mod console;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

const DEFAULT_LIMIT: u32 = 100;
/// Connections per node.
const POOL: u32 = 16;
/// A request waits this long for a connection (e.g. while the server restarts), then fails.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// The PostgreSQL repository.
#[derive(Debug, Clone)]
pub struct PostgresRepo {
    pool: PgPool,
}

type Tx = Transaction<'static, Postgres>;

impl PostgresRepo {
    /// Connects to `url` (`postgres://user:pass@host:port/db`) and runs the migrations
    /// (several nodes starting at once serialise on sqlx's advisory lock).
    pub async fn open(url: &str) -> Result<Self> {
        Self::open_with(url, POOL).await
    }

    /// [`PostgresRepo::open`] with at most `connections` connections.
    pub async fn open_with(url: &str, connections: u32) -> Result<Self> {
        let opts = PgConnectOptions::from_str(url)?.application_name("photoreceipt");
        let pool = PgPoolOptions::new()
            .max_connections(connections.max(1))
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(opts)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(Self { pool })
    }

    /// The connection pool (tests inspect rows through it).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    async fn begin(&self) -> Result<Tx> {
        Ok(self.pool.begin().await?)
    }
}

// ---- conversions

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn opt_ms(t: Option<DateTime<Utc>>) -> Option<i64> {
    t.map(ms)
}

fn time(v: i64) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_millis(v).ok_or_else(|| PlatformError::Corrupt(format!("time {v}")))
}

fn opt_time(v: Option<i64>) -> Result<Option<DateTime<Utc>>> {
    v.map(time).transpose()
}

fn json_text<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| PlatformError::Corrupt(e.to_string()))
}

fn opt_json_text(v: &Option<serde_json::Value>) -> Result<Option<String>> {
    v.as_ref().map(json_text).transpose()
}

fn parse_json<T: DeserializeOwned>(col: &str, text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| PlatformError::Corrupt(format!("{col}: {e}")))
}

fn status(code: i32) -> Result<OrderStatus> {
    OrderStatus::from_code(code).ok_or_else(|| PlatformError::Corrupt(format!("status {code}")))
}

fn limit(n: u32) -> i64 {
    i64::from(if n == 0 { DEFAULT_LIMIT } else { n })
}

fn codes(statuses: &[OrderStatus]) -> Vec<i32> {
    statuses.iter().map(|s| s.code()).collect()
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .is_some_and(|d| d.is_unique_violation())
}

// ---- rows

fn app_row(r: &PgRow) -> Result<App> {
    let format: String = r.try_get("callback_format")?;
    Ok(App {
        app_id: r.try_get("app_id")?,
        name: r.try_get("name")?,
        key_hash: r.try_get("key_hash")?,
        key_prefix: r.try_get("key_prefix")?,
        sign: r.try_get("sign")?,
        webhook_secret: r.try_get("webhook_secret")?,
        prev_webhook_secret: r.try_get("prev_webhook_secret")?,
        prev_webhook_secret_until: opt_time(r.try_get("prev_webhook_secret_until")?)?,
        balance_fen: r.try_get("balance_fen")?,
        sandbox: r.try_get("sandbox")?,
        disabled: r.try_get("disabled")?,
        callback_format: CallbackFormat::parse(&format)
            .ok_or_else(|| PlatformError::Corrupt(format!("callback_format {format}")))?,
        created_at: time(r.try_get("created_at")?)?,
    })
}

fn pic_row(r: &PgRow) -> Result<Pic> {
    Ok(Pic {
        pic_id: r.try_get("pic_id")?,
        app_id: r.try_get("app_id")?,
        item_id: r.try_get("item_id")?,
        photos: parse_json("photos", r.try_get("photos")?)?,
        original_key: r.try_get("original_key")?,
        png_key: r.try_get("png_key")?,
        print_key: r.try_get("print_key")?,
        checks: parse_json("checks", r.try_get("checks")?)?,
        used_by: r.try_get("used_by")?,
        created_at: time(r.try_get("created_at")?)?,
        expires_at: time(r.try_get("expires_at")?)?,
    })
}

fn order_row(r: &PgRow) -> Result<Order> {
    let params: Option<String> = r.try_get("params")?;
    let print_param: Option<String> = r.try_get("print_param")?;
    Ok(Order {
        order_no: r.try_get("order_no")?,
        app_id: r.try_get("app_id")?,
        pic_id: r.try_get("pic_id")?,
        item_id: r.try_get("item_id")?,
        status: status(r.try_get("status")?)?,
        notice_url: r.try_get("notice_url")?,
        params: params.map(|p| parse_json("params", &p)).transpose()?,
        param_files: parse_json("param_files", r.try_get("param_files")?)?,
        is_print: r.try_get("is_print")?,
        print_param: print_param
            .map(|p| parse_json("print_param", &p))
            .transpose()?,
        price_fen: r.try_get("price_fen")?,
        sla_due_at: time(r.try_get("sla_due_at")?)?,
        submitted_at: time(r.try_get("submitted_at")?)?,
        updated_at: time(r.try_get("updated_at")?)?,
        reviewed_at: opt_time(r.try_get("reviewed_at")?)?,
        completed_at: opt_time(r.try_get("completed_at")?)?,
        reviewer: r.try_get("reviewer")?,
        reject_msg: r.try_get("reject_msg")?,
        receipt_no: r.try_get("receipt_no")?,
        receipt_key: r.try_get("receipt_key")?,
        image_key: r.try_get("image_key")?,
        print_key: r.try_get("print_key")?,
        purged_at: opt_time(r.try_get("purged_at")?)?,
    })
}

fn event_row(r: &PgRow) -> Result<OrderEvent> {
    let action: String = r.try_get("action")?;
    Ok(OrderEvent {
        order_no: r.try_get("order_no")?,
        from: r
            .try_get::<Option<i32>, _>("from_status")?
            .map(status)
            .transpose()?,
        to: status(r.try_get("to_status")?)?,
        action: Action::parse(&action)
            .ok_or_else(|| PlatformError::Corrupt(format!("action {action}")))?,
        actor: r.try_get("actor")?,
        note: r.try_get("note")?,
        at: time(r.try_get("at")?)?,
    })
}

fn callback_row(r: &PgRow) -> Result<Callback> {
    let state: String = r.try_get("state")?;
    Ok(Callback {
        id: r.try_get("id")?,
        webhook_id: r.try_get("webhook_id")?,
        order_no: r.try_get("order_no")?,
        app_id: r.try_get("app_id")?,
        status: r.try_get("status")?,
        notice_url: r.try_get("notice_url")?,
        payload: parse_json("payload", r.try_get("payload")?)?,
        state: CallbackState::parse(&state)
            .ok_or_else(|| PlatformError::Corrupt(format!("callback state {state}")))?,
        attempts: r.try_get("attempts")?,
        next_attempt_at: time(r.try_get("next_attempt_at")?)?,
        lease_until: opt_time(r.try_get("lease_until")?)?,
        created_at: time(r.try_get("created_at")?)?,
        updated_at: time(r.try_get("updated_at")?)?,
    })
}

fn attempt_row(r: &PgRow) -> Result<CallbackAttempt> {
    let http: Option<i64> = r.try_get("http_status")?;
    Ok(CallbackAttempt {
        callback_id: r.try_get("callback_id")?,
        at: time(r.try_get("at")?)?,
        http_status: http.and_then(|s| u16::try_from(s).ok()),
        latency_ms: r.try_get("latency_ms")?,
        response_head: r.try_get("response_head")?,
        error: r.try_get("error")?,
    })
}

fn ledger_row(r: &PgRow) -> Result<LedgerEntry> {
    let kind: String = r.try_get("kind")?;
    Ok(LedgerEntry {
        id: r.try_get("id")?,
        app_id: r.try_get("app_id")?,
        order_no: r.try_get("order_no")?,
        kind: LedgerKind::parse(&kind)
            .ok_or_else(|| PlatformError::Corrupt(format!("ledger kind {kind}")))?,
        amount_fen: r.try_get("amount_fen")?,
        balance_after: r.try_get("balance_after")?,
        note: r.try_get("note")?,
        at: time(r.try_get("at")?)?,
    })
}

// ---- statements inside transactions

async fn insert_ledger(tx: &mut Tx, c: &Credit, balance_after: i64) -> Result<LedgerEntry> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO ledger (app_id, order_no, kind, amount_fen, balance_after, note, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(c.app_id)
    .bind(&c.order_no)
    .bind(c.kind.as_str())
    .bind(c.amount_fen)
    .bind(balance_after)
    .bind(&c.note)
    .bind(ms(c.at))
    .fetch_one(&mut **tx)
    .await
    .map_err(|e| {
        if is_unique_violation(&e) {
            PlatformError::Conflict(format!(
                "order {} already has a {} in the ledger",
                c.order_no.as_deref().unwrap_or("-"),
                c.kind.as_str()
            ))
        } else {
            e.into()
        }
    })?;
    Ok(LedgerEntry {
        id,
        app_id: c.app_id,
        order_no: c.order_no.clone(),
        kind: c.kind,
        amount_fen: c.amount_fen,
        balance_after,
        note: c.note.clone(),
        at: c.at,
    })
}

/// Adds `c.amount_fen` to the balance (the UPDATE locks the app row) and writes the ledger row.
async fn credit_in(tx: &mut Tx, c: &Credit) -> Result<LedgerEntry> {
    let balance: Option<i64> = sqlx::query_scalar(
        "UPDATE apps SET balance_fen = balance_fen + $1 WHERE app_id = $2 RETURNING balance_fen",
    )
    .bind(c.amount_fen)
    .bind(c.app_id)
    .fetch_optional(&mut **tx)
    .await?;
    let balance = balance.ok_or(PlatformError::AppNotFound(c.app_id))?;
    insert_ledger(tx, c, balance).await
}

/// Refuses unless the app's balance covers every order holding balance (this one included).
/// The app row is locked first, so concurrent checks of one app run one after the other and
/// the sum (a later statement, a later snapshot) sees every order committed before.
async fn check_reserve(tx: &mut Tx, app_id: i64, price_fen: i64) -> Result<()> {
    let balance: i64 =
        sqlx::query_scalar("SELECT balance_fen FROM apps WHERE app_id = $1 FOR NO KEY UPDATE")
            .bind(app_id)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or(PlatformError::AppNotFound(app_id))?;
    let held: i64 = sqlx::query_scalar(
        "SELECT COALESCE(SUM(price_fen), 0)::BIGINT FROM orders
         WHERE app_id = $1 AND status = ANY($2)",
    )
    .bind(app_id)
    .bind(codes(&[OrderStatus::Pending, OrderStatus::Reviewing]))
    .fetch_one(&mut **tx)
    .await?;
    if balance < held {
        return Err(PlatformError::InsufficientBalance {
            available_fen: balance - (held - price_fen),
            price_fen,
        });
    }
    Ok(())
}

async fn use_pic(tx: &mut Tx, pic_id: &str, order_no: &str) -> Result<()> {
    let done = sqlx::query("UPDATE pics SET used_by = $1 WHERE pic_id = $2 AND used_by IS NULL")
        .bind(order_no)
        .bind(pic_id)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    if done == 1 {
        return Ok(());
    }
    let used: Option<Option<String>> =
        sqlx::query_scalar("SELECT used_by FROM pics WHERE pic_id = $1")
            .bind(pic_id)
            .fetch_optional(&mut **tx)
            .await?;
    Err(match used.flatten() {
        Some(other) => PlatformError::PicUsed {
            pic_id: pic_id.to_string(),
            order_no: other,
        },
        None => PlatformError::PicNotFound(pic_id.to_string()),
    })
}

async fn insert_event(tx: &mut Tx, e: &OrderEvent) -> Result<()> {
    sqlx::query(
        "INSERT INTO order_events (order_no, from_status, to_status, action, actor, note, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&e.order_no)
    .bind(e.from.map(OrderStatus::code))
    .bind(e.to.code())
    .bind(e.action.as_str())
    .bind(&e.actor)
    .bind(&e.note)
    .bind(ms(e.at))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn insert_callback(tx: &mut Tx, o: &Order, c: &NewCallback, at: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO callbacks (webhook_id, order_no, app_id, status, notice_url, target,
                                payload, state, attempts, next_attempt_at, created_at,
                                updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', 0, $8, $8, $8)",
    )
    .bind(&c.webhook_id)
    .bind(&o.order_no)
    .bind(o.app_id)
    .bind(c.payload.status)
    .bind(&c.notice_url)
    .bind(callback::target(&c.notice_url))
    .bind(json_text(&c.payload)?)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The order's columns in the order of [`ORDER_COLUMNS`], bound from `$first`.
const ORDER_COLUMNS: [&str; 22] = [
    "app_id",
    "pic_id",
    "item_id",
    "status",
    "notice_url",
    "params",
    "param_files",
    "is_print",
    "print_param",
    "price_fen",
    "sla_due_at",
    "submitted_at",
    "updated_at",
    "reviewed_at",
    "completed_at",
    "reviewer",
    "reject_msg",
    "receipt_no",
    "receipt_key",
    "image_key",
    "print_key",
    "purged_at",
];

type PgQuery<'q> = sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments>;

fn bind_order<'q>(q: PgQuery<'q>, o: &'q Order) -> Result<PgQuery<'q>> {
    Ok(q.bind(o.app_id)
        .bind(&o.pic_id)
        .bind(o.item_id)
        .bind(o.status.code())
        .bind(&o.notice_url)
        .bind(opt_json_text(&o.params)?)
        .bind(json_text(&o.param_files)?)
        .bind(o.is_print)
        .bind(opt_json_text(&o.print_param)?)
        .bind(o.price_fen)
        .bind(ms(o.sla_due_at))
        .bind(ms(o.submitted_at))
        .bind(ms(o.updated_at))
        .bind(opt_ms(o.reviewed_at))
        .bind(opt_ms(o.completed_at))
        .bind(&o.reviewer)
        .bind(&o.reject_msg)
        .bind(&o.receipt_no)
        .bind(&o.receipt_key)
        .bind(&o.image_key)
        .bind(&o.print_key)
        .bind(opt_ms(o.purged_at)))
}

async fn insert_order_row(tx: &mut Tx, o: &Order) -> Result<()> {
    let values: Vec<String> = (2..=ORDER_COLUMNS.len() + 1)
        .map(|i| format!("${i}"))
        .collect();
    let sql = format!(
        "INSERT INTO orders (order_no, {}) VALUES ($1, {})",
        ORDER_COLUMNS.join(", "),
        values.join(", ")
    );
    let q = bind_order(sqlx::query(&sql).bind(&o.order_no), o)?;
    q.execute(&mut **tx).await.map_err(|e| {
        if is_unique_violation(&e) {
            PlatformError::Conflict(format!("order_no {} is taken", o.order_no))
        } else {
            e.into()
        }
    })?;
    Ok(())
}

/// Writes every mutable column if the order still has status `from` (a concurrent change
/// holds the row lock; this waits and then re-checks the status). Returns rows changed.
async fn update_order_row(tx: &mut Tx, o: &Order, from: OrderStatus) -> Result<u64> {
    let sets: Vec<String> = ORDER_COLUMNS
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{c} = ${}", i + 3))
        .collect();
    let sql = format!(
        "UPDATE orders SET {} WHERE order_no = $1 AND status = $2",
        sets.join(", ")
    );
    let q = sqlx::query(&sql).bind(&o.order_no).bind(from.code());
    Ok(bind_order(q, o)?.execute(&mut **tx).await?.rows_affected())
}

/// Why a compare-and-set on an order failed.
async fn refusal(tx: &mut Tx, order_no: &str, action: Action) -> PlatformError {
    let current: std::result::Result<Option<i32>, sqlx::Error> =
        sqlx::query_scalar("SELECT status FROM orders WHERE order_no = $1")
            .bind(order_no)
            .fetch_optional(&mut **tx)
            .await;
    match current {
        Ok(Some(code)) => match status(code) {
            Ok(status) => PlatformError::WrongState {
                order_no: order_no.to_string(),
                status,
                action,
            },
            Err(e) => e,
        },
        Ok(None) => PlatformError::OrderNotFound(order_no.to_string()),
        Err(e) => e.into(),
    }
}

/// Moves a callback to `state`, clearing its lease, if its state is in `only_from` (any if
/// empty). True if moved.
async fn set_state(
    tx: &mut Tx,
    id: i64,
    state: CallbackState,
    next_attempt_at: Option<DateTime<Utc>>,
    only_from: &[CallbackState],
    at: DateTime<Utc>,
) -> Result<bool> {
    let from: Vec<&str> = only_from.iter().map(|s| s.as_str()).collect();
    let done = sqlx::query(
        "UPDATE callbacks SET state = $1, lease_until = NULL,
            next_attempt_at = COALESCE($2, next_attempt_at), updated_at = $3
         WHERE id = $4 AND (cardinality($5::text[]) = 0 OR state = ANY($5))",
    )
    .bind(state.as_str())
    .bind(opt_ms(next_attempt_at))
    .bind(ms(at))
    .bind(id)
    .bind(&from)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

#[async_trait]
impl Repo for PostgresRepo {
    async fn insert_app(&self, app: &App) -> Result<App> {
        let mut tx = self.begin().await?;
        let app_id: i64 = sqlx::query_scalar(
            "INSERT INTO apps (name, key_hash, key_prefix, sign, webhook_secret,
                prev_webhook_secret, prev_webhook_secret_until, balance_fen, sandbox, disabled,
                callback_format, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $9, $10, $11) RETURNING app_id",
        )
        .bind(&app.name)
        .bind(&app.key_hash)
        .bind(&app.key_prefix)
        .bind(&app.sign)
        .bind(&app.webhook_secret)
        .bind(&app.prev_webhook_secret)
        .bind(opt_ms(app.prev_webhook_secret_until))
        .bind(app.sandbox)
        .bind(app.disabled)
        .bind(app.callback_format.as_str())
        .bind(ms(app.created_at))
        .fetch_one(&mut *tx)
        .await?;
        if app.balance_fen != 0 {
            let opening = Credit {
                app_id,
                order_no: None,
                kind: LedgerKind::Topup,
                amount_fen: app.balance_fen,
                note: Some("opening balance".into()),
                at: app.created_at,
            };
            credit_in(&mut tx, &opening).await?;
        }
        tx.commit().await?;
        Ok(App {
            app_id,
            ..app.clone()
        })
    }

    async fn app(&self, app_id: i64) -> Result<Option<App>> {
        sqlx::query("SELECT * FROM apps WHERE app_id = $1")
            .bind(app_id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(app_row)
            .transpose()
    }

    async fn app_by_key_hash(&self, key_hash: &str) -> Result<Option<App>> {
        sqlx::query("SELECT * FROM apps WHERE key_hash = $1")
            .bind(key_hash)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(app_row)
            .transpose()
    }

    async fn apps(&self) -> Result<Vec<App>> {
        let rows = sqlx::query("SELECT * FROM apps ORDER BY app_id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(app_row).collect()
    }

    async fn set_app_key(
        &self,
        app_id: i64,
        key_hash: &str,
        prefix: &str,
        sign: &str,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE apps SET key_hash = $1, key_prefix = $2, sign = $3 WHERE app_id = $4",
        )
        .bind(key_hash)
        .bind(prefix)
        .bind(sign)
        .bind(app_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn set_app_disabled(&self, app_id: i64, disabled: bool) -> Result<bool> {
        let done = sqlx::query("UPDATE apps SET disabled = $1 WHERE app_id = $2")
            .bind(disabled)
            .bind(app_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn set_app_webhook_secret(
        &self,
        app_id: i64,
        secret: &str,
        prev: Option<&str>,
        prev_until: Option<DateTime<Utc>>,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE apps SET webhook_secret = $1, prev_webhook_secret = $2,
                prev_webhook_secret_until = $3 WHERE app_id = $4",
        )
        .bind(secret)
        .bind(prev)
        .bind(opt_ms(prev_until))
        .bind(app_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn credit(&self, credit: &Credit) -> Result<LedgerEntry> {
        let mut tx = self.begin().await?;
        let entry = credit_in(&mut tx, credit).await?;
        tx.commit().await?;
        Ok(entry)
    }

    async fn ledger(&self, app_id: i64, n: u32) -> Result<Vec<LedgerEntry>> {
        let rows = sqlx::query("SELECT * FROM ledger WHERE app_id = $1 ORDER BY id DESC LIMIT $2")
            .bind(app_id)
            .bind(limit(n))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(ledger_row).collect()
    }

    async fn held_fen(&self, app_id: i64) -> Result<i64> {
        let held: i64 = sqlx::query_scalar(
            "SELECT COALESCE(SUM(price_fen), 0)::BIGINT FROM orders
             WHERE app_id = $1 AND status = ANY($2)",
        )
        .bind(app_id)
        .bind(codes(&[OrderStatus::Pending, OrderStatus::Reviewing]))
        .fetch_one(&self.pool)
        .await?;
        Ok(held)
    }

    async fn insert_pic(&self, p: &Pic) -> Result<()> {
        sqlx::query(
            "INSERT INTO pics (pic_id, app_id, item_id, photos, original_key, png_key, print_key,
                               checks, used_by, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&p.pic_id)
        .bind(p.app_id)
        .bind(p.item_id)
        .bind(json_text(&p.photos)?)
        .bind(&p.original_key)
        .bind(&p.png_key)
        .bind(&p.print_key)
        .bind(json_text(&p.checks)?)
        .bind(&p.used_by)
        .bind(ms(p.created_at))
        .bind(ms(p.expires_at))
        .execute(&self.pool)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                PlatformError::Conflict(format!("pic_id {} is taken", p.pic_id))
            } else {
                e.into()
            }
        })?;
        Ok(())
    }

    async fn pic(&self, pic_id: &str) -> Result<Option<Pic>> {
        sqlx::query("SELECT * FROM pics WHERE pic_id = $1")
            .bind(pic_id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(pic_row)
            .transpose()
    }

    async fn unsubmitted_pics_expired(&self, before: DateTime<Utc>, n: u32) -> Result<Vec<Pic>> {
        let rows = sqlx::query(
            "SELECT * FROM pics WHERE used_by IS NULL AND expires_at < $1
             ORDER BY expires_at LIMIT $2",
        )
        .bind(ms(before))
        .bind(limit(n))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(pic_row).collect()
    }

    async fn finish_pic(
        &self,
        pic_id: &str,
        checks: &serde_json::Value,
        expires_at: DateTime<Utc>,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE pics SET checks = $1, expires_at = $2 WHERE pic_id = $3 AND used_by IS NULL",
        )
        .bind(json_text(checks)?)
        .bind(ms(expires_at))
        .bind(pic_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn delete_unsubmitted_pic(&self, pic_id: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM pics WHERE pic_id = $1 AND used_by IS NULL")
            .bind(pic_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn pics_of_order(&self, order_no: &str) -> Result<Vec<Pic>> {
        let rows = sqlx::query("SELECT * FROM pics WHERE used_by = $1 ORDER BY created_at")
            .bind(order_no)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(pic_row).collect()
    }

    async fn order_serial(&self) -> Result<Option<i64>> {
        let n: i64 = sqlx::query_scalar("SELECT nextval('order_no_serial')")
            .fetch_one(&self.pool)
            .await?;
        Ok(Some(n))
    }

    async fn insert_order(&self, new: &NewOrder) -> Result<Order> {
        let o = &new.order;
        let mut tx = self.begin().await?;
        insert_order_row(&mut tx, o).await?;
        use_pic(&mut tx, &o.pic_id, &o.order_no).await?;
        insert_event(&mut tx, &new.event).await?;
        if new.reserve {
            check_reserve(&mut tx, o.app_id, o.price_fen).await?;
        }
        tx.commit().await?;
        Ok(o.clone())
    }

    async fn apply(&self, t: &Transition) -> Result<Order> {
        let o = &t.order;
        let mut tx = self.begin().await?;
        if update_order_row(&mut tx, o, t.from).await? == 0 {
            return Err(refusal(&mut tx, &o.order_no, t.event.action).await);
        }
        if t.use_pic {
            use_pic(&mut tx, &o.pic_id, &o.order_no).await?;
        }
        insert_event(&mut tx, &t.event).await?;
        if let Some(cb) = &t.callback {
            insert_callback(&mut tx, o, cb, ms(t.event.at)).await?;
        }
        if let Some(fen) = t.charge_fen {
            let charge = Credit {
                app_id: o.app_id,
                order_no: Some(o.order_no.clone()),
                kind: LedgerKind::Charge,
                amount_fen: -fen,
                note: None,
                at: t.event.at,
            };
            credit_in(&mut tx, &charge).await?;
        }
        if t.reserve {
            check_reserve(&mut tx, o.app_id, o.price_fen).await?;
        }
        tx.commit().await?;
        Ok(o.clone())
    }

    async fn order(&self, order_no: &str) -> Result<Option<Order>> {
        sqlx::query("SELECT * FROM orders WHERE order_no = $1")
            .bind(order_no)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(order_row)
            .transpose()
    }

    async fn orders(&self, f: &OrderFilter) -> Result<Vec<Order>> {
        let order_by = if f.oldest_first {
            "submitted_at, order_no"
        } else {
            "submitted_at DESC, order_no DESC"
        };
        let sql = format!(
            "SELECT * FROM orders WHERE ($1::INTEGER IS NULL OR status = $1)
               AND ($2::BIGINT IS NULL OR app_id = $2)
             ORDER BY {order_by} LIMIT $3"
        );
        let rows = sqlx::query(&sql)
            .bind(f.status.map(OrderStatus::code))
            .bind(f.app_id)
            .bind(limit(f.limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(order_row).collect()
    }

    async fn orders_by_receipt_no(&self, receipt_no: &str) -> Result<Vec<Order>> {
        let rows = sqlx::query("SELECT * FROM orders WHERE receipt_no = $1 LIMIT 100")
            .bind(receipt_no)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(order_row).collect()
    }

    async fn order_events(&self, order_no: &str) -> Result<Vec<OrderEvent>> {
        let rows = sqlx::query("SELECT * FROM order_events WHERE order_no = $1 ORDER BY id")
            .bind(order_no)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(event_row).collect()
    }

    async fn order_counts(&self, app_id: i64) -> Result<OrderCounts> {
        let rows = sqlx::query(
            "SELECT status, COUNT(*) AS n FROM orders WHERE app_id = $1 GROUP BY status
             ORDER BY status DESC",
        )
        .bind(app_id)
        .fetch_all(&self.pool)
        .await?;
        let counts = rows
            .iter()
            .map(|r| Ok((status(r.try_get("status")?)?, r.try_get("n")?)))
            .collect::<Result<Vec<_>>>()?;
        Ok(OrderCounts(counts))
    }

    async fn sandbox_orders(
        &self,
        status: OrderStatus,
        before: DateTime<Utc>,
        n: u32,
    ) -> Result<Vec<Order>> {
        let rows = sqlx::query(
            "SELECT o.* FROM orders o JOIN apps a ON a.app_id = o.app_id
             WHERE a.sandbox AND o.status = $1 AND o.updated_at < $2
             ORDER BY o.updated_at LIMIT $3",
        )
        .bind(status.code())
        .bind(ms(before))
        .bind(limit(n))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(order_row).collect()
    }

    async fn orders_to_purge(
        &self,
        statuses: &[OrderStatus],
        before: DateTime<Utc>,
        n: u32,
    ) -> Result<Vec<Order>> {
        let rows = sqlx::query(
            "SELECT * FROM orders WHERE purged_at IS NULL AND updated_at < $1
               AND status = ANY($2)
             ORDER BY updated_at LIMIT $3",
        )
        .bind(ms(before))
        .bind(codes(statuses))
        .bind(limit(n))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(order_row).collect()
    }

    async fn purge_order(
        &self,
        order_no: &str,
        statuses: &[OrderStatus],
        before: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        let done = sqlx::query(
            "UPDATE orders SET params = NULL, print_param = NULL, param_files = '[]',
                receipt_key = NULL, image_key = NULL, print_key = NULL, purged_at = $1
             WHERE order_no = $2 AND purged_at IS NULL AND updated_at < $3
               AND status = ANY($4)",
        )
        .bind(ms(at))
        .bind(order_no)
        .bind(ms(before))
        .bind(codes(statuses))
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query("DELETE FROM pics WHERE used_by = $1")
            .bind(order_no)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn claim_due_callbacks(&self, claim: &CallbackClaim) -> Result<Vec<Callback>> {
        let per_target = if claim.per_target == 0 {
            claim.limit
        } else {
            claim.per_target
        };
        let mut tx = self.begin().await?;
        let rows = sqlx::query(CLAIM_SQL)
            .bind(ms(claim.lease_until))
            .bind(ms(claim.now))
            .bind(limit(claim.limit))
            .bind(limit(claim.limit).saturating_mul(8).clamp(64, 4096))
            .bind(i64::from(per_target.max(1)))
            .bind(&claim.skip_targets)
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        let mut claimed = rows.iter().map(callback_row).collect::<Result<Vec<_>>>()?;
        claimed.sort_by_key(|c| c.id);
        Ok(claimed)
    }

    async fn record_attempt(
        &self,
        a: &CallbackAttempt,
        outcome: Option<AttemptOutcome>,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO callback_attempts (callback_id, at, http_status, latency_ms,
                                            response_head, error)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(a.callback_id)
        .bind(ms(a.at))
        .bind(a.http_status.map(i64::from))
        .bind(a.latency_ms)
        .bind(&a.response_head)
        .bind(&a.error)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE callbacks SET attempts = attempts + 1, updated_at = $1 WHERE id = $2")
            .bind(ms(a.at))
            .bind(a.callback_id)
            .execute(&mut *tx)
            .await?;
        if let Some(outcome) = outcome {
            let (state, next) = outcome.target();
            let from = [CallbackState::Pending, CallbackState::Delivering];
            set_state(&mut tx, a.callback_id, state, next, &from, a.at).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn set_callback_state(
        &self,
        id: i64,
        state: CallbackState,
        next_attempt_at: Option<DateTime<Utc>>,
        only_from: &[CallbackState],
        at: DateTime<Utc>,
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        let moved = set_state(&mut tx, id, state, next_attempt_at, only_from, at).await?;
        tx.commit().await?;
        Ok(moved)
    }

    async fn callback(&self, id: i64) -> Result<Option<Callback>> {
        sqlx::query("SELECT * FROM callbacks WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(callback_row)
            .transpose()
    }

    async fn callbacks(&self, f: &CallbackFilter) -> Result<Vec<Callback>> {
        let rows = sqlx::query(
            "SELECT * FROM callbacks WHERE ($1::TEXT IS NULL OR order_no = $1)
               AND ($2::TEXT IS NULL OR state = $2)
             ORDER BY id LIMIT $3",
        )
        .bind(&f.order_no)
        .bind(f.state.map(CallbackState::as_str))
        .bind(limit(f.limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(callback_row).collect()
    }

    async fn callback_attempts(&self, callback_id: i64) -> Result<Vec<CallbackAttempt>> {
        let rows =
            sqlx::query("SELECT * FROM callback_attempts WHERE callback_id = $1 ORDER BY id")
                .bind(callback_id)
                .fetch_all(&self.pool)
                .await?;
        rows.iter().map(attempt_row).collect()
    }

    async fn claim_job(
        &self,
        name: &str,
        holder: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO job_leases (name, holder, lease_until) VALUES ($1, '', 0)
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .execute(&mut *tx)
        .await?;
        // A node renewing or taking the lease right now holds the row: pass it over.
        let done = sqlx::query(
            "UPDATE job_leases SET holder = $2, lease_until = $3
             WHERE name = (SELECT name FROM job_leases
                           WHERE name = $1 AND (lease_until <= $4 OR holder = $2)
                           FOR UPDATE SKIP LOCKED)",
        )
        .bind(name)
        .bind(holder)
        .bind(ms(lease_until))
        .bind(ms(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    // ---- the console (queries in postgres/console.rs)

    async fn insert_operator(&self, op: &Operator) -> Result<()> {
        console::insert_operator(&self.pool, op).await
    }

    async fn operator(&self, name: &str) -> Result<Option<Operator>> {
        console::operator(&self.pool, name).await
    }

    async fn operators(&self) -> Result<Vec<Operator>> {
        console::operators(&self.pool).await
    }

    async fn update_operator(&self, op: &Operator) -> Result<bool> {
        console::update_operator(&self.pool, op).await
    }

    async fn count_login_failure(
        &self,
        name: &str,
        lock_after: u32,
        locked_until: DateTime<Utc>,
    ) -> Result<Option<Operator>> {
        console::count_login_failure(&self.pool, name, lock_after, locked_until).await
    }

    async fn insert_session(&self, session: &Session) -> Result<()> {
        console::insert_session(&self.pool, session).await
    }

    async fn session(&self, token_hash: &str) -> Result<Option<Session>> {
        console::session(&self.pool, token_hash).await
    }

    async fn delete_session(&self, token_hash: &str) -> Result<bool> {
        console::delete_session(&self.pool, token_hash).await
    }

    async fn delete_sessions_of(&self, operator: &str) -> Result<u64> {
        console::delete_sessions_of(&self.pool, operator).await
    }

    async fn insert_audit(&self, entry: &AuditEntry) -> Result<()> {
        console::insert_audit(&self.pool, entry).await
    }

    async fn audit_log(&self, operator: Option<&str>, n: u32) -> Result<Vec<AuditEntry>> {
        console::audit_log(&self.pool, operator, n).await
    }

    async fn set_spec_override(&self, o: &SpecOverride) -> Result<()> {
        console::set_spec_override(&self.pool, o).await
    }

    async fn spec_overrides(&self) -> Result<Vec<SpecOverride>> {
        console::spec_overrides(&self.pool).await
    }
}

/// The claim, as on SQLite, with row locks for several nodes: the oldest due rows (at most
/// $4 looked at, none of a skipped target $6, none behind an unfinished older callback of the
/// same order) are locked `FOR UPDATE SKIP LOCKED`, so a row another node is claiming right
/// now is passed over, and one it claimed a moment ago is re-checked on its new version
/// (now `delivering` with a fresh lease: no longer due). Then at most $5 per target, $3 in
/// all, become `delivering` until $1. $2 is now.
const CLAIM_SQL: &str = "
WITH pending AS (
    SELECT c.id, c.next_attempt_at, COALESCE(c.target, c.notice_url) AS dest
    FROM callbacks c
    WHERE c.state = 'pending' AND c.next_attempt_at <= $2
      AND NOT EXISTS (SELECT 1 FROM callbacks p
                      WHERE p.order_no = c.order_no AND p.id < c.id
                        AND p.state IN ('pending', 'delivering'))
      AND COALESCE(c.target, c.notice_url) <> ALL($6::TEXT[])
    ORDER BY c.next_attempt_at, c.id LIMIT $4
    FOR UPDATE OF c SKIP LOCKED
), expired AS (
    SELECT c.id, c.next_attempt_at, COALESCE(c.target, c.notice_url) AS dest
    FROM callbacks c
    WHERE c.state = 'delivering' AND c.lease_until <= $2
      AND NOT EXISTS (SELECT 1 FROM callbacks p
                      WHERE p.order_no = c.order_no AND p.id < c.id
                        AND p.state IN ('pending', 'delivering'))
      AND COALESCE(c.target, c.notice_url) <> ALL($6::TEXT[])
    ORDER BY c.next_attempt_at, c.id LIMIT $4
    FOR UPDATE OF c SKIP LOCKED
), ranked AS (
    SELECT d.id, d.next_attempt_at,
           ROW_NUMBER() OVER (PARTITION BY d.dest ORDER BY d.next_attempt_at, d.id) AS nth
    FROM (SELECT * FROM pending UNION ALL SELECT * FROM expired) d
), picked AS (
    SELECT id FROM ranked WHERE nth <= $5 ORDER BY next_attempt_at, id LIMIT $3
)
UPDATE callbacks SET state = 'delivering', lease_until = $1, updated_at = $2
WHERE id IN (SELECT id FROM picked)
RETURNING *";
