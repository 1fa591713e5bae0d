//! Standard Webhooks signatures, and the checks a merchant runs on a callback.
//!
//! `webhook-signature` is `v1,` + base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")), where
//! the key is the base64-decoded part of the `whsec_` secret. While a rotated secret is still
//! in its overlap, two signatures go out, separated by a space; a receiver accepts the
//! callback when any one of them matches a secret it holds.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use md5::{Digest as _, Md5};
use sha2::Sha256;

use crate::app::App;

/// Receivers refuse timestamps further than this from their clock (seconds).
pub const TOLERANCE_SECS: i64 = 5 * 60;
/// The secret's prefix.
pub const SECRET_PREFIX: &str = "whsec_";

/// Why a callback did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the secret is not `whsec_` + base64")]
    BadSecret,
    #[error("webhook-timestamp is not a Unix time in seconds")]
    BadTimestamp,
    #[error("webhook-timestamp is more than 5 minutes from now")]
    StaleTimestamp,
    #[error("no v1 signature in webhook-signature matches")]
    NoMatch,
    #[error("sign is not md5 of the app key")]
    BadSign,
}

/// The HMAC key inside a `whsec_` secret.
pub fn secret_key(secret: &str) -> Result<Vec<u8>, VerifyError> {
    let b64 = secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret);
    match B64.decode(b64) {
        Ok(key) if !key.is_empty() => Ok(key),
        _ => Err(VerifyError::BadSecret),
    }
}

fn mac(key: &[u8], id: &str, timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes a key of any length.
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!("any length"));
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// One signature: `v1,<base64>`.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Result<String, VerifyError> {
    let key = secret_key(secret)?;
    let tag = mac(&key, id, &timestamp.to_string(), body).finalize();
    Ok(format!("v1,{}", B64.encode(tag.into_bytes())))
}

/// The `webhook-signature` header: one signature per secret, separated by spaces.
pub fn signature_header(
    secrets: &[&str],
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<String, VerifyError> {
    let sigs = secrets
        .iter()
        .map(|s| sign(s, id, timestamp, body))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(sigs.join(" "))
}

/// The secrets that sign an app's callbacks at `now`: the current one, and the previous one
/// while its rotation overlap lasts.
pub fn signing_secrets(app: &App, now: DateTime<Utc>) -> Vec<&str> {
    let mut secrets = vec![app.webhook_secret.as_str()];
    if let (Some(prev), Some(until)) = (&app.prev_webhook_secret, app.prev_webhook_secret_until) {
        if until > now {
            secrets.push(prev.as_str());
        }
    }
    secrets
}

/// What a merchant checks on a callback: the three headers against the raw body, with the
/// app's `whsec_` secret. `now` is the receiver's clock. The comparison is constant-time.
pub fn verify(
    secret: &str,
    id: &str,
    timestamp: &str,
    signature: &str,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<(), VerifyError> {
    let key = secret_key(secret)?;
    let ts: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| VerifyError::BadTimestamp)?;
    if (now.timestamp() - ts).abs() > TOLERANCE_SECS {
        return Err(VerifyError::StaleTimestamp);
    }
    let expected = mac(&key, id, timestamp.trim(), body);
    let matched = signature
        .split_whitespace()
        .filter_map(|s| s.strip_prefix("v1,"))
        .filter_map(|b64| B64.decode(b64).ok())
        .any(|given| expected.clone().verify_slice(&given).is_ok());
    if matched {
        Ok(())
    } else {
        Err(VerifyError::NoMatch)
    }
}

/// The seed's check: `sign` is md5 of the app key (lower-case hex), compared in constant time.
pub fn verify_sign(app_key: &str, sign: &str) -> Result<(), VerifyError> {
    let want = hex::encode(Md5::digest(app_key.as_bytes()));
    let given = sign.trim().to_ascii_lowercase();
    let same = want.len() == given.len()
        && want
            .bytes()
            .zip(given.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if same {
        Ok(())
    } else {
        Err(VerifyError::BadSign)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The Standard Webhooks specification's example.
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TS: i64 = 1614265330;
    const BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SIG: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    fn at(ts: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(ts, 0).expect("time")
    }

    #[test]
    fn signs_like_the_standard_webhooks_example() {
        assert_eq!(sign(SECRET, ID, TS, BODY).expect("sign"), SIG);
        assert_eq!(
            verify(SECRET, ID, &TS.to_string(), SIG, BODY, at(TS)),
            Ok(())
        );
    }

    #[test]
    fn tampering_old_timestamps_and_wrong_secrets_fail() {
        let ts = TS.to_string();
        let now = at(TS + 10);
        assert_eq!(
            verify(SECRET, ID, &ts, SIG, b"{\"test\": 1}", now),
            Err(VerifyError::NoMatch)
        );
        assert_eq!(
            verify(SECRET, "msg_other", &ts, SIG, BODY, now),
            Err(VerifyError::NoMatch)
        );
        assert_eq!(
            verify(SECRET, ID, &ts, SIG, BODY, at(TS + 301)),
            Err(VerifyError::StaleTimestamp)
        );
        let other = "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        assert_eq!(
            verify(other, ID, &ts, SIG, BODY, now),
            Err(VerifyError::NoMatch)
        );
        assert_eq!(
            verify("whsec_!!", ID, &ts, SIG, BODY, now),
            Err(VerifyError::BadSecret)
        );
    }

    #[test]
    fn during_rotation_either_secret_verifies() {
        let new = "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        let header = signature_header(&[new, SECRET], ID, TS, BODY).expect("sign");
        let parts: Vec<&str> = header.split(' ').collect();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[1], SIG);
        let ts = TS.to_string();
        assert_eq!(verify(new, ID, &ts, &header, BODY, at(TS)), Ok(()));
        assert_eq!(verify(SECRET, ID, &ts, &header, BODY, at(TS)), Ok(()));
    }

    #[test]
    fn sign_is_md5_of_the_key() {
        assert_eq!(
            verify_sign("abc", "900150983cd24fb0d6963f7d28e17f72"),
            Ok(())
        );
        assert_eq!(
            verify_sign("abc", "900150983CD24FB0D6963F7D28E17F72"),
            Ok(())
        );
        assert_eq!(
            verify_sign("abd", "900150983cd24fb0d6963f7d28e17f72"),
            Err(VerifyError::BadSign)
        );
    }
}
