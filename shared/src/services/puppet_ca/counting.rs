//! The CA's counts (pending requests, certificates signed and revoked), read from its
//! authority's counter ([`crate::services::pki::counts`]) so `GET /api/v1/ca/status` costs
//! one read whatever the size of the inventory. The counter is built by a recount the first
//! time it is read (deployments older than counters). Requests that expire by store TTL are
//! never subtracted, so the pending count is recounted from the pending requests' index
//! partition (at most the cap's worth of requests, never the inventory) when the counter
//! says the cap is reached, so no submission is refused on a stale count, and when it was
//! last counted more than [`PENDING_RECOUNT_AFTER`] ago.

use super::requests::CsrState;
use super::{now, PuppetCa};
use crate::error::Result;
use crate::ports::Write;
use crate::services::pki::counts::{self, CaCounts, Counter, Delta, PENDING_RECOUNT_AFTER};

/// How many recounts a reader makes at most while writers keep moving the counter.
const BUILD_ATTEMPTS: u32 = 5;
use crate::services::pki::CertStatus;

impl PuppetCa {
    /// The CA's counts (see the module docs); 503 when the CA has no authority.
    pub(super) async fn counts(&self) -> Result<CaCounts> {
        let id = self.authority_id().await?;
        match counts::read(self.ports.store.as_ref(), &id).await? {
            Counter::Counted(version, counted) if self.pending_count_is_stale(&counted) => self.recount_pending(&id, version, counted).await,
            Counter::Counted(_, counted) => Ok(counted),
            never_counted => self.build_counter(&id, never_counted).await,
        }
    }

    fn pending_count_is_stale(&self, counted: &CaCounts) -> bool {
        counted.pending >= self.max_pending as u64 || now() - counted.pending_counted_at > PENDING_RECOUNT_AFTER
    }

    /// Counts everything for a CA whose counter was never counted, and stores the result
    /// unless a write moved the counter meanwhile (then counts again, a few times at most).
    async fn build_counter(&self, id: &str, mut seen: Counter) -> Result<CaCounts> {
        let store = self.ports.store.as_ref();
        for _ in 0..BUILD_ATTEMPTS {
            let counted = self.count_everything().await?;
            if counts::store_built(store, id, &seen, &counted).await? {
                return Ok(counted);
            }
            match counts::read(store, id).await? {
                Counter::Counted(_, built) => return Ok(built),
                moved => seen = moved,
            }
        }
        tracing::warn!(authority_id = id, "counter kept moving while it was built; answering an unstored count");
        self.count_everything().await
    }

    async fn count_everything(&self) -> Result<CaCounts> {
        let issued = self.issued(None, None).await?;
        let revoked = issued.iter().filter(|c| c.status == CertStatus::Revoked).count() as u64;
        let pending = self.requests_in(CsrState::Pending).await?.len() as u64;
        Ok(CaCounts { pending, signed: issued.len() as u64, revoked, pending_counted_at: now() })
    }

    async fn recount_pending(&self, id: &str, version: u64, counted: CaCounts) -> Result<CaCounts> {
        let recounted = CaCounts { pending: self.requests_in(CsrState::Pending).await?.len() as u64, pending_counted_at: now(), ..counted };
        counts::store_recount(self.ports.store.as_ref(), id, Some(version), &recounted).await?;
        Ok(recounted)
    }

    /// How many requests wait for a decision: from the counter, or counted when the CA has no
    /// authority.
    pub(super) async fn pending_count(&self) -> Result<usize> {
        match self.counts().await {
            Ok(counted) => Ok(counted.pending as usize),
            Err(e) if e.status() == http::StatusCode::SERVICE_UNAVAILABLE => Ok(self.requests_in(CsrState::Pending).await?.len()),
            Err(e) => Err(e),
        }
    }

    /// Commits `writes`, which change the number of pending requests by `by`, with the CA's
    /// counter; without it when the CA has no authority (its counter is built on first read).
    pub(super) async fn commit_pending(&self, by: i64, writes: Vec<Write>) -> Result<()> {
        match self.authority_id().await {
            Ok(id) => counts::commit_counted(self.ports.store.as_ref(), &id, Delta::pending(by), writes).await,
            Err(e) if e.status() == http::StatusCode::SERVICE_UNAVAILABLE => self.ports.store.transact(writes).await,
            Err(e) => Err(e),
        }
    }
}
