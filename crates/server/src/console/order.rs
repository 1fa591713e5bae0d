//! One order: the upload and the made photos with the measurements drawn over them, the
//! checks, the params (ID number masked), the history and callbacks; and the actions take,
//! release, approve (optionally adjusted), reject and, for admins, reveal the ID number.

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use bytes::Bytes;
use engine::{Adjust, MakeOptions};
use maud::{html, Markup};
use platform::{Approval, CallbackFilter, Order, OrderStatus, Pic};
use serde::Deserialize;
use serde_json::Value;
use std::sync::Arc;

use super::{page, queue, Staff};
use crate::codes::ApiError;
use crate::forms::Fields;
use crate::state::Service;
use crate::upload;

/// Preset rejection reasons (`../shared/domain/photo-standards.md`): the Chinese text is the
/// `reject_msg` the merchant gets; the English is shown beside it in the console.
pub const REJECT_PRESETS: &[(&str, &str)] = &[
    ("背景不均匀或有阴影", "Background not uniform or shadowed"),
    ("头部过大或过小", "Head too large or too small"),
    (
        "头顶离边缘太近或下巴被裁切",
        "Top of head too close to the edge, or chin cut off",
    ),
    ("头部倾斜或未正对镜头", "Head tilted or turned"),
    ("光线不均匀（阴阳脸）", "Uneven light on the face"),
    ("照片过暗或过亮", "Too dark or too bright"),
    (
        "闭眼或未直视镜头",
        "Eyes closed or not looking at the camera",
    ),
    ("露齿或张嘴", "Teeth showing or mouth open"),
    (
        "头发遮挡眉毛、眼睛或耳朵",
        "Hair covers the eyebrows, eyes or ears",
    ),
    ("眼镜反光或有色镜片", "Glasses with glare or tinted lenses"),
    ("佩戴帽子或头饰", "Head covering"),
    ("照片模糊或有噪点", "Blurred or noisy"),
    ("证件信息有误", "The holder's details are wrong"),
];

/// `GET /console/orders/{order_no}`.
pub async fn page(
    State(svc): State<Arc<Service>>,
    staff: Staff,
    Path(no): Path<String>,
) -> Response {
    render(&svc, &staff, &no, false).await
}

async fn render(svc: &Service, staff: &Staff, no: &str, reveal: bool) -> Response {
    match view(svc, staff, no, reveal).await {
        Ok(body) => page::html(page::shell(no, Some(staff), body)).into_response(),
        Err(e) => super::failed(Some(staff), &e),
    }
}

