//! Retention: delete what the service no longer needs to keep.
//!
//! 1. Pics never submitted: deleted (blobs, then row) once `expires_at + pic_grace` passed.
//! 2. Finished orders (completed, cancelled, and rejected ones left alone) unchanged for
//!    `retention`: their photos, receipt images and files are deleted and their personal
//!    params cleared; the order row (number, status, times, price, receipt_no) stays for
//!    the accounts. Blobs go first and the row is cleared after, so a crash in between is
//!    repaired by the next run.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::Platform;
use crate::error::Result;
use crate::order::OrderStatus;

const BATCH: u32 = 200;

/// Statuses whose orders retention may purge.
pub const PURGEABLE: [OrderStatus; 3] = [
    OrderStatus::Completed,
    OrderStatus::Cancelled,
    OrderStatus::Rejected,
];

/// What one retention run removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RetentionReport {
    pub pics_deleted: u64,
    pub orders_purged: u64,
    pub blobs_deleted: u64,
}

impl Platform {
    /// One retention pass as of `now`, on the node holding the `retention` job lease (the
    /// others return an empty report). Safe to run on several nodes at once.
    pub async fn run_retention(&self, now: DateTime<Utc>) -> Result<RetentionReport> {
        let mut report = RetentionReport::default();
        if !self.hold_job("retention", now).await? {
            return Ok(report);
        }
        self.expire_pics(now, &mut report).await?;
        self.purge_orders(now, &mut report).await?;
        tracing::info!(
            pics_deleted = report.pics_deleted,
            orders_purged = report.orders_purged,
            blobs_deleted = report.blobs_deleted,
            "retention run"
        );
        Ok(report)
    }

    async fn expire_pics(&self, now: DateTime<Utc>, report: &mut RetentionReport) -> Result<()> {
        let before = now - self.settings.pic_grace;
        loop {
            let pics = self.repo.unsubmitted_pics_expired(before, BATCH).await?;
            if pics.is_empty() {
                return Ok(());
            }
            for pic in &pics {
                report.blobs_deleted += self.delete_blobs(&pic.blob_keys()).await as u64;
                if self.repo.delete_unsubmitted_pic(&pic.pic_id).await? {
                    report.pics_deleted += 1;
                    tracing::debug!(pic_id = %pic.pic_id, "expired pic deleted");
                }
            }
            if pics.len() < BATCH as usize {
                return Ok(());
            }
        }
    }

    async fn purge_orders(&self, now: DateTime<Utc>, report: &mut RetentionReport) -> Result<()> {
        let before = now - self.settings.retention;
        loop {
            let orders = self.repo.orders_to_purge(&PURGEABLE, before, BATCH).await?;
            if orders.is_empty() {
                return Ok(());
            }
            for order in &orders {
                let mut keys = order.blob_keys();
                for pic in self.repo.pics_of_order(&order.order_no).await? {
                    keys.extend(pic.blob_keys());
                }
                keys.sort();
                keys.dedup();
                report.blobs_deleted += self.delete_blobs(&keys).await as u64;
                if self
                    .repo
                    .purge_order(&order.order_no, &PURGEABLE, before, now)
                    .await?
                {
                    report.orders_purged += 1;
                    tracing::debug!(order_no = %order.order_no, "order purged");
                }
            }
            if orders.len() < BATCH as usize {
                return Ok(());
            }
        }
    }
}
