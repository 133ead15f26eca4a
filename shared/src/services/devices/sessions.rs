//! Batch provisioning sessions (seed 002 `/batch`, the client's `/batch/start`, pause,
//! resume, stop/close) and their recovery (`/sessions/recoverable`, resume, discard,
//! history). The service, [`Devices`], also carries the device operations
//! ([`super::changes`]), the gateway's reports ([`super::gateway`], [`super::bundle`]), recovery
//! ([`super::recovery`]) and the worker's issuance ([`super::worker`]).

use super::events::{DeviceEvent, EventKind};
use super::records::*;
use super::secrets::SecretBox;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::ports::{Condition, Index, Item, MacKey, Query, Queue, SkRange, Store, Write};
use crate::wiring::Ports;
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

/// The body of `POST /batch` (seed: `network_interface`) and `POST /batch/start` (client:
/// `target_ssid`, `target_password`, `config`). At least one of `network_interface` and
/// `target_ssid` is required.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartSession {
    #[serde(default)]
    pub network_interface: Option<String>,
    #[serde(default)]
    pub target_ssid: Option<String>,
    #[serde(default)]
    pub target_password: Option<String>,
    #[serde(default)]
    pub config: Option<SessionConfig>,
}

/// A session and its devices (the client's `SessionData`).
#[derive(Clone, Debug)]
pub struct SessionView {
    pub session: Session,
    pub devices: Vec<Device>,
}

/// The device-provisioning service over the ports.
#[derive(Clone)]
pub struct Devices {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) queue: Arc<dyn Queue>,
    pub(crate) mac: Arc<dyn MacKey>,
    pub(crate) ports: Ports,
    pub(crate) config: Arc<Config>,
}

pub(crate) fn session_not_found() -> Error {
    Error::NotFound("session".into()).with_code("SESSION_NOT_FOUND")
}

fn illegal(what: &str, state: &str) -> Error {
    Error::Conflict(format!("cannot {what} a session that is {state}"))
}

fn check_text(field: &str, value: &str, max: usize) -> Result<()> {
    if value.is_empty() || value.chars().count() > max || value.chars().any(char::is_control) {
        return Err(Error::validation(format!("{field} must be 1 to {max} printable characters")));
    }
    Ok(())
}

impl StartSession {
    /// Checks the fields: an interface name and an SSID of at most 32 characters, a WPA
    /// passphrase of 8 to 63 characters (or none, for an open network), and positive timeouts.
    pub fn validate(&self) -> Result<()> {
        if self.network_interface.is_none() && self.target_ssid.is_none() {
            return Err(Error::validation("target_ssid (or the seed's network_interface) is required"));
        }
        if let Some(name) = &self.network_interface {
            check_text("network_interface", name, 32)?;
        }
        if let Some(ssid) = &self.target_ssid {
            check_text("target_ssid", ssid, 32)?;
        }
        if let Some(password) = &self.target_password {
            if self.target_ssid.is_none() {
                return Err(Error::validation("target_password needs a target_ssid"));
            }
            if !(8..=63).contains(&password.chars().count()) || password.chars().any(char::is_control) {
                return Err(Error::validation("target_password must be 8 to 63 printable characters"));
            }
        }
        let config = self.config.clone().unwrap_or_default();
        let timeouts = [config.discovery_timeout_seconds, config.provisioning_timeout_seconds, config.verification_timeout_seconds];
        if timeouts.into_iter().flatten().any(|t| !(1..=86_400).contains(&t)) {
            return Err(Error::validation("config timeouts must be 1 to 86400 seconds"));
        }
        Ok(())
    }
}

impl Devices {
    /// The service over `ports` (the device queue, the store, the deployment's MAC key).
    pub fn new(ports: &Ports, config: Arc<Config>) -> Self {
        Devices { store: ports.store.clone(), queue: ports.device_queue.clone(), mac: ports.mac.clone(), ports: ports.clone(), config }
    }

    /// The key sealing session secrets.
    pub(crate) async fn secrets(&self) -> Result<Arc<SecretBox>> {
        SecretBox::of(&self.mac).await
    }

    /// Starts a session in `active`; the password is sealed before anything is stored.
    pub async fn start(&self, request: StartSession) -> Result<Session> {
        request.validate()?;
        let now = crate::clock::now_rfc3339();
        let id = new_session_id();
        let sealed_password = match &request.target_password {
            Some(p) => Some(self.secrets().await?.seal(&password_binding(&id), p)?),
            None => None,
        };
        let session = Session {
            id: id.clone(),
            state: SessionState::Active,
            network_interface: request.network_interface,
            target_ssid: request.target_ssid.unwrap_or_default(),
            created_at: now.clone(),
            updated_at: now,
            expires_at: None,
            device_count: 0,
            provisioned_count: 0,
            verified_count: 0,
            failed_count: 0,
            config: request.config,
        };
        let stored = StoredSession { session: session.clone(), sealed_password, discarded: false };
        let event = DeviceEvent::new(EventKind::SessionStatus, Some(&id), json!({ "session": session }), crate::clock::now());
        let writes = vec![Write::Put { item: stored.to_item(1)?, condition: Condition::Absent }, event.write()?];
        super::live::commit(self.store.as_ref(), writes).await?;
        tracing::info!(session_id = %id, "device session started");
        Ok(session)
    }

    /// The stored session and its version; 404 `SESSION_NOT_FOUND` when there is none.
    pub(crate) async fn load_session(&self, id: &str) -> Result<(StoredSession, u64)> {
        if !is_session_id(id) {
            return Err(session_not_found());
        }
        let item = self.store.get(&session_pk(id), SESSION_SK).await?.ok_or_else(session_not_found)?;
        Ok((StoredSession::from_item(&item)?, item.version))
    }

