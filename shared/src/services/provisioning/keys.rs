//! Provision key management: mint (shown once), list (never the key), revoke.

use super::{hash_hex, pk, Provisioning, INDEX_PK, RETENTION_SECONDS, SK};
use crate::adapters::sealed_cursors::ListBinding;
use crate::domain::AgentId;
use crate::error::{Error, Result};
use crate::ports::{Condition, Index, IndexKey, Item, Query, SkRange};
use base64::Engine;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Lifecycle of a provision key (the store's `state`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ProvisionKeyState {
    Unused,
    /// Held by an exchange in progress until `claim_until`.
    Claimed,
    Used,
    Revoked,
    /// Reported only: an unused key past its expiry.
    Expired,
}

impl ProvisionKeyState {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ProvisionKeyState::Unused => "unused",
            ProvisionKeyState::Claimed => "claimed",
            ProvisionKeyState::Used => "used",
            ProvisionKeyState::Revoked => "revoked",
            ProvisionKeyState::Expired => "expired",
        }
    }
}

/// A provision key's record (seed 000's KeyStore entry), never the key itself.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProvisionKeyRecord {
    pub id: String,
    pub agent_id: String,
    pub key_prefix: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    pub claim_id: Option<String>,
    pub claim_until: Option<i64>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub used_at: Option<OffsetDateTime>,
    pub certificate_id: Option<String>,
}

/// A key's lifetime: 1 s ..= 30 days.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TtlSeconds(i64);

impl TtlSeconds {
    /// Parses a lifetime.
    pub fn parse(raw: i64) -> Result<Self> {
        if (1..=30 * 24 * 3600).contains(&raw) {
            Ok(TtlSeconds(raw))
        } else {
            Err(Error::validation("ttl_seconds must be between 1 and 2592000 (30 days)"))
        }
    }
}

/// `GET /provision-keys` filters.
#[derive(Clone, Debug, Default)]
pub struct KeyFilter {
    pub agent_id: Option<String>,
    pub state: Option<ProvisionKeyState>,
}

impl KeyFilter {
    /// What a cursor of this listing is bound to. The filters apply after the query, so the
    /// store's cursor alone would carry a page of `?state=unused` over to `?state=used`.
    fn binding(&self) -> ListBinding {
        ListBinding::new("provision-keys").filter("agent_id", self.agent_id.as_deref()).filter("state", self.state.map(ProvisionKeyState::as_str))
    }

    fn matches(&self, record: &ProvisionKeyRecord, state: ProvisionKeyState) -> bool {
        self.agent_id.as_ref().is_none_or(|a| *a == record.agent_id) && self.state.is_none_or(|s| s == state)
    }
}

/// The state a record reports now.
pub fn reported_state(item: &Item, record: &ProvisionKeyRecord, now: OffsetDateTime) -> ProvisionKeyState {
    match item.state.as_deref() {
        Some("used") => ProvisionKeyState::Used,
        Some("revoked") => ProvisionKeyState::Revoked,
        _ if record.expires_at <= now => ProvisionKeyState::Expired,
        Some("claimed") => ProvisionKeyState::Claimed,
        _ => ProvisionKeyState::Unused,
    }
}

pub(crate) fn decode(item: &Item) -> Result<ProvisionKeyRecord> {
    serde_json::from_value(item.data.clone()).map_err(|e| Error::internal(format!("corrupt provision key record: {e}")))
}

pub(crate) fn encode(record: &ProvisionKeyRecord, hash: &str, state: ProvisionKeyState, version: u64) -> Result<Item> {
    let mut item = Item::new(pk(hash), SK, serde_json::to_value(record).map_err(Error::internal)?);
    item.gsi1 = Some(IndexKey { pk: INDEX_PK.into(), sk: format!("{}#{}", record.key_prefix, record.id) });
    item.expires_at = Some(record.expires_at.unix_timestamp() + RETENTION_SECONDS);
    item.state = Some(state.as_str().into());
    item.version = version;
    Ok(item)
}

