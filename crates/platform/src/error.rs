//! The one error type of the platform. The server maps each variant to an API code in one place.

use crate::order::{Action, OrderStatus};

/// Everything a platform operation can refuse or fail with.
#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    #[error("the key is not valid")]
    KeyInvalid,
    #[error("app {0} is disabled")]
    AppDisabled(i64),
    #[error("app {0} not found")]
    AppNotFound(i64),
    #[error("pic {0} not found")]
    PicNotFound(String),
    #[error("pic {0} has expired; make the photo again")]
    PicExpired(String),
    #[error("pic {0} belongs to another app")]
    PicForeign(String),
    #[error("pic {pic_id} is already used by order {order_no}")]
    PicUsed { pic_id: String, order_no: String },
    #[error("order {0} not found")]
    OrderNotFound(String),
    #[error("order {order_no} is {status}; cannot {action} it")]
    WrongState {
        order_no: String,
        status: OrderStatus,
        action: Action,
    },
    #[error("insufficient balance: {available_fen} fen available, {price_fen} fen needed")]
    InsufficientBalance { available_fen: i64, price_fen: i64 },
    #[error("notice_url must be an http or https URL: {0}")]
    InvalidNoticeUrl(String),
    /// The SSRF guard: the notice_url points at an internal address.
    #[error("notice_url refused: {0}")]
    NoticeUrlRefused(String),
    #[error("item {0} is unknown or takes no receipt orders")]
    ItemUnknown(i64),
    #[error("print-and-mail is not offered for item {0}")]
    PrintUnavailable(i64),
    /// The spec's receipt `param` was refused (the catalogue's codes and messages).
    #[error("{0}")]
    Param(#[from] catalogue::ParamError),
    /// Another field was refused, e.g. `print_param.phone`.
    #[error("bad {field}: {reason}")]
    BadField { field: String, reason: String },
    #[error("invalid input: {0}")]
    Invalid(String),
    #[error("blob {0} not found")]
    BlobNotFound(String),
    /// A unique key was taken (order_no, pic_id, a second charge). Id clashes are retried inside.
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("database migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("blob store: {0}")]
    Store(#[from] object_store::Error),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}

impl PlatformError {
    /// The database cannot be reached right now (down, restarting, no free connection):
    /// worth retrying later, unlike a refused statement.
    pub fn is_db_unavailable(&self) -> bool {
        let PlatformError::Db(e) = self else {
            return false;
        };
        match e {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => true,
            // 08: connection exception; 57P01–57P03: shutting down, starting up.
            sqlx::Error::Database(d) => d
                .code()
                .is_some_and(|c| c.starts_with("08") || c.starts_with("57P")),
            _ => false,
        }
    }
}

/// Result with [`PlatformError`].
pub type Result<T, E = PlatformError> = std::result::Result<T, E>;
