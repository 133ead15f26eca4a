//! CRL publication (seed 004 §4, RFC 5280 §5): every unexpired revoked serial of an issuer,
//! a strictly increasing CRL number, signed through custody, put at `crl/<authorityId>.crl`.

use super::authorities::Signing;
use super::records::{decode, item, AuthorityStatus, CrlState, RevokedRecord};
use super::{now, Pki};
use crate::domain::BlobKey;
use crate::error::{Error, Result};
use crate::jobs::Job;
use crate::pki::crl::{self, CrlProfile, RevokedEntry};
use crate::pki::Serial;
use crate::ports::{Condition, Item, Query};
use time::{Duration, OffsetDateTime};

/// The media type of a DER CRL (RFC 5280 §4.2.1.13).
pub const CRL_CONTENT_TYPE: &str = "application/pkix-crl";
const MAX_ATTEMPTS: usize = 8;
/// Revoked entries from which a CRL build counts as CPU-heavy and runs behind the
/// process-wide [`cpu`](super::cpu) limit; in a debug build 1,000 entries take about 2 ms,
/// 100,000 about 0.3 s.
const LARGE_CRL_ENTRIES: usize = 1_000;

/// What [`Pki::publish_crl`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CrlOutcome {
    /// A new CRL with this number is published.
    Published { number: u64, der: Vec<u8> },
    /// The current CRL was built after the request: nothing to do.
    UpToDate { number: u64 },
}

fn state_pk(authority_id: &str) -> String {
    format!("CRLSTATE#{authority_id}")
}

/// The blob key of an authority's published CRL.
pub fn blob_key(authority_id: &str) -> Result<BlobKey> {
    BlobKey::parse(&format!("crl/{authority_id}.crl"))
}

fn state_item(authority_id: &str, state: &CrlState, version: u64) -> Result<Item> {
    let mut next = item(state_pk(authority_id), "CRL", None, state)?;
    next.version = version;
    Ok(next)
}

fn expected(version: u64) -> Condition {
    if version == 0 {
        Condition::Absent
    } else {
        Condition::Version(version)
    }
}

