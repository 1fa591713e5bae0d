//! Moving an install: every table of a SQLite database into PostgreSQL, ids kept.
//!
//! The source is read in one read transaction (a consistent snapshot, even while `serve`
//! writes). Rows go in batches, each an upsert on the table's primary key, so a second run
//! copies what changed and leaves the rest; the id sequences are moved past the copied ids.
//! Afterwards both sides are counted, table by table.

use sqlx::postgres::PgPool;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions, SqliteRow};
use sqlx::{Postgres, QueryBuilder, Row, Sqlite};
use std::path::Path;

use super::{PostgresRepo, SqliteRepo};
use crate::error::{PlatformError, Result};

/// The tables in foreign-key order, with their primary key and serial id (if any).
pub const TABLES: [(&str, &str, bool); 12] = [
    ("apps", "app_id", true),
    ("orders", "order_no", false),
    ("pics", "pic_id", false),
    ("order_events", "id", true),
    ("callbacks", "id", true),
    ("callback_attempts", "id", true),
    ("ledger", "id", true),
    ("operators", "name", false),
    ("operator_sessions", "token_hash", false),
    ("audit_log", "id", true),
    ("spec_overrides", "item_id", false),
    ("job_leases", "name", false),
];

/// Rows per INSERT (PostgreSQL takes at most 65535 parameters in one statement).
const BATCH: i64 = 500;

/// One table's copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableCopy {
    pub table: &'static str,
    /// Rows in the source snapshot.
    pub source_rows: i64,
    /// Rows in the target afterwards.
    pub target_rows: i64,
}

impl TableCopy {
    pub fn matches(&self) -> bool {
        self.source_rows == self.target_rows
    }
}

/// The kind of a target column, from `information_schema`.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Int4,
    Int8,
    Bool,
    Text,
}

/// Copies the SQLite database `from` into the PostgreSQL database `to` (both migrated
/// first). Returns the counts; a table whose counts differ is `Invalid` afterwards via
/// [`check_counts`].
pub async fn copy_sqlite_to_postgres(
    from: &Path,
    to: &str,
    mut progress: impl FnMut(&TableCopy),
) -> Result<Vec<TableCopy>> {
    if !from.is_file() {
        return Err(PlatformError::Invalid(format!(
            "no SQLite database at {}",
            from.display()
        )));
    }
    SqliteRepo::open(from).await?.close().await;
    let target = PostgresRepo::open(to).await?;
    let source = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(SqliteConnectOptions::new().filename(from).read_only(true))
        .await?;
    let mut snapshot = source.begin().await?;
    let mut report = Vec::new();
    for (table, key, serial) in TABLES {
        let source_rows = copy_table(&mut snapshot, target.pool(), table, key).await?;
        if serial {
            bump_sequence(target.pool(), table, key).await?;
        }
        let target_rows = count(target.pool(), table).await?;
        let done = TableCopy {
            table,
            source_rows,
            target_rows,
        };
        progress(&done);
        report.push(done);
    }
    snapshot.rollback().await?;
    source.close().await;
    target.close().await;
    Ok(report)
}

/// `Invalid` naming every table whose counts differ.
pub fn check_counts(report: &[TableCopy]) -> Result<()> {
    let off: Vec<String> = report
        .iter()
        .filter(|t| !t.matches())
        .map(|t| format!("{} ({} → {})", t.table, t.source_rows, t.target_rows))
        .collect();
    if off.is_empty() {
        return Ok(());
    }
    Err(PlatformError::Invalid(format!(
        "row counts differ: {} (the target holds rows the source does not, or the source changed)",
        off.join(", ")
    )))
}

type Snapshot = sqlx::Transaction<'static, Sqlite>;

