//! The console's tables on SQLite: operators, sessions, the audit log, spec overrides.
//! Plain statements (no SQLite-only syntax) so the PostgreSQL port is a copy.

use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqlitePool, SqliteRow};
use sqlx::Row;

use super::{is_unique_violation, limit, ms, opt_ms, opt_time, time};
use crate::error::{PlatformError, Result};
use crate::operator::{AuditEntry, Operator, Role, Session, SpecOverride};

fn operator_row(r: &SqliteRow) -> Result<Operator> {
    let role: String = r.try_get("role")?;
    let failed: i64 = r.try_get("failed_logins")?;
    Ok(Operator {
        name: r.try_get("name")?,
        role: Role::parse(&role).ok_or_else(|| PlatformError::Corrupt(format!("role {role}")))?,
        password_hash: r.try_get("password_hash")?,
        failed_logins: u32::try_from(failed).unwrap_or(0),
        locked_until: opt_time(r.try_get("locked_until")?)?,
        disabled: r.try_get("disabled")?,
        created_at: time(r.try_get("created_at")?)?,
    })
}

fn session_row(r: &SqliteRow) -> Result<Session> {
    Ok(Session {
        token_hash: r.try_get("token_hash")?,
        operator: r.try_get("operator")?,
        csrf: r.try_get("csrf")?,
        created_at: time(r.try_get("created_at")?)?,
        expires_at: time(r.try_get("expires_at")?)?,
    })
}

fn audit_row(r: &SqliteRow) -> Result<AuditEntry> {
    Ok(AuditEntry {
        id: r.try_get("id")?,
        operator: r.try_get("operator")?,
        action: r.try_get("action")?,
        target: r.try_get("target")?,
        detail: r.try_get("detail")?,
        at: time(r.try_get("at")?)?,
    })
}

fn override_row(r: &SqliteRow) -> Result<SpecOverride> {
    Ok(SpecOverride {
        item_id: r.try_get("item_id")?,
        enabled: r.try_get("enabled")?,
        price_fen: r.try_get("price_fen")?,
        updated_by: r.try_get("updated_by")?,
        updated_at: time(r.try_get("updated_at")?)?,
    })
}

pub(super) async fn insert_operator(w: &SqlitePool, op: &Operator) -> Result<()> {
    let done = sqlx::query(
        "INSERT INTO operators (name, role, password_hash, failed_logins, locked_until,
            disabled, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&op.name)
    .bind(op.role.as_str())
    .bind(&op.password_hash)
    .bind(i64::from(op.failed_logins))
    .bind(opt_ms(op.locked_until))
    .bind(op.disabled)
    .bind(ms(op.created_at))
    .execute(w)
    .await;
    match done {
        Ok(_) => Ok(()),
        Err(e) if is_unique_violation(&e) => Err(PlatformError::Conflict(format!(
            "operator {} exists",
            op.name
        ))),
        Err(e) => Err(e.into()),
    }
}

pub(super) async fn operator(r: &SqlitePool, name: &str) -> Result<Option<Operator>> {
    sqlx::query("SELECT * FROM operators WHERE name = ?")
        .bind(name)
        .fetch_optional(r)
        .await?
        .as_ref()
        .map(operator_row)
        .transpose()
}

pub(super) async fn operators(r: &SqlitePool) -> Result<Vec<Operator>> {
    let rows = sqlx::query("SELECT * FROM operators ORDER BY name")
        .fetch_all(r)
        .await?;
    rows.iter().map(operator_row).collect()
}

