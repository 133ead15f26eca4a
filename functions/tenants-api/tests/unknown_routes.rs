//! Unknown routes (issue 14, item 8) from the tenants-api Lambda function answer exactly as
//! `trustplane serve` does: 404 in the format of the group owning the path's prefix, the seed's
//! ASP.NET problem under `/provision/tenants`, RFC 9457 problem+json under `/api/v1/tenants`
//! and everywhere else.

use axum::Router;
use serde_json::Value;
use trustplane_core::http::{fallback, with_common_layers, ErrorFormat};
use trustplane_core::testkit::{call, local_state, Reply};

/// The group as `serve` merges it: its router over the one shared fallback.
fn as_serve_merges_it(state: trustplane_core::http::AppState) -> Router {
    let max = state.config.max_body_bytes;
    tenants_api::router(state).merge(with_common_layers(Router::new().fallback(fallback), ErrorFormat::Problem, max))
}

async fn send(app: &Router, method: &str, path: &str) -> Reply {
    call(app, http::Request::builder().method(method).uri(path).body(axum::body::Body::empty()).unwrap()).await
}

/// The body without what differs per request.
fn comparable(reply: &Reply) -> Value {
    let mut body = reply.json();
    if let Some(fields) = body.as_object_mut() {
        fields.remove("correlation_id");
    }
    body
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_route_gets_the_same_404_from_the_lambda_as_from_serve_in_the_format_owning_its_prefix() {
    let (state, _dir) = local_state().await;
    let (lambda, serve) = (tenants_api::app(state.clone()), as_serve_merges_it(state));
    let cases = [
        ("GET", "/api/v1/tenants/x/y", "application/problem+json"),
        ("POST", "/api/v1/tenants/x/retry/again", "application/problem+json"),
        ("DELETE", "/api/v1/tenants/", "application/problem+json"),
        ("GET", "/api/v1/nowhere", "application/problem+json"),
        ("GET", "/provision/tenants/x/status/y", "application/problem+json"),
        ("POST", "/provision/tenants/", "application/problem+json"),
    ];
    for (method, path, content_type) in cases {
        let (from_lambda, from_serve) = (send(&lambda, method, path).await, send(&serve, method, path).await);
        assert_eq!((from_lambda.status.as_u16(), from_lambda.header("content-type")), (404, Some(content_type)), "{method} {path}");
        assert_eq!((from_serve.status, from_serve.header("content-type")), (from_lambda.status, from_lambda.header("content-type")), "{method} {path}");
        assert_eq!(comparable(&from_lambda), comparable(&from_serve), "{method} {path}");
        let body = from_lambda.json();
        let tenant_format = path.starts_with("/provision/tenants/");
        assert_eq!(body["type"] == "about:blank", !tenant_format, "{method} {path}: {body}");
        assert_eq!(body.get("instance").is_some(), !tenant_format, "{method} {path}: {body}");
    }
}
