//! The reviewers' console: operators, login with lock-out, sessions, the audit log, the
//! admins' spec overrides, and the source pixels of an adjusted re-make.

use bytes::Bytes;
use chrono::{DateTime, TimeDelta, Utc};

use super::Platform;
use crate::error::{PlatformError, Result};
use crate::operator::{
    self, AuditEntry, IssuedSession, Operator, Role, Session, SpecOverride, LOCK_AFTER,
};
use crate::order::Order;
use crate::pic::Pic;

/// How long a console session lasts.
pub const SESSION_TTL_HOURS: i64 = 12;
/// How long a lock-out lasts.
const LOCK_MINUTES: i64 = 15;
/// A hash to verify against for unknown names, so they take as long as known ones.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| operator::hash_password("unknown operator").unwrap_or_default())
}

/// Why a login was refused. The console shows one message for all but `Locked`.
#[derive(Debug, Clone, PartialEq)]
pub enum LoginRefusal {
    /// Unknown name or wrong password.
    Wrong,
    Locked {
        until: DateTime<Utc>,
    },
    Disabled,
}

/// What a login attempt ended in.
#[derive(Debug, Clone)]
pub enum Login {
    In {
        operator: Operator,
        session: IssuedSession,
    },
    Refused(LoginRefusal),
}

impl Platform {
    /// Creates an operator with a one-time password (returned, never stored in clear).
    pub async fn create_operator(
        &self,
        name: &str,
        role: Role,
        actor: &str,
    ) -> Result<(Operator, String)> {
        let name = name.trim();
        if !operator::valid_name(name) {
            return Err(PlatformError::Invalid(
                "operator names are 1–40 of A–Z a–z 0–9 . _ -".into(),
            ));
        }
        let password = operator::new_password();
        let op = Operator {
            name: name.to_string(),
            role,
            password_hash: operator::hash_password(&password)?,
            failed_logins: 0,
            locked_until: None,
            disabled: false,
            created_at: self.now(),
        };
        self.repo.insert_operator(&op).await?;
        self.audit(
            actor,
            "operator_create",
            &format!("operator:{name}"),
            role.as_str(),
        )
        .await?;
        Ok((op, password))
    }

    pub async fn operators(&self) -> Result<Vec<Operator>> {
        self.repo.operators().await
    }

    /// Disables (ending its sessions) or re-enables an operator; clears a lock-out.
    pub async fn set_operator_disabled(
        &self,
        name: &str,
        disabled: bool,
        actor: &str,
    ) -> Result<Operator> {
        let mut op = self
            .repo
            .operator(name)
            .await?
            .ok_or_else(|| PlatformError::Invalid(format!("no operator {name}")))?;
        op.disabled = disabled;
        op.failed_logins = 0;
        op.locked_until = None;
        self.repo.update_operator(&op).await?;
        if disabled {
            self.repo.delete_sessions_of(name).await?;
        }
        let action = if disabled {
            "operator_disable"
        } else {
            "operator_enable"
        };
        self.audit(actor, action, &format!("operator:{name}"), "")
            .await?;
        Ok(op)
    }

    /// Checks the password. After [`LOCK_AFTER`] failures in a row the operator is locked
    /// out for 15 minutes (even the right password is refused then). Audited either way.
    pub async fn login(&self, name: &str, password: &str) -> Result<Login> {
        let now = self.now();
        let Some(op) = self.repo.operator(name.trim()).await? else {
            operator::verify_password(password, dummy_hash());
            return Ok(Login::Refused(LoginRefusal::Wrong));
        };
        if op.disabled {
            return Ok(Login::Refused(LoginRefusal::Disabled));
        }
        if let Some(until) = op.locked_until.filter(|t| *t > now) {
            self.audit(&op.name, "login_locked", "console", "").await?;
            return Ok(Login::Refused(LoginRefusal::Locked { until }));
        }
        if !operator::verify_password(password, &op.password_hash) {
            return self.login_failed(&op, now).await;
        }
        let mut fresh = op.clone();
        fresh.failed_logins = 0;
        fresh.locked_until = None;
        if fresh != op {
            self.repo.update_operator(&fresh).await?;
        }
        let session = self.new_session(&fresh.name, now).await?;
        self.audit(&fresh.name, "login", "console", "").await?;
        Ok(Login::In {
            operator: fresh,
            session,
        })
    }

