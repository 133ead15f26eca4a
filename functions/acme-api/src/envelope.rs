//! The one place ACME answers get their shape: every failure becomes an RFC 8555 §6.7 problem
//! document (`application/problem+json`, `type` `urn:ietf:params:acme:error:*`), and every
//! answer gets a fresh `Replay-Nonce` (§6.5), `Link: <directory>;rel="index"` (§7.1) and
//! `Cache-Control: no-store`.

use crate::server::{authority_of, base_url, service};
use crate::AcmeState;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{header, HeaderValue, StatusCode};
use serde_json::json;
use trustplane_core::error::truncate;
use trustplane_core::http::render::{Failure, MAX_MESSAGE_CHARS};
use trustplane_core::services::acme::{Urls, PROBLEM_PREFIX};

/// Middleware of the ACME routes (see the module docs).
pub async fn envelope(State(state): State<AcmeState>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let index = authority_of(parts.uri.path()).ok().map(|id| Urls::new(&base_url(&parts, &state), id.as_str()).directory());
    let response = next.run(Request::from_parts(parts, body)).await;
    let mut response = as_problem(response).await;
    let headers = response.headers_mut();
    match service(&state).new_nonce().await {
        Ok(nonce) => {
            headers.insert("replay-nonce", HeaderValue::from_str(&nonce).unwrap_or(HeaderValue::from_static("")));
        }
        Err(e) => tracing::error!(error = %e, "could not issue a nonce"),
    }
    if let Some(index) = index.and_then(|i| HeaderValue::from_str(&format!("<{i}>;rel=\"index\"")).ok()) {
        headers.append(header::LINK, index);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The ACME type of a failure: the code the service attached, else by status.
fn problem_type(failure: &Failure) -> &'static str {
    match (failure.code, failure.status.as_u16()) {
        (Some(code), _) => code,
        (None, 401 | 403) => "unauthorized",
        (None, 429) => "rateLimited",
        (None, 500..) => "serverInternal",
        (None, _) => "malformed",
    }
}

async fn as_problem(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let failure = match response.extensions().get::<Failure>() {
        Some(failure) => failure.clone(),
        None if is_json(&response) => return response,
        None => bare(status),
    };
    let body = json!({
        "type": format!("{PROBLEM_PREFIX}{}", problem_type(&failure)),
        "detail": truncate(&failure.message, MAX_MESSAGE_CHARS),
        "status": status.as_u16(),
    });
    let mut problem = (status, body.to_string()).into_response();
    problem.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
    if let Some(secs) = failure.retry_after {
        problem.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    problem
}

fn is_json(response: &Response) -> bool {
    response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|ct| ct.contains("json"))
}

/// A rejection axum answered itself (no route, wrong method, a body it could not read).
fn bare(status: StatusCode) -> Failure {
    let message = match status {
        StatusCode::NOT_FOUND => "no such ACME resource",
        StatusCode::METHOD_NOT_ALLOWED => "ACME resources are fetched with POST (POST-as-GET, RFC 8555 §6.3)",
        StatusCode::PAYLOAD_TOO_LARGE => "request body too large",
        s if s.is_server_error() => "internal server error",
        _ => "malformed request",
    };
    Failure { status, message: message.into(), code: None, retryable: status.is_server_error(), title: None, fields: None, retry_after: None }
}
