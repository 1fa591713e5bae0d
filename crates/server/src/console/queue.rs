//! The queue: open orders by SLA due time, with spec, merchant, age and time left; overdue
//! orders marked; filters by status, spec and merchant; the page refreshes itself.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};
use platform::{Order, OrderFilter, OrderStatus};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Arc;

use super::{page, Staff};
use crate::codes::ApiError;
use crate::state::Service;

/// How often the queue page reloads itself.
const REFRESH_S: u32 = 20;
/// Orders looked at per status.
const PER_STATUS: u32 = 500;

#[derive(Debug, Default, Deserialize)]
pub struct QueueQuery {
    /// `open` (pending and reviewing, the default), `all`, or a status code (`1`, `-1`, …).
    pub status: Option<String>,
    /// An item_id.
    pub item: Option<String>,
    /// An app_id.
    pub app: Option<String>,
}

impl QueueQuery {
    fn statuses(&self) -> Vec<OrderStatus> {
        match self.status.as_deref().map(str::trim) {
            None | Some("" | "open") => vec![OrderStatus::Pending, OrderStatus::Reviewing],
            Some("all") => OrderStatus::ALL.to_vec(),
            Some(s) => s
                .parse()
                .ok()
                .and_then(OrderStatus::from_code)
                .map_or_else(Vec::new, |s| vec![s]),
        }
    }

    fn number(v: &Option<String>) -> Option<i64> {
        v.as_deref().and_then(|s| s.trim().parse().ok())
    }
}

/// `GET /console`.
pub async fn page(
    State(svc): State<Arc<Service>>,
    staff: Staff,
    Query(q): Query<QueueQuery>,
) -> Response {
    match orders(&svc, &q).await {
        Ok(list) => {
            let apps = app_names(&svc).await;
            let body = queue(&svc, &q, &list, &apps);
            let gaps = svc.platform.calendar_gaps();
            page::html(page::shell_with(
                "队列",
                Some(&staff),
                &gaps,
                Some(REFRESH_S),
                body,
            ))
            .into_response()
        }
        Err(e) => super::failed(Some(&staff), &e),
    }
}

async fn orders(svc: &Service, q: &QueueQuery) -> Result<Vec<Order>, ApiError> {
    let app_id = QueueQuery::number(&q.app);
    let item = QueueQuery::number(&q.item);
    let mut all = Vec::new();
    for status in q.statuses() {
        let filter = OrderFilter {
            status: Some(status),
            app_id,
            limit: PER_STATUS,
            oldest_first: true,
        };
        let found = svc
            .platform
            .orders(&filter)
            .await
            .map_err(|e| ApiError::from(&e))?;
        all.extend(
            found
                .into_iter()
                .filter(|o| item.is_none_or(|i| o.item_id == i)),
        );
    }
    all.sort_by(|a, b| (a.sla_due_at, &a.order_no).cmp(&(b.sla_due_at, &b.order_no)));
    Ok(all)
}

/// app_id → name.
pub async fn app_names(svc: &Service) -> HashMap<i64, String> {
    match svc.platform.apps().await {
        Ok(apps) => apps.into_iter().map(|a| (a.app_id, a.name)).collect(),
        Err(e) => {
            tracing::warn!(error = %e, "console: app names");
            HashMap::new()
        }
    }
}

/// The spec's Chinese name, or its item_id.
pub fn spec_name(svc: &Service, item_id: i64) -> String {
    u32::try_from(item_id)
        .ok()
        .and_then(|id| svc.catalogue.get(id))
        .map_or_else(|| item_id.to_string(), |s| s.name.clone())
}

fn queue(svc: &Service, q: &QueueQuery, list: &[Order], apps: &HashMap<i64, String>) -> Markup {
    let now = svc.platform.now();
    let status = q.status.clone().unwrap_or_else(|| "open".into());
    let open = |o: &Order| matches!(o.status, OrderStatus::Pending | OrderStatus::Reviewing);
    let overdue = list
        .iter()
        .filter(|o| open(o) && o.sla_due_at < now)
        .count();
    let mut items: Vec<i64> = list.iter().map(|o| o.item_id).collect();
    items.sort_unstable();
    items.dedup();
    html! {
        h1 { "审核队列 Review queue" }
        p { (list.len()) " 单 orders · " span.overdue-tag { (overdue) " 超时 overdue" } " · 每 " (REFRESH_S) " 秒自动刷新 refreshes every " (REFRESH_S) " s" }
        form.filters method="get" action="/console" {
            label { "状态 Status " select name="status" {
                @for (v, label) in [("open", "待处理 open (1, 2)"), ("1", "1 待审核 pending"), ("2", "2 审核中 reviewing"), ("3", "3 已完成 completed"), ("-1", "-1 已驳回 rejected"), ("-2", "-2 已取消 cancelled"), ("all", "全部 all")] {
                    option value=(v) selected[status == v] { (label) }
                }
            } }
            label { "规格 Spec (item_id) " input type="number" name="item" value=[q.item.as_deref()]; }
            label { "商户 Merchant " select name="app" {
                option value="" { "全部 all" }
                @for (id, name) in sorted(apps) {
                    option value=(id) selected[q.app.as_deref() == Some(id.to_string().as_str())] { (name) " (" (id) ")" }
                }
            } }
            button type="submit" { "筛选 Filter" }
        }
        table #queue {
            thead { tr {
                th { "订单号 Order" } th { "状态 Status" } th { "规格 Spec" } th { "商户 Merchant" }
                th { "已等待 Age" } th { "截止 Due" } th { "剩余 Time left" } th { "审核员 Reviewer" }
            } }
            tbody {
                @for o in list {
                    @let late = open(o) && o.sla_due_at < now;
                    tr.overdue[late] data-order=(o.order_no) {
                        td { a href={ "/console/orders/" (o.order_no) } { (o.order_no) } }
                        td { (o.status.code()) " " (crate::codes::status_zh(o.status.code())) }
                        td { (spec_name(svc, o.item_id)) " (" (o.item_id) ")" }
                        td { (apps.get(&o.app_id).map_or("?", String::as_str)) }
                        td { (page::span(now - o.submitted_at)) }
                        td { (page::china(o.sla_due_at)) }
                        td {
                            @if !open(o) { "—" }
                            @else if late { span.overdue-tag { "超时 overdue " (page::span(now - o.sla_due_at)) } }
                            @else { (page::span(o.sla_due_at - now)) }
                        }
                        td { (o.reviewer.as_deref().unwrap_or("")) }
                    }
                }
            }
        }
        @if list.is_empty() { p { "没有订单。No orders." } }
        @if !items.is_empty() { p.en { "规格 Specs here: " @for i in &items { a href={ "/console?status=" (status) "&item=" (i) } { (i) } " " } } }
    }
}

fn sorted(apps: &HashMap<i64, String>) -> Vec<(i64, &str)> {
    let mut v: Vec<(i64, &str)> = apps.iter().map(|(k, v)| (*k, v.as_str())).collect();
    v.sort_unstable();
    v
}
