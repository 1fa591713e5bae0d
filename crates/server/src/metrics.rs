//! `/metrics` in the Prometheus (OpenMetrics) text format, through `prometheus-client`:
//! requests by route and code, latency per route, the make queue, orders by status, callback
//! attempts and failures, the outbox backlog. Request counts, latencies, the make queue and
//! callback attempts are this node's; orders and the outbox are the database's (every node).

use platform::callback::worker::WorkerReport;
use platform::OrderStatus;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;
use std::sync::OnceLock;
use std::time::Duration;

/// Labels of a request: the route pattern (`/files/{*key}`, never the raw path), the HTTP
/// status and the API `code` (empty when the answer has none, e.g. a file).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub route: String,
    pub status: String,
    pub code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabels {
    status: String,
}

type CallbackSource = Box<dyn Fn() -> WorkerReport + Send + Sync>;

/// The registry and its metrics. Cheap to update from any task.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    make_queued: Gauge,
    make_running: Gauge,
    orders: Family<StatusLabels, Gauge>,
    callback_attempts: Counter,
    callback_failures: Counter,
    outbox_waiting: Gauge,
    outbox_lag: Gauge<f64, AtomicU64>,
    callbacks: OnceLock<CallbackSource>,
    /// One scrape at a time updates the gauges and counters read from elsewhere.
    scrape: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

fn latency_histogram() -> Histogram {
    // 1 ms … 16 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut m = Self {
            registry: Registry::with_prefix("photoreceipt"),
            requests: Family::default(),
            latency: Family::new_with_constructor(latency_histogram),
            make_queued: Gauge::default(),
            make_running: Gauge::default(),
            orders: Family::default(),
            callback_attempts: Counter::default(),
            callback_failures: Counter::default(),
            outbox_waiting: Gauge::default(),
            outbox_lag: Gauge::default(),
            callbacks: OnceLock::new(),
            scrape: tokio::sync::Mutex::new(()),
        };
        let r = &mut m.registry;
        r.register(
            "http_requests",
            "HTTP requests by route, HTTP status and API code",
            m.requests.clone(),
        );
        r.register(
            "http_request_duration_seconds",
            "Time from the request's head to the answer, by route",
            m.latency.clone(),
        );
        r.register(
            "make_queue_depth",
            "Makes waiting for an engine worker on this node",
            m.make_queued.clone(),
        );
        r.register(
            "make_in_progress",
            "Makes running in the engine on this node",
            m.make_running.clone(),
        );
        r.register("orders", "Orders by status (database)", m.orders.clone());
        r.register(
            "callback_attempts",
            "Callback deliveries attempted by this node's worker",
            m.callback_attempts.clone(),
        );
        r.register(
            "callback_failures",
            "Callback attempts that did not deliver (retried or given up)",
            m.callback_failures.clone(),
        );
        r.register(
            "outbox_waiting",
            "Callbacks pending or being delivered (database)",
            m.outbox_waiting.clone(),
        );
        r.register(
            "outbox_lag_seconds",
            "How long the most overdue unsettled callback has been due; 0 when none is",
            m.outbox_lag.clone(),
        );
        m
    }

    /// Counts one answered request.
    pub fn observe_request(&self, labels: RequestLabels, took: Duration) {
        let route = RouteLabels {
            route: labels.route.clone(),
        };
        self.requests.get_or_create(&labels).inc();
        self.latency
            .get_or_create(&route)
            .observe(took.as_secs_f64());
    }

    /// Where the callback counts come from (the worker of `serve`). The first one sticks.
    pub fn set_callback_source(&self, source: impl Fn() -> WorkerReport + Send + Sync + 'static) {
        let _ = self.callbacks.set(Box::new(source));
    }

    /// The text to answer `/metrics` with, after reading the values kept elsewhere.
    pub async fn render(&self, svc: &crate::state::Service) -> String {
        let _one = self.scrape.lock().await;
        let (queued, running) = svc.pool.depth();
        self.make_queued.set(gauge(queued));
        self.make_running.set(gauge(running));
        self.read_callbacks();
        self.read_database(svc).await;
        let mut text = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut text, &self.registry) {
            tracing::error!(error = %e, "encoding the metrics failed");
        }
        text
    }

    fn read_callbacks(&self) {
        let Some(source) = self.callbacks.get() else {
            return;
        };
        let r = source();
        let add = |c: &Counter, total: u64| c.inc_by(total.saturating_sub(c.get()));
        add(&self.callback_attempts, r.attempts);
        add(&self.callback_failures, r.retried + r.failed);
    }

    /// Orders and the outbox; a database that does not answer leaves the last values.
    async fn read_database(&self, svc: &crate::state::Service) {
        let repo = svc.platform.repo();
        match repo.order_counts_all().await {
            Ok(counts) => {
                for s in OrderStatus::ALL {
                    let labels = StatusLabels {
                        status: s.name().to_string(),
                    };
                    self.orders.get_or_create(&labels).set(counts.get(s));
                }
            }
            Err(e) => tracing::warn!(error = %e, "metrics: counting orders failed"),
        }
        match repo.outbox_backlog().await {
            Ok(b) => {
                self.outbox_waiting.set(b.waiting);
                let now = svc.platform.now();
                let lag = b.oldest_due.map_or(0.0, |due| {
                    ((now - due).num_milliseconds() as f64 / 1000.0).max(0.0)
                });
                self.outbox_lag.set(lag);
            }
            Err(e) => tracing::warn!(error = %e, "metrics: reading the outbox failed"),
        }
    }
}

fn gauge(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The Content-Type of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
