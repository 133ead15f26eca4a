//! What `serve` checks of every request before a router sees it, answering in the error format
//! of the group that owns the path: the `Host` header (RFC 9112 §3.2), a declared
//! `Content-Length` within `MAX_BODY_BYTES` (413, RFC 9110 §15.5.14, before any `100 Continue`
//! of RFC 9110 §10.1.1), and a body deadline (408, RFC 9110 §15.5.9).

use super::deadline::{DeadlineBody, Expired};
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::response::Response;
use axum::Router;
use http::{header, HeaderValue, Request, StatusCode, Version};
use http_body::Body as _;
use hyper::body::Incoming;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;
use tower::ServiceExt;
use trustplane_core::http::{correlation, ClientCertificate};
use trustplane_core::http::render::failure_response;

/// The per-request checks in front of the merged router.
#[derive(Clone)]
pub struct Guard {
    router: Router,
    max_body_bytes: u64,
    body_timeout: Duration,
}

impl Guard {
    /// Guards `router`: bodies above `max_body_bytes` or slower than `body_timeout` are refused.
    pub fn new(router: Router, max_body_bytes: usize, body_timeout: Duration) -> Self {
        Guard { router, max_body_bytes: u64::try_from(max_body_bytes).unwrap_or(u64::MAX), body_timeout }
    }

    /// Answers one request from `peer`, which the router sees as `ConnectInfo<SocketAddr>`,
    /// with the connection's TLS client certificate (an empty one over plain HTTP).
    pub async fn handle(self, req: Request<Incoming>, peer: SocketAddr, client_certificate: ClientCertificate) -> Result<Response, Infallible> {
        if let Some(refusal) = self.refusal(&req) {
            return Ok(refusal);
        }
        let path = req.uri().path().to_owned();
        let expired = Expired::default();
        let (mut parts, body) = req.into_parts();
        parts.extensions.insert(ConnectInfo(peer));
        parts.extensions.insert(client_certificate);
        let body = Body::new(DeadlineBody::new(body, self.body_timeout, expired.clone()));
        let response = self.router.oneshot(Request::from_parts(parts, body)).await?;
        if !expired.is_set() {
            return Ok(response);
        }
        let id = response.headers().get(correlation::HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned);
        Ok(closing(&path, StatusCode::REQUEST_TIMEOUT, "the request body did not arrive in time", id))
    }

    fn refusal(&self, req: &Request<Incoming>) -> Option<Response> {
        let path = req.uri().path();
        if let Some(problem) = host_problem(req) {
            return Some(closing(path, StatusCode::BAD_REQUEST, problem, None));
        }
        if req.body().size_hint().lower() > self.max_body_bytes {
            return Some(closing(path, StatusCode::PAYLOAD_TOO_LARGE, "request body too large", None));
        }
        None
    }
}

/// RFC 9112 §3.2: an HTTP/1.1 request needs a `Host`, no request may have two, and its value is
/// `uri-host [":" port]` (RFC 9110 §7.2), possibly empty.
fn host_problem<B>(req: &Request<B>) -> Option<&'static str> {
    let mut hosts = req.headers().get_all(header::HOST).iter();
    match (hosts.next(), hosts.next()) {
        (None, _) if req.version() == Version::HTTP_10 => None,
        (None, _) => Some("the Host header is missing"),
        (Some(_), Some(_)) => Some("more than one Host header"),
        (Some(host), None) if !is_valid_host(host) => Some("the Host header is not a valid host"),
        (Some(_), None) => None,
    }
}

fn is_valid_host(value: &HeaderValue) -> bool {
    let bytes = value.as_bytes();
    bytes.is_empty() || (!bytes.contains(&b'@') && http::uri::Authority::try_from(bytes).is_ok())
}

/// A failure response in `path`'s group format that also ends the connection: the request's
/// body, if any, is left unread.
pub(super) fn closing(path: &str, status: StatusCode, message: &str, correlation_id: Option<String>) -> Response {
    let id = correlation_id.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    tracing::info!(status = status.as_u16(), path, correlation_id = %id, reason = message, "request refused");
    let mut response = failure_response(path, status, message, &id);
    let headers = response.headers_mut();
    headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    if let Ok(value) = HeaderValue::from_str(&id) {
        headers.insert(correlation::HEADER, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(version: Version, hosts: &[&str]) -> Request<()> {
        let mut builder = Request::builder().version(version).uri("/health");
        for host in hosts {
            builder = builder.header(header::HOST, *host);
        }
        builder.body(()).unwrap()
    }

    #[test]
    fn only_one_well_formed_host_passes_and_http_1_0_may_omit_it() {
        for ok in [&["example.com"][..], &["127.0.0.1:8080"], &["[::1]:8080"], &[""]] {
            assert_eq!(host_problem(&request(Version::HTTP_11, ok)), None, "{ok:?}");
        }
        assert_eq!(host_problem(&request(Version::HTTP_10, &[])), None);
        for bad in [&[][..], &["a", "a"], &["a b"], &["user@example.com"], &["example.com/path"]] {
            assert!(host_problem(&request(Version::HTTP_11, bad)).is_some(), "{bad:?}");
        }
    }
}
