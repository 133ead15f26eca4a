//! `newAccount` (RFC 8555 §7.3), account updates and deactivation (§7.3.2, §7.3.6), the
//! account's order list (§7.1.2.1) and `keyChange` (§7.3.5).

use crate::server::{path_id, Server, Signed};
use crate::views;
use axum::extract::Path;
use axum::response::Response;
use http::StatusCode;
use serde_json::json;
use trustplane_core::services::acme::KeyChangeOutcome;
use trustplane_core::Result;

/// `POST /acme/{authorityId}/new-account` → 201 (new) or 200 (the key's account), `Location`.
pub async fn new_account(server: Server, Signed(jws): Signed) -> Result<Response> {
    let (account, created) = server.acme.new_account(&server.urls, &server.url, &jws).await?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok(views::answer(status, Some(server.urls.account(&account.id)), views::account(&server.urls, &account)))
}

/// `POST /acme/{authorityId}/acct/{id}`: read, update or deactivate the signing account.
pub async fn account(server: Server, Path((_, raw)): Path<(String, String)>, Signed(jws): Signed) -> Result<Response> {
    let id = path_id("account", &raw)?;
    let account = server.acme.update_account(&server.urls, &server.url, &jws, id.as_str()).await?;
    Ok(views::answer(StatusCode::OK, None, views::account(&server.urls, &account)))
}

/// `POST /acme/{authorityId}/acct/{id}/orders` (POST-as-GET): the account's order URLs.
pub async fn orders(server: Server, Path((_, raw)): Path<(String, String)>, Signed(jws): Signed) -> Result<Response> {
    let id = path_id("account", &raw)?;
    let orders = server.acme.account_orders(&server.urls, &server.url, &jws, id.as_str()).await?;
    let urls: Vec<String> = orders.iter().map(|o| server.urls.order(o)).collect();
    Ok(views::answer(StatusCode::OK, None, json!({ "orders": urls })))
}

/// `POST /acme/{authorityId}/key-change` → 200 with the account, or 409 with the `Location`
/// of the account already holding the new key.
pub async fn key_change(server: Server, Signed(jws): Signed) -> Result<Response> {
    Ok(match server.acme.key_change(&server.urls, &server.url, &jws).await? {
        KeyChangeOutcome::Changed(account) => views::answer(StatusCode::OK, None, views::account(&server.urls, &account)),
        KeyChangeOutcome::KeyInUse { account_id } => {
            let body = json!({ "type": "urn:ietf:params:acme:error:malformed", "detail": "another account holds the new key", "status": 409 });
            let mut answer = views::answer(StatusCode::CONFLICT, Some(server.urls.account(&account_id)), body);
            answer.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/problem+json"));
            answer
        }
    })
}
