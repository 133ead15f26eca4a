//! The ACME server (RFC 8555) of each authority: accounts bound to external account keys,
//! orders for DNS names the authority may sign, `http-01` validation and finalization through
//! the one PKI core (channel `acme`, the same inventory and CRLs as every other group).
//! Domain logic over the ports only; the HTTP shape (headers, problem documents) is the
//! `acme-api` function's.
//!
//! Store layout (single table, `data` holds the record as camelCase JSON):
//!
//! | entity | PK | SK | GSI1PK / GSI1SK | state | TTL |
//! | --- | --- | --- | --- | --- | --- |
//! | nonce | `ACMENONCE#<nonce>` | `NONCE` | — | — | issued + 1 h |
//! | account ([`AccountRecord`]) | `ACMEACCT#<id>` | `ACCT` | `ACMEACCTS#<authorityId>` / `<id>` | `valid` \| `deactivated` | — |
//! | account key | `ACMEJWK#<authorityId>#<thumbprint>` | `JWK` | — | — | — |
//! | EAB key ([`EabKeyRecord`]) | `ACMEEAB#<keyId>` | `EAB` | `ACMEEABS#<authorityId>` / `<keyId>` | `unused` \| `bound` \| `revoked` | — |
//! | order ([`OrderRecord`]) | `ACMEORDER#<id>` | `ORDER` | `ACMEORDERS#<accountId>` / `<id>` | — | expiry + 30 d |
//! | authorization ([`AuthzRecord`]) | `ACMEAUTHZ#<id>` | `AUTHZ` | — | — | expiry + 30 d |
//! | issued certificate | `ACMESERIAL#<authorityId>#<serialHex>` | `CERT` | — | — | notAfter + 1 d |
//!
//! A nonce is consumed by a conditional delete, so of two requests replaying it one fails
//! (RFC 8555 §6.5). An account, its key pointer and the EAB key it binds are one transaction,
//! as are an order and its authorizations, and a certificate, its order turning valid and its
//! serial pointer (committed with the certificate by [`Pki::issue_in`]).

mod accounts;
mod auth;
mod certificates;
mod challenges;
mod eab;
mod jws;
mod keys;
mod nonces;
mod orders;
mod policy;
mod problem;
mod records;
mod renewal;
mod settings;
#[cfg(any(test, feature = "testkit"))]
pub mod test_signer;
mod urls;

pub use accounts::KeyChangeOutcome;
pub use challenges::{key_authorization, Http01Client, Http01Failure};
pub use eab::NewEabKey;
pub use jws::{AccountKey, SignedRequest};
pub use orders::OrderView;
pub use policy::{AcmePolicy, EffectivePolicy};
pub use problem::{problem, ProblemType, PROBLEM_PREFIX};
pub use records::{
    AccountRecord, AccountStatus, AuthzRecord, AuthzStatus, ChallengeRecord, ChallengeStatus, EabKeyRecord, Identifier, OrderRecord, OrderStatus,
};
pub use renewal::{RenewalWindow, RENEWAL_INFO_RETRY_SECONDS};
pub use settings::AcmeSettings;
pub use urls::Urls;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::services::pki::{AuthorityRecord, Pki};
use crate::wiring::Ports;
use std::sync::Arc;

/// The ACME service; cheap to clone and to build per request.
#[derive(Clone)]
pub struct Acme {
    ports: Ports,
    pki: Pki,
    settings: Arc<AcmeSettings>,
    http01: Arc<dyn Http01Client>,
}

impl Acme {
    /// The service over `ports`, validating `http-01` challenges through `http01`.
    pub fn new(ports: Ports, config: Arc<Config>, settings: Arc<AcmeSettings>, http01: Arc<dyn Http01Client>) -> Self {
        let pki = Pki::new(ports.clone(), config);
        Acme { ports, pki, settings, http01 }
    }

    /// The settings the service runs with.
    pub fn settings(&self) -> &AcmeSettings {
        &self.settings
    }

    /// The authority an ACME endpoint belongs to; an unknown one is 404 `malformed`.
    pub async fn authority(&self, authority_id: &str) -> Result<AuthorityRecord> {
        match self.pki.get_authority(authority_id).await {
            Err(Error::NotFound(_)) => Err(problem::not_found(format!("ACME server of authority {authority_id}"))),
            other => other,
        }
    }
}

/// `bytes` random bytes, base64url without padding (tokens, key material).
pub(crate) fn random_b64(bytes: usize) -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}
