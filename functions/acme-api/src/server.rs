//! The boundary of every ACME request: which authority's server it reached and at what URL
//! ([`Server`]), and its JWS body ([`Signed`], RFC 8555 §6.2: `application/jose+json`).

use crate::AcmeState;
use axum::extract::{FromRequest, FromRequestParts, Request};
use http::request::Parts;
use trustplane_core::domain::EntityId;
use trustplane_core::services::acme::{problem, Acme, ProblemType, SignedRequest, Urls};
use trustplane_core::{Error, Result};

/// The ACME server a request reached: the service, the authority's URLs and the absolute URL
/// of the request, which its JWS `url` must equal (RFC 8555 §6.4).
pub struct Server {
    pub acme: Acme,
    pub urls: Urls,
    pub url: String,
}

/// The base URL clients reach: `PUBLIC_BASE_URL` when set (a CloudFront or custom domain in
/// front of the API), else on Lambda the domain API Gateway was called on, else `serve`'s
/// configured base.
pub fn base_url(parts: &Parts, state: &AcmeState) -> String {
    use lambda_http::request::RequestContext;
    if let Some(base) = &state.settings.public_base_url {
        return base.clone();
    }
    match parts.extensions.get::<RequestContext>() {
        Some(RequestContext::ApiGatewayV2(ctx)) if ctx.domain_name.is_some() => format!("https://{}", ctx.domain_name.as_deref().unwrap_or_default()),
        _ => state.app.config.public_base_url.clone(),
    }
}

/// The authority id of an `/acme/{authorityId}/…` path; anything else names no server (404).
pub fn authority_of(path: &str) -> Result<EntityId> {
    let segment = path.strip_prefix("/acme/").and_then(|rest| rest.split('/').next()).unwrap_or_default();
    EntityId::in_path("ACME server", segment)
}

/// The ACME service over the state's ports.
pub fn service(state: &AcmeState) -> Acme {
    Acme::new(state.app.ports.clone(), state.app.config.clone(), state.settings.clone(), state.http01.clone())
}

impl FromRequestParts<AcmeState> for Server {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AcmeState) -> Result<Self> {
        let authority = authority_of(parts.uri.path())?;
        let urls = Urls::new(&base_url(parts, state), authority.as_str());
        let url = urls.absolute(parts.uri.path());
        Ok(Server { acme: service(state), urls, url })
    }
}

/// The base URL clients reach this deployment at ([`base_url`]).
pub struct BaseUrl(pub String);

impl FromRequestParts<AcmeState> for BaseUrl {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AcmeState) -> std::result::Result<Self, Self::Rejection> {
        Ok(BaseUrl(base_url(parts, state)))
    }
}

/// A request's flattened JWS body.
pub struct Signed(pub SignedRequest);

impl FromRequest<AcmeState> for Signed {
    type Rejection = Error;

    async fn from_request(req: Request, state: &AcmeState) -> Result<Self> {
        let content_type = req.headers().get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
        if content_type.split(';').next().unwrap_or_default().trim() != "application/jose+json" {
            let refused = Error::UnsupportedMediaType("ACME requests must be application/jose+json".into());
            return Err(refused.with_code(ProblemType::Malformed.code()));
        }
        let body = bytes::Bytes::from_request(req, state).await.map_err(|e| match e.status() {
            http::StatusCode::PAYLOAD_TOO_LARGE => Error::PayloadTooLarge.with_code(ProblemType::Malformed.code()),
            _ => problem(ProblemType::Malformed, "the body could not be read"),
        })?;
        Ok(Signed(SignedRequest::parse(&body)?))
    }
}

/// A path id that is not a UUID names no resource: 404 `malformed`.
pub fn path_id(what: &str, raw: &str) -> Result<EntityId> {
    EntityId::in_path(what, raw).map_err(|e| e.with_code(ProblemType::Malformed.code()))
}
