//! Session recovery (seed 002 `/sessions/recoverable`, `/sessions/{id}/resume`; the client's
//! discard and history): a session is recoverable when it is not closed and either its
//! gateway has been silent longer than `DEVICE_GATEWAY_TIMEOUT_SECONDS` (counted from its
//! start when the gateway never called) or a device has been `provisioning` that long (a
//! lost job, a killed `serve`). Resuming brings it back to `active` and enqueues the stuck
//! devices' attempts again; the worker's claim keeps that to one certificate per attempt.

use super::records::*;
use super::sessions::Devices;
use crate::error::Result;
use crate::jobs::Job;

/// What resuming did.
#[derive(Clone, Debug)]
pub struct Resumed {
    pub session: Session,
    /// Devices whose provisioning was enqueued again.
    pub requeued: usize,
}

fn unix(rfc3339: &str) -> i64 {
    time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339).map_or(0, |t| t.unix_timestamp())
}

impl Devices {
    /// Every recoverable session, oldest first (`[]` when none).
    pub async fn recoverable(&self) -> Result<Vec<Session>> {
        let now = crate::clock::now().unix_timestamp();
        let timeout = i64::try_from(self.config.device_gateway_timeout_secs).unwrap_or(i64::MAX);
        let mut found = Vec::new();
        for stored in self.open_sessions().await? {
            let id = stored.session.id.clone();
            let seen = self.gateway_seen_at(&id).await?.unwrap_or_else(|| unix(&stored.session.created_at));
            let silent = now - seen > timeout;
            let stuck = || async {
                let devices = self.stored_devices(&id).await?;
                Ok::<_, crate::Error>(devices.iter().any(|(d, _)| d.device.state == DeviceState::Provisioning && d.provisioning_since.is_some_and(|t| now - t > timeout)))
            };
            if silent || stuck().await? {
                found.push(stored.session);
            }
        }
        Ok(found)
    }

    /// Brings a session that is not closed back to `active` (409 for a closed one) and
    /// enqueues again every device still `provisioning`.
    pub async fn recover(&self, id: &str) -> Result<Resumed> {
        let (stored, _) = self.load_session(id).await?;
        let session = match stored.session.state {
            SessionState::Active => stored.session,
            _ => self.transition(id, "resume", SessionState::Active, |s| s != SessionState::Closed, false).await?,
        };
        let mut requeued = 0;
        for (device, _) in self.stored_devices(id).await? {
            if device.device.state == DeviceState::Provisioning {
                Job::ProvisionDevice { session_id: id.to_owned(), mac: device.device.mac.to_string(), attempt: device.attempt }.enqueue(self.queue.as_ref()).await?;
                requeued += 1;
            }
        }
        tracing::info!(session_id = %id, requeued, "device session resumed");
        Ok(Resumed { session, requeued })
    }

    /// The client's discard: the session is closed (and marked discarded) whatever its state
    /// but `closed` (409).
    pub async fn discard(&self, id: &str) -> crate::Result<Session> {
        self.transition(id, "discard", SessionState::Closed, |s| s != SessionState::Closed, true).await
    }
}
