//! Agent provisioning (seed 000): one-time provision keys and their exchange, with a CSR, for
//! a client certificate from the default issuing authority.
//!
//! Store layout: `PKEY#<sha256 of key>`/`PKEY`, GSI1 `PKEYS`/`<key_prefix>#<id>`, `state`
//! unused|claimed|used|revoked, `ttl` = expiry + 7 days (so an expired key still answers
//! "provision key expired" for a week, then DynamoDB deletes it). The secret itself is never
//! stored.

mod exchange;
mod keys;

pub use exchange::Provisioned;
pub use keys::{KeyFilter, ProvisionKeyRecord, ProvisionKeyState, TtlSeconds};

use crate::config::Config;
use crate::ports::Store;
use crate::services::pki::Pki;
use std::sync::Arc;

/// Provision keys kept this long past expiry, to tell "expired" from "invalid".
pub const RETENTION_SECONDS: i64 = 7 * 24 * 3600;

/// The provisioning service.
#[derive(Clone)]
pub struct Provisioning {
    store: Arc<dyn Store>,
    pki: Pki,
    config: Arc<Config>,
}

impl Provisioning {
    /// The service over the store and the PKI core.
    pub fn new(store: Arc<dyn Store>, pki: Pki, config: Arc<Config>) -> Self {
        Provisioning { store, pki, config }
    }
}

fn hash_hex(secret: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(secret.as_bytes()))
}

fn pk(hash: &str) -> String {
    format!("PKEY#{hash}")
}

const SK: &str = "PKEY";
const INDEX_PK: &str = "PKEYS";
