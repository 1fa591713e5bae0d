//! Sandbox apps need no staff: the platform's sandbox job ([`Platform::run_sandbox`]) moves
//! their orders pending → reviewing → completed, or → rejected with the reasons of the
//! photo's failed checks. Here, on top: a submit may force the ending with `sandbox_result`,
//! so a merchant can try both endings with any photo.

use chrono::TimeDelta;
use platform::{Approval, OrderStatus, Platform, PlatformError, SANDBOX_ACTOR};
use std::collections::HashMap;
use std::sync::Mutex;

/// How a sandbox order ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Complete,
    Reject,
}

/// The reason given when a rejection is forced.
pub const FORCED_REJECT_MSG: &str = "沙箱模拟驳回：照片不符合要求";

/// Endings forced at submit, by order_no (kept in memory: after a restart the checks decide).
#[derive(Debug, Default)]
pub struct Sandbox {
    forced: Mutex<HashMap<String, Outcome>>,
}

impl Sandbox {
    pub fn set_outcome(&self, order_no: &str, outcome: Outcome) {
        self.lock().insert(order_no.to_string(), outcome);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Outcome>> {
        self.forced.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// One pass: first the forced endings that are due, then the platform's sandbox job, both
    /// as of the same instant. Returns how many orders moved.
    pub async fn sweep(&self, p: &Platform, delay: TimeDelta) -> Result<u64, PlatformError> {
        let now = p.now();
        let forced = self.finish_forced(p, now - delay).await?;
        let r = p.run_sandbox(now, delay).await?;
        Ok(forced + r.taken + r.approved + r.rejected)
    }

    /// Ends the forced orders that have been reviewing since before `before`; forgets those
    /// that left the sandbox's hands.
    async fn finish_forced(
        &self,
        p: &Platform,
        before: chrono::DateTime<chrono::Utc>,
    ) -> Result<u64, PlatformError> {
        let forced: Vec<(String, Outcome)> =
            self.lock().iter().map(|(k, v)| (k.clone(), *v)).collect();
        let mut moved = 0;
        for (order_no, outcome) in forced {
            let order = match p.order(&order_no).await {
                Ok(o) => o,
                Err(PlatformError::OrderNotFound(_)) => {
                    self.lock().remove(&order_no);
                    continue;
                }
                Err(e) => return Err(e),
            };
            match order.status {
                OrderStatus::Pending => continue,
                OrderStatus::Reviewing if order.updated_at > before => continue,
                OrderStatus::Reviewing => {}
                _ => {
                    self.lock().remove(&order_no);
                    continue;
                }
            }
            let done = match outcome {
                Outcome::Complete => {
                    let approval = Approval {
                        receipt_no: format!("SANDBOX{order_no}"),
                        ..Default::default()
                    };
                    p.approve(&order_no, SANDBOX_ACTOR, approval).await
                }
                Outcome::Reject => p.reject(&order_no, SANDBOX_ACTOR, FORCED_REJECT_MSG).await,
            };
            self.lock().remove(&order_no);
            match done {
                Ok(_) => moved += 1,
                Err(PlatformError::WrongState { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(moved)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use platform::{FixedItems, ItemTerms, ManualClock, NewPic, Submission};
    use serde_json::json;
    use std::sync::Arc;

    #[tokio::test]
    async fn a_forced_ending_wins_over_the_checks() {
        let dir = tempfile::tempdir().unwrap();
        let items = FixedItems::new().with(
            1,
            ItemTerms {
                price_fen: 700,
                print_price_fen: None,
            },
        );
        let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
        let p = Platform::open_embedded(dir.path(), Default::default(), Arc::new(items))
            .await
            .unwrap()
            .with_clock(clock.clone());
        let app = p
            .create_app(platform::NewApp {
                name: "S".into(),
                sandbox: true,
                ..Default::default()
            })
            .await
            .unwrap()
            .app;
        let failing = json!({"pass": false, "checks": [{"pass": false, "msg": "头部过小"}]});
        let mut orders = vec![];
        for _ in 0..2 {
            let photos = vec![(
                "white".to_string(),
                bytes::Bytes::from_static(&[0xFF, 0xD8, 0xFF]),
            )];
            let pic = p
                .store_pic(
                    &app,
                    NewPic {
                        item_id: 1,
                        photos,
                        checks: failing.clone(),
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
            let sub = Submission {
                pic_id: pic.pic_id,
                notice_url: "https://x.example/".into(),
                params: json!({}),
                is_print: false,
                print_param: None,
            };
            orders.push(p.submit(&app, sub).await.unwrap().order_no);
        }
        let sandbox = Sandbox::default();
        sandbox.set_outcome(&orders[0], Outcome::Complete);
        let delay = TimeDelta::seconds(5);
        for _ in 0..2 {
            clock.advance(TimeDelta::seconds(6));
            sandbox.sweep(&p, delay).await.unwrap();
        }
        let forced = p.order(&orders[0]).await.unwrap();
        let by_checks = p.order(&orders[1]).await.unwrap();
        assert_eq!(forced.status, OrderStatus::Completed);
        assert_eq!(by_checks.status, OrderStatus::Rejected);
        assert_eq!(by_checks.reject_msg.as_deref(), Some("头部过小"));
        assert!(sandbox.lock().is_empty());
    }
}
