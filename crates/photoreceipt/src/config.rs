//! Settings of `serve`, from four layers, each overriding the one before: the defaults, a TOML
//! file (`--config FILE`), `PHOTORECEIPT_*` environment variables, then the flags.
//!
//! ```toml
//! listen = "0.0.0.0:8080"
//! data_dir = "/var/lib/photoreceipt"
//! database_url = "postgres://photoreceipt@db.internal/photoreceipt"   # default: SQLite in data_dir
//! public_url = "https://api.example.com"
//! pic_ttl = "50m"
//! sandbox_delay = "10s"
//! retention_days = 30        # or retention = "30d"
//! store_url = "s3://photoreceipt?endpoint=http://127.0.0.1:9000&region=us-east-1"
//! ```

use anyhow::{bail, Context};
use clap::Args;
use platform::{ReceiptSettings, Sla, WorkCalendar};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The flags (and their environment variables). Unset ones fall back to the file, then the
/// defaults.
#[derive(Args, Clone, Default)]
pub struct ServeArgs {
    /// A TOML file with any of the settings below (snake_case keys).
    #[arg(long, env = "PHOTORECEIPT_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080]; port 0 picks a free one.
    #[arg(long, env = "PHOTORECEIPT_LISTEN", value_name = "ADDR")]
    pub listen: Option<String>,
    /// SQLite `photoreceipt.db` and `blobs/` live here [default: ./data].
    #[arg(long, env = "PHOTORECEIPT_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// The database: `postgres://user:pass@host:port/db` (several nodes) or `sqlite://FILE`
    /// [default: <data-dir>/photoreceipt.db].
    #[arg(
        long,
        env = "PHOTORECEIPT_DATABASE_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,
    /// Base of the URLs handed out [default: http://<listen>].
    #[arg(long, env = "PHOTORECEIPT_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,
    /// How long a pic_id can be submitted [default: 50m].
    #[arg(long, env = "PHOTORECEIPT_PIC_TTL", value_name = "DURATION")]
    pub pic_ttl: Option<String>,
    /// Sandbox orders move on after this long in each status [default: 10s].
    #[arg(long, env = "PHOTORECEIPT_SANDBOX_DELAY", value_name = "DURATION")]
    pub sandbox_delay: Option<String>,
    /// Photos and personal params of finished orders are deleted after N days [default: 30].
    #[arg(long, env = "PHOTORECEIPT_RETENTION_DAYS", value_name = "DAYS")]
    pub retention_days: Option<u32>,
    /// The same as a duration (`30d`, `12h`, `10m`); wins over --retention-days.
    #[arg(long, env = "PHOTORECEIPT_RETENTION", value_name = "DURATION")]
    pub retention: Option<String>,
    /// How often the retention job runs [default: 1h].
    #[arg(long, env = "PHOTORECEIPT_RETENTION_EVERY", value_name = "DURATION")]
    pub retention_every: Option<String>,
    /// Expired, unsubmitted pics are deleted this long after their TTL [default: 1h].
    #[arg(long, env = "PHOTORECEIPT_PIC_GRACE", value_name = "DURATION")]
    pub pic_grace: Option<String>,
    /// How long a file URL in an answer stays valid [default: 24h].
    #[arg(long, env = "PHOTORECEIPT_URL_TTL", value_name = "DURATION")]
    pub url_ttl: Option<String>,
    /// Largest request body in bytes [default: 10485760].
    #[arg(long, env = "PHOTORECEIPT_MAX_BODY", value_name = "BYTES")]
    pub max_body: Option<usize>,
    /// Photos made at once [default: the number of cores].
    #[arg(long, env = "PHOTORECEIPT_MAKE_WORKERS", value_name = "N")]
    pub make_workers: Option<usize>,
    /// How long a make waits for a worker before answering "busy" [default: 20s].
    #[arg(long, env = "PHOTORECEIPT_MAKE_QUEUE_TIMEOUT", value_name = "DURATION")]
    pub make_queue_timeout: Option<String>,
    /// Makes waiting for a worker at most; beyond that "busy" at once, the body dropped
    /// unkept [default: 4 × make-workers].
    #[arg(long, env = "PHOTORECEIPT_MAKE_QUEUE", value_name = "N")]
    pub make_queue: Option<usize>,
    /// A request body not received within this answers 408 [default: 30s].
    #[arg(long, env = "PHOTORECEIPT_BODY_TIMEOUT", value_name = "DURATION")]
    pub body_timeout: Option<String>,
    /// A connection whose request head does not arrive within this is closed [default: 10s].
    #[arg(long, env = "PHOTORECEIPT_HEADER_TIMEOUT", value_name = "DURATION")]
    pub header_timeout: Option<String>,
    /// Requests per second per app; 0 turns the limit off [default: 1000].
    #[arg(long, env = "PHOTORECEIPT_RATE_LIMIT", value_name = "N")]
    pub rate_limit: Option<f64>,
    /// Burst size of the per-app rate limit [default: 2 × rate limit].
    #[arg(long, env = "PHOTORECEIPT_RATE_BURST", value_name = "N")]
    pub rate_burst: Option<f64>,
    /// Where the models are [default: $PHOTORECEIPT_MODELS_DIR, ./models].
    #[arg(long, env = "PHOTORECEIPT_MODELS_DIR", value_name = "DIR")]
    pub models: Option<PathBuf>,
    /// The secret that signs file URLs, at least 16 characters; the same on every node of a
    /// cluster [default: a random one kept in <data-dir>/url-signing.key].
    #[arg(
        long,
        env = "PHOTORECEIPT_URL_SECRET",
        value_name = "SECRET",
        hide_env_values = true
    )]
    pub url_secret: Option<String>,
    /// The collection point printed on rendered receipts [default: PhotoReceipt 证件照服务].
    #[arg(long, env = "PHOTORECEIPT_STUDIO_NAME", value_name = "NAME")]
    pub studio_name: Option<String>,
    /// When orders submitted on non-working days are due, China time [default:
    /// 10:00,14:00,17:00].
    #[arg(long, env = "PHOTORECEIPT_SLA_BATCH_TIMES", value_name = "HH:MM,...")]
    pub sla_batch_times: Option<String>,
    /// A holiday override file (JSON, see crates/platform/data/holidays/README.md).
    #[arg(long, env = "PHOTORECEIPT_HOLIDAYS", value_name = "FILE")]
    pub holidays: Option<PathBuf>,
    /// Where blobs live: `s3://bucket?endpoint=…&region=…` (keys and anything not in the URL
    /// from the usual AWS_* variables) [default: <data-dir>/blobs].
    #[arg(long, env = "PHOTORECEIPT_STORE_URL", value_name = "URL")]
    pub store_url: Option<String>,
    /// Hand out S3 presigned URLs for files instead of this service's signed /files/ URLs.
    #[arg(long, env = "PHOTORECEIPT_PRESIGN_URLS", num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub presign_urls: Option<bool>,
}

