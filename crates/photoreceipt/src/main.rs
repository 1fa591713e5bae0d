//! `photoreceipt`: one binary with subcommands.

mod app;
mod callback;
mod config;
mod migrate;
mod operator;
mod order;
mod photo;
mod serve;
mod specs;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "photoreceipt",
    version,
    about = "ID photo receipts: make, review, deliver"
)]
struct Cli {
    /// Logs on stderr as text, or as one JSON object a line (with the request id of each
    /// request's lines). The level comes from PHOTORECEIPT_LOG [default: info].
    #[arg(
        long,
        global = true,
        env = "PHOTORECEIPT_LOG_FORMAT",
        value_enum,
        default_value_t = LogFormat::Text
    )]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

fn init_logs(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("PHOTORECEIPT_LOG")
        .unwrap_or_else(|_| "info".into());
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(true)
            .init(),
    }
}

#[derive(Subcommand)]
enum Command {
    /// The spec catalogue.
    Specs(specs::SpecsCmd),
    /// Merchant applications and their keys.
    App(app::AppCmd),
    /// Make ID photos offline, with no server.
    Photo(photo::PhotoCmd),
    /// Orders: list, show, take, approve, reject.
    Order(order::OrderCmd),
    /// Run the merchant API and the background jobs.
    Serve(Box<serve::ServeCmd>),
    /// Callbacks to merchants: list, show attempts, redeliver; run the delivery worker.
    Callback(callback::CallbackCmd),
    /// The console's operators (reviewers, admins).
    Operator(operator::OperatorCmd),
    /// Move an install from SQLite to PostgreSQL (and its blobs to another store).
    Migrate(migrate::MigrateCmd),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    init_logs(cli.log_format);
    let result = match cli.command {
        Command::Specs(cmd) => specs::run(cmd),
        Command::App(cmd) => app::run(cmd),
        Command::Order(cmd) => order::run(cmd),
        Command::Photo(cmd) => photo::run(cmd),
        Command::Serve(cmd) => serve::run(*cmd),
        Command::Callback(cmd) => callback::run(cmd),
        Command::Operator(cmd) => operator::run(cmd),
        Command::Migrate(cmd) => migrate::run(cmd),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
