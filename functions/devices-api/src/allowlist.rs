//! `/api/v1/provisioning/allowlist` (seed 002 list/add/delete; PiDashboard `allowlist.ts`:
//! get, update, bulk add, bulk remove, clear all, stats). Reads need `devices:read`, changes
//! `devices:write`. MACs are accepted as `AA:BB:…`, `aa-bb-…` or `aabb…` (path segments
//! percent-decoded) and answered in the canonical `AA:BB:CC:DD:EE:FF` form.

use crate::views::{no_content, ok};
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{delete, get, post};
use axum::Router;
use http::StatusCode;
use serde::Deserialize;
use serde_json::json;
use trustplane_core::clock;
use trustplane_core::domain::{MacAddress, Scope};
use trustplane_core::http::{AppState, Caller, CorrelationId, Json};
use trustplane_core::services::devices::allowlist::{self, EntryUpdate, NewEntry, MAX_CONTAINER_ID_CHARS, MAX_DESCRIPTION_CHARS};
use trustplane_core::{Error, Result};

/// The static segments (`bulk`, `bulk-remove`, `all`, `stats`) are routed before `/{mac}`
/// by axum's matcher; none of them is a valid MAC, so no entry is ever shadowed.
pub(crate) fn routes() -> Router<AppState> {
    let base = "/api/v1/provisioning/allowlist";
    Router::new()
        .route(base, get(list).post(add))
        .route(&format!("{base}/stats"), get(stats))
        .route(&format!("{base}/bulk"), post(bulk_add))
        .route(&format!("{base}/bulk-remove"), post(bulk_remove))
        .route(&format!("{base}/all"), delete(clear))
        .route(&format!("{base}/{{mac}}"), get(show).patch(update).delete(remove))
}

fn store(state: &AppState) -> &dyn trustplane_core::ports::Store {
    state.ports.store.as_ref()
}

/// The seed's add body (and the client's `AllowlistEntryRequest`).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct EntryBody {
    mac: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    container_id: Option<String>,
}

impl EntryBody {
    fn parse(&self) -> Result<NewEntry> {
        NewEntry::parse(&self.mac, self.description.as_deref(), self.container_id.as_deref())
    }
}

#[utoipa::path(get, path = "/api/v1/provisioning/allowlist", tag = "devices-api", security(("api_key" = [])), responses(
    (status = 200, description = "The allowlist", body = crate::openapi::AllowlistListOk), (status = 400, description = "VALIDATION_FAILED"), (status = 401, description = "UNAUTHORIZED"), (status = 403, description = "FORBIDDEN: the key lacks the scope"), (status = 429, description = "RATE_LIMITED"), (status = 503, description = "CIRCUIT_OPEN"),
))]
async fn list(State(state): State<AppState>, caller: Caller, ctx: CorrelationId) -> Result<Response> {
    caller.require(Scope::DevicesRead)?;
    let entries = allowlist::list(store(&state)).await?;
    Ok(ok(StatusCode::OK, json!({ "count": entries.len(), "entries": entries }), &ctx))
}

#[utoipa::path(get, path = "/api/v1/provisioning/allowlist/{mac}", tag = "devices-api", params(("mac" = String, Path, pattern = "^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$|^[0-9A-Fa-f]{12}$", description = "A MAC address: AA:BB:CC:DD:EE:FF, aa-bb-cc-dd-ee-ff or aabbccddeeff")), security(("api_key" = [])), responses(
    (status = 200, description = "The entry", body = crate::openapi::AllowlistEntryOk), (status = 400, description = "VALIDATION_FAILED"), (status = 401, description = "UNAUTHORIZED"), (status = 403, description = "FORBIDDEN: the key lacks the scope"), (status = 429, description = "RATE_LIMITED"), (status = 503, description = "CIRCUIT_OPEN"), (status = 404, description = "NOT_FOUND: the MAC is not in the allowlist"),
))]
async fn show(State(state): State<AppState>, caller: Caller, ctx: CorrelationId, Path(mac): Path<String>) -> Result<Response> {
    caller.require(Scope::DevicesRead)?;
    let entry = allowlist::get(store(&state), &MacAddress::parse(&mac)?).await?;
    Ok(ok(StatusCode::OK, json!({ "entry": entry }), &ctx))
}

