//! The CA itself: status (seed 001 `GET /api/v1/ca/status`), renewal (`POST /api/v1/ca/renew`)
//! and what Puppet agents fetch of it (`certificate/ca`, `certificate_revocation_list/ca`).

use super::audit::{Operation, OperationKind};
use super::{now, unavailable, PuppetCa};
use crate::error::{Error, Result};
use crate::pki::chain::pem_chain;
use crate::pki::crl;
use crate::services::pki::AuthorityRecord;
use std::path::Path;
use std::time::Duration;
use time::OffsetDateTime;

/// How long key custody has to answer the status probe.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a successful probe is trusted; failures are probed again at once.
const PROBE_CACHE: std::time::Duration = std::time::Duration::from_secs(30);

/// Successful custody probes per key, process-wide (a Lambda instance, or `serve`).
mod probe_cache {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    use std::time::Instant;

    fn cache() -> &'static Mutex<HashMap<String, (Instant, bool)>> {
        static CACHE: OnceLock<Mutex<HashMap<String, (Instant, bool)>>> = OnceLock::new();
        CACHE.get_or_init(Default::default)
    }

    pub(super) fn get(key_ref: &str) -> Option<bool> {
        let cache = cache().lock().unwrap_or_else(|p| p.into_inner());
        cache.get(key_ref).filter(|(at, _)| at.elapsed() < super::PROBE_CACHE).map(|(_, v)| *v)
    }

    pub(super) fn put(key_ref: &str, usable: bool) {
        cache().lock().unwrap_or_else(|p| p.into_inner()).insert(key_ref.to_owned(), (Instant::now(), usable));
    }
}
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
    /// The CA's certificates that are not revoked, from its counter (expired ones included:
    /// expiry changes no stored item, so no transaction counts it).
    pub signed_certificates: usize,
    pub last_operation: Option<Operation>,
}

/// What a renewal did (seed 001 `POST /api/v1/ca/renew`).
#[derive(Clone, Debug)]
pub struct Renewed {
    pub old: AuthorityRecord,
    pub new: AuthorityRecord,
    /// Where the old certificate was backed up: an `s3://` URI on AWS; embedded, a path
    /// relative to the data directory (`blobs/backups/ca/<authorityId>/<serial>.pem`).
    pub backup_path: Option<String>,
    pub at: OffsetDateTime,
}

impl PuppetCa {
    /// The CA's health and counts, the counts read from its counter (one item read, see
    /// `counting`), never from the inventory. An unknown CA or silent key custody is `running: false`,
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
        let counted = async {
            match &ca {
                Some(_) => self.counts().await.map(|c| (c.pending as usize, c.signed.saturating_sub(c.revoked) as usize)),
                None => Ok((self.pending_count().await?, 0)),
            }
        };
        let (running, (pending_requests, signed_certificates), last_operation) = tokio::try_join!(running, counted, self.last_operation())?;
        Ok(CaStatus { running, ca, pending_requests, signed_certificates, last_operation })
    }

    /// True if key custody says the CA's key can sign (KMS `DescribeKey`; no signature is
    /// spent), answered within [`PROBE_TIMEOUT`] and remembered for [`PROBE_CACHE`].
    pub(super) async fn custody_answers(&self, ca: &AuthorityRecord) -> bool {
        if let Some(known) = probe_cache::get(&ca.key.key_ref) {
            return known;
        }
        let probe = self.ports.custody.key_usable(&ca.key);
        let usable = match tokio::time::timeout(PROBE_TIMEOUT, probe).await {
            Ok(Ok(usable)) => usable,
            Ok(Err(e)) => {
                tracing::warn!(authority_id = %ca.id, error = %e, "key custody probe failed");
                false
            }
            Err(_) => {
                tracing::warn!(authority_id = %ca.id, "key custody probe timed out");
                false
            }
        };
        if usable {
            probe_cache::put(&ca.key.key_ref, usable);
        }
        usable
    }

    /// Re-issues the CA certificate with the same key and subject and a fresh validity,
    /// backing the old one up first when `backup` (see `Pki::renew_authority`).
    pub async fn renew(&self, backup: bool, actor: &str) -> Result<Renewed> {
        let result = async {
            let ca = self.authority().await?;
            match self.pki.renew_authority(&ca.id, backup).await {
                Ok(done) => Ok(Renewed { old: done.old, new: done.new, backup_path: done.backup_path.map(|at| self.shown_location(at)), at: now() }),
                Err(e) if e.status().is_server_error() => Err(self.renewal_failure(&ca, e).await),
                Err(e) => Err(e),
            }
        }
        .await;
        self.audited(OperationKind::Renew, None, actor, None, result).await
    }

    /// A server-side renewal failure as the caller sees it: 503 `CA_UNAVAILABLE` while key
    /// custody does not answer a probe, else an internal error (seed 001: 500 "Renewal failed
    /// (check logs)"); the cause is logged either way.
    async fn renewal_failure(&self, ca: &AuthorityRecord, e: Error) -> Error {
        if !self.custody_answers(ca).await {
            tracing::error!(authority_id = %ca.id, error = %e, "renewal failed and key custody does not answer");
            return unavailable(Error::Unavailable(format!("key custody of CA authority {} does not answer", ca.id)));
        }
        tracing::error!(authority_id = %ca.id, error = %e, "renewal failed");
        Error::internal(format!("renewal of CA authority {} failed: {e}", ca.id))
    }

    /// A blob location as a caller may see it: a URI as it is, a file under the data
    /// directory relative to it, never another server path (then only its file name).
    fn shown_location(&self, location: String) -> String {
        let path = Path::new(&location);
        match path.strip_prefix(&self.config.data_dir) {
            Ok(relative) => relative.display().to_string(),
            Err(_) if path.is_absolute() => path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default(),
            Err(_) => location,
        }
    }

    /// Puppet `GET certificate/ca`: the CA certificate followed by its chain to the root, PEM.
    pub async fn ca_chain_pem(&self) -> Result<String> {
        let ca = self.authority().await?;
        Ok(pem_chain(&self.pki.chain(&ca.id).await?))
    }

    /// Puppet `GET certificate_revocation_list/ca`: the CA's current CRL followed by those of
    /// its ancestors, PEM (Puppet Server's CRL chain, which agents checking the whole chain
    /// need), with the newest `thisUpdate` among them (the `Last-Modified` agents revalidate
    /// with `If-Modified-Since`).
    pub async fn crl_chain(&self) -> Result<CrlChain> {
        let mut current = self.authority().await?;
        let mut chain = CrlChain { pem: String::new(), last_modified: OffsetDateTime::UNIX_EPOCH };
        for _ in 0..MAX_CHAIN {
            let der = self.pki.current_crl(&current.id).await.map_err(unavailable)?;
            chain.last_modified = chain.last_modified.max(this_update(&der)?);
            chain.pem.push_str(&crl::to_pem(&der));
            match current.parent_authority_id.clone() {
                Some(parent) => current = self.pki.get_authority(&parent).await?,
                None => return Ok(chain),
            }
        }
        Err(Error::internal(format!("the CA chain is longer than {MAX_CHAIN}")))
    }
}

/// The CRLs of a CA chain, PEM, and when the newest of them was issued.
#[derive(Clone, Debug)]
pub struct CrlChain {
    pub pem: String,
    pub last_modified: OffsetDateTime,
}

fn this_update(der: &[u8]) -> Result<OffsetDateTime> {
    let (_, crl) = x509_parser::parse_x509_crl(der).map_err(|e| Error::internal(format!("stored CRL is unreadable: {e}")))?;
    Ok(crl.last_update().to_datetime())
}
