//! `/item/list`, `/item/get` (the catalogue), `/user/info` (the app).

use axum::extract::State;
use platform::ledger::fen_to_yuan;
use platform::OrderStatus;
use serde_json::{json, Map, Value};
use std::sync::Arc;

use crate::codes::{code, ApiError};
use crate::forms::Fields;
use crate::receipt::platform_err;
use crate::reply::{ApiResult, Reply};
use crate::state::Service;

/// The catalogue is public; a `key`, when sent, must be valid.
async fn optional_key(svc: &Service, fields: &Fields) -> Result<(), ApiError> {
    match fields.get("key") {
        Some(key) => svc.authenticate(key).await.map(|_| ()),
        None => Ok(()),
    }
}

/// `GET|POST /item/list`: every spec (`data` is an array), optionally only those taking
/// receipts (`is_receipt=1`) or of one country (`country=CN`).
pub async fn item_list(State(svc): State<Arc<Service>>, fields: Fields) -> ApiResult {
    optional_key(&svc, &fields).await?;
    let filter = catalogue::Filter {
        receipt_only: fields.flag("is_receipt")? || fields.flag("receipt_only")?,
        country: fields.get("country").map(str::to_string),
    };
    // The admins' overrides (receipts on or off, price) first, then the filter.
    let list: Vec<Value> = svc
        .catalogue
        .iter()
        .map(|s| svc.platform.effective_spec(s))
        .filter(|s| filter.matches(s))
        .map(|s| s.to_api_json())
        .collect();
    Ok(Reply::ok(Value::Array(list)))
}

/// `GET|POST /item/get`: one spec by `item_id` (or slug).
pub async fn item_get(State(svc): State<Arc<Service>>, fields: Fields) -> ApiResult {
    optional_key(&svc, &fields).await?;
    let item = fields.require("item_id")?;
    let spec = svc.catalogue.find(item).ok_or_else(|| {
        let shown: String = item.chars().take(40).collect();
        ApiError::new(
            code::ITEM_UNKNOWN,
            format!("规格 {shown} 不存在"),
            format!("unknown item_id {shown}"),
        )
        .with_field("item_id")
    })?;
    Ok(Reply::ok(svc.platform.effective_spec(spec).to_api_json()))
}

/// `GET|POST /user/info`: the app's name, balance (yuan, 2 decimals) and order counts.
pub async fn user_info(State(svc): State<Arc<Service>>, fields: Fields) -> ApiResult {
    let app = svc.authenticate(fields.require("key")?).await?;
    let info = svc.platform.user_info(&app).await.map_err(platform_err)?;
    let mut counts = Map::new();
    for s in OrderStatus::ALL {
        counts.insert(s.name().to_string(), json!(info.orders.get(s)));
    }
    counts.insert("total".into(), json!(info.orders.total()));
    Ok(Reply::ok(json!({
        "app_id": info.app_id,
        "name": info.name,
        "balance": fen_to_yuan(info.balance_fen),
        "balance_fen": info.balance_fen,
        "available_balance": fen_to_yuan(info.available_fen),
        "available_fen": info.available_fen,
        "sandbox": info.sandbox,
        "orders": counts,
    })))
}
