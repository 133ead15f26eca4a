//! The PKI service (seed 004): subjects, certification authorities, the one certificate
//! inventory every endpoint group issues into, revocation and CRL publication. Domain logic
//! over the ports only; the X.509 work is [`crate::pki`]'s.
//!
//! Store layout (single table, `data` holds the record as camelCase JSON):
//!
//! | entity | PK | SK | GSI1PK / GSI1SK | state |
//! | --- | --- | --- | --- | --- |
//! | subject ([`SubjectRecord`]) | `SUBJECT#<id>` | `SUBJECT` | `SUBJECTS` / `<id>` | — |
//! | authority ([`AuthorityRecord`]) | `AUTH#<id>` | `AUTH` | `AUTHS` / `<id>` | `active` \| `disabled` \| `revoked` |
//! | certificate ([`CertificateRecord`]) | `CERT#<id>` | `CERT` | `CERTS#<issuerId>` / `<id>` | `valid` \| `revoked` |
//! | serial uniqueness | `SERIAL#<issuerId>#<serialHex>` | `SERIAL` | — | — |
//! | by name, per [`Channel`] | `CN#<channel>#<commonName>` | `<certId>` | — | — |
//! | revocation ([`RevokedRecord`]) | `REVOKED#<issuerId>` | `<serialHex>` | — | — |
//! | CRL state ([`CrlState`]) | `CRLSTATE#<authorityId>` | `CRL` | — | — |
//! | CA certificate under its parent ([`CaCertRecord`]) | `CACERT#<authorityId>` | `<serialHex>` | — | — |
//! | authority client token | `AUTHTOKEN#<token>` | `TOKEN` | — | — |
//! | counts ([`counts::CaCounts`]) | `CACOUNT#<authorityId>` | `COUNT` | — | — |
//!
//! Ids are UUIDv7, so every `GSI1SK` and `CN#` sort key lists in creation order. A certificate,
//! its serial item, its common-name pointer (and any caller-supplied writes, see
//! [`Pki::issue_for_key`]) are one transaction; so are a revocation and its `REVOKED#` entry,
//! which carries a TTL one day past the certificate's `notAfter`; both move the issuer's
//! counter in their transaction ([`counts`]). The CRL state is updated
//! with a version condition, so CRL numbers strictly increase under concurrent publishers.
//! Published CRLs are the blobs `crl/<authorityId>.crl` (DER, `application/pkix-crl`), found
//! by relying parties at `<CRL_BASE_URL>/crl/<authorityId>.crl`, every authority's default
//! CRL distribution point. CA private keys stay in key custody: the store holds key handles.
//!
//! Certificates written before channels have no `channel` and sit under the legacy
//! `CN#<commonName>` partition; name lookups read it too and keep what
//! [`CertificateRecord::channel`] assigns to the channel asked for.

mod authorities;
pub mod counts;
pub mod cpu;
mod crl;
mod delta_crl;
mod inventory;
mod issuance;
mod lifecycle;
mod ocsp;
mod orphans;
mod policy;
mod tokens;
mod records;
mod renew;
mod revocation;
mod subjects;
mod warm;

pub use authorities::{AuthorityOptions, NewAuthority};
pub use lifecycle::{AuthorityRevocation, CaCertRecord};
pub use orphans::OrphanKey;
pub use policy::{dns_name_matches, IssuancePolicy};
pub(crate) use policy::{check_leaf, check_names};
pub use tokens::check_token;
pub use crl::{blob_key, CrlOutcome, CRL_CONTENT_TYPE};
pub use delta_crl::delta_blob_key;
pub use inventory::CertFilter;
pub use issuance::{IssueRequest, Issued, LeafRequest, NewCertificate, Provenance, MAX_VALIDITY_DAYS};
pub use records::{
    AuthorityRecord, AuthorityStatus, AuthorityType, CertStatus, CertificateRecord, Channel, CrlState, KeySpec, Policy,
    RevokedRecord, SubjectRecord,
};

use crate::config::Config;
use crate::error::{Error, Result};
use crate::ports::{Index, Query, SkRange};
use crate::wiring::Ports;
use std::sync::Arc;
use time::OffsetDateTime;

/// Page size bounds of the list operations (seed 004 lists: `limit` 1..=100).
pub const MAX_PAGE: u32 = 100;

/// The PKI service; cheap to clone and to build per request.
#[derive(Clone)]
pub struct Pki {
    ports: Ports,
    config: Arc<Config>,
    warm: Arc<warm::Warm>,
}

impl Pki {
    /// The service over `ports`, with the CRL and issuance settings of `config`.
    pub fn new(ports: Ports, config: Arc<Config>) -> Self {
        let warm = warm::Warm::of(&ports.store);
        Pki { ports, config, warm }
    }

    /// [`counts::commit_counted`] from the counter this process last committed, remembering
    /// the one it commits.
    async fn commit_counted(&self, authority_id: &str, delta: counts::Delta, writes: Vec<crate::ports::Write>) -> Result<()> {
        let known = self.warm.counter(authority_id);
        let committed = counts::commit_counted_from(self.ports.store.as_ref(), authority_id, known, delta, writes).await;
        self.warm.keep_counter(authority_id, committed.as_ref().ok().cloned());
        committed.map(drop)
    }

    async fn index_page(&self, pk: String, limit: u32, cursor: Option<String>) -> Result<crate::ports::Page> {
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(Error::validation(format!("limit must be between 1 and {MAX_PAGE}")));
        }
        let query = Query { index: Index::Gsi1, pk, range: SkRange::All, limit, cursor, descending: false };
        self.ports.store.query(query).await
    }
}

/// The current time, whole seconds (as X.509 and the seed's timestamps carry it).
pub(crate) use crate::clock::now;

/// True if `raw` is a UUID in its canonical hyphenated form (every id this service mints).
pub(crate) fn is_id(raw: &str) -> bool {
    uuid::Uuid::parse_str(raw).is_ok_and(|u| u.hyphenated().to_string() == raw)
}

/// A fresh id (UUIDv7: sorts in creation order).
pub(crate) fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// RFC 3339 UTC, whole seconds.
pub(crate) fn rfc3339(t: OffsetDateTime) -> String {
    crate::clock::rfc3339(t)
}
