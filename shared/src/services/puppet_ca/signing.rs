//! Signing (seed 001 `POST /api/v1/ca/sign/{certname}`, optionally only the CSR with an
//! expected fingerprint) and autosign (`PUPPET_AUTOSIGN` globs, one-time challenge passwords),
//! never for a certname that has a revoked certificate.

use super::audit::{Audit, OperationKind};
use super::listing::glob_matches;
use super::requests::{encode, CsrRecord, CsrState};
use super::tokens::challenge_password;
use super::{codes, now, unavailable, PuppetCa, AUTOSIGN_ACTOR};
use crate::domain::Certname;
use crate::error::{Error, Result};
use crate::pki::csr::verify_pem;
use crate::pki::leaf::Template;
use crate::pki::{DnsName, SubjectName};
use crate::ports::{Condition, Item, Write};
use crate::services::pki::{AuthorityRecord, CertStatus, CertificateRecord, Channel, LeafRequest, Provenance};
use time::Duration;

/// A CSR fingerprint as seed 001 shows it: SHA-256, 32 colon-separated uppercase hex pairs
/// (lowercase is accepted).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fingerprint(String);

impl Fingerprint {
    /// Parses `AA:BB:...` (32 pairs).
    pub fn parse(raw: &str) -> Result<Self> {
        let upper = raw.trim().to_ascii_uppercase();
        let pairs: Vec<&str> = upper.split(':').collect();
        if pairs.len() != 32 || !pairs.iter().all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_hexdigit())) {
            return Err(Error::validation("fingerprint must be a SHA-256 fingerprint: 32 colon-separated hex pairs"));
        }
        Ok(Fingerprint(upper))
    }

    /// The fingerprint, uppercase.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How long a signing claim holds a request if its signer dies.
const CLAIM_SECONDS: i64 = 60;

fn claim_key(certname: &Certname) -> (String, String) {
    (format!("CSRCLAIM#{certname}"), "CLAIM".to_owned())
}

/// Validity of a node certificate, within the CA's own (seed 001: 2026-01-22 → 2036-01-20).
const VALIDITY_DAYS: i64 = 3650;

/// The PuppetAgent profile for `certname` (clientAuth + serverAuth, CN and, when the certname
/// is a DNS name, a dNSName SAN), valid for ten years or until the CA certificate ends.
pub(super) fn leaf_request(ca: &AuthorityRecord, certname: &Certname) -> Result<LeafRequest> {
    let remaining = ca.not_after - now() - Duration::minutes(1);
    if remaining <= Duration::ZERO {
        return Err(unavailable(Error::Unavailable(format!("the certificate of CA authority {} has expired; renew it", ca.id))));
    }
    Ok(LeafRequest {
        issuer_id: ca.id.clone(),
        template: Template::PuppetAgent,
        subject: SubjectName::common_name_only(certname.as_str())?,
        subject_id: None,
        dns_names: DnsName::parse(certname.as_str()).ok().into_iter().collect(),
        ip_addresses: Vec::new(),
        validity: remaining.min(Duration::days(VALIDITY_DAYS)),
    })
}

impl PuppetCa {
    /// Signs the pending request of `certname`: 404 `CSR_NOT_FOUND`, 409 `CERT_ALREADY_SIGNED`
    /// (also for the loser of two concurrent signs), 409 `INVALID_OPERATION` once rejected,
    /// 503 `CA_UNAVAILABLE` when the CA or its key custody is unavailable; with `expected`,
    /// 409 `FINGERPRINT_MISMATCH` when the pending CSR is another one.
    pub async fn sign(&self, certname: &Certname, expected: Option<&Fingerprint>, actor: &str) -> Result<CertificateRecord> {
        let audit = Audit::success(OperationKind::Sign, Some(certname), actor, None);
        let result = self.sign_pending(certname, expected, None, actor, &audit).await;
        self.committed(audit, result).await
    }

    /// Signs the pending request for `actor`, committing `spend` (a token's use) and `audit`
    /// with the certificate.
    async fn sign_pending(&self, certname: &Certname, expected: Option<&Fingerprint>, spend: Option<Write>, actor: &str, audit: &Audit) -> Result<CertificateRecord> {
        let (item, csr) = self.pending_item(certname).await?;
        if let Some(expected) = expected.filter(|e| e.as_str() != csr.fingerprint) {
            return Err(Error::Conflict(format!(
                "the pending certificate request of {certname} has fingerprint {}, not {}",
                csr.fingerprint,
                expected.as_str()
            ))
            .with_code(codes::FINGERPRINT_MISMATCH));
        }
        self.claim(certname).await?;
        let writes = spend.into_iter().chain([audit.write()?]).collect();
        let result = self.sign_claimed(certname, item, csr, writes, actor).await;
        let (pk, sk) = claim_key(certname);
        if let Err(e) = self.ports.store.delete(&pk, &sk, Condition::Always).await {
            tracing::warn!(certname = %certname, error = %e, "could not release a signing claim; it expires by itself");
        }
        result
    }

