//! External account binding keys (RFC 8555 §7.3.4), minted by an operator per authority.
//! The HMAC key is never stored: it is derived from the key id with the deployment's MAC key
//! (KMS `GenerateMac`, or the embedded key file), so the store holds only ids and states.
//! A key binds the first account created with it and no other.

use super::jws::{AccountKey, SignedRequest};
use super::problem::{problem, ProblemType};
use super::records::{decode, item, EabKeyRecord};
use super::{Acme, Urls};
use crate::error::{Error, Result};
use crate::ports::{Condition, Index, Item, Query, SkRange, Write};
use base64::Engine;
use serde_json::Value;

/// Most EAB keys one listing returns.
const MAX_LISTED: u32 = 1000;
/// What the derived HMAC keys are MACs of, before the key id.
const DERIVATION_LABEL: &str = "trustplane acme eab v1\0";

/// A freshly minted EAB key and its HMAC key (base64url), shown once.
#[derive(Clone, Debug)]
pub struct NewEabKey {
    pub record: EabKeyRecord,
    pub hmac_key: String,
}

fn eab_key(key_id: &str) -> String {
    format!("ACMEEAB#{key_id}")
}

fn checked_name(name: Option<String>) -> Result<Option<String>> {
    let name = name.map(|n| n.trim().to_owned());
    if name.as_ref().is_some_and(|n| n.is_empty() || n.chars().count() > 64 || n.chars().any(char::is_control)) {
        return Err(Error::validation("name must be 1 to 64 printable characters"));
    }
    Ok(name)
}

impl Acme {
    /// Mints an EAB key for `authority_id` (404 if unknown).
    pub async fn create_eab_key(&self, authority_id: &str, name: Option<String>, created_by: Option<String>) -> Result<NewEabKey> {
        let name = checked_name(name)?;
        self.pki.get_authority(authority_id).await?;
        let key_id = crate::services::pki::new_id();
        let record = EabKeyRecord {
            key_id: key_id.clone(),
            authority_id: authority_id.to_owned(),
            name,
            status: "unused".into(),
            bound_account_id: None,
            created_by,
            created_at: crate::clock::now(),
        };
        let mut stored = item(eab_key(&key_id), "EAB", Some((format!("ACMEEABS#{authority_id}"), key_id.clone())), &record)?;
        stored.state = Some(record.status.clone());
        self.ports.store.put(stored, Condition::Absent).await?;
        let hmac_key = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(self.eab_secret(&key_id).await?);
        Ok(NewEabKey { record, hmac_key })
    }

    /// The EAB keys of `authority_id`, oldest first (at most 1000).
    pub async fn list_eab_keys(&self, authority_id: &str) -> Result<Vec<EabKeyRecord>> {
        self.pki.get_authority(authority_id).await?;
        let query = Query { index: Index::Gsi1, pk: format!("ACMEEABS#{authority_id}"), range: SkRange::All, limit: MAX_LISTED, cursor: None, descending: false };
        self.ports.store.query(query).await?.items.iter().map(decode).collect()
    }

    /// Revokes an EAB key: no account can be created with it any more (accounts it already
    /// bound keep working). 404 if it is not one of the authority's.
    pub async fn revoke_eab_key(&self, authority_id: &str, key_id: &str) -> Result<EabKeyRecord> {
        let stored = self.eab_item(key_id).await?.filter(|i| i.data["authorityId"] == authority_id).ok_or_else(|| Error::NotFound(format!("EAB key {key_id}")))?;
        let record = EabKeyRecord { status: "revoked".into(), ..decode(&stored)? };
        let mut updated = item(stored.pk.clone(), "EAB", stored.gsi1.clone().map(|g| (g.pk, g.sk)), &record)?;
        updated.state = Some(record.status.clone());
        updated.version = stored.version + 1;
        self.ports.store.put(updated, Condition::Version(stored.version)).await?;
        Ok(record)
    }

    async fn eab_item(&self, key_id: &str) -> Result<Option<Item>> {
        if key_id.is_empty() || key_id.len() > 64 {
            return Ok(None);
        }
        self.ports.store.get(&eab_key(key_id), "EAB").await
    }

    async fn eab_secret(&self, key_id: &str) -> Result<Vec<u8>> {
        self.ports.mac.mac(format!("{DERIVATION_LABEL}{key_id}").as_bytes()).await
    }

    /// Checks `binding` (RFC 8555 §7.3.4): HS256 over `key` by an unused EAB key of this
    /// server, for the newAccount URL. Returns the write that binds the key to `account_id`,
    /// for the account's transaction (which fails if another account bound it meanwhile).
    pub(crate) async fn check_binding(&self, urls: &Urls, binding: &Value, key: &AccountKey, account_id: &str) -> Result<Write> {
        let jws = SignedRequest::parse(binding.to_string().as_bytes())?;
        let (kid, url) = jws.mac_header()?;
        if url != urls.new_account() {
            return Err(problem(ProblemType::Unauthorized, "the external account binding's url is not the newAccount URL"));
        }
        let unknown = || problem(ProblemType::Unauthorized, "the external account binding names no EAB key of this server");
        let stored = self.eab_item(&kid).await?.filter(|i| i.data["authorityId"] == urls.authority_id()).ok_or_else(unknown)?;
        jws.verify_mac(&self.eab_secret(&kid).await?)?;
        if stored.state.as_deref() != Some("unused") {
            return Err(problem(ProblemType::Unauthorized, "the EAB key is already bound or revoked"));
        }
        let bound: Value = jws.payload()?;
        if AccountKey::parse(&bound)?.thumbprint() != key.thumbprint() {
            return Err(problem(ProblemType::Unauthorized, "the external account binding is for another key"));
        }
        let record = EabKeyRecord { status: "bound".into(), bound_account_id: Some(account_id.to_owned()), ..decode(&stored)? };
        let mut updated = item(stored.pk.clone(), "EAB", stored.gsi1.clone().map(|g| (g.pk, g.sk)), &record)?;
        updated.state = Some(record.status);
        updated.version = stored.version + 1;
        Ok(Write::Put { item: updated, condition: Condition::Version(stored.version) })
    }
}
