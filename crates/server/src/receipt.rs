//! `/receipt/make`, `/receipt/submit` (and resubmit), `/receipt/cancel`, `/receipt/query`.

use axum::extract::{FromRequest, Request, State};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use engine::sheet::Paper;
use engine::MakeOptions;
use platform::ledger::fen_to_yuan;
use platform::order::china_time;
use platform::{App, NewPic, Order, OrderDetail, OrderStatus, Pic, PicPlan, Submission};
use serde_json::{json, Map, Value};
use std::sync::Arc;

use crate::codes::{code, status_zh, ApiError};
use crate::forms::Fields;
use crate::reply::{ApiResult, Reply};
use crate::sandbox::Outcome;
use crate::state::Service;
use crate::timing::{Arrived, Stages};
use crate::upload;

/// Times in answers: RFC 3339 in China time, e.g. `2021-06-16T13:41:06+08:00`.
pub fn time(t: DateTime<Utc>) -> String {
    t.with_timezone(&china_time())
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

/// The platform's refusal as an API error; the service's own failures are logged.
pub fn platform_err(e: platform::PlatformError) -> ApiError {
    let api = ApiError::from(&e);
    if matches!(api.code, code::INTERNAL | code::STORE_UNAVAILABLE) {
        tracing::error!(error = %e, "platform error");
    }
    api
}

fn item_unknown(item: &str) -> ApiError {
    let shown: String = item.chars().take(40).collect();
    ApiError::new(
        code::ITEM_UNKNOWN,
        format!("规格 {shown} 不存在"),
        format!("unknown item_id {shown}"),
    )
    .with_field("item_id")
}

/// `POST /receipt/make`: key, item_id, image (base64) → pic_id and one URL per colour.
/// Answers with a `Server-Timing` header of its stages (see [`crate::timing`]). Admitted
/// (a bounded number at once) before its body is read; otherwise `BUSY`, its body read and
/// dropped chunk by chunk (never held), so the client sees the answer.
pub async fn make(
    State(svc): State<Arc<Service>>,
    arrived: Option<Extension<Arrived>>,
    req: Request,
) -> Response {
    let mut stages = Stages::new(arrived.map(|Extension(a)| a));
    let _ticket = match svc.pool.admit() {
        Ok(t) => t,
        Err(busy) => {
            let c = &svc.config;
            crate::forms::drain(req, c.max_body_bytes, c.body_timeout).await;
            return busy.into_response();
        }
    };
    let fields = match Fields::from_request(req, &svc).await {
        Ok(f) => f,
        Err(e) => return e.into_response(),
    };
    stages.mark("read");
    let answer = make_pic(&svc, fields, &mut stages).await;
    stages.attach(answer)
}

async fn make_pic(svc: &Service, mut fields: Fields, stages: &mut Stages) -> ApiResult {
    let app = svc.authenticate(fields.require("key")?).await?;
    let item = fields.require("item_id")?;
    let spec = svc.catalogue.find(item).ok_or_else(|| item_unknown(item))?;
    let bytes = match fields.file("image") {
        Some(b) => b.clone(),
        None => {
            let text = fields
                .take("image")
                .ok_or_else(|| ApiError::missing("image"))?;
            upload::decode_base64_buf(text)?
        }
    };
    upload::check_image(&bytes)?;
    stages.mark("decode");
    let photo_spec = platform::photo_spec::photo_spec(spec);
    let with_sheet = spec
        .receipt
        .as_ref()
        .is_some_and(|r| r.enabled && r.print_sheet);
    let opts = MakeOptions {
        png: true,
        sheets: if with_sheet {
            vec![Paper::SixInch]
        } else {
            vec![]
        },
        ..Default::default()
    };
    // The upload is written, and its pic row made, while the engine runs.
    let plan = PicPlan {
        item_id: i64::from(spec.item_id),
        colours: photo_spec.colors.iter().map(|c| c.name.clone()).collect(),
        png: opts.png,
        print_sheet: with_sheet,
        original: bytes.clone(),
    };
    let pending = svc
        .platform
        .begin_pic(&app, plan)
        .await
        .map_err(platform_err)?;
    let engine = svc.engine.clone();
    let made = svc
        .pool
        .run(move || engine.make(&bytes, &photo_spec, &opts))
        .await
        .and_then(|r| r.map_err(|e| ApiError::from(&e).with_field("image")));
    let made = match made {
        Ok(made) => made,
        Err(e) => {
            if let Err(gone) = svc.platform.abandon_pic(pending).await {
                tracing::warn!(error = %gone, "abandoned pic not removed; retention will");
            }
            return Err(e);
        }
    };
    stages.mark("engine");
    let checks = serde_json::to_value(&made.report).unwrap_or(Value::Null);
    let new = NewPic {
        item_id: i64::from(spec.item_id),
        photos: made
            .photos
            .into_iter()
            .map(|p| (p.color.name, Bytes::from(p.jpeg)))
            .collect(),
        original: None,
        transparent_png: made.png.map(Bytes::from),
        print_sheet: made.sheets.into_iter().next().map(|(_, b)| Bytes::from(b)),
        checks: checks.clone(),
    };
    let pic = svc
        .platform
        .finish_pic(pending, new)
        .await
        .map_err(platform_err)?;
    stages.mark("store");
    let now = svc.platform.now();
    let mut data = json!({
        "pic_id": pic.pic_id,
        "list": photo_urls(svc, &pic, now),
        "item_id": pic.item_id,
        "expires_at": time(pic.expires_at),
        "checks": checks,
    });
    if let Some(k) = &pic.png_key {
        data["png"] = json!(svc.urls.url(k, now));
    }
    if let Some(k) = &pic.print_key {
        data["print"] = json!(svc.urls.url(k, now));
    }
    Ok(Reply::ok(data))
}

/// `{colour: URL}` for every photo of a pic, in the seed's shape.
fn photo_urls(svc: &Service, pic: &Pic, now: DateTime<Utc>) -> Value {
    let map: Map<String, Value> = pic
        .photos
        .iter()
        .map(|p| (p.colour.clone(), json!(svc.urls.url(&p.key, now))))
        .collect();
    Value::Object(map)
}

/// A JSON field (`param`, `print_param`): absent or blank is `null`.
fn json_field(fields: &Fields, name: &str) -> Result<Value, ApiError> {
    match fields.get(name) {
        None => Ok(Value::Null),
        Some(text) => serde_json::from_str(text).map_err(|_| match name {
            "param" => ApiError::from(&catalogue::ParamError::InvalidJson),
            _ => ApiError::new(
                code::PRINT_PARAM_INVALID,
                format!("{name} 不是合法的 JSON"),
                format!("{name} is not valid JSON"),
            )
            .with_field(name),
        }),
    }
}

fn submission(fields: &Fields) -> Result<Submission, ApiError> {
    let pic_id = fields.require("pic_id")?.to_string();
    let notice_url = fields.require("notice_url")?.to_string();
    let params = json_field(fields, "param")?;
    let is_print = fields.flag("is_print")?;
    let print_param = if is_print {
        Some(json_field(fields, "print_param")?).filter(|v| !v.is_null())
    } else {
        None
    };
    Ok(Submission {
        pic_id,
        notice_url,
        params,
        is_print,
        print_param,
    })
}

/// `POST /receipt/submit`: a new order, or with `order_no` the resubmission of a rejected one.
pub async fn submit(State(svc): State<Arc<Service>>, fields: Fields) -> ApiResult {
    let app = svc.authenticate(fields.require("key")?).await?;
    let sub = submission(&fields)?;
    let outcome = sandbox_outcome(&app, &fields)?;
    let order = match fields.get("order_no") {
        Some(no) => svc.platform.resubmit(&app, no, sub).await,
        None => svc.platform.submit(&app, sub).await,
    }
    .map_err(platform_err)?;
    if let Some(outcome) = outcome {
        svc.sandbox.set_outcome(&order.order_no, outcome);
    }
    let data = json!({
        "order_no": order.order_no,
        "status": order.status.code(),
        "price": fen_to_yuan(order.price_fen),
        "eta": time(order.sla_due_at),
    });
    Ok(Reply::with_msg("提交成功", "submitted", data))
}

/// `sandbox_result=completed|rejected` forces how a sandbox order ends; live apps ignore it.
fn sandbox_outcome(app: &App, fields: &Fields) -> Result<Option<Outcome>, ApiError> {
    let Some(v) = fields.get("sandbox_result").filter(|_| app.sandbox) else {
        return Ok(None);
    };
    match v.to_ascii_lowercase().as_str() {
        "completed" | "3" => Ok(Some(Outcome::Complete)),
        "rejected" | "-1" => Ok(Some(Outcome::Reject)),
        _ => Err(ApiError::invalid(
            "sandbox_result",
            "应为 completed 或 rejected",
            "must be completed or rejected",
        )),
    }
}

/// `POST /receipt/cancel`: only while pending.
pub async fn cancel(State(svc): State<Arc<Service>>, fields: Fields) -> ApiResult {
    let app = svc.authenticate(fields.require("key")?).await?;
    let order_no = fields.require("order_no")?;
    svc.platform
        .cancel(&app, order_no)
        .await
        .map_err(platform_err)?;
    Ok(Reply::with_msg("取消成功", "cancelled", json!({})))
}

/// `POST|GET /receipt/query`: the order's status, times, images, rejection reason and ETA.
pub async fn query(State(svc): State<Arc<Service>>, fields: Fields) -> ApiResult {
    let app = svc.authenticate(fields.require("key")?).await?;
    let order_no = fields.require("order_no")?;
    let detail = svc
        .platform
        .query(&app, order_no)
        .await
        .map_err(platform_err)?;
    Ok(Reply::ok(order_json(&svc, &detail)))
}

fn order_json(svc: &Service, d: &OrderDetail) -> Value {
    let o: &Order = &d.order;
    let now = svc.platform.now();
    let url = |k: &Option<String>| k.as_ref().map(|k| svc.urls.url(k, now));
    let completed = o.status == OrderStatus::Completed;
    let open = o.status.holds_balance();
    json!({
        "order_no": o.order_no,
        "status": o.status.code(),
        "status_msg": status_zh(o.status.code()),
        "status_name": o.status.name(),
        "item_id": o.item_id,
        "pic_id": o.pic_id,
        "price": fen_to_yuan(o.price_fen),
        "is_print": o.is_print,
        "submitted_at": time(o.submitted_at),
        "updated_at": time(o.updated_at),
        "reviewed_at": o.reviewed_at.map(time),
        "completed_at": o.completed_at.map(time),
        "eta": open.then(|| time(o.sla_due_at.max(now))),
        "reject_msg": o.reject_msg.as_ref().filter(|_| o.status == OrderStatus::Rejected),
        "receipt_no": o.receipt_no,
        "image_receipt": if completed { url(&o.receipt_key) } else { None },
        "image": if completed { url(&o.image_key) } else { None },
        "image_print": if completed { url(&o.print_key) } else { None },
        "list": d.pic.as_ref().filter(|_| o.purged_at.is_none()).map(|p| photo_urls(svc, p, now)),
        "purged": o.purged_at.is_some(),
    })
}
