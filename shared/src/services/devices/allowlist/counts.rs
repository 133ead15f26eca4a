//! The allowlist's counter, `ALLOWCOUNT` / `COUNT` (versioned): how many entries exist and
//! how many are used, so `GET /allowlist/stats` is one `GetItem` (as the Puppet CA's
//! `CACOUNT#` counters, `services::pki::counts`).
//!
//! Every write that adds, removes or marks an entry used moves the counter in the same
//! transaction ([`commit_counted`]); the counter is conditioned on the version read, and a
//! transaction that lost the counter to a concurrent writer is committed again over a fresh
//! read. An absent counter means zero entries (the allowlist is newer than no deployment):
//! the first writer creates it with `Condition::Absent`.

use crate::error::{Error, Result};
use crate::ports::{Condition, Item, Store, Write};
use serde::{Deserialize, Serialize};

const PK: &str = "ALLOWCOUNT";
const SK: &str = "COUNT";
/// Commits attempted at most while losing the counter to concurrent writers (each round one
/// of them wins).
const COMMIT_ATTEMPTS: u32 = 64;

/// The allowlist's numbers (`GET /allowlist/stats`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllowlistCounts {
    pub total: u64,
    pub used: u64,
}

/// A change of the counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Delta {
    pub total: i64,
    pub used: i64,
}

/// The counts and the counter's version (`None`: no counter yet, all zero).
pub async fn read(store: &dyn Store) -> Result<(Option<u64>, AllowlistCounts)> {
    match store.get(PK, SK).await? {
        Some(item) => {
            let counts = serde_json::from_value(item.data).map_err(|e| Error::internal(format!("corrupt allowlist counter: {e}")))?;
            Ok((Some(item.version), counts))
        }
        None => Ok((None, AllowlistCounts::default())),
    }
}

fn counter_write(version: Option<u64>, counts: AllowlistCounts, delta: Delta) -> Result<Write> {
    let moved = AllowlistCounts { total: counts.total.saturating_add_signed(delta.total), used: counts.used.saturating_add_signed(delta.used) };
    let mut item = Item::new(PK, SK, serde_json::to_value(moved).map_err(Error::internal)?);
    item.version = version.map_or(1, |v| v + 1);
    let condition = version.map_or(Condition::Absent, Condition::Version);
    Ok(Write::Put { item, condition })
}

/// Commits `writes` with the counter moved by `delta`, in one transaction. A conflict is
/// retried (after a short random pause) only when the counter moved since it was read, so it
/// may have been the counter's; any other conflict is the caller's and is returned.
pub async fn commit_counted(store: &dyn Store, delta: Delta, writes: Vec<Write>) -> Result<()> {
    if delta == Delta::default() {
        return store.transact(writes).await;
    }
    let (mut version, mut counts) = read(store).await?;
    for attempt in 1..=COMMIT_ATTEMPTS {
        let mut all = writes.clone();
        all.push(counter_write(version, counts, delta)?);
        match store.transact(all).await {
            Err(Error::Conflict(e)) if attempt < COMMIT_ATTEMPTS => {
                let (now_version, now_counts) = read(store).await?;
                if now_version == version {
                    return Err(Error::Conflict(e));
                }
                (version, counts) = (now_version, now_counts);
                tokio::time::sleep(std::time::Duration::from_millis(rand::random_range(1..=4 * u64::from(attempt.min(10))))).await;
            }
            other => return other,
        }
    }
    Err(Error::Unavailable("the allowlist counter is too busy; retry".into()))
}