impl Pki {
    /// Builds, signs and publishes the authority's next CRL. A request stamped (unix seconds)
    /// before the current CRL's thisUpdate is already covered by it and is a no-op. The CRL
    /// state is claimed with a version condition, so concurrent publishers never reuse a number;
    /// one that finds a newer CRL claimed while it uploaded publishes again, so the blob ends
    /// with the highest number.
    pub async fn publish_crl(&self, authority_id: &str, requested_at: Option<i64>) -> Result<CrlOutcome> {
        let signing = self.signing(self.get_authority(authority_id).await?).await?;
        let mut requested_at = requested_at;
        for attempt in 0..MAX_ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(rand::random_range(5..50) * attempt as u64)).await;
            }
            let current = self.ports.store.get(&state_pk(authority_id), "CRL").await?;
            let version = current.as_ref().map_or(0, |i| i.version);
            let state: Option<CrlState> = current.as_ref().map(decode).transpose()?;
            if let (Some(at), Some(state)) = (requested_at, &state) {
                if state.published && at < state.this_update.unix_timestamp() {
                    return Ok(CrlOutcome::UpToDate { number: state.number });
                }
            }
            let this_update = now();
            let mut next = CrlState {
                number: state.map_or(1, |s| s.number + 1),
                published: false,
                this_update,
                next_update: this_update + Duration::hours(i64::from(self.config.crl_validity_hours)),
            };
            let der = self.sign_crl(&signing, &next).await?;
            match self.ports.store.put(state_item(authority_id, &next, version + 1)?, expected(version)).await {
                Err(Error::Conflict(_)) => continue,
                claimed => claimed?,
            }
            self.ports.blobs.put(&blob_key(authority_id)?, der.clone(), CRL_CONTENT_TYPE).await?;
            next.published = true;
            match self.ports.store.put(state_item(authority_id, &next, version + 2)?, Condition::Version(version + 1)).await {
                Err(Error::Conflict(_)) => requested_at = None,
                marked => {
                    marked?;
                    tracing::info!(authority_id, number = next.number, "CRL published");
                    return Ok(CrlOutcome::Published { number: next.number, der });
                }
            }
        }
        Err(Error::Unavailable(format!("the CRL of authority {authority_id} kept changing under concurrent publications")))
    }

    async fn sign_crl(&self, signing: &Signing, state: &CrlState) -> Result<Vec<u8>> {
        let entries = self.revoked_entries(&signing.record.id, state.this_update).await?;
        let profile = CrlProfile { number: state.number, this_update: state.this_update, next_update: state.next_update };
        if entries.len() < LARGE_CRL_ENTRIES {
            return crl::build(&profile, &entries, &signing.issuer());
        }
        let signing = signing.clone();
        super::cpu::process().run("CRL building", async move { crl::build(&profile, &entries, &signing.issuer()) }).await
    }

    async fn revoked_entries(&self, authority_id: &str, at: OffsetDateTime) -> Result<Vec<RevokedEntry>> {
        let mut query = Query::partition(format!("REVOKED#{authority_id}"));
        query.limit = 1000;
        let mut entries = Vec::new();
        loop {
            let page = self.ports.store.query(query.clone()).await?;
            for item in &page.items {
                let revoked: RevokedRecord = decode(item)?;
                if revoked.not_after > at {
                    let serial = Serial::parse_hex(&revoked.serial_number)?;
                    entries.push(RevokedEntry { serial, revoked_at: revoked.revoked_at, reason: revoked.reason });
                }
            }
            match page.cursor {
                Some(next) => query.cursor = Some(next),
                None => return Ok(entries),
            }
        }
    }

    /// The state of the authority's last CRL, if one was ever numbered.
    pub async fn crl_state(&self, authority_id: &str) -> Result<Option<CrlState>> {
        self.ports.store.get(&state_pk(authority_id), "CRL").await?.as_ref().map(decode).transpose()
    }

    /// The authority's published CRL (DER); 404 for an unknown authority. Publishes one if
    /// none is there yet.
    pub async fn current_crl(&self, authority_id: &str) -> Result<Vec<u8>> {
        self.get_authority(authority_id).await?;
        if let Some(der) = self.ports.blobs.get(&blob_key(authority_id)?).await? {
            return Ok(der);
        }
        match self.publish_crl(authority_id, None).await? {
            CrlOutcome::Published { der, .. } => Ok(der),
            CrlOutcome::UpToDate { .. } => self.ports.blobs.get(&blob_key(authority_id)?).await?.ok_or_else(|| Error::NotFound(format!("CRL of authority {authority_id}"))),
        }
    }

    /// Republishes the CRL of every ACTIVE authority (the scheduled refresh before nextUpdate).
    /// Tries them all; returns how many were published, or the first failure.
    pub async fn republish_all(&self) -> Result<usize> {
        let mut published = 0;
        let mut first_error = None;
        for authority in self.all_authorities().await?.into_iter().filter(|a| a.status == AuthorityStatus::Active) {
            match self.publish_crl(&authority.id, None).await {
                Ok(_) => published += 1,
                Err(e) => {
                    tracing::error!(authority_id = %authority.id, error = %e, "CRL republication failed");
                    first_error = first_error.or(Some(e));
                }
            }
        }
        first_error.map_or(Ok(published), Err)
    }

    /// The first, empty CRL of a new authority; if it cannot be published now, a job is queued.
    pub(crate) async fn publish_first_crl(&self, authority_id: &str) -> Result<()> {
        let Err(e) = self.publish_crl(authority_id, None).await else { return Ok(()) };
        tracing::warn!(authority_id, error = %e, "first CRL not published; queueing it");
        Job::PublishCrl { authority_id: authority_id.to_owned(), requested_at: None }.enqueue(self.ports.queue.as_ref()).await.map_err(|_| e)
    }
}
