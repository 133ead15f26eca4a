//! What the PKI service stores (the `data` of each item) and the small value types around it.

use crate::error::{Error, Result};
use crate::pki::crl::RevocationReason;
use crate::pki::leaf::Template;
use crate::pki::SubjectName;
use crate::ports::{IndexKey, Item, KeyAlgorithm, KeyHandle};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// A subject of seed 004's Identity Service: a validated distinguished name with an id.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubjectRecord {
    pub id: String,
    #[serde(flatten)]
    pub name: SubjectName,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// Seed 004 authority `type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AuthorityType {
    Root,
    Intermediate,
}

/// Seed 004 authority `status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AuthorityStatus {
    Active,
}

/// Seed 004 `keySpec`: `{"algorithm": "RSA"|"EC", "size": 2048|3072|4096 | 256|384}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeySpec {
    pub algorithm: String,
    pub size: u32,
}

impl KeySpec {
    /// The custody algorithm this spec names, or 400.
    pub fn parse(&self) -> Result<KeyAlgorithm> {
        match (self.algorithm.to_ascii_uppercase().as_str(), self.size) {
            ("EC", 256) => Ok(KeyAlgorithm::EcP256),
            ("EC", 384) => Ok(KeyAlgorithm::EcP384),
            ("RSA", 2048) => Ok(KeyAlgorithm::Rsa2048),
            ("RSA", 3072) => Ok(KeyAlgorithm::Rsa3072),
            ("RSA", 4096) => Ok(KeyAlgorithm::Rsa4096),
            _ => Err(Error::validation("keySpec must be {\"algorithm\": \"EC\", \"size\": 256|384} or {\"algorithm\": \"RSA\", \"size\": 2048|3072|4096}")),
        }
    }

    /// The spec of a custody algorithm.
    pub fn of(algorithm: KeyAlgorithm) -> Self {
        let (alg, size) = match algorithm {
            KeyAlgorithm::EcP256 => ("EC", 256),
            KeyAlgorithm::EcP384 => ("EC", 384),
            KeyAlgorithm::Rsa2048 => ("RSA", 2048),
            KeyAlgorithm::Rsa3072 => ("RSA", 3072),
            KeyAlgorithm::Rsa4096 => ("RSA", 4096),
        };
        KeySpec { algorithm: alg.into(), size }
    }
}

/// Seed 004 authority `policy`, with defaults filled in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Policy {
    pub validity_years: u16,
    /// `None` = unconstrained.
    pub path_len_constraint: Option<u8>,
    /// Where this authority's CRL is published, and what it puts on the certificates it signs.
    pub crl_distribution_point: String,
    pub ocsp_responder_url: Option<String>,
}

/// A certification authority: its certificate and the custody handle of its key.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorityRecord {
    pub id: String,
    pub subject_id: String,
    #[serde(rename = "type")]
    pub kind: AuthorityType,
    pub status: AuthorityStatus,
    pub parent_authority_id: Option<String>,
    pub key: KeyHandle,
    /// The CA certificate, DER in standard base64.
    pub certificate_der: String,
    pub serial_number: String,
    pub thumbprint: String,
    #[serde(with = "time::serde::rfc3339")]
    pub not_before: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
    pub path_len_constraint: Option<u8>,
    pub policy: Policy,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl AuthorityRecord {
    /// The CA certificate's DER.
    pub fn der(&self) -> Result<Vec<u8>> {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .decode(&self.certificate_der)
            .map_err(|e| Error::internal(format!("corrupt certificate of authority {}: {e}", self.id)))
    }
}

/// A certificate's lifecycle state. `Expired` is never stored: it is computed at read time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CertStatus {
    Valid,
    Revoked,
    Expired,
}

impl CertStatus {
    /// Parses `VALID`, `REVOKED` or `EXPIRED` (any case).
    pub fn parse(raw: &str) -> Result<Self> {
        match raw.to_ascii_uppercase().as_str() {
            "VALID" => Ok(CertStatus::Valid),
            "REVOKED" => Ok(CertStatus::Revoked),
            "EXPIRED" => Ok(CertStatus::Expired),
            _ => Err(Error::validation(format!("status must be VALID, REVOKED or EXPIRED, not {}", crate::error::echo(raw)))),
        }
    }

