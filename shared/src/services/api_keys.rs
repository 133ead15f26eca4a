//! API keys: random secrets shown once, stored only as SHA-256 hashes.
//!
//! Store layout: `PK = APIKEY#<sha256 hex>`, `SK = APIKEY`, `GSI1PK = APIKEYS`,
//! `GSI1SK = <id>` (UUIDv7, so the index lists keys in creation order), `state` active|revoked.

use crate::domain::Scopes;
use crate::error::{Error, Result};
use crate::ports::{Condition, Index, IndexKey, Item, Query, SkRange, Store};
use base64::Engine;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use subtle::ConstantTimeEq;

const SECRET_PREFIX: &str = "tp_";
const INDEX_PK: &str = "APIKEYS";

/// A key's metadata, never its secret.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApiKeyRecord {
    pub id: String,
    pub name: String,
    pub scopes: Scopes,
    /// The first characters of the secret, to recognise it in a list.
    pub prefix: String,
    pub created_at: String,
    pub revoked_at: Option<String>,
    /// The id of the key that minted it; `None` for the first admin key and older records.
    #[serde(default)]
    pub created_by: Option<String>,
    /// The id of the key that revoked it.
    #[serde(default)]
    pub revoked_by: Option<String>,
    hash: String,
}

/// A freshly minted key: the only time the secret exists outside the caller's hands.
#[derive(Debug)]
pub struct NewApiKey {
    pub record: ApiKeyRecord,
    pub secret: String,
}

/// A key's display name: 1 to 64 printable characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyName(String);

impl KeyName {
    /// Parses a name.
    pub fn parse(raw: &str) -> Result<Self> {
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.chars().count() > 64 || trimmed.chars().any(char::is_control) {
            return Err(Error::validation("name must be 1 to 64 printable characters"));
        }
        Ok(KeyName(trimmed.to_owned()))
    }
}

/// The API key service.
#[derive(Clone)]
pub struct ApiKeys {
    store: Arc<dyn Store>,
}

fn hash_hex(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

fn pk(hash: &str) -> String {
    format!("APIKEY#{hash}")
}

fn from_item(item: &Item) -> Result<ApiKeyRecord> {
    serde_json::from_value(item.data.clone()).map_err(|e| Error::internal(format!("corrupt API key record: {e}")))
}

impl ApiKeys {
    /// The service over `store`.
    pub fn new(store: Arc<dyn Store>) -> Self {
        ApiKeys { store }
    }

    /// Mints a key with ≥ 128 random bits (here 256), stores its hash, returns the secret once.
    pub async fn create(&self, name: KeyName, scopes: Scopes) -> Result<NewApiKey> {
        self.create_by(name, scopes, None).await
    }

    /// [`ApiKeys::create`], recording the id of the acting key as `created_by`.
    pub async fn create_by(&self, name: KeyName, scopes: Scopes, created_by: Option<&str>) -> Result<NewApiKey> {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let secret = format!("{SECRET_PREFIX}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes));
        let hash = hash_hex(&secret);
        let record = ApiKeyRecord {
            id: uuid::Uuid::now_v7().to_string(),
            name: name.0,
            scopes,
            prefix: secret[..SECRET_PREFIX.len() + 8].to_owned(),
            created_at: crate::clock::now_rfc3339(),
            revoked_at: None,
            created_by: created_by.map(str::to_owned),
            revoked_by: None,
            hash: hash.clone(),
        };
        let mut item = Item::new(pk(&hash), "APIKEY", serde_json::to_value(&record).map_err(Error::internal)?);
        item.gsi1 = Some(IndexKey { pk: INDEX_PK.into(), sk: record.id.clone() });
        item.state = Some("active".into());
        self.store.put(item, Condition::Absent).await?;
        Ok(NewApiKey { record, secret })
    }

    /// The record of an active key, or 401.
    pub async fn authenticate(&self, presented: &str) -> Result<ApiKeyRecord> {
        let invalid = || Error::Unauthorized("invalid API key".into());
        if !presented.starts_with(SECRET_PREFIX) || presented.len() > 128 {
            return Err(invalid());
        }
        let hash = hash_hex(presented);
        let item = self.store.get(&pk(&hash), "APIKEY").await?.ok_or_else(invalid)?;
        let record = from_item(&item)?;
        let same: bool = record.hash.as_bytes().ct_eq(hash.as_bytes()).into();
        if !same || item.state.as_deref() != Some("active") {
            return Err(invalid());
        }
        Ok(record)
    }

    /// A page of keys in creation order.
    pub async fn list(&self, limit: u32, cursor: Option<String>) -> Result<(Vec<ApiKeyRecord>, Option<String>)> {
        let query = Query { index: Index::Gsi1, pk: INDEX_PK.into(), range: SkRange::All, limit, cursor, descending: false };
        let page = self.store.query(query).await?;
        let records = page.items.iter().map(from_item).collect::<Result<Vec<_>>>()?;
        Ok((records, page.cursor))
    }

    /// True once any key exists (revoked ones included).
    pub async fn any_exist(&self) -> Result<bool> {
        Ok(!self.list(1, None).await?.0.is_empty())
    }

    /// Revokes a key by id: it stops authenticating at once. Revoking twice is harmless.
    ///
    /// Only GSI1 maps an id to its key's item, and it is eventually consistent: it is read for
    /// the item's key alone, and the decision and the versioned write rest on the item itself,
    /// read strongly consistent.
    pub async fn revoke(&self, id: &str) -> Result<()> {
        self.revoke_by(id, None).await
    }

    /// [`ApiKeys::revoke`], recording the id of the acting key as `revoked_by`.
    pub async fn revoke_by(&self, id: &str, revoked_by: Option<&str>) -> Result<()> {
        let not_found = || Error::NotFound(format!("API key {id}"));
        let pk = self.item_key_of(id).await?.ok_or_else(not_found)?;
        let item = self.store.get(&pk, "APIKEY").await?.ok_or_else(not_found)?;
        if item.state.as_deref() == Some("revoked") {
            return Ok(());
        }
        let mut record = from_item(&item)?;
        record.revoked_at = Some(crate::clock::now_rfc3339());
        record.revoked_by = revoked_by.map(str::to_owned);
        let mut updated = item.clone();
        updated.data = serde_json::to_value(&record).map_err(Error::internal)?;
        updated.state = Some("revoked".into());
        updated.version = item.version + 1;
        match self.store.put(updated, Condition::Version(item.version)).await {
            Err(Error::Conflict(reason)) => match self.store.get(&pk, "APIKEY").await? {
                Some(current) if current.state.as_deref() == Some("revoked") => Ok(()),
                _ => Err(Error::Conflict(reason)),
            },
            other => other,
        }
    }

    /// The partition key of the item of the key with `id`, from GSI1, read past short pages.
    async fn item_key_of(&self, id: &str) -> Result<Option<String>> {
        let mut query = Query { index: Index::Gsi1, pk: INDEX_PK.into(), range: SkRange::Eq(id.into()), limit: 1, cursor: None, descending: false };
        loop {
            let page = self.store.query(query.clone()).await?;
            if let Some(item) = page.items.into_iter().next() {
                return Ok(Some(item.pk));
            }
            match page.cursor {
                Some(next) => query.cursor = Some(next),
                None => return Ok(None),
            }
        }
    }
}
