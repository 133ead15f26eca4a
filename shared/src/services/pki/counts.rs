//! Per-authority counters, `CACOUNT#<authorityId>` / `COUNT` (versioned): pending Puppet
//! requests, certificates signed and certificates revoked, so the Puppet CA's status reads
//! its numbers with one `GetItem` instead of scanning requests and inventory.
//!
//! Every write that changes a number changes the counter in the same transaction
//! ([`commit_counted`]): issuance (pki-api, agent provisioning, Puppet signing and autosign),
//! revocation, and a Puppet request's submission, withdrawal or rejection. The counter is
//! conditioned on the version read; a transaction that fails because another writer moved
//! the counter meanwhile is committed again over a fresh read (the signature is not made
//! again). While no counter has been counted (an authority the Puppet CA never reported on, or
//! a deployment older than counters), writers stamp it dirty with a fresh token (`state`
//! `DIRTY:<uuid>`, put unconditionally, so concurrent writers never conflict over it) and the
//! first read builds it by a recount ([`store_built`]) conditioned on the token it saw before
//! counting: a write that commits while the recount runs changes the token, so the stale
//! recount is not stored and the reader counts again. Pending requests that expire by store TTL never decrement it, so
//! readers recount pending requests when the counter says the cap is reached or when the
//! pending count is older than [`PENDING_RECOUNT_AFTER`].

use crate::error::{Error, Result};
use crate::ports::{Condition, Item, Store, Write};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

const SK: &str = "COUNT";
/// How many times a transaction is committed at most while it loses the counter to concurrent
/// writers: each round one of them wins, so a burst of that many concurrent writes (40
/// anonymous submissions, say) all commit.
const COMMIT_ATTEMPTS: u32 = 48;
/// How old a pending count may be before a reader recounts the pending requests.
pub const PENDING_RECOUNT_AFTER: time::Duration = time::Duration::minutes(10);

/// An authority's counts (the counter item's `data`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CaCounts {
    /// Puppet requests waiting for a decision (expired ones included until recounted).
    pub pending: u64,
    /// Certificates the authority signed, revoked ones included.
    pub signed: u64,
    /// Certificates the authority signed that are revoked.
    pub revoked: u64,
    /// When the pending requests were last counted rather than incremented.
    #[serde(with = "time::serde::rfc3339")]
    pub pending_counted_at: OffsetDateTime,
}

/// A change of an authority's counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Delta {
    pub pending: i64,
    pub signed: i64,
    pub revoked: i64,
}

impl Delta {
    /// One more (`1`) or one fewer (`-1`) pending request.
    pub fn pending(by: i64) -> Self {
        Delta { pending: by, ..Delta::default() }
    }
}

fn pk(authority_id: &str) -> String {
    format!("CACOUNT#{authority_id}")
}

fn apply(count: u64, by: i64) -> u64 {
    count.saturating_add_signed(by)
}

/// What an authority's counter item holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Counter {
    /// Never written.
    Absent,
    /// Written to by writers but never counted (its dirty token): it must be built by a recount.
    Dirty(String),
    /// Counted, at this version.
    Counted(u64, CaCounts),
}

impl Counter {
    /// What changes whenever a writer touches the counter.
    fn token(&self) -> Option<String> {
        match self {
            Counter::Absent => None,
            Counter::Dirty(token) => Some(token.clone()),
            Counter::Counted(v, _) => Some(format!("v{v}")),
        }
    }
}

const DIRTY: &str = "DIRTY";

/// The stored counter of `authority_id`.
pub async fn read(store: &dyn Store, authority_id: &str) -> Result<Counter> {
    let Some(item) = store.get(&pk(authority_id), SK).await? else { return Ok(Counter::Absent) };
    if let Some(token) = item.state.as_deref().filter(|s| s.starts_with(DIRTY)) {
        return Ok(Counter::Dirty(token.to_owned()));
    }
    let counts = serde_json::from_value(item.data).map_err(|e| Error::internal(format!("corrupt counter of authority {authority_id}: {e}")))?;
    Ok(Counter::Counted(item.version, counts))
}

