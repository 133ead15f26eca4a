//! `/api/v1/authorities/{id}/eab-keys` (`pki:admin`): external account binding keys for the
//! authority's ACME server (RFC 8555 §7.3.4). The HMAC key is shown once, at creation.

use crate::server::{service, BaseUrl};
use crate::AcmeState;
use axum::extract::{Path, State};
use http::StatusCode;
use serde::{Deserialize, Serialize};
use trustplane_core::clock::rfc3339;
use trustplane_core::domain::{EntityId, Scope};
use trustplane_core::http::{Caller, LenientJson};
use trustplane_core::services::acme::{EabKeyRecord, Urls};
use trustplane_core::Result;
use utoipa::ToSchema;

/// `POST /api/v1/authorities/{id}/eab-keys` body; both the body and `name` are optional.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CreateEabKeyBody)]
pub struct CreateBody {
    /// 1 to 64 printable characters.
    #[schema(min_length = 1, max_length = 64)]
    pub name: Option<String>,
}

/// An EAB key as the admin routes show it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EabKey {
    /// The `kid` of the binding.
    pub key_id: String,
    pub authority_id: String,
    pub name: Option<String>,
    /// `unused`, `bound` or `revoked`.
    pub status: String,
    /// The account it bound.
    pub bound_account: Option<String>,
    /// The directory of the authority's ACME server.
    pub directory_url: String,
    /// RFC 3339.
    pub created_at: String,
    /// base64url; at creation only, never again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hmac_key: Option<String>,
}

/// `GET /api/v1/authorities/{id}/eab-keys` body.
#[derive(Serialize, ToSchema)]
pub struct EabKeyList {
    pub data: Vec<EabKey>,
}

fn view(base: &BaseUrl, key: &EabKeyRecord, hmac_key: Option<String>) -> EabKey {
    let urls = Urls::new(&base.0, &key.authority_id);
    EabKey {
        key_id: key.key_id.clone(),
        authority_id: key.authority_id.clone(),
        name: key.name.clone(),
        status: key.status.clone(),
        bound_account: key.bound_account_id.as_deref().map(|id| urls.account(id)),
        directory_url: urls.directory(),
        created_at: rfc3339(key.created_at),
        hmac_key,
    }
}

/// `POST /api/v1/authorities/{id}/eab-keys` → 201 `{keyId, hmacKey, directoryUrl, …}`.
#[utoipa::path(post, path = "/api/v1/authorities/{id}/eab-keys", tag = "acme-api", params(("id" = String, Path, pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", description = "The authority's id")),
    request_body(content = Option<CreateBody>, content_type = "application/json"), security(("api_key" = [])), responses(
    (status = 201, description = "The key, with its HMAC key (shown this once)", body = EabKey),
    (status = 400, description = "Invalid body"), (status = 401, description = "No known key"), (status = 403, description = "The key lacks pki:admin"), (status = 404, description = "No such authority"),
))]
pub async fn create(State(state): State<AcmeState>, caller: Caller, base: BaseUrl, Path(raw): Path<String>, body: Option<LenientJson<CreateBody>>) -> Result<(StatusCode, axum::Json<EabKey>)> {
    caller.require(Scope::PkiAdmin)?;
    let authority = EntityId::in_path("authority", &raw)?;
    let name = body.and_then(|LenientJson(b)| b.name);
    let new = service(&state).create_eab_key(authority.as_str(), name, Some(caller.key_id().to_owned())).await?;
    Ok((StatusCode::CREATED, axum::Json(view(&base, &new.record, Some(new.hmac_key)))))
}

/// `GET /api/v1/authorities/{id}/eab-keys` → `{"data": [...]}`, without HMAC keys.
#[utoipa::path(get, path = "/api/v1/authorities/{id}/eab-keys", tag = "acme-api", params(("id" = String, Path, pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", description = "The authority's id")),
    security(("api_key" = [])), responses(
    (status = 200, description = "The authority's EAB keys, oldest first", body = EabKeyList),
    (status = 401, description = "No known key"), (status = 403, description = "The key lacks pki:admin"), (status = 404, description = "No such authority"),
))]
pub async fn list(State(state): State<AcmeState>, caller: Caller, base: BaseUrl, Path(raw): Path<String>) -> Result<axum::Json<EabKeyList>> {
    caller.require(Scope::PkiAdmin)?;
    let authority = EntityId::in_path("authority", &raw)?;
    let keys = service(&state).list_eab_keys(authority.as_str()).await?;
    Ok(axum::Json(EabKeyList { data: keys.iter().map(|k| view(&base, k, None)).collect() }))
}

/// `DELETE /api/v1/authorities/{id}/eab-keys/{keyId}` → 200 with the key, `revoked`.
#[utoipa::path(delete, path = "/api/v1/authorities/{id}/eab-keys/{keyId}", tag = "acme-api", params(
    ("id" = String, Path, pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", description = "The authority's id"),
    ("keyId" = String, Path, pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", description = "The EAB key's id"),
), security(("api_key" = [])), responses(
    (status = 200, description = "The key, revoked: it binds no new account (those it bound keep working)", body = EabKey),
    (status = 401, description = "No known key"), (status = 403, description = "The key lacks pki:admin"), (status = 404, description = "No such authority or EAB key of it"),
    (status = 409, description = "The key changed meanwhile; retry"),
))]
pub async fn revoke(State(state): State<AcmeState>, caller: Caller, base: BaseUrl, Path((raw, key_id)): Path<(String, String)>) -> Result<axum::Json<EabKey>> {
    caller.require(Scope::PkiAdmin)?;
    let authority = EntityId::in_path("authority", &raw)?;
    let key = EntityId::in_path("EAB key", &key_id)?;
    let revoked = service(&state).revoke_eab_key(authority.as_str(), key.as_str()).await?;
    Ok(axum::Json(view(&base, &revoked, None)))
}
