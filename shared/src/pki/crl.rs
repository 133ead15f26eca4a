//! CRLs (RFC 5280 §5): v2, AKI, CRL number, thisUpdate/nextUpdate, one entry per revoked,
//! unexpired serial with its reason code and date; signed through key custody.

use super::sign::{self, utc_seconds, Custody};
use super::{pem, IssuerRef, Serial};
use crate::error::{Error, Result};
use rcgen::{CertificateRevocationListParams, KeyIdMethod, RevokedCertParams};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Revocation reasons of seed 004, with their RFC 5280 §5.3.1 codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
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
    const ALL: [RevocationReason; 6] = [
        RevocationReason::Unspecified,
        RevocationReason::KeyCompromise,
        RevocationReason::CaCompromise,
        RevocationReason::AffiliationChanged,
        RevocationReason::Superseded,
        RevocationReason::CessationOfOperation,
    ];

    /// Parses seed 004's names (and, leniently, Puppet-style lowercase snake/camel forms):
    /// `KEY_COMPROMISE`, `key_compromise` and `keyCompromise` are the same reason.
    pub fn parse(raw: &str) -> Result<Self> {
        let folded: String = raw.trim().chars().filter(|c| *c != '_' && *c != '-').flat_map(char::to_lowercase).collect();
        Self::ALL
            .into_iter()
            .find(|r| r.name().replace('_', "").eq_ignore_ascii_case(&folded))
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|r| r.name()).collect();
                Error::validation(format!("unknown revocation reason {raw:?}: expected one of {}", names.join(", ")))
            })
    }

    /// Seed 004's name (`KEY_COMPROMISE`).
    pub fn name(self) -> &'static str {
        match self {
            RevocationReason::Unspecified => "UNSPECIFIED",
            RevocationReason::KeyCompromise => "KEY_COMPROMISE",
            RevocationReason::CaCompromise => "CA_COMPROMISE",
            RevocationReason::AffiliationChanged => "AFFILIATION_CHANGED",
            RevocationReason::Superseded => "SUPERSEDED",
            RevocationReason::CessationOfOperation => "CESSATION_OF_OPERATION",
        }
    }

    /// The reason with RFC 5280 CRLReason code `code`, if seed 004 names it.
    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.code() == code)
    }

    /// The RFC 5280 CRLReason code (0, 1, 2, 3, 4, 5).
    pub fn code(self) -> u8 {
        self.to_rcgen() as u8
    }

    fn to_rcgen(self) -> rcgen::RevocationReason {
        match self {
            RevocationReason::Unspecified => rcgen::RevocationReason::Unspecified,
            RevocationReason::KeyCompromise => rcgen::RevocationReason::KeyCompromise,
            RevocationReason::CaCompromise => rcgen::RevocationReason::CaCompromise,
            RevocationReason::AffiliationChanged => rcgen::RevocationReason::AffiliationChanged,
            RevocationReason::Superseded => rcgen::RevocationReason::Superseded,
            RevocationReason::CessationOfOperation => rcgen::RevocationReason::CessationOfOperation,
        }
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
///
/// v2 with the AKI (the issuer certificate's SKI, RFC 5280 §5.2.1) and CRL number (§5.2.3);
/// nextUpdate is required later than thisUpdate (§5.1.2.5). Entries carry the reasonCode
/// extension (§5.3.1) except for `UNSPECIFIED`, which that section says SHOULD be absent.
/// The issuer must be a CA whose key usage allows cRLSign (§4.2.1.3).
pub fn build(profile: &CrlProfile, entries: &[RevokedEntry], issuer: &IssuerRef<'_>) -> Result<Vec<u8>> {
    let params = params(profile, entries, issuer)?;
    let custody = Custody::new(issuer.signer);
    let rc_issuer = rcgen::Issuer::from_ca_cert_der(&issuer.cert_der.into(), &custody)
        .map_err(|e| Error::internal(format!("the issuer certificate is unusable: {e}")))?;
    let der = params.signed_by(&rc_issuer).map_err(|e| custody.error(e))?.der().to_vec();
    check_signature(&der, issuer.cert_der)?;
    Ok(der)
}

/// The checked rcgen parameters of a CRL (see [`build`]).
pub(crate) fn params(profile: &CrlProfile, entries: &[RevokedEntry], issuer: &IssuerRef<'_>) -> Result<CertificateRevocationListParams> {
    for at in [profile.this_update, profile.next_update].iter().chain(entries.iter().map(|e| &e.revoked_at)) {
        sign::check_encodable(*at)?;
    }
    if utc_seconds(profile.next_update) <= utc_seconds(profile.this_update) {
        return Err(Error::validation("CRL nextUpdate must be later than thisUpdate"));
    }
    let issuer_cert = sign::parse_cert(issuer.cert_der).map_err(|_| Error::internal("the issuer certificate is not valid DER"))?;
    if issuer_cert.key_usage().ok().flatten().is_some_and(|ku| !ku.value.crl_sign()) {
        return Err(Error::validation("the issuer certificate's key usage does not allow cRLSign"));
    }
    Ok(CertificateRevocationListParams {
        this_update: utc_seconds(profile.this_update),
        next_update: utc_seconds(profile.next_update),
        crl_number: rcgen::SerialNumber::from(profile.number),
        issuing_distribution_point: None,
        revoked_certs: entries.iter().map(revoked).collect(),
        key_identifier_method: KeyIdMethod::PreSpecified(sign::subject_key_id(&issuer_cert)),
    })
}

fn revoked(entry: &RevokedEntry) -> RevokedCertParams {
    RevokedCertParams {
        serial_number: entry.serial.to_rcgen(),
        revocation_time: utc_seconds(entry.revoked_at),
        reason_code: Some(entry.reason.to_rcgen()),
        invalidity_date: None,
    }
}

/// Checks a built CRL's signature against the issuer certificate's key.
pub(crate) fn check_signature(der: &[u8], issuer_cert_der: &[u8]) -> Result<()> {
    let issuer_cert = sign::parse_cert(issuer_cert_der).map_err(|_| Error::internal("the issuer certificate is not valid DER"))?;
    let issuer_key = issuer_cert.public_key();
    let (_, crl) = x509_parser::parse_x509_crl(der).map_err(|e| Error::internal(format!("built CRL does not parse: {e}")))?;
    crl.verify_signature(issuer_key)
        .map_err(|e| Error::internal(format!("custody produced a CRL signature that does not verify: {e}")))
}

/// The CRL Number (RFC 5280 §5.2.3) of a DER CRL; `None` if the bytes are not a CRL or its
/// number is absent or does not fit 64 bits.
pub fn number(der: &[u8]) -> Option<u64> {
    let (_, crl) = x509_parser::parse_x509_crl(der).ok()?;
    u64::try_from(crl.crl_number()?).ok()
}

/// DER CRL → PEM (`X509 CRL`, RFC 7468 §6).
pub fn to_pem(der: &[u8]) -> String {
    pem::encode("X509 CRL", der)
}

#[cfg(test)]
#[path = "crl_tests.rs"]
mod tests;
