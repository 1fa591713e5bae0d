//! Operations: `/healthz` (alive), `/readyz` (the database and the store answer), `/metrics`,
//! and the middleware that gives every request an id (`x-request-id`), a span, a log line
//! and its metrics.

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::Instrument as _;

use crate::codes::code;
use crate::metrics::{RequestLabels, CONTENT_TYPE};
use crate::reply::{ApiResult, Reply};
use crate::state::Service;

/// The header carrying the request id, in and out.
pub const REQUEST_ID: &str = "x-request-id";
/// How long `/readyz` waits for each part.
const READY_TIMEOUT: Duration = Duration::from_secs(3);

/// The API `code` of an answer, put in its extensions by [`Reply`] and [`crate::ApiError`].
#[derive(Debug, Clone, Copy)]
pub struct ApiCode(pub u32);

/// `GET /healthz`: the process is alive and serving (nothing else is asked).
pub async fn healthz() -> ApiResult {
    Ok(Reply::ok(
        json!({"status": "ok", "version": env!("CARGO_PKG_VERSION")}),
    ))
}

/// `GET /readyz`: 200 when the database and the blob store both answer, else 503 with code
/// 9003 and `data.database` / `data.store` saying which did not.
pub async fn readyz(State(svc): State<Arc<Service>>) -> Response {
    let platform = &svc.platform;
    let db = tokio::time::timeout(READY_TIMEOUT, platform.repo().app(0));
    let store = tokio::time::timeout(READY_TIMEOUT, platform.blobs().exists("readyz-probe"));
    let (db, store) = tokio::join!(db, store);
    let db = part("database", db.map_err(|_| "timed out".to_string()));
    let store = part("store", store.map_err(|_| "timed out".to_string()));
    let ready = db == "ok" && store == "ok";
    let data = json!({"database": db, "store": store});
    if ready {
        let mut data = data;
        data["status"] = json!("ready");
        return Reply::ok(data).into_response();
    }
    let body = json!({
        "code": code::NOT_READY,
        "msg": "服务未就绪：数据库或文件存储无响应",
        "msg_en": "not ready: the database or the file store does not answer",
        "data": data,
    });
    let mut resp = (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
    resp.extensions_mut().insert(ApiCode(code::NOT_READY));
    resp
}

/// `"ok"`, or `"unavailable"` (the error is logged, not shown).
fn part<T, E: std::fmt::Display>(name: &str, r: Result<Result<T, E>, String>) -> &'static str {
    let why = match r {
        Ok(Ok(_)) => return "ok",
        Ok(Err(e)) => e.to_string(),
        Err(e) => e,
    };
    tracing::warn!(part = name, error = %why, "not ready");
    "unavailable"
}

/// `GET /metrics`: Prometheus text.
pub async fn metrics(State(svc): State<Arc<Service>>) -> Response {
    let text = svc.metrics.render(&svc).await;
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response()
}

/// Middleware: the request id (the client's `x-request-id` when sane, else a new one) on a
/// span around the handler, echoed in the answer; one log line and the metrics per request.
pub async fn observe(State(svc): State<Arc<Service>>, req: Request, next: Next) -> Response {
    let id = request_id(&req);
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |m| m.as_str())
        .to_string();
    let span =
        tracing::info_span!("request", request_id = %id, method = %req.method(), route = %route);
    let start = Instant::now();
    let mut resp = next.run(req).instrument(span.clone()).await;
    let took = start.elapsed();
    let status = resp.status().as_u16();
    let api_code = resp.extensions().get::<ApiCode>().map(|c| c.0);
    span.in_scope(|| {
        tracing::info!(
            status,
            code = api_code,
            ms = took.as_secs_f64() * 1000.0,
            "answered"
        );
    });
    svc.metrics.observe_request(
        RequestLabels {
            route,
            status: status.to_string(),
            code: api_code.map(|c| c.to_string()).unwrap_or_default(),
        },
        took,
    );
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert(REQUEST_ID, v);
    }
    resp
}

/// The client's id if it is 1–128 visible ASCII characters, else 16 random hex digits.
fn request_id(req: &Request) -> String {
    let given = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|s| !s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_graphic()));
    match given {
        Some(s) => s.to_string(),
        None => format!("{:016x}", rand::random::<u64>()),
    }
}
