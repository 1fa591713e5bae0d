//! Every answer is `{code, msg, msg_en, data}`: code 0 with data on success, the error's code
//! with `data: {}` (or `{field}`) otherwise.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::codes::{code, ApiError};
use crate::ops::ApiCode;

/// A successful answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub msg: &'static str,
    pub msg_en: &'static str,
    pub data: Value,
}

impl Reply {
    /// `msg: "success"`.
    pub fn ok(data: Value) -> Self {
        Self {
            msg: "success",
            msg_en: "success",
            data,
        }
    }

    pub fn with_msg(msg: &'static str, msg_en: &'static str, data: Value) -> Self {
        Self { msg, msg_en, data }
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let mut resp = Json(
            json!({"code": code::OK, "msg": self.msg, "msg_en": self.msg_en, "data": self.data}),
        )
        .into_response();
        resp.extensions_mut().insert(ApiCode(code::OK));
        resp
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.http_status()).unwrap_or(StatusCode::OK);
        let data = match &self.field {
            Some(f) => json!({"field": f}),
            None => json!({}),
        };
        let body = json!({"code": self.code, "msg": self.msg, "msg_en": self.msg_en, "data": data});
        let mut resp = (status, Json(body)).into_response();
        resp.extensions_mut().insert(ApiCode(self.code));
        if let Some(secs) = self.retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

/// What handlers return.
pub type ApiResult = Result<Reply, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limited_answers_429_with_retry_after() {
        let resp = ApiError::rate_limited(3).into_response();
        assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(resp.headers()[header::RETRY_AFTER], "3");
        let resp = ApiError::missing("key").into_response();
        assert_eq!(resp.status(), StatusCode::OK);
    }
}