    async fn login_failed(&self, op: &Operator, now: DateTime<Utc>) -> Result<Login> {
        let until = now + TimeDelta::minutes(LOCK_MINUTES);
        let after = self
            .repo
            .count_login_failure(&op.name, LOCK_AFTER, until)
            .await?;
        let locked = after.as_ref().is_some_and(|o| o.locked_at(now));
        let detail = if locked { "locked out" } else { "" };
        self.audit(&op.name, "login_failed", "console", detail)
            .await?;
        if locked {
            tracing::warn!(operator = %op.name, "console operator locked out");
            return Ok(Login::Refused(LoginRefusal::Locked { until }));
        }
        Ok(Login::Refused(LoginRefusal::Wrong))
    }

    async fn new_session(&self, name: &str, now: DateTime<Utc>) -> Result<IssuedSession> {
        let token = operator::new_token();
        let session = Session {
            token_hash: operator::token_hash(&token),
            operator: name.to_string(),
            csrf: operator::new_token(),
            created_at: now,
            expires_at: now + TimeDelta::hours(SESSION_TTL_HOURS),
        };
        self.repo.insert_session(&session).await?;
        Ok(IssuedSession { token, session })
    }

    /// The live session of a cookie token and its operator; `None` when unknown, expired,
    /// or the operator is disabled.
    pub async fn console_session(&self, token: &str) -> Result<Option<(Session, Operator)>> {
        let hash = operator::token_hash(token);
        let Some(session) = self.repo.session(&hash).await? else {
            return Ok(None);
        };
        if session.expires_at <= self.now() {
            self.repo.delete_session(&hash).await?;
            return Ok(None);
        }
        match self.repo.operator(&session.operator).await? {
            Some(op) if !op.disabled => Ok(Some((session, op))),
            _ => Ok(None),
        }
    }

    /// Ends the session of a cookie token (audited when there was one).
    pub async fn logout(&self, token: &str) -> Result<()> {
        let hash = operator::token_hash(token);
        if let Some(s) = self.repo.session(&hash).await? {
            self.repo.delete_session(&hash).await?;
            self.audit(&s.operator, "logout", "console", "").await?;
        }
        Ok(())
    }

    /// Appends to the audit log.
    pub async fn audit(
        &self,
        operator: &str,
        action: &str,
        target: &str,
        detail: &str,
    ) -> Result<()> {
        let entry = AuditEntry {
            id: 0,
            operator: operator.chars().take(64).collect(),
            action: action.to_string(),
            target: target.chars().take(200).collect(),
            detail: detail.chars().take(1000).collect(),
            at: self.now(),
        };
        self.repo.insert_audit(&entry).await
    }

    /// Newest first.
    pub async fn audit_log(&self, operator: Option<&str>, limit: u32) -> Result<Vec<AuditEntry>> {
        self.repo.audit_log(operator, limit).await
    }

    /// Reads the stored overrides into the item lookup (done by `open_embedded`).
    pub async fn load_spec_overrides(&self) -> Result<()> {
        self.overrides.replace(self.repo.spec_overrides().await?);
        Ok(())
    }

    /// Switches a spec's receipt orders on or off and/or sets its price (`None`: the
    /// catalogue's). Takes effect at once for submit and `/item/list`. Audited.
    pub async fn set_spec_override(
        &self,
        item_id: i64,
        enabled: Option<bool>,
        price_fen: Option<i64>,
        actor: &str,
    ) -> Result<SpecOverride> {
        if price_fen.is_some_and(|f| !(0..=1_000_000).contains(&f)) {
            return Err(PlatformError::Invalid("price must be 0–10000 yuan".into()));
        }
        let o = SpecOverride {
            item_id,
            enabled,
            price_fen,
            updated_by: actor.to_string(),
            updated_at: self.now(),
        };
        self.repo.set_spec_override(&o).await?;
        self.overrides.set(o.clone());
        let detail = format!("enabled={enabled:?} price_fen={price_fen:?}");
        self.audit(actor, "spec_override", &format!("item:{item_id}"), &detail)
            .await?;
        Ok(o)
    }

    pub fn spec_overrides(&self) -> Vec<SpecOverride> {
        self.overrides.all()
    }

    /// The catalogue spec as merchants see it now (overrides applied).
    pub fn effective_spec(&self, spec: &catalogue::Spec) -> catalogue::Spec {
        self.overrides.apply(spec)
    }

    /// What an adjusted re-make starts from: the order, its pic and the original upload.
    pub async fn remake_source(&self, order_no: &str) -> Result<(Order, Pic, Bytes)> {
        let order = self.order(order_no).await?;
        let pic = self
            .repo
            .pic(&order.pic_id)
            .await?
            .ok_or_else(|| PlatformError::PicNotFound(order.pic_id.clone()))?;
        let key = pic.original_key.clone().ok_or_else(|| {
            PlatformError::BlobNotFound(format!("original of pic {}", pic.pic_id))
        })?;
        let original = self.blobs.get(&key).await?;
        Ok((order, pic, original))
    }
}
