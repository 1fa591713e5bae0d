//! `photoreceipt callback`: the outbox as operators see it (list, show, redeliver), and
//! `callback worker`, the delivery worker alone on a data dir (for operators who run workers
//! apart from `serve`, and for tests). [`CallbackArgs`] are the worker's flags; `serve` can
//! flatten them too.

use anyhow::{bail, Context as _};
use chrono::{TimeDelta, Utc};
use clap::{Args, Subcommand};
use platform::callback::{UrlSignerFn, Worker, WorkerConfig};
use platform::{
    Callback, CallbackFilter, CallbackPolicy, CallbackState, Platform, RetrySchedule, Settings,
};
use serde_json::json;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use crate::app::{open_platform, with_platform, DataDirArg};
use crate::config::parse_duration;

#[derive(Args)]
pub struct CallbackCmd {
    #[command(flatten)]
    pub data: DataDirArg,
    #[command(subcommand)]
    pub action: CallbackAction,
}

#[derive(Subcommand)]
pub enum CallbackAction {
    /// List callbacks, oldest first.
    List(ListArgs),
    /// Show one callback and every attempt (time, HTTP status, latency, answer, error).
    Show(IdArg),
    /// Send a failed (or delivered) callback again, now, with the same webhook-id.
    Redeliver(IdArg),
    /// Run only the delivery worker on the data dir, until SIGINT or SIGTERM.
    Worker(WorkerArgs),
}

#[derive(Args)]
pub struct ListArgs {
    /// Only failed ones (the retry schedule is exhausted).
    #[arg(long, conflicts_with = "state")]
    pub failed: bool,
    /// pending, delivering, succeeded or failed.
    #[arg(long, value_name = "STATE")]
    pub state: Option<String>,
    /// Only this order's.
    #[arg(long, value_name = "ORDER_NO")]
    pub order: Option<String>,
    #[arg(long, default_value_t = 100)]
    pub limit: u32,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct IdArg {
    pub id: i64,
    #[arg(long)]
    pub json: bool,
}

/// The delivery worker's settings.
#[derive(Args, Clone, Debug)]
pub struct CallbackArgs {
    /// Waits between attempts, ±20 % jitter; when they run out the callback fails.
    #[arg(
        long,
        env = "PHOTORECEIPT_CALLBACK_SCHEDULE",
        default_value = "5s,5m,30m,2h,5h,10h,10h",
        value_name = "LIST"
    )]
    pub callback_schedule: String,
    /// Let callbacks reach this range although it is not public (e.g. 127.0.0.0/8 in tests).
    /// Repeatable.
    #[arg(
        long,
        env = "PHOTORECEIPT_CALLBACK_ALLOW_CIDR",
        value_delimiter = ',',
        value_name = "CIDR"
    )]
    pub callback_allow_cidr: Vec<String>,
    /// Deliveries in flight to one host:port.
    #[arg(long, env = "PHOTORECEIPT_CALLBACK_PER_HOST", default_value_t = 8)]
    pub callback_per_host: usize,
    /// Callbacks being delivered at once, over all hosts.
    #[arg(long, env = "PHOTORECEIPT_CALLBACK_CONCURRENCY", default_value_t = 64)]
    pub callback_concurrency: usize,
    /// One attempt's time limit, connection to last byte.
    #[arg(
        long,
        env = "PHOTORECEIPT_CALLBACK_TIMEOUT",
        default_value = "15s",
        value_name = "DURATION"
    )]
    pub callback_timeout: String,
    /// How long a claim lasts; a dead worker's callbacks are taken over after it.
    #[arg(
        long,
        env = "PHOTORECEIPT_CALLBACK_LEASE",
        default_value = "60s",
        value_name = "DURATION"
    )]
    pub callback_lease: String,
}

impl CallbackArgs {
    /// The SSRF allow-list, for [`Settings::callbacks`] (checked at submit and delivery).
    pub fn policy(&self) -> anyhow::Result<CallbackPolicy> {
        CallbackPolicy::parse_allow(&self.callback_allow_cidr).context("--callback-allow-cidr")
    }

