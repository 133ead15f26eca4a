//! The group's OpenAPI 3.1 document: seed 002's allowlist, batch sessions, network status and
//! the gateway's routes, every body in the seed's envelope (`{success, data, correlation_id,
//! timestamp}`, failures `{success: false, error, ...}`). The `data` shapes are those the
//! handlers build; sessions and devices are the service's records, documented as objects.

use crate::allowlist::{BulkAddBody, BulkRemoveBody, EntryBody, UpdateBody};
use crate::gateway::{DiscoveredBody, FailedBody};
use crate::network::ReportBody;
use serde::Serialize;
use serde_json::Value;
use trustplane_core::http::openapi::finish;
use trustplane_core::http::ErrorFormat;
use utoipa::{OpenApi, ToSchema};

macro_rules! envelopes {
    ($($name:ident => $data:ty),* $(,)?) => {$(
        #[doc = concat!("Seed 002's success envelope around `", stringify!($data), "`.")]
        #[derive(Serialize, ToSchema)]
        pub struct $name {
            /// Always `true`.
            pub success: bool,
            pub data: $data,
            pub correlation_id: String,
            /// RFC 3339.
            pub timestamp: String,
        }
    )*};
}

envelopes!(
    AllowlistListOk => AllowlistList, AllowlistEntryOk => AllowlistEntryData, AllowlistChangedOk => AllowlistChanged,
    BulkAddedOk => BulkAdded, BulkRemovedOk => BulkRemoved, ClearedOk => Cleared, AllowlistStatsOk => AllowlistStats,
    DeviceListOk => DeviceList, BundleOk => Bundle, DeviceOperationOk => DeviceOperation, NetworkStatusOk => NetworkStatus,
    NetworkReportedOk => NetworkReported, SessionChangedOk => SessionChanged, SessionDataOk => SessionData,
    ProvisionAllOk => ProvisionAllStarted, SessionsOk => Sessions,
);

/// An allowlisted device; optional fields are omitted, never `null`.
#[derive(Serialize, ToSchema)]
pub struct AllowlistEntry {
    /// `AA:BB:CC:DD:EE:FF`.
    pub mac: String,
    #[schema(required = false)]
    pub description: String,
    #[schema(required = false)]
    pub container_id: String,
    pub added_at: String,
    pub used: bool,
    #[schema(required = false)]
    pub used_at: String,
}

/// The allowlist.
#[derive(Serialize, ToSchema)]
pub struct AllowlistList {
    pub count: u64,
    pub entries: Vec<AllowlistEntry>,
}

/// One entry.
#[derive(Serialize, ToSchema)]
pub struct AllowlistEntryData {
    pub entry: AllowlistEntry,
}

/// An entry added or updated.
#[derive(Serialize, ToSchema)]
pub struct AllowlistChanged {
    pub entry: AllowlistEntry,
    pub message: String,
}

/// A bulk add.
#[derive(Serialize, ToSchema)]
pub struct BulkAdded {
    pub added: u64,
    pub skipped: u64,
    pub message: String,
}

/// A bulk removal.
#[derive(Serialize, ToSchema)]
pub struct BulkRemoved {
    pub removed: u64,
    pub not_found: u64,
    pub message: String,
}

/// The allowlist cleared.
#[derive(Serialize, ToSchema)]
pub struct Cleared {
    pub cleared: u64,
    pub message: String,
}

/// The allowlist's counts (`available` is the client's name for `unused`).
#[derive(Serialize, ToSchema)]
pub struct AllowlistStats {
    pub total: u64,
    pub used: u64,
    pub unused: u64,
    pub available: u64,
}

/// A session's devices.
#[derive(Serialize, ToSchema)]
pub struct DeviceList {
    pub count: u64,
    #[schema(value_type = Vec<Object>)]
    pub devices: Vec<Value>,
}

/// A provisioned device's bundle.
#[derive(Serialize, ToSchema)]
pub struct Bundle {
    #[schema(value_type = Object)]
    pub bundle: Value,
}

/// A device after an operation.
#[derive(Serialize, ToSchema)]
pub struct DeviceOperation {
    pub mac: String,
    pub state: String,
    pub message: String,
}

/// The onboarding network's status (seed 002's and the client's fields).
#[derive(Serialize, ToSchema)]
pub struct NetworkStatus {
    pub interface: String,
    pub ssid: String,
    pub connected: bool,
    pub is_active: bool,
    pub connected_devices: u32,
}

