//! Orders and authorizations (RFC 8555 §7.4, §7.5). An order's DNS names are checked
//! against the authority's issuance policy and name constraints when it is placed
//! (`rejectedIdentifier`), so a client learns before any validation what will be refused.
//! Each name gets its own authorization with one `http-01` challenge; an order's `pending`,
//! `ready` and expiry are derived from them when read (§7.1.6).

use super::problem::{not_found, problem, ProblemType};
use super::records::{decode, item, AuthzRecord, AuthzStatus, ChallengeRecord, ChallengeStatus, Identifier, OrderRecord, OrderStatus};
use super::{Acme, SignedRequest, Urls};
use crate::error::{Error, Result};
use crate::pki::leaf::Template;
use crate::pki::DnsName;
use crate::ports::{Condition, Index, Item, Query, SkRange, Write};
use crate::services::pki::AuthorityRecord;
use serde::Deserialize;
use time::{Duration, OffsetDateTime};

/// Most identifiers one order may name.
const MAX_IDENTIFIERS: usize = 50;
/// How long an order and its authorizations may be worked on.
const ORDER_LIFETIME: Duration = Duration::days(7);
/// How long finished orders and authorizations are kept after they expire.
const KEPT_AFTER_EXPIRY: Duration = Duration::days(30);
/// Most orders an account's order list shows.
const MAX_LISTED_ORDERS: u32 = 100;

/// The newOrder payload (RFC 8555 §7.4).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewOrder {
    identifiers: Vec<Identifier>,
    not_before: Option<String>,
    not_after: Option<String>,
}

/// An authorization update (RFC 8555 §7.5.2).
#[derive(Debug, Deserialize)]
struct AuthzUpdate {
    status: Option<String>,
}

/// An order as a client sees it: the record and its current status.
#[derive(Clone, Debug)]
pub struct OrderView {
    pub order: OrderRecord,
    pub status: OrderStatus,
}

pub(crate) fn order_key(id: &str) -> String {
    format!("ACMEORDER#{id}")
}

pub(crate) fn authz_key(id: &str) -> String {
    format!("ACMEAUTHZ#{id}")
}

/// The DNS names of `identifiers`, deduplicated: `unsupportedIdentifier` for other types,
/// `rejectedIdentifier` for names that are not DNS names or are wildcards (which `http-01`
/// cannot prove, RFC 8555 §7.1.3).
fn dns_names(identifiers: &[Identifier]) -> Result<Vec<DnsName>> {
    if identifiers.is_empty() || identifiers.len() > MAX_IDENTIFIERS {
        return Err(problem(ProblemType::Malformed, format!("an order names 1 to {MAX_IDENTIFIERS} identifiers")));
    }
    let mut names: Vec<DnsName> = Vec::new();
    for identifier in identifiers {
        if identifier.kind != "dns" {
            return Err(problem(ProblemType::UnsupportedIdentifier, format!("identifier type {} is not supported (only dns)", crate::error::echo(&identifier.kind))));
        }
        let name = DnsName::parse(&identifier.value).map_err(|e| problem(ProblemType::RejectedIdentifier, e.public_message()))?;
        if name.as_str().starts_with("*.") || identifier.value.trim() != identifier.value {
            return Err(problem(ProblemType::RejectedIdentifier, format!("{} cannot be validated with http-01", crate::error::echo(&identifier.value))));
        }
        if !names.contains(&name) {
            names.push(name);
        }
    }
    Ok(names)
}

/// Refuses, as `rejectedIdentifier`, names the authority's policy or name constraints refuse.
pub(crate) fn check_policy(authority: &AuthorityRecord, names: &[DnsName], validity: Duration) -> Result<()> {
    let checked = crate::services::pki::check_leaf(authority, Template::TlsServer, names, validity)
        .and_then(|()| crate::services::pki::check_names(authority, names, &[], None));
    checked.map_err(|e| match e {
        Error::Unprocessable(detail) => problem(ProblemType::RejectedIdentifier, detail),
        Error::Conflict(detail) => problem(ProblemType::Unauthorized, detail),
        other => other,
    })
}

