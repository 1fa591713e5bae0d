//! Receipts (回执): what a rendered receipt shows (masked personal data, document type,
//! collection point, dates), the print sheet with the receipt number, and the public check
//! behind `/r/{receipt_no}`.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use engine::receipt::{caption_sheet, render_receipt, ReceiptContent};
use engine::sheet::{render_sheet, Copies, Paper, SheetOptions, SHEET_DPI};
use engine::text::Font;
use engine::{intake, raster, EngineError};
use serde::Serialize;
use std::path::Path;

use crate::items::ReceiptTerms;
use crate::order::{china_time, Order, OrderStatus};

/// The collection point printed on receipts unless configured.
pub const DEFAULT_STUDIO: &str = "PhotoReceipt 证件照服务";

/// How receipts are rendered.
#[derive(Debug, Clone)]
pub struct ReceiptSettings {
    /// The collection point (studio name) printed on receipts.
    pub studio: String,
    /// Base of the verification URL in the QR code: `{public_url}/r/{receipt_no}`.
    pub public_url: String,
    /// The CJK font. Without it no receipt is rendered: the made photo stands in, and each
    /// approval logs an error.
    pub font: Option<Font>,
}

impl Default for ReceiptSettings {
    fn default() -> Self {
        Self {
            studio: DEFAULT_STUDIO.into(),
            public_url: "http://127.0.0.1:8080".into(),
            font: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("receipt font {path}: {reason}")]
pub struct FontError {
    pub path: String,
    pub reason: String,
}

impl ReceiptSettings {
    /// Loads the font file (e.g. `models/wqy-microhei.ttc`) once.
    pub fn with_font_file(mut self, path: &Path) -> Result<Self, FontError> {
        let err = |reason: String| FontError {
            path: path.display().to_string(),
            reason,
        };
        let bytes =
            std::fs::read(path).map_err(|e| err(format!("{e} (run scripts/fetch-fonts)")))?;
        self.font = Some(Font::from_bytes(bytes).map_err(|e| err(e.to_string()))?);
        Ok(self)
    }

    /// `{public_url}/r/{receipt_no}`, the number percent-encoded as one path segment.
    pub fn verify_url(&self, receipt_no: &str) -> String {
        let base = self.public_url.trim_end_matches('/');
        match url::Url::parse(&format!("{base}/r/")) {
            Ok(mut u) => {
                if let Ok(mut path) = u.path_segments_mut() {
                    path.pop().push(receipt_no);
                }
                u.to_string()
            }
            Err(_) => format!("{base}/r/{receipt_no}"),
        }
    }
}

/// `张三` → `张*`, `张三丰` → `张*丰`, `欧阳娜娜` → `欧**娜`; one character → `*`.
pub fn mask_name(name: &str) -> String {
    let chars: Vec<char> = name.trim().chars().collect();
    match chars.len() {
        0 => String::new(),
        1 => "*".into(),
        2 => format!("{}*", chars[0]),
        n => format!("{}{}{}", chars[0], "*".repeat(n - 2), chars[n - 1]),
    }
}

/// Every character but the last 4 becomes `*` (all of them when there are 4 or fewer).
pub fn mask_id(id: &str) -> String {
    let chars: Vec<char> = id.trim().chars().collect();
    let keep = if chars.len() > 4 { 4 } else { 0 };
    let hidden = chars.len() - keep;
    let tail: String = chars[hidden..].iter().collect();
    format!("{}{tail}", "*".repeat(hidden))
}

/// The China date of `t`.
pub fn china_date(t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&china_time()).date_naive()
}

/// The last day a receipt issued on `issued` is valid: `issued` + `validity_days`.
pub fn valid_until(issued: NaiveDate, validity_days: u32) -> NaiveDate {
    issued + TimeDelta::days(i64::from(validity_days))
}

/// `2026年02月14日`.
pub fn date_zh(d: NaiveDate) -> String {
    d.format("%Y年%m月%d日").to_string()
}

fn param<'a>(order: &'a Order, field: &str) -> Option<&'a str> {
    order.params.as_ref()?.get(field)?.as_str()
}

/// The holder's masked name from the order's params (`text_name`).
pub fn masked_name(order: &Order) -> Option<String> {
    param(order, "text_name")
        .map(mask_name)
        .filter(|s| !s.is_empty())
}

