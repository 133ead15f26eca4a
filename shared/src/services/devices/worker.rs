//! The device worker's issuance (issue 10, "Provisioning a device"): one
//! [`Job::ProvisionDevice`](crate::jobs::Job) delivery issues the device's identity
//! certificate from the device issuing authority (`DEVICE_ISSUER_ID`, else the default
//! issuer), `TLS_CLIENT`, CN = the canonical MAC, for the device's CSR key or a P-256 key
//! generated here (returned once in the bundle), into the one inventory in the `device`
//! channel.
//!
//! Exactly one certificate per device per attempt: a delivery first claims the attempt (a
//! lease on the device item), and the certificate, the device's move to `provisioned`, the
//! session counts, the bundle, the allowlist entry's `used` and the events are one
//! transaction conditioned on the claimed device version. A duplicate delivery finds the
//! attempt done (or claimed) and does nothing; a stale job (the device moved on) is dropped.
//! Signing runs behind the process's `pki` [`CircuitBreaker`](super::guard::CircuitBreaker):
//! repeated backend failures make deliveries fail fast with `CIRCUIT_OPEN` (and be retried
//! by the queue) instead of piling up on KMS.

use super::allowlist;
use super::bundle::{key_binding, StoredBundle};
use super::changes::{change_writes, jitter, Step, MAX_TRIES};
use super::records::*;
use super::sessions::Devices;
use crate::domain::MacAddress;
use crate::jobs::Job;
use crate::error::{Error, Result};
use crate::pki::chain::cert_pem;
use crate::pki::leaf::{LeafKey, Template};
use crate::pki::SubjectName;
use crate::ports::{Condition, Write};
use crate::services::pki::{AuthorityRecord, AuthorityStatus, CertificateRecord, Channel, LeafRequest, Pki, Provenance};
use time::Duration;

/// How long a delivery holds an attempt before another may take it over.
const CLAIM_LEASE_SECONDS: i64 = 30;

/// What claiming an attempt found.
enum Claimed {
    /// This delivery holds it, under this claim id.
    Mine(String),
    /// The attempt is over (done, failed, superseded): nothing to do.
    Over,
    /// Another delivery holds a live claim.
    Busy,
}

/// How a delivery went, short of an error.
enum Ran {
    /// The attempt is done (by this delivery or an earlier one), or no longer current.
    Done,
    /// Another delivery holds the attempt.
    Busy,
}

/// What the issuance needs, prepared once per delivery.
struct Prepared {
    pki: Pki,
    request: LeafRequest,
    key: LeafKey,
    sealed_key: Option<String>,
    chain_pem: String,
}

/// One lock per stripe of sessions in this process: the deliveries of one session's devices
/// (an SQS batch, `serve`'s concurrent drain) sign and commit one at a time, since each
/// commit moves the session's counts; racing, all but one would lose and sign again.
/// Deliveries in other processes still race, and the version conditions keep that correct.
fn session_turn(session_id: &str) -> &'static tokio::sync::Mutex<()> {
    use std::hash::{Hash, Hasher};
    static TURNS: std::sync::OnceLock<Vec<tokio::sync::Mutex<()>>> = std::sync::OnceLock::new();
    let turns = TURNS.get_or_init(|| (0..64).map(|_| tokio::sync::Mutex::new(())).collect());
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    session_id.hash(&mut hasher);
    &turns[(hasher.finish() % 64) as usize]
}

/// The configured validity, clipped to end a minute before the issuer.
fn device_validity(issuer: &AuthorityRecord, days: u32) -> Duration {
    let configured = Duration::days(i64::from(days));
    let remaining = issuer.not_after - crate::clock::now() - Duration::minutes(1);
    if remaining >= Duration::SECOND {
        configured.min(remaining)
    } else {
        configured
    }
}

/// Errors no redelivery can mend: the device fails at once.
fn permanent(e: &Error) -> bool {
    matches!(e, Error::Validation(_) | Error::Unprocessable(_) | Error::Forbidden(_)) || matches!(e, Error::Coded(_, inner) if permanent(inner))
}

