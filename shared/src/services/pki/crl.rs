//! CRL publication (seed 004 §4, RFC 5280 §5): every unexpired revoked serial of an issuer,
//! a strictly increasing CRL number (§5.2.3), signed through custody, put at
//! `crl/<authorityId>.crl`.
//!
//! Publishers claim each number with a version condition on the CRL state, so no number is
//! used twice, and upload with a compare-and-swap on the stored object's tag that never
//! writes over a CRL numbered as high or higher: whatever the interleaving, the CRL relying
//! parties download never goes backwards. The state is marked `published` only by the
//! claimant of its number, after its upload, so a `published` state names the stored CRL.
//! Each publication also issues a delta CRL ([`delta_crl`](super::delta_crl)).

use super::authorities::Signing;
use super::records::{decode, item, AuthorityStatus, CrlState, RevokedRecord};
use super::{now, Pki};
use crate::domain::BlobKey;
use crate::error::{Error, Result};
use crate::jobs::Job;
use crate::pki::crl::{self, CrlProfile, RevokedEntry};
use crate::pki::{delta_crl, IssuerRef, Serial};
use crate::ports::{BlobCondition, Condition, Item, Query};
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
    /// The stored CRL, built after the request, already covers it: nothing to do.
    UpToDate { number: u64 },
    /// CRL `number` was built, but CRL `by`, built after it, was stored first; `by` covers
    /// everything `number` did, so `number` was not written over it.
    Superseded { number: u64, by: u64 },
}

/// A CRL number this publisher holds: the state it wrote at `version`.
struct Claim<'a> {
    authority_id: &'a str,
    key: &'a BlobKey,
    state: CrlState,
    version: u64,
    /// A CRL may be stored already (an earlier number was claimed).
    may_exist: bool,
}

