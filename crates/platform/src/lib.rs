//! Domain types, the order state machine, billing, storage and the callback outbox.
//!
//! - [`Platform`] is the service: every operation the server, the CLI and the jobs need.
//! - [`Repo`] is the database ([`SqliteRepo`], the default, or [`PostgresRepo`]), and
//!   [`BlobStore`] the files ([`ObjectBlobStore`] over `object_store`: local dir now, S3 later).
//! - The order state machine is [`order::next_status`], exactly design.md's table; every
//!   transition is one transaction: state + event + outbox row (+ ledger charge).
//! - Errors are one enum, [`PlatformError`]; the server maps it to API codes.

pub mod app;
pub mod blob;
pub mod calendar;
pub mod callback;
pub mod clock;
pub mod error;
pub mod items;
pub mod ledger;
pub mod operator;
pub mod order;
pub mod photo_spec;
pub mod pic;
pub mod receipt;
pub mod repo;
mod service;

/// The byte buffer of blobs and photos (`bytes::Bytes`).
pub use bytes::Bytes;

pub use app::{App, CallbackFormat, IssuedKey, NewApp};
pub use blob::{copy_blobs, BlobStore, CopyReport, ObjectBlobStore};
pub use calendar::{Sla, WorkCalendar};
pub use callback::{
    AttemptOutcome, Callback, CallbackAttempt, CallbackClaim, CallbackFilter, CallbackPayload,
    CallbackPolicy, CallbackState, RetrySchedule, Worker, WorkerConfig,
};
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{PlatformError, Result};
pub use items::{FixedItems, ItemTerms, Items, ReceiptTerms};
pub use ledger::{LedgerEntry, LedgerKind};
pub use operator::{AuditEntry, Operator, Role, Session, SpecOverride};
pub use order::{
    Action, Approval, Order, OrderCounts, OrderDetail, OrderEvent, OrderFilter, OrderStatus,
    Submission,
};
pub use pic::{NewPic, Pic, PicPhoto};
pub use receipt::{ReceiptCheck, ReceiptSettings, ReceiptState};
pub use repo::{open_repo, DatabaseUrl, OutboxBacklog, PostgresRepo, Repo, SqliteRepo};
pub use service::{
    check_notice_url, db_path, Login, LoginRefusal, PendingPic, PicPlan, Platform, RetentionReport,
    SandboxReport, Settings, UserInfo, BLOB_DIR, DB_FILE, JOB_LEASE, PURGEABLE, SANDBOX_ACTOR,
};