#[utoipa::path(post, path = "/api/v1/provisioning/allowlist", tag = "devices-api", request_body = EntryBody, security(("api_key" = [])), responses(
    (status = 201, description = "Added", body = crate::openapi::AllowlistChangedOk), (status = 400, description = "VALIDATION_FAILED"), (status = 401, description = "UNAUTHORIZED"), (status = 403, description = "FORBIDDEN: the key lacks the scope"), (status = 429, description = "RATE_LIMITED"), (status = 503, description = "CIRCUIT_OPEN"), (status = 409, description = "CONFLICT: already in the allowlist"),
))]
async fn add(State(state): State<AppState>, caller: Caller, ctx: CorrelationId, Json(body): Json<EntryBody>) -> Result<Response> {
    caller.require(Scope::DevicesWrite)?;
    let entry = allowlist::add(store(&state), body.parse()?, clock::now()).await?;
    Ok(ok(StatusCode::CREATED, json!({ "entry": entry, "message": "Device added to allowlist" }), &ctx))
}

/// The client's update body: a field sent as a string replaces it (an empty string or
/// `null` clears it), a field left out is kept.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateBody {
    #[serde(default, deserialize_with = "present")]
    description: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    container_id: Option<Option<String>>,
}

/// `Some(value)` for a field that is present, `null` included (`Some(None)`).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

fn text(name: &str, field: Option<Option<String>>, max: usize) -> Result<Option<Option<String>>> {
    field.map(|value| allowlist::text_field(name, value.as_deref(), max)).transpose()
}

#[utoipa::path(patch, path = "/api/v1/provisioning/allowlist/{mac}", tag = "devices-api", params(("mac" = String, Path, pattern = "^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$|^[0-9A-Fa-f]{12}$", description = "A MAC address: AA:BB:CC:DD:EE:FF, aa-bb-cc-dd-ee-ff or aabbccddeeff")), request_body = UpdateBody, security(("api_key" = [])), responses(
    (status = 200, description = "Updated", body = crate::openapi::AllowlistChangedOk), (status = 400, description = "VALIDATION_FAILED"), (status = 401, description = "UNAUTHORIZED"), (status = 403, description = "FORBIDDEN: the key lacks the scope"), (status = 429, description = "RATE_LIMITED"), (status = 503, description = "CIRCUIT_OPEN"), (status = 404, description = "NOT_FOUND"),
))]
async fn update(State(state): State<AppState>, caller: Caller, ctx: CorrelationId, Path(mac): Path<String>, Json(body): Json<UpdateBody>) -> Result<Response> {
    caller.require(Scope::DevicesWrite)?;
    let mac = MacAddress::parse(&mac)?;
    let change = EntryUpdate {
        description: text("description", body.description, MAX_DESCRIPTION_CHARS)?,
        container_id: text("container_id", body.container_id, MAX_CONTAINER_ID_CHARS)?,
    };
    let entry = allowlist::update(store(&state), &mac, change).await?;
    Ok(ok(StatusCode::OK, json!({ "entry": entry, "message": "Allowlist entry updated" }), &ctx))
}

#[utoipa::path(delete, path = "/api/v1/provisioning/allowlist/{mac}", tag = "devices-api", params(("mac" = String, Path, pattern = "^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$|^[0-9A-Fa-f]{12}$", description = "A MAC address: AA:BB:CC:DD:EE:FF, aa-bb-cc-dd-ee-ff or aabbccddeeff")), security(("api_key" = [])), responses(
    (status = 204, description = "Removed (no body)"), (status = 400, description = "VALIDATION_FAILED"), (status = 401, description = "UNAUTHORIZED"), (status = 403, description = "FORBIDDEN: the key lacks the scope"), (status = 429, description = "RATE_LIMITED"), (status = 503, description = "CIRCUIT_OPEN"), (status = 404, description = "NOT_FOUND"),
))]
async fn remove(State(state): State<AppState>, caller: Caller, Path(mac): Path<String>) -> Result<Response> {
    caller.require(Scope::DevicesWrite)?;
    allowlist::remove(store(&state), &MacAddress::parse(&mac)?).await?;
    Ok(no_content())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct BulkAddBody {
    entries: Vec<EntryBody>,
}

/// Every entry is validated before anything is written; the first invalid one is named by
/// its index (`entries[3].mac: …`).
#[utoipa::path(post, path = "/api/v1/provisioning/allowlist/bulk", tag = "devices-api", request_body = BulkAddBody, security(("api_key" = [])), responses(
    (status = 200, description = "Added, already-listed ones skipped", body = crate::openapi::BulkAddedOk), (status = 400, description = "VALIDATION_FAILED"), (status = 401, description = "UNAUTHORIZED"), (status = 403, description = "FORBIDDEN: the key lacks the scope"), (status = 429, description = "RATE_LIMITED"), (status = 503, description = "CIRCUIT_OPEN"),
))]
async fn bulk_add(State(state): State<AppState>, caller: Caller, ctx: CorrelationId, Json(body): Json<BulkAddBody>) -> Result<Response> {
    caller.require(Scope::DevicesWrite)?;
    let entries = body
        .entries
        .iter()
        .enumerate()
        .map(|(i, e)| e.parse().map_err(|err| at_index("entries", i, err)))
        .collect::<Result<Vec<_>>>()?;
    let done = allowlist::bulk_add(store(&state), entries, clock::now()).await?;
    let message = format!("Added {} device(s), skipped {} already in the allowlist", done.added, done.skipped);
    Ok(ok(StatusCode::OK, json!({ "added": done.added, "skipped": done.skipped, "message": message }), &ctx))
}