/// What the store holds, as a conditional upload sees it.
enum Stored {
    /// A CRL numbered this high or higher: do not write.
    AsHighAs(u64),
    /// Write under this condition; `read_error` is why nothing could be read.
    Replaceable { condition: BlobCondition, read_error: Option<Error> },
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

/// True once `state`'s CRL is past half its validity (or was never stored), or past half
/// `delta_validity` when it was issued with a delta CRL (every CRL but the first): time to
/// publish the next ones, well before relying parties reach a nextUpdate (RFC 5280 §5.1.2.5).
fn due(state: Option<&CrlState>, at: OffsetDateTime, delta_validity: Duration) -> bool {
    state.is_none_or(|s| {
        let delta_due = s.number > 1 && at >= s.this_update + delta_validity / 2;
        !s.published || delta_due || at >= s.this_update + (s.next_update - s.this_update) / 2
    })
}

/// Counts a publication: `CrlPublished`, `CrlAgeSeconds` (from the request, a revocation or
/// the schedule's tick, to publication; 0 without one) and `CrlEntries` per authority.
fn report_publication(authority_id: &str, requested_at: Option<i64>, outcome: &CrlOutcome) {
    let CrlOutcome::Published { der, .. } = outcome else {
        return;
    };
    let age = requested_at.map_or(0, |at| (now().unix_timestamp() - at).max(0));
    let entries = x509_parser::parse_x509_crl(der)
        .map_or(0, |(_, crl)| crl.iter_revoked_certificates().count());
    crate::metrics::Event::count("CrlPublished")
        .by("AuthorityId", authority_id)
        .with("CrlAgeSeconds", age as f64, crate::metrics::Unit::Seconds)
        .with("CrlEntries", entries as f64, crate::metrics::Unit::Count)
        .emit();
}

/// A complete CRL; from the second on, its Freshest CRL extension (RFC 5280 §5.2.6) names
/// `delta_url`, where the delta CRL issued with it is published.
fn build_complete(profile: &CrlProfile, entries: &[RevokedEntry], issuer: &IssuerRef<'_>, delta_url: Option<&str>) -> Result<Vec<u8>> {
    match delta_url {
        Some(url) => delta_crl::build_base(profile, entries, issuer, url),
        None => crl::build(profile, entries, issuer),
    }
}

impl Pki {
    /// Builds, signs and publishes the authority's next CRL. A request stamped (unix seconds)
    /// before the current CRL's thisUpdate is a no-op if the stored CRL is that one. The CRL
    /// state is claimed with a version condition, so concurrent publishers never reuse a
    /// number; the upload never replaces a higher-numbered CRL (see the module docs).
    pub async fn publish_crl(&self, authority_id: &str, requested_at: Option<i64>) -> Result<CrlOutcome> {
        let signing = self.signing(self.get_authority(authority_id).await?).await?;
        let key = blob_key(authority_id)?;
        for attempt in 0..MAX_ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(rand::random_range(5..50) * attempt as u64)).await;
            }
            let current = self.ports.store.get(&state_pk(authority_id), "CRL").await?;
            let version = current.as_ref().map_or(0, |i| i.version);
            let state: Option<CrlState> = current.as_ref().map(decode).transpose()?;
            if let Some(number) = self.covering(&key, state.as_ref(), requested_at).await {
                return Ok(CrlOutcome::UpToDate { number });
            }
            let next = self.next_state(state.as_ref());
            let der = self.sign_crl(&signing, &next).await?;
            match self.ports.store.put(state_item(authority_id, &next, version + 1)?, expected(version)).await {
                Err(Error::Conflict(_)) => continue,
                claimed => claimed?,
            }
            let claimed = next.clone();
            let claim = Claim { authority_id, key: &key, state: next, version: version + 1, may_exist: state.is_some() };
            let previous = self.previous_base(&key, claim.may_exist).await;
            let outcome = self.place(claim, der).await?;
            report_publication(authority_id, requested_at, &outcome);
            if let (CrlOutcome::Published { der, .. }, Some(previous)) = (&outcome, previous) {
                self.publish_delta(&signing, &claimed, der, &previous).await;
            }
            return Ok(outcome);
        }
        Err(Error::Unavailable(format!("the CRL of authority {authority_id} kept changing under concurrent publications")))
    }

    fn next_state(&self, previous: Option<&CrlState>) -> CrlState {
        let this_update = now();
        CrlState {
            number: previous.map_or(1, |s| s.number + 1),
            published: false,
            this_update,
            next_update: this_update + Duration::hours(i64::from(self.config.crl_validity_hours)),
        }
    }

    /// The number of the stored CRL if it covers a request stamped `requested_at`: the state
    /// is published after the request and the stored object carries the state's number.
    async fn covering(&self, key: &BlobKey, state: Option<&CrlState>, requested_at: Option<i64>) -> Option<u64> {
        let (Some(at), Some(state)) = (requested_at, state) else { return None };
        if !state.published || at >= state.this_update.unix_timestamp() {
            return None;
        }
        match self.ports.blobs.get(key).await {
            Ok(Some(der)) if crl::number(&der) == Some(state.number) => Some(state.number),
            Ok(der) => {
                let found = der.as_deref().and_then(crl::number);
                tracing::warn!(%key, expected = state.number, ?found, "the stored CRL is not the one the state names; publishing again");
                None
            }
            Err(e) => {
                tracing::warn!(%key, error = %e, "the stored CRL cannot be read; publishing again");
                None
            }
        }
    }

    /// Uploads a claimed CRL unless a newer one is stored, then marks it published unless a
    /// later number was claimed meanwhile (whose publisher stores and marks that one).
    async fn place(&self, claim: Claim<'_>, der: Vec<u8>) -> Result<CrlOutcome> {
        let (authority_id, number) = (claim.authority_id, claim.state.number);
        if let Some(by) = self.upload(claim.key, &der, number, claim.may_exist).await? {
            tracing::info!(authority_id, number, by, "CRL superseded before its upload");
            return Ok(CrlOutcome::Superseded { number, by });
        }
        let published = CrlState { published: true, ..claim.state };
        match self.ports.store.put(state_item(authority_id, &published, claim.version + 1)?, Condition::Version(claim.version)).await {
            Ok(()) => tracing::info!(authority_id, number, "CRL published"),
            Err(Error::Conflict(_)) => tracing::info!(authority_id, number, "CRL published; a later one is already claimed"),
            Err(e) => return Err(e),
        }
        Ok(CrlOutcome::Published { number, der })
    }

    /// Compare-and-swap of the stored CRL: writes `der` (CRL `number`) over nothing or over a
    /// lower-numbered CRL only; returns the higher number stored instead. Whether to read
    /// first comes from the CRL state (`may_exist`), not from a read's status (S3 answers a
    /// missing object with 403 to a role without `s3:ListBucket`): a create-only write decides.
    pub(super) async fn upload(&self, key: &BlobKey, der: &[u8], number: u64, may_exist: bool) -> Result<Option<u64>> {
        let mut read_first = may_exist;
        for _ in 0..MAX_ATTEMPTS {
            let (condition, read_error) = match read_first {
                false => (BlobCondition::Absent, None),
                true => match self.stored(key, number).await {
                    Stored::AsHighAs(stored) => return Ok((stored > number).then_some(stored)),
                    Stored::Replaceable { condition, read_error } => (condition, read_error),
                },
            };
            match self.ports.blobs.put_if(key, der.to_vec(), CRL_CONTENT_TYPE, condition).await {
                Ok(_) => return Ok(None),
                Err(Error::Conflict(_)) => match read_error {
                    Some(e) => return Err(e),
                    None => read_first = true,
                },
                Err(e) => return Err(e),
            }
        }
        Err(Error::Unavailable(format!("the stored CRL {key} kept changing under concurrent uploads")))
    }

    /// What is stored at `key`, for the upload of CRL `number`. An object that is not a
    /// numbered CRL counts as number 0, so a CRL replaces it.
    async fn stored(&self, key: &BlobKey, number: u64) -> Stored {
        match self.ports.blobs.get_tagged(key).await {
            Ok(Some(blob)) => match crl::number(&blob.bytes).unwrap_or(0) {
                stored if stored >= number => Stored::AsHighAs(stored),
                _ => Stored::Replaceable { condition: BlobCondition::Tagged(blob.tag), read_error: None },
            },
            Ok(None) => Stored::Replaceable { condition: BlobCondition::Absent, read_error: None },
            Err(e) => Stored::Replaceable { condition: BlobCondition::Absent, read_error: Some(e) },
        }
    }

    async fn sign_crl(&self, signing: &Signing, state: &CrlState) -> Result<Vec<u8>> {
        let entries = self.revoked_entries(&signing.record.id, state.this_update).await?;
        let profile = CrlProfile { number: state.number, this_update: state.this_update, next_update: state.next_update };
        let delta_url = (state.number > 1).then(|| self.delta_crl_url(&signing.record.id));
        if entries.len() < LARGE_CRL_ENTRIES {
            return build_complete(&profile, &entries, &signing.issuer(), delta_url.as_deref());
        }
        let signing = signing.clone();
        let build = async move { build_complete(&profile, &entries, &signing.issuer(), delta_url.as_deref()) };
        super::cpu::process().run("CRL building", build).await
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

    /// The authority's published CRL (DER); 404 for an unknown authority. Whether one was
    /// ever stored comes from the CRL state, not from the blob store's answer (S3 answers a
    /// missing object with 403 to a role without `s3:ListBucket`); publishes one if none was.
    pub async fn current_crl(&self, authority_id: &str) -> Result<Vec<u8>> {
        self.get_authority(authority_id).await?;
        let key = blob_key(authority_id)?;
        if let Some(state) = self.crl_state(authority_id).await? {
            match self.ports.blobs.get(&key).await {
                Ok(Some(der)) => return Ok(der),
                Ok(None) => {}
                Err(e) if state.published => return Err(e),
                Err(e) => tracing::warn!(authority_id, error = %e, "no CRL is marked published and none can be read; publishing one"),
            }
        }
        match self.publish_crl(authority_id, None).await? {
            CrlOutcome::Published { der, .. } => Ok(der),
            CrlOutcome::UpToDate { .. } | CrlOutcome::Superseded { .. } => {
                self.ports.blobs.get(&key).await?.ok_or_else(|| Error::NotFound(format!("CRL of authority {authority_id}")))
            }
        }
    }

    /// The schedule's half of CRL freshness: queues one publication job per ACTIVE or DISABLED
    /// authority (a disabled CA issues nothing, but what it issued is still checked) whose CRL is due (past half its validity, or never stored), for the queue's workers to
    /// publish each in its own run. Tries them all; returns how many were queued, or the first
    /// failure.
    pub async fn enqueue_due_crls(&self) -> Result<usize> {
        let at = now();
        let (mut queued, mut first_error) = (0, None);
        for authority in self.all_authorities().await?.into_iter().filter(|a| a.status != AuthorityStatus::Revoked) {
            match self.enqueue_if_due(&authority.id, at).await {
                Ok(due) => queued += usize::from(due),
                Err(e) => {
                    tracing::error!(authority_id = %authority.id, error = %e, "CRL republication not queued");
                    first_error = first_error.or(Some(e));
                }
            }
        }
        first_error.map_or(Ok(queued), Err)
    }

    async fn enqueue_if_due(&self, authority_id: &str, at: OffsetDateTime) -> Result<bool> {
        if !due(self.crl_state(authority_id).await?.as_ref(), at, self.delta_validity()) {
            return Ok(false);
        }
        let job = Job::PublishCrl { authority_id: authority_id.to_owned(), requested_at: Some(at.unix_timestamp()) };
        job.enqueue(self.ports.queue.as_ref()).await?;
        Ok(true)
    }

    /// The first, empty CRL of a new authority; if it cannot be published now, a job is queued.
    pub(crate) async fn publish_first_crl(&self, authority_id: &str) -> Result<()> {
        let Err(e) = self.publish_crl(authority_id, None).await else { return Ok(()) };
        tracing::warn!(authority_id, error = %e, "first CRL not published; queueing it");
        Job::PublishCrl { authority_id: authority_id.to_owned(), requested_at: None }.enqueue(self.ports.queue.as_ref()).await.map_err(|_| e)
    }
}