async fn view(svc: &Service, staff: &Staff, no: &str, reveal: bool) -> Result<Markup, ApiError> {
    let p = &svc.platform;
    let err = |e: platform::PlatformError| ApiError::from(&e);
    let order = p.order(no).await.map_err(err)?;
    let pic = p.repo().pic(&order.pic_id).await.map_err(err)?;
    let events = p.order_events(no).await.map_err(err)?;
    let filter = CallbackFilter {
        order_no: Some(no.to_string()),
        state: None,
        limit: 50,
    };
    let mut callbacks = Vec::new();
    for cb in p.callbacks(&filter).await.map_err(err)? {
        let attempts = p.callback_attempts(cb.id).await.map_err(err)?;
        callbacks.push((cb, attempts));
    }
    let apps = queue::app_names(svc).await;
    let now = p.now();
    let url = |key: &str| svc.urls.url(key, now);
    Ok(html! {
        h1 { "订单 Order " (order.order_no) }
        table #summary { tbody {
            tr { th { "状态 Status" } td #status { (order.status.code()) " " (crate::codes::status_zh(order.status.code())) } }
            tr { th { "规格 Spec" } td { (queue::spec_name(svc, order.item_id)) " (" (order.item_id) ")" } }
            tr { th { "商户 Merchant" } td { (apps.get(&order.app_id).map_or("?", String::as_str)) " (app " (order.app_id) ")" } }
            tr { th { "提交 Submitted" } td { (page::china(order.submitted_at)) } }
            tr { th { "截止 Due" } td { (page::china(order.sla_due_at))
                @if matches!(order.status, OrderStatus::Pending | OrderStatus::Reviewing) && order.sla_due_at < now { " " span.overdue-tag { "超时 overdue" } } } }
            tr { th { "审核员 Reviewer" } td { (order.reviewer.as_deref().unwrap_or("—")) } }
            tr { th { "价格 Price" } td { (page::yuan(order.price_fen)) " 元" } }
            @if let Some(r) = &order.receipt_no { tr { th { "回执编号 Receipt" } td { a href={ "/r/" (r) } { (r) } } } }
            @if let Some(m) = &order.reject_msg { tr { th { "驳回原因 Rejected" } td { (m) } } }
        } }
        (actions(svc, staff, &order))
        h2 { "照片 Photos" }
        (photos(svc, &order, pic.as_ref(), &url))
        @if let Some(pic) = &pic { h2 { "自动检测 Checks" } (checks(&pic.checks)) }
        h2 { "参数 Params" }
        (params(staff, &order, reveal, &url))
        h2 { "历史 History" }
        table #events {
            thead { tr { th { "时间 At" } th { "动作 Action" } th { "从 From" } th { "到 To" } th { "执行者 Actor" } th { "备注 Note" } } }
            tbody { @for e in &events { tr {
                td { (page::china(e.at)) } td { (e.action.as_str()) }
                td { (e.from.map(|s| s.code().to_string()).unwrap_or_default()) } td { (e.to.code()) }
                td { (e.actor) } td { (e.note.as_deref().unwrap_or("")) }
            } } }
        }
        h2 { "回调 Callbacks" }
        table #callbacks {
            thead { tr { th { "#" } th { "status" } th { "状态 State" } th { "尝试 Attempts" } th { "下次 Next" } th { "最近应答 Last answer" } } }
            tbody { @for (cb, attempts) in &callbacks { tr {
                td { (cb.id) } td { (cb.status) } td { (format!("{:?}", cb.state)) } td { (cb.attempts) }
                td { (page::china(cb.next_attempt_at)) }
                td { @if let Some(a) = attempts.last() {
                    (page::china(a.at)) " · HTTP " (a.http_status.map_or("—".to_string(), |s| s.to_string()))
                    " · " (a.latency_ms) " ms " (a.error.as_deref().unwrap_or("")) " " code { (a.response_head.chars().take(120).collect::<String>()) }
                } }
            } } }
        }
    })
}

fn actions(svc: &Service, staff: &Staff, order: &Order) -> Markup {
    let no = &order.order_no;
    let mine = order.reviewer.as_deref() == Some(staff.op.name.as_str()) || staff.op.is_admin();
    let spec = u32::try_from(order.item_id)
        .ok()
        .and_then(|i| svc.catalogue.get(i));
    let (w, h) = spec.map_or((0, 0), |s| (s.width_px, s.height_px));
    html! {
        div.actions {
            @if order.status == OrderStatus::Pending {
                form #take method="post" action={ "/console/orders/" (no) "/take" } {
                    (page::csrf(staff)) button type="submit" { "领取审核 Take" }
                }
            }
            @if order.status == OrderStatus::Reviewing && mine {
                form #approve method="post" enctype="multipart/form-data" action={ "/console/orders/" (no) "/approve" } {
                    (page::csrf(staff))
                    h3 { "通过 Approve" }
                    label { "回执编号 Receipt number (from the authority) " input type="text" name="receipt_no" required maxlength="64"; }
                    label { "回执图片 Receipt image (optional; rendered when absent) " input type="file" name="receipt_image" accept="image/jpeg,image/png"; }
                    fieldset #adjust {
                        legend { "调整 Adjust (re-made from the original)" }
                        label { "左右 dx (px, + right) " input type="number" name="dx" value="0" step="1" min=(-(w as i64) / 4) max=(w / 4); }
                        label { "上下 dy (px, + down) " input type="number" name="dy" value="0" step="1" min=(-(h as i64) / 4) max=(h / 4); }
                        label { "缩放 zoom " input type="number" name="zoom" value="1" step="0.01" min="0.8" max="1.25"; }
                        label { "亮度 brightness " input type="number" name="brightness" value="0" step="0.05" min="-0.5" max="0.5"; }
                        label { "对比度 contrast " input type="number" name="contrast" value="0" step="0.05" min="-0.5" max="0.5"; }
                        button type="button" #preview-button { "预览 Preview" }
                        img #preview alt="" style="display:block;max-height:16rem;margin-top:.4rem";
                    }
                    button type="submit" { "通过并出回执 Approve" }
                }
                script { (maud::PreEscaped(PREVIEW_JS)) }
                form #reject method="post" action={ "/console/orders/" (no) "/reject" } {
                    (page::csrf(staff))
                    h3 { "驳回 Reject" }
                    label { "预设原因 Preset " select name="preset" {
                        option value="" { "—" }
                        @for (zh, en) in REJECT_PRESETS { option value=(zh) { (zh) " · " (en) } }
                    } }
                    label { "或填写 Or in words " input type="text" name="reason" maxlength="200"; }
                    button type="submit" { "驳回 Reject" }
                }
                form #release method="post" action={ "/console/orders/" (no) "/release" } {
                    (page::csrf(staff)) button type="submit" { "放回队列 Release" }
                }
            }
            @if order.status == OrderStatus::Reviewing && !mine {
                p { "由 " (order.reviewer.as_deref().unwrap_or("?")) " 审核中。Taken by another reviewer." }
            }
        }
    }
}

