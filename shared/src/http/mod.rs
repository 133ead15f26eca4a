//! HTTP plumbing every endpoint group shares: contract error rendering, correlation ids,
//! the JSON body extractor, API key authentication and `/health`.

pub mod auth;
pub mod correlation;
pub mod health;
pub mod json;
pub mod render;
pub mod state;

pub use auth::Caller;
pub use correlation::CorrelationId;
pub use json::Json;
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

/// An endpoint group as its own Lambda function serves it: its routes plus `/health`, with a
/// contract-format 404 for unknown paths.
pub fn standalone(routes: axum::Router<AppState>, state: AppState, format: ErrorFormat) -> axum::Router {
    let max = state.config.max_body_bytes;
    let all = routes.merge(health::router()).fallback(unknown_route).with_state(state);
    with_common_layers(all, format, max)
}

async fn unknown_route() -> crate::Error {
    crate::Error::NotFound("route".into())
}
