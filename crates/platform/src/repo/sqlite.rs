//! [`Repo`] on SQLite: WAL, one writer connection (transactions `BEGIN IMMEDIATE`, so a CLI
//! process and `serve` can write the same file), a pool of read-only readers.
//! Times are stored as Unix milliseconds, JSON as text.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Row, Sqlite, Transaction};
use std::path::Path;
use std::time::Duration;

use super::{Credit, NewOrder, OutboxBacklog, Repo, Transition};
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

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");

/// How long a writer waits for another process's write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
const READERS: u32 = 4;
const DEFAULT_LIMIT: u32 = 100;

/// The SQLite repository.
#[derive(Debug, Clone)]
pub struct SqliteRepo {
    writer: SqlitePool,
    reader: SqlitePool,
}

type Tx = Transaction<'static, Sqlite>;

impl SqliteRepo {
    /// Opens (creating if missing) the database file and runs the migrations.
    pub async fn open(path: &Path) -> Result<Self> {
        let base = SqliteConnectOptions::new()
            .filename(path)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(base.clone().create_if_missing(true))
            .await?;
        MIGRATOR.run(&writer).await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(READERS)
            .connect_with(base.read_only(true))
            .await?;
        Ok(Self { writer, reader })
    }

    /// Closes both pools (checkpointing the WAL).
    pub async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }

    async fn begin(&self) -> Result<Tx> {
        Ok(self.writer.begin_with("BEGIN IMMEDIATE").await?)
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

fn placeholders(n: usize) -> String {
    vec!["?"; n.max(1)].join(", ")
}

fn limit(n: u32) -> i64 {
    i64::from(if n == 0 { DEFAULT_LIMIT } else { n })
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .is_some_and(|d| d.is_unique_violation())
}

// ---- rows

fn app_row(r: &SqliteRow) -> Result<App> {
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

fn pic_row(r: &SqliteRow) -> Result<Pic> {
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

fn order_row(r: &SqliteRow) -> Result<Order> {
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

fn event_row(r: &SqliteRow) -> Result<OrderEvent> {
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

fn callback_row(r: &SqliteRow) -> Result<Callback> {
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

fn attempt_row(r: &SqliteRow) -> Result<CallbackAttempt> {
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

fn ledger_row(r: &SqliteRow) -> Result<LedgerEntry> {
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
         VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
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

/// Adds `c.amount_fen` to the balance and writes the ledger row.
async fn credit_in(tx: &mut Tx, c: &Credit) -> Result<LedgerEntry> {
    let balance: Option<i64> = sqlx::query_scalar(
        "UPDATE apps SET balance_fen = balance_fen + ? WHERE app_id = ? RETURNING balance_fen",
    )
    .bind(c.amount_fen)
    .bind(c.app_id)
    .fetch_optional(&mut **tx)
    .await?;
    let balance = balance.ok_or(PlatformError::AppNotFound(c.app_id))?;
    insert_ledger(tx, c, balance).await
}

/// Refuses unless the app's balance covers every order holding balance (this one included).
async fn check_reserve(tx: &mut Tx, app_id: i64, price_fen: i64) -> Result<()> {
    let row = sqlx::query(
        "SELECT a.balance_fen AS balance,
                COALESCE((SELECT SUM(o.price_fen) FROM orders o
                          WHERE o.app_id = a.app_id AND o.status IN (?, ?)), 0) AS held
         FROM apps a WHERE a.app_id = ?",
    )
    .bind(OrderStatus::Pending.code())
    .bind(OrderStatus::Reviewing.code())
    .bind(app_id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(PlatformError::AppNotFound(app_id))?;
    let (balance, held): (i64, i64) = (row.try_get("balance")?, row.try_get("held")?);
    if balance < held {
        return Err(PlatformError::InsufficientBalance {
            available_fen: balance - (held - price_fen),
            price_fen,
        });
    }
    Ok(())
}

async fn use_pic(tx: &mut Tx, pic_id: &str, order_no: &str) -> Result<()> {
    let done = sqlx::query("UPDATE pics SET used_by = ? WHERE pic_id = ? AND used_by IS NULL")
        .bind(order_no)
        .bind(pic_id)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    if done == 1 {
        return Ok(());
    }
    let used: Option<Option<String>> =
        sqlx::query_scalar("SELECT used_by FROM pics WHERE pic_id = ?")
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
         VALUES (?, ?, ?, ?, ?, ?, ?)",
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
         VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?)",
    )
    .bind(&c.webhook_id)
    .bind(&o.order_no)
    .bind(o.app_id)
    .bind(c.payload.status)
    .bind(&c.notice_url)
    .bind(callback::target(&c.notice_url))
    .bind(json_text(&c.payload)?)
    .bind(at)
    .bind(at)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn insert_order_row(tx: &mut Tx, o: &Order) -> Result<()> {
    sqlx::query(
        "INSERT INTO orders (order_no, app_id, pic_id, item_id, status, notice_url, params,
            param_files, is_print, print_param, price_fen, sla_due_at, submitted_at, updated_at,
            reviewed_at, completed_at, reviewer, reject_msg, receipt_no, receipt_key, image_key,
            print_key, purged_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&o.order_no)
    .bind(o.app_id)
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
    .bind(opt_ms(o.purged_at))
    .execute(&mut **tx)
    .await
    .map_err(|e| {
        if is_unique_violation(&e) {
            PlatformError::Conflict(format!("order_no {} is taken", o.order_no))
        } else {
            e.into()
        }
    })?;
    Ok(())
}

/// Writes every mutable column if the order still has status `from`. Returns rows changed.
async fn update_order_row(tx: &mut Tx, o: &Order, from: OrderStatus) -> Result<u64> {
    let done = sqlx::query(
        "UPDATE orders SET pic_id = ?, item_id = ?, status = ?, notice_url = ?, params = ?,
            param_files = ?, is_print = ?, print_param = ?, price_fen = ?, sla_due_at = ?,
            submitted_at = ?, updated_at = ?, reviewed_at = ?, completed_at = ?, reviewer = ?,
            reject_msg = ?, receipt_no = ?, receipt_key = ?, image_key = ?, print_key = ?,
            purged_at = ?
         WHERE order_no = ? AND status = ?",
    )
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
    .bind(opt_ms(o.purged_at))
    .bind(&o.order_no)
    .bind(from.code())
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected())
}

/// Why a compare-and-set on an order failed.
async fn refusal(tx: &mut Tx, order_no: &str, action: Action) -> PlatformError {
    let current: std::result::Result<Option<i32>, sqlx::Error> =
        sqlx::query_scalar("SELECT status FROM orders WHERE order_no = ?")
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
    let guard = if only_from.is_empty() {
        String::new()
    } else {
        format!(" AND state IN ({})", placeholders(only_from.len()))
    };
    let sql = format!(
        "UPDATE callbacks SET state = ?, lease_until = NULL,
            next_attempt_at = COALESCE(?, next_attempt_at), updated_at = ?
         WHERE id = ?{guard}"
    );
    let mut q = sqlx::query(&sql)
        .bind(state.as_str())
        .bind(opt_ms(next_attempt_at))
        .bind(ms(at))
        .bind(id);
    for s in only_from {
        q = q.bind(s.as_str());
    }
    Ok(q.execute(&mut **tx).await?.rows_affected() == 1)
}

#[async_trait]
impl Repo for SqliteRepo {
    async fn insert_app(&self, app: &App) -> Result<App> {
        let mut tx = self.begin().await?;
        let app_id: i64 = sqlx::query_scalar(
            "INSERT INTO apps (name, key_hash, key_prefix, sign, webhook_secret,
                prev_webhook_secret, prev_webhook_secret_until, balance_fen, sandbox, disabled,
                callback_format, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?) RETURNING app_id",
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
        sqlx::query("SELECT * FROM apps WHERE app_id = ?")
            .bind(app_id)
            .fetch_optional(&self.reader)
            .await?
            .as_ref()
            .map(app_row)
            .transpose()
    }

    async fn app_by_key_hash(&self, key_hash: &str) -> Result<Option<App>> {
        sqlx::query("SELECT * FROM apps WHERE key_hash = ?")
            .bind(key_hash)
            .fetch_optional(&self.reader)
            .await?
            .as_ref()
            .map(app_row)
            .transpose()
    }

    async fn apps(&self) -> Result<Vec<App>> {
        let rows = sqlx::query("SELECT * FROM apps ORDER BY app_id")
            .fetch_all(&self.reader)
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
        let done =
            sqlx::query("UPDATE apps SET key_hash = ?, key_prefix = ?, sign = ? WHERE app_id = ?")
                .bind(key_hash)
                .bind(prefix)
                .bind(sign)
                .bind(app_id)
                .execute(&self.writer)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn set_app_disabled(&self, app_id: i64, disabled: bool) -> Result<bool> {
        let done = sqlx::query("UPDATE apps SET disabled = ? WHERE app_id = ?")
            .bind(disabled)
            .bind(app_id)
            .execute(&self.writer)
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
            "UPDATE apps SET webhook_secret = ?, prev_webhook_secret = ?,
                prev_webhook_secret_until = ? WHERE app_id = ?",
        )
        .bind(secret)
        .bind(prev)
        .bind(opt_ms(prev_until))
        .bind(app_id)
        .execute(&self.writer)
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
        let rows = sqlx::query("SELECT * FROM ledger WHERE app_id = ? ORDER BY id DESC LIMIT ?")
            .bind(app_id)
            .bind(limit(n))
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(ledger_row).collect()
    }

    async fn held_fen(&self, app_id: i64) -> Result<i64> {
        let held: i64 = sqlx::query_scalar(
            "SELECT COALESCE(SUM(price_fen), 0) FROM orders WHERE app_id = ? AND status IN (?, ?)",
        )
        .bind(app_id)
        .bind(OrderStatus::Pending.code())
        .bind(OrderStatus::Reviewing.code())
        .fetch_one(&self.reader)
        .await?;
        Ok(held)
    }

    async fn insert_pic(&self, p: &Pic) -> Result<()> {
        sqlx::query(
            "INSERT INTO pics (pic_id, app_id, item_id, photos, original_key, png_key, print_key,
                               checks, used_by, created_at, expires_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
        .execute(&self.writer)
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
        sqlx::query("SELECT * FROM pics WHERE pic_id = ?")
            .bind(pic_id)
            .fetch_optional(&self.reader)
            .await?
            .as_ref()
            .map(pic_row)
            .transpose()
    }

    async fn unsubmitted_pics_expired(&self, before: DateTime<Utc>, n: u32) -> Result<Vec<Pic>> {
        let rows = sqlx::query(
            "SELECT * FROM pics WHERE used_by IS NULL AND expires_at < ?
             ORDER BY expires_at LIMIT ?",
        )
        .bind(ms(before))
        .bind(limit(n))
        .fetch_all(&self.reader)
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
            "UPDATE pics SET checks = ?, expires_at = ? WHERE pic_id = ? AND used_by IS NULL",
        )
        .bind(json_text(checks)?)
        .bind(ms(expires_at))
        .bind(pic_id)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn delete_unsubmitted_pic(&self, pic_id: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM pics WHERE pic_id = ? AND used_by IS NULL")
            .bind(pic_id)
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn pics_of_order(&self, order_no: &str) -> Result<Vec<Pic>> {
        let rows = sqlx::query("SELECT * FROM pics WHERE used_by = ? ORDER BY created_at")
            .bind(order_no)
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(pic_row).collect()
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
        sqlx::query("SELECT * FROM orders WHERE order_no = ?")
            .bind(order_no)
            .fetch_optional(&self.reader)
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
            "SELECT * FROM orders WHERE (? IS NULL OR status = ?) AND (? IS NULL OR app_id = ?)
             ORDER BY {order_by} LIMIT ?"
        );
        let code = f.status.map(OrderStatus::code);
        let rows = sqlx::query(&sql)
            .bind(code)
            .bind(code)
            .bind(f.app_id)
            .bind(f.app_id)
            .bind(limit(f.limit))
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(order_row).collect()
    }

    async fn orders_by_receipt_no(&self, receipt_no: &str) -> Result<Vec<Order>> {
        let rows = sqlx::query("SELECT * FROM orders WHERE receipt_no = ? LIMIT 100")
            .bind(receipt_no)
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(order_row).collect()
    }

    async fn order_events(&self, order_no: &str) -> Result<Vec<OrderEvent>> {
        let rows = sqlx::query("SELECT * FROM order_events WHERE order_no = ? ORDER BY id")
            .bind(order_no)
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(event_row).collect()
    }

    async fn order_counts(&self, app_id: i64) -> Result<OrderCounts> {
        let rows = sqlx::query(
            "SELECT status, COUNT(*) AS n FROM orders WHERE app_id = ? GROUP BY status
             ORDER BY status DESC",
        )
        .bind(app_id)
        .fetch_all(&self.reader)
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
             WHERE a.sandbox = 1 AND o.status = ? AND o.updated_at < ?
             ORDER BY o.updated_at LIMIT ?",
        )
        .bind(status.code())
        .bind(ms(before))
        .bind(limit(n))
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(order_row).collect()
    }

    async fn orders_to_purge(
        &self,
        statuses: &[OrderStatus],
        before: DateTime<Utc>,
        n: u32,
    ) -> Result<Vec<Order>> {
        let sql = format!(
            "SELECT * FROM orders WHERE purged_at IS NULL AND updated_at < ? AND status IN ({})
             ORDER BY updated_at LIMIT ?",
            placeholders(statuses.len())
        );
        let mut q = sqlx::query(&sql).bind(ms(before));
        for s in statuses_or_none(statuses) {
            q = q.bind(s);
        }
        let rows = q.bind(limit(n)).fetch_all(&self.reader).await?;
        rows.iter().map(order_row).collect()
    }

    async fn purge_order(
        &self,
        order_no: &str,
        statuses: &[OrderStatus],
        before: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> Result<bool> {
        let sql = format!(
            "UPDATE orders SET params = NULL, print_param = NULL, param_files = '[]',
                receipt_key = NULL, image_key = NULL, print_key = NULL, purged_at = ?
             WHERE order_no = ? AND purged_at IS NULL AND updated_at < ? AND status IN ({})",
            placeholders(statuses.len())
        );
        let mut tx = self.begin().await?;
        let mut q = sqlx::query(&sql)
            .bind(ms(at))
            .bind(order_no)
            .bind(ms(before));
        for s in statuses_or_none(statuses) {
            q = q.bind(s);
        }
        if q.execute(&mut *tx).await?.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query("DELETE FROM pics WHERE used_by = ?")
            .bind(order_no)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn claim_due_callbacks(&self, claim: &CallbackClaim) -> Result<Vec<Callback>> {
        let sql = claim_sql(claim.skip_targets.len());
        let per_target = if claim.per_target == 0 {
            claim.limit
        } else {
            claim.per_target
        };
        let mut q = sqlx::query(&sql)
            .bind(ms(claim.lease_until))
            .bind(ms(claim.now))
            .bind(limit(claim.limit))
            .bind(limit(claim.limit).saturating_mul(8).clamp(64, 4096))
            .bind(i64::from(per_target.max(1)));
        for t in &claim.skip_targets {
            q = q.bind(t);
        }
        let mut tx = self.begin().await?;
        let rows = q.fetch_all(&mut *tx).await?;
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
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(a.callback_id)
        .bind(ms(a.at))
        .bind(a.http_status.map(i64::from))
        .bind(a.latency_ms)
        .bind(&a.response_head)
        .bind(&a.error)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE callbacks SET attempts = attempts + 1, updated_at = ? WHERE id = ?")
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
        sqlx::query("SELECT * FROM callbacks WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.reader)
            .await?
            .as_ref()
            .map(callback_row)
            .transpose()
    }

    async fn callbacks(&self, f: &CallbackFilter) -> Result<Vec<Callback>> {
        let rows = sqlx::query(
            "SELECT * FROM callbacks WHERE (? IS NULL OR order_no = ?) AND (? IS NULL OR state = ?)
             ORDER BY id LIMIT ?",
        )
        .bind(&f.order_no)
        .bind(&f.order_no)
        .bind(f.state.map(CallbackState::as_str))
        .bind(f.state.map(CallbackState::as_str))
        .bind(limit(f.limit))
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(callback_row).collect()
    }

    async fn callback_attempts(&self, callback_id: i64) -> Result<Vec<CallbackAttempt>> {
        let rows = sqlx::query("SELECT * FROM callback_attempts WHERE callback_id = ? ORDER BY id")
            .bind(callback_id)
            .fetch_all(&self.reader)
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
        // The single writer serialises claims; the upsert's WHERE keeps a live lease.
        let done = sqlx::query(
            "INSERT INTO job_leases (name, holder, lease_until) VALUES (?1, ?2, ?3)
             ON CONFLICT (name) DO UPDATE SET holder = ?2, lease_until = ?3
             WHERE job_leases.lease_until <= ?4 OR job_leases.holder = ?2",
        )
        .bind(name)
        .bind(holder)
        .bind(ms(lease_until))
        .bind(ms(now))
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    // ---- the console (queries in sqlite/console.rs)

    async fn insert_operator(&self, op: &Operator) -> Result<()> {
        console::insert_operator(&self.writer, op).await
    }

    async fn operator(&self, name: &str) -> Result<Option<Operator>> {
        console::operator(&self.reader, name).await
    }

    async fn operators(&self) -> Result<Vec<Operator>> {
        console::operators(&self.reader).await
    }

    async fn update_operator(&self, op: &Operator) -> Result<bool> {
        console::update_operator(&self.writer, op).await
    }

    async fn count_login_failure(
        &self,
        name: &str,
        lock_after: u32,
        locked_until: DateTime<Utc>,
    ) -> Result<Option<Operator>> {
        console::count_login_failure(&self.writer, name, lock_after, locked_until).await
    }

    async fn insert_session(&self, session: &Session) -> Result<()> {
        console::insert_session(&self.writer, session).await
    }

    async fn session(&self, token_hash: &str) -> Result<Option<Session>> {
        console::session(&self.reader, token_hash).await
    }

    async fn delete_session(&self, token_hash: &str) -> Result<bool> {
        console::delete_session(&self.writer, token_hash).await
    }

    async fn delete_sessions_of(&self, operator: &str) -> Result<u64> {
        console::delete_sessions_of(&self.writer, operator).await
    }

    async fn insert_audit(&self, entry: &AuditEntry) -> Result<()> {
        console::insert_audit(&self.writer, entry).await
    }

    async fn audit_log(&self, operator: Option<&str>, limit: u32) -> Result<Vec<AuditEntry>> {
        console::audit_log(&self.reader, operator, limit).await
    }

    async fn set_spec_override(&self, o: &SpecOverride) -> Result<()> {
        console::set_spec_override(&self.writer, o).await
    }

    async fn spec_overrides(&self) -> Result<Vec<SpecOverride>> {
        console::spec_overrides(&self.reader).await
    }

    async fn order_counts_all(&self) -> Result<OrderCounts> {
        let rows = sqlx::query("SELECT status, COUNT(*) AS n FROM orders GROUP BY status")
            .fetch_all(&self.reader)
            .await?;
        let counts = rows
            .iter()
            .map(|r| Ok((status(r.try_get("status")?)?, r.try_get("n")?)))
            .collect::<Result<Vec<_>>>()?;
        Ok(OrderCounts(counts))
    }

    async fn outbox_backlog(&self) -> Result<OutboxBacklog> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n, MIN(next_attempt_at) AS due FROM callbacks
             WHERE state IN ('pending', 'delivering')",
        )
        .fetch_one(&self.reader)
        .await?;
        Ok(OutboxBacklog {
            waiting: row.try_get("n")?,
            oldest_due: opt_time(row.try_get("due")?)?,
        })
    }
}

/// The claim: the oldest due rows (at most ?4 looked at, none of a skipped target, none
/// behind an unfinished older callback of the same order), at most ?5 per target, ?3 in all.
/// ?1 lease_until, ?2 now, ?6… the skipped targets. Pending and lease-expired rows are two
/// scans of `callbacks_due` in its order (its entries end with the id), so a claim stops
/// after ?4 rows however long the backlog.
fn claim_sql(skipped: usize) -> String {
    let skip = if skipped == 0 {
        String::new()
    } else {
        let list: Vec<String> = (0..skipped).map(|i| format!("?{}", i + 6)).collect();
        format!(
            "AND COALESCE(c.target, c.notice_url) NOT IN ({})",
            list.join(", ")
        )
    };
    let due = |when: &str| {
        format!(
            "SELECT * FROM (
                SELECT c.id, c.next_attempt_at, COALESCE(c.target, c.notice_url) AS dest
                FROM callbacks c
                WHERE {when}
                  AND NOT EXISTS (SELECT 1 FROM callbacks p
                                  WHERE p.order_no = c.order_no AND p.id < c.id
                                    AND p.state IN ('pending', 'delivering'))
                  {skip}
                ORDER BY c.next_attempt_at, c.id LIMIT ?4)"
        )
    };
    format!(
        "UPDATE callbacks SET state = 'delivering', lease_until = ?1, updated_at = ?2
         WHERE id IN (
            SELECT id FROM (
                SELECT d.id, d.next_attempt_at,
                       ROW_NUMBER() OVER (PARTITION BY d.dest
                                          ORDER BY d.next_attempt_at, d.id) AS nth
                FROM ({} UNION ALL {}) d
            ) WHERE nth <= ?5
            ORDER BY next_attempt_at, id LIMIT ?3)
         RETURNING *",
        due("c.state = 'pending' AND c.next_attempt_at <= ?2"),
        due("c.state = 'delivering' AND c.lease_until <= ?2"),
    )
}

/// Status codes to bind for `IN (...)`; an empty list binds one impossible code.
fn statuses_or_none(statuses: &[OrderStatus]) -> Vec<i32> {
    if statuses.is_empty() {
        vec![0]
    } else {
        statuses.iter().map(|s| s.code()).collect()
    }
}
