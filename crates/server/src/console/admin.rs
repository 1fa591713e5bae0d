//! Admin pages: apps (create, rotate key, top up, disable; balance and ledger), operators,
//! failed callbacks with redeliver, specs (receipt orders on or off, price), the audit log.
//! Every change is audited; keys and one-time passwords are shown once, never stored.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use maud::{html, Markup};
use platform::ledger::parse_yuan;
use platform::{CallbackFilter, CallbackFormat, CallbackState, NewApp, Role};
use std::sync::Arc;

use super::{page, Staff};
use crate::codes::ApiError;
use crate::forms::Fields;
use crate::state::Service;

pub fn routes() -> Router<Arc<Service>> {
    Router::new()
        .route("/console/admin/apps", get(apps).post(create_app))
        .route("/console/admin/apps/{app_id}", get(app_page))
        .route("/console/admin/apps/{app_id}/{action}", post(app_action))
        .route(
            "/console/admin/operators",
            get(operators).post(create_operator),
        )
        .route(
            "/console/admin/operators/{name}/{action}",
            post(operator_action),
        )
        .route("/console/admin/callbacks", get(callbacks))
        .route("/console/admin/callbacks/{id}/redeliver", post(redeliver))
        .route("/console/admin/specs", get(specs))
        .route("/console/admin/specs/{item_id}", post(set_spec))
        .route("/console/admin/audit", get(audit_page))
}

type Outcome = Result<Markup, ApiError>;

fn api(e: platform::PlatformError) -> ApiError {
    ApiError::from(&e)
}

/// The admin check, then the page or the failure.
async fn admin_page(
    staff: &Staff,
    title: &str,
    body: impl std::future::Future<Output = Outcome>,
) -> Response {
    if let Err(r) = staff.require_admin() {
        return *r;
    }
    match body.await {
        Ok(m) => page::html(page::shell(title, Some(staff), m)).into_response(),
        Err(e) => super::failed(Some(staff), &e),
    }
}

/// The admin and CSRF checks of a form, then the change.
async fn admin_post(
    staff: &Staff,
    fields: &Fields,
    title: &str,
    body: impl std::future::Future<Output = Outcome>,
) -> Response {
    if let Err(r) = staff.check_csrf(fields) {
        return *r;
    }
    admin_page(staff, title, body).await
}

// ---- apps

async fn apps(State(svc): State<Arc<Service>>, staff: Staff) -> Response {
    admin_page(&staff, "商户", apps_view(&svc, &staff)).await
}

async fn apps_view(svc: &Service, staff: &Staff) -> Outcome {
    let list = svc.platform.apps().await.map_err(api)?;
    Ok(html! {
        h1 { "商户 Apps" }
        table #apps {
            thead { tr { th { "app_id" } th { "名称 Name" } th { "key" } th { "余额 Balance" } th { "沙箱 Sandbox" } th { "状态 State" } th { "操作 Actions" } } }
            tbody { @for a in &list { tr data-app=(a.app_id) {
                td { a href={ "/console/admin/apps/" (a.app_id) } { (a.app_id) } }
                td { (a.name) } td { code { (a.key_prefix) "…" } }
                td { (page::yuan(a.balance_fen)) " 元" } td { @if a.sandbox { "是 yes" } }
                td { @if a.disabled { span.fail { "停用 disabled" } } @else { "启用 enabled" } }
                td.actions {
                    form method="post" action={ "/console/admin/apps/" (a.app_id) "/topup" } {
                        (page::csrf(staff)) input type="text" name="amount_yuan" size="6" placeholder="元 yuan" required; button { "充值 Top up" }
                    }
                    form method="post" action={ "/console/admin/apps/" (a.app_id) "/rotate" } { (page::csrf(staff)) button { "换 key Rotate key" } }
                    form method="post" action={ "/console/admin/apps/" (a.app_id) { @if a.disabled { "/enable" } @else { "/disable" } } } {
                        (page::csrf(staff)) button { @if a.disabled { "启用 Enable" } @else { "停用 Disable" } }
                    }
                }
            } } }
        }
        h2 { "新建商户 New app" }
        form #new-app method="post" action="/console/admin/apps" {
            (page::csrf(staff))
            label { "名称 Name " input type="text" name="name" required maxlength="100"; }
            label { "初始余额 Opening balance (元) " input type="text" name="balance_yuan" value="0"; }
            label { input type="checkbox" name="sandbox" value="1"; " 沙箱 Sandbox (orders review themselves)" }
            button type="submit" { "创建 Create" }
        }
    })
}

