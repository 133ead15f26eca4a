//! HTTP plumbing every endpoint group shares: contract error rendering, correlation ids,
//! the JSON body extractor, API key authentication and `/health`.

pub mod auth;
pub mod client_cert;
pub mod correlation;
pub mod health;
pub mod json;
pub mod openapi;
pub mod render;
pub mod state;

pub use auth::Caller;
pub use client_cert::ClientCertificate;
pub use correlation::CorrelationId;
pub use json::{Json, LenientJson};
pub use render::ErrorFormat;
pub use state::AppState;

/// Wraps an endpoint group's router with the shared layers: body limit, error rendering in
/// the group's contract format, and correlation ids (outermost).
pub fn with_common_layers(router: axum::Router, format: ErrorFormat, max_body_bytes: usize) -> axum::Router {
    router
        .layer(axum::middleware::from_fn(move |req, next| render::render_errors(format, req, next)))
        .layer(axum::extract::DefaultBodyLimit::max(max_body_bytes))
        .layer(axum::middleware::from_fn(correlation::correlate))
}

/// An endpoint group as its own Lambda function serves it: its routes plus `/health`, with
/// [`fallback`] for unknown paths.
pub fn standalone(routes: axum::Router<AppState>, state: AppState, format: ErrorFormat) -> axum::Router {
    let max = state.config.max_body_bytes;
    let all = routes.merge(health::router()).fallback(fallback).with_state(state);
    with_common_layers(all, format, max)
}

/// The answer to a request no route matched: 404 in the format of the group that owns the
/// path's prefix ([`render::format_for_path`]), whichever router it reached, so `POST
/// /api/v1/ca/sign/` answers in seed 001's format both from its Lambda function and from
/// `trustplane serve`, which merges every group over one fallback.
pub async fn fallback(req: axum::extract::Request) -> axum::response::Response {
    let correlation_id = req.extensions().get::<CorrelationId>().map(|c| c.0.clone()).unwrap_or_default();
    render::failure_response(req.uri().path(), http::StatusCode::NOT_FOUND, "no such route", &correlation_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower::ServiceExt;

    async fn answer(app: &axum::Router, method: &str, path: &str) -> (http::StatusCode, Option<String>, serde_json::Value) {
        let request = http::Request::builder().method(method).uri(path).body(axum::body::Body::empty()).unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let content_type = response.headers().get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let body = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
        (status, content_type, serde_json::from_slice(&body).unwrap())
    }

    #[tokio::test]
    async fn unknown_routes_answer_in_the_format_of_the_group_owning_the_prefix_behind_any_groups_layers() {
        let app = with_common_layers(axum::Router::new().fallback(fallback), ErrorFormat::Problem, 1024);
        let (status, content_type, body) = answer(&app, "POST", "/api/v1/ca/sign/").await;
        assert_eq!((status.as_u16(), content_type.as_deref(), body["code"].as_str()), (404, Some("application/json"), Some("NOT_FOUND")), "{body}");
        assert!(body["details"]["timestamp"].is_string() && body.get("type").is_none(), "{body}");
        let (_, content_type, body) = answer(&app, "DELETE", "/api/v1/provision-keys/").await;
        assert_eq!((content_type.as_deref(), body), (Some("application/json"), serde_json::json!({ "error": "no such route" })));
        let (_, content_type, body) = answer(&app, "GET", "/api/v1/nowhere").await;
        assert_eq!((content_type.as_deref(), body["status"].as_u64()), (Some("application/problem+json"), Some(404)));
    }
}
