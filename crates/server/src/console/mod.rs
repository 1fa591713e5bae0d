//! The reviewers' console: server-rendered pages under `/console`. A session cookie (HttpOnly,
//! SameSite=Strict, Secure behind https), a CSRF token on every form, and every action in the
//! audit log. Reviewers work the queue; admins also run apps, operators, callbacks and specs.

mod admin;
mod auth;
mod order;
mod page;
mod queue;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use platform::{Operator, Session};
use std::sync::Arc;

use crate::codes::ApiError;
use crate::forms::Fields;
use crate::state::Service;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "pr_console";
/// The cookie that carries the login form's CSRF token (no session exists yet).
pub const LOGIN_CSRF_COOKIE: &str = "pr_login_csrf";

/// Every console route.
pub fn routes() -> Router<Arc<Service>> {
    Router::new()
        .route("/console", get(queue::page))
        .route("/console/", get(queue::page))
        .route("/console/login", get(auth::login_page).post(auth::login))
        .route("/console/logout", post(auth::logout))
        .route("/console/orders/{order_no}", get(order::page))
        .route(
            "/console/orders/{order_no}/preview.jpg",
            get(order::preview),
        )
        .route("/console/orders/{order_no}/take", post(order::take))
        .route("/console/orders/{order_no}/release", post(order::release))
        .route("/console/orders/{order_no}/approve", post(order::approve))
        .route("/console/orders/{order_no}/reject", post(order::reject))
        .route("/console/orders/{order_no}/reveal", post(order::reveal))
        .merge(admin::routes())
}

/// A logged-in operator, from the session cookie. Pages that need one redirect to the login
/// page without it.
pub struct Staff {
    pub op: Operator,
    pub session: Session,
}

impl Staff {
    /// The form's `csrf` field must be this session's token.
    pub fn check_csrf(&self, fields: &Fields) -> Result<(), Box<Response>> {
        match fields.get("csrf") {
            Some(t) if same(t, &self.session.csrf) => Ok(()),
            _ => Err(Box::new(csrf_refused())),
        }
    }

    pub fn require_admin(&self) -> Result<(), Box<Response>> {
        if self.op.is_admin() {
            return Ok(());
        }
        let body = page::notice("需要管理员权限", "This page is for admins.");
        Err(Box::new(
            (
                StatusCode::FORBIDDEN,
                page::html(page::shell("403", Some(self), body)),
            )
                .into_response(),
        ))
    }
}

impl FromRequestParts<Arc<Service>> for Staff {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, svc: &Arc<Service>) -> Result<Self, Response> {
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(to_login());
        };
        match svc.platform.console_session(token).await {
            Ok(Some((session, op))) => Ok(Staff { op, session }),
            Ok(None) => Err(to_login()),
            Err(e) => Err(failed(None, &ApiError::from(&e))),
        }
    }
}

fn to_login() -> Response {
    Redirect::to("/console/login").into_response()
}

/// The 403 page of a form without (or with a wrong) CSRF token.
pub fn csrf_refused() -> Response {
    let body = page::notice(
        "表单已失效（CSRF 校验失败），请刷新页面后重试。",
        "The form's CSRF token is missing or wrong: reload the page and try again.",
    );
    (
        StatusCode::FORBIDDEN,
        page::html(page::shell("403", None, body)),
    )
        .into_response()
}

/// An action that failed: the API code and both messages, on a page.
pub fn failed(staff: Option<&Staff>, e: &ApiError) -> Response {
    let status = match e.http_status() {
        200 => StatusCode::CONFLICT,
        s => StatusCode::from_u16(s).unwrap_or(StatusCode::BAD_REQUEST),
    };
    let body = page::notice(&format!("[{}] {}", e.code, e.msg), &e.msg_en);
    (status, page::html(page::shell("操作失败", staff, body))).into_response()
}

/// The value of cookie `name` in the request.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
}

/// `Set-Cookie` for the console: HttpOnly, SameSite=Strict, path `/console`, and Secure when
/// the service is reached over https (its public URL, or `X-Forwarded-Proto` from the proxy).
pub fn set_cookie(
    svc: &Service,
    headers: &HeaderMap,
    name: &str,
    value: &str,
    max_age_s: i64,
) -> String {
    let forwarded_https = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"));
    let secure = forwarded_https || svc.config.public_url.starts_with("https://");
    let mut c =
        format!("{name}={value}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={max_age_s}");
    if secure {
        c.push_str("; Secure");
    }
    c
}

/// Constant-time equality of two tokens.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}
