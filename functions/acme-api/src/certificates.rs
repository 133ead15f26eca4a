//! Certificate download (RFC 8555 §7.4.2), `revokeCert` (§7.6) and renewal information
//! (RFC 9773).

use crate::server::{path_id, Server, Signed};
use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use http::{header, StatusCode};
use serde_json::json;
use trustplane_core::clock::rfc3339;
use trustplane_core::services::acme::RENEWAL_INFO_RETRY_SECONDS;
use trustplane_core::Result;

/// `POST /acme/{authorityId}/cert/{id}` (POST-as-GET) → the PEM chain,
/// `application/pem-certificate-chain`.
pub async fn certificate(server: Server, Path((_, raw)): Path<(String, String)>, Signed(jws): Signed) -> Result<Response> {
    let id = path_id("certificate", &raw)?;
    let chain = server.acme.certificate_chain(&server.urls, &server.url, &jws, id.as_str()).await?;
    Ok(([(header::CONTENT_TYPE, "application/pem-certificate-chain")], chain).into_response())
}

/// `POST /acme/{authorityId}/revoke-cert` `{"certificate", "reason"}` → 200; the issuer's CRL
/// follows as for every revocation.
pub async fn revoke(server: Server, Signed(jws): Signed) -> Result<StatusCode> {
    server.acme.revoke_certificate(&server.urls, &server.url, &jws).await?;
    Ok(StatusCode::OK)
}

/// `GET /acme/{authorityId}/renewal-info/{certID}` (public, RFC 9773 §4.2): the suggested
/// renewal window, with `Retry-After`.
pub async fn renewal_info(server: Server, Path((_, cert_id)): Path<(String, String)>) -> Result<Response> {
    let window = server.acme.renewal_info(server.urls.authority_id(), &cert_id).await?;
    let body = json!({ "suggestedWindow": { "start": rfc3339(window.start), "end": rfc3339(window.end) } });
    Ok(([(header::RETRY_AFTER, RENEWAL_INFO_RETRY_SECONDS.to_string())], axum::Json(body)).into_response())
}
