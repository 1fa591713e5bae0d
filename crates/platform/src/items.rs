//! What the platform needs to know about items (specs): their price and their param rules.
//! Implemented for the catalogue; [`FixedItems`] serves tests and simple setups.

use bytes::Bytes;
use catalogue::ParamError;
use serde_json::{Map, Value};
use std::collections::HashMap;

use crate::error::{PlatformError, Result};

/// Prices of a receipt item, in fen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ItemTerms {
    pub price_fen: i64,
    /// Extra for print-and-mail; `None` when the item does not offer it.
    pub print_price_fen: Option<i64>,
}

/// What a rendered receipt and print sheet need to know about an item.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceiptTerms {
    /// The document type, in Chinese (the spec's name).
    pub document: String,
    /// Days the receipt stays valid after issue.
    pub validity_days: u32,
    /// Whether a print sheet (`image_print`) is delivered.
    pub print_sheet: bool,
    /// The photo's print size and dpi, to put it 1:1 on a 300-dpi sheet.
    pub width_mm: f32,
    pub height_mm: f32,
    pub dpi: u32,
}

/// A file that came inside `param` (e.g. `image_idcard`); stored as a blob, not in the row.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamFile {
    pub field: String,
    pub bytes: Bytes,
    /// `jpg` or `png`.
    pub ext: &'static str,
}

/// A `param` that passed: normalized JSON (files removed) and the files.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CheckedParams {
    pub params: Value,
    pub files: Vec<ParamFile>,
}

/// The items an order can be for.
pub trait Items: Send + Sync {
    /// `None` when the item is unknown or takes no receipt orders now.
    fn terms(&self, item_id: i64) -> Option<ItemTerms>;
    /// The terms even while the item is switched off (an admin may switch it on).
    fn base_terms(&self, item_id: i64) -> Option<ItemTerms> {
        self.terms(item_id)
    }
    /// Validates `param` by the item's receipt rules.
    fn check_params(&self, item_id: i64, params: &Value) -> Result<CheckedParams, ParamError>;
    /// The receipt's document type and validity; `None`: receipts are not rendered.
    fn receipt_terms(&self, _item_id: i64) -> Option<ReceiptTerms> {
        None
    }
}

impl<T: Items + ?Sized> Items for &T {
    fn terms(&self, item_id: i64) -> Option<ItemTerms> {
        (**self).terms(item_id)
    }

    fn base_terms(&self, item_id: i64) -> Option<ItemTerms> {
        (**self).base_terms(item_id)
    }

    fn check_params(&self, item_id: i64, params: &Value) -> Result<CheckedParams, ParamError> {
        (**self).check_params(item_id, params)
    }

    fn receipt_terms(&self, item_id: i64) -> Option<ReceiptTerms> {
        (**self).receipt_terms(item_id)
    }
}

/// The catalogue's receipt specs: price, print price, `param` rules. Callers check
/// [`Items::terms`] first (unknown items have none).
impl Items for catalogue::Catalogue {
    fn terms(&self, item_id: i64) -> Option<ItemTerms> {
        let spec = self.get(u32::try_from(item_id).ok()?)?;
        let rule = spec.receipt.as_ref().filter(|r| r.enabled)?;
        Some(ItemTerms {
            price_fen: rule.price_fen.into(),
            print_price_fen: Some(rule.print_price_fen.into()),
        })
    }

    fn base_terms(&self, item_id: i64) -> Option<ItemTerms> {
        let spec = self.get(u32::try_from(item_id).ok()?)?;
        let rule = spec.receipt.as_ref()?;
        Some(ItemTerms {
            price_fen: rule.price_fen.into(),
            print_price_fen: Some(rule.print_price_fen.into()),
        })
    }

    fn check_params(&self, item_id: i64, params: &Value) -> Result<CheckedParams, ParamError> {
        let spec = u32::try_from(item_id)
            .ok()
            .and_then(|id| self.get(id))
            .ok_or(ParamError::NotObject)?;
        let valid = catalogue::validate_params(spec, params)?;
        let json = serde_json::to_value(&valid).map_err(|_| ParamError::NotObject)?;
        let files = valid
            .idcard_image
            .map(|img| ParamFile {
                field: "image_idcard".to_string(),
                bytes: Bytes::from(img.bytes),
                ext: match img.format {
                    catalogue::ImageFormat::Jpeg => "jpg",
                    catalogue::ImageFormat::Png => "png",
                },
            })
            .into_iter()
            .collect();
        Ok(CheckedParams {
            params: json,
            files,
        })
    }

