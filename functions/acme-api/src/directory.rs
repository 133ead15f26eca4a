//! The directory (RFC 8555 §7.1.1) and `newNonce` (§7.2); the nonce itself is added to every
//! answer by [`crate::envelope`].

use crate::openapi::AuthorityPath;
use crate::server::Server;
use crate::views::{self, Directory};
use http::StatusCode;
use trustplane_core::Result;

/// `GET /acme/{authorityId}/directory` (public).
#[utoipa::path(get, path = "/acme/{authorityId}/directory", tag = "acme-api", params(AuthorityPath), responses(
    (status = 200, description = "The directory: where each ACME resource is", body = Directory),
    (status = 404, description = "malformed: no such ACME server"),
))]
pub async fn directory(server: Server) -> Result<axum::Json<Directory>> {
    server.acme.authority(server.urls.authority_id()).await?;
    let policy = server.acme.policy(server.urls.authority_id()).await?;
    Ok(axum::Json(views::directory(&server.urls, policy.eab_required)))
}

/// `HEAD /acme/{authorityId}/new-nonce` → 200 (§7.2).
#[utoipa::path(head, path = "/acme/{authorityId}/new-nonce", tag = "acme-api", params(AuthorityPath), responses(
    (status = 200, description = "A fresh nonce, in Replay-Nonce"),
    (status = 404, description = "malformed: no such ACME server"),
))]
pub async fn nonce_head(server: Server) -> Result<StatusCode> {
    server.acme.authority(server.urls.authority_id()).await?;
    Ok(StatusCode::OK)
}

/// `GET /acme/{authorityId}/new-nonce` → 204 (§7.2).
#[utoipa::path(get, path = "/acme/{authorityId}/new-nonce", tag = "acme-api", params(AuthorityPath), responses(
    (status = 204, description = "A fresh nonce, in Replay-Nonce"),
    (status = 404, description = "malformed: no such ACME server"),
))]
pub async fn nonce_get(server: Server) -> Result<StatusCode> {
    server.acme.authority(server.urls.authority_id()).await?;
    Ok(StatusCode::NO_CONTENT)
}
