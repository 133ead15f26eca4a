//! `POST /api/v1/provision` (seed 000 phase 4): a one-time key and a CSR for a certificate.
//!
//! Exactly once, without read-then-write: (1) a conditional claim moves the key from
//! unused (or an abandoned, lease-expired claim) to `claimed` under a fresh claim id — losers
//! get `Conflict` and "already used"; (2) the certificate is signed; (3) one transaction
//! commits the certificate record and the key's `used` state conditioned on the claim. If
//! signing fails, the claim is released and the key stays usable (seed: "the key is consumed
//! only after signing succeeds").

use super::keys::{decode, encode, ProvisionKeyRecord, ProvisionKeyState};
use super::{hash_hex, pk, Provisioning, SK};
use crate::error::{Error, Result};
use crate::pki::chain::cert_pem;
use crate::pki::csr::{verify_pem, VerifiedCsr};
use crate::pki::leaf::Template;
use crate::pki::SubjectName;
use crate::ports::{Condition, Item, Write};
use crate::services::pki::{AuthorityRecord, Channel, LeafRequest, Provenance};
use time::Duration;

/// How long a claim holds the key before another attempt may take it over.
const CLAIM_LEASE_SECONDS: i64 = 60;

/// The margin kept between an agent certificate's notAfter and its issuer's.
const ISSUER_MARGIN: Duration = Duration::minutes(1);

/// The seed's 200 body.
#[derive(Clone, Debug)]
pub struct Provisioned {
    pub agent_id: String,
    pub agent_cert: String,
    /// The issuing CA's certificate followed by the rest of its chain up to the root.
    pub ca_cert: String,
}

fn unauthorized(msg: &str) -> Error {
    Error::Unauthorized(msg.into())
}

fn log_prefix(presented: &str) -> String {
    presented.chars().take(8).collect()
}

/// The configured agent validity, clipped to end with the issuer (as the Puppet CA does);
/// warns when the issuer has less than that left. An expired issuer gets the configured
/// validity, which issuance refuses (422).
fn agent_validity(issuer: &AuthorityRecord, configured_days: u32) -> Duration {
    let configured = Duration::days(i64::from(configured_days));
    let remaining = issuer.not_after - crate::services::pki::now() - ISSUER_MARGIN;
    if remaining >= configured {
        return configured;
    }
    tracing::warn!(issuer_id = %issuer.id, not_after = %issuer.not_after, configured_days, "the agent issuer ends before the configured agent validity; agent certificates are clipped to it, renew the issuer");
    if remaining >= Duration::SECOND {
        remaining
    } else {
        configured
    }
}

/// The `Outcome` dimension of a provisioning attempt: `provisioned`, a refusal
/// (`invalid_key`, `key_used`, `key_expired`, `invalid_csr`) or `error`.
pub fn outcome(result: &Result<Provisioned>) -> &'static str {
    match result {
        Ok(_) => "provisioned",
        Err(Error::Unauthorized(msg)) if msg.ends_with("already used") => "key_used",
        Err(Error::Unauthorized(msg)) if msg.ends_with("expired") => "key_expired",
        Err(Error::Unauthorized(_)) => "invalid_key",
        Err(Error::Validation(_)) => "invalid_csr",
        Err(_) => "error",
    }
}

impl Provisioning {
    /// The seed's flow with its exact messages; see the module docs for the ordering. Each
    /// attempt counts one `Provisions` metric by its [`outcome`].
    pub async fn provision(&self, presented: &str, csr_pem: &str) -> Result<Provisioned> {
        let result = self.exchange(presented, csr_pem).await;
        crate::metrics::Event::count("Provisions")
            .by("Outcome", outcome(&result))
            .emit();
        result
    }

    async fn exchange(&self, presented: &str, csr_pem: &str) -> Result<Provisioned> {
        let (item, record) = self.usable_key(presented).await?;
        let csr = match verify_pem(csr_pem) {
            Ok(csr) if csr.requests_ca => Err(Error::validation("invalid CSR: CA certificates cannot be provisioned")),
            Ok(csr) => Ok(csr),
            Err(e) => Err(Error::validation(format!("invalid CSR: {}", e.public_message()))),
        }
        .inspect_err(|e| tracing::error!(agent_id = %record.agent_id, error = %e, "CSR signing failed"))?;
        let claimed = self.claim(&item, &record).await?;
        match self.sign_and_consume(&claimed, &csr).await {
            Ok(done) => {
                tracing::info!(agent_id = %record.agent_id, "agent provisioned");
                Ok(done)
            }
            Err(e) => {
                tracing::error!(agent_id = %record.agent_id, error = %e, "CSR signing failed");
                self.release(&claimed).await;
                Err(e)
            }
        }
    }