    pub fn worker_config(&self) -> anyhow::Result<WorkerConfig> {
        let duration = |text: &str, flag: &str| {
            parse_duration(text)
                .with_context(|| format!("--{flag}: `{text}` is not a duration (e.g. 15s)"))
        };
        let config = WorkerConfig {
            schedule: RetrySchedule::parse(&self.callback_schedule)
                .context("--callback-schedule")?,
            per_host: self.callback_per_host,
            concurrency: self.callback_concurrency,
            timeout: duration(&self.callback_timeout, "callback-timeout")?,
            lease: duration(&self.callback_lease, "callback-lease")?,
            ..WorkerConfig::default()
        };
        config.check()?;
        Ok(config)
    }
}

#[derive(Args)]
pub struct WorkerArgs {
    #[command(flatten)]
    pub callbacks: CallbackArgs,
    /// Base of the file URLs in status 3 callbacks: the public URL of `serve`.
    #[arg(
        long,
        env = "PHOTORECEIPT_PUBLIC_URL",
        default_value = "http://127.0.0.1:8080",
        value_name = "URL"
    )]
    pub public_url: String,
    /// How long those file URLs stay valid.
    #[arg(
        long,
        env = "PHOTORECEIPT_URL_TTL",
        default_value = "24h",
        value_name = "DURATION"
    )]
    pub url_ttl: String,
    /// The secret that signs file URLs, as given to `serve` [default: the data dir's key].
    #[arg(
        long,
        env = "PHOTORECEIPT_URL_SECRET",
        value_name = "SECRET",
        hide_env_values = true
    )]
    pub url_secret: Option<String>,
    /// S3 presigned file URLs, as `serve --presign-urls`.
    #[arg(long, env = "PHOTORECEIPT_PRESIGN_URLS")]
    pub presign_urls: bool,
}

pub fn run(cmd: CallbackCmd) -> anyhow::Result<ExitCode> {
    let data = cmd.data;
    match cmd.action {
        CallbackAction::Worker(a) => worker(&data, a),
        action => with_platform(&data, |p| async move {
            match action {
                CallbackAction::List(a) => list(&p, a).await,
                CallbackAction::Show(a) => show(&p, a).await,
                CallbackAction::Redeliver(a) => redeliver(&p, a).await,
                CallbackAction::Worker(_) => unreachable!("handled above"),
            }?;
            Ok(ExitCode::SUCCESS)
        }),
    }
}

fn state_arg(a: &ListArgs) -> anyhow::Result<Option<CallbackState>> {
    if a.failed {
        return Ok(Some(CallbackState::Failed));
    }
    a.state
        .as_deref()
        .map(|s| {
            CallbackState::parse(s).with_context(|| {
                format!("--state `{s}`: one of pending, delivering, succeeded, failed")
            })
        })
        .transpose()
}

async fn list(p: &Platform, a: ListArgs) -> anyhow::Result<()> {
    let filter = CallbackFilter {
        order_no: a.order.clone(),
        state: state_arg(&a)?,
        limit: a.limit,
    };
    let cbs = p.callbacks(&filter).await?;
    if a.json {
        println!("{}", serde_json::to_value(&cbs)?);
        return Ok(());
    }
    println!(
        "{:>6}  {:<22} {:>6}  {:<10} {:>8}  {:<19}  URL",
        "ID", "ORDER", "STATUS", "STATE", "ATTEMPTS", "NEXT"
    );
    for c in &cbs {
        println!(
            "{:>6}  {:<22} {:>6}  {:<10} {:>8}  {:<19}  {}",
            c.id,
            c.order_no,
            c.status,
            c.state.as_str(),
            c.attempts,
            next_text(c),
            c.notice_url
        );
    }
    println!("{} callbacks", cbs.len());
    Ok(())
}

fn next_text(c: &Callback) -> String {
    match c.state {
        CallbackState::Pending => c.next_attempt_at.format("%Y-%m-%d %H:%M:%S").to_string(),
        _ => "-".into(),
    }
}

