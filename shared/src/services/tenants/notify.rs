//! Seed 003 TODO 4: a webhook on `Active`/`Failed`, signed with HMAC-SHA256 over
//! `<timestamp>.<body>` (header `X-Trustplane-Signature: sha256=<hex>`, timestamp in
//! `X-Trustplane-Timestamp`), delivered from the queue with its retries.

use super::{now, Tenants};
use crate::adapters::webhook::{HttpWebhook, WebhookSink};
use crate::error::Result;
use hmac::{Hmac, Mac};
use serde::Serialize;
use std::sync::Arc;

/// The signature header: `sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.
pub const SIGNATURE_HEADER: &str = "x-trustplane-signature";
/// The unix-seconds timestamp the signature covers (receivers reject old ones).
pub const TIMESTAMP_HEADER: &str = "x-trustplane-timestamp";

/// The notification body.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    /// `tenant.active` or `tenant.failed`.
    pub event: String,
    /// `<provisioningId>:<status>:<run>`: the same on every retry, for receivers to dedupe.
    pub event_id: String,
    pub provisioning_id: String,
    pub status: String,
    pub tenant_slug: String,
    pub db_name: Option<String>,
    pub timestamp: String,
}

/// A configured webhook: where and with which secret.
#[derive(Clone)]
pub struct Webhook {
    sink: Arc<dyn WebhookSink>,
    secret: String,
}

impl Webhook {
    /// The webhook of the configuration, if one is set.
    pub fn from_config(config: &crate::config::TenantConfig) -> Result<Option<Self>> {
        match (&config.webhook_url, &config.webhook_secret) {
            (Some(url), Some(secret)) => Ok(Some(Webhook { sink: Arc::new(HttpWebhook::new(url)?), secret: secret.clone() })),
            _ => Ok(None),
        }
    }

    /// Signs `body` at `timestamp`: the header values.
    pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
        mac.update(format!("{timestamp}.").as_bytes());
        mac.update(body);
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    }

    async fn send(&self, notification: &Notification) -> Result<()> {
        let body = serde_json::to_vec(notification).map_err(crate::Error::internal)?;
        let timestamp = now().unix_timestamp();
        let headers = vec![(SIGNATURE_HEADER, Self::sign(&self.secret, timestamp, &body)), (TIMESTAMP_HEADER, timestamp.to_string())];
        self.sink.deliver(body, headers).await
    }
}

impl Tenants {
    /// Delivers the notification of `tenant_id` reaching `status` in `run` (the job's payload);
    /// without a configured webhook it is dropped. Failures are retried by the queue.
    pub async fn notify(&self, tenant_id: &uuid::Uuid, status: &str, run: u32) -> Result<()> {
        let webhook = self.webhook.get_or_try_init(|| async { Webhook::from_config(&self.config.tenants) }).await?;
        let Some(webhook) = webhook else { return Ok(()) };
        let record = self.load(tenant_id).await?.map(|(_, r)| r);
        let stamp = now().format(&time::format_description::well_known::Rfc3339).map_err(crate::Error::internal)?;
        let notification = Notification {
            event: format!("tenant.{}", status.to_ascii_lowercase()),
            event_id: format!("{tenant_id}:{status}:{run}"),
            provisioning_id: tenant_id.to_string(),
            status: status.to_owned(),
            tenant_slug: record.as_ref().map(|r| r.slug.to_string()).unwrap_or_default(),
            db_name: record.filter(|_| status == "Active").map(|r| r.db_name.to_string()),
            timestamp: stamp,
        };
        webhook.send(&notification).await?;
        tracing::info!(TenantId = %tenant_id, status, "tenant notification delivered");
        Ok(())
    }
}
