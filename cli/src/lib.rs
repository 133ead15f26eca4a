//! The `trustplane` command: `serve` (the whole API on one machine, embedded backends by
//! default), `admin` (operator tasks against whichever backend the environment names) and
//! `completions` (shell completion scripts).

pub mod admin;
pub mod completions;
pub mod output;
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
    Admin(admin::AdminArgs),
    /// Agent side: generate a key locally, trade a provision key + CSR for a certificate.
    Provision(provision::ProvisionArgs),
    /// Print the shell completion script (bash, zsh, fish, elvish, powershell) on stdout.
    Completions(completions::CompletionsArgs),
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve::run(args).await,
        Command::Admin(args) => admin::run(args).await,
        Command::Provision(args) => provision::run(args).await,
        Command::Completions(args) => {
            completions::run(args);
            Ok(())
        }
    }
}
