//! End-entity certificates from templates (seed 004 §3). BasicConstraints CA=FALSE critical,
//! KeyUsage digitalSignature (+keyEncipherment for RSA) critical, EKU per template, SKI/AKI,
//! SAN, CRL DP and AIA from the issuer's policy, random 128-bit serial.

use super::{DnsName, IssuedCert, IssuerRef, Serial, SubjectName};
use crate::error::Result;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Issuance templates (seed 004 `template`), plus the Puppet agent profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Template {
    /// EKU serverAuth; needs at least one SAN.
    TlsServer,
    /// EKU clientAuth.
    TlsClient,
    /// EKU codeSigning.
    CodeSigning,
    /// EKU clientAuth + serverAuth (Puppet agents are both).
    PuppetAgent,
}

/// The public key a certificate is issued for: from a verified CSR, or freshly generated.
#[derive(Clone, Debug)]
pub struct LeafKey {
    /// DER SubjectPublicKeyInfo.
    pub spki_der: Vec<u8>,
    /// True for RSA keys (adds keyEncipherment).
    pub is_rsa: bool,
}

/// What an end-entity certificate says.
#[derive(Clone, Debug)]
pub struct LeafProfile<'a> {
    pub template: Template,
    pub subject: &'a SubjectName,
    pub dns_names: &'a [DnsName],
    pub ip_addresses: &'a [std::net::IpAddr],
    pub serial: Serial,
    /// Already moved a minute back for clock skew by the caller.
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
}

/// Signs an end-entity certificate for `key` with `issuer`. Refuses TLS_SERVER without a SAN.
pub fn issue(profile: &LeafProfile<'_>, key: &LeafKey, issuer: &IssuerRef<'_>) -> Result<IssuedCert> {
    let _ = (profile, key, issuer);
    todo!()
}

/// A fresh key pair for issuance without a CSR: `(LeafKey, PKCS#8 PEM private key)`.
/// The private key is returned once to the caller and never stored.
pub fn generate_key(algorithm: crate::ports::KeyAlgorithm) -> Result<(LeafKey, String)> {
    let _ = algorithm;
    todo!()
}