/// Loads the adjusted preview from the approve form's adjust fields.
const PREVIEW_JS: &str =
    "document.getElementById('preview-button').addEventListener('click',function(){\
var f=document.getElementById('approve'),q=new URLSearchParams();\
['dx','dy','zoom','brightness','contrast'].forEach(function(n){q.set(n,f.elements[n].value)});\
document.getElementById('preview').src=location.pathname+'/preview.jpg?'+q.toString();});";

fn photos(svc: &Service, order: &Order, pic: Option<&Pic>, url: &dyn Fn(&str) -> String) -> Markup {
    let Some(pic) = pic else {
        return html! { p { "照片已按保留期删除。The photos were deleted at retention." } };
    };
    let spec = u32::try_from(order.item_id)
        .ok()
        .and_then(|i| svc.catalogue.get(i));
    html! {
        div.photos {
            @if let Some(k) = &pic.original_key {
                figure.photo #original { img src=(url(k)) alt="original" style="max-height:22rem"; figcaption { "原图 Original upload" } }
            }
            @for ph in &pic.photos {
                figure.photo data-colour=(ph.colour) {
                    img src=(url(&ph.key)) alt=(ph.colour);
                    @if let Some(s) = spec { (overlay(s, &pic.checks)) }
                    figcaption { (ph.colour) }
                }
            }
            @if let Some(k) = &order.image_key {
                figure.photo #adjusted { img src=(url(k)) alt="adjusted"; figcaption { "调整后 Adjusted" } }
            }
            @if let Some(k) = &order.receipt_key {
                figure.photo #receipt { img src=(url(k)) alt="receipt"; figcaption { "回执 Receipt" } }
            }
        }
        p.legend {
            span style="color:#d00" { "— 头顶/下巴 crown / chin" } span style="color:#06c" { "— 眼线 eye line" }
            span style="color:#090" { "▭ 头部框 head box" } span style="color:#c60" { "▒ 规格范围 the spec's bands (crown, eyes, chin)" }
        }
    }
}

/// The measurements of the checks report drawn over a made photo (SVG in output pixels).
fn overlay(spec: &catalogue::Spec, checks: &Value) -> Markup {
    let m = &checks["measurements"];
    let f = |k: &str| m[k].as_f64();
    let (Some(crown), Some(chin), Some(eye)) = (f("crown_y"), f("chin_y"), f("eye_y")) else {
        return html! {};
    };
    let ps = platform::photo_spec::photo_spec(spec);
    let (w, h) = (f64::from(spec.width_px), f64::from(spec.height_px));
    let b = &m["head_box"];
    let bx = |k: &str| b[k].as_f64().unwrap_or(0.0);
    let band = |min: f32, max: f32| (f64::from(min), f64::from(max - min).max(1.0));
    let (cg, cg_h) = band(ps.crown_gap.min, ps.crown_gap.max);
    let (ey, ey_h) = band(ps.eye_line.min, ps.eye_line.max);
    let (hh, hh_h) = band(ps.head_height.min, ps.head_height.max);
    html! {
        svg.overlay viewBox={ "0 0 " (w) " " (h) } preserveAspectRatio="none" style="width:calc(100% - .6rem);height:auto;aspect-ratio:auto" {
            rect x="0" y=(cg) width=(w) height=(cg_h) fill="#c60" fill-opacity="0.18" {}
            rect x="0" y=(ey) width=(w) height=(ey_h) fill="#06c" fill-opacity="0.12" {}
            rect x="0" y=(crown + hh) width=(w) height=(hh_h) fill="#c60" fill-opacity="0.18" {}
            line.crown x1="0" x2=(w) y1=(crown) y2=(crown) stroke="#d00" stroke-width="1.5" {}
            line.chin x1="0" x2=(w) y1=(chin) y2=(chin) stroke="#d00" stroke-width="1.5" {}
            line.eye x1="0" x2=(w) y1=(eye) y2=(eye) stroke="#06c" stroke-width="1.5" {}
            rect.head-box x=(bx("x")) y=(bx("y")) width=(bx("w")) height=(bx("h")) fill="none" stroke="#090" stroke-width="1.5" stroke-dasharray="4 3" {}
        }
    }
}

