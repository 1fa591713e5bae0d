//! `photoreceipt order`: the reviewers' command line, on the same data as a running `serve`.

use anyhow::Context as _;
use clap::{Args, Subcommand};
use platform::ledger::fen_to_yuan;
use platform::{
    Approval, Bytes, CallbackFilter, Order, OrderFilter, OrderStatus, Platform, Settings,
};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::app::{with_platform_settings, DataDirArg};
use crate::config::receipt_settings;

#[derive(Args)]
pub struct OrderCmd {
    #[command(flatten)]
    pub data: DataDirArg,
    /// Who acts, recorded in the order's history.
    #[arg(long = "as", global = true, default_value = "cli", value_name = "NAME")]
    pub actor: String,
    #[command(subcommand)]
    pub action: OrderAction,
}

#[derive(Subcommand)]
pub enum OrderAction {
    /// List orders, newest first (oldest first with --status: a review queue).
    List(ListArgs),
    /// Show one order with its history and callbacks (includes personal params).
    Show(ShowArgs),
    /// Take a pending order for review (1 → 2; callback 2).
    Take(NoArg),
    /// Approve an order under review (2 → 3; callback 3; the price is charged once).
    Approve(ApproveArgs),
    /// Reject an order under review (2 → -1; callback -1 with the reason).
    Reject(RejectArgs),
    /// Hand an order under review back to the queue (2 → 1; no callback).
    Release(NoArg),
}

#[derive(Args)]
pub struct ListArgs {
    /// A status code or name: 1 pending, 2 reviewing, 3 completed, -1 rejected, -2 cancelled.
    #[arg(long, value_name = "S", allow_hyphen_values = true)]
    pub status: Option<String>,
    /// Only this app's orders.
    #[arg(long, value_name = "ID")]
    pub app: Option<i64>,
    #[arg(long, default_value_t = 100)]
    pub limit: u32,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct ShowArgs {
    pub order_no: String,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct NoArg {
    pub order_no: String,
}

#[derive(Args)]
pub struct ApproveArgs {
    pub order_no: String,
    /// The authority's receipt number.
    #[arg(long, value_name = "X")]
    pub receipt_no: String,
    /// The authority's receipt image (JPEG or PNG). Without it, the receipt is rendered
    /// (the made photo stands in when the receipt font is missing).
    #[arg(long, value_name = "FILE")]
    pub receipt_image: Option<PathBuf>,
    /// The photo as adjusted by staff, sent as `image`.
    #[arg(long, value_name = "FILE")]
    pub image: Option<PathBuf>,
    /// A print-layout sheet, sent as `image_print`. Without it, specs with a print sheet get
    /// one rendered with the receipt number.
    #[arg(long, value_name = "FILE")]
    pub print_image: Option<PathBuf>,
    #[command(flatten)]
    pub receipts: ReceiptArgs,
}

/// How a rendered receipt looks; the same variables as `serve`.
#[derive(Args)]
pub struct ReceiptArgs {
    /// Base of the verification URL in the receipt's QR code (`serve`'s public URL).
    #[arg(
        long,
        env = "PHOTORECEIPT_PUBLIC_URL",
        default_value = "http://127.0.0.1:8080",
        value_name = "URL"
    )]
    pub public_url: String,
    /// The collection point printed on the receipt.
    #[arg(long, env = "PHOTORECEIPT_STUDIO_NAME", default_value = platform::receipt::DEFAULT_STUDIO, value_name = "NAME")]
    pub studio_name: String,
    /// Where the receipt font is (`wqy-microhei.ttc`) [default: $PHOTORECEIPT_MODELS_DIR, ./models].
    #[arg(long, env = "PHOTORECEIPT_MODELS_DIR", value_name = "DIR")]
    pub models: Option<PathBuf>,
}

impl ReceiptArgs {
    fn settings(&self) -> Settings {
        let models = self
            .models
            .clone()
            .unwrap_or_else(engine::vision::Models::default_dir);
        let public_url = self.public_url.trim_end_matches('/');
        Settings {
            receipts: receipt_settings(&self.studio_name, public_url, &models),
            ..Settings::default()
        }
    }
}

#[derive(Args)]
pub struct RejectArgs {
    pub order_no: String,
    /// Sent to the merchant as `reject_msg`.
    #[arg(long, value_name = "TEXT")]
    pub reason: String,
}

pub fn run(cmd: OrderCmd) -> anyhow::Result<ExitCode> {
    let actor = cmd.actor.clone();
    let settings = match &cmd.action {
        OrderAction::Approve(a) => a.receipts.settings(),
        _ => Settings::default(),
    };
    with_platform_settings(&cmd.data, settings, |p| async move {
        match cmd.action {
            OrderAction::List(a) => list(&p, a).await?,
            OrderAction::Show(a) => show(&p, &a.order_no, a.json).await?,
            OrderAction::Take(a) => moved(p.take(&a.order_no, &actor).await?),
            OrderAction::Approve(a) => moved(approve(&p, a, &actor).await?),
            OrderAction::Reject(a) => moved(p.reject(&a.order_no, &actor, &a.reason).await?),
            OrderAction::Release(a) => moved(p.release(&a.order_no, &actor).await?),
        }
        Ok(ExitCode::SUCCESS)
    })
}

