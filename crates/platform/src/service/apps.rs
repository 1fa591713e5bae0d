//! Apps, keys, balance.

use chrono::TimeDelta;
use serde::Serialize;

use super::Platform;
use crate::app::{self, App, IssuedKey, NewApp};
use crate::error::{PlatformError, Result};
use crate::ledger::{LedgerEntry, LedgerKind};
use crate::order::OrderCounts;
use crate::repo::Credit;

/// What `/user/info` shows.
#[derive(Debug, Clone, Serialize)]
pub struct UserInfo {
    pub app_id: i64,
    pub name: String,
    pub balance_fen: i64,
    /// Balance minus what pending and reviewing orders hold: what new orders can use.
    pub available_fen: i64,
    pub sandbox: bool,
    pub orders: OrderCounts,
}

impl Platform {
    /// Creates an app with a fresh key, shown once in the answer. A positive opening balance
    /// is written to the ledger as a top-up.
    pub async fn create_app(&self, new: NewApp) -> Result<IssuedKey> {
        let name = new.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(PlatformError::Invalid(
                "app name must be 1–100 characters".into(),
            ));
        }
        if new.balance_fen < 0 {
            return Err(PlatformError::Invalid(
                "opening balance cannot be negative".into(),
            ));
        }
        let key = app::new_key(new.sandbox);
        let draft = App {
            app_id: 0,
            name: name.to_string(),
            key_hash: app::key_hash(&key),
            key_prefix: app::key_prefix(&key),
            sign: app::key_sign(&key),
            webhook_secret: app::new_webhook_secret(),
            prev_webhook_secret: None,
            prev_webhook_secret_until: None,
            balance_fen: new.balance_fen,
            sandbox: new.sandbox,
            disabled: false,
            callback_format: new.callback_format,
            created_at: self.now(),
        };
        let app = self.repo.insert_app(&draft).await?;
        tracing::info!(app_id = app.app_id, sandbox = app.sandbox, "app created");
        Ok(IssuedKey { app, key })
    }

    /// The app holding `key`. `KeyInvalid` for an unknown key, `AppDisabled` for a disabled app.
    pub async fn authenticate(&self, key: &str) -> Result<App> {
        let key = key.trim();
        if key.is_empty() || key.len() > 200 {
            return Err(PlatformError::KeyInvalid);
        }
        let app = self
            .repo
            .app_by_key_hash(&app::key_hash(key))
            .await?
            .ok_or(PlatformError::KeyInvalid)?;
        if app.disabled {
            return Err(PlatformError::AppDisabled(app.app_id));
        }
        Ok(app)
    }

    pub async fn app(&self, app_id: i64) -> Result<App> {
        self.repo
            .app(app_id)
            .await?
            .ok_or(PlatformError::AppNotFound(app_id))
    }

    pub async fn apps(&self) -> Result<Vec<App>> {
        self.repo.apps().await
    }

    /// Adds `amount_fen` (> 0) to the balance, through the ledger.
    pub async fn topup(&self, app_id: i64, amount_fen: i64, actor: &str) -> Result<LedgerEntry> {
        if amount_fen <= 0 {
            return Err(PlatformError::Invalid("a top-up must be positive".into()));
        }
        let entry = self
            .repo
            .credit(&Credit {
                app_id,
                order_no: None,
                kind: LedgerKind::Topup,
                amount_fen,
                note: Some(format!("by {actor}")),
                at: self.now(),
            })
            .await?;
        tracing::info!(
            app_id,
            amount_fen,
            balance = entry.balance_after,
            actor,
            "top-up"
        );
        Ok(entry)
    }

    /// Replaces the key at once; the old key stops working. The callback `sign` becomes
    /// md5(new key): merchants check `sign` against md5 of the key they hold, and the old
    /// key (and so its md5) may be what leaked.
    pub async fn rotate_key(&self, app_id: i64) -> Result<IssuedKey> {
        let app = self.app(app_id).await?;
        let key = app::new_key(app.sandbox);
        let (hash, prefix, sign) = (
            app::key_hash(&key),
            app::key_prefix(&key),
            app::key_sign(&key),
        );
        if !self.repo.set_app_key(app_id, &hash, &prefix, &sign).await? {
            return Err(PlatformError::AppNotFound(app_id));
        }
        tracing::info!(app_id, "key rotated");
        Ok(IssuedKey {
            app: App {
                key_hash: hash,
                key_prefix: prefix,
                sign,
                ..app
            },
            key,
        })
    }

    /// Replaces the webhook secret. The old one keeps signing beside it (two signatures in
    /// `webhook-signature`) for `overlap`, so merchants can switch without losing a callback;
    /// a zero overlap drops it at once.
    pub async fn rotate_webhook_secret(&self, app_id: i64, overlap: TimeDelta) -> Result<App> {
        let app = self.app(app_id).await?;
        let secret = app::new_webhook_secret();
        let keep = overlap > TimeDelta::zero();
        let prev_until = keep.then(|| self.now() + overlap);
        let prev = keep.then_some(app.webhook_secret.as_str());
        if !self
            .repo
            .set_app_webhook_secret(app_id, &secret, prev, prev_until)
            .await?
        {
            return Err(PlatformError::AppNotFound(app_id));
        }
        tracing::info!(
            app_id,
            overlap_s = overlap.num_seconds(),
            "webhook secret rotated"
        );
        self.app(app_id).await
    }

    /// Disables (or re-enables) an app: its key is refused; its orders still move.
    pub async fn set_disabled(&self, app_id: i64, disabled: bool) -> Result<App> {
        if !self.repo.set_app_disabled(app_id, disabled).await? {
            return Err(PlatformError::AppNotFound(app_id));
        }
        tracing::info!(app_id, disabled, "app disabled flag set");
        self.app(app_id).await
    }

    /// Newest first; `limit` 0 means 100.
    pub async fn ledger(&self, app_id: i64, limit: u32) -> Result<Vec<LedgerEntry>> {
        self.repo.ledger(app_id, limit).await
    }

    /// Name, balance and order counts of the app (fresh from the database).
    pub async fn user_info(&self, app: &App) -> Result<UserInfo> {
        let fresh = self.app(app.app_id).await?;
        let held = self.repo.held_fen(app.app_id).await?;
        Ok(UserInfo {
            app_id: fresh.app_id,
            name: fresh.name,
            balance_fen: fresh.balance_fen,
            available_fen: fresh.balance_fen - held,
            sandbox: fresh.sandbox,
            orders: self.repo.order_counts(app.app_id).await?,
        })
    }
}
