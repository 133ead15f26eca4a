//! What CA and end-entity issuance share: key identifiers, the issuer's policy extensions,
//! issuer checks, custody signing with its domain error kept, and a signature self-check.

use super::{der, CaSigner, IssuedCert, IssuerRef};
use crate::error::{Error, Result};
use rcgen::{CertificateParams, CrlDistributionPoint, CustomExtension, PublicKeyData, SigningKey};
use sha2::Digest;
use std::sync::Mutex;
use time::{OffsetDateTime, UtcOffset};
use x509_parser::certificate::X509Certificate;

/// id-pe-authorityInfoAccess (RFC 5280 §4.2.2.1).
const ID_PE_AUTHORITY_INFO_ACCESS: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 1, 1];
/// id-ad-ocsp (RFC 5280 §4.2.2.1).
const ID_AD_OCSP: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 48, 1];

/// The key identifier of a subjectPublicKey: the leftmost 160 bits of its SHA-256 (RFC 7093
/// §2 method 1), used for the SKI (RFC 5280 §4.2.1.2) and, through the issuer, the AKI.
pub(crate) fn key_identifier(public_key_bits: &[u8]) -> Vec<u8> {
    sha2::Sha256::digest(public_key_bits)[..20].to_vec()
}

/// UTC, whole seconds: RFC 5280 §4.1.2.5 times carry no fractions or offsets.
pub(crate) fn utc_seconds(at: OffsetDateTime) -> OffsetDateTime {
    let utc = at.to_offset(UtcOffset::UTC);
    utc.replace_nanosecond(0).unwrap_or(utc)
}

/// Checks a validity window: starts before it ends, within what UTCTime/GeneralizedTime
/// encode (years 1950 to 9999, RFC 5280 §4.1.2.5).
pub(crate) fn check_validity(not_before: OffsetDateTime, not_after: OffsetDateTime) -> Result<()> {
    check_encodable(not_before)?;
    check_encodable(not_after)?;
    if utc_seconds(not_after) <= utc_seconds(not_before) {
        return Err(Error::validation("notAfter must be later than notBefore"));
    }
    Ok(())
}

/// Refuses times outside years 1950 to 9999.
pub(crate) fn check_encodable(at: OffsetDateTime) -> Result<()> {
    if !(1950..=9999).contains(&utc_seconds(at).year()) {
        return Err(Error::validation("certificate and CRL times must fall in the years 1950 to 9999"));
    }
    Ok(())
}

/// Parses a certificate DER completely (no trailing bytes).
pub(crate) fn parse_cert(der: &[u8]) -> Result<X509Certificate<'_>> {
    match x509_parser::parse_x509_certificate(der) {
        Ok(([], cert)) => Ok(cert),
        _ => Err(Error::validation("not a valid DER X.509 certificate")),
    }
}

/// The SKI of a certificate, or the RFC 7093 key identifier of its key if it has none.
pub(crate) fn subject_key_id(cert: &X509Certificate<'_>) -> Vec<u8> {
    cert.iter_extensions()
        .find_map(|ext| match ext.parsed_extension() {
            x509_parser::extensions::ParsedExtension::SubjectKeyIdentifier(id) => Some(id.0.to_vec()),
            _ => None,
        })
        .unwrap_or_else(|| key_identifier(&cert.public_key().subject_public_key.data))
}

/// What an issuer certificate allows, checked before anything is signed with it.
pub(crate) struct IssuerFacts {
    pub(crate) path_len: Option<u32>,
    pub(crate) not_after: OffsetDateTime,
}