impl Devices {
    /// One delivery (`receive_count`: 1 on the first) of a device job. On the last allowed
    /// delivery (`DEVICE_MAX_RECEIVES`), or for an error no retry mends, the device becomes
    /// `failed` with the error as its `error_message`.
    pub async fn provision_job(&self, session_id: &str, mac: &str, attempt: u32, receive_count: u32) -> Result<()> {
        let mac = MacAddress::parse(mac)?;
        if !is_session_id(session_id) {
            return Err(Error::validation("not a session id"));
        }
        let last = receive_count >= self.config.device_max_receives;
        match self.run_attempt(session_id, &mac, attempt).await {
            Ok(Ran::Done) => Ok(()),
            // The holder finishes the attempt, or, if it died (a killed `serve`, a timed-out
            // Lambda), its lease ends: a fresh job outlives this message's deliveries, finds the
            // attempt done or takes it over.
            Ok(Ran::Busy) if last => {
                tracing::info!(session_id, %mac, attempt, "attempt still held after the last delivery; queued again");
                Job::ProvisionDevice { session_id: session_id.to_owned(), mac: mac.to_string(), attempt }.enqueue(self.queue.as_ref()).await
            }
            Ok(Ran::Busy) => Err(Error::Unavailable(format!("device {mac} attempt {attempt} is held by another delivery"))),
            Err(e) if last || permanent(&e) => {
                tracing::error!(session_id, %mac, attempt, error = %e, "device provisioning failed");
                self.fail_attempt(session_id, &mac, attempt, &e).await
            }
            Err(e) => Err(e),
        }
    }

    async fn run_attempt(&self, session_id: &str, mac: &MacAddress, attempt: u32) -> Result<Ran> {
        let claim = match self.claim(session_id, mac, attempt).await? {
            Claimed::Mine(id) => id,
            Claimed::Over => return Ok(Ran::Done),
            Claimed::Busy => return Ok(Ran::Busy),
        };
        let outcome = self.issue_claimed(session_id, mac, attempt, &claim).await;
        if outcome.is_err() {
            self.release(session_id, mac, &claim).await;
        }
        outcome.map(|()| Ran::Done)
    }

    async fn issue_claimed(&self, session_id: &str, mac: &MacAddress, attempt: u32, claim: &str) -> Result<()> {
        let prepared = self.prepare(session_id, mac).await?;
        let _turn = session_turn(session_id).lock().await;
        for tries in 1..=MAX_TRIES {
            match self.commit_attempt(session_id, mac, attempt, claim, &prepared).await {
                Err(Error::Conflict(_)) if tries < MAX_TRIES => jitter(tries).await,
                other => return other,
            }
        }
        Err(Error::Unavailable("the session is too busy; retry".into()))
    }

    /// Gives up this delivery's claim after a failure, so the next delivery need not wait
    /// for the lease (best effort: the lease frees it anyway).
    async fn release(&self, session_id: &str, mac: &MacAddress, claim: &str) {
        let Ok(Some((device, version))) = self.load_device(session_id, mac).await else { return };
        if device.claim.as_ref().is_none_or(|c| c.id != claim) {
            return;
        }
        let released = StoredDevice { claim: None, ..device };
        let Ok(item) = released.to_item(session_id, version + 1) else { return };
        if let Err(e) = self.store.put(item, Condition::Version(version)).await {
            tracing::warn!(session_id, %mac, error = %e, "could not release a device claim; it frees itself when the lease ends");
        }
    }

    async fn claim(&self, session_id: &str, mac: &MacAddress, attempt: u32) -> Result<Claimed> {
        for tries in 1..=MAX_TRIES {
            let Some((device, version)) = self.load_device(session_id, mac).await? else { return Ok(Claimed::Over) };
            if device.device.state != DeviceState::Provisioning || device.attempt != attempt {
                return Ok(Claimed::Over);
            }
            let now = crate::clock::now().unix_timestamp();
            if device.claim.as_ref().is_some_and(|c| c.until > now) {
                return Ok(Claimed::Busy);
            }
            let id = uuid::Uuid::new_v4().to_string();
            let claimed = StoredDevice { claim: Some(Claim { id: id.clone(), until: now + CLAIM_LEASE_SECONDS }), ..device };
            match self.store.put(claimed.to_item(session_id, version + 1)?, Condition::Version(version)).await {
                Ok(()) => return Ok(Claimed::Mine(id)),
                Err(Error::Conflict(_)) => jitter(tries).await,
                // The answer was lost: the claim may have been written all the same.
                Err(e) => match self.load_device(session_id, mac).await {
                    Ok(Some((now, _))) if now.claim.as_ref().is_some_and(|c| c.id == id) => return Ok(Claimed::Mine(id)),
                    _ => return Err(e),
                },
            }
        }
        Err(Error::Unavailable("the device is too busy; retry".into()))
    }

