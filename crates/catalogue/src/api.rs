//! The JSON shape of a spec, as `/item/list`, `/item/get` and `specs --json` show it.

use crate::spec::{Band, ParamRule, Spec};
use serde::Serialize;

/// One background colour: `{"name": "white", "rgb": "#FFFFFF"}`.
#[derive(Debug, Clone, Serialize)]
pub struct ApiColor {
    pub name: String,
    pub rgb: String,
}

/// A spec as the merchant API shows it. Field names are part of the API.
#[derive(Debug, Clone, Serialize)]
pub struct ApiSpec<'a> {
    pub item_id: u32,
    pub name: &'a str,
    pub name_en: &'a str,
    pub slug: &'a str,
    pub country: &'a str,
    pub category: &'static str,
    pub width_px: u32,
    pub height_px: u32,
    pub width_mm: f32,
    pub height_mm: f32,
    pub dpi: u32,
    pub colors: Vec<ApiColor>,
    /// The KB band the made photo lands in (the standard's, or the default).
    pub file_size_min: u32,
    pub file_size_max: u32,
    pub format: &'a str,
    pub is_receipt: bool,
    /// Names of the `param` fields a receipt order takes.
    pub receipt_param: Vec<&'a str>,
    /// The same fields with whether they are required and their validator.
    pub receipt_params: &'a [ParamRule],
    /// Price in yuan (`7.0`), null when the spec takes no receipts.
    pub price: Option<f64>,
    pub price_fen: Option<u32>,
    pub print_price: Option<f64>,
    pub print_price_fen: Option<u32>,
    pub validity_days: Option<u32>,
    pub print_sheet: bool,
    pub source: &'a str,
    pub head_height_px: Band,
    pub crown_gap_px: Band,
    pub eye_line_px: Band,
    pub face_width_px: Option<Band>,
}

fn yuan(fen: u32) -> f64 {
    fen as f64 / 100.0
}

impl Spec {
    /// The API view of this spec.
    pub fn api(&self) -> ApiSpec<'_> {
        let receipt = self.receipt.as_ref().filter(|r| r.enabled);
        let params: &[ParamRule] = receipt.map(|r| r.params.as_slice()).unwrap_or(&[]);
        let kb = self.kb_target();
        ApiSpec {
            item_id: self.item_id,
            name: &self.name,
            name_en: &self.name_en,
            slug: &self.slug,
            country: &self.country,
            category: self.category.as_str(),
            width_px: self.width_px,
            height_px: self.height_px,
            width_mm: self.width_mm,
            height_mm: self.height_mm,
            dpi: self.dpi,
            colors: self
                .colors
                .iter()
                .map(|c| ApiColor {
                    name: c.name.clone(),
                    rgb: c.hex(),
                })
                .collect(),
            file_size_min: kb.min as u32,
            file_size_max: kb.max as u32,
            format: &self.format,
            is_receipt: receipt.is_some(),
            receipt_param: params.iter().map(|p| p.field.as_str()).collect(),
            receipt_params: params,
            price: receipt.map(|r| yuan(r.price_fen)),
            price_fen: receipt.map(|r| r.price_fen),
            print_price: receipt.map(|r| yuan(r.print_price_fen)),
            print_price_fen: receipt.map(|r| r.print_price_fen),
            validity_days: receipt.map(|r| r.validity_days),
            print_sheet: receipt.is_some_and(|r| r.print_sheet),
            source: &self.source,
            head_height_px: self.head_height,
            crown_gap_px: self.crown_gap,
            eye_line_px: self.eye_line,
            face_width_px: self.face_width,
        }
    }

    /// [`Spec::api`] as a JSON value.
    pub fn to_api_json(&self) -> serde_json::Value {
        // A struct of plain fields always serializes.
        serde_json::to_value(self.api()).unwrap_or(serde_json::Value::Null)
    }
}
