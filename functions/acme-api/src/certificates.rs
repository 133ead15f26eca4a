//! Certificate download (RFC 8555 §7.4.2), `revokeCert` (§7.6) and renewal information
//! (RFC 9773).

use crate::openapi::{AuthorityPath, Jws, ResourcePath};
use crate::server::{path_id, Server, Signed};
use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use http::{header, StatusCode};
use serde::Serialize;
use trustplane_core::clock::rfc3339;
use trustplane_core::services::acme::RENEWAL_INFO_RETRY_SECONDS;
use trustplane_core::Result;
use utoipa::ToSchema;

/// Renewal information (RFC 9773 §4.2).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RenewalInfo {
    pub suggested_window: SuggestedWindow,
}

/// When the certificate should be renewed (RFC 9773 §4.2); in the past once it is revoked.
#[derive(Serialize, ToSchema)]
pub struct SuggestedWindow {
    /// RFC 3339.
    pub start: String,
    /// RFC 3339.
    pub end: String,
}

/// `POST /acme/{authorityId}/cert/{id}` (POST-as-GET) → the PEM chain,
/// `application/pem-certificate-chain`.
#[utoipa::path(post, path = "/acme/{authorityId}/cert/{id}", tag = "acme-api", params(ResourcePath), request_body(content = Jws, content_type = "application/jose+json", description = "POST-as-GET by the account that ordered it (kid)"), responses(
    (status = 200, description = "The certificate then its issuing chain, without the root (RFC 8555 §9.1)", content_type = "application/pem-certificate-chain", body = String),
    (status = 400, description = "malformed, badNonce, badSignatureAlgorithm, accountDoesNotExist"),
    (status = 403, description = "unauthorized: a deactivated account, or a JWS url that is not this one"),
    (status = 404, description = "malformed: no such ACME server, or not a certificate of this account"),
    (status = 415, description = "malformed: not application/jose+json"),
))]
pub async fn certificate(server: Server, Path((_, raw)): Path<(String, String)>, Signed(jws): Signed) -> Result<Response> {
    let id = path_id("certificate", &raw)?;
    let chain = server.acme.certificate_chain(&server.urls, &server.url, &jws, id.as_str()).await?;
    Ok(([(header::CONTENT_TYPE, "application/pem-certificate-chain")], chain).into_response())
}

/// `POST /acme/{authorityId}/revoke-cert` `{"certificate", "reason"}` → 200; the issuer's CRL
/// follows as for every revocation.
#[utoipa::path(post, path = "/acme/{authorityId}/revoke-cert", tag = "acme-api", params(AuthorityPath), request_body(content = Jws, content_type = "application/jose+json", description = "Signed by the ordering account (kid) or the certificate's key (jwk); payload {certificate: base64url DER, reason}"), responses(
    (status = 200, description = "Revoked"),
    (status = 400, description = "malformed, badNonce, badSignatureAlgorithm, badPublicKey, badRevocationReason, alreadyRevoked, accountDoesNotExist"),
    (status = 403, description = "unauthorized: neither the ordering account nor the certificate's key, or a JWS url that is not this one"),
    (status = 404, description = "malformed: no such ACME server, or a certificate it did not issue"),
    (status = 415, description = "malformed: not application/jose+json"),
))]
pub async fn revoke(server: Server, Signed(jws): Signed) -> Result<StatusCode> {
    server.acme.revoke_certificate(&server.urls, &server.url, &jws).await?;
    Ok(StatusCode::OK)
}

/// `GET /acme/{authorityId}/renewal-info/{certID}` (public, RFC 9773 §4.2): the suggested
/// renewal window, with `Retry-After`.
#[utoipa::path(get, path = "/acme/{authorityId}/renewal-info/{certId}", tag = "acme-api", params(crate::openapi::RenewalInfoPath), responses(
    (status = 200, description = "The suggested renewal window", body = RenewalInfo, headers(("Retry-After" = u64, description = "Seconds until the window is worth asking for again"))),
    (status = 400, description = "malformed: not base64url(keyIdentifier).base64url(serial)"),
    (status = 404, description = "malformed: no such ACME server, or a certificate it did not issue"),
))]
pub async fn renewal_info(server: Server, Path((_, cert_id)): Path<(String, String)>) -> Result<Response> {
    let window = server.acme.renewal_info(server.urls.authority_id(), &cert_id).await?;
    let body = RenewalInfo { suggested_window: SuggestedWindow { start: rfc3339(window.start), end: rfc3339(window.end) } };
    Ok(([(header::RETRY_AFTER, RENEWAL_INFO_RETRY_SECONDS.to_string())], axum::Json(body)).into_response())
}
