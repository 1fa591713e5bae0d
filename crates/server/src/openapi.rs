//! `GET /openapi.json`: the merchant API as an OpenAPI 3.1 document (docs/api.md is the prose).

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};
use std::sync::Arc;

use crate::state::Service;

/// A form field: (name, required, JSON type, description).
type Field = (&'static str, bool, &'static str, &'static str);

const KEY: Field = ("key", true, "string", "the application's key");

fn body(fields: &[Field]) -> Value {
    let props: serde_json::Map<String, Value> = fields
        .iter()
        .map(|(n, _, t, d)| (n.to_string(), json!({"type": t, "description": d})))
        .collect();
    let required: Vec<&str> = fields.iter().filter(|f| f.1).map(|f| f.0).collect();
    let schema = json!({"type": "object", "properties": props, "required": required});
    json!({"required": true, "content": {
        "application/x-www-form-urlencoded": {"schema": schema},
        "multipart/form-data": {"schema": schema},
        "application/json": {"schema": schema},
    }})
}

fn params(fields: &[Field]) -> Value {
    fields
        .iter()
        .map(|(n, r, t, d)| json!({"name": n, "in": "query", "required": r, "schema": {"type": t}, "description": d}))
        .collect()
}

fn answer(data: Value) -> Value {
    json!({"200": {"description": "`code` 0 on success, an error code otherwise (see docs/api.md)",
        "content": {"application/json": {"schema": {"type": "object", "required": ["code", "msg", "data"], "properties": {
            "code": {"type": "integer"}, "msg": {"type": "string"}, "msg_en": {"type": "string"}, "data": data}}}}},
        "408": {"description": "request body too slow (code 7004)"},
        "413": {"description": "request body too large (code 7003)"},
        "429": {"description": "rate limited (code 7001), with Retry-After"},
        "500": {"description": "internal error (code 9000)"},
        "503": {"description": "out of storage (code 9002)"}})
}

fn write_op(summary: &str, fields: &[Field], data: Value) -> Value {
    json!({"post": {"summary": summary, "requestBody": body(fields), "responses": answer(data)}})
}

fn read_op(summary: &str, fields: &[Field], data: Value) -> Value {
    let post =
        json!({"summary": summary, "requestBody": body(fields), "responses": answer(data.clone())});
    json!({"get": {"summary": summary, "parameters": params(fields), "responses": answer(data)}, "post": post})
}

/// The document, with `server` as its base URL.
pub fn document(server: &str) -> Value {
    let obj = json!({"type": "object"});
    let string = json!({"type": "string"});
    let make_data = json!({"type": "object", "properties": {
        "pic_id": string, "list": {"type": "object", "additionalProperties": {"type": "string", "format": "uri"},
            "description": "one made photo URL per background colour of the spec"},
        "png": string, "print": string, "checks": obj, "expires_at": string, "item_id": {"type": "integer"}}});
    let submit_data = json!({"type": "object", "properties": {"order_no": string, "status": {"type": "integer"}, "price": string, "eta": {"type": "string", "format": "date-time"}}});
    let submit_fields: &[Field] = &[
        KEY,
        (
            "pic_id",
            true,
            "string",
            "pic_id from /receipt/make, valid 50 minutes",
        ),
        (
            "notice_url",
            true,
            "string",
            "http(s) URL that receives the callbacks",
        ),
        (
            "param",
            false,
            "string",
            "JSON object of the spec's receipt params (see item/get receipt_param)",
        ),
        (
            "order_no",
            false,
            "string",
            "resubmit this rejected order (status -1) with the new pic_id; param fields left out are kept from it (same spec)",
        ),
        (
            "is_print",
            false,
            "integer",
            "1 for print-and-mail (charged extra)",
        ),
        (
            "print_param",
            false,
            "string",
            "JSON: name, phone, province, city, district, address",
        ),
        (
            "sandbox_result",
            false,
            "string",
            "sandbox apps only: completed or rejected",
        ),
    ];
    json!({
        "openapi": "3.1.0",
        "info": {"title": "PhotoReceipt merchant API", "version": env!("CARGO_PKG_VERSION"),
            "description": "ID photo receipts (证件照回执). Answers are {code, msg, msg_en, data}; code 0 is success. See docs/api.md."},
        "servers": [{"url": server}],
        "paths": {
            "/receipt/make": write_op("Make the ID photo (free)", &[KEY,
                ("item_id", true, "integer", "spec id from /item/list"),
                ("image", true, "string", "JPEG or PNG, base64 (data: URI prefix and line breaks allowed), at most 5 MB, below 6000×6000")],
                make_data),
            "/receipt/submit": write_op("Submit a receipt order, or resubmit a rejected one with order_no", submit_fields, submit_data),
            "/receipt/cancel": write_op("Cancel a pending order", &[KEY, ("order_no", true, "string", "the order")], obj.clone()),
            "/receipt/query": read_op("Query an order", &[KEY, ("order_no", true, "string", "the order")], obj.clone()),
            "/item/list": read_op("The spec catalogue", &[("key", false, "string", "optional"),
                ("is_receipt", false, "integer", "1: only specs taking receipt orders"),
                ("country", false, "string", "ISO country code")], json!({"type": "array", "items": obj})),
            "/item/get": read_op("One spec", &[("key", false, "string", "optional"), ("item_id", true, "integer", "spec id")], obj.clone()),
            "/user/info": read_op("The application: name, balance (yuan), order counts", &[KEY], obj.clone()),
            "/healthz": {"get": {"summary": "Liveness: the process serves", "responses": answer(obj.clone())}},
            "/readyz": {"get": {"summary": "Readiness: the database and the file store answer (503, code 9003, when not)", "responses": answer(obj.clone())}},
            "/metrics": {"get": {"summary": "Prometheus metrics (OpenMetrics text)", "responses": {"200": {"description": "metrics text"}}}},
            "/files/{key}": {"get": {"summary": "A signed, expiring file URL as handed out in answers",
                "parameters": [{"name": "key", "in": "path", "required": true, "schema": string},
                    {"name": "expires", "in": "query", "required": true, "schema": {"type": "integer"}},
                    {"name": "sign", "in": "query", "required": true, "schema": string}],
                "responses": {"200": {"description": "the file"}, "404": {"description": "missing, bad or expired signature"}}}},
        },
    })
}

pub async fn serve(State(svc): State<Arc<Service>>) -> Json<Value> {
    Json(document(&svc.config.public_url))
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_endpoint_is_documented() {
        let doc = super::document("http://x");
        for path in [
            "/receipt/make",
            "/receipt/submit",
            "/receipt/cancel",
            "/receipt/query",
            "/item/list",
            "/item/get",
            "/user/info",
        ] {
            assert!(doc["paths"][path].is_object(), "{path}");
        }
        assert_eq!(
            doc["paths"]["/receipt/make"]["post"]["requestBody"]["content"]
                ["application/x-www-form-urlencoded"]["schema"]["required"][2],
            "image"
        );
    }
}
