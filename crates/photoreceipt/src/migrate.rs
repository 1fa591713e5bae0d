//! `photoreceipt migrate`: moves an install from SQLite to PostgreSQL, and optionally its blobs
//! to another store. Every row keeps its id; counts are compared table by table, blobs by
//! SHA-256. Safe to run again (upserts; blobs already there are only checked).

use anyhow::{bail, Context as _};
use clap::Args;
use platform::blob::ObjectBlobStore;
use platform::copy_blobs;
use platform::repo::copy::{check_counts, copy_sqlite_to_postgres};
use platform::DatabaseUrl;
use std::process::ExitCode;

#[derive(Args)]
pub struct MigrateCmd {
    /// The install's database: `sqlite://FILE`, or its data dir.
    #[arg(long, value_name = "URL")]
    pub from: String,
    /// The new database: `postgres://user:pass@host:port/db` (migrated first).
    #[arg(long, value_name = "URL", hide_env_values = true)]
    pub to: String,
    /// Also copy the blobs from this store (the data dir's `blobs/`, or `s3://…`).
    #[arg(long, value_name = "DIR|URL", requires = "blobs_to")]
    pub blobs_from: Option<String>,
    /// … into this one (`s3://bucket?endpoint=…&region=…`, or a dir).
    #[arg(long, value_name = "URL", requires = "blobs_from")]
    pub blobs_to: Option<String>,
}

pub fn run(cmd: MigrateCmd) -> anyhow::Result<ExitCode> {
    let DatabaseUrl::Sqlite(from) = DatabaseUrl::parse(&cmd.from).context("--from")? else {
        bail!("--from must be a SQLite database (sqlite://FILE or a data dir)");
    };
    let to = match DatabaseUrl::parse(&cmd.to).context("--to")? {
        DatabaseUrl::Postgres(url) => url,
        DatabaseUrl::Sqlite(_) => bail!("--to must be a postgres:// URL"),
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    rt.block_on(async {
        let shown = DatabaseUrl::Postgres(to.clone()).describe();
        println!("copying {} → {shown}", from.display());
        let report = copy_sqlite_to_postgres(&from, &to, |t| {
            let mark = if t.matches() { "ok" } else { "DIFFERS" };
            println!(
                "  {:<18} {:>8} → {:>8}  {mark}",
                t.table, t.source_rows, t.target_rows
            );
        })
        .await
        .context("copying the database")?;
        check_counts(&report)?;
        println!("database: every table's row count matches");
        if let (Some(src), Some(dst)) = (&cmd.blobs_from, &cmd.blobs_to) {
            let src = ObjectBlobStore::open(src).context("--blobs-from")?;
            let dst = ObjectBlobStore::open(dst).context("--blobs-to")?;
            let done = copy_blobs(&src, &dst, 8)
                .await
                .context("copying the blobs")?;
            for (key, why) in &done.failed {
                eprintln!("  blob {key}: {why}");
            }
            anyhow::ensure!(
                done.ok(),
                "blobs: {} of {} not copied or not verified (run again to retry them)",
                done.failed.len(),
                done.listed
            );
            println!(
                "blobs: {} listed, {} copied, {} already there; every checksum matches",
                done.listed, done.copied, done.already
            );
        }
        Ok(ExitCode::SUCCESS)
    })
}
