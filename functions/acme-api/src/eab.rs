//! `/api/v1/authorities/{id}/eab-keys` (`pki:admin`): external account binding keys for the
//! authority's ACME server (RFC 8555 §7.3.4). The HMAC key is shown once, at creation.

use crate::server::{service, BaseUrl};
use crate::{views, AcmeState};
use axum::extract::{Path, State};
use http::StatusCode;
use serde::Deserialize;
use serde_json::{json, Value};
use trustplane_core::domain::{EntityId, Scope};
use trustplane_core::http::{Caller, LenientJson};
use trustplane_core::services::acme::Urls;
use trustplane_core::Result;

/// `POST /api/v1/authorities/{id}/eab-keys` body; both the body and `name` are optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    pub name: Option<String>,
}

fn urls(base: &BaseUrl, authority: &EntityId) -> Urls {
    Urls::new(&base.0, authority.as_str())
}

/// `POST /api/v1/authorities/{id}/eab-keys` → 201 `{keyId, hmacKey, directoryUrl, …}`.
pub async fn create(State(state): State<AcmeState>, caller: Caller, base: BaseUrl, Path(raw): Path<String>, body: Option<LenientJson<CreateBody>>) -> Result<(StatusCode, axum::Json<Value>)> {
    caller.require(Scope::PkiAdmin)?;
    let authority = EntityId::in_path("authority", &raw)?;
    let name = body.and_then(|LenientJson(b)| b.name);
    let new = service(&state).create_eab_key(authority.as_str(), name, Some(caller.key_id().to_owned())).await?;
    Ok((StatusCode::CREATED, axum::Json(views::eab_key(&urls(&base, &authority), &new.record, Some(&new.hmac_key)))))
}

/// `GET /api/v1/authorities/{id}/eab-keys` → `{"data": [...]}`, without HMAC keys.
pub async fn list(State(state): State<AcmeState>, caller: Caller, base: BaseUrl, Path(raw): Path<String>) -> Result<axum::Json<Value>> {
    caller.require(Scope::PkiAdmin)?;
    let authority = EntityId::in_path("authority", &raw)?;
    let keys = service(&state).list_eab_keys(authority.as_str()).await?;
    let urls = urls(&base, &authority);
    Ok(axum::Json(json!({ "data": keys.iter().map(|k| views::eab_key(&urls, k, None)).collect::<Vec<_>>() })))
}

/// `DELETE /api/v1/authorities/{id}/eab-keys/{keyId}` → 200 with the key, `revoked`.
pub async fn revoke(State(state): State<AcmeState>, caller: Caller, base: BaseUrl, Path((raw, key_id)): Path<(String, String)>) -> Result<axum::Json<Value>> {
    caller.require(Scope::PkiAdmin)?;
    let authority = EntityId::in_path("authority", &raw)?;
    let key = EntityId::in_path("EAB key", &key_id)?;
    let revoked = service(&state).revoke_eab_key(authority.as_str(), key.as_str()).await?;
    Ok(axum::Json(views::eab_key(&urls(&base, &authority), &revoked, None)))
}
