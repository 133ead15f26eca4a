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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AuthorityType {
    Root,
    Intermediate,
}

/// Seed 004 authority `status`: `ACTIVE` issues; `DISABLED` issues nothing but still
/// publishes its CRL (RFC 5280 §5); `REVOKED` is final, its certificates are on its parent's CRL.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AuthorityStatus {
    Active,
    Disabled,
    Revoked,
}

impl AuthorityStatus {
    /// The store `state` of an authority in this status.
    pub(crate) fn state(self) -> &'static str {
        match self {
            AuthorityStatus::Active => "active",
            AuthorityStatus::Disabled => "disabled",
            AuthorityStatus::Revoked => "revoked",
        }
    }
}

/// Seed 004 `keySpec`: `{"algorithm": "RSA"|"EC", "size": 2048|3072|4096 | 256|384}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
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

/// Seed 004 authority `policy`, with defaults filled in. Fields added later default when an
/// older stored record lacks them (see [`super::policy`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Policy {
    pub validity_years: u16,
    /// `None` = unconstrained.
    pub path_len_constraint: Option<u8>,
    /// Where this authority's *own* certificate is checked for revocation: the CRL
    /// distribution point (RFC 5280 §4.2.1.13) its parent writes into it. What the authority
    /// signs names `<CRL_BASE_URL>/crl/<id>.crl`, where its CRL is published.
    #[serde(default)]
    pub crl_distribution_point: Option<String>,
    /// The OCSP responder (RFC 5280 §4.2.2.1) its parent writes into its certificate.
    #[serde(default)]
    pub ocsp_responder_url: Option<String>,
    #[serde(flatten)]
    pub issuance: super::policy::IssuancePolicy,
    /// RFC 5280 §4.2.1.10, in its certificate and enforced at issuance below it.
    #[serde(default, skip_serializing_if = "crate::pki::constraints::NameConstraints::is_empty")]
    pub name_constraints: crate::pki::constraints::NameConstraints,
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
    /// The name constraints of its ancestors, nearest first (each binds what it issues).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inherited_constraints: Vec<crate::pki::constraints::NameConstraints>,
    /// When and why the authority was revoked (`REVOKED` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation: Option<super::lifecycle::AuthorityRevocation>,
    /// The `clientToken` of the request that created it, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_token: Option<String>,
}

impl AuthorityRecord {
    /// Every name-constraint set that binds what this authority signs: its own, then its
    /// ancestors' (RFC 5280 §6.1: constraints accumulate along the path).
    pub fn chain_constraints(&self) -> Vec<&crate::pki::constraints::NameConstraints> {
        std::iter::once(&self.policy.name_constraints).chain(&self.inherited_constraints).filter(|c| !c.is_empty()).collect()
    }

    /// The CA certificate's DER.
    pub fn der(&self) -> Result<Vec<u8>> {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .decode(&self.certificate_der)
            .map_err(|e| Error::internal(format!("corrupt certificate of authority {}: {e}", self.id)))
    }
}

/// A certificate's lifecycle state. `Expired` is never stored: it is computed at read time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
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

/// The API a certificate was issued through. Names are unique per channel only: the
/// `CN#<channel>#<name>` index keeps pki-api subjects, agent ids and Puppet certnames apart.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// Seed 004 `POST /issuers/{id}/certificates`.
    Pki,
    /// Seed 000 agent provisioning.
    Agent,
    /// Seed 001 Puppet CA.
    Puppet,
    /// Reserved for device enrolment.
    Device,
    /// Reserved for ACME.
    Acme,
}

impl Channel {
    /// Every channel, in index order.
    pub const ALL: [Channel; 5] = [Channel::Pki, Channel::Agent, Channel::Puppet, Channel::Device, Channel::Acme];

    /// The lowercase name used in the store and the APIs.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Pki => "pki",
            Channel::Agent => "agent",
            Channel::Puppet => "puppet",
            Channel::Device => "device",
            Channel::Acme => "acme",
        }
    }

    /// Parses `pki`, `agent`, `puppet`, `device` or `acme` (exact), else 400.
    pub fn parse(raw: &str) -> Result<Self> {
        Channel::ALL
            .into_iter()
            .find(|c| c.as_str() == raw)
            .ok_or_else(|| Error::validation(format!("channel must be pki, agent, puppet, device or acme, not {}", crate::error::echo(raw))))
    }

    /// The partition of the name index of `name` in this channel.
    pub(crate) fn name_key(self, name: &str) -> String {
        format!("CN#{}#{name}", self.as_str())
    }
}

impl std::fmt::Display for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
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
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub uris: Vec<String>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
    pub revocation_reason: Option<RevocationReason>,
    pub comment: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// As stored; `None` on records written before channels existed. Read
    /// [`CertificateRecord::channel`].
    #[serde(default, rename = "channel", skip_serializing_if = "Option::is_none")]
    pub stored_channel: Option<Channel>,
    /// The id of the API key that asked for it; for agents, the provision key's prefix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_by: Option<String>,
    /// The id of the API key that revoked it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_by: Option<String>,
}

impl CertificateRecord {
    /// The channel it was issued through. Records from before channels carry none and are
    /// read exactly by what each channel always wrote: a subject id is pki-api's, the
    /// PuppetAgent profile the Puppet CA's, any other certificate provisioning's (agent).
    pub fn channel(&self) -> Channel {
        match (self.stored_channel, &self.subject_id, self.template) {
            (Some(channel), _, _) => channel,
            (None, Some(_), _) => Channel::Pki,
            (None, None, Template::PuppetAgent) => Channel::Puppet,
            (None, None, _) => Channel::Agent,
        }
    }

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

    fn legacy(subject_id: Option<&str>, template: &str) -> CertificateRecord {
        serde_json::from_value(serde_json::json!({
            "id": "c", "serialNumber": "01", "issuerId": "i", "subjectId": subject_id, "commonName": "web01", "template": template,
            "status": "VALID", "notBefore": "2020-01-01T00:00:00Z", "notAfter": "2020-01-02T00:00:00Z", "certificatePem": "",
            "revokedAt": null, "revocationReason": null, "comment": null, "createdAt": "2020-01-01T00:00:00Z",
        }))
        .unwrap()
    }

    #[test]
    fn records_stored_before_channels_read_as_the_channel_that_wrote_them() {
        assert_eq!(legacy(Some("s"), "TLS_SERVER").channel(), Channel::Pki);
        assert_eq!(legacy(None, "PUPPET_AGENT").channel(), Channel::Puppet);
        assert_eq!(legacy(None, "TLS_CLIENT").channel(), Channel::Agent);
        let mut stored = legacy(Some("s"), "TLS_CLIENT");
        stored.stored_channel = Some(Channel::Device);
        let back: CertificateRecord = serde_json::from_value(serde_json::to_value(&stored).unwrap()).unwrap();
        assert_eq!(back.channel(), Channel::Device);
    }

    #[test]
    fn channels_parse_their_lowercase_names_only() {
        for channel in Channel::ALL {
            assert_eq!(Channel::parse(channel.as_str()).unwrap(), channel);
        }
        assert!(Channel::parse("PKI").is_err() && Channel::parse("all").is_err());
        assert_eq!(Channel::Puppet.name_key("web01"), "CN#puppet#web01");
    }
}
