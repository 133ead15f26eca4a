//! CA certificates (seed 004 §2): roots self-signed, intermediates signed by their parent.
//! BasicConstraints CA=TRUE critical with pathLen, KeyUsage keyCertSign+cRLSign critical,
//! SKI; AKI, CRL DP and AIA (OCSP) from the parent's policy on intermediates.

use super::sign::{self, utc_seconds};
use super::{CaSigner, IssuedCert, IssuerRef, Serial, SubjectName};
use crate::error::{Error, Result};
use rcgen::{BasicConstraints, CertificateParams, DistinguishedName, IsCa, KeyIdMethod, KeyUsagePurpose, PublicKeyData};
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
    /// RFC 5280 §4.2.1.10, written critical when not empty.
    pub name_constraints: Option<&'a super::constraints::NameConstraints>,
}

/// The fields every CA certificate shares, before the issuer's policy is added.
struct CaFields {
    subject: DistinguishedName,
    email: Option<String>,
    serial: Serial,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    path_len: Option<u8>,
    name_constraints: Option<rcgen::CustomExtension>,
}

impl CaFields {
    fn from_profile(profile: &CaProfile<'_>) -> Self {
        CaFields {
            subject: profile.subject.to_rcgen(),
            email: profile.subject.email.clone(),
            serial: profile.serial.clone(),
            not_before: profile.not_before,
            not_after: profile.not_after,
            path_len: profile.path_len,
            name_constraints: None,
        }
    }

    fn constrained(mut self, constraints: Option<&super::constraints::NameConstraints>) -> Result<Self> {
        self.name_constraints = constraints.filter(|c| !c.is_empty()).map(|c| c.to_extension()).transpose()?;
        Ok(self)
    }

    /// RFC 5280 §4.2.1.9 BasicConstraints (critical, cA, pathLen), §4.2.1.3 KeyUsage (critical,
    /// keyCertSign + cRLSign), §4.2.1.2 SKI; AKI (§4.2.1.1) only when signed by another CA;
    /// an rfc822Name SAN when the subject has an e-mail address (§4.2.1.6).
    fn params(self, key: &CaSigner, has_parent: bool) -> Result<CertificateParams> {
        sign::check_validity(self.not_before, self.not_after)?;
        let mut params = CertificateParams::default();
        params.distinguished_name = self.subject;
        params.serial_number = Some(self.serial.to_rcgen());
        params.not_before = utc_seconds(self.not_before);
        params.not_after = utc_seconds(self.not_after);
        params.is_ca = IsCa::Ca(match self.path_len {
            Some(n) => BasicConstraints::Constrained(n),
            None => BasicConstraints::Unconstrained,
        });
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params.key_identifier_method = KeyIdMethod::PreSpecified(sign::key_identifier(key.der_bytes()));
        params.use_authority_key_identifier_extension = has_parent;
        sign::add_email_san(&mut params, self.email.as_deref())?;
        params.custom_extensions.extend(self.name_constraints);
        Ok(params)
    }
}

/// A self-signed root over `key` (its own custody key).
pub fn self_signed_root(profile: &CaProfile<'_>, key: &CaSigner) -> Result<IssuedCert> {
    let params = CaFields::from_profile(profile).constrained(profile.name_constraints)?.params(key, false)?;
    sign::sign_self(&params, key)
}

/// An intermediate for `subject_key` (the child's custody key: only its public half is used),
/// signed by `issuer`. Refused when the issuer's pathLenConstraint is 0 (RFC 5280 §4.2.1.9:
/// it may not certify further CAs).
pub fn intermediate(profile: &CaProfile<'_>, subject_key: &CaSigner, issuer: &IssuerRef<'_>) -> Result<IssuedCert> {
    signed_by_parent(CaFields::from_profile(profile).constrained(profile.name_constraints)?, subject_key, issuer)
}

fn signed_by_parent(fields: CaFields, subject_key: &CaSigner, issuer: &IssuerRef<'_>) -> Result<IssuedCert> {
    let facts = sign::issuer_facts(issuer)?;
    if facts.path_len == Some(0) {
        return Err(Error::validation("the issuer's pathLenConstraint is 0: it cannot sign CA certificates"));
    }
    let mut params = fields.params(subject_key, true)?;
    sign::add_issuer_urls(&mut params, issuer)?;
    sign::sign_by(&params, subject_key, issuer)
}

/// Re-issues a CA certificate with the same subject, key and extensions and a fresh validity
/// and serial (Puppet CA renew): `issuer` is itself for a root, the parent otherwise.
/// With `issuer` `None`, or an issuer holding `subject_key` itself, the result is self-signed
/// (no AKI, no CRL DP/AIA, like a root); otherwise the parent's current CRL DP and OCSP URLs
/// are put on it. pathLen and key are kept from `current_der`. The subject DN is copied
/// attribute by attribute with its string types, so it encodes to the same bytes and names
/// issued under the old certificate still chain (RFC 5280 §7.1).
pub fn reissue(current_der: &[u8], serial: Serial, not_before: OffsetDateTime, not_after: OffsetDateTime, subject_key: &CaSigner, issuer: Option<&IssuerRef<'_>>, constraints: Option<&super::constraints::NameConstraints>) -> Result<IssuedCert> {
    let current = sign::parse_cert(current_der)?;
    let bc = current.basic_constraints().ok().flatten().map(|e| e.value.clone()).filter(|bc| bc.ca);
    let Some(bc) = bc else {
        return Err(Error::validation("the certificate to re-issue is not a CA certificate"));
    };
    if current.public_key().subject_public_key.data.as_ref() != subject_key.der_bytes() {
        return Err(Error::validation("the custody key is not the key of the certificate to re-issue"));
    }
    let path_len = bc.path_len_constraint.map(|n| u8::try_from(n).unwrap_or(u8::MAX));
    let subject = super::names::dn_from_x509(current.subject())?;
    let email = current.subject().iter_email().next().and_then(|e| e.as_str().ok()).map(str::to_owned);
    let fields = CaFields { subject, email, serial, not_before, not_after, path_len, name_constraints: None }.constrained(constraints)?;
    match issuer.filter(|i| i.signer.der_bytes() != subject_key.der_bytes()) {
        None => sign::sign_self(&fields.params(subject_key, false)?, subject_key),
        Some(parent) => signed_by_parent(fields, subject_key, parent),
    }
}

#[cfg(test)]
#[path = "ca_tests.rs"]
mod tests;
