//! One HTTP attempt: the body (the seed's form, or JSON), the Standard Webhooks headers, the
//! POST, and the verdict. Success is a 2xx **and** a JSON body whose `code` is 0 (number or
//! string); a timeout, another status, a redirect (never followed), a body that is not JSON
//! or another code is a failure.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::schedule::{parse_retry_after, RetryHint};
use super::ssrf::{host_port, CallbackPolicy, GuardedResolver, SsrfError};
use super::{response_head, CallbackPayload};
use crate::app::CallbackFormat;

/// Default time for one attempt, connection to last byte.
pub const TIMEOUT: Duration = Duration::from_secs(15);
/// How much of an answer is read to judge it.
const READ_MAX: usize = 64 * 1024;
const USER_AGENT: &str = concat!("PhotoReceipt-Webhooks/", env!("CARGO_PKG_VERSION"));

/// The body of a callback and its content type: the seed's fields that apply, as
/// `application/x-www-form-urlencoded` or (per app) JSON with `status` as a number.
/// `url` turns a blob key into a signed URL.
pub fn body(
    payload: &CallbackPayload,
    sign: &str,
    format: CallbackFormat,
    url: impl Fn(&str) -> String,
) -> (Vec<u8>, &'static str) {
    let fields = payload.seed_fields(sign, url);
    match format {
        CallbackFormat::Form => {
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            for (k, v) in &fields {
                form.append_pair(k, v);
            }
            (
                form.finish().into_bytes(),
                "application/x-www-form-urlencoded",
            )
        }
        CallbackFormat::Json => {
            let mut map = serde_json::Map::new();
            for (k, v) in fields {
                let value = match (k.as_str(), v.parse::<i64>()) {
                    ("status", Ok(n)) => serde_json::Value::from(n),
                    _ => serde_json::Value::String(v),
                };
                map.insert(k, value);
            }
            let text = serde_json::Value::Object(map).to_string();
            (text.into_bytes(), "application/json")
        }
    }
}

/// A signed request, ready to send.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub url: String,
    pub webhook_id: String,
    pub timestamp: i64,
    pub signature: String,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

/// What came back from one attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub http_status: Option<u16>,
    pub latency: Duration,
    /// The first 2 KB of the answer.
    pub head: String,
    /// `None` when the merchant acknowledged the callback.
    pub error: Option<String>,
    pub hint: RetryHint,
}

impl Answer {
    pub fn succeeded(&self) -> bool {
        self.error.is_none()
    }

    fn failed(error: String, started: Instant, slow_down: bool) -> Self {
        Self {
            http_status: None,
            latency: started.elapsed(),
            head: String::new(),
            error: Some(error),
            hint: RetryHint {
                retry_after: None,
                slow_down,
            },
        }
    }
}

/// The verdict on an answer: `Ok` only for a 2xx with a JSON body whose `code` is 0 or "0".
pub fn judge(status: u16, body: &[u8]) -> Result<(), String> {
    if !(200..300).contains(&status) {
        return Err(format!("HTTP {status}"));
    }
    let v: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| "the answer is not JSON".to_string())?;
    match v.get("code") {
        Some(serde_json::Value::Number(n)) if n.as_f64() == Some(0.0) => Ok(()),
        Some(serde_json::Value::String(s)) if s.trim() == "0" => Ok(()),
        Some(other) => Err(format!("the answer's code is {other}, not 0")),
        None => Err("the answer has no code".into()),
    }
}

/// Sends callbacks: one shared client (connection pool), no proxy, no redirects, and the
/// SSRF guard both on IP literals and in the DNS resolver.
#[derive(Debug, Clone)]
pub struct Deliverer {
    client: reqwest::Client,
    policy: Arc<CallbackPolicy>,
    timeout: Duration,
}

