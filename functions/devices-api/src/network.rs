//! Onboarding network status: the gateway reports it (`POST /gateway/network`,
//! `devices:gateway`); the dashboard reads it (seed 002 `GET /batch/network`, the client's
//! `GET /network/status`, `devices:read`) as the superset `{interface, ssid, connected,
//! is_active, connected_devices}`.

use crate::views::ok;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use http::StatusCode;
use serde::Deserialize;
use serde_json::json;
use trustplane_core::clock;
use trustplane_core::domain::Scope;
use trustplane_core::http::{AppState, Caller, CorrelationId, Json};
use trustplane_core::services::devices::network::{self, NetworkReport};
use trustplane_core::services::devices::Devices;
use trustplane_core::Result;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/provisioning/batch/network", get(status))
        .route("/api/v1/provisioning/network/status", get(status))
        .route("/api/v1/provisioning/gateway/network", post(report))
}

#[utoipa::path(get, path = "/api/v1/provisioning/batch/network", tag = "devices-api", security(("api_key" = [])), responses(
    (status = 200, description = "The onboarding network's status", body = crate::openapi::NetworkStatusOk), (status = 401, description = "UNAUTHORIZED"),
    (status = 403, description = "FORBIDDEN: the key lacks the scope"), (status = 429, description = "RATE_LIMITED"), (status = 503, description = "CIRCUIT_OPEN"),
))]
async fn status(State(state): State<AppState>, caller: Caller, ctx: CorrelationId) -> Result<Response> {
    caller.require(Scope::DevicesRead)?;
    let status = network::current(state.ports.store.as_ref()).await?;
    Ok(ok(StatusCode::OK, json!(status), &ctx))
}

/// The gateway's report: the seed's `interface`/`ssid`/`connected` and the client's
/// `is_active`/`connected_devices` (either of `connected`/`is_active` suffices), and the
/// session whose SSE stream should announce a change.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReportBody {
    interface: String,
    ssid: String,
    #[serde(default)]
    connected: Option<bool>,
    #[serde(default)]
    is_active: Option<bool>,
    #[serde(default)]
    connected_devices: Option<u64>,
    #[serde(default)]
    session_id: Option<String>,
}

/// 200 with the stored status and `changed` (whether a `network.status_changed` event was
/// appended). A report naming a session is also the gateway's heartbeat for it.
#[utoipa::path(post, path = "/api/v1/provisioning/gateway/network", tag = "devices-api", request_body = ReportBody, security(("api_key" = [])), responses(
    (status = 200, description = "The stored status and whether it changed", body = crate::openapi::NetworkReportedOk), (status = 400, description = "VALIDATION_FAILED"), (status = 401, description = "UNAUTHORIZED"), (status = 403, description = "FORBIDDEN: the key lacks the scope"), (status = 429, description = "RATE_LIMITED"), (status = 503, description = "CIRCUIT_OPEN"), (status = 404, description = "SESSION_NOT_FOUND"),
))]
async fn report(State(state): State<AppState>, caller: Caller, ctx: CorrelationId, Json(body): Json<ReportBody>) -> Result<Response> {
    caller.require(Scope::DevicesGateway)?;
    let report = NetworkReport::parse(&body.interface, &body.ssid, body.connected, body.is_active, body.connected_devices, body.session_id.as_deref())?;
    let (status, changed) = network::report(state.ports.store.as_ref(), &report, clock::now()).await?;
    if let Some(session_id) = report.session_id.as_deref() {
        Devices::new(&state.ports, state.config.clone()).heartbeat(session_id).await?;
    }
    let mut data = json!(status);
    data["changed"] = json!(changed);
    Ok(ok(StatusCode::OK, data, &ctx))
}
