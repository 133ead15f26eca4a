//! Seed 001's admin endpoints under `/api/v1/ca`, each: authorize → parse → one service
//! call → render.

use crate::params::{admin_channel, Params, CERTIFICATE_PARAMS, NAMED_CERTIFICATE_PARAMS, REQUEST_PARAMS};
use crate::{views, AdminScope, Authorized, Ca, ReadScope, RejectScope, RevokeScope, SignScope};
use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Response};
use axum::Json;
use http::StatusCode;
use serde::Deserialize;
use serde_json::Value;
use trustplane_core::domain::{Certname, ListedName};
use trustplane_core::http::render::Failure;
use trustplane_core::http::LenientJson;
use trustplane_core::services::pki::Channel;
use trustplane_core::services::puppet_ca::{Fingerprint, Pattern, TokenTtl};
use trustplane_core::{Error, Result};

type Pairs = Query<Vec<(String, String)>>;
/// An optional JSON body, read whatever the Content-Type (seed 001's clients send `curl -d`).
type Body<T> = Option<LenientJson<T>>;

/// Seed 001 sign body: `{"certname"}`, optional, equal to the path's when given; and
/// `{"fingerprint"}`, the pending CSR's expected SHA-256 fingerprint.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CaSignBody)]
pub struct SignBody {
    pub certname: Option<String>,
    pub fingerprint: Option<String>,
}

/// `POST /api/v1/ca/autosign-tokens` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CaTokenBody)]
pub struct TokenBody {
    pub certname_pattern: Option<String>,
    pub ttl_seconds: u64,
}

/// Seed 001 reject and revoke body: `{"reason"}`, optional.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CaReasonBody)]
pub struct ReasonBody {
    pub reason: Option<String>,
}

/// Seed 001 revoke body: `{"reason"}`, optional; and `{"channel"}`, the channel whose
/// certificates of the name are revoked, as the `channel` query parameter may name it.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CaRevokeBody)]
pub struct RevokeBody {
    pub reason: Option<String>,
    pub channel: Option<String>,
}

/// Seed 001 renew body: `{"backup": true}`; backing up is the default.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CaRenewBody)]
pub struct RenewBody {
    pub backup: Option<bool>,
}

/// `GET /api/v1/ca/status` (`ca:read`, seed 001 "CA Status Endpoint").
#[utoipa::path(get, path = "/api/v1/ca/status", tag = "ca-api", security(("api_key" = [])), responses(
    (status = 200, description = "The CA's state", body = crate::openapi::CaStatus), (status = 401, description = "UNAUTHORIZED: no known key"), (status = 403, description = "PERMISSION_DENIED: the key lacks the scope"),
))]
pub async fn status(Ca(ca): Ca, _: Authorized<ReadScope>) -> Result<Json<Value>> {
    Ok(Json(views::status(&ca.status().await?)))
}

/// `GET /api/v1/ca/requests` (`ca:read`, seed 001 "Certificate Requests Endpoints").
#[utoipa::path(get, path = "/api/v1/ca/requests", tag = "ca-api", params(crate::openapi::RequestParams), security(("api_key" = [])), responses(
    (status = 200, description = "A page of certificate requests", body = crate::openapi::RequestPage),
    (status = 400, description = "VALIDATION_FAILED: a repeated or invalid parameter"), (status = 401, description = "UNAUTHORIZED: no known key"), (status = 403, description = "PERMISSION_DENIED: the key lacks the scope"),
))]
pub async fn requests(Ca(ca): Ca, _: Authorized<ReadScope>, Query(pairs): Pairs) -> Result<Json<Value>> {
    let query = Params::new(pairs, REQUEST_PARAMS)?.request_query()?;
    let (page, total) = ca.requests(&query).await?;
    Ok(Json(views::page(page.iter().map(views::request).collect(), total, query.window)))
}

/// `POST /api/v1/ca/sign/{certname}` (`ca:sign`): 404 `CSR_NOT_FOUND`, 409
/// `CERT_ALREADY_SIGNED`, 503 `CA_UNAVAILABLE` (seed 001); 409 `FINGERPRINT_MISMATCH` when
/// the body names a fingerprint the pending CSR does not have.
#[utoipa::path(post, path = "/api/v1/ca/sign/{certname}", tag = "ca-api", params(crate::openapi::CertnamePath), request_body(content = Option<SignBody>, description = "Optional, JSON whatever the Content-Type"), security(("api_key" = [])), responses(
    (status = 200, description = "Signed", body = crate::openapi::Signed),
    (status = 400, description = "VALIDATION_FAILED"), (status = 401, description = "UNAUTHORIZED: no known key"), (status = 403, description = "PERMISSION_DENIED: the key lacks the scope"),
    (status = 404, description = "CSR_NOT_FOUND"), (status = 409, description = "CERT_ALREADY_SIGNED or FINGERPRINT_MISMATCH"), (status = 503, description = "CA_UNAVAILABLE"),
))]
pub async fn sign(Ca(ca): Ca, Authorized(caller, _): Authorized<SignScope>, Path(raw): Path<String>, body: Body<SignBody>) -> Result<Json<Value>> {
    let certname = Certname::parse(&raw)?;
    let body = body.map(|LenientJson(b)| b);
    if body.as_ref().and_then(|b| b.certname.as_deref()).is_some_and(|named| named != raw) {
        return Err(Error::validation("the body's certname differs from the path's"));
    }
    let expected = body.and_then(|b| b.fingerprint).map(|f| Fingerprint::parse(&f)).transpose()?;
    Ok(Json(views::signed(&ca.sign(&certname, expected.as_ref(), caller.key_id()).await?)?))
}

