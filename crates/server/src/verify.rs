//! `GET /r/{receipt_no}`: the public receipt check the QR code on a rendered receipt points
//! at. A small server-rendered page: valid, expired, void or unknown; the masked name, the
//! document type and the dates, nothing else personal.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use chrono::NaiveDate;
use platform::receipt::date_zh;
use platform::{ReceiptCheck, ReceiptState};
use std::sync::Arc;

use crate::state::Service;

/// The page for `receipt_no`: 200 for a known number (whatever its state), 404 otherwise.
pub async fn receipt_page(
    State(svc): State<Arc<Service>>,
    Path(receipt_no): Path<String>,
) -> Response {
    let (status, body) = match svc.platform.check_receipt(&receipt_no).await {
        Ok(Some(check)) => (StatusCode::OK, page(&receipt_no, Some(&check))),
        Ok(None) => (StatusCode::NOT_FOUND, page(&receipt_no, None)),
        Err(e) => {
            tracing::error!(error = %e, "receipt check");
            let text = "暂时无法核验，请稍后再试。Temporarily unavailable.";
            (StatusCode::SERVICE_UNAVAILABLE, shell("回执核验", text))
        }
    };
    let headers = [
        (header::CACHE_CONTROL, "no-store"),
        (header::HeaderName::from_static("x-robots-tag"), "noindex"),
    ];
    (status, headers, Html(body)).into_response()
}

/// The HTML of the check (`None`: no such receipt).
pub fn page(receipt_no: &str, check: Option<&ReceiptCheck>) -> String {
    let shown: String = receipt_no.chars().take(64).collect();
    let Some(c) = check else {
        let body = format!(
            "<p class=\"state bad\">未找到该回执</p>\
             <p>回执编号 <b>{}</b> 不存在，请核对后重试。No receipt has this number.</p>",
            escape(&shown)
        );
        return shell("回执核验 · 未找到", &body);
    };
    let (class, state) = match c.state {
        ReceiptState::Valid => ("ok", "有效 · Valid"),
        ReceiptState::Expired => ("bad", "已过期 · Expired"),
        ReceiptState::Void => ("bad", "无效 · Not valid"),
    };
    let dash = || "—".to_string();
    let day = |d: Option<NaiveDate>| d.map_or_else(dash, date_zh);
    let rows = [
        ("回执编号", escape(&c.receipt_no)),
        ("姓名", escape(c.name_masked.as_deref().unwrap_or("—"))),
        ("证件类型", escape(c.document.as_deref().unwrap_or("—"))),
        ("签发日期", day(c.issued)),
        ("有效期至", day(c.valid_until)),
    ];
    let table: String = rows
        .iter()
        .map(|(k, v)| format!("<tr><th>{k}</th><td>{v}</td></tr>"))
        .collect();
    let body = format!("<p class=\"state {class}\">{state}</p><table>{table}</table>");
    shell(&format!("回执核验 · {state}"), &body)
}

fn shell(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex\"><title>{title}</title><style>{CSS}</style>\
         </head><body><main><h1>证件照回执核验</h1>{body}</main></body></html>"
    )
}

const CSS: &str = "body{font-family:system-ui,'PingFang SC','Microsoft YaHei',sans-serif;\
background:#f3f5f8;color:#1a1a1a;margin:0}main{max-width:30rem;margin:2rem auto;\
background:#fff;padding:1.5rem;border-top:6px solid #1f4e79;border-radius:4px}\
h1{font-size:1.3rem;margin:0 0 1rem}.state{font-size:1.6rem;font-weight:bold;margin:.5rem 0 1rem}\
.ok{color:#17703a}.bad{color:#b3261e}table{border-collapse:collapse;width:100%}\
th,td{text-align:left;padding:.5rem .25rem;border-bottom:1px solid #e1e5ea}\
th{color:#606870;font-weight:normal;width:6rem}";

/// HTML text escaping.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(state: ReceiptState) -> ReceiptCheck {
        ReceiptCheck {
            receipt_no: "HK<1>".into(),
            state,
            name_masked: Some("张*丰".into()),
            document: Some("往来港澳通行证".into()),
            issued: NaiveDate::from_ymd_opt(2026, 2, 14),
            valid_until: NaiveDate::from_ymd_opt(2027, 2, 14),
        }
    }

    #[test]
    fn each_state_says_so_with_the_public_facts_only() {
        let valid = page("HK<1>", Some(&check(ReceiptState::Valid)));
        for needle in [
            "有效",
            "张*丰",
            "往来港澳通行证",
            "2026年02月14日",
            "2027年02月14日",
        ] {
            assert!(valid.contains(needle), "{needle} missing");
        }
        assert!(
            valid.contains("HK&lt;1&gt;") && !valid.contains("HK<1>"),
            "escaped"
        );
        assert!(!valid.contains("已过期"));
        let expired = page("HK<1>", Some(&check(ReceiptState::Expired)));
        assert!(expired.contains("已过期") && !expired.contains("有效 ·"));
        let void = page("HK<1>", Some(&check(ReceiptState::Void)));
        assert!(void.contains("无效"));
    }

    #[test]
    fn an_unknown_number_is_echoed_escaped() {
        let p = page("<script>x</script>", None);
        assert!(p.contains("未找到该回执"));
        assert!(p.contains("&lt;script&gt;") && !p.contains("<script>"));
    }

    #[test]
    fn a_purged_order_shows_dashes() {
        let mut c = check(ReceiptState::Valid);
        c.name_masked = None;
        let p = page("HK1", Some(&c));
        assert!(p.contains("<th>姓名</th><td>—</td>"));
    }
}