pub(super) async fn update_operator(w: &SqlitePool, op: &Operator) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE operators SET role = ?, password_hash = ?, failed_logins = ?, locked_until = ?,
            disabled = ? WHERE name = ?",
    )
    .bind(op.role.as_str())
    .bind(&op.password_hash)
    .bind(i64::from(op.failed_logins))
    .bind(opt_ms(op.locked_until))
    .bind(op.disabled)
    .bind(&op.name)
    .execute(w)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub(super) async fn count_login_failure(
    w: &SqlitePool,
    name: &str,
    lock_after: u32,
    locked_until: DateTime<Utc>,
) -> Result<Option<Operator>> {
    // Every right-hand side sees the row before the update.
    sqlx::query(
        "UPDATE operators SET
            failed_logins = CASE WHEN failed_logins + 1 >= ? THEN 0 ELSE failed_logins + 1 END,
            locked_until = CASE WHEN failed_logins + 1 >= ? THEN ? ELSE locked_until END
         WHERE name = ? RETURNING *",
    )
    .bind(i64::from(lock_after))
    .bind(i64::from(lock_after))
    .bind(ms(locked_until))
    .bind(name)
    .fetch_optional(w)
    .await?
    .as_ref()
    .map(operator_row)
    .transpose()
}

pub(super) async fn insert_session(w: &SqlitePool, s: &Session) -> Result<()> {
    sqlx::query(
        "INSERT INTO operator_sessions (token_hash, operator, csrf, created_at, expires_at)
         VALUES (?, ?, ?, ?, ?)",
    )
    .bind(&s.token_hash)
    .bind(&s.operator)
    .bind(&s.csrf)
    .bind(ms(s.created_at))
    .bind(ms(s.expires_at))
    .execute(w)
    .await?;
    Ok(())
}

pub(super) async fn session(r: &SqlitePool, token_hash: &str) -> Result<Option<Session>> {
    sqlx::query("SELECT * FROM operator_sessions WHERE token_hash = ?")
        .bind(token_hash)
        .fetch_optional(r)
        .await?
        .as_ref()
        .map(session_row)
        .transpose()
}

pub(super) async fn delete_session(w: &SqlitePool, token_hash: &str) -> Result<bool> {
    let done = sqlx::query("DELETE FROM operator_sessions WHERE token_hash = ?")
        .bind(token_hash)
        .execute(w)
        .await?;
    Ok(done.rows_affected() > 0)
}

pub(super) async fn delete_sessions_of(w: &SqlitePool, operator: &str) -> Result<u64> {
    let done = sqlx::query("DELETE FROM operator_sessions WHERE operator = ?")
        .bind(operator)
        .execute(w)
        .await?;
    Ok(done.rows_affected())
}

pub(super) async fn insert_audit(w: &SqlitePool, e: &AuditEntry) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (operator, action, target, detail, at) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(&e.operator)
    .bind(&e.action)
    .bind(&e.target)
    .bind(&e.detail)
    .bind(ms(e.at))
    .execute(w)
    .await?;
    Ok(())
}

pub(super) async fn audit_log(
    r: &SqlitePool,
    operator: Option<&str>,
    n: u32,
) -> Result<Vec<AuditEntry>> {
    let rows = sqlx::query(
        "SELECT * FROM audit_log WHERE (? IS NULL OR operator = ?)
         ORDER BY at DESC, id DESC LIMIT ?",
    )
    .bind(operator)
    .bind(operator)
    .bind(limit(n))
    .fetch_all(r)
    .await?;
    rows.iter().map(audit_row).collect()
}

pub(super) async fn set_spec_override(w: &SqlitePool, o: &SpecOverride) -> Result<()> {
    sqlx::query(
        "INSERT INTO spec_overrides (item_id, enabled, price_fen, updated_by, updated_at)
         VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (item_id) DO UPDATE SET enabled = excluded.enabled,
            price_fen = excluded.price_fen, updated_by = excluded.updated_by,
            updated_at = excluded.updated_at",
    )
    .bind(o.item_id)
    .bind(o.enabled)
    .bind(o.price_fen)
    .bind(&o.updated_by)
    .bind(ms(o.updated_at))
    .execute(w)
    .await?;
    Ok(())
}

pub(super) async fn spec_overrides(r: &SqlitePool) -> Result<Vec<SpecOverride>> {
    let rows = sqlx::query("SELECT * FROM spec_overrides ORDER BY item_id")
        .fetch_all(r)
        .await?;
    rows.iter().map(override_row).collect()
}