/// The TOML file: the same settings, every one optional.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<String>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    public_url: Option<String>,
    pic_ttl: Option<String>,
    sandbox_delay: Option<String>,
    retention_days: Option<u32>,
    retention: Option<String>,
    retention_every: Option<String>,
    pic_grace: Option<String>,
    url_ttl: Option<String>,
    max_body: Option<usize>,
    make_workers: Option<usize>,
    make_queue_timeout: Option<String>,
    make_queue: Option<usize>,
    body_timeout: Option<String>,
    header_timeout: Option<String>,
    rate_limit: Option<f64>,
    rate_burst: Option<f64>,
    models: Option<PathBuf>,
    url_secret: Option<String>,
    studio_name: Option<String>,
    sla_batch_times: Option<String>,
    holidays: Option<PathBuf>,
    store_url: Option<String>,
    presign_urls: Option<bool>,
}

/// The resolved settings.
/// No `Debug`: it holds the URL secret.
#[derive(Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// `None`: the data dir's SQLite file.
    pub database_url: Option<String>,
    /// `None`: derived from the bound address once listening.
    pub public_url: Option<String>,
    pub pic_ttl: Duration,
    pub pic_grace: Duration,
    pub sandbox_delay: Duration,
    /// How long finished orders keep their photos and personal params.
    pub retention: Duration,
    pub retention_every: Duration,
    pub url_ttl: Duration,
    pub max_body: usize,
    pub make_workers: usize,
    pub make_queue_timeout: Duration,
    pub make_queue: usize,
    pub body_timeout: Duration,
    pub header_timeout: Duration,
    pub rate_limit: f64,
    pub rate_burst: f64,
    pub models: PathBuf,
    pub url_secret: Option<String>,
    pub studio_name: String,
    pub sla_batch_times: String,
    pub holidays: Option<PathBuf>,
    /// `None`: `<data_dir>/blobs`.
    pub store_url: Option<String>,
    pub presign_urls: bool,
}