fn checks(report: &Value) -> Markup {
    let empty = Vec::new();
    let list = report["checks"].as_array().unwrap_or(&empty);
    html! {
        table #checks {
            thead { tr { th { "检查 Rule" } th { "结果 Result" } th { "测量 Value" } th { "要求 Expected" } th { "说明 Note" } } }
            tbody { @for c in list {
                @let pass = c["pass"].as_bool().unwrap_or(false);
                tr {
                    td { (c["rule"].as_str().unwrap_or("?")) }
                    td { @if pass { span.pass { "✓ 通过 pass" } } @else { span.fail { "✗ 不通过 fail" } } }
                    td { (c["value"].as_f64().map_or(String::new(), |v| format!("{v:.1}"))) }
                    td { @if let (Some(lo), Some(hi)) = (c["expected"]["min"].as_f64(), c["expected"]["max"].as_f64()) { (range(lo, hi)) } }
                    td { (c["msg"].as_str().unwrap_or("")) " " span.en { (c["msg_en"].as_str().unwrap_or("")) } }
                }
            } }
        }
    }
}

fn params(staff: &Staff, order: &Order, reveal: bool, url: &dyn Fn(&str) -> String) -> Markup {
    let Some(Value::Object(map)) = &order.params else {
        return html! { p { "无参数，或已按保留期删除。No params (or deleted at retention)." } };
    };
    html! {
        table #params { tbody {
            @for (k, v) in map {
                @let text = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                tr { th { (k) } td {
                    @if k == "text_idcard" {
                        span #idcard { @if reveal { (text) } @else { (platform::receipt::mask_id(&text)) } }
                    }
                    @else if k.starts_with("image_") { "(file)" }
                    @else { span id=(k.replace('_', "-")) { (text) } }
                } }
            }
            @for f in &order.param_files {
                tr { th { (f.field) } td { a href=(url(&f.key)) { "查看 view" } } }
            }
        } }
        @if staff.op.is_admin() && !reveal && map.contains_key("text_idcard") {
            form #reveal method="post" action={ "/console/orders/" (order.order_no) "/reveal" } {
                (page::csrf(staff)) button type="submit" { "显示完整证件号（记入审计）Reveal the ID number (audited)" }
            }
        }
    }
}

// ---- actions

/// `POST …/take`.
pub async fn take(
    State(svc): State<Arc<Service>>,
    staff: Staff,
    Path(no): Path<String>,
    fields: Fields,
) -> Response {
    act(
        &svc,
        &staff,
        &no,
        &fields,
        ("take", ""),
        svc.platform.take(&no, &staff.op.name),
    )
    .await
}

/// `POST …/release`.
pub async fn release(
    State(svc): State<Arc<Service>>,
    staff: Staff,
    Path(no): Path<String>,
    fields: Fields,
) -> Response {
    if let Err(r) = holds(&svc, &staff, &no).await {
        return r;
    }
    act(
        &svc,
        &staff,
        &no,
        &fields,
        ("release", ""),
        svc.platform.release(&no, &staff.op.name),
    )
    .await
}

