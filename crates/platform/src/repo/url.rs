//! Which database a URL names: `sqlite://path/to/file.db` (or `sqlite:path`),
//! `postgres://user:pass@host:port/db` (or `postgresql://`), or a plain data dir, whose
//! `photoreceipt.db` is the embedded default.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{PostgresRepo, Repo, SqliteRepo};
use crate::error::{PlatformError, Result};

/// A parsed database URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL connection URL, as given.
    Postgres(String),
}

impl DatabaseUrl {
    /// Parses `url`; a plain path is a data dir (its `photoreceipt.db`), or the file itself
    /// when it ends in `.db`.
    pub fn parse(url: &str) -> Result<Self> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres(url.to_string()));
        }
        if let Some(rest) = url.strip_prefix("sqlite:") {
            let path = rest.strip_prefix("//").unwrap_or(rest);
            let path = path.split('?').next().unwrap_or(path);
            if path.is_empty() {
                return Err(PlatformError::Invalid(format!(
                    "database URL {url:?}: no file"
                )));
            }
            return Ok(Self::Sqlite(sqlite_file(Path::new(path))));
        }
        if url.contains("://") {
            return Err(PlatformError::Invalid(format!(
                "database URL {}: only sqlite:// and postgres:// are known",
                redact(url)
            )));
        }
        Ok(Self::Sqlite(sqlite_file(Path::new(url))))
    }

    /// For logs: the password, if any, replaced by `***`.
    pub fn describe(&self) -> String {
        match self {
            Self::Sqlite(path) => format!("sqlite://{}", path.display()),
            Self::Postgres(url) => redact(url),
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, Self::Postgres(_))
    }
}

/// A directory (existing, or without a `.db` ending) means its `photoreceipt.db`.
fn sqlite_file(path: &Path) -> PathBuf {
    let is_file_name = path.extension().is_some_and(|e| e == "db" || e == "sqlite");
    if path.is_dir() || !is_file_name {
        path.join(crate::DB_FILE)
    } else {
        path.to_path_buf()
    }
}

/// The URL with its password masked.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(u) => u.to_string(),
        Err(_) => "(unparsable URL)".into(),
    }
}

/// Opens (and migrates) the repository `url` names. A SQLite file's folder is created.
pub async fn open_repo(url: &DatabaseUrl) -> Result<Arc<dyn Repo>> {
    Ok(match url {
        DatabaseUrl::Sqlite(path) => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
            Arc::new(SqliteRepo::open(path).await?)
        }
        DatabaseUrl::Postgres(url) => Arc::new(PostgresRepo::open(url).await?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_their_back_end() {
        let pg = "postgres://pr:secret@127.0.0.1:5432/pr";
        assert_eq!(
            DatabaseUrl::parse(pg).unwrap(),
            DatabaseUrl::Postgres(pg.into())
        );
        assert_eq!(
            DatabaseUrl::parse(pg).unwrap().describe(),
            "postgres://pr:***@127.0.0.1:5432/pr"
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:///srv/pr/photoreceipt.db").unwrap(),
            DatabaseUrl::Sqlite("/srv/pr/photoreceipt.db".into())
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite://data").unwrap(),
            DatabaseUrl::Sqlite("data/photoreceipt.db".into())
        );
        assert_eq!(
            DatabaseUrl::parse("/srv/pr").unwrap(),
            DatabaseUrl::Sqlite("/srv/pr/photoreceipt.db".into())
        );
        let bad = DatabaseUrl::parse("mysql://u:pw@h/db")
            .unwrap_err()
            .to_string();
        assert!(bad.contains("only sqlite:// and postgres://"), "{bad}");
        assert!(!bad.contains("pw"), "{bad}");
    }
}
