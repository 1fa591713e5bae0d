//! [`Platform`]: the operations the server, the CLI and the jobs call.

mod apps;
mod console;
mod orders;
mod outbox;
mod pics;
pub use pics::{PendingPic, PicPlan};
mod receipts;
mod retention;
mod sandbox;

pub use apps::UserInfo;
pub use console::{Login, LoginRefusal};
pub use orders::check_notice_url;
pub use retention::{RetentionReport, PURGEABLE};
pub use sandbox::{SandboxReport, SANDBOX_ACTOR};

use chrono::{DateTime, TimeDelta, Utc};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::blob::{BlobStore, ObjectBlobStore};
use crate::calendar::Sla;
use crate::callback::CallbackPolicy;
use crate::clock::{Clock, SystemClock};
use crate::error::Result;
use crate::items::Items;
use crate::operator::{OverriddenItems, SpecOverrides};
use crate::order::OrderNoGen;
use crate::receipt::ReceiptSettings;
use crate::repo::{open_repo, DatabaseUrl, Repo, SqliteRepo};

/// The SQLite file inside a data dir.
pub const DB_FILE: &str = "photoreceipt.db";
/// The blob folder inside a data dir.
pub const BLOB_DIR: &str = "blobs";

/// Tunables of the platform.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How long a pic can be submitted after make. Default 50 minutes (the seed).
    pub pic_ttl: TimeDelta,
    /// How long an expired, unsubmitted pic is kept before retention deletes it. Default 1 h.
    pub pic_grace: TimeDelta,
    /// Photos and personal params of finished orders are deleted after this. Default 30 days.
    pub retention: TimeDelta,
    /// Where callbacks may go: public addresses plus an allow-list (`--callback-allow-cidr`).
    /// Checked at submit and at every delivery.
    pub callbacks: CallbackPolicy,
    /// When reviews are due: working hours on Chinese working days, batches on the others.
    pub sla: Sla,
    /// The rendered receipts: collection point, verification URL, font.
    pub receipts: ReceiptSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            pic_ttl: TimeDelta::minutes(50),
            pic_grace: TimeDelta::hours(1),
            retention: TimeDelta::days(30),
            callbacks: CallbackPolicy::default(),
            sla: Sla::default(),
            receipts: ReceiptSettings::default(),
        }
    }
}

impl Settings {
    /// [`Settings::retention`] from a number of days.
    pub fn with_retention_days(mut self, days: u32) -> Self {
        self.retention = TimeDelta::days(i64::from(days));
        self
    }
}

/// The platform service. Cheap to clone (shared parts behind `Arc`).
#[derive(Clone)]
pub struct Platform {
    repo: Arc<dyn Repo>,
    blobs: Arc<dyn BlobStore>,
    items: Arc<dyn Items>,
    clock: Arc<dyn Clock>,
    settings: Settings,
    order_nos: Arc<OrderNoGen>,
    /// The admins' spec overrides, applied by `items` (loaded by `open_embedded`).
    overrides: Arc<SpecOverrides>,
    /// This process's name as the holder of job leases (host, pid, a random part).
    node: Arc<str>,
}

impl std::fmt::Debug for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Platform")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Platform {
    pub fn new(
        repo: Arc<dyn Repo>,
        blobs: Arc<dyn BlobStore>,
        items: Arc<dyn Items>,
        settings: Settings,
    ) -> Self {
        let overrides = Arc::new(SpecOverrides::default());
        let items = Arc::new(OverriddenItems {
            inner: items,
            overrides: overrides.clone(),
        });
        Self {
            repo,
            blobs,
            items,
            clock: Arc::new(SystemClock),
            settings,
            order_nos: Arc::new(OrderNoGen::new()),
            overrides,
            node: node_name().into(),
        }
    }

    /// The embedded default: `<data_dir>/photoreceipt.db` (SQLite, WAL, migrated) and
    /// `<data_dir>/blobs/`. Creates the dir if missing.
    pub async fn open_embedded(
        data_dir: &Path,
        settings: Settings,
        items: Arc<dyn Items>,
    ) -> Result<Self> {
        std::fs::create_dir_all(data_dir)?;
        let repo = SqliteRepo::open(&data_dir.join(DB_FILE)).await?;
        let blobs = ObjectBlobStore::local(&data_dir.join(BLOB_DIR))?;
        let platform = Self::new(Arc::new(repo), Arc::new(blobs), items, settings);
        platform.load_spec_overrides().await?;
        Ok(platform)
    }

    /// Replaces the blob store (`--store-url`: an S3 bucket instead of `<data_dir>/blobs`).
    pub fn with_blobs(mut self, blobs: Arc<dyn BlobStore>) -> Self {
        self.blobs = blobs;
        self
    }

    /// The install: the repository at `database` (the data dir's SQLite file when `None`)
    /// and the blobs in `<data_dir>/blobs/`. Creates the dir if missing.
    pub async fn open(
        data_dir: &Path,
        database: Option<&DatabaseUrl>,
        settings: Settings,
        items: Arc<dyn Items>,
    ) -> Result<Self> {
        let Some(url) = database else {
            return Self::open_embedded(data_dir, settings, items).await;
        };
        std::fs::create_dir_all(data_dir)?;
        let repo = open_repo(url).await?;
        let blobs = ObjectBlobStore::local(&data_dir.join(BLOB_DIR))?;
        let platform = Self::new(repo, Arc::new(blobs), items, settings);
        platform.load_spec_overrides().await?;
        Ok(platform)
    }

    /// Replaces the clock (tests move time with [`crate::ManualClock`]).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// When an order submitted at `submitted` is due for review (the SLA).
    pub fn sla_due(&self, submitted: DateTime<Utc>) -> DateTime<Utc> {
        self.settings.sla.due(submitted)
    }

    /// Years the SLA needs now that have no holiday data (each is also logged once as a
    /// warning). Non-empty means the console should say so loudly.
    pub fn calendar_gaps(&self) -> Vec<i32> {
        self.settings.sla.missing_years(self.now())
    }

    pub fn repo(&self) -> &Arc<dyn Repo> {
        &self.repo
    }

    pub fn blobs(&self) -> &Arc<dyn BlobStore> {
        &self.blobs
    }

    pub fn items(&self) -> &Arc<dyn Items> {
        &self.items
    }

    /// This node's name in job leases.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// Takes or renews the lease of background job `name` as of `now`: true if this node
    /// is to run it (one node at a time; another takes over after [`JOB_LEASE`]).
    pub async fn hold_job(&self, name: &str, now: DateTime<Utc>) -> Result<bool> {
        self.repo
            .claim_job(name, &self.node, now, now + JOB_LEASE)
            .await
    }
}

/// How long a node holds a background job (sandbox, retention) after its last pass.
pub const JOB_LEASE: TimeDelta = TimeDelta::seconds(30);

/// `host-pid-xxxxxxxx`.
fn node_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default();
    let host = if host.is_empty() { "node".into() } else { host };
    let tag: u32 = rand::random();
    format!("{host}-{}-{tag:08x}", std::process::id())
}

/// `<data_dir>/photoreceipt.db`.
pub fn db_path(data_dir: &Path) -> PathBuf {
    data_dir.join(DB_FILE)
}
