//! The OCSP responder of every authority (RFC 6960 Appendix A): public, as relying parties
//! ask it without credentials. Answers are `application/ocsp-response`, unsuccessful ones too
//! (`malformedRequest`, `unauthorized` for an unknown authority).

use crate::PkiService;
use axum::body::Bytes;
use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use http::header;
use trustplane_core::domain::EntityId;
use trustplane_core::pki::ocsp::{failure_response, Failure};
use trustplane_core::Result;

/// The largest request accepted (one request for a handful of certificates is ~100 bytes).
const MAX_REQUEST_BYTES: usize = 4096;

fn answer(der: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "application/ocsp-response"), (header::CACHE_CONTROL, "max-age=60, public")], der).into_response()
}

/// `POST /ocsp/{authorityId}` with a DER `OCSPRequest` body (A.1.1).
#[utoipa::path(post, path = "/ocsp/{id}", tag = "pki-api", params(("id" = String, Path, description = "The authority's id")), request_body(content = Vec<u8>, content_type = "application/ocsp-request"), responses(
    (status = 200, description = "An OCSPResponse, unsuccessful ones too", content_type = "application/ocsp-response", body = Vec<u8>),
))]
pub async fn post(PkiService(pki): PkiService, Path(raw): Path<String>, body: Bytes) -> Result<Response> {
    respond(pki, &raw, &body).await
}

/// `GET /ocsp/{authorityId}/{request}`: the DER `OCSPRequest`, base64 then URL-encoded (A.1.1).
#[utoipa::path(get, path = "/ocsp/{id}/{request}", tag = "pki-api", params(("id" = String, Path, description = "The authority's id"), ("request" = String, Path, description = "The DER OCSPRequest, base64 then URL-encoded")), responses(
    (status = 200, description = "An OCSPResponse, unsuccessful ones too", content_type = "application/ocsp-response", body = Vec<u8>),
))]
pub async fn get(PkiService(pki): PkiService, Path((raw, encoded)): Path<(String, String)>) -> Result<Response> {
    match base64::engine::general_purpose::STANDARD.decode(encoded.trim()) {
        Ok(der) => respond(pki, &raw, &der).await,
        Err(_) => Ok(answer(failure_response(Failure::MalformedRequest))),
    }
}

async fn respond(pki: trustplane_core::services::pki::Pki, raw: &str, der: &[u8]) -> Result<Response> {
    if der.len() > MAX_REQUEST_BYTES {
        return Ok(answer(failure_response(Failure::MalformedRequest)));
    }
    let Ok(id) = EntityId::in_path("authority", raw) else { return Ok(answer(failure_response(Failure::Unauthorized))) };
    Ok(answer(pki.ocsp(id.as_str(), der).await?))
}