/// `POST /api/v1/ca/autosign-tokens` (`ca:sign`): a one-time challenge password for a CSR's
/// `challengePassword` attribute → 201 with the secret, shown only here.
#[utoipa::path(post, path = "/api/v1/ca/autosign-tokens", tag = "ca-api", request_body(content = TokenBody, description = "JSON whatever the Content-Type"), security(("api_key" = [])), responses(
    (status = 201, description = "The token, with its secret shown this once", body = crate::openapi::AutosignToken),
    (status = 400, description = "VALIDATION_FAILED"), (status = 401, description = "UNAUTHORIZED: no known key"), (status = 403, description = "PERMISSION_DENIED: the key lacks the scope"),
))]
pub async fn mint_token(Ca(ca): Ca, Authorized(caller, _): Authorized<SignScope>, LenientJson(body): LenientJson<TokenBody>) -> Result<(StatusCode, Json<Value>)> {
    let pattern = body.certname_pattern.map(|p| Pattern::parse("certname_pattern", &p)).transpose()?;
    let ttl = TokenTtl::new(body.ttl_seconds)?;
    let (token, secret) = ca.mint_autosign_token(pattern, ttl, caller.key_id()).await?;
    Ok((StatusCode::CREATED, Json(views::autosign_token(&token, &secret))))
}

/// `POST /api/v1/ca/reject/{certname}` (`ca:reject`): the request leaves the pending list,
/// its reason is kept (seed 001).
#[utoipa::path(post, path = "/api/v1/ca/reject/{certname}", tag = "ca-api", params(crate::openapi::CertnamePath), request_body(content = Option<ReasonBody>, description = "Optional, JSON whatever the Content-Type"), security(("api_key" = [])), responses(
    (status = 200, description = "Rejected", body = crate::openapi::Rejected),
    (status = 400, description = "VALIDATION_FAILED"), (status = 401, description = "UNAUTHORIZED: no known key"), (status = 403, description = "PERMISSION_DENIED: the key lacks the scope"), (status = 404, description = "CSR_NOT_FOUND"), (status = 409, description = "INVALID_OPERATION"),
))]
pub async fn reject(Ca(ca): Ca, Authorized(caller, _): Authorized<RejectScope>, Path(raw): Path<String>, body: Body<ReasonBody>) -> Result<Json<Value>> {
    let certname = Certname::parse(&raw)?;
    let reason = body.and_then(|LenientJson(b)| b.reason);
    Ok(Json(views::rejected(&ca.reject(&certname, reason, caller.key_id()).await?)))
}

/// `GET /api/v1/ca/certificates` (`ca:read`, seed 001 "Signed Certificates Endpoints"): every
/// channel's certificates, or `?channel=` (pki, agent or puppet) only.
#[utoipa::path(get, path = "/api/v1/ca/certificates", tag = "ca-api", params(crate::openapi::CertificateParams), security(("api_key" = [])), responses(
    (status = 200, description = "A page of certificates", body = crate::openapi::PuppetCertificatePage),
    (status = 400, description = "VALIDATION_FAILED: a repeated or invalid parameter"), (status = 401, description = "UNAUTHORIZED: no known key"), (status = 403, description = "PERMISSION_DENIED: the key lacks the scope"),
))]
pub async fn certificates(Ca(ca): Ca, _: Authorized<ReadScope>, Query(pairs): Pairs) -> Result<Json<Value>> {
    let params = Params::new(pairs, CERTIFICATE_PARAMS)?;
    let query = params.certificate_query()?;
    let (page, total) = ca.certificates_in(&query, params.channel()?).await?;
    let data = page.iter().map(views::certificate).collect::<Result<Vec<_>>>()?;
    Ok(Json(views::page(data, total, query.window)))
}

