//! Device state changes (seed 002 provision, provision-all; the client's retry and skip).
//!
//! Every change is one [`Store::transact`](crate::ports::Store::transact): the device item
//! (conditioned on its version), the session item with its counts (conditioned on its
//! version; a `Check` when the counts do not move) and the events announcing the change
//! (`device.discovered`, `device.state_changed`, `session.status`). A lost race is a
//! `Conflict`, and the change is planned again from fresh reads, so the counts stay exact.

use super::allowlist;
use super::events::{DeviceEvent, EventKind};
use super::records::*;
use super::sessions::Devices;
use crate::domain::MacAddress;
use crate::error::{Error, Result};
use crate::jobs::Job;
use crate::ports::{Condition, Write};
use serde_json::json;

/// How many devices provision-all starts at once.
const PROVISION_ALL_CONCURRENCY: usize = 8;

/// How often a change is planned again after losing a race.
pub(crate) const MAX_TRIES: u32 = 64;

/// A short random pause before trying again, growing with the attempt.
pub(crate) async fn jitter(attempt: u32) {
    let ms = rand::random_range(1..=2 * u64::from(attempt.min(25)) + 2);
    tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
}

pub(crate) fn device_not_found() -> Error {
    Error::NotFound("device".into()).with_code("DEVICE_NOT_FOUND")
}

pub(crate) fn not_allowlisted(mac: &MacAddress) -> Error {
    Error::Forbidden(format!("device {mac} is not in the allowlist")).with_code("DEVICE_NOT_IN_ALLOWLIST")
}

fn illegal(verb: &str, state: DeviceState) -> Error {
    Error::Conflict(format!("cannot {verb} a device that is {}", state.as_str()))
}

/// What a planned change writes besides the device, session and events.
pub(crate) struct Step {
    pub device: StoredDevice,
    pub extra: Vec<Write>,
}

/// The session's session.status payload.
fn status_event(session: &Session, now: time::OffsetDateTime) -> DeviceEvent {
    DeviceEvent::new(EventKind::SessionStatus, Some(&session.id), json!({ "session": session }), now)
}

/// The writes of moving device `old` (absent: discovering it) to `new` in `session` (read at
/// `version`), and the session as it will be.
pub(crate) fn change_writes(mut session: StoredSession, version: u64, old: Option<&(StoredDevice, u64)>, new: &StoredDevice) -> Result<(Vec<Write>, Session)> {
    let now = crate::clock::now();
    let id = session.session.id.clone();
    let before = old.map(|(d, _)| d.device.state);
    let (was, is) = (before.map_or([0; 3], DeviceState::tally), new.device.state.tally());
    let delta = [is[0] - was[0], is[1] - was[1], is[2] - was[2]];
    let counts_move = old.is_none() || delta != [0; 3];
    let device_write = match old {
        Some((_, v)) => Write::Put { item: new.to_item(&id, v + 1)?, condition: Condition::Version(*v) },
        None => Write::Put { item: new.to_item(&id, 1)?, condition: Condition::Absent },
    };
    let mut writes = vec![device_write];
    let mut events = Vec::new();
    match before {
        None => {
            let d = &new.device;
            let payload = json!({ "mac": d.mac, "ip": d.ip, "rssi": d.rssi, "firmware_version": d.firmware_version, "in_allowlist": d.in_allowlist });
            events.push(DeviceEvent::new(EventKind::DeviceDiscovered, Some(&id), payload, now));
        }
        Some(previous) if previous != new.device.state => {
            let mut payload = json!({ "mac": new.device.mac, "previous_state": previous, "new_state": new.device.state });
            if let (DeviceState::Failed, Some(error)) = (new.device.state, &new.device.error_message) {
                payload["error"] = json!(error);
            }
            events.push(DeviceEvent::new(EventKind::DeviceStateChanged, Some(&id), payload, now));
        }
        Some(_) => {}
    }
    if counts_move {
        session.session.device_count += u64::from(old.is_none());
        session.session.apply(delta);
        session.session.updated_at = crate::clock::rfc3339(now);
        writes.push(Write::Put { item: session.to_item(version + 1)?, condition: Condition::Version(version) });
        events.push(status_event(&session.session, now));
    } else {
        writes.push(Write::Check { pk: session_pk(&id), sk: SESSION_SK.into(), condition: Condition::Version(version) });
    }
    for event in &events {
        writes.push(event.write()?);
    }
    Ok((writes, session.session))
}

impl Devices {
    /// The stored device and its version, if the session has it.
    pub(crate) async fn load_device(&self, session_id: &str, mac: &MacAddress) -> Result<Option<(StoredDevice, u64)>> {
        match self.store.get(&session_pk(session_id), &device_sk(mac)).await? {
            Some(item) => Ok(Some((StoredDevice::from_item(&item)?, item.version))),
            None => Ok(None),
        }
    }

    /// Plans a change of device `mac` from fresh reads (`None`: nothing to change) and commits
    /// it with the session's counts and the events, planning again after a lost race.
    pub(crate) async fn change_device<F>(&self, session_id: &str, mac: &MacAddress, mut plan: F) -> Result<StoredDevice>
    where
        F: FnMut(&StoredSession, Option<&StoredDevice>) -> Result<Option<Step>>,
    {
        for attempt in 1..=MAX_TRIES {
            let (session, version) = self.load_session(session_id).await?;
            let old = self.load_device(session_id, mac).await?;
            let Some(step) = plan(&session, old.as_ref().map(|(d, _)| d))? else {
                return old.map(|(d, _)| d).ok_or_else(device_not_found);
            };
            let (mut writes, _) = change_writes(session, version, old.as_ref(), &step.device)?;
            writes.extend(step.extra);
            match super::live::commit(self.store.as_ref(), writes).await {
                Ok(()) => return Ok(step.device),
                Err(Error::Conflict(_)) if attempt < MAX_TRIES => jitter(attempt).await,
                Err(e) => return Err(e),
            }
        }
        Err(Error::Unavailable("the session is too busy; retry".into()))
    }

