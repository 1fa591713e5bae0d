//! Orders: the merchant's submit, resubmit, cancel and query; the reviewers' take, approve,
//! reject and release. Every change is one repository transaction (state + event + outbox
//! + ledger).
//!
//! Money rule: the price is *reserved* at submit and *charged* at completion. A submit (or
//! resubmit) is accepted only if the balance covers the prices of all the app's pending and
//! reviewing orders, this one included; the check runs inside the insert's transaction.
//! Approving charges the price once (a unique ledger key). So the balance never goes
//! negative through orders. Sandbox apps are neither checked nor charged.

use rand::distr::{Alphanumeric, SampleString};

use super::Platform;
use crate::app::App;
use crate::blob::image_ext;
use crate::callback::{new_webhook_id, CallbackPayload, NewCallback, SsrfError};
use crate::error::{PlatformError, Result};
use crate::items::{check_print_param, ParamFile};
use crate::order::{
    next_status, valid_order_no, Action, Approval, Order, OrderDetail, OrderEvent, OrderFilter,
    OrderStatus, ParamFileRef, Submission,
};
use crate::pic::Pic;
use crate::repo::{NewOrder, Transition};

const ORDER_NO_TRIES: usize = 5;
const MAX_NOTICE_URL: usize = 2048;
const MAX_REASON_CHARS: usize = 500;
const MAX_RECEIPT_NO: usize = 64;

/// A submission that passed every check but the balance.
struct Checked {
    pic: Pic,
    notice_url: String,
    params: serde_json::Value,
    files: Vec<ParamFile>,
    is_print: bool,
    print_param: Option<serde_json::Value>,
    price_fen: i64,
}

impl Platform {
    /// Submits a new order (status 1). Checks, in order: notice_url; the pic exists, belongs
    /// to the app, has not expired, is unused; the item takes receipts; `param` by the item's
    /// rules; `print_param` when `is_print`; the balance (see the module docs).
    pub async fn submit(&self, app: &App, sub: Submission) -> Result<Order> {
        let checked = self.check_submission(app, &sub, None).await?;
        for _ in 0..ORDER_NO_TRIES {
            let now = self.now();
            let serial = self.repo.order_serial().await?;
            let order_no = self.order_nos.next_with(now, serial);
            let files = self.put_param_files(&order_no, &checked.files).await?;
            let due = self.sla_due(now);
            let order = new_order(app, &checked, order_no, files, (now, due));
            let new = NewOrder {
                event: event(&order, None, Action::Submit, &actor_of(app), None),
                reserve: !app.sandbox,
                order,
            };
            match self.repo.insert_order(&new).await {
                Ok(order) => {
                    tracing::info!(order_no = %order.order_no, app_id = app.app_id, "submitted");
                    return Ok(order);
                }
                Err(e) => {
                    self.delete_blobs(&file_keys(&new.order)).await;
                    if !matches!(e, PlatformError::Conflict(_)) {
                        return Err(e);
                    }
                }
            }
        }
        Err(PlatformError::Conflict("no free order_no".into()))
    }

    /// Resubmits a rejected order (-1 → 1) with a new pic and params; same checks as submit.
    /// For a pic of the same spec, the `param` fields left out (the ID-card image too) are
    /// kept from the rejected order, as the seed's example sends only what changed.
    pub async fn resubmit(&self, app: &App, order_no: &str, sub: Submission) -> Result<Order> {
        let current = self.own_order(app, order_no).await?;
        let (mut order, ev) = plan(&current, Action::Resubmit, &actor_of(app), None, self.now())?;
        let checked = self.check_submission(app, &sub, Some(&current)).await?;
        let (kept, dropped) = split_files(&current, &sub, checked.pic.item_id);
        let fresh = self.put_param_files(order_no, &checked.files).await?;
        let written: Vec<String> = fresh.iter().map(|f| f.key.clone()).collect();
        order.param_files = fresh.into_iter().chain(kept.iter().cloned()).collect();
        order.pic_id = checked.pic.pic_id.clone();
        order.item_id = checked.pic.item_id;
        order.notice_url = checked.notice_url;
        order.params = Some(checked.params);
        order.is_print = checked.is_print;
        order.print_param = checked.print_param;
        order.price_fen = checked.price_fen;
        order.submitted_at = ev.at;
        order.sla_due_at = self.sla_due(ev.at);
        order.reviewed_at = None;
        order.reviewer = None;
        order.reject_msg = None;
        let t = Transition {
            use_pic: true,
            reserve: !app.sandbox,
            ..transition(order, current.status, ev, None)
        };
        match self.repo.apply(&t).await {
            Ok(order) => {
                self.delete_blobs(&dropped).await;
                tracing::info!(order_no, "resubmitted");
                Ok(order)
            }
            Err(e) => {
                self.delete_blobs(&written).await;
                Err(e)
            }
        }
    }

