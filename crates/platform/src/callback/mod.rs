//! The callback outbox: one row per status change, delivered at least once by a worker.
//!
//! - [`worker::Worker`] claims due rows with a lease and delivers them ([`delivery`]),
//!   retrying on [`schedule::RetrySchedule`];
//! - [`signature`] signs them (Standard Webhooks) and has the merchant's [`verify`];
//! - [`ssrf`] keeps them away from internal addresses.

pub mod delivery;
pub mod schedule;
pub mod signature;
pub mod ssrf;
pub mod worker;

pub use schedule::RetrySchedule;
pub use signature::{verify, verify_sign, VerifyError};
pub use ssrf::{CallbackPolicy, SsrfError};
pub use worker::{UrlSignerFn, Worker, WorkerConfig, WorkerReport};

use chrono::{DateTime, Utc};
use rand::distr::{Alphanumeric, SampleString};
use serde::{Deserialize, Serialize};

/// Delivery state of an outbox row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CallbackState {
    /// Waiting for `next_attempt_at`.
    Pending,
    /// Claimed by a worker until `lease_until`.
    Delivering,
    Succeeded,
    /// The retry schedule is exhausted; an operator may redeliver.
    Failed,
}

impl CallbackState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivering => "delivering",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Pending,
            Self::Delivering,
            Self::Succeeded,
            Self::Failed,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
    }
}

/// The seed's callback fields, with blob keys where the seed has URLs: URLs are signed and
/// expire, so the deliverer turns keys into fresh URLs at each attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct CallbackPayload {
    pub status: i32,
    pub order_no: String,
    /// → `image_receipt` (status 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_receipt_key: Option<String>,
    /// → `image` (status 3, only if staff adjusted the photo).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_key: Option<String>,
    /// → `image_print` (status 3, specs with a print sheet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_print_key: Option<String>,
    /// → `reject_msg` (status -1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reject_msg: Option<String>,
}

impl CallbackPayload {
    /// The seed's fields in order, only those that apply: status, order_no, sign,
    /// image_receipt, image, image_print, reject_msg. `url` turns a blob key into a URL.
    pub fn seed_fields(&self, sign: &str, url: impl Fn(&str) -> String) -> Vec<(String, String)> {
        let mut fields = vec![
            ("status".to_string(), self.status.to_string()),
            ("order_no".to_string(), self.order_no.clone()),
            ("sign".to_string(), sign.to_string()),
        ];
        let images = [
            ("image_receipt", &self.image_receipt_key),
            ("image", &self.image_key),
            ("image_print", &self.image_print_key),
        ];
        for (name, key) in images {
            if let Some(key) = key {
                fields.push((name.to_string(), url(key)));
            }
        }
        if let Some(msg) = &self.reject_msg {
            fields.push(("reject_msg".to_string(), msg.clone()));
        }
        fields
    }
}

/// An outbox row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Callback {
    pub id: i64,
    /// `msg_` + random; the Standard Webhooks `webhook-id`, stable across retries.
    pub webhook_id: String,
    pub order_no: String,
    pub app_id: i64,
    pub status: i32,
    /// The order's notice_url when the status changed.
    pub notice_url: String,
    pub payload: CallbackPayload,
    pub state: CallbackState,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub lease_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An outbox row to write with a transition.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCallback {
    pub webhook_id: String,
    pub notice_url: String,
    pub payload: CallbackPayload,
}

/// One delivery attempt, as recorded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CallbackAttempt {
    pub callback_id: i64,
    pub at: DateTime<Utc>,
    /// `None` when no HTTP answer came (timeout, refused, SSRF guard).
    pub http_status: Option<u16>,
    pub latency_ms: i64,
    /// The first [`RESPONSE_HEAD_MAX`] bytes of the answer.
    pub response_head: String,
    pub error: Option<String>,
}

/// What an attempt decided, written with the attempt in one transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    Succeeded,
    /// Pending again, due at this time (the next step of the retry schedule).
    RetryAt(DateTime<Utc>),
    /// The schedule is exhausted.
    Failed,
}

impl AttemptOutcome {
    /// The state and due time it leads to.
    pub fn target(self) -> (CallbackState, Option<DateTime<Utc>>) {
        match self {
            Self::Succeeded => (CallbackState::Succeeded, None),
            Self::RetryAt(at) => (CallbackState::Pending, Some(at)),
            Self::Failed => (CallbackState::Failed, None),
        }
    }
}

/// How much of an answer an attempt keeps.
pub const RESPONSE_HEAD_MAX: usize = 2048;

/// Cuts an answer to at most [`RESPONSE_HEAD_MAX`] bytes, on a char boundary.
pub fn response_head(body: &str) -> String {
    let mut end = body.len().min(RESPONSE_HEAD_MAX);
    while !body.is_char_boundary(end) {
        end -= 1;
    }
    body[..end].to_string()
}

/// Which outbox rows to list.
#[derive(Debug, Clone, Default)]
pub struct CallbackFilter {
    pub order_no: Option<String>,
    pub state: Option<CallbackState>,
    /// 0 means the default, 100.
    pub limit: u32,
}

/// What a worker claims from the outbox.
#[derive(Debug, Clone)]
pub struct CallbackClaim {
    pub now: DateTime<Utc>,
    pub lease_until: DateTime<Utc>,
    pub limit: u32,
    /// At most this many for one destination ([`target`]); 0: no limit.
    pub per_target: u32,
    /// Destinations this worker already has enough of in flight: none of theirs is claimed.
    pub skip_targets: Vec<String>,
}

/// The destination of a notice_url: `host:port`, lower-case (the URL's own text when it
/// does not parse). Deliveries in flight are limited per destination.
pub fn target(notice_url: &str) -> String {
    match ssrf::host_port(notice_url) {
        Ok((host, port)) => format!("{}:{port}", host.to_ascii_lowercase()),
        Err(_) => notice_url.to_string(),
    }
}

/// `msg_` + 24 base62 characters.
pub fn new_webhook_id() -> String {
    format!("msg_{}", Alphanumeric.sample_string(&mut rand::rng(), 24))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_fields_only_those_that_apply() {
        let p = CallbackPayload {
            status: 3,
            order_no: "1".repeat(20),
            image_receipt_key: Some("order/r.jpg".into()),
            ..Default::default()
        };
        let f = p.seed_fields("abc", |k| format!("http://x/{k}"));
        let names: Vec<&str> = f.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["status", "order_no", "sign", "image_receipt"]);
        assert_eq!(f[3].1, "http://x/order/r.jpg");
    }

    #[test]
    fn response_head_respects_char_boundaries() {
        let s = "é".repeat(2000);
        let h = response_head(&s);
        assert!(h.len() <= RESPONSE_HEAD_MAX && h.chars().all(|c| c == 'é'));
    }
}
