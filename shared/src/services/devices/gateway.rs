//! The edge gateway's reports (issue 10, "Who does what"): devices it discovered on the
//! onboarding network, and whether a provisioned device came up on the target network.

use super::allowlist;
use super::changes::{device_not_found, Step};
use super::records::*;
use super::sessions::Devices;
use crate::domain::MacAddress;
use crate::error::{Error, Result};
use serde::Deserialize;

/// How many devices one report may carry.
pub const MAX_REPORTED: usize = 100;

/// One discovered device as the gateway reports it (the client's `ProvisioningCandidate`
/// fields it knows, plus an optional PEM PKCS#10 request made on the device).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscoveredDevice {
    pub mac: String,
    pub ip: String,
    pub rssi: i32,
    pub firmware_version: String,
    #[serde(default)]
    pub csr: Option<String>,
}

/// A report checked: canonical MAC, an IP address, a dBm value, a short firmware string and
/// a CSR that passes the CSR policy (key policy, signature, no CA request).
struct Checked {
    mac: MacAddress,
    csr_pem: Option<String>,
}

fn check(report: &DiscoveredDevice) -> Result<Checked> {
    let mac = MacAddress::parse(&report.mac)?;
    report.ip.parse::<std::net::IpAddr>().map_err(|_| Error::validation(format!("ip of {mac} is not an IP address")))?;
    if !(-150..=20).contains(&report.rssi) {
        return Err(Error::validation(format!("rssi of {mac} must be between -150 and 20 dBm")));
    }
    if report.firmware_version.chars().count() > 64 || report.firmware_version.chars().any(char::is_control) {
        return Err(Error::validation(format!("firmware_version of {mac} must be at most 64 printable characters")));
    }
    let csr_pem = match &report.csr {
        Some(pem) => {
            let csr = crate::pki::csr::verify_pem(pem).map_err(|e| Error::validation(format!("invalid CSR of {mac}: {}", e.public_message())))?;
            if csr.requests_ca {
                return Err(Error::validation(format!("invalid CSR of {mac}: devices cannot be CAs")));
            }
            Some(csr.pem)
        }
        None => None,
    };
    Ok(Checked { mac, csr_pem })
}

impl Devices {
    /// Records the reported devices as `discovered` (a MAC already in the session, or repeated
    /// in the report, is left as it is: reports are idempotent), each with `in_allowlist` as
    /// the allowlist says now and a `device.discovered` event. The whole report is validated
    /// before anything is written.
    pub async fn discover(&self, session_id: &str, reports: &[DiscoveredDevice]) -> Result<Vec<Device>> {
        let (session, _) = self.load_session(session_id).await?;
        if reports.len() > MAX_REPORTED {
            return Err(Error::validation(format!("at most {MAX_REPORTED} devices per report")));
        }
        if session.session.state == SessionState::Closed {
            return Err(Error::Conflict("cannot discover devices into a session that is closed".into()));
        }
        let checked = reports.iter().map(check).collect::<Result<Vec<_>>>()?;
        let mut devices = Vec::with_capacity(reports.len());
        let mut seen = std::collections::HashSet::new();
        for (report, checked) in reports.iter().zip(checked) {
            if !seen.insert(checked.mac) {
                continue;
            }
            let entry = allowlist::find(self.store.as_ref(), &checked.mac).await?.map(|(e, _)| e);
            let new = StoredDevice {
                device: Device {
                    mac: checked.mac,
                    ip: report.ip.trim().to_owned(),
                    state: DeviceState::Discovered,
                    rssi: report.rssi,
                    firmware_version: report.firmware_version.clone(),
                    discovered_at: crate::clock::now_rfc3339(),
                    provisioned_at: None,
                    verified_at: None,
                    error_message: None,
                    retry_count: 0,
                    container_id: entry.as_ref().and_then(|e| e.container_id.clone()),
                    in_allowlist: entry.is_some(),
                },
                csr_pem: checked.csr_pem,
                attempt: 0,
                provisioning_since: None,
                claim: None,
                certificate_id: None,
                skipped: false,
            };
            let stored = self
                .change_device(session_id, &checked.mac, |_, old| Ok(old.is_none().then(|| Step { device: new.clone(), extra: Vec::new() })))
                .await?;
            devices.push(stored.device);
        }
        Ok(devices)
    }

    /// The gateway saw the device on the target network: `provisioned`/`verifying` → `verified`.
    pub async fn verified(&self, session_id: &str, mac: &MacAddress) -> Result<StoredDevice> {
        self.load_session(session_id).await?;
        self.change_device(session_id, mac, |_, device| {
            let device = device.ok_or_else(device_not_found)?;
            if !matches!(device.device.state, DeviceState::Provisioned | DeviceState::Verifying) {
                return Err(Error::Conflict(format!("cannot verify a device that is {}", device.device.state.as_str())));
            }
            let mut next = device.clone();
            next.device.state = DeviceState::Verified;
            next.device.verified_at = Some(crate::clock::now_rfc3339());
            Ok(Some(Step { device: next, extra: Vec::new() }))
        })
        .await
    }

    /// The device did not come up on the target network: `provisioned`/`verifying` → `failed`
    /// with the gateway's error (at most 256 characters kept).
    pub async fn verification_failed(&self, session_id: &str, mac: &MacAddress, error: &str) -> Result<StoredDevice> {
        self.load_session(session_id).await?;
        let message = crate::error::truncate(error.trim(), 256);
        if message.is_empty() {
            return Err(Error::validation("error is required"));
        }
        self.change_device(session_id, mac, |_, device| {
            let device = device.ok_or_else(device_not_found)?;
            if !matches!(device.device.state, DeviceState::Provisioned | DeviceState::Verifying) {
                return Err(Error::Conflict(format!("cannot fail verification of a device that is {}", device.device.state.as_str())));
            }
            let mut next = device.clone();
            next.device.state = DeviceState::Failed;
            next.device.error_message = Some(message.clone());
            Ok(Some(Step { device: next, extra: Vec::new() }))
        })
        .await
    }
}