async fn create_app(State(svc): State<Arc<Service>>, staff: Staff, fields: Fields) -> Response {
    admin_post(&staff, &fields, "商户", async {
        let name = fields.require("name")?.to_string();
        let balance_fen = yuan_field(&fields, "balance_yuan", true)?;
        let new = NewApp {
            name,
            balance_fen,
            sandbox: fields.flag("sandbox")?,
            callback_format: CallbackFormat::default(),
        };
        let issued = svc.platform.create_app(new).await.map_err(api)?;
        audit(
            &svc,
            &staff,
            "app_create",
            &format!("app:{}", issued.app.app_id),
            "",
        )
        .await;
        Ok(secret_shown(
            "新商户 key New app key",
            &issued.key,
            issued.app.app_id,
        ))
    })
    .await
}

fn secret_shown(title: &str, secret: &str, app_id: i64) -> Markup {
    html! {
        h1 { (title) }
        p { "只显示这一次，请立即复制交给商户。Shown once: copy it now." }
        p.secret #secret { (secret) }
        p { a href={ "/console/admin/apps/" (app_id) } { "商户 app " (app_id) } " · " a href="/console/admin/apps" { "返回 Back" } }
    }
}

fn yuan_field(fields: &Fields, name: &str, zero_ok: bool) -> Result<i64, ApiError> {
    let text = fields.get(name).unwrap_or("0");
    match parse_yuan(text) {
        Some(f) if f > 0 || (zero_ok && f == 0) => Ok(f),
        _ => Err(ApiError::invalid(
            name,
            "金额格式错误",
            "not an amount in yuan",
        )),
    }
}

async fn app_page(
    State(svc): State<Arc<Service>>,
    staff: Staff,
    Path(app_id): Path<i64>,
) -> Response {
    admin_page(&staff, "商户", async {
        let app = svc.platform.app(app_id).await.map_err(api)?;
        let ledger = svc.platform.ledger(app_id, 200).await.map_err(api)?;
        Ok(html! {
            h1 { "商户 App " (app.app_id) " · " (app.name) }
            p { "余额 Balance: " b #balance { (page::yuan(app.balance_fen)) } " 元 · key " code { (app.key_prefix) "…" }
                @if app.sandbox { " · 沙箱 sandbox" } @if app.disabled { " · " span.fail { "停用 disabled" } } }
            h2 { "流水 Ledger" }
            table #ledger {
                thead { tr { th { "时间 At" } th { "类型 Kind" } th { "订单 Order" } th { "金额 Amount" } th { "余额 After" } th { "备注 Note" } } }
                tbody { @for e in &ledger { tr {
                    td { (page::china(e.at)) } td { (format!("{:?}", e.kind)) } td { (e.order_no.as_deref().unwrap_or("")) }
                    td { (page::yuan(e.amount_fen)) } td { (page::yuan(e.balance_after)) } td { (e.note.as_deref().unwrap_or("")) }
                } } }
            }
            p { a href="/console/admin/apps" { "返回 Back" } }
        })
    })
    .await
}

async fn app_action(
    State(svc): State<Arc<Service>>,
    staff: Staff,
    Path((app_id, action)): Path<(i64, String)>,
    fields: Fields,
) -> Response {
    if action == "rotate" {
        return admin_post(&staff, &fields, "商户", async {
            let issued = svc.platform.rotate_key(app_id).await.map_err(api)?;
            audit(&svc, &staff, "app_rotate_key", &format!("app:{app_id}"), "").await;
            Ok(secret_shown("新 key New key", &issued.key, app_id))
        })
        .await;
    }
    let changed = admin_post(&staff, &fields, "商户", async {
        let detail = match action.as_str() {
            "topup" => {
                let fen = yuan_field(&fields, "amount_yuan", false)?;
                svc.platform
                    .topup(app_id, fen, &staff.op.name)
                    .await
                    .map_err(api)?;
                format!("{fen} fen")
            }
            "disable" | "enable" => {
                svc.platform
                    .set_disabled(app_id, action == "disable")
                    .await
                    .map_err(api)?;
                String::new()
            }
            _ => return Err(ApiError::invalid("action", "未知操作", "unknown action")),
        };
        audit(
            &svc,
            &staff,
            &format!("app_{action}"),
            &format!("app:{app_id}"),
            &detail,
        )
        .await;
        Ok(html! {})
    })
    .await;
    back_or(changed, "/console/admin/apps")
}