    /// Seed 002 provision: 404 for an unknown session or device, 403
    /// `DEVICE_NOT_IN_ALLOWLIST`, 409 unless the session is active (or discovering) and the
    /// device `discovered` or `failed`; then `provisioning` and a job for the worker.
    pub async fn provision(&self, session_id: &str, mac: &MacAddress) -> Result<StoredDevice> {
        self.issuance_open()?;
        self.load_session(session_id).await?;
        self.load_device(session_id, mac).await?.ok_or_else(device_not_found)?;
        let entry = allowlist::find(self.store.as_ref(), mac).await?.ok_or_else(|| not_allowlisted(mac))?.0;
        let device = self
            .change_device(session_id, mac, |session, device| {
                let device = device.ok_or_else(device_not_found)?;
                require_running(session, "provision devices in")?;
                if !matches!(device.device.state, DeviceState::Discovered | DeviceState::Failed) {
                    return Err(illegal("provision", device.device.state));
                }
                Ok(Some(Step { device: start_attempt(device, entry.container_id.clone()), extra: Vec::new() }))
            })
            .await?;
        Job::ProvisionDevice { session_id: session_id.to_owned(), mac: mac.to_string(), attempt: device.attempt }.enqueue(self.queue.as_ref()).await?;
        Ok(device)
    }

    /// 503 `CIRCUIT_OPEN` while this process's `pki` breaker is open (the worker's issuance
    /// kept failing): no more jobs pile up until its cool-down ends (in `serve`, the API and
    /// the worker share the process; on Lambda each function has its own breaker).
    fn issuance_open(&self) -> Result<()> {
        let settings = self.config.devices_guard.breaker();
        if super::guard::CircuitBreaker::shared("pki", settings).is_open() {
            let message = "The pki service is recovering; retry later".to_owned();
            return Err(Error::Busy { message, retry_after_secs: settings.cooldown.as_secs().max(1) }.with_code("CIRCUIT_OPEN"));
        }
        Ok(())
    }

    /// Seed 002 provision-all: every allowlisted device that is `discovered`, or `failed` and
    /// not skipped; returns (initiated, skipped: eligible but not allowlisted or lost a race).
    pub async fn provision_all(&self, session_id: &str) -> Result<(usize, usize)> {
        self.issuance_open()?;
        let (session, _) = self.load_session(session_id).await?;
        require_running(&session, "provision devices in")?;
        use futures::StreamExt;
        let eligible = self.stored_devices(session_id).await?.into_iter().map(|(d, _)| d).filter(|d| {
            d.device.state == DeviceState::Discovered || (d.device.state == DeviceState::Failed && !d.skipped)
        });
        let runs = futures::stream::iter(eligible.map(|d| async move { self.provision(session_id, &d.device.mac).await }));
        let outcomes: Vec<_> = runs.buffer_unordered(PROVISION_ALL_CONCURRENCY).collect().await;
        let (mut initiated, mut skipped) = (0, 0);
        for outcome in outcomes {
            match outcome {
                Ok(_) => initiated += 1,
                Err(e) if e.code() == Some("DEVICE_NOT_IN_ALLOWLIST") || matches!(e, Error::Conflict(_)) => skipped += 1,
                Err(e) => return Err(e),
            }
        }
        Ok((initiated, skipped))
    }

    /// The client's retry: a `failed` device (skipped or not) is provisioned again.
    pub async fn retry(&self, session_id: &str, mac: &MacAddress) -> Result<StoredDevice> {
        self.load_session(session_id).await?;
        let (device, _) = self.load_device(session_id, mac).await?.ok_or_else(device_not_found)?;
        if device.device.state != DeviceState::Failed {
            return Err(illegal("retry", device.device.state));
        }
        self.provision(session_id, mac).await
    }

    /// The client's skip: a `discovered` or `failed` device becomes `failed` ("skipped") and
    /// provision-all leaves it alone.
    pub async fn skip(&self, session_id: &str, mac: &MacAddress) -> Result<StoredDevice> {
        self.load_session(session_id).await?;
        self.change_device(session_id, mac, |_, device| {
            let device = device.ok_or_else(device_not_found)?;
            if !matches!(device.device.state, DeviceState::Discovered | DeviceState::Failed) {
                return Err(illegal("skip", device.device.state));
            }
            let mut skipped = device.clone();
            skipped.device.state = DeviceState::Failed;
            skipped.device.error_message = Some("skipped by an operator".into());
            skipped.skipped = true;
            Ok(Some(Step { device: skipped, extra: Vec::new() }))
        })
        .await
    }
}

/// 409 unless the session takes commands (`active` or `discovering`).
pub(crate) fn require_running(session: &StoredSession, verb: &str) -> Result<()> {
    match session.session.state {
        SessionState::Active | SessionState::Discovering => Ok(()),
        other => Err(Error::Conflict(format!("cannot {verb} a session that is {}", other.as_str()))),
    }
}

/// The device entering `provisioning` for its next attempt.
fn start_attempt(device: &StoredDevice, container_id: Option<String>) -> StoredDevice {
    let mut next = device.clone();
    next.attempt += 1;
    next.device.state = DeviceState::Provisioning;
    next.device.retry_count = next.attempt - 1;
    next.device.error_message = None;
    next.device.in_allowlist = true;
    next.device.container_id = container_id.or(next.device.container_id);
    next.provisioning_since = Some(crate::clock::now().unix_timestamp());
    next.claim = None;
    next.skipped = false;
    next
}

