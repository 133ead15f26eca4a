//! Batch device provisioning (seed 002), every route in its `{success, data|error,
//! correlation_id, timestamp}` envelope: the allowlist, network status, sessions and the
//! edge gateway's reports. The SSE stream is `device-events`.

mod allowlist;
mod gateway;
mod limits;
mod network;
pub mod openapi;
mod sessions;
mod views;

use axum::Router;
use trustplane_core::http::{health, with_common_layers, AppState, ErrorFormat};

fn routes() -> Router<AppState> {
    Router::new().merge(allowlist::routes()).merge(network::routes()).merge(sessions::routes()).merge(gateway::routes())
}

/// The group's routes with their layers, mergeable into `trustplane serve`.
pub fn router(state: AppState) -> Router {
    let max = state.config.max_body_bytes;
    let limited = routes().route_layer(axum::middleware::from_fn_with_state(state.clone(), limits::per_key));
    with_common_layers(limited.with_state(state), ErrorFormat::Envelope, max)
}

/// What the Lambda function serves: the group's routes, `/health`, `/openapi.json`, and an
/// envelope 404.
pub fn app(state: AppState) -> Router {
    let max = state.config.max_body_bytes;
    let rest = health::router()
        .merge(trustplane_core::http::openapi::function_router("devices-api", openapi::document()))
        .fallback(|| async { trustplane_core::Error::NotFound("route".into()) })
        .with_state(state.clone());
    router(state).merge(with_common_layers(rest, ErrorFormat::Envelope, max))
}
