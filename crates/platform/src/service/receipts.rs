//! Rendering the receipt and the print sheet at approval; the public receipt check.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use engine::EngineError;

use super::Platform;
use crate::error::{PlatformError, Result};
use crate::order::{Approval, Order};
use crate::pic::Pic;
use crate::receipt::{self, ReceiptCheck};

impl Platform {
    /// Fills what `approval` lacks, for items that render receipts: the receipt card (no
    /// authority image uploaded) and, for specs with a print sheet, the sheet with the receipt
    /// number. The photo is the adjusted one, else the pic's first colour. A receipt number
    /// that cannot be barcoded is refused; other failures leave the gap (the made photo and
    /// the pic's sheet stand in) and are logged.
    pub(super) async fn render_missing_images(
        &self,
        order: &Order,
        pic: Option<&Pic>,
        approval: &mut Approval,
        receipt_no: &str,
        at: DateTime<Utc>,
    ) -> Result<()> {
        let Some(terms) = self.items.receipt_terms(order.item_id) else {
            return Ok(());
        };
        let want_receipt = approval.receipt_image.is_none();
        let want_sheet = approval.print_image.is_none() && terms.print_sheet;
        if !want_receipt && !want_sheet {
            return Ok(());
        }
        let settings = &self.settings.receipts;
        let Some(font) = settings.font.clone() else {
            tracing::error!(
                order_no = %order.order_no,
                "no receipt font loaded (scripts/fetch-fonts): the made photo stands in"
            );
            return Ok(());
        };
        let Some(photo) = self.receipt_photo(pic, approval).await else {
            tracing::error!(order_no = %order.order_no, "no photo to put on the receipt");
            return Ok(());
        };
        let content = receipt::content(order, receipt_no, &terms, settings, photo.to_vec(), at);
        let no = receipt_no.to_string();
        let rendered = tokio::task::spawn_blocking(move || {
            let card = want_receipt.then(|| receipt::render_card(&content, &font));
            let sheet = want_sheet.then(|| receipt::render_print_sheet(&photo, &terms, &no, &font));
            (card, sheet)
        })
        .await
        .map_err(|e| PlatformError::Invalid(format!("receipt rendering stopped: {e}")))?;
        if let Some(card) = rendered.0 {
            approval.receipt_image = usable(card, order, "receipt")?.map(Bytes::from);
        }
        if let Some(sheet) = rendered.1 {
            approval.print_image = usable(sheet, order, "print sheet")?.map(Bytes::from);
        }
        Ok(())
    }

    async fn receipt_photo(&self, pic: Option<&Pic>, approval: &Approval) -> Option<Bytes> {
        if let Some(adjusted) = &approval.adjusted_image {
            return Some(adjusted.clone());
        }
        let key = &pic?.photos.first()?.key;
        match self.blobs.get(key).await {
            Ok(bytes) => Some(bytes),
            Err(e) => {
                tracing::error!(key, error = %e, "reading the photo for the receipt");
                None
            }
        }
    }

    /// The public check of a receipt number: `None` when no order carries it. With several
    /// (a number typed twice), the latest completed one counts.
    pub async fn check_receipt(&self, receipt_no: &str) -> Result<Option<ReceiptCheck>> {
        let no = receipt_no.trim();
        if no.is_empty() || no.len() > 64 {
            return Ok(None);
        }
        let orders = self.repo.orders_by_receipt_no(no).await?;
        let latest = orders.into_iter().max_by_key(|o| {
            let done = o.status == crate::order::OrderStatus::Completed;
            (done, o.completed_at)
        });
        let today = receipt::china_date(self.now());
        Ok(latest.map(|o| {
            let terms = self.items.receipt_terms(o.item_id);
            receipt::check(&o, terms.as_ref(), today)
        }))
    }
}

/// A rendering's bytes; `Ok(None)` (logged) when it failed for a reason other than the
/// receipt number, which is the reviewer's to fix.
fn usable(
    r: std::result::Result<Vec<u8>, EngineError>,
    order: &Order,
    what: &str,
) -> Result<Option<Vec<u8>>> {
    match r {
        Ok(bytes) => Ok(Some(bytes)),
        Err(EngineError::SpecUnmet { rule, detail }) if rule == "receipt_no" => {
            Err(PlatformError::Invalid(format!("receipt_no: {detail}")))
        }
        Err(e) => {
            tracing::error!(order_no = %order.order_no, error = %e, "rendering the {what}");
            Ok(None)
        }
    }
}
