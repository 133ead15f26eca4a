//! What the ACME service stores (the `data` of each item, camelCase JSON) and its statuses
//! (RFC 8555 §7.1.6).

use crate::error::{Error, Result};
use crate::ports::{IndexKey, Item};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

/// Account status (RFC 8555 §7.1.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AccountStatus {
    Valid,
    Deactivated,
}

/// An ACME account (RFC 8555 §7.1.2) of one authority's server.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountRecord {
    pub id: String,
    pub authority_id: String,
    pub status: AccountStatus,
    #[serde(default)]
    pub contact: Vec<String>,
    /// The public JWK, required members only.
    pub jwk: Value,
    /// Its RFC 7638 thumbprint.
    pub thumbprint: String,
    /// The external account key it was bound with.
    #[serde(default)]
    pub eab_key_id: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// An external account binding key (RFC 8555 §7.3.4): minted by an operator for one
/// authority, bound to the first account created with it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EabKeyRecord {
    pub key_id: String,
    pub authority_id: String,
    pub name: Option<String>,
    /// `unused`, `bound` or `revoked`.
    pub status: String,
    pub bound_account_id: Option<String>,
    pub created_by: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// An identifier (RFC 8555 §9.7.7); only `dns` is supported.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Identifier {
    #[serde(rename = "type")]
    pub kind: String,
    pub value: String,
}

/// Order status (RFC 8555 §7.1.6). `pending` and `ready` are derived from the
/// authorizations when read; `valid` and `invalid` are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum OrderStatus {
    Pending,
    Ready,
    Processing,
    Valid,
    Invalid,
}

/// An order (RFC 8555 §7.1.3).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderRecord {
    pub id: String,
    pub authority_id: String,
    pub account_id: String,
    pub status: OrderStatus,
    pub identifiers: Vec<Identifier>,
    pub authorizations: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub expires: OffsetDateTime,
    #[serde(default)]
    pub certificate_id: Option<String>,
    #[serde(default)]
    pub error: Option<Value>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// Authorization status (RFC 8555 §7.1.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AuthzStatus {
    Pending,
    Valid,
    Invalid,
    Deactivated,
    Expired,
    Revoked,
}

/// Challenge status (RFC 8555 §7.1.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ChallengeStatus {
    Pending,
    Processing,
    Valid,
    Invalid,
}

/// The `http-01` challenge of an authorization (RFC 8555 §8.3).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChallengeRecord {
    pub token: String,
    pub status: ChallengeStatus,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub validated: Option<OffsetDateTime>,
    #[serde(default)]
    pub error: Option<Value>,
}

/// An authorization (RFC 8555 §7.1.4) for one identifier of one order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthzRecord {
    pub id: String,
    pub authority_id: String,
    pub account_id: String,
    pub order_id: String,
    pub identifier: Identifier,
    pub status: AuthzStatus,
    #[serde(with = "time::serde::rfc3339")]
    pub expires: OffsetDateTime,
    pub challenge: ChallengeRecord,
}

impl AuthzRecord {
    /// The status at `now`: a pending one past its expiry is `expired`.
    pub fn status_at(&self, now: OffsetDateTime) -> AuthzStatus {
        match self.status {
            AuthzStatus::Pending | AuthzStatus::Valid if self.expires <= now => AuthzStatus::Expired,
            other => other,
        }
    }
}

/// A fresh item holding `data`, indexed under `gsi1` when given.
pub(crate) fn item<T: Serialize>(pk: String, sk: &str, gsi1: Option<(String, String)>, data: &T) -> Result<Item> {
    let mut item = Item::new(pk, sk, serde_json::to_value(data).map_err(Error::internal)?);
    item.gsi1 = gsi1.map(|(pk, sk)| IndexKey { pk, sk });
    Ok(item)
}

/// The record an item holds.
pub(crate) fn decode<T: DeserializeOwned>(item: &Item) -> Result<T> {
    serde_json::from_value(item.data.clone()).map_err(|e| Error::internal(format!("corrupt record {}/{}: {e}", item.pk, item.sk)))
}
