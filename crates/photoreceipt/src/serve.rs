//! `photoreceipt serve`: the merchant API and the background jobs on one data dir.

use anyhow::Context as _;
use chrono::TimeDelta;
use clap::Args;
use platform::Settings;
use server::{files, jobs, ServerConfig, Service};
use std::process::ExitCode;
use std::sync::Arc;
use tokio::sync::watch;

use crate::config::{Config, ServeArgs};

#[derive(Args)]
pub struct ServeCmd {
    #[command(flatten)]
    pub args: ServeArgs,
    #[command(flatten)]
    pub callbacks: crate::callback::CallbackArgs,
}

pub fn run(cmd: ServeCmd) -> anyhow::Result<ExitCode> {
    let config = Config::resolve(&cmd.args)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let worker = cmd.callbacks.worker_config()?;
    let policy = cmd.callbacks.policy()?;
    rt.block_on(serve(config, worker, policy))?;
    Ok(ExitCode::SUCCESS)
}

fn delta(d: std::time::Duration) -> TimeDelta {
    TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX)
}

async fn serve(
    c: Config,
    worker: platform::callback::WorkerConfig,
    policy: platform::callback::CallbackPolicy,
) -> anyhow::Result<()> {
    let catalogue = catalogue::Catalogue::try_builtin()
        .map_err(|e| anyhow::anyhow!("loading the built-in catalogue: {e}"))?;
    let listener = tokio::net::TcpListener::bind(c.listen)
        .await
        .with_context(|| format!("listening on {}", c.listen))?;
    let addr = listener.local_addr()?;
    let public_url = c
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));
    let settings = Settings {
        pic_ttl: delta(c.pic_ttl),
        pic_grace: delta(c.pic_grace),
        sla: c.sla()?,
        receipts: crate::config::receipt_settings(&c.studio_name, &public_url, &c.models),
        callbacks: policy,
        retention: delta(c.retention),
    };
    let platform = crate::app::open_install(
        &c.data_dir,
        c.database_url.as_deref(),
        c.store_url.as_deref(),
        settings,
        Arc::new(catalogue),
    )
    .await?;
    let engine = engine::Engine::load(&c.models).with_context(|| {
        format!(
            "loading models from {} (run scripts/fetch-models)",
            c.models.display()
        )
    })?;
    let secret = match &c.url_secret {
        Some(s) => s.clone().into_bytes(),
        None => files::load_or_create_secret(&c.data_dir).context("reading the URL signing key")?,
    };
    let svc = Arc::new(Service::new(
        platform.clone(),
        catalogue,
        Arc::new(engine),
        secret,
        server_config(&c, &public_url),
    ));
    let signer = svc.urls.clone();
    let urls: platform::callback::UrlSignerFn =
        Arc::new(move |key: &str| signer.url(key, chrono::Utc::now()));
    let callbacks = Arc::new(platform::callback::Worker::new(platform, worker, urls)?);
    let counted = callbacks.clone();
    svc.metrics.set_callback_source(move || counted.report());
    announce(&svc, &c, addr, &public_url).await;
    let (stop, stopped) = watch::channel(false);
    let mut job_handles = jobs::spawn(svc.clone(), stopped.clone());
    job_handles.push(tokio::spawn(async move {
        let mut stopped = stopped;
        let report = callbacks
            .run(async move { while stopped.changed().await.is_ok() && !*stopped.borrow() {} })
            .await;
        tracing::info!(
            attempts = report.attempts,
            delivered = report.succeeded,
            "callback worker stopped"
        );
    }));
    server::listen::serve(
        listener,
        server::router(svc.clone()),
        c.header_timeout,
        shutdown_signal(),
    )
    .await;
    tracing::info!("draining background jobs");
    let _ = stop.send(true);
    for h in job_handles {
        let _ = h.await;
    }
    tracing::info!("stopped");
    Ok(())
}

fn server_config(c: &Config, public_url: &str) -> ServerConfig {
    ServerConfig {
        public_url: public_url.to_string(),
        url_ttl: delta(c.url_ttl),
        max_body_bytes: c.max_body,
        make_workers: c.make_workers,
        make_queue_timeout: c.make_queue_timeout,
        make_queue: c.make_queue,
        body_timeout: c.body_timeout,
        rate_limit: c.rate_limit,
        rate_burst: c.rate_burst,
        sandbox_delay: c.sandbox_delay,
        retention_every: c.retention_every,
        presign_urls: c.presign_urls,
    }
}

/// Where it listens, and on an install with no apps, how to make a key.
async fn announce(svc: &Service, c: &Config, addr: std::net::SocketAddr, public_url: &str) {
    println!("photoreceipt listening on http://{addr}");
    println!(
        "public URL {public_url}, data dir {}, files in {}",
        c.data_dir.display(),
        svc.platform.blobs().describe()
    );
    let no_apps = svc
        .platform
        .apps()
        .await
        .map(|a| a.is_empty())
        .unwrap_or(false);
    if no_apps {
        println!(
            "No merchant app yet. Create a key with:\n  photoreceipt app create --name NAME --data-dir {}",
            c.data_dir.display()
        );
    }
    tracing::info!(%addr, public_url, data_dir = %c.data_dir.display(), "serving");
}

/// SIGINT or SIGTERM: stop accepting, let requests in flight finish.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
