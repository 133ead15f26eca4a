//! Batch sessions (seed 002 `/batch…`, the PiDashboard client's `batch-provisioning.ts` and
//! session recovery in `sessions.ts`). Reads need `devices:read`, changes `devices:write`.
//! Unknown sessions are 404 `SESSION_NOT_FOUND`, unknown devices 404 `DEVICE_NOT_FOUND`,
//! MACs not allowlisted 403 `DEVICE_NOT_IN_ALLOWLIST`, illegal transitions 409.

use crate::views::ok;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use http::StatusCode;
use serde::Deserialize;
use serde_json::{json, Value};
use trustplane_core::domain::{Limit, MacAddress, Scope};
use trustplane_core::http::{AppState, Caller, CorrelationId, LenientJson};
use trustplane_core::services::devices::records::StoredDevice;
use trustplane_core::services::devices::sessions::StartSession;
use trustplane_core::services::devices::{network, Devices};
use trustplane_core::{Error, Result};

pub(crate) fn routes() -> Router<AppState> {
    let b = "/api/v1/provisioning/batch";
    let s = "/api/v1/provisioning/sessions";
    Router::new()
        .route(b, post(start))
        .route(&format!("{b}/start"), post(start))
        .route(&format!("{b}/{{id}}"), get(show))
        .route(&format!("{b}/{{id}}/devices"), get(devices))
        .route(&format!("{b}/{{id}}/close"), post(close))
        .route(&format!("{b}/{{id}}/stop"), post(close))
        .route(&format!("{b}/{{id}}/pause"), post(pause))
        .route(&format!("{b}/{{id}}/resume"), post(resume))
        .route(&format!("{b}/{{id}}/provision-all"), post(provision_all))
        .route(&format!("{b}/{{id}}/devices/{{mac}}/provision"), post(provision))
        .route(&format!("{b}/{{id}}/devices/{{mac}}/retry"), post(retry))
        .route(&format!("{b}/{{id}}/devices/{{mac}}/skip"), post(skip))
        .route(&format!("{s}/recoverable"), get(recoverable))
        .route(&format!("{s}/history"), get(history))
        .route(&format!("{s}/{{id}}/resume"), post(recover))
        .route(&format!("{s}/{{id}}"), axum::routing::delete(discard))
}

fn service(state: &AppState) -> Devices {
    Devices::new(&state.ports, state.config.clone())
}

/// POST `/batch` (seed) and `/batch/start` (client): 201 `{session, message}`.
#[utoipa::path(post, path = "/api/v1/provisioning/batch", tag = "devices-api", request_body(content = Object, description = "The session's settings, JSON whatever the Content-Type"), security(("api_key" = [])), responses(
    (status = 201, description = "Started", body = crate::openapi::SessionChangedOk), (status = 400, description = "VALIDATION_FAILED"), (status = 401, description = "UNAUTHORIZED"), (status = 403, description = "FORBIDDEN: the key lacks the scope"), (status = 429, description = "RATE_LIMITED"), (status = 503, description = "CIRCUIT_OPEN"), (status = 409, description = "Another session is active"),
))]
async fn start(State(state): State<AppState>, caller: Caller, ctx: CorrelationId, LenientJson(body): LenientJson<StartSession>) -> Result<Response> {
    caller.require(Scope::DevicesWrite)?;
    let session = service(&state).start(body).await?;
    Ok(ok(StatusCode::CREATED, json!({ "session": session, "message": "Batch provisioning session started" }), &ctx))
}

/// `?include_devices=false` leaves the devices out (the client's `getSession`).
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ShowQuery {
    /// `true` (the default) or `false`.
    #[serde(default)]
    #[param(value_type = Option<bool>)]
    include_devices: Option<String>,
}

impl ShowQuery {
    fn include_devices(&self) -> Result<bool> {
        match self.include_devices.as_deref() {
            None | Some("true") => Ok(true),
            Some("false") => Ok(false),
            Some(_) => Err(Error::validation("include_devices: expected true or false")),
        }
    }
}