/// A change that rendered an empty page went well: back to the list.
fn back_or(resp: Response, to: &str) -> Response {
    if resp.status().is_success() {
        Redirect::to(to).into_response()
    } else {
        resp
    }
}

async fn audit(svc: &Service, staff: &Staff, action: &str, target: &str, detail: &str) {
    if let Err(e) = svc
        .platform
        .audit(&staff.op.name, action, target, detail)
        .await
    {
        tracing::error!(error = %e, action, target, "console: audit");
    }
}

// ---- operators

async fn operators(State(svc): State<Arc<Service>>, staff: Staff) -> Response {
    admin_page(&staff, "操作员", async {
        let list = svc.platform.operators().await.map_err(api)?;
        let now = svc.platform.now();
        Ok(html! {
            h1 { "操作员 Operators" }
            table #operators {
                thead { tr { th { "名称 Name" } th { "角色 Role" } th { "状态 State" } th { "创建 Created" } th { "操作 Actions" } } }
                tbody { @for o in &list { tr {
                    td { (o.name) } td { (o.role.as_str()) }
                    td { @if o.disabled { span.fail { "停用 disabled" } } @else if o.locked_at(now) { span.fail { "锁定 locked" } } @else { "正常 active" } }
                    td { (page::china(o.created_at)) }
                    td { @if o.name != staff.op.name {
                        form method="post" action={ "/console/admin/operators/" (o.name) { @if o.disabled || o.locked_at(now) { "/enable" } @else { "/disable" } } } {
                            (page::csrf(&staff)) button { @if o.disabled || o.locked_at(now) { "启用/解锁 Enable" } @else { "停用 Disable" } }
                        }
                    } }
                } } }
            }
            h2 { "新建操作员 New operator" }
            form #new-operator method="post" action="/console/admin/operators" {
                (page::csrf(&staff))
                label { "名称 Name " input type="text" name="name" required maxlength="40" pattern="[A-Za-z0-9._-]+"; }
                label { "角色 Role " select name="role" { option value="reviewer" { "reviewer" } option value="admin" { "admin" } } }
                button type="submit" { "创建 Create" }
            }
        })
    })
    .await
}

async fn create_operator(
    State(svc): State<Arc<Service>>,
    staff: Staff,
    fields: Fields,
) -> Response {
    admin_post(&staff, &fields, "操作员", async {
        let role = Role::parse(fields.get("role").unwrap_or("reviewer")).ok_or_else(|| {
            ApiError::invalid("role", "应为 reviewer 或 admin", "reviewer or admin")
        })?;
        let name = fields.require("name")?;
        let (op, password) = svc
            .platform
            .create_operator(name, role, &staff.op.name)
            .await
            .map_err(api)?;
        Ok(html! {
            h1 { "新操作员 New operator " (op.name) }
            p { "一次性密码，只显示这一次。One-time password, shown once:" }
            p.secret #secret { (password) }
            p { a href="/console/admin/operators" { "返回 Back" } }
        })
    })
    .await
}

async fn operator_action(
    State(svc): State<Arc<Service>>,
    staff: Staff,
    Path((name, action)): Path<(String, String)>,
    fields: Fields,
) -> Response {
    let changed = admin_post(&staff, &fields, "操作员", async {
        let disabled = match action.as_str() {
            "disable" => true,
            "enable" => false,
            _ => return Err(ApiError::invalid("action", "未知操作", "unknown action")),
        };
        svc.platform
            .set_operator_disabled(&name, disabled, &staff.op.name)
            .await
            .map_err(api)?;
        Ok(html! {})
    })
    .await;
    back_or(changed, "/console/admin/operators")
}

// ---- callbacks

