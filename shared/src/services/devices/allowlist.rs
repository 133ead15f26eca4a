//! The device allowlist (seed 002 `/allowlist`, PiDashboard `DeviceAllowlistEntry`).
//!
//! Layout: `PK = ALLOW#<MAC>`, `SK = ALLOW`, `GSI1 = (ALLOW, <MAC>)` for listing in MAC order.
//! The counts `GET /allowlist/stats` answers live in one counter item moved in the same
//! transactions as the entries ([`counts`]); a use is counted once after the provisioning
//! transaction marked it ([`count_used`], with the marker `ALLOW#<MAC>` / `USED`).

use crate::domain::MacAddress;
use crate::error::{Error, Result};
use crate::ports::{Condition, Index, IndexKey, Item, Query, SkRange, Store, Write};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The partition key of one entry.
pub fn entry_pk(mac: &MacAddress) -> String {
    format!("ALLOW#{mac}")
}
/// The sort key of every entry.
pub const ENTRY_SK: &str = "ALLOW";
/// The GSI1 partition listing every entry.
pub const LIST_PK: &str = "ALLOW";

/// One allowlisted device. Optional fields are omitted, never `null` (the client's zod
/// schemas reject `null` for `.optional()`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AllowlistEntry {
    pub mac: MacAddress,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_id: Option<String>,
    /// RFC 3339 UTC.
    pub added_at: String,
    pub used: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_at: Option<String>,
}

impl AllowlistEntry {
    /// The stored item of this entry at `version`.
    pub fn to_item(&self, version: u64) -> Result<Item> {
        let data = serde_json::to_value(self).map_err(|e| Error::Internal(format!("allowlist entry: {e}")))?;
        let mut item = Item::new(entry_pk(&self.mac), ENTRY_SK, data);
        item.gsi1 = Some(IndexKey { pk: LIST_PK.to_owned(), sk: self.mac.to_string() });
        item.version = version;
        Ok(item)
    }

    /// Reads an entry back from its item.
    pub fn from_item(item: &Item) -> Result<Self> {
        serde_json::from_value(item.data.clone()).map_err(|e| Error::Internal(format!("stored allowlist entry: {e}")))
    }
}

/// The entry of `mac` with its stored version, if allowlisted.
pub async fn find(store: &dyn Store, mac: &MacAddress) -> Result<Option<(AllowlistEntry, u64)>> {
    match store.get(&entry_pk(mac), ENTRY_SK).await? {
        Some(item) => Ok(Some((AllowlistEntry::from_item(&item)?, item.version))),
        None => Ok(None),
    }
}

/// The write that marks `entry` (read at `version`) used at `now`, for the transaction that
/// records the device provisioned. Fails with `Conflict` if the entry changed meanwhile.
/// Once it committed, call [`count_used`] so the allowlist's `used` count moves with it.
pub fn mark_used(entry: &AllowlistEntry, version: u64, now: OffsetDateTime) -> Result<Write> {
    let mut used = entry.clone();
    used.used = true;
    used.used_at.get_or_insert_with(|| crate::clock::rfc3339(now));
    Ok(Write::Put { item: used.to_item(version + 1)?, condition: Condition::Version(version) })
}

mod bulk;
pub mod counts;
mod used;

pub use bulk::{bulk_add, bulk_remove, clear, BulkAdded, BulkRemoved};
pub use counts::{AllowlistCounts, Delta};
pub use used::count_used;

/// The longest `description` an entry holds (characters).
pub const MAX_DESCRIPTION_CHARS: usize = 256;
/// The longest `container_id` an entry holds (characters).
pub const MAX_CONTAINER_ID_CHARS: usize = 128;

/// What a caller asks to allowlist (seed 002 add body, client `AllowlistEntryRequest`).
#[derive(Clone, Debug, PartialEq)]
pub struct NewEntry {
    pub mac: MacAddress,
    pub description: Option<String>,
    pub container_id: Option<String>,
}

/// A bounded free-text field: trimmed, `None` when empty, refused when too long or when it
/// holds control characters.
pub fn text_field(name: &str, raw: Option<&str>, max: usize) -> Result<Option<String>> {
    let Some(value) = raw.map(str::trim).filter(|v| !v.is_empty()) else { return Ok(None) };
    if value.chars().count() > max {
        return Err(Error::validation(format!("{name} is longer than {max} characters")));
    }
    if value.chars().any(char::is_control) {
        return Err(Error::validation(format!("{name} must not contain control characters")));
    }
    Ok(Some(value.to_owned()))
}

impl NewEntry {
    /// Validates a request's fields (MAC in any accepted spelling, bounded texts).
    pub fn parse(mac: &str, description: Option<&str>, container_id: Option<&str>) -> Result<Self> {
        Ok(NewEntry {
            mac: MacAddress::parse(mac.trim())?,
            description: text_field("description", description, MAX_DESCRIPTION_CHARS)?,
            container_id: text_field("container_id", container_id, MAX_CONTAINER_ID_CHARS)?,
        })
    }

