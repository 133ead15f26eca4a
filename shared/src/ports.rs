//! Narrow ports the services depend on. Each has an AWS adapter (`adapters::aws`) and an
//! embedded one (`adapters::local`); both honour the same semantics, checked by the contract
//! suite in `shared/tests/`.

use crate::error::Result;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

mod tenants;

pub use tenants::{MacKey, TenantDatabases, TenantDbInfo, TenantTags};

/// A secondary index key (DynamoDB `GSI1PK`/`GSI1SK`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexKey {
    pub pk: String,
    pub sk: String,
}

/// One stored entity in the single-table design (README, "Key design").
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// Partition key (`PK`), e.g. `APIKEY#<sha256>`.
    pub pk: String,
    /// Sort key (`SK`).
    pub sk: String,
    /// Optional secondary index key (`GSI1PK`, `GSI1SK`).
    pub gsi1: Option<IndexKey>,
    /// Unix seconds after which the item no longer exists (`ttl`); reads hide it at once.
    pub expires_at: Option<i64>,
    /// Optimistic-concurrency version (`ver`); callers bump it on each update.
    pub version: u64,
    /// Optional lifecycle state (`state`), usable in conditions.
    pub state: Option<String>,
    /// The entity itself (`data`, JSON).
    pub data: serde_json::Value,
}

impl Item {
    /// A fresh item at version 1 with no index, expiry or state.
    pub fn new(pk: impl Into<String>, sk: impl Into<String>, data: serde_json::Value) -> Self {
        Item { pk: pk.into(), sk: sk.into(), gsi1: None, expires_at: None, version: 1, state: None, data }
    }
}

/// The precondition of a write. A failed precondition is `Error::Conflict`.
#[derive(Clone, Debug, PartialEq)]
pub enum Condition {
    /// No precondition.
    Always,
    /// The item does not exist (or has expired).
    Absent,
    /// The item exists (and has not expired).
    Exists,
    /// The item exists with exactly this version.
    Version(u64),
    /// The item exists in exactly this state.
    State(String),
}

/// One write of an atomic [`Store::transact`].
#[derive(Clone, Debug)]
pub enum Write {
    Put { item: Item, condition: Condition },
    Delete { pk: String, sk: String, condition: Condition },
    /// A condition on an item the transaction does not otherwise touch.
    Check { pk: String, sk: String, condition: Condition },
}

/// Which key a query walks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Index {
    Primary,
    Gsi1,
}

/// A sort-key range within one partition.
#[derive(Clone, Debug, PartialEq)]
pub enum SkRange {
    All,
    Eq(String),
    BeginsWith(String),
    /// Inclusive on both ends.
    Between(String, String),
}

/// A query of one partition, in sort-key order, a page at a time.
#[derive(Clone, Debug)]
pub struct Query {
    pub index: Index,
    pub pk: String,
    pub range: SkRange,
    /// Page size, 1..=1000.
    pub limit: u32,
    /// The opaque cursor of the previous page.
    pub cursor: Option<String>,
    pub descending: bool,
}

impl Query {
    /// All of a partition on the primary key, ascending, 100 at a time.
    pub fn partition(pk: impl Into<String>) -> Self {
        Query { index: Index::Primary, pk: pk.into(), range: SkRange::All, limit: 100, cursor: None, descending: false }
    }
}

/// One page of a query. `cursor` is `None` on the last page.
#[derive(Clone, Debug, Default)]
pub struct Page {
    pub items: Vec<Item>,
    pub cursor: Option<String>,
}

/// Entities: keys, sessions, tenants, certificates (DynamoDB or SQLite).
#[async_trait]
pub trait Store: Send + Sync {
    /// The item, unless absent or expired.
    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>>;
    /// Writes the whole item if `condition` holds on the current one.
    async fn put(&self, item: Item, condition: Condition) -> Result<()>;
    /// Deletes the item if `condition` holds.
    async fn delete(&self, pk: &str, sk: &str, condition: Condition) -> Result<()>;
    /// All writes or none (at most 100 items, each at most once).
    async fn transact(&self, writes: Vec<Write>) -> Result<()>;
    /// A page of one partition.
    async fn query(&self, query: Query) -> Result<Page>;
}

