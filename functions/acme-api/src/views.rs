//! ACME resources as JSON (RFC 8555 §7.1), with this server's URLs, and the answers that
//! carry them (`Location`, `Link: rel="up"`, `Retry-After`). The types are also the
//! OpenAPI document's schemas ([`crate::openapi`]).

use axum::response::{IntoResponse, Response};
use http::{header, HeaderValue, StatusCode};
use serde::Serialize;
use serde_json::Value;
use trustplane_core::clock::rfc3339;
use trustplane_core::http::openapi::AcmeProblem;
use trustplane_core::services::acme::{AccountRecord, AccountStatus, AuthzRecord, AuthzStatus, ChallengeStatus, Identifier, OrderStatus, OrderView, Urls};
use utoipa::ToSchema;

/// Seconds a client is told to wait before polling a pending resource again (§7.5.1, §7.4).
const POLL_AFTER_SECONDS: u64 = 1;

/// The directory (RFC 8555 §7.1.1), with `renewalInfo` (RFC 9773 §4.1).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Directory {
    pub new_nonce: String,
    pub new_account: String,
    pub new_order: String,
    pub revoke_cert: String,
    pub key_change: String,
    pub renewal_info: String,
    pub meta: DirectoryMeta,
}

/// The directory's `meta` (RFC 8555 §7.1.1).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryMeta {
    /// New accounts need an external account binding (§7.3.4).
    pub external_account_required: bool,
}

/// An account (RFC 8555 §7.1.2).
#[derive(Serialize, ToSchema)]
pub struct Account {
    pub status: AccountStatus,
    /// `mailto:` URLs.
    pub contact: Vec<String>,
    /// The account's order list (§7.1.2.1).
    pub orders: String,
}

/// An account's order list (RFC 8555 §7.1.2.1).
#[derive(Serialize, ToSchema)]
pub struct OrderList {
    pub orders: Vec<String>,
}

/// An order (RFC 8555 §7.1.3).
#[derive(Serialize, ToSchema)]
pub struct Order {
    pub status: OrderStatus,
    /// RFC 3339.
    pub expires: String,
    pub identifiers: Vec<Identifier>,
    pub authorizations: Vec<String>,
    pub finalize: String,
    /// Once `valid`: where the chain is downloaded (§7.4.2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
    /// Why the order is `invalid`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<AcmeProblem>)]
    pub error: Option<Value>,
}

/// An `http-01` challenge (RFC 8555 §7.1.5, §8.3).
#[derive(Serialize, ToSchema)]
pub struct Challenge {
    /// `http-01`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub url: String,
    pub status: ChallengeStatus,
    pub token: String,
    /// RFC 3339, once `valid`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validated: Option<String>,
    /// Why the challenge is `invalid` (`connection`, `incorrectResponse`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<AcmeProblem>)]
    pub error: Option<Value>,
}

/// An authorization (RFC 8555 §7.1.4), with its one `http-01` challenge.
#[derive(Serialize, ToSchema)]
pub struct Authorization {
    pub identifier: Identifier,
    pub status: AuthzStatus,
    /// RFC 3339.
    pub expires: String,
    pub challenges: Vec<Challenge>,
}

/// The directory (RFC 8555 §7.1.1).
pub fn directory(urls: &Urls, eab_required: bool) -> Directory {
    Directory {
        new_nonce: urls.new_nonce(),
        new_account: urls.new_account(),
        new_order: urls.new_order(),
        revoke_cert: urls.revoke_cert(),
        key_change: urls.key_change(),
        renewal_info: urls.renewal_info(),
        meta: DirectoryMeta { external_account_required: eab_required },
    }
}

/// An account object (§7.1.2).
pub fn account(urls: &Urls, account: &AccountRecord) -> Account {
    Account { status: account.status, contact: account.contact.clone(), orders: urls.orders(&account.id) }
}

/// An order object (§7.1.3).
pub fn order(urls: &Urls, view: &OrderView) -> Order {
    let order = &view.order;
    Order {
        status: view.status,
        expires: rfc3339(order.expires),
        identifiers: order.identifiers.clone(),
        authorizations: order.authorizations.iter().map(|id| urls.authz(id)).collect(),
        finalize: urls.finalize(&order.id),
        certificate: order.certificate_id.as_deref().map(|cert| urls.certificate(cert)),
        error: order.error.clone(),
    }
}

/// The `http-01` challenge object of an authorization (§7.1.5, §8.3).
pub fn challenge(urls: &Urls, authz: &AuthzRecord) -> Challenge {
    let challenge = &authz.challenge;
    Challenge {
        kind: "http-01",
        url: urls.challenge(&authz.id),
        status: challenge.status,
        token: challenge.token.clone(),
        validated: challenge.validated.map(rfc3339),
        error: challenge.error.clone(),
    }
}

/// An authorization object (§7.1.4).
pub fn authz(urls: &Urls, authz: &AuthzRecord) -> Authorization {
    Authorization {
        identifier: authz.identifier.clone(),
        status: authz.status_at(trustplane_core::clock::now()),
        expires: rfc3339(authz.expires),
        challenges: vec![challenge(urls, authz)],
    }
}

/// `status` with the resource as JSON, and `Location` when given.
pub fn answer(status: StatusCode, location: Option<String>, body: impl Serialize) -> Response {
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
