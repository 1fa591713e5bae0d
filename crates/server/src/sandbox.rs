//! Sandbox apps need no staff: their orders move on by themselves after a short delay in
//! each status: pending → reviewing → completed, or → rejected with the reasons of the
//! photo's failed checks. A submit may force the ending with `sandbox_result`.

use chrono::TimeDelta;
use platform::{Approval, Order, OrderFilter, OrderStatus, Platform, PlatformError};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Mutex;

/// The reviewer name the sandbox acts as.
pub const SANDBOX_ACTOR: &str = "sandbox";
const BATCH: u32 = 200;

/// How a sandbox order ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Complete,
    Reject,
}

/// Endings forced at submit, by order_no (kept in memory: after a restart the checks decide).
#[derive(Debug, Default)]
pub struct Sandbox {
    forced: Mutex<HashMap<String, Outcome>>,
}

impl Sandbox {
    pub fn set_outcome(&self, order_no: &str, outcome: Outcome) {
        self.lock().insert(order_no.to_string(), outcome);
    }

    fn take_outcome(&self, order_no: &str) -> Option<Outcome> {
        self.lock().remove(order_no)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Outcome>> {
        self.forced.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// One pass: moves every sandbox order that sat `delay` in pending or (taken by the
    /// sandbox) in reviewing. Returns how many moved.
    pub async fn sweep(&self, p: &Platform, delay: TimeDelta) -> Result<usize, PlatformError> {
        let now = p.now();
        let mut moved = 0;
        for app in p.apps().await?.into_iter().filter(|a| a.sandbox) {
            for o in due(p, app.app_id, OrderStatus::Pending, now - delay).await? {
                moved += settle(p.take(&o.order_no, SANDBOX_ACTOR).await)?;
            }
            for o in due(p, app.app_id, OrderStatus::Reviewing, now - delay).await? {
                if o.reviewer.as_deref() == Some(SANDBOX_ACTOR) {
                    moved += settle(self.finish(p, &o).await)?;
                }
            }
        }
        Ok(moved)
    }

    async fn finish(&self, p: &Platform, o: &Order) -> Result<Order, PlatformError> {
        let failed = match p.repo().pic(&o.pic_id).await? {
            Some(pic) => failed_checks(&pic.checks),
            None => vec![],
        };
        let outcome = self
            .take_outcome(&o.order_no)
            .unwrap_or(if failed.is_empty() {
                Outcome::Complete
            } else {
                Outcome::Reject
            });
        match outcome {
            Outcome::Complete => {
                let approval = Approval {
                    receipt_no: format!("SANDBOX{}", o.order_no),
                    ..Default::default()
                };
                p.approve(&o.order_no, SANDBOX_ACTOR, approval).await
            }
            Outcome::Reject => {
                let reason = if failed.is_empty() {
                    "沙箱模拟驳回：照片不符合要求".to_string()
                } else {
                    failed.join("；")
                };
                p.reject(&o.order_no, SANDBOX_ACTOR, &reason).await
            }
        }
    }
}

/// The app's orders in `status`, unchanged since `before`, oldest first.
async fn due(
    p: &Platform,
    app_id: i64,
    status: OrderStatus,
    before: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<Order>, PlatformError> {
    let filter = OrderFilter {
        status: Some(status),
        app_id: Some(app_id),
        limit: BATCH,
        oldest_first: true,
    };
    let orders = p.orders(&filter).await?;
    Ok(orders
        .into_iter()
        .filter(|o| o.updated_at <= before)
        .collect())
}

/// A move that lost a race (someone else moved the order) is not an error.
fn settle(r: Result<Order, PlatformError>) -> Result<usize, PlatformError> {
    match r {
        Ok(o) => {
            tracing::info!(order_no = %o.order_no, status = o.status.code(), "sandbox moved order");
            Ok(1)
        }
        Err(PlatformError::WrongState { .. } | PlatformError::OrderNotFound(_)) => Ok(0),
        Err(e) => Err(e),
    }
}

/// The Chinese messages of the failed checks in an engine report.
fn failed_checks(report: &Value) -> Vec<String> {
    let Some(checks) = report.get("checks").and_then(Value::as_array) else {
        return vec![];
    };
    checks
        .iter()
        .filter(|c| c.get("pass").and_then(Value::as_bool) == Some(false))
        .filter_map(|c| c.get("msg").and_then(Value::as_str).map(str::to_string))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reasons_come_from_failed_checks() {
        let r = json!({"pass": false, "checks": [
            {"rule": "a", "pass": true, "msg": "ok"},
            {"rule": "b", "pass": false, "msg": "头部过小"},
            {"rule": "c", "pass": false, "msg": "眼睛位置过高"}]});
        assert_eq!(failed_checks(&r), ["头部过小", "眼睛位置过高"]);
        assert!(failed_checks(&json!(null)).is_empty());
    }
}
