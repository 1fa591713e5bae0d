//! Sandbox apps review themselves: after `delay` a pending order is taken, and after another
//! `delay` it is approved, or rejected with the failing checks when the photo's checks
//! report (`pass: false`) says so. Merchants integrate the whole flow without staff.
//! On several nodes one pass runs at a time (the node holding the `sandbox` job lease), and a
//! step another node already made is skipped anyway (compare-and-set).

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use super::Platform;
use crate::error::{PlatformError, Result};
use crate::order::{Approval, Order, OrderStatus};

/// The actor of sandbox steps in order histories.
pub const SANDBOX_ACTOR: &str = "sandbox";
const BATCH: u32 = 100;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SandboxReport {
    pub taken: u64,
    pub approved: u64,
    pub rejected: u64,
}

impl Platform {
    /// One sandbox pass as of `now`.
    pub async fn run_sandbox(&self, now: DateTime<Utc>, delay: TimeDelta) -> Result<SandboxReport> {
        let mut report = SandboxReport::default();
        if !self.hold_job("sandbox", now).await? {
            return Ok(report);
        }
        let before = now - delay;
        for order in self
            .repo
            .sandbox_orders(OrderStatus::Reviewing, before, BATCH)
            .await?
        {
            match self.sandbox_verdict(&order).await {
                Ok(true) => report.approved += 1,
                Ok(false) => report.rejected += 1,
                Err(PlatformError::WrongState { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        for order in self
            .repo
            .sandbox_orders(OrderStatus::Pending, before, BATCH)
            .await?
        {
            match self.take(&order.order_no, SANDBOX_ACTOR).await {
                Ok(_) => report.taken += 1,
                Err(PlatformError::WrongState { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        if report != SandboxReport::default() {
            tracing::info!(?report, "sandbox pass");
        }
        Ok(report)
    }

    /// Approves or rejects by the pic's checks report. True when approved.
    async fn sandbox_verdict(&self, order: &Order) -> Result<bool> {
        let pic = self.repo.pic(&order.pic_id).await?;
        let checks = pic.map(|p| p.checks).unwrap_or_default();
        if let Some(reason) = failed_checks(&checks) {
            self.reject(&order.order_no, SANDBOX_ACTOR, &reason).await?;
            return Ok(false);
        }
        let approval = Approval {
            receipt_no: format!("SANDBOX{}", order.order_no),
            ..Approval::default()
        };
        self.approve(&order.order_no, SANDBOX_ACTOR, approval)
            .await?;
        Ok(true)
    }
}

/// The failing checks' messages, when the report says `pass: false`.
fn failed_checks(report: &serde_json::Value) -> Option<String> {
    if report.get("pass").and_then(|v| v.as_bool()) != Some(false) {
        return None;
    }
    let msgs: Vec<&str> = report
        .get("checks")
        .and_then(|c| c.as_array())
        .map(|checks| {
            checks
                .iter()
                .filter(|c| c.get("pass").and_then(|v| v.as_bool()) == Some(false))
                .filter_map(|c| c.get("msg").and_then(|m| m.as_str()))
                .collect()
        })
        .unwrap_or_default();
    Some(if msgs.is_empty() {
        "照片未通过检测 (the photo failed the checks)".to_string()
    } else {
        msgs.join("；")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn failing_checks_become_the_reason() {
        assert_eq!(failed_checks(&json!({"pass": true})), None);
        assert_eq!(failed_checks(&json!({})), None);
        let r = json!({"pass": false, "checks": [
            {"pass": true, "msg": "ok"},
            {"pass": false, "msg": "头部过小"},
            {"pass": false, "msg": "背景不均匀"}]});
        assert_eq!(failed_checks(&r).as_deref(), Some("头部过小；背景不均匀"));
    }
}
