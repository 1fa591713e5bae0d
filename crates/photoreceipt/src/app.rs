//! `photoreceipt app`: merchant applications, their keys and balance. Works on the data dir
//! of a running `serve` (SQLite in WAL mode takes a second writer).

use anyhow::Context as _;
use clap::{Args, Subcommand};
use platform::ledger::{fen_to_yuan, parse_yuan};
use platform::{
    App, BlobStore as _, CallbackFormat, IssuedKey, NewApp, ObjectBlobStore, Platform, Settings,
};
use serde_json::json;
use std::future::Future;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// Where the install keeps its database and blobs.
#[derive(Args, Clone, Debug)]
pub struct DataDirArg {
    /// The data dir of the install (SQLite `photoreceipt.db` and `blobs/`).
    #[arg(
        long,
        global = true,
        env = "PHOTORECEIPT_DATA_DIR",
        default_value = "./data",
        value_name = "DIR"
    )]
    pub data_dir: PathBuf,
    /// Where the blobs are when not in `<data-dir>/blobs`: `s3://bucket?endpoint=…&region=…`
    /// (keys from the AWS_* variables), as given to `serve`.
    #[arg(
        long,
        global = true,
        env = "PHOTORECEIPT_STORE_URL",
        value_name = "URL"
    )]
    pub store_url: Option<String>,
}

/// `platform` with its blobs in `store_url` (S3), or as it is (the data dir's `blobs/`).
pub(crate) fn with_store(platform: Platform, store_url: Option<&str>) -> anyhow::Result<Platform> {
    let Some(url) = store_url else {
        return Ok(platform);
    };
    let store = ObjectBlobStore::open(url).with_context(|| format!("--store-url {url}"))?;
    tracing::info!(store = %store.describe(), "blob store");
    Ok(platform.with_blobs(Arc::new(store)))
}

/// Opens the platform on the data dir (and store) and runs `f` on a current-thread runtime.
pub(crate) fn with_platform<T, F, Fut>(data: &DataDirArg, f: F) -> anyhow::Result<T>
where
    F: FnOnce(Platform) -> Fut,
    Fut: Future<Output = anyhow::Result<T>>,
{
    with_platform_settings(data, Settings::default(), f)
}

/// [`with_platform`] with the platform's settings.
pub(crate) fn with_platform_settings<T, F, Fut>(
    data: &DataDirArg,
    settings: Settings,
    f: F,
) -> anyhow::Result<T>
where
    F: FnOnce(Platform) -> Fut,
    Fut: Future<Output = anyhow::Result<T>>,
{
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    rt.block_on(async {
        let platform = open_platform(data, settings).await?;
        f(platform).await
    })
}

/// The platform of `data`: the data dir's database, the blobs there or in `--store-url`.
pub(crate) async fn open_platform(
    data: &DataDirArg,
    settings: Settings,
) -> anyhow::Result<Platform> {
    let catalogue = catalogue::Catalogue::try_builtin()
        .map_err(|e| anyhow::anyhow!("loading the built-in catalogue: {e}"))?;
    let dir = &data.data_dir;
    let platform = Platform::open_embedded(dir, settings, Arc::new(catalogue))
        .await
        .with_context(|| format!("opening the data dir {}", dir.display()))?;
    with_store(platform, data.store_url.as_deref())
}

#[derive(Args)]
pub struct AppCmd {
    #[command(flatten)]
    pub data: DataDirArg,
    #[command(subcommand)]
    pub action: AppAction,
}

#[derive(Subcommand)]
pub enum AppAction {
    /// Create an app and print its key, once.
    Create(CreateArgs),
    /// List the apps.
    List(JsonArg),
    /// Show one app: balance, order counts, latest ledger rows.
    Show(IdArgs),
    /// Add to an app's balance (written to the ledger).
    Topup(TopupArgs),
    /// Replace an app's key at once and print the new one, once. The callback `sign`
    /// becomes md5 of the new key.
    RotateKey(IdArgs),
    /// Replace an app's webhook secret and print the new one. The old secret keeps signing
    /// beside it (two signatures in `webhook-signature`) for the overlap.
    RotateSecret(RotateSecretArgs),
    /// Refuse an app's key from now on (its orders still move).
    Disable(IdArgs),
    /// Accept a disabled app's key again.
    Enable(IdArgs),
}

