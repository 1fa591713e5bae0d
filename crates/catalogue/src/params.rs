//! Validating a receipt order's `param` JSON against a spec's rules.

use crate::resident_id::{ResidentId, ResidentIdError};
use crate::spec::{ParamKind, Spec};
use base64::engine::{general_purpose::GeneralPurpose, DecodePaddingMode, GeneralPurposeConfig};
use base64::Engine as _;
use chrono::NaiveDate;
use serde::Serialize;
use serde_json::{Map, Value};

/// Largest text param, in bytes (before trimming).
pub const MAX_TEXT_BYTES: usize = 256;
/// Largest decoded `image_idcard`: 5 MB.
pub const MAX_IMAGE_BYTES: usize = 5 * 1024 * 1024;
/// Largest `param` JSON text accepted by [`validate_params_str`].
pub const MAX_PARAM_JSON_BYTES: usize = 8 * 1024 * 1024;

const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Why a `param` was refused. Codes are stable, in 4301–4399.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamError {
    #[error("param must be a JSON object")]
    NotObject,
    #[error("param is not valid JSON")]
    InvalidJson,
    #[error("param field `{field}` is too large")]
    TooLarge { field: String },
    #[error("unknown param field `{field}`")]
    UnknownField { field: String },
    #[error("missing required param field `{field}`")]
    Missing { field: String },
    #[error("param field `{field}` must be a string")]
    NotString { field: String },
    #[error("`{field}` is not a mainland mobile number (11 digits, starting 13–19)")]
    Mobile { field: String },
    #[error("`{field}` is not a valid resident ID number: {reason}")]
    ResidentId {
        field: String,
        reason: ResidentIdError,
    },
    #[error("`{field}` must be 2–30 Chinese characters (· allowed between parts)")]
    Name { field: String },
    #[error("`{field}` must be a city name of 2–20 Chinese characters")]
    City { field: String },
    #[error("`{field}` is not valid base64")]
    ImageBase64 { field: String },
    #[error("`{field}` must be a JPEG or PNG picture")]
    ImageFormat { field: String },
    #[error("`{field}` is larger than 5 MB")]
    ImageTooLarge { field: String },
}

impl ParamError {
    /// Stable numeric code, 4301–4399.
    pub fn code(&self) -> u32 {
        match self {
            ParamError::NotObject => 4301,
            ParamError::InvalidJson => 4302,
            ParamError::TooLarge { .. } => 4303,
            ParamError::UnknownField { .. } => 4304,
            ParamError::Missing { .. } => 4305,
            ParamError::NotString { .. } => 4306,
            ParamError::Mobile { .. } => 4310,
            ParamError::ResidentId { reason, .. } => match reason {
                ResidentIdError::Format => 4320,
                ResidentIdError::Region => 4321,
                ResidentIdError::BirthDate => 4322,
                ResidentIdError::CheckDigit => 4323,
            },
            ParamError::Name { .. } => 4330,
            ParamError::City { .. } => 4340,
            ParamError::ImageBase64 { .. } => 4350,
            ParamError::ImageFormat { .. } => 4351,
            ParamError::ImageTooLarge { .. } => 4352,
        }
    }

    /// The offending field, if one.
    pub fn field(&self) -> Option<&str> {
        match self {
            ParamError::NotObject | ParamError::InvalidJson => None,
            ParamError::TooLarge { field }
            | ParamError::UnknownField { field }
            | ParamError::Missing { field }
            | ParamError::NotString { field }
            | ParamError::Mobile { field }
            | ParamError::ResidentId { field, .. }
            | ParamError::Name { field }
            | ParamError::City { field }
            | ParamError::ImageBase64 { field }
            | ParamError::ImageFormat { field }
            | ParamError::ImageTooLarge { field } => Some(field),
        }
    }

    /// The message in Chinese, for the merchant's user.
    pub fn msg(&self) -> String {
        let f = self.field().unwrap_or("");
        match self {
            ParamError::NotObject => "param 必须是 JSON 对象".into(),
            ParamError::InvalidJson => "param 不是合法的 JSON".into(),
            ParamError::TooLarge { .. } => format!("参数 {f} 过长"),
            ParamError::UnknownField { .. } => format!("不支持的参数 {f}"),
            ParamError::Missing { .. } => format!("缺少必填参数 {f}"),
            ParamError::NotString { .. } => format!("参数 {f} 必须是字符串"),
            ParamError::Mobile { .. } => format!("{f}: 手机号码格式不正确"),
            ParamError::ResidentId { reason, .. } => match reason {
                ResidentIdError::Format => format!("{f}: 身份证号码应为18位"),
                ResidentIdError::Region => format!("{f}: 身份证号码地区码不正确"),
                ResidentIdError::BirthDate => format!("{f}: 身份证号码出生日期不正确"),
                ResidentIdError::CheckDigit => format!("{f}: 身份证号码校验位不正确"),
            },
            ParamError::Name { .. } => format!("{f}: 姓名应为2–30个汉字"),
            ParamError::City { .. } => format!("{f}: 城市名称应为2–20个汉字"),
            ParamError::ImageBase64 { .. } => format!("{f}: 图片不是合法的 base64"),
            ParamError::ImageFormat { .. } => format!("{f}: 图片必须是 JPEG 或 PNG"),
            ParamError::ImageTooLarge { .. } => format!("{f}: 图片不能超过 5 MB"),
        }
    }

