//! The group's OpenAPI 3.1 document: seed 003's public routes (its ASP.NET RFC 7807 problems)
//! and the operators' `/api/v1/tenants` (RFC 9457 problems). The response shapes are those of
//! [`crate::views`].

use crate::public::InitBody;
use serde::Serialize;
use trustplane_core::http::openapi::{finish, merged};
use trustplane_core::http::ErrorFormat;
use utoipa::{OpenApi, ToSchema};

/// `POST /provision/tenants/init` 200 body.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Initialized {
    pub provisioning_id: String,
    /// An HMAC-SHA256 JWT, valid 15 minutes.
    pub confirm_token: String,
    /// `/provision/tenants/confirm`.
    pub next: String,
    pub message: String,
}

/// `POST /provision/tenants/confirm` 200 body.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Confirmed {
    pub provisioning_id: String,
    /// `QUEUED`.
    pub status: String,
    pub message: String,
    pub status_endpoint: String,
}

/// One provisioning step (CreateDatabase, ApplyMigrations, SeedData).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    pub step: String,
    /// `InProgress`, `Success` or `Failed`.
    pub status: String,
    pub started_at: String,
    pub completed_at: Option<String>,
    pub log: Option<String>,
    pub error_message: Option<String>,
}

/// Seed 003's status body: `tenantSlug` and `dbName` only once `Active`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantStatus {
    pub status: String,
    pub tenant_slug: Option<String>,
    pub db_name: Option<String>,
    pub steps: Vec<Step>,
}

/// What operators see of a tenant.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Tenant {
    pub provisioning_id: String,
    pub name: String,
    pub slug: String,
    pub plan: String,
    pub status: String,
    pub db_name: String,
    pub run: u32,
    pub created_at: String,
    pub updated_at: String,
    pub steps: Vec<Step>,
    pub status_endpoint: String,
}

/// `GET /api/v1/tenants` 200 body.
#[derive(Serialize, ToSchema)]
pub struct TenantPage {
    pub data: Vec<Tenant>,
    pub next_cursor: Option<String>,
}

#[derive(OpenApi)]
#[openapi(paths(crate::public::init, crate::public::confirm, crate::public::status), components(schemas(InitBody)))]
struct Public;

#[derive(OpenApi)]
#[openapi(paths(crate::admin::list, crate::admin::get, crate::admin::retry, crate::admin::deprovision))]
struct Admin;

/// The group's paths: the public ones with seed 003's problems, the operators' with RFC 9457's.
pub fn document() -> utoipa::openapi::OpenApi {
    merged("Trustplane tenants-api", [finish(Public::openapi(), ErrorFormat::TenantProblem), finish(Admin::openapi(), ErrorFormat::Problem)])
}