/// GET `/batch/{id}`: the client's `SessionData` `{session, devices?, network_status?}`.
#[utoipa::path(get, path = "/api/v1/provisioning/batch/{id}", tag = "devices-api", params(("id" = String, Path, description = "The session id"), ShowQuery), security(("api_key" = [])), responses(
    (status = 200, description = "The session, its devices and the network status", body = crate::openapi::SessionDataOk), (status = 400, description = "VALIDATION_FAILED"), (status = 401, description = "UNAUTHORIZED"), (status = 403, description = "FORBIDDEN: the key lacks the scope"), (status = 429, description = "RATE_LIMITED"), (status = 503, description = "CIRCUIT_OPEN"), (status = 404, description = "SESSION_NOT_FOUND"),
))]
async fn show(State(state): State<AppState>, caller: Caller, ctx: CorrelationId, Path(id): Path<String>, Query(q): Query<ShowQuery>) -> Result<Response> {
    caller.require(Scope::DevicesRead)?;
    Ok(ok(StatusCode::OK, session_data(&state, &id, q.include_devices()?).await?, &ctx))
}

async fn session_data(state: &AppState, id: &str, include_devices: bool) -> Result<Value> {
    let view = service(state).view(id).await?;
    let mut data = json!({ "session": view.session, "network_status": network::current(state.ports.store.as_ref()).await? });
    if include_devices {
        data["devices"] = json!(view.devices);
    }
    Ok(data)
}

/// GET `/batch/{id}/devices`: `{devices, count}` (`[]` when none).
#[utoipa::path(get, path = "/api/v1/provisioning/batch/{id}/devices", tag = "devices-api", params(("id" = String, Path, description = "The session id")), security(("api_key" = [])), responses(
    (status = 200, description = "The session's devices", body = crate::openapi::DeviceListOk), (status = 400, description = "VALIDATION_FAILED"), (status = 401, description = "UNAUTHORIZED"), (status = 403, description = "FORBIDDEN: the key lacks the scope"), (status = 429, description = "RATE_LIMITED"), (status = 503, description = "CIRCUIT_OPEN"), (status = 404, description = "SESSION_NOT_FOUND"),
))]
async fn devices(State(state): State<AppState>, caller: Caller, ctx: CorrelationId, Path(id): Path<String>) -> Result<Response> {
    caller.require(Scope::DevicesRead)?;
    let devices = service(&state).view(&id).await?.devices;
    Ok(ok(StatusCode::OK, json!({ "count": devices.len(), "devices": devices }), &ctx))
}

/// POST `/batch/{id}/close` (seed) and `/stop` (client): 200 `{session, message}`.
#[utoipa::path(post, path = "/api/v1/provisioning/batch/{id}/close", tag = "devices-api", params(("id" = String, Path, description = "The session id")), security(("api_key" = [])), responses(
    (status = 200, description = "Closed", body = crate::openapi::SessionChangedOk), (status = 400, description = "VALIDATION_FAILED"), (status = 401, description = "UNAUTHORIZED"), (status = 403, description = "FORBIDDEN: the key lacks the scope"), (status = 429, description = "RATE_LIMITED"), (status = 503, description = "CIRCUIT_OPEN"), (status = 404, description = "SESSION_NOT_FOUND"), (status = 409, description = "The session or device is not in a state that allows this"),
))]
async fn close(State(state): State<AppState>, caller: Caller, ctx: CorrelationId, Path(id): Path<String>) -> Result<Response> {
    caller.require(Scope::DevicesWrite)?;
    let session = service(&state).close(&id).await?;
    Ok(ok(StatusCode::OK, json!({ "session": session, "message": "Session closed" }), &ctx))
}

/// POST `/batch/{id}/pause`: 200 `SessionData` with a message.
#[utoipa::path(post, path = "/api/v1/provisioning/batch/{id}/pause", tag = "devices-api", params(("id" = String, Path, description = "The session id")), security(("api_key" = [])), responses(
    (status = 200, description = "Paused", body = crate::openapi::SessionDataOk), (status = 400, description = "VALIDATION_FAILED"), (status = 401, description = "UNAUTHORIZED"), (status = 403, description = "FORBIDDEN: the key lacks the scope"), (status = 429, description = "RATE_LIMITED"), (status = 503, description = "CIRCUIT_OPEN"), (status = 404, description = "SESSION_NOT_FOUND"), (status = 409, description = "The session or device is not in a state that allows this"),
))]
async fn pause(State(state): State<AppState>, caller: Caller, ctx: CorrelationId, Path(id): Path<String>) -> Result<Response> {
    caller.require(Scope::DevicesWrite)?;
    service(&state).pause(&id).await?;
    let mut data = session_data(&state, &id, true).await?;
    data["message"] = json!("Session paused");
    Ok(ok(StatusCode::OK, data, &ctx))
}