    /// The message in English.
    pub fn msg_en(&self) -> String {
        self.to_string()
    }
}

/// JPEG or PNG, by magic bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageFormat {
    Jpeg,
    Png,
}

impl ImageFormat {
    pub fn sniff(bytes: &[u8]) -> Option<ImageFormat> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(ImageFormat::Jpeg)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(ImageFormat::Png)
        } else {
            None
        }
    }
}

/// A decoded `image_idcard`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdcardImage {
    pub format: ImageFormat,
    pub bytes: Vec<u8>,
}

/// A `param` that passed; text fields normalized. Serializes to the seed's
/// field names, without the image.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ValidatedParams {
    #[serde(rename = "text_mobile", skip_serializing_if = "Option::is_none")]
    pub mobile: Option<String>,
    #[serde(rename = "text_city", skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(rename = "text_name", skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(rename = "text_idcard", skip_serializing_if = "Option::is_none")]
    pub id_number: Option<ResidentId>,
    #[serde(skip)]
    pub idcard_image: Option<IdcardImage>,
}

/// Today's date in China (UTC+8, no daylight saving).
fn today_in_china() -> NaiveDate {
    let now = chrono::Utc::now().naive_utc();
    (now + chrono::Duration::hours(8)).date()
}

/// Parses the seed's `param` string (may be empty) and validates it.
pub fn validate_params_str(spec: &Spec, raw: &str) -> Result<ValidatedParams, ParamError> {
    if raw.len() > MAX_PARAM_JSON_BYTES {
        return Err(ParamError::TooLarge {
            field: "param".into(),
        });
    }
    if raw.trim().is_empty() {
        return validate_params(spec, &Value::Null);
    }
    let value: Value = serde_json::from_str(raw).map_err(|_| ParamError::InvalidJson)?;
    validate_params(spec, &value)
}

/// Validates `param` against the spec's receipt rules, with today's date in China.
pub fn validate_params(spec: &Spec, params: &Value) -> Result<ValidatedParams, ParamError> {
    validate_params_at(spec, params, today_in_china())
}

/// [`validate_params`] with an explicit date (birth dates may not be after it).
/// `null` counts as `{}`; a null or empty-string value counts as absent.
pub fn validate_params_at(
    spec: &Spec,
    params: &Value,
    today: NaiveDate,
) -> Result<ValidatedParams, ParamError> {
    let empty = Map::new();
    let obj = match params {
        Value::Null => &empty,
        Value::Object(m) => m,
        _ => return Err(ParamError::NotObject),
    };
    let rules = spec
        .receipt
        .as_ref()
        .map(|r| r.params.as_slice())
        .unwrap_or(&[]);
    if let Some(field) = obj.keys().find(|k| !rules.iter().any(|r| &r.field == *k)) {
        return Err(ParamError::UnknownField {
            field: field.clone(),
        });
    }
    let mut out = ValidatedParams::default();
    for rule in rules {
        let field = rule.field.as_str();
        let text = match obj.get(field) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.trim().is_empty() => None,
            Some(Value::String(s)) => Some(s.as_str()),
            Some(_) => {
                return Err(ParamError::NotString {
                    field: field.into(),
                })
            }
        };
        let Some(text) = text else {
            if rule.required {
                return Err(ParamError::Missing {
                    field: field.into(),
                });
            }
            continue;
        };
        check_one(&mut out, rule.kind, field, text, today)?;
    }
    Ok(out)
}

fn check_one(
    out: &mut ValidatedParams,
    kind: ParamKind,
    field: &str,
    text: &str,
    today: NaiveDate,
) -> Result<(), ParamError> {
    if kind != ParamKind::IdcardImage && text.len() > MAX_TEXT_BYTES {
        return Err(ParamError::TooLarge {
            field: field.into(),
        });
    }
    match kind {
        ParamKind::Mobile => out.mobile = Some(mobile(text).ok_or_else(|| field_err(field, kind))?),
        ParamKind::Name => out.name = Some(name(text).ok_or_else(|| field_err(field, kind))?),
        ParamKind::City => out.city = Some(city(text).ok_or_else(|| field_err(field, kind))?),
        ParamKind::ResidentId => {
            let id = ResidentId::parse(text, today).map_err(|reason| ParamError::ResidentId {
                field: field.into(),
                reason,
            })?;
            out.id_number = Some(id);
        }
        ParamKind::IdcardImage => out.idcard_image = Some(idcard_image(field, text)?),
    }
    Ok(())
}