    /// The store `state` of a stored status.
    pub(crate) fn state(self) -> &'static str {
        match self {
            CertStatus::Valid => "valid",
            CertStatus::Revoked => "revoked",
            CertStatus::Expired => "expired",
        }
    }
}

/// The one certificate inventory every endpoint group writes to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateRecord {
    pub id: String,
    /// Uppercase hex.
    pub serial_number: String,
    pub issuer_id: String,
    /// Absent for agents and Puppet nodes, which are not Identity Service subjects.
    pub subject_id: Option<String>,
    pub common_name: String,
    pub template: Template,
    /// `VALID` or `REVOKED` as stored; see [`CertificateRecord::effective_status`].
    pub status: CertStatus,
    #[serde(with = "time::serde::rfc3339")]
    pub not_before: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
    pub certificate_pem: String,
    #[serde(default)]
    pub dns_names: Vec<String>,
    #[serde(default)]
    pub ip_addresses: Vec<String>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
    pub revocation_reason: Option<RevocationReason>,
    pub comment: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl CertificateRecord {
    /// The status at `now`: revoked wins, else expired once `notAfter` has passed.
    pub fn effective_status(&self, now: OffsetDateTime) -> CertStatus {
        match self.status {
            CertStatus::Valid if self.not_after <= now => CertStatus::Expired,
            other => other,
        }
    }
}

/// One entry of an issuer's revocation list: the CRL builder's input.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RevokedRecord {
    pub serial_number: String,
    #[serde(with = "time::serde::rfc3339")]
    pub revoked_at: OffsetDateTime,
    pub reason: RevocationReason,
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
    pub cert_id: String,
}

/// The last CRL numbered for an authority. `published` turns true once its DER is in the
/// blob store, so a failed upload is redone rather than coalesced away.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CrlState {
    pub number: u64,
    #[serde(default)]
    pub published: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub this_update: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub next_update: OffsetDateTime,
}

/// A fresh item holding `data`, indexed under `gsi1` when given.
pub(crate) fn item<T: Serialize>(pk: String, sk: &str, gsi1: Option<(String, String)>, data: &T) -> Result<Item> {
    let mut item = Item::new(pk, sk, serde_json::to_value(data).map_err(Error::internal)?);
    item.gsi1 = gsi1.map(|(pk, sk)| IndexKey { pk, sk });
    Ok(item)
}

/// The entity an item holds.
pub(crate) fn decode<T: DeserializeOwned>(item: &Item) -> Result<T> {
    serde_json::from_value(item.data.clone()).map_err(|e| Error::internal(format!("corrupt record {}/{}: {e}", item.pk, item.sk)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_specs_name_exactly_the_custody_algorithms() {
        for alg in [KeyAlgorithm::EcP256, KeyAlgorithm::EcP384, KeyAlgorithm::Rsa2048, KeyAlgorithm::Rsa3072, KeyAlgorithm::Rsa4096] {
            assert_eq!(KeySpec::of(alg).parse().unwrap(), alg);
        }
        for (alg, size) in [("EC", 521), ("RSA", 1024), ("DSA", 2048), ("EC", 2048)] {
            assert!(KeySpec { algorithm: alg.into(), size }.parse().is_err(), "{alg} {size}");
        }
    }

    #[test]
    fn a_valid_certificate_past_its_not_after_reads_as_expired_but_revoked_stays_revoked() {
        assert_eq!(CertStatus::parse("expired").unwrap(), CertStatus::Expired);
        assert!(CertStatus::parse("lost").is_err());
        let past = OffsetDateTime::now_utc() - time::Duration::days(1);
        let json = serde_json::json!({
            "id": "c", "serialNumber": "01", "issuerId": "i", "subjectId": null, "commonName": "n", "template": "TLS_CLIENT",
            "status": "VALID", "notBefore": "2020-01-01T00:00:00Z", "notAfter": "2020-01-02T00:00:00Z", "certificatePem": "",
            "revokedAt": null, "revocationReason": null, "comment": null, "createdAt": "2020-01-01T00:00:00Z",
        });
        let mut cert: CertificateRecord = serde_json::from_value(json).unwrap();
        assert_eq!(cert.effective_status(past), CertStatus::Expired);
        cert.status = CertStatus::Revoked;
        assert_eq!(cert.effective_status(past), CertStatus::Revoked);
    }
}