/// POST `/batch/{id}/resume`: a paused session back to `active`.
#[utoipa::path(post, path = "/api/v1/provisioning/batch/{id}/resume", tag = "devices-api", params(("id" = String, Path, description = "The session id")), security(("api_key" = [])), responses(
    (status = 200, description = "Resumed", body = crate::openapi::SessionDataOk), (status = 400, description = "VALIDATION_FAILED"), (status = 401, description = "UNAUTHORIZED"), (status = 403, description = "FORBIDDEN: the key lacks the scope"), (status = 429, description = "RATE_LIMITED"), (status = 503, description = "CIRCUIT_OPEN"), (status = 404, description = "SESSION_NOT_FOUND"), (status = 409, description = "The session or device is not in a state that allows this"),
))]
async fn resume(State(state): State<AppState>, caller: Caller, ctx: CorrelationId, Path(id): Path<String>) -> Result<Response> {
    caller.require(Scope::DevicesWrite)?;
    service(&state).resume(&id).await?;
    let mut data = session_data(&state, &id, true).await?;
    data["message"] = json!("Session resumed");
    Ok(ok(StatusCode::OK, data, &ctx))
}

/// The client's provision-all body; `only_allowlisted` is accepted, and only allowlisted
/// devices are ever provisioned whatever it says.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ProvisionAllBody {
    #[serde(default)]
    #[allow(dead_code)]
    only_allowlisted: Option<bool>,
}

/// POST `/batch/{id}/provision-all`: 202 `{initiated_count, skipped_count, message}`.
#[utoipa::path(post, path = "/api/v1/provisioning/batch/{id}/provision-all", tag = "devices-api", params(("id" = String, Path, description = "The session id")), request_body(content = Option<ProvisionAllBody>, description = "Optional, JSON whatever the Content-Type"), security(("api_key" = [])), responses(
    (status = 202, description = "Provisioning started", body = crate::openapi::ProvisionAllOk), (status = 400, description = "VALIDATION_FAILED"), (status = 401, description = "UNAUTHORIZED"), (status = 403, description = "FORBIDDEN: the key lacks the scope"), (status = 429, description = "RATE_LIMITED"), (status = 503, description = "CIRCUIT_OPEN"), (status = 404, description = "SESSION_NOT_FOUND"), (status = 409, description = "The session or device is not in a state that allows this"),
))]
async fn provision_all(State(state): State<AppState>, caller: Caller, ctx: CorrelationId, Path(id): Path<String>, _body: Option<LenientJson<ProvisionAllBody>>) -> Result<Response> {
    caller.require(Scope::DevicesWrite)?;
    let (initiated, skipped) = service(&state).provision_all(&id).await?;
    let message = format!("Provisioning started for {initiated} device(s); {skipped} skipped");
    Ok(ok(StatusCode::ACCEPTED, json!({ "initiated_count": initiated, "skipped_count": skipped, "message": message }), &ctx))
}

fn operation(status: StatusCode, device: &StoredDevice, message: &str, ctx: &CorrelationId) -> Response {
    ok(status, json!({ "mac": device.device.mac, "state": device.device.state, "message": message }), ctx)
}

