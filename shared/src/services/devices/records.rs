//! Batch sessions and their devices as stored and as shown (seed 002 + the PiDashboard
//! client's `BatchProvisioningSession` / `ProvisioningCandidate`: a superset of both; optional
//! fields are omitted, never `null`).
//!
//! Layout (one partition per session):
//!
//! | entity | PK | SK | GSI1 | state |
//! | --- | --- | --- | --- | --- |
//! | session | `DEVSESS#<id>` | `SESSION` | `DEVSESS` (open) or `DEVSESS#CLOSED` / `<id>` | session state |
//! | device | `DEVSESS#<id>` | `DEV#<MAC>` | — | device state |
//! | bundle | `DEVSESS#<id>` | `BUNDLE#<MAC>` | — | — |
//! | gateway heartbeat | `DEVSESS#<id>` | `SEEN` | — | — |
//!
//! Session ids are `sess_` + a UUIDv7 in hex, so GSI1 lists sessions oldest first; closing a
//! session moves it to the closed partition, so recovery reads only open sessions. The
//! heartbeat is its own item so that gateway calls never race the session's version.

use crate::domain::MacAddress;
use crate::error::{Error, Result};
use crate::ports::{IndexKey, Item};
use serde::{Deserialize, Serialize};

/// The GSI1 partition listing the sessions not closed (what recovery scans).
pub const OPEN_PK: &str = "DEVSESS";
/// The GSI1 partition listing closed sessions (history reads both).
pub const CLOSED_PK: &str = "DEVSESS#CLOSED";
/// The session item's sort key.
pub const SESSION_SK: &str = "SESSION";
/// The heartbeat item's sort key.
pub const SEEN_SK: &str = "SEEN";
/// The prefix of every device item's sort key.
pub const DEVICE_PREFIX: &str = "DEV#";

/// The partition of session `id`.
pub fn session_pk(id: &str) -> String {
    format!("DEVSESS#{id}")
}
/// The sort key of device `mac`.
pub fn device_sk(mac: &MacAddress) -> String {
    format!("{DEVICE_PREFIX}{mac}")
}
/// The sort key of the bundle of device `mac`.
pub fn bundle_sk(mac: &MacAddress) -> String {
    format!("BUNDLE#{mac}")
}

/// A fresh session id: `sess_` and 32 hex digits (the client's `sess_xxxxx`).
pub fn new_session_id() -> String {
    format!("sess_{}", uuid::Uuid::now_v7().simple())
}

/// True if `raw` has the shape of a session id (anything else is simply not found).
pub fn is_session_id(raw: &str) -> bool {
    raw.strip_prefix("sess_").is_some_and(|hex| hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
}

/// Session lifecycle (client `SessionState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionState {
    Discovering,
    Active,
    Paused,
    Closing,
    Closed,
}

impl SessionState {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionState::Discovering => "discovering",
            SessionState::Active => "active",
            SessionState::Paused => "paused",
            SessionState::Closing => "closing",
            SessionState::Closed => "closed",
        }
    }
}

/// Device provisioning workflow (client `CandidateState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceState {
    Discovered,
    Provisioning,
    Provisioned,
    Verifying,
    Verified,
    Failed,
}

impl DeviceState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceState::Discovered => "discovered",
            DeviceState::Provisioning => "provisioning",
            DeviceState::Provisioned => "provisioned",
            DeviceState::Verifying => "verifying",
            DeviceState::Verified => "verified",
            DeviceState::Failed => "failed",
        }
    }

    /// What a device in this state adds to the session's
    /// `(provisioned_count, verified_count, failed_count)`: a device that got its credentials
    /// counts as provisioned until it fails, a verified one also as verified.
    pub fn tally(self) -> [i64; 3] {
        match self {
            DeviceState::Provisioned | DeviceState::Verifying => [1, 0, 0],
            DeviceState::Verified => [1, 1, 0],
            DeviceState::Failed => [0, 0, 1],
            DeviceState::Discovered | DeviceState::Provisioning => [0, 0, 0],
        }
    }
}

/// The client's `SessionConfig` (timeouts in seconds).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discovery_timeout_seconds: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioning_timeout_seconds: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification_timeout_seconds: Option<u32>,
}

/// A session as shown: seed 002's fields (`network_interface`) and the client's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub id: String,
    pub state: SessionState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_interface: Option<String>,
    /// Empty when the session was started with only the seed's `network_interface`.
    pub target_ssid: String,
    pub created_at: String,
    pub updated_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    pub device_count: u64,
    pub provisioned_count: u64,
    pub verified_count: u64,
    pub failed_count: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<SessionConfig>,
}

