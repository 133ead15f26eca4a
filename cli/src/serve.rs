//! `trustplane serve`: every endpoint group's router merged on its API Gateway paths, the
//! workers draining the in-process queue, published blobs served from the data dir, behind its
//! own connection limits ([`Limits`]).

mod deadline;
mod docs;
mod guard;
mod head_check;
mod limits;
mod listener;
mod tls;
#[cfg(test)]
mod crl_refresh_tests;

pub use limits::Limits;
pub use tls::TlsArgs;

use anyhow::Context;
use async_trait::async_trait;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use clap::Args;
use std::net::SocketAddr;
use std::path::{Path as FsPath, PathBuf};
use trustplane_core::config::Config;
use trustplane_core::domain::{BlobKey, Scopes};
use trustplane_core::http::{health, with_common_layers, AppState, ErrorFormat};
use trustplane_core::jobs::{Job, JobHandler};
use trustplane_core::services::acme::AcmeSettings;
use trustplane_core::services::api_keys::KeyName;
use trustplane_core::services::default_issuer;
use trustplane_core::services::devices::Devices;
use trustplane_core::services::pki::Pki;
use trustplane_core::services::tenants::Tenants;
use trustplane_core::Error;

/// `serve` flags.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "TRUSTPLANE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Where everything is kept (SQLite file, CA key files, published blobs, the admin key).
    #[arg(long, env = "TRUSTPLANE_DATA_DIR", default_value = "./.trustplane")]
    pub data_dir: PathBuf,
    /// Timeouts and the connection cap.
    #[command(flatten)]
    pub limits: Limits,
    /// HTTPS.
    #[command(flatten)]
    pub tls: TlsArgs,
}

/// The file the first admin key is written to (mode 0600).
pub const ADMIN_KEY_FILE: &str = "admin-api-key";

/// Dispatches queued jobs to the workers (the same code the SQS-triggered functions run).
pub struct Workers {
    crl: crl_publisher::CrlWorker,
    tenants: tenant_worker::TenantWorker,
    devices: device_worker::DeviceWorker,
}

#[async_trait]
impl JobHandler for Workers {
    async fn handle(&self, body: &str) -> trustplane_core::Result<()> {
        self.handle_delivery(body, 1).await
    }

    async fn handle_delivery(&self, body: &str, receive_count: u32) -> trustplane_core::Result<()> {
        match Job::from_body(body)? {
            Job::PublishCrl { .. } | Job::ValidateAcmeChallenge { .. } => self.crl.handle(body).await,
            Job::ProvisionTenant { .. } | Job::NotifyTenant { .. } => self.tenants.handle_delivery(body, receive_count).await,
            Job::ProvisionDevice { .. } => self.devices.handle_delivery(body, receive_count).await,
        }
    }
}

/// Runs the server until SIGINT/SIGTERM.
pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let mut config = Config::from_env()?;
    config.data_dir = args.data_dir.clone();
    trustplane_core::telemetry::init(config.log_format);
    create_private_dir(&config.data_dir)?;
    let (ports, queue) = trustplane_core::wiring::open(&config).await.context("opening the backend")?;
    if config.backend == trustplane_core::config::Backend::Local {
        trustplane_core::services::devices::live::enable();
    }
    let state = AppState::new(config, ports);
    let acme = acme_api::AcmeState::new(state.clone(), AcmeSettings::from_env().context("reading the ACME settings")?);
    ensure_admin_key(&state, &args.data_dir).await?;
    let pki = Pki::new(state.ports.clone(), state.config.clone());
    let issuer = default_issuer::ensure_default_hierarchy(&pki, &state.config, state.ports.store.as_ref()).await?;
    tracing::info!(default_issuer = %issuer, "default issuing authority");
    let tls = match args.tls.tls {
        true => Some(tls::Tls::prepare(&args.tls, &pki, &issuer, args.listen, &args.data_dir).await.context("preparing TLS")?),
        false => None,
    };
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let refresh = tokio::spawn(republish_crls(pki.clone(), state.config.crl_validity_hours, stop_rx.clone()));
    let tenants = Tenants::new(&state.ports, state.config.clone());
    let sweep = tokio::spawn(sweep_tenants(tenants.clone(), stop_rx.clone()));
    let devices = device_worker::DeviceWorker::new(Devices::new(&state.ports, state.config.clone()));
    let crl = crl_publisher::CrlWorker::new(pki).with_acme(acme.service());
    let workers = std::sync::Arc::new(Workers { crl, tenants: tenant_worker::TenantWorker::new(tenants), devices });
    let tls_config = tls.as_ref().map(|t| t.config.clone());
    let renewal = tls.map(|t| tokio::spawn(t.renew_until(stop_rx.clone())));
    let drain = queue.map(|q| tokio::spawn(q.run(workers, stop_rx)));
    let listener = tokio::net::TcpListener::bind(args.listen).await.with_context(|| format!("binding {}", args.listen))?;
    let scheme = if tls_config.is_some() { "https" } else { "http" };
    tracing::info!(listen = %listener.local_addr()?, scheme, data_dir = %args.data_dir.display(), limits = ?args.limits, "trustplane serving");
    let max_body_bytes = state.config.max_body_bytes;
    // Open SSE streams end (with their `retry:` hint) at shutdown, or the graceful drain
    // would wait out their lifetimes.
    let shutdown = async {
        shutdown_signal().await;
        device_events::end_streams();
    };
    listener::serve(listener, app(state, acme), args.limits, max_body_bytes, tls_config, shutdown).await;
    let _ = stop_tx.send(true);
    if let Some(renewal) = renewal {
        let _ = renewal.await;
    }
    let _ = refresh.await;
    let _ = sweep.await;
    if let Some(drain) = drain {
        let _ = drain.await;
    }
    tracing::info!("trustplane stopped");
    Ok(())
}

