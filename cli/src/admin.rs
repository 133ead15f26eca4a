//! `trustplane admin`: operator tasks that go straight to the configured backend, e.g. minting
//! the first admin key of an AWS deployment with the operator's AWS credentials.

use crate::output::{progress, Column, Output};
use anyhow::Context;
use clap::{Args, Subcommand};
use serde_json::{json, Value};
use trustplane_core::config::{Backend, Config};
use trustplane_core::domain::Scopes;
use trustplane_core::services::api_keys::{ApiKeys, KeyName};

/// `trustplane admin [--output json|table] <command>`.
#[derive(Debug, Args)]
pub struct AdminArgs {
    /// How to print the result: one JSON document, or a table with a header row.
    #[arg(long, value_enum, global = true, default_value_t = Output::Json)]
    pub output: Output,
    /// The task.
    #[command(subcommand)]
    pub command: AdminCommand,
}

/// Admin subcommands.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Mint an API key (or `--count` of them) and print it once (TRUSTPLANE_BACKEND=aws +
    /// TABLE_NAME for a deployment).
    CreateKey(CreateKeyArgs),
    /// Create the default issuing hierarchy (root + issuing intermediate, EC P-256, keys in the
    /// configured custody: KMS on AWS) unless one exists, and record it as the default issuer.
    InitCa(InitCaArgs),
    /// List CA keys in custody that no authority holds (tagged orphan when their authority
    /// could not be stored, or untracked); with `--delete`, schedule the tagged ones for
    /// deletion (KMS: 7-day waiting period).
    OrphanKeys(OrphanKeysArgs),
    /// Move every dead-lettered job back to its queue (embedded backend: JOBDLQ to JOBQ with
    /// attempts reset, which a running `serve` picks up on its next poll; AWS: the messages of
    /// the job and tenant queues' DLQs back to JOB_QUEUE_URL and TENANT_QUEUE_URL).
    Redrive(RedriveArgs),
}

/// `admin redrive` flags.
#[derive(Debug, Args)]
pub struct RedriveArgs {
    /// The embedded backend's data directory (ignored for the AWS backend).
    #[arg(long, env = "TRUSTPLANE_DATA_DIR", default_value = "./.trustplane")]
    pub data_dir: std::path::PathBuf,
}

/// `admin orphan-keys` flags.
#[derive(Debug, Args)]
pub struct OrphanKeysArgs {
    /// Schedule the deletion of the keys tagged orphan (untracked keys are only listed).
    #[arg(long)]
    pub delete: bool,
    /// The embedded backend's data directory (ignored for the AWS backend).
    #[arg(long, env = "TRUSTPLANE_DATA_DIR", default_value = "./.trustplane")]
    pub data_dir: std::path::PathBuf,
}

/// `admin init-ca` flags.
#[derive(Debug, Args)]
pub struct InitCaArgs {
    /// The embedded backend's data directory (ignored for the AWS backend).
    #[arg(long, env = "TRUSTPLANE_DATA_DIR", default_value = "./.trustplane")]
    pub data_dir: std::path::PathBuf,
}

/// `admin create-key` flags.
#[derive(Debug, Args)]
pub struct CreateKeyArgs {
    /// Display name of the key (with `--count`, `<name>-1` to `<name>-<count>`).
    #[arg(long, default_value = "operator")]
    pub name: String,
    /// How many keys to mint; more than one prints a JSON array.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub count: u32,
    /// Scopes, comma-separated (e.g. `admin` or `ca:read,ca:sign`).
    #[arg(long, value_delimiter = ',', default_value = "admin")]
    pub scopes: Vec<String>,
    /// The embedded backend's data directory (ignored for the AWS backend).
    #[arg(long, env = "TRUSTPLANE_DATA_DIR", default_value = "./.trustplane")]
    pub data_dir: std::path::PathBuf,
}

/// Runs an admin subcommand.
pub async fn run(args: AdminArgs) -> anyhow::Result<()> {
    let output = args.output;
    match args.command {
        AdminCommand::CreateKey(args) => create_key(args, output).await,
        AdminCommand::InitCa(args) => init_ca(args, output).await,
        AdminCommand::OrphanKeys(args) => orphan_keys(args, output).await,
        AdminCommand::Redrive(args) => redrive(args, output).await,
    }
}

/// The configuration from the environment over `data_dir`.
fn config_in(data_dir: std::path::PathBuf) -> anyhow::Result<Config> {
    let mut config = Config::from_env()?;
    config.data_dir = data_dir;
    Ok(config)
}