/// POST `/batch/{id}/devices/{mac}/provision`: 202 `{mac, state, message}`.
#[utoipa::path(post, path = "/api/v1/provisioning/batch/{id}/devices/{mac}/provision", tag = "devices-api", params(("id" = String, Path, description = "The session id"), ("mac" = String, Path, pattern = "^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$|^[0-9A-Fa-f]{12}$", description = "A MAC address: AA:BB:CC:DD:EE:FF, aa-bb-cc-dd-ee-ff or aabbccddeeff")), security(("api_key" = [])), responses(
    (status = 202, description = "Provisioning started", body = crate::openapi::DeviceOperationOk), (status = 400, description = "VALIDATION_FAILED"), (status = 401, description = "UNAUTHORIZED"), (status = 403, description = "FORBIDDEN: the key lacks the scope"), (status = 429, description = "RATE_LIMITED"), (status = 503, description = "CIRCUIT_OPEN"), (status = 404, description = "SESSION_NOT_FOUND or DEVICE_NOT_FOUND"), (status = 409, description = "The session or device is not in a state that allows this"),
))]
async fn provision(State(state): State<AppState>, caller: Caller, ctx: CorrelationId, Path((id, mac)): Path<(String, String)>) -> Result<Response> {
    caller.require(Scope::DevicesWrite)?;
    let device = service(&state).provision(&id, &MacAddress::parse(&mac)?).await?;
    Ok(operation(StatusCode::ACCEPTED, &device, "Provisioning started", &ctx))
}

/// POST `/batch/{id}/devices/{mac}/retry`: a failed device provisioned again (202).
#[utoipa::path(post, path = "/api/v1/provisioning/batch/{id}/devices/{mac}/retry", tag = "devices-api", params(("id" = String, Path, description = "The session id"), ("mac" = String, Path, pattern = "^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$|^[0-9A-Fa-f]{12}$", description = "A MAC address: AA:BB:CC:DD:EE:FF, aa-bb-cc-dd-ee-ff or aabbccddeeff")), security(("api_key" = [])), responses(
    (status = 202, description = "Provisioning retried", body = crate::openapi::DeviceOperationOk), (status = 400, description = "VALIDATION_FAILED"), (status = 401, description = "UNAUTHORIZED"), (status = 403, description = "FORBIDDEN: the key lacks the scope"), (status = 429, description = "RATE_LIMITED"), (status = 503, description = "CIRCUIT_OPEN"), (status = 404, description = "SESSION_NOT_FOUND or DEVICE_NOT_FOUND"), (status = 409, description = "The session or device is not in a state that allows this"),
))]
async fn retry(State(state): State<AppState>, caller: Caller, ctx: CorrelationId, Path((id, mac)): Path<(String, String)>) -> Result<Response> {
    caller.require(Scope::DevicesWrite)?;
    let device = service(&state).retry(&id, &MacAddress::parse(&mac)?).await?;
    Ok(operation(StatusCode::ACCEPTED, &device, "Provisioning retried", &ctx))
}

/// POST `/batch/{id}/devices/{mac}/skip`: the device is left out (200, state `failed`).
#[utoipa::path(post, path = "/api/v1/provisioning/batch/{id}/devices/{mac}/skip", tag = "devices-api", params(("id" = String, Path, description = "The session id"), ("mac" = String, Path, pattern = "^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$|^[0-9A-Fa-f]{12}$", description = "A MAC address: AA:BB:CC:DD:EE:FF, aa-bb-cc-dd-ee-ff or aabbccddeeff")), security(("api_key" = [])), responses(
    (status = 200, description = "Skipped", body = crate::openapi::DeviceOperationOk), (status = 400, description = "VALIDATION_FAILED"), (status = 401, description = "UNAUTHORIZED"), (status = 403, description = "FORBIDDEN: the key lacks the scope"), (status = 429, description = "RATE_LIMITED"), (status = 503, description = "CIRCUIT_OPEN"), (status = 404, description = "SESSION_NOT_FOUND or DEVICE_NOT_FOUND"), (status = 409, description = "The session or device is not in a state that allows this"),
))]
async fn skip(State(state): State<AppState>, caller: Caller, ctx: CorrelationId, Path((id, mac)): Path<(String, String)>) -> Result<Response> {
    caller.require(Scope::DevicesWrite)?;
    let device = service(&state).skip(&id, &MacAddress::parse(&mac)?).await?;
    Ok(operation(StatusCode::OK, &device, "Device skipped", &ctx))
}