/// Checks that `issuer` is a CA certificate allowed to sign certificates (RFC 5280 §4.2.1.9,
/// §4.2.1.3) and that its custody key is the certificate's key.
pub(crate) fn issuer_facts(issuer: &IssuerRef<'_>) -> Result<IssuerFacts> {
    let cert = parse_cert(issuer.cert_der).map_err(|_| Error::internal("the issuer certificate is not valid DER"))?;
    let bc = cert.basic_constraints().ok().flatten().map(|e| e.value.clone());
    let Some(bc) = bc.filter(|bc| bc.ca) else {
        return Err(Error::validation("the issuer certificate is not a CA certificate"));
    };
    let signs_certs = cert.key_usage().ok().flatten().is_none_or(|ku| ku.value.key_cert_sign());
    if !signs_certs {
        return Err(Error::validation("the issuer certificate's key usage does not allow keyCertSign"));
    }
    if cert.public_key().subject_public_key.data.as_ref() != issuer.signer.der_bytes() {
        return Err(Error::internal("the issuer's custody key does not match its certificate"));
    }
    Ok(IssuerFacts { path_len: bc.path_len_constraint, not_after: cert.validity().not_after.to_datetime() })
}

/// Adds the issuer's CRL distribution point (RFC 5280 §4.2.1.13) and OCSP AIA (§4.2.2.1)
/// to `params`, when the issuer's policy has them.
pub(crate) fn add_issuer_urls(params: &mut CertificateParams, issuer: &IssuerRef<'_>) -> Result<()> {
    if let Some(url) = issuer.crl_distribution_point {
        check_url(url)?;
        params.crl_distribution_points = vec![CrlDistributionPoint { uris: vec![url.to_owned()] }];
    }
    if let Some(url) = issuer.ocsp_responder_url {
        check_url(url)?;
        params.custom_extensions.push(ocsp_aia(url));
    }
    Ok(())
}

/// The non-critical AuthorityInfoAccessSyntax with one id-ad-ocsp access description whose
/// location is a uniformResourceIdentifier `[6] IA5String`.
pub(crate) fn ocsp_aia(url: &str) -> CustomExtension {
    let location = der::tlv(der::context(6, false), url.as_bytes());
    let description = der::tlv(der::SEQUENCE, &[der::oid(ID_AD_OCSP), location].concat());
    CustomExtension::from_oid_content(ID_PE_AUTHORITY_INFO_ACCESS, der::tlv(der::SEQUENCE, &description))
}

/// A URL fit for an IA5String GeneralName: absolute http(s), printable ASCII, no spaces.
pub(crate) fn check_url(url: &str) -> Result<()> {
    let printable = url.chars().all(|c| c.is_ascii_graphic());
    let scheme = url.starts_with("http://") || url.starts_with("https://");
    if !printable || !scheme || url.len() > 2048 {
        return Err(Error::validation(format!("issuer policy URL {url:?} must be an absolute http(s) URL in printable ASCII")));
    }
    Ok(())
}

/// The subject's e-mail address as an rfc822Name SAN: RFC 5280 §4.2.1.6 requires it there
/// whenever the (deprecated) emailAddress attribute is in the subject DN.
pub(crate) fn add_email_san(params: &mut CertificateParams, email: Option<&str>) -> Result<()> {
    let Some(email) = email else { return Ok(()) };
    let ia5 = email.try_into().map_err(|_| Error::validation("subject emailAddress must be ASCII"))?;
    let san = rcgen::SanType::Rfc822Name(ia5);
    if !params.subject_alt_names.contains(&san) {
        params.subject_alt_names.push(san);
    }
    Ok(())
}

/// A custody signer that keeps the domain error rcgen's own error type would lose.
pub(crate) struct Custody<'a> {
    signer: &'a CaSigner,
    failure: Mutex<Option<Error>>,
}

impl<'a> Custody<'a> {
    pub(crate) fn new(signer: &'a CaSigner) -> Self {
        Custody { signer, failure: Mutex::new(None) }
    }

    /// The custody error behind an rcgen failure, or the rcgen error itself.
    pub(crate) fn error(&self, e: rcgen::Error) -> Error {
        let failure = self.failure.lock().unwrap_or_else(|p| p.into_inner()).take();
        failure.unwrap_or_else(|| Error::internal(format!("X.509 encoding failed: {e}")))
    }
}

