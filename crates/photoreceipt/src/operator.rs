//! `photoreceipt operator`: the console's reviewers and admins.

use clap::{Args, Subcommand};
use platform::Role;
use serde_json::json;
use std::process::ExitCode;

use crate::app::{with_platform, DataDirArg};

#[derive(Args)]
pub struct OperatorCmd {
    #[command(flatten)]
    pub data: DataDirArg,
    #[command(subcommand)]
    pub action: OperatorAction,
}

#[derive(Subcommand)]
pub enum OperatorAction {
    /// Create an operator and print a one-time password, once.
    Create(CreateArgs),
    /// List the operators.
    List,
    /// Refuse an operator's logins and end their sessions.
    Disable(NameArg),
    /// Accept a disabled or locked-out operator again.
    Enable(NameArg),
}

#[derive(Args)]
pub struct CreateArgs {
    /// 1–40 of A–Z a–z 0–9 . _ -
    #[arg(long)]
    pub name: String,
    #[arg(long, value_parser = ["reviewer", "admin"])]
    pub role: String,
    /// Print one JSON object: name, role, password.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct NameArg {
    pub name: String,
}

/// The actor in the audit log for command-line changes.
const ACTOR: &str = "cli";

pub fn run(cmd: OperatorCmd) -> anyhow::Result<ExitCode> {
    with_platform(&cmd.data, |p| async move {
        match cmd.action {
            OperatorAction::Create(a) => {
                let role = Role::parse(&a.role).unwrap_or(Role::Reviewer);
                let (op, password) = p.create_operator(&a.name, role, ACTOR).await?;
                if a.json {
                    println!(
                        "{}",
                        json!({"name": op.name, "role": op.role, "password": password})
                    );
                } else {
                    println!("operator {} ({})", op.name, op.role.as_str());
                    println!("one-time password (shown once): {password}");
                }
            }
            OperatorAction::List => {
                let now = p.now();
                for o in p.operators().await? {
                    let state = match (o.disabled, o.locked_at(now)) {
                        (true, _) => "disabled",
                        (false, true) => "locked",
                        _ => "active",
                    };
                    println!("{}\t{}\t{state}", o.name, o.role.as_str());
                }
            }
            OperatorAction::Disable(n) => {
                p.set_operator_disabled(&n.name, true, ACTOR).await?;
                println!("operator {} disabled", n.name);
            }
            OperatorAction::Enable(n) => {
                p.set_operator_disabled(&n.name, false, ACTOR).await?;
                println!("operator {} enabled", n.name);
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}
