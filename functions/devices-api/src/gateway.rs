//! The edge gateway's device routes (issue 10, "Who does what"; `devices:gateway`): report
//! discovered devices into a session, fetch a provisioned device's bundle, report a device
//! verified or failed on the target network. Every call refreshes the session's heartbeat
//! (`GET /sessions/recoverable` lists sessions whose gateway went silent).

use crate::views::ok;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use http::StatusCode;
use serde::Deserialize;
use serde_json::json;
use trustplane_core::domain::{MacAddress, Scope};
use trustplane_core::http::{AppState, Caller, CorrelationId, LenientJson};
use trustplane_core::services::devices::gateway::DiscoveredDevice;
use trustplane_core::services::devices::records::StoredDevice;
use trustplane_core::services::devices::Devices;
use trustplane_core::Result;

pub(crate) fn routes() -> Router<AppState> {
    let base = "/api/v1/provisioning/gateway/sessions/{id}/devices";
    Router::new()
        .route(base, post(discovered))
        .route(&format!("{base}/{{mac}}/bundle"), get(bundle))
        .route(&format!("{base}/{{mac}}/verified"), post(verified))
        .route(&format!("{base}/{{mac}}/failed"), post(failed))
}

/// The service, after checking the caller is a gateway and recording its heartbeat on an
/// existing session (404 `SESSION_NOT_FOUND` otherwise).
async fn gateway(state: &AppState, caller: &Caller, session_id: &str) -> Result<Devices> {
    caller.require(Scope::DevicesGateway)?;
    let devices = Devices::new(&state.ports, state.config.clone());
    devices.session(session_id).await?;
    devices.heartbeat(session_id).await?;
    Ok(devices)
}

/// The report: `{"devices": [{mac, ip, rssi, firmware_version, csr?}, …]}` (at most 100).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DiscoveredBody {
    #[schema(value_type = Vec<Object>)]
    devices: Vec<DiscoveredDevice>,
}

/// POST `/gateway/sessions/{id}/devices`: 200 `{devices, count}` as now recorded.
#[utoipa::path(post, path = "/api/v1/provisioning/gateway/sessions/{id}/devices", tag = "devices-api", params(("id" = String, Path, description = "The session id")), request_body(content = DiscoveredBody, description = "JSON whatever the Content-Type"), security(("api_key" = [])), responses(
    (status = 200, description = "The session's devices as now recorded", body = crate::openapi::DeviceListOk), (status = 400, description = "VALIDATION_FAILED"), (status = 401, description = "UNAUTHORIZED"), (status = 403, description = "FORBIDDEN: the key lacks the scope"), (status = 429, description = "RATE_LIMITED"), (status = 503, description = "CIRCUIT_OPEN"), (status = 404, description = "SESSION_NOT_FOUND"), (status = 409, description = "The session is not active"),
))]
async fn discovered(State(state): State<AppState>, caller: Caller, ctx: CorrelationId, Path(id): Path<String>, LenientJson(body): LenientJson<DiscoveredBody>) -> Result<Response> {
    let devices = gateway(&state, &caller, &id).await?.discover(&id, &body.devices).await?;
    Ok(ok(StatusCode::OK, json!({ "count": devices.len(), "devices": devices }), &ctx))
}

/// GET `/gateway/sessions/{id}/devices/{mac}/bundle`: `{bundle}`; 409 before `provisioned`.
#[utoipa::path(get, path = "/api/v1/provisioning/gateway/sessions/{id}/devices/{mac}/bundle", tag = "devices-api", params(("id" = String, Path, description = "The session id"), ("mac" = String, Path, pattern = "^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$|^[0-9A-Fa-f]{12}$", description = "A MAC address: AA:BB:CC:DD:EE:FF, aa-bb-cc-dd-ee-ff or aabbccddeeff")), security(("api_key" = [])), responses(
    (status = 200, description = "The device's bundle", body = crate::openapi::BundleOk), (status = 400, description = "VALIDATION_FAILED"), (status = 401, description = "UNAUTHORIZED"), (status = 403, description = "FORBIDDEN: the key lacks the scope"), (status = 429, description = "RATE_LIMITED"), (status = 503, description = "CIRCUIT_OPEN"), (status = 404, description = "SESSION_NOT_FOUND or DEVICE_NOT_FOUND"), (status = 409, description = "The device is not provisioned yet"),
))]
async fn bundle(State(state): State<AppState>, caller: Caller, ctx: CorrelationId, Path((id, mac)): Path<(String, String)>) -> Result<Response> {
    let mac = MacAddress::parse(&mac)?;
    let bundle = gateway(&state, &caller, &id).await?.bundle(&id, &mac).await?;
    Ok(ok(StatusCode::OK, json!({ "bundle": bundle }), &ctx))
}