impl Session {
    /// Moves the counts by `tally` (see [`DeviceState::tally`]).
    pub fn apply(&mut self, tally: [i64; 3]) {
        self.provisioned_count = self.provisioned_count.saturating_add_signed(tally[0]);
        self.verified_count = self.verified_count.saturating_add_signed(tally[1]);
        self.failed_count = self.failed_count.saturating_add_signed(tally[2]);
    }
}

/// The session item: the view plus what is never shown.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredSession {
    #[serde(flatten)]
    pub session: Session,
    /// The target network password, sealed ([`super::secrets`]); never returned, never logged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed_password: Option<String>,
    /// Closed by `DELETE /sessions/{id}` rather than by close/stop.
    #[serde(default)]
    pub discarded: bool,
}

impl StoredSession {
    pub fn to_item(&self, version: u64) -> Result<Item> {
        let data = serde_json::to_value(self).map_err(|e| Error::internal(format!("session: {e}")))?;
        let mut item = Item::new(session_pk(&self.session.id), SESSION_SK, data);
        let list = if self.session.state == SessionState::Closed { CLOSED_PK } else { OPEN_PK };
        item.gsi1 = Some(IndexKey { pk: list.into(), sk: self.session.id.clone() });
        item.state = Some(self.session.state.as_str().into());
        item.version = version;
        Ok(item)
    }

    pub fn from_item(item: &Item) -> Result<Self> {
        serde_json::from_value(item.data.clone()).map_err(|e| Error::internal(format!("stored session: {e}")))
    }
}

/// A device as shown (client `ProvisioningCandidate`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Device {
    pub mac: MacAddress,
    pub ip: String,
    pub state: DeviceState,
    pub rssi: i32,
    pub firmware_version: String,
    pub discovered_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioned_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    pub retry_count: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_id: Option<String>,
    pub in_allowlist: bool,
}

/// A claim on a provisioning attempt by one delivery of its job.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    pub id: String,
    /// Unix seconds; after this another delivery may take the attempt over.
    pub until: i64,
}

/// The device item: the view plus the worker's bookkeeping.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredDevice {
    #[serde(flatten)]
    pub device: Device,
    /// The PEM PKCS#10 request the device made, when it sent one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csr_pem: Option<String>,
    /// The current provisioning attempt (0 before the first).
    #[serde(default)]
    pub attempt: u32,
    /// Unix seconds the current attempt entered `provisioning`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioning_since: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim: Option<Claim>,
    /// The certificate of the current provisioning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_id: Option<String>,
    /// Skipped by an operator: `failed`, but not retried by provision-all.
    #[serde(default)]
    pub skipped: bool,
}

impl StoredDevice {
    pub fn to_item(&self, session_id: &str, version: u64) -> Result<Item> {
        let data = serde_json::to_value(self).map_err(|e| Error::internal(format!("device: {e}")))?;
        let mut item = Item::new(session_pk(session_id), device_sk(&self.device.mac), data);
        item.state = Some(self.device.state.as_str().into());
        item.version = version;
        Ok(item)
    }

    pub fn from_item(item: &Item) -> Result<Self> {
        serde_json::from_value(item.data.clone()).map_err(|e| Error::internal(format!("stored device: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_have_the_client_prefix_and_anything_else_is_not_one() {
        let id = new_session_id();
        assert!(is_session_id(&id), "{id}");
        assert!(!is_session_id("sess_../../x") && !is_session_id(&id.to_uppercase()) && !is_session_id("abc"));
    }

    #[test]
    fn optional_fields_are_omitted_and_secrets_are_not_in_the_view() {
        let session = Session {
            id: "sess_x".into(),
            state: SessionState::Active,
            network_interface: None,
            target_ssid: "Net".into(),
            created_at: "t".into(),
            updated_at: "t".into(),
            expires_at: None,
            device_count: 0,
            provisioned_count: 0,
            verified_count: 0,
            failed_count: 0,
            config: None,
        };
        let shown = serde_json::to_value(&session).unwrap();
        assert!(shown.get("network_interface").is_none() && shown.get("config").is_none() && shown.get("expires_at").is_none(), "{shown}");
        let stored = StoredSession { session, sealed_password: Some("sealed".into()), discarded: false };
        let back = StoredSession::from_item(&stored.to_item(1).unwrap()).unwrap();
        assert_eq!(back, stored);
        assert!(serde_json::to_value(&back.session).unwrap().get("sealed_password").is_none());
    }
}
