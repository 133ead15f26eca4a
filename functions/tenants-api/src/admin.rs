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
#[derive(Debug, Deserialize)]
pub struct ListParams {
    pub status: Option<String>,
    pub limit: Option<String>,
    pub cursor: Option<String>,
}

/// `GET /api/v1/tenants?status=&limit=&cursor=` → `{"data": [...], "next_cursor"}`.
pub async fn list(State(state): State<AppState>, caller: Caller, Query(params): Query<ListParams>) -> Result<axum::Json<Value>> {
    caller.require(Scope::TenantsRead)?;
    let status = params.status.as_deref().map(TenantStatus::parse).transpose()?;
    let limit = Limit::parse(params.limit.as_deref(), 50, 100)?;
    let page = service(&state).list(status, limit.get(), params.cursor.as_deref()).await?;
    let data: Vec<Value> = page.tenants.iter().map(tenant_view).collect();
    Ok(axum::Json(json!({ "data": data, "next_cursor": page.next_cursor })))
}

/// `GET /api/v1/tenants/{id}`.
pub async fn get(State(state): State<AppState>, caller: Caller, Path(raw): Path<String>) -> Result<axum::Json<Value>> {
    caller.require(Scope::TenantsRead)?;
    let record = service(&state).status(&parse_id(&raw)?).await?;
    Ok(axum::Json(tenant_view(&record)))
}

/// `POST /api/v1/tenants/{id}/retry` → 202; a `Failed` tenant runs again.
pub async fn retry(State(state): State<AppState>, caller: Caller, Path(raw): Path<String>) -> Result<(StatusCode, axum::Json<Value>)> {
    caller.require(Scope::TenantsWrite)?;
    let record = service(&state).retry(&parse_id(&raw)?).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(tenant_view(&record))))
}

/// `DELETE /api/v1/tenants/{id}` → 204; drops the database and frees the slug.
pub async fn deprovision(State(state): State<AppState>, caller: Caller, Path(raw): Path<String>) -> Result<StatusCode> {
    caller.require(Scope::TenantsWrite)?;
    service(&state).deprovision(&parse_id(&raw)?, caller.key_id()).await?;
    Ok(StatusCode::NO_CONTENT)
}