fn operation(device: &StoredDevice, message: &str, ctx: &CorrelationId) -> Response {
    ok(StatusCode::OK, json!({ "mac": device.device.mac, "state": device.device.state, "message": message }), ctx)
}

/// POST `/gateway/sessions/{id}/devices/{mac}/verified`: 200 `{mac, state, message}`.
#[utoipa::path(post, path = "/api/v1/provisioning/gateway/sessions/{id}/devices/{mac}/verified", tag = "devices-api", params(("id" = String, Path, description = "The session id"), ("mac" = String, Path, pattern = "^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$|^[0-9A-Fa-f]{12}$", description = "A MAC address: AA:BB:CC:DD:EE:FF, aa-bb-cc-dd-ee-ff or aabbccddeeff")), security(("api_key" = [])), responses(
    (status = 200, description = "Verified", body = crate::openapi::DeviceOperationOk), (status = 400, description = "VALIDATION_FAILED"), (status = 401, description = "UNAUTHORIZED"), (status = 403, description = "FORBIDDEN: the key lacks the scope"), (status = 429, description = "RATE_LIMITED"), (status = 503, description = "CIRCUIT_OPEN"), (status = 404, description = "SESSION_NOT_FOUND or DEVICE_NOT_FOUND"), (status = 409, description = "The session or device is not in a state that allows this"),
))]
async fn verified(State(state): State<AppState>, caller: Caller, ctx: CorrelationId, Path((id, mac)): Path<(String, String)>) -> Result<Response> {
    let mac = MacAddress::parse(&mac)?;
    let device = gateway(&state, &caller, &id).await?.verified(&id, &mac).await?;
    Ok(operation(&device, "Device verified on the target network", &ctx))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct FailedBody {
    error: String,
}

/// POST `/gateway/sessions/{id}/devices/{mac}/failed` `{error}`: 200 `{mac, state, message}`.
#[utoipa::path(post, path = "/api/v1/provisioning/gateway/sessions/{id}/devices/{mac}/failed", tag = "devices-api", params(("id" = String, Path, description = "The session id"), ("mac" = String, Path, pattern = "^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$|^[0-9A-Fa-f]{12}$", description = "A MAC address: AA:BB:CC:DD:EE:FF, aa-bb-cc-dd-ee-ff or aabbccddeeff")), request_body(content = FailedBody, description = "JSON whatever the Content-Type"), security(("api_key" = [])), responses(
    (status = 200, description = "Marked failed", body = crate::openapi::DeviceOperationOk), (status = 400, description = "VALIDATION_FAILED"), (status = 401, description = "UNAUTHORIZED"), (status = 403, description = "FORBIDDEN: the key lacks the scope"), (status = 429, description = "RATE_LIMITED"), (status = 503, description = "CIRCUIT_OPEN"), (status = 404, description = "SESSION_NOT_FOUND or DEVICE_NOT_FOUND"), (status = 409, description = "The session or device is not in a state that allows this"),
))]
async fn failed(State(state): State<AppState>, caller: Caller, ctx: CorrelationId, Path((id, mac)): Path<(String, String)>, LenientJson(body): LenientJson<FailedBody>) -> Result<Response> {
    let mac = MacAddress::parse(&mac)?;
    let device = gateway(&state, &caller, &id).await?.verification_failed(&id, &mac, &body.error).await?;
    Ok(operation(&device, "Device verification failed", &ctx))
}
