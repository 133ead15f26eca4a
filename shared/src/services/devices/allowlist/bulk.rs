//! The client's bulk operations (PiDashboard `allowlist.ts`: `bulkAdd`, `bulkRemove`,
//! `clearAll`), committed in transactions of up to [`CHUNK`] entries plus the counter. A
//! chunk that loses a race (an entry added or removed meanwhile) is redone one entry at a
//! time, so every entry is counted exactly once as added/skipped or removed/not found.

use super::counts::{commit_counted, Delta};
use super::used::{counted_macs, removal, removal_with};
use super::{add, find, list_versioned, remove, AllowlistEntry, NewEntry};
use crate::domain::MacAddress;
use crate::error::{Error, Result};
use crate::ports::{Condition, Store, Write};
use std::collections::BTreeSet;
use time::OffsetDateTime;

/// The most entries (or MACs) one bulk request may carry.
pub const MAX_BULK: usize = 1000;
/// Entries added per transaction (DynamoDB allows 100 items; one is the counter).
const CHUNK: usize = 99;
/// Entries removed per transaction (each with its use marker, plus the counter).
const REMOVE_CHUNK: usize = 49;

/// What a bulk add did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BulkAdded {
    pub added: u64,
    /// Already allowlisted, or repeated in the request.
    pub skipped: u64,
}

/// What a bulk remove did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BulkRemoved {
    pub removed: u64,
    pub not_found: u64,
}

fn bounded(n: usize) -> Result<()> {
    if n > MAX_BULK {
        return Err(Error::validation(format!("at most {MAX_BULK} entries per request")));
    }
    Ok(())
}

/// Adds every entry not yet allowlisted (the caller validated them all first).
pub async fn bulk_add(store: &dyn Store, entries: Vec<NewEntry>, now: OffsetDateTime) -> Result<BulkAdded> {
    bounded(entries.len())?;
    let asked = entries.len();
    let mut seen = BTreeSet::new();
    let unique: Vec<NewEntry> = entries.into_iter().filter(|e| seen.insert(e.mac)).collect();
    let mut done = BulkAdded { added: 0, skipped: (asked - unique.len()) as u64 };
    for chunk in unique.chunks(CHUNK) {
        let mut fresh = Vec::new();
        for new in chunk {
            match find(store, &new.mac).await? {
                Some(_) => done.skipped += 1,
                None => fresh.push(new.clone()),
            }
        }
        let writes = fresh.iter().map(|n| Ok(Write::Put { item: n.clone().entry(now).to_item(1)?, condition: Condition::Absent })).collect::<Result<Vec<_>>>()?;
        match commit_counted(store, Delta { total: fresh.len() as i64, used: 0 }, writes).await {
            Ok(()) => done.added += fresh.len() as u64,
            Err(Error::Conflict(_)) => one_by_one_add(store, fresh, now, &mut done).await?,
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

async fn one_by_one_add(store: &dyn Store, fresh: Vec<NewEntry>, now: OffsetDateTime, done: &mut BulkAdded) -> Result<()> {
    for new in fresh {
        match add(store, new, now).await {
            Ok(_) => done.added += 1,
            Err(Error::Conflict(_)) => done.skipped += 1,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Removes every listed MAC that is allowlisted.
pub async fn bulk_remove(store: &dyn Store, macs: Vec<MacAddress>) -> Result<BulkRemoved> {
    bounded(macs.len())?;
    let mut seen = BTreeSet::new();
    let unique: Vec<MacAddress> = macs.into_iter().filter(|m| seen.insert(*m)).collect();
    let mut done = BulkRemoved::default();
    for chunk in unique.chunks(REMOVE_CHUNK) {
        let mut removals = Vec::new();
        for mac in chunk {
            match find(store, mac).await? {
                Some((entry, version)) => {
                    let (writes, delta) = removal(store, &entry, version).await?;
                    removals.push((entry, writes, delta));
                }
                None => done.not_found += 1,
            }
        }
        done.removed += remove_all(store, removals, &mut done.not_found).await?;
    }
    Ok(done)
}

/// One entry's removal: the entry, its writes and its counter change.
type Removal = (AllowlistEntry, Vec<Write>, Delta);

/// Commits `removals` in one counted transaction, or one at a time when it lost a race;
/// returns how many were removed, counting vanished ones in `not_found`.
async fn remove_all(store: &dyn Store, removals: Vec<Removal>, not_found: &mut u64) -> Result<u64> {
    let mut writes = Vec::new();
    let mut delta = Delta::default();
    for (_, w, d) in &removals {
        writes.extend(w.iter().cloned());
        (delta.total, delta.used) = (delta.total + d.total, delta.used + d.used);
    }
    match commit_counted(store, delta, writes).await {
        Ok(()) => return Ok(removals.len() as u64),
        Err(Error::Conflict(_)) => {}
        Err(e) => return Err(e),
    }
    let mut removed = 0;
    for (entry, _, _) in &removals {
        match remove(store, &entry.mac).await {
            Ok(()) => removed += 1,
            Err(e) if e.status() == http::StatusCode::NOT_FOUND => *not_found += 1,
            Err(e) => return Err(e),
        }
    }
    Ok(removed)
}

/// Removes every entry; returns how many it removed.
pub async fn clear(store: &dyn Store) -> Result<u64> {
    let counted = counted_macs(store).await?;
    let entries = list_versioned(store).await?;
    let (mut cleared, mut vanished) = (0, 0);
    for chunk in entries.chunks(REMOVE_CHUNK) {
        let removals = chunk
            .iter()
            .map(|(entry, version)| {
                let (writes, delta) = removal_with(entry, *version, counted.contains(&entry.mac));
                (entry.clone(), writes, delta)
            })
            .collect();
        cleared += remove_all(store, removals, &mut vanished).await?;
    }
    Ok(cleared)
}
