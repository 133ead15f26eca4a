//! Puppet's agent-facing CA v1 API (Puppet Server's `puppet-ca/v1` endpoints): text/plain PEM
//! bodies, 404 when absent, no API key except for withdrawing a request (Puppet Server allows
//! only `GET` and `PUT` of `certificate_request` unauthenticated).

use crate::Ca;
use axum::body::Bytes;
use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use http::{header, HeaderMap, StatusCode};
use trustplane_core::domain::{Certname, Scope};
use trustplane_core::http::{Caller, ClientCertificate};
use trustplane_core::{Error, Result};

/// The largest CSR accepted from an agent, PEM bytes (an RSA-4096 request is about 1.7 KiB).
pub const MAX_CSR_BYTES: usize = 8 * 1024;

fn text(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain")], body).into_response()
}

/// `PUT /puppet-ca/v1/certificate_request/{certname}`: stores the PEM CSR of the body as a
/// pending request (signed at once when `PUPPET_AUTOSIGN` matches). 400 when its signature
/// does not verify, its key is weak, its CN is not the certname, or the certname already has
/// a valid certificate or another pending request; 413 above [`MAX_CSR_BYTES`].
#[utoipa::path(put, path = "/puppet-ca/v1/certificate_request/{certname}", tag = "puppet-ca", params(crate::openapi::CertnamePath), request_body(content = String, content_type = "text/plain", description = "The PEM CSR"), responses(
    (status = 200, description = "Stored (or signed at once by autosign)", content_type = "text/plain", body = String),
    (status = 400, description = "Invalid CSR, or the certname has a valid certificate or another pending request"), (status = 413, description = "PAYLOAD_TOO_LARGE"),
))]
pub async fn submit(Ca(ca): Ca, Path(raw): Path<String>, body: Bytes) -> Result<Response> {
    let certname = Certname::parse(&raw)?;
    if body.len() > MAX_CSR_BYTES {
        return Err(Error::PayloadTooLarge);
    }
    let pem = std::str::from_utf8(&body).map_err(|_| Error::validation("the certificate request must be PEM text"))?;
    ca.submit(&certname, pem).await?;
    Ok(text(StatusCode::OK, String::new()))
}

/// `GET /puppet-ca/v1/certificate_request/{certname}`: the pending CSR, PEM; else 404.
#[utoipa::path(get, path = "/puppet-ca/v1/certificate_request/{certname}", tag = "puppet-ca", params(crate::openapi::CertnamePath), responses(
    (status = 200, description = "The pending CSR, PEM", content_type = "text/plain", body = String), (status = 400, description = "VALIDATION_FAILED: not a certname"), (status = 404, description = "CSR_NOT_FOUND"),
))]
pub async fn request(Ca(ca): Ca, Path(raw): Path<String>) -> Result<Response> {
    let certname = Certname::parse(&raw)?;
    Ok(text(StatusCode::OK, ca.pending_request(&certname).await?.csr))
}

/// `DELETE /puppet-ca/v1/certificate_request/{certname}` (`ca:reject` or `ca:admin`):
/// withdraws the pending CSR → 204; else 404; 401 without a known key, 403 without either scope.
#[utoipa::path(delete, path = "/puppet-ca/v1/certificate_request/{certname}", tag = "puppet-ca", params(crate::openapi::CertnamePath), security(("api_key" = [])), responses(
    (status = 204, description = "Withdrawn"), (status = 400, description = "VALIDATION_FAILED: not a certname"), (status = 401, description = "UNAUTHORIZED"), (status = 403, description = "PERMISSION_DENIED: neither `ca:reject` nor `ca:admin`"),
    (status = 404, description = "CSR_NOT_FOUND"),
))]
pub async fn withdraw(Ca(ca): Ca, caller: Caller, Path(raw): Path<String>) -> Result<StatusCode> {
    caller.require(Scope::CaReject).or_else(|_| caller.require(Scope::CaAdmin))?;
    let certname = Certname::parse(&raw)?;
    ca.delete_request(&certname, caller.key_id()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /puppet-ca/v1/certificate/{certname}`: the certname's newest certificate, PEM; else 404.
#[utoipa::path(get, path = "/puppet-ca/v1/certificate/{certname}", tag = "puppet-ca", params(crate::openapi::CertnamePath), responses(
    (status = 200, description = "The certname's newest certificate, PEM", content_type = "text/plain", body = String), (status = 400, description = "VALIDATION_FAILED: not a certname"), (status = 404, description = "CERT_NOT_FOUND"),
))]
pub async fn certificate(Ca(ca): Ca, Path(raw): Path<String>) -> Result<Response> {
    let certname = Certname::parse(&raw)?;
    Ok(text(StatusCode::OK, ca.certificate(&certname).await?.certificate_pem))
}

/// `GET /puppet-ca/v1/certificate/ca`: the CA certificate followed by its chain to the root.
#[utoipa::path(get, path = "/puppet-ca/v1/certificate/ca", tag = "puppet-ca", responses(
    (status = 200, description = "The CA certificate and its chain to the root, PEM", content_type = "text/plain", body = String), (status = 503, description = "CA_UNAVAILABLE"),
))]
pub async fn ca_certificate(Ca(ca): Ca) -> Result<Response> {
    Ok(text(StatusCode::OK, ca.ca_chain_pem().await?))
}

/// `POST /puppet-ca/v1/certificate_renewal` (Puppet 8): a new certificate for the agent's
/// current one, same certname and key, presented as its TLS client certificate; PEM.
#[utoipa::path(post, path = "/puppet-ca/v1/certificate_renewal", tag = "puppet-ca", responses(
    (status = 200, description = "The renewed certificate, PEM", content_type = "text/plain", body = String),
    (status = 400, description = "VALIDATION_FAILED"), (status = 401, description = "UNAUTHORIZED: no client certificate"), (status = 403, description = "PERMISSION_DENIED"), (status = 404, description = "CERT_NOT_FOUND"),
))]
pub async fn renew(Ca(ca): Ca, ClientCertificate(presented): ClientCertificate) -> Result<Response> {
    Ok(text(StatusCode::OK, ca.renew_agent(presented.as_deref()).await?.certificate_pem))
}

/// `GET /puppet-ca/v1/certificate_revocation_list/ca`: the CA's CRL, then its ancestors', PEM,
/// with `Last-Modified`; 304 when `If-Modified-Since` (RFC 9110 §13.1.3) is not older than the
/// newest of them, as agents refreshing their CRLs ask.
#[utoipa::path(get, path = "/puppet-ca/v1/certificate_revocation_list/ca", tag = "puppet-ca", params(("If-Modified-Since" = Option<String>, Header, description = "An HTTP date (RFC 9110 §13.1.3)")), responses(
    (status = 200, description = "The CRLs of the chain, PEM, with Last-Modified", content_type = "text/plain", body = String),
    (status = 304, description = "Not modified since If-Modified-Since"), (status = 503, description = "CA_UNAVAILABLE"),
))]
pub async fn crl(Ca(ca): Ca, headers: HeaderMap) -> Result<Response> {
    let chain = ca.crl_chain().await?;
    let last_modified = std::time::SystemTime::from(chain.last_modified);
    let unchanged = headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v).ok())
        .is_some_and(|since| since >= last_modified);
    let stamp = [(header::LAST_MODIFIED, httpdate::fmt_http_date(last_modified))];
    if unchanged {
        return Ok((StatusCode::NOT_MODIFIED, stamp).into_response());
    }
    Ok((stamp, text(StatusCode::OK, chain.pem)).into_response())
}
