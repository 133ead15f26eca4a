//! Embedded adapters: SQLite, key files, in-process queue, a directory.

mod dir;
mod keyfile;
mod mac;
mod queue;
mod sqlite;
mod tenant_db;

pub use dir::DirBlobs;
pub use keyfile::{KeyFileCustody, LocalSign};
pub use queue::{Backoff, DrainReport, LocalQueue, DEAD_LETTER_PARTITION, QUEUE_PARTITION};
pub use mac::KeyFileMac;
pub use sqlite::SqliteStore;
pub use tenant_db::SqliteTenantDatabases;

use crate::adapters::sealed_cursors::SealedCursors;
use crate::error::{Error, Result};
use crate::ports::MacKey;
use crate::adapters::AdapterPorts;
use std::os::unix::fs::DirBuilderExt;
use std::sync::Arc;

/// Opens (creating if needed) everything under `config.data_dir` (mode 0700): the database
/// `trustplane.db`, the key directory `keys/`, the blob directory `blobs/`, the deployment's
/// MAC key `deployment-mac.key`, the confirm-token key `tenant-token.key` and the tenant
/// databases' directory `tenants/`. The store's list cursors are sealed under a key derived
/// from the deployment's MAC key, never from the confirm-token key. The queue backs off
/// failed jobs with [`Backoff::STANDARD`] unless `QUEUE_RETRY_BACKOFF` is off. Returns the
/// ports and the queue, which the caller drains with [`LocalQueue::run`].
pub fn open(config: &crate::config::Config) -> Result<(AdapterPorts, Arc<LocalQueue>)> {
    let dir = &config.data_dir;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| Error::internal(format!("cannot create data directory {}: {e}", dir.display())))?;
    let store = Arc::new(SqliteStore::open(&dir.join("trustplane.db"))?);
    let queue = Arc::new(
        LocalQueue::new(store.clone()).with_max_attempts(config.tenants.max_receives).with_backoff(retry_backoff(config)),
    );
    let mac: Arc<dyn MacKey> = Arc::new(KeyFileMac::open(&dir.join("deployment-mac.key"))?);
    let ports = AdapterPorts {
        store: Arc::new(SealedCursors::new(store, mac.clone())),
        custody: Arc::new(KeyFileCustody::new(dir.join("keys"))?),
        queue: queue.clone(),
        tenant_queue: queue.clone(),
        device_queue: queue.clone(),
        blobs: Arc::new(DirBlobs::new(dir.join("blobs"))?),
        mac,
        token_key: Arc::new(KeyFileMac::open(&dir.join("tenant-token.key"))?),
        tenant_dbs: Arc::new(SqliteTenantDatabases::new(dir.join("tenants"))?),
    };
    Ok((ports, queue))
}

/// The queue's retry backoff: [`Backoff::STANDARD`], or [`Backoff::NONE`] when the
/// configuration opts out.
fn retry_backoff(config: &crate::config::Config) -> Backoff {
    match config.queue_retry_backoff {
        true => Backoff::STANDARD,
        false => Backoff::NONE,
    }
}