    /// The merchant cancels a pending order (1 → -2), with callback -2.
    pub async fn cancel(&self, app: &App, order_no: &str) -> Result<Order> {
        let current = self.own_order(app, order_no).await?;
        let (order, ev) = plan(&current, Action::Cancel, &actor_of(app), None, self.now())?;
        let cb = callback_for(&order);
        self.commit(transition(order, current.status, ev, Some(cb)))
            .await
    }

    /// The app's order and its current pic (if still kept). `OrderNotFound` for another app's.
    pub async fn query(&self, app: &App, order_no: &str) -> Result<OrderDetail> {
        let order = self.own_order(app, order_no).await?;
        let pic = self.repo.pic(&order.pic_id).await?;
        Ok(OrderDetail { order, pic })
    }

    /// Any order, for operators.
    pub async fn order(&self, order_no: &str) -> Result<Order> {
        if !valid_order_no(order_no) {
            return Err(PlatformError::OrderNotFound(order_no.to_string()));
        }
        self.repo
            .order(order_no)
            .await?
            .ok_or_else(|| PlatformError::OrderNotFound(order_no.to_string()))
    }

    pub async fn orders(&self, filter: &OrderFilter) -> Result<Vec<Order>> {
        self.repo.orders(filter).await
    }

    /// The order's history, oldest first.
    pub async fn order_events(&self, order_no: &str) -> Result<Vec<OrderEvent>> {
        self.repo.order_events(order_no).await
    }

    /// A reviewer takes a pending order (1 → 2), with callback 2.
    pub async fn take(&self, order_no: &str, actor: &str) -> Result<Order> {
        let current = self.order(order_no).await?;
        let (mut order, ev) = plan(&current, Action::Take, actor, None, self.now())?;
        order.reviewer = Some(actor.to_string());
        let cb = callback_for(&order);
        self.commit(transition(order, current.status, ev, Some(cb)))
            .await
    }

    /// A reviewer hands a taken order back (2 → 1). No callback.
    pub async fn release(&self, order_no: &str, actor: &str) -> Result<Order> {
        let current = self.order(order_no).await?;
        let (mut order, ev) = plan(&current, Action::Release, actor, None, self.now())?;
        order.reviewer = None;
        self.commit(transition(order, current.status, ev, None))
            .await
    }

