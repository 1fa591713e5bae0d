//! `photoreceipt`: one binary with subcommands.

mod app;
mod callback;
mod config;
mod migrate;
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
    #[command(subcommand)]
    command: Command,
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
    /// Move an install from SQLite to PostgreSQL (and its blobs to another store).
    Migrate(migrate::MigrateCmd),
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PHOTORECEIPT_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Specs(cmd) => specs::run(cmd),
        Command::App(cmd) => app::run(cmd),
        Command::Order(cmd) => order::run(cmd),
        Command::Photo(cmd) => photo::run(cmd),
        Command::Serve(cmd) => serve::run(*cmd),
        Command::Callback(cmd) => callback::run(cmd),
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