/// The write moving the counter `read` by `delta`, and the counter it leaves: a versioned put
/// of the moved numbers, or of the dirty mark while the counter has never been counted (put
/// unconditionally over a counter just read; over one remembered, only if still that mark).
fn counter_write(authority_id: &str, read: &Counter, delta: Delta, remembered: bool) -> Result<(Write, Counter)> {
    let Counter::Counted(version, counts) = read else {
        let mut mark = Item::new(pk(authority_id), SK, serde_json::json!({ "dirty": true }));
        let token = format!("{DIRTY}:{}", uuid::Uuid::new_v4().simple());
        mark.state = Some(token.clone());
        let condition = match read {
            Counter::Dirty(seen) if remembered => Condition::State(seen.clone()),
            _ => Condition::Always,
        };
        return Ok((Write::Put { item: mark, condition }, Counter::Dirty(token)));
    };
    let moved = CaCounts {
        pending: apply(counts.pending, delta.pending),
        signed: apply(counts.signed, delta.signed),
        revoked: apply(counts.revoked, delta.revoked),
        pending_counted_at: counts.pending_counted_at,
    };
    let write = Write::Put { item: item(authority_id, &moved, version + 1)?, condition: Condition::Version(*version) };
    Ok((write, Counter::Counted(version + 1, moved)))
}

fn item(authority_id: &str, counts: &CaCounts, version: u64) -> Result<Item> {
    let mut item = Item::new(pk(authority_id), SK, serde_json::to_value(counts).map_err(Error::internal)?);
    item.version = version;
    Ok(item)
}

/// Commits `writes` with the counter of `authority_id` moved by `delta`, in one transaction.
/// A conflict is committed again (up to [`COMMIT_ATTEMPTS`] times, after a random pause of
/// up to 4 ms per attempt, 40 ms at most) when the counter's version moved since it was read, so the conflict may be the
/// counter's; otherwise, or once attempts run out, it is returned as it is.
pub async fn commit_counted(store: &dyn Store, authority_id: &str, delta: Delta, writes: Vec<Write>) -> Result<()> {
    commit_counted_from(store, authority_id, None, delta, writes).await.map(drop)
}

/// [`commit_counted`] from `known`, the counter this process's last commit left, instead of a
/// read (a stale one costs a conflict and a read, as a concurrent writer does). Returns the
/// counter as committed.
pub(crate) async fn commit_counted_from(store: &dyn Store, authority_id: &str, known: Option<Counter>, delta: Delta, writes: Vec<Write>) -> Result<Counter> {
    let mut remembered = matches!(known, Some(Counter::Counted(..) | Counter::Dirty(_)));
    let mut current = match known {
        Some(known) if remembered => known,
        _ => read(store, authority_id).await?,
    };
    for attempt in 1..=COMMIT_ATTEMPTS {
        let mut all = writes.clone();
        let (write, after) = counter_write(authority_id, &current, delta, remembered)?;
        all.push(write);
        match store.transact(all).await {
            Ok(()) => return Ok(after),
            Err(Error::Conflict(e)) if attempt < COMMIT_ATTEMPTS => {
                let now = read(store, authority_id).await?;
                if now.token() == current.token() {
                    return Err(Error::Conflict(e));
                }
                current = now;
                remembered = false;
                tokio::time::sleep(std::time::Duration::from_millis(rand::random_range(1..=4 * u64::from(attempt.min(10))))).await;
            }
            Err(e) => return Err(e),
        }
    }
    Err(Error::Unavailable(format!("the counter of authority {authority_id} is too busy; retry")))
}

