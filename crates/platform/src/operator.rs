//! Console operators (reviewers and admins), their sessions, the audit log, and the admins'
//! spec overrides (enable/disable, price) that the platform's item lookup applies.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use chrono::{DateTime, Utc};
use rand::distr::{Alphanumeric, SampleString};
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::error::{PlatformError, Result};
use crate::items::{CheckedParams, ItemTerms, Items, ReceiptTerms};

/// Failed logins in a row that lock an operator out.
pub const LOCK_AFTER: u32 = 5;

/// What an operator may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reviews orders.
    Reviewer,
    /// Reviews orders and runs the admin pages (apps, operators, callbacks, specs).
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reviewer => "reviewer",
            Self::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "reviewer" => Some(Self::Reviewer),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }
}

/// A console user. The name is the key (and the actor in order events).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Operator {
    pub name: String,
    pub role: Role,
    /// Argon2id PHC string.
    #[serde(skip)]
    pub password_hash: String,
    pub failed_logins: u32,
    pub locked_until: Option<DateTime<Utc>>,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
}

impl Operator {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    pub fn locked_at(&self, now: DateTime<Utc>) -> bool {
        self.locked_until.is_some_and(|t| t > now)
    }
}

/// A logged-in browser. Only the token's hash is stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    /// SHA-256 hex of the cookie's token.
    pub token_hash: String,
    pub operator: String,
    /// The per-session CSRF token every console form carries.
    pub csrf: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A new session: the cookie's token (shown once) and the stored row.
#[derive(Debug, Clone)]
pub struct IssuedSession {
    pub token: String,
    pub session: Session,
}

/// One row of the audit log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub operator: String,
    /// `login`, `take`, `approve`, `reveal_id`, `app_topup`, ...
    pub action: String,
    /// What it was done to: an order_no, `app:<id>`, `operator:<name>`, `item:<id>`.
    pub target: String,
    pub detail: String,
    pub at: DateTime<Utc>,
}

/// An admin's change to a spec's receipt terms. `None` fields keep the catalogue's value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpecOverride {
    pub item_id: i64,
    pub enabled: Option<bool>,
    pub price_fen: Option<i64>,
    pub updated_by: String,
    pub updated_at: DateTime<Utc>,
}

/// Argon2id with the crate's defaults (19 MiB, 2 passes), salted.
pub fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PlatformError::Invalid(format!("password hash: {e}")))
}

/// True when `password` matches the PHC string (false for a malformed hash).
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A one-time password: 16 letters and digits.
pub fn new_password() -> String {
    Alphanumeric.sample_string(&mut rand::rng(), 16)
}

/// A random 32-byte token, hex.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// SHA-256 hex of a session token (what the database keeps).
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Operator names: 1–40 of `[A-Za-z0-9._-]`.
pub fn valid_name(name: &str) -> bool {
    (1..=40).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// The spec overrides in force, shared by the platform and its [`Items`] view.
#[derive(Debug, Default)]
pub struct SpecOverrides(RwLock<HashMap<i64, SpecOverride>>);

impl SpecOverrides {
    pub fn get(&self, item_id: i64) -> Option<SpecOverride> {
        self.0.read().ok()?.get(&item_id).cloned()
    }

    pub fn all(&self) -> Vec<SpecOverride> {
        let mut v: Vec<SpecOverride> = self
            .0
            .read()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default();
        v.sort_by_key(|o| o.item_id);
        v
    }

    pub fn replace(&self, list: Vec<SpecOverride>) {
        if let Ok(mut m) = self.0.write() {
            *m = list.into_iter().map(|o| (o.item_id, o)).collect();
        }
    }

    pub fn set(&self, o: SpecOverride) {
        if let Ok(mut m) = self.0.write() {
            m.insert(o.item_id, o);
        }
    }

    /// The catalogue spec with the override applied (receipt enabled, price).
    pub fn apply(&self, spec: &catalogue::Spec) -> catalogue::Spec {
        let mut spec = spec.clone();
        if let (Some(o), Some(rule)) = (self.get(i64::from(spec.item_id)), spec.receipt.as_mut()) {
            if let Some(enabled) = o.enabled {
                rule.enabled = enabled;
            }
            if let Some(fen) = o.price_fen.and_then(|f| u32::try_from(f).ok()) {
                rule.price_fen = fen;
            }
        }
        spec
    }
}

/// [`Items`] with the admins' overrides on top: a disabled item takes no orders, an enabled
/// one does (with its base terms), a price replaces the item's receipt price.
pub struct OverriddenItems {
    pub inner: Arc<dyn Items>,
    pub overrides: Arc<SpecOverrides>,
}

impl Items for OverriddenItems {
    fn terms(&self, item_id: i64) -> Option<ItemTerms> {
        let Some(o) = self.overrides.get(item_id) else {
            return self.inner.terms(item_id);
        };
        let mut terms = match o.enabled {
            Some(false) => return None,
            Some(true) => self.inner.base_terms(item_id)?,
            None => self.inner.terms(item_id)?,
        };
        if let Some(fen) = o.price_fen {
            terms.price_fen = fen;
        }
        Some(terms)
    }

    fn base_terms(&self, item_id: i64) -> Option<ItemTerms> {
        self.inner.base_terms(item_id)
    }

    fn check_params(
        &self,
        item_id: i64,
        params: &serde_json::Value,
    ) -> Result<CheckedParams, catalogue::ParamError> {
        self.inner.check_params(item_id, params)
    }

    fn receipt_terms(&self, item_id: i64) -> Option<ReceiptTerms> {
        self.inner.receipt_terms(item_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong horse", &h));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn names_are_plain() {
        assert!(valid_name("alice.w-2"));
        assert!(!valid_name(""));
        assert!(!valid_name("a b"));
        assert!(!valid_name("<script>"));
    }
}
