//! End-entity certificates from templates (seed 004 §3). BasicConstraints CA=FALSE critical,
//! KeyUsage digitalSignature (+keyEncipherment for RSA) critical, EKU per template, SKI/AKI,
//! SAN, CRL DP and AIA from the issuer's policy, random 128-bit serial.

use super::sign::{self, utc_seconds};
use super::{keys, DnsName, IssuedCert, IssuerRef, SanUri, Serial, SubjectName};
use crate::error::{Error, Result};
use crate::ports::KeyAlgorithm;
use rcgen::{CertificateParams, ExtendedKeyUsagePurpose as Eku, IsCa, KeyIdMethod, KeyUsagePurpose, PublicKeyData, SanType};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Issuance templates (seed 004 `template`), plus the Puppet agent profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
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

impl Template {
    /// The extended key usages of the template (RFC 5280 §4.2.1.12).
    fn extended_key_usages(self) -> Vec<Eku> {
        match self {
            Template::TlsServer => vec![Eku::ServerAuth],
            Template::TlsClient => vec![Eku::ClientAuth],
            Template::CodeSigning => vec![Eku::CodeSigning],
            Template::PuppetAgent => vec![Eku::ServerAuth, Eku::ClientAuth],
        }
    }
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
    /// uniformResourceIdentifier SANs (e.g. SPIFFE IDs).
    pub uris: &'a [SanUri],
    pub serial: Serial,
    /// Already moved a minute back for clock skew by the caller.
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
}

/// Signs an end-entity certificate for `key` with `issuer`. Refuses TLS_SERVER without a SAN,
/// a key outside the key policy (RSA ≥ 2048, EC P-256/P-384), an empty or inverted validity,
/// and a notAfter beyond the issuer's (RFC 5280 §6.1.3 would reject the path after it).
/// keyEncipherment follows the key actually certified, whatever `key.is_rsa` says.
pub fn issue(profile: &LeafProfile<'_>, key: &LeafKey, issuer: &IssuerRef<'_>) -> Result<IssuedCert> {
    let subject_key = keys::accept(&key.spki_der)?;
    if profile.template == Template::TlsServer && profile.dns_names.is_empty() && profile.ip_addresses.is_empty() {
        return Err(Error::validation("TLS_SERVER needs at least one DNS name or IP address"));
    }
    sign::check_validity(profile.not_before, profile.not_after)?;
    let facts = sign::issuer_facts(issuer)?;
    if utc_seconds(profile.not_after) > facts.not_after {
        return Err(Error::validation("notAfter must not be later than the issuer certificate's notAfter"));
    }
    let mut params = leaf_params(profile, subject_key.is_rsa)?;
    params.key_identifier_method = KeyIdMethod::PreSpecified(sign::key_identifier(subject_key.der_bytes()));
    sign::add_issuer_urls(&mut params, issuer)?;
    sign::sign_by(&params, &subject_key, issuer)
}

/// RFC 5280 §4.2.1.9 (CA=FALSE, critical), §4.2.1.3 (critical), §4.2.1.12, §4.2.1.6 (DNS
/// names, IP addresses, URIs, then the subject's e-mail address), §4.2.1.1.
fn leaf_params(profile: &LeafProfile<'_>, is_rsa: bool) -> Result<CertificateParams> {
    let mut params = CertificateParams::default();
    params.distinguished_name = profile.subject.to_rcgen();
    params.serial_number = Some(profile.serial.to_rcgen());
    params.not_before = utc_seconds(profile.not_before);
    params.not_after = utc_seconds(profile.not_after);
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    if is_rsa {
        params.key_usages.push(KeyUsagePurpose::KeyEncipherment);
    }
    params.extended_key_usages = profile.template.extended_key_usages();
    params.subject_alt_names = subject_alt_names(profile.dns_names, profile.ip_addresses, profile.uris)?;
    sign::add_email_san(&mut params, profile.subject.email.as_deref())?;
    params.use_authority_key_identifier_extension = true;
    Ok(params)
}

fn subject_alt_names(dns_names: &[DnsName], ips: &[std::net::IpAddr], uris: &[SanUri]) -> Result<Vec<SanType>> {
    let mut sans = Vec::with_capacity(dns_names.len() + ips.len());
    for name in dns_names {
        let ia5 = name.as_str().try_into().map_err(|_| Error::validation(format!("invalid DNS name {}", crate::error::echo(name.as_str()))))?;
        let san = SanType::DnsName(ia5);
        if !sans.contains(&san) {
            sans.push(san);
        }
    }
    for ip in ips {
        let san = SanType::IpAddress(*ip);
        if !sans.contains(&san) {
            sans.push(san);
        }
    }
    for uri in uris {
        let san = SanType::URI(uri.as_str().try_into().map_err(|_| Error::validation(format!("invalid URI {}", crate::error::echo(uri.as_str()))))?);
        if !sans.contains(&san) {
            sans.push(san);
        }
    }
    Ok(sans)
}

/// A fresh key pair for issuance without a CSR: `(LeafKey, PKCS#8 PEM private key)`.
/// The private key is returned once to the caller and never stored.
pub fn generate_key(algorithm: KeyAlgorithm) -> Result<(LeafKey, String)> {
    let alg = algorithm.signature_algorithm();
    let generated = match algorithm {
        KeyAlgorithm::EcP256 | KeyAlgorithm::EcP384 => rcgen::KeyPair::generate_for(alg),
        KeyAlgorithm::Rsa2048 => rcgen::KeyPair::generate_rsa_for(alg, rcgen::RsaKeySize::_2048),
        KeyAlgorithm::Rsa3072 => rcgen::KeyPair::generate_rsa_for(alg, rcgen::RsaKeySize::_3072),
        KeyAlgorithm::Rsa4096 => rcgen::KeyPair::generate_rsa_for(alg, rcgen::RsaKeySize::_4096),
    };
    let key_pair = generated.map_err(|e| Error::internal(format!("key generation failed: {e}")))?;
    let key = LeafKey { spki_der: key_pair.subject_public_key_info(), is_rsa: algorithm.is_rsa() };
    Ok((key, key_pair.serialize_pem()))
}

#[cfg(test)]
#[path = "leaf_tests.rs"]
mod tests;