/// `POST …/reject`: a preset reason or one in words (the words win).
pub async fn reject(
    State(svc): State<Arc<Service>>,
    staff: Staff,
    Path(no): Path<String>,
    fields: Fields,
) -> Response {
    if let Err(r) = holds(&svc, &staff, &no).await {
        return r;
    }
    let Some(reason) = fields.get("reason").or(fields.get("preset")) else {
        return super::failed(Some(&staff), &ApiError::missing("reason"));
    };
    let reason = reason.to_string();
    act(
        &svc,
        &staff,
        &no,
        &fields,
        ("reject", &reason),
        svc.platform.reject(&no, &staff.op.name, &reason),
    )
    .await
}

/// `POST …/approve`: receipt_no, an optional receipt image, and the adjust fields; a
/// non-neutral adjustment re-makes the photo from the original, sent as `image`.
pub async fn approve(
    State(svc): State<Arc<Service>>,
    staff: Staff,
    Path(no): Path<String>,
    fields: Fields,
) -> Response {
    if let Err(r) = staff.check_csrf(&fields) {
        return *r;
    }
    if let Err(r) = holds(&svc, &staff, &no).await {
        return r;
    }
    let approval = match approval(&svc, &no, &fields).await {
        Ok(a) => a,
        Err(e) => return super::failed(Some(&staff), &e),
    };
    let adjusted = approval.adjusted_image.is_some();
    let receipt_no = approval.receipt_no.clone();
    let done = svc.platform.approve(&no, &staff.op.name, approval);
    let detail = format!(
        "receipt {receipt_no}{}",
        if adjusted { ", adjusted" } else { "" }
    );
    finish(&svc, &staff, &no, "approve", &detail, done).await
}

async fn approval(svc: &Service, no: &str, fields: &Fields) -> Result<Approval, ApiError> {
    let receipt_no = fields.require("receipt_no")?.to_string();
    let receipt_image = match fields.file("receipt_image") {
        Some(b) => {
            upload::check_image(b).map_err(|e| e.with_field("receipt_image"))?;
            Some(b.clone())
        }
        None => None,
    };
    let adjust = adjust_of(|n| fields.get(n).map(str::to_string))?;
    let adjusted_image = match adjust {
        Some(a) => Some(remake(svc, no, a).await?),
        None => None,
    };
    Ok(Approval {
        receipt_no,
        receipt_image,
        adjusted_image,
        print_image: None,
    })
}

/// `POST …/reveal` (admins): the page with the full ID number, audited.
pub async fn reveal(
    State(svc): State<Arc<Service>>,
    staff: Staff,
    Path(no): Path<String>,
    fields: Fields,
) -> Response {
    if let Err(r) = staff
        .check_csrf(&fields)
        .and_then(|()| staff.require_admin())
    {
        return *r;
    }
    if let Err(e) = svc
        .platform
        .audit(&staff.op.name, "reveal_id", &no, "")
        .await
    {
        return super::failed(Some(&staff), &ApiError::from(&e));
    }
    render(&svc, &staff, &no, true).await
}

/// Only the reviewer holding a taken order (or an admin) decides on it.
async fn holds(svc: &Service, staff: &Staff, no: &str) -> Result<(), Response> {
    let order = svc
        .platform
        .order(no)
        .await
        .map_err(|e| super::failed(Some(staff), &ApiError::from(&e)))?;
    let theirs = order
        .reviewer
        .as_deref()
        .is_some_and(|r| r != staff.op.name);
    if theirs && !staff.op.is_admin() {
        let e = ApiError::new(
            crate::codes::code::WRONG_STATE,
            format!("订单由 {} 审核中", order.reviewer.unwrap_or_default()),
            "another reviewer holds this order",
        );
        return Err(super::failed(Some(staff), &e));
    }
    Ok(())
}

async fn act(
    svc: &Service,
    staff: &Staff,
    no: &str,
    fields: &Fields,
    (action, detail): (&str, &str),
    done: impl std::future::Future<Output = platform::Result<Order>>,
) -> Response {
    if let Err(r) = staff.check_csrf(fields) {
        return *r;
    }
    finish(svc, staff, no, action, detail, done).await
}

/// Runs the transition, audits it, and goes back to the order page.
async fn finish(
    svc: &Service,
    staff: &Staff,
    no: &str,
    action: &str,
    detail: &str,
    done: impl std::future::Future<Output = platform::Result<Order>>,
) -> Response {
    if let Err(e) = done.await {
        return super::failed(Some(staff), &ApiError::from(&e));
    }
    if let Err(e) = svc.platform.audit(&staff.op.name, action, no, detail).await {
        tracing::error!(error = %e, order_no = no, action, "console: audit");
    }
    Redirect::to(&format!("/console/orders/{no}")).into_response()
}

