//! `GET /health` (seed 002): liveness and version, no authentication.

use axum::routing::get;
use serde_json::{json, Value};

/// `{"status":"ok","version":"<crate version>"}`.
pub async fn health() -> axum::Json<Value> {
    axum::Json(json!({ "status": "ok", "version": env!("CARGO_PKG_VERSION") }))
}

/// A router holding only `/health`, merged into every group.
pub fn router<S: Clone + Send + Sync + 'static>() -> axum::Router<S> {
    axum::Router::new().route("/health", get(health))
}