    fn receipt_terms(&self, item_id: i64) -> Option<ReceiptTerms> {
        let spec = self.get(u32::try_from(item_id).ok()?)?;
        let rule = spec.receipt.as_ref()?;
        Some(ReceiptTerms {
            document: spec.name.clone(),
            validity_days: rule.validity_days,
            print_sheet: rule.print_sheet,
            width_mm: spec.width_mm,
            height_mm: spec.height_mm,
            dpi: spec.dpi,
        })
    }
}

/// A fixed price list that takes any JSON object as `param`.
#[derive(Debug, Clone, Default)]
pub struct FixedItems {
    terms: HashMap<i64, ItemTerms>,
    receipts: HashMap<i64, ReceiptTerms>,
}

impl FixedItems {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with(mut self, item_id: i64, terms: ItemTerms) -> Self {
        self.terms.insert(item_id, terms);
        self
    }

    /// Receipts of `item_id` are rendered with these terms.
    pub fn with_receipt(mut self, item_id: i64, terms: ReceiptTerms) -> Self {
        self.receipts.insert(item_id, terms);
        self
    }
}

impl Items for FixedItems {
    fn terms(&self, item_id: i64) -> Option<ItemTerms> {
        self.terms.get(&item_id).copied()
    }

    fn check_params(&self, _item_id: i64, params: &Value) -> Result<CheckedParams, ParamError> {
        match params {
            Value::Null => Ok(CheckedParams {
                params: Value::Object(Map::new()),
                files: vec![],
            }),
            Value::Object(_) => Ok(CheckedParams {
                params: params.clone(),
                files: vec![],
            }),
            _ => Err(ParamError::NotObject),
        }
    }

    fn receipt_terms(&self, item_id: i64) -> Option<ReceiptTerms> {
        self.receipts.get(&item_id).cloned()
    }
}

/// The fields of `print_param` (print-and-mail), all required.
pub const PRINT_FIELDS: [&str; 6] = ["name", "phone", "province", "city", "district", "address"];

/// Checks `print_param`: an object with the [`PRINT_FIELDS`] as non-empty strings
/// (at most 200 bytes), a phone of 5–20 digits (`+`, `-` and spaces allowed). Returns it trimmed.
pub fn check_print_param(v: Option<&Value>) -> Result<Value> {
    let bad = |field: &str, reason: &str| PlatformError::BadField {
        field: format!("print_param.{field}"),
        reason: reason.to_string(),
    };
    let obj = match v {
        Some(Value::Object(m)) => m,
        _ => {
            return Err(PlatformError::BadField {
                field: "print_param".into(),
                reason: "required as a JSON object when is_print is set".into(),
            })
        }
    };
    let mut out = Map::new();
    for field in PRINT_FIELDS {
        let s = match obj.get(field) {
            Some(Value::String(s)) if !s.trim().is_empty() => s.trim(),
            _ => return Err(bad(field, "required, a non-empty string")),
        };
        if s.len() > 200 {
            return Err(bad(field, "longer than 200 bytes"));
        }
        out.insert(field.to_string(), Value::String(s.to_string()));
    }
    let phone = out["phone"].as_str().unwrap_or_default();
    let digits = phone.bytes().filter(u8::is_ascii_digit).count();
    let allowed = phone
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b' '));
    if !allowed || !(5..=20).contains(&digits) {
        return Err(bad("phone", "must be 5–20 digits"));
    }
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn print() -> Value {
        json!({"name":"张三","phone":"13800138000","province":"广东","city":"深圳",
               "district":"南山","address":"科技园 1 号"})
    }

    #[test]
    fn print_param_needs_every_field() {
        assert!(check_print_param(Some(&print())).is_ok());
        let mut p = print();
        p["district"] = json!("  ");
        let err = check_print_param(Some(&p)).unwrap_err().to_string();
        assert!(err.contains("print_param.district"), "{err}");
        assert!(check_print_param(None).is_err());
        let mut p = print();
        p["phone"] = json!("call me");
        assert!(check_print_param(Some(&p)).is_err());
    }
}
