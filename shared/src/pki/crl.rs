//! CRLs (RFC 5280 §5): v2, AKI, CRL number, thisUpdate/nextUpdate, one entry per revoked,
//! unexpired serial with its reason code and date; signed through key custody.

use super::{IssuerRef, Serial};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Revocation reasons of seed 004, with their RFC 5280 §5.3.1 codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RevocationReason {
    Unspecified,
    KeyCompromise,
    CaCompromise,
    AffiliationChanged,
    Superseded,
    CessationOfOperation,
}

impl RevocationReason {
    /// Parses seed 004's names (and, leniently, Puppet-style lowercase snake/camel forms).
    pub fn parse(raw: &str) -> Result<Self> {
        let _ = raw;
        Err(Error::validation("todo"))
    }

    /// The RFC 5280 CRLReason code (0, 1, 2, 3, 4, 5).
    pub fn code(self) -> u8 {
        todo!()
    }
}

/// One CRL entry.
#[derive(Clone, Debug)]
pub struct RevokedEntry {
    pub serial: Serial,
    pub revoked_at: OffsetDateTime,
    pub reason: RevocationReason,
}

/// A CRL's header fields.
#[derive(Clone, Debug)]
pub struct CrlProfile {
    /// Strictly increasing per issuer.
    pub number: u64,
    pub this_update: OffsetDateTime,
    pub next_update: OffsetDateTime,
}

/// Builds and signs a CRL; returns its DER.
pub fn build(profile: &CrlProfile, entries: &[RevokedEntry], issuer: &IssuerRef<'_>) -> Result<Vec<u8>> {
    let _ = (profile, entries, issuer);
    todo!()
}

/// DER CRL → PEM (`X509 CRL`).
pub fn to_pem(der: &[u8]) -> String {
    let _ = der;
    todo!()
}