impl Deliverer {
    pub fn new(policy: Arc<CallbackPolicy>, timeout: Duration) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .pool_idle_timeout(Duration::from_secs(30))
            .tcp_nodelay(true)
            .dns_resolver(Arc::new(GuardedResolver::new(policy.clone())))
            .build()?;
        Ok(Self {
            client,
            policy,
            timeout,
        })
    }

    /// One attempt; never fails, the error is in the [`Answer`].
    pub async fn send(&self, out: &Outgoing) -> Answer {
        let started = Instant::now();
        // The resolver vets names; IP literals never reach it.
        if let Err(e) = self.vet_literal(&out.url) {
            return Answer::failed(format!("refused: {e}"), started, false);
        }
        let sent = self
            .client
            .post(&out.url)
            .header(reqwest::header::CONTENT_TYPE, out.content_type)
            .header("webhook-id", &out.webhook_id)
            .header("webhook-timestamp", out.timestamp.to_string())
            .header("webhook-signature", &out.signature)
            .body(out.body.clone())
            .send()
            .await;
        let resp = match sent {
            Ok(r) => r,
            Err(e) => return self.transport_error(&e, started),
        };
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, chrono::Utc::now()));
        let location = resp
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(|l| l.chars().take(200).collect::<String>());
        let (bytes, read_error) = read_limited(resp).await;
        let head = response_head(&String::from_utf8_lossy(&bytes));
        let verdict = match (read_error, location) {
            (Some(e), _) => Err(e),
            (None, Some(to)) if (300..400).contains(&status) => {
                Err(format!("HTTP {status}: redirect to {to} not followed"))
            }
            _ => judge(status, &bytes),
        };
        Answer {
            http_status: Some(status),
            latency: started.elapsed(),
            head,
            error: verdict.err(),
            hint: RetryHint {
                retry_after,
                slow_down: status == 429,
            },
        }
    }

    fn vet_literal(&self, url: &str) -> Result<(), SsrfError> {
        let (host, _) = host_port(url)?;
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        match bare.parse() {
            Ok(ip) => self.policy.check_ip(&host, ip),
            Err(_) => Ok(()),
        }
    }

    fn transport_error(&self, e: &reqwest::Error, started: Instant) -> Answer {
        if e.is_timeout() {
            let msg = format!("timeout after {} ms", self.timeout.as_millis());
            return Answer::failed(msg, started, true);
        }
        // The SSRF guard inside the resolver, or the plain cause.
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
        while let Some(err) = source {
            if let Some(ssrf) = err.downcast_ref::<SsrfError>() {
                return Answer::failed(format!("refused: {ssrf}"), started, false);
            }
            source = err.source();
        }
        Answer::failed(error_chain(e), started, false)
    }
}

/// Reads at most [`READ_MAX`] bytes of the body; an error (timeout, reset) is returned beside
/// what was read.
async fn read_limited(mut resp: reqwest::Response) -> (Vec<u8>, Option<String>) {
    let mut buf = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                let room = READ_MAX - buf.len();
                buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
                if chunk.len() >= room {
                    return (buf, Some("the answer is larger than 64 KiB".into()));
                }
            }
            Ok(None) => return (buf, None),
            Err(e) if e.is_timeout() => return (buf, Some("timeout reading the answer".into())),
            Err(e) => return (buf, Some(error_chain(&e))),
        }
    }
}

/// `e: cause: cause`, one line.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_2xx_with_code_zero_succeeds() {
        assert_eq!(judge(200, br#"{"data":{},"code":0,"msg":"ok"}"#), Ok(()));
        assert_eq!(judge(200, br#"{"code":"0"}"#), Ok(()));
        assert_eq!(judge(204, br#"{"code":0.0}"#), Ok(()));
        assert!(judge(200, br#"{"code":1}"#).is_err());
        assert!(judge(200, br#"{"code":"ok"}"#).is_err());
        assert!(judge(200, br#"{"msg":"ok"}"#).is_err());
        assert!(judge(200, b"<html>ok</html>").is_err());
        assert!(judge(200, b"").is_err());
        assert!(judge(500, br#"{"code":0}"#).is_err());
        assert!(judge(302, br#"{"code":0}"#).is_err());
    }

    #[test]
    fn bodies_have_the_fields_that_apply() {
        let p = CallbackPayload {
            status: -1,
            order_no: "2025".into(),
            reject_msg: Some("背景不合格 & more".into()),
            ..Default::default()
        };
        let (form, ct) = body(&p, "s1", CallbackFormat::Form, |k| k.to_string());
        assert_eq!(ct, "application/x-www-form-urlencoded");
        let text = String::from_utf8(form).expect("utf8");
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(text.as_bytes())
            .into_owned()
            .collect();
        let names: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["status", "order_no", "sign", "reject_msg"]);
        assert_eq!(pairs[3].1, "背景不合格 & more");
        let (json, ct) = body(&p, "s1", CallbackFormat::Json, |k| k.to_string());
        assert_eq!(ct, "application/json");
        let v: serde_json::Value = serde_json::from_slice(&json).expect("json");
        assert_eq!(v["status"], -1);
        assert_eq!(v["sign"], "s1");
        assert!(v.get("image_receipt").is_none());
    }
}