/// The stored status after a report, and whether it changed.
#[derive(Serialize, ToSchema)]
pub struct NetworkReported {
    pub interface: String,
    pub ssid: String,
    pub connected: bool,
    pub is_active: bool,
    pub connected_devices: u32,
    pub changed: bool,
}

/// A session after a change.
#[derive(Serialize, ToSchema)]
pub struct SessionChanged {
    #[schema(value_type = Object)]
    pub session: Value,
    pub message: String,
}

/// The client's `SessionData`.
#[derive(Serialize, ToSchema)]
pub struct SessionData {
    #[schema(value_type = Object)]
    pub session: Value,
    pub network_status: NetworkStatus,
    /// Unless `include_devices=false`.
    #[schema(required = false, value_type = Vec<Object>)]
    pub devices: Vec<Value>,
    #[schema(required = false)]
    pub message: String,
    /// After a recovery: devices re-enqueued.
    #[schema(required = false)]
    pub requeued: u64,
}

/// Provision-all started.
#[derive(Serialize, ToSchema)]
pub struct ProvisionAllStarted {
    pub initiated_count: u64,
    pub skipped_count: u64,
    pub message: String,
}

/// Sessions.
#[derive(Serialize, ToSchema)]
pub struct Sessions {
    #[schema(value_type = Vec<Object>)]
    pub sessions: Vec<Value>,
}

/// POST `/batch/start`: the client's name for POST `/batch`.
#[utoipa::path(post, path = "/api/v1/provisioning/batch/start", tag = "devices-api", request_body(content = Object, description = "The session's settings, JSON whatever the Content-Type"), security(("api_key" = [])), responses(
    (status = 201, description = "Started", body = SessionChangedOk), (status = 400, description = "VALIDATION_FAILED"), (status = 401, description = "UNAUTHORIZED"),
    (status = 403, description = "FORBIDDEN"), (status = 409, description = "Another session is active"), (status = 429, description = "RATE_LIMITED"), (status = 503, description = "CIRCUIT_OPEN"),
))]
#[allow(dead_code)]
fn start_alias() {}

/// POST `/batch/{id}/stop`: the client's name for `/close`.
#[utoipa::path(post, path = "/api/v1/provisioning/batch/{id}/stop", tag = "devices-api", params(("id" = String, Path, description = "The session id")), security(("api_key" = [])), responses(
    (status = 200, description = "Closed", body = SessionChangedOk), (status = 400, description = "VALIDATION_FAILED"), (status = 401, description = "UNAUTHORIZED"),
    (status = 403, description = "FORBIDDEN"), (status = 404, description = "SESSION_NOT_FOUND"), (status = 409, description = "Already closed"),
    (status = 429, description = "RATE_LIMITED"), (status = 503, description = "CIRCUIT_OPEN"),
))]
#[allow(dead_code)]
fn stop_alias() {}

/// GET `/network/status`: the client's name for `/batch/network`.
#[utoipa::path(get, path = "/api/v1/provisioning/network/status", tag = "devices-api", security(("api_key" = [])), responses(
    (status = 200, description = "The onboarding network's status", body = NetworkStatusOk), (status = 401, description = "UNAUTHORIZED"),
    (status = 403, description = "FORBIDDEN"), (status = 429, description = "RATE_LIMITED"), (status = 503, description = "CIRCUIT_OPEN"),
))]
#[allow(dead_code)]
fn network_alias() {}

#[derive(OpenApi)]
#[openapi(
    paths(
        crate::allowlist::list, crate::allowlist::add, crate::allowlist::stats, crate::allowlist::bulk_add, crate::allowlist::bulk_remove,
        crate::allowlist::clear, crate::allowlist::show, crate::allowlist::update, crate::allowlist::remove,
        crate::network::status, network_alias, crate::network::report,
        crate::sessions::start, start_alias, crate::sessions::show, crate::sessions::devices, crate::sessions::close, stop_alias,
        crate::sessions::pause, crate::sessions::resume, crate::sessions::provision_all, crate::sessions::provision,
        crate::sessions::retry, crate::sessions::skip, crate::sessions::recoverable, crate::sessions::history,
        crate::sessions::recover, crate::sessions::discard,
        crate::gateway::discovered, crate::gateway::bundle, crate::gateway::verified, crate::gateway::failed,
    ),
    components(schemas(EntryBody, UpdateBody, BulkAddBody, BulkRemoveBody, ReportBody, DiscoveredBody, FailedBody))
)]
struct Doc;

/// The group's paths, errors in the envelope.
pub fn document() -> utoipa::openapi::OpenApi {
    finish(Doc::openapi(), ErrorFormat::Envelope)
}