/// An order's status from its authorizations (RFC 8555 §7.1.6).
fn derive(order: &OrderRecord, authzs: &[AuthzRecord], now: OffsetDateTime) -> OrderStatus {
    match order.status {
        OrderStatus::Valid | OrderStatus::Invalid | OrderStatus::Processing => return order.status,
        OrderStatus::Pending | OrderStatus::Ready => {}
    }
    let statuses: Vec<AuthzStatus> = authzs.iter().map(|a| a.status_at(now)).collect();
    if order.expires <= now || statuses.iter().any(|s| !matches!(s, AuthzStatus::Pending | AuthzStatus::Valid)) {
        OrderStatus::Invalid
    } else if statuses.iter().all(|s| *s == AuthzStatus::Valid) {
        OrderStatus::Ready
    } else {
        OrderStatus::Pending
    }
}

impl Acme {
    /// newOrder: an order for the payload's DNS names, each with a pending authorization.
    pub async fn new_order(&self, urls: &Urls, url: &str, jws: &SignedRequest) -> Result<OrderView> {
        let authority = self.authority(urls.authority_id()).await?;
        let account = self.authenticate(urls, url, jws).await?.account()?;
        let payload: NewOrder = jws.payload()?;
        if payload.not_before.is_some() || payload.not_after.is_some() {
            return Err(problem(ProblemType::Malformed, "notBefore and notAfter are not supported: the authority's ACME validity applies"));
        }
        let names = dns_names(&payload.identifiers)?;
        check_policy(&authority, &names, self.validity(&authority).await?)?;
        let now = crate::clock::now();
        let (order_id, expires) = (crate::services::pki::new_id(), now + ORDER_LIFETIME);
        let authzs: Vec<AuthzRecord> = names
            .iter()
            .map(|name| AuthzRecord {
                id: crate::services::pki::new_id(),
                authority_id: authority.id.clone(),
                account_id: account.id.clone(),
                order_id: order_id.clone(),
                identifier: Identifier { kind: "dns".into(), value: name.as_str().to_owned() },
                status: AuthzStatus::Pending,
                expires,
                challenge: ChallengeRecord { token: super::random_b64(32), status: ChallengeStatus::Pending, validated: None, error: None },
            })
            .collect();
        let order = OrderRecord {
            id: order_id,
            authority_id: authority.id.clone(),
            account_id: account.id.clone(),
            status: OrderStatus::Pending,
            identifiers: authzs.iter().map(|a| a.identifier.clone()).collect(),
            authorizations: authzs.iter().map(|a| a.id.clone()).collect(),
            expires,
            certificate_id: None,
            error: None,
            created_at: now,
        };
        let mut writes = vec![Write::Put { item: self.order_item(&order, None)?, condition: Condition::Absent }];
        for authz in &authzs {
            writes.push(Write::Put { item: self.authz_item(authz, None)?, condition: Condition::Absent });
        }
        self.ports.store.transact(writes).await?;
        Ok(OrderView { order, status: OrderStatus::Pending })
    }

    /// The store item of `order`, replacing `previous` (its version + 1) when given.
    pub(crate) fn order_item(&self, order: &OrderRecord, previous: Option<&Item>) -> Result<Item> {
        let mut stored = item(order_key(&order.id), "ORDER", Some((format!("ACMEORDERS#{}", order.account_id), order.id.clone())), order)?;
        stored.expires_at = Some((order.expires + KEPT_AFTER_EXPIRY).unix_timestamp());
        stored.version = previous.map_or(1, |p| p.version + 1);
        Ok(stored)
    }

    pub(crate) fn authz_item(&self, authz: &AuthzRecord, previous: Option<&Item>) -> Result<Item> {
        let mut stored = item(authz_key(&authz.id), "AUTHZ", None, authz)?;
        stored.expires_at = Some((authz.expires + KEPT_AFTER_EXPIRY).unix_timestamp());
        stored.version = previous.map_or(1, |p| p.version + 1);
        Ok(stored)
    }

