//! `newOrder` (RFC 8555 §7.4), orders, authorizations (§7.5) and challenges (§7.5.1).

use crate::server::{path_id, Server, Signed};
use crate::{views, Validation};
use axum::extract::Path;
use axum::response::Response;
use http::StatusCode;
use trustplane_core::Result;

/// `POST /acme/{authorityId}/new-order` → 201 with the order and its `Location`.
pub async fn new_order(server: Server, Signed(jws): Signed) -> Result<Response> {
    let view = server.acme.new_order(&server.urls, &server.url, &jws).await?;
    Ok(views::answer(StatusCode::CREATED, Some(server.urls.order(&view.order.id)), views::order(&server.urls, &view)))
}

/// `POST /acme/{authorityId}/order/{id}` (POST-as-GET); `Retry-After` while pending.
pub async fn order(server: Server, Path((_, raw)): Path<(String, String)>, Signed(jws): Signed) -> Result<Response> {
    let id = path_id("order", &raw)?;
    let view = server.acme.order(&server.urls, &server.url, &jws, id.as_str()).await?;
    let pending = views::order_pending(&view);
    Ok(views::poll_later(views::answer(StatusCode::OK, None, views::order(&server.urls, &view)), pending))
}

/// `POST /acme/{authorityId}/order/{id}/finalize` `{"csr"}` → 200 with the valid order.
pub async fn finalize(server: Server, Path((_, raw)): Path<(String, String)>, Signed(jws): Signed) -> Result<Response> {
    let id = path_id("order", &raw)?;
    let view = server.acme.finalize(&server.urls, &server.url, &jws, id.as_str()).await?;
    Ok(views::answer(StatusCode::OK, Some(server.urls.order(&view.order.id)), views::order(&server.urls, &view)))
}

/// `POST /acme/{authorityId}/authz/{id}`: read (POST-as-GET) or deactivate.
pub async fn authz(server: Server, Path((_, raw)): Path<(String, String)>, Signed(jws): Signed) -> Result<Response> {
    let id = path_id("authorization", &raw)?;
    let authz = server.acme.authz(&server.urls, &server.url, &jws, id.as_str()).await?;
    let pending = views::authz_pending(&authz);
    Ok(views::poll_later(views::answer(StatusCode::OK, None, views::authz(&server.urls, &authz)), pending))
}

/// `POST /acme/{authorityId}/chall/{authzId}`: `{}` starts the `http-01` validation, which
/// runs in the background (`serve`) or before this answer (Lambda).
pub async fn challenge(server: Server, Path((_, raw)): Path<(String, String)>, Signed(jws): Signed) -> Result<Response> {
    let id = path_id("challenge", &raw)?;
    let (mut authz, started) = server.acme.respond_to_challenge(&server.urls, &server.url, &jws, id.as_str()).await?;
    match (started, server.validation) {
        (true, Validation::Inline) => authz = server.acme.validate_challenge(&authz.id).await?,
        (true, Validation::Background) => {
            let (acme, id) = (server.acme.clone(), authz.id.clone());
            tokio::spawn(async move {
                if let Err(e) = acme.validate_challenge(&id).await {
                    tracing::error!(authz_id = %id, error = %e, "http-01 validation could not be recorded");
                }
            });
        }
        (false, _) => {}
    }
    let answer = views::answer(StatusCode::OK, None, views::challenge(&server.urls, &authz));
    let pending = views::authz_pending(&authz);
    Ok(views::poll_later(views::link_up(answer, &server.urls.authz(&authz.id)), pending))
}
