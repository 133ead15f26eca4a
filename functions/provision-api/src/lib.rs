//! Agent provisioning (seed 000): provision keys (`/api/v1/provision-keys`, scope
//! `provision:admin`) and the agents' `POST /api/v1/provision`, whose credential is the
//! provision key itself. Errors are `{"error": "..."}` exactly as the seed writes them.
//! `GET /openapi.json` documents the group ([`openapi`]).

pub mod openapi;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{delete, post};
use axum::Router;
use serde::Deserialize;
use serde_json::{json, Value};
use trustplane_core::domain::{AgentId, KeyPrefix, Limit, Scope};
use trustplane_core::http::{standalone, with_common_layers, AppState, Caller, ErrorFormat, Json, LenientJson};
use trustplane_core::services::pki::Pki;
use trustplane_core::services::provisioning::{KeyFilter, ProvisionKeyState, Provisioning, TtlSeconds};
use trustplane_core::{Error, Result};

const FORMAT: ErrorFormat = ErrorFormat::Simple;

fn service(state: &AppState) -> Provisioning {
    let pki = Pki::new(state.ports.clone(), state.config.clone());
    Provisioning::new(state.ports.store.clone(), pki, state.config.clone())
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// `POST /api/v1/provision` body (seed 000).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProvisionBody {
    pub provision_key: Option<String>,
    pub csr: Option<String>,
}

fn required(value: Option<String>, name: &str) -> Result<String> {
    value.filter(|v| !v.trim().is_empty()).ok_or_else(|| Error::validation(format!("{name} is required")))
}

/// `POST /api/v1/provision`: 200 `{agent_id, agent_cert, ca_cert}`; 400/401 per the seed. The
/// body is read as JSON whatever its Content-Type, as the seed's server reads it.
#[utoipa::path(post, path = "/api/v1/provision", tag = "provision-api", request_body(content = ProvisionBody, description = "JSON whatever the Content-Type"), responses(
    (status = 200, description = "The agent's certificate and the CA's", body = openapi::Provisioned),
    (status = 400, description = "Missing field or invalid CSR"), (status = 401, description = "Unknown, used, revoked or expired provision key"),
))]
pub async fn provision(State(state): State<AppState>, LenientJson(body): LenientJson<ProvisionBody>) -> Result<axum::Json<Value>> {
    let key = required(body.provision_key, "provision_key")?;
    let csr = required(body.csr, "csr")?;
    let done = service(&state).provision(&key, &csr).await?;
    Ok(axum::Json(json!({ "agent_id": done.agent_id, "agent_cert": done.agent_cert, "ca_cert": done.ca_cert })))
}

/// `POST /api/v1/provision-keys` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKeyBody {
    pub agent_id: Option<String>,
    pub ttl_seconds: Option<i64>,
}

/// `POST /api/v1/provision-keys` (scope `provision:admin`) → 201 with the key, shown once.
#[utoipa::path(post, path = "/api/v1/provision-keys", tag = "provision-api", request_body = CreateKeyBody, security(("api_key" = [])), responses(
    (status = 201, description = "The key, shown this once", body = openapi::CreatedProvisionKey), (status = 400, description = "Invalid agent_id or ttl_seconds"), (status = 401, description = "No known key"), (status = 403, description = "The key lacks `provision:admin`"),
))]
pub async fn create_key(State(state): State<AppState>, caller: Caller, Json(body): Json<CreateKeyBody>) -> Result<(StatusCode, axum::Json<Value>)> {
    caller.require(Scope::ProvisionAdmin)?;
    let agent_id = AgentId::parse(&required(body.agent_id, "agent_id")?)?;
    let ttl = TtlSeconds::parse(body.ttl_seconds.ok_or_else(|| Error::validation("ttl_seconds is required"))?)?;
    let (record, secret) = service(&state).create_key(agent_id, ttl).await?;
    let body = json!({ "provision_key": secret, "agent_id": record.agent_id, "expires_at": rfc3339(record.expires_at), "key_prefix": record.key_prefix });
    Ok((StatusCode::CREATED, axum::Json(body)))
}

