//! Counting used entries exactly once. The provisioning transaction marks an entry used
//! ([`super::mark_used`]) inside the PKI's own counted transaction, where a second versioned
//! counter would make concurrent provisionings conflict with each other; so the allowlist
//! counter's `used` moves in a transaction of its own, [`count_used`], together with a
//! marker item (`ALLOW#<MAC>` / `USED`, GSI1 `ALLOWUSED` / MAC) created with
//! `Condition::Absent`: each use is counted once however often `count_used` runs. Removing an
//! entry removes its marker in the same transaction and takes it from `used` only if it was
//! counted. Listing the allowlist counts any used entry that lacks its marker (a process that
//! stopped between provisioning and counting), so `stats` converge without a recount.

use super::counts::{commit_counted, Delta};
use super::{entry_pk, find, AllowlistEntry, ENTRY_SK};
use crate::domain::MacAddress;
use crate::error::{Error, Result};
use crate::ports::{Condition, Index, IndexKey, Item, Query, SkRange, Store, Write};
use std::collections::BTreeSet;

const USED_SK: &str = "USED";
const USED_LIST_PK: &str = "ALLOWUSED";

fn marker(mac: &MacAddress) -> Item {
    let mut item = Item::new(entry_pk(mac), USED_SK, serde_json::json!({ "mac": mac }));
    item.gsi1 = Some(IndexKey { pk: USED_LIST_PK.to_owned(), sk: mac.to_string() });
    item
}

async fn is_counted(store: &dyn Store, mac: &MacAddress) -> Result<bool> {
    Ok(store.get(&entry_pk(mac), USED_SK).await?.is_some())
}

/// Counts the entry of `mac` in the allowlist's `used` if it is used and not yet counted;
/// `true` when this call counted it. Call it after the transaction with
/// [`super::mark_used`] committed.
pub async fn count_used(store: &dyn Store, mac: &MacAddress) -> Result<bool> {
    for _ in 0..8 {
        let Some((entry, version)) = find(store, mac).await? else { return Ok(false) };
        if !entry.used {
            return Ok(false);
        }
        let entry_still = Write::Check { pk: entry_pk(mac), sk: ENTRY_SK.to_owned(), condition: Condition::Version(version) };
        let writes = vec![Write::Put { item: marker(mac), condition: Condition::Absent }, entry_still];
        match commit_counted(store, Delta { total: 0, used: 1 }, writes).await {
            Ok(()) => return Ok(true),
            Err(Error::Conflict(_)) if is_counted(store, mac).await? => return Ok(false),
            Err(Error::Conflict(_)) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(Error::Unavailable(format!("allowlist entry {mac} is too busy; retry")))
}

/// The writes removing `entry` (read at `version`) and its marker, and the counter change,
/// given whether its use was `counted`. The marker's condition makes the transaction fail if
/// that changed meanwhile.
pub(super) fn removal_with(entry: &AllowlistEntry, version: u64, counted: bool) -> (Vec<Write>, Delta) {
    let pk = entry_pk(&entry.mac);
    let marker_write = match counted {
        true => Write::Delete { pk: pk.clone(), sk: USED_SK.to_owned(), condition: Condition::Exists },
        false => Write::Check { pk: pk.clone(), sk: USED_SK.to_owned(), condition: Condition::Absent },
    };
    let writes = vec![Write::Delete { pk, sk: ENTRY_SK.to_owned(), condition: Condition::Version(version) }, marker_write];
    (writes, Delta { total: -1, used: -i64::from(counted) })
}

/// [`removal_with`], reading whether the entry's use was counted.
pub(super) async fn removal(store: &dyn Store, entry: &AllowlistEntry, version: u64) -> Result<(Vec<Write>, Delta)> {
    Ok(removal_with(entry, version, is_counted(store, &entry.mac).await?))
}

/// The MACs whose use is counted (GSI1 `ALLOWUSED`, a page at a time).
pub(super) async fn counted_macs(store: &dyn Store) -> Result<BTreeSet<MacAddress>> {
    let mut macs = BTreeSet::new();
    let mut cursor = None;
    loop {
        let query = Query { index: Index::Gsi1, pk: USED_LIST_PK.to_owned(), range: SkRange::All, limit: 1000, cursor, descending: false };
        let page = store.query(query).await?;
        for item in &page.items {
            let mac = item.data.get("mac").and_then(|m| m.as_str()).ok_or_else(|| Error::internal("allowlist use marker without mac"))?;
            macs.insert(MacAddress::parse(mac)?);
        }
        match page.cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(macs),
        }
    }
}

/// Counts every used entry of `entries` whose use is not counted yet.
pub(super) async fn reconcile(store: &dyn Store, entries: &[AllowlistEntry]) -> Result<()> {
    if !entries.iter().any(|e| e.used) {
        return Ok(());
    }
    let counted = counted_macs(store).await?;
    for entry in entries.iter().filter(|e| e.used && !counted.contains(&e.mac)) {
        count_used(store, &entry.mac).await?;
    }
    Ok(())
}