    fn entry(self, now: OffsetDateTime) -> AllowlistEntry {
        AllowlistEntry { mac: self.mac, description: self.description, container_id: self.container_id, added_at: crate::clock::rfc3339(now), used: false, used_at: None }
    }
}

/// 404 `DEVICE_NOT_FOUND` for a MAC that is not allowlisted (the seed's code for "device
/// does not exist"; the allowlist has no code of its own).
pub fn not_found(mac: &MacAddress) -> Error {
    Error::NotFound(format!("allowlist entry {mac}")).with_code("DEVICE_NOT_FOUND")
}

fn duplicate(mac: &MacAddress) -> Error {
    Error::Conflict(format!("{mac} is already in the allowlist"))
}

/// Every entry in MAC order (GSI1 `ALLOW`, a page at a time). Used entries whose use is not
/// counted yet are counted on the way (see [`count_used`]).
pub async fn list(store: &dyn Store) -> Result<Vec<AllowlistEntry>> {
    let entries: Vec<AllowlistEntry> = list_versioned(store).await?.into_iter().map(|(entry, _)| entry).collect();
    used::reconcile(store, &entries).await?;
    Ok(entries)
}

/// Every entry in MAC order with its stored version.
async fn list_versioned(store: &dyn Store) -> Result<Vec<(AllowlistEntry, u64)>> {
    let mut entries = Vec::new();
    let mut cursor = None;
    loop {
        let query = Query { index: Index::Gsi1, pk: LIST_PK.to_owned(), range: SkRange::All, limit: 1000, cursor, descending: false };
        let page = store.query(query).await?;
        for item in &page.items {
            entries.push((AllowlistEntry::from_item(item)?, item.version));
        }
        match page.cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    entries.sort_by_key(|(entry, _)| entry.mac);
    entries.dedup_by(|a, b| a.0.mac == b.0.mac);
    Ok(entries)
}

/// The entry of `mac`, or 404 `DEVICE_NOT_FOUND`.
pub async fn get(store: &dyn Store, mac: &MacAddress) -> Result<AllowlistEntry> {
    find(store, mac).await?.map(|(entry, _)| entry).ok_or_else(|| not_found(mac))
}

/// Adds `new` at `now` (counted); 409 when the MAC is already allowlisted.
pub async fn add(store: &dyn Store, new: NewEntry, now: OffsetDateTime) -> Result<AllowlistEntry> {
    let entry = new.entry(now);
    let write = Write::Put { item: entry.to_item(1)?, condition: Condition::Absent };
    match counts::commit_counted(store, Delta { total: 1, used: 0 }, vec![write]).await {
        Err(Error::Conflict(_)) => Err(duplicate(&entry.mac)),
        other => other.map(|()| entry),
    }
}

/// A change of an entry's texts: `None` leaves a field as it is, `Some(None)` clears it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EntryUpdate {
    pub description: Option<Option<String>>,
    pub container_id: Option<Option<String>>,
}

/// Applies `update` to the entry of `mac` (re-read and retried when a concurrent writer
/// moved it); 404 `DEVICE_NOT_FOUND` when absent.
pub async fn update(store: &dyn Store, mac: &MacAddress, update: EntryUpdate) -> Result<AllowlistEntry> {
    for _ in 0..8 {
        let (mut entry, version) = find(store, mac).await?.ok_or_else(|| not_found(mac))?;
        if let Some(description) = &update.description {
            entry.description = description.clone();
        }
        if let Some(container_id) = &update.container_id {
            entry.container_id = container_id.clone();
        }
        match store.put(entry.to_item(version + 1)?, Condition::Version(version)).await {
            Err(Error::Conflict(_)) => continue,
            other => return other.map(|()| entry),
        }
    }
    Err(Error::Unavailable(format!("allowlist entry {mac} is too busy; retry")))
}

/// Removes the entry of `mac` (counted); 404 `DEVICE_NOT_FOUND` when absent.
pub async fn remove(store: &dyn Store, mac: &MacAddress) -> Result<()> {
    for _ in 0..8 {
        let (entry, version) = find(store, mac).await?.ok_or_else(|| not_found(mac))?;
        let (writes, delta) = used::removal(store, &entry, version).await?;
        match counts::commit_counted(store, delta, writes).await {
            Err(Error::Conflict(_)) => continue,
            other => return other,
        }
    }
    Err(Error::Unavailable(format!("allowlist entry {mac} is too busy; retry")))
}

/// The allowlist's numbers, from its counter (one read).
pub async fn stats(store: &dyn Store) -> Result<AllowlistCounts> {
    Ok(counts::read(store).await?.1)
}

/// Commits the provisioning transaction `writes`, which include [`mark_used`] of `entry`,
/// then counts the use ([`count_used`]), for callers that commit the transaction themselves.
pub async fn commit_marking_used(store: &dyn Store, entry: &AllowlistEntry, writes: Vec<Write>) -> Result<()> {
    store.transact(writes).await?;
    count_used(store, &entry.mac).await.map(|_| ())
}
