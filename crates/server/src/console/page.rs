//! The console's page frame and the small formatting every page shares.

use axum::response::Html;
use chrono::{DateTime, TimeDelta, Utc};
use maud::{html, Markup, PreEscaped, DOCTYPE};

use super::Staff;

pub fn html(m: Markup) -> Html<String> {
    Html(m.into_string())
}

/// The frame: navigation (admin links for admins), the operator, the logout form, and the
/// loud warning when the holiday calendar lacks a year.
pub fn shell(title: &str, staff: Option<&Staff>, body: Markup) -> Markup {
    shell_with(title, staff, &[], None, body)
}

/// [`shell`] with the calendar's missing years and an optional self-refresh (seconds).
pub fn shell_with(
    title: &str,
    staff: Option<&Staff>,
    calendar_gaps: &[i32],
    refresh_s: Option<u32>,
    body: Markup,
) -> Markup {
    html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="robots" content="noindex";
                @if let Some(s) = refresh_s { meta http-equiv="refresh" content=(s); }
                title { (title) " · PhotoReceipt 审核台" }
                style { (PreEscaped(CSS)) }
            }
            body {
                header {
                    a.brand href="/console" { "PhotoReceipt 审核台" }
                    @if let Some(s) = staff {
                        nav {
                            a href="/console" { "队列 Queue" }
                            @if s.op.is_admin() {
                                a href="/console/admin/apps" { "商户 Apps" }
                                a href="/console/admin/operators" { "操作员 Operators" }
                                a href="/console/admin/callbacks" { "回调 Callbacks" }
                                a href="/console/admin/specs" { "规格 Specs" }
                                a href="/console/admin/audit" { "审计 Audit" }
                            }
                        }
                        form.logout method="post" action="/console/logout" {
                            (csrf(s))
                            span.who { (s.op.name) " (" (s.op.role.as_str()) ")" }
                            button type="submit" { "退出 Log out" }
                        }
                    }
                }
                @if !calendar_gaps.is_empty() {
                    p.alarm id="calendar-warning" {
                        "警告：节假日数据缺少 " (join(calendar_gaps)) " 年，这些年份的 SLA 按普通周末计算，请尽快补充。"
                        br;
                        "Warning: no holiday data for " (join(calendar_gaps)) "; SLAs in those years treat only weekends as days off."
                    }
                }
                main { (body) }
            }
        }
    }
}

/// The hidden CSRF field every form carries.
pub fn csrf(s: &Staff) -> Markup {
    html! { input type="hidden" name="csrf" value=(s.session.csrf); }
}

/// A message box in both languages.
pub fn notice(zh: &str, en: &str) -> Markup {
    html! { div.notice { p { (zh) } p.en { (en) } } }
}

fn join(years: &[i32]) -> String {
    years
        .iter()
        .map(i32::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// China time, `2026-02-14 11:35`.
pub fn china(t: DateTime<Utc>) -> String {
    t.with_timezone(&platform::order::china_time())
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// `3h 05m`, `12m`, `40s`.
pub fn span(d: TimeDelta) -> String {
    let s = d.num_seconds().abs();
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m", s / 60),
        3600..=86_399 => format!("{}h {:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d {}h", s / 86_400, s % 86_400 / 3600),
    }
}

/// Fen as yuan, `7.00`.
pub fn yuan(fen: i64) -> String {
    platform::ledger::fen_to_yuan(fen)
}

const CSS: &str = "
body{font-family:system-ui,'PingFang SC','Microsoft YaHei',sans-serif;margin:0;background:#f3f5f8;color:#1a1a1a}
header{display:flex;gap:1.5rem;align-items:center;background:#1f4e79;color:#fff;padding:.6rem 1rem;flex-wrap:wrap}
header a{color:#fff;text-decoration:none}.brand{font-weight:700}nav{display:flex;gap:1rem}
.logout{margin-left:auto;display:flex;gap:.5rem;align-items:center}
main{padding:1rem;max-width:80rem;margin:auto}
table{border-collapse:collapse;background:#fff;width:100%;margin:.5rem 0 1rem}
th,td{border:1px solid #d8dde3;padding:.3rem .5rem;text-align:left;font-size:.92rem;vertical-align:top}
th{background:#eef1f5}
tr.overdue td{background:#fde8e8}.overdue-tag{color:#b00020;font-weight:700}
.notice{background:#fff8e1;border-left:4px solid #f0a500;padding:.5rem 1rem;margin:.5rem 0}
.alarm{background:#b00020;color:#fff;padding:.6rem 1rem;margin:0;font-weight:700}
.en{color:#555;font-size:.9rem}.pass{color:#137333;font-weight:700}.fail{color:#b00020;font-weight:700}
.photos{display:flex;gap:1rem;flex-wrap:wrap;align-items:flex-start}
.photo{position:relative;display:inline-block;background:#fff;padding:.3rem}
.photo img{display:block;max-height:22rem}.photo svg{position:absolute;left:.3rem;top:.3rem}
.photo figcaption{font-size:.85rem;text-align:center}
.actions{display:flex;gap:1rem;flex-wrap:wrap}.actions form{background:#fff;padding:.8rem;border:1px solid #d8dde3}
fieldset{border:1px solid #d8dde3;margin:.4rem 0}label{display:block;margin:.25rem 0}
input[type=number]{width:6rem}.secret{font-family:monospace;font-size:1.1rem;background:#fff;padding:.5rem;border:2px dashed #1f4e79}
.filters{display:flex;gap:.8rem;align-items:end;flex-wrap:wrap;margin:.5rem 0}
.legend span{margin-right:1rem;font-size:.85rem}
";
