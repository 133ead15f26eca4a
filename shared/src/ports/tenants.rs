//! Ports of seed 003: the confirm-token MAC key and the per-tenant databases.

use crate::domain::{DbName, Plan};
use crate::error::Result;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// An HMAC-SHA256 key that never leaves custody (KMS `HMAC_256` key, or a 256-bit key file).
#[async_trait]
pub trait MacKey: Send + Sync {
    /// HMAC-SHA256 of `msg` (at most 4096 bytes, the KMS limit).
    async fn mac(&self, msg: &[u8]) -> Result<Vec<u8>>;
    /// True when `tag` is the HMAC-SHA256 of `msg`, compared in constant time.
    async fn verify(&self, msg: &[u8], tag: &[u8]) -> Result<bool>;
}

/// Who a tenant database belongs to (tags on the DynamoDB table).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TenantTags {
    pub tenant_id: String,
    pub stack: String,
}

/// What a tenant database holds, for status checks and tests.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantDbInfo {
    /// The highest migration applied (0 before any).
    pub schema_version: u32,
    /// Catalog products.
    pub products: u64,
    /// Settings rows.
    pub settings: u64,
}

/// One real, separate database per tenant: a DynamoDB table or a SQLite file. Every
/// operation is idempotent, so a redelivered worker message repeats it harmlessly.
#[async_trait]
pub trait TenantDatabases: Send + Sync {
    /// Creates the database (a no-op when it exists); returns once it is usable.
    async fn create(&self, db: &DbName, tags: &TenantTags) -> Result<()>;
    /// Applies the shipped migrations the database lacks, in order; returns the version reached.
    async fn migrate(&self, db: &DbName) -> Result<u32>;
    /// Writes the plan's demo catalog and default settings (same keys on a rerun).
    async fn seed(&self, db: &DbName, plan: Plan) -> Result<()>;
    /// Drops the database and everything in it (a no-op when it does not exist).
    async fn drop_database(&self, db: &DbName) -> Result<()>;
    /// What the database holds, or `None` when it does not exist.
    async fn inspect(&self, db: &DbName) -> Result<Option<TenantDbInfo>>;
}