/// Stores `counts`, counted by the caller, over the never-counted counter `seen` before
/// counting (absent or dirty). A write since then wins: `counts` is then not stored, and
/// `false` returned.
pub async fn store_built(store: &dyn Store, authority_id: &str, seen: &Counter, counts: &CaCounts) -> Result<bool> {
    let condition = match seen {
        Counter::Absent => Condition::Absent,
        Counter::Dirty(token) => Condition::State(token.clone()),
        Counter::Counted(v, _) => Condition::Version(*v),
    };
    let next = if let Counter::Counted(v, _) = seen { v + 1 } else { 1 };
    match store.put(item(authority_id, counts, next)?, condition).await {
        Ok(()) => Ok(true),
        Err(Error::Conflict(_)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Stores `counts`, recounted by the caller, over the counter read at `version` before
/// counting (`None`: no counter yet). A concurrent writer wins: `counts` is then not stored,
/// and `false` returned.
pub async fn store_recount(store: &dyn Store, authority_id: &str, version: Option<u64>, counts: &CaCounts) -> Result<bool> {
    let (condition, next) = match version {
        Some(v) => (Condition::Version(v), v + 1),
        None => (Condition::Absent, 1),
    };
    match store.put(item(authority_id, counts, next)?, condition).await {
        Ok(()) => Ok(true),
        Err(Error::Conflict(_)) => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::local::SqliteStore;

    fn counts(signed: u64) -> CaCounts {
        CaCounts { pending: 0, signed, revoked: 0, pending_counted_at: OffsetDateTime::UNIX_EPOCH }
    }

    #[tokio::test]
    async fn a_recount_overtaken_by_a_write_is_not_stored_and_the_next_recount_sees_the_write() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("t.db")).unwrap();
        let seen_before_counting = read(&store, "ca").await.unwrap();
        assert_eq!(seen_before_counting, Counter::Absent);
        let stale = counts(0);
        let signed = Delta { signed: 1, ..Delta::default() };
        commit_counted(&store, "ca", signed, vec![]).await.unwrap();
        assert!(!store_built(&store, "ca", &seen_before_counting, &stale).await.unwrap(), "a stale recount was stored");
        let dirty = read(&store, "ca").await.unwrap();
        assert!(matches!(dirty, Counter::Dirty(_)), "{dirty:?}");
        commit_counted(&store, "ca", signed, vec![]).await.unwrap();
        assert!(!store_built(&store, "ca", &dirty, &counts(1)).await.unwrap(), "overtaken again by a second write");
        let dirty = read(&store, "ca").await.unwrap();
        assert!(store_built(&store, "ca", &dirty, &counts(2)).await.unwrap());
        commit_counted(&store, "ca", signed, vec![]).await.unwrap();
        assert!(matches!(read(&store, "ca").await.unwrap(), Counter::Counted(_, c) if c.signed == 3));
    }

    #[tokio::test]
    async fn a_remembered_counter_saves_the_read_and_a_stale_one_neither_clobbers_a_recount_nor_loses_a_count() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("t.db")).unwrap();
        let signed = Delta { signed: 1, ..Delta::default() };
        let dirty = commit_counted_from(&store, "ca", None, signed, vec![]).await.unwrap();
        assert_eq!(read(&store, "ca").await.unwrap(), dirty, "the commit reports the counter it left");
        let again = commit_counted_from(&store, "ca", Some(dirty.clone()), signed, vec![]).await.unwrap();
        assert!(matches!(&again, Counter::Dirty(t) if Counter::Dirty(t.clone()) != dirty), "{again:?}");
        assert!(store_built(&store, "ca", &again, &counts(2)).await.unwrap());
        let after = commit_counted_from(&store, "ca", Some(again), signed, vec![]).await.unwrap();
        assert!(matches!(&after, Counter::Counted(_, c) if c.signed == 3), "the recount is kept and moved: {after:?}");
        let stale = Counter::Counted(1, counts(2));
        let moved = commit_counted_from(&store, "ca", Some(stale), signed, vec![]).await.unwrap();
        assert!(matches!(&moved, Counter::Counted(_, c) if c.signed == 4), "a stale count is re-read, not written over: {moved:?}");
        assert_eq!(read(&store, "ca").await.unwrap(), moved);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn concurrent_writers_of_a_never_counted_counter_never_conflict_with_each_other() {
        let dir = tempfile::tempdir().unwrap();
        let store = std::sync::Arc::new(SqliteStore::open(&dir.path().join("t.db")).unwrap());
        let writers = (0..32).map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let mark = Item::new(format!("CERT#{i}"), "CERT", serde_json::json!({}));
                commit_counted(store.as_ref(), "busy", Delta { signed: 1, ..Delta::default() }, vec![Write::Put { item: mark, condition: Condition::Absent }]).await
            })
        });
        for done in futures::future::join_all(writers).await {
            done.unwrap().unwrap();
        }
        assert!(matches!(read(store.as_ref(), "busy").await.unwrap(), Counter::Dirty(_)));
    }
}
