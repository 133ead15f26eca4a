//! The headers of every ACME answer, failures included (whose RFC 8555 §6.7 problem document
//! the group's [`ErrorFormat::Acme`](trustplane_core::http::ErrorFormat::Acme) layer wrote):
//! a fresh `Replay-Nonce` (§6.5), `Link: <directory>;rel="index"` (§7.1) and `Cache-Control:
//! no-store`.

use crate::server::{authority_of, base_url, service};
use crate::AcmeState;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::{header, HeaderValue};
use trustplane_core::services::acme::Urls;

/// Middleware of the ACME routes, outside their error rendering (see the module docs).
pub async fn envelope(State(state): State<AcmeState>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let index = authority_of(parts.uri.path()).ok().map(|id| Urls::new(&base_url(&parts, &state), id.as_str()).directory());
    let mut response = next.run(Request::from_parts(parts, body)).await;
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
