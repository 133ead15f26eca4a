//! The CA itself: status (seed 001 `GET /api/v1/ca/status`), renewal (`POST /api/v1/ca/renew`)
//! and what Puppet agents fetch of it (`certificate/ca`, `certificate_revocation_list/ca`).

use super::audit::{Operation, OperationKind};
use super::{now, unavailable, PuppetCa};
use crate::error::{Error, Result};
use crate::pki::chain::pem_chain;
use crate::pki::crl;
use crate::services::pki::AuthorityRecord;
use std::time::Duration;
use time::OffsetDateTime;

/// How long key custody has to answer the status probe.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);
const PROBE_MESSAGE: &[u8] = b"trustplane puppet-ca custody probe";
/// The longest CA chain walked for CRLs.
const MAX_CHAIN: usize = 16;

/// Seed 001 `GET /api/v1/ca/status`.
#[derive(Clone, Debug)]
pub struct CaStatus {
    /// `running`: the CA exists and its key custody signed a probe within 3 s.
    pub running: bool,
    /// The CA's authority, when it exists (its certificate's dates).
    pub ca: Option<AuthorityRecord>,
    pub pending_requests: usize,
    /// The CA's certificates that are neither revoked nor expired.
    pub signed_certificates: usize,
    pub last_operation: Option<Operation>,
}

/// What a renewal did (seed 001 `POST /api/v1/ca/renew`).
#[derive(Clone, Debug)]
pub struct Renewed {
    pub old: AuthorityRecord,
    pub new: AuthorityRecord,
    /// Where the old certificate was backed up (`s3://...` on AWS, a file path embedded).
    pub backup_path: Option<String>,
    pub at: OffsetDateTime,
}

impl PuppetCa {
    /// The CA's health and counts. An unknown CA or silent key custody is `running: false`,
    /// not an error; a store failure is a 503.
    pub async fn status(&self) -> Result<CaStatus> {
        let ca = match self.authority().await {
            Ok(ca) => Some(ca),
            Err(e) if e.status() == http::StatusCode::SERVICE_UNAVAILABLE => None,
            Err(e) => return Err(e),
        };
        let running = async {
            match &ca {
                Some(ca) => Ok(self.custody_answers(ca).await),
                None => Ok(false),
            }
        };
        let signed = async {
            match &ca {
                Some(_) => self.valid_count().await,
                None => Ok(0),
            }
        };
        let (running, pending_requests, signed_certificates, last_operation) = tokio::try_join!(running, self.pending_count(), signed, self.last_operation())?;
        Ok(CaStatus { running, ca, pending_requests, signed_certificates, last_operation })
    }

    /// True if key custody signs a probe message with the CA's key within [`PROBE_TIMEOUT`].
    pub(super) async fn custody_answers(&self, ca: &AuthorityRecord) -> bool {
        let (custody, key) = (self.ports.custody.clone(), ca.key.clone());
        let probe = async move {
            let signer = custody.signer(&key).await?;
            tokio::task::spawn_blocking(move || signer.sign_message(PROBE_MESSAGE)).await.map_err(Error::internal)?
        };
        match tokio::time::timeout(PROBE_TIMEOUT, probe).await {
            Ok(Ok(_)) => true,
            Ok(Err(e)) => {
                tracing::warn!(authority_id = %ca.id, error = %e, "key custody probe failed");
                false
            }
            Err(_) => {
                tracing::warn!(authority_id = %ca.id, "key custody probe timed out");
                false
            }
        }
    }

    /// Re-issues the CA certificate with the same key and subject and a fresh validity,
    /// backing the old one up first when `backup` (see `Pki::renew_authority`).
    pub async fn renew(&self, backup: bool, actor: &str) -> Result<Renewed> {
        let result = async {
            let ca = self.authority().await?;
            match self.pki.renew_authority(&ca.id, backup).await {
                Ok(done) => Ok(Renewed { old: done.old, new: done.new, backup_path: done.backup_path, at: now() }),
                Err(e @ Error::Internal(_)) if !self.custody_answers(&ca).await => {
                    tracing::error!(authority_id = %ca.id, error = %e, "renewal failed and key custody does not answer");
                    Err(unavailable(Error::Unavailable(format!("key custody of CA authority {} does not answer", ca.id))))
                }
                Err(e) => Err(unavailable(e)),
            }
        }
        .await;
        self.audited(OperationKind::Renew, None, actor, None, result).await
    }

    /// Puppet `GET certificate/ca`: the CA certificate followed by its chain to the root, PEM.
    pub async fn ca_chain_pem(&self) -> Result<String> {
        let ca = self.authority().await?;
        Ok(pem_chain(&self.pki.chain(&ca.id).await?))
    }

    /// Puppet `GET certificate_revocation_list/ca`: the CA's current CRL followed by those of
    /// its ancestors, PEM (Puppet Server's CRL chain, which agents checking the whole chain
    /// need).
    pub async fn crl_chain_pem(&self) -> Result<String> {
        let mut current = self.authority().await?;
        let mut pems = String::new();
        for _ in 0..MAX_CHAIN {
            pems.push_str(&crl::to_pem(&self.pki.current_crl(&current.id).await.map_err(unavailable)?));
            match current.parent_authority_id.clone() {
                Some(parent) => current = self.pki.get_authority(&parent).await?,
                None => return Ok(pems),
            }
        }
        Err(Error::internal(format!("the CA chain is longer than {MAX_CHAIN}")))
    }
}
