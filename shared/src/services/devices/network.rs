//! The onboarding network's status as the edge gateway last reported it (seed 002
//! `GET /batch/network`, PiDashboard `NetworkStatus` and `GET /network/status`).
//!
//! The answer is the superset of both: the seed's `{interface, ssid, connected}` and the
//! client's `{ssid, is_active, connected_devices}`. Layout: one item, `PK = NETSTATUS`,
//! `SK = CURRENT` (versioned). A report that changes any field appends a
//! `network.status_changed` event (payload: the client's `NetworkStatusChangedPayload`) in
//! the same transaction as the new status, so the SSE stream announces exactly the changes
//! that were stored.

use super::events::{DeviceEvent, EventKind};
use crate::error::{Error, Result};
use crate::ports::{Condition, Item, Store, Write};
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;

const PK: &str = "NETSTATUS";
const SK: &str = "CURRENT";
/// The longest SSID (IEEE 802.11: 32 octets).
pub const MAX_SSID_BYTES: usize = 32;
/// The longest interface name (Linux `IFNAMSIZ` − 1).
pub const MAX_INTERFACE_CHARS: usize = 15;
/// The most connected devices a report may claim.
pub const MAX_CONNECTED_DEVICES: u32 = 100_000;

/// The onboarding network's status. Before the gateway's first report it is the
/// [`Default`]: empty `interface` and `ssid`, not connected, not active, no devices.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkStatus {
    pub interface: String,
    pub ssid: String,
    pub connected: bool,
    pub is_active: bool,
    pub connected_devices: u32,
}

/// A gateway's report (`POST /gateway/network`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkReport {
    pub status: NetworkStatus,
    /// The session the change is announced in (its SSE partition); none: the global stream only.
    pub session_id: Option<String>,
}

impl NetworkReport {
    /// Validates a report. `connected` and `is_active` are one fact in two vocabularies
    /// (seed and client): either may be sent alone and the other follows it.
    pub fn parse(interface: &str, ssid: &str, connected: Option<bool>, is_active: Option<bool>, connected_devices: Option<u64>, session_id: Option<&str>) -> Result<Self> {
        let interface = interface.trim();
        if interface.is_empty() || interface.chars().count() > MAX_INTERFACE_CHARS || !interface.chars().all(|c| c.is_ascii_alphanumeric() || "-_.:@".contains(c)) {
            return Err(Error::validation(format!("interface must be 1..={MAX_INTERFACE_CHARS} characters of A-Z a-z 0-9 - _ . : @")));
        }
        if ssid.len() > MAX_SSID_BYTES || ssid.chars().any(char::is_control) {
            return Err(Error::validation(format!("ssid must be at most {MAX_SSID_BYTES} bytes without control characters")));
        }
        let (connected, is_active) = match (connected, is_active) {
            (None, None) => return Err(Error::validation("connected or is_active is required")),
            (c, a) => (c.or(a).unwrap_or(false), a.or(c).unwrap_or(false)),
        };
        let connected_devices = u32::try_from(connected_devices.unwrap_or(0)).ok().filter(|n| *n <= MAX_CONNECTED_DEVICES);
        let connected_devices = connected_devices.ok_or_else(|| Error::validation(format!("connected_devices must be 0..={MAX_CONNECTED_DEVICES}")))?;
        let session_id = session_id.map(str::trim).filter(|s| !s.is_empty());
        if session_id.is_some_and(|s| !super::events::is_session_id(s)) {
            return Err(Error::validation("session_id must be 1..=128 characters of A-Z a-z 0-9 - _ . :"));
        }
        let status = NetworkStatus { interface: interface.to_owned(), ssid: ssid.to_owned(), connected, is_active, connected_devices };
        Ok(NetworkReport { status, session_id: session_id.map(str::to_owned) })
    }
}

/// The last reported status (the default before any report).
pub async fn current(store: &dyn Store) -> Result<NetworkStatus> {
    Ok(read(store).await?.map(|(status, _)| status).unwrap_or_default())
}

async fn read(store: &dyn Store) -> Result<Option<(NetworkStatus, u64)>> {
    let Some(item) = store.get(PK, SK).await? else { return Ok(None) };
    let status = serde_json::from_value(item.data).map_err(|e| Error::internal(format!("stored network status: {e}")))?;
    Ok(Some((status, item.version)))
}

/// Stores `report`; when it differs from the stored status, appends `network.status_changed`
/// in the same transaction. Returns the status and whether it changed.
pub async fn report(store: &dyn Store, report: &NetworkReport, now: OffsetDateTime) -> Result<(NetworkStatus, bool)> {
    for _ in 0..16 {
        let stored = read(store).await?;
        let before = stored.as_ref().map(|(s, _)| s.clone()).unwrap_or_default();
        if stored.is_some() && before == report.status {
            return Ok((before, false));
        }
        let (version, condition) = match &stored {
            Some((_, v)) => (v + 1, Condition::Version(*v)),
            None => (1, Condition::Absent),
        };
        let mut item = Item::new(PK, SK, serde_json::to_value(&report.status).map_err(Error::internal)?);
        item.version = version;
        let mut writes = vec![Write::Put { item, condition }];
        let changed = before != report.status;
        if changed {
            writes.push(changed_event(&report.status, report.session_id.as_deref(), now).write()?);
        }
        match super::live::commit(store, writes).await {
            Err(Error::Conflict(_)) => continue,
            other => return other.map(|()| (report.status.clone(), changed)),
        }
    }
    Err(Error::Unavailable("the network status is too busy; retry".into()))
}

/// The client's `network.status_changed` event (`NetworkStatusChangedPayload`).
fn changed_event(status: &NetworkStatus, session_id: Option<&str>, now: OffsetDateTime) -> DeviceEvent {
    let payload = json!({ "ssid": status.ssid, "is_active": status.is_active, "connected_devices": status.connected_devices });
    DeviceEvent::new(EventKind::NetworkStatusChanged, session_id, payload, now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn either_vocabulary_of_the_active_flag_is_enough_and_the_other_follows() {
        let r = NetworkReport::parse("wlan0", "Onboard", Some(true), None, None, None).unwrap();
        assert!(r.status.connected && r.status.is_active && r.status.connected_devices == 0);
        assert!(NetworkReport::parse("wlan0", "Onboard", None, None, Some(1), None).is_err());
    }

    #[test]
    fn reports_with_bad_interfaces_ssids_counts_or_session_ids_are_refused() {
        assert!(NetworkReport::parse("", "x", Some(true), None, None, None).is_err());
        assert!(NetworkReport::parse("wlan0; rm", "x", Some(true), None, None, None).is_err());
        assert!(NetworkReport::parse("wlan0", &"s".repeat(33), Some(true), None, None, None).is_err());
        assert!(NetworkReport::parse("wlan0", "x", Some(true), None, Some(u64::MAX), None).is_err());
        assert!(NetworkReport::parse("wlan0", "x", Some(true), None, None, Some("a/b")).is_err());
    }
}