/// GET `/sessions/recoverable`: `{sessions}` (`[]` when none).
#[utoipa::path(get, path = "/api/v1/provisioning/sessions/recoverable", tag = "devices-api", security(("api_key" = [])), responses(
    (status = 200, description = "Sessions whose gateway went silent", body = crate::openapi::SessionsOk), (status = 400, description = "VALIDATION_FAILED"), (status = 401, description = "UNAUTHORIZED"), (status = 403, description = "FORBIDDEN: the key lacks the scope"), (status = 429, description = "RATE_LIMITED"), (status = 503, description = "CIRCUIT_OPEN"),
))]
async fn recoverable(State(state): State<AppState>, caller: Caller, ctx: CorrelationId) -> Result<Response> {
    caller.require(Scope::DevicesRead)?;
    let sessions = service(&state).recoverable().await?;
    Ok(ok(StatusCode::OK, json!({ "sessions": sessions }), &ctx))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct HistoryQuery {
    /// Digits only, 1..=100; 10 when absent.
    #[serde(default)]
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    limit: Option<String>,
}

/// GET `/sessions/history?limit=` (default 10, 1..=100): `{sessions}`, newest first.
#[utoipa::path(get, path = "/api/v1/provisioning/sessions/history", tag = "devices-api", params(HistoryQuery), security(("api_key" = [])), responses(
    (status = 200, description = "Sessions, newest first", body = crate::openapi::SessionsOk), (status = 400, description = "VALIDATION_FAILED"), (status = 401, description = "UNAUTHORIZED"), (status = 403, description = "FORBIDDEN: the key lacks the scope"), (status = 429, description = "RATE_LIMITED"), (status = 503, description = "CIRCUIT_OPEN"),
))]
async fn history(State(state): State<AppState>, caller: Caller, ctx: CorrelationId, Query(q): Query<HistoryQuery>) -> Result<Response> {
    caller.require(Scope::DevicesRead)?;
    let sessions = service(&state).history(Limit::parse(q.limit.as_deref(), 10, 100)?.get()).await?;
    Ok(ok(StatusCode::OK, json!({ "sessions": sessions }), &ctx))
}

/// POST `/sessions/{id}/resume`: 200 `SessionData` plus `requeued` and a message.
#[utoipa::path(post, path = "/api/v1/provisioning/sessions/{id}/resume", tag = "devices-api", params(("id" = String, Path, description = "The session id")), security(("api_key" = [])), responses(
    (status = 200, description = "Resumed, devices re-enqueued", body = crate::openapi::SessionDataOk), (status = 400, description = "VALIDATION_FAILED"), (status = 401, description = "UNAUTHORIZED"), (status = 403, description = "FORBIDDEN: the key lacks the scope"), (status = 429, description = "RATE_LIMITED"), (status = 503, description = "CIRCUIT_OPEN"), (status = 404, description = "SESSION_NOT_FOUND"), (status = 409, description = "The session or device is not in a state that allows this"),
))]
async fn recover(State(state): State<AppState>, caller: Caller, ctx: CorrelationId, Path(id): Path<String>) -> Result<Response> {
    caller.require(Scope::DevicesWrite)?;
    let resumed = service(&state).recover(&id).await?;
    let mut data = session_data(&state, &id, true).await?;
    data["requeued"] = json!(resumed.requeued);
    data["message"] = json!(format!("Session resumed; {} device(s) re-enqueued", resumed.requeued));
    Ok(ok(StatusCode::OK, data, &ctx))
}

/// DELETE `/sessions/{id}`: the session is discarded (closed): 200 `{session, message}`.
#[utoipa::path(delete, path = "/api/v1/provisioning/sessions/{id}", tag = "devices-api", params(("id" = String, Path, description = "The session id")), security(("api_key" = [])), responses(
    (status = 200, description = "Discarded", body = crate::openapi::SessionChangedOk), (status = 400, description = "VALIDATION_FAILED"), (status = 401, description = "UNAUTHORIZED"), (status = 403, description = "FORBIDDEN: the key lacks the scope"), (status = 429, description = "RATE_LIMITED"), (status = 503, description = "CIRCUIT_OPEN"), (status = 404, description = "SESSION_NOT_FOUND"), (status = 409, description = "The session or device is not in a state that allows this"),
))]
async fn discard(State(state): State<AppState>, caller: Caller, ctx: CorrelationId, Path(id): Path<String>) -> Result<Response> {
    caller.require(Scope::DevicesWrite)?;
    let session = service(&state).discard(&id).await?;
    Ok(ok(StatusCode::OK, json!({ "session": session, "message": "Session discarded" }), &ctx))
}
