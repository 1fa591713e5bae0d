//! Verify a PhotoReceipt callback in Rust.
//!
//! Cargo.toml: `hmac = "0.12"`, `sha2 = "0.10"`, `md-5 = "0.10"`, `base64 = "0.22"`.
//! `Mac::verify_slice` compares in constant time. (Inside this repository the same check is
//! `platform::callback::verify`, and `platform::callback::verify_sign` for `sign`.)
//!
//! Two checks, both must pass:
//!  1. the Standard Webhooks headers: `webhook-signature` over
//!     `{webhook-id}.{webhook-timestamp}.{raw body}` with your app's `whsec_` secret, and a
//!     timestamp within 5 minutes;
//!  2. the seed's `sign` field: md5 of your app key.
//!
//! Then de-duplicate by `webhook-id` and answer `{"data": {}, "code": 0, "msg": "同步完成"}`.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use md5::{Digest as _, Md5};
use sha2::Sha256;

pub const TOLERANCE_SECONDS: i64 = 5 * 60;

/// True if one of the space-separated `v1,` signatures matches the raw `body`.
pub fn verify_webhook(
    secret: &str,
    msg_id: &str,
    timestamp: &str,
    signature: &str,
    body: &[u8],
    now_unix: i64,
) -> bool {
    let Ok(key) = STANDARD.decode(secret.strip_prefix("whsec_").unwrap_or(secret)) else {
        return false;
    };
    let Ok(ts) = timestamp.parse::<i64>() else {
        return false;
    };
    if (now_unix - ts).abs() > TOLERANCE_SECONDS {
        return false;
    }
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&key) else {
        return false;
    };
    mac.update(format!("{msg_id}.{timestamp}.").as_bytes());
    mac.update(body);
    signature
        .split(' ')
        .filter_map(|part| part.strip_prefix("v1,"))
        .filter_map(|sig| STANDARD.decode(sig).ok())
        .any(|given| mac.clone().verify_slice(&given).is_ok())
}

/// The seed's check: `sign` is md5 of the app key, lower-case hex.
pub fn verify_sign(app_key: &str, sign: &str) -> bool {
    let expected = format!("{:x}", Md5::digest(app_key.as_bytes()));
    let given = sign.to_ascii_lowercase();
    expected.len() == given.len()
        && expected
            .bytes()
            .zip(given.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}