/// What the SAM template's `Republish` schedule does on AWS, from start-up on: queue a
/// publication for every authority whose CRL is past half its validity (or was never stored),
/// which the in-process queue's CRL worker then publishes; so a server that was down for a
/// while refreshes its stale CRLs at once, not only after its first period.
async fn republish_crls(pki: Pki, validity_hours: u32, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(crl_check_period(validity_hours));
    loop {
        tokio::select! {
            _ = tick.tick() => {
                match pki.enqueue_due_crls().await {
                    Ok(0) => {}
                    Ok(queued) => tracing::info!(queued, "stale CRLs queued for republication"),
                    Err(e) => tracing::error!(error = %e, "scheduled CRL republication failed"),
                }
            }
            _ = stop.changed() => return,
        }
    }
}

/// How often `serve` looks for due CRLs: hourly as the template's schedule, or every eighth of
/// the validity if that is shorter, so a CRL is replaced by five eighths of its validity.
fn crl_check_period(validity_hours: u32) -> std::time::Duration {
    std::time::Duration::from_secs((u64::from(validity_hours) * 450).min(3600))
}

/// What the template's `Sweep` schedule does on AWS: every minute, re-enqueue tenants stuck in
/// `QUEUED`/`Provisioning` past `TENANT_STUCK_AFTER_SECONDS` (a lost job, a crashed worker).
async fn sweep_tenants(tenants: Tenants, mut stop: tokio::sync::watch::Receiver<bool>) {
    let period = std::time::Duration::from_secs(60);
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if let Err(e) = tenants.sweep().await {
                    tracing::error!(error = %e, "tenant sweep failed");
                }
            }
            _ = stop.changed() => return,
        }
    }
}

/// Every group's routes, `/health`, published blobs, the OpenAPI document and Swagger UI
/// ([`docs`]), and a problem+json 404 for the rest; `acme` is the ACME group's state (its
/// settings read once at start, shared with the worker that validates challenges).
pub fn app(state: AppState, acme: acme_api::AcmeState) -> Router {
    let max = state.config.max_body_bytes;
    let extras = health::router()
        .merge(docs::routes())
        .route("/crl/{file}", get(published_crl))
        .fallback(trustplane_core::http::fallback)
        .with_state(state.clone());
    Router::new()
        .merge(admin_api::router(state.clone()))
        .merge(acme_api::router(acme))
        .merge(ca_api::router(state.clone()))
        .merge(pki_api::router(state.clone()))
        .merge(provision_api::router(state.clone()))
        .merge(tenants_api::router(state.clone()))
        .merge(devices_api::router(state.clone()))
        .merge(device_events::router(state.clone()))
        .merge(with_common_layers(extras, ErrorFormat::Problem, max))
}

/// `GET /crl/{authorityId}.crl`: the published CRL, as S3 serves it in AWS mode.
async fn published_crl(State(state): State<AppState>, Path(file): Path<String>) -> Result<impl IntoResponse, Error> {
    let key = BlobKey::parse(&format!("crl/{file}")).map_err(|_| Error::NotFound("CRL".into()))?;
    let bytes = state.ports.blobs.get(&key).await?.ok_or_else(|| Error::NotFound("CRL".into()))?;
    Ok(([(http::header::CONTENT_TYPE, "application/pkix-crl")], bytes))
}

async fn ensure_admin_key(state: &AppState, data_dir: &FsPath) -> anyhow::Result<()> {
    if state.api_keys.any_exist().await? {
        return Ok(());
    }
    let new = state.api_keys.create(KeyName::parse("admin")?, Scopes::all()).await?;
    write_private_file(&data_dir.join(ADMIN_KEY_FILE), format!("{}\n", new.secret).as_bytes())?;
    println!("Created the first admin API key (shown once; also in {}):\n{}", data_dir.join(ADMIN_KEY_FILE).display(), new.secret);
    Ok(())
}

pub(crate) fn create_private_dir(dir: &FsPath) -> anyhow::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).with_context(|| format!("creating {}", dir.display()))
}

fn write_private_file(path: &FsPath, contents: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    file.write_all(contents)?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutdown signal received");
}