// ---- adjust

#[derive(Debug, Default, Deserialize)]
pub struct AdjustQuery {
    dx: Option<String>,
    dy: Option<String>,
    zoom: Option<String>,
    brightness: Option<String>,
    contrast: Option<String>,
}

/// `GET …/preview.jpg?dx=&dy=&zoom=&brightness=&contrast=`: the adjusted photo, not stored.
pub async fn preview(
    State(svc): State<Arc<Service>>,
    staff: Staff,
    Path(no): Path<String>,
    Query(q): Query<AdjustQuery>,
) -> Response {
    let get = |n: &str| match n {
        "dx" => q.dx.clone(),
        "dy" => q.dy.clone(),
        "zoom" => q.zoom.clone(),
        "brightness" => q.brightness.clone(),
        _ => q.contrast.clone(),
    };
    let made = match adjust_of(get) {
        Ok(a) => remake(&svc, &no, a.unwrap_or_default()).await,
        Err(e) => Err(e),
    };
    match made {
        Ok(jpeg) => (
            [
                (header::CONTENT_TYPE, "image/jpeg"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            jpeg,
        )
            .into_response(),
        Err(e) => (StatusCode::BAD_REQUEST, super::failed(Some(&staff), &e)).into_response(),
    }
}

/// The adjustment in the fields; `None` when it is neutral. Out-of-range values are refused.
fn adjust_of(get: impl Fn(&str) -> Option<String>) -> Result<Option<Adjust>, ApiError> {
    let num = |name: &str, neutral: f32, lo: f32, hi: f32| -> Result<f32, ApiError> {
        let Some(text) = get(name).filter(|s| !s.trim().is_empty()) else {
            return Ok(neutral);
        };
        match text.trim().parse::<f32>() {
            Ok(v) if v.is_finite() && (lo..=hi).contains(&v) => Ok(v),
            _ => Err(ApiError::invalid(
                name,
                &format!("应在 {lo} 到 {hi} 之间"),
                &format!("must be {lo} to {hi}"),
            )),
        }
    };
    let a = Adjust {
        dx: num("dx", 0.0, -400.0, 400.0)?,
        dy: num("dy", 0.0, -400.0, 400.0)?,
        zoom: num("zoom", 1.0, 0.8, 1.25)?,
        brightness: num("brightness", 0.0, -0.5, 0.5)?,
        contrast: num("contrast", 0.0, -0.5, 0.5)?,
    };
    Ok((a != Adjust::default()).then_some(a))
}

/// The order's photo re-made from the original upload with `adjust`, on its first colour.
async fn remake(svc: &Service, no: &str, adjust: Adjust) -> Result<Bytes, ApiError> {
    let (order, pic, original) = svc
        .platform
        .remake_source(no)
        .await
        .map_err(|e| ApiError::from(&e))?;
    let spec = u32::try_from(order.item_id)
        .ok()
        .and_then(|i| svc.catalogue.get(i))
        .ok_or_else(|| ApiError::invalid("item_id", "规格不存在", "no such spec"))?;
    let photo_spec = platform::photo_spec::photo_spec(spec);
    let colour = pic.photos.first().map(|p| p.colour.clone());
    let opts = MakeOptions {
        colors: colour.map(|c| vec![c]),
        adjust,
        ..Default::default()
    };
    let engine = svc.engine.clone();
    let made = svc
        .pool
        .run(move || engine.make(&original, &photo_spec, &opts))
        .await?
        .map_err(|e| ApiError::from(&e))?;
    made.photos
        .into_iter()
        .next()
        .map(|p| Bytes::from(p.jpeg))
        .ok_or_else(ApiError::internal)
}

/// A check's expected range; an open end (±f32::MAX) reads as ≥ or ≤.
fn range(lo: f64, hi: f64) -> String {
    match (lo > -1e30, hi < 1e30) {
        (true, true) => format!("{lo:.1}–{hi:.1}"),
        (true, false) => format!("≥ {lo:.1}"),
        (false, true) => format!("≤ {hi:.1}"),
        (false, false) => "—".to_string(),
    }
}