    /// A reviewer rejects (2 → -1) with a reason, sent as `reject_msg` in callback -1.
    pub async fn reject(&self, order_no: &str, actor: &str, reason: &str) -> Result<Order> {
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
            return Err(PlatformError::Invalid(format!(
                "a rejection needs a reason of 1–{MAX_REASON_CHARS} characters"
            )));
        }
        let current = self.order(order_no).await?;
        let note = Some(reason.to_string());
        let (mut order, ev) = plan(&current, Action::Reject, actor, note, self.now())?;
        order.reject_msg = Some(reason.to_string());
        order.reviewed_at = Some(ev.at);
        let cb = callback_for(&order);
        self.commit(transition(order, current.status, ev, Some(cb)))
            .await
    }

    /// A reviewer approves (2 → 3): stores the receipt (and adjusted photo, print sheet),
    /// charges the price once (never for sandbox apps) and queues callback 3.
    /// Without a receipt image the platform renders one (see `render_missing_images`), and a
    /// print sheet with the receipt number for specs that have one; if it cannot, the made
    /// photo stands in for the receipt and the pic's sheet for the print sheet.
    pub async fn approve(
        &self,
        order_no: &str,
        actor: &str,
        mut approval: Approval,
    ) -> Result<Order> {
        let receipt_no = approval.receipt_no.trim().to_string();
        if receipt_no.is_empty() || receipt_no.len() > MAX_RECEIPT_NO {
            return Err(PlatformError::Invalid(format!(
                "receipt_no must be 1–{MAX_RECEIPT_NO} bytes"
            )));
        }
        let current = self.order(order_no).await?;
        let note = Some(format!("receipt {receipt_no}"));
        let (mut order, ev) = plan(&current, Action::Approve, actor, note, self.now())?;
        let app = self.app(current.app_id).await?;
        let pic = self.repo.pic(&current.pic_id).await?;
        self.render_missing_images(&current, pic.as_ref(), &mut approval, &receipt_no, ev.at)
            .await?;
        let stored = self.put_approval_images(order_no, &approval).await?;
        order.receipt_no = Some(receipt_no);
        order.receipt_key = stored.receipt.clone().or_else(|| first_photo(&pic));
        order.image_key = stored.image.clone();
        order.print_key = stored
            .print
            .clone()
            .or_else(|| pic.as_ref().and_then(|p| p.print_key.clone()));
        order.reviewed_at = Some(ev.at);
        order.completed_at = Some(ev.at);
        let cb = callback_for(&order);
        let t = Transition {
            charge_fen: (!app.sandbox && order.price_fen > 0).then_some(order.price_fen),
            ..transition(order, current.status, ev, Some(cb))
        };
        match self.commit(t).await {
            Ok(order) => Ok(order),
            Err(e) => {
                self.delete_blobs(&stored.keys()).await;
                Err(e)
            }
        }
    }

    // ---- helpers

    async fn commit(&self, t: Transition) -> Result<Order> {
        let order = self.repo.apply(&t).await?;
        tracing::info!(
            order_no = %order.order_no,
            action = %t.event.action,
            from = t.from.code(),
            to = order.status.code(),
            actor = %t.event.actor,
            "order moved"
        );
        Ok(order)
    }

    async fn own_order(&self, app: &App, order_no: &str) -> Result<Order> {
        match self.order(order_no).await {
            Ok(o) if o.app_id == app.app_id => Ok(o),
            Ok(_) => Err(PlatformError::OrderNotFound(order_no.to_string())),
            Err(e) => Err(e),
        }
    }

    /// `earlier`: the rejected order a resubmission replaces (its params fill the gaps).
    async fn check_submission(
        &self,
        app: &App,
        sub: &Submission,
        earlier: Option<&Order>,
    ) -> Result<Checked> {
        let notice_url = check_notice_url(&sub.notice_url)?;
        self.check_notice_target(&notice_url).await?;
        let pic = self.pic(app, sub.pic_id.trim()).await?;
        if pic.expires_at <= self.now() {
            return Err(PlatformError::PicExpired(pic.pic_id));
        }
        if let Some(order_no) = pic.used_by.clone() {
            return Err(PlatformError::PicUsed {
                pic_id: pic.pic_id,
                order_no,
            });
        }
        let terms = self
            .items
            .terms(pic.item_id)
            .ok_or(PlatformError::ItemUnknown(pic.item_id))?;
        let params = match earlier {
            Some(o) if o.item_id == pic.item_id => with_earlier(&sub.params, o.params.as_ref()),
            _ => sub.params.clone(),
        };
        let checked = self.items.check_params(pic.item_id, &params)?;
        let (print_param, print_fen) = if sub.is_print {
            let fen = terms
                .print_price_fen
                .ok_or(PlatformError::PrintUnavailable(pic.item_id))?;
            (Some(check_print_param(sub.print_param.as_ref())?), fen)
        } else {
            (None, 0)
        };
        Ok(Checked {
            pic,
            notice_url,
            params: checked.params,
            files: checked.files,
            is_print: sub.is_print,
            print_param,
            price_fen: terms.price_fen + print_fen,
        })
    }

    /// The SSRF guard at submit: a notice_url whose host is, or resolves only to, an
    /// internal address is refused. A name that does not resolve now is accepted (DNS may be
    /// down); the worker checks again at every delivery.
    async fn check_notice_target(&self, notice_url: &str) -> Result<()> {
        match self.settings.callbacks.check_url(notice_url).await {
            Ok(_) => Ok(()),
            Err(e @ SsrfError::Forbidden { .. }) => {
                Err(PlatformError::NoticeUrlRefused(e.to_string()))
            }
            Err(SsrfError::BadUrl(_) | SsrfError::BadCidr(_)) => Err(
                PlatformError::InvalidNoticeUrl(notice_url.chars().take(200).collect()),
            ),
            Err(e @ SsrfError::Unresolved { .. }) => {
                tracing::info!(error = %e, "notice_url does not resolve now; accepted");
                Ok(())
            }
        }
    }

    async fn put_param_files(
        &self,
        order_no: &str,
        files: &[ParamFile],
    ) -> Result<Vec<ParamFileRef>> {
        let mut refs = Vec::with_capacity(files.len());
        for f in files {
            let name = f.field.trim_start_matches("image_");
            let key = format!("order/{order_no}/{name}-{}.{}", tag(), f.ext);
            if let Err(e) = self.blobs.put(&key, f.bytes.clone()).await {
                let written: Vec<String> =
                    refs.iter().map(|r: &ParamFileRef| r.key.clone()).collect();
                self.delete_blobs(&written).await;
                return Err(e);
            }
            refs.push(ParamFileRef {
                field: f.field.clone(),
                key,
            });
        }
        Ok(refs)
    }

    async fn put_approval_images(&self, order_no: &str, a: &Approval) -> Result<StoredImages> {
        let mut stored = StoredImages::default();
        let wanted = [
            ("receipt", &a.receipt_image),
            ("image", &a.adjusted_image),
            ("print", &a.print_image),
        ];
        for (name, bytes) in wanted {
            let Some(bytes) = bytes else { continue };
            let key = format!("order/{order_no}/{name}-{}.{}", tag(), image_ext(bytes));
            if let Err(e) = self.blobs.put(&key, bytes.clone()).await {
                self.delete_blobs(&stored.keys()).await;
                return Err(e);
            }
            stored.set(name, key);
        }
        Ok(stored)
    }
}

