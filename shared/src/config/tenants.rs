//! Seed 003's settings: the confirm token, init rate limits, the worker and notifications.

use super::number;
use crate::error::{Error, Result};

/// Tenant provisioning configuration (part of [`super::Config`]).
#[derive(Clone, Debug)]
pub struct TenantConfig {
    /// `TENANT_QUEUE_URL`: the SQS queue the tenant worker consumes (AWS backend).
    pub queue_url: String,
    /// `TENANT_TOKEN_KEY_ID`: the KMS `HMAC_256` key (id, ARN or alias) that MACs confirm tokens;
    /// set for the tenants API alone (nothing else MACs with it).
    pub token_key_id: String,
    /// `TENANT_TOKEN_ISSUER`: the tokens' `iss` (default `ecommerce-api`, as the seed's service).
    pub token_issuer: String,
    /// `TENANT_TOKEN_AUDIENCE`: the tokens' `aud` (default `ecommerce-provisioning`).
    pub token_audience: String,
    /// `TENANT_INIT_BURST`: init requests one client IP may make at once (default 10).
    pub init_burst: u32,
    /// `TENANT_INIT_PER_MINUTE`: tokens the IP's bucket regains per minute (default 5).
    pub init_per_minute: u32,
    /// `TENANT_MAX_PENDING_PER_IP`: unconfirmed tenants one IP may hold (default 5).
    pub max_pending_per_ip: u32,
    /// `TRUST_FORWARDED_FOR`: take the client IP from `X-Forwarded-For` (only behind a
    /// trusted proxy that sets it; default false: API Gateway's source IP or the socket).
    pub trust_forwarded_for: bool,
    /// `TENANT_FREE_SLUG_ON_FAILURE`: a `Failed` tenant releases its slug (default false).
    pub free_slug_on_failure: bool,
    /// `TENANT_WEBHOOK_URL`: where `Active`/`Failed` notifications are POSTed (default none).
    pub webhook_url: Option<String>,
    /// `TENANT_WEBHOOK_SECRET`: the HMAC-SHA256 key of the notifications' signature header.
    pub webhook_secret: Option<String>,
    /// `TENANT_STUCK_AFTER_SECONDS`: the sweep re-enqueues tenants `QUEUED`/`Provisioning` for
    /// longer than this (default 300).
    pub stuck_after_seconds: u32,
    /// `TENANT_MAX_RECEIVES`: deliveries of one message before the tenant is `Failed` and the
    /// message dead-lettered (default 5, the template's `maxReceiveCount`).
    pub max_receives: u32,
    /// `TENANT_STEP_LEASE_SECONDS`: how long a worker owns a running step before another
    /// delivery may take it over (default 120, below the queue's visibility timeout).
    pub step_lease_seconds: u32,
}

fn flag(get: &impl Fn(&str) -> Option<String>, name: &str) -> bool {
    get(name).is_some_and(|v| v == "true" || v == "1")
}

impl TenantConfig {
    /// Reads the tenant settings through `get`.
    pub fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Self> {
        let webhook_url = get("TENANT_WEBHOOK_URL").filter(|v| !v.is_empty());
        let webhook_secret = get("TENANT_WEBHOOK_SECRET").filter(|v| !v.is_empty());
        if webhook_url.as_deref().is_some_and(|u| !(u.starts_with("http://") || u.starts_with("https://"))) {
            return Err(Error::validation("TENANT_WEBHOOK_URL must be an http(s) URL"));
        }
        if webhook_url.is_some() && webhook_secret.as_ref().is_none_or(|s| s.len() < 16) {
            return Err(Error::validation("TENANT_WEBHOOK_SECRET (at least 16 characters) is required with TENANT_WEBHOOK_URL"));
        }
        Ok(TenantConfig {
            queue_url: get("TENANT_QUEUE_URL").unwrap_or_default(),
            token_key_id: get("TENANT_TOKEN_KEY_ID").unwrap_or_default(),
            token_issuer: get("TENANT_TOKEN_ISSUER").filter(|v| !v.is_empty()).unwrap_or_else(|| "ecommerce-api".into()),
            token_audience: get("TENANT_TOKEN_AUDIENCE").filter(|v| !v.is_empty()).unwrap_or_else(|| "ecommerce-provisioning".into()),
            init_burst: number(get, "TENANT_INIT_BURST", 10, 1..=1_000_000)?,
            init_per_minute: number(get, "TENANT_INIT_PER_MINUTE", 5, 1..=1_000_000)?,
            max_pending_per_ip: number(get, "TENANT_MAX_PENDING_PER_IP", 5, 1..=1_000_000)?,
            trust_forwarded_for: flag(get, "TRUST_FORWARDED_FOR"),
            free_slug_on_failure: flag(get, "TENANT_FREE_SLUG_ON_FAILURE"),
            webhook_url,
            webhook_secret,
            stuck_after_seconds: number(get, "TENANT_STUCK_AFTER_SECONDS", 300, 1..=86_400)?,
            max_receives: number(get, "TENANT_MAX_RECEIVES", 5, 1..=1000)?,
            step_lease_seconds: number(get, "TENANT_STEP_LEASE_SECONDS", 120, 1..=3600)?,
        })
    }
}
