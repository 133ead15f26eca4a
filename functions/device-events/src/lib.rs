//! `GET /api/v1/provisioning/batch/events[?session_id=]` (seed 002): the device event log as
//! `text/event-stream`, resumable with `Last-Event-ID`; and `POST
//! /api/v1/provisioning/batch/events/ticket`, the short-lived ticket a browser's
//! `EventSource` (which cannot send `X-API-Key`) puts in the query instead. Errors use the
//! seed's envelope. On AWS this runs behind a Lambda Function URL in `RESPONSE_STREAM` mode
//! (`src/main.rs`); `trustplane serve` merges [`router`].

mod handlers;
pub mod openapi;
mod stream;

pub use stream::end_streams;

use axum::routing::{get, post};
use axum::Router;
use trustplane_core::http::{health, with_common_layers, AppState, ErrorFormat};

/// The stream's path (the client's `PROVISIONING_ROUTES.batchEvents`).
pub const EVENTS_PATH: &str = "/api/v1/provisioning/batch/events";
/// Where tickets are issued.
pub const TICKET_PATH: &str = "/api/v1/provisioning/batch/events/ticket";

fn routes() -> Router<AppState> {
    Router::new().route(EVENTS_PATH, get(handlers::events)).route(TICKET_PATH, post(handlers::ticket))
}

/// The stream's routes with their layers, mergeable into `trustplane serve`.
pub fn router(state: AppState) -> Router {
    let max = state.config.max_body_bytes;
    with_common_layers(routes().with_state(state), ErrorFormat::Envelope, max)
}

/// What the Lambda function serves: the routes, `/health`, `/openapi.json`, and an envelope 404.
pub fn app(state: AppState) -> Router {
    let max = state.config.max_body_bytes;
    let rest = health::router()
        .merge(trustplane_core::http::openapi::function_router("device-events", openapi::document()))
        .fallback(|| async { trustplane_core::Error::NotFound("route".into()) })
        .with_state(state.clone());
    router(state).merge(with_common_layers(rest, ErrorFormat::Envelope, max))
}
