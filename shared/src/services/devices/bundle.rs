//! A provisioned device's bundle, what the gateway pushes to the device: its certificate, the
//! issuer chain, the private key when the server generated it (sealed at rest, handed out
//! once and then erased), the target network's credentials and the session's config.

use super::changes::{device_not_found, Step};
use super::records::*;
use super::sessions::{password_binding, Devices};
use crate::domain::MacAddress;
use crate::error::{Error, Result};
use crate::ports::{Condition, Item, Write};
use serde::{Deserialize, Serialize};

/// The bundle item (`BUNDLE#<MAC>`), written in the transaction that provisions the device.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredBundle {
    pub certificate_id: String,
    pub certificate_pem: String,
    /// Issuer first, root last.
    pub chain_pem: String,
    /// The generated PKCS#8 key, sealed; erased once fetched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed_private_key: Option<String>,
    pub attempt: u32,
}

impl StoredBundle {
    pub fn to_item(&self, session_id: &str, mac: &MacAddress, version: u64) -> Result<Item> {
        let data = serde_json::to_value(self).map_err(|e| Error::internal(format!("bundle: {e}")))?;
        let mut item = Item::new(session_pk(session_id), bundle_sk(mac), data);
        item.version = version;
        Ok(item)
    }
}

/// What `GET /gateway/sessions/{id}/devices/{mac}/bundle` answers.
#[derive(Clone, Debug, Serialize)]
pub struct Bundle {
    pub mac: MacAddress,
    pub certificate_id: String,
    pub certificate_pem: String,
    pub chain_pem: String,
    /// Present only on the first fetch of a server-generated key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub private_key_pem: Option<String>,
    pub target_ssid: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_password: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config: Option<SessionConfig>,
}

/// What a generated key is sealed to.
pub(crate) fn key_binding(session_id: &str, mac: &MacAddress) -> String {
    format!("{session_id}/{mac}/private_key")
}

impl Devices {
    /// The bundle of a `provisioned` (or already `verifying`/`verified`) device; the first
    /// fetch moves it to `verifying` and takes the generated key, if any, out of the store.
    pub async fn bundle(&self, session_id: &str, mac: &MacAddress) -> Result<Bundle> {
        let (session, _) = self.load_session(session_id).await?;
        let (device, _) = self.load_device(session_id, mac).await?.ok_or_else(device_not_found)?;
        if !matches!(device.device.state, DeviceState::Provisioned | DeviceState::Verifying | DeviceState::Verified) {
            return Err(Error::Conflict(format!("device {mac} is {} and has no bundle", device.device.state.as_str())));
        }
        let item = self.store.get(&session_pk(session_id), &bundle_sk(mac)).await?.ok_or_else(|| Error::internal("a provisioned device without a bundle"))?;
        let stored: StoredBundle = serde_json::from_value(item.data.clone()).map_err(|e| Error::internal(format!("stored bundle: {e}")))?;
        let secrets = self.secrets().await?;
        let private_key_pem = match &stored.sealed_private_key {
            Some(sealed) => self.take_key(session_id, mac, &stored, item.version, &secrets.open(&key_binding(session_id, mac), sealed)?).await?,
            None => None,
        };
        let target_password = match &session.sealed_password {
            Some(sealed) => Some(secrets.open(&password_binding(session_id), sealed)?),
            None => None,
        };
        self.mark_verifying(session_id, mac).await?;
        Ok(Bundle {
            mac: *mac,
            certificate_id: stored.certificate_id,
            certificate_pem: stored.certificate_pem,
            chain_pem: stored.chain_pem,
            private_key_pem,
            target_ssid: session.session.target_ssid,
            target_password,
            config: session.session.config,
        })
    }

    /// Erases the sealed key; only the caller whose conditional write wins gets `key` back.
    async fn take_key(&self, session_id: &str, mac: &MacAddress, stored: &StoredBundle, version: u64, key: &str) -> Result<Option<String>> {
        let erased = StoredBundle { sealed_private_key: None, ..stored.clone() };
        match self.store.put(erased.to_item(session_id, mac, version + 1)?, Condition::Version(version)).await {
            Ok(()) => Ok(Some(key.to_owned())),
            Err(Error::Conflict(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn mark_verifying(&self, session_id: &str, mac: &MacAddress) -> Result<()> {
        self.change_device(session_id, mac, |_, device| {
            let device = device.ok_or_else(device_not_found)?;
            if device.device.state != DeviceState::Provisioned {
                return Ok(None);
            }
            let mut next = device.clone();
            next.device.state = DeviceState::Verifying;
            Ok(Some(Step { device: next, extra: Vec::<Write>::new() }))
        })
        .await
        .map(|_| ())
    }
}
