//! CSR policy, applied by every signing path (agent provisioning, seed 004 issuance with a
//! `csr`, the Puppet CA at submission and again at signing): the subject key must pass the key
//! policy (RSA 2048 to 8192 bits with exponent 65537, EC P-256/P-384, Ed25519; see
//! [`super::keys`]), the signature must verify, and the requested extensions, CA flag and
//! names are read but never trusted: the template decides (RFC 2986).

use super::leaf::LeafKey;
use super::{keys, pem};
use crate::error::{Error, Result};
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::extensions::ParsedExtension;
use x509_parser::prelude::FromDer;

/// Largest CSR accepted, in DER bytes (an RSA-8192 request with names fits well within).
const MAX_CSR_DER: usize = 64 * 1024;

/// What the services may use from a verified CSR.
#[derive(Clone, Debug)]
pub struct VerifiedCsr {
    pub key: LeafKey,
    /// The subject CN the CSR asks for, if any (Puppet checks it equals the certname).
    pub common_name: Option<String>,
    /// True if the CSR asks for BasicConstraints CA=TRUE (refused by agent provisioning).
    pub requests_ca: bool,
    /// SHA-256 over the CSR DER, colon-separated uppercase hex (Puppet fingerprint).
    pub fingerprint: String,
    /// The CSR re-encoded as PEM.
    pub pem: String,
}

/// Parses a PEM CSR and applies the policy. Errors are `Error::Validation` with a reason
/// suitable for "invalid CSR: <reason>".
///
/// Order: one `CERTIFICATE REQUEST` block (RFC 7468 §7, `NEW CERTIFICATE REQUEST` tolerated),
/// DER without trailing data, version 1 (RFC 2986 §4.1), the key policy, then the
/// proof-of-possession signature (RFC 2986 §3 step 3).
pub fn verify_pem(pem: &str) -> Result<VerifiedCsr> {
    let der = single_request(pem)?;
    let csr = match X509CertificationRequest::from_der(&der) {
        Ok(([], csr)) => csr,
        Ok(_) => return Err(Error::validation("the certificate request has trailing data")),
        Err(_) => return Err(Error::validation("the certificate request is not valid DER")),
    };
    let info = &csr.certification_request_info;
    if info.version.0 != 0 {
        return Err(Error::validation("unsupported certificate request version"));
    }
    let subject_key = keys::accept_parsed(&info.subject_pki)?;
    csr.verify_signature().map_err(|_| Error::validation("signature does not verify"))?;
    let common_name = match info.subject.iter_common_name().next() {
        Some(cn) => Some(cn.as_str().map_err(|_| Error::validation("the subject common name is not a string"))?.to_owned()),
        None => None,
    };
    let requests_ca = csr
        .requested_extensions()
        .is_some_and(|mut exts| exts.any(|e| matches!(e, ParsedExtension::BasicConstraints(bc) if bc.ca)));
    let key = LeafKey { spki_der: info.subject_pki.raw.to_vec(), is_rsa: subject_key.is_rsa };
    Ok(VerifiedCsr { key, common_name, requests_ca, fingerprint: fingerprint(&der), pem: pem::encode("CERTIFICATE REQUEST", &der) })
}

fn single_request(text: &str) -> Result<Vec<u8>> {
    let not_pem = || Error::validation("not a PEM certificate request");
    let mut blocks = pem::decode_all(text).map_err(|_| not_pem())?;
    if blocks.len() != 1 {
        return Err(if blocks.is_empty() { not_pem() } else { Error::validation("expected exactly one certificate request") });
    }
    let (label, der) = blocks.remove(0);
    if label != "CERTIFICATE REQUEST" && label != "NEW CERTIFICATE REQUEST" {
        return Err(not_pem());
    }
    if der.len() > MAX_CSR_DER {
        return Err(Error::validation("the certificate request is too large"));
    }
    Ok(der)
}

/// SHA-256 of `der` as colon-separated uppercase hex (Puppet's fingerprint format).
pub fn fingerprint(der: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(der).iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":")
}

#[cfg(test)]
#[path = "csr_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "key_policy_tests.rs"]
mod key_policy_tests;
