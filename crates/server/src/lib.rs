//! The HTTP server: the merchant API (seed-compatible), signed file URLs, the jobs of `serve`.
//!
//! - [`router`] builds the axum app over a [`Service`];
//! - [`codes`] is the one place where errors become API codes;
//! - [`files::UrlSigner`] makes the signed, expiring file URLs (the callback worker needs it too);
//! - [`jobs::spawn`] starts the sandbox reviewer and retention;
//! - [`ops`]: `/healthz`, `/readyz`, `/metrics` ([`metrics`]) and the request id.

pub mod account;
pub mod codes;
pub mod console;
pub mod files;
pub mod forms;
pub mod jobs;
pub mod limits;
pub mod listen;
pub mod metrics;
pub mod openapi;
pub mod ops;
pub mod receipt;
pub mod reply;
pub mod sandbox;
pub mod state;
pub mod timing;
pub mod upload;
pub mod urlencoded;
pub mod verify;

pub use codes::ApiError;
pub use files::UrlSigner;
pub use state::{ServerConfig, Service};

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use std::sync::Arc;

/// The merchant API. Write calls are POST; read calls take GET too.
pub fn router(svc: Arc<Service>) -> Router {
    Router::new()
        .route("/receipt/make", post(receipt::make))
        .route("/receipt/submit", post(receipt::submit))
        .route("/receipt/cancel", post(receipt::cancel))
        .route("/receipt/query", get(receipt::query).post(receipt::query))
        .route(
            "/item/list",
            get(account::item_list).post(account::item_list),
        )
        .route("/item/get", get(account::item_get).post(account::item_get))
        .route(
            "/user/info",
            get(account::user_info).post(account::user_info),
        )
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .route("/openapi.json", get(openapi::serve))
        .route("/files/{*key}", get(files::serve_file))
        .route("/r/{receipt_no}", get(verify::receipt_page))
        .merge(console::routes())
        .fallback(not_found)
        // The body limit is ours (forms.rs), checked before reading.
        .layer(DefaultBodyLimit::disable())
        .layer(axum::middleware::from_fn(timing::stamp))
        // Route patterns only in the logs and metrics: a GET's query string may hold the key.
        .layer(axum::middleware::from_fn_with_state(
            svc.clone(),
            ops::observe,
        ))
        .with_state(svc)
}

async fn not_found() -> ApiError {
    ApiError::new(codes::code::NOT_FOUND, "接口不存在", "no such endpoint")
}
