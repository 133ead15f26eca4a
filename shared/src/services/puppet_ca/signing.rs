//! Signing (seed 001 `POST /api/v1/ca/sign/{certname}`) and autosign (`PUPPET_AUTOSIGN`).

use super::audit::OperationKind;
use super::listing::glob_matches;
use super::requests::{encode, CsrRecord, CsrState};
use super::{codes, now, unavailable, PuppetCa, AUTOSIGN_ACTOR};
use crate::domain::Certname;
use crate::error::{Error, Result};
use crate::pki::csr::verify_pem;
use crate::pki::leaf::Template;
use crate::pki::{DnsName, SubjectName};
use crate::ports::{Condition, Item, Write};
use crate::services::pki::{AuthorityRecord, CertificateRecord, LeafRequest};
use time::Duration;

/// How long a signing claim holds a request if its signer dies.
const CLAIM_SECONDS: i64 = 60;

fn claim_key(certname: &Certname) -> (String, String) {
    (format!("CSRCLAIM#{certname}"), "CLAIM".to_owned())
}

/// Validity of a node certificate, within the CA's own (seed 001: 2026-01-22 → 2036-01-20).
const VALIDITY_DAYS: i64 = 3650;

/// The PuppetAgent profile for `certname` (clientAuth + serverAuth, CN and, when the certname
/// is a DNS name, a dNSName SAN), valid for ten years or until the CA certificate ends.
fn leaf_request(ca: &AuthorityRecord, certname: &Certname) -> Result<LeafRequest> {
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
    /// 503 `CA_UNAVAILABLE` when the CA or its key custody is unavailable.
    pub async fn sign(&self, certname: &Certname, actor: &str) -> Result<CertificateRecord> {
        let result = self.sign_pending(certname).await;
        self.audited(OperationKind::Sign, Some(certname), actor, None, result).await
    }

    async fn sign_pending(&self, certname: &Certname) -> Result<CertificateRecord> {
        let (item, csr) = self.pending_item(certname).await?;
        self.claim(certname).await?;
        let result = self.sign_claimed(certname, item, csr).await;
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

    async fn sign_claimed(&self, certname: &Certname, item: Item, csr: CsrRecord) -> Result<CertificateRecord> {
        let ca = self.authority().await?;
        let key = verify_pem(&csr.csr)?.key;
        let request = leaf_request(&ca, certname)?;
        let signed = CsrRecord { decided_at: Some(now()), status: CsrState::Signed, ..csr };
        let transition = Write::Put { item: encode(&signed, CsrState::Signed, item.version + 1)?, condition: Condition::Version(item.version) };
        match self.pki.issue_for_key(request, &key, vec![transition]).await {
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

    /// Signs a just-stored request whose certname matches a `PUPPET_AUTOSIGN` glob; a failure
    /// leaves it pending for an operator.
    pub(super) async fn autosign(&self, certname: &Certname) -> bool {
        if !self.config.puppet_autosign.iter().any(|glob| glob_matches(glob, certname.as_str())) {
            return false;
        }
        match self.sign(certname, AUTOSIGN_ACTOR).await {
            Ok(_) => true,
            Err(e) if e.code() == Some(codes::CERT_ALREADY_SIGNED) => true,
            Err(e) => {
                tracing::warn!(certname = %certname, error = %e, "autosign failed; the request stays pending");
                false
            }
        }
    }
}
