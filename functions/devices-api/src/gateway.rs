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
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DiscoveredBody {
    devices: Vec<DiscoveredDevice>,
}

/// POST `/gateway/sessions/{id}/devices`: 200 `{devices, count}` as now recorded.
async fn discovered(State(state): State<AppState>, caller: Caller, ctx: CorrelationId, Path(id): Path<String>, LenientJson(body): LenientJson<DiscoveredBody>) -> Result<Response> {
    let devices = gateway(&state, &caller, &id).await?.discover(&id, &body.devices).await?;
    Ok(ok(StatusCode::OK, json!({ "count": devices.len(), "devices": devices }), &ctx))
}

/// GET `/gateway/sessions/{id}/devices/{mac}/bundle`: `{bundle}`; 409 before `provisioned`.
async fn bundle(State(state): State<AppState>, caller: Caller, ctx: CorrelationId, Path((id, mac)): Path<(String, String)>) -> Result<Response> {
    let mac = MacAddress::parse(&mac)?;
    let bundle = gateway(&state, &caller, &id).await?.bundle(&id, &mac).await?;
    Ok(ok(StatusCode::OK, json!({ "bundle": bundle }), &ctx))
}

fn operation(device: &StoredDevice, message: &str, ctx: &CorrelationId) -> Response {
    ok(StatusCode::OK, json!({ "mac": device.device.mac, "state": device.device.state, "message": message }), ctx)
}

/// POST `/gateway/sessions/{id}/devices/{mac}/verified`: 200 `{mac, state, message}`.
async fn verified(State(state): State<AppState>, caller: Caller, ctx: CorrelationId, Path((id, mac)): Path<(String, String)>) -> Result<Response> {
    let mac = MacAddress::parse(&mac)?;
    let device = gateway(&state, &caller, &id).await?.verified(&id, &mac).await?;
    Ok(operation(&device, "Device verified on the target network", &ctx))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FailedBody {
    error: String,
}

/// POST `/gateway/sessions/{id}/devices/{mac}/failed` `{error}`: 200 `{mac, state, message}`.
async fn failed(State(state): State<AppState>, caller: Caller, ctx: CorrelationId, Path((id, mac)): Path<(String, String)>, LenientJson(body): LenientJson<FailedBody>) -> Result<Response> {
    let mac = MacAddress::parse(&mac)?;
    let device = gateway(&state, &caller, &id).await?.verification_failed(&id, &mac, &body.error).await?;
    Ok(operation(&device, "Device verification failed", &ctx))
}