    /// POST-as-GET of an order of the signing account.
    pub async fn order(&self, urls: &Urls, url: &str, jws: &SignedRequest, id: &str) -> Result<OrderView> {
        let account = self.authenticate(urls, url, jws).await?.account()?;
        let (order, _) = self.owned_order(&account.id, id).await?;
        self.order_view(order).await
    }

    /// The order `id` and its item, if the account placed it; else 404.
    pub(crate) async fn owned_order(&self, account_id: &str, id: &str) -> Result<(OrderRecord, Item)> {
        let stored = self.ports.store.get(&order_key(id), "ORDER").await?.ok_or_else(|| not_found("order"))?;
        let order: OrderRecord = decode(&stored)?;
        if order.account_id != account_id {
            return Err(not_found("order"));
        }
        Ok((order, stored))
    }

    pub(crate) async fn order_view(&self, order: OrderRecord) -> Result<OrderView> {
        let mut authzs = Vec::with_capacity(order.authorizations.len());
        for id in &order.authorizations {
            let stored = self.ports.store.get(&authz_key(id), "AUTHZ").await?.ok_or_else(|| Error::internal(format!("order {} names a missing authorization {id}", order.id)))?;
            authzs.push(decode(&stored)?);
        }
        let status = derive(&order, &authzs, crate::clock::now());
        Ok(OrderView { order, status })
    }

    /// The ids of the signing account's orders (RFC 8555 §7.1.2.1), oldest first.
    pub async fn account_orders(&self, urls: &Urls, url: &str, jws: &SignedRequest, account_id: &str) -> Result<Vec<String>> {
        let account = self.authenticate(urls, url, jws).await?.account()?;
        self.own_account_item(&account, account_id).await?;
        let query = Query { index: Index::Gsi1, pk: format!("ACMEORDERS#{account_id}"), range: SkRange::All, limit: MAX_LISTED_ORDERS, cursor: None, descending: false };
        Ok(self.ports.store.query(query).await?.items.into_iter().map(|i| i.gsi1.map(|g| g.sk).unwrap_or_default()).collect())
    }

    /// POST to an authorization: POST-as-GET reads it; `{"status": "deactivated"}`
    /// deactivates a pending or valid one (RFC 8555 §7.5.2).
    pub async fn authz(&self, urls: &Urls, url: &str, jws: &SignedRequest, id: &str) -> Result<AuthzRecord> {
        let account = self.authenticate(urls, url, jws).await?.account()?;
        let (authz, stored) = self.owned_authz(&account.id, id).await?;
        if jws.is_post_as_get() {
            return Ok(authz);
        }
        let update: AuthzUpdate = jws.payload()?;
        match (update.status.as_deref(), authz.status_at(crate::clock::now())) {
            (None, _) => Ok(authz),
            (Some("deactivated"), AuthzStatus::Pending | AuthzStatus::Valid) => {
                let authz = AuthzRecord { status: AuthzStatus::Deactivated, ..authz };
                self.ports.store.put(self.authz_item(&authz, Some(&stored))?, Condition::Version(stored.version)).await?;
                Ok(authz)
            }
            _ => Err(problem(ProblemType::Malformed, "only a pending or valid authorization may change, and only to deactivated")),
        }
    }

    /// The authorization `id` and its item, if the account's; else 404.
    pub(crate) async fn owned_authz(&self, account_id: &str, id: &str) -> Result<(AuthzRecord, Item)> {
        let stored = self.ports.store.get(&authz_key(id), "AUTHZ").await?.ok_or_else(|| not_found("authorization"))?;
        let authz: AuthzRecord = decode(&stored)?;
        if authz.account_id != account_id {
            return Err(not_found("authorization"));
        }
        Ok((authz, stored))
    }
}

#[cfg(test)]
#[path = "orders_tests.rs"]
mod tests;
