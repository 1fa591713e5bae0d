//! Merchant applications, their keys and webhook secrets.

use base64::Engine as _;
use chrono::{DateTime, Utc};
use md5::{Digest as _, Md5};
use rand::distr::{Alphanumeric, SampleString};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// Live keys look like `pr_live_<32 base62>`, sandbox keys `pr_test_<32 base62>`.
pub const LIVE_KEY_PREFIX: &str = "pr_live_";
pub const TEST_KEY_PREFIX: &str = "pr_test_";
/// How many leading characters of a key are kept in clear, to recognise it in lists.
pub const KEY_PREFIX_LEN: usize = 12;

/// How the callback body is encoded for an app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum CallbackFormat {
    /// `application/x-www-form-urlencoded`, as the seed API.
    #[default]
    Form,
    Json,
}

impl CallbackFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Form => "form",
            Self::Json => "json",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "form" => Some(Self::Form),
            "json" => Some(Self::Json),
            _ => None,
        }
    }
}

/// A merchant application. The key itself is never stored, only its SHA-256.
#[derive(Clone, PartialEq, Serialize)]
pub struct App {
    pub app_id: i64,
    pub name: String,
    /// SHA-256 of the key, lower-case hex.
    pub key_hash: String,
    /// The first [`KEY_PREFIX_LEN`] characters of the key.
    pub key_prefix: String,
    /// The static callback `sign`: md5(key), lower-case hex, of the current key.
    pub sign: String,
    /// `whsec_` + base64 of 24 random bytes; signs the Standard Webhooks headers.
    #[serde(skip_serializing)]
    pub webhook_secret: String,
    /// The previous secret, still signing until `prev_webhook_secret_until` (rotation).
    #[serde(skip_serializing)]
    pub prev_webhook_secret: Option<String>,
    pub prev_webhook_secret_until: Option<DateTime<Utc>>,
    pub balance_fen: i64,
    pub sandbox: bool,
    pub disabled: bool,
    pub callback_format: CallbackFormat,
    pub created_at: DateTime<Utc>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("app_id", &self.app_id)
            .field("name", &self.name)
            .field("key_prefix", &self.key_prefix)
            .field("balance_fen", &self.balance_fen)
            .field("sandbox", &self.sandbox)
            .field("disabled", &self.disabled)
            .field("callback_format", &self.callback_format)
            .finish_non_exhaustive()
    }
}

/// What an operator gives to create an app.
#[derive(Debug, Clone, Default)]
pub struct NewApp {
    pub name: String,
    /// Opening balance; written to the ledger as a top-up when positive.
    pub balance_fen: i64,
    pub sandbox: bool,
    pub callback_format: CallbackFormat,
}

/// A new or rotated key, shown once. `key` is never stored.
#[derive(Clone)]
pub struct IssuedKey {
    pub app: App,
    pub key: String,
}

impl std::fmt::Debug for IssuedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedKey")
            .field("app", &self.app)
            .finish_non_exhaustive()
    }
}

/// A fresh random key for a live or sandbox app.
pub fn new_key(sandbox: bool) -> String {
    let prefix = if sandbox {
        TEST_KEY_PREFIX
    } else {
        LIVE_KEY_PREFIX
    };
    format!(
        "{prefix}{}",
        Alphanumeric.sample_string(&mut rand::rng(), 32)
    )
}

/// SHA-256 of a key, lower-case hex: what is stored and looked up.
pub fn key_hash(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// The seed's callback `sign`: md5 of the key, lower-case hex.
pub fn key_sign(key: &str) -> String {
    hex::encode(Md5::digest(key.as_bytes()))
}

/// The clear prefix kept to recognise a key.
pub fn key_prefix(key: &str) -> String {
    key.chars().take(KEY_PREFIX_LEN).collect()
}

/// `whsec_` + base64 of 24 random bytes (Standard Webhooks).
pub fn new_webhook_secret() -> String {
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_have_the_documented_shape() {
        let live = new_key(false);
        assert!(live.starts_with("pr_live_") && live.len() == 40, "{live}");
        assert!(new_key(true).starts_with("pr_test_"));
        assert_ne!(new_key(false), new_key(false));
        assert_eq!(key_prefix(&live).len(), KEY_PREFIX_LEN);
    }

    #[test]
    fn sign_is_md5_hex_and_hash_is_sha256_hex() {
        assert_eq!(key_sign("abc"), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(
            key_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn webhook_secret_is_whsec_and_24_bytes() {
        let s = new_webhook_secret();
        let raw = base64::engine::general_purpose::STANDARD
            .decode(s.strip_prefix("whsec_").expect("prefix"))
            .expect("base64");
        assert_eq!(raw.len(), 24);
    }
}