/// What the receipt card of `order` shows, issued at `at` with `photo`.
pub fn content(
    order: &Order,
    receipt_no: &str,
    terms: &ReceiptTerms,
    settings: &ReceiptSettings,
    photo: Vec<u8>,
    at: DateTime<Utc>,
) -> ReceiptContent {
    let issued = china_date(at);
    let id = param(order, "text_idcard").map(mask_id);
    ReceiptContent {
        receipt_no: receipt_no.to_string(),
        photo,
        name_masked: masked_name(order).unwrap_or_else(|| "—".into()),
        id_masked: id.filter(|s| !s.is_empty()).unwrap_or_else(|| "—".into()),
        document: terms.document.clone(),
        collection_point: settings.studio.clone(),
        issued: date_zh(issued),
        valid_until: date_zh(valid_until(issued, terms.validity_days)),
        verify_url: settings.verify_url(receipt_no),
    }
}

/// The receipt card as a JPEG.
pub fn render_card(content: &ReceiptContent, font: &Font) -> Result<Vec<u8>, EngineError> {
    render_receipt(content, font)
}

/// A 6-inch, 300-dpi sheet of as many copies of `photo` as fit, with cut marks and
/// `回执编号 {receipt_no}` in the bottom margin.
pub fn render_print_sheet(
    photo: &[u8],
    terms: &ReceiptTerms,
    receipt_no: &str,
    font: &Font,
) -> Result<Vec<u8>, EngineError> {
    let img = intake::decode(photo, None)?.image;
    let cell = if terms.dpi == SHEET_DPI {
        img
    } else {
        let px = |mm: f32| (mm / 25.4 * SHEET_DPI as f32).round().max(1.0) as u32;
        raster::resize_rgb(&img, px(terms.width_mm), px(terms.height_mm))?
    };
    let opts = SheetOptions::default();
    let mut sheet = render_sheet(Paper::SixInch, &[(&cell, Copies::Fill)], &opts)?;
    caption_sheet(&mut sheet, &format!("回执编号 {receipt_no}"), font)?;
    sheet.to_jpeg()
}

/// Whether a receipt holds, as `/r/{receipt_no}` tells anyone who scans it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ReceiptState {
    Valid,
    /// Past its valid-until date.
    Expired,
    /// The order carrying the number is not completed.
    Void,
}

/// The public facts of a receipt: no personal data beyond the masked name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReceiptCheck {
    pub receipt_no: String,
    pub state: ReceiptState,
    /// `None` once retention removed the order's personal data.
    pub name_masked: Option<String>,
    pub document: Option<String>,
    pub issued: Option<NaiveDate>,
    pub valid_until: Option<NaiveDate>,
}

/// The check of `order` (which carries the receipt number) on `today` (China date).
pub fn check(order: &Order, terms: Option<&ReceiptTerms>, today: NaiveDate) -> ReceiptCheck {
    let issued = order.completed_at.map(china_date);
    let until = issued
        .zip(terms)
        .map(|(d, t)| valid_until(d, t.validity_days));
    let state = match (order.status, until) {
        (OrderStatus::Completed, Some(u)) if today > u => ReceiptState::Expired,
        (OrderStatus::Completed, _) => ReceiptState::Valid,
        _ => ReceiptState::Void,
    };
    ReceiptCheck {
        receipt_no: order.receipt_no.clone().unwrap_or_default(),
        state,
        name_masked: masked_name(order),
        document: terms.map(|t| t.document.clone()),
        issued,
        valid_until: until,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_keep_their_first_and_last_characters() {
        assert_eq!(mask_name("张三"), "张*");
        assert_eq!(mask_name("张三丰"), "张*丰");
        assert_eq!(mask_name("欧阳娜娜"), "欧**娜");
        assert_eq!(mask_name("李"), "*");
        assert_eq!(mask_name(" "), "");
    }

    #[test]
    fn id_numbers_show_only_their_last_four() {
        assert_eq!(mask_id("11010519491231002X"), "**************002X");
        assert_eq!(mask_id("12345"), "*2345");
        assert_eq!(mask_id("1234"), "****");
    }

    #[test]
    fn verification_urls_encode_the_number_as_one_segment() {
        let s = ReceiptSettings {
            public_url: "https://api.example.com/".into(),
            ..Default::default()
        };
        assert_eq!(s.verify_url("R123"), "https://api.example.com/r/R123");
        assert_eq!(
            s.verify_url("A/B?#%"),
            "https://api.example.com/r/A%2FB%3F%23%25"
        );
        let sub = ReceiptSettings {
            public_url: "https://x.example/pr".into(),
            ..Default::default()
        };
        assert_eq!(sub.verify_url("R1"), "https://x.example/pr/r/R1");
    }

    #[test]
    fn validity_counts_days_after_issue() {
        let d = NaiveDate::from_ymd_opt(2026, 2, 14).unwrap();
        assert_eq!(
            valid_until(d, 180),
            NaiveDate::from_ymd_opt(2026, 8, 13).unwrap()
        );
        assert_eq!(date_zh(d), "2026年02月14日");
    }
}