impl Config {
    /// Resolves flags (already merged with the environment by clap) over the file over the
    /// defaults.
    pub fn resolve(args: &ServeArgs) -> anyhow::Result<Config> {
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let pick = |flag: &Option<String>,
                    file: &Option<String>,
                    default: &str,
                    name: &str|
         -> anyhow::Result<Duration> {
            let text = flag
                .clone()
                .or_else(|| file.clone())
                .unwrap_or_else(|| default.to_string());
            parse_duration(&text).with_context(|| {
                format!("--{name}: `{text}` is not a duration (e.g. 500ms, 10s, 50m, 1h)")
            })
        };
        let retention_days = args.retention_days.or(file.retention_days).unwrap_or(30);
        let listen_text = args
            .listen
            .clone()
            .or(file.listen)
            .unwrap_or_else(|| "127.0.0.1:8080".into());
        let listen: SocketAddr = listen_text.parse().with_context(|| {
            format!("--listen: `{listen_text}` is not an address like 127.0.0.1:8080")
        })?;
        let rate_limit = args.rate_limit.or(file.rate_limit).unwrap_or(1000.0);
        let make_workers = args
            .make_workers
            .or(file.make_workers)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
        let config = Config {
            listen,
            data_dir: args
                .data_dir
                .clone()
                .or(file.data_dir)
                .unwrap_or_else(|| PathBuf::from("./data")),
            database_url: args.database_url.clone().or(file.database_url),
            public_url: args
                .public_url
                .clone()
                .or(file.public_url)
                .map(|u| u.trim_end_matches('/').to_string()),
            pic_ttl: pick(&args.pic_ttl, &file.pic_ttl, "50m", "pic-ttl")?,
            pic_grace: pick(&args.pic_grace, &file.pic_grace, "1h", "pic-grace")?,
            sandbox_delay: pick(
                &args.sandbox_delay,
                &file.sandbox_delay,
                "10s",
                "sandbox-delay",
            )?,
            retention: pick(
                &args.retention,
                &file.retention,
                &format!("{retention_days}d"),
                "retention",
            )?,
            retention_every: pick(
                &args.retention_every,
                &file.retention_every,
                "1h",
                "retention-every",
            )?,
            url_ttl: pick(&args.url_ttl, &file.url_ttl, "24h", "url-ttl")?,
            max_body: args.max_body.or(file.max_body).unwrap_or(10 * 1024 * 1024),
            make_workers,
            make_queue_timeout: pick(
                &args.make_queue_timeout,
                &file.make_queue_timeout,
                "20s",
                "make-queue-timeout",
            )?,
            make_queue: args
                .make_queue
                .or(file.make_queue)
                .unwrap_or(4 * make_workers),
            body_timeout: pick(
                &args.body_timeout,
                &file.body_timeout,
                "30s",
                "body-timeout",
            )?,
            header_timeout: pick(
                &args.header_timeout,
                &file.header_timeout,
                "10s",
                "header-timeout",
            )?,
            rate_limit,
            rate_burst: args
                .rate_burst
                .or(file.rate_burst)
                .unwrap_or(rate_limit * 2.0),
            models: args
                .models
                .clone()
                .or(file.models)
                .unwrap_or_else(engine::vision::Models::default_dir),
            url_secret: args.url_secret.clone().or(file.url_secret),
            studio_name: args
                .studio_name
                .clone()
                .or(file.studio_name)
                .unwrap_or_else(|| platform::receipt::DEFAULT_STUDIO.into()),
            sla_batch_times: args
                .sla_batch_times
                .clone()
                .or(file.sla_batch_times)
                .unwrap_or_else(|| "10:00,14:00,17:00".into()),
            holidays: args.holidays.clone().or(file.holidays),
            store_url: args.store_url.clone().or(file.store_url),
            presign_urls: args.presign_urls.or(file.presign_urls).unwrap_or(false),
        };
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> anyhow::Result<()> {
        if let Some(url) = &self.database_url {
            platform::DatabaseUrl::parse(url).context("--database-url")?;
        }
        if let Some(url) = &self.public_url {
            let ok = url::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https"));
            if !ok {
                bail!("--public-url: `{url}` is not an http(s) URL");
            }
        }
        if self.url_secret.as_ref().is_some_and(|s| s.len() < 16) {
            bail!("--url-secret must be at least 16 characters");
        }
        if self.presign_urls
            && !self
                .store_url
                .as_ref()
                .is_some_and(|u| u.starts_with("s3://"))
        {
            bail!("--presign-urls needs an s3:// --store-url");
        }
        if self.make_workers == 0 {
            bail!("--make-workers must be at least 1");
        }
        if self.max_body < 1024 {
            bail!("--max-body must be at least 1024 bytes");
        }
        Sla::default()
            .with_batch_times(&self.batch_times())
            .context("--sla-batch-times")?;
        let non_negative = |v: f64| v >= 0.0; // false for NaN too
        if !non_negative(self.rate_limit) || !non_negative(self.rate_burst) {
            bail!("--rate-limit and --rate-burst cannot be negative");
        }
        Ok(())
    }
}

impl Config {
    fn batch_times(&self) -> Vec<&str> {
        self.sla_batch_times
            .split(',')
            .filter(|t| !t.trim().is_empty())
            .collect()
    }

