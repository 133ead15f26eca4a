//! Tenant provisioning (seed 003): sign-up with a single-use confirm token, an at-least-once
//! worker that creates, migrates and seeds a real database per tenant, rollback, status, and
//! the operators' list/retry/deprovision.

mod admin;
mod confirm;
mod cursor;
mod deprovision;
mod init;
mod notify;
mod outcome;
pub mod records;
pub mod token;
mod worker;

pub use admin::TenantPage;
pub use init::{InitRequest, Initialized};
pub use notify::{Notification, Webhook, SIGNATURE_HEADER, TIMESTAMP_HEADER};
pub use confirm::missing_authorization;
pub use records::{StepName, StepRecord, StepStatus, TenantRecord, TenantStatus};

use crate::config::Config;
use crate::error::{Error, Result};
use crate::jobs::Job;
use crate::ports::{Item, MacKey, Queue, Store, TenantDatabases};
use crate::wiring::Ports;
use std::sync::Arc;

/// The tenant service over its narrow ports.
#[derive(Clone)]
pub struct Tenants {
    store: Arc<dyn Store>,
    /// The deployment's MAC key: the tenant list's cursors.
    mac: Arc<dyn MacKey>,
    /// The confirm-token key.
    token_key: Arc<dyn MacKey>,
    queue: Arc<dyn Queue>,
    dbs: Arc<dyn TenantDatabases>,
    config: Arc<Config>,
    /// The configured webhook, built on first use (a worker's cold start), then shared.
    webhook: Arc<tokio::sync::OnceCell<Option<Webhook>>>,
}

impl Tenants {
    /// The service over the ports of `ports`.
    pub fn new(ports: &Ports, config: Arc<Config>) -> Self {
        Tenants {
            store: ports.store.clone(),
            mac: ports.mac.clone(),
            token_key: ports.token_key.clone(),
            queue: ports.tenant_queue.clone(),
            dbs: ports.tenant_dbs.clone(),
            config,
            webhook: Arc::new(tokio::sync::OnceCell::new()),
        }
    }

    /// The same service with other tenant databases (fault injection in tests).
    pub fn with_databases(mut self, dbs: Arc<dyn TenantDatabases>) -> Self {
        self.dbs = dbs;
        self
    }

    /// The tenant `id` as stored, with its item.
    async fn load(&self, id: &uuid::Uuid) -> Result<Option<(Item, TenantRecord)>> {
        match self.store.get(&records::tenant_pk(id), records::TENANT_SK).await? {
            Some(item) => {
                let record = records::decode(&item)?;
                Ok(Some((item, record)))
            }
            None => Ok(None),
        }
    }

    /// Seed 003 `GET /provision/tenants/{id}/status`: the tenant, or 404.
    pub async fn status(&self, id: &uuid::Uuid) -> Result<TenantRecord> {
        match self.load(id).await? {
            Some((_, record)) => Ok(record),
            None => Err(not_found(id)),
        }
    }

    async fn enqueue(&self, job: Job) -> Result<()> {
        job.enqueue(self.queue.as_ref()).await
    }
}

fn not_found(id: &uuid::Uuid) -> Error {
    Error::NotFound(format!("Provisioning '{id}'"))
}

use crate::clock::now;

/// Parses a provisioning id (a UUID), else 400.
pub fn parse_id(raw: &str) -> Result<uuid::Uuid> {
    uuid::Uuid::parse_str(raw).map_err(|_| Error::validation(format!("{} is not a valid provisioning id (a GUID)", crate::error::echo(raw))))
}
