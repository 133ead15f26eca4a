//! `trustplane admin`: operator tasks that go straight to the configured backend, e.g. minting
//! the first admin key of an AWS deployment with the operator's AWS credentials.

use anyhow::Context;
use clap::{Args, Subcommand};
use trustplane_core::config::{Backend, Config};
use trustplane_core::domain::Scopes;
use trustplane_core::services::api_keys::{ApiKeys, KeyName};

/// Admin subcommands.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Mint an API key and print it once (TRUSTPLANE_BACKEND=aws + TABLE_NAME for a deployment).
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
    /// Display name of the key.
    #[arg(long, default_value = "operator")]
    pub name: String,
    /// Scopes, comma-separated (e.g. `admin` or `ca:read,ca:sign`).
    #[arg(long, value_delimiter = ',', default_value = "admin")]
    pub scopes: Vec<String>,
    /// The embedded backend's data directory (ignored for the AWS backend).
    #[arg(long, env = "TRUSTPLANE_DATA_DIR", default_value = "./.trustplane")]
    pub data_dir: std::path::PathBuf,
}

/// Runs an admin subcommand.
pub async fn run(cmd: AdminCommand) -> anyhow::Result<()> {
    match cmd {
        AdminCommand::CreateKey(args) => create_key(args).await,
        AdminCommand::InitCa(args) => init_ca(args).await,
        AdminCommand::OrphanKeys(args) => orphan_keys(args).await,
        AdminCommand::Redrive(args) => redrive(args).await,
    }
}

async fn create_key(args: CreateKeyArgs) -> anyhow::Result<()> {
    let (name, scopes) = (KeyName::parse(&args.name)?, Scopes::parse(&args.scopes)?);
    let mut config = Config::from_env()?;
    config.data_dir = args.data_dir;
    let (ports, _) = trustplane_core::wiring::open(&config).await.context("opening the backend")?;
    let new = ApiKeys::new(ports.store).create(name, scopes).await?;
    println!("{}", serde_json::json!({ "id": new.record.id, "name": new.record.name, "scopes": new.record.scopes.names(), "key": new.secret }));
    Ok(())
}

async fn init_ca(args: InitCaArgs) -> anyhow::Result<()> {
    let mut config = Config::from_env()?;
    config.data_dir = args.data_dir;
    let (ports, _) = trustplane_core::wiring::open(&config).await.context("opening the backend")?;
    let config = std::sync::Arc::new(config);
    let pki = trustplane_core::services::pki::Pki::new(ports.clone(), config.clone());
    let id = trustplane_core::services::default_issuer::ensure_default_hierarchy(&pki, &config, ports.store.as_ref()).await?;
    let chain = pki.chain(&id).await?;
    println!("{}", serde_json::json!({ "default_issuer_id": id, "chain_length": chain.len() }));
    Ok(())
}

async fn orphan_keys(args: OrphanKeysArgs) -> anyhow::Result<()> {
    let mut config = Config::from_env()?;
    config.data_dir = args.data_dir;
    let (ports, _) = trustplane_core::wiring::open(&config).await.context("opening the backend")?;
    let pki = trustplane_core::services::pki::Pki::new(ports, std::sync::Arc::new(config));
    let orphans = pki.orphan_keys().await?;
    let discarded = match args.delete {
        true => pki.discard_tagged_orphans().await?.into_iter().map(|o| o.key.key_ref).collect(),
        false => Vec::new(),
    };
    println!("{}", serde_json::json!({ "orphans": orphans, "scheduledForDeletion": discarded }));
    Ok(())
}

async fn redrive(args: RedriveArgs) -> anyhow::Result<()> {
    let mut config = Config::from_env()?;
    config.data_dir = args.data_dir;
    let redriven = match config.backend {
        Backend::Aws => trustplane_core::adapters::aws::bootstrap::redrive_dead_letters(&config).await?,
        Backend::Local => local_redrive(&config).await?,
    };
    println!("{}", serde_json::json!({ "redriven": redriven }));
    Ok(())
}

/// Moves the embedded queue's dead letters (JOBDLQ) back to JOBQ.
async fn local_redrive(config: &Config) -> anyhow::Result<usize> {
    let (_, queue) = trustplane_core::wiring::open(config).await.context("opening the backend")?;
    let queue = queue.ok_or_else(|| anyhow::anyhow!("the embedded backend opened without its queue"))?;
    Ok(queue.redrive().await?)
}