/// Keys of images stored by one approval.
#[derive(Debug, Default)]
struct StoredImages {
    receipt: Option<String>,
    image: Option<String>,
    print: Option<String>,
}

impl StoredImages {
    fn set(&mut self, name: &str, key: String) {
        match name {
            "receipt" => self.receipt = Some(key),
            "image" => self.image = Some(key),
            _ => self.print = Some(key),
        }
    }

    fn keys(&self) -> Vec<String> {
        [&self.receipt, &self.image, &self.print]
            .into_iter()
            .flatten()
            .cloned()
            .collect()
    }
}

/// 8 random base62 characters, so that concurrent writers never share a blob key.
fn tag() -> String {
    Alphanumeric.sample_string(&mut rand::rng(), 8)
}

fn actor_of(app: &App) -> String {
    format!("app:{}", app.app_id)
}

fn first_photo(pic: &Option<Pic>) -> Option<String> {
    pic.as_ref()
        .and_then(|p| p.photos.first())
        .map(|p| p.key.clone())
}

/// The earlier order's param files a resubmission keeps (those whose field its `param`
/// leaves out, for a pic of the same spec), and the keys of the others, to delete.
fn split_files(
    earlier: &Order,
    sub: &Submission,
    item_id: i64,
) -> (Vec<ParamFileRef>, Vec<String>) {
    let same_spec = earlier.item_id == item_id;
    let (kept, dropped): (Vec<ParamFileRef>, Vec<ParamFileRef>) = earlier
        .param_files
        .iter()
        .cloned()
        .partition(|f| same_spec && sub.params.get(&f.field).is_none());
    (kept, dropped.into_iter().map(|f| f.key).collect())
}

