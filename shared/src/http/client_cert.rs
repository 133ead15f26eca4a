//! The TLS client certificate of a request: put in the request's extensions by `serve --tls`,
//! or read from API Gateway's mutual TLS context (`requestContext.authentication.clientCert`,
//! HTTP APIs on a custom domain with a truststore) in Lambda. Either way the TLS terminator has
//! already verified it chains to a trusted root.

use axum::extract::FromRequestParts;
use http::request::Parts;
use std::convert::Infallible;

/// The verified client certificate, DER; `None` when the client presented none.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientCertificate(pub Option<Vec<u8>>);

impl<S: Send + Sync> FromRequestParts<S> for ClientCertificate {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Infallible> {
        if let Some(found) = parts.extensions.get::<ClientCertificate>() {
            return Ok(found.clone());
        }
        Ok(ClientCertificate(from_api_gateway(parts)))
    }
}

fn from_api_gateway(parts: &Parts) -> Option<Vec<u8>> {
    use lambda_http::request::RequestContext;
    let Some(RequestContext::ApiGatewayV2(ctx)) = parts.extensions.get::<RequestContext>() else { return None };
    let pem = ctx.authentication.as_ref()?.client_cert.as_ref()?.client_cert_pem.as_deref()?;
    crate::pki::pem::decode_all(pem).ok()?.into_iter().find(|(label, _)| label == "CERTIFICATE").map(|(_, der)| der)
}