async fn show(p: &Platform, a: IdArg) -> anyhow::Result<()> {
    let cb = p.callback(a.id).await?;
    let attempts = p.callback_attempts(a.id).await?;
    if a.json {
        println!("{}", json!({"callback": cb, "attempts": attempts}));
        return Ok(());
    }
    println!("callback {} ({})", cb.id, cb.webhook_id);
    println!("order:    {} status {}", cb.order_no, cb.status);
    println!("to:       {}", cb.notice_url);
    println!(
        "state:    {} after {} attempts",
        cb.state.as_str(),
        cb.attempts
    );
    if cb.state == CallbackState::Pending {
        println!("next:     {}", cb.next_attempt_at.to_rfc3339());
    }
    for t in &attempts {
        let http = t.http_status.map_or("-".into(), |s| s.to_string());
        let verdict = t.error.as_deref().unwrap_or("ok");
        println!(
            "  {}  HTTP {http:<3} {:>6} ms  {verdict}",
            t.at.format("%Y-%m-%d %H:%M:%S%.3f"),
            t.latency_ms
        );
        if !t.response_head.is_empty() {
            let head: String = t.response_head.chars().take(200).collect();
            println!("      answer: {}", head.replace('\n', " "));
        }
    }
    Ok(())
}

async fn redeliver(p: &Platform, a: IdArg) -> anyhow::Result<()> {
    let cb = p.redeliver_callback(a.id, p.now()).await?;
    if a.json {
        println!("{}", serde_json::to_value(&cb)?);
    } else {
        println!(
            "callback {} (order {}, status {}) queued for delivery now",
            cb.id, cb.order_no, cb.status
        );
    }
    Ok(())
}

/// File URLs signed like `serve` signs them: `secret`, or the data dir's URL signing key;
/// presigned by `presign` (S3) when given.
pub fn url_signer(
    data_dir: &Path,
    secret: Option<&str>,
    public_url: &str,
    ttl: TimeDelta,
    presign: Option<Arc<dyn platform::BlobStore>>,
) -> anyhow::Result<UrlSignerFn> {
    let secret = match secret {
        Some(s) if s.len() < 16 => bail!("--url-secret must be at least 16 characters"),
        Some(s) => s.as_bytes().to_vec(),
        None => {
            server::files::load_or_create_secret(data_dir).context("reading the URL signing key")?
        }
    };
    let mut signer = server::UrlSigner::new(public_url, secret, ttl);
    if let Some(store) = presign {
        signer = signer.with_presigning(store);
    }
    Ok(Arc::new(move |key: &str| signer.url(key, Utc::now())))
}

fn worker(data: &DataDirArg, a: WorkerArgs) -> anyhow::Result<ExitCode> {
    let config = a.callbacks.worker_config()?;
    let settings = Settings {
        callbacks: a.callbacks.policy()?,
        ..Settings::default()
    };
    let ok_url =
        url::Url::parse(&a.public_url).is_ok_and(|u| matches!(u.scheme(), "http" | "https"));
    if !ok_url {
        bail!("--public-url: `{}` is not an http(s) URL", a.public_url);
    }
    if a.presign_urls
        && !data
            .store_url
            .as_ref()
            .is_some_and(|u| u.starts_with("s3://"))
    {
        bail!("--presign-urls needs an s3:// --store-url");
    }
    let ttl = parse_duration(&a.url_ttl)
        .and_then(|d| TimeDelta::from_std(d).ok())
        .with_context(|| format!("--url-ttl: `{}` is not a duration", a.url_ttl))?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    rt.block_on(async {
        let platform = open_platform(data, settings).await?;
        let presign = a.presign_urls.then(|| platform.blobs().clone());
        let urls = url_signer(
            &data.data_dir,
            a.url_secret.as_deref(),
            &a.public_url,
            ttl,
            presign,
        )?;
        let worker = Arc::new(Worker::new(platform, config.clone(), urls)?);
        println!(
            "callback worker on {}: schedule {}, allow [{}]",
            data.data_dir.display(),
            config.schedule,
            a.callbacks.callback_allow_cidr.join(", ")
        );
        let report = worker.run(stop_signal()).await;
        println!(
            "callback worker stopped: {} attempts, {} delivered, {} to retry, {} failed",
            report.attempts, report.succeeded, report.retried, report.failed
        );
        Ok(ExitCode::SUCCESS)
    })
}

/// SIGINT or SIGTERM.
async fn stop_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