/// `param` with the fields it leaves out taken from an earlier order's params. A `param`
/// that is not an object (or null) is passed on as it is, to be refused.
fn with_earlier(
    params: &serde_json::Value,
    earlier: Option<&serde_json::Value>,
) -> serde_json::Value {
    use serde_json::Value;
    let (Some(Value::Object(old)), Value::Object(_) | Value::Null) = (earlier, params) else {
        return params.clone();
    };
    let mut merged = old.clone();
    if let Value::Object(new) = params {
        merged.extend(new.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    Value::Object(merged)
}

fn file_keys(order: &Order) -> Vec<String> {
    order.param_files.iter().map(|f| f.key.clone()).collect()
}

/// The order after `action`, and its event; `WrongState` if the table forbids it.
fn plan(
    current: &Order,
    action: Action,
    actor: &str,
    note: Option<String>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(Order, OrderEvent)> {
    let to =
        next_status(Some(current.status), action).ok_or_else(|| PlatformError::WrongState {
            order_no: current.order_no.clone(),
            status: current.status,
            action,
        })?;
    let mut order = current.clone();
    order.status = to;
    order.updated_at = now;
    let mut ev = event(&order, Some(current.status), action, actor, note);
    ev.at = now;
    Ok((order, ev))
}

fn event(
    order: &Order,
    from: Option<OrderStatus>,
    action: Action,
    actor: &str,
    note: Option<String>,
) -> OrderEvent {
    OrderEvent {
        order_no: order.order_no.clone(),
        from,
        to: order.status,
        action,
        actor: actor.to_string(),
        note,
        at: order.updated_at,
    }
}

fn transition(
    order: Order,
    from: OrderStatus,
    event: OrderEvent,
    callback: Option<NewCallback>,
) -> Transition {
    Transition {
        order,
        from,
        event,
        callback,
        charge_fen: None,
        use_pic: false,
        reserve: false,
    }
}

/// The outbox row for the order's new status, with the seed's fields that apply.
fn callback_for(order: &Order) -> NewCallback {
    let completed = order.status == OrderStatus::Completed;
    let payload = CallbackPayload {
        status: order.status.code(),
        order_no: order.order_no.clone(),
        image_receipt_key: order.receipt_key.clone().filter(|_| completed),
        image_key: order.image_key.clone().filter(|_| completed),
        image_print_key: order.print_key.clone().filter(|_| completed),
        reject_msg: order
            .reject_msg
            .clone()
            .filter(|_| order.status == OrderStatus::Rejected),
    };
    let webhook_id = new_webhook_id();
    // In the request's span: ties its request id to the delivery's log lines.
    tracing::info!(order_no = %order.order_no, status = order.status.code(), webhook_id = %webhook_id, "callback queued");
    NewCallback {
        webhook_id,
        notice_url: order.notice_url.clone(),
        payload,
    }
}

fn new_order(
    app: &App,
    c: &Checked,
    order_no: String,
    param_files: Vec<ParamFileRef>,
    (now, due): (chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>),
) -> Order {
    Order {
        order_no,
        app_id: app.app_id,
        pic_id: c.pic.pic_id.clone(),
        item_id: c.pic.item_id,
        status: OrderStatus::Pending,
        notice_url: c.notice_url.clone(),
        params: Some(c.params.clone()),
        param_files,
        is_print: c.is_print,
        print_param: c.print_param.clone(),
        price_fen: c.price_fen,
        sla_due_at: due,
        submitted_at: now,
        updated_at: now,
        reviewed_at: None,
        completed_at: None,
        reviewer: None,
        reject_msg: None,
        receipt_no: None,
        receipt_key: None,
        image_key: None,
        print_key: None,
        purged_at: None,
    }
}

/// An absolute http(s) URL with a host, at most 2048 bytes. Returned trimmed.
/// (The SSRF guard on the resolved address is [`crate::callback::CallbackPolicy`].)
pub fn check_notice_url(raw: &str) -> Result<String> {
    let s = raw.trim();
    let bad = || PlatformError::InvalidNoticeUrl(s.chars().take(200).collect());
    if s.is_empty() || s.len() > MAX_NOTICE_URL {
        return Err(bad());
    }
    let url = url::Url::parse(s).map_err(|_| bad())?;
    let host_ok = url.host_str().is_some_and(|h| !h.is_empty());
    if !matches!(url.scheme(), "http" | "https") || !host_ok {
        return Err(bad());
    }
    Ok(s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notice_urls() {
        assert!(check_notice_url(" https://shop.example/cb?x=1 ").is_ok());
        assert!(check_notice_url("http://10.0.0.1:8080/").is_ok());
        for bad in [
            "",
            "ftp://x/",
            "javascript:alert(1)",
            "/relative",
            "http://",
            "http://:80/",
        ] {
            assert!(check_notice_url(bad).is_err(), "{bad}");
        }
        assert!(check_notice_url(&format!("https://x/{}", "a".repeat(3000))).is_err());
    }
}
