//! Puppet's agent-facing CA v1 API (Puppet Server's `puppet-ca/v1` endpoints): text/plain PEM
//! bodies, 404 when absent, no API key.

use crate::Ca;
use axum::body::Bytes;
use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use http::{header, StatusCode};
use trustplane_core::domain::Certname;
use trustplane_core::{Error, Result};

fn text(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain")], body).into_response()
}

/// `PUT /puppet-ca/v1/certificate_request/{certname}`: stores the PEM CSR of the body as a
/// pending request (signed at once when `PUPPET_AUTOSIGN` matches). 400 when its signature
/// does not verify, its key is weak, its CN is not the certname, or the certname already has
/// a valid certificate or another pending request.
pub async fn submit(Ca(ca): Ca, Path(raw): Path<String>, body: Bytes) -> Result<Response> {
    let certname = Certname::parse(&raw)?;
    let pem = std::str::from_utf8(&body).map_err(|_| Error::validation("the certificate request must be PEM text"))?;
    ca.submit(&certname, pem).await?;
    Ok(text(StatusCode::OK, String::new()))
}

/// `GET /puppet-ca/v1/certificate_request/{certname}`: the pending CSR, PEM; else 404.
pub async fn request(Ca(ca): Ca, Path(raw): Path<String>) -> Result<Response> {
    let certname = Certname::parse(&raw)?;
    Ok(text(StatusCode::OK, ca.pending_request(&certname).await?.csr))
}

/// `DELETE /puppet-ca/v1/certificate_request/{certname}`: withdraws the pending CSR → 204;
/// else 404.
pub async fn withdraw(Ca(ca): Ca, Path(raw): Path<String>) -> Result<StatusCode> {
    let certname = Certname::parse(&raw)?;
    ca.delete_request(&certname).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /puppet-ca/v1/certificate/{certname}`: the certname's newest certificate, PEM; else 404.
pub async fn certificate(Ca(ca): Ca, Path(raw): Path<String>) -> Result<Response> {
    let certname = Certname::parse(&raw)?;
    Ok(text(StatusCode::OK, ca.certificate(&certname).await?.certificate_pem))
}

/// `GET /puppet-ca/v1/certificate/ca`: the CA certificate followed by its chain to the root.
pub async fn ca_certificate(Ca(ca): Ca) -> Result<Response> {
    Ok(text(StatusCode::OK, ca.ca_chain_pem().await?))
}

/// `GET /puppet-ca/v1/certificate_revocation_list/ca`: the CA's CRL, then its ancestors', PEM.
pub async fn crl(Ca(ca): Ca) -> Result<Response> {
    Ok(text(StatusCode::OK, ca.crl_chain_pem().await?))
}