pub use crate::custody::{KeyAlgorithm, KeyHandle, RemoteSign};

/// CA private keys (AWS KMS or PKCS#8 key files). Private key material never leaves it.
#[async_trait]
pub trait KeyCustody: Send + Sync {
    /// Creates a key for `owner` (an authority id), tagged/aliased/named after it.
    async fn create_key(&self, owner: &str, algorithm: KeyAlgorithm) -> Result<KeyHandle>;
    /// A signer for the key; its public key is fetched once and cached by the adapter.
    async fn signer(&self, key: &KeyHandle) -> Result<crate::custody::CaSigner>;
    /// Whether the key can sign right now (KMS: enabled, for signing), asked without signing
    /// anything — health probes must not spend signatures of a CA key.
    async fn key_usable(&self, key: &KeyHandle) -> Result<bool> {
        self.signer(key).await.map(|_| true)
    }
    /// Marks a key whose authority was never stored (KMS tag `trustplane:orphan=true`), for
    /// an operator to review and discard. Custody that cannot mark keys does nothing.
    async fn mark_orphan(&self, _key: &KeyHandle) -> Result<()> {
        Ok(())
    }
    /// The keys this custody created, with their owner and whether they are marked orphan.
    async fn list_keys(&self) -> Result<Vec<CustodyKey>> {
        Ok(Vec::new())
    }
    /// Schedules the deletion of a key (KMS: 7-day waiting period; key files: removed).
    async fn discard_key(&self, key_ref: &str) -> Result<()> {
        Err(crate::error::Error::validation(format!("this key custody cannot discard key {key_ref}")))
    }
}

/// A key in custody as [`KeyCustody::list_keys`] sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CustodyKey {
    pub key_ref: String,
    /// The authority id it was created for, when known.
    pub owner: Option<String>,
    pub orphan: bool,
    /// False once scheduled for deletion.
    pub enabled: bool,
}

/// Asynchronous work (SQS, or the in-process queue `serve` drains). Bodies are JSON jobs.
#[async_trait]
pub trait Queue: Send + Sync {
    /// Enqueues one message body.
    async fn send(&self, body: String) -> Result<()>;
}

/// A stored blob and its entity tag (S3's `ETag`; a content digest in a directory), which
/// changes whenever the bytes do (RFC 9110 §8.8.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaggedBlob {
    pub bytes: Vec<u8>,
    pub tag: String,
}

/// The precondition of a conditional blob write. A failed precondition is `Error::Conflict`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BlobCondition {
    /// Nothing is stored at the key (`If-None-Match: *`, RFC 9110 §13.1.2).
    Absent,
    /// What is stored at the key still has this tag (`If-Match`, RFC 9110 §13.1.1).
    Tagged(String),
}

/// Published artefacts (CRLs, backups): S3 or a directory.
#[async_trait]
pub trait Blobs: Send + Sync {
    /// Stores `bytes` at `key`; returns its location (an `s3://` URI or a file path).
    async fn put(&self, key: &crate::domain::BlobKey, bytes: Vec<u8>, content_type: &str) -> Result<String>;
    /// The bytes at `key`, if any.
    async fn get(&self, key: &crate::domain::BlobKey) -> Result<Option<Vec<u8>>>;
    /// The bytes at `key` with their tag, if any. A store that cannot tell "missing" from
    /// "forbidden" (S3 without `s3:ListBucket` answers 403 for both) fails instead of `None`.
    async fn get_tagged(&self, key: &crate::domain::BlobKey) -> Result<Option<TaggedBlob>>;
    /// Stores `bytes` at `key` only if `condition` holds when the write takes effect
    /// (compare-and-swap: two writers holding the same tag cannot both succeed); returns the
    /// location as [`Blobs::put`] does.
    async fn put_if(&self, key: &crate::domain::BlobKey, bytes: Vec<u8>, content_type: &str, condition: BlobCondition) -> Result<String>;
}