fn moved(o: Order) {
    println!("order {} is now {}", o.order_no, o.status);
}

fn read_image(path: Option<&Path>) -> anyhow::Result<Option<Bytes>> {
    path.map(|p| {
        std::fs::read(p)
            .map(Bytes::from)
            .with_context(|| format!("reading {}", p.display()))
    })
    .transpose()
}

async fn approve(p: &Platform, a: ApproveArgs, actor: &str) -> anyhow::Result<Order> {
    let approval = Approval {
        receipt_no: a.receipt_no,
        receipt_image: read_image(a.receipt_image.as_deref())?,
        adjusted_image: read_image(a.image.as_deref())?,
        print_image: read_image(a.print_image.as_deref())?,
    };
    Ok(p.approve(&a.order_no, actor, approval).await?)
}

async fn list(p: &Platform, a: ListArgs) -> anyhow::Result<()> {
    let status = a
        .status
        .as_deref()
        .map(|s| OrderStatus::parse(s).with_context(|| format!("unknown status `{s}`")))
        .transpose()?;
    let filter = OrderFilter {
        status,
        app_id: a.app,
        limit: a.limit,
        oldest_first: status.is_some(),
    };
    let orders = p.orders(&filter).await?;
    if a.json {
        println!(
            "{}",
            serde_json::to_string(&orders.iter().map(summary).collect::<Vec<_>>())?
        );
        return Ok(());
    }
    println!(
        "{:<20}  {:>5}  {:>5}  {:<14} {:<19}  {:<19}  {:>8}",
        "ORDER_NO", "APP", "ITEM", "STATUS", "SUBMITTED (UTC)", "DUE (UTC)", "PRICE"
    );
    for o in &orders {
        println!(
            "{:<20}  {:>5}  {:>5}  {:<14} {:<19}  {:<19}  {:>8}",
            o.order_no,
            o.app_id,
            o.item_id,
            o.status.to_string(),
            o.submitted_at.format("%Y-%m-%d %H:%M:%S"),
            o.sla_due_at.format("%Y-%m-%d %H:%M:%S"),
            fen_to_yuan(o.price_fen)
        );
    }
    println!("{} orders", orders.len());
    Ok(())
}

fn summary(o: &Order) -> serde_json::Value {
    json!({
        "order_no": o.order_no, "app_id": o.app_id, "item_id": o.item_id,
        "status": o.status.code(), "status_name": o.status.name(),
        "submitted_at": o.submitted_at, "sla_due_at": o.sla_due_at,
        "price_yuan": fen_to_yuan(o.price_fen), "reviewer": o.reviewer,
    })
}

async fn show(p: &Platform, order_no: &str, as_json: bool) -> anyhow::Result<()> {
    let order = p.order(order_no).await?;
    let events = p.order_events(order_no).await?;
    let filter = CallbackFilter {
        order_no: Some(order_no.to_string()),
        ..Default::default()
    };
    let callbacks = p.callbacks(&filter).await?;
    if as_json {
        let v = json!({"order": order, "events": events, "callbacks": callbacks});
        println!("{v}");
        return Ok(());
    }
    print_order(&order);
    println!("history:");
    for e in &events {
        let from = e.from.map_or("-".to_string(), |s| s.code().to_string());
        let note = e.note.as_deref().unwrap_or("");
        println!(
            "  {}  {:<8} {:>2} → {:<2}  by {}  {note}",
            e.at.format("%Y-%m-%d %H:%M:%S"),
            e.action.as_str(),
            from,
            e.to.code(),
            e.actor
        );
    }
    println!("callbacks:");
    for c in &callbacks {
        println!(
            "  #{} status {:>2}  {:<10} attempts {}  {}",
            c.id,
            c.status,
            c.state.as_str(),
            c.attempts,
            c.webhook_id
        );
    }
    Ok(())
}

fn print_order(o: &Order) {
    let opt = |t: Option<chrono::DateTime<chrono::Utc>>| t.map_or("-".into(), |t| t.to_rfc3339());
    println!("order {}  {}", o.order_no, o.status);
    println!("app:        {}", o.app_id);
    println!("item:       {}", o.item_id);
    println!("pic:        {}", o.pic_id);
    println!(
        "price:      {} yuan{}",
        fen_to_yuan(o.price_fen),
        if o.is_print { " (with print)" } else { "" }
    );
    println!("notice_url: {}", o.notice_url);
    println!("submitted:  {}", o.submitted_at.to_rfc3339());
    println!("due:        {}", o.sla_due_at.to_rfc3339());
    println!("reviewed:   {}", opt(o.reviewed_at));
    println!("completed:  {}", opt(o.completed_at));
    if let Some(r) = &o.reviewer {
        println!("reviewer:   {r}");
    }
    if let Some(m) = &o.reject_msg {
        println!("rejected:   {m}");
    }
    if let Some(n) = &o.receipt_no {
        println!("receipt:    {n}");
    }
    match &o.params {
        Some(p) => println!("params:     {p}"),
        None if o.purged_at.is_some() => println!("params:     (deleted by retention)"),
        None => {}
    }
    if let Some(pp) = &o.print_param {
        println!("print to:   {pp}");
    }
}
