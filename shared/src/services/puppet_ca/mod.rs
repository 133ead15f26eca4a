//! The Puppet-style CA (seed 001): pending certificate requests from Puppet's agent-facing CA
//! v1 API, signing, rejection, revocation, renewal and status, over the PKI core. "The CA" is
//! the default issuing authority ([`crate::services::default_issuer`]): what it signs lands
//! in the one certificate inventory and on that authority's CRL, and every certificate that
//! authority issued (through `/api/v1/provision`, `/api/v1/issuers/...` or here) is one of
//! its certificates, its certname being the subject CN.
//!
//! Store layout (single table, `data` holds the record as JSON):
//!
//! | entity | PK | SK | GSI1PK / GSI1SK | state | TTL |
//! | --- | --- | --- | --- | --- | --- |
//! | certificate request ([`CsrRecord`]) | `CSR#<certname>` | `CSR` | `CSRS#<state>` / `<certname>` | `pending` \| `signed` \| `rejected` | 30 days while pending or rejected |
//! | autosign token ([`AutosignToken`]) | `CSRTOKEN#<sha256>` | `TOKEN` | — | `unused` \| `claimed` \| `used` | its expiry |
//! | operation ([`Operation`]) | `AUDIT#ca#<yyyy-mm-dd>` | `<rfc3339>#<uuidv7>` | — | — | — |
//!
//! A request item holds the certname, the CSR's SHA-256 fingerprint, its request time, the
//! CSR PEM, the fingerprints of the certname's earlier submissions and, once rejected, the
//! reason. Lists read only the GSI1 partition of the state asked for, and the partition
//! `CSRS` where requests stored before the per-state index still sit until their next write
//! moves them (a lazy migration: nothing runs at start-up). Each state change is a
//! write conditioned on the version read, and signing commits the `pending → signed` change
//! (and, for policy autosign, the token's `used` state) in the same transaction as the
//! certificate ([`crate::services::pki::Pki::issue_for_key`]): of two concurrent signs of one
//! request, one certificate is issued and the other caller gets `CERT_ALREADY_SIGNED`.
//! Certificates themselves live in the PKI inventory (`CERT#`, `CN#<certname>`). Every
//! operation (type, certname, actor, time, outcome) but the failures of anonymous callers is
//! appended under the partition of its day. The numbers status shows come from the CA
//! authority's counter (`CACOUNT#<authorityId>`, see `counting`), moved in each of these
//! transactions.

mod audit;
mod certificates;
mod counting;
mod details;
mod listing;
mod requests;
mod renewal;
mod signing;
mod status;
mod tokens;

pub use audit::{Operation, OperationKind, Outcome};
pub use certificates::{CertQuery, CertSort, Revoked};
pub use details::{fingerprint, CertificateDetails, Extension};
pub use listing::{glob_matches, Pattern, SortOrder, Window};
pub use requests::{CsrRecord, CsrState, RequestQuery, RequestSort, Submission, Submitted};
pub use signing::Fingerprint;
pub use status::{CaStatus, CrlChain, Renewed};
pub use tokens::{challenge_password, AutosignToken, TokenTtl, MAX_TOKEN_TTL_SECONDS};

use crate::config::Config;
use crate::error::{Error, Result};
use crate::services::pki::{AuthorityRecord, Pki};
use crate::wiring::Ports;
use std::sync::Arc;

/// Seed 001's error codes (plus `VALIDATION_FAILED` and `UNAUTHORIZED`, which the HTTP layer
/// derives from 400 and 401).
pub mod codes {
    pub const CSR_NOT_FOUND: &str = "CSR_NOT_FOUND";
    pub const CERT_NOT_FOUND: &str = "CERT_NOT_FOUND";
    pub const CERT_ALREADY_SIGNED: &str = "CERT_ALREADY_SIGNED";
    pub const CERT_ALREADY_REVOKED: &str = "CERT_ALREADY_REVOKED";
    pub const CA_UNAVAILABLE: &str = "CA_UNAVAILABLE";
    pub const PERMISSION_DENIED: &str = "PERMISSION_DENIED";
    pub const INVALID_OPERATION: &str = "INVALID_OPERATION";
    /// The pending request's CSR is not the one the operator expected to sign.
    pub const FINGERPRINT_MISMATCH: &str = "FINGERPRINT_MISMATCH";
    /// The CA holds as many pending requests as it accepts.
    pub const TOO_MANY_PENDING: &str = "TOO_MANY_PENDING_REQUESTS";
}

/// How many pending requests the CA holds at most, by default (`PUPPET_MAX_PENDING`).
pub const DEFAULT_MAX_PENDING: usize = 10_000;

/// The actor of operations made through the unauthenticated Puppet CA v1 API.
pub const AGENT_ACTOR: &str = "puppet-agent";
/// The actor of signatures made by `PUPPET_AUTOSIGN`.
pub const AUTOSIGN_ACTOR: &str = "autosign";

/// The Puppet CA service; cheap to clone and to build per request.
#[derive(Clone)]
pub struct PuppetCa {
    pki: Pki,
    ports: Ports,
    config: Arc<Config>,
    max_pending: usize,
}

impl PuppetCa {
    /// The service over `ports`, signing with the default issuer `config` names or records and
    /// holding at most `config.puppet_max_pending` pending requests.
    pub fn new(ports: Ports, config: Arc<Config>) -> Self {
        let max_pending = config.puppet_max_pending;
        PuppetCa { pki: Pki::new(ports.clone(), config.clone()), ports, config, max_pending }
    }

    /// The service holding at most `max_pending` pending requests (further submissions: 503
    /// `TOO_MANY_PENDING_REQUESTS`).
    pub fn with_max_pending(mut self, max_pending: usize) -> Self {
        self.max_pending = max_pending;
        self
    }

    /// The CA's authority id (not checked to exist); 503 when there is none.
    async fn authority_id(&self) -> Result<String> {
        crate::services::default_issuer::default_issuer(&self.config, self.ports.store.as_ref()).await.map_err(unavailable)
    }

    /// The CA's authority; 503 `CA_UNAVAILABLE` when none is configured or it does not exist.
    async fn authority(&self) -> Result<AuthorityRecord> {
        let id = self.authority_id().await?;
        match self.pki.get_authority(&id).await {
            Err(Error::NotFound(_)) => Err(unavailable(Error::Unavailable(format!("the CA authority {id} does not exist")))),
            other => other,
        }
    }
}

/// `e` as `CA_UNAVAILABLE` if it is a 503.
fn unavailable(e: Error) -> Error {
    match e {
        Error::Unavailable(_) => e.with_code(codes::CA_UNAVAILABLE),
        other => other,
    }
}

use crate::clock::now;
