//! `newOrder` (RFC 8555 §7.4), orders, authorizations (§7.5) and challenges (§7.5.1).

use crate::openapi::{AuthorityPath, Jws, ResourcePath};
use crate::server::{path_id, Server, Signed};
use crate::views::{self, Authorization, Challenge, Order};
use axum::extract::Path;
use axum::response::Response;
use http::StatusCode;
use trustplane_core::Result;

/// `POST /acme/{authorityId}/new-order` → 201 with the order and its `Location`.
#[utoipa::path(post, path = "/acme/{authorityId}/new-order", tag = "acme-api", params(AuthorityPath), request_body(content = Jws, content_type = "application/jose+json", description = "Signed by the account (kid); payload {identifiers: [{type: dns, value}]}"), responses(
    (status = 201, description = "The order, pending its authorizations", body = Order, headers(("Location" = String, description = "The order URL"))),
    (status = 400, description = "malformed, badNonce, badSignatureAlgorithm, accountDoesNotExist, rejectedIdentifier (outside the authority's policy or name constraints), unsupportedIdentifier"),
    (status = 403, description = "unauthorized: a deactivated account, or a JWS url that is not this one"),
    (status = 404, description = "malformed: no such ACME server"),
    (status = 415, description = "malformed: not application/jose+json"),
))]
pub async fn new_order(server: Server, Signed(jws): Signed) -> Result<Response> {
    let view = server.acme.new_order(&server.urls, &server.url, &jws).await?;
    Ok(views::answer(StatusCode::CREATED, Some(server.urls.order(&view.order.id)), views::order(&server.urls, &view)))
}

/// `POST /acme/{authorityId}/order/{id}` (POST-as-GET); `Retry-After` while pending.
#[utoipa::path(post, path = "/acme/{authorityId}/order/{id}", tag = "acme-api", params(ResourcePath), request_body(content = Jws, content_type = "application/jose+json", description = "POST-as-GET by the account that placed it (kid)"), responses(
    (status = 200, description = "The order", body = Order, headers(("Retry-After" = u64, description = "While pending or processing: seconds before polling again"))),
    (status = 400, description = "malformed, badNonce, badSignatureAlgorithm, accountDoesNotExist"),
    (status = 403, description = "unauthorized: a deactivated account, or a JWS url that is not this one"),
    (status = 404, description = "malformed: no such ACME server, or not an order of this account"),
    (status = 415, description = "malformed: not application/jose+json"),
))]
pub async fn order(server: Server, Path((_, raw)): Path<(String, String)>, Signed(jws): Signed) -> Result<Response> {
    let id = path_id("order", &raw)?;
    let view = server.acme.order(&server.urls, &server.url, &jws, id.as_str()).await?;
    let pending = views::order_pending(&view);
    Ok(views::poll_later(views::answer(StatusCode::OK, None, views::order(&server.urls, &view)), pending))
}

/// `POST /acme/{authorityId}/order/{id}/finalize` `{"csr"}` → 200 with the valid order.
#[utoipa::path(post, path = "/acme/{authorityId}/order/{id}/finalize", tag = "acme-api", params(ResourcePath), request_body(content = Jws, content_type = "application/jose+json", description = "Signed by the account (kid); payload {csr: base64url DER} for exactly the order's names"), responses(
    (status = 200, description = "The order, valid, with its certificate URL", body = Order, headers(("Location" = String, description = "The order URL"))),
    (status = 400, description = "malformed, badNonce, badSignatureAlgorithm, accountDoesNotExist, badCSR, rejectedIdentifier"),
    (status = 403, description = "orderNotReady (not every authorization is valid, or finalized already); unauthorized"),
    (status = 404, description = "malformed: no such ACME server, or not an order of this account"),
    (status = 415, description = "malformed: not application/jose+json"),
))]
pub async fn finalize(server: Server, Path((_, raw)): Path<(String, String)>, Signed(jws): Signed) -> Result<Response> {
    let id = path_id("order", &raw)?;
    let view = server.acme.finalize(&server.urls, &server.url, &jws, id.as_str()).await?;
    Ok(views::answer(StatusCode::OK, Some(server.urls.order(&view.order.id)), views::order(&server.urls, &view)))
}

/// `POST /acme/{authorityId}/authz/{id}`: read (POST-as-GET) or deactivate.
#[utoipa::path(post, path = "/acme/{authorityId}/authz/{id}", tag = "acme-api", params(ResourcePath), request_body(content = Jws, content_type = "application/jose+json", description = "Signed by the account (kid); payload empty (POST-as-GET) or {status: deactivated}"), responses(
    (status = 200, description = "The authorization", body = Authorization, headers(("Retry-After" = u64, description = "While its challenge is processing: seconds before polling again"))),
    (status = 400, description = "malformed, badNonce, badSignatureAlgorithm, accountDoesNotExist"),
    (status = 403, description = "unauthorized: a deactivated account, or a JWS url that is not this one"),
    (status = 404, description = "malformed: no such ACME server, or not an authorization of this account"),
    (status = 409, description = "malformed: the authorization changed meanwhile; retry"),
    (status = 415, description = "malformed: not application/jose+json"),
))]
pub async fn authz(server: Server, Path((_, raw)): Path<(String, String)>, Signed(jws): Signed) -> Result<Response> {
    let id = path_id("authorization", &raw)?;
    let authz = server.acme.authz(&server.urls, &server.url, &jws, id.as_str()).await?;
    let pending = views::authz_pending(&authz);
    Ok(views::poll_later(views::answer(StatusCode::OK, None, views::authz(&server.urls, &authz)), pending))
}

/// `POST /acme/{authorityId}/chall/{authzId}`: `{}` asks for the `http-01` validation, which
/// is queued (RFC 8555 §7.5.1): the answer is the challenge, `processing` until a worker has
/// recorded the outcome on the authorization.
#[utoipa::path(post, path = "/acme/{authorityId}/chall/{id}", tag = "acme-api", params(ResourcePath), request_body(content = Jws, content_type = "application/jose+json", description = "Signed by the account (kid); payload {} to ask for validation, or empty (POST-as-GET)"), responses(
    (status = 200, description = "The challenge: processing once asked for", body = Challenge, headers(
        ("Link" = String, description = "<authorization URL>;rel=\"up\", with the directory's rel=\"index\""),
        ("Retry-After" = u64, description = "While processing: seconds before polling the authorization"),
    )),
    (status = 400, description = "malformed, badNonce, badSignatureAlgorithm, accountDoesNotExist"),
    (status = 403, description = "unauthorized: a deactivated account, or a JWS url that is not this one"),
    (status = 404, description = "malformed: no such ACME server, or not a challenge of this account"),
    (status = 415, description = "malformed: not application/jose+json"),
    (status = 503, description = "serverInternal: the validation could not be queued; the challenge is still pending, ask again"),
))]
pub async fn challenge(server: Server, Path((_, raw)): Path<(String, String)>, Signed(jws): Signed) -> Result<Response> {
    let id = path_id("challenge", &raw)?;
    let authz = server.acme.respond_to_challenge(&server.urls, &server.url, &jws, id.as_str()).await?;
    let answer = views::answer(StatusCode::OK, None, views::challenge(&server.urls, &authz));
    let pending = views::authz_pending(&authz);
    Ok(views::poll_later(views::link_up(answer, &server.urls.authz(&authz.id)), pending))
}
