//! The repository tests run on both back-ends: [`both_backends!`] turns each test into
//! `<name>::sqlite` and `<name>::postgres`. The PostgreSQL one gets a fresh database of the
//! process's throw-away cluster ([`testpg::shared`]); `Backend::open` opens the platform on it.
#![allow(dead_code)]

use platform::{DatabaseUrl, Items, Platform, Settings};
use std::future::Future;
use std::path::Path;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

tokio::task_local! {
    static BACKEND: Backend;
}

/// Runs `test` with `backend` as the current back-end.
pub async fn with_backend<F: Future<Output = ()>>(backend: Backend, test: F) {
    BACKEND.scope(backend, test).await
}

/// The back-end of the running test (SQLite outside [`with_backend`]).
pub fn backend() -> Backend {
    BACKEND.try_with(|b| *b).unwrap_or(Backend::Sqlite)
}

/// Where a test's data lives: the SQLite file of the data dir, or a PostgreSQL database.
#[derive(Debug, Clone)]
pub enum TestDb {
    Sqlite(std::path::PathBuf),
    Postgres(String),
}

impl TestDb {
    /// A database for a new test on the current back-end.
    pub fn new(dir: &Path) -> Self {
        match backend() {
            Backend::Sqlite => Self::Sqlite(dir.join(platform::DB_FILE)),
            Backend::Postgres => {
                let url = testpg::shared().new_database().expect("test database");
                Self::Postgres(url)
            }
        }
    }

    /// The platform on this database, blobs in `dir`.
    pub async fn open(&self, dir: &Path, settings: Settings, items: Arc<dyn Items>) -> Platform {
        let url = match self {
            Self::Sqlite(path) => DatabaseUrl::Sqlite(path.clone()),
            Self::Postgres(url) => DatabaseUrl::Postgres(url.clone()),
        };
        Platform::open(dir, Some(&url), settings, items)
            .await
            .expect("open platform")
    }

    /// Runs `sql` (one number back) on the database.
    pub async fn scalar(&self, sql: &str) -> i64 {
        match self {
            Self::Sqlite(path) => {
                let opts = sqlx::sqlite::SqliteConnectOptions::new()
                    .filename(path)
                    .read_only(true);
                let db = sqlx::SqlitePool::connect_with(opts).await.expect("sqlite");
                let n = sqlx::query_scalar(sql).fetch_one(&db).await.expect(sql);
                db.close().await;
                n
            }
            Self::Postgres(url) => {
                let db = sqlx::PgPool::connect(url).await.expect("postgres");
                let n = sqlx::query_scalar(sql).fetch_one(&db).await.expect(sql);
                db.close().await;
                n
            }
        }
    }

    /// Rows in `table` (optionally filtered by a WHERE clause).
    pub async fn count(&self, table: &str, filter: &str) -> i64 {
        let sql = if filter.is_empty() {
            format!("SELECT COUNT(*) FROM {table}")
        } else {
            format!("SELECT COUNT(*) FROM {table} WHERE {filter}")
        };
        self.scalar(&sql).await
    }
}

/// Each `async fn name() { … }` (with its attributes, e.g. `#[tokio::test]`) becomes the
/// module `name` with the tests `sqlite` and `postgres`.
#[macro_export]
macro_rules! both_backends {
    ($( $(#[$m:meta])* async fn $name:ident() $body:block )*) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            $(#[$m])*
            async fn sqlite() {
                with_backend(Backend::Sqlite, async move $body).await
            }

            $(#[$m])*
            async fn postgres() {
                with_backend(Backend::Postgres, async move $body).await
            }
        }
    )*};
}
