//! The client's IP, for per-client rate limits: API Gateway's `requestContext.http.sourceIp`
//! on Lambda, the socket's address in `serve`, or the last `X-Forwarded-For` entry when
//! `TRUST_FORWARDED_FOR` says a trusted proxy sets it.

use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use http::request::Parts;
use std::net::{IpAddr, SocketAddr};
use trustplane_core::http::AppState;
use trustplane_core::Error;

/// The client address a request came from (`unknown` when nothing says).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientIp(pub String);

fn forwarded(parts: &Parts) -> Option<IpAddr> {
    let header = parts.headers.get_all("x-forwarded-for").iter().last()?.to_str().ok()?;
    header.rsplit(',').next()?.trim().parse().ok()
}

fn from_gateway(parts: &Parts) -> Option<IpAddr> {
    use lambda_http::request::RequestContext;
    #[allow(irrefutable_let_patterns)]
    if let Some(RequestContext::ApiGatewayV2(ctx)) = parts.extensions.get::<RequestContext>() {
        return ctx.http.source_ip.as_deref()?.parse().ok();
    }
    None
}

impl<S> FromRequestParts<S> for ClientIp
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let trust_proxy = AppState::from_ref(state).config.tenants.trust_forwarded_for;
        let ip = trust_proxy
            .then(|| forwarded(parts))
            .flatten()
            .or_else(|| from_gateway(parts))
            .or_else(|| parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()));
        Ok(ClientIp(ip.map_or_else(|| "unknown".to_owned(), |ip| ip.to_canonical().to_string())))
    }
}