/// `GET /api/v1/provision-keys` query.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    #[param(pattern = "^[0-9]{1,3}$")]
    pub limit: Option<String>,
    pub cursor: Option<String>,
    pub agent_id: Option<String>,
    pub state: Option<String>,
}

fn parse_state(raw: &str) -> Result<ProvisionKeyState> {
    serde_json::from_value(json!(raw)).map_err(|_| Error::validation("state must be unused, claimed, used, revoked or expired"))
}

impl ListParams {
    fn filter(&self) -> Result<KeyFilter> {
        let agent_id = self.agent_id.as_deref().map(AgentId::parse).transpose()?;
        Ok(KeyFilter { agent_id: agent_id.map(|id| id.as_str().to_owned()), state: self.state.as_deref().map(parse_state).transpose()? })
    }
}

/// `GET /api/v1/provision-keys` (scope `provision:admin`): never the key itself; a used key
/// names the certificate it produced (`certificate_id`).
#[utoipa::path(get, path = "/api/v1/provision-keys", tag = "provision-api", params(ListParams), security(("api_key" = [])), responses(
    (status = 200, description = "A page of keys, never the key itself", body = openapi::ProvisionKeyPage), (status = 400, description = "Invalid filter, limit or cursor"), (status = 401, description = "No known key"), (status = 403, description = "The key lacks `provision:admin`"),
))]
pub async fn list_keys(State(state): State<AppState>, caller: Caller, Query(params): Query<ListParams>) -> Result<axum::Json<Value>> {
    caller.require(Scope::ProvisionAdmin)?;
    let limit = Limit::parse(params.limit.as_deref(), 50, 100)?;
    let (keys, next) = service(&state).list_keys(&params.filter()?, limit.get(), params.cursor).await?;
    let data: Vec<Value> = keys
        .iter()
        .map(|(r, s)| json!({ "key_prefix": r.key_prefix, "agent_id": r.agent_id, "state": s, "created_at": rfc3339(r.created_at), "expires_at": rfc3339(r.expires_at), "used_at": r.used_at.map(rfc3339), "certificate_id": r.certificate_id }))
        .collect();
    Ok(axum::Json(json!({ "data": data, "next_cursor": next })))
}

/// `DELETE /api/v1/provision-keys/{key_prefix}` (scope `provision:admin`): revokes an unused key.
#[utoipa::path(delete, path = "/api/v1/provision-keys/{key_prefix}", tag = "provision-api", params(("key_prefix" = String, Path, description = "The key's prefix")), security(("api_key" = [])), responses(
    (status = 204, description = "Revoked"), (status = 400, description = "Invalid prefix"), (status = 401, description = "No known key"), (status = 403, description = "The key lacks `provision:admin`"), (status = 404, description = "No such key"), (status = 409, description = "The key was already used or revoked"),
))]
pub async fn revoke_key(State(state): State<AppState>, caller: Caller, Path(raw): Path<String>) -> Result<StatusCode> {
    caller.require(Scope::ProvisionAdmin)?;
    service(&state).revoke_key(KeyPrefix::in_path(&raw)?.as_str()).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/provision", post(provision))
        .route("/api/v1/provision-keys", post(create_key).get(list_keys))
        .route("/api/v1/provision-keys/{key_prefix}", delete(revoke_key))
}

/// The group's routes with its layers, mergeable into `trustplane serve`.
pub fn router(state: AppState) -> Router {
    let max = state.config.max_body_bytes;
    with_common_layers(routes().with_state(state), FORMAT, max)
}

/// What the Lambda function serves: the group's routes plus `/health` and `/openapi.json`.
pub fn app(state: AppState) -> Router {
    let doc = trustplane_core::http::openapi::function_router("provision-api", openapi::document());
    standalone(routes().merge(doc), state, FORMAT)
}