    /// The review SLA: the built-in holiday calendar (plus the override file) and the batch
    /// times.
    pub fn sla(&self) -> anyhow::Result<Sla> {
        let calendar = match &self.holidays {
            Some(path) => WorkCalendar::with_override_file(path)
                .with_context(|| format!("--holidays {}", path.display()))?,
            None => WorkCalendar::builtin(),
        };
        let sla = Sla::new(Arc::new(calendar))
            .with_batch_times(&self.batch_times())
            .context("--sla-batch-times")?;
        for year in sla.missing_years(chrono::Utc::now()) {
            tracing::warn!(
                year,
                "NO HOLIDAY DATA for {year}: SLAs count Monday–Friday only"
            );
        }
        Ok(sla)
    }
}

/// How receipts are rendered: the studio, the verification URL base, and the CJK font from
/// the models dir. A missing font is logged loudly; approvals then fall back to the photo.
pub fn receipt_settings(studio: &str, public_url: &str, models: &Path) -> ReceiptSettings {
    let settings = ReceiptSettings {
        studio: studio.to_string(),
        public_url: public_url.to_string(),
        font: None,
    };
    let path = models.join(engine::receipt::RECEIPT_FONT_FILE);
    match settings.clone().with_font_file(&path) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "receipts will not be rendered");
            eprintln!("warning: {e}: receipts will not be rendered");
            settings
        }
    }
}

fn read_file(path: &Path) -> anyhow::Result<FileConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the config file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("in the config file {}", path.display()))
}

pub use platform::callback::schedule::parse_duration;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("10"), Some(Duration::from_secs(10)));
        assert_eq!(parse_duration("50m"), Some(Duration::from_secs(3000)));
        assert_eq!(parse_duration("1.5h"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("2 weeks"), None);
        assert_eq!(parse_duration(""), None);
    }

    #[test]
    fn flags_win_over_the_file_which_wins_over_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:9000\"\npic_ttl = \"2m\"\ndata_dir = \"/srv/pr\"\n",
        )
        .unwrap();
        let args = ServeArgs {
            config: Some(file.clone()),
            pic_ttl: Some("5s".into()),
            ..Default::default()
        };
        let c = Config::resolve(&args).unwrap();
        assert_eq!(c.listen.port(), 9000);
        assert_eq!(c.pic_ttl, Duration::from_secs(5));
        assert_eq!(c.data_dir, PathBuf::from("/srv/pr"));
        assert_eq!(c.sandbox_delay, Duration::from_secs(10));
        std::fs::write(&file, "colour = 1\n").unwrap();
        assert!(Config::resolve(&args).is_err(), "unknown keys are refused");
        let short = ServeArgs {
            url_secret: Some("short".into()),
            ..Default::default()
        };
        assert!(
            Config::resolve(&short).is_err(),
            "a short URL secret is refused"
        );
    }

    #[test]
    fn retention_is_days_or_a_duration() {
        let days = |args: ServeArgs| Config::resolve(&args).unwrap().retention.as_secs() / 86400;
        assert_eq!(days(ServeArgs::default()), 30);
        let seven = ServeArgs {
            retention_days: Some(7),
            ..Default::default()
        };
        assert_eq!(days(seven), 7);
        let minutes = ServeArgs {
            retention_days: Some(7),
            retention: Some("3m".into()),
            ..Default::default()
        };
        assert_eq!(
            Config::resolve(&minutes).unwrap().retention,
            Duration::from_secs(180)
        );
        let bad = ServeArgs {
            retention: Some("soon".into()),
            ..Default::default()
        };
        assert!(Config::resolve(&bad).is_err());
    }

    #[test]
    fn sla_and_receipt_settings_come_from_the_file_and_bad_times_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        let holidays = dir.path().join("h.json");
        std::fs::write(
            &holidays,
            r#"{"year": 2026, "holidays": {"店休": ["2026-03-04"]}}"#,
        )
        .unwrap();
        let toml = format!(
            "sla_batch_times = \"11:00\"\nstudio_name = \"街角照相馆\"\nholidays = {:?}\n",
            holidays.display().to_string()
        );
        std::fs::write(&file, toml).unwrap();
        let args = ServeArgs {
            config: Some(file.clone()),
            ..Default::default()
        };
        let c = Config::resolve(&args).unwrap();
        assert_eq!(c.studio_name, "街角照相馆");
        // A Wednesday made a day off by the override: due at the one batch.
        let t = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap();
        let due = c
            .sla()
            .unwrap()
            .due(t("2026-03-04T09:30:00+08:00").to_utc());
        assert_eq!(due, t("2026-03-04T11:00:00+08:00"));
        let bad = ServeArgs {
            sla_batch_times: Some("10:00,25:00".into()),
            ..Default::default()
        };
        assert!(Config::resolve(&bad).is_err());
        let missing = ServeArgs {
            holidays: Some(dir.path().join("nope.json")),
            ..Default::default()
        };
        assert!(Config::resolve(&missing).unwrap().sla().is_err());
    }
}
