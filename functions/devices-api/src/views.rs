//! The success side of seed 002's envelope: `{"success": true, "data", "correlation_id",
//! "timestamp"}`. Failures are rendered by `trustplane_core::http::render` (ErrorFormat::Envelope).

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde_json::{json, Value};
use trustplane_core::http::CorrelationId;

/// `data` in the seed's success envelope with `status`; `ctx` is the request's correlation id
/// (take it as an extractor: `ctx: CorrelationId`).
pub(crate) fn ok(status: StatusCode, data: Value, ctx: &CorrelationId) -> Response {
    let body = json!({
        "success": true,
        "data": data,
        "correlation_id": ctx.0,
        "timestamp": trustplane_core::clock::now_rfc3339(),
    });
    (status, axum::Json(body)).into_response()
}

/// 204 No Content (seed 002's allowlist delete): no body, so no envelope.
pub(crate) fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}
