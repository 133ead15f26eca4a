//! The `trustplane` command: `serve` (the whole API on one machine, embedded backends by
//! default) and `admin` (operator tasks against whichever backend the environment names).

pub mod admin;
pub mod provision;
pub mod serve;

use clap::{Parser, Subcommand};

/// Trustplane: a private PKI and provisioning plane.
#[derive(Debug, Parser)]
#[command(name = "trustplane", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run every endpoint group, the workers and the blob server on one port.
    Serve(serve::ServeArgs),
    /// Operator tasks (mint the first admin key of an AWS deployment, ...).
    #[command(subcommand)]
    Admin(admin::AdminCommand),
    /// Agent side: generate a key locally, trade a provision key + CSR for a certificate.
    Provision(provision::ProvisionArgs),
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve::run(args).await,
        Command::Admin(cmd) => admin::run(cmd).await,
        Command::Provision(args) => provision::run(args).await,
    }
}