fn at_index(list: &str, i: usize, err: Error) -> Error {
    match err {
        Error::Validation(msg) => Error::validation(format!("{list}[{i}]: {msg}")),
        other => other,
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct BulkRemoveBody {
    macs: Vec<String>,
}

#[utoipa::path(post, path = "/api/v1/provisioning/allowlist/bulk-remove", tag = "devices-api", request_body = BulkRemoveBody, security(("api_key" = [])), responses(
    (status = 200, description = "Removed", body = crate::openapi::BulkRemovedOk), (status = 400, description = "VALIDATION_FAILED"), (status = 401, description = "UNAUTHORIZED"), (status = 403, description = "FORBIDDEN: the key lacks the scope"), (status = 429, description = "RATE_LIMITED"), (status = 503, description = "CIRCUIT_OPEN"),
))]
async fn bulk_remove(State(state): State<AppState>, caller: Caller, ctx: CorrelationId, Json(body): Json<BulkRemoveBody>) -> Result<Response> {
    caller.require(Scope::DevicesWrite)?;
    let macs = body.macs.iter().enumerate().map(|(i, m)| MacAddress::parse(m).map_err(|err| at_index("macs", i, err))).collect::<Result<Vec<_>>>()?;
    let done = allowlist::bulk_remove(store(&state), macs).await?;
    let message = format!("Removed {} device(s), {} not in the allowlist", done.removed, done.not_found);
    Ok(ok(StatusCode::OK, json!({ "removed": done.removed, "not_found": done.not_found, "message": message }), &ctx))
}

/// The client asks its user to type `CONFIRM` before it sends this; the key must hold
/// `devices:write`.
#[utoipa::path(delete, path = "/api/v1/provisioning/allowlist/all", tag = "devices-api", security(("api_key" = [])), responses(
    (status = 200, description = "Cleared", body = crate::openapi::ClearedOk), (status = 400, description = "VALIDATION_FAILED"), (status = 401, description = "UNAUTHORIZED"), (status = 403, description = "FORBIDDEN: the key lacks the scope"), (status = 429, description = "RATE_LIMITED"), (status = 503, description = "CIRCUIT_OPEN"),
))]
async fn clear(State(state): State<AppState>, caller: Caller, ctx: CorrelationId) -> Result<Response> {
    caller.require(Scope::DevicesWrite)?;
    let cleared = allowlist::clear(store(&state)).await?;
    Ok(ok(StatusCode::OK, json!({ "cleared": cleared, "message": format!("Cleared {cleared} allowlist entries") }), &ctx))
}

/// `{total, used, unused}` plus the client's name for `unused`, `available`; one read.
#[utoipa::path(get, path = "/api/v1/provisioning/allowlist/stats", tag = "devices-api", security(("api_key" = [])), responses(
    (status = 200, description = "Counts", body = crate::openapi::AllowlistStatsOk), (status = 400, description = "VALIDATION_FAILED"), (status = 401, description = "UNAUTHORIZED"), (status = 403, description = "FORBIDDEN: the key lacks the scope"), (status = 429, description = "RATE_LIMITED"), (status = 503, description = "CIRCUIT_OPEN"),
))]
async fn stats(State(state): State<AppState>, caller: Caller, ctx: CorrelationId) -> Result<Response> {
    caller.require(Scope::DevicesRead)?;
    let counts = allowlist::stats(store(&state)).await?;
    let unused = counts.total.saturating_sub(counts.used);
    Ok(ok(StatusCode::OK, json!({ "total": counts.total, "used": counts.used, "unused": unused, "available": unused }), &ctx))
}
