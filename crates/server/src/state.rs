//! What every handler shares: the platform, the catalogue, the engine, the limits.

use catalogue::Catalogue;
use chrono::TimeDelta;
use engine::Engine;
use platform::{App, Platform};
use std::sync::Arc;
use std::time::Duration;

use crate::codes::ApiError;
use crate::files::UrlSigner;
use crate::limits::{MakePool, RateLimiter};
use crate::metrics::Metrics;
use crate::sandbox::Sandbox;

/// Settings of the HTTP service (the platform has its own).
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Base of every URL handed out, e.g. `https://api.example.com`.
    pub public_url: String,
    /// How long a file URL in an answer stays valid.
    pub url_ttl: TimeDelta,
    /// Largest request body; larger ones get HTTP 413 before being read.
    pub max_body_bytes: usize,
    /// Engine runs at once (default: the number of cores).
    pub make_workers: usize,
    /// How long a make waits for a free worker before answering `BUSY`.
    pub make_queue_timeout: Duration,
    /// Makes admitted beyond the workers (waiting for one); more get `BUSY` and their body
    /// is dropped unkept, so memory stays bounded however many clients send photos.
    pub make_queue: usize,
    /// A body not received within this gets `BODY_TIMEOUT` (HTTP 408).
    pub body_timeout: Duration,
    /// Requests per second per app (token bucket); 0 turns the limit off.
    pub rate_limit: f64,
    /// Bucket size of the rate limit.
    pub rate_burst: f64,
    /// Sandbox orders move on by themselves after this long in each status.
    pub sandbox_delay: Duration,
    /// How often the retention job runs.
    pub retention_every: Duration,
    /// File URLs are the store's presigned URLs (S3) rather than `/files/…` on this service.
    pub presign_urls: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            public_url: "http://127.0.0.1:8080".into(),
            url_ttl: TimeDelta::hours(24),
            max_body_bytes: 10 * 1024 * 1024,
            make_workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            make_queue_timeout: Duration::from_secs(20),
            make_queue: 8,
            body_timeout: Duration::from_secs(30),
            rate_limit: 1000.0,
            rate_burst: 2000.0,
            sandbox_delay: Duration::from_secs(10),
            retention_every: Duration::from_secs(3600),
            presign_urls: false,
        }
    }
}

/// The shared state of the service.
pub struct Service {
    pub platform: Platform,
    pub catalogue: &'static Catalogue,
    pub engine: Arc<Engine>,
    pub urls: UrlSigner,
    pub pool: MakePool,
    pub rate: RateLimiter,
    pub sandbox: Sandbox,
    pub config: ServerConfig,
    pub metrics: Metrics,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Service {
    pub fn new(
        platform: Platform,
        catalogue: &'static Catalogue,
        engine: Arc<Engine>,
        url_secret: Vec<u8>,
        config: ServerConfig,
    ) -> Self {
        let mut urls = UrlSigner::new(&config.public_url, url_secret, config.url_ttl);
        if config.presign_urls {
            urls = urls.with_presigning(platform.blobs().clone());
        }
        Self {
            urls,
            pool: MakePool::new(
                config.make_workers,
                config.make_queue,
                config.make_queue_timeout,
            ),
            rate: RateLimiter::new(config.rate_limit, config.rate_burst),
            sandbox: Sandbox::default(),
            metrics: Metrics::new(),
            platform,
            catalogue,
            engine,
            config,
        }
    }

    /// The app holding `key`, within its rate limit.
    pub async fn authenticate(&self, key: &str) -> Result<App, ApiError> {
        let app = self
            .platform
            .authenticate(key)
            .await
            .map_err(|e| ApiError::from(&e))?;
        self.rate.check(app.app_id)?;
        Ok(app)
    }
}
