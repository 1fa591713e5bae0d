//! The console's tables on PostgreSQL: operators, sessions, the audit log, spec overrides.
//! The statements of `sqlite/console.rs` with `$n` parameters.

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgPool, PgRow};
use sqlx::Row;

use super::{is_unique_violation, limit, ms, opt_ms, opt_time, time};
use crate::error::{PlatformError, Result};
use crate::operator::{AuditEntry, Operator, Role, Session, SpecOverride};

fn operator_row(r: &PgRow) -> Result<Operator> {
    let role: String = r.try_get("role")?;
    let failed: i32 = r.try_get("failed_logins")?;
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

fn session_row(r: &PgRow) -> Result<Session> {
    Ok(Session {
        token_hash: r.try_get("token_hash")?,
        operator: r.try_get("operator")?,
        csrf: r.try_get("csrf")?,
        created_at: time(r.try_get("created_at")?)?,
        expires_at: time(r.try_get("expires_at")?)?,
    })
}

fn audit_row(r: &PgRow) -> Result<AuditEntry> {
    Ok(AuditEntry {
        id: r.try_get("id")?,
        operator: r.try_get("operator")?,
        action: r.try_get("action")?,
        target: r.try_get("target")?,
        detail: r.try_get("detail")?,
        at: time(r.try_get("at")?)?,
    })
}

fn override_row(r: &PgRow) -> Result<SpecOverride> {
    Ok(SpecOverride {
        item_id: r.try_get("item_id")?,
        enabled: r.try_get("enabled")?,
        price_fen: r.try_get("price_fen")?,
        updated_by: r.try_get("updated_by")?,
        updated_at: time(r.try_get("updated_at")?)?,
    })
}

fn count(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

pub(super) async fn insert_operator(db: &PgPool, op: &Operator) -> Result<()> {
    let done = sqlx::query(
        "INSERT INTO operators (name, role, password_hash, failed_logins, locked_until,
            disabled, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&op.name)
    .bind(op.role.as_str())
    .bind(&op.password_hash)
    .bind(count(op.failed_logins))
    .bind(opt_ms(op.locked_until))
    .bind(op.disabled)
    .bind(ms(op.created_at))
    .execute(db)
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

pub(super) async fn operator(db: &PgPool, name: &str) -> Result<Option<Operator>> {
    sqlx::query("SELECT * FROM operators WHERE name = $1")
        .bind(name)
        .fetch_optional(db)
        .await?
        .as_ref()
        .map(operator_row)
        .transpose()
}

pub(super) async fn operators(db: &PgPool) -> Result<Vec<Operator>> {
    let rows = sqlx::query("SELECT * FROM operators ORDER BY name")
        .fetch_all(db)
        .await?;
    rows.iter().map(operator_row).collect()
}

pub(super) async fn update_operator(db: &PgPool, op: &Operator) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE operators SET role = $1, password_hash = $2, failed_logins = $3,
            locked_until = $4, disabled = $5 WHERE name = $6",
    )
    .bind(op.role.as_str())
    .bind(&op.password_hash)
    .bind(count(op.failed_logins))
    .bind(opt_ms(op.locked_until))
    .bind(op.disabled)
    .bind(&op.name)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// One statement: concurrent failures on several nodes each count (the row lock orders them).
pub(super) async fn count_login_failure(
    db: &PgPool,
    name: &str,
    lock_after: u32,
    locked_until: DateTime<Utc>,
) -> Result<Option<Operator>> {
    sqlx::query(
        "UPDATE operators SET
            failed_logins = CASE WHEN failed_logins + 1 >= $1 THEN 0 ELSE failed_logins + 1 END,
            locked_until = CASE WHEN failed_logins + 1 >= $1 THEN $2 ELSE locked_until END
         WHERE name = $3 RETURNING *",
    )
    .bind(count(lock_after))
    .bind(ms(locked_until))
    .bind(name)
    .fetch_optional(db)
    .await?
    .as_ref()
    .map(operator_row)
    .transpose()
}

pub(super) async fn insert_session(db: &PgPool, s: &Session) -> Result<()> {
    sqlx::query(
        "INSERT INTO operator_sessions (token_hash, operator, csrf, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&s.token_hash)
    .bind(&s.operator)
    .bind(&s.csrf)
    .bind(ms(s.created_at))
    .bind(ms(s.expires_at))
    .execute(db)
    .await?;
    Ok(())
}

pub(super) async fn session(db: &PgPool, token_hash: &str) -> Result<Option<Session>> {
    sqlx::query("SELECT * FROM operator_sessions WHERE token_hash = $1")
        .bind(token_hash)
        .fetch_optional(db)
        .await?
        .as_ref()
        .map(session_row)
        .transpose()
}

pub(super) async fn delete_session(db: &PgPool, token_hash: &str) -> Result<bool> {
    let done = sqlx::query("DELETE FROM operator_sessions WHERE token_hash = $1")
        .bind(token_hash)
        .execute(db)
        .await?;
    Ok(done.rows_affected() > 0)
}

pub(super) async fn delete_sessions_of(db: &PgPool, operator: &str) -> Result<u64> {
    let done = sqlx::query("DELETE FROM operator_sessions WHERE operator = $1")
        .bind(operator)
        .execute(db)
        .await?;
    Ok(done.rows_affected())
}

pub(super) async fn insert_audit(db: &PgPool, e: &AuditEntry) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (operator, action, target, detail, at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&e.operator)
    .bind(&e.action)
    .bind(&e.target)
    .bind(&e.detail)
    .bind(ms(e.at))
    .execute(db)
    .await?;
    Ok(())
}

pub(super) async fn audit_log(
    db: &PgPool,
    operator: Option<&str>,
    n: u32,
) -> Result<Vec<AuditEntry>> {
    let rows = sqlx::query(
        "SELECT * FROM audit_log WHERE ($1::TEXT IS NULL OR operator = $1)
         ORDER BY at DESC, id DESC LIMIT $2",
    )
    .bind(operator)
    .bind(limit(n))
    .fetch_all(db)
    .await?;
    rows.iter().map(audit_row).collect()
}

pub(super) async fn set_spec_override(db: &PgPool, o: &SpecOverride) -> Result<()> {
    sqlx::query(
        "INSERT INTO spec_overrides (item_id, enabled, price_fen, updated_by, updated_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (item_id) DO UPDATE SET enabled = excluded.enabled,
            price_fen = excluded.price_fen, updated_by = excluded.updated_by,
            updated_at = excluded.updated_at",
    )
    .bind(o.item_id)
    .bind(o.enabled)
    .bind(o.price_fen)
    .bind(&o.updated_by)
    .bind(ms(o.updated_at))
    .execute(db)
    .await?;
    Ok(())
}

pub(super) async fn spec_overrides(db: &PgPool) -> Result<Vec<SpecOverride>> {
    let rows = sqlx::query("SELECT * FROM spec_overrides ORDER BY item_id")
        .fetch_all(db)
        .await?;
    rows.iter().map(override_row).collect()
}