async fn callbacks(State(svc): State<Arc<Service>>, staff: Staff) -> Response {
    admin_page(&staff, "回调", async {
        let filter = CallbackFilter { order_no: None, state: Some(CallbackState::Failed), limit: 200 };
        let list = svc.platform.callbacks(&filter).await.map_err(api)?;
        Ok(html! {
            h1 { "失败的回调 Failed callbacks" }
            @if list.is_empty() { p { "没有失败的回调。No failed callbacks." } }
            table #failed-callbacks {
                thead { tr { th { "#" } th { "订单 Order" } th { "status" } th { "notice_url" } th { "尝试 Attempts" } th { "更新 Updated" } th {} } }
                tbody { @for cb in &list { tr data-order=(cb.order_no) {
                    td { (cb.id) } td { a href={ "/console/orders/" (cb.order_no) } { (cb.order_no) } } td { (cb.status) }
                    td { code { (cb.notice_url) } } td { (cb.attempts) } td { (page::china(cb.updated_at)) }
                    td { form method="post" action={ "/console/admin/callbacks/" (cb.id) "/redeliver" } {
                        (page::csrf(&staff)) button { "重发 Redeliver" }
                    } }
                } } }
            }
        })
    })
    .await
}

async fn redeliver(
    State(svc): State<Arc<Service>>,
    staff: Staff,
    Path(id): Path<i64>,
    fields: Fields,
) -> Response {
    let changed = admin_post(&staff, &fields, "回调", async {
        let cb = svc
            .platform
            .redeliver_callback(id, svc.platform.now())
            .await
            .map_err(api)?;
        audit(
            &svc,
            &staff,
            "callback_redeliver",
            &cb.order_no,
            &format!("callback {id}"),
        )
        .await;
        Ok(html! {})
    })
    .await;
    back_or(changed, "/console/admin/callbacks")
}

// ---- specs

async fn specs(State(svc): State<Arc<Service>>, staff: Staff) -> Response {
    admin_page(&staff, "规格", async {
        let rows: Vec<catalogue::Spec> = svc
            .catalogue
            .iter()
            .filter(|s| s.receipt.is_some())
            .map(|s| svc.platform.effective_spec(s))
            .collect();
        Ok(html! {
            h1 { "回执规格 Receipt specs" }
            table #specs {
                thead { tr { th { "item_id" } th { "名称 Name" } th { "接单 Orders" } th { "价格 Price (元)" } th {} } }
                tbody { @for s in &rows {
                    @let r = s.receipt.as_ref();
                    tr data-item=(s.item_id) {
                        td { (s.item_id) } td { (s.name) }
                        td { @if r.is_some_and(|r| r.enabled) { "开 on" } @else { span.fail { "关 off" } } }
                        td { (page::yuan(r.map_or(0, |r| i64::from(r.price_fen)))) }
                        td { form method="post" action={ "/console/admin/specs/" (s.item_id) } {
                            (page::csrf(&staff))
                            label { input type="checkbox" name="enabled" value="1" checked[r.is_some_and(|r| r.enabled)]; " 接单 on" }
                            input type="text" name="price_yuan" size="6" value=(page::yuan(r.map_or(0, |r| i64::from(r.price_fen))));
                            button { "保存 Save" }
                        } }
                    }
                } }
            }
        })
    })
    .await
}

async fn set_spec(
    State(svc): State<Arc<Service>>,
    staff: Staff,
    Path(item_id): Path<i64>,
    fields: Fields,
) -> Response {
    let changed = admin_post(&staff, &fields, "规格", async {
        let known = u32::try_from(item_id)
            .ok()
            .and_then(|i| svc.catalogue.get(i))
            .is_some_and(|s| s.receipt.is_some());
        if !known {
            return Err(ApiError::invalid(
                "item_id",
                "不是回执规格",
                "not a receipt spec",
            ));
        }
        let price = yuan_field(&fields, "price_yuan", true)?;
        let enabled = fields.flag("enabled")?;
        svc.platform
            .set_spec_override(item_id, Some(enabled), Some(price), &staff.op.name)
            .await
            .map_err(api)?;
        Ok(html! {})
    })
    .await;
    back_or(changed, "/console/admin/specs")
}

// ---- audit

async fn audit_page_body(svc: &Service) -> Outcome {
    let log = svc.platform.audit_log(None, 300).await.map_err(api)?;
    Ok(html! {
        h1 { "审计日志 Audit log" }
        table #audit {
            thead { tr { th { "时间 At" } th { "操作员 Operator" } th { "动作 Action" } th { "对象 Target" } th { "详情 Detail" } } }
            tbody { @for e in &log { tr {
                td { (page::china(e.at)) } td { (e.operator) } td { (e.action) } td { (e.target) } td { (e.detail) }
            } } }
        }
    })
}

async fn audit_page(State(svc): State<Arc<Service>>, staff: Staff) -> Response {
    admin_page(&staff, "审计", audit_page_body(&svc)).await
}
