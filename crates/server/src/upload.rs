//! The `image` field of `/receipt/make`: base64 (with or without a `data:` URI prefix, line
//! breaks, spaces, URL-safe alphabet) to bytes, then format and size checked from the header
//! alone, before anything is decoded.

use bytes::{Buf, Bytes, BytesMut};
use engine::intake::{self, MAX_BYTES};

use crate::codes::{code, ApiError};

/// Decodes the base64 text of an upload. Refuses with `TOO_LARGE` before decoding when the
/// text cannot fit in 5 MB, and with `BAD_BASE64` when it is not base64.
pub fn decode_base64(text: &str) -> Result<Vec<u8>, ApiError> {
    decode_base64_buf(BytesMut::from(text.as_bytes())).map(Vec::from)
}

/// [`decode_base64`] in the text's own buffer: no second copy of a 6 MB field is made,
/// and the bytes returned share it.
pub fn decode_base64_buf(mut buf: BytesMut) -> Result<Bytes, ApiError> {
    trim(&mut buf);
    strip_data_uri(&mut buf);
    unpad(&mut buf);
    // Plain standard base64, the common case, is recognised in one pass; anything else
    // (line breaks, spaces, the URL-safe alphabet) is cleaned first.
    let alphabet = if base64_simd::STANDARD_NO_PAD.check(&buf).is_ok() {
        base64_simd::STANDARD_NO_PAD
    } else {
        let b = &buf[..];
        let dirty =
            memchr::memchr3(b' ', b'\r', b'\n', b).is_some() || memchr::memchr(b'\t', b).is_some();
        if dirty {
            let n = clean(&mut buf);
            buf.truncate(n);
            unpad(&mut buf);
        }
        if memchr::memchr2(b'-', b'_', &buf).is_some() {
            base64_simd::URL_SAFE_NO_PAD
        } else {
            base64_simd::STANDARD_NO_PAD
        }
    };
    if buf.is_empty() {
        return Err(ApiError::missing("image"));
    }
    // Every 4 characters hold 3 bytes; this bounds the decoded size.
    let decoded_len = buf.len() / 4 * 3 + (buf.len() % 4).saturating_sub(1);
    if decoded_len > MAX_BYTES + 2 {
        return Err(ApiError::from(&engine::EngineError::TooLarge {
            bytes: decoded_len,
            limit: MAX_BYTES,
        }));
    }
    let n = alphabet
        .decode_inplace(&mut buf)
        .map_err(|_| bad_base64())?
        .len();
    buf.truncate(n);
    Ok(buf.freeze())
}

/// Padding is optional: up to two `=` are dropped and the rest decoded unpadded.
fn unpad(buf: &mut BytesMut) {
    for _ in 0..2 {
        if buf.last() == Some(&b'=') {
            buf.truncate(buf.len() - 1);
        }
    }
}

fn bad_base64() -> ApiError {
    ApiError::new(
        code::BAD_BASE64,
        "image 不是合法的 base64 编码",
        "image is not valid base64",
    )
    .with_field("image")
}

fn trim(buf: &mut BytesMut) {
    let end = buf
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    buf.truncate(end);
    let start = buf
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(end);
    buf.advance(start);
}

/// `data:image/jpeg;base64,AAAA` → `AAAA`.
fn strip_data_uri(buf: &mut BytesMut) {
    let is_data = buf
        .get(..5)
        .is_some_and(|p| p.eq_ignore_ascii_case(b"data:"));
    if let (true, Some(i)) = (is_data, memchr::memchr(b',', buf)) {
        buf.advance(i + 1);
    }
}

/// Removes line breaks, tabs and spaces, in place; the new length. When the text has spaces
/// but no `+`, the spaces are taken for `+` that an unencoded form body turned into spaces
/// (a common merchant mistake).
fn clean(buf: &mut [u8]) -> usize {
    let plus_lost = memchr::memchr(b' ', buf).is_some() && memchr::memchr(b'+', buf).is_none();
    let mut w = 0;
    for r in 0..buf.len() {
        let c = match buf[r] {
            b' ' if plus_lost => b'+',
            b' ' | b'\r' | b'\n' | b'\t' => continue,
            c => c,
        };
        buf[w] = c;
        w += 1;
    }
    w
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

    use base64::engine::general_purpose::{STANDARD, URL_SAFE};
    use base64::Engine as _;

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
    fn padding_is_optional_but_only_at_the_end() {
        for n in 0..40u8 {
            let raw: Vec<u8> = (0..n).map(|i| i.wrapping_mul(37)).collect();
            let padded = STANDARD.encode(&raw);
            let bare = padded.trim_end_matches('=');
            if n > 0 {
                assert_eq!(decode_base64(&padded).unwrap(), raw);
                assert_eq!(decode_base64(bare).unwrap(), raw);
            }
        }
        let two = format!("{}{}", STANDARD.encode(b"ab"), STANDARD.encode(b"cd"));
        assert!(two.contains("=Y"), "{two}");
        assert_eq!(decode_base64(&two).unwrap_err().code, code::BAD_BASE64);
    }

    #[test]
    fn decodes_in_the_given_buffer() {
        let raw: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let text = format!("  data:image/jpeg;base64,{}\r\n", STANDARD.encode(&raw));
        let buf = BytesMut::from(text.as_bytes());
        let start = buf.as_ptr() as usize;
        let out = decode_base64_buf(buf).unwrap();
        assert_eq!(out, raw);
        let at = out.as_ptr() as usize;
        assert!(at >= start && at < start + text.len(), "decoded in place");
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
