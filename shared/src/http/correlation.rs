//! One correlation id per request: API Gateway's request id when there is one, else a valid
//! incoming `x-correlation-id`, else a fresh UUID. Returned in the `x-correlation-id` header.

use axum::extract::{FromRequestParts, Request};
use axum::middleware::Next;
use axum::response::Response;
use http::request::Parts;
use tracing::Instrument;

/// The response header carrying the id.
pub const HEADER: &str = "x-correlation-id";

/// The id of the current request (request extension).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CorrelationId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for CorrelationId {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts.extensions.get::<CorrelationId>().cloned().unwrap_or_else(|| CorrelationId(uuid::Uuid::new_v4().to_string())))
    }
}

fn from_gateway(req: &Request) -> Option<String> {
    use lambda_http::request::RequestContext;
    #[allow(irrefutable_let_patterns)]
    if let Some(RequestContext::ApiGatewayV2(ctx)) = req.extensions().get::<RequestContext>() {
        return ctx.request_id.clone().filter(|id| !id.is_empty());
    }
    None
}

fn from_header(req: &Request) -> Option<String> {
    let raw = req.headers().get(HEADER)?.to_str().ok()?;
    let ok = !raw.is_empty() && raw.len() <= 128 && raw.chars().all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c));
    ok.then(|| raw.to_owned())
}

/// Middleware: assigns the id, logs the request in a span carrying it, echoes it back.
pub async fn correlate(mut req: Request, next: Next) -> Response {
    let id = from_gateway(&req).or_else(|| from_header(&req)).unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    req.extensions_mut().insert(CorrelationId(id.clone()));
    let span = tracing::info_span!("request", correlation_id = %id, method = %req.method(), path = %req.uri().path());
    let mut response = next.run(req).instrument(span.clone()).await;
    span.in_scope(|| tracing::info!(status = response.status().as_u16(), "handled"));
    if let Ok(value) = http::HeaderValue::from_str(&id) {
        response.headers_mut().insert(HEADER, value);
    }
    response
}
