//! ACME resources as JSON (RFC 8555 §7.1), with this server's URLs, and the answers that
//! carry them (`Location`, `Link: rel="up"`, `Retry-After`).

use axum::response::{IntoResponse, Response};
use http::{header, HeaderValue, StatusCode};
use serde_json::{json, Value};
use trustplane_core::clock::rfc3339;
use trustplane_core::services::acme::{AccountRecord, AuthzRecord, ChallengeStatus, EabKeyRecord, OrderStatus, OrderView, Urls};

/// Seconds a client is told to wait before polling a pending resource again (§7.5.1, §7.4).
const POLL_AFTER_SECONDS: u64 = 1;

/// The directory (RFC 8555 §7.1.1).
pub fn directory(urls: &Urls, eab_required: bool) -> Value {
    json!({
        "newNonce": urls.new_nonce(),
        "newAccount": urls.new_account(),
        "newOrder": urls.new_order(),
        "revokeCert": urls.revoke_cert(),
        "keyChange": urls.key_change(),
        "renewalInfo": urls.renewal_info(),
        "meta": { "externalAccountRequired": eab_required },
    })
}

/// An account object (§7.1.2).
pub fn account(urls: &Urls, account: &AccountRecord) -> Value {
    json!({ "status": account.status, "contact": account.contact, "orders": urls.orders(&account.id) })
}

/// An order object (§7.1.3).
pub fn order(urls: &Urls, view: &OrderView) -> Value {
    let order = &view.order;
    let mut body = json!({
        "status": view.status,
        "expires": rfc3339(order.expires),
        "identifiers": order.identifiers,
        "authorizations": order.authorizations.iter().map(|id| urls.authz(id)).collect::<Vec<_>>(),
        "finalize": urls.finalize(&order.id),
    });
    if let Some(cert) = &order.certificate_id {
        body["certificate"] = json!(urls.certificate(cert));
    }
    if let Some(error) = &order.error {
        body["error"] = error.clone();
    }
    body
}

/// The `http-01` challenge object of an authorization (§7.1.5, §8.3).
pub fn challenge(urls: &Urls, authz: &AuthzRecord) -> Value {
    let challenge = &authz.challenge;
    let mut body = json!({ "type": "http-01", "url": urls.challenge(&authz.id), "status": challenge.status, "token": challenge.token });
    if let Some(validated) = challenge.validated {
        body["validated"] = json!(rfc3339(validated));
    }
    if let Some(error) = &challenge.error {
        body["error"] = error.clone();
    }
    body
}

/// An authorization object (§7.1.4).
pub fn authz(urls: &Urls, authz: &AuthzRecord) -> Value {
    json!({
        "identifier": authz.identifier,
        "status": authz.status_at(trustplane_core::clock::now()),
        "expires": rfc3339(authz.expires),
        "challenges": [challenge(urls, authz)],
    })
}

/// An EAB key as the admin routes show it; `hmac_key` only when just minted.
pub fn eab_key(urls: &Urls, key: &EabKeyRecord, hmac_key: Option<&str>) -> Value {
    let mut body = json!({
        "keyId": key.key_id,
        "authorityId": key.authority_id,
        "name": key.name,
        "status": key.status,
        "boundAccount": key.bound_account_id.as_deref().map(|id| urls.account(id)),
        "directoryUrl": urls.directory(),
        "createdAt": rfc3339(key.created_at),
    });
    if let Some(secret) = hmac_key {
        body["hmacKey"] = json!(secret);
    }
    body
}

/// `status` with the resource as JSON, and `Location` when given.
pub fn answer(status: StatusCode, location: Option<String>, body: Value) -> Response {
    let mut response = (status, axum::Json(body)).into_response();
    if let Some(location) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// Adds `Retry-After` (§8.2) when `pending` is true.
pub fn poll_later(mut response: Response, pending: bool) -> Response {
    if pending {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(POLL_AFTER_SECONDS));
    }
    response
}

/// True while a client polling the order should come back later.
pub fn order_pending(view: &OrderView) -> bool {
    matches!(view.status, OrderStatus::Pending | OrderStatus::Processing)
}

/// True while the authorization's validation runs.
pub fn authz_pending(authz: &AuthzRecord) -> bool {
    authz.challenge.status == ChallengeStatus::Processing
}

/// Adds `Link: <up>;rel="up"` (§7.5.1: a challenge links its authorization).
pub fn link_up(mut response: Response, up: &str) -> Response {
    if let Ok(link) = HeaderValue::from_str(&format!("<{up}>;rel=\"up\"")) {
        response.headers_mut().append(header::LINK, link);
    }
    response
}