impl Provisioning {
    /// Mints `sk_` + 256 random bits for `agent_id`, valid for `ttl`; returns it once.
    pub async fn create_key(&self, agent_id: AgentId, ttl: TtlSeconds) -> Result<(ProvisionKeyRecord, String)> {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let secret = format!("sk_{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes));
        let now = crate::services::pki::now();
        let record = ProvisionKeyRecord {
            id: uuid::Uuid::now_v7().to_string(),
            agent_id: agent_id.as_str().to_owned(),
            key_prefix: secret[..11].to_owned(),
            created_at: now,
            expires_at: now + time::Duration::seconds(ttl.0),
            claim_id: None,
            claim_until: None,
            used_at: None,
            certificate_id: None,
        };
        let item = encode(&record, &hash_hex(&secret), ProvisionKeyState::Unused, 1)?;
        self.store.put(item, Condition::Absent).await?;
        Ok((record, secret))
    }

    /// A page of keys (ordered by prefix) with their current state, filtered. The cursor is
    /// the store's, sealed again under the filter; one from another filter is a `Validation`
    /// error.
    pub async fn list_keys(&self, filter: &KeyFilter, limit: u32, cursor: Option<String>) -> Result<(Vec<(ProvisionKeyRecord, ProvisionKeyState)>, Option<String>)> {
        let seal = self.pki.cursor_seal().await?;
        let binding = filter.binding();
        let cursor = cursor.map(|sealed| seal.open_list(&binding, &sealed)).transpose()?;
        let query = Query { index: Index::Gsi1, pk: INDEX_PK.into(), range: SkRange::All, limit, cursor, descending: false };
        let page = self.store.query(query).await?;
        let now = crate::services::pki::now();
        let mut out = Vec::new();
        for item in &page.items {
            let record = decode(item)?;
            let state = reported_state(item, &record, now);
            if filter.matches(&record, state) {
                out.push((record, state));
            }
        }
        let next = page.cursor.map(|c| seal.seal_list(&binding, &c)).transpose()?;
        Ok((out, next))
    }

    /// Revokes an unused key by its prefix: 404 if unknown, 409 if already used or revoked.
    ///
    /// Only GSI1 maps a prefix to its key's item, and it is eventually consistent: it is read
    /// for the item's key alone, and the decision and the versioned write rest on the item
    /// itself, read strongly consistent.
    pub async fn revoke_key(&self, key_prefix: &str) -> Result<()> {
        let not_found = || Error::NotFound(format!("provision key {key_prefix}"));
        let pk = self.item_key_of(key_prefix).await?.ok_or_else(not_found)?;
        let item = self.store.get(&pk, SK).await?.ok_or_else(not_found)?;
        if item.state.as_deref() != Some("unused") {
            return Err(not_revocable(key_prefix, &item));
        }
        let mut revoked = item.clone();
        revoked.state = Some("revoked".into());
        revoked.version = item.version + 1;
        match self.store.put(revoked, Condition::Version(item.version)).await {
            Err(Error::Conflict(reason)) => match self.store.get(&pk, SK).await? {
                Some(current) if current.state.as_deref() != Some("unused") => Err(not_revocable(key_prefix, &current)),
                _ => Err(Error::Conflict(reason)),
            },
            other => other,
        }
    }

    /// The partition key of the item of the key with `key_prefix`, from GSI1, read past short
    /// pages; 409 if two keys share the prefix.
    async fn item_key_of(&self, key_prefix: &str) -> Result<Option<String>> {
        let mut query = Query { index: Index::Gsi1, pk: INDEX_PK.into(), range: SkRange::BeginsWith(format!("{key_prefix}#")), limit: 2, cursor: None, descending: false };
        let mut found = Vec::new();
        loop {
            let page = self.store.query(query.clone()).await?;
            found.extend(page.items.into_iter().map(|item| item.pk));
            if found.len() > 1 {
                return Err(Error::Conflict(format!("key prefix {key_prefix} is ambiguous")));
            }
            match page.cursor {
                Some(next) => query.cursor = Some(next),
                None => return Ok(found.pop()),
            }
        }
    }
}

/// The refusal to revoke a key that is no longer unused.
fn not_revocable(key_prefix: &str, item: &Item) -> Error {
    let state = item.state.as_deref().unwrap_or("?");
    Error::Conflict(format!("provision key {key_prefix} is {state} and cannot be revoked"))
}
