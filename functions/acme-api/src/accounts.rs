//! `newAccount` (RFC 8555 §7.3), account updates and deactivation (§7.3.2, §7.3.6), the
//! account's order list (§7.1.2.1) and `keyChange` (§7.3.5).

use crate::openapi::{AuthorityPath, Jws, ResourcePath};
use crate::server::{path_id, Server, Signed};
use crate::views::{self, Account, OrderList};
use axum::extract::Path;
use axum::response::Response;
use http::StatusCode;
use trustplane_core::http::openapi::AcmeProblem;
use trustplane_core::services::acme::{KeyChangeOutcome, PROBLEM_PREFIX};
use trustplane_core::Result;

/// `POST /acme/{authorityId}/new-account` → 201 (new) or 200 (the key's account), `Location`.
#[utoipa::path(post, path = "/acme/{authorityId}/new-account", tag = "acme-api", params(AuthorityPath), request_body(content = Jws, content_type = "application/jose+json", description = "Signed with jwk; payload {termsOfServiceAgreed, contact, onlyReturnExisting, externalAccountBinding}"), responses(
    (status = 201, description = "Created, bound to its EAB key", body = Account, headers(("Location" = String, description = "The account URL, the kid of later requests"))),
    (status = 200, description = "The account this key already has", body = Account, headers(("Location" = String, description = "The account URL"))),
    (status = 400, description = "malformed, badNonce, badSignatureAlgorithm, badPublicKey, invalidContact, unsupportedContact, externalAccountRequired, accountDoesNotExist (onlyReturnExisting)"),
    (status = 403, description = "unauthorized: a bad external account binding, or a JWS url that is not this one"),
    (status = 404, description = "malformed: no such ACME server"),
    (status = 415, description = "malformed: not application/jose+json"),
))]
pub async fn new_account(server: Server, Signed(jws): Signed) -> Result<Response> {
    let (account, created) = server.acme.new_account(&server.urls, &server.url, &jws).await?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok(views::answer(status, Some(server.urls.account(&account.id)), views::account(&server.urls, &account)))
}

/// `POST /acme/{authorityId}/acct/{id}`: read, update or deactivate the signing account.
#[utoipa::path(post, path = "/acme/{authorityId}/acct/{id}", tag = "acme-api", params(ResourcePath), request_body(content = Jws, content_type = "application/jose+json", description = "Signed by the account (kid); payload empty (POST-as-GET), {contact} or {status: deactivated}"), responses(
    (status = 200, description = "The account", body = Account),
    (status = 400, description = "malformed, badNonce, badSignatureAlgorithm, accountDoesNotExist, invalidContact, unsupportedContact"),
    (status = 403, description = "unauthorized: another account, a deactivated one, or a JWS url that is not this one"),
    (status = 404, description = "malformed: no such ACME server or account"),
    (status = 409, description = "malformed: the account changed meanwhile; retry"),
    (status = 415, description = "malformed: not application/jose+json"),
))]
pub async fn account(server: Server, Path((_, raw)): Path<(String, String)>, Signed(jws): Signed) -> Result<Response> {
    let id = path_id("account", &raw)?;
    let account = server.acme.update_account(&server.urls, &server.url, &jws, id.as_str()).await?;
    Ok(views::answer(StatusCode::OK, None, views::account(&server.urls, &account)))
}

/// `POST /acme/{authorityId}/acct/{id}/orders` (POST-as-GET): the account's order URLs.
#[utoipa::path(post, path = "/acme/{authorityId}/acct/{id}/orders", tag = "acme-api", params(ResourcePath), request_body(content = Jws, content_type = "application/jose+json", description = "POST-as-GET by the account (kid)"), responses(
    (status = 200, description = "The account's orders", body = OrderList),
    (status = 400, description = "malformed, badNonce, badSignatureAlgorithm, accountDoesNotExist"),
    (status = 403, description = "unauthorized: another account, a deactivated one, or a JWS url that is not this one"),
    (status = 404, description = "malformed: no such ACME server or account"),
    (status = 415, description = "malformed: not application/jose+json"),
))]
pub async fn orders(server: Server, Path((_, raw)): Path<(String, String)>, Signed(jws): Signed) -> Result<Response> {
    let id = path_id("account", &raw)?;
    let orders = server.acme.account_orders(&server.urls, &server.url, &jws, id.as_str()).await?;
    let orders = orders.iter().map(|o| server.urls.order(o)).collect();
    Ok(views::answer(StatusCode::OK, None, OrderList { orders }))
}

/// `POST /acme/{authorityId}/key-change` → 200 with the account, or 409 with the `Location`
/// of the account already holding the new key.
#[utoipa::path(post, path = "/acme/{authorityId}/key-change", tag = "acme-api", params(AuthorityPath), request_body(content = Jws, content_type = "application/jose+json", description = "Signed by the account (kid); payload a JWS by the new key (jwk) of {account, oldKey}"), responses(
    (status = 200, description = "The account, now on the new key", body = Account),
    (status = 400, description = "malformed, badNonce, badSignatureAlgorithm, badPublicKey, accountDoesNotExist"),
    (status = 403, description = "unauthorized: a deactivated account, or a JWS url that is not this one"),
    (status = 404, description = "malformed: no such ACME server"),
    (status = 409, description = "malformed: another account holds the new key", content_type = "application/problem+json", body = AcmeProblem, headers(("Location" = String, description = "That account's URL"))),
    (status = 415, description = "malformed: not application/jose+json"),
))]
pub async fn key_change(server: Server, Signed(jws): Signed) -> Result<Response> {
    Ok(match server.acme.key_change(&server.urls, &server.url, &jws).await? {
        KeyChangeOutcome::Changed(account) => views::answer(StatusCode::OK, None, views::account(&server.urls, &account)),
        KeyChangeOutcome::KeyInUse { account_id } => {
            let body = AcmeProblem { kind: format!("{PROBLEM_PREFIX}malformed"), detail: "another account holds the new key".into(), status: 409 };
            let mut answer = views::answer(StatusCode::CONFLICT, Some(server.urls.account(&account_id)), body);
            answer.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/problem+json"));
            answer
        }
    })
}
