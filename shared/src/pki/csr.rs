//! CSR policy: the signature must verify, weak keys are refused (RSA < 2048, EC curves other
//! than P-256/P-384, anything else), and the requested extensions, CA flag and names are read
//! but never trusted: the template decides (RFC 2986).

use super::leaf::LeafKey;
use crate::error::Result;

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
pub fn verify_pem(pem: &str) -> Result<VerifiedCsr> {
    let _ = pem;
    todo!()
}