const KEY_COLUMNS: &[Column] = &[("ID", "id"), ("NAME", "name"), ("SCOPES", "scopes"), ("KEY", "key")];

async fn create_key(args: CreateKeyArgs, output: Output) -> anyhow::Result<()> {
    let names = key_names(&args.name, args.count)?;
    let scopes = Scopes::parse(&args.scopes)?;
    let config = config_in(args.data_dir)?;
    let (ports, _) = trustplane_core::wiring::open(&config).await.context("opening the backend")?;
    let keys = ApiKeys::new(ports.store);
    let bar = progress(names.len(), "creating keys");
    let mut created = Vec::with_capacity(names.len());
    for name in names {
        let new = keys.create(name, scopes.clone()).await?;
        created.push(json!({ "id": new.record.id, "name": new.record.name, "scopes": new.record.scopes.names(), "key": new.secret }));
        bar.inc(1);
    }
    bar.finish_and_clear();
    let document = match created.as_slice() {
        [one] => one.clone(),
        _ => Value::Array(created.clone()),
    };
    output.print(&document, KEY_COLUMNS, &created);
    Ok(())
}

/// `name`, or `name-1` to `name-<count>`, each checked before anything is written.
fn key_names(name: &str, count: u32) -> anyhow::Result<Vec<KeyName>> {
    match count {
        1 => Ok(vec![KeyName::parse(name)?]),
        _ => (1..=count).map(|i| Ok(KeyName::parse(&format!("{name}-{i}"))?)).collect(),
    }
}

async fn init_ca(args: InitCaArgs, output: Output) -> anyhow::Result<()> {
    let config = config_in(args.data_dir)?;
    let (ports, _) = trustplane_core::wiring::open(&config).await.context("opening the backend")?;
    let config = std::sync::Arc::new(config);
    let pki = trustplane_core::services::pki::Pki::new(ports.clone(), config.clone());
    let id = trustplane_core::services::default_issuer::ensure_default_hierarchy(&pki, &config, ports.store.as_ref()).await?;
    let chain = pki.chain(&id).await?;
    let document = json!({ "default_issuer_id": id, "chain_length": chain.len() });
    output.print(&document, &[("DEFAULT ISSUER", "default_issuer_id"), ("CHAIN LENGTH", "chain_length")], std::slice::from_ref(&document));
    Ok(())
}

async fn orphan_keys(args: OrphanKeysArgs, output: Output) -> anyhow::Result<()> {
    let config = config_in(args.data_dir)?;
    let (ports, _) = trustplane_core::wiring::open(&config).await.context("opening the backend")?;
    let pki = trustplane_core::services::pki::Pki::new(ports, std::sync::Arc::new(config));
    let orphans = pki.orphan_keys().await?;
    let discarded: Vec<String> = match args.delete {
        true => pki.discard_tagged_orphans().await?.into_iter().map(|o| o.key.key_ref).collect(),
        false => Vec::new(),
    };
    let document = json!({ "orphans": orphans, "scheduledForDeletion": discarded });
    let rows: Vec<Value> = orphans
        .iter()
        .map(|o| json!({ "keyRef": o.key.key_ref, "owner": o.key.owner, "reason": o.reason, "scheduled": discarded.contains(&o.key.key_ref) }))
        .collect();
    output.print(&document, &[("KEY", "keyRef"), ("OWNER", "owner"), ("REASON", "reason"), ("SCHEDULED FOR DELETION", "scheduled")], &rows);
    Ok(())
}

async fn redrive(args: RedriveArgs, output: Output) -> anyhow::Result<()> {
    let config = config_in(args.data_dir)?;
    let moved = match config.backend {
        Backend::Aws => trustplane_core::adapters::aws::bootstrap::redrive_dead_letters(&config).await?,
        Backend::Local => vec![("jobs", local_redrive(&config).await?)],
    };
    let rows: Vec<Value> = moved.iter().map(|(queue, n)| json!({ "queue": queue, "redriven": n })).collect();
    let document = json!({ "redriven": moved.iter().map(|(_, n)| n).sum::<usize>() });
    output.print(&document, &[("QUEUE", "queue"), ("REDRIVEN", "redriven")], &rows);
    Ok(())
}

/// Moves the embedded queue's dead letters (JOBDLQ) back to JOBQ.
async fn local_redrive(config: &Config) -> anyhow::Result<usize> {
    let (_, queue) = trustplane_core::wiring::open(config).await.context("opening the backend")?;
    let queue = queue.ok_or_else(|| anyhow::anyhow!("the embedded backend opened without its queue"))?;
    Ok(queue.redrive().await?)
}