    /// The session as shown.
    pub async fn session(&self, id: &str) -> Result<Session> {
        Ok(self.load_session(id).await?.0.session)
    }

    /// The session and its devices.
    pub async fn view(&self, id: &str) -> Result<SessionView> {
        let session = self.session(id).await?;
        let devices = self.stored_devices(id).await?.into_iter().map(|(d, _)| d.device).collect();
        Ok(SessionView { session, devices })
    }

    /// Every device of a session with its version, in MAC order.
    pub(crate) async fn stored_devices(&self, id: &str) -> Result<Vec<(StoredDevice, u64)>> {
        let items = self.all(Query { index: Index::Primary, pk: session_pk(id), range: SkRange::BeginsWith(DEVICE_PREFIX.into()), limit: 1000, cursor: None, descending: false }).await?;
        items.iter().map(|item| Ok((StoredDevice::from_item(item)?, item.version))).collect()
    }

    async fn all(&self, mut query: Query) -> Result<Vec<Item>> {
        let mut items = Vec::new();
        loop {
            let page = self.store.query(query.clone()).await?;
            items.extend(page.items);
            match page.cursor {
                Some(cursor) => query.cursor = Some(cursor),
                None => return Ok(items),
            }
        }
    }

    /// Moves a session to `to` if `allowed` holds for its state (409 otherwise), with its
    /// `session.status` event in the same transaction.
    pub(crate) async fn transition(&self, id: &str, verb: &str, to: SessionState, allowed: fn(SessionState) -> bool, discard: bool) -> Result<Session> {
        for attempt in 1..=super::changes::MAX_TRIES {
            let (mut stored, version) = self.load_session(id).await?;
            if !allowed(stored.session.state) {
                return Err(illegal(verb, stored.session.state.as_str()));
            }
            stored.session.state = to;
            stored.session.updated_at = crate::clock::now_rfc3339();
            stored.discarded |= discard;
            let event = DeviceEvent::new(EventKind::SessionStatus, Some(id), json!({ "session": stored.session }), crate::clock::now());
            let writes = vec![Write::Put { item: stored.to_item(version + 1)?, condition: Condition::Version(version) }, event.write()?];
            match super::live::commit(self.store.as_ref(), writes).await {
                Ok(()) => return Ok(stored.session),
                Err(Error::Conflict(_)) if attempt < super::changes::MAX_TRIES => super::changes::jitter(attempt).await,
                Err(e) => return Err(e),
            }
        }
        Err(Error::Unavailable("the session is too busy; retry".into()))
    }

    /// Close (`/close`, the client's `/stop`): any state but `closed`.
    pub async fn close(&self, id: &str) -> Result<Session> {
        self.transition(id, "close", SessionState::Closed, |s| s != SessionState::Closed, false).await
    }

    /// Pause: `discovering` or `active` only.
    pub async fn pause(&self, id: &str) -> Result<Session> {
        self.transition(id, "pause", SessionState::Paused, |s| matches!(s, SessionState::Discovering | SessionState::Active), false).await
    }

    /// Resume a paused session.
    pub async fn resume(&self, id: &str) -> Result<Session> {
        self.transition(id, "resume", SessionState::Active, |s| s == SessionState::Paused, false).await
    }

    /// Records that the gateway was heard from now (every gateway call).
    pub async fn heartbeat(&self, id: &str) -> Result<()> {
        let now = crate::clock::now();
        let item = Item::new(session_pk(id), SEEN_SK, json!({ "gateway_seen_at": now.unix_timestamp() }));
        self.store.put(item, Condition::Always).await
    }

    /// When the gateway was last heard from (unix seconds).
    pub(crate) async fn gateway_seen_at(&self, id: &str) -> Result<Option<i64>> {
        Ok(self.store.get(&session_pk(id), SEEN_SK).await?.and_then(|item| item.data["gateway_seen_at"].as_i64()))
    }

    /// Sessions, newest first, at most `limit` (1..=100), every state (`/sessions/history`):
    /// the newest of the open and of the closed ones, merged.
    pub async fn history(&self, limit: u32) -> Result<Vec<Session>> {
        if !(1..=100).contains(&limit) {
            return Err(Error::validation("limit must be between 1 and 100"));
        }
        let mut sessions = Vec::new();
        for pk in [OPEN_PK, CLOSED_PK] {
            let query = Query { index: Index::Gsi1, pk: pk.into(), range: SkRange::All, limit, cursor: None, descending: true };
            for item in self.store.query(query).await?.items {
                sessions.push(StoredSession::from_item(&item)?.session);
            }
        }
        sessions.sort_by(|a, b| b.id.cmp(&a.id));
        sessions.truncate(limit as usize);
        Ok(sessions)
    }

    /// Every session not yet closed, oldest first.
    pub(crate) async fn open_sessions(&self) -> Result<Vec<StoredSession>> {
        let items = self.all(Query { index: Index::Gsi1, pk: OPEN_PK.into(), range: SkRange::All, limit: 100, cursor: None, descending: false }).await?;
        let sessions = items.iter().map(StoredSession::from_item).collect::<Result<Vec<_>>>()?;
        Ok(sessions.into_iter().filter(|s| s.session.state != SessionState::Closed).collect())
    }
}

/// What the target password is sealed to.
pub(crate) fn password_binding(session_id: &str) -> String {
    format!("{session_id}/target_password")
}
