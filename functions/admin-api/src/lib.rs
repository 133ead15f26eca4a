//! The foundation endpoint group: API key management (`/api/v1/api-keys`) and `/health`.
//! Errors are RFC 9457 problem details. `GET /openapi.json` documents the group ([`openapi`]).

pub mod openapi;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{delete, post};
use axum::Router;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use trustplane_core::domain::{EntityId, Limit, Scope, Scopes};
use trustplane_core::http::{standalone, with_common_layers, AppState, Caller, ErrorFormat, Json};
use trustplane_core::services::api_keys::{ApiKeyRecord, KeyName};
use trustplane_core::{Error, Result};

/// `POST /api/v1/api-keys` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKey {
    pub name: Option<String>,
    pub scopes: Option<Vec<String>>,
}

/// `GET /api/v1/api-keys` query.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    #[param(pattern = "^[0-9]{1,3}$")]
    pub limit: Option<String>,
    pub cursor: Option<String>,
}

/// A key as listed: metadata only.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct KeyView<'a> {
    id: &'a str,
    name: &'a str,
    scopes: Vec<&'static str>,
    prefix: &'a str,
    created_at: &'a str,
    revoked_at: Option<&'a str>,
    /// The id of the key that created this one (none for keys minted from the CLI).
    created_by: Option<&'a str>,
    /// The id of the key that revoked this one.
    revoked_by: Option<&'a str>,
}

fn view(r: &ApiKeyRecord) -> KeyView<'_> {
    KeyView {
        id: &r.id,
        name: &r.name,
        scopes: r.scopes.names(),
        prefix: &r.prefix,
        created_at: &r.created_at,
        revoked_at: r.revoked_at.as_deref(),
        created_by: r.created_by.as_deref(),
        revoked_by: r.revoked_by.as_deref(),
    }
}

/// `POST /api/v1/api-keys` (scope `admin`) → 201 with the secret, shown this once.
#[utoipa::path(post, path = "/api/v1/api-keys", tag = "admin-api", request_body = CreateKey, security(("api_key" = [])), responses(
    (status = 201, description = "The key, with its secret shown this once", body = openapi::CreatedKey),
    (status = 400, description = "Invalid name or scopes"), (status = 401, description = "No known key"), (status = 403, description = "The key lacks `admin`"),
))]
pub async fn create_key(State(state): State<AppState>, caller: Caller, Json(body): Json<CreateKey>) -> Result<(StatusCode, axum::Json<Value>)> {
    caller.require(Scope::Admin)?;
    let name = KeyName::parse(body.name.as_deref().ok_or_else(|| Error::validation("name is required"))?)?;
    let scopes = Scopes::parse(body.scopes.as_deref().ok_or_else(|| Error::validation("scopes is required"))?)?;
    let new = state.api_keys.create_by(name, scopes, Some(caller.key_id())).await?;
    let r = &new.record;
    let body = json!({ "id": r.id, "name": r.name, "scopes": r.scopes.names(), "key": new.secret, "created_at": r.created_at, "created_by": r.created_by });
    Ok((StatusCode::CREATED, axum::Json(body)))
}

/// `GET /api/v1/api-keys` (scope `admin`): keys without secrets, paged.
#[utoipa::path(get, path = "/api/v1/api-keys", tag = "admin-api", params(ListParams), security(("api_key" = [])), responses(
    (status = 200, description = "A page of keys", body = openapi::KeyPage),
    (status = 400, description = "Invalid limit or cursor"), (status = 401, description = "No known key"), (status = 403, description = "The key lacks `admin`"),
))]
pub async fn list_keys(State(state): State<AppState>, caller: Caller, Query(params): Query<ListParams>) -> Result<axum::Json<Value>> {
    caller.require(Scope::Admin)?;
    let limit = Limit::parse(params.limit.as_deref(), 50, 100)?;
    let (records, next) = state.api_keys.list(limit.get(), params.cursor).await?;
    let data: Vec<_> = records.iter().map(view).collect();
    Ok(axum::Json(json!({ "data": data, "next_cursor": next })))
}

/// `DELETE /api/v1/api-keys/{id}` (scope `admin`): revokes at once → 204.
#[utoipa::path(delete, path = "/api/v1/api-keys/{id}", tag = "admin-api", params(("id" = String, Path, pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", description = "The key's id")), security(("api_key" = [])), responses(
    (status = 204, description = "Revoked"), (status = 400, description = "Invalid id"), (status = 401, description = "No known key"),
    (status = 403, description = "The key lacks `admin`"), (status = 404, description = "No such key"), (status = 409, description = "Already revoked"),
))]
pub async fn revoke_key(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<StatusCode> {
    caller.require(Scope::Admin)?;
    let id = EntityId::in_path("API key", &id)?;
    state.api_keys.revoke_by(id.as_str(), Some(caller.key_id())).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/api-keys", post(create_key).get(list_keys))
        .route("/api/v1/api-keys/{id}", delete(revoke_key))
}

/// The group's routes with its layers, mergeable into `trustplane serve`.
pub fn router(state: AppState) -> Router {
    let max = state.config.max_body_bytes;
    with_common_layers(routes().with_state(state), ErrorFormat::Problem, max)
}

/// What the Lambda function serves: the group's routes plus `/health` and `/openapi.json`.
pub fn app(state: AppState) -> Router {
    let doc = trustplane_core::http::openapi::function_router("admin-api", openapi::document());
    standalone(routes().merge(doc), state, ErrorFormat::Problem)
}