/// Copies one table in rowid order; the number of source rows.
async fn copy_table(src: &mut Snapshot, dst: &PgPool, table: &str, key: &str) -> Result<i64> {
    let columns = target_columns(dst, table).await?;
    let select =
        format!("SELECT rowid AS rid_, * FROM {table} WHERE rowid > ? ORDER BY rowid LIMIT ?");
    let (mut after, mut copied) = (i64::MIN, 0i64);
    loop {
        let rows = sqlx::query(&select)
            .bind(after)
            .bind(BATCH)
            .fetch_all(&mut **src)
            .await?;
        let Some(last) = rows.last() else { break };
        after = last.try_get("rid_")?;
        upsert(dst, table, key, &columns, &rows).await?;
        copied += rows.len() as i64;
    }
    Ok(copied)
}

async fn target_columns(dst: &PgPool, table: &str) -> Result<Vec<(String, Kind)>> {
    let rows = sqlx::query(
        "SELECT column_name::TEXT AS name, data_type::TEXT AS ty FROM information_schema.columns
         WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
    )
    .bind(table)
    .fetch_all(dst)
    .await?;
    rows.iter()
        .map(|r| {
            let (name, ty): (String, String) = (r.try_get("name")?, r.try_get("ty")?);
            let kind = match ty.as_str() {
                "integer" | "smallint" => Kind::Int4,
                "bigint" => Kind::Int8,
                "boolean" => Kind::Bool,
                "text" | "character varying" => Kind::Text,
                other => {
                    return Err(PlatformError::Corrupt(format!(
                        "{table}.{name}: column type {other} cannot be copied"
                    )))
                }
            };
            Ok((name, kind))
        })
        .collect()
}

/// One multi-row `INSERT … ON CONFLICT (key) DO UPDATE` of `rows`.
async fn upsert(
    dst: &PgPool,
    table: &str,
    key: &str,
    columns: &[(String, Kind)],
    rows: &[SqliteRow],
) -> Result<()> {
    let names: Vec<&str> = columns.iter().map(|(n, _)| n.as_str()).collect();
    let mut q =
        QueryBuilder::<Postgres>::new(format!("INSERT INTO {table} ({}) ", names.join(", ")));
    let mut bad = None;
    q.push_values(rows, |mut b, row| {
        for (name, kind) in columns {
            if let Err(e) = bind_value(&mut b, row, name, *kind) {
                bad.get_or_insert(e);
            }
        }
    });
    if let Some(e) = bad {
        return Err(e);
    }
    let updates: Vec<String> = names
        .iter()
        .filter(|n| **n != key)
        .map(|n| format!("{n} = EXCLUDED.{n}"))
        .collect();
    q.push(format!(
        " ON CONFLICT ({key}) DO UPDATE SET {}",
        updates.join(", ")
    ));
    q.build().execute(dst).await?;
    Ok(())
}

fn bind_value(
    b: &mut sqlx::query_builder::Separated<'_, '_, Postgres, &'static str>,
    row: &SqliteRow,
    name: &str,
    kind: Kind,
) -> Result<()> {
    match kind {
        Kind::Int4 => {
            let v: Option<i64> = row.try_get(name)?;
            let v = v
                .map(i32::try_from)
                .transpose()
                .map_err(|_| PlatformError::Corrupt(format!("{name}: out of range")))?;
            b.push_bind(v);
        }
        Kind::Int8 => {
            b.push_bind(row.try_get::<Option<i64>, _>(name)?);
        }
        Kind::Bool => {
            b.push_bind(row.try_get::<Option<bool>, _>(name)?);
        }
        Kind::Text => {
            b.push_bind(row.try_get::<Option<String>, _>(name)?);
        }
    }
    Ok(())
}

/// Moves the table's id sequence past its largest id.
async fn bump_sequence(dst: &PgPool, table: &str, key: &str) -> Result<()> {
    let sql = format!(
        "SELECT setval(pg_get_serial_sequence('{table}', '{key}'),
                       GREATEST(COALESCE(MAX({key}), 0), 1), MAX({key}) IS NOT NULL)
         FROM {table}"
    );
    sqlx::query(&sql).execute(dst).await?;
    Ok(())
}

async fn count(dst: &PgPool, table: &str) -> Result<i64> {
    Ok(sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
        .fetch_one(dst)
        .await?)
}