impl PublicKeyData for Custody<'_> {
    fn der_bytes(&self) -> &[u8] {
        self.signer.der_bytes()
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        PublicKeyData::algorithm(self.signer)
    }
}

impl SigningKey for Custody<'_> {
    fn sign(&self, msg: &[u8]) -> std::result::Result<Vec<u8>, rcgen::Error> {
        self.signer.sign_message(msg).map_err(|e| {
            *self.failure.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
            rcgen::Error::RemoteKeyError
        })
    }
}

/// Signs `params` for `subject` with `issuer` (issuer DN read from its certificate, so it
/// byte-matches, RFC 5280 §4.1.2.4), then checks the signature against the issuer's key.
pub(crate) fn sign_by(params: &CertificateParams, subject: &impl PublicKeyData, issuer: &IssuerRef<'_>) -> Result<IssuedCert> {
    let custody = Custody::new(issuer.signer);
    let rc_issuer = rcgen::Issuer::from_ca_cert_der(&issuer.cert_der.into(), &custody)
        .map_err(|e| Error::internal(format!("the issuer certificate is unusable: {e}")))?;
    let cert = params.signed_by(subject, &rc_issuer).map_err(|e| custody.error(e))?;
    let issuer_cert = parse_cert(issuer.cert_der)?;
    finish(cert.der().to_vec(), Some(issuer_cert.public_key()))
}

/// Self-signs `params` with `key`, then checks the signature.
pub(crate) fn sign_self(params: &CertificateParams, key: &CaSigner) -> Result<IssuedCert> {
    let custody = Custody::new(key);
    let cert = params.self_signed(&custody).map_err(|e| custody.error(e))?;
    finish(cert.der().to_vec(), None)
}

fn finish(der: Vec<u8>, issuer_key: Option<&x509_parser::x509::SubjectPublicKeyInfo<'_>>) -> Result<IssuedCert> {
    let cert = parse_cert(&der).map_err(|_| Error::internal("issued certificate does not parse"))?;
    cert.verify_signature(issuer_key)
        .map_err(|e| Error::internal(format!("custody produced a signature that does not verify: {e}")))?;
    drop(cert);
    IssuedCert::from_der(der)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ocsp_aia_extension_parses_back_as_one_ocsp_uri() {
        use x509_parser::extensions::GeneralName;
        use x509_parser::prelude::FromDer;
        let ext = ocsp_aia("http://ocsp.example.com/ca1");
        assert!(!ext.criticality());
        let (_, aia) = x509_parser::extensions::AuthorityInfoAccess::from_der(ext.content()).unwrap();
        let descs: Vec<_> = aia.iter().collect();
        assert_eq!(descs.len(), 1);
        assert_eq!(descs[0].access_method, x509_parser::oid_registry::OID_PKIX_ACCESS_DESCRIPTOR_OCSP);
        assert_eq!(descs[0].access_location, GeneralName::URI("http://ocsp.example.com/ca1"));
    }

    #[test]
    fn policy_urls_must_be_printable_absolute_http() {
        assert!(check_url("http://crl.example.com/a.crl").is_ok());
        for bad in ["ldap://x", "http://exa mple.com", "http://bücher.example/", "/relative", ""] {
            assert!(check_url(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn times_outside_what_x509_can_encode_are_refused() {
        let t = time::macros::datetime!(2030-01-01 00:00 UTC);
        assert!(check_validity(t, t.replace_year(9999).unwrap()).is_ok());
        assert!(check_validity(t.replace_year(1949).unwrap(), t).is_err());
        assert!(check_validity(t, t).is_err());
    }

    #[test]
    fn times_are_whole_utc_seconds() {
        let t = time::macros::datetime!(2030-01-02 03:04:05.678 +02:00);
        assert_eq!(utc_seconds(t), time::macros::datetime!(2030-01-02 01:04:05 UTC));
    }
}
