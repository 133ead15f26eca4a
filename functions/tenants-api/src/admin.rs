//! The operators' tenant routes (`tenants:read`, `tenants:write`; RFC 9457 problems).

use crate::service;
use crate::views::tenant_view;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{json, Value};
use trustplane_core::domain::{Limit, Scope};
use trustplane_core::http::{AppState, Caller};
use trustplane_core::services::tenants::{parse_id, TenantStatus};
use trustplane_core::Result;

/// `GET /api/v1/tenants` query.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    pub status: Option<String>,
    #[param(pattern = "^[0-9]{1,3}$")]
    pub limit: Option<String>,
    pub cursor: Option<String>,
}

/// `GET /api/v1/tenants?status=&limit=&cursor=` → `{"data": [...], "next_cursor"}`.
#[utoipa::path(get, path = "/api/v1/tenants", tag = "tenants-api", params(ListParams), security(("api_key" = [])), responses(
    (status = 200, description = "A page of tenants", body = crate::openapi::TenantPage), (status = 400, description = "Invalid status, limit or cursor"), (status = 401, description = "No known key"), (status = 403, description = "The key lacks the scope"),
))]
pub async fn list(State(state): State<AppState>, caller: Caller, Query(params): Query<ListParams>) -> Result<axum::Json<Value>> {
    caller.require(Scope::TenantsRead)?;
    let status = params.status.as_deref().map(TenantStatus::parse).transpose()?;
    let limit = Limit::parse(params.limit.as_deref(), 50, 100)?;
    let page = service(&state).list(status, limit.get(), params.cursor.as_deref()).await?;
    let data: Vec<Value> = page.tenants.iter().map(tenant_view).collect();
    Ok(axum::Json(json!({ "data": data, "next_cursor": page.next_cursor })))
}

/// `GET /api/v1/tenants/{id}`.
#[utoipa::path(get, path = "/api/v1/tenants/{id}", tag = "tenants-api", params(("id" = String, Path, pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", description = "The provisioning id (a UUID)")), security(("api_key" = [])), responses(
    (status = 200, description = "The tenant", body = crate::openapi::Tenant), (status = 400, description = "Invalid id"), (status = 401, description = "No known key"), (status = 403, description = "The key lacks the scope"), (status = 404, description = "No such tenant"),
))]
pub async fn get(State(state): State<AppState>, caller: Caller, Path(raw): Path<String>) -> Result<axum::Json<Value>> {
    caller.require(Scope::TenantsRead)?;
    let record = service(&state).status(&parse_id(&raw)?).await?;
    Ok(axum::Json(tenant_view(&record)))
}

/// `POST /api/v1/tenants/{id}/retry` → 202; a `Failed` tenant runs again.
#[utoipa::path(post, path = "/api/v1/tenants/{id}/retry", tag = "tenants-api", params(("id" = String, Path, pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", description = "The provisioning id (a UUID)")), security(("api_key" = [])), responses(
    (status = 202, description = "The tenant, queued again", body = crate::openapi::Tenant), (status = 400, description = "Invalid id"), (status = 401, description = "No known key"), (status = 403, description = "The key lacks the scope"),
    (status = 404, description = "No such tenant"), (status = 409, description = "Only a Failed tenant can be retried"),
))]
pub async fn retry(State(state): State<AppState>, caller: Caller, Path(raw): Path<String>) -> Result<(StatusCode, axum::Json<Value>)> {
    caller.require(Scope::TenantsWrite)?;
    let record = service(&state).retry(&parse_id(&raw)?).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(tenant_view(&record))))
}

/// `DELETE /api/v1/tenants/{id}` → 204; the tenant is gone and its slug free at once, and its
/// database is dropped by the tenant worker (a queued job).
#[utoipa::path(delete, path = "/api/v1/tenants/{id}", tag = "tenants-api", params(("id" = String, Path, pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", description = "The provisioning id (a UUID)")), security(("api_key" = [])), responses(
    (status = 204, description = "Deprovisioned: the tenant is deleted and its slug free; the worker drops its database"), (status = 400, description = "Invalid id"), (status = 401, description = "No known key"), (status = 403, description = "The key lacks the scope"),
    (status = 404, description = "No such tenant"), (status = 409, description = "The tenant is still provisioning"),
))]
pub async fn deprovision(State(state): State<AppState>, caller: Caller, Path(raw): Path<String>) -> Result<StatusCode> {
    caller.require(Scope::TenantsWrite)?;
    service(&state).deprovision(&parse_id(&raw)?, caller.key_id()).await?;
    Ok(StatusCode::NO_CONTENT)
}