/// `GET /api/v1/ca/certificates/{certname}` (`ca:read`) by the name the certificate is
/// listed under, in `?channel=` when given: 404 `CERT_NOT_FOUND`, 409 `INVALID_OPERATION`
/// naming the channels when the name is in several and none was chosen.
#[utoipa::path(get, path = "/api/v1/ca/certificates/{certname}", tag = "ca-api", params(crate::openapi::ListedNamePath, crate::openapi::ChannelParam), security(("api_key" = [])), responses(
    (status = 200, description = "The certificate's details", body = crate::openapi::PuppetCertificateDetails),
    (status = 400, description = "VALIDATION_FAILED"), (status = 401, description = "UNAUTHORIZED: no known key"), (status = 403, description = "PERMISSION_DENIED: the key lacks the scope"), (status = 404, description = "CERT_NOT_FOUND"), (status = 409, description = "INVALID_OPERATION: the name is in several channels"),
))]
pub async fn certificate(Ca(ca): Ca, _: Authorized<ReadScope>, Path(raw): Path<String>, Query(pairs): Pairs) -> Result<Json<Value>> {
    let name = ListedName::parse(&raw)?;
    let channel = Params::new(pairs, NAMED_CERTIFICATE_PARAMS)?.channel()?;
    Ok(Json(views::details(&ca.certificate_details_in(&name, channel).await?)))
}

/// `DELETE /api/v1/ca/certificates/{certname}` (`ca:revoke`) by the name the certificate is
/// listed under, in the channel the query or the body names: 404 `CERT_NOT_FOUND`, 409
/// `CERT_ALREADY_REVOKED`, 409 `INVALID_OPERATION` naming the channels when the name is in
/// several and none was chosen; the CRL publication is queued (seed 001).
#[utoipa::path(delete, path = "/api/v1/ca/certificates/{certname}", tag = "ca-api", params(crate::openapi::ListedNamePath, crate::openapi::ChannelParam), request_body(content = Option<RevokeBody>, description = "Optional, JSON whatever the Content-Type"), security(("api_key" = [])), responses(
    (status = 200, description = "Revoked; the CRL publication is queued", body = crate::openapi::PuppetRevoked),
    (status = 400, description = "VALIDATION_FAILED"), (status = 401, description = "UNAUTHORIZED: no known key"), (status = 403, description = "PERMISSION_DENIED: the key lacks the scope"), (status = 404, description = "CERT_NOT_FOUND"),
    (status = 409, description = "CERT_ALREADY_REVOKED, or INVALID_OPERATION: the name is in several channels"),
))]
pub async fn revoke(Ca(ca): Ca, Authorized(caller, _): Authorized<RevokeScope>, Path(raw): Path<String>, Query(pairs): Pairs, body: Body<RevokeBody>) -> Result<Json<Value>> {
    let name = ListedName::parse(&raw)?;
    let queried = Params::new(pairs, NAMED_CERTIFICATE_PARAMS)?.channel()?;
    let body = body.map(|LenientJson(b)| b);
    let (reason, named) = body.map_or((None, None), |b| (b.reason, b.channel));
    let channel = one_channel(queried, named.as_deref().map(admin_channel).transpose()?)?;
    Ok(Json(views::revoked(&ca.revoke_in(&name, channel, reason, caller.key_id()).await?)))
}

/// The channel named by the query, the body or both alike; 400 when they differ.
fn one_channel(queried: Option<Channel>, named: Option<Channel>) -> Result<Option<Channel>> {
    match (queried, named) {
        (Some(q), Some(n)) if q != n => Err(Error::validation("the body's channel differs from the query's")),
        (q, n) => Ok(q.or(n)),
    }
}

/// `POST /api/v1/ca/renew` (`ca:admin`): same key and subject, fresh validity; 503
/// `CA_UNAVAILABLE`; any other failure 500 "Renewal failed (check logs)" (seed 001 "CA
/// Renewal Endpoint").
#[utoipa::path(post, path = "/api/v1/ca/renew", tag = "ca-api", request_body(content = Option<RenewBody>, description = "Optional, JSON whatever the Content-Type"), security(("api_key" = [])), responses(
    (status = 200, description = "Renewed", body = crate::openapi::Renewed),
    (status = 400, description = "VALIDATION_FAILED"), (status = 401, description = "UNAUTHORIZED: no known key"), (status = 403, description = "PERMISSION_DENIED: the key lacks the scope"), (status = 500, description = "Renewal failed (check logs)"), (status = 503, description = "CA_UNAVAILABLE"),
))]
pub async fn renew(Ca(ca): Ca, Authorized(caller, _): Authorized<AdminScope>, body: Body<RenewBody>) -> Response {
    let backup = body.and_then(|LenientJson(b)| b.backup).unwrap_or(true);
    match ca.renew(backup, caller.key_id()).await.and_then(|r| views::renewed(&r)) {
        Ok(view) => Json(view).into_response(),
        Err(e) if e.status() == StatusCode::INTERNAL_SERVER_ERROR => renewal_failed(e),
        Err(e) => e.into_response(),
    }
}

/// `e` rendered with seed 001's renewal failure message; the cause is logged.
fn renewal_failed(e: Error) -> Response {
    let mut response = e.into_response();
    if let Some(failure) = response.extensions_mut().get_mut::<Failure>() {
        failure.message = "Renewal failed (check logs)".into();
    }
    response
}
