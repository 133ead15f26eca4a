//! The set of ports a function or `serve` runs on, chosen once at start from [`Config`].

use crate::ports::{Blobs, KeyCustody, MacKey, Queue, Store, TenantDatabases};
use std::sync::Arc;

/// Every port, behind its narrow trait.
#[derive(Clone)]
pub struct Ports {
    pub store: Arc<dyn Store>,
    pub custody: Arc<dyn KeyCustody>,
    /// The job queue (CRL publication).
    pub queue: Arc<dyn Queue>,
    /// The tenant worker's queue (seed 003); the same in-process queue in `serve`.
    pub tenant_queue: Arc<dyn Queue>,
    pub blobs: Arc<dyn Blobs>,
    /// The confirm-token HMAC key (seed 003).
    pub mac: Arc<dyn MacKey>,
    /// The per-tenant databases (seed 003).
    pub tenant_dbs: Arc<dyn TenantDatabases>,
}

impl From<crate::adapters::AdapterPorts> for Ports {
    fn from(p: crate::adapters::AdapterPorts) -> Self {
        let crate::adapters::AdapterPorts { store, custody, queue, tenant_queue, blobs, mac, tenant_dbs } = p;
        Ports { store, custody, queue, tenant_queue, blobs, mac, tenant_dbs }
    }
}

/// Opens the ports the configuration names. The embedded backend also returns its queue, which
/// `serve` drains in-process; on AWS, SQS triggers the worker functions instead.
pub async fn open(config: &crate::config::Config) -> crate::Result<(Ports, Option<Arc<crate::adapters::local::LocalQueue>>)> {
    match config.backend {
        crate::config::Backend::Aws => Ok((aws_ports(config).await?, None)),
        crate::config::Backend::Local => {
            let (ports, queue) = open_local(config)?;
            Ok((ports, Some(queue)))
        }
    }
}

/// The AWS backend's ports, the SDK configuration read from the environment
/// (see [`crate::adapters::aws::ports`]).
pub async fn aws_ports(config: &crate::config::Config) -> crate::Result<Ports> {
    Ok(crate::adapters::aws::ports(config).await?.into())
}

/// The AWS backend's ports from an explicit SDK configuration (tests, tools; see
/// [`crate::adapters::aws::ports_with`]).
pub fn aws_ports_with(sdk: &aws_config::SdkConfig, config: &crate::config::Config) -> crate::Result<Ports> {
    Ok(crate::adapters::aws::ports_with(sdk, config)?.into())
}

/// The embedded backend's ports and its queue (see [`crate::adapters::local::open`]).
pub fn open_local(config: &crate::config::Config) -> crate::Result<(Ports, Arc<crate::adapters::local::LocalQueue>)> {
    let (parts, queue) = crate::adapters::local::open(config)?;
    Ok((parts.into(), queue))
}