    async fn usable_key(&self, presented: &str) -> Result<(Item, ProvisionKeyRecord)> {
        let item = self.store.get(&pk(&hash_hex(presented)), SK).await?;
        let Some(item) = item else {
            tracing::warn!(key_prefix = %log_prefix(presented), "provision attempt with invalid key");
            return Err(unauthorized("invalid provision key"));
        };
        let record = decode(&item)?;
        let now = crate::services::pki::now();
        let lease_live = record.claim_until.is_some_and(|until| until > now.unix_timestamp());
        match item.state.as_deref() {
            Some("used") => Err(unauthorized("provision key already used")),
            Some("revoked") => {
                tracing::warn!(key_prefix = %log_prefix(presented), "provision attempt with invalid key");
                Err(unauthorized("invalid provision key"))
            }
            _ if record.expires_at <= now => Err(unauthorized("provision key expired")),
            Some("claimed") if lease_live => Err(unauthorized("provision key already used")),
            _ => Ok((item, record)),
        }
    }

    async fn claim(&self, item: &Item, record: &ProvisionKeyRecord) -> Result<Item> {
        let mut claimed_record = record.clone();
        claimed_record.claim_id = Some(uuid::Uuid::new_v4().to_string());
        claimed_record.claim_until = Some(crate::services::pki::now().unix_timestamp() + CLAIM_LEASE_SECONDS);
        let hash = item.pk.trim_start_matches("PKEY#");
        let claimed = encode(&claimed_record, hash, ProvisionKeyState::Claimed, item.version + 1)?;
        match self.store.put(claimed.clone(), Condition::Version(item.version)).await {
            Ok(()) => Ok(claimed),
            Err(Error::Conflict(_)) => Err(unauthorized("provision key already used")),
            Err(e) => Err(e),
        }
    }

    async fn sign_and_consume(&self, claimed: &Item, csr: &VerifiedCsr) -> Result<Provisioned> {
        let mut record = decode(claimed)?;
        let issuer_id = crate::services::default_issuer::default_issuer(&self.config, self.store.as_ref()).await?;
        let issuer = self.pki.get_authority(&issuer_id).await?;
        let request = LeafRequest {
            issuer_id,
            template: Template::TlsClient,
            subject: SubjectName::common_name_only(&record.agent_id)?,
            subject_id: None,
            dns_names: Vec::new(),
            ip_addresses: Vec::new(),
            validity: agent_validity(&issuer, self.config.agent_cert_validity_days),
        };
        record.used_at = Some(crate::services::pki::now());
        let provenance = Provenance { channel: Channel::Agent, requested_by: Some(record.key_prefix.clone()), answers_pending: false };
        let consume = |cert: &crate::services::pki::CertificateRecord| -> Result<Vec<Write>> {
            let used = ProvisionKeyRecord { certificate_id: Some(cert.id.clone()), ..record.clone() };
            let item = encode(&used, claimed.pk.trim_start_matches("PKEY#"), ProvisionKeyState::Used, claimed.version + 1)?;
            Ok(vec![Write::Put { item, condition: Condition::Version(claimed.version) }])
        };
        let issued = match self.pki.issue_in(provenance, request, &csr.key, consume).await {
            Err(Error::Conflict(_)) => return Err(unauthorized("provision key already used")),
            other => other?,
        };
        let ca_cert = issued.chain.iter().map(|der| cert_pem(der)).collect();
        Ok(Provisioned { agent_id: record.agent_id, agent_cert: issued.cert.pem, ca_cert })
    }

    async fn release(&self, claimed: &Item) {
        let Ok(mut record) = decode(claimed) else { return };
        record.claim_id = None;
        record.claim_until = None;
        let hash = claimed.pk.trim_start_matches("PKEY#");
        let Ok(released) = encode(&record, hash, ProvisionKeyState::Unused, claimed.version + 1) else { return };
        if let Err(e) = self.store.put(released, Condition::Version(claimed.version)).await {
            tracing::warn!(error = %e, "could not release a provision key claim; it frees itself when the lease ends");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_refusal_of_the_seed_has_its_own_outcome() {
        let refused = |e: Error| outcome(&Err(e));
        assert_eq!(
            refused(unauthorized("invalid provision key")),
            "invalid_key"
        );
        assert_eq!(
            refused(unauthorized("provision key already used")),
            "key_used"
        );
        assert_eq!(
            refused(unauthorized("provision key expired")),
            "key_expired"
        );
        assert_eq!(
            refused(Error::validation("invalid CSR: bad signature")),
            "invalid_csr"
        );
        assert_eq!(refused(Error::Unavailable("store down".into())), "error");
        let done = Provisioned {
            agent_id: "a".into(),
            agent_cert: String::new(),
            ca_cert: String::new(),
        };
        assert_eq!(outcome(&Ok(done)), "provisioned");
    }
}
