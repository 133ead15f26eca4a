//! CA certificates (seed 004 §2): roots self-signed, intermediates signed by their parent.
//! BasicConstraints CA=TRUE critical with pathLen, KeyUsage keyCertSign+cRLSign critical,
//! SKI; AKI, CRL DP and AIA (OCSP) from the parent's policy on intermediates.

use super::{CaSigner, IssuedCert, IssuerRef, Serial, SubjectName};
use crate::error::Result;
use time::OffsetDateTime;

/// What a CA certificate says.
#[derive(Clone, Debug)]
pub struct CaProfile<'a> {
    pub subject: &'a SubjectName,
    pub serial: Serial,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    /// `None` = unconstrained.
    pub path_len: Option<u8>,
}

/// A self-signed root over `key` (its own custody key).
pub fn self_signed_root(profile: &CaProfile<'_>, key: &CaSigner) -> Result<IssuedCert> {
    let _ = (profile, key);
    todo!()
}

/// An intermediate for `subject_key` (the child's custody key: only its public half is used),
/// signed by `issuer`.
pub fn intermediate(profile: &CaProfile<'_>, subject_key: &CaSigner, issuer: &IssuerRef<'_>) -> Result<IssuedCert> {
    let _ = (profile, subject_key, issuer);
    todo!()
}

/// Re-issues a CA certificate with the same subject, key and extensions and a fresh validity
/// and serial (Puppet CA renew): `issuer` is itself for a root, the parent otherwise.
pub fn reissue(current_der: &[u8], serial: Serial, not_before: OffsetDateTime, not_after: OffsetDateTime, subject_key: &CaSigner, issuer: Option<&IssuerRef<'_>>) -> Result<IssuedCert> {
    let _ = (current_der, serial, not_before, not_after, subject_key, issuer);
    todo!()
}
