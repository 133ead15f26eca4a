//! The directory (RFC 8555 §7.1.1) and `newNonce` (§7.2); the nonce itself is added to every
//! answer by [`crate::envelope`].

use crate::server::Server;
use crate::views;
use http::StatusCode;
use serde_json::Value;
use trustplane_core::Result;

/// `GET /acme/{authorityId}/directory` (public).
pub async fn directory(server: Server) -> Result<axum::Json<Value>> {
    server.acme.authority(server.urls.authority_id()).await?;
    let policy = server.acme.policy(server.urls.authority_id()).await?;
    Ok(axum::Json(views::directory(&server.urls, policy.eab_required)))
}

/// `HEAD /acme/{authorityId}/new-nonce` → 200 (§7.2).
pub async fn nonce_head(server: Server) -> Result<StatusCode> {
    server.acme.authority(server.urls.authority_id()).await?;
    Ok(StatusCode::OK)
}

/// `GET /acme/{authorityId}/new-nonce` → 204 (§7.2).
pub async fn nonce_get(server: Server) -> Result<StatusCode> {
    server.acme.authority(server.urls.authority_id()).await?;
    Ok(StatusCode::NO_CONTENT)
}