#[derive(Args)]
pub struct CreateArgs {
    #[arg(long)]
    pub name: String,
    /// Opening balance in yuan (up to 2 decimals).
    #[arg(long, value_name = "YUAN", default_value = "0")]
    pub balance_yuan: String,
    /// A sandbox app: `pr_test_` key, never charged.
    #[arg(long)]
    pub sandbox: bool,
    /// Callbacks as JSON instead of form-urlencoded.
    #[arg(long)]
    pub json_callbacks: bool,
    /// Print one JSON object: app_id, key, sign, webhook_secret.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct JsonArg {
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct IdArgs {
    pub app_id: i64,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct RotateSecretArgs {
    pub app_id: i64,
    /// How long the old secret keeps signing too; 0 drops it at once.
    #[arg(long, default_value = "24h", value_name = "DURATION")]
    pub overlap: String,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct TopupArgs {
    pub app_id: i64,
    /// Amount in yuan (up to 2 decimals), positive.
    #[arg(long, value_name = "YUAN")]
    pub yuan: String,
}

pub fn run(cmd: AppCmd) -> anyhow::Result<ExitCode> {
    with_platform(&cmd.data, |p| async move {
        match cmd.action {
            AppAction::Create(a) => create(&p, a).await,
            AppAction::List(a) => list(&p, a.json).await,
            AppAction::Show(a) => show(&p, a.app_id, a.json).await,
            AppAction::Topup(a) => topup(&p, a).await,
            AppAction::RotateKey(a) => rotate(&p, a).await,
            AppAction::RotateSecret(a) => rotate_secret(&p, a).await,
            AppAction::Disable(a) => set_disabled(&p, a.app_id, true).await,
            AppAction::Enable(a) => set_disabled(&p, a.app_id, false).await,
        }?;
        Ok(ExitCode::SUCCESS)
    })
}

fn yuan(s: &str) -> anyhow::Result<i64> {
    parse_yuan(s).with_context(|| format!("`{s}` is not an amount in yuan (e.g. 100 or 12.50)"))
}

async fn create(p: &Platform, a: CreateArgs) -> anyhow::Result<()> {
    let new = NewApp {
        name: a.name,
        balance_fen: yuan(&a.balance_yuan)?,
        sandbox: a.sandbox,
        callback_format: if a.json_callbacks {
            CallbackFormat::Json
        } else {
            CallbackFormat::Form
        },
    };
    let issued = p.create_app(new).await?;
    print_key(&issued, a.json, "created");
    Ok(())
}

fn print_key(issued: &IssuedKey, as_json: bool, verb: &str) {
    let app = &issued.app;
    if as_json {
        let v = json!({"app_id": app.app_id, "key": issued.key, "sign": app.sign,
                       "webhook_secret": app.webhook_secret});
        println!("{v}");
        return;
    }
    let kind = if app.sandbox { "sandbox" } else { "live" };
    println!("app {} \"{}\" {verb} ({kind})", app.app_id, app.name);
    println!("key:            {}", issued.key);
    println!("sign:           {}", app.sign);
    println!("webhook secret: {}", app.webhook_secret);
    println!("balance:        {} yuan", fen_to_yuan(app.balance_fen));
    println!("The key is shown only now; it is stored hashed.");
}

fn app_json(app: &App) -> serde_json::Value {
    json!({
        "app_id": app.app_id, "name": app.name, "key_prefix": app.key_prefix,
        "balance_yuan": fen_to_yuan(app.balance_fen), "balance_fen": app.balance_fen,
        "sandbox": app.sandbox, "disabled": app.disabled,
        "callback_format": app.callback_format.as_str(), "created_at": app.created_at,
    })
}

async fn list(p: &Platform, as_json: bool) -> anyhow::Result<()> {
    let apps = p.apps().await?;
    if as_json {
        let v: Vec<_> = apps.iter().map(app_json).collect();
        println!("{}", serde_json::Value::Array(v));
        return Ok(());
    }
    println!(
        "{:>5}  {:<24} {:<13} {:>12}  {:<7} {:<8}",
        "ID", "NAME", "KEY", "BALANCE", "KIND", "STATE"
    );
    for a in &apps {
        println!(
            "{:>5}  {:<24} {:<13} {:>12}  {:<7} {:<8}",
            a.app_id,
            a.name,
            format!("{}…", a.key_prefix),
            fen_to_yuan(a.balance_fen),
            if a.sandbox { "sandbox" } else { "live" },
            if a.disabled { "disabled" } else { "active" }
        );
    }
    println!("{} apps", apps.len());
    Ok(())
}

async fn show(p: &Platform, app_id: i64, as_json: bool) -> anyhow::Result<()> {
    let app = p.app(app_id).await?;
    let info = p.user_info(&app).await?;
    let ledger = p.ledger(app_id, 10).await?;
    if as_json {
        let mut v = app_json(&app);
        v["available_yuan"] = json!(fen_to_yuan(info.available_fen));
        v["orders"] = json!(info
            .orders
            .0
            .iter()
            .map(|(s, n)| (s.code().to_string(), json!(n)))
            .collect::<serde_json::Map<_, _>>());
        v["ledger"] = serde_json::to_value(&ledger)?;
        println!("{v}");
        return Ok(());
    }
    println!("app {} \"{}\"", app.app_id, app.name);
    println!("key:       {}… (stored hashed)", app.key_prefix);
    println!(
        "kind:      {}",
        if app.sandbox { "sandbox" } else { "live" }
    );
    println!(
        "state:     {}",
        if app.disabled { "disabled" } else { "active" }
    );
    println!("callbacks: {}", app.callback_format.as_str());
    println!("created:   {}", app.created_at.to_rfc3339());
    println!("balance:   {} yuan", fen_to_yuan(app.balance_fen));
    println!("available: {} yuan", fen_to_yuan(info.available_fen));
    let counts: Vec<String> = info
        .orders
        .0
        .iter()
        .map(|(s, n)| format!("{} {n}", s.name()))
        .collect();
    println!(
        "orders:    {}",
        if counts.is_empty() {
            "none".into()
        } else {
            counts.join(", ")
        }
    );
    for e in &ledger {
        println!(
            "  {}  {:<6} {:>10}  → {:>10}  {}",
            e.at.format("%Y-%m-%d %H:%M:%S"),
            e.kind.as_str(),
            fen_to_yuan(e.amount_fen),
            fen_to_yuan(e.balance_after),
            e.order_no.as_deref().or(e.note.as_deref()).unwrap_or("")
        );
    }
    Ok(())
}

async fn topup(p: &Platform, a: TopupArgs) -> anyhow::Result<()> {
    let entry = p.topup(a.app_id, yuan(&a.yuan)?, "cli").await?;
    println!(
        "app {}: +{} yuan, balance {} yuan",
        a.app_id,
        fen_to_yuan(entry.amount_fen),
        fen_to_yuan(entry.balance_after)
    );
    Ok(())
}

async fn rotate(p: &Platform, a: IdArgs) -> anyhow::Result<()> {
    let issued = p.rotate_key(a.app_id).await?;
    print_key(&issued, a.json, "has a new key");
    Ok(())
}

async fn rotate_secret(p: &Platform, a: RotateSecretArgs) -> anyhow::Result<()> {
    let overlap = crate::config::parse_duration(&a.overlap)
        .and_then(|d| chrono::TimeDelta::from_std(d).ok())
        .with_context(|| format!("--overlap: `{}` is not a duration (e.g. 24h)", a.overlap))?;
    let app = p.rotate_webhook_secret(a.app_id, overlap).await?;
    let until = app.prev_webhook_secret_until;
    if a.json {
        let v = json!({"app_id": app.app_id, "webhook_secret": app.webhook_secret,
                       "previous_valid_until": until});
        println!("{v}");
        return Ok(());
    }
    println!(
        "app {} \"{}\" has a new webhook secret",
        app.app_id, app.name
    );
    println!("webhook secret: {}", app.webhook_secret);
    match until {
        Some(t) => println!("The previous secret also signs until {}.", t.to_rfc3339()),
        None => println!("The previous secret no longer signs."),
    }
    Ok(())
}

async fn set_disabled(p: &Platform, app_id: i64, disabled: bool) -> anyhow::Result<()> {
    let app = p.set_disabled(app_id, disabled).await?;
    let state = if app.disabled { "disabled" } else { "enabled" };
    println!("app {} \"{}\" {state}", app.app_id, app.name);
    Ok(())
}