    /// One signer at a time per request: a conditional put of a short-lived claim item, so a
    /// concurrent sign loses before it signs anything (409 `CERT_ALREADY_SIGNED`).
    async fn claim(&self, certname: &Certname) -> Result<()> {
        let (pk, sk) = claim_key(certname);
        let mut item = Item::new(pk, sk, serde_json::json!({ "certname": certname.as_str() }));
        item.expires_at = Some(now().unix_timestamp() + CLAIM_SECONDS);
        match self.ports.store.put(item, Condition::Absent).await {
            Err(Error::Conflict(_)) => Err(Error::Conflict(format!("the certificate request of {certname} is already being signed")).with_code(codes::CERT_ALREADY_SIGNED)),
            other => other,
        }
    }

    /// Issues the certificate in the `puppet` channel, requested by `actor`, in one transaction
    /// with the request's `pending → signed` change and `extra`.
    async fn sign_claimed(&self, certname: &Certname, item: Item, csr: CsrRecord, extra: Vec<Write>, actor: &str) -> Result<CertificateRecord> {
        let ca = self.authority().await?;
        let key = verify_pem(&csr.csr)?.key;
        let request = leaf_request(&ca, certname)?;
        let signed = CsrRecord { decided_at: Some(now()), status: CsrState::Signed, ..csr };
        let transition = Write::Put { item: encode(&signed, CsrState::Signed, item.version + 1)?, condition: Condition::Version(item.version) };
        let writes: Vec<Write> = std::iter::once(transition).chain(extra).collect();
        let provenance = Provenance { channel: Channel::Puppet, requested_by: Some(actor.to_owned()), answers_pending: true };
        match self.pki.issue_in(provenance, request, &key, move |_| Ok(writes)).await {
            Ok(issued) => Ok(issued.record),
            Err(Error::Conflict(_)) => Err(self.after_conflict(certname).await),
            Err(e) => Err(self.explain(&ca, e).await),
        }
    }

    /// A signing failure as the caller sees it: an internal fault while key custody does not
    /// answer a probe is 503 `CA_UNAVAILABLE`.
    async fn explain(&self, ca: &AuthorityRecord, e: Error) -> Error {
        match e {
            Error::Internal(_) if !self.custody_answers(ca).await => {
                tracing::error!(authority_id = %ca.id, error = %e, "signing failed and key custody does not answer");
                unavailable(Error::Unavailable(format!("key custody of CA authority {} does not answer", ca.id)))
            }
            other => unavailable(other),
        }
    }

    /// Signs a just-stored request whose certname matches a `PUPPET_AUTOSIGN` glob, or whose
    /// CSR carries an unused autosign token, unless the certname has a revoked certificate; a
    /// failure (a wrong, used or expired token too) leaves it pending for an operator.
    pub(super) async fn autosign(&self, certname: &Certname, csr_pem: &str) -> bool {
        let by_glob = self.config.puppet_autosign.iter().any(|glob| glob_matches(glob, certname.as_str()));
        let token = challenge_password(csr_pem);
        if !by_glob && token.is_none() {
            return false;
        }
        let attempt = async {
            if self.has_revoked_certificate(certname).await? {
                tracing::warn!(certname = %certname, "not autosigning a certname that has a revoked certificate");
                return Ok(false);
            }
            match (by_glob, token) {
                (true, _) => self.autosign_with(certname, None).await,
                (false, Some(secret)) => self.autosign_with_token(certname, &secret).await,
                (false, None) => Ok(false),
            }
        };
        match attempt.await {
            Ok(signed) => signed,
            Err(e) if by_glob && e.code() == Some(codes::CERT_ALREADY_SIGNED) => true,
            Err(e) => {
                tracing::warn!(certname = %certname, error = %e, "autosign failed; the request stays pending");
                false
            }
        }
    }

    async fn autosign_with_token(&self, certname: &Certname, secret: &str) -> Result<bool> {
        let Some(claim) = self.claim_token(secret, certname.as_str()).await? else {
            tracing::info!(certname = %certname, "the CSR's challenge password is no usable autosign token; the request stays pending");
            return Ok(false);
        };
        let result = self.autosign_with(certname, Some(claim.spend())).await;
        if result.is_err() {
            self.release_token(claim).await;
        }
        result
    }

    async fn autosign_with(&self, certname: &Certname, spend: Option<Write>) -> Result<bool> {
        let audit = Audit::success(OperationKind::Sign, Some(certname), AUTOSIGN_ACTOR, None);
        let result = self.sign_pending(certname, None, spend, AUTOSIGN_ACTOR, &audit).await;
        self.committed(audit, result).await.map(|_| true)
    }

    /// True if the CA ever revoked a Puppet certificate named `certname`.
    async fn has_revoked_certificate(&self, certname: &Certname) -> Result<bool> {
        let issuer_id = self.authority_id().await?;
        let named = self.pki.certificates_named(Channel::Puppet, certname.as_str()).await?;
        Ok(named.iter().any(|c| c.issuer_id == issuer_id && c.status == CertStatus::Revoked))
    }
}
