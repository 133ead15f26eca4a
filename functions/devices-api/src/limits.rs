//! Per-API-key rate limiting for every devices route (seed 002 `RATE_LIMITED`): a token
//! bucket per key in the store (`services::devices::guard::take_for_key`), configured by
//! `DEVICES_RATE_PER_SEC` and `DEVICES_RATE_BURST`. Applied once in `lib.rs` as a route
//! layer, so every module's routes get it without asking.
//!
//! A request without a key passes through (its handler answers 401); an unknown or revoked
//! key is answered 401 here, before any bucket is written, so random keys cannot fill the
//! store with buckets.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use trustplane_core::http::{auth, AppState, Caller};
use trustplane_core::services::devices::guard;

/// Middleware: authenticates the key and takes one token from its bucket, or answers 429
/// `RATE_LIMITED` with `Retry-After`.
pub(crate) async fn per_key(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let Some(presented) = req.headers().get(auth::HEADER).and_then(|v| v.to_str().ok()).filter(|v| !v.is_empty()) else {
        return next.run(req).await;
    };
    let record = match state.api_keys.authenticate(presented).await {
        Ok(record) => record,
        Err(e) => return e.into_response(),
    };
    if let Err(e) = guard::take_for_key(state.ports.store.clone(), &state.config.devices_guard, &record.id).await {
        return e.into_response();
    }
    req.extensions_mut().insert(Caller(record));
    next.run(req).await
}
