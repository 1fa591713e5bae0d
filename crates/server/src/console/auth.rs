//! Log in and out. The login form's CSRF token is a double-submit cookie (no session exists
//! yet); five wrong passwords in a row lock the operator out (the platform counts them).

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use platform::{Login, LoginRefusal};
use std::sync::Arc;

use super::{cookie, page, same, set_cookie, Staff, LOGIN_CSRF_COOKIE, SESSION_COOKIE};
use crate::codes::ApiError;
use crate::forms::Fields;
use crate::state::Service;

/// `GET /console/login`.
pub async fn login_page(State(svc): State<Arc<Service>>, headers: HeaderMap) -> Response {
    form(&svc, &headers, StatusCode::OK, None)
}

fn form(
    svc: &Service,
    headers: &HeaderMap,
    status: StatusCode,
    error: Option<(&str, &str)>,
) -> Response {
    let token = platform::operator::new_token();
    let body = html! {
        h1 { "登录 Log in" }
        @if let Some((zh, en)) = error { div.notice #login-error { p { (zh) } p.en { (en) } } }
        form method="post" action="/console/login" {
            input type="hidden" name="csrf" value=(token);
            label { "用户名 Name " input type="text" name="name" autocomplete="username" required; }
            label { "密码 Password " input type="password" name="password" autocomplete="current-password" required; }
            button type="submit" { "登录 Log in" }
        }
    };
    let c = set_cookie(svc, headers, LOGIN_CSRF_COOKIE, &token, 3600);
    (
        status,
        [(header::SET_COOKIE, c)],
        page::html(page::shell("登录", None, body)),
    )
        .into_response()
}

/// `POST /console/login`: name, password, csrf.
pub async fn login(
    State(svc): State<Arc<Service>>,
    headers: HeaderMap,
    fields: Fields,
) -> Response {
    let expected = cookie(&headers, LOGIN_CSRF_COOKIE);
    match (fields.get("csrf"), expected) {
        (Some(got), Some(want)) if same(got, want) => {}
        _ => return super::csrf_refused(),
    }
    let name = fields.get("name").unwrap_or_default();
    let password = fields.get("password").unwrap_or_default();
    let refused =
        |zh: &str, en: &str| form(&svc, &headers, StatusCode::UNAUTHORIZED, Some((zh, en)));
    match svc.platform.login(name, password).await {
        Ok(Login::In { session, .. }) => {
            let max_age = (session.session.expires_at - session.session.created_at).num_seconds();
            let c = set_cookie(&svc, &headers, SESSION_COOKIE, &session.token, max_age);
            let gone = set_cookie(&svc, &headers, LOGIN_CSRF_COOKIE, "", 0);
            let mut resp = Redirect::to("/console").into_response();
            let h = resp.headers_mut();
            for v in [c, gone] {
                if let Ok(v) = v.parse() {
                    h.append(header::SET_COOKIE, v);
                }
            }
            resp
        }
        Ok(Login::Refused(LoginRefusal::Locked { until })) => refused(
            &format!("登录失败次数过多，账号已锁定至 {}。", page::china(until)),
            "Too many failed logins: this operator is locked out for now.",
        ),
        Ok(Login::Refused(_)) => refused("用户名或密码错误。", "Wrong name or password."),
        Err(e) => super::failed(None, &ApiError::from(&e)),
    }
}

/// `POST /console/logout`.
pub async fn logout(
    State(svc): State<Arc<Service>>,
    headers: HeaderMap,
    staff: Staff,
    fields: Fields,
) -> Response {
    if let Err(r) = staff.check_csrf(&fields) {
        return *r;
    }
    if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        if let Err(e) = svc.platform.logout(token).await {
            return super::failed(Some(&staff), &ApiError::from(&e));
        }
    }
    let gone = set_cookie(&svc, &headers, SESSION_COOKIE, "", 0);
    ([(header::SET_COOKIE, gone)], Redirect::to("/console/login")).into_response()
}
