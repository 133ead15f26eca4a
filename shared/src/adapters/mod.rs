//! Port implementations: `aws` (the SDKs) and `local` (embedded).

pub mod aws;
pub mod http01;
pub mod local;
pub mod sealed_cursors;
pub mod tenant_data;
pub mod webhook;

use crate::ports::{Blobs, KeyCustody, MacKey, Queue, Store, TenantDatabases};
use std::sync::Arc;

/// What a backend's adapters hand back: one implementation of every port. `wiring` re-exports
/// it as `Ports` and chooses the backend, so nothing here depends on `wiring`.
#[derive(Clone)]
pub struct AdapterPorts {
    pub store: Arc<dyn Store>,
    pub custody: Arc<dyn KeyCustody>,
    /// The job queue (CRL publication).
    pub queue: Arc<dyn Queue>,
    /// The tenant worker's queue.
    pub tenant_queue: Arc<dyn Queue>,
    /// The device worker's queue (seed 002 device provisioning).
    pub device_queue: Arc<dyn Queue>,
    pub blobs: Arc<dyn Blobs>,
    /// The deployment's HMAC key: list-cursor sealing, device secrets, device-event tickets.
    pub mac: Arc<dyn MacKey>,
    /// The confirm-token HMAC key, used by the tenants API alone (kept apart from [`Self::mac`],
    /// so no other function can mint a confirm token).
    pub token_key: Arc<dyn MacKey>,
    /// The per-tenant databases.
    pub tenant_dbs: Arc<dyn TenantDatabases>,
}