    async fn prepare(&self, session_id: &str, mac: &MacAddress) -> Result<Prepared> {
        let issuer_id = match &self.config.device_issuer_id {
            Some(id) => id.clone(),
            None => crate::services::default_issuer::default_issuer(&self.config, self.store.as_ref()).await?,
        };
        let pki = Pki::new(self.ports.clone(), self.config.clone());
        let issuer = pki.get_authority(&issuer_id).await?;
        if issuer.status != AuthorityStatus::Active {
            return Err(Error::Unprocessable(format!("the device issuing authority {issuer_id} is not active")));
        }
        let chain_pem = pki.chain(&issuer_id).await?.iter().map(|der| cert_pem(der)).collect();
        let (device, _) = self.load_device(session_id, mac).await?.ok_or_else(super::changes::device_not_found)?;
        let (key, sealed_key) = match &device.csr_pem {
            Some(pem) => (crate::pki::csr::verify_pem(pem)?.key, None),
            None => {
                let generate = || crate::pki::leaf::generate_key(crate::ports::KeyAlgorithm::EcP256);
                let (key, pem) = tokio::task::spawn_blocking(generate).await.map_err(Error::internal)??;
                (key, Some(self.secrets().await?.seal(&key_binding(session_id, mac), &pem)?))
            }
        };
        let request = LeafRequest {
            issuer_id,
            template: Template::TlsClient,
            subject: SubjectName::common_name_only(&mac.to_string())?,
            subject_id: None,
            dns_names: Vec::new(),
            ip_addresses: Vec::new(),
            validity: device_validity(&issuer, self.config.device_cert_validity_days),
        };
        Ok(Prepared { pki, request, key, sealed_key, chain_pem })
    }

    /// Signs and commits, if this delivery still holds the attempt; `Conflict` when a
    /// concurrent change moved the session or the device (plan again).
    async fn commit_attempt(&self, session_id: &str, mac: &MacAddress, attempt: u32, claim: &str, p: &Prepared) -> Result<()> {
        let (session, version) = self.load_session(session_id).await?;
        let Some((device, device_version)) = self.load_device(session_id, mac).await? else { return Ok(()) };
        let holds = device.device.state == DeviceState::Provisioning && device.attempt == attempt && device.claim.as_ref().is_some_and(|c| c.id == claim);
        if !holds {
            return Ok(());
        }
        if session.session.state == SessionState::Closed {
            return Err(Error::validation("the session was closed"));
        }
        let (entry, entry_version) = allowlist::find(self.store.as_ref(), mac).await?.ok_or_else(|| super::changes::not_allowlisted(mac))?;
        let provenance = Provenance { channel: Channel::Device, requested_by: None, answers_pending: false };
        let writes = |cert: &CertificateRecord| -> Result<Vec<Write>> {
            let now = crate::clock::now();
            let mut next = device.clone();
            next.device.state = DeviceState::Provisioned;
            next.device.provisioned_at = Some(crate::clock::rfc3339(now));
            next.certificate_id = Some(cert.id.clone());
            next.claim = None;
            let (mut writes, _) = change_writes(session.clone(), version, Some(&(device.clone(), device_version)), &next)?;
            let bundle = StoredBundle { certificate_id: cert.id.clone(), certificate_pem: cert.certificate_pem.clone(), chain_pem: p.chain_pem.clone(), sealed_private_key: p.sealed_key.clone(), attempt };
            writes.push(Write::Put { item: bundle.to_item(session_id, mac, 1)?, condition: Condition::Always });
            writes.push(allowlist::mark_used(&entry, entry_version, now)?);
            Ok(writes)
        };
        let breaker = super::guard::CircuitBreaker::shared("pki", self.config.devices_guard.breaker());
        let issued = breaker.call(|| p.pki.issue_in(provenance, p.request.clone(), &p.key, writes)).await?;
        tracing::info!(session_id, %mac, attempt, certificate_id = %issued.record.id, "device provisioned");
        if let Err(e) = allowlist::count_used(self.store.as_ref(), mac).await {
            tracing::warn!(%mac, error = %e, "the allowlist's used count lags; the next listing counts it");
        }
        Ok(())
    }

    /// The attempt's device becomes `failed` with `error` (unless it moved on meanwhile).
    async fn fail_attempt(&self, session_id: &str, mac: &MacAddress, attempt: u32, error: &Error) -> Result<()> {
        let message = format!("provisioning failed: {}", error.public_message());
        let outcome = self
            .change_device(session_id, mac, |_, device| {
                let Some(device) = device.filter(|d| d.device.state == DeviceState::Provisioning && d.attempt == attempt) else { return Ok(None) };
                let mut next = device.clone();
                next.device.state = DeviceState::Failed;
                next.device.error_message = Some(message.clone());
                next.claim = None;
                Ok(Some(Step { device: next, extra: Vec::new() }))
            })
            .await;
        match outcome {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some("DEVICE_NOT_FOUND") || e.code() == Some("SESSION_NOT_FOUND") => Ok(()),
            Err(e) => Err(e),
        }
    }
}
