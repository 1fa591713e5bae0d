//! The `image` field of `/receipt/make`: base64 (with or without a `data:` URI prefix, line
//! breaks, spaces, URL-safe alphabet) to bytes, then format and size checked from the header
//! alone, before anything is decoded.

use base64::engine::{general_purpose::GeneralPurpose, DecodePaddingMode, GeneralPurposeConfig};
use base64::Engine as _;
use engine::intake::{self, MAX_BYTES};
use std::borrow::Cow;

use crate::codes::{code, ApiError};

const CONFIG: GeneralPurposeConfig =
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
const STANDARD: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::STANDARD, CONFIG);
const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::URL_SAFE, CONFIG);

/// Decodes the base64 text of an upload. Refuses with `TOO_LARGE` before decoding when the
/// text cannot fit in 5 MB, and with `BAD_BASE64` when it is not base64.
pub fn decode_base64(text: &str) -> Result<Vec<u8>, ApiError> {
    let body = strip_data_uri(text.trim());
    let b = body.as_bytes();
    let dirty =
        memchr::memchr3(b' ', b'\r', b'\n', b).is_some() || memchr::memchr(b'\t', b).is_some();
    let cleaned: Cow<str> = if dirty {
        Cow::Owned(clean(body))
    } else {
        Cow::Borrowed(body)
    };
    if cleaned.is_empty() {
        return Err(ApiError::missing("image"));
    }
    // Every 4 characters hold 3 bytes; padding aside, this bounds the decoded size.
    let decoded_len = cleaned.len() / 4 * 3 + (cleaned.len() % 4).saturating_sub(1);
    if decoded_len > MAX_BYTES + 2 {
        return Err(ApiError::from(&engine::EngineError::TooLarge {
            bytes: decoded_len,
            limit: MAX_BYTES,
        }));
    }
    let url_safe = memchr::memchr2(b'-', b'_', cleaned.as_bytes()).is_some();
    let engine = if url_safe { &URL_SAFE } else { &STANDARD };
    engine.decode(cleaned.as_bytes()).map_err(|_| bad_base64())
}

fn bad_base64() -> ApiError {
    ApiError::new(
        code::BAD_BASE64,
        "image 不是合法的 base64 编码",
        "image is not valid base64",
    )
    .with_field("image")
}

/// `data:image/jpeg;base64,AAAA` → `AAAA`.
fn strip_data_uri(s: &str) -> &str {
    let is_data = s.get(..5).is_some_and(|p| p.eq_ignore_ascii_case("data:"));
    match (is_data, s.find(',')) {
        (true, Some(i)) => &s[i + 1..],
        _ => s,
    }
}

/// Removes line breaks, tabs and spaces. When the text has spaces but no `+`, the spaces are
/// taken for `+` that an unencoded form body turned into spaces (a common merchant mistake).
fn clean(s: &str) -> String {
    let plus_lost = s.contains(' ') && !s.contains('+');
    s.chars()
        .filter_map(|c| match c {
            ' ' if plus_lost => Some('+'),
            ' ' | '\r' | '\n' | '\t' => None,
            c => Some(c),
        })
        .collect()
}

/// Checks the decoded bytes from their header: JPEG or PNG, at most 5 MB, below 6000×6000.
pub fn check_image(bytes: &[u8]) -> Result<(), ApiError> {
    intake::inspect(bytes)
        .map(|_| ())
        .map_err(|e| ApiError::from(&e).with_field("image"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_data_uri_whitespace_and_lost_plus() {
        let raw: Vec<u8> = (0u8..=255).collect();
        let b64 = STANDARD.encode(&raw);
        assert!(b64.contains('+'));
        let wrapped: String = b64
            .as_bytes()
            .chunks(76)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect::<Vec<_>>()
            .join("\r\n");
        assert_eq!(decode_base64(&wrapped).unwrap(), raw);
        assert_eq!(
            decode_base64(&format!("data:image/png;base64,{b64}")).unwrap(),
            raw
        );
        assert_eq!(decode_base64(&b64.replace('+', " ")).unwrap(), raw);
        assert_eq!(decode_base64(&URL_SAFE.encode(&raw)).unwrap(), raw);
    }

    #[test]
    fn refuses_garbage_and_oversize() {
        assert_eq!(
            decode_base64("not base64!!").unwrap_err().code,
            code::BAD_BASE64
        );
        assert_eq!(decode_base64("  ").unwrap_err().code, code::MISSING_FIELD);
        let big = "A".repeat((MAX_BYTES + 16) / 3 * 4);
        assert_eq!(decode_base64(&big).unwrap_err().code, code::TOO_LARGE);
        assert_eq!(
            check_image(b"GIF89a....").unwrap_err().code,
            code::UNSUPPORTED_FORMAT
        );
    }
}