fn field_err(field: &str, kind: ParamKind) -> ParamError {
    let field = field.to_string();
    match kind {
        ParamKind::Mobile => ParamError::Mobile { field },
        ParamKind::Name => ParamError::Name { field },
        ParamKind::City => ParamError::City { field },
        ParamKind::ResidentId => ParamError::ResidentId {
            field,
            reason: ResidentIdError::Format,
        },
        ParamKind::IdcardImage => ParamError::ImageFormat { field },
    }
}

/// `1[3-9]` + 9 digits; a leading `+86` is dropped.
fn mobile(s: &str) -> Option<String> {
    let s = s.trim();
    let s = s.strip_prefix("+86").unwrap_or(s).trim_start();
    let b = s.as_bytes();
    let ok = b.len() == 11
        && b.iter().all(u8::is_ascii_digit)
        && b[0] == b'1'
        && (b'3'..=b'9').contains(&b[1]);
    ok.then(|| s.to_string())
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3007 | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF
        | 0x20000..=0x2EBEF | 0x30000..=0x3134F)
}

/// Middle-dot look-alikes people type in minority names.
fn is_dot(c: char) -> bool {
    matches!(c, '·' | '•' | '・' | '‧' | '∙' | '⋅' | '.' | '．')
}

/// 2–30 CJK characters; `·` (or a look-alike, normalized) between parts.
fn name(s: &str) -> Option<String> {
    let norm: String = s
        .trim()
        .chars()
        .map(|c| if is_dot(c) { '·' } else { c })
        .collect();
    let chars: Vec<char> = norm.chars().collect();
    let count_ok = (2..=30).contains(&chars.len());
    let chars_ok = chars.iter().all(|&c| is_cjk(c) || c == '·');
    let dots_ok = chars.first() != Some(&'·')
        && chars.last() != Some(&'·')
        && !chars.windows(2).any(|w| w[0] == '·' && w[1] == '·');
    (count_ok && chars_ok && dots_ok).then_some(norm)
}

/// 2–20 CJK characters (`深圳`, `深圳市`).
fn city(s: &str) -> Option<String> {
    let s = s.trim();
    let n = s.chars().count();
    ((2..=20).contains(&n) && s.chars().all(is_cjk)).then(|| s.to_string())
}

/// Base64 (optionally a `data:` URI, with line breaks) of a JPEG or PNG up to 5 MB.
fn idcard_image(field: &str, text: &str) -> Result<IdcardImage, ParamError> {
    let f = || field.to_string();
    let body = text.trim();
    let body = match body.strip_prefix("data:") {
        Some(rest) => rest.split_once(',').map(|(_, b)| b).unwrap_or(""),
        None => body,
    };
    // Form encoding turns an unescaped `+` into a space; put it back.
    let cleaned: String = body
        .chars()
        .filter(|c| !matches!(c, '\r' | '\n' | '\t'))
        .map(|c| if c == ' ' { '+' } else { c })
        .collect();
    if cleaned.len() / 4 * 3 > MAX_IMAGE_BYTES + 3 {
        return Err(ParamError::ImageTooLarge { field: f() });
    }
    let bytes = BASE64
        .decode(cleaned.as_bytes())
        .map_err(|_| ParamError::ImageBase64 { field: f() })?;
    if bytes.len() > MAX_IMAGE_BYTES {
        return Err(ParamError::ImageTooLarge { field: f() });
    }
    let format =
        ImageFormat::sniff(&bytes).ok_or_else(|| ParamError::ImageFormat { field: f() })?;
    Ok(IdcardImage { format, bytes })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mobiles() {
        assert_eq!(mobile("13800138000").as_deref(), Some("13800138000"));
        assert_eq!(mobile(" +86 19912345678 ").as_deref(), Some("19912345678"));
        for bad in [
            "12800138000",
            "1380013800",
            "138001380001",
            "1380013800a",
            "23800138000",
        ] {
            assert_eq!(mobile(bad), None, "{bad}");
        }
    }

    #[test]
    fn names() {
        assert_eq!(name("张三").as_deref(), Some("张三"));
        assert_eq!(name("阿依古丽•买买提").as_deref(), Some("阿依古丽·买买提"));
        for bad in [
            "张",
            "Zhang San",
            "张 三",
            "·张三",
            "张三·",
            "张··三",
            "张3",
        ] {
            assert_eq!(name(bad), None, "{bad}");
        }
        assert!(name(&"张".repeat(30)).is_some());
        assert!(name(&"张".repeat(31)).is_none());
    }

    #[test]
    fn cities() {
        assert!(city("深圳").is_some());
        assert!(city("深圳市").is_some());
        assert!(city("乌鲁木齐市").is_some());
        for bad in ["深", "Shenzhen", "深圳1", "深 圳"] {
            assert!(city(bad).is_none(), "{bad}");
        }
    }
}
